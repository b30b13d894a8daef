"""Tests of tensorlib.grid: grid tensors, sampled grid matrices, and the checks on what models return.

The expected values come from elementary facts about the small models of ``conftest`` (the grid
matrix of <x_0, x_1> on templates T is T T^T; an additive function has separation rank 2) or from
evaluating the model pair by pair, never from the code under test.
"""

import itertools

import numpy as np
import pytest
from conftest import Additive, InnerProduct, mod_p, to_objects
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlib.grid as grid_module
from tensorlib import DEFAULT_PRIME, balanced, exact_rank, grid_tensor, numerical_rank, sampled_grid_matrix
from tensorlib import separation_rank
from tensorlib.grid import (GRID_MEMORY_BUDGET, check_dense_size, fill_block, pairwise_grid_matrix_block,
                            resolve_prime)
from tensorlib.models import validate_inputs
from tensorlib.networks import SumOfProducts

SETTINGS = settings(max_examples=50)


# -- check_dense_size and resolve_prime ----------------------------------------------------------

def test_check_dense_size_refuses_arrays_over_the_budget_and_points_to_separation_rank():
    check_dense_size((4, 4), "grid", budget=128)  # 16 entries = 128 bytes: allowed
    with pytest.raises(ValueError, match=r"dense grid would have 17 entries .*tensorlib.separation_rank"):
        check_dense_size((17,), "grid", budget=128)
    with pytest.raises(ValueError, match="1,208,925,819,614,629,174,706,176 entries"):
        check_dense_size((4,) * 40, "coefficient tensor")
    assert GRID_MEMORY_BUDGET == 2**30


def test_resolve_prime_reads_exact_and_p():
    assert resolve_prime(True, None) == DEFAULT_PRIME
    assert resolve_prime(True, np.int64(7)) == 7 and type(resolve_prime(True, np.int64(7))) is int
    assert resolve_prime(False, None) is None
    with pytest.raises(ValueError, match="p is only used with exact=True"):
        resolve_prime(False, 7)
    with pytest.raises(TypeError, match="exact must be a bool, got int"):
        resolve_prime(1, None)
    with pytest.raises(ValueError, match="p must be prime"):
        resolve_prime(True, 91)


# -- grid_tensor ---------------------------------------------------------------------------------

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


def test_grid_tensor_reduces_big_integer_templates_exactly():
    # Python ints numpy cannot hold in int64: an object array, and a list numpy would read as float64.
    for T in ([[2**64 + 1, 3], [2**63, -1]], [[2**63, 3], [1, -1]]):
        reduced = np.array([[v % 7 for v in row] for row in T])
        np.testing.assert_array_equal(grid_tensor(InnerProduct(2), T, 2, p=7),
                                      grid_tensor(InnerProduct(2), reduced, 2, p=7))


def test_grid_tensor_over_the_memory_budget_points_to_separation_rank():
    model = SumOfProducts(40, 4, 1)
    with pytest.raises(ValueError, match=r"grid tensor \(K\*\*N = 4\*\*40\) would have .* entries .* above the "
                                         r"1 GiB budget; use tensorlib.separation_rank"):
        grid_tensor(model, np.eye(4), 40)
    assert 4**40 * 8 > GRID_MEMORY_BUDGET


def test_grid_tensor_respects_a_custom_memory_budget():
    model = SumOfProducts(3, 2, 1)
    assert grid_tensor(model, np.eye(2), 3, memory_budget=64).shape == (2, 2, 2)  # 8 entries = 64 bytes
    with pytest.raises(ValueError, match="would have 8 entries .* above the .* budget; use tensorlib.separation_rank"):
        grid_tensor(model, np.eye(2), 3, memory_budget=63)


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(templates=np.eye(2), n_inputs=3), ValueError, "n_inputs=3 does not match the model's n_inputs=4"),
    (dict(templates=np.eye(2), n_inputs=0), ValueError, "n_inputs must be at least 1, got 0"),
    (dict(templates=np.eye(2), n_inputs=4.0), TypeError, "n_inputs must be an int, got float"),
    (dict(templates=np.eye(2), n_inputs=True), TypeError, "n_inputs must be an int, got bool"),
    (dict(templates=np.ones(2), n_inputs=4), ValueError, r"templates must have shape \(K, input_dim\) with K >= 1"),
    (dict(templates=np.ones((2, 2, 2)), n_inputs=4), ValueError, r"templates must have shape \(K, input_dim\)"),
    (dict(templates=np.ones((0, 2)), n_inputs=4), ValueError,
     r"templates must have shape \(K, input_dim\) with K >= 1"),
    (dict(templates=np.eye(3), n_inputs=4), ValueError, r"templates must have shape \(K, input_dim=2\), got \(3, 3\)"),
    (dict(templates=np.array([[np.nan, 1.0]]), n_inputs=4), ValueError, "templates contains NaN or inf"),
    (dict(templates=np.array([[np.inf, 1.0]]), n_inputs=4), ValueError, "templates contains NaN or inf"),
    (dict(templates=np.eye(2), n_inputs=4, p=7), TypeError, "templates must have an integer dtype in exact"),
    (dict(templates=np.full((2, 2), "a"), n_inputs=4), TypeError, "templates must be a numeric array"),
    (dict(templates=np.ma.masked_array(np.eye(2), mask=np.eye(2)), n_inputs=4), TypeError,
     "templates is a masked array"),
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
    with pytest.raises(ValueError, match=r"model <lambda> returned shape \(8, 2\); the protocol asks for shape \(8,\)"):
        grid_tensor(lambda X: X.sum(axis=1), np.eye(2), 3)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "8"])
