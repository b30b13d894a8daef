"""Matrix rank: estimated in float64, exact over GF(p).

* :func:`numerical_rank` counts singular values above a tolerance. It is an *estimate*: when the
  singular values of a matrix span more than about 16 orders of magnitude, as they do for the grid
  matrices of deep polynomial networks, it under-counts.
* :func:`exact_rank` computes the rank of an integer matrix over the prime field GF(p), by default
  with the BLAS engine of ``tensorlib.elimination`` (float64 products kept exact), with
  python-flint's ``nmod_mat`` as the reference path. Reduction mod p is a ring homomorphism
  :math:`\\mathbb Z \\to \\mathrm{GF}(p)`, so a nonzero :math:`k\\times k` minor mod p is a nonzero
  integer minor and

  .. math::  \\operatorname{rank}_{\\mathrm{GF}(p)}(F \\bmod p) \\le \\operatorname{rank}_{\\mathbb Q}(F)
             = \\operatorname{rank}_{\\mathbb R}(F).

  An exact rank is therefore a *certificate* that the real rank is at least that large.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
from typing import Optional

import flint
import numpy as np

from .checks import check_int
from .elimination import rank_bytes, rank_mod_p
from .fields import DEFAULT_PRIME, validate_prime

__all__ = ["numerical_rank", "singular_values", "exact_rank", "exact_rank_bytes", "default_memory_budget", "default_tolerance",
           "EXACT_RANK_METHODS"]


def _validate_matrix(matrix: object, name: str = "matrix") -> np.ndarray:
    if isinstance(matrix, np.ma.MaskedArray):
        raise TypeError(f"{name} is a masked array; its mask would be ignored: pass {name}.filled(value)")
    if isinstance(matrix, (flint.nmod_mat,)):
        raise TypeError(f"{name} must be a numpy array, got a flint nmod_mat; call .rank() on it directly")
    try:
        a = np.asarray(matrix)
    except Exception as err:  # ragged lists and the like
        raise TypeError(f"{name} must be convertible to a 2-D numpy array ({err})") from None
    if a.dtype == object:
        raise TypeError(f"{name} must have a numeric dtype, got object (ragged or mixed input?)")
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name} must have a numeric dtype, got {a.dtype}")
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got an array of shape {a.shape}; matricize a tensor first "
                         "(tensorlib.matricize)")
    return a


def singular_values(matrix: np.ndarray) -> np.ndarray:
    """Singular values :math:`\\sigma_1 \\ge \\sigma_2 \\ge \\dots \\ge 0` of a real matrix (float64)."""
    a = _validate_matrix(matrix)
    if np.iscomplexobj(a):
        raise TypeError("matrix must be real, got a complex array")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("matrix contains NaN or inf; singular values are undefined")
    if a.size == 0:
        return np.zeros(0)
    return np.linalg.svd(a, compute_uv=False)


def default_tolerance(sigma: np.ndarray, shape: tuple[int, int]) -> float:
    """numpy's default: :math:`\\sigma_{\\max} \\cdot \\max(m, n) \\cdot \\varepsilon_{64}`."""
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.ndim != 1:
        raise ValueError(f"sigma must be a 1-D array of singular values, got shape {sigma.shape}")
    if len(shape) != 2:
        raise ValueError(f"shape must be the matrix shape (m, n), got {shape!r}")
    if sigma.size == 0:
        return 0.0
    return float(sigma[0] * max(shape) * np.finfo(np.float64).eps)


def numerical_rank(matrix: np.ndarray, tol: Optional[float] = None) -> int:
    """Estimated rank: the number of singular values greater than ``tol``.

    The default tolerance is numpy's, :math:`\\sigma_{\\max}\\cdot\\max(m,n)\\cdot\\varepsilon`
    with :math:`\\varepsilon = 2^{-52}` (see :func:`default_tolerance`). This is an estimate, not a
    certificate: for ill-conditioned matrices it can be far below the true rank; use
    :func:`exact_rank` on an integer version of the matrix to certify.
    """
    a = _validate_matrix(matrix)
    if tol is not None:
        if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating, np.integer)):
            raise TypeError(f"tol must be a non-negative number or None, got {type(tol).__name__}")
        if not np.isfinite(tol) or tol < 0:
            raise ValueError(f"tol must be a finite non-negative number, got {tol}")
    sigma = singular_values(a)
    if tol is None:
        tol = default_tolerance(sigma, a.shape)
    return int(np.count_nonzero(sigma > tol))


