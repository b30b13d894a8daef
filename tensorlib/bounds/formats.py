"""Rank bounds of the tensor formats: CP (sums of products), Tucker, tensor trains, power sums.

Each function returns the number a theorem gives for a matricization :math:`[\\![\\mathcal A]\\!]_{I,J}`,
on plain descriptions of the format (ranks, dimensions, a partition), never on network classes.
A bound marked *[own derivation]* is not a paper's; the book says so where it uses it.
"""

from __future__ import annotations

from math import comb

import numpy as np

from ..checks import check_int, check_int_list
from ..partitions import validate_partition

__all__ = ["multilinear_rank_bound", "sum_of_products_rank", "tucker_rank_upper_bound",
           "tensor_train_rank_upper_bound", "power_sum_rank_upper_bound"]


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


def multilinear_rank_bound(input_dim: int, partition: object) -> int:
    r""":math:`M^{\min(|I|,|J|)}`: the separation rank bound of any function multilinear in its N inputs.

    Such a function is :math:`\langle \mathcal A, x_1\otimes\cdots\otimes x_N\rangle` for a
    coefficient tensor of dimension M in each mode (Cohen & Shashua, ICLR 2017, Claim 1), so its
    separation rank is the rank of :math:`[\![\mathcal A]\!]_{I,J}`, a matrix with :math:`M^{|I|}` rows and
    :math:`M^{|J|}` columns.

    Parameters
    ----------
    input_dim : int
        M.
    partition : (I, J)
    """
    input_dim = check_int(input_dim, "input_dim", 1)
    I, J = _partition_sides(partition)
    return input_dim ** min(len(I), len(J))


def sum_of_products_rank(terms: int, input_dim: int, partition: object) -> int:
    """:math:`\\min(R, M^{\\min(|I|,|J|)})`: the generic separation rank of a sum of R products of linear forms.

    This is the CP model, and so the shallow ConvAC with R = Z hidden channels. Upper bound: each
    product is separable, and the matricization has :math:`M^{\\min(|I|,|J|)}` rows or columns.
    Equality for generic weights (COLT 2016, App. B; ICLR 2017 §3.3). COLT 2016's Corollary 2 draws
    the consequence for depth: a shallow network needs :math:`Z \\ge \\min(r_0, M)^{N/2}` to match a
    generic deep one.

    Parameters
    ----------
    terms : int
        R (the number of products; the channels Z of a shallow ConvAC).
    input_dim : int
        M.
    partition : (I, J)
    """
    terms = check_int(terms, "terms", 1)
    return min(terms, multilinear_rank_bound(input_dim, partition))


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
    ranks = check_int_list(ranks, "ranks")
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
    it is at most :math:`\min(r_k, \prod_{i<k} M_i, \prod_{i\ge k} M_i)`, Oseledets' unfolding bound,
    and equals :math:`r_k` when the ranks are feasible (:math:`r_k \le r_{k-1} M_{k-1}` and
    :math:`r_k \le M_k r_{k+1}`); otherwise it can be smaller (``bond_ranks=[1, 5, 2]``, M = 3, k = 2: 3).

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
    bonds = check_int_list(bond_ranks, "bond_ranks")
    n = len(bonds) + 1
    if isinstance(mode_dims, (int, np.integer)) and not isinstance(mode_dims, bool):
        dims = [check_int(mode_dims, "mode_dims", 1)] * n
    else:
        dims = check_int_list(mode_dims, "mode_dims")
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

    terms = check_int(terms, "terms", 1)
    input_dim = check_int(input_dim, "input_dim", 1)
    degree = check_int(degree, "degree", 1)
    I, J = _partition_sides(partition)
    return min(terms, comb(input_dim + degree - 1, degree) ** min(len(I), len(J)))
