"""The separation rank of a model, certified over GF(p) or estimated in float64.

:func:`separation_rank` draws K inputs for each side of a partition, forms the sampled grid
matrix :math:`F_{ab} = f(x_I^{(a)}, x_J^{(b)})` (:mod:`tensorlib.grid`) and takes its rank, growing
K until the answer can be read. Its result, :class:`SeparationRank`, says how the number may be read,
in the words the book uses throughout:

* **certified** -- the exact rank equals a proven upper bound (the model's ``rank_upper_bound``).
  It is then the separation rank of the network with these integer weights, and, since the rank is
  maximal almost everywhere in weight space, the generic separation rank of the architecture.
* **saturated (confirmed)** -- F was rank-deficient (rank < K) mod p, and a second, independent
  prime with fresh samples gave the same rank. With high probability this is the separation rank of
  the network with the drawn weights; it is not a proof.
* **lower bound** -- anything else (F had full rank at the largest K tried, the two primes
  disagreed, the memory budget stopped the growth, or the prime is too small to read saturation).
  An exact rank is always a certified *lower* bound: rank over GF(p) never exceeds the rational rank.

Float64 ranks are SVD estimates (:func:`tensorlib.rank.numerical_rank`) and are labelled so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np

from .checks import check_bool, check_int, check_seed
from .fields import is_prime, previous_prime
from .grid import fill_block, resolve_prime, sample_side
from .models import upper_bound_of, validate_model
from .partitions import validate_partition
from .elimination import GrowingElimination
from .rank import default_memory_budget, exact_rank, numerical_rank
from .threads import shorten_openblas_spin

__all__ = ["SeparationRank", "separation_rank", "MIN_SATURATION_PRIME"]

#: Below this prime a rank-deficient sample matrix is not read as the separation rank: residues of a
#: tiny field hit the zero set of a low-degree polynomial too often (p = 3 makes a rank-8 network
#: look saturated at rank 3). A rank that reaches a proven upper bound is certified for any prime.
MIN_SATURATION_PRIME: int = 2**16

Progress = Union[None, bool, Callable[[int, int, float], None]]


# Exact runs keep the whole sampled matrix below this K, then grow an elimination in steps of _STEP.
_GROWING_FROM = 512
_STEP = 256
# The networks' fast paths assemble a block a bounded number of rows at a time (tensorlib.grid).
_ASSEMBLY_BYTES = 64 * 2**20


def _bytes_for(K: int, prime: Optional[int]) -> int:
    """Peak bytes of a step that keeps the whole K x K matrix: F, a working copy of it, the assembly blocks,
    and, when an exact run hands F to the growing elimination, that first step's factorization."""
    whole = 2 * 8 * K * K + _ASSEMBLY_BYTES
    if prime is not None and K >= _GROWING_FROM:
        whole += GrowingElimination(prime).step_bytes(K)
    return whole


