"""Start--End bounds of recurrent arithmetic circuits (Levine, Sharir, Ziv & Shashua, arXiv 1710.09431).

The paper's Theorem 1 (depth 1, and a lower bound at depth 2) is recalled, not checked against the
paper's text; the upper bounds at depth 2 and beyond are our own derivation and say so.
"""

from __future__ import annotations

from math import comb

from ..checks import check_int

__all__ = ["shallow_rac_start_end_rank", "depth2_rac_start_end_lower_bound", "depth2_rac_start_end_upper_bound",
           "rac_start_end_upper_bound", "rac_cut_upper_bound"]


def _start_end_half(length: object) -> int:
    """T/2 for the Start--End partition; T must be even (and at least 2)."""
    length = check_int(length, "length", 2)
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
    input_dim = check_int(input_dim, "input_dim", 1)
    hidden = check_int(hidden, "hidden", 1)
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
    q = min(check_int(input_dim, "input_dim", 1), check_int(hidden, "hidden", 1))
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
    hidden = check_int(hidden, "hidden", 1)
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

    return rac_cut_upper_bound(_start_end_half(length), hidden, depth)


def rac_cut_upper_bound(suffix: int, hidden: int, depth: int) -> int:
    r""":math:`\prod_{m=0}^{L-1}\binom{R+c_m-1}{c_m}`, :math:`c_m=\binom{e+m-1}{m}`, for a cut of the sequence with e steps after it *[own derivation]*.

    The argument of :func:`rac_start_end_upper_bound` for a cut of the sequence into a prefix and a
    suffix of e steps (Start--End is e = T/2): the output is a combination, with suffix-dependent
    coefficients, of products of monomials of degree :math:`c_m` in the R coordinates of the state
    :math:`h^{k,L-m}` at the cut, each a function of the prefix alone. Depth 1 gives R.

    Parameters
    ----------
    suffix : int
        e, the number of steps after the cut (at least 1).
    hidden : int
        R.
    depth : int
        L.
    """
    suffix = check_int(suffix, "suffix", 1)
    hidden = check_int(hidden, "hidden", 1)
    depth = check_int(depth, "depth", 1)
    bound = 1
    for m in range(depth):
        degree = comb(suffix + m - 1, m)
        bound *= comb(hidden + degree - 1, degree)
    return bound
