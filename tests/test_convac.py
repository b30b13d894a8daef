"""ConvACs (tensorlib.networks.convac) against the theorems of COLT 2016 and independent computations.

Expected ranks come from the closed forms in tensorlib.bounds (Theorem 1, the CP bound) or from the
dense coefficient tensor, matricized and ranked: never from the sampled path itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorlib
from tensorlib import DEFAULT_PRIME, bounds, grid_tensor, odd_even, separation_rank
from tensorlib.networks import DeepConvAC, ShallowConvAC
from tensorlib.grid import pairwise_grid_matrix_block

SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def dense_rank(model, partition) -> int:
    """Rank of the matricized dense coefficient tensor: independent of the sampled path."""
    I, J = partition
    A = model.coefficient_tensor()
    return int(np.linalg.matrix_rank(np.transpose(A, I + J).reshape(model.input_dim ** len(I), -1)))


@st.composite
def deep_configs(draw):
    """Small deep ConvACs: N = 2, 4, 8 (window 2) or 3, 9 (window 3), any order, shared or not."""
    window = draw(st.sampled_from([2, 2, 3]))
    depth = draw(st.integers(1, 3 if window == 2 else 2))
    n = window ** depth
    M = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 3), min_size=depth, max_size=depth))
    order = list(draw(st.permutations(range(n)))) if draw(st.booleans()) else None
    shared = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return DeepConvAC(n, M, widths, window=window, order=order, shared=shared, seed=seed)


@st.composite
def random_partitions(draw, n: int):
    I = draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n - 1))
    return tuple(sorted(I)), tuple(j for j in range(n) if j not in I)


# -- the coefficient tensor is the grid tensor on basis templates --------------------------------

@SETTINGS
@given(model=deep_configs())
def test_deep_coefficient_tensor_is_grid_tensor_on_basis(model):
    G = grid_tensor(model, np.eye(model.input_dim), model.n_inputs)
    np.testing.assert_allclose(model.coefficient_tensor(), G, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(n=st.integers(2, 6), M=st.integers(1, 3), Z=st.integers(1, 5), shared=st.booleans(), seed=st.integers(0, 99))
def test_shallow_coefficient_tensor_is_grid_tensor_on_basis(n, M, Z, shared, seed):
    model = ShallowConvAC(n, M, Z, shared=shared, seed=seed)
    G = grid_tensor(model, np.eye(M), n)
    np.testing.assert_allclose(model.coefficient_tensor(), G, rtol=1e-10, atol=1e-12)


def test_order_permutes_the_coefficient_tensor():
    base = DeepConvAC(4, 2, 2, seed=3)
    order = [2, 0, 3, 1]
    permuted = DeepConvAC(4, 2, 2, order=order, seed=3)
    # Same weights, input order[k] read at position k: A'[d_0..d_3] = A[d_order[0], ..., d_order[3]].
    np.testing.assert_allclose(permuted.coefficient_tensor(), np.transpose(base.coefficient_tensor(), np.argsort(order)))


# -- Theorem 1 and the CP bound -----------------------------------------------------------------

@SETTINGS
@given(depth=st.integers(1, 3), M=st.integers(1, 3), r0=st.integers(1, 4),
       later=st.lists(st.integers(1, 3), min_size=2, max_size=2), shared=st.booleans(), seed=st.integers(0, 99))
def test_deep_odd_even_rank_is_theorem_1(depth, M, r0, later, shared, seed):
    n = 2**depth
    model = DeepConvAC(n, M, [r0] + later[:depth - 1], shared=shared, seed=seed)
    result = separation_rank(model, odd_even(n))
    assert result.exact and result.is_value
    assert result.rank == bounds.depth_efficiency_rank(n, M, r0)


@SETTINGS
@given(depth=st.integers(1, 3), M=st.integers(1, 3), r=st.integers(1, 3), seed=st.integers(0, 99))
def test_deep_odd_even_dense_rank_is_theorem_1(depth, M, r, seed):
    n = 2**depth
    model = DeepConvAC(n, M, r, seed=seed)
    assert dense_rank(model, odd_even(n)) == bounds.depth_efficiency_rank(n, M, r)


@SETTINGS
@given(data=st.data(), n=st.integers(2, 6), M=st.integers(1, 3), Z=st.integers(1, 12), seed=st.integers(0, 99))
def test_shallow_rank_is_min_of_channels_and_side(data, n, M, Z, seed):
    partition = data.draw(random_partitions(n))
    model = ShallowConvAC(n, M, Z, seed=seed)
    expected = bounds.shallow_rank_bound(Z, M, partition)
    assert separation_rank(model, partition).rank == expected
    assert dense_rank(model, partition) == expected


@SETTINGS
@given(data=st.data(), n=st.integers(2, 6), M=st.integers(1, 3), Z=st.integers(1, 12), seed=st.integers(0, 99))
def test_shared_shallow_rank_never_exceeds_the_bound(data, n, M, Z, seed):
    partition = data.draw(random_partitions(n))
    model = ShallowConvAC(n, M, Z, shared=True, seed=seed)
    assert separation_rank(model, partition).rank <= bounds.shallow_rank_bound(Z, M, partition)


@SETTINGS
@given(data=st.data(), model=deep_configs())
def test_deep_sampled_rank_equals_dense_rank(data, model):
    partition = data.draw(random_partitions(model.n_inputs))
    result = separation_rank(model, partition)
    assert result.is_value
    assert result.rank == dense_rank(model, partition)


def test_tied_first_layer_weights_drop_below_theorem_1():
    # A measure-zero setting: every first-layer channel reads the same vector, so each pooled pair
    # is a rank-one matrix and the odd/even rank collapses to 1.
    model = DeepConvAC(8, 3, 3, seed=1)
    for p in (None, DEFAULT_PRIME):
        weights = model.weights(p)
        tied = [np.repeat(weights["conv"][0][:, :, :1], 3, axis=2)] + list(weights["conv"][1:])
        model.set_weights({"conv": tied, "output": weights["output"]}, p=p)
    assert separation_rank(model, odd_even(8)).rank == 1
    assert dense_rank(model, odd_even(8)) == 1 < bounds.depth_efficiency_rank(8, 3, 3)


def test_float_and_exact_ranks_agree_on_small_networks():
    for n, M, r in [(8, 2, 2), (8, 3, 2), (8, 2, 3), (4, 3, 3)]:
        model = DeepConvAC(n, M, r, seed=0)
        exact = separation_rank(model, odd_even(n))
        estimate = separation_rank(model, odd_even(n), exact=False)
        assert estimate.rank == exact.rank == bounds.depth_efficiency_rank(n, M, r)


def test_float_weights_keep_values_of_order_one():
    model = DeepConvAC(16, 3, 3, seed=0)
    X = np.random.default_rng(0).standard_normal((2000, 16, 3))
    rms = float(np.sqrt(np.mean(model(X) ** 2)))
    assert 1e-3 < rms < 1e3


# -- grid_matrix_block against the pair-by-pair path --------------------------------------------

@SETTINGS
@given(data=st.data(), model=deep_configs(), exact=st.booleans())
def test_deep_grid_matrix_block_matches_pairwise(data, model, exact):
    partition = data.draw(random_partitions(model.n_inputs))
    p = DEFAULT_PRIME if exact else None
    field = tensorlib.Field(p)
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    A, B = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    xr = field.random(rng, (A, len(partition[0]), model.input_dim))
    xc = field.random(rng, (B, len(partition[1]), model.input_dim))
    fast = model.grid_matrix_block(xr, xc, partition, p=p)
    slow = pairwise_grid_matrix_block(model, xr, xc, partition, p)
    if exact:
        assert fast.dtype == np.int64 and np.array_equal(fast, slow)
    else:
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)


@SETTINGS
@given(data=st.data(), n=st.integers(2, 6), M=st.integers(1, 3), Z=st.integers(1, 5), shared=st.booleans(),
       exact=st.booleans())
def test_shallow_grid_matrix_block_matches_pairwise(data, n, M, Z, shared, exact):
    model = ShallowConvAC(n, M, Z, shared=shared)
    partition = data.draw(random_partitions(n))
    p = DEFAULT_PRIME if exact else None
    field = tensorlib.Field(p)
    rng = np.random.default_rng(0)
    xr = field.random(rng, (7, len(partition[0]), M))
    xc = field.random(rng, (5, len(partition[1]), M))
    fast = model.grid_matrix_block(xr, xc, partition, p=p)
    slow = pairwise_grid_matrix_block(model, xr, xc, partition, p)
    if exact:
        assert np.array_equal(fast, slow)
    else:
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)


def test_grid_matrix_block_with_a_small_prime_and_many_rows():
    # A small prime exercises the reductions; many rows exercise the row blocks.
    import tensorlib.networks.convac as convac

    model = DeepConvAC(8, 2, [3, 5, 4], seed=2)
    partition = ((0, 3, 4, 6), (1, 2, 5, 7))
    rng = np.random.default_rng(1)
    for p in (101, DEFAULT_PRIME):
        field = tensorlib.Field(p)
        xr, xc = field.random(rng, (300, 4, 2)), field.random(rng, (40, 4, 2))
        saved = convac._BLOCK_BYTES
        convac._BLOCK_BYTES = 8 * 40 * 5 * 7  # blocks of 7 rows
        try:
            fast = model.grid_matrix_block(xr, xc, partition, p=p)
        finally:
            convac._BLOCK_BYTES = saved
        assert np.array_equal(fast, pairwise_grid_matrix_block(model, xr, xc, partition, p))


# -- weights, sharing, parameter counts ---------------------------------------------------------

def test_shared_weights_are_one_matrix_per_layer():
    model = DeepConvAC(8, 3, [2, 4, 3], shared=True)
    shapes = [w.shape for w in model.weights()["conv"]]
    assert shapes == [(3, 2), (2, 4), (4, 3)]
    assert ShallowConvAC(5, 3, 4, shared=True).weights()["conv"].shape == (3, 4)


def test_shared_shallow_network_is_symmetric():
    A = ShallowConvAC(4, 2, 3, shared=True, seed=5).coefficient_tensor()
    np.testing.assert_allclose(A, np.transpose(A, (2, 0, 3, 1)))


def test_parameter_count_is_colt_formula():
    n, M, widths = 16, 3, [2, 3, 4, 5]
    model = DeepConvAC(n, M, widths)
    expected = n * M * widths[0] + sum(n // 2**l * widths[l - 1] * widths[l] for l in range(1, 4)) + widths[-1]
    assert model.n_parameters == expected
    assert ShallowConvAC(n, M, 7).n_parameters == n * M * 7 + 7
    assert DeepConvAC(n, M, widths, shared=True).n_parameters == M * 2 + 2 * 3 + 3 * 4 + 4 * 5 + 5


def test_gf_p_weights_are_residues():
    model = DeepConvAC(4, 2, 3)
    for w in model.weights(DEFAULT_PRIME)["conv"]:
        assert w.dtype == np.int64 and w.min() >= 0 and w.max() < DEFAULT_PRIME


def test_widths_int_is_used_for_every_layer():
    assert DeepConvAC(27, 2, 4, window=3).widths == (4, 4, 4)


def test_window_sequence_truncates_the_tree():
    model = DeepConvAC(16, 2, [2, 5], window=(2, 8))
    assert model.depth == 2 and model.positions == (16, 8)


# -- bad inputs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(n_inputs=6, input_dim=2, widths=2), r"n_inputs=6 must be a power of window=2"),
    (dict(n_inputs=8, input_dim=2, widths=[2, 2]), r"widths must have L = 3 entries"),
    (dict(n_inputs=8, input_dim=2, widths=[2, 0, 2]), r"widths\[1\] must be at least 1, got 0"),
    (dict(n_inputs=8, input_dim=2, widths=-1), r"widths\[0\] must be at least 1, got -1"),
    (dict(n_inputs=4, input_dim=2, widths=2, order=[0, 1, 1, 3]), r"order must be a permutation of range\(4\)"),
    (dict(n_inputs=4, input_dim=2, widths=2, order=[0, 1, 2]), r"order must be a permutation of range\(4\)"),
    (dict(n_inputs=4, input_dim=2, widths=2, window=1), r"window must be at least 2"),
    (dict(n_inputs=16, input_dim=2, widths=2, window=(2, 4)), r"must multiply to n_inputs=16"),
    (dict(n_inputs=4, input_dim=0, widths=2), r"input_dim must be at least 1"),
])
def test_deep_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DeepConvAC(**kwargs)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(n_inputs=4, input_dim=2, widths="2"), TypeError, r"widths must be an int or a sequence"),
    (dict(n_inputs=4, input_dim=2, widths=2, window=2.0), TypeError, r"window must be an int"),
    (dict(n_inputs=4, input_dim=2, widths=2, order="0123"), TypeError, r"order must be a sequence of ints"),
    (dict(n_inputs=4, input_dim=2, widths=2, shared=1), TypeError, r"shared must be a bool"),
])
def test_deep_rejects_bad_types(kwargs, error, message):
    with pytest.raises(error, match=message):
        DeepConvAC(**kwargs)


def test_shallow_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"channels must be at least 1, got 0"):
        ShallowConvAC(4, 2, 0)
    with pytest.raises(ValueError, match=r"n_inputs must be at least 2"):
        ShallowConvAC(1, 2, 3)
    with pytest.raises(TypeError, match=r"shared must be a bool"):
        ShallowConvAC(4, 2, 3, shared="yes")


def test_oversized_coefficient_tensor_is_refused():
    with pytest.raises(ValueError, match=r"coefficient tensor would have .* use tensorlib.separation_rank"):
        DeepConvAC(32, 3, 2).coefficient_tensor()
    with pytest.raises(ValueError, match=r"coefficient tensor would have"):
        ShallowConvAC(32, 3, 2).coefficient_tensor()


def test_grid_matrix_block_rejects_bad_shapes():
    model = DeepConvAC(4, 2, 2)
    partition = ((0, 1), (2, 3))
    with pytest.raises(ValueError, match=r"x_rows must have shape \(batch, n_inputs=2, input_dim=2\)"):
        model.grid_matrix_block(np.zeros((3, 3, 2)), np.zeros((3, 2, 2)), partition)
    with pytest.raises(TypeError, match=r"x_cols must have an integer dtype"):
        model.grid_matrix_block(np.zeros((3, 2, 2), dtype=int), np.zeros((3, 2, 2)), partition, p=DEFAULT_PRIME)


def test_set_weights_rejects_wrong_shapes():
    model = DeepConvAC(4, 2, 2)
    weights = model.weights()
    with pytest.raises(ValueError, match=r"weights\['conv\[0\]'\] must have shape \(4, 2, 2\)"):
        model.set_weights({"conv": [np.zeros((2, 2)), weights["conv"][1]], "output": weights["output"]})


# -- closed forms -------------------------------------------------------------------------------

def test_bounds_closed_forms():
    assert bounds.depth_efficiency_rank(16, 3, 5) == 3**8
    assert bounds.shallow_rank_bound(100, 2, ((0, 1, 2), (3, 4))) == 4
    # L_2 = 1 is the shallow network: Theorem 1's r^(N/2).
    assert bounds.intermediate_depth_width(16, 3, [2, 3, 3, 3], 1) == bounds.depth_efficiency_rank(16, 3, 2)
    assert bounds.intermediate_depth_width(16, 3, [3, 2, 3, 3], 2) == 2**4
    assert bounds.intermediate_depth_width(16, 3, [3, 3, 3, 3], 4) == 3


def test_bounds_reject_bad_arguments():
    with pytest.raises(ValueError, match=r"n_inputs must be a power of 2"):
        bounds.depth_efficiency_rank(12, 2, 2)
    with pytest.raises(ValueError, match=r"width must be at least 1"):
        bounds.depth_efficiency_rank(8, 2, 0)
    with pytest.raises(ValueError, match=r"widths must have L = log2\(n_inputs\) = 3 entries"):
        bounds.intermediate_depth_width(8, 2, [2, 2], 1)
    with pytest.raises(ValueError, match=r"depth must be at most L = log2\(n_inputs\) = 3"):
        bounds.intermediate_depth_width(8, 2, [2, 2, 2], 4)
    with pytest.raises(ValueError, match=r"partition sides must be disjoint"):
        bounds.shallow_rank_bound(3, 2, ((0, 1), (1, 2)))


def test_intermediate_depth_illustration():
    # Theorem 3's mechanism on N = 8: blocks of 2^(L_2 - 1) inputs alternate between I and J. The deep
    # network reaches r^(2^(L - L_2)) there; a depth-L_2 network is at most its last width.
    n, M, r, L2 = 8, 2, 2, 2
    b = 2 ** (L2 - 1)
    I = tuple(i for i in range(n) if (i // b) % 2 == 0)
    partition = (I, tuple(i for i in range(n) if i not in I))
    deep = DeepConvAC(n, M, r)
    needed = bounds.intermediate_depth_width(n, M, [r] * 3, L2)
    assert separation_rank(deep, partition).rank >= needed
    for last in range(1, needed + 1):
        shallower = DeepConvAC(n, M, [r, last], window=(2, 4))
        assert separation_rank(shallower, partition).rank <= last
    assert math.log2(needed) == 2 ** (3 - L2)
