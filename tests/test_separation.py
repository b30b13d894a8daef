"""Tests of tensorlib.separation: grid tensors, sampled grid matrices and separation_rank.

The expected ranks come from theorems (``tensorlib.bounds``) or from elementary facts about small test
models defined here, never from running the code under test:

* ``InnerProduct``: f(x_0, x_1) = <x_0, x_1>; its grid matrix on templates T is T T^T and
  sep(f; {0}, {1}) = M (the matricization of its coefficient tensor is the identity).
* ``Additive``: f(x) = sum_i <c_i, x_i> = g(x_I) * 1 + 1 * g'(x_J): separation rank 2 under every
  partition when both sides have a nonzero c_i.
"""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorlib import DEFAULT_PRIME, balanced, exact_rank, grid_tensor, numerical_rank, sampled_grid_matrix
from tensorlib import separation_rank
from tensorlib.bounds import sum_of_products_rank
from tensorlib.networks import SumOfProducts
from tensorlib.grid import GRID_MEMORY_BUDGET, pairwise_grid_matrix_block
from tensorlib.models import validate_inputs, validate_model
from tensorlib.separation import SeparationRank

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True)  # reproducible in CI


def _bigint_mod(values, p):
    return np.asarray(values % p, dtype=np.int64)


class InnerProduct:
    """f(x_0, x_1) = <x_0, x_1> (follows the model protocol; no upper bound, no fast block)."""

    n_inputs = 2

    def __init__(self, input_dim):
        self.input_dim = input_dim

    def evaluate(self, X, p=None):
        X = validate_inputs(X, 2, self.input_dim, p)
        if p is None:
            return np.einsum("bm,bm->b", X[:, 0], X[:, 1])
        big = X.astype(object)
        return _bigint_mod((big[:, 0] * big[:, 1]).sum(axis=1), p)


class Additive:
    """f(x) = sum_i <c_i, x_i> with integer coefficients c (n_inputs x input_dim)."""

    def __init__(self, n_inputs, input_dim, seed=0):
        self.n_inputs, self.input_dim = n_inputs, input_dim
        self.c = np.random.default_rng(seed).integers(1, 50, size=(n_inputs, input_dim))

    def evaluate(self, X, p=None):
        X = validate_inputs(X, self.n_inputs, self.input_dim, p)
        if p is None:
            return np.einsum("bim,im->b", X, self.c)
        return _bigint_mod((X.astype(object) * self.c).sum(axis=(1, 2)), p)


# -- validate_model / validate_inputs ---------------------------------------------------------

def test_validate_model_accepts_protocol_objects_and_returns_them():
    model = InnerProduct(3)
    assert validate_model(model) is model
    assert validate_model(SumOfProducts(3, 2, 2)) is not None


def test_validate_model_names_the_missing_attributes():
    class NoDims:
        def evaluate(self, X, p=None):
            return X

    with pytest.raises(TypeError, match="NoDims lacks n_inputs, input_dim"):
        validate_model(NoDims())
    with pytest.raises(TypeError, match="int lacks n_inputs, input_dim, evaluate"):
        validate_model(3)


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "2", None])
def test_validate_model_rejects_non_positive_int_dimensions(value):
    model = InnerProduct(3)
    model.input_dim = value
    with pytest.raises(TypeError, match="model.input_dim must be a positive int"):
        validate_model(model)


def test_validate_inputs_casts_floats_and_reduces_integers_mod_p():
    X = np.array([[[1, -2], [9, 3]]])
    out = validate_inputs(X, 2, 2)
    assert out.dtype == np.float64 and out.tolist() == X.tolist()
    np.testing.assert_array_equal(validate_inputs(X, 2, 2, p=7), np.mod(X, 7))
    np.testing.assert_array_equal(validate_inputs(X.astype(bool), 2, 2, p=7), X.astype(bool).astype(int))


def test_validate_inputs_reduces_uint64_inputs_above_2_to_63_correctly():
    X = np.full((1, 2, 2), 2**64 - 1, dtype=np.uint64)
    np.testing.assert_array_equal(validate_inputs(X, 2, 2, p=7), np.full((1, 2, 2), (2**64 - 1) % 7))


