"""Tests of tensorlib.tensors: matricization (row-major, theory notes §1.1), tensor and Kronecker products."""

import itertools

import numpy as np
import pytest
import tensorly as tl
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorly.base import matricize as tl_matricize

from tensorlib import exact_rank, kron, matricize, tensor_product

SETTINGS = settings(max_examples=40)


def shapes(min_order=1, max_order=4, max_dim=3):
    return st.lists(st.integers(1, max_dim), min_size=min_order, max_size=max_order).map(tuple)


@st.composite
def tensor_and_rows(draw, min_order=1, max_order=4, max_dim=3):
    """An integer tensor and an arbitrary (possibly empty, possibly full) subset of its modes."""
    shape = draw(shapes(min_order, max_order, max_dim))
    seed = draw(st.integers(0, 2**32 - 1))
    A = np.random.default_rng(seed).integers(-9, 10, size=shape)
    rows = draw(st.sets(st.integers(0, len(shape) - 1)))
    return A, sorted(rows)


def _matricize_by_index_formula(A, rows):
    """[[A]]_{I,J} written out entry by entry from the definition in the theory notes (§1.1).

    With 1-based indices: row 1 + sum_t (d_{i_t} - 1) prod_{t' > t} M_{i_t'}, and the same for columns.
    """
    N, shape = A.ndim, A.shape
    I = sorted(rows)
    J = [j for j in range(N) if j not in I]
    n_rows = int(np.prod([shape[i] for i in I])) if I else 1
    n_cols = int(np.prod([shape[j] for j in J])) if J else 1
    out = np.zeros((n_rows, n_cols), dtype=A.dtype)
    for d in itertools.product(*[range(1, M + 1) for M in shape]):  # 1-based multi-index d_1..d_N
        row = 1 + sum((d[I[t]] - 1) * int(np.prod([shape[i] for i in I[t + 1:]])) for t in range(len(I)))
        col = 1 + sum((d[J[t]] - 1) * int(np.prod([shape[j] for j in J[t + 1:]])) for t in range(len(J)))
        out[row - 1, col - 1] = A[tuple(x - 1 for x in d)]
    return out


# -- matricize --------------------------------------------------------------------------------

@SETTINGS
@given(tensor_and_rows())
def test_matricize_matches_the_row_major_index_formula(data):
    A, rows = data
    np.testing.assert_array_equal(matricize(A, rows), _matricize_by_index_formula(A, rows))


def test_matricize_matches_the_index_formula_on_a_small_hand_checked_tensor():
    A = np.arange(24).reshape(2, 3, 4)  # A[d0, d1, d2] = 12 d0 + 4 d1 + d2
    F = matricize(A, [0, 2])
    assert F.shape == (8, 3)
    # row index of (d0, d2) is 4 d0 + d2, column index of d1 is d1
    assert all(F[4 * d0 + d2, d1] == A[d0, d1, d2] for d0 in range(2) for d1 in range(3) for d2 in range(4))


@SETTINGS
@given(tensor_and_rows())
def test_matricize_is_numpy_transpose_then_reshape(data):
    A, rows = data
    cols = [j for j in range(A.ndim) if j not in rows]
    n_rows = int(np.prod([A.shape[i] for i in rows])) if rows else 1
    np.testing.assert_array_equal(matricize(A, rows), np.transpose(A, rows + cols).reshape(n_rows, -1))


@SETTINGS
@given(tensor_and_rows())
def test_matricize_agrees_with_tensorly_for_nonempty_rows(data):
    A, rows = data
    if not rows:
        rows = [0]
    np.testing.assert_array_equal(matricize(A, rows), tl.to_numpy(tl_matricize(tl.tensor(A), rows)))


@SETTINGS
@given(tensor_and_rows(), st.randoms(use_true_random=False))
def test_matricize_takes_rows_in_ascending_order_whatever_order_they_are_given(data, random):
    A, rows = data
    shuffled = list(rows)
    random.shuffle(shuffled)
    np.testing.assert_array_equal(matricize(A, shuffled), matricize(A, rows))
    np.testing.assert_array_equal(matricize(A, np.array(shuffled, dtype=np.int64)), matricize(A, rows))
    np.testing.assert_array_equal(matricize(A, (r for r in shuffled)), matricize(A, rows))


@SETTINGS
@given(tensor_and_rows())
def test_matricize_round_trips_to_the_tensor(data):
    A, rows = data
    cols = [j for j in range(A.ndim) if j not in rows]
    F = matricize(A, rows)
    back = F.reshape([A.shape[i] for i in rows] + [A.shape[j] for j in cols])
    np.testing.assert_array_equal(np.transpose(back, np.argsort(rows + cols)), A)