class _ProgressBar:
    """A tqdm bar over the steps of K (see ``progress`` in :func:`separation_rank`)."""

    def __init__(self, progress: Progress, model: Any) -> None:
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
            self.bar = tqdm(desc=f"separation rank of {self.name}", unit="step", leave=False)
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
        The reported rank. Always a lower bound on the separation rank (a certified one when
        ``exact``); see :attr:`status` for whether it is also the value.
    saturated : bool
        The final sampled matrix was rank-deficient (``rank < samples``).
    exact : bool
        True for GF(p) ranks (certificates of a lower bound), False for float64 SVD estimates.
    samples : int
        K, the number of samples on each side in the final step.
    seed : int
        The seed of the input samples (the weights are the model's own).
    prime : int or None
        p, for exact ranks.
    upper_bound : int or None
        The model's proven upper bound for this partition, if it has one.
    history : tuple of (K, rank)
        Every sample size tried, in order.
    confirmation : SeparationRank or None
        The run with a second prime and fresh samples, when a saturated exact rank was confirmed.
    stopped_by : str
        Why the growth of K stopped: ``"upper bound"``, ``"saturated"``, ``"max_samples"`` or
        ``"memory budget"``.
    """

    rank: int
    saturated: bool
    exact: bool
    samples: int
    seed: int
    prime: Optional[int] = None
    upper_bound: Optional[int] = None
    history: Tuple[Tuple[int, int], ...] = field(default_factory=tuple)
    confirmation: Optional["SeparationRank"] = None
    stopped_by: str = "saturated"

    @property
    def certified(self) -> bool:
        """The exact rank equals the model's proven upper bound: it is the separation rank, certified."""
        return self.exact and self.upper_bound is not None and self.rank >= self.upper_bound

    @property
    def confirmed(self) -> Optional[bool]:
        """For a saturated exact rank: did a second prime with fresh samples give the same rank? (None: not tried.)"""
        if self.confirmation is None:
            return None
        return self.confirmation.saturated and self.confirmation.rank == self._first_rank

    @property
    def _first_rank(self) -> int:
        return self.history[-1][1] if self.history else self.rank

    @property
    def small_prime(self) -> bool:
        """The prime is below :data:`MIN_SATURATION_PRIME`, too small to read saturation."""
        return self.exact and self.prime is not None and self.prime < MIN_SATURATION_PRIME

    @property
    def is_value(self) -> bool:
        """True when :attr:`rank` may be read as the separation rank: certified, or saturated and confirmed."""
        if self.certified:
            return True
        return self.exact and self.saturated and not self.small_prime and bool(self.confirmed)

    @property
    def status(self) -> str:
        """How the number may be read: ``certified``, ``saturated (confirmed)``, ``saturated (unconfirmed)``,
        ``lower bound`` (with the reason), or a ``float estimate``."""
        if not self.exact:
            if self.upper_bound is not None and self.rank >= self.upper_bound:
                return "float estimate, equals the upper bound"
            return "float estimate, saturated" if self.saturated else "float estimate, lower bound"
        if self.certified:
            return "certified"
        if self.saturated:
            if self.small_prime:
                return f"lower bound (p = {self.prime} is too small to read saturation)"
            if self.confirmed is None:
                return "saturated (unconfirmed)"
            if self.confirmed:
                return "saturated (confirmed)"
            return "lower bound (two primes disagree)"
        if self.stopped_by == "memory budget":
            return "lower bound (memory budget reached)"
        return "lower bound"

    def __int__(self) -> int:
        return self.rank


def separation_rank(
    model: Any,
    partition: object,
    *,
    exact: bool = True,
    seed: int = 0,
    max_samples: Optional[int] = None,
    p: Optional[int] = None,
    start: int = 16,
    confirm: bool = True,
    memory_budget: Optional[int] = None,
    tol: Optional[float] = None,
    progress: Progress = None,
) -> SeparationRank:
    """Certify or estimate :math:`\\operatorname{sep}(f; I, J)` from sampled grid matrices.

    Draw K inputs :math:`x_I^{(a)}` for the I side and K inputs :math:`x_J^{(b)}` for the J side,
    form :math:`F_{ab} = f(x_I^{(a)}, x_J^{(b)})` and take its rank. Starting at K = ``start``, K
    grows (keeping the samples drawn so far, so only the new rows and columns are evaluated) until
    F is rank-deficient, K reaches ``max_samples``, or the rank reaches the model's
    ``rank_upper_bound(partition)``.

    Why this works. F is a sum of :math:`\\operatorname{sep}(f)` rank-one matrices, so
    :math:`\\operatorname{rank} F \\le \\operatorname{sep}(f)` for *any* samples. Conversely, if
    :math:`f=\\sum_{\\nu\\le R} g_\\nu g'_\\nu` with independent :math:`g_\\nu` and independent
    :math:`g'_\\nu` (R minimal), then for random samples :math:`\\operatorname{rank} F=\\min(K,R)` except
    on the zero set of a nonzero polynomial in the samples, which random samples avoid with
    probability at least :math:`1 - \\deg/p` (Schwartz--Zippel). So a rank-deficient F
    (``saturated``) gives the separation rank with high probability, and a full-rank F only a lower
    bound. That probability is why a saturated value is *confirmed* with a second prime.

    The certificate. With ``exact=True`` the model uses integer weights and integer inputs, so F is
    an integer matrix, and its GF(p) rank is at most its rational rank
    (:func:`tensorlib.rank.exact_rank`): ``rank`` is a certified lower bound on the separation rank
    of the network with those integer weights, and, since the matricization rank is maximal almost
    everywhere in weight space (Cohen & Shashua, ICLR 2017, Claim 2), a certified lower bound on the
    architecture's generic separation rank. When it meets a proven upper bound it is the value.

    Parameters
    ----------
    model : a model (see :mod:`tensorlib.models`)
    partition : (I, J)
        0-based positions, disjoint, covering ``range(model.n_inputs)``, both non-empty.
    exact : bool
        GF(p) arithmetic and exact rank (default) or float64 and SVD rank.
    seed : int
        Seed of the sampled inputs.
    max_samples : int, optional
        The largest K to try (default: the model's upper bound if it has one, else 4096).
    p : int, optional
        The prime (default :data:`tensorlib.fields.DEFAULT_PRIME`); only with ``exact=True``. Below
        :data:`MIN_SATURATION_PRIME` a saturated rank is reported as a lower bound.
    start : int
        The first K.
    confirm : bool
        When an exact rank saturates below the upper bound, repeat with a second prime (the largest
        prime below p) and fresh samples, and record both (default True: a saturated value is
        reported as the separation rank only when confirmed). A tensorlib network is confirmed with
        the same integer weights, reduced mod the second prime (``with_weights_reduced``), so a
        network whose weights were set with ``set_weights`` stays the same network; another model
        uses its own weights for that prime. If the two disagree, the larger rank is reported, as a
        lower bound.
    memory_budget : int, optional
        Bytes the sampled matrix and its elimination may use (default: half of the physical
        memory, :func:`~tensorlib.rank.default_memory_budget`). Before a step that would need more, the growth
        stops and the result is a lower bound that says so; if even the first step does not fit,
        ``MemoryError`` is raised with the estimate.
    tol : float, optional
        SVD tolerance for ``exact=False`` (see :func:`tensorlib.rank.numerical_rank`).
    progress : bool or callable, optional
        ``True`` shows a tqdm bar over the steps of K; a callable is called as
        ``progress(K, rank, seconds)`` after each step. The default (None) shows the bar only in a
        terminal (stderr is a TTY) and only from K = 1024 on, so tests, notebooks and the book build
        stay silent.

    Notes
    -----
    Exact runs double K from ``start`` up to 512 samples per side, keeping the sampled matrix and
    taking its rank afresh; from there they grow a bordered elimination
    (:class:`~tensorlib.elimination.GrowingElimination`) by 256 samples per side at a time, so
    that only new rows and columns are assembled, F is not kept, and the whole run costs about one
    elimination of a matrix just past the rank (or of the cap's size when the rank meets the upper
    bound). Float runs double K and jump to the cap when the next doubling would pass half of it.

    Returns
    -------
    SeparationRank
    """
    model = validate_model(model)
    I, J = validate_partition(partition, model.n_inputs)
    prime = resolve_prime(exact, p)
    seed = check_seed(seed)
    start = check_int(start, "start", 1)
    confirm = check_bool(confirm, "confirm")
    budget = default_memory_budget() if memory_budget is None else check_int(memory_budget, "memory_budget", 1)
    if tol is not None and exact:
        raise ValueError("tol is only used with exact=False (an exact rank needs no tolerance)")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise TypeError(f"progress must be None, a bool or a callable(K, rank, seconds), got {type(progress).__name__}")
    upper = upper_bound_of(model, (I, J))
    cap = upper if upper is not None else 4096
    if max_samples is not None:
        cap = min(cap, check_int(max_samples, "max_samples", 1))

    first = _grow(model, (I, J), prime, seed, start, cap, upper, budget, tol, progress)
    if not (confirm and prime is not None and first.saturated and not first.certified
            and prime >= MIN_SATURATION_PRIME):
        return first
    # The second prime, with fresh samples (a derived seed), grows K the same way: the growing
    # elimination costs about one elimination of the final size whatever the steps, while starting
    # past the first rank would factor one large block at once (several times its size in memory).
    second_prime = _confirmation_prime(prime)
    # The same integer network mod the second prime, when the model can say what that is (tensorlib's
    # networks: the weights drawn or set for p, reduced); otherwise the model's own weights for it.
    same_network = getattr(model, "with_weights_reduced", None)
    second_model = same_network(prime, second_prime) if callable(same_network) else model
    second = _grow(second_model, (I, J), second_prime, (seed, 1), start, cap, upper, budget, tol, progress)
    rank = max(first.rank, second.rank)
    return SeparationRank(rank=rank, saturated=first.saturated, exact=True, samples=first.samples, seed=seed,
                          prime=prime, upper_bound=upper, history=first.history, confirmation=second,
                          stopped_by=first.stopped_by)


def _confirmation_prime(p: int) -> int:
    """The prime of the confirmation: the largest below p, or the smallest above it if that is too small."""
    q = previous_prime(p)
    if q >= MIN_SATURATION_PRIME:
        return q
    q = p + 1
    while not is_prime(q):
        q += 1
    return q


def _next_size(K: int, cap: int, exact: bool) -> int:
    """The next number of samples per side.

    Exact ranks double K up to :data:`_GROWING_FROM`, then grow by :data:`_STEP` at a time: the
    growing elimination's cost is one elimination of the final size whatever the steps, so small
    steps stop just past the rank. Float ranks (an SVD of the whole matrix each time) double, and
    jump to the cap when the next doubling would pass half of it.
    """
    if exact and K >= _GROWING_FROM:
        return min(cap, K + _STEP)
    if exact:
        return min(cap, 2 * K, _GROWING_FROM)
    return cap if 4 * K >= cap else min(cap, 2 * K)


def _grow(model: Any, partition: Tuple[Tuple[int, ...], Tuple[int, ...]], prime: Optional[int],
          seed: Union[int, Tuple[int, int]], start: int, cap: int, upper: Optional[int], budget: int,
          tol: Optional[float], progress: Progress) -> SeparationRank:
    """One run of the growth of K, in one field.

    While K is small the whole sampled matrix F is kept and its rank taken afresh (FLINT is fastest
    there). From :data:`_GROWING_FROM` samples on, exact runs hand F to a
    :class:`~tensorlib.elimination.GrowingElimination` and only the new rows and columns are ever
    assembled: F itself is no longer kept, and the rank costs one elimination in all.
    """
    I, J = partition
    rng = np.random.default_rng(seed)
    M = model.input_dim
    dtype = np.int64 if prime is not None else np.float64
    xr = np.empty((0, len(I), M), dtype=dtype)
    xc = np.empty((0, len(J), M), dtype=dtype)
    F: Optional[np.ndarray] = np.empty((0, 0), dtype=dtype)
    engine: Optional[GrowingElimination] = None
    history: List[Tuple[int, int]] = []
    K = min(start, cap)
    if _bytes_for(K, prime) > budget:
        raise MemoryError(f"separation_rank: the first step (K = {K} samples per side) needs about "
                          f"{_bytes_for(K, prime) / 2**30:.3g} GiB, above memory_budget = {budget / 2**30:.3g} GiB; "
                          "lower start or raise memory_budget")
    stopped_by = "saturated"
    bar = _ProgressBar(progress, model)
    while True:
        t0 = time.perf_counter()
        old, new = xr.shape[0], K - xr.shape[0]
        nr = sample_side(rng, new, len(I), M, prime)
        nc = sample_side(rng, new, len(J), M, prime)
        xr, xc = np.concatenate([xr, nr]), np.concatenate([xc, nc])
        if engine is None:
            grown = np.empty((K, K), dtype=dtype)
            grown[:old, :old] = F
            F = grown
            fill_block(F, model, xr[:old], nc, (I, J), prime, col0=old)
            fill_block(F, model, nr, xc, (I, J), prime, row0=old)
            if prime is not None and K >= _GROWING_FROM:
                shorten_openblas_spin()  # its steps alternate with assemblies on every core
                engine = GrowingElimination(prime)
                rank = engine.grow(np.empty((0, K), dtype=np.int64), F)
                F = None
            else:
                rank = exact_rank(F, prime) if prime is not None else numerical_rank(F, tol)
        else:
            # The new columns in the old rows, and the new rows over all columns: the checked int64
            # residues of each block written into float64 arrays, which the elimination keeps as
            # they are (no conversion, no copy).
            right = np.empty((old, new))
            fill_block(right, model, xr[:old], nc, (I, J), prime)
            bottom = np.empty((new, K))
            fill_block(bottom, model, nr, xc, (I, J), prime)
            rank = engine._grow_residues(right, bottom)
        history.append((K, rank))
        bar.update(K, rank, time.perf_counter() - t0)
        if rank < K:
            break
        if upper is not None and rank >= upper:
            stopped_by = "upper bound"
            break
        if K >= cap:
            stopped_by = "max_samples"
            break
        following = _next_size(K, cap, prime is not None)
        if _step_bytes(engine, K, following, prime) > budget:
            stopped_by = "memory budget"
            break
        K = following
    bar.close()
    return SeparationRank(rank=rank, saturated=rank < K, exact=prime is not None, samples=K,
                          seed=seed if isinstance(seed, int) else int(seed[0]), prime=prime,
                          upper_bound=upper, history=tuple(history), stopped_by=stopped_by)


def _step_bytes(engine: Optional[GrowingElimination], K: int, following: int, prime: Optional[int]) -> int:
    """Peak bytes of the step from K to ``following`` samples per side."""
    if engine is None:
        return _bytes_for(following, prime)
    k = following - K
    return engine.nbytes + engine.step_bytes(k) + 8 * (K * k + k * following) + _ASSEMBLY_BYTES
