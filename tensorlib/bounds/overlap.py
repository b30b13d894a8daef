"""Bounds for ConvACs with overlapping receptive fields (stride smaller than the kernel).

Sharir & Shashua (ICLR 2018) analyse such networks; their theorems could not be checked against the
paper's text, so nothing here is quoted from it. The structural functions are definitions (the
positions of each layer, the degree of the output in each input, the total receptive field and
stride), and the rank bound is our own derivation, proved in its docstring.
"""

from __future__ import annotations

import math
from typing import Sequence, Tuple

from ..checks import check_int
from ..partitions import validate_partition

__all__ = ["layer_positions", "input_degrees", "receptive_fields", "overlap_rank_upper_bound"]


def layer_positions(n_inputs: int, kernels: Sequence[int], strides: Sequence[int]) -> Tuple[int, ...]:
    r""":math:`(n_0, n_1, \dots, n_L)`: the positions entering each layer, :math:`n_{l+1} = (n_l - k_l)/s_l + 1`.

    Raises ``ValueError`` unless :math:`s_l \le k_l \le n_l`, :math:`s_l` divides :math:`n_l - k_l`
    (so every position is read) and :math:`n_L = 1`.
    """
    n = check_int(n_inputs, "n_inputs", 1)
    kernels = [check_int(k, f"kernel[{l}]", 1) for l, k in enumerate(kernels)]
    strides = [check_int(s, f"stride[{l}]", 1) for l, s in enumerate(strides)]
    if len(kernels) != len(strides):
        raise ValueError(f"kernel and stride must have one entry per layer each, got {len(kernels)} and {len(strides)}")
    positions = [n]
    for l, (k, s) in enumerate(zip(kernels, strides)):
        if s > k:
            raise ValueError(f"stride[{l}]={s} exceeds kernel[{l}]={k}: positions between windows would be skipped")
        if k > n or (n - k) % s:
            raise ValueError(f"layer {l} reads {n} positions with kernel {k} and stride {s}: need kernel <= {n} and "
                             f"stride dividing {n} - kernel, so that the windows end at the last position")
        n = (n - k) // s + 1
        positions.append(n)
    if positions[-1] != 1:
        raise ValueError(f"the layers leave {positions[-1]} positions (positions per layer: {positions}); "
                         "the last layer must leave exactly one, e.g. with kernel = its input length")
    return tuple(positions)


def input_degrees(n_inputs: int, kernels: Sequence[int], strides: Sequence[int]) -> Tuple[int, ...]:
    r""":math:`d_i`: the number of paths from input i to the output, i.e. the degree of :math:`f` in :math:`x_i`.

    Every GC layer output is a product of linear forms of its window, so by induction each node is
    a homogeneous polynomial of degree (number of paths to it) in each input; the counts propagate
    from the output down, each node passing its count to every position of its window.
    """
    positions = layer_positions(n_inputs, kernels, strides)
    counts = [1]
    for l in range(len(kernels) - 1, -1, -1):
        below = [0] * positions[l]
        for j, c in enumerate(counts):
            for t in range(kernels[l]):
                below[j * strides[l] + t] += c
        counts = below
    return tuple(counts)


def receptive_fields(kernels: Sequence[int], strides: Sequence[int]) -> Tuple[Tuple[int, int], ...]:
    r"""``(R_l, S_l)`` per layer: total receptive field :math:`R_l = R_{l-1} + (k_l - 1) S_{l-1}`, total stride :math:`S_l = S_{l-1} s_l`."""
    out, R, S = [], 1, 1
    for l, (k, s) in enumerate(zip(kernels, strides)):
        k, s = check_int(k, f"kernel[{l}]", 1), check_int(s, f"stride[{l}]", 1)
        R, S = R + (k - 1) * S, S * s
        out.append((R, S))
    return tuple(out)


def overlap_rank_upper_bound(degrees: Sequence[int], input_dim: int, partition: object) -> int:
    r"""Upper bound on :math:`\operatorname{sep}(f; I, J)` for :math:`f` homogeneous of degree :math:`d_i` in each :math:`x_i\in\mathbb R^M`.

    .. math::  \operatorname{sep}(f; I, J) \le \min\Bigl(\prod_{i\in I}\binom{M+d_i-1}{d_i},\;
               \prod_{j\in J}\binom{M+d_j-1}{d_j}\Bigr).

    Our derivation (not a theorem of the paper): expand :math:`f` in the monomials of the
    I-side variables. Those of multidegree :math:`(d_i)_{i\in I}` span a space of dimension
    :math:`\prod_{i\in I}\binom{M+d_i-1}{d_i}`, and :math:`f = \sum_\mu \mu(x_I)\, c_\mu(x_J)`
    over that basis; the same holds for J. With every :math:`d_i = 1` (no overlaps) this is the
    multilinear bound :math:`M^{\min(|I|,|J|)}`.

    Parameters
    ----------
    degrees : sequence of N ints
        :math:`d_1, \dots, d_N` (e.g. :func:`input_degrees`).
    input_dim : int
        M.
    partition : (I, J)
        0-based positions.
    """
    degrees = [check_int(d, f"degrees[{i}]", 1) for i, d in enumerate(degrees)]
    M = check_int(input_dim, "input_dim", 1)
    I, J = validate_partition(partition, len(degrees))

    def side(positions: Sequence[int]) -> int:
        return math.prod(math.comb(M + degrees[i] - 1, degrees[i]) for i in positions)

    return min(side(I), side(J))
