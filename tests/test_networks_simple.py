"""Tests of tensorlib.networks.simple: SumOfProducts and ProductOfLinearForms (the CP model).

Expected values come from the definition f(x) = sum_z prod_i <a^{z,i}, x_i> evaluated independently
(einsum, Python big integers, tensorly.tenalg.multi_mode_dot) and from the theorem
sep(f; I, J) = min(R, M^min(|I|,|J|)) for generic weights (``tensorlib.bounds.sum_of_products_rank``).
"""

import numpy as np
import pytest
from conftest import all_partitions as _all_partitions
from conftest import bigint_sum_of_products as _bigint_evaluate
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorly.tenalg import multi_mode_dot

from tensorlib import DEFAULT_PRIME, exact_rank, grid_tensor, matricize, numerical_rank, separation_rank
from tensorlib.bounds import sum_of_products_rank
from tensorlib.networks import Network, ProductOfLinearForms, SumOfProducts

SETTINGS = settings(max_examples=30)


def sizes(max_n=5, max_m=3, max_r=6):
    return st.tuples(st.integers(2, max_n), st.integers(1, max_m), st.integers(1, max_r))


def _integer_factors(rng, n, M, R, low, high):
    return [rng.integers(low, high, size=(M, R)) for _ in range(n)]


# -- construction and weights -----------------------------------------------------------------

def test_sum_of_products_repr_and_attributes():
    model = SumOfProducts(4, 3, 5, seed=2)
    assert (model.n_inputs, model.input_dim, model.terms, model.seed) == (4, 3, 5, 2)
    assert repr(model) == "SumOfProducts(n_inputs=4, input_dim=3, terms=5, seed=2)"
    assert repr(ProductOfLinearForms(3, 2, seed=1)) == "ProductOfLinearForms(n_inputs=3, input_dim=2, seed=1)"
    assert ProductOfLinearForms(3, 2).terms == 1
    assert SumOfProducts.multilinear and isinstance(model, Network)