@pytest.mark.parametrize("X, p, exc, msg", [
    (np.ones((4, 2)), None, ValueError, r"X must have shape \(batch, n_inputs=2, input_dim=3\), got \(4, 2\)"),
    (np.ones((1, 3, 3)), None, ValueError, r"X must have shape \(batch, n_inputs=2, input_dim=3\), got \(1, 3, 3\)"),
    (np.ones((1, 2, 3, 1)), None, ValueError, "X must have shape"),
    (np.full((1, 2, 3), np.nan), None, ValueError, "X contains NaN or inf"),
    (np.full((1, 2, 3), np.inf), None, ValueError, "X contains NaN or inf"),
    (np.ones((1, 2, 3)), 7, TypeError, r"X must have an integer dtype in exact \(mod p\) arithmetic, got float64"),
    (np.ones((1, 2, 3)) * 1j, None, TypeError, "X must be real"),
    (np.full((1, 2, 3), "a"), None, TypeError, "X must be a numeric array"),
    ("abc", None, TypeError, "X must be a numeric array, got str"),
    (np.full((1, 2, 3), None), None, TypeError, "X must be a numeric array, got dtype object"),
])
def test_validate_inputs_rejects_bad_batches(X, p, exc, msg):
    with pytest.raises(exc, match=msg):
        validate_inputs(X, 2, 3, p)


# -- grid_tensor ------------------------------------------------------------------------------