#: The ways :func:`exact_rank` can compute a rank over GF(p).
EXACT_RANK_METHODS = ("auto", "blas", "flint")

# FLINT's LU is faster while the BLAS engine's Python steps (a few per pivot) dominate: measured
# crossover near 500 x 500 for p < 2**22 and 700 x 700 for p near 2**31 (benchmarks/bench_elimination.py).
_BLAS_MIN_SIDE = 512


def default_memory_budget() -> int:
    """Half of the machine's physical memory, in bytes: the default ``memory_budget`` of the exact routines."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 2
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX systems
        return 4 * 2**30


def exact_rank_bytes(shape: tuple, method: str = "auto") -> int:
    """Peak bytes :func:`exact_rank` allocates for a matrix of this shape, besides the input.

    BLAS: the elimination's float64 working copy and panels (``tensorlib.elimination.rank_bytes``)
    plus one integer copy of the input. FLINT: its own copy of the matrix and two of ours (the
    reduced and the contiguous one), 8 bytes an entry each.
    """
    m, n = (int(s) for s in shape)
    if method == "blas" or (method == "auto" and min(m, n) >= _BLAS_MIN_SIDE):
        return rank_bytes((m, n)) + 8 * m * n
    return 3 * 8 * m * n


def exact_rank(matrix: np.ndarray, p: Optional[int] = None, *, method: str = "auto",
               memory_budget: Optional[int] = None) -> int:
    """Rank over GF(p) of an integer matrix, computed exactly.

    Parameters
    ----------
    matrix : array of an integer dtype, shape (m, n)
        Entries may be any integers (negative ones included); they are reduced mod p.
    p : int, optional
        A prime below ``2**31``; default :data:`tensorlib.fields.DEFAULT_PRIME`.
    method : {"auto", "blas", "flint"}
        ``"blas"``: ``tensorlib.elimination.rank_mod_p``, an elimination whose block updates
        are float64 BLAS products kept below :math:`2^{53}` (fastest for primes below
        :math:`2^{22}`, e.g. ``tensorlib.elimination.BLAS_PRIME``; larger primes split one
        factor of each product). ``"flint"``: python-flint's ``nmod_mat`` LU, the reference.
        ``"auto"`` (default): BLAS for matrices with at least 512 rows and 512 columns, else FLINT.
        Both are exact; they differ only in speed.
    memory_budget : int, optional
        Bytes the elimination may allocate (default: half of the physical memory,
        :func:`default_memory_budget`). A matrix whose elimination would need more is refused
        before anything is allocated: FLINT aborts the whole process when an allocation fails.

    Returns
    -------
    int
        :math:`\\operatorname{rank}_{\\mathrm{GF}(p)}(F \\bmod p)`, which is at most the rank of
        :math:`F` over the rationals (and so over the reals): a certified lower bound.

    Raises
    ------
    TypeError
        If the matrix does not have an integer dtype (floats are refused even when integral,
        because a float matrix has usually been rounded already).
    ValueError
        If ``p`` is not a prime in ``[2, 2**31)`` (flint would abort the process), or ``method``
        is not one of :data:`EXACT_RANK_METHODS`.
    MemoryError
        If the elimination would need more than ``memory_budget`` bytes (:func:`exact_rank_bytes`);
        the message gives the estimate.
    """
    p = DEFAULT_PRIME if p is None else validate_prime(p, "p")
    if not isinstance(method, str) or method not in EXACT_RANK_METHODS:
        raise ValueError(f"method must be one of {EXACT_RANK_METHODS}, got {method!r}")
    a = _validate_matrix(matrix)
    if a.dtype == bool:
        a = a.astype(np.int64)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"exact_rank needs an integer matrix, got dtype {a.dtype}; evaluate the model in GF(p) "
                        "(exact=True) or convert integral floats with .astype(np.int64)")
    if a.size == 0:
        return 0
    budget = default_memory_budget() if memory_budget is None else check_int(memory_budget, "memory_budget", 1)
    need = exact_rank_bytes(a.shape, method)
    if need > budget:
        raise MemoryError(f"exact_rank: eliminating a {a.shape[0]} x {a.shape[1]} matrix needs about "
                          f"{need / 2**30:.3g} GiB, above memory_budget = {budget / 2**30:.3g} GiB; use a smaller "
                          "matrix (fewer samples, e.g. max_samples in separation_rank) or raise memory_budget")
    if method == "blas" or (method == "auto" and min(a.shape) >= _BLAS_MIN_SIDE):
        return rank_mod_p(a, p)
    if a.dtype == np.uint64:
        a = np.mod(a, np.uint64(p)).astype(np.int64)
    a = a.astype(np.int64, copy=False)
    # Sampled grid matrices arrive already reduced: skip the copy that np.mod would make.
    reduced = a if (a.min() >= 0 and a.max() < p) else np.mod(a, p)
    # Rank is invariant under transposition; flint eliminates rows, so give it the wide side as columns.
    if reduced.shape[0] > reduced.shape[1]:
        reduced = reduced.T
    fast = _rank_via_buffer(reduced, p)
    if fast is not None:
        return fast
    return _rank_via_python_flint(reduced, p)


def _rank_via_python_flint(reduced: np.ndarray, p: int) -> int:
    """The portable path: python-flint's ``nmod_mat`` built from a list (about 0.2 us per entry)."""
    return int(flint.nmod_mat(reduced.tolist(), p).rank())


