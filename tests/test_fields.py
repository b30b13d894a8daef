"""Tests of tensorlib.fields: GF(p) arithmetic and the shared kernels against Python's big integers.

Every expected value is computed with Python integers (object arrays), which never overflow, and
reduced mod p only at the end.
"""

import sys

import numpy as np
import pytest
from conftest import bigint_matmul_mod, residues, to_objects
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorlib import DEFAULT_PRIME
from tensorlib.fields import FLOAT64, Field, gf, is_prime, matmul_mod, previous_prime, validate_prime

PRIMES = [2, 3, 7, 65521, 2**31 - 1]
SETTINGS = settings(max_examples=40)


# -- is_prime / validate_prime ----------------------------------------------------------------

def _trial_division_is_prime(n):
    if n < 2:
        return False
    d = 2
    while d * d <= n:
        if n % d == 0:
            return False
        d += 1
    return True


@SETTINGS
@given(n=st.integers(min_value=-50, max_value=5000))
def test_is_prime_agrees_with_trial_division(n):
    assert is_prime(n) == _trial_division_is_prime(n)


def test_is_prime_recognises_large_mersenne_primes_and_composites():
    assert is_prime(2**31 - 1) and is_prime(2**61 - 1)
    assert not is_prime((2**31 - 1) * (2**61 - 1))


@pytest.mark.parametrize("bad", [7.0, 7.5, "7", None, True])
def test_is_prime_rejects_non_integers(bad):
    with pytest.raises(TypeError, match="p must be an int"):
        is_prime(bad)


@pytest.mark.parametrize("p", PRIMES + [np.int64(101)])
def test_validate_prime_returns_the_prime_as_int(p):
    out = validate_prime(p)
    assert out == int(p) and type(out) is int


@pytest.mark.parametrize("p", [91, 4, 2**31 - 3, 1 << 20])
def test_validate_prime_rejects_composites(p):
    with pytest.raises(ValueError, match="must be prime, got .*composite"):
        validate_prime(p)


@pytest.mark.parametrize("p", [0, 1, -7, 2**31, 2**61 - 1])
def test_validate_prime_rejects_out_of_range(p):
    with pytest.raises(ValueError, match=r"must be a prime in \[2, 2\*\*31\)"):
        validate_prime(p)


@pytest.mark.parametrize("p", [7.0, "7", True, None, [7]])
def test_validate_prime_rejects_non_ints_naming_the_argument(p):
    with pytest.raises(TypeError, match="modulus must be an int"):
        validate_prime(p, "modulus")


def test_default_prime_is_the_largest_prime_below_2_to_22():
    # Centred residues below 2**21: 2047 products of two add up exactly in float64 (BLAS).
    assert is_prime(DEFAULT_PRIME) and DEFAULT_PRIME < 2**22
    assert not any(is_prime(q) for q in range(DEFAULT_PRIME + 1, 2**22))
    h = DEFAULT_PRIME // 2
    assert 2047 * h * h < 2**53


# -- matmul_mod -------------------------------------------------------------------------------

@SETTINGS
@given(p=st.sampled_from(PRIMES), m=st.integers(1, 6), k=st.integers(0, 40), n=st.integers(1, 6),
       near_top=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_matmul_mod_agrees_with_bigint_arithmetic(p, m, k, n, near_top, seed):
    rng = np.random.default_rng(seed)
    a, b = residues(rng, (m, k), p, near_top), residues(rng, (k, n), p, near_top)
    np.testing.assert_array_equal(matmul_mod(a, b, p), bigint_matmul_mod(a, b, p))


@SETTINGS
@given(batch=st.integers(1, 4), m=st.integers(1, 4), k=st.integers(1, 8), n=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1))
def test_matmul_mod_broadcasts_like_np_matmul(batch, m, k, n, seed):
    rng = np.random.default_rng(seed)
    p = DEFAULT_PRIME
    a, b = residues(rng, (batch, m, k), p), residues(rng, (k, n), p)
    expected = np.stack([bigint_matmul_mod(a[i], b, p) for i in range(batch)])
    np.testing.assert_array_equal(matmul_mod(a, b, p), expected)