@pytest.mark.parametrize("args, kwargs, exc, msg", [
    ((1, 2, 3), {}, ValueError, r"n_inputs must be at least 2 \(a partition needs two sides\), got 1"),
    ((4, 0, 3), {}, ValueError, "input_dim must be at least 1, got 0"),
    ((4, 2, 0), {}, ValueError, "terms must be at least 1, got 0"),
    ((4, 2, 3), {"seed": -1}, ValueError, r"seed must be at least 0 \(a seed for numpy.random.default_rng\), got -1"),
    ((4.0, 2, 3), {}, TypeError, "n_inputs must be an int, got float"),
    ((4, "2", 3), {}, TypeError, "input_dim must be an int, got str"),
    ((4, 2, True), {}, TypeError, "terms must be an int, got bool"),
    ((4, 2, 3), {"seed": 1.5}, TypeError, "seed must be an int, got float"),
    ((4, 2, 3), {"seed": None}, TypeError, "seed must be an int, got NoneType"),
])
def test_sum_of_products_rejects_bad_constructor_arguments(args, kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        SumOfProducts(*args, **kwargs)


def test_product_of_linear_forms_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_inputs must be at least 2"):
        ProductOfLinearForms(1, 2)
    with pytest.raises(TypeError, match="seed must be an int"):
        ProductOfLinearForms(3, 2, seed="0")


def test_weights_have_the_cp_layout_in_both_fields():
    model = SumOfProducts(4, 3, 5, seed=0)
    w = model.weights()["factors"]
    assert len(w) == 4 and all(f.shape == (3, 5) and f.dtype == np.float64 for f in w)
    g = model.weights(101)["factors"]
    assert len(g) == 4 and all(f.shape == (3, 5) and f.dtype == np.int64 for f in g)
    assert all(f.min() >= 0 and f.max() < 101 for f in g)


def test_set_weights_names_the_weight_when_its_dtype_is_wrong():
    model = SumOfProducts(3, 2, 2)
    with pytest.raises(TypeError, match=r"weights\['factors\[0\]'\]"):
        model.set_weights({"factors": [np.ones((2, 2))] * 3}, p=7)
    with pytest.raises(TypeError, match=r"weights\['factors\[0\]'\]"):
        model.set_weights({"factors": [np.full((2, 2), "a")] * 3})


# -- evaluation -------------------------------------------------------------------------------

@SETTINGS
@given(size=sizes(), batch=st.integers(0, 5), seed=st.integers(0, 2**32 - 1))
def test_float_evaluation_is_the_inner_product_with_the_coefficient_tensor(size, batch, seed):
    # f(x) = <A, x_1 (x) ... (x) x_N> for A = sum_z a^{z,1} (x) ... (x) a^{z,N}
    n, M, R = size
    model = SumOfProducts(n, M, R, seed=seed % 1000)
    X = np.random.default_rng(seed).standard_normal((batch, n, M))
    A = model.coefficient_tensor()
    expected = np.array([np.tensordot(A, _outer(x), axes=n) for x in X]).reshape(batch)
    np.testing.assert_allclose(model.evaluate(X), expected, rtol=1e-10, atol=1e-10)


def _outer(vectors):
    out = vectors[0]
    for v in vectors[1:]:
        out = np.multiply.outer(out, v)
    return out


@SETTINGS
@given(size=sizes(max_n=6, max_m=4, max_r=8), batch=st.integers(1, 6), seed=st.integers(0, 2**32 - 1))
def test_evaluation_mod_p_equals_exact_bigint_evaluation_mod_p(size, batch, seed):
    n, M, R = size
    p = DEFAULT_PRIME
    rng = np.random.default_rng(seed)
    model = SumOfProducts(n, M, R, seed=seed % 1000)
    X = rng.integers(0, p, size=(batch, n, M))
    expected = np.asarray(_bigint_evaluate(model.weights(p)["factors"], X) % p, dtype=np.int64)
    np.testing.assert_array_equal(model.evaluate(X, p=p), expected)


@SETTINGS
@given(size=sizes(max_n=4, max_m=3, max_r=4), p=st.sampled_from([2, 3, 65521, DEFAULT_PRIME]),
       seed=st.integers(0, 2**32 - 1))
def test_integer_network_in_float_and_mod_p_agree_with_bigint_arithmetic(size, p, seed):
    # the same integer weights in both fields: float64 is exact for these small values
    n, M, R = size
    rng = np.random.default_rng(seed)
    factors = _integer_factors(rng, n, M, R, -5, 6)
    X = rng.integers(-5, 6, size=(6, n, M))
    model = SumOfProducts(n, M, R)
    model.set_weights({"factors": factors})
    model.set_weights({"factors": factors}, p=p)
    exact = _bigint_evaluate(factors, X)
    np.testing.assert_array_equal(model.evaluate(X), np.asarray(exact, dtype=np.float64))
    np.testing.assert_array_equal(model.evaluate(X, p=p), np.asarray(exact % p, dtype=np.int64))


def test_evaluation_with_weights_near_p_does_not_overflow():
    p = DEFAULT_PRIME
    n, M, R = 5, 4, 3
    model = SumOfProducts(n, M, R)
    factors = [np.full((M, R), p - 1 - i, dtype=np.int64) for i in range(n)]
    model.set_weights({"factors": factors}, p=p)
    X = np.full((2, n, M), p - 2, dtype=np.int64)
    expected = np.asarray(_bigint_evaluate(factors, X) % p, dtype=np.int64)
    np.testing.assert_array_equal(model.evaluate(X, p=p), expected)


def test_product_of_linear_forms_is_the_product_of_its_forms():
    model = ProductOfLinearForms(4, 3, seed=1)
    X = np.random.default_rng(0).standard_normal((5, 4, 3))
    a = [f[:, 0] for f in model.weights()["factors"]]
    expected = np.prod([X[:, i, :] @ a[i] for i in range(4)], axis=0)
    np.testing.assert_allclose(model.evaluate(X), expected, rtol=1e-12)


@SETTINGS
@given(size=sizes(), i=st.integers(0, 5), alpha=st.floats(-3, 3), beta=st.floats(-3, 3),
       seed=st.integers(0, 2**32 - 1))
def test_sum_of_products_is_linear_in_each_input(size, i, alpha, beta, seed):
    n, M, R = size
    i = i % n
    model = SumOfProducts(n, M, R, seed=1)
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((2, 1, n, M))
    Z = X.copy()
    Z[:, i] = alpha * X[:, i] + beta * Y[:, i]
    XY = X.copy()
    XY[:, i] = Y[:, i]
    np.testing.assert_allclose(model.evaluate(Z), alpha * model.evaluate(X) + beta * model.evaluate(XY),
                               rtol=1e-9, atol=1e-9)


def test_call_is_evaluate_and_empty_batches_are_allowed():
    model = SumOfProducts(3, 2, 2)
    X = np.ones((2, 3, 2))
    np.testing.assert_array_equal(model(X), model.evaluate(X))
    assert model.evaluate(np.ones((0, 3, 2))).shape == (0,)
    assert model.evaluate(np.ones((0, 3, 2), dtype=int), p=7).shape == (0,)


@pytest.mark.parametrize("X, p, exc, msg", [
    (np.ones((2, 2, 2)), None, ValueError, r"X must have shape \(batch, n_inputs=3, input_dim=2\), got \(2, 2, 2\)"),
    (np.ones((3, 2)), None, ValueError, r"X must have shape \(batch, n_inputs=3, input_dim=2\), got \(3, 2\)"),
    (np.full((1, 3, 2), np.nan), None, ValueError, "X contains NaN or inf"),
    (np.ones((1, 3, 2)), 7, TypeError, "X must have an integer dtype in exact"),
    ("abc", None, TypeError, "X must be a numeric array"),
    (np.ones((1, 3, 2), dtype=int), 91, ValueError, "p must be prime"),
    (np.ones((1, 3, 2), dtype=int), 7.0, TypeError, "p must be an int"),
])
def test_evaluate_rejects_bad_inputs(X, p, exc, msg):
    with pytest.raises(exc, match=msg):
        SumOfProducts(3, 2, 2).evaluate(X, p=p)


# -- grid tensors and the coefficient tensor --------------------------------------------------

@SETTINGS
@given(size=sizes(), seed=st.integers(0, 1000))
def test_grid_tensor_on_basis_templates_is_the_coefficient_tensor(size, seed):
    n, M, R = size
    model = SumOfProducts(n, M, R, seed=seed)
    np.testing.assert_allclose(grid_tensor(model, np.eye(M), n), model.coefficient_tensor(), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(size=sizes(max_n=4), K=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_grid_tensor_on_templates_is_the_multilinear_transform_of_the_coefficient_tensor(size, K, seed):
    # Gamma = A x_1 T x_2 T ... x_N T: every mode of the coefficient tensor multiplied by the K x M templates
    n, M, R = size
    model = SumOfProducts(n, M, R, seed=seed % 1000)
    T = np.random.default_rng(seed).standard_normal((K, M))
    expected = multi_mode_dot(model.coefficient_tensor(), [T] * n)
    np.testing.assert_allclose(grid_tensor(model, T, n), expected, rtol=1e-10, atol=1e-10)


def test_coefficient_tensor_is_the_sum_of_outer_products_of_the_factor_columns():
    model = SumOfProducts(3, 2, 4, seed=3)
    factors = model.weights()["factors"]
    expected = sum(_outer([f[:, z] for f in factors]) for z in range(4))
    np.testing.assert_allclose(model.coefficient_tensor(), expected, rtol=1e-12)


@SETTINGS
@given(size=sizes(max_n=4), K=st.integers(1, 4), p=st.sampled_from([3, 65521, DEFAULT_PRIME]),
       seed=st.integers(0, 2**32 - 1))
def test_grid_tensor_in_gf_p_is_the_float_grid_tensor_mod_p_for_integer_weights(size, K, p, seed):
    n, M, R = size
    rng = np.random.default_rng(seed)
    factors = _integer_factors(rng, n, M, R, -4, 5)
    T = rng.integers(-4, 5, size=(K, M))
    model = SumOfProducts(n, M, R)
    model.set_weights({"factors": factors})
    model.set_weights({"factors": factors}, p=p)
    float_grid = grid_tensor(model, T, n)  # exact: |entries| <= R (4 * 4 * M)^N < 2**53
    np.testing.assert_array_equal(grid_tensor(model, T, n, p=p), np.mod(float_grid.astype(np.int64), p))


def test_coefficient_tensor_too_large_points_to_separation_rank():
    with pytest.raises(ValueError, match=r"dense coefficient tensor would have .* entries.*tensorlib.separation_rank"):
        SumOfProducts(40, 4, 1).coefficient_tensor()


# -- separation ranks -------------------------------------------------------------------------

@SETTINGS
@given(size=sizes(max_n=5, max_m=3, max_r=12), seed=st.integers(0, 1000))
def test_coefficient_matricization_rank_is_min_of_terms_and_M_to_the_min_side(size, seed):
    # dense path: rank of [[A]]_{I,J}, exactly (GF(p) grid tensor on e_1..e_M) and in float
    n, M, R = size
    model = SumOfProducts(n, M, R, seed=seed)
    A_float = model.coefficient_tensor()
    A_exact = grid_tensor(model, np.eye(M, dtype=np.int64), n, p=DEFAULT_PRIME)
    for I, J in _all_partitions(n):
        expected = sum_of_products_rank(R, M, (I, J))
        assert exact_rank(matricize(A_exact, I)) == expected
        assert numerical_rank(matricize(A_float, I)) == expected


@settings(max_examples=15)
@given(size=sizes(max_n=5, max_m=3, max_r=12), seed=st.integers(0, 1000), exact=st.booleans())
def test_sampled_separation_rank_equals_dense_matricization_rank(size, seed, exact):
    n, M, R = size
    model = SumOfProducts(n, M, R, seed=seed)
    A = grid_tensor(model, np.eye(M, dtype=np.int64), n, p=DEFAULT_PRIME)
    for I, J in _all_partitions(n):
        assert separation_rank(model, (I, J), exact=exact, start=2).rank == exact_rank(matricize(A, I))


@pytest.mark.parametrize("n, M", [(2, 3), (4, 2), (5, 3)])
@pytest.mark.parametrize("exact", [True, False])
def test_product_of_linear_forms_is_separable_under_every_partition(n, M, exact):
    model = ProductOfLinearForms(n, M, seed=0)
    for partition in _all_partitions(n):
        assert model.rank_upper_bound(partition) == 1
        result = separation_rank(model, partition, exact=exact)
        assert result.rank == 1 and result.certified == exact


def test_rank_upper_bound_is_the_cp_bound():
    # min(R, M^min(|I|,|J|)): R for R = 2 under every partition of 5 inputs with M = 3.
    model = SumOfProducts(5, 3, 2)
    for I, J in _all_partitions(5):
        assert model.rank_upper_bound((I, J)) == 2 == min(2, 3 ** min(len(I), len(J)))
    wide = SumOfProducts(5, 3, 20)
    for I, J in _all_partitions(5):
        assert wide.rank_upper_bound((I, J)) == min(20, 3 ** min(len(I), len(J)))
    assert wide.rank_upper_bound([[4, 0], [1, 2, 3]]) == 9


def test_float_factors_are_standard_gaussian():
    # i.i.d. N(0, 1) (a density, so generic); the mean and standard deviation of 30,000 draws.
    factors = np.concatenate([f.ravel() for f in SumOfProducts(3, 100, 100, seed=0).weights()["factors"]])
    assert abs(factors.mean()) < 0.03 and abs(factors.std() - 1) < 0.03
    assert SumOfProducts.multilinear and isinstance(SumOfProducts(2, 2, 2), Network)


def test_rank_upper_bound_validates_the_partition():
    with pytest.raises(ValueError, match=r"partition must cover all 4 positions; missing \[3\]"):
        SumOfProducts(4, 2, 2).rank_upper_bound(((0,), (1, 2)))


