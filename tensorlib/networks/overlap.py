r"""A ConvAC with overlapping receptive fields: 1-D generalized convolutional (GC) layers with product pooling.

Sharir & Shashua (ICLR 2018, arXiv 1703.02065) study ConvACs whose convolution windows overlap,
"when the stride of the convolution is smaller than its filter size (receptive field)", and
report that overlaps give "an exponential increase in the expressive capacity". Their theorems
could not be read for this package (only the abstract was available), so this module implements
the natural 1-D reading of a product GC layer, stated here in full:

Layer :math:`l = 0,\dots,L-1` has kernel :math:`k_l`, stride :math:`s_l \le k_l` and
:math:`r_l` output channels. It maps :math:`n_l` positions with :math:`r_{l-1}` channels
(:math:`n_0 = N`, :math:`r_{-1} = M`, :math:`y^{0}_i = x_i`) to
:math:`n_{l+1} = (n_l - k_l)/s_l + 1` positions,

.. math::  y^{l+1}_{j,\gamma} = \prod_{t=0}^{k_l-1}
           \bigl\langle w^{l,j,t,\gamma},\; y^{l}_{j s_l + t}\bigr\rangle ,
           \qquad f(x_1,\dots,x_N) = \langle a,\, y^{L}_{0}\rangle ,

one linear form per (output position, offset in the window, channel); with ``shared=True`` the
forms do not depend on the output position j (a true convolution). The last layer must leave one
position. With :math:`k_l = s_l` for every layer the windows tile and the network is exactly the
locally connected :class:`~tensorlib.networks.convac.DeepConvAC` with windows :math:`k_l` (weight
``w^{l,j,t}`` is the 1x1 convolution at position :math:`j k_l + t`); it is then multilinear.

With overlaps an input enters several windows, so :math:`f` is no longer multilinear: it is
homogeneous of degree :math:`d_i` in :math:`x_i`, where :math:`d_i` is the number of paths from
input i to the output (:func:`~tensorlib.bounds.overlap.input_degrees`). Its separation ranks are therefore computed from
grid tensors on :math:`K > M` templates (or sampled grid matrices), which lower-bound them, and
:func:`~tensorlib.bounds.overlap.overlap_rank_upper_bound` gives a simple upper bound (our own derivation, see there).

The *total receptive field* and *total stride* of layer l's outputs (the notions Sharir & Shashua
name) are :math:`R_l = R_{l-1} + (k_l - 1) S_{l-1}` and :math:`S_l = S_{l-1} s_l`, with
:math:`R_{-1} = S_{-1} = 1` (:func:`~tensorlib.bounds.overlap.receptive_fields`); the formulas are the standard ones, not
quoted from the paper.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..bounds.overlap import input_degrees, layer_positions, overlap_rank_upper_bound, receptive_fields
from ..checks import check_bool, check_int, check_seed
from ..fields import Field
from ..grid import check_dense_size
from ..partitions import Partition, validate_partition
from .base import Network

__all__ = ["OverlappingConvAC"]

IntOrInts = Union[int, Sequence[int]]


def _as_layer_list(value: object, name: str, depth: Optional[int]) -> Optional[List[int]]:
    """A per-layer list from an int (None: broadcast later) or a sequence of ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        check_int(value, name, 1)
        return None if depth is None else [int(value)] * depth
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, np.ndarray)):
        raise TypeError(f"{name} must be an int or a sequence of ints (one per layer), got {type(value).__name__}")
    values = [check_int(v, f"{name}[{l}]", 1) for l, v in enumerate(value)]
    if depth is not None and len(values) != depth:
        raise ValueError(f"{name} must have one entry per layer (L = {depth}), got {len(values)}")
    return values


