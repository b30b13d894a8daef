"""Tests of tensorlib.bounds.convac: depth efficiency (COLT 2016) and pooling geometry (ICLR 2017).

The closed forms are checked against exact GF(p) ranks of the networks' coefficient tensors (the grid
tensor on the basis templates, matricized: ``conftest.basis_grid_rank``), never against the sampled
path alone. The functions read only a ConvAC's architecture, so they are also checked on a plain
:class:`ConvACArchitecture`.
"""

import math

import numpy as np
import pytest
from conftest import basis_grid_rank, deep_convacs, partitions
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlib as tl
from tensorlib import bounds, odd_even, separation_rank
from tensorlib.bounds import ConvACArchitecture, convac_architecture
from tensorlib.networks import DeepConvAC, ShallowConvAC, SumOfProducts

SETTINGS = settings(max_examples=20)


# -- the architecture the bounds read ----------------------------------------------------------------

def test_convac_architecture_reads_networks_and_passes_descriptions_through():
    deep = DeepConvAC(8, 3, [2, 4, 5], order=[1, 0, 2, 3, 4, 5, 7, 6], seed=4)
    arch = convac_architecture(deep)
    assert arch == ConvACArchitecture(8, 3, (2, 2, 2), (2, 4, 5), (1, 0, 2, 3, 4, 5, 7, 6))
    assert convac_architecture(arch) is arch
    assert convac_architecture(ShallowConvAC(5, 2, 7)) == ConvACArchitecture(5, 2, (5,), (7,), (0, 1, 2, 3, 4))
    with pytest.raises(TypeError, match=r"model must be a ConvAC \(tensorlib.networks.DeepConvAC or ShallowConvAC\) "
                                        r"or a tensorlib.bounds.ConvACArchitecture, got SumOfProducts"):
        convac_architecture(SumOfProducts(4, 2, 2))
    with pytest.raises(TypeError, match="got tuple"):
        convac_architecture((8, 3, (2, 2, 2), (2, 4, 5), tuple(range(8))))


@settings(max_examples=15)
@given(model=deep_convacs())
def test_bounds_of_a_network_are_the_bounds_of_its_architecture(model):
    partition = tl.balanced(model.n_inputs, 0)
    arch = ConvACArchitecture(model.n_inputs, model.input_dim, model.windows, model.widths, model.order)
    for bound in (bounds.pooling_geometry_lower_bound, bounds.pooling_geometry_upper_bound, bounds.mincut):
        assert bound(model, partition) == bound(arch, partition)


# -- depth efficiency: COLT 2016, Theorem 1 --------------------------------------------------------------

@SETTINGS
@given(depth=st.integers(1, 3), M=st.integers(1, 3), r0=st.integers(1, 4),
       later=st.lists(st.integers(1, 3), min_size=2, max_size=2), shared=st.booleans(), seed=st.integers(0, 99))
