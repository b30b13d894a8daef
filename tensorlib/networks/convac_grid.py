"""The fast sampled grid matrix of a deep ConvAC: each side evaluated once, the pairs on BLAS.

:func:`deep_convac_grid_block` computes :math:`F[a,b] = f(x_I = x_{rows}[a], x_J = x_{cols}[b])`
for :class:`tensorlib.networks.convac.DeepConvAC`. The pooling tree is evaluated bottom-up, and
each node's value (one vector of channels per pair (a, b)) is held in the cheapest of three forms:

* **one-sided**: a node whose inputs all lie in I holds one value per row, shape (r, A); all in J,
  one per column, (r, B). These subtrees (the whole first layer among them) are computed once per
  side, not once per pair.
* **factored**: a node mixing both sides whose value is a short sum of products,
  :math:`v_{\\gamma ab} = \\sum_{k} P_{\\gamma a k}\\, Q_{\\gamma b k}`, held as P (r, A, k) and
  Q (r or 1, k, B). Pooling a row value :math:`R_{\\gamma a}` with a column value
  :math:`C_{\\gamma b}` gives k = 1; a 1x1 convolution :math:`\\sum_\\alpha W_{\\alpha\\gamma}
  v_{\\alpha ab}` multiplies k by the number of input channels (the terms
  :math:`W_{\\alpha\\gamma} P_{\\alpha a k}` against :math:`Q_{\\alpha b k}`, with Q now the same
  for every output channel); pooling two factored nodes multiplies their k (a Khatri--Rao product
  of the factors).
* **pair**: a tensor T (r, A, B), formed from a factored value by one matrix product
  :math:`P_\\gamma Q_\\gamma^\\top` per channel (one in all when Q is shared) once k would exceed
  ``_MAX_TERMS``. Pair tensors are convolved as one matrix product, :math:`W^\\top T` with T
  seen as (r, A B), and pooled elementwise.

So the per-pair work is a few float64 matrix products with inner dimension at most
``_MAX_TERMS`` and a few elementwise products, instead of about 500 elementwise operations per
pair (measured on 2 cores for the 6561 x 6561 matrix of the odd/even partition of N = 16, M = r = 3:
1.5 s, against 3.0 s for the elementwise uint64 kernel this one replaced).
In GF(p) every array holds centred residues in float64 and every operation is exact
(:class:`tensorlib.fields.blas.FloatModP`: products of two residues are added in float64 only as
long as they stay below :math:`2^{53}`, the others are cut or split in limbs); the result is
returned as int64 residues in [0, p). In float64 the same code runs without reductions.

The rows are processed in blocks of about ``_BLOCK_BYTES`` per channel of a pair tensor, so
memory stays small whatever A and B are.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..fields import Field
from ..fields.blas import FloatModP

__all__ = ["deep_convac_grid_block"]

# Bytes of one channel of a pair tensor (rows, B): the rows are processed in blocks this large.
_BLOCK_BYTES = 2**19
# The most terms a factored value may have before it is formed as a pair tensor: a float64 matrix
# product with this inner dimension costs about as much per entry as the elementwise work it saves.
_MAX_TERMS = 64

# A node's value: ("I", None) / ("J", None) for one-sided nodes (their values are precomputed for all
# samples of the side), ("F", P, Q) for factored, ("T", T) for pair tensors.
_Node = Tuple[Any, ...]


class _Float64:
    """The float64 field with the interface of :class:`~tensorlib.fields.blas.FloatModP` (no reductions)."""

    def mul(self, a: np.ndarray, b: Any) -> np.ndarray:
        return np.multiply(a, b)

    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a @ b

    def from_field(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64)

    def to_field(self, x: np.ndarray) -> np.ndarray:
        return x


class _ModP(FloatModP):
    """GF(p) on centred float64 residues, converting from and to the int64 residues of a :class:`Field`."""

    def from_field(self, x: np.ndarray) -> np.ndarray:
        return self._reduce(np.asarray(x, dtype=np.float64))

    def to_field(self, x: np.ndarray) -> np.ndarray:
        return np.mod(x, self.pf).astype(np.int64)


def deep_convac_grid_block(net: Any, field: Field, weights: Dict[str, Any], I: Tuple[int, ...], J: Tuple[int, ...],
                           x_rows: np.ndarray, x_cols: np.ndarray) -> np.ndarray:
    """The block F (A, B) of a DeepConvAC ``net``, for validated inputs in ``field``.

    Parameters
    ----------
    net : DeepConvAC
        Its ``order``, ``windows``, ``widths`` and ``_layer_weights`` are used.
    field : Field
    weights : dict
        ``net``'s weights in ``field``.
    I, J : tuples of int
        The partition.
    x_rows, x_cols : ndarrays of shapes ``(A, |I|, M)`` and ``(B, |J|, M)``
        Validated inputs (residues in GF(p)).

    Returns
    -------
    ndarray (A, B): float64, or int64 residues in [0, p).
    """
    A, B = x_rows.shape[0], x_cols.shape[0]
    out = np.empty((A, B), dtype=field.dtype)
    if A == 0 or B == 0:
        return out
    ops: Any = _ModP(field.modulus) if field.exact else _Float64()
    convs = [[ops.from_field(w) for w in net._layer_weights(weights, l)] for l in range(len(net.windows))]
    output = ops.from_field(np.asarray(weights["output"]).reshape(-1, 1))
    sides, one_sided = _one_sided_tree(net, ops, convs, I, J, ops.from_field(x_rows), ops.from_field(x_cols))
    rows = max(1, min(A, _BLOCK_BYTES // (8 * B)))
    columns: Dict[Any, np.ndarray] = {}  # the Q factors, which do not depend on the rows: computed once
    for a0 in range(0, A, rows):
        a1 = min(A, a0 + rows)
        nodes: List[_Node] = [(s, None) for s in sides[0]]
        for l, w in enumerate(net.windows):
            convolved = [_conv(ops, convs[l][j], node, columns, ("conv", l, j)) if node[0] in "FT" else node
                         for j, node in enumerate(nodes)]
            nodes = [_pool(ops, convolved[s:s + w], one_sided[l][s:s + w], a0, a1, columns, ("pool", l, s))
                     for s in range(0, len(nodes), w)]
        root = _conv(ops, output, nodes[0], columns, ("output", 0))
        out[a0:a1] = ops.to_field(_pair_tensor(ops, root)[0])
    return out


def _one_sided_tree(net: Any, ops: Any, convs: list, I: Tuple[int, ...], J: Tuple[int, ...],
                    x_rows: np.ndarray, x_cols: np.ndarray) -> Tuple[list, list]:
    """Sides of every node ("I", "J" or "P" for mixed) and the convolved values of the one-sided ones.

    ``sides[l][j]`` is the side of input node j of layer l; ``one_sided[l][j]`` its value after
    layer l's convolution, shape (r_l, A) or (r_l, B), or None for a mixed node.
    """
    side_of = {i: "I" for i in I} | {j: "J" for j in J}
    slot = {i: k for k, i in enumerate(I)} | {j: k for k, j in enumerate(J)}
    level_sides = [side_of[i] for i in net.order]
    values: List[Optional[np.ndarray]] = [(x_rows if side_of[i] == "I" else x_cols)[:, slot[i]].T for i in net.order]
    sides, one_sided = [], []
    for l, w in enumerate(net.windows):
        convolved = [ops.matmul(np.ascontiguousarray(convs[l][j].T), v) if v is not None else None
                     for j, v in enumerate(values)]
        sides.append(level_sides)
        one_sided.append(convolved)
        level_sides, values = [], []
        for s in range(0, len(convolved), w):
            group = set(sides[-1][s:s + w])
            side = group.pop() if len(group) == 1 else "P"
            level_sides.append(side)
            values.append(_product(ops, convolved[s:s + w]) if side != "P" else None)
    return sides, one_sided


def _product(ops: Any, arrays: List[np.ndarray]) -> np.ndarray:
    out = arrays[0]
    for a in arrays[1:]:
        out = ops.mul(out, a)
    return out


def _conv(ops: Any, W: np.ndarray, node: _Node, columns: Dict[Any, np.ndarray], key: Any) -> _Node:
    """The 1x1 convolution :math:`\\sum_\\alpha W_{\\alpha\\gamma} v_{\\alpha ab}` of a mixed node, W of shape (r_in, r_out).

    ``columns`` caches the Q factor of a factored result under ``key`` (it is the same for every
    block of rows).
    """
    r_in, r_out = W.shape
    if node[0] == "T":
        T = node[1]
        _, a, b = T.shape
        return ("T", ops.matmul(np.ascontiguousarray(W.T), T.reshape(r_in, a * b)).reshape(r_out, a, b))
    _, P, Q = node
    _, a, k = P.shape
    # P'[g, a, (alpha, k)] = W[alpha, g] P[alpha, a, k];  Q'[(alpha, k), b] = Q[alpha, k, b], shared by all g.
    scaled = ops.mul(W.T[:, :, None, None], P[None])                        # (r_out, r_in, a, k)
    P = np.ascontiguousarray(scaled.transpose(0, 2, 1, 3)).reshape(r_out, a, r_in * k)
    if key not in columns:
        columns[key] = np.broadcast_to(Q, (r_in,) + Q.shape[1:]).reshape(1, r_in * k, Q.shape[2])
    return ("F", P, columns[key])


def _pool(ops: Any, children: List[_Node], convolved: List[Optional[np.ndarray]], a0: int, a1: int,
          columns: Dict[Any, np.ndarray], key: Any) -> _Node:
    """The product pooling of a window of convolved nodes (rows a0:a1); ``columns`` as in :func:`_conv`."""
    kinds = {node[0] for node in children}
    if kinds <= {"I"} or kinds <= {"J"}:
        return (kinds.pop(), None)
    R = [v[:, a0:a1] for node, v in zip(children, convolved) if node[0] == "I"]
    C = [v for node, v in zip(children, convolved) if node[0] == "J"]
    factored = [node for node in children if node[0] == "F"]
    pairs = [node[1] for node in children if node[0] == "T"]
    terms = int(np.prod([node[1].shape[2] for node in factored]))
    if not pairs and terms <= _MAX_TERMS:
        P = None
        for _, P2, _ in factored:
            P = P2 if P is None else _khatri_rao(ops, P, P2)
        if R:
            P = _product(ops, R)[:, :, None] if P is None else ops.mul(P, _product(ops, R)[:, :, None])
        if key not in columns:
            Q = None
            for _, _, Q2 in factored:  # Q has shape (channels or 1, k, B)
                Q = Q2 if Q is None else _khatri_rao(ops, Q.transpose(0, 2, 1), Q2.transpose(0, 2, 1)).transpose(0, 2, 1)
            if C:
                Q = _product(ops, C)[:, None, :] if Q is None else ops.mul(Q, _product(ops, C)[:, None, :])
            columns[key] = np.ascontiguousarray(Q)
        return ("F", P, columns[key])
    values = pairs + [_pair_tensor(ops, node) for node in factored]
    T = _product(ops, values)
    if R:
        T = ops.mul(T, _product(ops, R)[:, :, None])
    if C:
        T = ops.mul(T, _product(ops, C)[:, None, :])
    return ("T", T)


def _khatri_rao(ops: Any, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Per channel and sample, the products of every term of X (c, n, k1) with every term of Y (c, n, k2)."""
    c = max(X.shape[0], Y.shape[0])
    return ops.mul(X[:, :, :, None], Y[:, :, None, :]).reshape(c, X.shape[1], X.shape[2] * Y.shape[2])


def _pair_tensor(ops: Any, node: _Node) -> np.ndarray:
    """A mixed node's value as a pair tensor (r, a, B): one matrix product per channel, one if Q is shared."""
    if node[0] == "T":
        return node[1]
    _, P, Q = node
    r, a, k = P.shape
    if Q.shape[0] == 1:
        return ops.matmul(P.reshape(r * a, k), Q[0]).reshape(r, a, Q.shape[2])
    return np.stack([ops.matmul(P[g], Q[g]) for g in range(r)])
