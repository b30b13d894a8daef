r"""A network's hidden values on every pair of samples, held in the cheapest form: the grid-matrix kernels' algebra.

A sampled grid matrix :math:`F_{ab} = f(x_I^{(a)}, x_J^{(b)})` evaluates one network on every pair
(a, b) of a row sample and a column sample. The arithmetic circuits of this book (ConvACs, RACs)
are built from two operations on vectors of channels, a linear map (a 1x1 convolution, a recurrent
or input matrix) and an elementwise product, and a hidden value :math:`v_{\gamma ab}` (channel
:math:`\gamma`) can be held in one of three forms:

* :class:`Side` -- it depends on one side only: :math:`V_{\gamma a}` (rows) or :math:`V_{\gamma b}`
  (columns). Computed once per sample, not per pair.
* :class:`Factored` -- a short sum of products,
  :math:`v_{\gamma ab} = \sum_{k<K} P_{\gamma a k}\, Q_{\gamma k b}`, with P and Q held for all
  samples of their side and either of them possibly the same for every channel (leading axis 1).
  The product of a row value and a column value is factored with K = 1; a linear map keeps K when
  P or Q is shared by the channels (it acts on the other factor) and multiplies K by the number of
  input channels otherwise; the product of factored values multiplies their K (a Khatri--Rao
  product of the factors).
* :class:`Pair` -- a value that has to be formed per pair, (channels, a, B): once K would pass
  ``max_terms``, a factored value is formed by float64 matrix products :math:`P_\gamma Q_\gamma`
  (BLAS) and the rest of the network runs on pair tensors, a linear map being one more matrix
  product and a product elementwise. A pair value is a recipe (an expression over the others),
  evaluated a block of rows at a time by :func:`evaluate`, so memory stays bounded.

Every array holds field elements in the representation of ``ops``: centred residues in float64 for
GF(p) (:class:`tensorlib.fields.blas.FloatModP`, exact: every product and matrix-product sum stays
below :math:`2^{53}`, or is cut or split in limbs), or plain float64 (:class:`Float64Ops`).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ..fields import Field
from ..fields.blas import FloatModP

__all__ = ["Float64Ops", "ModPOps", "field_ops", "Side", "Factored", "Pair", "linear", "product", "evaluate",
           "assemble"]


class Float64Ops:
    """float64 with the interface of :class:`~tensorlib.fields.blas.FloatModP`, without reductions."""

    def mul(self, a: np.ndarray, b: Any) -> np.ndarray:
        return np.multiply(a, b)

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a @ b

    def from_field(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def to_field(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x)


class ModPOps(FloatModP):
    """GF(p) on centred float64 residues, converting from and to the int64 residues of a :class:`Field`."""

    def from_field(self, x: np.ndarray) -> np.ndarray:
        return self._reduce(np.asarray(x, dtype=np.float64))

    def to_field(self, x: np.ndarray) -> np.ndarray:
        return np.mod(x, self.pf).astype(np.int64)


def field_ops(field: Field) -> Union[Float64Ops, ModPOps]:
    """The arithmetic of the kernels for a :class:`~tensorlib.fields.Field`."""
    return ModPOps(field.modulus) if field.exact else Float64Ops()


class Side:
    """A value of one side: ``V`` of shape (channels, A) for ``side == "I"`` (rows), (channels, B) for "J"."""

    def __init__(self, side: str, V: np.ndarray) -> None:
        self.side, self.V = side, V


class Factored:
    """:math:`v_{\\gamma ab} = \\sum_k P_{\\gamma a k} Q_{\\gamma k b}`: P (channels or 1, A, K), Q (channels or 1, K, B)."""

    def __init__(self, P: np.ndarray, Q: np.ndarray) -> None:
        self.P, self.Q = P, Q
        self._Q_wide: Optional[np.ndarray] = None

    @property
    def Q_wide(self) -> np.ndarray:
        """Q as one (K, channels * B) matrix, for a P shared by the channels (made once, used by every block)."""
        if self._Q_wide is None:
            cQ, K, B = self.Q.shape
            self._Q_wide = np.ascontiguousarray(self.Q.transpose(1, 0, 2)).reshape(K, cQ * B)
        return self._Q_wide

    @property
    def terms(self) -> int:
        return self.P.shape[2]


class Pair:
    """A value formed per pair: ``op`` ("linear" or "product") applied to ``args`` (see :func:`evaluate`)."""

    def __init__(self, op: str, args: tuple) -> None:
        self.op, self.args = op, args


Value = Union[Side, Factored, Pair]


def linear(ops: Any, W: np.ndarray, v: Value, shared: str = "Q") -> Value:
    """The linear map :math:`v'_{\\gamma'} = \\sum_\\gamma W_{\\gamma\\gamma'} v_\\gamma`, W of shape (r_in, r_out).

    A factored value whose P and Q are both per channel gets :math:`r_{in} K` terms, and one of
    its factors becomes shared by the channels: ``shared`` says which. Choose the factor that the
    products to come will not touch: a product with a column value makes Q per channel (and keeps
    K), so a recurrence fed with column inputs wants ``shared="P"``; the next linear map then acts
    on Q alone and keeps K too.
    """
    r_in, r_out = W.shape
    if isinstance(v, Side):
        return Side(v.side, ops.matmul(np.ascontiguousarray(W.T), v.V))
    if isinstance(v, Pair):
        return Pair("linear", (W, v))
    P, Q = v.P, v.Q
    (cP, A, K), (cQ, _, B) = P.shape, Q.shape
    if cQ == 1:  # Q shared by the channels: the map acts on P alone, K is kept
        P = np.broadcast_to(P, (r_in, A, K)).reshape(r_in, A * K)
        return Factored(ops.matmul(np.ascontiguousarray(W.T), P).reshape(r_out, A, K), Q)
    if cP == 1:  # P shared: the map acts on Q alone
        Q = ops.matmul(np.ascontiguousarray(W.T), Q.reshape(r_in, K * B)).reshape(r_out, K, B)
        return Factored(P, Q)
    if shared == "Q":
        # P'[g', a, (g, k)] = W[g, g'] P[g, a, k] against Q'[(g, k), b] = Q[g, k, b], shared.
        scaled = ops.mul(W.T[:, :, None, None], P[None])                  # (r_out, r_in, A, K)
        P = np.ascontiguousarray(scaled.transpose(0, 2, 1, 3)).reshape(r_out, A, r_in * K)
        return Factored(P, Q.reshape(1, r_in * K, B))
    # P'[a, (g, k)] = P[g, a, k], shared, against Q'[g', (g, k), b] = W[g, g'] Q[g, k, b].
    P = np.ascontiguousarray(P.transpose(1, 0, 2)).reshape(1, A, r_in * K)
    Q = ops.mul(W.T[:, :, None, None], Q[None]).reshape(r_out, r_in * K, B)
    return Factored(P, Q)


def product(ops: Any, values: Sequence[Value], max_terms: int) -> Value:
    """The elementwise product of ``values`` (broadcast over channels), factored while it has at most ``max_terms`` terms."""
    rows = [v.V for v in values if isinstance(v, Side) and v.side == "I"]
    cols = [v.V for v in values if isinstance(v, Side) and v.side == "J"]
    factored = [v for v in values if isinstance(v, Factored)]
    pairs = [v for v in values if isinstance(v, Pair)]
    if not factored and not pairs and (not rows or not cols):
        side, arrays = ("I", rows) if rows else ("J", cols)
        return Side(side, _product(ops, arrays))
    R = _product(ops, rows) if rows else None
    C = _product(ops, cols) if cols else None
    if pairs or int(np.prod([v.terms for v in factored])) > max_terms:
        args = tuple(pairs) + tuple(factored)
        args += ((Side("I", R),) if R is not None else ()) + ((Side("J", C),) if C is not None else ())
        return Pair("product", args)
    P = Q = None
    for v in factored:
        P = v.P if P is None else ops.mul(P[:, :, :, None], v.P[:, :, None, :]).reshape(
            max(P.shape[0], v.P.shape[0]), P.shape[1], -1)
        Q = v.Q if Q is None else ops.mul(Q[:, :, None, :], v.Q[:, None, :, :]).reshape(
            max(Q.shape[0], v.Q.shape[0]), -1, Q.shape[2])
    if R is not None:
        P = R[:, :, None] if P is None else ops.mul(P, R[:, :, None])
    if C is not None:
        Q = C[:, None, :] if Q is None else ops.mul(Q, C[:, None, :])
    return Factored(P, Q)


def _product(ops: Any, arrays: List[np.ndarray]) -> np.ndarray:
    out = arrays[0]
    for a in arrays[1:]:
        out = ops.mul(out, a)
    return out


def evaluate(ops: Any, v: Value, a0: int, a1: int, memo: Optional[Dict[int, np.ndarray]] = None) -> np.ndarray:
    """The value on rows a0:a1 and every column, shape (channels or 1, a1 - a0, B) (a Side broadcasts).

    ``memo`` (one per block of rows) keeps the pair values already formed, so a value used twice
    (a recurrent state feeds the next step and the layer above) is formed once.
    """
    memo = {} if memo is None else memo
    key = id(v)
    if key in memo:
        return memo[key]
    if isinstance(v, Side):
        out = v.V[:, a0:a1, None] if v.side == "I" else v.V[:, None, :]
    elif isinstance(v, Factored):
        out = _form(ops, v, a0, a1)
    elif v.op == "linear":
        W, arg = v.args
        X = evaluate(ops, arg, a0, a1, memo)
        r_in, r_out = W.shape
        _, a, B = X.shape
        X = np.broadcast_to(X, (r_in, a, B)).reshape(r_in, a * B)
        out = ops.matmul(np.ascontiguousarray(W.T), X).reshape(r_out, a, B)
    else:
        out = None
        for arg in v.args:
            X = evaluate(ops, arg, a0, a1, memo)
            out = X if out is None else ops.mul(out, X)
    memo[key] = out
    return out


def assemble(ops: Any, output: Value, out: np.ndarray, block_bytes: int) -> np.ndarray:
    """Write a one-channel value (a network's output) into ``out`` (A, B) in the field's own representation.

    The rows are evaluated in blocks of about ``block_bytes`` per channel of a pair tensor, each
    with its own ``memo``, so memory stays bounded whatever A and B are.
    """
    A, B = out.shape
    rows = max(1, min(A, block_bytes // (8 * max(B, 1))))
    for a0 in range(0, A, rows):
        a1 = min(A, a0 + rows)
        out[a0:a1] = ops.to_field(evaluate(ops, output, a0, a1)[0])
    return out


def _form(ops: Any, v: Factored, a0: int, a1: int) -> np.ndarray:
    """:math:`\\sum_k P_{\\gamma a k} Q_{\\gamma k b}` on rows a0:a1 as a pair tensor, in as few matrix products as the sharing allows."""
    P, Q = v.P[:, a0:a1], v.Q
    (cP, a, K), (cQ, _, B) = P.shape, Q.shape
    if cQ == 1:
        return ops.matmul(P.reshape(cP * a, K), Q[0]).reshape(cP, a, B)
    if cP == 1:
        out = ops.matmul(P[0], v.Q_wide)                                   # (a, cQ * B)
        return out.reshape(a, cQ, B).transpose(1, 0, 2)
    return np.stack([ops.matmul(P[g], Q[g]) for g in range(cP)])
