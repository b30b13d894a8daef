r"""Convolutional rectifier networks as generalized tensor decompositions (Cohen & Shashua, ICML 2016).

Replace the product pooling of a ConvAC by ReLU activation followed by max or sum (average)
pooling. Cohen & Shashua write the resulting networks as *generalized* tensor decompositions:
the tensor product :math:`\otimes` becomes

.. math::  (\mathcal A \otimes_g \mathcal B)_{d_1\dots d_{P+Q}} = g(\mathcal A_{d_1\dots d_P},
           \mathcal B_{d_{P+1}\dots d_{P+Q}}),

with the *activation-pooling operator* :math:`g(a,b) = \rho_{\sigma/P}(a,b) = P\{\sigma(a),\sigma(b)\}`:
:math:`\max\{a, b, 0\}` for ReLU with max pooling, :math:`[a]_+ + [b]_+` for ReLU with sum pooling
(average pooling is sum pooling divided by the window size). The shallow network's grid tensor on
templates :math:`v^{(1)},\dots,v^{(K)}` (rows of :math:`V\in\mathbb R^{K\times M}`) is a
generalized CP decomposition and the deep network's a generalized hierarchical decomposition:

.. math::  \Gamma = \sum_{z=1}^{Z} a_z\, (V a^{z,1}) \otimes_g \cdots \otimes_g (V a^{z,N}),
           \qquad
           \phi^{l+1,j,\gamma} = \mathop{\otimes_g}_{t} \Bigl(\sum_\alpha a^{l,jw+t,\gamma}_\alpha
           \phi^{l,jw+t,\alpha}\Bigr),\quad \phi^{0,i,\alpha} = V e_\alpha .

These networks are not polynomials, so they have no GF(p) version: every rank computed from them
is a float64 *estimate* (an SVD rank of a grid matrix), and the grid rank on K templates only
lower-bounds the separation rank, which need not be finite. Both classes refuse ``p`` with a
``ValueError``.

Claims of the paper (abstract, PMLR 48:955-963): convolutional rectifier networks "are universal
with max pooling but not with average pooling", and "depth efficiency is weaker" than with
convolutional arithmetic circuits.
"""

from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from ..bounds.convac import shallow_sum_pooling_rank_bound
from ..checks import check_bool, check_int, check_seed
from ..fields import Field
from ..grid import check_dense_size
from ..partitions import Partition, validate_partition
from ..rank import numerical_rank
from ..tensors import matricize
from .base import Network

__all__ = ["ShallowRectifierNet", "DeepRectifierNet", "POOLINGS", "shallow_sum_pooling_rank_bound"]

#: The pooling operators P: ``"max"``, ``"sum"``, and ``"average"`` (sum over the window / window size).
POOLINGS = ("max", "sum", "average")


