"""Tests of tensorlib.bounds.mincut: the tensor-network min-cut of Levine, Yakira, Cohen & Shashua (ICLR 2018).

The min-cut is checked against two independent exact computations (a dynamic program over the
pooling tree and a brute force over vertex bipartitions), against the closed forms, and against exact
GF(p) ranks of the networks' coefficient tensors (the grid tensor on the basis templates).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import basis_grid_rank as exact_rank
from conftest import deep_convacs, partitions
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlib as tlb
from tensorlib import bounds
from tensorlib.networks import DeepConvAC, ShallowConvAC

FAST = settings(max_examples=25)


# -- independent references ---------------------------------------------------------------------

def _tree(model):
    """(N, M, windows, widths, order) of a ConvAC; a shallow one is a single window of size N."""
    if isinstance(model, ShallowConvAC):
        n = model.n_inputs
        return n, model.input_dim, (n,), (model.channels,), tuple(range(n))
    return model.n_inputs, model.input_dim, tuple(model.windows), tuple(model.widths), tuple(model.order)


def tree_dp_mincut(model, partition):
    """Exact integer DP: cost[k][s] = cheapest cut below tree node k when that node is on side s."""
    n, M, windows, widths, order = _tree(model)
    in_I = set(partition[0])
    cost = [(1, M) if i in in_I else (M, 1) for i in order]  # convolution nodes of layer 0
    for l, w in enumerate(windows):
        groups = [cost[k:k + w] for k in range(0, len(cost), w)]
        split = [widths[l] * math.prod(min(c) for c in g) for g in groups]
        whole = [(math.prod(c[0] for c in g), math.prod(c[1] for c in g)) for g in groups]
        if l + 1 < len(windows):  # the pooling node also touches the convolution above it
            cost = [(min(a, s), min(b, s)) for (a, b), s in zip(whole, split)]
        else:
            return min(min(whole[0]), split[0])


def _hypergraph(model):
    """Vertices (convolution nodes), input edges and pooling hyperedges of the tensor network."""
    n, M, windows, widths, order = _tree(model)
    vertices = []
    for l in range(len(windows)):
        vertices += [(l, k) for k in range(n // math.prod(windows[:l]))]
    index = {v: t for t, v in enumerate(vertices)}
    inputs = [(order[k], index[(0, k)]) for k in range(n)]
    pools, count = [], n
    for l, w in enumerate(windows):
        for k in range(count // w):
            members = [index[(l, j)] for j in range(k * w, (k + 1) * w)]
            if l + 1 < len(windows):
                members.append(index[(l + 1, k)])
            pools.append((widths[l], members))
        count //= w
    return len(vertices), M, inputs, pools


def brute_force_mincut(model, partition):
    """Minimum over all 2^V side assignments of the convolution nodes; a split pooling node costs r_l once."""
    V, M, inputs, pools = _hypergraph(model)
    side = (np.arange(2**V)[:, None] >> np.arange(V)[None, :]) & 1  # 1 = side J
    in_J = set(partition[1])
    cost = np.ones(2**V, dtype=np.int64)
    for i, v in inputs:
        cost *= np.where(side[:, v] != (i in in_J), M, 1)
    for r, members in pools:
        s = side[:, members]
        cost *= np.where(s.min(axis=1) != s.max(axis=1), r, 1)
    return int(cost.min())


def brute_force_leg_weight(model, partition):
    """min_C W_C with every cut leg counted (delta tensors as vertices): the weight of Claim 1."""
    V, M, inputs, pools = _hypergraph(model)
    D = len(pools)
    side = (np.arange(2 ** (V + D))[:, None] >> np.arange(V + D)[None, :]) & 1
    in_J = set(partition[1])
    cost = np.ones(len(side), dtype=np.int64)
    for i, v in inputs:
        cost *= np.where(side[:, v] != (i in in_J), M, 1)
    for d, (r, members) in enumerate(pools):
        for v in members:
            cost *= np.where(side[:, v] != side[:, V + d], r, 1)
    return int(cost.min())


# -- the min-cut against independent computations ------------------------------------------------

@FAST
@given(data=st.data())
def test_mincut_equals_tree_dynamic_program(data):
    model = data.draw(deep_convacs())
    partition = data.draw(partitions(model.n_inputs))
    assert bounds.mincut(model, partition) == tree_dp_mincut(model, partition)


@FAST
@given(data=st.data())
def test_mincut_equals_brute_force_over_bipartitions(data):
    model = data.draw(deep_convacs(shapes=((4, 2), (8, 2), (8, (2, 4)), (8, (4, 2)), (4, 4))))
    partition = data.draw(partitions(model.n_inputs))
    assert bounds.mincut(model, partition) == brute_force_mincut(model, partition)


@settings(max_examples=15)
@given(data=st.data())
def test_size_two_pooling_counts_legs_like_claim_one(data):
    """With 3-legged delta tensors, counting each cut leg (W) gives the same minimum as counting nodes once."""
    model = data.draw(deep_convacs(shapes=((4, 2),)))
    partition = data.draw(partitions(4))
    assert bounds.mincut(model, partition) == brute_force_leg_weight(model, partition)


def test_cut_returned_has_the_min_cut_weight():
    model = DeepConvAC(16, 2, [13, 2, 5, 7])
    value, cut = bounds.mincut(model, tlb.left_right(16), return_cut=True)
    product = math.prod(model.input_dim if e[0] == "input" else model.widths[e[1]] for e in cut)
    assert product == value == bounds.left_right_mincut(16, 2, [13, 2, 5, 7])


# -- closed forms ----------------------------------------------------------------------------------

@FAST
@given(L=st.integers(1, 5), M=st.integers(1, 5), data=st.data())
def test_left_right_closed_form_equals_mincut(L, M, data):
    widths = data.draw(st.lists(st.integers(1, 13), min_size=L, max_size=L))
    model = DeepConvAC(2**L, M, widths)
    assert bounds.left_right_mincut(2**L, M, widths) == bounds.mincut(model, tlb.left_right(2**L))


@FAST
@given(L=st.integers(1, 5), M=st.integers(1, 5), data=st.data())
def test_interleaved_closed_form_equals_mincut(L, M, data):
    widths = data.draw(st.lists(st.integers(1, 13), min_size=L, max_size=L))
    model = DeepConvAC(2**L, M, widths)
    assert bounds.interleaved_mincut(2**L, M, widths) == bounds.mincut(model, tlb.odd_even(2**L))


@FAST
@given(n=st.integers(2, 9), M=st.integers(1, 4), Z=st.integers(1, 40), data=st.data())
def test_shallow_mincut_is_min_of_channels_and_smaller_side(n, M, Z, data):
    partition = data.draw(partitions(n))
    expected = min(Z, M ** min(len(partition[0]), len(partition[1])))
    assert bounds.mincut(ShallowConvAC(n, M, Z), partition) == expected


# -- bounds against exact ranks --------------------------------------------------------------------

@settings(max_examples=20)
@given(data=st.data())
def test_rank_never_exceeds_mincut(data):
    model = data.draw(deep_convacs(shapes=((8, 2), (16, 4), (8, (2, 4))), max_width=5, max_dim=3))
    partition = data.draw(partitions(model.n_inputs))
    assert exact_rank(model, partition) <= bounds.mincut(model, partition)


@settings(max_examples=20)
@given(data=st.data(), base=st.sampled_from([2, 3]))
def test_rank_equals_mincut_when_bonds_are_powers_of_one_integer(data, base):
    """Theorem 2 of Levine et al. (2018): then max_p min_C W^p_C = min_C W_C, so the rank attains it."""
    n = 8 if base == 2 else 4
    widths = data.draw(st.lists(st.sampled_from([1, base, base**2, base**3]), min_size=int(math.log2(n)),
                                max_size=int(math.log2(n))))
    model = DeepConvAC(n, base, widths, order=data.draw(st.permutations(range(n))), seed=data.draw(st.integers(0, 99)))
    partition = data.draw(partitions(n))
    assert bounds.mincut_lower_bound(model, partition) == bounds.mincut(model, partition)
    assert exact_rank(model, partition) == bounds.mincut(model, partition)


@settings(max_examples=20)
@given(data=st.data())
def test_theorem_two_lower_bound_never_exceeds_rank(data):
    model = data.draw(deep_convacs(shapes=((8, 2),), max_width=13, max_dim=3))
    partition = data.draw(partitions(8))
    assert bounds.mincut_lower_bound(model, partition) <= exact_rank(model, partition)


def test_appendix_d_primes_bracket_the_rank():
    """Prime widths (App. D of Levine et al. 2018): lower bound <= rank <= min-cut on a few partitions."""
    model = DeepConvAC(16, 2, [13, 2, 5, 7], seed=3)
    for seed in range(3):
        partition = tlb.balanced(16, seed=seed)
        rank = tlb.separation_rank(model, partition).rank
        assert bounds.mincut_lower_bound(model, partition) <= rank <= bounds.mincut(model, partition)


@FAST
@given(data=st.data())
def test_mincut_never_exceeds_pooling_geometry_upper_bound(data):
    model = data.draw(deep_convacs())
    partition = data.draw(partitions(model.n_inputs))
    assert bounds.mincut(model, partition) <= bounds.pooling_geometry_upper_bound(model, partition)


def test_window_four_pooling_node_counts_once():
    """Window 4: a pooling node split 2|2 caps the rank at r_0 (counted once), below the leg-counting M^2 * ..."""
    model = ShallowConvAC(4, 2, 3)
    partition = ((0, 1), (2, 3))
    assert brute_force_leg_weight(model, partition) == 4  # min(M^2, r^2): legs counted one by one
    assert bounds.mincut(model, partition) == exact_rank(model, partition) == min(3, 2**2)


# -- bad inputs ----------------------------------------------------------------------------------

def test_mincut_rejects_other_models():
    with pytest.raises(TypeError, match=r"model must be a ConvAC \(tensorlib.networks.DeepConvAC or ShallowConvAC\) "
                                        r"or a tensorlib.bounds.ConvACArchitecture, got SumOfProducts"):
        bounds.mincut(tlb.networks.SumOfProducts(4, 2, 3), tlb.left_right(4))


def test_mincut_rejects_bad_partition():
    with pytest.raises(ValueError, match="must cover all 8 positions"):
        bounds.mincut(DeepConvAC(8, 2, 2), ((0, 1), (2, 3)))


def test_mincut_rejects_non_bool_return_cut():
    with pytest.raises(TypeError, match="return_cut must be a bool"):
        bounds.mincut(DeepConvAC(4, 2, 2), tlb.left_right(4), return_cut=1)


def test_mincut_lower_bound_needs_size_two_pooling():
    with pytest.raises(ValueError, match=r"needs pooling windows of size 2 \(Theorem 2 of Levine et al. 2018\), "
                                         r"got windows \(4, 4\)"):
        bounds.mincut_lower_bound(DeepConvAC(16, 2, 2, window=4), tlb.left_right(16))
    with pytest.raises(ValueError, match=r"got windows \(4,\)"):  # a shallow ConvAC is one window of size N
        bounds.mincut_lower_bound(ShallowConvAC(4, 2, 2), tlb.left_right(4))


def test_closed_forms_reject_bad_sizes():
    with pytest.raises(ValueError, match="n_inputs must be a power of 2"):
        bounds.left_right_mincut(12, 2, [2, 2])
    with pytest.raises(ValueError, match="widths must have L = log2"):
        bounds.interleaved_mincut(16, 2, [2, 2])
    with pytest.raises(TypeError, match="widths must be a sequence"):
        bounds.left_right_mincut(16, 2, 4)
    with pytest.raises(ValueError, match="widths\\[1\\] must be at least 1"):
        bounds.left_right_mincut(4, 2, [2, 0])
