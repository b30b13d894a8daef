"""Grid tensors and sampled grid matrices: the matrices whose ranks bound separation ranks.

For :math:`f:(\\mathbb R^M)^N\\to\\mathbb R` and a partition (I, J),
:math:`\\operatorname{sep}(f; I, J)` is the least R such that
:math:`f = \\sum_{\\nu=1}^R g_\\nu(x_I)\\, g'_\\nu(x_J)`. For any points
:math:`x_I^{(1)},\\dots,x_I^{(K)}` and :math:`x_J^{(1)},\\dots,x_J^{(K)}` the *sampled grid matrix*
:math:`F_{ab} = f(x_I^{(a)}, x_J^{(b)})` is a sum of R rank-one matrices, so
:math:`\\operatorname{rank} F \\le \\operatorname{sep}(f; I, J)`. The grid tensor on templates
(:func:`grid_tensor`) is the special case where both sides run over all template combinations.

Every value a model returns passes :func:`tensorlib.models.check_values`, so an exact (GF(p))
matrix holds integers mod p and nothing else.
"""

from __future__ import annotations

import os
from concurrent.futures import wait
from typing import Any, Optional, Tuple

import numpy as np

from .checks import check_bool, check_int, check_seed
from .fields import DEFAULT_PRIME, Field, validate_prime
from .models import as_array, check_values, evaluate_model, validate_inputs, validate_model
from .partitions import Partition, validate_partition
from .threads import assembly_pool, blas_controller, in_assembly_worker

__all__ = ["GRID_MEMORY_BUDGET", "check_dense_size", "resolve_prime", "grid_tensor", "sampled_grid_matrix",
           "pairwise_grid_matrix_block", "fill_block"]

#: Default memory budget of the dense tensors (grid tensors, coefficient tensors): 1 GiB.
GRID_MEMORY_BUDGET: int = 2**30

# Pairs evaluated at once when a sampled grid matrix is assembled pair by pair.
_PAIRS_PER_BATCH = 1 << 15

# Rows of F assembled at once: bounds the memory of each block to about 32 MB.
_BLOCK_ENTRIES = 1 << 22
# Threads of the assembly (one per core), and the smallest block worth splitting among them.
_THREADS = max(1, min(4, os.cpu_count() or 1))
_PARALLEL_ENTRIES = 1 << 16


def check_dense_size(shape: tuple, what: str, budget: int = GRID_MEMORY_BUDGET) -> None:
    """Refuse a dense float64/int64 array of ``shape`` above ``budget`` bytes, naming the sampled alternative."""
    entries = int(np.prod([int(s) for s in shape], dtype=object))
    if entries * 8 > budget:
        raise ValueError(
            f"the dense {what} would have {entries:,} entries ({entries * 8 / 2**30:.3g} GiB), above the "
            f"{budget / 2**30:.3g} GiB budget; use tensorlib.separation_rank(model, partition), which samples "
            "the grid matrix instead")


def resolve_prime(exact: object, p: Optional[int]) -> Optional[int]:
    """The prime to work in (None for float64), from ``exact`` and ``p``."""
    exact = check_bool(exact, "exact")
    if p is not None and not exact:
        raise ValueError("p is only used with exact=True (float64 arithmetic has no modulus)")
    return (DEFAULT_PRIME if p is None else validate_prime(p, "p")) if exact else None


# -- grid tensors ------------------------------------------------------------------------------

