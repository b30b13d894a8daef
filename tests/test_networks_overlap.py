"""OverlappingConvAC (tensorlib.networks.overlap) against independent computations.

Expected values come from: a naive loop implementation of the GC layers (float64 and exact Python
integers mod p), the existing DeepConvAC/CP models for the non-overlapping special cases, closed
forms (COLT 2016 Theorem 1, the CP bound, a small derivation stated in its test), homogeneity of
the polynomial, and brute-force grid tensors ranked exactly over GF(p).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tensorlib as tl
from tensorlib import DEFAULT_PRIME
from tensorlib.networks import DeepConvAC
from tensorlib.bounds.overlap import input_degrees, layer_positions, overlap_rank_upper_bound, receptive_fields
from tensorlib.networks.overlap import OverlappingConvAC

from conftest import partitions

P = DEFAULT_PRIME
SETTINGS = settings(max_examples=20)


@st.composite
def architectures(draw, max_inputs: int = 8):
    """(N, kernels, strides): built from the top (one position) down, so every draw is valid."""
    depth = draw(st.integers(1, 3))
    kernels, strides, n = [], [], 1
    for _ in range(depth):
        k = draw(st.integers(1, 3))
        s = draw(st.integers(1, k))
        kernels.append(k)
        strides.append(s)
        n = (n - 1) * s + k
    kernels.reverse()
    strides.reverse()
    assume(2 <= n <= max_inputs)
    return n, kernels, strides


@st.composite
def networks(draw, max_inputs: int = 8):
    n, kernels, strides = draw(architectures(max_inputs))
    M = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 3), min_size=len(kernels), max_size=len(kernels)))
    shared = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    return OverlappingConvAC(n, M, widths, kernel=kernels, stride=strides, shared=shared, seed=seed)


def naive(net: OverlappingConvAC, x: np.ndarray, weights: dict, p: int | None = None):
    """f(x) for one input x of shape (N, M), by explicit loops over positions, offsets and channels.

    With ``p`` everything is exact Python integers reduced mod p at the end.
    """
    def entry(a):
        return int(a) if p is not None else float(a)

    h = [[entry(v) for v in row] for row in x]
    for l, (k, s) in enumerate(zip(net.kernels, net.strides)):
        W = weights["conv"][l]
        out = []
        for j in range(net.positions[l + 1]):
            Wj = W if net.shared else W[j]
            channels = []
            for g in range(net.widths[l]):
                value = 1
                for t in range(k):
                    value *= sum(entry(Wj[t, a, g]) * h[j * s + t][a] for a in range(len(h[0])))
                channels.append(value)
            out.append(channels)
        h = out
    value = sum(entry(weights["output"][g]) * h[0][g] for g in range(net.widths[-1]))
    return value % p if p is not None else value


# -- evaluation against the naive loops ------------------------------------------------------------

@SETTINGS
@given(net=networks(), data_seed=st.integers(0, 2**16))
def test_float_evaluation_matches_naive_loops(net, data_seed):
    X = np.random.default_rng(data_seed).standard_normal((3, net.n_inputs, net.input_dim))
    expected = [naive(net, x, net.weights()) for x in X]
    np.testing.assert_allclose(net.evaluate(X), expected, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(net=networks(), data_seed=st.integers(0, 2**16))
def test_gfp_evaluation_matches_exact_integer_loops(net, data_seed):
    X = np.random.default_rng(data_seed).integers(0, P, (3, net.n_inputs, net.input_dim))
    weights = net.weights(P)
    expected = [naive(net, x, weights, P) for x in X]
    assert net.evaluate(X, p=P).tolist() == expected


@SETTINGS
@given(net=networks(max_inputs=6), data_seed=st.integers(0, 2**16))
def test_gfp_and_float_agree_on_small_integers(net, data_seed):
    """Small integer weights in both fields: the float value is an exact integer, its residue the GF(p) value."""
    rng = np.random.default_rng(data_seed)
    small = {"conv": [rng.integers(-1, 2, w.shape) for w in net.weights()["conv"]],
             "output": rng.integers(-1, 2, net.weights()["output"].shape)}
    net.set_weights({"conv": [w.astype(float) for w in small["conv"]], "output": small["output"].astype(float)})
    net.set_weights(small, p=P)
    X = rng.integers(-1, 2, (4, net.n_inputs, net.input_dim))
    as_float = net.evaluate(X)
    assume(np.all(np.abs(as_float) < 2**52))  # float64 holds the integer value exactly
    assert (np.round(as_float).astype(np.int64) % P).tolist() == net.evaluate(X, p=P).tolist()


# -- the non-overlapping special cases ------------------------------------------------------------

@SETTINGS
@given(window=st.sampled_from([2, 3]), depth=st.integers(1, 2), M=st.integers(1, 3),
       seed=st.integers(0, 2**16), data=st.data())
def test_kernel_equal_stride_is_the_deep_convac(window, depth, M, seed, data):
    """With k = s the GC layers tile: same function as DeepConvAC with w^{l,j,t} = a^{l, jk+t}."""
    n = window**depth
    widths = data.draw(st.lists(st.integers(1, 3), min_size=depth, max_size=depth))
    deep = DeepConvAC(n, M, widths, window=window, seed=seed)
    net = OverlappingConvAC(n, M, widths, kernel=window, stride=window, seed=seed + 1)
    assert net.multilinear and not net.overlapping and net.input_degrees == (1,) * n
    dw = deep.weights()
    conv = [c.reshape(c.shape[0] // window, window, *c.shape[1:]) for c in dw["conv"]]
    net.set_weights({"conv": conv, "output": dw["output"]})
    X = np.random.default_rng(seed).standard_normal((5, n, M))
    np.testing.assert_allclose(net.evaluate(X), deep.evaluate(X), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(net.coefficient_tensor(), deep.coefficient_tensor(), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(net=networks(max_inputs=6))
def test_coefficient_tensor_is_the_grid_tensor_on_basis_templates(net):
    if not net.multilinear:
        with pytest.raises(ValueError, match="multilinear"):
            net.coefficient_tensor()
        return
    G = tl.grid_tensor(net, np.eye(net.input_dim), net.n_inputs)
    np.testing.assert_allclose(net.coefficient_tensor(), G, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("n,M,r0", [(4, 2, 1), (4, 2, 2), (8, 2, 2), (8, 2, 3), (4, 3, 2)])
def test_non_overlapping_odd_even_rank_is_colt_theorem_1(n, M, r0):
    """COLT 2016 Thm 1: odd/even rank of the generic HT tensor is min(r_0, M)^{N/2} (window 2)."""
    net = OverlappingConvAC(n, M, [r0] + [2] * (int(math.log2(n)) - 1), kernel=2, stride=2, seed=7)
    G = tl.grid_tensor(net, np.eye(M, dtype=np.int64), n, p=P)
    assert tl.exact_rank(tl.matricize(G, tl.odd_even(n)[0]), P) == min(r0, M) ** (n // 2)


@SETTINGS
@given(n=st.integers(2, 5), M=st.integers(1, 3), Z=st.integers(1, 6), I=st.data())
def test_single_global_window_is_a_cp_model(n, M, Z, I):
    """One layer with kernel N is sum_g a_g prod_t <w^{t,g}, x_t>: generic rank min(Z, M^min(|I|,|J|))."""
    part = I.draw(partitions(n))
    net = OverlappingConvAC(n, M, [Z], kernel=[n], stride=[1], seed=n * 100 + Z)
    G = tl.grid_tensor(net, np.eye(M, dtype=np.int64), n, p=P)
    assert tl.exact_rank(tl.matricize(G, part[0]), P) == min(Z, M ** min(len(part[0]), len(part[1])))


# -- degrees, receptive fields, bounds -------------------------------------------------------------

@SETTINGS
@given(net=networks(), data_seed=st.integers(0, 2**16))
def test_input_degrees_are_the_homogeneity_degrees(net, data_seed):
    """f(..., c x_i, ...) = c^{d_i} f(x) exactly in GF(p): an independent check of input_degrees."""
    rng = np.random.default_rng(data_seed)
    X = rng.integers(0, P, (1, net.n_inputs, net.input_dim))
    c = int(rng.integers(2, P))
    base = int(net.evaluate(X, p=P)[0])
    for i, d in enumerate(net.input_degrees):
        scaled = X.copy()
        scaled[0, i] = (scaled[0, i] * c) % P
        assert int(net.evaluate(scaled, p=P)[0]) == base * pow(c, d, P) % P


@SETTINGS
@given(arch=architectures(max_inputs=30))
def test_degrees_and_receptive_fields_closed_forms(arch):
    """Paths: sum_i d_i = prod_l k_l; the output's total receptive field is N, its total stride prod_l s_l."""
    n, kernels, strides = arch
    assert sum(input_degrees(n, kernels, strides)) == math.prod(kernels)
    R, S = receptive_fields(kernels, strides)[-1]
    assert (R, S) == (n, math.prod(strides))
    positions = layer_positions(n, kernels, strides)
    assert positions[0] == n and positions[-1] == 1