def _architecture(n_inputs: int, widths: object, kernels: object, strides: object
                  ) -> Tuple[Tuple[int, ...], Tuple[int, ...], Tuple[int, ...]]:
    """Validate (widths, kernels, strides) against N; return them as tuples of equal length L."""
    depth = None
    for name, value in (("widths", widths), ("kernel", kernels), ("stride", strides)):
        if isinstance(value, (list, tuple, np.ndarray)):
            if depth is not None and len(value) != depth:
                raise ValueError(f"widths, kernel and stride given as sequences must have the same length "
                                 f"(one entry per layer), got {name} with {len(value)} entries, expected {depth}")
            depth = len(value)
    if depth is None:
        # All three are ints: stack identical layers until one position is left.
        k = check_int(kernels, "kernel", 1)
        s = check_int(strides, "stride", 1)
        depth, n = 0, n_inputs
        while n > 1 and n >= k and s <= k and depth < n_inputs:
            n = (n - k) // s + 1
            depth += 1
        depth = max(depth, 1)
    if depth == 0:
        raise ValueError("widths, kernel and stride must describe at least one layer, got empty sequences")
    w = _as_layer_list(widths, "widths", depth)
    k = _as_layer_list(kernels, "kernel", depth)
    s = _as_layer_list(strides, "stride", depth)
    layer_positions(n_inputs, k, s)  # raises on a mismatch
    return tuple(w), tuple(k), tuple(s)


