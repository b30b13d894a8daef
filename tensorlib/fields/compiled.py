r"""Compiled (numba) GF(p) kernels on centred float64 residues, for loops too fine for numpy.

The convention is :class:`tensorlib.fields.blas.FloatModP`'s: integers held in float64, reduced to
the centred representative :math:`x - p\,\mathrm{rint}(x/p)` (magnitude at most
:math:`\lfloor p/2\rfloor + 2`), exact while every value stays below :math:`2^{53}`. The callers
check that bound (they use these kernels only for primes whose products of two reduced values fit,
``FloatModP.split`` False). No fast-math flags: results do not depend on the machine's vector
width. The first call in a process initializes numba (about 0.15 s); compiled code is cached on disk.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["reduce_centred", "gauss_jordan"]


@njit(nogil=True, cache=True, inline="always")
def reduce_centred(x: float, p: float, pinv: float) -> float:  # pragma: no cover - compiled
    """The centred residue of an integer-valued float ``x`` (``pinv`` = 1/p)."""
    return x - p * np.rint(x * pinv)


@njit(nogil=True, cache=True)
def _inverse(x: float, p: float) -> float:  # pragma: no cover - compiled
    """The centred inverse mod p of a nonzero residue (extended Euclid in int64)."""
    q = np.int64(p)
    a = np.int64(x) % q
    t, new_t, r, new_r = np.int64(0), np.int64(1), q, a
    while new_r != 0:
        k = r // new_r
        t, new_t = new_t, t - k * new_t
        r, new_r = new_r, r - k * new_r
    if t < 0:
        t += q
    return float(t - q) if t > q // 2 else float(t)


@njit(nogil=True, cache=True)
def gauss_jordan(g, width, p, rows, cols):  # pragma: no cover - compiled
    """Gauss--Jordan on the first ``width`` columns of ``g`` (t x n, reduced), in place; returns the rank.

    Column by column, the pivot is the first row not yet used whose entry is nonzero; the pivot
    row is scaled to 1 there and subtracted from every other row (all n columns), so that each
    pivot row ends as a combination of pivot rows only. ``rows[k]``, ``cols[k]`` receive the k-th
    pivot. Every entry stays reduced.
    """
    t, n = g.shape
    pinv = 1.0 / p
    free = np.ones(t, dtype=np.bool_)
    rank = 0
    for j in range(width):
        i = -1
        for r in range(t):
            if free[r] and g[r, j] != 0.0:
                i = r
                break
        if i < 0:
            continue
        inv = _inverse(g[i, j], p)
        for c in range(n):
            g[i, c] = reduce_centred(g[i, c] * inv, p, pinv)
        for r in range(t):
            if r == i:
                continue
            m = g[r, j]
            if m != 0.0:
                for c in range(n):
                    g[r, c] = reduce_centred(g[r, c] - m * g[i, c], p, pinv)
        free[i] = False
        rows[rank] = i
        cols[rank] = j
        rank += 1
    return rank
