"""Grid tensors, sampled grid matrices and the separation rank of a model.

The model protocol
------------------
Everything here works on a *model*: any object with

* ``n_inputs`` (N) and ``input_dim`` (M), ints;
* a method ``evaluate(X, p=None)`` taking a batch ``X`` of shape ``(B, n_inputs, input_dim)`` and
  returning shape ``(B,)``. With ``p=None`` it computes in float64. With a prime ``p`` the inputs are
  int64 residues in ``[0, p)``, the model uses integer weights in ``[0, p)``, and the result is the
  network's value reduced mod p (int64 in ``[0, p)``).

Optional attributes that make :func:`separation_rank` faster or sharper:

* ``rank_upper_bound(partition) -> int | None``: a proven upper bound on the separation rank (for
  a model that is multilinear in its N inputs this is :math:`M^{\\min(|I|,|J|)}`); sampling stops
  once it is reached.
* ``grid_matrix_block(x_rows, x_cols, partition, p=None)``: the block
  :math:`F[a, b] = f(x_I = x_{rows}[a], x_J = x_{cols}[b])` computed faster than pair by pair.

:class:`tensorlib.networks.Network` implements the protocol; a plain function ``f(X) -> (B,)``
works with :func:`grid_tensor`.

Separation rank and its lower bounds
------------------------------------
For :math:`f:(\\mathbb R^M)^N\\to\\mathbb R` and a partition (I, J),
:math:`\\operatorname{sep}(f; I, J)` is the least R such that
:math:`f = \\sum_{\\nu=1}^R g_\\nu(x_I)\\, g'_\\nu(x_J)`. For any points
:math:`x_I^{(1)},\\dots,x_I^{(K)}` and :math:`x_J^{(1)},\\dots,x_J^{(K)}` the *sampled grid matrix*
:math:`F_{ab} = f(x_I^{(a)}, x_J^{(b)})` is a sum of R rank-one matrices, so
:math:`\\operatorname{rank} F \\le \\operatorname{sep}(f; I, J)`. The grid tensor on templates is the
special case where both sides run over all template combinations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Protocol, Tuple, Union, runtime_checkable

import numpy as np

from .fields import DEFAULT_PRIME, Field, validate_prime
from .partitions import Partition, validate_partition
from .rank import exact_rank, numerical_rank

__all__ = [
    "Model",
    "SeparationRank",
    "validate_model",
    "validate_inputs",
    "grid_tensor",
    "sampled_grid_matrix",
    "pairwise_grid_matrix_block",
    "separation_rank",
    "GRID_MEMORY_BUDGET",
]

#: Default memory budget of :func:`grid_tensor`: 1 GiB.
GRID_MEMORY_BUDGET: int = 2**30

# Pairs evaluated at once when a sampled grid matrix is assembled pair by pair.
_PAIRS_PER_BATCH = 1 << 15


@runtime_checkable
class Model(Protocol):
    """The model protocol (see the module docstring)."""

    n_inputs: int
    input_dim: int

    def evaluate(self, X: np.ndarray, p: Optional[int] = None) -> np.ndarray: ...


def validate_model(model: object) -> Any:
    """Check that ``model`` follows the model protocol; raise ``TypeError`` naming what is missing."""
    missing = [name for name in ("n_inputs", "input_dim", "evaluate") if not hasattr(model, name)]
    if missing:
        raise TypeError(f"model must follow the model protocol (n_inputs, input_dim, evaluate(X, p=None)); "
                        f"{type(model).__name__} lacks {', '.join(missing)}")
    for name in ("n_inputs", "input_dim"):
        value = getattr(model, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise TypeError(f"model.{name} must be a positive int, got {value!r}")
    return model


def validate_inputs(X: object, n_inputs: int, input_dim: int, p: Optional[int] = None, name: str = "X") -> np.ndarray:
    """Check a batch of inputs of shape ``(B, n_inputs, input_dim)``.

    In float64 (``p=None``) any finite real array is accepted and cast to float64. In GF(p) the
    array must have an integer dtype; it is reduced mod p.
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(X).__name__}")
    a = np.asarray(X)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if a.ndim != 3 or a.shape[1:] != (n_inputs, input_dim):
        raise ValueError(f"{name} must have shape (batch, n_inputs={n_inputs}, input_dim={input_dim}), "
                         f"got {a.shape}")
    if np.iscomplexobj(a):
        raise TypeError(f"{name} must be real, got a complex array")
    if p is None:
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or inf")
        return a
    if not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
        raise TypeError(f"{name} must have an integer dtype in exact (mod p) arithmetic, got {a.dtype}")
    return Field(p).asarray(a)


