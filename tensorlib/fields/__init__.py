"""Arithmetic over the two fields tensorlib works in: float64 and GF(p).

A network in this book is a polynomial in its inputs and weights. Evaluated in float64 it gives
numbers whose matricization ranks are *estimates* (SVD with a tolerance). Evaluated with integer
weights and integer inputs modulo a prime ``p`` it gives an integer matrix whose rank over GF(p)
is computed exactly, and

.. math::  \\operatorname{rank}_{\\mathrm{GF}(p)}(F \\bmod p) \\le \\operatorname{rank}_{\\mathbb Q}(F),

so an exact rank is a certified lower bound for the integer network (see :mod:`tensorlib.rank`).

A :class:`Field` bundles the operations the networks need: drawing random weights and inputs,
matrix products and elementwise products. In GF(p) every array holds ``int64`` values in
``[0, p)`` and no operation overflows: products of two residues are below ``2**62``, and a matrix
product runs on float64 BLAS when every partial sum stays below :math:`2^{53}` (small primes),
else in uint64 when it stays below :math:`2^{64}`, else with one factor split into 16-bit limbs.

The fast paths of the networks (the grid-matrix blocks) add many products before reducing. The
kernels they share live here too, so tensorlib does modular arithmetic in one place:

* :meth:`~tensorlib.fields.Field.work` views residues as uint64, the working type of those kernels;
* :meth:`~tensorlib.fields.Field.reduce_` reduces a uint64 array in place (``x - (x // p) * p``: numpy divides by a
  scalar with a multiply and a shift, several times faster than ``%``);
* :attr:`~tensorlib.fields.Field.products_per_reduction` is how many products of two residues may be added to a
  residue before a uint64 can overflow (4 for p near :math:`2^{31}`; thousands for small primes);
* :meth:`~tensorlib.fields.Field.dot` sums products of vectors, reducing only that often; :meth:`~tensorlib.fields.Field.add_residues`
  adds two residues with one conditional subtraction.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Tuple

import flint
import numpy as np

from ..checks import check_int

__all__ = ["DEFAULT_PRIME", "Field", "FLOAT64", "gf", "is_prime", "previous_prime", "validate_prime", "matmul_mod"]

# float64 represents every integer below 2**53 exactly.
_FLOAT_EXACT = 2**53
# Below this inner dimension a float64 BLAS product (and its conversions and fmod) is slower than
# numpy's uint64 product: measured 0.5 s against 0.02 s for a (10**6 x 3) @ (3 x 3) product.
_BLAS_MIN_INNER = 64

#: The default prime for exact ranks: 4194301, the largest prime below :math:`2^{22}`. Its centred
#: residues have magnitude below :math:`2^{21}`, so a float64 product of two is below :math:`2^{42}`
#: and about 2047 of them add up exactly (:math:`< 2^{53}`): the exact elimination
#: (:mod:`tensorlib.elimination`) and the networks' matrix products then run on float64 BLAS. The
#: price is a smaller high-probability margin than :math:`2^{31}` would give (a spurious rank drop
#: has probability of order degree/p), which the confirmation with a second prime
#: (:func:`previous_prime`: 4194287) covers; a rank that meets a proven upper bound is certified
#: whatever the prime.
DEFAULT_PRIME: int = 4194301

_LIMB_BITS = 16
_LIMB_MASK = (1 << _LIMB_BITS) - 1
# A limb times a residue is below 2**15 * 2**31 = 2**46; 2**16 such terms stay below 2**63.
_MAX_INNER = 1 << 16


def is_prime(p: int) -> bool:
    """Return whether the integer ``p`` is prime (via flint's ``fmpz.is_prime``)."""
    return bool(flint.fmpz(check_int(p, "p")).is_prime())


def validate_prime(p: object, name: str = "p") -> int:
    """Check that ``p`` is a prime in ``[2, 2**31)`` and return it as ``int``.

    flint aborts the whole Python process (and so a reader's kernel) on a composite modulus,
    so every entry point that reaches flint calls this first.
    """
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"{name} must be an int (a prime below 2**31), got {type(p).__name__}")
    p = int(p)
    if p < 2 or p >= 2**31:
        raise ValueError(f"{name} must be a prime in [2, 2**31), got {p}")
    if not is_prime(p):
        raise ValueError(f"{name} must be prime, got {p} (composite); try tensorlib.DEFAULT_PRIME = {DEFAULT_PRIME}")
    return p