def test_grid_tensor_rejects_bad_batch_size(batch_size):
    with pytest.raises((TypeError, ValueError), match="batch_size"):
        grid_tensor(SumOfProducts(3, 2, 1), np.eye(2), 3, batch_size=batch_size)


@pytest.mark.parametrize("budget", [-1, 0, "1GiB", None, 1.5])
def test_grid_tensor_rejects_bad_memory_budget(budget):
    with pytest.raises((TypeError, ValueError), match="memory_budget"):
        grid_tensor(SumOfProducts(3, 2, 1), np.eye(2), 3, memory_budget=budget)


# -- exact mode trusts no model output (issue 11) ------------------------------------------------

class Halved:
    """f = x_0 x_1 / 2 (M = 1): separation rank 1, but its values are floats even with p given."""

    n_inputs, input_dim = 2, 1

    def evaluate(self, X, p=None):
        X = validate_inputs(X, 2, 1, p)
        return X[:, 0, 0] * X[:, 1, 0] / 2.0


class NaNs(Halved):
    """Returns NaN wherever x_0 is even."""

    def evaluate(self, X, p=None):
        X = validate_inputs(X, 2, 1, p)
        return np.where(X[:, 0, 0] % 2 == 0, np.nan, 1.0)


class Unreduced:
    """f = x_0 x_1 returned as integers congruent to it but *not* reduced mod p (some above p, some negative)."""

    n_inputs, input_dim = 2, 1

    def evaluate(self, X, p=None):
        X = validate_inputs(X, 2, 1, p)
        if p is None:
            return X[:, 0, 0] * X[:, 1, 0]
        big = to_objects(X)
        shift = to_objects(np.where(X[:, 0, 0] % 2 == 1, -9 * p, 5 * p))
        return big[:, 0, 0] * big[:, 1, 0] + shift


@pytest.mark.parametrize("model, name", [(Halved(), "Halved"), (NaNs(), "NaNs")])
def test_exact_mode_refuses_float_outputs_everywhere_naming_the_model(model, name):
    # Issue 11: f = x0 * x1 / 2.0 was truncated into int64 and reported as "rank 63, exact, saturated".
    msg = f"model {name} returned dtype float64 with p="
    with pytest.raises(TypeError, match=msg):
        separation_rank(model, ((0,), (1,)))
    with pytest.raises(TypeError, match=msg):
        grid_tensor(model, np.array([[1], [2], [3]]), 2, p=7)
    with pytest.raises(TypeError, match=msg):
        sampled_grid_matrix(model, ((0,), (1,)), 4)


def test_exact_mode_refuses_a_plain_function_returning_floats():
    with pytest.raises(TypeError, match="model <lambda> returned dtype float64 with p=7"):
        grid_tensor(lambda X, p=None: X[:, 0, 0] * X[:, 1, 0] / 2.0, np.array([[1], [2]]), 2, p=7)


def test_float_mode_accepts_the_same_float_model():
    F = sampled_grid_matrix(Halved(), ((0,), (1,)), 4, exact=False)
    assert F.dtype == np.float64 and numerical_rank(F) == 1
    assert separation_rank(Halved(), ((0,), (1,)), exact=False).rank == 1


def test_exact_mode_refuses_a_fast_block_returning_floats():
    class FloatBlock(InnerProduct):
        def grid_matrix_block(self, x_rows, x_cols, partition, p=None):
            return np.full((x_rows.shape[0], x_cols.shape[0]), 0.5)

    with pytest.raises(TypeError, match=r"FloatBlock.grid_matrix_block returned dtype float64 with p="):
        sampled_grid_matrix(FloatBlock(2), ((0,), (1,)), 3)
    with pytest.raises(TypeError, match=r"FloatBlock.grid_matrix_block returned dtype float64"):
        separation_rank(FloatBlock(2), ((0,), (1,)))


