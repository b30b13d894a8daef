"""The min-cut bounds of the width-allocation paper (Levine, Yakira, Cohen & Shashua, ICLR 2018).

The coefficient tensor of a ConvAC is a tensor network; cutting it between the inputs of I and
those of J bounds the rank of :math:`[\\![\\mathcal A]\\!]_{I,J}` by the product of the bond dimensions
cut (Claim 1), and Theorem 2 gives a matching lower bound when the widths are powers of one integer.
"""

from __future__ import annotations

import decimal
import math
from typing import Callable, Dict, Iterable, List, Sequence, Tuple, Union

import networkx as nx
import numpy as np

from ..checks import check_bool, check_int
from ..partitions import validate_partition
from .convac import ConvACArchitecture, convac_architecture, depth_efficiency_rank

__all__ = ["mincut", "mincut_lower_bound", "left_right_mincut", "interleaved_mincut"]


def _bond_shape(shape: ConvACArchitecture, bond: Callable[[int], int]) -> ConvACArchitecture:
    return shape._replace(input_dim=bond(shape.input_dim), widths=tuple(bond(r) for r in shape.widths))


def _scaled_logs(values: Iterable[int], scale_bits: int) -> Dict[int, int]:
    """:math:`\\operatorname{round}(2^k \\ln c)` for each c, computed with enough decimal digits to be exact."""
    with decimal.localcontext() as ctx:
        ctx.prec = int(scale_bits * 0.302) + 25
        return {c: int((decimal.Decimal(c).ln() * (1 << scale_bits)).to_integral_value()) for c in set(values)}