@SETTINGS
@given(tensor_and_rows())
def test_matricize_has_the_product_shape_and_keeps_the_dtype(data):
    A, rows = data
    F = matricize(A, rows)
    cols = [j for j in range(A.ndim) if j not in rows]
    assert F.shape == (int(np.prod([A.shape[i] for i in rows])), int(np.prod([A.shape[j] for j in cols])))
    assert F.dtype == A.dtype


def test_matricize_with_no_rows_is_a_row_vector_and_with_all_rows_a_column_vector():
    A = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(matricize(A, []), A.reshape(1, 24))
    np.testing.assert_array_equal(matricize(A, [0, 1, 2]), A.reshape(24, 1))
    np.testing.assert_array_equal(matricize(np.arange(5), [0]), np.arange(5).reshape(5, 1))


def test_matricize_of_a_rank_one_tensor_has_rank_one_under_every_partition():
    rng = np.random.default_rng(0)
    vectors = [rng.integers(1, 10, size=M) for M in (2, 3, 2, 3)]
    A = vectors[0]
    for v in vectors[1:]:
        A = tensor_product(A, v)
    for r in range(1, 4):
        for rows in itertools.combinations(range(4), r):
            assert exact_rank(matricize(A, rows)) == 1


@SETTINGS
@given(tensor_and_rows(), st.integers(-5, 5), st.integers(0, 2**32 - 1))
def test_matricize_is_linear(data, c, seed):
    A, rows = data
    B = np.random.default_rng(seed).integers(-9, 10, size=A.shape)
    np.testing.assert_array_equal(matricize(c * A + B, rows), c * matricize(A, rows) + matricize(B, rows))


# -- tensor product and Kronecker product -----------------------------------------------------

@SETTINGS
@given(shapes(1, 3), shapes(1, 3), st.integers(0, 2**32 - 1))
def test_tensor_product_matches_its_definition(shape_a, shape_b, seed):
    rng = np.random.default_rng(seed)
    A, B = rng.integers(-9, 10, size=shape_a), rng.integers(-9, 10, size=shape_b)
    C = tensor_product(A, B)
    assert C.shape == shape_a + shape_b
    P = len(shape_a)
    for d in np.ndindex(C.shape):
        assert C[d] == A[d[:P]] * B[d[P:]]


@SETTINGS
@given(st.tuples(st.integers(1, 3), st.integers(1, 3)), st.tuples(st.integers(1, 3), st.integers(1, 3)),
       st.integers(0, 2**32 - 1))
def test_kron_matches_its_definition(shape_a, shape_b, seed):
    rng = np.random.default_rng(seed)
    A, B = rng.integers(-9, 10, size=shape_a), rng.integers(-9, 10, size=shape_b)
    K = kron(A, B)
    (M1, M2), (N1, N2) = shape_a, shape_b
    assert K.shape == (M1 * N1, M2 * N2)
    # A_ij B_kl sits at row (i-1) N1 + k and column (j-1) N2 + l (1-based), theory notes §1.1
    for i, j, k, l in itertools.product(range(M1), range(M2), range(N1), range(N2)):
        assert K[i * N1 + k, j * N2 + l] == A[i, j] * B[k, l]


@st.composite
def two_tensors_and_rows(draw):
    A, _ = draw(tensor_and_rows(1, 3))
    B, _ = draw(tensor_and_rows(1, 3))
    rows = sorted(draw(st.sets(st.integers(0, A.ndim + B.ndim - 1))))
    return A, B, rows


@SETTINGS
@given(two_tensors_and_rows())
def test_matricization_of_tensor_product_is_kronecker_product_of_matricizations(data):
    # ICLR 2017 eq. 1: [[A (x) B]]_{I,J} = [[A]]_{I cap [P], J cap [P]} (.) [[B]]_{(I-P) cap [Q], (J-P) cap [Q]}
    A, B, rows = data
    P = A.ndim
    rows_a = [i for i in rows if i < P]
    rows_b = [i - P for i in rows if i >= P]
    np.testing.assert_array_equal(matricize(tensor_product(A, B), rows),
                                  kron(matricize(A, rows_a), matricize(B, rows_b)))


