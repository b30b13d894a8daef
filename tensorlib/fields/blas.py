"""Exact arithmetic mod p on float64 arrays: the BLAS kernels of :mod:`tensorlib.elimination`.

Read the docstring of :mod:`tensorlib.elimination` for the choice of primes.
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
from typing import Optional, Tuple

import numpy as np

__all__ = ["FloatModP", "CHUNK_ENTRIES"]

# Below this kmax (primes above about 2**23.5) one split product beats many thin unsplit ones.
_MIN_DIRECT_KMAX = 256
# Temporaries of the in-place updates are cut to about this many float64 entries (16 MB).
CHUNK_ENTRIES = 1 << 21


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
        Whether products split one factor into two limbs, base ``limb``.
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
        if x.ndim != 2 or x.size <= CHUNK_ENTRIES:
            return self._reduce(x)
        step = max(1, CHUNK_ENTRIES // max(1, x.shape[1]))
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
        step = max(1, CHUNK_ENTRIES // max(1, a.shape[1])) if a.ndim == 2 else 1
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
        width = max(1, min(n, CHUNK_ENTRIES // max(1, m)))
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
