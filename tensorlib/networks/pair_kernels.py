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
estimates, where speed matters less than one compiled kernel fewer). The kernels let LLVM fuse a
product and a sum into one FMA (``fastmath={"contract"}``, nothing else of fast-math): every
product and partial sum is an integer below :math:`2^{53}`, exact with or without the fusion, and
in the reduction the fused :math:`x - p\,q` is the exact difference rounded once.

No array views: in compiled code every array view (a row ``X[i]``, a slice) changes a reference
count, an atomic operation, and a chunk's recursion took a few hundred of them. So the helpers
index the 2-D arrays they are given, rows by number. Measured on one block of K = 1024 per side (one
thread, ``benchmarks/bench_fast_paths.py``), this, the FMAs and chunks of 256 pairs took the block
from 0.031 s to 0.020-0.024 s for the RAC and from 0.029 s to 0.020-0.022 s for self-attention
(the spread of quiet runs on a shared machine).

Compilation: numba compiles a kernel the first time it runs on a machine (measured: about 5 s
for self-attention's, 2 s for the RAC's), and caches the machine code on disk (``__pycache__``
beside this file, or numba's user cache when that is read-only); a later process loads it in
about 0.1 s, numba's own start included.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import numpy as np
from numba import njit

from ..fields.blas import FloatModP

__all__ = ["ENABLED", "usable", "exact_capacity", "to_centred", "run", "attention_rows", "rac_rows"]

#: Set to False to make the networks use their numpy kernels (the tests compare the two).
ENABLED = True

# Pairs per chunk: the per-pair arrays of a chunk (a few dozen vectors of this length, about 100 KB
# for self-attention of width 3) stay in L2. Measured against 64, 128, 512 and 1024: fastest for
# self-attention, within the noise of the best (512) for the RAC.
CHUNK = 256


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
    kernel(*outer, *inner, *fixed, float(p), out, swap)  # with swap, out[b, a] for the kernel's (a, b)
    return out


@njit(nogil=True, cache=True, inline="always", fastmath={"contract"})
def _reduce(x: float, p: float, pinv: float) -> float:  # pragma: no cover - compiled
    """:func:`tensorlib.fields.compiled.reduce_centred`, repeated here: numba's disk cache checks only
    the file of a cached function, so an inlined helper from another file could go stale."""
    return x - p * np.rint(x * pinv)


@njit(nogil=True, cache=True, inline="always", fastmath={"contract"})
def _sum_into(dst, d0, outer, a, inner, b0, m, n, p, pinv):  # pragma: no cover - compiled
    """``dst[d0 + k, :n]`` = ``outer[a, k] + inner[k, b0:b0+n]`` for ``k < m``, reduced in GF(p).

    Like every helper here, it indexes the 2-D arrays it is given and makes no array views: in a
    compiled function each view costs a reference count, which for a chunk of pairs adds up to
    microseconds.
    """
    for k in range(m):
        x0 = outer[a, k]
        for c in range(n):
            dst[d0 + k, c] = _reduce(x0 + inner[k, b0 + c], p, pinv)


@njit(nogil=True, cache=True, inline="always", fastmath={"contract"})
def _store(out, a, b0, acc, n, transposed, p, pinv):  # pragma: no cover - compiled
    """``out[a, b0:b0+n]`` (``out[b0:b0+n, a]`` if ``transposed``) = ``acc[:n]`` as residues in ``[0, p)``."""
    if transposed:
        for c in range(n):
            x = _reduce(acc[c], p, pinv)
            out[b0 + c, a] = np.int64(x + p if x < 0 else x)
    else:
        for c in range(n):
            x = _reduce(acc[c], p, pinv)
            out[a, b0 + c] = np.int64(x + p if x < 0 else x)


@njit(nogil=True, cache=True, inline="always", fastmath={"contract"})
def _dot(D, dr, X, xi, Y, yi, n, acc, reduce, p, pinv):  # pragma: no cover - compiled
    """``D[dr, c]`` = :math:`\\sum_k X[xi[dr, k], c]\\, Y[yi[dr, k], c]` over ``c < n``, reduced in GF(p) if
    ``reduce``.

    Three products per pass over the chunk (a pass reads and writes ``acc``): fewer passes over
    memory than one product at a time, for the short sums of these kernels.
    """
    count = xi.shape[1]
    k = 0
    while count - k > 3:
        r0, r1, r2, s0, s1, s2 = xi[dr, k], xi[dr, k + 1], xi[dr, k + 2], yi[dr, k], yi[dr, k + 1], yi[dr, k + 2]
        if k == 0:
            for c in range(n):
                acc[c] = X[r0, c] * Y[s0, c] + X[r1, c] * Y[s1, c] + X[r2, c] * Y[s2, c]
        else:
            for c in range(n):
                acc[c] += X[r0, c] * Y[s0, c] + X[r1, c] * Y[s1, c] + X[r2, c] * Y[s2, c]
        k += 3
    rest = count - k
    q0, q1, q2 = count - 1, count - 2 if rest > 1 else count - 1, count - 3 if rest > 2 else count - 1
    r0, r1, r2, s0, s1, s2 = xi[dr, q0], xi[dr, q1], xi[dr, q2], yi[dr, q0], yi[dr, q1], yi[dr, q2]
    for c in range(n):
        x = X[r0, c] * Y[s0, c]
        if rest > 1:
            x += X[r1, c] * Y[s1, c]
        if rest > 2:
            x += X[r2, c] * Y[s2, c]
        if k > 0:
            x += acc[c]
        D[dr, c] = _reduce(x, p, pinv) if reduce else x


@njit(nogil=True, cache=True, inline="always", fastmath={"contract"})
def _combine(D, dr, coef, cr, X, x0, n, acc, reduce, p, pinv):  # pragma: no cover - compiled
    """``D[dr, c]`` = :math:`\\sum_q \\mathrm{coef}[cr, q]\\, X[x_0 + q, c]` over ``c < n``, reduced if
    ``reduce`` (three terms per pass)."""
    count = coef.shape[1]
    k = 0
    while count - k > 3:
        a0, a1, a2 = coef[cr, k], coef[cr, k + 1], coef[cr, k + 2]
        q = x0 + k
        if k == 0:
            for c in range(n):
                acc[c] = a0 * X[q, c] + a1 * X[q + 1, c] + a2 * X[q + 2, c]
        else:
            for c in range(n):
                acc[c] += a0 * X[q, c] + a1 * X[q + 1, c] + a2 * X[q + 2, c]
        k += 3
    rest = count - k
    q0, q1, q2 = count - 1, count - 2 if rest > 1 else count - 1, count - 3 if rest > 2 else count - 1
    a0, a1, a2 = coef[cr, q0], coef[cr, q1], coef[cr, q2]
    for c in range(n):
        x = a0 * X[x0 + q0, c]
        if rest > 1:
            x += a1 * X[x0 + q1, c]
        if rest > 2:
            x += a2 * X[x0 + q2, c]
        if k > 0:
            x += acc[c]
        D[dr, c] = _reduce(x, p, pinv) if reduce else x


@njit(nogil=True, cache=True, fastmath={"contract"})
def attention_rows(first_o, S_o, T_o, first_i, S_i, T_i, maps, readout, w, full, ku, mu,
                   residual, p, out, transposed):  # pragma: no cover - compiled
    r"""``out[a, b]`` (``out[b, a]`` if ``transposed``) = the self-attention output of pair (a, b) (see
    ``SelfAttention._pair_values``).

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
    maps2 = maps.reshape(depth * dd, nq)
    w2 = w.reshape(1, d)
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
    packed = np.arange(nq).reshape(1, nq)
    C = CHUNK
    S = np.empty((nq, C))
    S2 = np.empty((nq, C))
    T = np.empty((dd, C))
    TS = np.empty((dd, C))
    v = np.empty((d, C))
    v2 = np.empty((d, C))
    Rv = np.empty((nq, C))
    result = np.empty((1, C))
    extra = np.empty((1, C))
    acc = np.empty(C)
    for a in range(A):
        for b0 in range(0, B, C):
            n = min(C, B - b0)
            _sum_into(S, 0, S_o, a, S_i, b0, nq, n, p, pinv)
            _sum_into(T, 0, T_o, a, T_i, b0, dd, n, p, pinv)
            _sum_into(v, 0, first_o, a, first_i, b0, d, n, p, pinv)
            for l in range(depth - 1):
                if l > 0:
                    for ij in range(dd):
                        _combine(T, ij, maps2, l * dd + ij, S, 0, n, acc, True, p, pinv)
                if residual:
                    for i in range(d):
                        for c in range(n):
                            T[i * d + i, c] += 1.0
                for i in range(d):
                    _dot(v2, i, T, Tv_x, v, Tv_y, n, acc, True, p, pinv)
                v, v2 = v2, v
                for ij in range(dd):
                    _dot(TS, ij, T, TS_x, S, TS_y, n, acc, True, p, pinv)
                for q in range(nq):  # S' = (T S) T^T, symmetric: its upper triangle
                    _dot(S2, q, TS, S2_x, T, S2_y, n, acc, True, p, pinv)
                S, S2 = S2, S
            for q in range(nq):
                _combine(Rv, q, readout, q, v, 0, n, acc, True, p, pinv)
            # The output, unreduced until it is stored: at most nq + d products (exact_capacity).
            _dot(result, 0, S, packed, Rv, packed, n, acc, False, p, pinv)
            if residual:
                _combine(extra, 0, w2, 0, v, 0, n, acc, False, p, pinv)
                for c in range(n):
                    result[0, c] += extra[0, c]
            _store(out, a, b0, result[0], n, transposed, p, pinv)


@njit(nogil=True, cache=True, fastmath={"contract"})
def rac_rows(states_o, inject_o, states_i, inject_i, W_H, W_I, w_O, p, out, transposed):  # pragma: no cover
    r"""``out[a, b]`` (``out[b, a]`` if ``transposed``) = the RAC output after prefix and suffix of pair (a, b).

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
    W_H2 = W_H.reshape(L * R, R)
    W_I2 = W_I.reshape(L * R, R)
    w_O2 = w_O.reshape(1, R)
    pinv = 1.0 / p
    C = CHUNK
    h = np.empty((L * R, C))
    inject = np.empty((steps * R, C))
    recur = np.empty((R, C))
    below = np.empty((R, C))
    result = np.empty((1, C))
    acc = np.empty(C)
    for a in range(A):
        for b0 in range(0, B, C):
            n = min(C, B - b0)
            _sum_into(h, 0, states_o, a, states_i, b0, L * R, n, p, pinv)
            _sum_into(inject, 0, inject_o, a, inject_i, b0, steps * R, n, p, pinv)
            for t in range(steps):
                for l in range(L):
                    for r in range(R):
                        _combine(recur, r, W_H2, l * R + r, h, l * R, n, acc, True, p, pinv)
                        if l > 0:
                            _combine(below, r, W_I2, l * R + r, h, (l - 1) * R, n, acc, True, p, pinv)
                    for r in range(R):  # the new state, h^l = recur o below, written over the old one
                        if l == 0:
                            for c in range(n):
                                h[r, c] = _reduce(recur[r, c] * inject[t * R + r, c], p, pinv)
                        else:
                            for c in range(n):
                                h[l * R + r, c] = _reduce(recur[r, c] * below[r, c], p, pinv)
            _combine(result, 0, w_O2, 0, h, (L - 1) * R, n, acc, False, p, pinv)
            _store(out, a, b0, result[0], n, transposed, p, pinv)