def grid_tensor(
    f: Any,
    templates: np.ndarray,
    n_inputs: int,
    *,
    p: Optional[int] = None,
    memory_budget: int = GRID_MEMORY_BUDGET,
    batch_size: int = 1 << 14,
) -> np.ndarray:
    """The grid tensor :math:`\\Gamma(f)_{d_1\\dots d_N} = f(v^{(d_1)},\\dots,v^{(d_N)})`.

    Parameters
    ----------
    f : model or callable
        A model (see the protocol) or a function mapping a batch ``(B, N, M)`` to ``(B,)``.
    templates : ndarray of shape (K, M)
        The templates :math:`v^{(1)},\\dots,v^{(K)}`. Integer templates are required when ``p`` is given.
    n_inputs : int
        N, the order of the grid tensor.
    p : int, optional
        Evaluate in GF(p) (the result is then an int64 tensor of residues).
    memory_budget : int
        Refuse tensors larger than this many bytes (default 1 GiB).

    Returns
    -------
    ndarray of shape (K,) * N, evaluated in batches of ``batch_size`` grid points.

    Raises
    ------
    ValueError
        If :math:`K^N` entries exceed ``memory_budget``; the message states the size and points to
        :func:`~tensorlib.separation.separation_rank`, which samples the grid matrix instead of building the tensor.
    """
    n_inputs = check_int(n_inputs, "n_inputs", 1)
    batch_size = check_int(batch_size, "batch_size", 1)
    memory_budget = check_int(memory_budget, "memory_budget", 1)
    if p is not None:
        p = validate_prime(p, "p")
    if isinstance(templates, np.ma.MaskedArray):
        raise TypeError("templates is a masked array; tensorlib would ignore its mask: pass templates.filled(value) "
                        "or the unmasked data explicitly")
    t = as_array(templates)  # Python ints of 2**63 or more stay exact
    if t.ndim != 2 or t.shape[0] < 1:
        raise ValueError(f"templates must have shape (K, input_dim) with K >= 1, got {t.shape}")
    if hasattr(f, "n_inputs"):
        validate_model(f)
        if f.n_inputs != n_inputs:
            raise ValueError(f"n_inputs={n_inputs} does not match the model's n_inputs={f.n_inputs}")
        if t.shape[1] != f.input_dim:
            raise ValueError(f"templates must have shape (K, input_dim={f.input_dim}), got {t.shape}")
    elif not callable(f):
        raise TypeError(f"f must be a model or a callable, got {type(f).__name__}")
    t = validate_inputs(t[:, None, :], 1, t.shape[1], p, name="templates")[:, 0, :]
    K = t.shape[0]
    n_entries = K**n_inputs
    check_dense_size((K,) * n_inputs, f"grid tensor (K**N = {K}**{n_inputs})", memory_budget)
    out = np.empty(n_entries, dtype=np.int64 if p is not None else np.float64)
    for start in range(0, n_entries, batch_size):
        idx = np.arange(start, min(start + batch_size, n_entries))
        digits = np.stack(np.unravel_index(idx, (K,) * n_inputs), axis=1)  # (B, N), row-major
        out[start:start + len(idx)] = evaluate_model(f, t[digits], p)
    return out.reshape((K,) * n_inputs)


# -- sampled grid matrices ---------------------------------------------------------------------

