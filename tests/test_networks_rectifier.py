"""Rectifier networks (tensorlib.networks.rectifier) against independent computations.

Evaluation is checked against naive loops; the generalized tensor decompositions (``grid_tensor``
methods, built tensor by tensor) against the network evaluated on every grid point
(``tensorlib.grid_tensor``); ranks against closed forms: the sum-pooling bound 2 and the
determinant of the max matrix, :math:`\\det[\\max(i,j)]_{i,j\\le K} = (-1)^{K+1}K`.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlib as tl
from tensorlib import DEFAULT_PRIME
from tensorlib.bounds.convac import shallow_sum_pooling_rank_bound
from tensorlib.networks.rectifier import POOLINGS, DeepRectifierNet, ShallowRectifierNet

from conftest import partitions

P = DEFAULT_PRIME
SETTINGS = settings(max_examples=20)


def _pool(values, pooling):
    relu = [max(v, 0.0) for v in values]
    if pooling == "max":
        return max(relu)
    return sum(relu) if pooling == "sum" else sum(relu) / len(relu)


def naive_shallow(net, x):
    w = net.weights()
    conv = lambda i: w["conv"] if net.shared else w["conv"][i]  # noqa: E731
    pooled = [_pool([sum(conv(i)[m, z] * x[i, m] for m in range(net.input_dim)) for i in range(net.n_inputs)],
                    net.pooling) for z in range(net.channels)]
    return sum(w["output"][z] * pooled[z] for z in range(net.channels))


def naive_deep(net, x):
    w = net.weights()
    h = [list(row) for row in x]
    for l, win in enumerate(net.windows):
        conv = w["conv"][l]
        convolved = []
        for j, node in enumerate(h):
            W = conv if net.shared else conv[j]
            convolved.append([sum(W[a, g] * node[a] for a in range(len(node))) for g in range(W.shape[1])])
        h = [[_pool([convolved[s + t][g] for t in range(win)], net.pooling) for g in range(len(convolved[0]))]
             for s in range(0, len(convolved), win)]
    return sum(w["output"][g] * h[0][g] for g in range(len(h[0])))


@st.composite
def shallow_nets(draw):
    return ShallowRectifierNet(draw(st.integers(2, 5)), draw(st.integers(1, 3)), draw(st.integers(1, 4)),
                               pooling=draw(st.sampled_from(POOLINGS)), shared=draw(st.booleans()),
                               seed=draw(st.integers(0, 2**16)))


@st.composite
def deep_nets(draw):
    window = draw(st.sampled_from([2, 2, 3]))
    depth = draw(st.integers(1, 3 if window == 2 else 2))
    widths = draw(st.lists(st.integers(1, 3), min_size=depth, max_size=depth))
    return DeepRectifierNet(window**depth, draw(st.integers(1, 3)), widths, window=window,
                            pooling=draw(st.sampled_from(POOLINGS)), shared=draw(st.booleans()),
                            seed=draw(st.integers(0, 2**16)))


# -- evaluation -----------------------------------------------------------------------------------

@SETTINGS
@given(net=shallow_nets(), data_seed=st.integers(0, 2**16))
def test_shallow_matches_naive_loops(net, data_seed):
    X = np.random.default_rng(data_seed).standard_normal((4, net.n_inputs, net.input_dim))
    np.testing.assert_allclose(net.evaluate(X), [naive_shallow(net, x) for x in X], rtol=1e-10, atol=1e-12)


@SETTINGS
@given(net=deep_nets(), data_seed=st.integers(0, 2**16))
def test_deep_matches_naive_loops(net, data_seed):
    X = np.random.default_rng(data_seed).standard_normal((4, net.n_inputs, net.input_dim))
    np.testing.assert_allclose(net.evaluate(X), [naive_deep(net, x) for x in X], rtol=1e-10, atol=1e-12)


@SETTINGS
@given(n=st.integers(2, 5), M=st.integers(1, 3), Z=st.integers(1, 4), pooling=st.sampled_from(POOLINGS),
       seed=st.integers(0, 2**16))
def test_one_global_window_is_the_shallow_network(n, M, Z, pooling, seed):
    """DeepRectifierNet with window N (one layer) and the shallow network compute the same function."""
    shallow = ShallowRectifierNet(n, M, Z, pooling=pooling, seed=seed)
    deep = DeepRectifierNet(n, M, [Z], window=n, pooling=pooling, seed=seed + 1)
    deep.set_weights({"conv": [shallow.weights()["conv"]], "output": shallow.weights()["output"]})
    X = np.random.default_rng(seed).standard_normal((6, n, M))
    np.testing.assert_allclose(deep.evaluate(X), shallow.evaluate(X), rtol=1e-12, atol=1e-14)


@SETTINGS
@given(net=deep_nets(), data_seed=st.integers(0, 2**16))
def test_average_is_sum_scaled_by_window_sizes(net, data_seed):
    """ReLU is positively homogeneous and the convolutions linear, so average = sum / prod(windows)."""
    kwargs = dict(window=list(net.windows), shared=net.shared, seed=net.seed)
    summed = DeepRectifierNet(net.n_inputs, net.input_dim, list(net.widths), pooling="sum", **kwargs)
    averaged = DeepRectifierNet(net.n_inputs, net.input_dim, list(net.widths), pooling="average", **kwargs)
    X = np.random.default_rng(data_seed).standard_normal((4, net.n_inputs, net.input_dim))
    np.testing.assert_allclose(averaged.evaluate(X) * net.n_inputs, summed.evaluate(X), rtol=1e-10, atol=1e-12)


# -- the generalized tensor decompositions --------------------------------------------------------

@SETTINGS
@given(net=st.one_of(shallow_nets(), deep_nets()), K=st.integers(1, 4))
def test_generalized_decomposition_is_the_grid_tensor(net, K):
    templates = np.random.default_rng(net.seed).standard_normal((K, net.input_dim))
    expected = tl.grid_tensor(net, templates, net.n_inputs)  # the network evaluated on every grid point
    np.testing.assert_allclose(net.grid_tensor(templates), expected, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(net=shallow_nets(), data=st.data())
def test_shallow_sum_pooling_has_rank_at_most_two(net, data):
    """f = sum_i g_i(x_i) for sum/average pooling: every grid matrix has rank <= 2 (exactly, so also in float)."""
    part = data.draw(partitions(net.n_inputs))
    templates = np.random.default_rng(net.seed).standard_normal((3, net.input_dim))
    rank = net.grid_rank_estimate(templates, part)
    if net.pooling == "max":
        assert net.rank_upper_bound(part) is None
    else:
        assert rank <= 2 == net.rank_upper_bound(part) == shallow_sum_pooling_rank_bound(part, net.n_inputs)


@pytest.mark.parametrize("K", [2, 3, 5, 8])
def test_max_pooling_separation_rank_is_unbounded(K):
    """f(x_1, x_2) = max(0, x_1, x_2) (M = 1, Z = 1, unit weights, max pooling) on templates 1..K.

    The grid matrix is [max(i, j)], whose determinant is (-1)^{K+1} K != 0: rank K for every K, so the
    separation rank is infinite, while with sum pooling it is at most 2. Integer entries: the exact
    GF(p) rank is a certified lower bound on the real rank.
    """
    net = ShallowRectifierNet(2, 1, 1, pooling="max")
    net.set_weights({"conv": np.ones((2, 1, 1)), "output": np.ones(1)})
    templates = np.arange(1, K + 1, dtype=float)[:, None]
    G = net.grid_tensor(templates)
    np.testing.assert_array_equal(G, np.maximum.outer(np.arange(1, K + 1), np.arange(1, K + 1)))
    assert tl.exact_rank(np.rint(G).astype(np.int64), P) == K
    summed = ShallowRectifierNet(2, 1, 1, pooling="sum")
    summed.set_weights({"conv": np.ones((2, 1, 1)), "output": np.ones(1)})
    assert tl.exact_rank(np.rint(summed.grid_tensor(templates)).astype(np.int64), P) == min(K, 2)


def test_separation_rank_driver_in_float64():
    net = ShallowRectifierNet(4, 2, 3, pooling="sum", seed=3)
    result = tl.separation_rank(net, tl.odd_even(4), exact=False)
    assert result.rank <= 2 and not result.exact


# -- float64 only, and bad input ------------------------------------------------------------------

@pytest.mark.parametrize("net", [ShallowRectifierNet(4, 2, 3), DeepRectifierNet(4, 2, 2, pooling="sum")])
def test_prime_is_refused(net):
    X = np.ones((1, 4, 2), dtype=np.int64)
    with pytest.raises(ValueError, match="float64 only"):
        net.evaluate(X, p=P)
    with pytest.raises(ValueError, match="float64 only"):
        net(X, p=P)
    with pytest.raises(ValueError, match="float64 only"):
        net.weights(P)
    with pytest.raises(ValueError, match="float64 only"):
        net.set_weights(net.weights(), p=P)
    with pytest.raises(ValueError, match="float64 only"):
        tl.separation_rank(net, tl.odd_even(4))  # exact=True is the default
    with pytest.raises(ValueError, match="float64 only"):
        tl.grid_tensor(net, np.eye(2, dtype=np.int64), 4, p=P)


@pytest.mark.parametrize("make,error,match", [
    (lambda: ShallowRectifierNet(4, 2, 3, pooling="min"), ValueError, "pooling"),
    (lambda: ShallowRectifierNet(4, 2, 3, pooling=max), TypeError, "pooling"),
    (lambda: ShallowRectifierNet(1, 2, 3), ValueError, "n_inputs"),
    (lambda: ShallowRectifierNet(4, 2, 0), ValueError, "channels"),
    (lambda: ShallowRectifierNet(4, 2, 3, shared="yes"), TypeError, "shared"),
    (lambda: DeepRectifierNet(6, 2, 2), ValueError, "power of window"),
    (lambda: DeepRectifierNet(8, 2, [2, 2]), ValueError, "widths"),
    (lambda: DeepRectifierNet(8, 2, "2"), TypeError, "widths"),
    (lambda: DeepRectifierNet(8, 2, 2, window=1), ValueError, "window"),
    (lambda: DeepRectifierNet(8, 2, 2, window=[2, 3]), ValueError, "multiply"),
    (lambda: DeepRectifierNet(8, 2, 2, seed=-1), ValueError, "seed"),
])
def test_bad_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_bad_templates():
    net = DeepRectifierNet(4, 2, 2)
    with pytest.raises(ValueError, match="shape"):
        net.grid_tensor(np.ones((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        net.grid_tensor(np.full((3, 2), np.nan))
    with pytest.raises(TypeError, match="numeric"):
        net.grid_tensor(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="budget"):
        DeepRectifierNet(16, 2, 2).grid_tensor(np.ones((6, 2)))
    with pytest.raises(ValueError):
        net.grid_rank_estimate(np.ones((3, 2)), ((0, 1), (1, 2)))


def test_parameters_and_shapes():
    deep = DeepRectifierNet(8, 3, [4, 2, 5], pooling="average")
    w = deep.weights()
    assert [c.shape for c in w["conv"]] == [(8, 3, 4), (4, 4, 2), (2, 2, 5)] and w["output"].shape == (5,)
    assert deep.n_parameters == 8 * 3 * 4 + 4 * 4 * 2 + 2 * 2 * 5 + 5
    shallow = ShallowRectifierNet(5, 2, 3, shared=True)
    assert shallow.n_parameters == 2 * 3 + 3
    assert not deep.multilinear and deep.rank_upper_bound(tl.odd_even(8)) is None
