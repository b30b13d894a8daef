"""The rank-revealing factorization of a block over GF(p), on float64 BLAS: pivots and multipliers.

:func:`pivots` finds pivot rows P and columns Q of a matrix A with :math:`A[P, Q]` invertible and
``len(P)`` the rank of A, recursively over column halves, with the exact float64 arithmetic of
:class:`tensorlib.fields.blas.FloatModP`. :mod:`tensorlib.elimination` builds its panel
factorizations and Schur-complement steps on it.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np

from .fields.blas import FloatModP
from .fields.compiled import gauss_jordan

__all__ = ["Pivots", "pivots"]

# Columns of a leaf of the panel factorization (below it, rows are eliminated one at a time).
_LEAF = 32


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
    if not f.split:  # the same steps, compiled: one Python step per pivot cost more than the arithmetic
        found_rows, found_cols = np.empty(t, dtype=np.int64), np.empty(t, dtype=np.int64)
        found = gauss_jordan(g, w, f.pf, found_rows, found_cols)
        rows.extend(found_rows[:found].tolist())
        cols.extend(found_cols[:found].tolist())
    else:  # primes whose products need the limb split (see FloatModP)
        free = np.ones(t)
        for j in range(w):
            column = g[:, j]
            candidates = np.flatnonzero(column * free)
            if candidates.size == 0:
                continue
            i = int(candidates[0])
            pivot_row = f.mul(g[i], f.inverse(column[i]))
            g -= f.mul(column[:, None], pivot_row[None, :])
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