def _check_pooling(pooling: object) -> str:
    if not isinstance(pooling, str):
        raise TypeError(f"pooling must be a str, one of {POOLINGS}, got {type(pooling).__name__}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    return pooling


def _refuse_prime(p: Optional[int], cls: str) -> None:
    if p is not None:
        raise ValueError(f"{cls} is float64 only (ReLU and max/sum pooling are not polynomials, so there is no "
                         "GF(p) version); use p=None, and tensorlib.separation_rank(model, partition, exact=False) "
                         "for a float64 estimate")


def _pool(values: np.ndarray, axis: int, pooling: str) -> np.ndarray:
    """:math:`P_t \\sigma(c_t)` along ``axis``: ReLU, then max, sum or mean."""
    relu = np.maximum(values, 0.0)
    if pooling == "max":
        return relu.max(axis=axis)
    return relu.sum(axis=axis) if pooling == "sum" else relu.mean(axis=axis)


def _generalized_product(factors: List[np.ndarray], pooling: str) -> np.ndarray:
    r"""Channel-wise generalized outer product :math:`c_1\otimes_g\cdots\otimes_g c_w` of (channels, size_t) arrays.

    Entry :math:`(\gamma, d_1, \dots, d_w)` is :math:`P_t\,\sigma(c_t[\gamma, d_t])`, flattened to
    (channels, prod size_t) in row-major order of :math:`(d_1,\dots,d_w)`.
    """
    acc = np.maximum(factors[0], 0.0)
    for c in factors[1:]:
        rc = np.maximum(c, 0.0)
        if pooling == "max":
            acc = np.maximum(acc[:, :, None], rc[:, None, :])
        else:
            acc = acc[:, :, None] + rc[:, None, :]
        acc = acc.reshape(acc.shape[0], -1)
    return acc / len(factors) if pooling == "average" else acc


def _check_templates(templates: object, input_dim: int, n_inputs: int) -> np.ndarray:
    if isinstance(templates, (str, bytes)):
        raise TypeError(f"templates must be a numeric array of shape (K, input_dim={input_dim}), got a str")
    V = np.asarray(templates)
    if V.dtype == object or not (np.issubdtype(V.dtype, np.number) or V.dtype == bool) or np.iscomplexobj(V):
        raise TypeError(f"templates must be a real numeric array, got dtype {V.dtype}")
    if V.ndim != 2 or V.shape[1] != input_dim or V.shape[0] < 1:
        raise ValueError(f"templates must have shape (K, input_dim={input_dim}) with K >= 1, got {V.shape}")
    V = V.astype(np.float64)
    if not np.all(np.isfinite(V)):
        raise ValueError("templates contain NaN or inf")
    check_dense_size((V.shape[0],) * n_inputs, "grid tensor")
    return V


class _RectifierBase(Network):
    """float64-only plumbing shared by the two rectifier networks."""

    multilinear = False
    pooling: str

    def weights(self, p: Optional[int] = None) -> Dict[str, Any]:
        """The float64 weights (``p`` must be None: there is no GF(p) version)."""
        _refuse_prime(p, type(self).__name__)
        return super().weights(None)

    def set_weights(self, weights: Dict[str, Any], p: Optional[int] = None) -> None:
        """Replace the float64 weights (``p`` must be None)."""
        _refuse_prime(p, type(self).__name__)
        super().set_weights(weights, None)

    def evaluate(self, X: np.ndarray, p: Optional[int] = None) -> np.ndarray:
        """The output on a batch ``X`` of shape ``(B, N, M)``, in float64 (``p`` must be None)."""
        _refuse_prime(p, type(self).__name__)
        return super().evaluate(X, None)

    def _check_field(self, field: Field) -> None:
        if field.exact:
            _refuse_prime(field.modulus, type(self).__name__)

    @property
    def n_parameters(self) -> int:
        """The number of weights."""
        total = 0
        for value in self.weights().values():
            total += sum(int(np.size(v)) for v in value) if isinstance(value, list) else int(np.size(value))
        return total

    def grid_tensor(self, templates: np.ndarray) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def grid_rank_estimate(self, templates: np.ndarray, partition: Partition, tol: Optional[float] = None) -> int:
        r"""Float64 *estimate* of :math:`\operatorname{rank}[\![\Gamma]\!]_{I,J}` on ``templates``.

        The SVD rank (:func:`tensorlib.rank.numerical_rank`) of the matricized grid tensor. Even when
        exact it is only a lower bound on the separation rank (grid-tensor lemma), and in float64 it
        is an estimate: label it so.
        """
        I, J = validate_partition(partition, self.n_inputs)
        return numerical_rank(matricize(self.grid_tensor(templates), I), tol)


class ShallowRectifierNet(_RectifierBase):
    r"""One hidden layer of Z channels, ReLU, global max/sum/average pooling, a linear output.

    .. math::  f(x_1,\dots,x_N) = \sum_{z=1}^{Z} a_z\, P_{i\in[N]}\,
               \sigma\bigl(\langle a^{z,i}, x_i\rangle\bigr), \qquad \sigma(t) = \max(t, 0),

    the generalized CP decomposition of Cohen & Shashua (ICML 2016). With sum (or average)
    pooling :math:`f = \sum_i g_i(x_i)` is a sum of one-input functions, so
    :math:`\operatorname{sep}(f; I, J) \le 2` under every partition
    (:func:`~tensorlib.bounds.convac.shallow_sum_pooling_rank_bound`).

    Parameters
    ----------
    n_inputs : int
        N, at least 2.
    input_dim : int
        M.
    channels : int
        Z.
    pooling : {"max", "sum", "average"}
        The pooling operator P (after ReLU).
    shared : bool
        The same :math:`a^{z}` at every position (a convolution); default False.
    seed : int

    Notes
    -----
    Weights (``weights()``, float64 only): ``conv`` of shape (N, M, Z), or (M, Z) when shared;
    ``output`` of shape (Z,). Gaussian with standard deviation :math:`1/\sqrt{\text{fan-in}}`.
    """

    def __init__(self, n_inputs: int, input_dim: int, channels: int, *, pooling: str = "max",
                 shared: bool = False, seed: int = 0) -> None:
        self.n_inputs = check_int(n_inputs, "n_inputs", 2, "(a partition needs two sides)")
        self.input_dim = check_int(input_dim, "input_dim", 1)
        self.channels = check_int(channels, "channels", 1)
        self.pooling = _check_pooling(pooling)
        self.shared = check_bool(shared, "shared")
        self.seed = check_seed(seed)

    def _init_weights(self, rng: np.random.Generator, field: Field) -> Dict[str, Any]:
        self._check_field(field)
        lead = () if self.shared else (self.n_inputs,)
        M, Z = self.input_dim, self.channels
        return {"conv": field.random(rng, (*lead, M, Z), 1 / math.sqrt(M)),
                "output": field.random(rng, (Z,), 1 / math.sqrt(Z))}

    def _conv(self, weights: Dict[str, Any]) -> np.ndarray:
        w = weights["conv"]
        return np.broadcast_to(w, (self.n_inputs, *w.shape)) if self.shared else w

    def _forward(self, X: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:
        self._check_field(field)
        conv = np.matmul(np.swapaxes(X, 0, 1), self._conv(weights))  # (N, B, Z)
        return _pool(conv, 0, self.pooling) @ weights["output"]

    def rank_upper_bound(self, partition: Partition) -> Optional[int]:
        """2 with sum or average pooling (:func:`~tensorlib.bounds.convac.shallow_sum_pooling_rank_bound`); None with max pooling."""
        validate_partition(partition, self.n_inputs)
        return None if self.pooling == "max" else shallow_sum_pooling_rank_bound(partition, self.n_inputs)

    def grid_tensor(self, templates: np.ndarray) -> np.ndarray:
        r"""The generalized CP decomposition :math:`\sum_z a_z (Va^{z,1})\otimes_g\cdots\otimes_g(Va^{z,N})`.

        Computed from the weights tensor by tensor, not by evaluating the network; shape (K,)*N.
        """
        V = _check_templates(templates, self.input_dim, self.n_inputs)
        weights = self.weights()
        conv = self._conv(weights)
        factors = [(V @ conv[i]).T for i in range(self.n_inputs)]  # (Z, K) each
        pooled = _generalized_product(factors, self.pooling)        # (Z, K**N)
        return (weights["output"] @ pooled).reshape((V.shape[0],) * self.n_inputs)

    def _repr_params(self) -> Dict[str, Any]:
        return {"n_inputs": self.n_inputs, "input_dim": self.input_dim, "channels": self.channels,
                "pooling": self.pooling, "shared": self.shared, "seed": self.seed}


def _windows(window: object, n_inputs: int) -> tuple:
    if isinstance(window, (list, tuple, np.ndarray)):
        windows = tuple(check_int(w, f"window[{l}]", 2) for l, w in enumerate(window))
        if not windows or math.prod(windows) != n_inputs:
            raise ValueError(f"the windows must multiply to n_inputs={n_inputs}, got {list(windows)}")
        return windows
    w = check_int(window, "window", 2, "(the size of a pooling window)")
    depth, size = 0, 1
    while size < n_inputs:
        size, depth = size * w, depth + 1
    if size != n_inputs:
        raise ValueError(f"n_inputs={n_inputs} must be a power of window={w} (L = log_window(n_inputs) layers)")
    return (w,) * depth


class DeepRectifierNet(_RectifierBase):
    r"""L hidden layers of (1x1 convolution, ReLU, max/sum/average pooling), then a linear output.

    The tree of :class:`~tensorlib.networks.convac.DeepConvAC` with product pooling replaced by
    :math:`P\circ\sigma`: layer l maps the :math:`r_{l-1}` channels at each of its positions to
    :math:`r_l` channels, applies ReLU and pools windows of w consecutive positions,

    .. math::  \mathrm{pool}_l(j,\gamma) = P_{t<w}\,\sigma\bigl(\langle a^{l,jw+t,\gamma},
               \mathrm{pool}_{l-1}(jw+t,:)\rangle\bigr), \qquad
               f = \langle a^{L}, \mathrm{pool}_{L-1}(0,:)\rangle ,

    with :math:`\mathrm{pool}_{-1}(i,:) = x_i`: the generalized hierarchical decomposition of
    Cohen & Shashua (ICML 2016) with the activation-pooling operator :math:`\rho_{\sigma/P}`.

    Parameters
    ----------
    n_inputs : int
        N, a power of ``window`` (or the product of the windows).
    input_dim : int
        M.
    widths : int or sequence of L ints
        :math:`r_0,\dots,r_{L-1}`.
    window : int or sequence of ints
        w (default 2), or one window per layer.
    pooling : {"max", "sum", "average"}
    shared : bool
        Tie each layer's convolution across positions.
    seed : int

    Notes
    -----
    Weights (``weights()``, float64 only): the layout of :class:`DeepConvAC`: ``conv[l]`` of shape
    :math:`(N/w^l, r_{l-1}, r_l)` or :math:`(r_{l-1}, r_l)` when shared, ``output`` of shape
    :math:`(r_{L-1},)`; Gaussian with standard deviation :math:`1/\sqrt{\text{fan-in}}`.
    """

    def __init__(self, n_inputs: int, input_dim: int, widths: Union[int, Sequence[int]], *,
                 window: Union[int, Sequence[int]] = 2, pooling: str = "max", shared: bool = False,
                 seed: int = 0) -> None:
        self.n_inputs = check_int(n_inputs, "n_inputs", 2, "(a partition needs two sides)")
        self.input_dim = check_int(input_dim, "input_dim", 1)
        self.windows = _windows(window, self.n_inputs)
        self.depth = len(self.windows)
        if isinstance(widths, (int, np.integer)) and not isinstance(widths, (bool, np.bool_)):
            widths = [widths] * self.depth
        if isinstance(widths, (str, bytes)) or not isinstance(widths, (list, tuple, np.ndarray)):
            raise TypeError(f"widths must be an int or a sequence of {self.depth} ints, got {type(widths).__name__}")
        if len(widths) != self.depth:
            raise ValueError(f"widths must have L = {self.depth} entries (one per hidden layer), got {len(widths)}")
        self.widths = tuple(check_int(w, f"widths[{l}]", 1) for l, w in enumerate(widths))
        self.pooling = _check_pooling(pooling)
        self.shared = check_bool(shared, "shared")
        self.seed = check_seed(seed)
        self.positions = tuple(self.n_inputs // math.prod(self.windows[:l]) for l in range(self.depth))

    def _init_weights(self, rng: np.random.Generator, field: Field) -> Dict[str, Any]:
        self._check_field(field)
        conv, fan_in = [], self.input_dim
        for l, r in enumerate(self.widths):
            lead = () if self.shared else (self.positions[l],)
            conv.append(field.random(rng, (*lead, fan_in, r), 1 / math.sqrt(fan_in)))
            fan_in = r
        return {"conv": conv, "output": field.random(rng, (fan_in,), 1 / math.sqrt(fan_in))}

    def _layer(self, weights: Dict[str, Any], l: int) -> np.ndarray:
        w = weights["conv"][l]
        return np.broadcast_to(w, (self.positions[l], *w.shape)) if self.shared else w

    def _forward(self, X: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:
        self._check_field(field)
        h = np.swapaxes(X, 0, 1)  # (positions, B, channels)
        for l, w in enumerate(self.windows):
            conv = np.matmul(h, self._layer(weights, l))
            h = _pool(conv.reshape(conv.shape[0] // w, w, *conv.shape[1:]), 1, self.pooling)
        return h[0] @ weights["output"]

    def grid_tensor(self, templates: np.ndarray) -> np.ndarray:
        r"""The generalized hierarchical decomposition on ``templates`` (shape (K,)*N), tensor by tensor.

        Node tensors are kept channel-first and flattened, (channels, K**size); a convolution
        contracts the channel axis, a pooling window takes the channel-wise generalized outer
        product :math:`\otimes_g` of its children. Not computed by evaluating the network.
        """
        V = _check_templates(templates, self.input_dim, self.n_inputs)
        weights = self.weights()
        nodes = [V.T for _ in range(self.n_inputs)]  # phi^{0,i,alpha} = V e_alpha: (M, K)
        for l, w in enumerate(self.windows):
            conv = self._layer(weights, l)
            convolved = [np.tensordot(conv[j], node, axes=([0], [0])) for j, node in enumerate(nodes)]
            nodes = [_generalized_product(convolved[s:s + w], self.pooling) for s in range(0, len(convolved), w)]
        return np.tensordot(weights["output"], nodes[0], axes=([0], [0])).reshape((V.shape[0],) * self.n_inputs)

    def _repr_params(self) -> Dict[str, Any]:
        window: Any = self.windows[0] if len(set(self.windows)) == 1 else list(self.windows)
        return {"n_inputs": self.n_inputs, "input_dim": self.input_dim, "widths": list(self.widths),
                "window": window, "pooling": self.pooling, "shared": self.shared, "seed": self.seed}
