"""The bounds of mixed tensor decompositions on binary mode trees (Cohen, Tamari & Shashua, ICLR 2018).

A DeepConvAC with pooling windows of size 2 is the tree decomposition of a binary mode tree: its
``order`` fixes which inputs each node of the tree holds.
"""

from __future__ import annotations

from typing import Iterable, List, Tuple

from ..partitions import validate_partition
from .convac import ConvACArchitecture, convac_architecture

__all__ = ["tiling", "mode_tree_upper_bound", "mode_tree_lower_bound"]


def _binary_mode_tree(model: object) -> Tuple[ConvACArchitecture, List[List[Tuple[int, ...]]]]:

    shape = convac_architecture(model)
    if any(w != 2 for w in shape.windows):
        raise ValueError(f"a binary mode tree needs pooling windows of size 2, got windows {shape.windows}")
    # levels[d] lists the nodes at depth d (root at depth 0), each as its tuple of inputs in tree order.
    levels = [[(i,) for i in shape.order]]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([below[k] + below[k + 1] for k in range(0, len(below), 2)])
    return shape, levels[::-1]


def tiling(model: object, positions: Iterable[int]) -> List[Tuple[int, ...]]:
    r""":math:`\Theta(I;T)`: the maximal nodes of the model's mode tree whose disjoint union is I.

    Cohen, Tamari & Shashua (ICLR 2018), Definition 6. The mode tree T of a DeepConvAC with size-2
    pooling has a node for each pooling window at each layer, holding the inputs below it; with
    ``order`` the identity it is the contiguous tree of a standard network, and a permuted ``order``
    gives another complete binary mode tree (as changing the dilations of a dilated network does).

    Parameters
    ----------
    model : DeepConvAC
        With ``window=2``.
    positions : iterable of int
        I, a non-empty proper subset of the 0-based inputs.

    Returns
    -------
    list of tuples
        The nodes of the tiling, each as the sorted tuple of its inputs, in tree order.
    """
    shape, levels = _binary_mode_tree(model)
    if isinstance(positions, (str, bytes)) or not isinstance(positions, Iterable):
        raise TypeError(f"positions must be an iterable of ints (the set I), got {type(positions).__name__}")
    positions = list(positions)
    complement = [j for j in range(shape.n_inputs) if j not in set(positions)]
    I, _ = validate_partition((positions, complement), shape.n_inputs)
    return [tuple(sorted(node)) for node in _tiling_nodes(levels, set(I))]


def _tiling_nodes(levels: List[List[Tuple[int, ...]]], I: set) -> List[Tuple[int, ...]]:
    out: List[Tuple[int, ...]] = []
    covered: set = set()
    for nodes in levels:
        for node in nodes:
            if set(node) <= I and not set(node) & covered:
                out.append(node)
                covered |= set(node)
    tree_position = {leaf[0]: k for k, leaf in enumerate(levels[-1])}
    return sorted(out, key=lambda node: tree_position[node[0]])


def _mode_tree_check(model: object, partition: object) -> Tuple[int, List[List[Tuple[int, ...]]], List[Tuple[int, ...]], List[Tuple[int, ...]]]:
    shape, levels = _binary_mode_tree(model)
    r = shape.input_dim
    if any(w != r for w in shape.widths):
        raise ValueError(f"Theorem 7 of Cohen, Tamari & Shashua (2018) is stated for a constant size r: "
                         f"all widths must equal input_dim = {r}, got widths {shape.widths}")
    I, J = validate_partition(partition, shape.n_inputs)
    return r, levels, _tiling_nodes(levels, set(I)), _tiling_nodes(levels, set(J))


def mode_tree_upper_bound(model: object, partition: object) -> int:
    r""":math:`r^{\min\{|\Theta(I;T)|,\,|\Theta(I^c;T)|\}}`: the upper bound of Cohen, Tamari & Shashua (ICLR 2018), Theorem 7.

    For the tree decomposition of a binary mode tree T with product pooling and constant size r
    (here: a DeepConvAC with window 2 whose widths all equal M = r), every weight setting gives
    :math:`\operatorname{rank}[\![\mathcal A]\!]_{I} \le r^{\min\{|\Theta(I;T)|, |\Theta(I^c;T)|\}}`,
    with :math:`\Theta` the tiling of :func:`tiling`.

    Parameters
    ----------
    model : DeepConvAC
        window 2, all widths equal to ``input_dim``; its ``order`` fixes T.
    partition : (I, J)
    """
    r, _, tiles_I, tiles_J = _mode_tree_check(model, partition)
    return r ** min(len(tiles_I), len(tiles_J))


def mode_tree_lower_bound(model: object, partition: object) -> int:
    r"""The lower bound of Cohen, Tamari & Shashua (ICLR 2018), Theorem 7: r to the number of split sibling pairs.

    .. math::  \operatorname{rank}[\![\mathcal A]\!]_{I} \;\ge\;
               r^{|\{(\nu_1,\nu_2)\in\Theta(I;T)\times\Theta(I^c;T)\,:\,\nu_1,\nu_2
               \text{ siblings in } T \text{ with depth} > 1\}|}

    almost always. Depth is counted with the root at depth 0, so the pair formed by the root's two
    children is not counted (the more cautious reading; it matters only when I is the set of inputs
    below one child of the root, where the bound is then 1 rather than r).

    Parameters
    ----------
    model : DeepConvAC
        window 2, all widths equal to ``input_dim``; its ``order`` fixes T.
    partition : (I, J)
    """
    r, levels, tiles_I, tiles_J = _mode_tree_check(model, partition)
    set_I, set_J = set(tiles_I), set(tiles_J)
    pairs = 0
    for depth in range(2, len(levels)):
        nodes = levels[depth]
        for k in range(0, len(nodes), 2):
            a, b = nodes[k], nodes[k + 1]
            pairs += (a in set_I and b in set_J) or (a in set_J and b in set_I)
    return r ** pairs
