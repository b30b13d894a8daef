"""Tests of tensorlib.rank: exact GF(p) ranks against independent computations, float ranks, validation."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlib.rank as rank_module
from tensorlib import DEFAULT_PRIME
from tensorlib.elimination import BLAS_PRIME
from tensorlib.rank import EXACT_RANK_METHODS, default_tolerance, exact_rank, numerical_rank, singular_values

SETTINGS = settings(max_examples=40)  # derandomized by the profile of tests/conftest.py
PRIMES = [2, 3, 5, 7, 65521, DEFAULT_PRIME]


def _rank_mod_p_by_elimination(matrix, p):
    """Rank over GF(p) by Gaussian elimination on Python integers: independent of flint."""
    rows = [[int(x) % p for x in row] for row in (matrix.tolist() if isinstance(matrix, np.ndarray) else matrix)]
    rank, n_cols = 0, len(rows[0]) if rows else 0
    for col in range(n_cols):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][col]), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        inv = pow(rows[rank][col], -1, p)
        rows[rank] = [(x * inv) % p for x in rows[rank]]
        for r in range(len(rows)):
            if r != rank and rows[r][col]:
                factor = rows[r][col]
                rows[r] = [(x - factor * y) % p for x, y in zip(rows[r], rows[rank])]
        rank += 1
    return rank


def _rank_k_product(rng, m, n, k, magnitude):
    """F = U V^T with U = [I_k; R] (m x k) and V = [I_k; S] (n x k), rows shuffled.

    U and V contain an identity block, so they have rank k over every field and F has rank exactly k
    over Q and over every GF(p). Also sigma_k(U), sigma_k(V) >= 1, so F is well conditioned in float.
    """
    U = np.vstack([np.eye(k, dtype=np.int64), rng.integers(-magnitude, magnitude + 1, size=(m - k, k))])
    V = np.vstack([np.eye(k, dtype=np.int64), rng.integers(-magnitude, magnitude + 1, size=(n - k, k))])
    return (U @ V.T)[rng.permutation(m)][:, rng.permutation(n)]


sizes = st.integers(1, 12).flatmap(lambda k: st.tuples(st.just(k), st.integers(k, 14), st.integers(k, 14)))


# -- exact rank against theorems and independent computations ---------------------------------

@SETTINGS
@given(kmn=sizes, magnitude=st.integers(1, 1000), seed=st.integers(0, 2**32 - 1))
def test_exact_rank_of_product_of_factors_with_k_columns_is_k(kmn, magnitude, seed):
    k, m, n = kmn
    F = _rank_k_product(np.random.default_rng(seed), m, n, k, magnitude)
    assert exact_rank(F) == k


@SETTINGS
@given(kmn=sizes, p=st.sampled_from(PRIMES), seed=st.integers(0, 2**32 - 1))
def test_exact_rank_of_product_of_factors_with_k_columns_is_k_for_every_prime(kmn, p, seed):
    k, m, n = kmn
    F = _rank_k_product(np.random.default_rng(seed), m, n, k, 50)
    assert exact_rank(F, p=p) == k


@SETTINGS
@given(kmn=sizes, magnitude=st.integers(1, 100), seed=st.integers(0, 2**32 - 1))
def test_numerical_rank_equals_exact_rank_on_well_conditioned_products(kmn, magnitude, seed):
    k, m, n = kmn
    F = _rank_k_product(np.random.default_rng(seed), m, n, k, magnitude)
    assert numerical_rank(F) == exact_rank(F) == k


@SETTINGS
@given(m=st.integers(1, 8), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_numerical_rank_equals_exact_rank_on_small_random_integer_matrices(m, n, seed):
    rng = np.random.default_rng(seed)
    F = rng.integers(-3, 4, size=(m, n))
    F[rng.random(m) < 0.3] = 0  # some zero rows and
    if m > 1:
        F[-1] = F[0] - F[rng.integers(0, m)]  # some dependent rows, so ranks below min(m, n) occur
    # Every nonzero minor is below the Hadamard bound < p, so the GF(p) rank is the rational rank; the
    # smallest nonzero singular value is at least sigma_max^-(r-1), far above numpy's tolerance.
    hadamard = np.prod([max(1.0, np.linalg.norm(row)) for row in F])
    assert hadamard < DEFAULT_PRIME
    assert numerical_rank(F) == exact_rank(F) == _rank_mod_p_by_elimination(F, DEFAULT_PRIME)


@SETTINGS
@given(m=st.integers(1, 7), n=st.integers(1, 7), p=st.sampled_from([2, 3, 5, 7, 11]),
       seed=st.integers(0, 2**32 - 1))
def test_exact_rank_agrees_with_gaussian_elimination_mod_small_primes(m, n, p, seed):
    F = np.random.default_rng(seed).integers(-20, 21, size=(m, n))
    assert exact_rank(F, p=p) == _rank_mod_p_by_elimination(F, p)


def test_exact_rank_depends_on_the_prime_as_the_determinant_says():
    F = np.array([[1, 1], [1, -1]])  # det = -2: singular mod 2 only
    assert exact_rank(F, p=2) == 1
    assert all(exact_rank(F, p=p) == 2 for p in [3, 5, 7, DEFAULT_PRIME])
    G = np.array([[3, 1], [0, 7]])  # det = 21
    assert [exact_rank(G, p=p) for p in [2, 3, 5, 7]] == [2, 1, 2, 1]


@SETTINGS
@given(m=st.integers(1, 6), n=st.integers(1, 6), p=st.sampled_from(PRIMES), shift=st.integers(-3, 3),
       seed=st.integers(0, 2**32 - 1))
def test_exact_rank_of_negative_integers_depends_only_on_residues(m, n, p, shift, seed):
    rng = np.random.default_rng(seed)
    F = rng.integers(-100, 101, size=(m, n))
    expected = _rank_mod_p_by_elimination(F, p)
    assert exact_rank(F, p=p) == expected
    assert exact_rank(-F, p=p) == expected  # negation is an invertible row operation
    assert exact_rank(F + shift * p * rng.integers(-2, 3, size=(m, n)), p=p) == expected


@SETTINGS
@given(m=st.integers(1, 8), n=st.integers(1, 8), seed=st.integers(0, 2**32 - 1))
def test_exact_rank_of_bool_matrix_is_rank_of_its_0_1_matrix(m, n, seed):
    B = np.random.default_rng(seed).random((m, n)) < 0.5
    for p in [2, DEFAULT_PRIME]:
        assert exact_rank(B, p=p) == _rank_mod_p_by_elimination(B.astype(int), p)


@SETTINGS
@given(m=st.integers(1, 9), n=st.integers(1, 9), seed=st.integers(0, 2**32 - 1))
def test_exact_rank_is_invariant_under_transposition(m, n, seed):
    F = np.random.default_rng(seed).integers(-2, 3, size=(m, n))
    assert exact_rank(F) == exact_rank(F.T)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64])
def test_exact_rank_accepts_every_integer_dtype(dtype):
    F = np.array([[1, 2, 3], [2, 4, 6], [0, 1, 1]], dtype=dtype)  # rank 2: row 2 = 2 * row 1
    assert exact_rank(F, p=7) == 2


def test_exact_rank_reduces_uint64_entries_above_2_to_63_correctly():
    F = np.array([[2**64 - 1, 1], [1, 1]], dtype=np.uint64)
    for p in [3, 5, 7, DEFAULT_PRIME]:
        assert exact_rank(F, p=p) == _rank_mod_p_by_elimination([[2**64 - 1, 1], [1, 1]], p)


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0)])
def test_rank_of_empty_matrix_is_zero(shape):
    assert exact_rank(np.zeros(shape, dtype=np.int64)) == 0
    assert numerical_rank(np.zeros(shape)) == 0
    assert singular_values(np.zeros(shape)).shape == (0,)


def test_rank_of_zero_matrix_is_zero():
    assert exact_rank(np.zeros((4, 3), dtype=np.int64)) == 0
    assert numerical_rank(np.zeros((4, 3))) == 0


@pytest.mark.parametrize("m, n, k", [(300, 300, 17), (260, 400, 33), (400, 180, 5)])
def test_exact_rank_of_large_matrices_is_k_on_both_flint_paths(m, n, k):
    F = _rank_k_product(np.random.default_rng(m + n + k), m, n, k, 1000)
    reduced = np.mod(F, DEFAULT_PRIME)
    assert exact_rank(F) == k
    assert rank_module._rank_via_python_flint(reduced, DEFAULT_PRIME) == k
    fast = rank_module._rank_via_buffer(reduced, DEFAULT_PRIME)
    # None only if the FLINT library of python-flint's wheel cannot be located (then the list path runs).
    assert fast == (None if rank_module._libflint() is None else k)


@SETTINGS
@given(m=st.integers(1, 140), n=st.integers(1, 140), p=st.sampled_from(PRIMES + [BLAS_PRIME]),
       seed=st.integers(0, 2**32 - 1), data=st.data())
def test_exact_rank_methods_agree(m, n, p, seed, data):
    # FLINT is the reference.
    rng = np.random.default_rng(seed)
    k = data.draw(st.integers(0, min(m, n)), label="k")
    F = (rng.integers(0, p, size=(m, k)) % p) @ (rng.integers(0, 3, size=(k, n)))
    F[rng.random(m) < 0.2] = -7 * p
    expected = exact_rank(F, p=p, method="flint")
    assert exact_rank(F, p=p, method="blas") == exact_rank(F, p=p, method="auto") == expected


@pytest.mark.parametrize("method", EXACT_RANK_METHODS)
def test_every_method_gives_rank_k_on_large_products(method):
    # 600 x 530: above the side (512) from which "auto" takes the BLAS engine.
    F = _rank_k_product(np.random.default_rng(11), 600, 530, 123, 1000)
    assert exact_rank(F, method=method) == 123
    assert exact_rank(F, p=BLAS_PRIME, method=method) == 123


def test_auto_takes_the_blas_engine_from_512_and_flint_below(monkeypatch):
    calls = []
    monkeypatch.setattr(rank_module, "rank_mod_p", lambda a, p: calls.append(a.shape) or 0)
    exact_rank(np.ones((512, 600), dtype=np.int64))
    exact_rank(np.ones((511, 600), dtype=np.int64))
    assert calls == [(512, 600)]


@pytest.mark.parametrize("method", ["BLAS", "lapack", "", None, 1])
def test_exact_rank_rejects_unknown_methods(method):
    with pytest.raises(ValueError, match=r"method must be one of \('auto', 'blas', 'flint'\)"):
        exact_rank(np.eye(3, dtype=np.int64), method=method)


def test_exact_rank_of_large_full_rank_matrix_is_full():
    rng = np.random.default_rng(3)
    F = rng.integers(0, DEFAULT_PRIME, size=(300, 260))
    # A random 260 x 260 minor vanishes mod p with probability below 260/p (Schwartz-Zippel).
    assert exact_rank(F) == 260


# -- float rank ---------------------------------------------------------------------------------

def test_singular_values_are_numpys_in_descending_order():
    A = np.random.default_rng(0).standard_normal((5, 3))
    s = singular_values(A)
    np.testing.assert_allclose(s, np.linalg.svd(A, compute_uv=False))
    assert np.all(np.diff(s) <= 0) and s.dtype == np.float64


def test_singular_values_of_diagonal_matrix_are_sorted_absolute_diagonal():
    np.testing.assert_allclose(singular_values(np.diag([-3.0, 1.0, 2.0])), [3.0, 2.0, 1.0])


def test_default_tolerance_is_sigma_max_times_size_times_eps():
    assert default_tolerance(np.array([4.0, 1.0]), (3, 7)) == 4.0 * 7 * np.finfo(np.float64).eps
    assert default_tolerance(np.zeros(0), (0, 3)) == 0.0
    with pytest.raises(ValueError, match="sigma must be a 1-D array"):
        default_tolerance(np.ones((2, 2)), (2, 2))
    with pytest.raises(ValueError, match="shape must be the matrix shape"):
        default_tolerance(np.ones(2), (2,))


def test_numerical_rank_counts_singular_values_above_tol():
    D = np.diag([1.0, 1e-3, 1e-9])
    assert numerical_rank(D) == 3
    assert numerical_rank(D, tol=1e-6) == 2
    assert numerical_rank(D, tol=0) == 3
    assert numerical_rank(D, tol=2) == 0


def test_numerical_rank_underestimates_when_singular_values_span_many_orders():
    # diag(1, 1e-20) has rank 2; float64 with the default tolerance cannot see the second value.
    D = np.diag([1.0, 1e-20])
    assert numerical_rank(D) == 1
    assert exact_rank(np.diag([1, 1])) == 2


def test_numerical_rank_accepts_bool_and_int_matrices():
    assert numerical_rank(np.eye(4, dtype=bool)) == 4
    assert numerical_rank(np.array([[1, 2], [2, 4]])) == 1


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("p", [91, 4, 2**31 - 3])
def test_exact_rank_rejects_composite_primes_before_reaching_flint(p, monkeypatch):
    def boom(*args):  # pragma: no cover - reaching flint with a composite modulus aborts the process
        raise AssertionError("flint was called with a composite modulus")
    monkeypatch.setattr(rank_module, "_rank_via_python_flint", boom)
    monkeypatch.setattr(rank_module, "_rank_via_buffer", boom)
    with pytest.raises(ValueError, match="p must be prime"):
        exact_rank(np.eye(3, dtype=np.int64), p=p)


@pytest.mark.parametrize("p", [0, 1, -7, 2**31, 2**40 + 15])
def test_exact_rank_rejects_out_of_range_primes(p):
    with pytest.raises(ValueError, match=r"p must be a prime in \[2, 2\*\*31\)"):
        exact_rank(np.eye(3, dtype=np.int64), p=p)


@pytest.mark.parametrize("p", [7.0, "7", True])
def test_exact_rank_rejects_non_integer_primes(p):
    with pytest.raises(TypeError, match="p must be an int"):
        exact_rank(np.eye(3, dtype=np.int64), p=p)


@pytest.mark.parametrize("matrix", [np.eye(3), np.eye(3, dtype=np.float32), np.eye(2) * 1j])
def test_exact_rank_rejects_float_and_complex_matrices(matrix):
    with pytest.raises(TypeError, match="exact_rank needs an integer matrix"):
        exact_rank(matrix)


@pytest.mark.parametrize("fn", [exact_rank, numerical_rank, singular_values])
@pytest.mark.parametrize("shape", [(3,), (2, 2, 2), ()])
def test_rank_functions_reject_non_matrices(fn, shape):
    with pytest.raises(ValueError, match="matrix must be 2-D, got an array of shape"):
        fn(np.zeros(shape, dtype=np.int64))


@pytest.mark.parametrize("fn", [exact_rank, numerical_rank, singular_values])
@pytest.mark.parametrize("bad", ["abc", np.array([["a", "b"]]), [[1, 2], [3]], [[2**70, 1]]])
def test_rank_functions_reject_non_numeric_input(fn, bad):
    with pytest.raises(TypeError, match="matrix must"):
        fn(bad)


def test_exact_rank_rejects_a_flint_matrix_with_a_pointer_to_its_rank_method():
    import flint
    with pytest.raises(TypeError, match=r"flint nmod_mat; call \.rank\(\)"):
        exact_rank(flint.nmod_mat(2, 2, 7))


@pytest.mark.parametrize("fn", [numerical_rank, singular_values])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_float_rank_rejects_nan_and_inf(fn, value):
    with pytest.raises(ValueError, match="matrix contains NaN or inf"):
        fn(np.array([[1.0, value]]))


def test_float_rank_rejects_complex_matrices():
    with pytest.raises(TypeError, match="matrix must be real"):
        numerical_rank(np.eye(2) * 1j)


@pytest.mark.parametrize("tol, exc, msg", [(-1.0, ValueError, "tol must be a finite non-negative number"),
                                           (np.nan, ValueError, "tol must be a finite non-negative number"),
                                           (np.inf, ValueError, "tol must be a finite non-negative number"),
                                           ("1e-3", TypeError, "tol must be a non-negative number or None"),
                                           (True, TypeError, "tol must be a non-negative number or None")])
def test_numerical_rank_rejects_bad_tolerance(tol, exc, msg):
    with pytest.raises(exc, match=msg):
        numerical_rank(np.eye(2), tol=tol)


# -- the memory budget and masked arrays (issue 11) ---------------------------------------------------

@pytest.mark.parametrize("method", ["flint", "blas"])
def test_a_matrix_over_the_memory_budget_is_refused_before_any_allocation(method):
    a = np.zeros((600, 600), dtype=np.int64)
    need = rank_module.exact_rank_bytes(a.shape, method)
    with pytest.raises(MemoryError, match=r"eliminating a 600 x 600 matrix needs about .* GiB, above memory_budget"):
        exact_rank(a, method=method, memory_budget=need - 1)
    assert exact_rank(a, method=method, memory_budget=need) == 0


def test_the_default_memory_budget_is_half_the_physical_memory():
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert rank_module.default_memory_budget() == total // 2


def test_a_masked_matrix_is_refused():
    with pytest.raises(TypeError, match="masked array"):
        exact_rank(np.ma.masked_array(np.eye(3, dtype=np.int64), mask=np.eye(3, dtype=bool)))