class OverlappingConvAC(Network):
    r"""A 1-D ConvAC of product GC layers whose windows may overlap (kernel larger than stride).

    .. math::  y^{l+1}_{j,\gamma} = \prod_{t=0}^{k_l-1} \langle w^{l,j,t,\gamma}, y^{l}_{j s_l + t}\rangle,
               \qquad f(x) = \langle a, y^{L}_{0}\rangle .

    Parameters
    ----------
    n_inputs : int
        N, the number of inputs (positions), at least 2.
    input_dim : int
        M, the dimension of each input.
    widths : int or sequence of L ints
        :math:`r_0,\dots,r_{L-1}`, the channels of each layer's output.
    kernel : int or sequence of L ints
        :math:`k_l`, the window size of each layer.
    stride : int or sequence of L ints
        :math:`s_l \le k_l`, the step between windows (default 1). Each layer needs
        :math:`(n_l - k_l)` divisible by :math:`s_l` (every position is read) and the last layer
        must leave one position. If ``widths``, ``kernel`` and ``stride`` are all ints, identical
        layers are stacked until one position is left.
    shared : bool
        Use the same forms at every output position of a layer (a convolution); default False
        (locally connected, as in :class:`~tensorlib.networks.convac.DeepConvAC`).
    seed : int
        Seed of the weights.

    Notes
    -----
    Weights (``weights(p)``): ``conv`` is a list of L arrays, ``conv[l]`` of shape
    :math:`(n_{l+1}, k_l, r_{l-1}, r_l)` (``[j, t, :, gamma]`` is :math:`w^{l,j,t,\gamma}`), or
    :math:`(k_l, r_{l-1}, r_l)` when shared; ``output`` :math:`a` has shape :math:`(r_{L-1},)`.
    Float64 weights are Gaussian with standard deviation :math:`1/\sqrt{\text{fan-in}}`; GF(p)
    weights are uniform residues.

    Examples
    --------
    >>> net = OverlappingConvAC(6, 2, widths=[3, 3], kernel=[3, 4], stride=[1, 1])
    >>> net.positions, net.input_degrees
    ((6, 4, 1), (1, 2, 3, 3, 2, 1))
    """

    def __init__(self, n_inputs: int, input_dim: int, widths: IntOrInts, *, kernel: IntOrInts,
                 stride: IntOrInts = 1, shared: bool = False, seed: int = 0) -> None:
        self.n_inputs = check_int(n_inputs, "n_inputs", 2, "(a partition needs two sides)")
        self.input_dim = check_int(input_dim, "input_dim", 1)
        self.widths, self.kernels, self.strides = _architecture(self.n_inputs, widths, kernel, stride)
        self.depth = len(self.widths)
        self.shared = check_bool(shared, "shared")
        self.seed = check_seed(seed)
        self.positions = layer_positions(self.n_inputs, self.kernels, self.strides)
        self.input_degrees = input_degrees(self.n_inputs, self.kernels, self.strides)
        # Multilinear exactly when no input is read twice, i.e. every window tiles (k_l = s_l).
        self.multilinear = all(d == 1 for d in self.input_degrees)

    @property
    def overlapping(self) -> bool:
        """True if some layer's kernel exceeds its stride."""
        return any(k > s for k, s in zip(self.kernels, self.strides))

    @property
    def receptive_fields(self) -> Tuple[Tuple[int, int], ...]:
        """``(R_l, S_l)`` for each layer: its outputs' total receptive field and total stride."""
        return receptive_fields(self.kernels, self.strides)

    # -- weights ---------------------------------------------------------------------------
    def _init_weights(self, rng: np.random.Generator, field: Field) -> Dict[str, Any]:
        conv = []
        fan_in = self.input_dim
        for l, (r, k) in enumerate(zip(self.widths, self.kernels)):
            lead = (k,) if self.shared else (self.positions[l + 1], k)
            conv.append(field.random(rng, (*lead, fan_in, r), 1.0 / math.sqrt(fan_in)))
            fan_in = r
        return {"conv": conv, "output": field.random(rng, (fan_in,), 1.0 / math.sqrt(fan_in))}

    @property
    def n_parameters(self) -> int:
        r""":math:`\sum_l n'_{l} k_l r_{l-1} r_l + r_{L-1}`, with :math:`n'_l = n_{l+1}` (1 when shared)."""
        total = self.widths[-1]
        fan_in = self.input_dim
        for l, (r, k) in enumerate(zip(self.widths, self.kernels)):
            total += (1 if self.shared else self.positions[l + 1]) * k * fan_in * r
            fan_in = r
        return total

    # -- evaluation ------------------------------------------------------------------------
    def _layer_weights(self, weights: Dict[str, Any], l: int) -> np.ndarray:
        w = weights["conv"][l]
        return np.broadcast_to(w, (self.positions[l + 1], *w.shape)) if self.shared else w

    def _forward(self, X: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:
        h = np.swapaxes(X, 0, 1)  # (positions, B, channels)
        for l, (k, s) in enumerate(zip(self.kernels, self.strides)):
            starts = np.arange(self.positions[l + 1]) * s
            windows = h[starts[:, None] + np.arange(k)[None, :]]          # (n_out, k, B, r_in)
            forms = field.matmul(windows, self._layer_weights(weights, l))  # (n_out, k, B, r_out)
            h = field.prod(forms, axis=1)                                   # (n_out, B, r_out)
        return field.matmul(h[0], weights["output"])

    def rank_upper_bound(self, partition: Partition) -> int:
        """:func:`~tensorlib.bounds.overlap.overlap_rank_upper_bound` for this network (:math:`M^{\\min(|I|,|J|)}` without overlaps)."""
        return overlap_rank_upper_bound(self.input_degrees, self.input_dim, partition)

    def coefficient_tensor(self) -> np.ndarray:
        r"""The coefficient tensor :math:`\mathcal A` (float64) of a non-overlapping network.

        Only defined when the network is multilinear (every :math:`k_l = s_l`): then
        :math:`f(x) = \langle x_1\otimes\cdots\otimes x_N, \mathcal A\rangle`, built bottom-up as in
        :meth:`~tensorlib.networks.convac.DeepConvAC.coefficient_tensor`. With overlaps there is no such tensor; use
        :func:`tensorlib.grid.grid_tensor` on :math:`K > M` templates instead.
        """
        if not self.multilinear:
            raise ValueError("coefficient_tensor() needs a multilinear network (kernel == stride in every layer); "
                             f"this one has input degrees {self.input_degrees}: use tensorlib.grid_tensor(model, "
                             "templates, n_inputs) with more templates than input_dim instead")
        check_dense_size((self.input_dim,) * self.n_inputs, "coefficient tensor")
        weights = self.weights()
        M = self.input_dim
        nodes = [np.eye(M) for _ in range(self.n_inputs)]  # node j: (channels, M**size), flattened
        for l, k in enumerate(self.kernels):
            conv = self._layer_weights(weights, l)
            pooled = []
            for j in range(self.positions[l + 1]):
                t_acc = None
                for t in range(k):
                    node = np.tensordot(conv[j, t], nodes[j * k + t], axes=([0], [0]))
                    t_acc = node if t_acc is None else np.einsum("ca,cb->cab", t_acc, node).reshape(node.shape[0], -1)
                pooled.append(t_acc)
            nodes = pooled
        return np.tensordot(weights["output"], nodes[0], axes=([0], [0])).reshape((M,) * self.n_inputs)

    def _repr_params(self) -> Dict[str, Any]:
        return {"n_inputs": self.n_inputs, "input_dim": self.input_dim, "widths": list(self.widths),
                "kernel": list(self.kernels), "stride": list(self.strides), "shared": self.shared, "seed": self.seed}