def test_kronecker_identity_when_one_side_of_the_partition_misses_a_factor():
    rng = np.random.default_rng(1)
    A, B = rng.integers(-5, 6, size=(2, 3)), rng.integers(-5, 6, size=(3, 2, 2))
    C = tensor_product(A, B)
    # I inside A's modes: B's matricization has no rows (a 1 x 12 row vector)
    np.testing.assert_array_equal(matricize(C, [0, 1]), kron(matricize(A, [0, 1]), B.reshape(1, 12)))
    # I inside B's modes: A's matricization has no rows
    np.testing.assert_array_equal(matricize(C, [2, 4]), kron(A.reshape(1, 6), matricize(B, [0, 2])))
    # I empty, and I everything
    np.testing.assert_array_equal(matricize(C, []), kron(A.reshape(1, 6), B.reshape(1, 12)))
    np.testing.assert_array_equal(matricize(C, range(5)), kron(A.reshape(6, 1), B.reshape(12, 1)))


def _low_rank_integer_tensor(rng, shape, terms):
    """A sum of ``terms`` outer products of random integer vectors (CP rank at most ``terms``)."""
    total = np.zeros(shape, dtype=np.int64)
    for _ in range(terms):
        term = rng.integers(-3, 4, size=shape[0])
        for M in shape[1:]:
            term = tensor_product(term, rng.integers(-3, 4, size=M))
        total += term
    return total


@SETTINGS
@given(shapes(1, 3), shapes(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1),
       st.data())
def test_kronecker_rank_is_product_of_ranks(shape_a, shape_b, terms_a, terms_b, seed, data):
    # rank(X (.) Y) = rank(X) rank(Y) over any field, so the GF(p) ranks multiply exactly.
    rng = np.random.default_rng(seed)
    A, B = _low_rank_integer_tensor(rng, shape_a, terms_a), _low_rank_integer_tensor(rng, shape_b, terms_b)
    P, Q = len(shape_a), len(shape_b)
    rows = sorted(data.draw(st.sets(st.integers(0, P + Q - 1)), label="rows"))
    rank_ab = exact_rank(matricize(tensor_product(A, B), rows))
    rank_a = exact_rank(matricize(A, [i for i in rows if i < P]))
    rank_b = exact_rank(matricize(B, [i - P for i in rows if i >= P]))
    assert rank_ab == rank_a * rank_b


def test_kron_and_tensor_product_are_numpys():
    rng = np.random.default_rng(2)
    A, B = rng.standard_normal((2, 3)), rng.standard_normal((4, 1))
    np.testing.assert_array_equal(kron(A, B), np.kron(A, B))
    np.testing.assert_array_equal(tensor_product(A, B), np.multiply.outer(A, B))


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("rows, exc, msg", [
    (1, TypeError, "rows must be an iterable of mode indices, got int"),
    ("01", TypeError, "rows must be an iterable of mode indices, got str"),
    ([1.0], TypeError, "rows must contain ints, got 1.0"),
    ([True], TypeError, "rows must contain ints, got True"),
    (["0"], TypeError, "rows must contain ints"),
    ([0, 0], ValueError, "rows repeats a mode"),
    ([3], ValueError, r"rows must be modes in range\(3\) for a tensor of order 3, got \[3\]"),
    ([-1], ValueError, r"rows must be modes in range\(3\).*got \[-1\]"),
])
def test_matricize_rejects_bad_rows(rows, exc, msg):
    with pytest.raises(exc, match=msg):
        matricize(np.zeros((2, 2, 2)), rows)


@pytest.mark.parametrize("tensor, exc, msg", [
    (np.float64(3.0), ValueError, "tensor must have at least one mode, got a scalar"),
    (np.array(["a", "b"]), TypeError, "tensor must be a numeric array"),
    (np.array([1, "a"], dtype=object), TypeError, "tensor must be a numeric array, got dtype object"),
    ("abc", TypeError, "tensor must be a numeric array"),
])
def test_matricize_rejects_bad_tensors(tensor, exc, msg):
    with pytest.raises(exc, match=msg):
        matricize(tensor, [])


@pytest.mark.parametrize("fn", [tensor_product, kron])
def test_products_reject_non_numeric_and_scalar_factors(fn):
    with pytest.raises(TypeError, match="b must be a numeric array"):
        fn(np.ones((2, 2)), np.array([["x"]]))
    with pytest.raises(TypeError, match="a must be a numeric array"):
        fn(np.array([[None]]), np.ones((2, 2)))
    with pytest.raises(ValueError, match="b must have at least one mode"):
        fn(np.ones((2, 2)), 3.0)


@pytest.mark.parametrize("a, b", [(np.ones(2), np.ones((2, 2))), (np.ones((2, 2)), np.ones((2, 2, 2)))])
def test_kron_rejects_non_matrices(a, b):
    with pytest.raises(ValueError, match="kron takes two matrices, got shapes"):
        kron(a, b)
