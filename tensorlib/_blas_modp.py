"""Exact arithmetic mod p on float64 arrays, and the rank-revealing factorization of a panel.

The kernels behind :mod:`tensorlib.elimination` (read its docstring for the choice of primes).
Every array here holds integers in float64. Two invariants make every operation exact:

* a value is never larger in magnitude than :attr:`FloatModP.limit` (below :math:`2^{53}`), so it
  is represented exactly, and so is every partial sum of a matrix product whose terms are bounded
  the same way (BLAS may add the terms in any order, or fuse them: integers below :math:`2^{53}`
  are added exactly in any order);
* a *reduced* value is the centred representative :math:`x - p\\,\\mathrm{rint}(x/p)`, whose
  magnitude is at most :attr:`FloatModP.h` :math:`= \\lfloor p/2 \\rfloor + 2` (the 2 absorbs the
  rounding of :math:`x \\cdot (1/p)`), and which is 0 exactly when :math:`p \\mid x`.

A product of :math:`k` terms of two reduced factors is then bounded by :math:`k h^2`, and a
matrix product is cut along its inner dimension into chunks of at most :attr:`FloatModP.kmax`
terms, reduced between chunks. When that allows fewer than 256 terms (primes above about
:math:`2^{23.5}`) one factor is split in two limbs, :math:`b = \\beta b_{hi} + b_{lo}` with
:math:`\\beta \\approx \\sqrt{2h}` so that both limbs are about :math:`\\sqrt{h/2}` (362 terms fit
for :math:`p < 2^{31}`), and the two products are reduced and recombined (twice the work).
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional, Tuple

import numpy as np

__all__ = ["FloatModP", "Pivots", "pivots"]

# Below this kmax (primes above about 2**23.5) one split product beats many thin unsplit ones.
_MIN_DIRECT_KMAX = 256
# Temporaries of the in-place updates are cut to about this many float64 entries (16 MB).
_CHUNK_ENTRIES = 1 << 21
# Columns of a leaf of the panel factorization (below it, rows are eliminated one at a time).
_LEAF = 32


class FloatModP:
    """Exact arithmetic modulo a prime ``p < 2**31`` on float64 arrays of integers.

    Parameters
    ----------
    p : int
        A prime (not checked here: :mod:`tensorlib.elimination` validates it).

    Attributes
    ----------
    h : int
        Bound on the magnitude of a reduced value, :math:`\\lfloor p/2\\rfloor + 2`.
    limit : float
        Bound on the magnitude of any value held: :math:`\\min(2^{53} - 2^{32}, 2^{50} p)`. The
        :math:`2^{32}` margin keeps :math:`p\\,\\mathrm{rint}(x/p)` exact; the :math:`2^{50} p` cap
        (binding only for :math:`p < 8`) keeps the rounding error of :math:`x/p` below 1/4, so that
        multiples of p reduce to exactly 0.
    kmax : int
        The most products of two reduced values that may be added to a reduced value (0 when the
        limb split is used).
    split : bool
        Whether products split one factor into two limbs, base :attr:`limb`.
    """

    def __init__(self, p: int) -> None:
        self.p = int(p)
        self.pf = float(p)
        self.pinv = 1.0 / self.pf
        self.h = self.p // 2 + 2
        self.limit = float(min(2**53 - 2**32, 2**50 * self.p))
        direct = self.inner_capacity(self.h, self.h)
        self.split = direct < _MIN_DIRECT_KMAX
        self.kmax = 0 if self.split else direct
        # b = limb * rint(b / limb) + low: both limbs near sqrt(h / 2) when limb is near sqrt(2 h).
        self.limb = float(math.isqrt(2 * self.h) + 1)
        self.h_low = int(self.limb) // 2 + 1
        self.h_high = self.h // int(self.limb) + 1

    def inner_capacity(self, ha: float, hb: float, held: Optional[float] = None) -> int:
        """How many products of factors bounded by ``ha`` and ``hb`` fit on top of a value bounded by ``held``."""
        held = self.h if held is None else held
        return max(0, int((self.limit - held) // (float(ha) * float(hb))))

    # -- reduction and conversion -------------------------------------------------------------
    def reduce(self, x: np.ndarray) -> np.ndarray:
        """Reduce ``x`` in place to centred representatives and return it (cut into row chunks)."""
        if x.ndim != 2 or x.size <= _CHUNK_ENTRIES:
            return self._reduce(x)
        step = max(1, _CHUNK_ENTRIES // max(1, x.shape[1]))
        for start in range(0, x.shape[0], step):
            self._reduce(x[start:start + step])
        return x

    def _reduce(self, x: np.ndarray) -> np.ndarray:
        quotient = np.multiply(x, self.pinv)
        np.rint(quotient, out=quotient)
        quotient *= self.pf
        x -= quotient
        return x

    def convert(self, a: np.ndarray) -> Tuple[np.ndarray, float]:
        """float64 copy of a 2-D integer array (any integer dtype, any layout) and a bound on its entries.

        Row chunks whose entries are below :attr:`limit` in magnitude (residues always are) are
        converted as they are; others are first reduced in their integer dtype (exact for every
        int64 and uint64). No temporary is larger than a chunk. The result is not reduced.
        """
        out = np.empty(a.shape, dtype=np.float64)
        bound = 0.0
        step = max(1, _CHUNK_ENTRIES // max(1, a.shape[1])) if a.ndim == 2 else 1
        for start in range(0, a.shape[0] if a.size else 0, step):
            block = a[start:start + step]
            low, high = float(block.min()), float(block.max())
            if not (high < self.limit and low > -self.limit):
                if block.dtype == np.uint64:
                    block = np.mod(block, np.uint64(self.p))
                block = np.mod(block.astype(np.int64, copy=False), self.p)
                low, high = 0.0, float(self.p - 1)
            out[start:start + step] = block
            bound = max(bound, high, -low)
        return out, bound

    def from_integers(self, a: np.ndarray) -> np.ndarray:
        """Centred float64 residues of a 2-D integer array (see :meth:`convert`)."""
        return self.reduce(self.convert(a)[0])

    def inverse(self, value: float) -> float:
        """The centred inverse of a nonzero residue."""
        inv = pow(int(value) % self.p, -1, self.p)
        return float(inv - self.p if inv > self.p // 2 else inv)

    # -- products -----------------------------------------------------------------------------
    def _split(self, b: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        high = np.rint(np.multiply(b, 1.0 / self.limb))
        low = b - high * self.limb
        return high, low

    def mul(self, a: np.ndarray, b) -> np.ndarray:
        """Elementwise product of reduced values (with broadcasting), reduced."""
        if not self.split:
            return self._reduce(np.multiply(a, b))
        high, low = self._split(np.asarray(b, dtype=np.float64))
        out = self._reduce(np.multiply(a, high))
        out *= self.limb
        out += np.multiply(a, low)
        return self._reduce(out)

    def _chunked_product(self, a: np.ndarray, b: np.ndarray, hb: float) -> np.ndarray:
        """``a @ b`` reduced, for ``|a| <= h`` and ``|b| <= hb``, cut along the inner dimension."""
        inner = a.shape[1]
        step = self.inner_capacity(self.h, hb)
        if inner <= step:
            return self._reduce(a @ b)
        out = None
        for start in range(0, inner, step):
            part = a[:, start:start + step] @ b[start:start + step]
            if out is None:
                out = part
            else:
                out += part
            self._reduce(out)
        return out

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Matrix product of reduced 2-D arrays, reduced."""
        if a.shape[1] == 0:
            return np.zeros((a.shape[0], b.shape[1]))
        if not self.split:
            return self._chunked_product(a, b, self.h)
        high, low = self._split(b)
        out = self._chunked_product(a, high, self.h_high)
        out *= self.limb
        out += self._chunked_product(a, low, self.h_low)
        return self._reduce(out)

    def sub_matmul(self, c: np.ndarray, held: float, a: np.ndarray, b: np.ndarray) -> float:
        """``c -= a @ b`` in place, exactly, for reduced ``a``, ``b``; returns the new bound on ``|c|``.

        ``held`` bounds ``|c|`` on entry. Without the limb split the products are subtracted
        unreduced (delayed reduction): ``c`` is reduced only when the next chunk could pass
        :attr:`limit`. The temporaries are cut into column blocks of about 16 MB.
        """
        m, n = c.shape
        inner = a.shape[1]
        if inner == 0 or m == 0 or n == 0:
            return held
        width = max(1, min(n, _CHUNK_ENTRIES // max(1, m)))
        if self.split:
            # The two limb products are reduced, the high one scaled by the base and both subtracted
            # unreduced: one reduction fewer than subtracting the reduced product.
            step = self.h * self.limb + self.h
            if held + step > self.limit:
                self.reduce(c)
                held = self.h
            high, low = self._split(b)
            for col in range(0, n, width):
                part = self._chunked_product(a, high[:, col:col + width], self.h_high)
                part *= self.limb
                part += self._chunked_product(a, low[:, col:col + width], self.h_low)
                c[:, col:col + width] -= part
            return held + step
        h2 = float(self.h) ** 2
        buffer = np.empty(m * width)
        start = 0
        while start < inner:
            room = self.inner_capacity(self.h, self.h, held)
            if room < min(inner - start, self.kmax):
                self.reduce(c)
                held = self.h
                room = self.kmax
            stop = min(inner, start + room)
            a_part, b_part = a[:, start:stop], b[start:stop]
            for col in range(0, n, width):
                w = min(width, n - col)
                product = np.matmul(a_part, b_part[:, col:col + w], out=buffer[:m * w].reshape(m, w))
                c[:, col:col + w] -= product
            held += (stop - start) * h2
            start = stop
        return held


# -- the rank-revealing factorization of a panel -------------------------------------------------

class Pivots(NamedTuple):
    """A rank-revealing factorization of a matrix A over GF(p) (see :func:`pivots`)."""

    rows: np.ndarray                     #: P, the pivot rows, in the order found
    cols: np.ndarray                     #: Q, the pivot columns, paired with P
    inverse: Optional[np.ndarray]        #: :math:`M = A[P, Q]^{-1}` (rows in Q's order, columns in P's)
    multipliers: Optional[np.ndarray]    #: :math:`H = A[R, Q] M`, R the other rows in increasing order

    @property
    def rank(self) -> int:
        return int(self.rows.size)


def _first_block(f: FloatModP, block: np.ndarray, basis: np.ndarray, rows: list, cols: list) -> None:
    """Gauss--Jordan, column by column, on the top rows of a leaf: the pivots a generic panel needs.

    Works on :math:`[X \\mid I_t]` for the top block X (t rows); pivot rows are only ever added to
    other rows, so each pivot row ends as :math:`T X` with T supported on pivot rows. Fills
    ``basis`` (``[E | T]``, see :func:`_leaf`), ``rows`` and ``cols``.
    """
    t, w = block.shape
    g = np.zeros((t, w + t))
    g[:, :w] = block
    g[np.arange(t), w + np.arange(t)] = 1.0
    free = np.ones(t)
    for j in range(w):
        column = g[:, j]
        candidates = np.flatnonzero(column * free)
        if candidates.size == 0:
            continue
        i = int(candidates[0])
        pivot_row = f.mul(g[i], f.inverse(column[i]))
        if f.split:
            g -= f.mul(column[:, None], pivot_row[None, :])
        else:
            g -= np.multiply.outer(column, pivot_row)  # below h + h**2: exact, reduced next
        f._reduce(g)
        g[i] = pivot_row
        free[i] = 0.0
        rows.append(i)
        cols.append(j)
    r = len(rows)
    basis[:r, :w] = g[rows, :w]
    basis[:r, w:w + r] = g[np.ix_(rows, [w + i for i in rows])]


def _leaf(f: FloatModP, a: np.ndarray, multipliers: bool) -> Pivots:
    """:func:`pivots` of a narrow matrix (at most ``_LEAF`` columns).

    The pivots are kept as a reduced row echelon basis ``E`` (``E[:, Q] = I``) together with the
    combination ``T`` of pivot rows that gives it, :math:`E = T A[P]`; at the end
    :math:`T = A[P,Q]^{-1}`. The top ``w + 4`` rows are eliminated column by column
    (:func:`_first_block`); if they do not give ``w`` pivots, the residuals of all the remaining
    rows are computed at once (one product), and only rows with a nonzero residual are visited,
    one at a time. A tall panel costs one pass and a few Python steps per pivot, not one per row.
    """
    m, w = a.shape
    basis = np.zeros((w, 2 * w))  # [E | T], one row per pivot
    rows: list = []
    cols: list = []
    batch = min(m, w + 4)
    _first_block(f, a[:batch], basis, rows, cols)
    unvisited = np.arange(batch, m)
    while len(cols) < w and unvisited.size:
        r = len(cols)
        residual = a[unvisited] - f.matmul(a[np.ix_(unvisited, cols)], basis[:r, :w])
        f._reduce(residual)
        unvisited = unvisited[np.any(residual != 0, axis=1)]
        candidates, unvisited = unvisited[:w - r + 4], unvisited[w - r + 4:]
        for i in candidates:
            r = len(cols)
            row = np.zeros(2 * w)
            row[:w] = a[i]
            if r:
                row -= f.matmul(a[i, cols][None, :], basis[:r])[0]
                f._reduce(row)
            nonzero = np.flatnonzero(row[:w])
            if nonzero.size == 0:
                continue
            j = int(nonzero[0])
            row[w + r] = 1.0
            row = f.mul(row, f.inverse(row[j]))
            if r:
                basis[:r] = f._reduce(basis[:r] - f.mul(basis[:r, j:j + 1], row[None, :]))
            basis[r] = row
            rows.append(int(i))
            cols.append(j)
            if len(cols) == w:
                break
    r = len(cols)
    P, Q = np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)
    inv = basis[:r, w:w + r].copy()
    H = None
    if multipliers:
        rest = np.setdiff1d(np.arange(m), P, assume_unique=True)
        H = f.matmul(a[np.ix_(rest, Q)], inv)
    return Pivots(P, Q, inv, H)


def pivots(f: FloatModP, a: np.ndarray, inverse: bool = True, multipliers: bool = True) -> Pivots:
    """Rank-revealing factorization over GF(p) of a reduced matrix ``a`` (not modified).

    Returns pivot rows P and columns Q, ``len(P) = len(Q) = rank(a)``, with :math:`A[P, Q]`
    invertible, and on request :math:`M = A[P,Q]^{-1}` and the multipliers :math:`H = A[R,Q] M`
    of the other rows R (in increasing order): the Schur complement of the pivots in any further
    columns T is :math:`A[R, T] - H A[P, T]`.

    Recursive on columns. With the left half's :math:`(P_1, Q_1, M_1, H_1)` and its other rows
    :math:`R_1`, the right half's Schur complement :math:`S = A[R_1, \\text{right}] - H_1 A[P_1,
    \\text{right}]` has pivots :math:`(P_2, Q_2, M_2, H_2)` (:math:`P_2 \\subset R_1`, other rows
    :math:`R_2`). With :math:`Z = H_1[P_2]` (that is :math:`A_{21} M_1`) and :math:`Y = M_1 A_{12}`
    (:math:`A_{12} = A[P_1, Q_2]`), the block inverse formula gives

    .. math::  M = \\begin{pmatrix} M_1 + Y M_2 Z & -Y M_2 \\\\ -M_2 Z & M_2 \\end{pmatrix}, \\qquad
               H = \\begin{pmatrix} H_1[R_2] - H_2 Z & H_2 \\end{pmatrix}.
    """
    m, n = a.shape
    if m == 0 or n == 0:
        empty = np.zeros(0, dtype=np.intp)
        return Pivots(empty, empty, np.zeros((0, 0)), np.zeros((m, 0)))
    if n <= _LEAF:
        return _leaf(f, a, multipliers)
    half = n // 2
    left = pivots(f, a[:, :half], inverse, True)
    r1 = left.rank
    if r1 == 0:
        right = pivots(f, a[:, half:], inverse, multipliers)
        return right._replace(cols=right.cols + half)
    rest1 = np.setdiff1d(np.arange(m), left.rows, assume_unique=True)
    if rest1.size == 0:
        return left
    schur = a[rest1, half:]
    f.sub_matmul(schur, f.h, left.multipliers, a[left.rows, half:])
    f.reduce(schur)
    right = pivots(f, schur, inverse, multipliers)
    if right.rank == 0:
        return left
    rows = np.concatenate([left.rows, rest1[right.rows]])
    cols = np.concatenate([left.cols, right.cols + half])
    z = left.multipliers[right.rows]
    inv = H = None
    if inverse:
        y = f.matmul(left.inverse, a[np.ix_(left.rows, right.cols + half)])
        y_m2 = f.matmul(y, right.inverse)
        top_left = left.inverse + f.matmul(y_m2, z)
        f._reduce(top_left)
        inv = np.block([[top_left, -y_m2], [-f.matmul(right.inverse, z), right.inverse]])
    if multipliers:
        kept = np.setdiff1d(np.arange(rest1.size), right.rows, assume_unique=True)
        H = np.empty((kept.size, rows.size))
        H[:, :r1] = left.multipliers[kept]
        if kept.size:
            f.sub_matmul(H[:, :r1], f.h, right.multipliers, z)
            f.reduce(H[:, :r1])
        H[:, r1:] = right.multipliers
    return Pivots(rows, cols, inv, H)
