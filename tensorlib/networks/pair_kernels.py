r"""Compiled per-pair kernels (numba) for the grid matrices of self-attention and deep RACs.

Where a network's mixed part cannot stay factored (:mod:`tensorlib.networks.pair_values`), every
entry :math:`F[a,b]` of a sampled grid matrix is one evaluation of a small recursion on
:math:`d\times d` matrices (self-attention) or on R-vectors (a RAC's states along the suffix). In
numpy each step of it is a pass over a long vector of pairs; here it runs, for a chunk of a few
hundred pairs of one row, on arrays that stay in the cache, with the pairs as the inner loop (so the
compiler vectorizes it) and without temporaries.

Arithmetic: GF(p) on *centred* residues held in float64 (the
convention of :class:`tensorlib.fields.blas.FloatModP`): a value is reduced by
:math:`x - p\,\mathrm{rint}(x/p)` after every dot product, so it is at most :math:`h = \lfloor p/2
\rfloor + 2` in magnitude, and a dot product of :math:`k` terms stays below :math:`k (h+1)^2 + h`.
:func:`exact_capacity` says whether that is below :math:`2^{53}` for the longest dot product of a
kernel (about 2000 terms for the default prime :math:`4194301 < 2^{22}`, none for primes near
:math:`2^{31}`). The callers keep their numpy kernels for those primes and for float64 (the
estimates, where speed matters less than one compiled kernel fewer).

Compilation: numba compiles a kernel the first time it runs on a machine (measured: about 8 s
for self-attention's, 4 s for the RAC's), and caches the machine code on disk (``__pycache__`` beside this file, or numba's user cache when that is
read-only); a later process loads it in about 0.1 s, numba's own start included.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np
from numba import njit

from ..fields.blas import FloatModP

__all__ = ["ENABLED", "usable", "exact_capacity", "to_centred", "run", "attention_rows", "rac_rows"]

#: Set to False to make the networks use their numpy kernels (the tests compare the two).
ENABLED = True

# Pairs per chunk: the per-pair arrays of a chunk (a few dozen vectors of this length) stay in L2.
CHUNK = 512


def exact_capacity(p: Optional[int], terms: int) -> bool:
    """True when the kernels are exact mod ``p`` with dot products of up to ``terms`` products (False for float64)."""
    if p is None:
        return False
    f = FloatModP(p)
    return f.inner_capacity(f.h + 1, f.h + 1) >= terms


def usable(p: Optional[int], terms: int) -> bool:
    """Whether a network should call the kernels: :data:`ENABLED` and :func:`exact_capacity`."""
    return ENABLED and exact_capacity(p, terms)


def to_centred(x: np.ndarray, p: int) -> np.ndarray:
    """float64 copy of integer ``x``: the centred residues mod p, in ``(-p/2, p/2)``."""
    x = np.asarray(x)
    r = np.mod(x.astype(np.int64, copy=False), p)
    return np.ascontiguousarray(np.where(r > p // 2, r - p, r), dtype=np.float64)


def run(kernel: Callable, rows: Sequence[np.ndarray], cols: Sequence[np.ndarray], fixed: Sequence[Any],
        p: int, out: np.ndarray) -> np.ndarray:
    """Fill ``out`` (A, B, int64) with ``kernel`` mod ``p``, the longer side of the block as the inner loop.

    ``rows`` and ``cols`` are the per-sample inputs of the two sides, first axis the sample (A or
    B), each side's array of an input having the same trailing size (zeros on the side an input
    does not depend on); ``fixed`` the kernel's weight arguments. Residues are passed centred.
    """
    swap = out.shape[0] > out.shape[1]
    outer, inner = (cols, rows) if swap else (rows, cols)
    outer = [to_centred(x, p).reshape(x.shape[0], -1) for x in outer]
    inner = [np.ascontiguousarray(to_centred(x, p).reshape(x.shape[0], -1).T) for x in inner]
    target = np.empty(out.shape[::-1], dtype=out.dtype) if swap else out
    kernel(*outer, *inner, *fixed, float(p), target)
    if swap:
        out[...] = target.T
    return out


@njit(nogil=True, cache=True, inline="always")
def _reduce(x: float, p: float, pinv: float) -> float:  # pragma: no cover - compiled
    """:func:`tensorlib.fields.compiled.reduce_centred`, repeated here: numba's disk cache checks only
    the file of a cached function, so an inlined helper from another file could go stale."""
    return x - p * np.rint(x * pinv)


@njit(nogil=True, cache=True, inline="always")
def _sum_into(dst, outer, inner, b0, n, p, pinv):  # pragma: no cover - compiled
    """``dst[k, :n]`` = ``outer[k] + inner[k, b0:b0+n]``, reduced in GF(p)."""
    for k in range(outer.shape[0]):
        x0 = outer[k]
        src = inner[k]
        row = dst[k]
        for c in range(n):
            x = x0 + src[b0 + c]
            row[c] = _reduce(x, p, pinv)


@njit(nogil=True, cache=True, inline="always")
def _store(row, b0, acc, n, p, pinv):  # pragma: no cover - compiled
    """``row[b0:b0+n]`` = ``acc[:n]`` as residues in ``[0, p)`` (int64)."""
    for c in range(n):
        x = _reduce(acc[c], p, pinv)
        row[b0 + c] = np.int64(x + p if x < 0 else x)


@njit(nogil=True, cache=True, inline="always")
def _put(dst, c, x, reduce, p, pinv):  # pragma: no cover - compiled
    dst[c] = _reduce(x, p, pinv) if reduce else x


@njit(nogil=True, cache=True, inline="always")
def _dot(dst, X, xi, Y, yi, n, acc, reduce, p, pinv):  # pragma: no cover - compiled
    """``dst[c]`` = :math:`\\sum_k X[xi_k, c]\\, Y[yi_k, c]` over ``c < n``, reduced in GF(p).

    Three products per pass over the chunk (a pass reads and writes ``acc``): fewer passes over
    memory than one product at a time, for the short sums of these kernels.
    """
    count = xi.shape[0]
    k = 0
    while count - k > 3:
        x0, x1, x2, y0, y1, y2 = X[xi[k]], X[xi[k + 1]], X[xi[k + 2]], Y[yi[k]], Y[yi[k + 1]], Y[yi[k + 2]]
        if k == 0:
            for c in range(n):
                acc[c] = x0[c] * y0[c] + x1[c] * y1[c] + x2[c] * y2[c]
        else:
            for c in range(n):
                acc[c] += x0[c] * y0[c] + x1[c] * y1[c] + x2[c] * y2[c]
        k += 3
    rest = count - k
    x0, y0 = X[xi[count - 1]], Y[yi[count - 1]]
    x1, y1 = X[xi[count - 2 if rest > 1 else count - 1]], Y[yi[count - 2 if rest > 1 else count - 1]]
    x2, y2 = X[xi[count - 3 if rest > 2 else count - 1]], Y[yi[count - 3 if rest > 2 else count - 1]]
    if k == 0:
        if rest == 1:
            for c in range(n):
                _put(dst, c, x0[c] * y0[c], reduce, p, pinv)
        elif rest == 2:
            for c in range(n):
                _put(dst, c, x0[c] * y0[c] + x1[c] * y1[c], reduce, p, pinv)
        else:
            for c in range(n):
                _put(dst, c, x0[c] * y0[c] + x1[c] * y1[c] + x2[c] * y2[c], reduce, p, pinv)
    else:
        if rest == 1:
            for c in range(n):
                _put(dst, c, acc[c] + x0[c] * y0[c], reduce, p, pinv)
        elif rest == 2:
            for c in range(n):
                _put(dst, c, acc[c] + x0[c] * y0[c] + x1[c] * y1[c], reduce, p, pinv)
        else:
            for c in range(n):
                _put(dst, c, acc[c] + x0[c] * y0[c] + x1[c] * y1[c] + x2[c] * y2[c], reduce, p, pinv)


@njit(nogil=True, cache=True, inline="always")
def _combine(dst, coef, X, n, acc, reduce, p, pinv):  # pragma: no cover - compiled
    """``dst[c]`` = :math:`\\sum_q \\mathrm{coef}_q X[q, c]` over ``c < n``, reduced (three terms per pass)."""
    count = coef.shape[0]
    k = 0
    while count - k > 3:
        a0, a1, a2, x0, x1, x2 = coef[k], coef[k + 1], coef[k + 2], X[k], X[k + 1], X[k + 2]
        if k == 0:
            for c in range(n):
                acc[c] = a0 * x0[c] + a1 * x1[c] + a2 * x2[c]
        else:
            for c in range(n):
                acc[c] += a0 * x0[c] + a1 * x1[c] + a2 * x2[c]
        k += 3
    rest = count - k
    a0, x0 = coef[count - 1], X[count - 1]
    a1, x1 = coef[count - 2 if rest > 1 else count - 1], X[count - 2 if rest > 1 else count - 1]
    a2, x2 = coef[count - 3 if rest > 2 else count - 1], X[count - 3 if rest > 2 else count - 1]
    if k == 0:
        if rest == 1:
            for c in range(n):
                _put(dst, c, a0 * x0[c], reduce, p, pinv)
        elif rest == 2:
            for c in range(n):
                _put(dst, c, a0 * x0[c] + a1 * x1[c], reduce, p, pinv)
        else:
            for c in range(n):
                _put(dst, c, a0 * x0[c] + a1 * x1[c] + a2 * x2[c], reduce, p, pinv)
    else:
        if rest == 1:
            for c in range(n):
                _put(dst, c, acc[c] + a0 * x0[c], reduce, p, pinv)
        elif rest == 2:
            for c in range(n):
                _put(dst, c, acc[c] + a0 * x0[c] + a1 * x1[c], reduce, p, pinv)
        else:
            for c in range(n):
                _put(dst, c, acc[c] + a0 * x0[c] + a1 * x1[c] + a2 * x2[c], reduce, p, pinv)


@njit(nogil=True, cache=True)
def attention_rows(first_o, S_o, T_o, first_i, S_i, T_i, maps, readout, w, full, ku, mu,
                   residual, p, out):  # pragma: no cover - compiled
    r"""``out[a, b]`` = the self-attention output of pair (a, b) (see ``SelfAttention._pair_values``).

    Each per-pair input is the sum of an outer part (index a, first axis) and an inner part
    (index b, last axis; the pairs of a chunk are the inner loop): :math:`S = S_I + S_J` (packed
    upper triangle, ``nq`` entries), :math:`T_0 = T_I + T_J` (row-major, :math:`d^2`) and
    :math:`v = y^{0,0}` (zero on the side without token 0). Each layer but the last maps
    :math:`T \leftarrow \mathrm{maps}[l]\,S` (from the second on), :math:`v \leftarrow T v` and
    :math:`S \leftarrow T S T^\top`; the last gives :math:`\sum_q S_q (\mathrm{readout}\, v)_q`
    (:math:`+ \langle w, v\rangle` with residual connections).
    """
    A, d = first_o.shape
    B = S_i.shape[1]
    nq = ku.shape[0]
    dd = d * d
    depth = maps.shape[0]
    pinv = 1.0 / p
    # Row indices of the factors of each sum: (T v)_i, (T S)_ij, (TS T^T)_q, and the output.
    Tv_x, Tv_y = np.empty((d, d), np.int64), np.empty((d, d), np.int64)
    TS_x, TS_y = np.empty((dd, d), np.int64), np.empty((dd, d), np.int64)
    S2_x, S2_y = np.empty((nq, d), np.int64), np.empty((nq, d), np.int64)
    for i in range(d):
        for k in range(d):
            Tv_x[i, k], Tv_y[i, k] = i * d + k, k
            for j in range(d):
                TS_x[i * d + j, k], TS_y[i * d + j, k] = i * d + k, full[k, j]
    for q in range(nq):
        for k in range(d):
            S2_x[q, k], S2_y[q, k] = ku[q] * d + k, mu[q] * d + k
    packed = np.arange(nq)
    C = CHUNK
    S = np.empty((nq, C))
    S2 = np.empty((nq, C))
    T = np.empty((dd, C))
    TS = np.empty((dd, C))
    v = np.empty((d, C))
    v2 = np.empty((d, C))
    Rv = np.empty((nq, C))
    result = np.empty(C)
    extra = np.empty(C)
    acc = np.empty(C)
    for a in range(A):
        for b0 in range(0, B, C):
            n = min(C, B - b0)
            _sum_into(S, S_o[a], S_i, b0, n, p, pinv)
            _sum_into(T, T_o[a], T_i, b0, n, p, pinv)
            _sum_into(v, first_o[a], first_i, b0, n, p, pinv)
            for l in range(depth - 1):
                if l > 0:
                    for ij in range(dd):
                        _combine(T[ij], maps[l, ij], S, n, acc, True, p, pinv)
                if residual:
                    for i in range(d):
                        dst = T[i * d + i]
                        for c in range(n):
                            dst[c] += 1.0
                for i in range(d):
                    _dot(v2[i], T, Tv_x[i], v, Tv_y[i], n, acc, True, p, pinv)
                v, v2 = v2, v
                for ij in range(dd):
                    _dot(TS[ij], T, TS_x[ij], S, TS_y[ij], n, acc, True, p, pinv)
                for q in range(nq):  # S' = (T S) T^T, symmetric: its upper triangle
                    _dot(S2[q], TS, S2_x[q], T, S2_y[q], n, acc, True, p, pinv)
                S, S2 = S2, S
            for q in range(nq):
                _combine(Rv[q], readout[q], v, n, acc, True, p, pinv)
            # The output, unreduced until it is stored: at most nq + d products (exact_capacity).
            _dot(result, S, packed, Rv, packed, n, acc, False, p, pinv)
            if residual:
                _combine(extra, w, v, n, acc, False, p, pinv)
                for c in range(n):
                    result[c] += extra[c]
            _store(out[a], b0, result, n, p, pinv)


@njit(nogil=True, cache=True)
def rac_rows(states_o, inject_o, states_i, inject_i, W_H, W_I, w_O, p, out):  # pragma: no cover
    r"""``out[a, b]`` = the RAC output after prefix and suffix of pair (a, b).

    As in :func:`attention_rows`, each per-pair input is the sum of an outer part (first axis a)
    and an inner part (last axis b), one of them zero: the states :math:`h^{k,l}` after the prefix,
    ``states_o`` (A, L R) or ``states_i`` (L R, B), and the first layer's input terms
    :math:`W^{I,1} x^{k+s}` of the suffix's t steps, ``inject_o`` (A, t R) or ``inject_i``
    (t R, B). ``W_H`` (L, R, R), ``W_I`` (L, R, R) (entry 0 unused). Per pair and step, layer by
    layer: :math:`h^l \leftarrow (W^{H,l} h^l) \circ (W^{I,l} h^{l-1})`, the first layer's
    second factor being the input term; the output is :math:`\langle w^O, h^L\rangle`.
    """
    A = states_o.shape[0]
    L, R = W_H.shape[0], W_H.shape[1]
    steps = inject_i.shape[0] // R
    B = inject_i.shape[1]
    pinv = 1.0 / p
    C = CHUNK
    h = np.empty((L * R, C))
    inject = np.empty((steps * R, C))
    recur = np.empty((R, C))
    below = np.empty((R, C))
    result = np.empty(C)
    acc = np.empty(C)
    for a in range(A):
        for b0 in range(0, B, C):
            n = min(C, B - b0)
            _sum_into(h, states_o[a], states_i, b0, n, p, pinv)
            _sum_into(inject, inject_o[a], inject_i, b0, n, p, pinv)
            for t in range(steps):
                for l in range(L):
                    state = h[l * R:(l + 1) * R]
                    for r in range(R):
                        _combine(recur[r], W_H[l, r], state, n, acc, True, p, pinv)
                        if l > 0:
                            _combine(below[r], W_I[l, r], h[(l - 1) * R:l * R], n, acc, True, p, pinv)
                    if l == 0:
                        below[:, :n] = inject[t * R:(t + 1) * R, :n]
                    for r in range(R):  # the new state, h^l = recur o below, written over the old one
                        x1, x2, dst = recur[r], below[r], state[r]
                        for c in range(n):
                            x = x1[c] * x2[c]
                            dst[c] = _reduce(x, p, pinv)
            _combine(result, w_O, h[(L - 1) * R:], n, acc, False, p, pinv)
            _store(out[a], b0, result, n, p, pinv)
