"""Closed-form statements of the theorems, to assert computed ranks against.

Each function returns the number a theorem gives, with the theorem named in its docstring. A bound
marked *[own derivation]* is not the paper's; the book says so where it uses it.
"""

from __future__ import annotations

import decimal
import math
from math import comb
from typing import Callable, Dict, Iterable, List, NamedTuple, Sequence, Tuple, Union

import networkx as nx
import numpy as np

from .networks.convac import DeepConvAC, ShallowConvAC
from .partitions import validate_partition

__all__ = ["sum_of_products_rank", "tucker_rank_upper_bound", "tensor_train_rank_upper_bound",
           "power_sum_rank_upper_bound", "shallow_rac_start_end_rank", "depth2_rac_start_end_lower_bound",
           "depth2_rac_start_end_upper_bound", "rac_start_end_upper_bound",
           "pooling_geometry_lower_bound", "pooling_geometry_upper_bound", "mincut", "mincut_lower_bound",
           "left_right_mincut", "interleaved_mincut", "tiling", "mode_tree_upper_bound", "mode_tree_lower_bound",
           "depth_efficiency_rank", "shallow_rank_bound", "intermediate_depth_width",
           "self_attention_degree", "self_attention_depth1_rank", "self_attention_rank_upper_bound",
           "depth_efficiency_threshold"]