def test_matmul_mod_inner_dimension_above_2_to_16_with_values_near_p():
    p = DEFAULT_PRIME
    k = 70_000  # more than 2**16 terms: the chunked path
    rng = np.random.default_rng(0)
    a = residues(rng, (1, k), p, near_top=True)
    b = residues(rng, (k, 1), p, near_top=True)
    expected = sum(int(x) * int(y) for x, y in zip(a[0], b[:, 0])) % p
    assert matmul_mod(a, b, p)[0, 0] == expected
    top = np.full((1, k), p - 1, dtype=np.int64)
    assert matmul_mod(top, top.T, p)[0, 0] == (k * (p - 1) ** 2) % p


def test_matmul_mod_inner_dimension_above_2_to_16_for_vectors():
    p = DEFAULT_PRIME
    a = np.full(70_000, p - 1, dtype=np.int64)
    assert int(matmul_mod(a, a, p)) == (70_000 * (p - 1) ** 2) % p


def test_matmul_mod_accepts_bool_and_small_int_dtypes():
    a = np.array([[True, False], [True, True]])
    b = np.array([[3, 4], [5, 6]], dtype=np.int8)
    np.testing.assert_array_equal(matmul_mod(a, b, 7), (a.astype(int) @ b.astype(int)) % 7)


def test_matmul_mod_rejects_composite_modulus():
    with pytest.raises(ValueError, match="must be prime"):
        matmul_mod(np.ones((2, 2), dtype=np.int64), np.ones((2, 2), dtype=np.int64), 91)


@pytest.mark.parametrize("bad", [np.array([[1.5]]), np.array([[np.nan]]), np.array([["a"]])])
def test_matmul_mod_rejects_non_integer_arrays(bad):
    with pytest.raises(TypeError, match="a must be an integer array of residues"):
        matmul_mod(bad, np.array([[1]]), 7)


@pytest.mark.parametrize("bad", [np.array([[-1]]), np.array([[7]]), np.array([[2**40]])])
def test_matmul_mod_rejects_entries_outside_0_p(bad):
    with pytest.raises(ValueError, match=r"b must hold residues in \[0, 7\)"):
        matmul_mod(np.array([[1]]), bad, 7)


# -- Field ------------------------------------------------------------------------------------

def test_field_float64_and_gf_report_their_kind():
    assert not FLOAT64.exact and FLOAT64.dtype is np.float64 and str(FLOAT64) == "float64"
    F = gf(7)
    assert F.exact and F.dtype is np.int64 and str(F) == "GF(7)" and F.modulus == 7
    assert gf().modulus == DEFAULT_PRIME
    assert Field(np.int64(7)) == F and type(Field(np.int64(7)).modulus) is int


@pytest.mark.parametrize("p, exc, msg", [(91, ValueError, "modulus must be prime"),
                                         (1, ValueError, "modulus must be a prime in"),
                                         (7.0, TypeError, "modulus must be an int"),
                                         ("7", TypeError, "modulus must be an int")])
def test_field_rejects_bad_modulus(p, exc, msg):
    with pytest.raises(exc, match=msg):
        Field(p)