def matmul_mod(a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """Matrix product ``a @ b mod p`` of int64 residues in ``[0, p)``, broadcasting like ``np.matmul``.

    When the inner dimension n satisfies :math:`n (p-1)^2 < 2^{64}` one uint64 product is exact.
    Otherwise ``a`` is split into 16-bit limbs, :math:`a = 2^{16} a_{hi} + a_{lo}`, so every partial
    sum stays below :math:`2^{63}`; the inner dimension is chunked at :math:`2^{16}`.

    Raises
    ------
    TypeError
        If ``a`` or ``b`` does not have an integer (or bool) dtype.
    ValueError
        If ``p`` is not a prime in ``[2, 2**31)``, or an entry lies outside ``[0, p)`` (reduce with
        ``Field(p).asarray`` first; unreduced entries could overflow int64 silently).
    """
    p = validate_prime(p, "p")
    a = _as_residues(a, p, "a")
    b = _as_residues(b, p, "b")
    return _matmul_mod(a, b, p)


def _as_residues(x: object, p: int, name: str) -> np.ndarray:
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be an integer array of residues in [0, {p}), got {type(x).__name__}")
    arr = np.asarray(x)
    if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
        raise TypeError(f"{name} must be an integer array of residues in [0, {p}), got dtype {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= p):
        raise ValueError(f"{name} must hold residues in [0, {p}), got entries in [{arr.min()}, {arr.max()}]; "
                         "reduce it first with tensorlib.Field(p).asarray")
    return arr.astype(np.int64, copy=False)


def _matmul_mod(a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """:func:`matmul_mod` without the checks, for arrays already known to be int64 residues."""
    inner = a.shape[-1]
    if inner > _MAX_INNER:
        out = None
        for start in range(0, inner, _MAX_INNER):
            stop = start + _MAX_INNER
            # b's contracted axis is its last but one, or its only axis for a 1-D b (as in np.matmul).
            b_part = b[..., start:stop, :] if b.ndim > 1 else b[start:stop]
            part = _matmul_mod(a[..., start:stop], b_part, p)
            out = part if out is None else (out + part) % p
        return out
    if inner >= _BLAS_MIN_INNER and inner * (p - 1) ** 2 < _FLOAT_EXACT:
        # Small primes: every partial sum is an integer below 2**53, so float64 BLAS is exact.
        product = np.matmul(a.astype(np.float64), b.astype(np.float64))
        return np.fmod(product, p, out=product).astype(np.int64)
    if inner * (p - 1) ** 2 < 2**64:
        # Few terms (the networks' r x r products): the whole sum fits in uint64, one product suffices.
        product = np.matmul(a.view(np.uint64) if a.dtype == np.int64 else a.astype(np.uint64),
                            b.view(np.uint64) if b.dtype == np.int64 else b.astype(np.uint64))
        return Field(p).reduce_(product).view(np.int64)
    hi = np.matmul(a >> _LIMB_BITS, b) % p
    lo = np.matmul(a & _LIMB_MASK, b) % p
    return ((hi << _LIMB_BITS) + lo) % p


@dataclass(frozen=True)
class Field:
    """float64 (``modulus=None``) or GF(``modulus``).

    The networks are written once against this interface, so the same code evaluates a network
    in floating point (for spectra and estimates) and exactly modulo a prime (for certificates).
    """

    modulus: Optional[int] = None

    def __post_init__(self) -> None:
        if self.modulus is not None:
            object.__setattr__(self, "modulus", validate_prime(self.modulus, "modulus"))

    @property
    def exact(self) -> bool:
        """True for GF(p), False for float64."""
        return self.modulus is not None

    @property
    def dtype(self) -> type:
        return np.int64 if self.exact else np.float64

    def __str__(self) -> str:
        return f"GF({self.modulus})" if self.exact else "float64"

    # -- random elements ------------------------------------------------------------------
    def random(self, rng: np.random.Generator, shape: tuple[int, ...] | int, scale: float = 1.0) -> np.ndarray:
        """Random elements: uniform residues in ``[0, p)`` for GF(p), ``N(0, scale**2)`` for float64."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator (numpy.random.default_rng(seed)), "
                            f"got {type(rng).__name__}")
        if self.exact:
            return rng.integers(0, self.modulus, size=shape, dtype=np.int64)
        return rng.standard_normal(size=shape) * scale

    def ones(self, shape: tuple[int, ...] | int) -> np.ndarray:
        return np.ones(shape, dtype=self.dtype)

    def asarray(self, x: np.ndarray) -> np.ndarray:
        """Bring an array into the field: reduce integers mod p, or cast to float64."""
        x = np.asarray(x)
        if self.exact:
            if not (np.issubdtype(x.dtype, np.integer) or x.dtype == bool):
                raise TypeError(f"arrays in {self} must have an integer dtype, got {x.dtype}")
            if x.dtype == np.uint64:  # values >= 2**63 would wrap around in int64: reduce first
                x = np.mod(x, np.uint64(self.modulus))
            return np.mod(x.astype(np.int64), self.modulus)
        if x.dtype == object or not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
            raise TypeError(f"arrays in {self} must be numeric, got dtype {x.dtype}")
        if np.iscomplexobj(x):
            raise TypeError(f"arrays in {self} must be real, got a complex array")
        return x.astype(np.float64)

    # -- arithmetic -----------------------------------------------------------------------
    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``a @ b`` (with numpy broadcasting), reduced mod p in GF(p)."""
        if self.exact:
            return _matmul_mod(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64), self.modulus)
        return np.matmul(a, b)

    def mul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Elementwise product (with broadcasting); in GF(p) of residues, reduced with :meth:`reduce_`."""
        if self.exact:
            return self.reduce_(np.multiply(self.work(a), self.work(b))).view(np.int64)
        return a * b

    def add(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Elementwise sum (with broadcasting); in GF(p) of residues, reduced by one conditional subtraction."""
        if self.exact:
            return self.add_residues(self.work(a), self.work(b)).view(np.int64)
        return a + b

    def sum(self, a: np.ndarray, axis: int) -> np.ndarray:
        """Sum along ``axis``, reduced mod p in chunks so the partial sums stay below ``2**63``."""
        if not self.exact:
            return np.sum(a, axis=axis)
        a = np.moveaxis(a, axis, 0)
        out = np.zeros(a.shape[1:], dtype=np.int64)
        for start in range(0, a.shape[0], 1 << 30):
            out = (out + np.sum(a[start:start + (1 << 30)], axis=0)) % self.modulus
        return out

    def prod(self, a: np.ndarray, axis: int) -> np.ndarray:
        """Product along ``axis`` (sequential, reducing after every factor in GF(p))."""
        if not self.exact:
            return np.prod(a, axis=axis)
        a = np.moveaxis(a, axis, 0)
        if a.shape[0] == 0:
            return np.ones(a.shape[1:], dtype=np.int64)
        out = np.array(a[0], dtype=np.int64)
        for factor in a[1:]:
            out = self.mul(out, factor)
        return out

    # -- the fast kernels: uint64 residues with delayed reduction ---------------------------------
    @property
    def products_per_reduction(self) -> int:
        """How many products of two residues may be added to a residue before a uint64 can overflow.

        :math:`\\lfloor (2^{64} - p) / (p-1)^2 \\rfloor`: 4 for p near :math:`2^{31}`, about
        :math:`2^{18}` for p near :math:`2^{23}`. Unbounded (``sys.maxsize``) in float64.
        """
        if not self.exact or self.modulus == 2:
            return sys.maxsize
        return max(1, (2**64 - self.modulus) // (self.modulus - 1) ** 2)

    def work(self, x: Any) -> np.ndarray:
        """``x`` in the kernels' working type: residues as uint64 (a view of int64, no copy), or float64."""
        x = np.asarray(x)
        if not self.exact:
            return x
        if x.dtype == np.int64:
            return x.view(np.uint64)
        return x if x.dtype == np.uint64 else x.astype(np.uint64)

    def reduce_(self, x: np.ndarray, scratch: Optional[np.ndarray] = None) -> np.ndarray:
        """Reduce a uint64 working array mod p in place and return it (float64: unchanged).

        ``x - (x // p) * p``: numpy divides by a scalar with a multiply and a shift, several times
        faster than its ``%``. ``scratch``, an optional buffer of x's shape, avoids an allocation.
        """
        if self.exact:
            p = np.uint64(self.modulus)
            q = np.floor_divide(x, p, out=scratch)
            q *= p
            x -= q
        return x

    def multiply_(self, acc: np.ndarray, other: Any, scratch: Optional[np.ndarray] = None) -> np.ndarray:
        """``acc *= other`` on working arrays (``other`` broadcasts), reduced mod p in GF(p)."""
        np.multiply(acc, self.work(other), out=acc)
        return self.reduce_(acc, scratch)

    def dot(self, terms: Iterable[Tuple[Any, Any]]) -> np.ndarray:
        """:math:`\\sum_t a_t b_t` over pairs of working arrays or scalars (at least one array per pair).

        In GF(p) the sum is reduced only every :attr:`products_per_reduction` products, and once at
        the end: integer remainders are the slow step of the fast paths.
        """
        out = None
        pending = 0
        every = self.products_per_reduction
        for a, b in terms:
            if out is None:
                out = np.multiply(a, b)
            else:
                if pending == every:
                    self.reduce_(out)
                    pending = 0
                out += a * b
            pending += 1
        if out is None:
            raise ValueError("dot needs at least one pair of factors")
        return self.reduce_(out)

    def add_residues(self, a: Any, b: Any) -> np.ndarray:
        """``a + b`` of working arrays; in GF(p) both are residues, so one conditional subtraction reduces it.

        The subtraction is branch-free: in uint64, ``s - p`` wraps around to a huge value when
        ``s < p``, so ``min(s, s - p)`` is ``s mod p`` for ``s < 2p`` (seven times faster than a
        masked ``where=`` subtraction).
        """
        out = np.add(a, b)
        if self.exact:
            np.minimum(out, out - np.uint64(self.modulus), out=out)
        return out


#: float64 arithmetic.
FLOAT64 = Field(None)


def gf(p: int = DEFAULT_PRIME) -> Field:
    """The field GF(p); ``p`` must be prime (checked, since flint aborts on composites)."""
    return Field(p)


def previous_prime(p: int) -> int:
    """The largest prime below ``p`` (at least 3): the second, independent prime of a confirmation."""
    q = check_int(p, "p", 4) - 1
    while not is_prime(q):
        q -= 1
    return q