@SETTINGS
@given(n=st.integers(1, 4), K=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_grid_tensor_entries_are_f_at_the_template_combinations_in_row_major_order(n, K, seed):
    model = Additive(n, 2, seed)
    T = np.random.default_rng(seed).standard_normal((K, 2))
    grid = grid_tensor(model, T, n)
    assert grid.shape == (K,) * n
    for d in itertools.product(range(K), repeat=n):
        point = np.stack([T[k] for k in d])[None]  # the grid point (v^(d_1), ..., v^(d_N))
        assert grid[d] == pytest.approx(model.evaluate(point)[0], rel=1e-12, abs=1e-12)


def test_grid_tensor_of_inner_product_is_the_gram_matrix_of_the_templates():
    T = np.random.default_rng(0).integers(-5, 6, size=(4, 3))
    np.testing.assert_allclose(grid_tensor(InnerProduct(3), T, 2), T @ T.T)
    np.testing.assert_array_equal(grid_tensor(InnerProduct(3), T, 2, p=7), np.mod(T @ T.T, 7))


def test_grid_tensor_accepts_a_plain_callable():
    T = np.arange(6.0).reshape(3, 2)
    grid = grid_tensor(lambda X: X[:, 0, 0] * X[:, 1, 1], T, 2)
    np.testing.assert_allclose(grid, np.outer(T[:, 0], T[:, 1]))


def test_grid_tensor_passes_p_to_a_callable():
    seen = []

    def f(X, p=None):
        seen.append(p)
        return X.sum(axis=(1, 2)) % p

    grid = grid_tensor(f, np.array([[1], [5]]), 3, p=5)
    assert set(seen) == {5} and grid.dtype == np.int64
    np.testing.assert_array_equal(grid, np.mod(np.add.outer(np.add.outer([1, 0], [1, 0]), [1, 0]), 5))


@pytest.mark.parametrize("batch_size", [1, 3, 7, 1 << 14])
def test_grid_tensor_does_not_depend_on_the_batch_size(batch_size):
    model = SumOfProducts(4, 2, 3, seed=1)
    T = np.random.default_rng(0).standard_normal((3, 2))
    np.testing.assert_allclose(grid_tensor(model, T, 4, batch_size=batch_size), grid_tensor(model, T, 4))


def test_grid_tensor_in_gf_p_has_residue_entries():
    model = SumOfProducts(3, 2, 2, seed=0)
    grid = grid_tensor(model, np.array([[1, 2], [3, 4]]), 3, p=101)
    assert grid.dtype == np.int64 and grid.min() >= 0 and grid.max() < 101


def test_grid_tensor_over_the_memory_budget_points_to_separation_rank():
    model = SumOfProducts(40, 4, 1)
    with pytest.raises(ValueError, match=r"K\*\*N = 4\*\*40 .* above memory_budget .*tensorlib.separation_rank"):
        grid_tensor(model, np.eye(4), 40)
    assert 4**40 * 8 > GRID_MEMORY_BUDGET


def test_grid_tensor_respects_a_custom_memory_budget():
    model = SumOfProducts(3, 2, 1)
    assert grid_tensor(model, np.eye(2), 3, memory_budget=64).shape == (2, 2, 2)  # 8 entries = 64 bytes
    with pytest.raises(ValueError, match="above memory_budget.*separation_rank"):
        grid_tensor(model, np.eye(2), 3, memory_budget=63)


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(templates=np.eye(2), n_inputs=3), ValueError, "n_inputs=3 does not match the model's n_inputs=4"),
    (dict(templates=np.eye(2), n_inputs=0), TypeError, "n_inputs must be a positive int"),
    (dict(templates=np.eye(2), n_inputs=4.0), TypeError, "n_inputs must be a positive int"),
    (dict(templates=np.eye(2), n_inputs=True), TypeError, "n_inputs must be a positive int"),
    (dict(templates=np.ones(2), n_inputs=4), ValueError, r"templates must have shape \(K, input_dim\) with K >= 1"),
    (dict(templates=np.ones((2, 2, 2)), n_inputs=4), ValueError, r"templates must have shape \(K, input_dim\)"),
    (dict(templates=np.ones((0, 2)), n_inputs=4), ValueError, r"templates must have shape \(K, input_dim\) with K >= 1"),
    (dict(templates=np.eye(3), n_inputs=4), ValueError, r"templates must have shape \(K, input_dim=2\), got \(3, 3\)"),
    (dict(templates=np.array([[np.nan, 1.0]]), n_inputs=4), ValueError, "templates contains NaN or inf"),
    (dict(templates=np.array([[np.inf, 1.0]]), n_inputs=4), ValueError, "templates contains NaN or inf"),
    (dict(templates=np.eye(2), n_inputs=4, p=7), TypeError, "templates must have an integer dtype in exact"),
    (dict(templates=np.full((2, 2), "a"), n_inputs=4), TypeError, "templates must be a numeric array"),
    (dict(templates=np.eye(2, dtype=int), n_inputs=4, p=91), ValueError, "p must be prime"),
    (dict(templates=np.eye(2, dtype=int), n_inputs=4, p=2**31), ValueError, "p must be a prime in"),
])
def test_grid_tensor_rejects_bad_arguments(kwargs, exc, msg):
    with pytest.raises(exc, match=msg):
        grid_tensor(SumOfProducts(4, 2, 1), **kwargs)


def test_grid_tensor_rejects_non_models():
    with pytest.raises(TypeError, match="f must be a model or a callable, got int"):
        grid_tensor(3, np.eye(2), 2)


def test_grid_tensor_rejects_a_callable_with_the_wrong_output_shape():
    with pytest.raises(ValueError, match=r"the model returned shape \(8, 2\) for a batch of 8 inputs"):
        grid_tensor(lambda X: X.sum(axis=1), np.eye(2), 3)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "8"])
def test_grid_tensor_rejects_bad_batch_size(batch_size):
    with pytest.raises((TypeError, ValueError), match="batch_size"):
        grid_tensor(SumOfProducts(3, 2, 1), np.eye(2), 3, batch_size=batch_size)


@pytest.mark.parametrize("budget", [-1, "1GiB", None])
def test_grid_tensor_rejects_bad_memory_budget(budget):
    with pytest.raises((TypeError, ValueError), match="memory_budget"):
        grid_tensor(SumOfProducts(3, 2, 1), np.eye(2), 3, memory_budget=budget)


# -- sampled grid matrices --------------------------------------------------------------------