def test_documented_example():
    net = OverlappingConvAC(6, 2, widths=[3, 3], kernel=[3, 4], stride=[1, 1])
    assert net.positions == (6, 4, 1)
    assert net.input_degrees == (1, 2, 3, 3, 2, 1)
    assert net.receptive_fields == ((3, 1), (6, 1))
    assert net.overlapping and not net.multilinear


@SETTINGS
@given(net=networks(max_inputs=6), data=st.data())
def test_brute_force_grid_rank_between_driver_and_bound(net, data):
    """Exact rank of the full grid tensor on K > M integer templates <= sep <= the degree bound.

    The driver's sampled rank is also <= the bound, and >= the brute-force rank whenever it is
    saturated or stopped at the bound (both are then sep with high probability / certified).
    """
    part = data.draw(partitions(net.n_inputs))
    K = net.input_dim + 1
    templates = np.random.default_rng(net.seed).integers(0, P, (K, net.input_dim))
    G = tl.grid_tensor(net, templates, net.n_inputs, p=P)
    grid_rank = tl.exact_rank(tl.matricize(G, part[0]), P)
    bound = overlap_rank_upper_bound(net.input_degrees, net.input_dim, part)
    assert grid_rank <= bound == net.rank_upper_bound(part)
    result = tl.separation_rank(net, part, seed=1)
    assert result.rank <= bound
    assert result.rank >= grid_rank or not (result.saturated or result.rank == bound)


