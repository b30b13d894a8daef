"""Partitions (I, J) of the inputs {0, ..., N-1}.

A partition is a pair of sorted tuples of 0-based positions, disjoint, covering ``range(N)``, with
both sides non-empty. Every function that takes a ``partition`` accepts any such pair (lists, sets,
numpy arrays) and normalises it with :func:`validate_partition`.

Named partitions (0-based, so the book's 1-based :math:`I^{odd} = \\{1, 3, \\dots\\}` is
``(0, 2, ...)``):

* :func:`left_right` -- :math:`I = \\{0,\\dots,N/2-1\\}`, the coarse partition of the pooling-geometry
  paper; :func:`start_end` is the same partition under its sequence name (Start--End).
* :func:`odd_even` -- :math:`I = \\{0, 2, 4, \\dots\\}`, the interleaved partition of COLT 2016.
* :func:`balanced` -- a uniformly random partition with :math:`|I| = \\lfloor N/2 \\rfloor`.
"""

from __future__ import annotations

from typing import Iterable, Tuple

import numpy as np

__all__ = ["Partition", "validate_partition", "left_right", "odd_even", "start_end", "balanced"]

Partition = Tuple[Tuple[int, ...], Tuple[int, ...]]


def _validate_n(n: object, name: str = "n", minimum: int = 2) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(n).__name__}")
    n = int(n)
    if n < minimum:
        raise ValueError(f"{name} must be at least {minimum} (a partition needs two non-empty sides), got {n}")
    return n


def _as_positions(side: object, label: str) -> Tuple[int, ...]:
    if isinstance(side, (str, bytes)) or not isinstance(side, Iterable):
        raise TypeError(f"partition side {label} must be an iterable of ints, got {type(side).__name__}")
    out = []
    for item in side:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            raise TypeError(f"partition side {label} must contain ints, got {item!r}")
        out.append(int(item))
    if len(set(out)) != len(out):
        raise ValueError(f"partition side {label} repeats a position: {sorted(out)}")
    return tuple(sorted(out))


def validate_partition(partition: object, n: int) -> Partition:
    """Check that ``partition = (I, J)`` splits ``range(n)`` into two non-empty sides; return sorted tuples.

    Raises
    ------
    TypeError
        If ``partition`` is not a pair of iterables of ints.
    ValueError
        If a side is empty, the sides overlap, a position is outside ``range(n)``, or the sides do not
        cover ``range(n)``.
    """
    n = _validate_n(n, "n")
    if isinstance(partition, (str, bytes)) or not isinstance(partition, Iterable):
        raise TypeError(f"partition must be a pair (I, J) of position tuples, got {type(partition).__name__}")
    sides = list(partition)
    if len(sides) != 2:
        raise ValueError(f"partition must be a pair (I, J), got {len(sides)} parts")
    I, J = _as_positions(sides[0], "I"), _as_positions(sides[1], "J")
    if not I or not J:
        raise ValueError(f"partition sides must both be non-empty, got I={I}, J={J}")
    overlap = set(I) & set(J)
    if overlap:
        raise ValueError(f"partition sides must be disjoint; both contain {sorted(overlap)}")
    outside = [i for i in I + J if not 0 <= i < n]
    if outside:
        raise ValueError(f"partition positions must lie in range({n}) (0-based), got {sorted(outside)}")
    if len(I) + len(J) != n:
        missing = sorted(set(range(n)) - set(I) - set(J))
        raise ValueError(f"partition must cover all {n} positions; missing {missing}")
    return I, J


def left_right(n: int) -> Partition:
    """:math:`I = \\{0, \\dots, \\lceil N/2\\rceil - 1\\}`, :math:`J` the rest (for odd N, I is the larger side)."""
    n = _validate_n(n)
    half = (n + 1) // 2
    return tuple(range(half)), tuple(range(half, n))


def start_end(n: int) -> Partition:
    """The Start--End partition of a length-``n`` sequence: the same as :func:`left_right`."""
    return left_right(n)


def odd_even(n: int) -> Partition:
    """The interleaved partition, :math:`I = \\{0, 2, 4, \\dots\\}` and :math:`J = \\{1, 3, 5, \\dots\\}` (0-based)."""
    n = _validate_n(n)
    return tuple(range(0, n, 2)), tuple(range(1, n, 2))


def balanced(n: int, seed: int = 0) -> Partition:
    """A random partition with :math:`|I| = \\lfloor N/2 \\rfloor`, drawn with ``numpy.random.default_rng(seed)``."""
    n = _validate_n(n)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int (numpy.random.default_rng), got {seed}")
    perm = np.random.default_rng(seed).permutation(n)
    I = tuple(sorted(int(i) for i in perm[: n // 2]))
    J = tuple(sorted(int(j) for j in perm[n // 2:]))
    return I, J