def test_exact_mode_reduces_unreduced_integer_outputs():
    # Integers are reducible: the matrices are those of the reduced function, and its rank is 1.
    model = Unreduced()
    T = np.array([[1], [2], [3]])
    np.testing.assert_array_equal(grid_tensor(model, T, 2, p=7), np.mod(np.outer(T[:, 0], T[:, 0]), 7))
    F = sampled_grid_matrix(model, ((0,), (1,)), 5, seed=3)
    reduced = sampled_grid_matrix(InnerProduct(1), ((0,), (1,)), 5, seed=3)
    np.testing.assert_array_equal(F, np.mod(reduced, DEFAULT_PRIME))
    assert F.min() >= 0 and F.max() < DEFAULT_PRIME and exact_rank(F) == 1
    result = separation_rank(model, ((0,), (1,)))
    assert result.rank == 1 and result.saturated


# -- sampled grid matrices -----------------------------------------------------------------------

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


@pytest.mark.parametrize("p", [None, 101])
def test_fill_block_writes_each_entry_in_bounded_row_steps(monkeypatch, p):
    monkeypatch.setattr(grid_module, "_BLOCK_ENTRIES", 10)  # 2 rows of 5 columns per step
    model = Additive(3, 2, seed=2)
    rng = np.random.default_rng(3)
    draw = (lambda s: rng.integers(0, p, s)) if p else rng.standard_normal
    xr, xc = draw((7, 2, 2)), draw((5, 1, 2))
    F = np.full((9, 8), -1, dtype=np.int64 if p else np.float64)
    fill_block(F, model, xr, xc, ((0, 2), (1,)), p, row0=1, col0=2)
    np.testing.assert_allclose(F[1:8, 2:7], pairwise_grid_matrix_block(model, xr, xc, ((0, 2), (1,)), p))
    assert (F[0] == -1).all() and (F[8] == -1).all() and (F[:, :2] == -1).all() and (F[:, 7] == -1).all()
    fill_block(F, model, xr[:0], xc, ((0, 2), (1,)), p)  # nothing to write
    assert (F[0] == -1).all()


@pytest.mark.parametrize("shape", [(40, 7), (7, 40), (1, 33), (33, 1)])
def test_fill_block_in_threads_tiles_tall_blocks_by_rows_and_wide_ones_by_columns(monkeypatch, shape):
    # Two worker threads, a tiny threshold and tiny tiles: every entry is written once, right.
    monkeypatch.setattr(grid_module, "_THREADS", 2)
    monkeypatch.setattr(grid_module, "_PARALLEL_ENTRIES", 1)
    monkeypatch.setattr(grid_module, "_BLOCK_ENTRIES", 12)
    model = SumOfProducts(4, 2, 3, seed=1)
    assert model.parallel_blocks
    rng = np.random.default_rng(4)
    A, B = shape
    xr, xc = rng.integers(0, DEFAULT_PRIME, (A, 2, 2)), rng.integers(0, DEFAULT_PRIME, (B, 2, 2))
    F = np.full((A + 1, B + 1), -1, dtype=np.int64)
    fill_block(F, model, xr, xc, ((0, 1), (2, 3)), DEFAULT_PRIME, row0=1, col0=1)
    np.testing.assert_array_equal(F[1:, 1:], pairwise_grid_matrix_block(model, xr, xc, ((0, 1), (2, 3)), DEFAULT_PRIME))
    assert (F[0] == -1).all() and (F[:, 0] == -1).all()


def test_sampled_grid_matrix_is_residues_in_exact_mode_and_floats_otherwise():
    model = SumOfProducts(4, 2, 3, seed=0)
    F = sampled_grid_matrix(model, ((0, 1), (2, 3)), 6)
    assert F.shape == (6, 6) and F.dtype == np.int64 and F.min() >= 0 and F.max() < DEFAULT_PRIME
    F7 = sampled_grid_matrix(model, ((0, 1), (2, 3)), 6, p=7)
    assert F7.max() < 7
    G = sampled_grid_matrix(model, ((0, 1), (2, 3)), 6, exact=False)
    assert G.shape == (6, 6) and G.dtype == np.float64


def test_sampled_grid_matrix_draws_its_samples_from_default_rng_of_the_seed():
    # The documented construction: K rows for I, then K columns for J, from default_rng(seed).
    model = InnerProduct(3)
    rng = np.random.default_rng(11)
    xr, xc = rng.integers(0, 101, (4, 1, 3)), rng.integers(0, 101, (4, 1, 3))
    expected = mod_p(to_objects(xr[:, 0]) @ to_objects(xc[:, 0]).T, 101)
    np.testing.assert_array_equal(sampled_grid_matrix(model, ((0,), (1,)), 4, seed=11, p=101), expected)


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
    (dict(samples=0), ValueError, "samples must be at least 1, got 0"),
    (dict(samples=-3), ValueError, "samples must be at least 1, got -3"),
    (dict(samples=2.0), TypeError, "samples must be an int, got float"),
    (dict(samples=True), TypeError, "samples must be an int, got bool"),
    (dict(samples=40_000), ValueError, r"sampled grid matrix would have 1,600,000,000 entries"),
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