def _mincut_of_shape(shape: ConvACArchitecture, I: Sequence[int], J: Sequence[int]) -> Tuple[int, List[tuple]]:
    """Minimal multiplicative cut (with each pooling node counted once) and the cut edges.

    The tensor network is a hypergraph: an input edge of capacity M joins input i to the first
    convolution at its tree position, and the pooling (delta) node of window k in layer l joins the w
    convolutions it pools to the convolution above it, with capacity r_l, paid once if it is split.
    Max-flow/min-cut on log capacities with Lawler's reduction of a hyperedge of weight c to an arc
    ``h_in -> h_out`` of capacity log c, with uncapacitated arcs ``v -> h_in`` and ``h_out -> v``.

    Exactness. Float capacities leave round-off in the residual graph, and networkx's cut can then
    be wrong. So the capacities are the integers :math:`\\operatorname{round}(2^k\\ln c)`, with
    :math:`2^k \\ge 4 E B`, E the number of capacitated arcs and :math:`B = M^{\\min(|I|,|J|)}` the
    weight of a trivial cut. Every cut's scaled weight is then within E/2 of :math:`2^k` times its log,
    two cuts of distinct integer weights :math:`P < P'` with :math:`P \\le B` differ in log by at least
    :math:`1/(2B)`, so the cut found has exactly the minimal weight, which is computed in integers.
    """

    L = len(shape.windows)
    n_pools = sum(shape.n_inputs // math.prod(shape.windows[:l + 1]) for l in range(L))
    n_arcs = 2 * shape.n_inputs + n_pools
    trivial = shape.input_dim ** min(len(I), len(J))
    bits = (4 * n_arcs * trivial).bit_length()
    cap = _scaled_logs((shape.input_dim, *shape.widths), bits)

    G = nx.DiGraph()
    for i in I:
        G.add_edge("source", ("input", i))
    for j in J:
        G.add_edge(("input", j), "sink")
    for k, i in enumerate(shape.order):
        G.add_edge(("input", i), ("conv", 0, k), capacity=cap[shape.input_dim])
        G.add_edge(("conv", 0, k), ("input", i), capacity=cap[shape.input_dim])
    n_nodes = shape.n_inputs
    for l, w in enumerate(shape.windows):
        for k in range(n_nodes // w):
            members = [("conv", l, j) for j in range(k * w, (k + 1) * w)]
            if l + 1 < L:
                members.append(("conv", l + 1, k))
            G.add_edge(("pool-in", l, k), ("pool-out", l, k), capacity=cap[shape.widths[l]])
            for v in members:
                G.add_edge(v, ("pool-in", l, k))
                G.add_edge(("pool-out", l, k), v)
        n_nodes //= w
    value, (source_side, _) = nx.minimum_cut(G, "source", "sink")
    cut: List[tuple] = []
    exact, scaled = 1, 0
    for k, i in enumerate(shape.order):
        if (("input", i) in source_side) != (("conv", 0, k) in source_side):
            cut.append(("input", i))
            exact *= shape.input_dim
            scaled += cap[shape.input_dim]
    n_nodes = shape.n_inputs
    for l, w in enumerate(shape.windows):
        for k in range(n_nodes // w):
            if ("pool-in", l, k) in source_side and ("pool-out", l, k) not in source_side:
                cut.append(("pool", l, k))
                exact *= shape.widths[l]
                scaled += cap[shape.widths[l]]
        n_nodes //= w
    if scaled != value:  # the cut read off the source side must carry the whole (integer) flow
        raise RuntimeError(f"min-cut mismatch: the returned cut has scaled weight {scaled}, the flow {value}")
    return exact, cut


def mincut(model: object, partition: object, *, return_cut: bool = False) -> Union[int, Tuple[int, List[tuple]]]:
    r"""The minimal multiplicative cut of the ConvAC tensor network separating I from J.

    Levine, Yakira, Cohen & Shashua (ICLR 2018), Claim 1: draw the network's coefficient tensor as a
    tensor network (input edges of bond dimension M, a convolution node per position and layer, a
    delta (copy) tensor per pooling window, with the layer's width :math:`r_l` on its legs; the
    output edge removed). For a partition (I, J) of the inputs,

    .. math::  \operatorname{rank}[\![\mathcal A]\!]_{I,J} \;\le\; \min_C W_C ,\qquad
               W_C = \prod_{e\in C} c(e),

    over the edge sets C separating the inputs in I from those in J. The min-cut is computed with
    networkx's max-flow on log capacities, rounded to integers on a scale fine enough that the
    minimal product is found exactly; the returned cut is scored in exact integers.

    Which weight. For windows larger than 2 the delta tensors have more than 3 legs, and the bound
    of the paper's App. C (Claim 7) uses :math:`\tilde W_C`, which counts the cut legs of one delta
    tensor once: a split pooling node costs :math:`r_l` however many of its legs are cut. This
    function computes :math:`\min_C \tilde W_C` for every window. For windows of size 2 (3-legged
    delta tensors) :math:`\tilde W = W`. A ShallowConvAC is one delta tensor with Z channels and
    N + 1 legs, so its min-cut is :math:`\min(M^{\min(|I|,|J|)}, Z)`.

    Parameters
    ----------
    model : DeepConvAC or ShallowConvAC
        Only the architecture is used: N, M, widths :math:`r_0,\dots,r_{L-1}`, windows and ``order``
        (the pooling geometry: ``order[k]`` is the input at tree position k).
    partition : (I, J)
        0-based input positions.
    return_cut : bool
        Also return the cut: a list of ``("input", i)`` (the edge of input i, capacity M) and
        ``("pool", l, k)`` (the pooling node of window k in layer l, capacity :math:`r_l`).

    Returns
    -------
    int, or (int, list) with ``return_cut``
    """
    shape = convac_architecture(model)
    I, J = validate_partition(partition, shape.n_inputs)
    return_cut = check_bool(return_cut, "return_cut")
    value, cut = _mincut_of_shape(shape, I, J)
    return (value, cut) if return_cut else value


def _round_down_to_power(c: int, p: int) -> int:
    q = 1
    while q * p <= c:
        q *= p
    return q


def mincut_lower_bound(model: object, partition: object) -> int:
    r""":math:`\max_p \min_C W^p_C`: the lower bound of Levine et al. (ICLR 2018), Theorem 2.

    Round every bond dimension down to a power of p, :math:`c_p(e) = \max\{p^n \le c(e)\}`, and take the
    min-cut :math:`\min_C W^p_C` of the rounded network. For all weight settings but a set of
    Lebesgue measure zero, :math:`\operatorname{rank}[\![\mathcal A]\!]_{I,J} \ge \max_p \min_C W^p_C`.
    Hence the min-cut bound of :func:`mincut` is attained when all of M and the :math:`r_l` are powers
    of one integer. The maximum is attained at some :math:`p \le M` (or is 1): for :math:`p > M` the
    input edges round to 1, and cutting those of one side costs nothing.

    The theorem is stated for pooling windows of size 2, so other windows are refused.

    Parameters
    ----------
    model : DeepConvAC
        With ``window=2``.
    partition : (I, J)

    Returns
    -------
    int
    """

    shape = convac_architecture(model)
    if any(w != 2 for w in shape.windows):
        raise ValueError(f"mincut_lower_bound needs pooling windows of size 2 (Theorem 2 of Levine et al. 2018), "
                         f"got windows {shape.windows}")
    I, J = validate_partition(partition, shape.n_inputs)
    best = 1
    for p in range(2, shape.input_dim + 1):
        rounded = _bond_shape(shape, lambda c: _round_down_to_power(c, p))
        best = max(best, _mincut_of_shape(rounded, I, J)[0])
    return best


def _binary_levels(n_inputs: object, widths: object) -> Tuple[int, int, Tuple[int, ...]]:
    n = check_int(n_inputs, "n_inputs", 2)
    L = n.bit_length() - 1
    if 2**L != n:
        raise ValueError(f"n_inputs must be a power of 2 (size-2 pooling), got {n}")
    if isinstance(widths, (str, bytes)) or not isinstance(widths, (list, tuple, np.ndarray)):
        raise TypeError(f"widths must be a sequence of L = {L} ints, got {type(widths).__name__}")
    if len(widths) != L:
        raise ValueError(f"widths must have L = log2(n_inputs) = {L} entries (r_0, ..., r_(L-1)), got {len(widths)}")
    return n, L, tuple(check_int(r, f"widths[{l}]", 1) for l, r in enumerate(widths))


def left_right_mincut(n_inputs: int, input_dim: int, widths: Sequence[int]) -> int:
    r"""The min-cut of the deep ConvAC (size-2 pooling) for the left/right partition, in closed form.

    Levine et al. (ICLR 2018), eq. 16 (the exponents as they follow from the tree, our reading):

    .. math::  W^{\text{left-right}}_{\min} = \min\big(r_{L-1},\, r_{L-2},\, r_{L-3}^{2},\,\dots,\,
               r_l^{2^{L-2-l}},\,\dots,\, r_0^{N/4},\, M^{N/2}\big).

    The left half is the subtree of one child of the top pooling node; cutting it off costs
    :math:`r_{L-1}` at the top, or :math:`r_l` once for each of its :math:`2^{L-2-l}` nodes of layer l,
    or M for each of its N/2 inputs.

    Parameters
    ----------
    n_inputs : int
        N, a power of 2.
    input_dim : int
        M.
    widths : sequence of L ints
        :math:`r_0, \dots, r_{L-1}`.
    """
    n, L, widths = _binary_levels(n_inputs, widths)
    M = check_int(input_dim, "input_dim", 1)
    terms = [widths[L - 1], M ** (n // 2)] + [widths[l] ** 2 ** (L - 2 - l) for l in range(L - 1)]
    return min(terms)


def interleaved_mincut(n_inputs: int, input_dim: int, widths: Sequence[int]) -> int:
    r""":math:`\min(r_0, M)^{N/2}`: the min-cut of the deep ConvAC (size-2 pooling) for the odd/even partition *[own derivation]*.

    Each first-layer pooling window holds one input of each side, and the N/2 paths
    input -- convolution -- pooling node -- convolution -- input inside the windows are edge-disjoint,
    each with smallest bond :math:`\min(M, r_0)`; so every cut weighs at least
    :math:`\min(r_0,M)^{N/2}` (Menger), and cutting each window's cheapest bond attains it. This equals
    the rank :math:`\min(r_0, M)^{N/2}` of COLT 2016, Theorem 1 (:func:`~tensorlib.bounds.convac.depth_efficiency_rank`).

    Parameters
    ----------
    n_inputs : int
        N, a power of 2.
    input_dim : int
        M.
    widths : sequence of L ints
        :math:`r_0, \dots, r_{L-1}` (only :math:`r_0` matters).
    """
    n, _, widths = _binary_levels(n_inputs, widths)
    return depth_efficiency_rank(n, input_dim, widths[0])
