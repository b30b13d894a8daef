"""Arithmetic over the two fields tensorlib works in: float64 and GF(p).

A network in this book is a polynomial in its inputs and weights. Evaluated in float64 it gives
numbers whose matricization ranks are *estimates* (SVD with a tolerance). Evaluated with integer
weights and integer inputs modulo a prime ``p`` it gives an integer matrix whose rank over GF(p)
is computed exactly, and

.. math::  \\operatorname{rank}_{\\mathrm{GF}(p)}(F \\bmod p) \\le \\operatorname{rank}_{\\mathbb Q}(F),

so an exact rank is a certified lower bound for the integer network (see :mod:`tensorlib.rank`).

A :class:`Field` bundles the few operations the networks need: drawing random weights and inputs,
matrix products and elementwise products. In GF(p) every array holds ``int64`` values in
``[0, p)`` and no operation overflows: products of two residues are below ``2**62`` and matrix
products split one factor into 16-bit limbs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import flint
import numpy as np

__all__ = ["DEFAULT_PRIME", "Field", "FLOAT64", "gf", "is_prime", "validate_prime", "matmul_mod"]

#: The default prime for exact ranks: the largest prime below ``2**31``. Large enough that a random
#: weight setting reaches the generic rank with overwhelming probability (Schwartz--Zippel), small
#: enough that products of two residues fit in ``int64``.
DEFAULT_PRIME: int = 2**31 - 1

_LIMB_BITS = 16
_LIMB_MASK = (1 << _LIMB_BITS) - 1
# A limb times a residue is below 2**15 * 2**31 = 2**46; 2**16 such terms stay below 2**63.
_MAX_INNER = 1 << 16


def is_prime(p: int) -> bool:
    """Return whether the integer ``p`` is prime (via flint's ``fmpz.is_prime``)."""
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
        raise TypeError(f"p must be an int, got {type(p).__name__}")
    return bool(flint.fmpz(int(p)).is_prime())


def validate_prime(p: object, name: str = "p") -> int:
    """Check that ``p`` is a prime in ``[2, 2**31)`` and return it as ``int``.

    flint aborts the whole Python process (and so a reader's kernel) on a composite modulus,
    so every entry point that reaches flint calls this first.
    """
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
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
    if inner * (p - 1) ** 2 < 2**64:
        # Few terms (the networks' r x r products): the whole sum fits in uint64, one product suffices.
        product = np.matmul(a.astype(np.uint64, copy=False), b.astype(np.uint64, copy=False)) % np.uint64(p)
        return product.astype(np.int64)
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
        """Elementwise product (residues below ``2**31`` so the int64 product cannot overflow)."""
        if self.exact:
            return (a * b) % self.modulus
        return a * b

    def add(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.exact:
            return (a + b) % self.modulus
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
        out = np.ones(a.shape[1:], dtype=np.int64)
        for factor in a:
            out = (out * factor) % self.modulus
        return out


#: float64 arithmetic.
FLOAT64 = Field(None)


def gf(p: int = DEFAULT_PRIME) -> Field:
    """The field GF(p); ``p`` must be prime (checked, since flint aborts on composites)."""
    return Field(p)