@pytest.mark.parametrize("partition", [((0, 2), (1,)), ((1,), (0, 2)), ((0,), (1, 2))])
@pytest.mark.parametrize("p", [None, 101])
def test_pairwise_block_places_row_samples_on_I_and_column_samples_on_J(partition, p):
    model = Additive(3, 2, seed=4)
    I, J = partition
    rng = np.random.default_rng(0)
    if p is None:
        xr, xc = rng.standard_normal((4, len(I), 2)), rng.standard_normal((5, len(J), 2))
    else:
        xr, xc = rng.integers(0, p, (4, len(I), 2)), rng.integers(0, p, (5, len(J), 2))
    F = pairwise_grid_matrix_block(model, xr, xc, partition, p)
    for a, b in itertools.product(range(4), range(5)):
        X = np.zeros((1, 3, 2), dtype=xr.dtype)
        X[0, list(I)], X[0, list(J)] = xr[a], xc[b]
        assert F[a, b] == pytest.approx(model.evaluate(X, p)[0])


def test_pairwise_block_splits_very_wide_blocks_without_changing_them():
    # more than 2**15 columns: the column-splitting path
    model = Additive(2, 1, seed=0)
    rng = np.random.default_rng(1)
    xr, xc = rng.integers(0, 1000, (2, 1, 1)), rng.integers(0, 1000, (40_000, 1, 1))
    F = pairwise_grid_matrix_block(model, xr, xc, ((0,), (1,)), p=DEFAULT_PRIME)
    expected = model.c[0, 0] * xr[:, 0, 0][:, None] + model.c[1, 0] * xc[:, 0, 0][None, :]
    np.testing.assert_array_equal(F, expected)


def test_sampled_grid_matrix_is_residues_in_exact_mode_and_floats_otherwise():
    model = SumOfProducts(4, 2, 3, seed=0)
    F = sampled_grid_matrix(model, ((0, 1), (2, 3)), 6)
    assert F.shape == (6, 6) and F.dtype == np.int64 and F.min() >= 0 and F.max() < DEFAULT_PRIME
    F7 = sampled_grid_matrix(model, ((0, 1), (2, 3)), 6, p=7)
    assert F7.max() < 7
    G = sampled_grid_matrix(model, ((0, 1), (2, 3)), 6, exact=False)
    assert G.shape == (6, 6) and G.dtype == np.float64


def test_sampled_grid_matrix_is_deterministic_for_a_seed():
    model = SumOfProducts(4, 2, 3, seed=0)
    for exact in (True, False):
        A = sampled_grid_matrix(model, ((0, 1), (2, 3)), 5, exact=exact, seed=3)
        np.testing.assert_array_equal(A, sampled_grid_matrix(model, ((0, 1), (2, 3)), 5, exact=exact, seed=3))
        assert not np.array_equal(A, sampled_grid_matrix(model, ((0, 1), (2, 3)), 5, exact=exact, seed=4))


