"""Bounds for softmax-free self-attention (Levine et al., NeurIPS 2020; Wies et al., ICML 2021).

Only the degree and the threshold :math:`\\log_3 d_x` come from the papers; the rank formulas here are
our own derivations from the structure of the network and say so.
"""

from __future__ import annotations

from math import comb
from typing import Optional

import numpy as np

from ..checks import check_bool, check_int

__all__ = ["embedding_rank", "one_hot_rank_upper_bound", "self_attention_degree", "self_attention_depth1_rank",
           "self_attention_rank_upper_bound", "depth_efficiency_threshold"]


def embedding_rank(width: int, input_dim: Optional[int] = None) -> int:
    """:math:`r = \\min(M, d_x)`: the rank of a generic embedding :math:`E \\in \\mathbb R^{d_x\\times M}` (:math:`d_x` without one).

    Parameters
    ----------
    width : int
        :math:`d_x`.
    input_dim : int, optional
        M, the input dimension of the embedding; None for a network without one.
    """
    width = check_int(width, "width", 1)
    return width if input_dim is None else min(width, check_int(input_dim, "input_dim", 1))


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
    return 3 ** check_int(depth, "depth", 1)


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
    return embedding_rank(width, input_dim) + 1


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

    r = embedding_rank(width, input_dim)
    degree = (self_attention_degree(depth) - 1) // 2
    residual = check_bool(residual, "residual")
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
    return float(np.log(check_int(width, "width", 1)) / np.log(3))


def one_hot_rank_upper_bound(vocabulary: int, width: int, depth: int, tokens: int, residual: bool = False) -> int:
    r"""Our bound on the separation rank of softmax-free self-attention over one-hot tokens *[own derivation]*.

    The inputs are one-hot vectors of :math:`\mathbb R^V` embedded by :math:`E\in\mathbb R^{d_x\times V}`
    (``SelfAttention(..., input_dim=V)``), :math:`r = \min(V, d_x)` the generic embedding rank,
    :math:`D = (3^L-1)/2` and :math:`n = V - 1`. For a partition (I, J) with the read-out token in I
    and :math:`|J|` = ``tokens``, the minimum of

    1. :math:`\binom{V+|J|-1}{|J|}`, the number of multisets of :math:`|J|` words: since
       :math:`xx^\top = \operatorname{diag}(x)` for a one-hot x, the network sees the J side only
       through its word counts;
    2. :math:`\sum_{j=0}^{D}\min\big(\binom{n+j-1}{j},\; r\binom{n+D-j}{D-j}\big)`: the counts of a
       side sum to its number of tokens, so only n of them are free, and the output is linear in
       the embedded read-out token and of degree at most D in the counts;
    3. :func:`self_attention_rank_upper_bound` (the bound for any inputs).

    The proof is in the chapter on self-attention (proposition "One-hot tokens").

    Parameters
    ----------
    vocabulary : int
        V, at least 1.
    width : int
        :math:`d_x`.
    depth : int
        L.
    tokens : int
        :math:`|J|`, the tokens of the side without the read-out token.
    residual : bool
        Residual connections (the bound holds with and without them; they enter only part 3).
    """
    V = check_int(vocabulary, "vocabulary", 1)
    J = check_int(tokens, "tokens", 1)
    r = embedding_rank(width, V)
    n, D = V - 1, (self_attention_degree(depth) - 1) // 2

    def monomials(variables: int, degree: int) -> int:  # of exactly this degree (1 for degree 0)
        return 1 if degree == 0 else comb(variables + degree - 1, degree)

    counts = sum(min(monomials(n, j), r * comb(n + D - j, D - j)) for j in range(D + 1))
    return min(comb(V + J - 1, J), counts,
               self_attention_rank_upper_bound(width, depth, input_dim=V, residual=residual))