def _positive(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


# -- Chapter 2: the CP model -------------------------------------------------------------------

# Chapter 1's format bounds (Tucker, tensor train) and Chapter 2's power-sum bound live here too.

def _partition_sides(partition: object, n: int | None = None) -> tuple:
    """Validate ``partition`` as a pair (I, J); with ``n=None`` the order is ``|I| + |J|``."""
    if isinstance(partition, (str, bytes)):
        raise TypeError(f"partition must be a pair (I, J) of position tuples, got {type(partition).__name__}")
    try:
        sides = [side if isinstance(side, (str, bytes)) else list(side) for side in partition]
    except TypeError:
        raise TypeError(f"partition must be a pair (I, J) of position tuples, got {partition!r}") from None
    if n is None:
        n = max(2, sum(len(side) for side in sides))
    return validate_partition(sides, n)


def _positive_list(values: object, name: str) -> list:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of positive ints, got {type(values).__name__}")
    return [_positive(v, f"{name}[{k}]") for k, v in enumerate(values)]


def tucker_rank_upper_bound(ranks: object, partition: object) -> int:
    r""":math:`\min(\prod_{i\in I} r_i, \prod_{j\in J} r_j)`: the matricization rank bound of a Tucker tensor.

    For :math:`\mathcal A = \mathcal G \times_1 U_1 \cdots \times_N U_N` with core :math:`\mathcal G` of
    shape :math:`(r_1,\dots,r_N)` (Kolda & Bader 2009),
    :math:`[\![\mathcal A]\!]_{I,J} = (\bigodot_{i\in I} U_i)\,[\![\mathcal G]\!]_{I,J}\,(\bigodot_{j\in J} U_j)^T`,
    so its rank is at most that of the core's matricization, which has
    :math:`\prod_{i\in I} r_i` rows and :math:`\prod_{j\in J} r_j` columns. Equality holds for a generic
    core when every :math:`U_i` has full column rank.

    Parameters
    ----------
    ranks : sequence of int
        The Tucker ranks :math:`(r_1,\dots,r_N)` (the core's shape).
    partition : (I, J)
        A partition of ``range(N)`` (0-based).
    """
    ranks = _positive_list(ranks, "ranks")
    I, J = _partition_sides(partition, len(ranks))
    return min(int(np.prod([ranks[i] for i in I], dtype=object)), int(np.prod([ranks[j] for j in J], dtype=object)))


def tensor_train_rank_upper_bound(bond_ranks: object, partition: object, mode_dims: object) -> int:
    r"""The min-cut bound on the matricization rank of a tensor train (TT) tensor.

    A TT tensor :math:`\mathcal A_{d_1\dots d_N} = G_1[d_1] G_2[d_2]\cdots G_N[d_N]` with bond ranks
    :math:`r_1,\dots,r_{N-1}` (Oseledets 2011) is a tensor network on a chain: node i carries an open
    leg of dimension :math:`M_i`, and nodes i, i+1 share a bond of dimension :math:`r_i`. Any cut of
    the network that separates the legs in I from the legs in J bounds the rank of
    :math:`[\![\mathcal A]\!]_{I,J}` by the product of the dimensions it cuts (the min-cut bound of
    Levine, Yakira, Cohen & Shashua, ICLR 2018). On a chain the cheapest cut is found by a dynamic
    program over which side each node goes to. For a contiguous cut, :math:`I = \{0,\dots,k-1\}`,
    it gives :math:`\min(r_k, \prod_{i<k} M_i, \prod_{i\ge k} M_i)`, Oseledets' unfolding bound.

    Parameters
    ----------
    bond_ranks : sequence of int
        The N-1 inner bond ranks :math:`(r_1,\dots,r_{N-1})` (tensorly's ``rank[1:-1]``).
    partition : (I, J)
        A partition of ``range(N)`` (0-based).
    mode_dims : int or sequence of int
        :math:`M_i`, one int for all modes or N of them.

    Returns
    -------
    int
        The minimum, over assignments of the N nodes to the two sides, of the product of the cut
        bonds and of the cut open legs. Always at most :math:`\min(\prod_{I} M_i, \prod_{J} M_j)`.
    """
    bonds = _positive_list(bond_ranks, "bond_ranks")
    n = len(bonds) + 1
    if isinstance(mode_dims, (int, np.integer)) and not isinstance(mode_dims, bool):
        dims = [_positive(mode_dims, "mode_dims")] * n
    else:
        dims = _positive_list(mode_dims, "mode_dims")
        if len(dims) != n:
            raise ValueError(f"mode_dims must have N = len(bond_ranks) + 1 = {n} entries, got {len(dims)}")
    I, _ = _partition_sides(partition, n)
    leg_side = [0 if i in I else 1 for i in range(n)]
    # best[s]: cheapest cut of nodes 0..i with node i on side s (0 = I, 1 = J); exact integer products.
    best = [dims[0] if leg_side[0] != s else 1 for s in (0, 1)]
    for i in range(1, n):
        leg = [dims[i] if leg_side[i] != s else 1 for s in (0, 1)]
        best = [leg[s] * min(best[s], best[1 - s] * bonds[i - 1]) for s in (0, 1)]
    return int(min(best))


def power_sum_rank_upper_bound(terms: int, input_dim: int, degree: int, partition: object) -> int:
    r""":math:`\min(R, D^{\min(|I|,|J|)})` with :math:`D=\binom{M+d-1}{d}`, for a sum of R products of d-th powers *[own derivation]*.

    For :math:`f(x)=\sum_{z=1}^{R}\prod_{i=1}^{N}\langle a^{z,i},x_i\rangle^{d}` each term is separable
    under every partition, so :math:`\operatorname{sep}(f;I,J)\le R`. Also f is, in each
    :math:`x_i`, a homogeneous polynomial of degree d, a space of dimension
    :math:`D=\binom{M+d-1}{d}`; so f is a sum of :math:`D^{|I|}` products (one per monomial in
    :math:`x_I`) and :math:`\operatorname{sep}(f;I,J)\le D^{\min(|I|,|J|)}`. This is an upper bound
    only; Chapter 2 certifies a matching lower bound for one instance with exact ranks.
    With d = 1 it is :func:`sum_of_products_rank`.

    Parameters
    ----------
    terms : int
        R.
    input_dim : int
        M.
    degree : int
        d.
    partition : (I, J)
    """

    terms = _positive(terms, "terms")
    input_dim = _positive(input_dim, "input_dim")
    degree = _positive(degree, "degree")
    I, J = _partition_sides(partition)
    return min(terms, comb(input_dim + degree - 1, degree) ** min(len(I), len(J)))


def sum_of_products_rank(terms: int, input_dim: int, partition: object) -> int:
    """:math:`\\min(R, M^{\\min(|I|,|J|)})`: the generic separation rank of a sum of R products of linear forms.

    Upper bound: each product is separable, and the matricization has :math:`M^{\\min(|I|,|J|)}`
    rows or columns. Equality for generic weights (COLT 2016, App. B; ICLR 2017 §3.3).
    """
    terms = _positive(terms, "terms")
    input_dim = _positive(input_dim, "input_dim")
    I, J = _partition_sides(partition)
    return min(terms, input_dim ** min(len(I), len(J)))


# -- Chapters 3-4: convolutional networks (ConvACs) --------------------------------------------

# Chapter 3 (depth efficiency): COLT 2016's Theorem 1, Corollary 2 and Theorem 3.

def _power_of_two(value: object, name: str) -> int:
    value = _positive(value, name, 2)
    if value & (value - 1):
        raise ValueError(f"{name} must be a power of 2 (size-2 pooling, L = log2 N layers), got {value}")
    return value


def depth_efficiency_rank(n_inputs: int, input_dim: int, width: int) -> int:
    r""":math:`\min(r_0, M)^{N/2}`: the odd/even matricization rank of a generic deep ConvAC.

    COLT 2016 (Cohen, Sharir & Shashua), Theorem 1: for the hierarchical Tucker model with size-2
    pooling, the odd/even matricization of the coefficient tensor has rank at least
    :math:`\min(r_0, M)^{N/2}` almost everywhere in weight space, with or without weight sharing.
    It is also at most that (our derivation): every pooled pair :math:`(2j, 2j+1)` enters through
    the :math:`\min(r_0, M)`-dimensional span of :math:`\{a^{0,2j,\alpha}\}_\alpha` on its odd
    side, so the column space of the matricization lies in a tensor product of :math:`N/2` such spans.

    Parameters
    ----------
    n_inputs : int
        N, a power of 2.
    input_dim : int
        M.
    width : int
        :math:`r_0`, the channels of the first hidden layer.
    """
    n_inputs = _power_of_two(n_inputs, "n_inputs")
    input_dim = _positive(input_dim, "input_dim")
    width = _positive(width, "width")
    return min(width, input_dim) ** (n_inputs // 2)


def shallow_rank_bound(channels: int, input_dim: int, partition: object) -> int:
    r""":math:`\min(Z, M^{\min(|I|,|J|)})`: the separation rank of a shallow ConvAC with Z channels.

    Each of the Z terms of the CP model is separable, so the matricization has rank at most Z under
    every partition (COLT 2016, App. B; Corollary 2 draws the consequence: a shallow network needs
    :math:`Z \ge \min(r_0, M)^{N/2}` to match a generic deep one). ICLR 2017 (Cohen & Shashua) §5
    writes the shallow network's matricization explicitly; for generic weights the bound is attained.
    """
    channels = _positive(channels, "channels")
    input_dim = _positive(input_dim, "input_dim")
    I, J = _partition_sides(partition)
    return min(channels, input_dim ** min(len(I), len(J)))


def intermediate_depth_width(n_inputs: int, input_dim: int, widths: Sequence[int], depth: int) -> int:
    r""":math:`\min(r_0,\dots,r_{L_2-1}, M)^{2^{L-L_2}}`: the width a depth-:math:`L_2` network needs.

    COLT 2016, Theorem 3 and Corollary 4 (intermediate depths): a tensor generated by the depth-L
    hierarchical model (size-2 pooling, :math:`L=\log_2 N`, widths ``widths`` :math:`= r_0..r_{L-1}`)
    can, almost everywhere, be realized by a decomposition truncated to :math:`L_2` levels only if
    the truncated one's last width satisfies :math:`r^{(2)}_{L_2-1} \ge r^{2^{L-L_2}}`, with
    :math:`r = \min(r_0,\dots,r_{L_2-1}, M)`. :math:`L_2 = 1` is the shallow network (Theorem 1).

    Parameters
    ----------
    n_inputs : int
        N, a power of 2.
    input_dim : int
        M.
    widths : sequence of L ints
        The deep network's widths :math:`r_0,\dots,r_{L-1}`.
    depth : int
        :math:`L_2`, the depth of the shallower network, :math:`1 \le L_2 \le L`.
    """
    n_inputs = _power_of_two(n_inputs, "n_inputs")
    input_dim = _positive(input_dim, "input_dim")
    L = n_inputs.bit_length() - 1
    widths = _positive_list(widths, "widths")
    if len(widths) != L:
        raise ValueError(f"widths must have L = log2(n_inputs) = {L} entries, got {len(widths)}")
    depth = _positive(depth, "depth")
    if depth > L:
        raise ValueError(f"depth must be at most L = log2(n_inputs) = {L}, got {depth}")
    r = min(min(widths[:depth]), input_dim)
    return r ** (2 ** (L - depth))


# The pooling-geometry bounds, the min-cut of the ConvAC tensor network, and the mode-tree bounds of
# mixed decompositions. All take a DeepConvAC or a ShallowConvAC (read as one pooling layer of
# window N) and a partition of its input positions.

class _ConvACShape(NamedTuple):
    """What the bounds need of a ConvAC: N, M, the windows w_l, the widths r_l, and the input order."""

    n_inputs: int
    input_dim: int
    windows: Tuple[int, ...]
    widths: Tuple[int, ...]
    order: Tuple[int, ...]


def _convac_shape(model: object) -> _ConvACShape:

    if isinstance(model, DeepConvAC):
        return _ConvACShape(model.n_inputs, model.input_dim, tuple(model.windows), tuple(model.widths),
                            tuple(model.order))
    if isinstance(model, ShallowConvAC):
        n = model.n_inputs
        return _ConvACShape(n, model.input_dim, (n,), (model.channels,), tuple(range(n)))
    raise TypeError(f"model must be a DeepConvAC or a ShallowConvAC (tensorlib.networks), "
                    f"got {type(model).__name__}")


def _sides_in_tree_order(shape: _ConvACShape, partition: object) -> Tuple[Tuple[int, ...], Tuple[int, ...], List[bool]]:
    I, J = validate_partition(partition, shape.n_inputs)
    in_I = set(I)
    return I, J, [i in in_I for i in shape.order]


def pooling_geometry_lower_bound(model: object, partition: object) -> int:
    r""":math:`\min(r_0, M)^S`, S the number of first-layer pooling windows that the partition splits.

    Cohen & Shashua (ICLR 2017), Theorem 1, lower part: for the deep ConvAC with pooling windows of
    size 4 (a quad-tree over the image), the maximal rank of :math:`[\![\mathcal A]\!]_{I,J}` over
    all weights, and so (Claim 2) its rank for almost every weight setting, is at least
    :math:`\min(r_0, M)^S` with :math:`S = |\{k : I_{1,k}\ne\emptyset \wedge J_{1,k}\ne\emptyset\}|`.

    Windows. The paper states the case w = 4. Its proof does not use the value 4 (choose the
    first-layer weights so that each window computes :math:`\sum_{\alpha\le\min(r_0,M)} e_\alpha^{\otimes w}`,
    whose matricization under any split of the window has rank :math:`\min(r_0, M)`, and let the
    higher layers multiply the windows' tensors), so it is computed here for any windows, also
    per-layer ones; for w = 2 and the odd/even partition it is COLT 2016's :math:`\min(r_0,M)^{N/2}`.
    A ShallowConvAC is read as one pooling window of size N: the bound is :math:`\min(Z, M)`.

    Parameters
    ----------
    model : DeepConvAC or ShallowConvAC
        Only its architecture is used (N, M, windows, widths, order); ``order[k]`` is the input read
        at tree position k, and windows are consecutive tree positions.
    partition : (I, J)
        0-based input positions.

    Returns
    -------
    int
    """
    shape = _convac_shape(model)
    _, _, side = _sides_in_tree_order(shape, partition)
    w = shape.windows[0]
    split = sum(len(set(side[k:k + w])) == 2 for k in range(0, shape.n_inputs, w))
    return min(shape.widths[0], shape.input_dim) ** split


def pooling_geometry_upper_bound(model: object, partition: object) -> int:
    r"""The upper bound of Cohen & Shashua (ICLR 2017), Theorem 1: :math:`\min\{M^{\min(|I|,|J|)}, r_{L-1}\prod_t c^{L-1,t}\}`.

    With :math:`I_{l,k}, J_{l,k}` the parts of the partition inside the k-th block of the inputs
    pooled into one node after l layers (blocks of :math:`4^l` inputs in the paper), :math:`c^{0,k} = 1`
    and

    .. math::  c^{l,k} = \min\Big\{ M^{\min\{|I_{l,k}|, |J_{l,k}|\}},\;
               r_{l-1} \prod_{t=1}^{w} c^{l-1, w(k-1)+t} \Big\},\qquad l = 1,\dots,L-1 .

    The rank of :math:`[\![\mathcal A]\!]_{I,J}` is at most this number for every weight setting. The
    paper states it for windows of size 4; the argument (subadditivity of rank over the
    :math:`r_{l-1}` terms of a node, multiplicativity over the Kronecker factors of its children)
    does not use the value 4, so it is computed for any windows, also per-layer ones. A one-sided
    block has :math:`c = M^0 = 1`. A ShallowConvAC gives :math:`\min(M^{\min(|I|,|J|)}, Z)`.

    Parameters
    ----------
    model : DeepConvAC or ShallowConvAC
    partition : (I, J)

    Returns
    -------
    int
    """
    shape = _convac_shape(model)
    I, J, side = _sides_in_tree_order(shape, partition)
    M = shape.input_dim
    c = [1] * shape.n_inputs
    counts = [(int(s), int(not s)) for s in side]  # (|I|, |J|) inside each node
    for l, w in enumerate(shape.windows):
        counts = [tuple(map(sum, zip(*counts[k:k + w]))) for k in range(0, len(counts), w)]
        c = [min(M ** min(n_i, n_j), shape.widths[l] * math.prod(c[k:k + w]))
             for (n_i, n_j), k in zip(counts, range(0, len(c), w))]
    return c[0]


def _bond_shape(shape: _ConvACShape, bond: Callable[[int], int]) -> _ConvACShape:
    return shape._replace(input_dim=bond(shape.input_dim), widths=tuple(bond(r) for r in shape.widths))


def _scaled_logs(values: Iterable[int], scale_bits: int) -> Dict[int, int]:
    """:math:`\\operatorname{round}(2^k \\ln c)` for each c, computed with enough decimal digits to be exact."""
    with decimal.localcontext() as ctx:
        ctx.prec = int(scale_bits * 0.302) + 25
        return {c: int((decimal.Decimal(c).ln() * (1 << scale_bits)).to_integral_value()) for c in set(values)}


def _mincut_of_shape(shape: _ConvACShape, I: Sequence[int], J: Sequence[int]) -> Tuple[int, List[tuple]]:
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
    shape = _convac_shape(model)
    I, J = validate_partition(partition, shape.n_inputs)
    if not isinstance(return_cut, (bool, np.bool_)):
        raise TypeError(f"return_cut must be a bool, got {type(return_cut).__name__}")
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

    if not isinstance(model, DeepConvAC):
        raise TypeError(f"model must be a DeepConvAC with window=2 (Theorem 2 of Levine et al. 2018 is about "
                        f"size-2 pooling), got {type(model).__name__}")
    shape = _convac_shape(model)
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
    n = _positive(n_inputs, "n_inputs", 2)
    L = n.bit_length() - 1
    if 2**L != n:
        raise ValueError(f"n_inputs must be a power of 2 (size-2 pooling), got {n}")
    if isinstance(widths, (str, bytes)) or not isinstance(widths, (list, tuple, np.ndarray)):
        raise TypeError(f"widths must be a sequence of L = {L} ints, got {type(widths).__name__}")
    if len(widths) != L:
        raise ValueError(f"widths must have L = log2(n_inputs) = {L} entries (r_0, ..., r_(L-1)), got {len(widths)}")
    return n, L, tuple(_positive(r, f"widths[{l}]") for l, r in enumerate(widths))


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
    M = _positive(input_dim, "input_dim")
    terms = [widths[L - 1], M ** (n // 2)] + [widths[l] ** 2 ** (L - 2 - l) for l in range(L - 1)]
    return min(terms)


def interleaved_mincut(n_inputs: int, input_dim: int, widths: Sequence[int]) -> int:
    r""":math:`\min(r_0, M)^{N/2}`: the min-cut of the deep ConvAC (size-2 pooling) for the odd/even partition *[own derivation]*.

    Each first-layer pooling window holds one input of each side, and the N/2 paths
    input -- convolution -- pooling node -- convolution -- input inside the windows are edge-disjoint,
    each with smallest bond :math:`\min(M, r_0)`; so every cut weighs at least
    :math:`\min(r_0,M)^{N/2}` (Menger), and cutting each window's cheapest bond attains it. This equals
    the rank :math:`\min(r_0, M)^{N/2}` of COLT 2016, Theorem 1 (:func:`depth_efficiency_rank`).

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


def _binary_mode_tree(model: object) -> Tuple[_ConvACShape, List[List[Tuple[int, ...]]]]:

    if not isinstance(model, DeepConvAC):
        raise TypeError(f"model must be a DeepConvAC (its order defines the binary mode tree), got {type(model).__name__}")
    shape = _convac_shape(model)
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


# -- Chapter 5: recurrent networks (RACs) ------------------------------------------------------

def _start_end_half(length: object) -> int:
    """T/2 for the Start--End partition; T must be even (and at least 2)."""
    length = _positive(length, "length", 2)
    if length % 2:
        raise ValueError(f"length must be even for the Start-End partition (S = first T/2 steps, E = last T/2), "
                         f"got T = {length}")
    return length // 2


def shallow_rac_start_end_rank(length: int, input_dim: int, hidden: int) -> int:
    r""":math:`\min(R, M^{T/2})`: the Start--End separation rank of a shallow (depth-1) RAC.

    Levine, Sharir, Ziv and Shashua (arXiv 1710.09431), Theorem 1 part 1, as recalled (not checked
    against the paper's text; consistent with our numerics): for all weights outside a set of measure
    zero, :math:`\operatorname{sep}_{S,E}(y^{T,1}) = \min(R, M^{T/2})`, whatever T once
    :math:`M^{T/2}\ge R`. The upper bound is elementary: the coefficient tensor is a tensor train with
    bond dimension R, and cutting it between steps T/2 and T/2 + 1 gives a matricization of rank at
    most R (and at most its :math:`M^{T/2}` rows).

    Parameters
    ----------
    length : int
        T, even.
    input_dim : int
        M.
    hidden : int
        R.
    """
    half = _start_end_half(length)
    input_dim = _positive(input_dim, "input_dim")
    hidden = _positive(hidden, "hidden")
    return min(hidden, input_dim ** half)


def depth2_rac_start_end_lower_bound(length: int, input_dim: int, hidden: int) -> int:
    r""":math:`\left(\!\binom{\min(M,R)}{T/2}\!\right) = \binom{\min(M,R)+T/2-1}{T/2}`: a lower bound for depth 2.

    Levine, Sharir, Ziv and Shashua (arXiv 1710.09431), Theorem 1 part 2, as recalled (not checked
    against the paper's text; consistent with our numerics): for all weights outside a set of measure
    zero, the Start--End separation rank of a depth-2 RAC is at least the multiset coefficient
    "min(M, R) multichoose T/2", which grows combinatorially with T.

    Parameters
    ----------
    length : int
        T, even.
    input_dim : int
        M.
    hidden : int
        R.
    """

    half = _start_end_half(length)
    q = min(_positive(input_dim, "input_dim"), _positive(hidden, "hidden"))
    return comb(q + half - 1, half)


def depth2_rac_start_end_upper_bound(length: int, hidden: int) -> int:
    r""":math:`R\binom{R+T/2-1}{T/2}`: an upper bound on the Start--End separation rank at depth 2 *[own derivation]*.

    Not the paper's bound. Layer 1 is linear in its previous state, so for :math:`t > T/2` every
    :math:`h^{t,1}` is a linear function of :math:`h^{T/2,1}` whose coefficients depend on the End
    inputs only; layer 2 is linear in its previous state and in :math:`h^{t,1}`. Hence
    :math:`y` is linear in :math:`h^{T/2,2}` and homogeneous of degree T/2 in :math:`h^{T/2,1}`, both
    functions of the Start inputs only: :math:`y` is a combination, with End-dependent coefficients, of
    the :math:`R\binom{R+T/2-1}{T/2}` products :math:`h^{T/2,2}_s \cdot m(h^{T/2,1})` with m a degree-T/2
    monomial in R variables, each a function of the Start inputs.

    Parameters
    ----------
    length : int
        T, even.
    hidden : int
        R.
    """

    half = _start_end_half(length)
    hidden = _positive(hidden, "hidden")
    return hidden * comb(hidden + half - 1, half)


def rac_start_end_upper_bound(length: int, hidden: int, depth: int) -> int:
    r""":math:`\prod_{m=0}^{L-1}\binom{R+c_m-1}{c_m}`, :math:`c_m=\binom{T/2+m-1}{m}`: a Start--End upper bound at any depth *[own derivation]*.

    Not the paper's bound; it extends :func:`depth2_rac_start_end_upper_bound` (the case L = 2) and
    gives R at L = 1. For t > T/2 the state :math:`h^{t,l}` is a polynomial in the states
    :math:`h^{T/2,1},\dots,h^{T/2,l}` with End-dependent coefficients, homogeneous of degree
    :math:`\binom{t-T/2+m-1}{m}` in :math:`h^{T/2,l-m}` (the degrees obey Pascal's rule along the
    recurrence). So :math:`y` is a combination of products of monomials, of degree :math:`c_m` in the
    R coordinates of :math:`h^{T/2,L-m}`, each a function of the Start inputs only; the bound counts them.

    Parameters
    ----------
    length : int
        T, even.
    hidden : int
        R.
    depth : int
        L.
    """

    half = _start_end_half(length)
    hidden = _positive(hidden, "hidden")
    depth = _positive(depth, "depth")
    bound = 1
    for m in range(depth):
        degree = comb(half + m - 1, m)
        bound *= comb(hidden + degree - 1, degree)
    return bound


# -- Chapter 6: self-attention -----------------------------------------------------------------

def _embedding_rank(width: object, input_dim: object) -> int:
    width = _positive(width, "width")
    return width if input_dim is None else min(width, _positive(input_dim, "input_dim"))


def self_attention_degree(depth: int) -> int:
    r""":math:`3^L`: the degree of the output of L softmax-free self-attention layers as a polynomial in the inputs.

    Each layer :math:`y^{l+1,i} = \sum_{j,h}\langle W^{Q}y^{l,i}, W^{K}y^{l,j}\rangle W^{O}W^{V}y^{l,j}`
    is a homogeneous cubic map of the previous layer's tokens, so degrees multiply by 3 per layer
    (Levine et al., NeurIPS 2020, whose analysis rests on this polynomial structure). With residual
    connections :math:`3^L` is the maximal degree.

    Parameters
    ----------
    depth : int
        L, at least 1.
    """
    return 3 ** _positive(depth, "depth")


def self_attention_depth1_rank(width: int, input_dim: int | None = None) -> int:
    r""":math:`r + 1`, :math:`r = \min(M, d_x)`: separation rank of one softmax-free attention layer *[own derivation]*.

    Not a formula from the papers. One layer applies the same linear map to every token,
    :math:`y^{1,i} = T y^{0,i}` with :math:`T = \sum_h W^{O,h}W^{V,h} S\, (W^{K,h})^\top W^{Q,h}`
    and :math:`S = \sum_j y^{0,j}(y^{0,j})^\top = S_I + S_J`. With the read-out token in I,
    :math:`f = \langle w, T(S_I)\, y^{0,0}\rangle + \langle w, T(S_J)\, y^{0,0}\rangle`: a function of the I
    side alone plus a bilinear form between :math:`y^{0,0}`, which lives in the r-dimensional range
    of the embedding, and a vector built from the J side. Hence at most :math:`r + 1` terms, and
    exactly :math:`r + 1` for generic weights (the chapter on self-attention proves both halves), for
    every partition with two non-empty sides, any number of heads, with or without residual
    connections.

    Parameters
    ----------
    width : int
        :math:`d_x`.
    input_dim : int, optional
        M, the input dimension of an embedding :math:`E\in\mathbb R^{d_x\times M}`; without one,
        :math:`r = d_x`.
    """
    return _embedding_rank(width, input_dim) + 1


def self_attention_rank_upper_bound(width: int, depth: int, input_dim: int | None = None,
                                    residual: bool = False) -> int:
    r"""An upper bound on the separation rank of L softmax-free self-attention layers *[own derivation]*.

    Not the papers' bound. Let :math:`r = \min(M, d_x)` be the embedding rank,
    :math:`m = r(r+1)/2` the number of entries of a symmetric :math:`r\times r` matrix and
    :math:`D = (3^L - 1)/2`. Then, for every partition (I, J) of the tokens and any number of heads,

    .. math::  \operatorname{sep}(f; I, J) \le \sum_{j=0}^{D}
               \min\Bigl(\binom{m+j-1}{j},\; r\binom{m+D-j-1}{D-j}\Bigr),

    and with residual connections the same sum with :math:`\binom{m+D-j}{D-j}` in the second term.

    Proof sketch. Every layer applies one linear map to all tokens, :math:`y^{l+1,i} = T_l y^{l,i}`
    with :math:`T_l = \sum_h W^{O,l,h}W^{V,l,h} S^l (W^{K,l,h})^\top W^{Q,l,h}` and
    :math:`S^{l+1} = T_l S^l T_l^\top`. So :math:`T_l` is a polynomial in :math:`S^0`, homogeneous of
    degree :math:`3^l`, and :math:`f = \langle w, T_{L-1}\cdots T_0\, y^{0,0}\rangle` is linear in the
    read-out token and homogeneous of degree D in :math:`S^0 = S_I + S_J` (in the coordinates of the
    embedding's range: r and m variables). Split f by the degree j in the side without the read-out
    token: the degree-j part is a sum over the :math:`\binom{m+j-1}{j}` monomials of that side, and
    also a sum over the r coordinates of the read-out token times the
    :math:`\binom{m+D-j-1}{D-j}` monomials of degree D - j of the other side; the separation rank
    is subadditive.

    The bound depends on the width only through r, so an embedding of rank r caps it at the value
    of a width-r network (the embedding bottleneck of Wies et al., ICML 2021). For L = 1 it equals
    :func:`self_attention_depth1_rank`.

    Parameters
    ----------
    width : int
        :math:`d_x`.
    depth : int
        L.
    input_dim : int, optional
        M, the input dimension of the embedding (default: no embedding, :math:`r = d_x`).
    residual : bool
        Residual connections (default False).
    """

    r = _embedding_rank(width, input_dim)
    degree = (self_attention_degree(depth) - 1) // 2
    if not isinstance(residual, (bool, np.bool_)):
        raise TypeError(f"residual must be a bool, got {type(residual).__name__}")
    m = r * (r + 1) // 2
    extra = 1 if residual else 0
    return sum(min(comb(m + j - 1, j), r * comb(m + degree - j - 1 + extra, degree - j))
               for j in range(degree + 1))


def depth_efficiency_threshold(width: int) -> float:
    r""":math:`\log_3 d_x`: the depth at which Levine et al. (NeurIPS 2020) place the change of regime.

    Their analysis of softmax-free self-attention predicts a *depth-efficiency* regime for
    :math:`L < \log_3 d_x` (adding a layer multiplies the log of the separation rank by about 3, so a
    shallower network needs a much wider one to match) and a *depth-inefficiency* regime for
    :math:`L > \log_3 d_x` (depth and width contribute comparably). Only this threshold is used
    here; the paper's bounds themselves are not reproduced.

    Parameters
    ----------
    width : int
        :math:`d_x`.
    """
    return float(np.log(_positive(width, "width")) / np.log(3))