@SETTINGS
@given(M=st.integers(1, 6), K=st.integers(1, 10), exact=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_sampled_grid_matrix_rank_of_inner_product_is_min_of_samples_and_dimension(M, K, exact, seed):
    F = sampled_grid_matrix(InnerProduct(M), ((0,), (1,)), K, exact=exact, seed=seed)
    assert (exact_rank(F) if exact else numerical_rank(F)) == min(K, M)


@SETTINGS
@given(n=st.integers(2, 5), K=st.integers(1, 6), exact=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_sampled_grid_matrix_rank_of_additive_model_is_min_of_samples_and_two(n, K, exact, seed):
    partition = balanced(n, seed % 1000)
    F = sampled_grid_matrix(Additive(n, 2, seed), partition, K, exact=exact, seed=seed)
    assert (exact_rank(F) if exact else numerical_rank(F)) == min(K, 2)


def test_sampled_grid_matrix_uses_the_models_fast_block():
    class WithBlock(InnerProduct):
        def grid_matrix_block(self, x_rows, x_cols, partition, p=None):
            return np.full((x_rows.shape[0], x_cols.shape[0]), 42)

    np.testing.assert_array_equal(sampled_grid_matrix(WithBlock(2), ((0,), (1,)), 3), np.full((3, 3), 42))


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(partition=((0,), (1, 2))), ValueError, r"partition must cover all 4 positions; missing \[3\]"),
    (dict(partition=((0, 1), (1, 2, 3))), ValueError, "partition sides must be disjoint"),
    (dict(partition=((0, 1), (2, 4))), ValueError, r"partition positions must lie in range\(4\)"),
    (dict(partition=((), (0, 1, 2, 3))), ValueError, "partition sides must both be non-empty"),
    (dict(partition=(0, 1, 2, 3)), ValueError, r"partition must be a pair \(I, J\), got 4 parts"),
    (dict(partition=((0, 1.5), (2, 3))), TypeError, "partition side I must contain ints"),
    (dict(samples=0), ValueError, "samples must be a positive int, got 0"),
    (dict(samples=-3), ValueError, "samples must be a positive int, got -3"),
    (dict(samples=2.0), TypeError, "samples must be a positive int, got float"),
    (dict(samples=True), TypeError, "samples must be a positive int, got bool"),
    (dict(p=91), ValueError, "p must be prime"),
    (dict(p=7.0), TypeError, "p must be an int"),
])
def test_sampled_grid_matrix_rejects_bad_arguments(kwargs, exc, msg):
    args = dict(partition=((0, 1), (2, 3)), samples=4)
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        sampled_grid_matrix(SumOfProducts(4, 2, 2), args.pop("partition"), args.pop("samples"), **args)


@pytest.mark.parametrize("seed, exc", [(-1, ValueError), ("0", TypeError), (1.5, TypeError), (None, TypeError)])
def test_sampled_grid_matrix_rejects_bad_seeds(seed, exc):
    with pytest.raises(exc, match="seed must be"):
        sampled_grid_matrix(SumOfProducts(4, 2, 2), ((0, 1), (2, 3)), 4, seed=seed)


def test_sampled_grid_matrix_rejects_non_bool_exact():
    with pytest.raises(TypeError, match="exact must be a bool"):
        sampled_grid_matrix(SumOfProducts(4, 2, 2), ((0, 1), (2, 3)), 4, exact="no")


def test_sampled_grid_matrix_rejects_p_in_float_mode_like_separation_rank():
    with pytest.raises(ValueError, match="p is only used with exact=True"):
        sampled_grid_matrix(SumOfProducts(4, 2, 2), ((0, 1), (2, 3)), 4, exact=False, p=7)


# -- separation_rank --------------------------------------------------------------------------

@st.composite
def sum_of_products_case(draw):
    n = draw(st.integers(2, 6))
    M = draw(st.integers(1, 3))
    R = draw(st.integers(1, 30))
    partition = balanced(n, draw(st.integers(0, 10_000)))
    return n, M, R, partition


@SETTINGS
@given(case=sum_of_products_case(), exact=st.booleans(), weight_seed=st.integers(0, 1000),
       seed=st.integers(0, 2**32 - 1))
def test_separation_rank_of_sum_of_products_is_min_of_terms_and_M_to_the_min_side(case, exact, weight_seed, seed):
    n, M, R, partition = case
    result = separation_rank(SumOfProducts(n, M, R, seed=weight_seed), partition, exact=exact, seed=seed, start=4)
    assert result.rank == sum_of_products_rank(R, M, partition)
    assert result.is_value  # saturated below the bound, or equal to it


@SETTINGS
@given(n=st.integers(2, 6), M=st.integers(2, 3), exact=st.booleans(), data=st.data())
def test_separation_rank_of_R_separable_terms_is_R_when_R_fits(n, M, exact, data):
    partition = balanced(n, data.draw(st.integers(0, 10_000), label="partition seed"))
    R = data.draw(st.integers(1, M ** min(map(len, partition))), label="R")
    result = separation_rank(SumOfProducts(n, M, R, seed=1), partition, exact=exact, start=2)
    assert result.rank == R
    assert result.saturated or result.reaches_upper_bound