@functools.lru_cache(maxsize=1)
def _libflint() -> Optional[ctypes.CDLL]:
    """The FLINT shared library bundled with python-flint's wheel, if it can be found and has the symbols."""
    pkg = os.path.dirname(os.path.dirname(flint.__file__))
    for path in sorted(glob.glob(os.path.join(pkg, "python_flint.libs", "libflint*.so*"))):
        try:
            lib = ctypes.CDLL(path)
            for name in ("nmod_mat_init", "nmod_mat_clear", "nmod_mat_lu", "nmod_mat_entry_ptr"):
                getattr(lib, name)
        except (OSError, AttributeError):
            continue
        lib.nmod_mat_init.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_ulong]
        lib.nmod_mat_init.restype = None
        lib.nmod_mat_clear.argtypes = [ctypes.c_void_p]
        lib.nmod_mat_clear.restype = None
        lib.nmod_mat_lu.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        lib.nmod_mat_lu.restype = ctypes.c_long
        lib.nmod_mat_entry_ptr.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long]
        lib.nmod_mat_entry_ptr.restype = ctypes.c_void_p
        return lib
    return None


# Below this many entries the list path is as fast and needs no shared-library lookup.
_BUFFER_MIN_ENTRIES = 1 << 16


def _rank_via_buffer(reduced: np.ndarray, p: int) -> Optional[int]:
    """FLINT's LU factorization (the routine behind ``nmod_mat.rank``), fed by one memory copy instead of a Python list.

    Building an ``nmod_mat`` from a list costs a Python int per entry (about 9 s and 1.7 GB at
    6561 x 6561). Here the matrix is allocated by FLINT itself, its entries are located with
    ``nmod_mat_entry_ptr`` and filled with ``memmove`` from the numpy buffer. The path is used only
    when the entries are one contiguous row-major block (checked through FLINT's own pointers);
    otherwise it returns None and the portable path runs. ``p`` has been checked prime by the caller.
    """
    rows, cols = reduced.shape
    if rows * cols < _BUFFER_MIN_ENTRIES:
        return None
    lib = _libflint()
    if lib is None:
        return None
    data = np.ascontiguousarray(reduced).view(np.uint64)  # residues are non-negative: a view, not a copy
    mat = ctypes.create_string_buffer(512)  # larger than nmod_mat_struct in any FLINT 3 release
    lib.nmod_mat_init(mat, rows, cols, p)
    try:
        first = lib.nmod_mat_entry_ptr(mat, 0, 0)
        second_row = lib.nmod_mat_entry_ptr(mat, 1, 0) if rows > 1 else first + 8 * cols
        last = lib.nmod_mat_entry_ptr(mat, rows - 1, cols - 1)
        if not first or second_row != first + 8 * cols or last != first + 8 * (rows * cols - 1):
            return None
        ctypes.memmove(first, data.ctypes.data, data.nbytes)
        # nmod_mat_rank would copy the matrix before factoring it; this copy is ours to overwrite,
        # so factor it in place (rank_check=0: a full LU with pivoting, whose return value is the rank).
        permutation = (ctypes.c_long * rows)()
        return int(lib.nmod_mat_lu(permutation, mat, 0))
    finally:
        lib.nmod_mat_clear(mat)
