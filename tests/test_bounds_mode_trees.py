"""Tests of tensorlib.bounds.mode_trees: tilings and the bounds of Cohen, Tamari & Shashua (ICLR 2018), Theorem 7.

The tiling is checked against its definition (a cover of I by nodes of the mode tree, no two of them
siblings), and the bounds against exact GF(p) ranks of the networks' coefficient tensors.
"""

import itertools

import pytest
from conftest import basis_grid_rank, partitions
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlib as tlb
from tensorlib import bounds
from tensorlib.bounds import ConvACArchitecture
from tensorlib.networks import DeepConvAC

# -- mode trees (Cohen, Tamari & Shashua 2018, Theorem 7) ---------------------------------------

@settings(max_examples=20)
@given(data=st.data(), r=st.sampled_from([2, 3]))
def test_mode_tree_bounds_bracket_exact_rank(data, r):
    n = 8 if r == 2 else 4
    model = DeepConvAC(n, r, r, order=data.draw(st.permutations(range(n))), seed=data.draw(st.integers(0, 99)))
    partition = data.draw(partitions(n))
    rank = basis_grid_rank(model, partition)
    assert bounds.mode_tree_lower_bound(model, partition) <= rank <= bounds.mode_tree_upper_bound(model, partition)


@settings(max_examples=25)
@given(data=st.data())
def test_tiling_is_the_maximal_cover(data):
    n = 16
    order = data.draw(st.permutations(range(n)))
    model = DeepConvAC(n, 2, 2, order=order)
    I = data.draw(partitions(n))[0]
    tiles = bounds.tiling(model, I)
    assert sorted(itertools.chain.from_iterable(tiles)) == list(I)
    # Maximal: no two tiles are siblings (their union, a node of the tree, would lie in I).
    nodes = {tuple(sorted(order[k * 2**l:(k + 1) * 2**l])) for l in range(5) for k in range(n // 2**l)}
    for a, b in itertools.combinations(tiles, 2):
        assert tuple(sorted(a + b)) not in nodes


def test_tiling_of_interleaved_tree():
    model = DeepConvAC(8, 2, 2, order=[0, 2, 4, 6, 1, 3, 5, 7])
    assert bounds.tiling(model, [0, 2, 4, 6]) == [(0, 2, 4, 6)]
    assert bounds.tiling(model, [0, 1, 2, 3]) == [(0, 2), (1, 3)]


def test_tiling_of_the_contiguous_tree_and_of_a_plain_architecture():
    arch = ConvACArchitecture(8, 2, (2, 2, 2), (2, 2, 2), tuple(range(8)))
    assert bounds.tiling(arch, [0, 1, 2, 3]) == [(0, 1, 2, 3)]
    assert bounds.tiling(arch, [1, 2, 3, 4]) == [(1,), (2, 3), (4,)]
    assert bounds.tiling(DeepConvAC(8, 2, 2), [1, 2, 3, 4]) == bounds.tiling(arch, [1, 2, 3, 4])


def test_mode_tree_bounds_on_examples():
    # Contiguous tree, I = {1, 2, 3, 4}: Theta(I) = {1}, {2,3}, {4}; Theta(J) = {0}, {5}, {6,7}: r^3 above.
    # Sibling pairs below the root's children split between the tilings: ({0}, {1}) and ({4}, {5}).
    model = DeepConvAC(8, 2, 2, seed=0)
    partition = ((1, 2, 3, 4), (0, 5, 6, 7))
    assert bounds.mode_tree_upper_bound(model, partition) == 2**3
    assert bounds.mode_tree_lower_bound(model, partition) == 2**2
    assert 2**2 <= basis_grid_rank(model, partition) <= 2**3
    # I = the inputs below one child of the root: both tilings are one node, the upper bound is r^1.
    assert bounds.mode_tree_upper_bound(model, tlb.left_right(8)) == 2
    assert bounds.mode_tree_lower_bound(model, tlb.left_right(8)) == 1


def test_mode_tree_bounds_need_constant_size():
    with pytest.raises(ValueError, match="all widths must equal input_dim = 2"):
        bounds.mode_tree_upper_bound(DeepConvAC(8, 2, [2, 3, 2]), tlb.left_right(8))
    with pytest.raises(ValueError, match="binary mode tree needs pooling windows of size 2"):
        bounds.mode_tree_lower_bound(DeepConvAC(16, 2, 2, window=4), tlb.left_right(16))


def test_tiling_rejects_empty_and_full_sets():
    model = DeepConvAC(4, 2, 2)
    with pytest.raises(ValueError, match="both be non-empty"):
        bounds.tiling(model, [])
    with pytest.raises(ValueError, match="both be non-empty"):
        bounds.tiling(model, range(4))
    with pytest.raises(TypeError, match="positions must be an iterable"):
        bounds.tiling(model, 3)
    with pytest.raises(ValueError, match=r"partition positions must lie in range\(4\)"):
        bounds.tiling(model, [0, 7])