@SETTINGS
@given(n=st.integers(2, 6), M=st.integers(1, 3), R=st.integers(1, 30), data=st.data())
def test_separation_rank_of_sum_of_products_on_arbitrary_partitions(n, M, R, data):
    I = data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n - 1), label="I")
    partition = (sorted(I), sorted(set(range(n)) - I))
    result = separation_rank(SumOfProducts(n, M, R, seed=2), partition, start=3)
    assert result.rank == sum_of_products_rank(R, M, partition)


@SETTINGS
@given(case=sum_of_products_case(), exact=st.booleans(), start=st.integers(1, 20), seed=st.integers(0, 1000))
def test_separation_rank_reports_consistent_bookkeeping(case, exact, start, seed):
    n, M, R, partition = case
    model = SumOfProducts(n, M, R, seed=seed)
    result = separation_rank(model, partition, exact=exact, seed=seed, start=start)
    Ks = [K for K, _ in result.history]
    ranks = [r for _, r in result.history]
    assert result.upper_bound == model.rank_upper_bound(partition) == M ** min(map(len, partition))
    assert result.rank <= result.upper_bound
    assert all(r <= K for K, r in result.history)
    assert Ks == sorted(set(Ks)) and ranks == sorted(ranks)  # K strictly increases, the rank never drops
    assert result.history[-1] == (result.samples, result.rank)
    assert Ks[0] == min(start, result.upper_bound)
    assert result.saturated == (result.rank < result.samples)
    assert result.reaches_upper_bound == (result.rank == result.upper_bound)
    assert result.exact == exact and result.seed == seed
    assert result.prime == (DEFAULT_PRIME if exact else None)
    assert int(result) == result.rank