@pytest.mark.parametrize("M", [1, 2, 3, 4])
@pytest.mark.parametrize("r0", ["M", "M+1"])
def test_three_inputs_middle_rank(M, r0):
    """N = 3, kernels (2, 2), strides (1, 1): sep(f; {1}, {0, 2}) = M(M+1)/2 when r_0 >= M (our derivation).

    f = sum_g a_g <u^g, h_0><v^g, h_1>, with h_0 = (<p_c,x_0><q_c,x_1>)_c and h_1 = (<p'_c,x_1><q'_c,x_2>)_c,
    is the quadratic form x_1^T Q x_1 with Q = sum_g a_g A_g x_0 (B_g x_2)^T, where A_g = sum_c u^g_c q_c p_c^T
    and B_g = sum_c v^g_c p'_c q'_c^T. The degree bound gives sep <= dim Sym^2(R^M) = M(M+1)/2; for generic
    weights and r_0 >= M, A_1 and B_1 are invertible, so (with r_1 = 1) x_0 (x_2)^T ranges over all
    matrices and Q over all of A_1 R^{MxM} B_1^T = R^{MxM}: every symmetric part occurs, so equality.
    K = M(M+1)/2 + 1 generic templates see it (their squares x x^T span Sym^2).
    """
    r = M if r0 == "M" else M + 1
    net = OverlappingConvAC(3, M, [r, 1], kernel=[2, 2], stride=[1, 1], seed=11)
    assert net.input_degrees == (1, 2, 1)
    expected = M * (M + 1) // 2
    assert overlap_rank_upper_bound(net.input_degrees, M, ((1,), (0, 2))) == expected
    templates = np.random.default_rng(M).integers(0, P, (expected + 1, M))
    G = tl.grid_tensor(net, templates, 3, p=P)
    assert tl.exact_rank(tl.matricize(G, [1]), P) == expected


def test_overlap_exceeds_the_multilinear_cap_under_odd_even():
    """Overlaps make f non-multilinear: its rank can pass M^{N/2}, which caps every non-overlapping ConvAC."""
    net = OverlappingConvAC(8, 2, [4, 4], kernel=[4, 3], stride=[2, 1], seed=0)
    part = tl.odd_even(8)
    result = tl.separation_rank(net, part)
    assert result.rank > 2 ** 4
    assert result.rank <= overlap_rank_upper_bound(net.input_degrees, 2, part)


