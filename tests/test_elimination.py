"""Tests of tensorlib.elimination and its float64 kernels: every rank against FLINT's, exact arithmetic
against Python integers, the growing elimination against FLINT after every step."""

import tracemalloc

import flint
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorlib.fields.blas import FloatModP
from tensorlib.pivots import pivots
from tensorlib.elimination import (BLAS_PRIME, BLAS_PRIMES, GrowingElimination, rank_bytes, rank_mod_p)
from tensorlib.fields import is_prime

SETTINGS = settings(max_examples=40)
# Small primes, the BLAS primes, FFLAS-FFPACK's usual size, and primes on the limb-split path.
PRIMES = [2, 3, 5, 7, 65521, BLAS_PRIMES[0], BLAS_PRIMES[2], 8388593, 16777213, 67108859, 2**31 - 1]
primes = st.sampled_from(PRIMES)


def flint_rank(matrix, p):
    """The reference: FLINT's nmod_mat rank of the matrix reduced with Python integers."""
    rows = [[int(x) % p for x in row] for row in np.asarray(matrix).tolist()]
    if not rows or not rows[0]:
        return 0
    return flint.nmod_mat(rows, p).rank()


def random_rank_r(rng, m, n, r, p):
    """(U V) mod p with U (m x r) and V (r x n) uniform residues (product by FLINT): rank at most r."""
    if r == 0:
        return np.zeros((m, n), dtype=np.int64)
    u = flint.nmod_mat(rng.integers(0, p, size=(m, r)).tolist(), p)
    v = flint.nmod_mat(rng.integers(0, p, size=(r, n)).tolist(), p)
    return np.array([int(x) for x in (u * v).entries()], dtype=np.int64).reshape(m, n)


def exact_product(a, b, p):
    """a @ b mod p with Python integers (independent of the float64 kernels)."""
    return np.dot(np.asarray(a).astype(np.int64).astype(object), np.asarray(b).astype(np.int64).astype(object)) % p


def residues(x, p):
    return np.asarray(x).astype(np.int64) % p


# -- the float64 kernels ---------------------------------------------------------------------------

def test_the_blas_primes_are_primes_below_2_to_22_and_distinct():
    assert all(is_prime(p) and p < 2**22 for p in BLAS_PRIMES)
    assert len(set(BLAS_PRIMES)) == len(BLAS_PRIMES) and BLAS_PRIME == BLAS_PRIMES[0]


@pytest.mark.parametrize("p", PRIMES)
def test_kernel_bounds_keep_products_below_2_to_53(p):
    f = FloatModP(p)
    assert f.limit < 2**53 and f.h >= p // 2
    if f.split:
        # b = limb * high + low covers every residue, the recombination is exact, and a panel of
        # 256 products of a residue and a limb fits in one chunk.
        assert f.h_high * f.limb + f.h_low >= f.h and f.h * f.limb + f.h < f.limit
        assert f.inner_capacity(f.h, max(f.h_low, f.h_high)) >= 256
    else:
        assert f.kmax * f.h**2 + f.h <= f.limit and f.kmax >= 256


@SETTINGS
@given(p=primes, values=st.lists(st.integers(-(2**50), 2**50), min_size=1, max_size=30), seed=st.integers(0, 2**32 - 1))
def test_reduce_gives_a_small_representative_of_the_same_class(p, values, seed):
    f = FloatModP(p)
    rng = np.random.default_rng(seed)
    extremes = rng.integers(-int(f.limit), int(f.limit), size=10, endpoint=True).tolist()
    x = np.array(values + extremes + [int(f.limit), -int(f.limit), p, -p, 0], dtype=np.float64)
    exact = [int(v) for v in x]
    r = f.reduce(x.copy())
    assert all((int(ri) - v) % p == 0 for ri, v in zip(r, exact))
    assert np.all(np.abs(r) <= f.h)
    assert np.array_equal(r == 0, np.array([v % p == 0 for v in exact]))


