"""Exact elimination mod p at BLAS speed: the rank of an integer matrix, and a growing factorization.

Why float64
-----------
A dense elimination over GF(p) does the multiply-adds of a float64 LU, so the LU's time (BLAS,
about 100 Gflop/s on two cores) is the floor; FLINT's ``nmod_mat`` in python-flint's wheels is not
linked to a BLAS and runs about 14 times slower. The way around it (FFLAS-FFPACK's) is to do the
block updates as float64 matrix products of centred residues :math:`|x| \\le h \\approx p/2`: a sum
of :math:`k` products is an integer of magnitude at most :math:`k h^2`, exact in float64 as long as

.. math::  k\\, h^2 + h < 2^{53},

whatever order BLAS adds the terms in. Products are cut along their inner dimension into chunks of
at most :math:`k_{\\max} = \\lfloor (2^{53} - h) / h^2 \\rfloor` terms and reduced mod p between
chunks (see :mod:`tensorlib.fields.blas` for the exact bounds, rounding included).

The primes
----------
:math:`k_{\\max}` falls with the square of p: 8192 for :math:`p < 2^{21}`, 2047 below :math:`2^{22}`,
512 below :math:`2^{23}` (the size of the FFLAS-FFPACK measurement in issue 14), and below 1 from
about :math:`2^{26.5}`. A larger :math:`k_{\\max}` lets the trailing matrix absorb more block
updates of :data:`PANEL` columns before it must be reduced (a few passes over memory): once every
8 updates below :math:`2^{22}`, every 2 below :math:`2^{23}`.
Measured on one BLAS thread (``benchmarks/bench_elimination.py``, ``--cases blas21 blas``), primes
below :math:`2^{21}` and :math:`2^{22}` run at the same speed (within the noise of our runs); :math:`p \\approx 2^{23}` costs 4 to
10% more at n = 3000 to 6561; primes above about :math:`2^{23.5}` split one factor of every
product into two limbs (:mod:`tensorlib.fields.blas`): still exact for every prime below
:math:`2^{31}`, at 2 to 2.8 times the cost. :data:`BLAS_PRIMES` are therefore the largest primes
below :math:`2^{22}`: the fastest, with the larger margin.

A smaller prime costs a margin of probability, never correctness. Reduction mod p is a ring
homomorphism, so a nonzero minor mod p is a nonzero integer minor and

.. math::  \\operatorname{rank}_{\\mathrm{GF}(p)}(F \\bmod p) \\le \\operatorname{rank}_{\\mathbb Q}(F)

always: every rank computed here is a certified lower bound. It is an equality unless p divides
every :math:`r \\times r` minor, r the rational rank. For a matrix whose entries are polynomials of
degree at most :math:`d` in residues drawn uniformly from GF(p), a minor that is nonzero as a
polynomial mod p (p does not divide all its coefficients) has degree at most :math:`rd` and
vanishes with probability at most :math:`rd/p` (Schwartz--Zippel); a uniformly random square
matrix over GF(p) is singular with probability about :math:`1/p`. Against :math:`p \\approx 2^{31}`
the margin of :math:`p \\approx 2^{22}` is a factor :math:`2^{9}` in these bounds. A rank that meets
a proven upper bound is certified whatever the prime; a rank that falls short of it (a *saturated*
rank) should be confirmed with a second, independent prime, such as the next one in
:data:`BLAS_PRIMES`: a spurious drop would have to happen for both primes.

What is here
------------
* :func:`rank_mod_p`: the rank of an integer matrix over GF(p), by a blocked right-looking
  elimination (panels of :data:`PANEL` columns factored recursively, trailing updates as float64
  products with delayed reduction), in one float64 working copy of the matrix.
* :class:`GrowingElimination`: the bordered elimination of the separation-rank driver, which adds
  ``k`` rows and columns at a time to a factorization it keeps, at the total cost of one
  elimination.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from .checks import check_int
from .fields import DEFAULT_PRIME, previous_prime, validate_prime
from .fields.blas import CHUNK_ENTRIES, FloatModP
from .pivots import pivots

__all__ = ["BLAS_PRIMES", "BLAS_PRIME", "PANEL", "rank_mod_p", "rank_bytes", "GrowingElimination"]

#: The three largest primes below :math:`2^{22}`: sums of up to 2047 products of centred residues
#: are exact in float64. The first is the recommended prime of the BLAS engine, the others are
#: independent primes for confirming a saturated rank.
BLAS_PRIMES: tuple = (DEFAULT_PRIME, previous_prime(DEFAULT_PRIME), previous_prime(previous_prime(DEFAULT_PRIME)))

#: The recommended prime for exact ranks on BLAS (the largest prime below :math:`2^{22}`).
BLAS_PRIME: int = BLAS_PRIMES[0]

#: Columns per panel of :func:`rank_mod_p`: the inner dimension of its trailing products.
PANEL = 256


def _integer_matrix(matrix: object, name: str) -> np.ndarray:
    a = np.asarray(matrix)
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got an array of shape {a.shape}")
    if a.dtype == bool:
        return a.astype(np.int64)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must have an integer dtype (residues or integers), got {a.dtype}")
    return a


def rank_mod_p(matrix: np.ndarray, p: int = BLAS_PRIME, *, panel: int = PANEL) -> int:
    """Rank over GF(p) of an integer matrix, with the block updates on float64 BLAS.

    Parameters
    ----------
    matrix : array of an integer dtype, shape (m, n)
        Any integers (negative, unreduced, any layout); they are reduced mod p.
    p : int
        A prime below ``2**31``; fastest below ``2**22`` (see the module docstring).
    panel : int
        Columns per panel (the inner dimension of the trailing products).

    Returns
    -------
    int
        :math:`\\operatorname{rank}_{\\mathrm{GF}(p)}(F \\bmod p)`.

    Notes
    -----
    The matrix is oriented to have no more rows than columns (a generic wide matrix then reaches
    full row rank after its first ``m`` columns, and the loop stops). Panel by panel, the panel
    :math:`A[R, C]` (R the rows without a pivot yet) is factored, giving pivot rows P, columns
    Q and :math:`M = A[P, Q]^{-1}`; the pivot rows are swapped to the top of R and the trailing
    columns T get the Schur complement

    .. math::  A[R \\setminus P, T] \\leftarrow A[R \\setminus P, T] - (A[R\\setminus P, Q]\\, M)\\, A[P, T],

    one float64 product with inner dimension ``len(P) <= panel``, subtracted unreduced until the
    bound of the module docstring would be passed. The rank is the number of pivots. Memory: the
    float64 working copy (8 m n bytes) and temporaries of a few panels (see :func:`rank_bytes`).
    """
    p = validate_prime(p, "p")
    panel = check_int(panel, "panel", 1)
    a = _integer_matrix(matrix, "matrix")
    if a.size == 0:
        return 0
    if a.shape[0] > a.shape[1]:
        a = a.T
    f = FloatModP(p)
    work, bound = f.convert(a)
    return _rank_in_place(f, work, bound, panel)


def _rank_in_place(f: FloatModP, work: np.ndarray, held: float, panel: int) -> int:
    """The blocked elimination of :func:`rank_mod_p` on a float64 array of integers bounded by ``held``.

    The array is overwritten. Panels and pivot rows are reduced as they are reached; the trailing
    matrix only when its next update could pass the float64 budget.
    """
    m, n = work.shape
    if n <= panel:
        return pivots(f, f.reduce(work), inverse=False, multipliers=False).rank
    top, col = 0, 0
    while col < n and top < m:
        stop = min(n, col + panel)
        block = f.reduce(work[top:, col:stop].copy())
        found = pivots(f, block, inverse=False, multipliers=stop < n)
        rows, r = found.rows, found.rank
        if r and stop < n:
            # Move the pivot rows to the top of the active rows with as few swaps as possible (none
            # for a generic matrix, whose first rows are its pivots), in the trailing columns only.
            outside = rows[rows >= r]
            holes = np.setdiff1d(np.arange(r), rows, assume_unique=True)
            multipliers = found.multipliers
            if outside.size:
                saved = work[top + outside, stop:]
                work[top + outside, stop:] = work[top + holes, stop:]
                work[top + holes, stop:] = saved
                # The multipliers follow the other rows, in increasing order, into their new places.
                others = np.setdiff1d(np.arange(block.shape[0]), rows, assume_unique=True)
                moved = np.arange(r, block.shape[0])
                moved[outside - r] = holes
                multipliers = multipliers[np.searchsorted(others, moved)]
            position = rows.copy()
            position[rows >= r] = holes
            pivot_rows = f.reduce(work[top + position, stop:])
            held = f.sub_matmul(work[top + r:, stop:], held, multipliers, pivot_rows)
        top += r
        col = stop
    return top


def rank_bytes(shape: tuple, panel: int = PANEL) -> int:
    """Peak bytes :func:`rank_mod_p` allocates for a matrix of this shape (besides the input).

    The float64 working copy, a panel, its multipliers and pivot rows, and the fixed-size
    temporaries of the products and reductions.
    """
    m, n = sorted(int(s) for s in shape)
    panel = min(panel, n)
    return 8 * (m * n + 2 * m * panel + panel * n + 4 * CHUNK_ENTRIES)


class GrowingElimination:
    """A bordered elimination over GF(p): add ``k`` rows and ``k`` columns at a time, get the rank.

    The separation-rank driver draws K samples per side, then k more per side: the sampled grid
    matrix :math:`F_K` (K x K) grows by ``k`` new columns for the old rows and ``k`` new rows
    of length K + k,

    .. math::  F_{K+k} = \\begin{pmatrix} F_K & B \\\\ C & E \\end{pmatrix}.

    While :math:`F_K` has full rank K, its block factorization :math:`F_K = L U` (L unit block
    lower triangular, U block upper triangular with diagonal blocks :math:`D_i`, whose inverses are
    kept) gives, with :math:`Y = L^{-1} B` and :math:`Z = C U^{-1}` (block triangular solves,
    products only: each block of Z is multiplied by :math:`D_i^{-1}` as it is finished),

    .. math::  \\operatorname{rank} F_{K+k} = K + \\operatorname{rank} S, \\qquad
               S = E - C F_K^{-1} B = E - Z Y,

    and when :math:`S` (k x k) is invertible the factorization grows by a block row Z of L, a
    block column Y of U and the diagonal block S (its inverse kept). (A factorization
    :math:`L D U` with both triangles unit would apply the :math:`D_i^{-1}` on both sides: about
    10 % more multiply-adds at the sizes of the book.)
    Otherwise the rank has stopped being full: it is *saturated* at :math:`K + \\operatorname{rank} S`,
    and the elimination ends.

    Growing to K in steps costs :math:`\\approx \\tfrac23 K^3` multiply-adds, one elimination of a
    K x K matrix, whatever the steps. The solves are left-looking: block i of Y is
    :math:`B_i - L_{i,<i} Y_{<i}` and block i of Z is :math:`(C_i - Z_{<i} U_{<i,i}) D_i^{-1}`,
    each one product whose output is only k x k_i (it stays in the cache) and whose inner
    dimension is everything before block i. The factorization is kept as the block rows
    :math:`Z` of L and the block columns :math:`Y` of U, each stored once, as it was found:
    :math:`K^2 + O(K)` float64 numbers in all (about half a K x K matrix each), never F.

    Parameters
    ----------
    p : int
        A prime below ``2**31``; default :data:`BLAS_PRIME`.

    Attributes
    ----------
    size : int
        Samples per side so far (the order of the matrix grown).
    rank : int
        Its rank over GF(p).
    saturated : bool
        Whether the rank has fallen below ``size`` (no further step is accepted).
    """

    def __init__(self, p: int = BLAS_PRIME) -> None:
        self.p = validate_prime(p, "p")
        self._f = FloatModP(self.p)
        self._lower: list = []     # block row i of L left of its diagonal, (k_i, K_i): the Z of step i
        self._upper: list = []     # block column i of U above its diagonal block, (K_i, k_i): the Y of step i
        self._inverses: list = []  # the inverses of D's diagonal blocks: (k_i, k_i)
        self._offsets = [0]
        self.size = 0
        self.rank = 0
        self.saturated = False

    def __repr__(self) -> str:
        state = "saturated" if self.saturated else "full rank"
        return f"GrowingElimination(p={self.p}, size={self.size}, rank={self.rank}, {state})"

    @property
    def nbytes(self) -> int:
        """Bytes held by the factorization (a block kept as a view of a caller's array counts that array)."""
        return sum(x.nbytes if x.base is None else x.base.nbytes for x in self._lower + self._upper + self._inverses)

    def step_bytes(self, k: int) -> int:
        """Peak bytes a :meth:`grow` by ``k`` allocates beyond :attr:`nbytes` (inputs excluded).

        The float64 copies of the inputs (:math:`2Kk + k^2` numbers; they become Y and Z, which are
        kept), for primes whose products need the limb split the two limbs of a factor of up to
        :math:`Kk` numbers (:math:`2Kk`), the Schur complement and its factorization (a few
        :math:`k^2`), and the fixed-size chunks of the conversions and products.
        """
        k = check_int(k, "k", 1)
        big, small = self.size * k, k * k
        return 8 * ((4 if self._f.split else 2) * big + 10 * small + 4 * CHUNK_ENTRIES)

    def _convert(self, block: np.ndarray):
        # The inputs are only added to reduced products before being reduced: residues need no reduction.
        x, bound = self._f.convert(block)
        return (self._f.reduce(x), float(self._f.h)) if bound > self._f.limit / 2 else (x, bound)

    def grow(self, new_columns: np.ndarray, new_rows: np.ndarray) -> int:
        """Add ``k`` rows and columns; return the rank of the grown matrix.

        Parameters
        ----------
        new_columns : integer array, shape (size, k)
            :math:`B`: the new columns' entries in the old rows.
        new_rows : integer array, shape (k, size + k)
            :math:`(C \\; E)`: the new rows, over the old columns then the new ones.

        Returns
        -------
        int
            The rank over GF(p) of the grown (size + k) x (size + k) matrix; below size + k
            exactly when the elimination has saturated (then :attr:`saturated` is True).

        Raises
        ------
        RuntimeError
            If the elimination has already saturated.
        ValueError, TypeError
            If the blocks do not have the shapes above or are not integer arrays.
        """
        cols = _integer_matrix(new_columns, "new_columns")
        rows = _integer_matrix(new_rows, "new_rows")
        self._check_step(cols, rows)
        size = self.size
        y, held_y = self._convert(cols)                  # becomes Y = L^-1 B
        z, held_z = self._convert(rows[:, :size])        # becomes Z = C U^-1
        return self._extend(y, held_y, z, held_z, self._convert(rows[:, size:])[0])

    def _grow_residues(self, new_columns: np.ndarray, new_rows: np.ndarray) -> int:
        """:meth:`grow` on C-contiguous float64 arrays of residues in ``[0, p)``, used in place (no copy).

        For the separation-rank driver, which writes each checked int64 block of the grid matrix
        into float64 arrays: ``new_columns`` becomes the block column Y of U and ``new_rows[:, :size]``
        the block row Z of L (kept as views), so the caller must not touch them afterwards. The
        values are not checked again (a fraction or a value out of range would make the rank wrong).
        """
        for name, a in (("new_columns", new_columns), ("new_rows", new_rows)):
            if not isinstance(a, np.ndarray) or a.dtype != np.float64 or a.ndim != 2 or not a.flags.c_contiguous:
                raise TypeError(f"{name} must be a C-contiguous 2-D float64 array of residues, "
                                f"got {type(a).__name__} {getattr(a, 'dtype', '')}; use grow for integer arrays")
        self._check_step(new_columns, new_rows)
        size, bound = self.size, float(self.p - 1)
        return self._extend(new_columns, bound, new_rows[:, :size], bound, new_rows[:, size:])

    def _check_step(self, cols: np.ndarray, rows: np.ndarray) -> None:
        if self.saturated:
            raise RuntimeError(f"the elimination saturated at rank {self.rank} with {self.size} samples per "
                               "side; its rank cannot grow further")
        size = self.size
        k = rows.shape[0]
        if k < 1:
            raise ValueError(f"new_rows must have at least one row, got shape {rows.shape}")
        if rows.shape != (k, size + k):
            raise ValueError(f"new_rows must have shape (k, size + k) = ({k}, {size + k}) for size={size}, "
                             f"got {rows.shape}")
        if cols.shape != (size, k):
            raise ValueError(f"new_columns must have shape (size, k) = ({size}, {k}), got {cols.shape}")

    def _extend(self, y: np.ndarray, held_y: float, z: np.ndarray, held_z: float, e_block: np.ndarray) -> int:
        """The step of :meth:`grow` on float64 blocks B (``y``), C (``z``) and E, each entry at most ``held`` in size."""
        f = self._f
        size, k = self.size, e_block.shape[0]
        offsets = self._offsets
        # Block forward substitutions, left-looking: block i of Y (of Z) is finished by one product
        # with everything before it, subtracted unreduced (reduced only when the bound requires it).
        for i, (lower, upper, inv) in enumerate(zip(self._lower, self._upper, self._inverses)):
            s, e = offsets[i], offsets[i + 1]
            f.sub_matmul(y[s:e], held_y, lower, y[:s])
            f.reduce(y[s:e])
            f.sub_matmul(z[:, s:e], held_z, z[:, :s], upper)
            z[:, s:e] = f.matmul(f.reduce(z[:, s:e]), inv)
        schur = e_block - f.matmul(z, y)
        f.reduce(schur)
        found = pivots(f, schur, inverse=True, multipliers=False)
        if found.rank < k:
            self.saturated = True
            self.rank = size + found.rank
            self.size = size + k
            return self.rank
        block_inverse = np.empty((k, k))
        block_inverse[np.ix_(found.cols, found.rows)] = found.inverse
        self._lower.append(z)
        self._upper.append(y)
        self._inverses.append(block_inverse)
        offsets.append(size + k)
        self.size = self.rank = size + k
        return self.rank