# -- parameters, weights, bad input ----------------------------------------------------------------

@SETTINGS
@given(net=networks())
def test_parameter_count_and_weight_shapes(net):
    w = net.weights()
    assert net.n_parameters == sum(c.size for c in w["conv"]) + w["output"].size
    for l, c in enumerate(w["conv"]):
        lead = (net.kernels[l],) if net.shared else (net.positions[l + 1], net.kernels[l])
        fan_in = net.input_dim if l == 0 else net.widths[l - 1]
        assert c.shape == (*lead, fan_in, net.widths[l])
    gf = net.weights(P)
    assert all(c.dtype == np.int64 and c.min() >= 0 and c.max() < P for c in gf["conv"])


def test_all_int_arguments_stack_identical_layers():
    net = OverlappingConvAC(5, 2, 2, kernel=2, stride=1)
    assert net.kernels == (2,) * 4 and net.positions == (5, 4, 3, 2, 1)
    assert net.input_degrees == (1, 4, 6, 4, 1)  # binomial path counts


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(n_inputs=8, input_dim=2, widths=2, kernel=2, stride=3), ValueError, "stride"),
    (dict(n_inputs=8, input_dim=2, widths=[2, 2], kernel=[3, 3], stride=[1, 1]), ValueError, "positions"),
    (dict(n_inputs=8, input_dim=2, widths=[2, 2], kernel=[3, 3], stride=[2, 2]), ValueError, "divid"),
    (dict(n_inputs=8, input_dim=2, widths=[2, 2], kernel=[2, 2, 2], stride=2), ValueError, "same length"),
    (dict(n_inputs=4, input_dim=2, widths=[2, 2], kernel=[5, 1], stride=1), ValueError, "kernel"),
    (dict(n_inputs=1, input_dim=2, widths=2, kernel=1, stride=1), ValueError, "n_inputs"),
    (dict(n_inputs=4, input_dim=0, widths=2, kernel=2, stride=2), ValueError, "input_dim"),
    (dict(n_inputs=4, input_dim=2, widths=[0, 2], kernel=2, stride=2), ValueError, "widths"),
    (dict(n_inputs=4, input_dim=2, widths="2", kernel=2, stride=2), TypeError, "widths"),
    (dict(n_inputs=4, input_dim=2, widths=2, kernel=2.0, stride=2), TypeError, "kernel"),
    (dict(n_inputs=4, input_dim=2, widths=2, kernel=True, stride=2), TypeError, "kernel"),
    (dict(n_inputs=4, input_dim=2, widths=2, kernel=2, stride=2, shared=1), TypeError, "shared"),
    (dict(n_inputs=4, input_dim=2, widths=2, kernel=2, stride=2, seed=-1), ValueError, "seed"),
])
def test_bad_arguments(kwargs, error, match):
    n, M, widths = kwargs.pop("n_inputs"), kwargs.pop("input_dim"), kwargs.pop("widths")
    with pytest.raises(error, match=match):
        OverlappingConvAC(n, M, widths, **kwargs)


def test_bad_evaluation_inputs():
    net = OverlappingConvAC(4, 2, 2, kernel=2, stride=1)
    with pytest.raises(ValueError, match="shape"):
        net.evaluate(np.zeros((3, 5, 2)))
    with pytest.raises(TypeError, match="integer"):
        net.evaluate(np.zeros((3, 4, 2)), p=P)
    with pytest.raises(ValueError, match="prime"):
        net.evaluate(np.zeros((3, 4, 2), dtype=np.int64), p=12)
    with pytest.raises(ValueError, match="shape"):
        net.set_weights({"conv": [np.zeros((2, 2, 2))] * 3, "output": np.zeros(2)})


def test_bound_rejects_bad_partitions_and_degrees():
    with pytest.raises(ValueError):
        overlap_rank_upper_bound([1, 2, 1], 2, ((0, 1), (1, 2)))
    with pytest.raises(ValueError, match="degrees"):
        overlap_rank_upper_bound([1, 0, 1], 2, ((0,), (1, 2)))
    with pytest.raises(TypeError, match="input_dim"):
        overlap_rank_upper_bound([1, 1], 2.5, ((0,), (1,)))
