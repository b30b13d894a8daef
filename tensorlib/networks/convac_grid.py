"""The fast sampled grid matrix of a deep ConvAC: each side of the partition evaluated once.

:func:`deep_convac_grid_block` computes :math:`F[a,b] = f(x_I = x_{rows}[a], x_J = x_{cols}[b])`
for :class:`tensorlib.networks.convac.DeepConvAC`. The pooling tree is evaluated bottom-up. A node whose
inputs all lie in I holds one value per row, shape (r, A); all in J, one per column, (r, B); only a
node mixing both sides holds a *pair tensor* (r, A, B). So the convolutions of one-sided subtrees
(the whole first layer among them) are computed once per side, not once per pair, and a mixed node
whose children are all one-sided is convolved without forming its pair tensor.

The rows are processed in blocks of about 4 MiB per pair tensor, so memory stays small (a few such
tensors per level of the tree) whatever A and B are. The arithmetic is the shared kernel of
:class:`tensorlib.fields.Field`: uint64 residues, with one reduction per
:attr:`~tensorlib.fields.Field.products_per_reduction` products. The pair tensors live in buffers
allocated once per call, since fresh large arrays cost a page fault per 4 KiB, about a third of the
time.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from ..fields import Field

__all__ = ["deep_convac_grid_block"]

# Bytes of one pair tensor (channels, rows, B): the rows are processed in blocks this small so the
# arrays stay in cache; a few of them are alive at once.
_BLOCK_BYTES = 4 * 2**20


def deep_convac_grid_block(net: Any, field: Field, weights: Dict[str, Any], I: Tuple[int, ...], J: Tuple[int, ...],
                           x_rows: np.ndarray, x_cols: np.ndarray) -> np.ndarray:
    """The block F (A, B) of a DeepConvAC ``net``, for validated inputs in ``field``.

    Parameters
    ----------
    net : DeepConvAC
        Its ``order``, ``windows``, ``widths``, ``depth`` and ``_layer_weights`` are used.
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
    side_of = {i: "I" for i in I} | {j: "J" for j in J}
    slot = {i: k for k, i in enumerate(I)} | {j: k for k, j in enumerate(J)}
    # Values are channel-first, (channels, A) or (channels, B), so that the pair tensors
    # (channels, A, B) are processed one contiguous (A, B) slice at a time.
    sides = [side_of[i] for i in net.order]
    values: List[Any] = [(x_rows if side_of[i] == "I" else x_cols)[:, slot[i]].T for i in net.order]
    levels = []  # per layer: sides of its input nodes, and their one-sided conv outputs
    for l, w in enumerate(net.windows):
        conv = net._layer_weights(weights, l)
        outs = [field.matmul(np.ascontiguousarray(conv[j].T), v) if s != "P" else None
                for j, (s, v) in enumerate(zip(sides, values))]
        levels.append((sides, outs))
        sides, values = [], []
        for start in range(0, len(outs), w):
            group = set(levels[-1][0][start:start + w])
            one_sided = len(group) == 1 and "P" not in group
            sides.append(group.pop() if one_sided else "P")
            values.append(_product(field, outs[start:start + w]) if one_sided else None)
    output = np.asarray(weights["output"])[:, None]
    rows = max(1, min(A, _BLOCK_BYTES // (8 * B * max(net.widths))))
    work = _Workspace(field, rows, B)
    for a0 in range(0, A, rows):
        a1 = min(A, a0 + rows)
        root = _pair_value(net, field, weights, levels, work, net.depth, 0, a0, a1)
        result = _channel_conv(field, output, root, work.buffer("output", 0, 1, a1 - a0), work)
        out[a0:a1] = result[0].view(np.int64) if field.exact else result[0]
    return out


def _pair_value(net: Any, field: Field, weights: Dict[str, Any], levels: list, work: "_Workspace", level: int,
                j: int, a0: int, a1: int) -> Tuple[np.ndarray, ...]:
    """The pooled value of the mixed node j at ``level`` (>= 1) for rows a0:a1, depth first.

    Returns ``(R, C)`` when every child is one-sided (the value is the channel-wise outer product
    :math:`R_{\\gamma a} C_{\\gamma b}`, kept factored), else ``(T,)`` with T of shape
    (channels, a1 - a0, B), a view of the workspace buffer of this level.
    """
    w = net.windows[level - 1]
    sides, outs = levels[level - 1]
    rows_part, cols_part, acc = [], [], None
    for child in range(j * w, (j + 1) * w):
        if sides[child] == "I":
            rows_part.append(outs[child][:, a0:a1])
        elif sides[child] == "J":
            cols_part.append(outs[child])
        else:
            value = _pair_value(net, field, weights, levels, work, level - 1, child, a0, a1)
            W = net._layer_weights(weights, level - 1)[child]
            if acc is None:
                acc = _channel_conv(field, W, value, work.buffer("pooled", level, W.shape[1], a1 - a0), work)
            else:
                h = _channel_conv(field, W, value, work.buffer("conv", level, W.shape[1], a1 - a0), work)
                work.multiply_into(acc, h)
    R = _product(field, rows_part) if rows_part else None
    C = _product(field, cols_part) if cols_part else None
    if acc is None:
        return (R, C)
    if R is not None:
        work.multiply_into(acc, R[:, :, None])
    if C is not None:
        work.multiply_into(acc, C[:, None, :])
    return (acc,)


def _product(field: Field, arrays: List[np.ndarray]) -> np.ndarray:
    """Elementwise product of small (one-sided) arrays, in the field's own representation."""
    out = arrays[0]
    for a in arrays[1:]:
        out = field.mul(out, a)
    return out


class _Workspace:
    """Reusable buffers of shape (channels, rows, B) for the pair tensors of one block, in the kernels' working type."""

    def __init__(self, field: Field, rows: int, cols: int) -> None:
        self.field, self.rows, self.cols = field, rows, cols
        self.dtype = np.uint64 if field.exact else np.float64
        self._buffers: Dict[Tuple[str, int], np.ndarray] = {}
        self.scratch = np.empty((rows, cols), dtype=self.dtype)

    def buffer(self, name: str, level: int, channels: int, rows: int) -> np.ndarray:
        key = (name, level)
        buf = self._buffers.get(key)
        if buf is None or buf.shape[0] < channels:
            buf = self._buffers[key] = np.empty((channels, self.rows, self.cols), dtype=self.dtype)
        return buf[:channels, :rows]

    def multiply_into(self, acc: np.ndarray, other: np.ndarray) -> None:
        """``acc *= other`` channel by channel (``other`` broadcasts to acc's shape), reduced mod p."""
        other = self.field.work(other)
        for c in range(acc.shape[0]):
            self.field.multiply_(acc[c], other[c], self.scratch[:acc.shape[1]])


def _channel_conv(field: Field, W: np.ndarray, value: Tuple[np.ndarray, ...], out: np.ndarray,
                  work: _Workspace) -> np.ndarray:
    """A 1x1 convolution of a node's value along its leading channel axis, written into ``out``.

    ``W`` has shape (r_in, r_out) and ``out`` (r_out, a, B). ``value`` is ``(T,)`` with T of shape
    (r_in, a, B), giving :math:`\\sum_\\alpha W_{\\alpha\\gamma} T_{\\alpha ab}`; or ``(R, C)``, the outer
    product of R (r_in, a) and C (r_in, B), which is never formed:
    :math:`\\sum_\\alpha (W_{\\alpha\\gamma} R_{\\alpha a})\\, C_{\\alpha b}`.
    """
    r_in, r_out = W.shape
    if len(value) == 1:
        T = field.work(value[0])
        Wf = field.work(np.ascontiguousarray(W))

        def term(g: int, a: int) -> Tuple[np.ndarray, Any]:
            return T[a], Wf[a, g]
    else:
        R, C = value
        scaled = field.work(field.mul(np.ascontiguousarray(W.T)[:, :, None], R[None]))  # (r_out, r_in, a)
        C = field.work(C)

        def term(g: int, a: int) -> Tuple[np.ndarray, Any]:
            return scaled[g, a][:, None], C[a][None, :]
    tmp = work.scratch[:out.shape[1]]
    every = field.products_per_reduction
    for g in range(r_out):
        acc = out[g]
        for a in range(r_in):
            x, y = term(g, a)
            if a == 0:
                np.multiply(x, y, out=acc)
                continue
            if a % every == 0:
                field.reduce_(acc, tmp)
            np.multiply(x, y, out=tmp)
            acc += tmp
        field.reduce_(acc, tmp)
    return out
