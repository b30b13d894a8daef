"""Tests of tensorlib.fields: GF(p) arithmetic against Python's big integers, and input validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorlib import DEFAULT_PRIME
from tensorlib.fields import FLOAT64, Field, gf, is_prime, matmul_mod, validate_prime

PRIMES = [2, 3, 7, 65521, 2**31 - 1]
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)  # reproducible in CI


def _residues(rng, shape, p, near_top=False):
    """Uniform residues in [0, p), or residues in [p - 8, p) to stress the overflow margins."""
    if near_top:
        return rng.integers(max(0, p - 8), p, size=shape, dtype=np.int64)
    return rng.integers(0, p, size=shape, dtype=np.int64)


def _bigint_matmul_mod(a, b, p):
    """a @ b mod p with Python integers (object arrays): no overflow at any size."""
    return np.asarray((a.astype(object) @ b.astype(object)) % p, dtype=np.int64)


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


def test_default_prime_is_the_mersenne_prime_2_to_31_minus_1():
    assert DEFAULT_PRIME == 2**31 - 1 and is_prime(DEFAULT_PRIME)


# -- matmul_mod -------------------------------------------------------------------------------

@SETTINGS
@given(p=st.sampled_from(PRIMES), m=st.integers(1, 6), k=st.integers(0, 40), n=st.integers(1, 6),
       near_top=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_matmul_mod_agrees_with_bigint_arithmetic(p, m, k, n, near_top, seed):
    rng = np.random.default_rng(seed)
    a, b = _residues(rng, (m, k), p, near_top), _residues(rng, (k, n), p, near_top)
    np.testing.assert_array_equal(matmul_mod(a, b, p), _bigint_matmul_mod(a, b, p))


@SETTINGS
@given(batch=st.integers(1, 4), m=st.integers(1, 4), k=st.integers(1, 8), n=st.integers(1, 4),
       seed=st.integers(0, 2**32 - 1))
def test_matmul_mod_broadcasts_like_np_matmul(batch, m, k, n, seed):
    rng = np.random.default_rng(seed)
    p = DEFAULT_PRIME
    a, b = _residues(rng, (batch, m, k), p), _residues(rng, (k, n), p)
    expected = np.stack([_bigint_matmul_mod(a[i], b, p) for i in range(batch)])
    np.testing.assert_array_equal(matmul_mod(a, b, p), expected)


def test_matmul_mod_inner_dimension_above_2_to_16_with_values_near_p():
    p = DEFAULT_PRIME
    k = 70_000  # more than 2**16 terms: the chunked path
    rng = np.random.default_rng(0)
    a = _residues(rng, (1, k), p, near_top=True)
    b = _residues(rng, (k, 1), p, near_top=True)
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
    a, b = _residues(rng, shape, p, near_top), _residues(rng, shape, p, near_top)
    expected = np.asarray((a.astype(object) * b.astype(object)) % p, dtype=np.int64)
    np.testing.assert_array_equal(Field(p).mul(a, b), expected)


@SETTINGS
@given(p=st.sampled_from(PRIMES), shape=st.tuples(st.integers(1, 5), st.integers(1, 6)),
       near_top=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_field_add_agrees_with_bigint_arithmetic(p, shape, near_top, seed):
    rng = np.random.default_rng(seed)
    a, b = _residues(rng, shape, p, near_top), _residues(rng, shape, p, near_top)
    expected = np.asarray((a.astype(object) + b.astype(object)) % p, dtype=np.int64)
    np.testing.assert_array_equal(Field(p).add(a, b), expected)


@SETTINGS
@given(p=st.sampled_from(PRIMES), shape=st.tuples(st.integers(0, 30), st.integers(1, 4)), axis=st.integers(0, 1),
       near_top=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_field_sum_agrees_with_bigint_arithmetic(p, shape, axis, near_top, seed):
    rng = np.random.default_rng(seed)
    a = _residues(rng, shape, p, near_top)
    expected = np.asarray(a.astype(object).sum(axis=axis) % p, dtype=np.int64)
    np.testing.assert_array_equal(Field(p).sum(a, axis=axis), expected)


@SETTINGS
@given(p=st.sampled_from(PRIMES), shape=st.tuples(st.integers(0, 12), st.integers(1, 4)), axis=st.integers(0, 1),
       near_top=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_field_prod_agrees_with_bigint_arithmetic(p, shape, axis, near_top, seed):
    rng = np.random.default_rng(seed)
    a = _residues(rng, shape, p, near_top)
    big = np.moveaxis(a.astype(object), axis, 0)
    expected = np.ones(big.shape[1:], dtype=object)
    for factor in big:
        expected = expected * factor
    np.testing.assert_array_equal(Field(p).prod(a, axis=axis), np.asarray(expected % p, dtype=np.int64))


@SETTINGS
@given(p=st.sampled_from(PRIMES), m=st.integers(1, 5), k=st.integers(1, 10), seed=st.integers(0, 2**32 - 1))
def test_field_matmul_agrees_with_bigint_arithmetic(p, m, k, seed):
    rng = np.random.default_rng(seed)
    a, b = _residues(rng, (m, k), p, True), _residues(rng, (k, m), p)
    np.testing.assert_array_equal(Field(p).matmul(a, b), _bigint_matmul_mod(a, b, p))


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