def test_depth_efficiency_rank_is_the_exact_odd_even_rank_of_a_generic_deep_convac(depth, M, r0, later, shared, seed):
    # Theorem 1: min(r_0, M)^(N/2) almost everywhere, with or without weight sharing.
    n = 2**depth
    model = DeepConvAC(n, M, [r0] + later[:depth - 1], shared=shared, seed=seed)
    assert basis_grid_rank(model, odd_even(n)) == bounds.depth_efficiency_rank(n, M, r0) == min(r0, M) ** (n // 2)


def test_depth_efficiency_rank_examples_and_bad_arguments():
    assert bounds.depth_efficiency_rank(16, 3, 5) == 3**8
    assert bounds.depth_efficiency_rank(np.int64(4), 2, 1) == 1
    with pytest.raises(ValueError, match=r"n_inputs must be a power of 2"):
        bounds.depth_efficiency_rank(12, 2, 2)
    with pytest.raises(ValueError, match=r"n_inputs must be at least 2"):
        bounds.depth_efficiency_rank(1, 2, 2)
    with pytest.raises(ValueError, match=r"width must be at least 1"):
        bounds.depth_efficiency_rank(8, 2, 0)


# -- intermediate depths: COLT 2016, Theorem 3 and Corollary 4 -----------------------------------------

def test_intermediate_depth_width_closed_forms():
    # L_2 = 1 is the shallow network: Theorem 1's r^(N/2).
    assert bounds.intermediate_depth_width(16, 3, [2, 3, 3, 3], 1) == bounds.depth_efficiency_rank(16, 3, 2)
    assert bounds.intermediate_depth_width(16, 3, [3, 2, 3, 3], 2) == 2**4
    assert bounds.intermediate_depth_width(16, 3, [3, 3, 3, 3], 4) == 3
    assert bounds.intermediate_depth_width(16, 2, [5, 5, 5, 5], 3) == 2**2  # r = min(widths, M) = 2


def test_intermediate_depth_illustration():
    # Theorem 3's mechanism on N = 8: blocks of 2^(L_2 - 1) inputs alternate between I and J. The deep
    # network reaches r^(2^(L - L_2)) there; a depth-L_2 network is at most its last width.
    n, M, r, L2 = 8, 2, 2, 2
    b = 2 ** (L2 - 1)
    I = tuple(i for i in range(n) if (i // b) % 2 == 0)
    partition = (I, tuple(i for i in range(n) if i not in I))
    needed = bounds.intermediate_depth_width(n, M, [r] * 3, L2)
    assert math.log2(needed) == 2 ** (3 - L2)
    assert basis_grid_rank(DeepConvAC(n, M, r), partition) >= needed
    for last in range(1, needed + 1):
        shallower = DeepConvAC(n, M, [r, last], window=(2, 4))
        assert separation_rank(shallower, partition).rank <= last


def test_intermediate_depth_width_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"widths must have L = log2\(n_inputs\) = 3 entries"):
        bounds.intermediate_depth_width(8, 2, [2, 2], 1)
    with pytest.raises(ValueError, match=r"depth must be at most L = log2\(n_inputs\) = 3"):
        bounds.intermediate_depth_width(8, 2, [2, 2, 2], 4)
    with pytest.raises(ValueError, match=r"depth must be at least 1"):
        bounds.intermediate_depth_width(8, 2, [2, 2, 2], 0)
    with pytest.raises(ValueError, match=r"widths\[2\] must be at least 1"):
        bounds.intermediate_depth_width(8, 2, [2, 2, 0], 1)


# -- pooling geometry: ICLR 2017, Theorem 1 ---------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_pooling_geometry_bounds_bracket_exact_rank(data):
    model = data.draw(deep_convacs(shapes=((16, 4), (8, 2), (16, (4, 2, 2)), (9, 3)), max_width=4, max_dim=3))
    partition = data.draw(partitions(model.n_inputs))
    rank = basis_grid_rank(model, partition)
    assert bounds.pooling_geometry_lower_bound(model, partition) <= rank
    assert rank <= bounds.pooling_geometry_upper_bound(model, partition)


@SETTINGS
@given(data=st.data())
def test_pooling_geometry_bounds_bracket_exact_rank_of_shared_networks(data):
    model = data.draw(deep_convacs(shapes=((8, 2), (4, 4), (9, 3)), max_width=3, max_dim=2, shared=True))
    partition = data.draw(partitions(model.n_inputs))
    assert basis_grid_rank(model, partition) <= bounds.pooling_geometry_upper_bound(model, partition)


def test_pooling_geometry_lower_bound_counts_split_first_layer_windows():
    model = DeepConvAC(16, 3, [2, 4], window=4, seed=0)
    # Windows {0..3}, {4..7}, {8..11}, {12..15}; this partition splits the first and the third.
    partition = ((0, 4, 5, 6, 7, 8), (1, 2, 3, 9, 10, 11, 12, 13, 14, 15))
    assert bounds.pooling_geometry_lower_bound(model, partition) == min(2, 3) ** 2
    assert bounds.pooling_geometry_lower_bound(model, tl.left_right(16)) == 1  # no window is split
    # With window 2 and the odd/even partition it is COLT 2016's min(r_0, M)^(N/2).
    expected = bounds.depth_efficiency_rank(8, 3, 2)
    assert bounds.pooling_geometry_lower_bound(DeepConvAC(8, 3, 2), odd_even(8)) == expected


def test_pooling_geometry_reads_the_input_order():
    # The same tree reading the inputs interleaved: odd/even no longer splits any window.
    interleaved = DeepConvAC(8, 2, 2, order=[0, 2, 4, 6, 1, 3, 5, 7])
    assert bounds.pooling_geometry_lower_bound(interleaved, odd_even(8)) == 1
    assert bounds.pooling_geometry_upper_bound(interleaved, odd_even(8)) == 2
    assert basis_grid_rank(interleaved, odd_even(8)) <= 2


def test_shallow_network_pooling_bounds_are_its_cp_bounds():
    model = ShallowConvAC(6, 2, 5)
    partition = ((0, 1, 2), (3, 4, 5))
    assert bounds.pooling_geometry_upper_bound(model, partition) == bounds.mincut(model, partition) == 5
    assert bounds.pooling_geometry_lower_bound(model, partition) == min(5, 2)
    assert basis_grid_rank(model, partition) == 5


def test_pooling_geometry_rejects_bad_arguments():
    with pytest.raises(TypeError, match="model must be a ConvAC"):
        bounds.pooling_geometry_upper_bound(SumOfProducts(4, 2, 2), tl.left_right(4))
    with pytest.raises(ValueError, match="partition must cover all 8 positions"):
        bounds.pooling_geometry_lower_bound(DeepConvAC(8, 2, 2), ((0, 1), (2, 3)))
