r"""Seeded synthetic tasks for the training experiments of Chapter 7 (numpy only, no jax).

Every task here is a **pair task**. A sample is a string of N symbols from an alphabet of M,
and a fixed list of position pairs :math:`(i_k, j_k)` says which positions are meant to agree:

* a **positive** sample (label +1) has :math:`s_{i_k} = s_{j_k}` for every pair;
* a **negative** sample (label -1) has the same law, except that a few pairs, chosen at random,
  disagree (their second symbol is redrawn among the other M - 1).

Every symbol, taken alone, is uniform in both classes, so no classifier can beat chance without
modelling the pairs jointly: all the information sits in the correlations between paired
positions. The label is the function :math:`\prod_k [s_{i_k} = s_{j_k}]` (on the data), whose
separation rank under a partition (I, J) is :math:`M^{c}`, with c the number of pairs that the
partition splits (each split pair contributes the rank-M identity matrix; see
:func:`pair_indicator_rank`). Which pairs a task uses decides which partitions it stresses:

* :func:`neighbour_pairs` -- horizontally adjacent pixels of an image (local structure);
* :func:`mirror_pairs` -- a pixel and its left-right mirror image (symmetry);
* :func:`offset_pairs` -- positions t and t + d inside blocks of 2d (correlations at distance d,
  e.g. d = N/2 for the Start--End partition of a sequence).

The pooling orders of two-dimensional ConvACs are here too: :func:`square_order` (a quad-tree over
the image, 2x2 pooling) and :func:`mirror_order` (a pixel pooled with its mirror images first), in
the convention of :class:`tensorlib.networks.DeepConvAC` (the network reads input ``order[k]`` at
tree position k).
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np

from ..checks import check_int, check_seed

__all__ = ["square_order", "mirror_order", "neighbour_pairs", "mirror_pairs", "offset_pairs",
           "pair_task", "one_hot", "pair_indicator_rank", "split_pairs"]

Pairs = List[Tuple[int, int]]


def _check_side(side: object) -> int:
    side = check_int(side, "side", 2)
    if side & (side - 1):
        raise ValueError(f"side must be a power of 2 (the image is pooled in 2x2 windows), got {side}")
    return side


def _morton(side: int) -> List[Tuple[int, int]]:
    """The cells (i, j) of a side x side grid in quad-tree (Morton) order: 2x2 blocks, then blocks of blocks."""
    bits = side.bit_length() - 1
    cells = []
    for k in range(side * side):
        i = j = 0
        for b in range(bits):
            j |= ((k >> (2 * b)) & 1) << b
            i |= ((k >> (2 * b + 1)) & 1) << b
        cells.append((i, j))
    return cells


def square_order(side: int) -> List[int]:
    """The quad-tree order of a side x side image: every pooling window of 4 is a 2x2 block of pixels.

    Pixel (i, j) is input ``side * i + j``. With ``DeepConvAC(side**2, M, widths, window=4,
    order=square_order(side))`` layer l pools :math:`2^l \\times 2^l` squares: square pooling.
    """
    side = _check_side(side)
    return [side * i + j for i, j in _morton(side)]


def mirror_order(side: int) -> List[int]:
    """Mirror pooling of a side x side image: a pixel with its three mirror images, then quad-trees.

    The first pooling window of each pixel (i, j) of the top-left quadrant holds (i, j), its
    left-right mirror (i, side-1-j), its top-bottom mirror (side-1-i, j) and the point mirror
    (side-1-i, side-1-j) (Cohen & Shashua, ICLR 2017). The groups follow the quad-tree order of the
    quadrant, so the next layers pool 2x2 blocks of groups. For ``side = 4`` this is the order of
    Chapter 4.
    """
    side = _check_side(side)
    order = []
    for i, j in _morton(side // 2):
        for a, b in ((i, j), (i, side - 1 - j), (side - 1 - i, j), (side - 1 - i, side - 1 - j)):
            order.append(side * a + b)
    return order


def neighbour_pairs(side: int) -> Pairs:
    """Horizontally adjacent pixels ``(i, 2k)`` and ``(i, 2k+1)``: side**2 / 2 disjoint local pairs."""
    side = _check_side(side)
    return [(side * i + 2 * k, side * i + 2 * k + 1) for i in range(side) for k in range(side // 2)]


def mirror_pairs(side: int) -> Pairs:
    """A pixel ``(i, j)`` of the left half and its mirror image ``(i, side-1-j)``: side**2 / 2 pairs."""
    side = _check_side(side)
    return [(side * i + j, side * i + side - 1 - j) for i in range(side) for j in range(side // 2)]


def offset_pairs(n: int, distance: int) -> Pairs:
    """Positions ``t`` and ``t + distance`` within consecutive blocks of ``2 * distance`` positions.

    ``offset_pairs(n, n // 2)`` pairs the start of a sequence with its end (every pair is split by
    the Start--End, or left/right, partition); ``offset_pairs(n, 2)`` pairs positions two apart
    inside blocks of 4. ``n`` must be a multiple of ``2 * distance``.
    """
    n = check_int(n, "n", 2)
    distance = check_int(distance, "distance", 1)
    if n % (2 * distance):
        raise ValueError(f"n={n} must be a multiple of 2 * distance = {2 * distance}")
    return [(b + t, b + t + distance) for b in range(0, n, 2 * distance) for t in range(distance)]


def _check_pairs(pairs: Sequence[Tuple[int, int]], n: int) -> Pairs:
    try:
        out = [(int(i), int(j)) for i, j in pairs]
    except (TypeError, ValueError):
        raise TypeError("pairs must be a sequence of (i, j) pairs of ints") from None
    flat = [p for pair in out for p in pair]
    if not out:
        raise ValueError("pairs must not be empty")
    if any(not 0 <= p < n for p in flat):
        raise ValueError(f"pairs must hold positions in range({n}), got {sorted(set(flat))[:3]}...")
    if len(set(flat)) != len(flat):
        raise ValueError("pairs must be disjoint (no position in two pairs)")
    return out


def pair_task(n_samples: int, n_positions: int, pairs: Sequence[Tuple[int, int]], *, alphabet: int = 2,
              max_defects: int = 1, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Draw a balanced pair task: symbols of shape (n_samples, n_positions) and labels in {+1, -1}.

    Parameters
    ----------
    n_samples : int
        The number of samples; the first half are positives, the second half negatives, and the
        whole set is shuffled.
    n_positions : int
        N, the length of a sample.
    pairs : sequence of (i, j)
        Disjoint position pairs (see :func:`neighbour_pairs`, :func:`mirror_pairs`, :func:`offset_pairs`).
        Positions in no pair hold independent uniform symbols in both classes.
    alphabet : int
        M, the number of symbols (at least 2).
    max_defects : int
        A negative breaks k pairs, k uniform in 1..min(max_defects, len(pairs)).
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    symbols : int64 array (n_samples, n_positions), entries in range(alphabet)
    labels : int64 array (n_samples,), +1 (every pair agrees) or -1 (k pairs disagree)
    """
    n_samples = check_int(n_samples, "n_samples", 2)
    n_positions = check_int(n_positions, "n_positions", 2)
    pairs = _check_pairs(pairs, n_positions)
    alphabet = check_int(alphabet, "alphabet", 2)
    max_defects = min(check_int(max_defects, "max_defects", 1), len(pairs))
    rng = np.random.default_rng(check_seed(seed))
    first = np.array([i for i, _ in pairs])
    second = np.array([j for _, j in pairs])
    symbols = rng.integers(0, alphabet, size=(n_samples, n_positions))
    symbols[:, second] = symbols[:, first]
    labels = np.ones(n_samples, dtype=np.int64)
    labels[n_samples // 2:] = -1
    for s in range(n_samples // 2, n_samples):
        k = int(rng.integers(1, max_defects + 1))
        broken = rng.choice(len(pairs), size=k, replace=False)
        # a uniform symbol other than the first one of the pair: each symbol stays uniform marginally
        shift = rng.integers(1, alphabet, size=k)
        symbols[s, second[broken]] = (symbols[s, first[broken]] + shift) % alphabet
    perm = rng.permutation(n_samples)
    return symbols[perm], labels[perm]


def one_hot(symbols: np.ndarray, alphabet: int) -> np.ndarray:
    """The inputs of a network: ``X[b, i] = e_{symbols[b, i]}``, shape (B, N, alphabet), float64.

    For a binary image this is the pair of representation functions :math:`(1-b, b)` of Cohen and
    Shashua's experiments (in the other order).
    """
    symbols = np.asarray(symbols)
    alphabet = check_int(alphabet, "alphabet", 1)
    if symbols.ndim != 2 or not np.issubdtype(symbols.dtype, np.integer):
        raise ValueError(f"symbols must be a 2-D integer array (samples, positions), got {symbols.dtype} "
                         f"of shape {symbols.shape}")
    if symbols.size and (symbols.min() < 0 or symbols.max() >= alphabet):
        raise ValueError(f"symbols must lie in range({alphabet})")
    return np.eye(alphabet)[symbols]


def split_pairs(pairs: Sequence[Tuple[int, int]], partition: Tuple[Sequence[int], Sequence[int]]) -> int:
    """The number of pairs with one position in I and the other in J."""
    I = set(int(i) for i in partition[0])
    return sum((i in I) != (j in I) for i, j in pairs)


def pair_indicator_rank(pairs: Sequence[Tuple[int, int]], partition: Tuple[Sequence[int], Sequence[int]],
                        alphabet: int = 2) -> int:
    r""":math:`\operatorname{sep}\big(\prod_k [s_{i_k} = s_{j_k}];\ I, J\big) = M^{c}`, c = split pairs.

    The function is a product of factors on disjoint pairs. A factor whose pair lies on one side is
    separable; one whose pair is split is the M x M identity matrix, of rank M. Separation ranks
    multiply over factors on disjoint sets of positions (the matricization is a Kronecker product
    of the factors' matricizations), so the rank is :math:`M^{c}`.
    """
    return check_int(alphabet, "alphabet", 2) ** split_pairs(pairs, partition)
