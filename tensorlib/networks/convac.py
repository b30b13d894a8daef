"""Convolutional arithmetic circuits (ConvACs): the shallow (CP) and deep (hierarchical Tucker) networks.

A ConvAC applies 1x1 convolutions (linear maps of the channels at each position) and *product*
pooling. With the identity representation, :math:`\\mathrm{rep}(i,:) = x_i \\in \\mathbb R^M`, the
network is multilinear in its inputs and

.. math::  f(x_1,\\dots,x_N) = \\sum_{d_1,\\dots,d_N=1}^{M} \\mathcal A_{d_1\\dots d_N}\\,
           x_{1,d_1}\\cdots x_{N,d_N} = \\langle x_1\\otimes\\cdots\\otimes x_N, \\mathcal A\\rangle ,

so the grid tensor on the basis templates :math:`e_1,\\dots,e_M` is the coefficient tensor
:math:`\\mathcal A`, and :math:`\\operatorname{sep}(f; I, J) = \\operatorname{rank}[\\![\\mathcal A]\\!]_{I,J}`
(Cohen & Shashua, ICLR 2017, Claim 1).

* :class:`ShallowConvAC` -- one hidden layer of Z channels and global product pooling: the CP model
  :math:`\\mathcal A = \\sum_{z=1}^{Z} a_z\\, a^{z,1}\\otimes\\cdots\\otimes a^{z,N}`
  (Cohen, Sharir & Shashua, COLT 2016, eq. 3).
* :class:`DeepConvAC` -- L hidden layers, each a 1x1 convolution followed by product pooling over
  windows of consecutive positions: the hierarchical Tucker model of COLT 2016, eq. 4, with
  pooling windows of any size and any order of the inputs.

Both implement the model protocol of :mod:`tensorlib.separation` in float64 and in GF(p), and a fast
``grid_matrix_block`` used by :func:`tensorlib.separation_rank`.

Weights. In GF(p) every weight is a uniform residue in [0, p). In float64 the convolution matrices
are random orthogonal matrices (QR of a Gaussian matrix) scaled so that a channel of an input with
O(1) entries stays O(1), and the output vector is Gaussian with variance 1/fan-in. Orthogonal
weights keep the singular values of the grid matrices far better conditioned than Gaussian ones,
which matters where float ranks are compared with exact ones.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import tensorly as tl
from tensorly.cp_tensor import cp_to_tensor

from ..fields import Field
from ..partitions import Partition
from .base import Network, check_dense_size, positive_int

__all__ = ["ShallowConvAC", "DeepConvAC"]

# Bytes of one pair tensor (channels, rows, B) in DeepConvAC.grid_matrix_block: the rows are processed
# in blocks this small so the arrays stay in cache; a few of them are alive at once.
_BLOCK_BYTES = 4 * 2**20


def _conv_weight(rng: np.random.Generator, field: Field, shape: Tuple[int, ...]) -> np.ndarray:
    """Weights of a 1x1 convolution, shape ``(..., fan_in, fan_out)``.

    GF(p): uniform residues. float64: for each leading index a random orthogonal ``fan_in x fan_out``
    matrix (orthonormal columns if fan_in >= fan_out, orthonormal rows otherwise) times
    :math:`\\sqrt{\\max(1, \\text{fan\\_out}/\\text{fan\\_in})}`.
    """
    if field.exact:
        return field.random(rng, shape)
    *lead, fan_in, fan_out = shape
    g = rng.standard_normal(size=(*lead, max(fan_in, fan_out), min(fan_in, fan_out)))
    q, r = np.linalg.qr(g)
    # Fix the signs so that q is Haar-distributed (diag(r) > 0).
    q = q * np.where(np.diagonal(r, axis1=-2, axis2=-1) < 0, -1.0, 1.0)[..., None, :]
    if fan_in < fan_out:
        q = np.swapaxes(q, -1, -2)
    return q * math.sqrt(max(1.0, fan_out / fan_in))


def _output_weight(rng: np.random.Generator, field: Field, fan_in: int) -> np.ndarray:
    return field.random(rng, (fan_in,), scale=1.0 / math.sqrt(fan_in))


def _validate_bool(value: object, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def _count(weights: Dict[str, Any]) -> int:
    total = 0
    for value in weights.values():
        total += sum(int(np.size(v)) for v in value) if isinstance(value, list) else int(np.size(value))
    return total


class ShallowConvAC(Network):
    """The shallow ConvAC: a 1x1 convolution with Z channels, global product pooling, a linear output.

    .. math::  f(x_1,\\dots,x_N) = \\sum_{z=1}^{Z} a_z \\prod_{i=1}^{N} \\langle a^{z,i}, x_i\\rangle ,
               \\qquad
               \\mathcal A = \\sum_{z=1}^{Z} a_z\\; a^{z,1}\\otimes\\cdots\\otimes a^{z,N}

    (the CP model, COLT 2016 eq. 3). Every term is separable, so
    :math:`\\operatorname{sep}(f; I, J) \\le \\min(Z, M^{\\min(|I|,|J|)})` under every partition.

    Parameters
    ----------
    n_inputs : int
        N, the number of inputs (positions), at least 2.
    input_dim : int
        M, the dimension of each input (the representation channels).
    channels : int
        Z, the number of hidden channels.
    shared : bool
        Tie the convolution across positions, :math:`a^{z,i} = a^{z}` (a true convolution); the
        tensor is then a symmetric CP decomposition.
    seed : int
        Seed of the weights.

    Notes
    -----
    Weights (``weights(p)``): ``conv`` has shape (N, M, Z), or (M, Z) when shared; its column z at
    position i is :math:`a^{z,i}`. ``output`` has shape (Z,) and holds :math:`a_z`.
    """

    multilinear = True

    def __init__(self, n_inputs: int, input_dim: int, channels: int, *, shared: bool = False, seed: int = 0) -> None:
        self.n_inputs = positive_int(n_inputs, "n_inputs", 2)
        self.input_dim = positive_int(input_dim, "input_dim")
        self.channels = positive_int(channels, "channels")
        self.shared = _validate_bool(shared, "shared")
        self.seed = positive_int(seed, "seed", 0)

    def _init_weights(self, rng: np.random.Generator, field: Field) -> Dict[str, Any]:
        lead = () if self.shared else (self.n_inputs,)
        conv = _conv_weight(rng, field, (*lead, self.input_dim, self.channels))
        return {"conv": conv, "output": _output_weight(rng, field, self.channels)}

    def _position_weights(self, weights: Dict[str, Any]) -> np.ndarray:
        conv = weights["conv"]
        return np.broadcast_to(conv, (self.n_inputs, *conv.shape)) if self.shared else conv

    def _pooled(self, X: np.ndarray, conv: np.ndarray, field: Field) -> np.ndarray:
        """:math:`\\prod_i \\langle a^{z,i}, x_i\\rangle` for a batch X (B, n, M) and weights (n, M, Z): (B, Z)."""
        forms = field.matmul(np.swapaxes(X, 0, 1), conv)  # (n, B, Z)
        return field.prod(forms, axis=0)

    def _forward(self, X: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:
        pooled = self._pooled(X, self._position_weights(weights), field)
        return field.matmul(pooled, weights["output"])

    @property
    def n_parameters(self) -> int:
        """The number of weights (counted from the float64 weights): :math:`NMZ + Z`, or :math:`MZ + Z` shared."""
        return _count(self.weights())

    def coefficient_tensor(self) -> np.ndarray:
        """:math:`\\mathcal A = \\sum_z a_z\\, a^{z,1}\\otimes\\cdots\\otimes a^{z,N}` in float64 (``tensorly.cp_to_tensor``).

        Raises ``ValueError`` if :math:`M^N` entries exceed the dense-size budget.
        """
        check_dense_size((self.input_dim,) * self.n_inputs, "coefficient tensor")
        weights = self.weights()
        factors = [tl.tensor(np.ascontiguousarray(f)) for f in self._position_weights(weights)]
        return np.asarray(cp_to_tensor((tl.tensor(weights["output"]), factors)))

    def grid_matrix_block(self, x_rows: np.ndarray, x_cols: np.ndarray, partition: Partition,
                          p: Optional[int] = None) -> np.ndarray:
        """:math:`F[a,b] = f(x_I = x_{rows}[a], x_J = x_{cols}[b])` as one matrix product.

        :math:`F = U\\,\\mathrm{diag}(a)\\,V^\\top` with :math:`U_{az} = \\prod_{i\\in I}\\langle a^{z,i}, x^{(a)}_i\\rangle`
        and :math:`V_{bz} = \\prod_{j\\in J}\\langle a^{z,j}, x^{(b)}_j\\rangle`: the rank is at most Z at a glance.

        Parameters
        ----------
        x_rows : ndarray of shape ``(A, |I|, M)``
            The inputs at the positions of I (in increasing position order), one row of F each.
        x_cols : ndarray of shape ``(B, |J|, M)``
            The inputs at the positions of J, one column of F each.
        partition : (I, J)
        p : int, optional
            Compute in GF(p) (integer inputs) instead of float64.
        """
        field, I, J, x_rows, x_cols = self._validate_block(x_rows, x_cols, partition, p)
        weights = self.weights(field.modulus)
        conv = self._position_weights(weights)
        u = self._pooled(x_rows, conv[list(I)], field)
        v = self._pooled(x_cols, conv[list(J)], field)
        return field.matmul(field.mul(u, weights["output"]), np.ascontiguousarray(v.T))

    def _repr_params(self) -> Dict[str, Any]:
        return {"n_inputs": self.n_inputs, "input_dim": self.input_dim, "channels": self.channels,
                "shared": self.shared, "seed": self.seed}


def _validate_windows(window: object, n_inputs: int) -> Tuple[int, ...]:
    if isinstance(window, (list, tuple)):
        windows = tuple(positive_int(w, f"window[{k}]", 2) for k, w in enumerate(window))
        if not windows:
            raise ValueError("window must be an int >= 2 or a non-empty sequence of them")
        if math.prod(windows) != n_inputs:
            raise ValueError(f"the pooling windows {windows} must multiply to n_inputs={n_inputs}, "
                             f"got {math.prod(windows)}")
        return windows
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)):
        raise TypeError(f"window must be an int or a sequence of ints, got {type(window).__name__}")
    window = int(window)
    if window < 2:
        raise ValueError(f"window must be at least 2 (the size of a pooling window), got {window}")
    depth, size = 0, 1
    while size < n_inputs:
        size *= window
        depth += 1
    if size != n_inputs:
        raise ValueError(f"n_inputs={n_inputs} must be a power of window={window} "
                         f"(L = log_window(n_inputs) pooling layers)")
    return (window,) * depth


def _validate_widths(widths: object, depth: int) -> Tuple[int, ...]:
    if isinstance(widths, (int, np.integer)) and not isinstance(widths, bool):
        widths = [widths] * depth
    if isinstance(widths, (str, bytes)) or not isinstance(widths, (list, tuple, np.ndarray)):
        raise TypeError(f"widths must be an int or a sequence of {depth} ints, got {type(widths).__name__}")
    widths = list(widths)
    if len(widths) != depth:
        raise ValueError(f"widths must have L = {depth} entries (r_0, ..., r_(L-1): one per hidden layer), "
                         f"got {len(widths)}")
    return tuple(positive_int(w, f"widths[{l}]") for l, w in enumerate(widths))


def _validate_order(order: object, n_inputs: int) -> Tuple[int, ...]:
    if order is None:
        return tuple(range(n_inputs))
    if isinstance(order, (str, bytes)) or not isinstance(order, (list, tuple, np.ndarray, range)):
        raise TypeError(f"order must be a sequence of ints (a permutation of range({n_inputs})), "
                        f"got {type(order).__name__}")
    items = list(order)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)):
            raise TypeError(f"order must contain ints, got {item!r}")
    if sorted(int(i) for i in items) != list(range(n_inputs)):
        raise ValueError(f"order must be a permutation of range({n_inputs}) (0-based positions), got {items}")
    return tuple(int(i) for i in items)


class DeepConvAC(Network):
    """The deep ConvAC: L hidden layers of (1x1 convolution, product pooling), then a linear output.

    With pooling windows of size w = 2 this is the hierarchical Tucker model of COLT 2016, eq. 4.
    Layer l = 0, ..., L-1 maps the :math:`r_{l-1}` channels at each of its :math:`N/w^l` positions
    to :math:`r_l` channels (:math:`r_{-1} = M`), then multiplies the channels over windows of w
    consecutive positions:

    .. math::
        \\phi^{1,j,\\gamma} &= \\sum_{\\alpha=1}^{r_0} a^{1,j,\\gamma}_\\alpha\\,
                              a^{0,2j-1,\\alpha}\\otimes a^{0,2j,\\alpha}, \\qquad
        \\phi^{l,j,\\gamma} = \\sum_{\\alpha=1}^{r_{l-1}} a^{l,j,\\gamma}_\\alpha\\,
                              \\phi^{l-1,2j-1,\\alpha}\\otimes\\phi^{l-1,2j,\\alpha}, \\\\
        \\mathcal A &= \\sum_{\\alpha=1}^{r_{L-1}} a^{L}_\\alpha\\,
                      \\phi^{L-1,1,\\alpha}\\otimes\\phi^{L-1,2,\\alpha}.

    So there are L widths :math:`r_0,\\dots,r_{L-1}`: the last pooling acts on :math:`r_{L-1}`
    channels and the output is linear in them. For generic weights the odd/even matricization has
    rank :math:`\\min(r_0, M)^{N/2}` (COLT 2016, Theorem 1).

    Parameters
    ----------
    n_inputs : int
        N, the number of inputs; a power of ``window``.
    input_dim : int
        M, the dimension of each input.
    widths : int or sequence of L ints
        :math:`r_0, \\dots, r_{L-1}`, the channels of the hidden layers, :math:`L = \\log_w N`.
        A single int is used for every layer.
    window : int or sequence of ints
        w, the size of the pooling windows (default 2). A sequence gives one window per layer,
        multiplying to N: e.g. ``window=(2, 8)`` with N = 16 pools pairs, then the 8 remaining
        positions globally (a truncated hierarchical decomposition, COLT 2016 eq. 5).
    order : sequence of ints, optional
        A permutation of ``range(N)``: the network reads input ``order[k]`` at position k, and pools
        consecutive positions. Default: the identity (contiguous pooling windows).
    shared : bool
        Tie each layer's convolution across positions, :math:`a^{l,j,\\gamma} = a^{l,\\gamma}`.
    seed : int
        Seed of the weights.

    Notes
    -----
    Weights (``weights(p)``): ``conv`` is a list of L arrays; ``conv[l]`` has shape
    :math:`(N/w^l, r_{l-1}, r_l)` (column :math:`\\gamma` at position j is :math:`a^{l,j,\\gamma}`),
    or :math:`(r_{l-1}, r_l)` when shared. ``output`` has shape :math:`(r_{L-1},)`.
    """

    multilinear = True

    def __init__(self, n_inputs: int, input_dim: int, widths: Union[int, Sequence[int]], *,
                 window: Union[int, Sequence[int]] = 2, order: Optional[Sequence[int]] = None,
                 shared: bool = False, seed: int = 0) -> None:
        self.n_inputs = positive_int(n_inputs, "n_inputs", 2)
        self.input_dim = positive_int(input_dim, "input_dim")
        self.windows = _validate_windows(window, self.n_inputs)
        self.window = int(window) if isinstance(window, (int, np.integer)) else self.windows
        self.depth = len(self.windows)
        self.widths = _validate_widths(widths, self.depth)
        self.order = _validate_order(order, self.n_inputs)
        self.shared = _validate_bool(shared, "shared")
        self.seed = positive_int(seed, "seed", 0)
        # positions[l] = number of positions entering layer l.
        self.positions = tuple(self.n_inputs // math.prod(self.windows[:l]) for l in range(self.depth))

    def _init_weights(self, rng: np.random.Generator, field: Field) -> Dict[str, Any]:
        conv = []
        fan_in = self.input_dim
        for l, width in enumerate(self.widths):
            lead = () if self.shared else (self.positions[l],)
            conv.append(_conv_weight(rng, field, (*lead, fan_in, width)))
            fan_in = width
        return {"conv": conv, "output": _output_weight(rng, field, fan_in)}

    def _layer_weights(self, weights: Dict[str, Any], l: int) -> np.ndarray:
        w = weights["conv"][l]
        return np.broadcast_to(w, (self.positions[l], *w.shape)) if self.shared else w

    def _forward(self, X: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:
        h = np.swapaxes(X[:, list(self.order), :], 0, 1)  # (positions, B, channels)
        for l, w in enumerate(self.windows):
            h = field.matmul(h, self._layer_weights(weights, l))
            h = field.prod(h.reshape(h.shape[0] // w, w, *h.shape[1:]), axis=1)
        return field.matmul(h[0], weights["output"])

    @property
    def n_parameters(self) -> int:
        """The number of weights (counted from the float64 weights).

        Unshared, window 2: :math:`NMr_0 + \\sum_{l=1}^{L-1} (N/2^l)\\, r_{l-1} r_l + r_{L-1}` (COLT 2016 §2).
        """
        return _count(self.weights())

    def coefficient_tensor(self) -> np.ndarray:
        """The coefficient tensor :math:`\\mathcal A` in float64, built bottom-up from eq. 4.

        Each node holds its tensors :math:`\\phi^{l,j,\\cdot}` with the channel as the leading
        axis; pooling is a channel-wise tensor product, a convolution contracts the channel axis.
        Raises ``ValueError`` if :math:`M^N` entries exceed the dense-size budget.
        """
        check_dense_size((self.input_dim,) * self.n_inputs, "coefficient tensor")
        weights = self.weights()
        M = self.input_dim
        # nodes[j]: (channels, M**size) -- phi tensors of node j, flattened, in the network's order.
        nodes = [np.eye(M) for _ in range(self.n_inputs)]
        for l, w in enumerate(self.windows):
            conv = self._layer_weights(weights, l)
            nodes = [np.tensordot(conv[j], node, axes=([0], [0])) for j, node in enumerate(nodes)]
            pooled = []
            for start in range(0, len(nodes), w):
                t = nodes[start]
                for node in nodes[start + 1:start + w]:
                    t = np.einsum("ca,cb->cab", t, node).reshape(t.shape[0], -1)
                pooled.append(t)
            nodes = pooled
        tensor = np.tensordot(weights["output"], nodes[0], axes=([0], [0])).reshape((M,) * self.n_inputs)
        # Axis k holds the input order[k]; put input i on axis i.
        return np.transpose(tensor, np.argsort(self.order))

    def grid_matrix_block(self, x_rows: np.ndarray, x_cols: np.ndarray, partition: Partition,
                          p: Optional[int] = None) -> np.ndarray:
        """:math:`F[a,b] = f(x_I = x_{rows}[a], x_J = x_{cols}[b])`, sharing all one-sided work.

        The pooling tree is evaluated bottom-up. A node whose inputs all lie in I holds one value
        per row, shape (r, A); all in J, one per column, (r, B); only a node mixing both sides holds
        a pair tensor (r, A, B). So the convolutions of one-sided subtrees (the whole first layer
        among them) are computed once per side, not once per pair, and a mixed node whose children
        are all one-sided is convolved without forming its pair tensor. The rows are processed in
        blocks of about 4 MiB per pair tensor, so memory stays small (a few such tensors per
        level of the tree) whatever A and B are. In GF(p) the pair tensors use unsigned 64-bit
        arithmetic with one reduction per output entry of a convolution (see ``_channel_conv``).

        Parameters
        ----------
        x_rows : ndarray of shape ``(A, |I|, M)``
            The inputs at the positions of I (in increasing position order), one row of F each.
        x_cols : ndarray of shape ``(B, |J|, M)``
            The inputs at the positions of J, one column of F each.
        partition : (I, J)
        p : int, optional
            Compute in GF(p) (integer inputs) instead of float64.

        Returns
        -------
        ndarray (A, B): float64, or int64 residues in [0, p).
        """
        field, I, J, x_rows, x_cols = self._validate_block(x_rows, x_cols, partition, p)
        weights = self.weights(field.modulus)
        A, B = x_rows.shape[0], x_cols.shape[0]
        out = np.empty((A, B), dtype=field.dtype)
        if A == 0 or B == 0:
            return out
        side_of = {i: "I" for i in I} | {j: "J" for j in J}
        slot = {i: k for k, i in enumerate(I)} | {j: k for k, j in enumerate(J)}
        # Values are channel-first, (channels, A) or (channels, B), so that the pair tensors
        # (channels, A, B) are processed one contiguous (A, B) slice at a time.
        sides = [side_of[i] for i in self.order]
        values: List[Any] = [(x_rows if side_of[i] == "I" else x_cols)[:, slot[i]].T for i in self.order]
        levels = []  # per layer: sides of its input nodes, and their one-sided conv outputs
        for l, w in enumerate(self.windows):
            conv = self._layer_weights(weights, l)
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
        rows = max(1, min(A, _BLOCK_BYTES // (8 * B * max(self.widths))))
        work = _Workspace(field, rows, B)
        for a0 in range(0, A, rows):
            a1 = min(A, a0 + rows)
            root = self._pair_value(field, weights, levels, work, self.depth, 0, a0, a1)
            result = _channel_conv(field, output, root, work.buffer("output", 0, 1, a1 - a0), work)
            out[a0:a1] = result[0].view(np.int64) if field.exact else result[0]
        return out

    def _pair_value(self, field: Field, weights: Dict[str, Any], levels: list, work: "_Workspace", level: int,
                    j: int, a0: int, a1: int) -> Tuple[np.ndarray, ...]:
        """The pooled value of the mixed node j at ``level`` (>= 1) for rows a0:a1, depth first.

        Returns ``(R, C)`` when every child is one-sided (the value is the channel-wise outer
        product :math:`R_{\\gamma a} C_{\\gamma b}`, kept factored), else ``(T,)`` with T of shape
        (channels, a1 - a0, B), a view of the workspace buffer of this level.
        """
        w = self.windows[level - 1]
        sides, outs = levels[level - 1]
        rows_part, cols_part, acc = [], [], None
        for child in range(j * w, (j + 1) * w):
            if sides[child] == "I":
                rows_part.append(outs[child][:, a0:a1])
            elif sides[child] == "J":
                cols_part.append(outs[child])
            else:
                value = self._pair_value(field, weights, levels, work, level - 1, child, a0, a1)
                W = self._layer_weights(weights, level - 1)[child]
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

    def _repr_params(self) -> Dict[str, Any]:
        params: Dict[str, Any] = {"n_inputs": self.n_inputs, "input_dim": self.input_dim,
                                  "widths": list(self.widths), "window": self.window}
        if self.order != tuple(range(self.n_inputs)):
            params["order"] = list(self.order)
        params.update(shared=self.shared, seed=self.seed)
        return params


def _product(field: Field, arrays: List[np.ndarray]) -> np.ndarray:
    out = arrays[0]
    for a in arrays[1:]:
        out = _mul(field, out, a)
    return out


# GF(p) arithmetic on the pair tensors. Residues are below p < 2**31, so as uint64 a product of two
# is below 2**62 and a sum of up to (2**64 - p) // (p - 1)**2 (= 4 for p near 2**31) products cannot
# wrap: a 1x1 convolution then costs one reduction per output entry. Reductions are where the time
# goes; x - (x // p) * p is used because numpy divides by a scalar with libdivide (a multiply and a
# shift), several times faster than its `%`. The pair tensors live in buffers allocated once per
# call: fresh large arrays would cost a page fault per 4 KiB, about a third of the time.
def _reduce(x: np.ndarray, p: np.uint64, scratch: Optional[np.ndarray] = None) -> np.ndarray:
    """Reduce a uint64 array mod p in place (``scratch``: an optional buffer of x's shape)."""
    q = np.floor_divide(x, p, out=scratch)
    q *= p
    x -= q
    return x


def _mul(field: Field, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise product of small (one-sided) arrays, as int64 residues in GF(p)."""
    if not field.exact:
        return a * b
    out = np.multiply(a.view(np.uint64), b.view(np.uint64))
    return _reduce(out, np.uint64(field.modulus)).view(np.int64)


class _Workspace:
    """Reusable buffers of shape (channels, rows, B) for the pair tensors of one grid_matrix_block call.

    In GF(p) they hold uint64 residues, in float64 floats.
    """

    def __init__(self, field: Field, rows: int, cols: int) -> None:
        self.field, self.rows, self.cols = field, rows, cols
        self.dtype = np.uint64 if field.exact else np.float64
        self.p = np.uint64(field.modulus) if field.exact else None
        self._buffers: Dict[Tuple[str, int], np.ndarray] = {}
        self.scratch = np.empty((rows, cols), dtype=self.dtype)

    def buffer(self, name: str, level: int, channels: int, rows: int) -> np.ndarray:
        key = (name, level)
        buf = self._buffers.get(key)
        if buf is None or buf.shape[0] < channels:
            buf = self._buffers[key] = np.empty((channels, self.rows, self.cols), dtype=self.dtype)
        return buf[:channels, :rows]

    def as_field(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        return x.view(np.uint64) if self.field.exact and x.dtype == np.int64 else x

    def multiply_into(self, acc: np.ndarray, other: np.ndarray) -> None:
        """``acc *= other`` channel by channel (``other`` broadcasts to acc's shape), reduced mod p."""
        other = self.as_field(other)
        for c in range(acc.shape[0]):
            np.multiply(acc[c], other[c], out=acc[c])
            if self.p is not None:
                _reduce(acc[c], self.p, self.scratch[:acc.shape[1]])


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
        T = work.as_field(value[0])
        Wf = work.as_field(np.ascontiguousarray(W))

        def term(g: int, a: int) -> Tuple[np.ndarray, Any]:
            return T[a], Wf[a, g]
    else:
        R, C = value
        scaled = work.as_field(_mul(field, np.ascontiguousarray(W.T)[:, :, None], R[None]))  # (r_out, r_in, a)
        C = work.as_field(C)

        def term(g: int, a: int) -> Tuple[np.ndarray, Any]:
            return scaled[g, a][:, None], C[a][None, :]
    tmp = work.scratch[:out.shape[1]]
    p = work.p
    group = r_in if p is None else max(1, (2**64 - field.modulus) // (field.modulus - 1) ** 2)
    for g in range(r_out):
        acc = out[g]
        for a in range(r_in):
            x, y = term(g, a)
            if a == 0:
                np.multiply(x, y, out=acc)
                continue
            if a % group == 0:
                _reduce(acc, p, tmp)
            np.multiply(x, y, out=tmp)
            acc += tmp
        if p is not None:
            _reduce(acc, p, tmp)
    return out