@SETTINGS
@given(case=sum_of_products_case(), exact=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_separation_rank_is_deterministic_for_a_seed(case, exact, seed):
    n, M, R, partition = case
    model = SumOfProducts(n, M, R, seed=5)
    assert separation_rank(model, partition, exact=exact, seed=seed) == separation_rank(
        SumOfProducts(n, M, R, seed=5), partition, exact=exact, seed=seed)


def test_separation_rank_without_upper_bound_stops_when_saturated():
    result = separation_rank(InnerProduct(20), ((0,), (1,)), start=4)
    assert result.rank == 20 and result.saturated and result.upper_bound is None
    assert not result.reaches_upper_bound and result.is_value
    assert result.status == "exact, saturated"
    assert [K for K, _ in result.history][:3] == [4, 8, 16] and result.samples > 20


def test_separation_rank_capped_by_max_rank_is_only_a_lower_bound():
    model = SumOfProducts(6, 3, 25, seed=0)  # generic rank min(25, 27) = 25
    result = separation_rank(model, ((0, 2, 4), (1, 3, 5)), max_rank=10, start=4)
    assert result.rank == 10 == result.samples
    assert not result.saturated and not result.reaches_upper_bound and not result.is_value
    assert result.status == "exact, lower bound"
    assert separation_rank(model, ((0, 2, 4), (1, 3, 5)), max_rank=10, exact=False).status == \
        "float estimate, lower bound"


def test_separation_rank_equal_to_the_upper_bound_is_reported_as_such():
    model = SumOfProducts(4, 2, 9, seed=0)  # min(9, 2**2) = 4 = upper bound
    result = separation_rank(model, ((0, 1), (2, 3)))
    assert result.rank == 4 == result.upper_bound and result.reaches_upper_bound and result.is_value
    assert result.status == "exact, equals upper bound"
    assert separation_rank(model, ((0, 1), (2, 3)), exact=False).status == "float estimate, equals upper bound"


def test_separation_rank_max_rank_above_upper_bound_is_capped_by_the_bound():
    model = SumOfProducts(4, 2, 9, seed=0)
    result = separation_rank(model, ((0, 1), (2, 3)), max_rank=100, start=1)
    assert result.samples <= 4 and result.rank == 4


def test_separation_rank_in_a_small_prime_field_records_the_prime():
    result = separation_rank(SumOfProducts(4, 2, 3, seed=0), ((0, 1), (2, 3)), p=65521)
    assert result.prime == 65521 and result.rank == 3


def test_separation_rank_calls_progress_once_per_sample_size():
    calls = []
    result = separation_rank(InnerProduct(10), ((0,), (1,)), start=2, progress=lambda *a: calls.append(a))
    assert [(K, r) for K, r, _ in calls] == list(result.history)
    assert all(seconds >= 0 for _, _, seconds in calls)


def test_separation_rank_is_silent_by_default(capsys):
    separation_rank(SumOfProducts(4, 2, 3), ((0, 1), (2, 3)))
    separation_rank(SumOfProducts(4, 2, 3), ((0, 1), (2, 3)), progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_separation_rank_result_is_a_frozen_record():
    result = separation_rank(SumOfProducts(4, 2, 3), ((0, 1), (2, 3)))
    assert isinstance(result, SeparationRank)
    with pytest.raises(AttributeError):
        result.rank = 0


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(partition=((0,), (1, 2))), ValueError, "partition must cover all 4 positions"),
    (dict(partition=((0, 1), (1, 2, 3))), ValueError, "partition sides must be disjoint"),
    (dict(partition=((0, 1), (2, 7))), ValueError, r"partition positions must lie in range\(4\)"),
    (dict(partition=([], [0, 1, 2, 3])), ValueError, "partition sides must both be non-empty"),
    (dict(partition="0123"), TypeError, r"partition must be a pair \(I, J\)"),
    (dict(exact="yes"), TypeError, "exact must be a bool, got str"),
    (dict(exact=1), TypeError, "exact must be a bool, got int"),
    (dict(seed=1.0), TypeError, "seed must be an int, got float"),
    (dict(seed="0"), TypeError, "seed must be an int, got str"),
    (dict(start=0), ValueError, "start must be a positive int, got 0"),
    (dict(start=2.0), TypeError, "start must be a positive int, got float"),
    (dict(max_rank=0), ValueError, "max_rank must be a positive int, got 0"),
    (dict(max_rank=10.0), TypeError, "max_rank must be a positive int, got float"),
    (dict(p=91), ValueError, r"p must be prime, got 91 \(composite\)"),
    (dict(p=2**31), ValueError, "p must be a prime in"),
    (dict(p=7.0), TypeError, "p must be an int"),
    (dict(exact=False, p=7), ValueError, "p is only used with exact=True"),
    (dict(exact=False, tol=-1.0), ValueError, "tol must be a finite non-negative number"),
    (dict(exact=False, tol=np.nan), ValueError, "tol must be a finite non-negative number"),
])
def test_separation_rank_rejects_bad_arguments(kwargs, exc, msg):
    args = dict(partition=((0, 1), (2, 3)))
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        separation_rank(SumOfProducts(4, 2, 3), args.pop("partition"), **args)


def test_separation_rank_rejects_non_models():
    with pytest.raises(TypeError, match="model must follow the model protocol"):
        separation_rank(lambda X: X.sum(axis=(1, 2)), ((0,), (1,)))


def test_separation_rank_rejects_negative_seeds():
    with pytest.raises(ValueError, match="seed must be a non-negative int"):
        separation_rank(SumOfProducts(4, 2, 3), ((0, 1), (2, 3)), seed=-1)


def test_separation_rank_rejects_a_tolerance_in_exact_mode():
    # like p with exact=False: an argument that would be silently ignored
    with pytest.raises(ValueError, match="tol is only used with exact=False"):
        separation_rank(SumOfProducts(4, 2, 3), ((0, 1), (2, 3)), tol=1e-3)


@pytest.mark.parametrize("progress", [3, "yes"])
def test_separation_rank_rejects_a_progress_that_is_neither_bool_nor_callable(progress):
    with pytest.raises(TypeError, match="progress must be"):
        separation_rank(SumOfProducts(4, 2, 3), ((0, 1), (2, 3)), progress=progress)