@SETTINGS
@given(p=primes, m=st.integers(1, 6), n=st.integers(1, 6), inner=st.sampled_from([1, 7, 255, 300, 600, 1100]),
       seed=st.integers(0, 2**32 - 1))
def test_matmul_is_the_exact_product_mod_p(p, m, n, inner, seed):
    # Inner dimensions above kmax (510 for p near 2**23, 255 on the split path) exercise the chunking.
    f = FloatModP(p)
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, p, size=(m, inner)), rng.integers(0, p, size=(inner, n))
    got = f.matmul(f.from_integers(a), f.from_integers(b))
    assert np.all(np.abs(got) <= f.h)
    assert np.array_equal(residues(got, p), exact_product(a, b, p))


@pytest.mark.parametrize("p", PRIMES)
@pytest.mark.parametrize("pattern", ["-1", "-2", "half", "-half", "limb"])
def test_products_of_the_largest_residues_stay_exact(p, pattern):
    # Worst cases for the bounds: every term of a sum as large as the residues (or limbs) allow, all of
    # one sign, over a whole chunk of the inner dimension and more. Odd terms ("-2" times the odd
    # (p - 1) / 2), so that a sum past 2**53 would lose its last bit.
    f = FloatModP(p)
    half = (p - 1) // 2
    beta = int(f.limb)
    value = {"-1": -1, "-2": -2, "half": half, "-half": -half, "limb": beta // 2 + beta * max(0, half // beta - 1)}[pattern]
    step = min(f.kmax or f.inner_capacity(f.h, max(f.h_low, f.h_high)), 3000)  # small p: no chunks below 3000
    for inner in (step, 2 * step + 3):
        a = np.full((2, inner), half, dtype=np.int64)
        b = np.full((inner, 3), value % p, dtype=np.int64)
        expected = exact_product(a, b, p)
        assert np.array_equal(residues(f.matmul(f.from_integers(a), f.from_integers(b)), p), expected)
        c = np.zeros((2, 3))
        held = float(f.h)
        for _ in range(3):  # three subtractions of the largest products: reductions in between
            held = f.sub_matmul(c, held, f.from_integers(a), f.from_integers(b))
        assert np.array_equal(residues(f.reduce(c), p), (-3 * expected) % p)


@SETTINGS
@given(p=primes, shape=st.tuples(st.integers(1, 5), st.integers(1, 5)), seed=st.integers(0, 2**32 - 1))
def test_mul_is_the_exact_elementwise_product_mod_p(p, shape, seed):
    f = FloatModP(p)
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, p, size=shape), rng.integers(0, p, size=shape)
    got = f.mul(f.from_integers(a), f.from_integers(b))
    expected = (a.astype(object) * b.astype(object)) % p
    assert np.array_equal(residues(got, p), expected)


@SETTINGS
@given(p=primes, updates=st.integers(1, 40), inner=st.integers(1, 300), seed=st.integers(0, 2**32 - 1))
def test_sub_matmul_with_delayed_reduction_stays_exact(p, updates, inner, seed):
    # Many unreduced updates of the same block pass the 2**53 budget and force its reduction.
    f = FloatModP(p)
    rng = np.random.default_rng(seed)
    c_int = rng.integers(0, p, size=(4, 3))
    c, held = f.from_integers(c_int), float(f.h)
    expected = c_int.astype(object)
    for _ in range(updates):
        a, b = rng.integers(0, p, size=(4, inner)), rng.integers(0, p, size=(inner, 3))
        held = f.sub_matmul(c, held, f.from_integers(a), f.from_integers(b))
        expected = (expected - exact_product(a, b, p)) % p
        assert np.all(np.abs(c) <= held) and held <= f.limit
    assert np.array_equal(residues(f.reduce(c), p), expected)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint16, np.uint64])