@SETTINGS
@given(p=st.sampled_from(PRIMES), shape=st.tuples(st.integers(1, 5), st.integers(1, 6)),
       near_top=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_field_mul_agrees_with_bigint_arithmetic(p, shape, near_top, seed):
    rng = np.random.default_rng(seed)
    a, b = residues(rng, shape, p, near_top), residues(rng, shape, p, near_top)
    expected = np.asarray((a.astype(object) * b.astype(object)) % p, dtype=np.int64)
    np.testing.assert_array_equal(Field(p).mul(a, b), expected)


@SETTINGS
@given(p=st.sampled_from(PRIMES), shape=st.tuples(st.integers(1, 5), st.integers(1, 6)),
       near_top=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_field_add_agrees_with_bigint_arithmetic(p, shape, near_top, seed):
    rng = np.random.default_rng(seed)
    a, b = residues(rng, shape, p, near_top), residues(rng, shape, p, near_top)
    expected = np.asarray((a.astype(object) + b.astype(object)) % p, dtype=np.int64)
    np.testing.assert_array_equal(Field(p).add(a, b), expected)


@SETTINGS
@given(p=st.sampled_from(PRIMES), shape=st.tuples(st.integers(0, 30), st.integers(1, 4)), axis=st.integers(0, 1),
       near_top=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_field_sum_agrees_with_bigint_arithmetic(p, shape, axis, near_top, seed):
    rng = np.random.default_rng(seed)
    a = residues(rng, shape, p, near_top)
    expected = np.asarray(a.astype(object).sum(axis=axis) % p, dtype=np.int64)
    np.testing.assert_array_equal(Field(p).sum(a, axis=axis), expected)


@SETTINGS
@given(p=st.sampled_from(PRIMES), shape=st.tuples(st.integers(0, 12), st.integers(1, 4)), axis=st.integers(0, 1),
       near_top=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_field_prod_agrees_with_bigint_arithmetic(p, shape, axis, near_top, seed):
    rng = np.random.default_rng(seed)
    a = residues(rng, shape, p, near_top)
    big = np.moveaxis(a.astype(object), axis, 0)
    expected = np.ones(big.shape[1:], dtype=object)
    for factor in big:
        expected = expected * factor
    np.testing.assert_array_equal(Field(p).prod(a, axis=axis), np.asarray(expected % p, dtype=np.int64))


@SETTINGS
@given(p=st.sampled_from(PRIMES), m=st.integers(1, 5), k=st.integers(1, 10), seed=st.integers(0, 2**32 - 1))
def test_field_matmul_agrees_with_bigint_arithmetic(p, m, k, seed):
    rng = np.random.default_rng(seed)
    a, b = residues(rng, (m, k), p, True), residues(rng, (k, m), p)
    np.testing.assert_array_equal(Field(p).matmul(a, b), bigint_matmul_mod(a, b, p))


def test_float64_field_operations_are_numpys():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    np.testing.assert_array_equal(FLOAT64.mul(a, b), a * b)
    np.testing.assert_array_equal(FLOAT64.add(a, b), a + b)
    np.testing.assert_array_equal(FLOAT64.matmul(a, b.T), a @ b.T)
    np.testing.assert_array_equal(FLOAT64.sum(a, axis=1), a.sum(axis=1))
    np.testing.assert_array_equal(FLOAT64.prod(a, axis=0), a.prod(axis=0))


def test_gf_random_draws_residues_deterministically_for_a_seed():
    F = gf(13)
    x = F.random(np.random.default_rng(5), (50, 3))
    assert x.dtype == np.int64 and x.shape == (50, 3) and x.min() >= 0 and x.max() < 13
    np.testing.assert_array_equal(x, F.random(np.random.default_rng(5), (50, 3)))
    assert len(np.unique(x)) == 13  # 150 uniform draws hit every residue of GF(13)


def test_float_random_is_scaled_gaussian():
    x = FLOAT64.random(np.random.default_rng(0), 20_000, scale=3.0)
    assert x.dtype == np.float64 and abs(x.std() - 3.0) < 0.1 and abs(x.mean()) < 0.1


def test_field_random_rejects_a_seed_in_place_of_a_generator():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        gf(7).random(0, 3)


def test_ones_has_the_field_dtype():
    assert gf(7).ones(3).dtype == np.int64 and FLOAT64.ones((2, 2)).dtype == np.float64


def test_gf_asarray_reduces_integers_including_negatives_bools_and_huge_uint64():
    F = gf(7)
    np.testing.assert_array_equal(F.asarray(np.array([-1, -8, 7, 15])), [6, 6, 0, 1])
    np.testing.assert_array_equal(F.asarray(np.array([True, False])), [1, 0])
    big = np.array([2**64 - 1, 2**63 + 5], dtype=np.uint64)
    np.testing.assert_array_equal(F.asarray(big), [(2**64 - 1) % 7, (2**63 + 5) % 7])


@pytest.mark.parametrize("bad", [np.array([1.0]), np.array(["a"]), np.array([1j])])
def test_gf_asarray_rejects_non_integer_arrays(bad):
    with pytest.raises(TypeError, match=r"arrays in GF\(7\) must have an integer dtype"):
        gf(7).asarray(bad)


def test_float_asarray_casts_to_float64_and_rejects_strings():
    out = FLOAT64.asarray(np.array([1, 2], dtype=np.int8))
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match="arrays in float64 must be numeric"):
        FLOAT64.asarray(np.array(["a"]))
    with pytest.raises(TypeError, match="must be real"):
        FLOAT64.asarray(np.array([1j]))


# -- the float64 BLAS path of matmul_mod (small primes) -----------------------------------------

SMALL = previous_prime(2**20)  # (p - 1)^2 near 2^40: float64 BLAS is exact for up to 8192 terms


def test_matmul_mod_is_exact_on_both_sides_of_the_float64_threshold():
    # Every partial sum of k products of residues is at most k (p-1)^2; the float64 path is exact only
    # while that stays below 2^53. Entries p - 1 make the sum as large as it can be.
    k_float = (2**53 - 1) // (SMALL - 1) ** 2
    for k in (k_float - 1, k_float, k_float + 1, k_float + 7):
        top = np.full((2, k), SMALL - 1, dtype=np.int64)
        out = matmul_mod(top, top.T, SMALL)
        assert out.dtype == np.int64
        np.testing.assert_array_equal(out, np.full((2, 2), (k * (SMALL - 1) ** 2) % SMALL))


@settings(max_examples=30)
@given(k=st.sampled_from([1, 2, 100, 8191, 8192, 8193, 9000]), near_top=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_matmul_mod_with_a_small_prime_agrees_with_bigint_arithmetic(k, near_top, seed):
    rng = np.random.default_rng(seed)
    a, b = residues(rng, (3, k), SMALL, near_top), residues(rng, (k, 2), SMALL, near_top)
    np.testing.assert_array_equal(matmul_mod(a, b, SMALL), bigint_matmul_mod(a, b, SMALL))


def test_matmul_mod_with_an_empty_inner_dimension_is_zero():
    for p in (7, SMALL, DEFAULT_PRIME):
        out = matmul_mod(np.zeros((2, 0), dtype=np.int64), np.zeros((0, 3), dtype=np.int64), p)
        assert out.dtype == np.int64 and out.shape == (2, 3) and not out.any()


# -- the shared kernels: uint64 working arrays with delayed reduction --------------------------

@pytest.mark.parametrize("p", [2, 3, 7, 65521, SMALL, DEFAULT_PRIME])
def test_products_per_reduction_is_the_largest_count_that_cannot_overflow_uint64(p):
    # k products of two residues added to a residue stay below 2^64, and k + 1 of them may not.
    k = Field(p).products_per_reduction
    if p == 2:
        assert k == sys.maxsize  # (p - 1)^2 = 1: no sum of a realistic length overflows
        return
    assert (p - 1) + k * (p - 1) ** 2 < 2**64 <= (p - 1) + (k + 1) * (p - 1) ** 2


def test_products_per_reduction_is_four_near_2_to_31_and_unbounded_in_float64():
    assert gf(2**31 - 1).products_per_reduction == 4
    p = DEFAULT_PRIME
    assert gf().products_per_reduction == (2**64 - p) // (p - 1) ** 2
    assert FLOAT64.products_per_reduction == sys.maxsize


def test_work_views_int64_residues_as_uint64_without_copying():
    F = gf(7)
    x = np.array([0, 3, 6], dtype=np.int64)
    w = F.work(x)
    assert w.dtype == np.uint64 and np.shares_memory(w, x) and w.tolist() == [0, 3, 6]
    u = np.array([1, 2], dtype=np.uint64)
    assert F.work(u) is u
    assert F.work(np.array([1, 2], dtype=np.int32)).dtype == np.uint64
    assert F.work(5).dtype == np.uint64 and F.work(5) == 5
    f = np.array([1.5, -2.0])
    assert FLOAT64.work(f) is f


@settings(max_examples=40)
@given(p=st.sampled_from(PRIMES + [SMALL]), size=st.integers(0, 30), seed=st.integers(0, 2**32 - 1),
       scratch=st.booleans())
def test_reduce_reduces_uint64_in_place(p, size, seed, scratch):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2**64 - 1, size=size, dtype=np.uint64, endpoint=True)
    expected = [int(v) % p for v in x]
    buf = np.empty_like(x) if scratch else None
    out = gf(p).reduce_(x, buf)
    assert out is x and x.tolist() == expected


def test_reduce_leaves_float64_unchanged():
    x = np.array([1.5, 10.0])
    assert FLOAT64.reduce_(x) is x and x.tolist() == [1.5, 10.0]


@settings(max_examples=40)
@given(p=st.sampled_from(PRIMES + [SMALL]), shape=st.tuples(st.integers(1, 4), st.integers(1, 5)),
       broadcast=st.booleans(), near_top=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_multiply_in_place_agrees_with_bigint_arithmetic(p, shape, broadcast, near_top, seed):
    rng = np.random.default_rng(seed)
    a = residues(rng, shape, p, near_top)
    b = residues(rng, (1, shape[1]) if broadcast else shape, p, near_top)
    expected = np.asarray((to_objects(a) * to_objects(b)) % p, dtype=np.int64)
    F = gf(p)
    acc = F.work(a.copy())
    out = F.multiply_(acc, b)
    assert out is acc
    np.testing.assert_array_equal(acc.view(np.int64), expected)


@settings(max_examples=40)
@given(p=st.sampled_from(PRIMES + [SMALL]), terms=st.integers(1, 14), size=st.integers(1, 6),
       near_top=st.booleans(), scalar=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_dot_agrees_with_bigint_sums_of_products(p, terms, size, near_top, scalar, seed):
    # More terms than products_per_reduction (4 for p near 2^31): the delayed reductions must happen.
    rng = np.random.default_rng(seed)
    F = gf(p)
    xs = [residues(rng, size, p, near_top) for _ in range(terms)]
    ys = [residues(rng, () if scalar else size, p, near_top) for _ in range(terms)]
    expected = [sum(int(x[i]) * int(np.ravel(y)[0 if scalar else i]) for x, y in zip(xs, ys)) % p
                for i in range(size)]
    out = F.dot((F.work(x), F.work(y)) for x, y in zip(xs, ys))
    assert out.dtype == np.uint64 and out.tolist() == expected


def test_dot_in_float64_is_the_sum_of_products_and_needs_a_term():
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    np.testing.assert_array_equal(FLOAT64.dot([(a, b), (b, b)]), a * b + b * b)
    with pytest.raises(ValueError, match="dot needs at least one pair of factors"):
        gf(7).dot([])


@settings(max_examples=40)
@given(p=st.sampled_from(PRIMES + [SMALL]), size=st.integers(0, 8), near_top=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_add_residues_agrees_with_bigint_arithmetic(p, size, near_top, seed):
    rng = np.random.default_rng(seed)
    a, b = residues(rng, size, p, near_top), residues(rng, size, p, near_top)
    F = gf(p)
    out = F.add_residues(F.work(a), F.work(b))
    assert out.tolist() == [(int(x) + int(y)) % p for x, y in zip(a, b)]
    np.testing.assert_array_equal(FLOAT64.add_residues(a.astype(float), b.astype(float)), a + b)



@pytest.mark.parametrize("p", PRIMES + [SMALL])
def test_add_residues_at_the_wrap_around_edges(p):
    # The branch-free reduction min(s, s - p) relies on uint64 wrap-around just below p and at 2p - 2.
    a = np.array([0, 0, p - 1, p - 1, 1, p - 2], dtype=np.int64)
    b = np.array([0, p - 1, 1, p - 1, p - 2, 1], dtype=np.int64)
    F = gf(p)
    assert F.add_residues(F.work(a), F.work(b)).tolist() == [(int(x) + int(y)) % p for x, y in zip(a, b)]

# -- previous_prime ------------------------------------------------------------------------------

@given(p=st.integers(4, 5000))
def test_previous_prime_is_the_largest_prime_below_p(p):
    q = previous_prime(p)
    assert q < p and _trial_division_is_prime(q)
    assert not any(_trial_division_is_prime(n) for n in range(q + 1, p))


def test_previous_prime_of_the_default_prime_is_an_independent_prime_below_it():
    q = previous_prime(DEFAULT_PRIME)
    assert q < DEFAULT_PRIME and _trial_division_is_prime(q)
    assert not any(_trial_division_is_prime(n) for n in range(q + 1, DEFAULT_PRIME))


@pytest.mark.parametrize("p, exc, msg", [(3, ValueError, "p must be at least 4"), (2.0, TypeError, "p must be an int"),
                                         (True, TypeError, "p must be an int, got bool")])
def test_previous_prime_refuses_p_without_a_prime_of_at_least_three_below_it(p, exc, msg):
    with pytest.raises(exc, match=msg):
        previous_prime(p)