def pairwise_grid_matrix_block(model: Any, x_rows: np.ndarray, x_cols: np.ndarray, partition: Partition,
                               p: Optional[int] = None) -> np.ndarray:
    """:math:`F[a,b] = f(x_I = x_{rows}[a],\\ x_J = x_{cols}[b])`, evaluating the model on every pair.

    ``x_rows`` has shape ``(A, |I|, M)`` and ``x_cols`` shape ``(B, |J|, M)``. The pairs are
    evaluated in batches, so memory stays bounded whatever A and B are. This is the generic path;
    a model may provide a faster ``grid_matrix_block``.
    """
    I, J = partition
    A, B = x_rows.shape[0], x_cols.shape[0]
    out = np.empty((A, B), dtype=np.int64 if p is not None else np.float64)
    rows_per_batch = max(1, _PAIRS_PER_BATCH // max(B, 1))
    for a0 in range(0, A, rows_per_batch):
        a1 = min(A, a0 + rows_per_batch)
        if B > _PAIRS_PER_BATCH:  # a single row is already too many pairs: split the columns too
            for b0 in range(0, B, _PAIRS_PER_BATCH):
                b1 = min(B, b0 + _PAIRS_PER_BATCH)
                out[a0:a1, b0:b1] = _pairs(model, x_rows[a0:a1], x_cols[b0:b1], I, J, p)
        else:
            out[a0:a1] = _pairs(model, x_rows[a0:a1], x_cols, I, J, p)
    return out


def _pairs(model: Any, xr: np.ndarray, xc: np.ndarray, I: Tuple[int, ...], J: Tuple[int, ...],
           p: Optional[int]) -> np.ndarray:
    A, B = xr.shape[0], xc.shape[0]
    X = np.empty((A, B, model.n_inputs, model.input_dim), dtype=xr.dtype)
    X[:, :, list(I)] = xr[:, None]
    X[:, :, list(J)] = xc[None, :]
    return evaluate_model(model, X.reshape(A * B, model.n_inputs, model.input_dim), p).reshape(A, B)


def _block(model: Any, x_rows: np.ndarray, x_cols: np.ndarray, partition: Partition, p: Optional[int]) -> np.ndarray:
    if x_rows.shape[0] == 0 or x_cols.shape[0] == 0:
        return np.zeros((x_rows.shape[0], x_cols.shape[0]), dtype=np.int64 if p is not None else np.float64)
    fast = getattr(model, "grid_matrix_block", None)
    if fast is None:
        return pairwise_grid_matrix_block(model, x_rows, x_cols, partition, p)
    block = fast(x_rows, x_cols, partition, p=p)
    return check_values(block, (x_rows.shape[0], x_cols.shape[0]), p,
                        f"{type(model).__name__}.grid_matrix_block")


def sample_side(rng: np.random.Generator, count: int, size: int, input_dim: int, p: Optional[int]) -> np.ndarray:
    return Field(p).random(rng, (count, size, input_dim))


def sampled_grid_matrix(model: Any, partition: object, samples: int, *, exact: bool = True, seed: int = 0,
                        p: Optional[int] = None) -> np.ndarray:
    """A sampled grid matrix :math:`F_{ab} = f(x_I^{(a)}, x_J^{(b)})`, :math:`a, b = 1..K`.

    The :math:`x_I^{(a)}` and :math:`x_J^{(b)}` are drawn with ``numpy.random.default_rng(seed)``:
    uniform residues in ``[0, p)`` when ``exact`` (the matrix is then int64 mod p), standard normal
    otherwise. Its rank is a lower bound on :math:`\\operatorname{sep}(f; I, J)`.
    """
    model = validate_model(model)
    I, J = validate_partition(partition, model.n_inputs)
    K = check_int(samples, "samples", 1)
    prime = resolve_prime(exact, p)
    rng = np.random.default_rng(check_seed(seed))
    check_dense_size((K, K), "sampled grid matrix")
    xr = sample_side(rng, K, len(I), model.input_dim, prime)
    xc = sample_side(rng, K, len(J), model.input_dim, prime)
    return _block(model, xr, xc, (I, J), prime)


def fill_block(F: np.ndarray, model: Any, x_rows: np.ndarray, x_cols: np.ndarray, partition: Partition,
               p: Optional[int], row0: int = 0, col0: int = 0) -> None:
    """Write the block for ``x_rows`` x ``x_cols`` into ``F[row0:, col0:]``, a bounded number of entries at a time.

    A model whose ``grid_matrix_block`` may run in several threads at once (``parallel_blocks =
    True``, as tensorlib's networks declare) gets its tiles assembled by one thread per core:
    numpy's array operations release the GIL, and the assembly is mostly elementwise work that one
    core cannot share with BLAS otherwise. BLAS runs one thread per worker meanwhile.
    """
    A, B = x_rows.shape[0], x_cols.shape[0]
    if A == 0 or B == 0:
        return
    threads = _THREADS if getattr(model, "parallel_blocks", False) and A * B >= _PARALLEL_ENTRIES else 1
    if in_assembly_worker():  # called from a tile: the pool's workers could all be waiting on each other
        threads = 1
    # A wide block (the new rows of a growing matrix) is split by columns, so that no thread repeats
    # the one-sided work of all the columns; a tall one by rows.
    width = -(-B // threads) if B > A else B
    step = max(1, min(_BLOCK_ENTRIES // width, -(-A // threads) if width == B else A))
    tiles = [(a0, b0) for a0 in range(0, A, step) for b0 in range(0, B, width)]

    def tile(corner: Tuple[int, int]) -> None:
        a0, b0 = corner
        a1, b1 = min(A, a0 + step), min(B, b0 + width)
        F[row0 + a0:row0 + a1, col0 + b0:col0 + b1] = _block(model, x_rows[a0:a1], x_cols[b0:b1], partition, p)

    if threads == 1:
        for corner in tiles:
            tile(corner)
        return
    # One BLAS thread per worker: the matrix products inside a block (the ConvAC kernel's) would
    # otherwise start BLAS threads of their own, and four threads on two cores ran 1.8x slower.
    with blas_controller().limit(limits=1, user_api="blas"):
        pool = assembly_pool(threads)
        futures = [pool.submit(tile, corner) for corner in tiles]
        try:
            for future in futures:
                future.result()  # re-raises a worker's exception here
        finally:
            # Also on an exception or an interrupt: no tile may still run (and write into F, or call
            # BLAS with more threads) once fill_block has left, nor keep a worker busy unseen.
            for future in futures:
                future.cancel()
            wait(futures)