def test_from_integers_reduces_every_dtype(dtype):
    p = BLAS_PRIME
    info = np.iinfo(dtype)
    a = np.array([[info.min, info.max, 0], [1, info.max - 1, info.min + 1]], dtype=dtype)
    got = FloatModP(p).from_integers(a)
    assert np.array_equal(residues(got, p), np.array([[int(x) % p for x in row] for row in a.tolist()]))


# -- the rank-revealing factorization of a panel --------------------------------------------------------

@SETTINGS
@given(p=primes, m=st.integers(1, 80), n=st.integers(1, 80), data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_pivots_give_an_invertible_block_its_inverse_and_the_multipliers(p, m, n, data, seed):
    rng = np.random.default_rng(seed)
    r = data.draw(st.integers(0, min(m, n)), label="r")
    a = random_rank_r(rng, m, n, r, p)
    a[rng.random(m) < 0.2] = 0  # zero rows move the pivots off the diagonal
    f = FloatModP(p)
    found = pivots(f, f.from_integers(a))
    assert found.rank == flint_rank(a, p)
    assert len(set(found.rows.tolist())) == found.rank == len(set(found.cols.tolist()))
    block = a[np.ix_(found.rows, found.cols)]
    inverse = residues(found.inverse, p)
    assert np.array_equal(exact_product(block, inverse, p), np.eye(found.rank, dtype=int) % p)
    others = np.setdiff1d(np.arange(m), found.rows)
    assert np.array_equal(residues(found.multipliers, p), exact_product(a[np.ix_(others, found.cols)], inverse, p))


# -- rank_mod_p against FLINT ------------------------------------------------------------------------

@pytest.mark.parametrize("n", range(1, 7))
@pytest.mark.parametrize("p", [2, 7, BLAS_PRIME, 2**31 - 1])
def test_rank_mod_p_matches_flint_for_every_rank(n, p):
    rng = np.random.default_rng(n * 1000 + p % 1000)
    for r in range(n + 1):
        for m in (n, n + 3):
            a = random_rank_r(rng, m, n, r, p)
            for panel in (1, 2, 256):
                assert rank_mod_p(a, p, panel=panel) == flint_rank(a, p)
                assert rank_mod_p(a.T, p, panel=panel) == flint_rank(a, p)


@SETTINGS
@given(p=primes, m=st.integers(1, 90), n=st.integers(1, 90), panel=st.sampled_from([1, 2, 3, 8, 33, 256]),
       data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_rank_mod_p_matches_flint_on_low_rank_products(p, m, n, panel, data, seed):
    rng = np.random.default_rng(seed)
    a = random_rank_r(rng, m, n, data.draw(st.integers(0, min(m, n)), label="r"), p)
    if data.draw(st.booleans(), label="zero rows"):
        a[rng.random(m) < 0.3] = 0
    if data.draw(st.booleans(), label="repeated columns") and n > 1:
        a[:, rng.integers(0, n, size=n // 2)] = a[:, rng.integers(0, n, size=n // 2)]
    assert rank_mod_p(a, p, panel=panel) == flint_rank(a, p)


@SETTINGS
@given(p=primes, seed=st.integers(0, 2**32 - 1), view=st.sampled_from(["rows", "cols", "both", "T", "F", "reversed"]))
def test_rank_mod_p_reads_non_contiguous_views(p, seed, view):
    rng = np.random.default_rng(seed)
    base = random_rank_r(rng, 41, 37, int(rng.integers(0, 30)), p)
    a = {"rows": base[::2], "cols": base[:, 1::3], "both": base[3::2, ::-2], "T": base.T,
         "F": np.asfortranarray(base), "reversed": base[::-1, ::-1]}[view]
    assert rank_mod_p(a, p, panel=8) == flint_rank(np.ascontiguousarray(a), p)


@SETTINGS
@given(p=primes, seed=st.integers(0, 2**32 - 1), shift=st.integers(-(2**20), 2**20))
def test_rank_mod_p_of_negative_and_unreduced_integers_depends_only_on_residues(p, seed, shift):
    rng = np.random.default_rng(seed)
    a = random_rank_r(rng, 12, 15, int(rng.integers(0, 13)), p)
    unreduced = a + p * rng.integers(-(2**20), 2**20, size=a.shape) + shift * p
    huge = a + p * ((2**62 // p) * rng.choice([-1, 1], size=a.shape))  # beyond 2**53: integer remainder
    expected = flint_rank(a, p)
    assert rank_mod_p(unreduced, p) == rank_mod_p(-a, p) == rank_mod_p(huge, p) == expected


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.uint8, np.uint32, np.uint64, bool])
@pytest.mark.parametrize("p", [3, BLAS_PRIME, 2**31 - 1])
def test_rank_mod_p_accepts_every_integer_dtype(dtype, p):
    rng = np.random.default_rng(7)
    a = rng.integers(0, 2, size=(9, 11)) if dtype is bool else rng.integers(0, np.iinfo(dtype).max // 2, size=(9, 11))
    a = a.astype(dtype)
    a[3] = a[1]
    assert rank_mod_p(a, p) == flint_rank(a.astype(object), p)


def test_rank_mod_p_reduces_uint64_entries_above_2_to_63():
    a = np.array([[2**64 - 1, 2**63 + 5, 1], [1, 1, 1], [2**63, 0, 7]], dtype=np.uint64)
    for p in [3, 5, BLAS_PRIME, 2**31 - 1]:
        assert rank_mod_p(a, p) == flint_rank(a, p)


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0)])
def test_rank_mod_p_of_an_empty_matrix_is_zero(shape):
    assert rank_mod_p(np.zeros(shape, dtype=np.int64)) == 0


@pytest.mark.parametrize("m, n, r, p", [(300, 300, 150, BLAS_PRIME), (520, 300, 290, BLAS_PRIME),
                                        (300, 700, 300, BLAS_PRIMES[1]), (400, 400, 399, 8388593),
                                        (300, 300, 200, 2**31 - 1)])
def test_rank_mod_p_of_large_matrices_matches_flint(m, n, r, p):
    # More than one panel of 256 columns: the blocked loop, its swaps and delayed reductions.
    a = random_rank_r(np.random.default_rng(m + n + r), m, n, r, p)
    a[:5] = 0  # the first pivots lie below the top rows
    assert rank_mod_p(a, p) == flint_rank(a, p)


@pytest.mark.parametrize("p", [BLAS_PRIME, 8388593, 2**31 - 1])
@pytest.mark.parametrize("magnitude", [2**40, 2**52, 2**62])
def test_rank_mod_p_of_large_unreduced_matrices_matches_flint(p, magnitude):
    # Entries far from their residues enter the blocked loop unreduced (below 2**53) or reduced first.
    rng = np.random.default_rng(magnitude % 1000 + p % 1000)
    a = random_rank_r(rng, 300, 290, 200, p)
    a = a + p * rng.integers(-(magnitude // p), magnitude // p, size=a.shape)
    assert rank_mod_p(a, p, panel=64) == flint_rank(a, p)


def test_rank_mod_p_reduces_the_trailing_matrix_when_its_budget_runs_out(monkeypatch):
    # A p near 2**23 leaves room for two 256-column updates before the trailing matrix is reduced.
    calls = []
    original = FloatModP.reduce
    monkeypatch.setattr(FloatModP, "reduce", lambda self, x: calls.append(x.shape) or original(self, x))
    p = 8388593
    a = np.random.default_rng(1).integers(0, p, size=(1100, 1100))
    a[-10:] = a[:10]
    assert rank_mod_p(a, p) == flint_rank(a, p)
    assert any(shape[0] > 256 and shape[1] > 256 for shape in calls)


@pytest.mark.parametrize("bad, exc, msg", [(np.eye(3), TypeError, "matrix must have an integer dtype"),
                                           (np.zeros(3, dtype=int), ValueError, "matrix must be 2-D"),
                                           (np.zeros((2, 2, 2), dtype=int), ValueError, "matrix must be 2-D")])
def test_rank_mod_p_rejects_non_integer_matrices(bad, exc, msg):
    with pytest.raises(exc, match=msg):
        rank_mod_p(bad)


@pytest.mark.parametrize("p, exc", [(91, ValueError), (2**31, ValueError), (1, ValueError), (7.0, TypeError)])
def test_rank_mod_p_rejects_bad_primes(p, exc):
    with pytest.raises(exc, match="p must be"):
        rank_mod_p(np.eye(2, dtype=int), p)


def test_rank_mod_p_rejects_a_bad_panel():
    with pytest.raises(ValueError, match="panel must be at least 1"):
        rank_mod_p(np.eye(2, dtype=int), panel=0)


def test_rank_bytes_bounds_the_memory_rank_mod_p_allocates():
    a = random_rank_r(np.random.default_rng(3), 400, 600, 380, BLAS_PRIME)
    tracemalloc.start()
    try:
        rank_mod_p(a)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 8 * a.size <= peak <= rank_bytes(a.shape)


# -- the growing elimination -------------------------------------------------------------------------

def grow_and_check(F, steps, p, residues=False):
    """Grow F's leading blocks step by step; after each step compare with FLINT's rank of the block.

    With ``residues``, the blocks go to ``_grow_residues`` as float64 copies of their residues (the
    separation-rank driver's way), which the elimination then keeps and changes in place.
    """
    g = GrowingElimination(p)
    size = 0
    for k in steps:
        columns, rows = F[:size, size:size + k], F[size:size + k, :size + k]
        if residues:
            rank = g._grow_residues(np.mod(columns, p).astype(np.float64), np.mod(rows, p).astype(np.float64))
        else:
            rank = g.grow(columns, rows)
        size += k
        assert rank == g.rank == flint_rank(F[:size, :size], p)
        assert g.size == size
        assert g.saturated == (rank < size)
        if g.saturated:
            break
    return g


@SETTINGS
@given(p=primes, steps=st.lists(st.integers(1, 12), min_size=1, max_size=12), seed=st.integers(0, 2**32 - 1))
def test_growing_elimination_matches_flint_after_every_step(p, steps, seed):
    K = sum(steps)
    F = np.random.default_rng(seed).integers(0, p, size=(K, K))
    grow_and_check(F, steps, p)


@SETTINGS
@given(p=primes, data=st.data(), seed=st.integers(0, 2**32 - 1), residues=st.booleans())
def test_growing_elimination_saturates_at_the_rank_of_a_low_rank_matrix(p, data, seed, residues):
    steps = data.draw(st.lists(st.integers(1, 9), min_size=2, max_size=10), label="steps")
    K = sum(steps)
    r = data.draw(st.integers(0, K - 1), label="r")
    F = random_rank_r(np.random.default_rng(seed), K, K, r, p)
    g = grow_and_check(F, steps, p, residues)
    assert g.saturated and g.rank <= r  # the deficiency shows at the latest once size passes r
    with pytest.raises(RuntimeError, match="saturated at rank"):
        g.grow(np.zeros((g.size, 1), dtype=int), np.zeros((1, g.size + 1), dtype=int))


def test_growing_elimination_in_blocks_of_one_sees_the_first_deficient_step():
    p = BLAS_PRIME
    F = random_rank_r(np.random.default_rng(5), 30, 30, 17, p)
    g = grow_and_check(F, [1] * 30, p)
    # A generic rank-r matrix has an invertible leading r x r block: the deficiency appears at size r + 1.
    assert g.rank == flint_rank(F, p) and g.size == g.rank + 1


@pytest.mark.parametrize("p", [BLAS_PRIME, 8388593, 2**31 - 1])
@pytest.mark.parametrize("residues", [False, True])
def test_growing_elimination_to_a_few_hundred_matches_one_shot_and_flint(p, residues):
    rng = np.random.default_rng(p % 97)
    F = random_rank_r(rng, 420, 420, 390, p)
    g = grow_and_check(F, [130, 130, 130, 30], p, residues)
    assert g.rank == rank_mod_p(F[:g.size, :g.size], p)


@SETTINGS
@given(p=primes, steps=st.lists(st.integers(1, 12), min_size=1, max_size=12), seed=st.integers(0, 2**32 - 1))
def test_growing_elimination_on_float_residues_matches_flint_after_every_step(p, steps, seed):
    K = sum(steps)
    F = np.random.default_rng(seed).integers(0, p, size=(K, K))
    grow_and_check(F, steps, p, residues=True)


def test_growing_on_residues_refuses_integer_and_strided_arrays():
    g = GrowingElimination(7)
    with pytest.raises(TypeError, match="new_rows must be a C-contiguous 2-D float64 array"):
        g._grow_residues(np.zeros((0, 1)), np.ones((1, 1), dtype=np.int64))
    with pytest.raises(TypeError, match="new_rows must be a C-contiguous 2-D float64 array"):
        g._grow_residues(np.zeros((0, 2)), np.ones((2, 4))[:, ::2])
    with pytest.raises(TypeError, match="new_columns must be a C-contiguous 2-D float64 array"):
        g._grow_residues(np.zeros((0, 2), dtype=np.int64), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"new_rows must have shape \(k, size \+ k\)"):
        g._grow_residues(np.zeros((0, 2)), np.ones((2, 3)))


@pytest.mark.parametrize("p, K, k", [(BLAS_PRIME, 300, 100), (8388593, 1000, 250)])  # 8388593 splits limbs
def test_growing_elimination_step_bytes_bounds_what_a_step_allocates(p, K, k):
    F = np.random.default_rng(9).integers(0, p, size=(K + k, K + k))
    g = GrowingElimination(p)
    g.grow(F[:0, :K], F[:K, :K])
    held = g.nbytes
    assert held >= 8 * K * K
    budget = g.step_bytes(k)
    columns, rows = F[:K, K:], F[K:, :]
    tracemalloc.start()
    try:
        g.grow(columns, rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert g.rank == K + k and peak <= budget
    assert g.nbytes - held <= budget and g.step_bytes(k) > budget  # the next step is larger


@pytest.mark.parametrize("columns, rows, msg", [
    (np.zeros((0, 2), dtype=int), np.zeros((2, 3), dtype=int), r"new_rows must have shape \(k, size \+ k\)"),
    (np.zeros((1, 2), dtype=int), np.zeros((2, 2), dtype=int), r"new_columns must have shape \(size, k\)"),
    (np.zeros((0, 0), dtype=int), np.zeros((0, 0), dtype=int), "new_rows must have at least one row"),
    (np.zeros(2, dtype=int), np.zeros((2, 2), dtype=int), "new_columns must be 2-D"),
])
def test_growing_elimination_rejects_blocks_of_the_wrong_shape(columns, rows, msg):
    with pytest.raises(ValueError, match=msg):
        GrowingElimination(7).grow(columns, rows)


def test_growing_elimination_rejects_float_blocks_and_bad_primes():
    with pytest.raises(TypeError, match="new_rows must have an integer dtype"):
        GrowingElimination(7).grow(np.zeros((0, 1), dtype=int), np.ones((1, 1)))
    with pytest.raises(ValueError, match="p must be prime"):
        GrowingElimination(91)
    with pytest.raises(ValueError, match="k must be at least 1"):
        GrowingElimination(7).step_bytes(0)


def test_growing_elimination_reports_its_state():
    g = GrowingElimination(5)
    g.grow(np.zeros((0, 2), dtype=int), np.array([[1, 2], [2, 4]]))  # rank 1: saturated at once
    assert (g.size, g.rank, g.saturated) == (2, 1, True)
    assert "saturated" in repr(g) and "rank=1" in repr(g)

