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
``grid_matrix_block`` used by :func:`tensorlib.separation.separation_rank`.

Weights. In GF(p) every weight is a uniform residue in [0, p). In float64 every weight is i.i.d.
Gaussian with variance 1/fan-in. Both distributions have a density, so the ranks they give are the
generic ones ("for almost every weight setting"); orthogonal draws would not be (a tight frame is a
measure-zero set on which ranks can drop).
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import tensorly
from tensorly.cp_tensor import cp_to_tensor

from ..bounds.convac import ConvACArchitecture
from ..bounds.formats import sum_of_products_rank
from ..bounds.mincut import mincut
from ..checks import check_bool, check_int, check_int_list, check_seed
from ..fields import Field
from ..grid import check_dense_size
from ..partitions import Partition, validate_partition
from .base import Network
from .convac_grid import deep_convac_grid_block

__all__ = ["ShallowConvAC", "DeepConvAC"]


def _conv_weight(rng: np.random.Generator, field: Field, shape: Tuple[int, ...]) -> np.ndarray:
    """Weights of a 1x1 convolution, shape ``(..., fan_in, fan_out)``: i.i.d. Gaussian with variance 1/fan-in, or uniform residues."""
    return field.random(rng, shape, scale=1.0 / math.sqrt(shape[-2]))


def _output_weight(rng: np.random.Generator, field: Field, fan_in: int) -> np.ndarray:
    return field.random(rng, (fan_in,), scale=1.0 / math.sqrt(fan_in))


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
        self.n_inputs = check_int(n_inputs, "n_inputs", 2, "(a partition needs two sides)")
        self.input_dim = check_int(input_dim, "input_dim", 1)
        self.channels = check_int(channels, "channels", 1)
        self.shared = check_bool(shared, "shared")
        self.seed = check_seed(seed)

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
        return _count(self._weights(Field()))

    def coefficient_tensor(self) -> np.ndarray:
        """:math:`\\mathcal A = \\sum_z a_z\\, a^{z,1}\\otimes\\cdots\\otimes a^{z,N}` in float64 (``tensorly.cp_to_tensor``).

        Raises ``ValueError`` if :math:`M^N` entries exceed the dense-size budget.
        """
        check_dense_size((self.input_dim,) * self.n_inputs, "coefficient tensor")
        weights = self._weights(Field())
        factors = [tensorly.tensor(np.ascontiguousarray(f)) for f in self._position_weights(weights)]
        return np.asarray(cp_to_tensor((tensorly.tensor(weights["output"]), factors)))

    @property
    def architecture(self) -> ConvACArchitecture:
        """N, M, one pooling window of size N and Z channels: the description :mod:`tensorlib.bounds` reads."""
        return ConvACArchitecture(self.n_inputs, self.input_dim, (self.n_inputs,), (self.channels,),
                                  tuple(range(self.n_inputs)))

    def rank_upper_bound(self, partition: Partition) -> int:
        """:math:`\\min(Z, M^{\\min(|I|,|J|)})`: the CP bound (:func:`tensorlib.bounds.formats.sum_of_products_rank`)."""
        return sum_of_products_rank(self.channels, self.input_dim, validate_partition(partition, self.n_inputs))

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
        weights = self._weights(field)
        conv = self._position_weights(weights)
        u = self._pooled(x_rows, conv[list(I)], field)
        v = self._pooled(x_cols, conv[list(J)], field)
        return field.matmul(field.mul(u, weights["output"]), np.ascontiguousarray(v.T))

    def _repr_params(self) -> Dict[str, Any]:
        return {"n_inputs": self.n_inputs, "input_dim": self.input_dim, "channels": self.channels,
                "shared": self.shared, "seed": self.seed}


def _validate_windows(window: object, n_inputs: int) -> Tuple[int, ...]:
    if isinstance(window, (list, tuple)):
        windows = tuple(check_int(w, f"window[{k}]", 2) for k, w in enumerate(window))
        if not windows:
            raise ValueError("window must be an int >= 2 or a non-empty sequence of them")
        if math.prod(windows) != n_inputs:
            raise ValueError(f"the pooling windows {windows} must multiply to n_inputs={n_inputs}, "
                             f"got {math.prod(windows)}")
        return windows
    if isinstance(window, (bool, np.bool_)) or not isinstance(window, (int, np.integer)):
        raise TypeError(f"window must be an int or a sequence of ints, got {type(window).__name__}")
    window = check_int(window, "window", 2, "(the size of a pooling window)")
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
    return tuple(check_int_list(widths, "widths"))


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
        self.n_inputs = check_int(n_inputs, "n_inputs", 2, "(a partition needs two sides)")
        self.input_dim = check_int(input_dim, "input_dim", 1)
        self.windows = _validate_windows(window, self.n_inputs)
        self.depth = len(self.windows)
        self.widths = _validate_widths(widths, self.depth)
        self.order = _validate_order(order, self.n_inputs)
        self.shared = check_bool(shared, "shared")
        self.seed = check_seed(seed)
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
        return _count(self._weights(Field()))

    def coefficient_tensor(self) -> np.ndarray:
        """The coefficient tensor :math:`\\mathcal A` in float64, built bottom-up from eq. 4.

        Each node holds its tensors :math:`\\phi^{l,j,\\cdot}` with the channel as the leading
        axis; pooling is a channel-wise tensor product, a convolution contracts the channel axis.
        Raises ``ValueError`` if :math:`M^N` entries exceed the dense-size budget.
        """
        check_dense_size((self.input_dim,) * self.n_inputs, "coefficient tensor")
        weights = self._weights(Field())
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

    @property
    def architecture(self) -> ConvACArchitecture:
        """N, M, the windows, the widths and the input order: the description :mod:`tensorlib.bounds` reads."""
        return ConvACArchitecture(self.n_inputs, self.input_dim, self.windows, self.widths, self.order)

    def rank_upper_bound(self, partition: Partition) -> int:
        """The min-cut of the network's tensor network (:func:`tensorlib.bounds.mincut.mincut`, Levine et al. ICLR 2018, Claim 1).

        It is at most :math:`M^{\\min(|I|,|J|)}` (cutting the input edges of the smaller side).
        """
        return mincut(self.architecture, partition)

    def grid_matrix_block(self, x_rows: np.ndarray, x_cols: np.ndarray, partition: Partition,
                          p: Optional[int] = None) -> np.ndarray:
        """:math:`F[a,b] = f(x_I = x_{rows}[a], x_J = x_{cols}[b])`, sharing all one-sided work.

        Each one-sided subtree of the pooling tree is evaluated once per sample of its side; only
        nodes that mix both sides are evaluated per pair (see :mod:`tensorlib.networks.convac_grid`).

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
        return deep_convac_grid_block(self, field, self._weights(field), I, J, x_rows, x_cols)

    def _repr_params(self) -> Dict[str, Any]:
        window = self.windows[0] if len(set(self.windows)) == 1 else list(self.windows)
        params: Dict[str, Any] = {"n_inputs": self.n_inputs, "input_dim": self.input_dim,
                                  "widths": list(self.widths), "window": window}
        if self.order != tuple(range(self.n_inputs)):
            params["order"] = list(self.order)
        params.update(shared=self.shared, seed=self.seed)
        return params