def _evaluate(f: Any, X: np.ndarray, p: Optional[int]) -> np.ndarray:
    out = f.evaluate(X, p=p) if hasattr(f, "evaluate") else (f(X) if p is None else f(X, p=p))
    out = np.asarray(out)
    if out.shape != (X.shape[0],):
        raise ValueError(f"the model returned shape {out.shape} for a batch of {X.shape[0]} inputs; "
                         "the protocol asks for shape (batch,)")
    return out


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
        :func:`separation_rank`, which samples the grid matrix instead of building the tensor.
    """
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)) or n_inputs < 1:
        raise TypeError(f"n_inputs must be a positive int, got {n_inputs!r}")
    n_inputs = int(n_inputs)
    batch_size = _validate_count(batch_size, "batch_size")
    memory_budget = _validate_count(memory_budget, "memory_budget")
    if p is not None:
        p = validate_prime(p, "p")
    t = np.asarray(templates)
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
    size = n_entries * 8
    if size > memory_budget:
        raise ValueError(
            f"the grid tensor would have K**N = {K}**{n_inputs} = {n_entries:,} entries "
            f"({size / 2**30:.3g} GiB), above memory_budget = {memory_budget / 2**30:.3g} GiB; "
            "use tensorlib.separation_rank(model, partition), which samples the grid matrix instead")
    out = np.empty(n_entries, dtype=np.int64 if p is not None else np.float64)
    for start in range(0, n_entries, batch_size):
        idx = np.arange(start, min(start + batch_size, n_entries))
        digits = np.stack(np.unravel_index(idx, (K,) * n_inputs), axis=1)  # (B, N), row-major
        out[start:start + len(idx)] = _evaluate(f, t[digits], p)
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
    return _evaluate(model, X.reshape(A * B, model.n_inputs, model.input_dim), p).reshape(A, B)


def _block(model: Any, x_rows: np.ndarray, x_cols: np.ndarray, partition: Partition, p: Optional[int]) -> np.ndarray:
    if x_rows.shape[0] == 0 or x_cols.shape[0] == 0:
        return np.zeros((x_rows.shape[0], x_cols.shape[0]), dtype=np.int64 if p is not None else np.float64)
    fast = getattr(model, "grid_matrix_block", None)
    if fast is not None:
        return np.asarray(fast(x_rows, x_cols, partition, p=p))
    return pairwise_grid_matrix_block(model, x_rows, x_cols, partition, p)


# Rows of F assembled at once: bounds the memory of each block to about 32 MB.
_BLOCK_ENTRIES = 1 << 22


def _fill_rows(F: np.ndarray, model: Any, x_rows: np.ndarray, x_cols: np.ndarray, partition: Partition,
               p: Optional[int], row0: int = 0, col0: int = 0) -> None:
    """Write the block for ``x_rows`` x ``x_cols`` into ``F[row0:, col0:]``, a bounded number of rows at a time."""
    if x_rows.shape[0] == 0 or x_cols.shape[0] == 0:
        return
    step = max(1, _BLOCK_ENTRIES // x_cols.shape[0])
    for a0 in range(0, x_rows.shape[0], step):
        a1 = min(x_rows.shape[0], a0 + step)
        F[row0 + a0:row0 + a1, col0:col0 + x_cols.shape[0]] = _block(model, x_rows[a0:a1], x_cols, partition, p)


def _sample_side(rng: np.random.Generator, count: int, size: int, input_dim: int, p: Optional[int]) -> np.ndarray:
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
    K = _validate_count(samples, "samples")
    prime = _validate_arithmetic(exact, p)
    rng = np.random.default_rng(_validate_seed(seed))
    xr = _sample_side(rng, K, len(I), model.input_dim, prime)
    xc = _sample_side(rng, K, len(J), model.input_dim, prime)
    return _block(model, xr, xc, (I, J), prime)


def _validate_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed}")
    return int(seed)


def _validate_arithmetic(exact: object, p: Optional[int]) -> Optional[int]:
    """The prime to work in (None for float64), from ``exact`` and ``p``."""
    if not isinstance(exact, (bool, np.bool_)):
        raise TypeError(f"exact must be a bool, got {type(exact).__name__}")
    if p is not None and not exact:
        raise ValueError("p is only used with exact=True (float64 arithmetic has no modulus)")
    return (DEFAULT_PRIME if p is None else validate_prime(p, "p")) if exact else None


def _validate_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


# -- separation rank ---------------------------------------------------------------------------

class _ProgressBar:
    """A tqdm bar over the doublings of K (see ``progress`` in :func:`separation_rank`)."""

    def __init__(self, progress: Union[None, bool, Callable[[int, int, float], None]], model: Any) -> None:
        self.callback = progress if callable(progress) else None
        self.auto = progress is None and _stderr_is_terminal()
        self.enabled = progress is True
        self.name = type(model).__name__
        self.bar: Any = None

    def update(self, K: int, rank: int, seconds: float) -> None:
        if self.callback is not None:
            self.callback(K, rank, seconds)
        if self.bar is None and (self.enabled or (self.auto and K >= 1024)):
            from tqdm.auto import tqdm
            self.bar = tqdm(desc=f"separation rank of {self.name}", unit="doubling", leave=False)
        if self.bar is not None:
            self.bar.set_postfix(K=K, rank=rank)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _stderr_is_terminal() -> bool:
    import sys
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


@dataclass(frozen=True)
class SeparationRank:
    """The outcome of :func:`separation_rank`.

    Attributes
    ----------
    rank : int
        The rank of the final K x K sampled grid matrix: always a lower bound on the separation rank
        (certified when ``exact``).
    saturated : bool
        ``rank < samples``: the sampled matrix is rank-deficient, so with high probability ``rank`` *is*
        the separation rank (of the network with the drawn weights).
    exact : bool
        True for a GF(p) rank (a certificate), False for a float64 SVD estimate.
    samples : int
        K, the number of samples on each side of the partition.
    seed : int
        The seed of the input samples (the weights are the model's own).
    prime : int or None
        p for exact ranks.
    upper_bound : int or None
        The model's proven upper bound for this partition, if it has one.
    history : tuple of (K, rank)
        Every sample size tried while doubling K.
    """

    rank: int
    saturated: bool
    exact: bool
    samples: int
    seed: int
    prime: Optional[int] = None
    upper_bound: Optional[int] = None
    history: Tuple[Tuple[int, int], ...] = field(default_factory=tuple)

    @property
    def reaches_upper_bound(self) -> bool:
        """``rank`` equals the model's proven upper bound, so it is the separation rank."""
        return self.upper_bound is not None and self.rank >= self.upper_bound

    @property
    def is_value(self) -> bool:
        """True when ``rank`` is the separation rank (saturated, or the upper bound is reached)."""
        return self.saturated or self.reaches_upper_bound

    @property
    def status(self) -> str:
        """A short label: how the number may be read."""
        kind = "exact" if self.exact else "float estimate"
        if self.reaches_upper_bound:
            return f"{kind}, equals upper bound"
        if self.saturated:
            return f"{kind}, saturated"
        return f"{kind}, lower bound"

    def __int__(self) -> int:
        return self.rank


def separation_rank(
    model: Any,
    partition: object,
    *,
    exact: bool = True,
    seed: int = 0,
    max_rank: Optional[int] = None,
    p: Optional[int] = None,
    start: int = 16,
    tol: Optional[float] = None,
    progress: Union[None, bool, Callable[[int, int, float], None]] = None,
) -> SeparationRank:
    """Estimate or certify :math:`\\operatorname{sep}(f; I, J)` from sampled grid matrices.

    Draw K inputs :math:`x_I^{(a)}` for the I side and K inputs :math:`x_J^{(b)}` for the J side,
    form :math:`F_{ab} = f(x_I^{(a)}, x_J^{(b)})` and take its rank. Starting at K = ``start``, K
    doubles (keeping the samples drawn so far, so only the new rows and columns are evaluated)
    until F is rank-deficient, K reaches ``max_rank``, or the rank reaches the model's
    ``rank_upper_bound(partition)``.

    Why this works. F is a sum of :math:`\\operatorname{sep}(f)` rank-one matrices, so
    :math:`\\operatorname{rank} F \\le \\operatorname{sep}(f)` for *any* samples. Conversely, if
    :math:`f=\\sum_{\\nu\\le R} g_\\nu g'_\\nu` with independent :math:`g_\\nu` and independent
    :math:`g'_\\nu` (R minimal), then for random samples :math:`\\operatorname{rank} F=\\min(K,R)` except
    on the zero set of a nonzero polynomial in the samples, which random samples avoid with
    probability at least :math:`1 - \\deg/p` (Schwartz--Zippel). So a rank-deficient F
    (``saturated``) gives the separation rank with high probability, and a full-rank F only a lower
    bound.

    The certificate. With ``exact=True`` the model uses integer weights and integer inputs, so F is
    an integer matrix, and its GF(p) rank is at most its rational rank
    (:func:`tensorlib.rank.exact_rank`). ``rank`` is then a *certified* lower bound on the separation rank
    of the network with those integer weights, and, since the matricization rank is maximal almost
    everywhere in weight space (Cohen & Shashua, ICLR 2017, Claim 2), a certified lower bound on the
    architecture's generic separation rank. With ``exact=False`` the rank is a float64 SVD estimate.

    Parameters
    ----------
    model : a model (see the module docstring)
    partition : (I, J)
        0-based positions, disjoint, covering ``range(model.n_inputs)``, both non-empty.
    exact : bool
        GF(p) arithmetic and exact rank (default) or float64 and SVD rank.
    seed : int
        Seed of the sampled inputs.
    max_rank : int, optional
        The largest K to try (default: the model's upper bound if it has one, else 4096).
    p : int, optional
        The prime (default :data:`tensorlib.fields.DEFAULT_PRIME`); only with ``exact=True``.
    start : int
        The first K.
    tol : float, optional
        SVD tolerance for ``exact=False`` (see :func:`tensorlib.rank.numerical_rank`).
    progress : bool or callable, optional
        ``True`` shows a tqdm bar over the doublings of K; a callable is called as
        ``progress(K, rank, seconds)`` after each K. The default (None) shows the bar only in a
        terminal (stderr is a TTY) and only from K = 1024 on, so tests, notebooks and the book build
        stay silent.

    Notes
    -----
    The sample sizes are ``start, 2 start, 4 start, ...``; when the next doubling would pass half of
    the cap (``max_rank`` or the upper bound), K jumps straight to the cap, since the last rank
    computation dominates the cost (elimination is cubic in K).

    Returns
    -------
    SeparationRank
    """
    model = validate_model(model)
    I, J = validate_partition(partition, model.n_inputs)
    prime = _validate_arithmetic(exact, p)
    seed = _validate_seed(seed)
    start = _validate_count(start, "start")
    if tol is not None and exact:
        raise ValueError("tol is only used with exact=False (an exact rank needs no tolerance)")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"progress must be None, a bool or a callable(K, rank, seconds), got {type(progress).__name__}")
    upper = model.rank_upper_bound((I, J)) if hasattr(model, "rank_upper_bound") else None
    if max_rank is None:
        cap = upper if upper is not None else 4096
    else:
        cap = _validate_count(max_rank, "max_rank")
        if upper is not None:
            cap = min(cap, upper)

    rng = np.random.default_rng(seed)
    M = model.input_dim
    xr = np.empty((0, len(I), M), dtype=np.int64 if exact else np.float64)
    xc = np.empty((0, len(J), M), dtype=xr.dtype)
    F = np.empty((0, 0), dtype=xr.dtype)
    history: List[Tuple[int, int]] = []
    K = min(start, cap)
    bar = _ProgressBar(progress, model)
    while True:
        t0 = time.perf_counter()
        new = K - xr.shape[0]
        nr = _sample_side(rng, new, len(I), M, prime)
        nc = _sample_side(rng, new, len(J), M, prime)
        # Grow F by its new columns and new rows; the old block is kept, not recomputed.
        old = xr.shape[0]
        grown = np.empty((K, K), dtype=F.dtype)
        grown[:old, :old] = F
        F = grown
        xr, xc = np.concatenate([xr, nr]), np.concatenate([xc, nc])
        _fill_rows(F, model, xr[:old], nc, (I, J), prime, col0=old)
        _fill_rows(F, model, nr, xc, (I, J), prime, row0=old)
        rank = exact_rank(F, prime) if exact else numerical_rank(F, tol)
        history.append((K, rank))
        bar.update(K, rank, time.perf_counter() - t0)
        if rank < K or K >= cap or (upper is not None and rank >= upper):
            break
        K = cap if 4 * K >= cap else 2 * K
    bar.close()
    return SeparationRank(rank=rank, saturated=rank < K, exact=bool(exact), samples=K, seed=int(seed),
                          prime=prime, upper_bound=upper, history=tuple(history))
