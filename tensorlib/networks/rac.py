r"""Recurrent arithmetic circuits (RACs): recurrent networks with multiplicative integration.

A depth-L RAC (Levine, Sharir, Ziv and Shashua, arXiv 1710.09431) reads a sequence
:math:`x^1,\dots,x^T \in \mathbb R^M` and keeps one hidden state :math:`h^{t,l}\in\mathbb R^R` per
layer. The input and the previous state are merged by an elementwise product (the multiplicative
integration of Wu et al., 2016, without its nonlinearity):

.. math::  h^{t,l} = \bigl(W^{H,l} h^{t-1,l}\bigr) \circ \bigl(W^{I,l} h^{t,l-1}\bigr),
           \qquad h^{t,0} = x^t, \qquad h^{0,l} = \mathbf 1,

and the output is the scalar :math:`y = \langle w^O, h^{T,L}\rangle`.

With one layer, :math:`h^t = \sum_d x^t_d\, G_d\, h^{t-1}` with :math:`G_d = \operatorname{diag}(W^I_{:,d})\,W^H`,
so :math:`y = \langle \mathcal A, x^1\otimes\cdots\otimes x^T\rangle` with the coefficient tensor

.. math::  \mathcal A_{d_1\dots d_T} = \mathbf 1^\top G_{d_1}^\top G_{d_2}^\top\cdots G_{d_T}^\top w^O ,

a tensor train (matrix product state) with bond dimension R. Cutting its chain between positions
T/2 and T/2 + 1 gives the Start--End bound :math:`\operatorname{sep} \le \min(R, M^{T/2})`. With two
or more layers the input :math:`x^t` reaches the output through many products, the network is no
longer multilinear in its inputs, and the Start--End separation rank grows with T.
"""

from __future__ import annotations

import functools
from typing import Any, Dict, List, Optional

import numpy as np
import tensorly
from tensorly.tt_tensor import tt_to_tensor

from ..bounds.rac import rac_cut_upper_bound
from ..checks import check_int, check_seed
from ..fields import Field, validate_prime
from ..grid import check_dense_size, pairwise_grid_matrix_block
from ..partitions import Partition, validate_partition
from . import pair_kernels
from .base import Network
from .pair_values import Side, assemble, field_ops, linear, product

__all__ = ["RAC"]

# The Start--End fast path: bytes of one channel of a pair tensor (rows are processed in blocks this
# large), and the most terms a state keeps factored (see tensorlib.networks.pair_values).
_BLOCK_BYTES = 2**19
_MAX_TERMS = 128


class RAC(Network):
    r"""A recurrent arithmetic circuit of ``depth`` layers and ``hidden`` = R channels.

    .. math::  h^{t,l} = \bigl(W^{H,l} h^{t-1,l}\bigr) \circ \bigl(W^{I,l} h^{t,l-1}\bigr),\quad
               h^{t,0} = x^t,\quad h^{0,l} = \mathbf 1,\quad
               y(x^1,\dots,x^T) = \langle w^O, h^{T,L}\rangle .

    Parameters
    ----------
    length : int
        T, the sequence length (``n_inputs``); at least 2.
    input_dim : int
        M, the dimension of each input :math:`x^t` (``input_dim``).
    hidden : int
        R, the width of every hidden state.
    depth : int
        L, the number of recurrent layers (default 1, the shallow RAC).
    seed : int
        Seed of the weights (``numpy.random.default_rng(seed)``).

    Notes
    -----
    Weights (see :meth:`~tensorlib.networks.base.Network.weights`): ``"W_H"`` is a list of L matrices of shape (R, R);
    ``"W_I"`` a list of L matrices, the first of shape (R, M) and the others (R, R); ``"w_O"`` a
    vector of shape (R,). In float64 every weight is i.i.d. Gaussian with variance 1/fan-in (a
    distribution with a density, so the ranks are the generic ones; the orthogonal recurrent matrices
    of the paper's experiments are a measure-zero set, on which ranks could drop). Values spread over
    many orders of magnitude at depth > 1, where the output has high degree in each input. In GF(p)
    all weights are uniform residues.

    The network is multilinear in its inputs only for ``depth == 1`` (``multilinear``), and only
    then has a coefficient tensor (:meth:`coefficient_tensor`, a tensor train).

    Examples
    --------
    >>> import tensorlib
    >>> from tensorlib.networks import RAC
    >>> rac = RAC(8, 2, 3, depth=1, seed=0)
    >>> tensorlib.separation_rank(rac, tensorlib.start_end(8)).rank
    3
    """

    def __init__(self, length: int, input_dim: int, hidden: int, depth: int = 1, *, seed: int = 0) -> None:
        self.length = check_int(length, "length", 2, "(a partition needs two sides)")
        self.input_dim = check_int(input_dim, "input_dim", 1)
        self.hidden = check_int(hidden, "hidden", 1)
        self.depth = check_int(depth, "depth", 1)
        self.seed = check_seed(seed)
        self.n_inputs = self.length
        self.multilinear = self.depth == 1

    # -- weights and the recurrence ------------------------------------------------------------

    def _init_weights(self, rng: np.random.Generator, field: Field) -> Dict[str, Any]:
        R, M = self.hidden, self.input_dim
        W_H: List[np.ndarray] = []
        W_I: List[np.ndarray] = []
        for layer in range(self.depth):
            fan_in = M if layer == 0 else R
            W_H.append(field.random(rng, (R, R), scale=1.0 / np.sqrt(R)))
            W_I.append(field.random(rng, (R, fan_in), scale=1.0 / np.sqrt(fan_in)))
        return {"W_H": W_H, "W_I": W_I, "w_O": field.random(rng, (R,), scale=1.0 / np.sqrt(R))}

    def _run(self, X: np.ndarray, field: Field, weights: Dict[str, Any],
             states: Optional[List[np.ndarray]] = None) -> List[np.ndarray]:
        """Run the recurrence over the steps of ``X`` (..., t, M) from ``states`` (..., R), default all ones.

        Leading axes broadcast: the Start--End fast path passes End inputs of shape (1, B, t, M) and
        Start states of shape (A, 1, R), so work that depends on one side only is done once per sample.
        """
        if states is None:
            states = [field.ones(X.shape[:-2] + (self.hidden,)) for _ in range(self.depth)]
        h = list(states)
        for t in range(X.shape[-2]):
            below = X[..., t, :]
            for layer in range(self.depth):
                recur = field.matmul(h[layer], weights["W_H"][layer].T)
                inject = field.matmul(below, weights["W_I"][layer].T)
                h[layer] = field.mul(recur, inject)
                below = h[layer]
        return h

    def _readout(self, top: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:
        return field.matmul(top, weights["w_O"][:, None])[..., 0]

    def _forward(self, X: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:
        return self._readout(self._run(X, field, weights)[-1], field, weights)

    def evaluate(self, X: np.ndarray, p: Optional[int] = None) -> np.ndarray:
        """The output :math:`\\langle w^O, h^{T,L}\\rangle` on a batch ``X`` of shape (batch, T, M).

        With ``p=None`` in float64; with a prime ``p`` on integer inputs, the value mod p.
        """
        shape = np.shape(X)
        if len(shape) == 2 and shape == (self.length, self.input_dim):
            raise ValueError(f"X must be a batch of sequences of shape (batch, length={self.length}, "
                             f"input_dim={self.input_dim}), got a single sequence of shape {shape}; "
                             "use X[None] for a batch of one")
        return super().evaluate(X, p)

    # -- a proven upper bound for cuts of the sequence ----------------------------------------

    def rank_upper_bound(self, partition: Partition) -> Optional[int]:
        r"""A proven upper bound on the separation rank, or None.

        For a cut of the sequence into a prefix and a suffix of e steps (the Start--End partition is
        e = T/2), :func:`tensorlib.bounds.rac.rac_cut_upper_bound` (*our own derivation*): R for a
        shallow RAC (the tensor-train bond), :math:`R\binom{R+e-1}{e}` at depth 2. A shallow RAC is
        also multilinear, so its bound is at most :math:`M^{\min(|I|,|J|)}` for every partition.
        Deep RACs cut anywhere else get None.
        """
        I, J = validate_partition(partition, self.n_inputs)
        bound = super().rank_upper_bound((I, J))  # M^{min(|I|,|J|)} at depth 1, else None
        if I == tuple(range(len(I))):
            suffix = len(J)
        elif J == tuple(range(len(J))):
            suffix = len(I)
        else:
            return bound
        state = rac_cut_upper_bound(suffix, self.hidden, self.depth)
        return state if bound is None else min(bound, state)

    # -- the tensor train of the shallow RAC ---------------------------------------------------

    def tt_cores(self, p: Optional[int] = None) -> List[np.ndarray]:
        r"""The TT (MPS) cores of the shallow RAC's coefficient tensor (``depth == 1`` only).

        With :math:`G_d = \operatorname{diag}(W^I_{:,d})\,W^H`, the cores are
        :math:`C^{(1)}_{0,d,:} = (G_d \mathbf 1)^\top` of shape (1, M, R),
        :math:`C^{(t)}_{:,d,:} = G_d^\top` of shape (R, M, R) for :math:`1 < t < T`, and
        :math:`C^{(T)}_{:,d,0} = G_d^\top w^O` of shape (R, M, 1), so that
        :math:`\mathcal A_{d_1\dots d_T} = C^{(1)}_{d_1} C^{(2)}_{d_2}\cdots C^{(T)}_{d_T}`
        (tensorly's TT layout).

        Parameters
        ----------
        p : int, optional
            Cores of the float64 weights (default) or, with a prime ``p``, of the GF(p) weights
            (int64 residues).

        Returns
        -------
        list of T arrays
        """
        self._require_shallow("tt_cores")
        field = Field(None if p is None else validate_prime(p, "p"))
        w = self._weights(field)
        W_H, W_I, w_O = w["W_H"][0], w["W_I"][0], w["w_O"]
        R = self.hidden
        # G[d] = diag(W_I[:, d]) W_H, stacked as (M, R, R)
        G = field.mul(W_I.T[:, :, None], W_H[None, :, :])
        Gt = np.transpose(G, (0, 2, 1))  # G[d]^T
        first = field.matmul(G, field.ones((R, 1)))[:, :, 0]  # (M, R): G_d 1
        last = field.matmul(Gt, w_O[:, None])[:, :, 0]       # (M, R): G_d^T w_O
        middle = np.transpose(Gt, (1, 0, 2))                  # (R, M, R): [a, d, b] = G_d[b, a]
        cores = [first[None, :, :]]
        cores += [middle.copy() for _ in range(self.length - 2)]
        cores.append(last.T[:, :, None])
        return cores

    def coefficient_tensor(self) -> np.ndarray:
        r"""The coefficient tensor :math:`\mathcal A` (float64, shape (M,) * T) of the shallow RAC.

        :math:`y(x^1,\dots,x^T) = \sum_{d_1..d_T}\mathcal A_{d_1\dots d_T}\, x^1_{d_1}\cdots x^T_{d_T}`,
        assembled from :meth:`tt_cores` by ``tensorly.tt_tensor.tt_to_tensor``. It equals the grid
        tensor on the basis templates :math:`e_1,\dots,e_M`.

        Raises
        ------
        ValueError
            If ``depth > 1`` (a deep RAC is not multilinear in its inputs, so it has no coefficient
            tensor), or if the dense tensor would exceed the memory budget.
        """
        self._require_shallow("coefficient_tensor")
        check_dense_size((self.input_dim,) * self.length, "coefficient tensor")
        return np.asarray(tt_to_tensor([tensorly.tensor(c) for c in self.tt_cores()]))

    def _require_shallow(self, what: str) -> None:
        if self.depth != 1:
            raise ValueError(
                f"{what} exists only for depth == 1: a RAC of depth {self.depth} is not multilinear in its "
                "inputs (x^t enters many later products), so it has no coefficient tensor; use "
                "tensorlib.grid_tensor(model, templates, T) or tensorlib.separation_rank(model, partition)")

    # -- Start--End fast path for sampled grid matrices ----------------------------------------

    def grid_matrix_block(self, x_rows: np.ndarray, x_cols: np.ndarray, partition: Partition,
                          p: Optional[int] = None) -> np.ndarray:
        r""":math:`F[a,b] = y(x_I = x_{rows}[a],\ x_J = x_{cols}[b])`, fast for prefix/suffix partitions.

        When one side of the partition is a prefix :math:`\{0,\dots,k-1\}` of the sequence (the
        Start--End partition, or any other cut of the sequence in two), the recurrence runs over
        the prefix once per prefix sample and, from the saved states :math:`h^{k,l}`, over the suffix
        once per pair. Other partitions fall back to
        :func:`tensorlib.grid.pairwise_grid_matrix_block`.

        Parameters
        ----------
        x_rows : ndarray of shape ``(A, len(I), M)``
            The inputs at the positions in I, one row of the block per sample.
        x_cols : ndarray of shape ``(B, len(J), M)``
            The inputs at the positions in J, one column per sample.
        partition : (I, J)
        p : int, optional
            A prime for GF(p) arithmetic (integer inputs), default float64.

        Returns
        -------
        ndarray of shape (A, B)
        """
        field, I, J, x_rows, x_cols = self._validate_block(x_rows, x_cols, partition, p)
        p = field.modulus
        if I == tuple(range(len(I))):
            return self._prefix_block(x_rows, x_cols, p)
        if J == tuple(range(len(J))):
            return self._prefix_block(x_cols, x_rows, p).T
        return pairwise_grid_matrix_block(self, x_rows, x_cols, (I, J), p)

    def _prefix_block(self, prefix: np.ndarray, suffix: np.ndarray, p: Optional[int]) -> np.ndarray:
        r"""F[a, b] = y(prefix[a], suffix[b]), in the algebra of :mod:`tensorlib.networks.pair_values`.

        The states :math:`h^{k,l}` after the prefix are row values; each suffix input a column
        value. Along the suffix, :math:`W^{H,l} h` and :math:`W^{I,l} h` are linear maps and their
        product the elementwise product, so each state is a short sum of products of a row factor
        and a column factor (layer 1's states keep 3 terms all along: :math:`h^{t,1} = L_t\, h^{k,1}`
        with :math:`L_t` depending on the suffix only) until it has more than ``_MAX_TERMS`` terms;
        from there it is formed per pair by float64 matrix products.
        """
        field = Field(p)
        w = self._weights(field)
        A, B = prefix.shape[0], suffix.shape[0]
        out = np.empty((A, B), dtype=field.dtype)
        if A == 0 or B == 0:
            return out
        if pair_kernels.usable(p, self.hidden):
            return self._compiled_prefix_block(prefix, suffix, field, w, out)
        ops = field_ops(field)
        W_H = [np.ascontiguousarray(ops.from_field(m).T) for m in w["W_H"]]  # h @ W^T: the map with W.T
        W_I = [np.ascontiguousarray(ops.from_field(m).T) for m in w["W_I"]]
        h: List[Any] = [Side("I", ops.from_field(s).T) for s in self._run(prefix, field, w)]
        inputs = ops.from_field(suffix)
        for t in range(suffix.shape[1]):
            below: Any = Side("J", np.ascontiguousarray(inputs[:, t].T))
            for layer in range(self.depth):
                recur = linear(ops, W_H[layer], h[layer], shared="P")
                h[layer] = product(ops, [recur, linear(ops, W_I[layer], below, shared="P")], _MAX_TERMS)
                below = h[layer]
        root = linear(ops, ops.from_field(w["w_O"]).reshape(-1, 1), h[-1])
        return assemble(ops, root, out, _BLOCK_BYTES)

    def _compiled_prefix_block(self, prefix: np.ndarray, suffix: np.ndarray, field: Field,
                               w: Dict[str, Any], out: np.ndarray) -> np.ndarray:
        """:meth:`_prefix_block` in the compiled per-pair kernel of :mod:`.pair_kernels`.

        The prefix states and the first layer's input terms :math:`W^{I,1} x^t` of the suffix are
        one-sided (numpy, once per sample); the suffix recursion runs per pair.
        """
        p = field.modulus
        c = functools.partial(pair_kernels.to_centred, p=p)
        R, L = self.hidden, self.depth
        states = np.stack(self._run(prefix, field, w), axis=1)                       # (A, L, R)
        inject = field.matmul(suffix, w["W_I"][0].T)                                # (B, t, R)
        W_I = np.zeros((L, R, R), dtype=field.dtype)
        for layer in range(1, L):
            W_I[layer] = w["W_I"][layer]
        rows = (states, np.zeros((states.shape[0],) + inject.shape[1:]))
        cols = (np.zeros((inject.shape[0],) + states.shape[1:]), inject)
        fixed = (c(np.stack(w["W_H"])), c(W_I), c(w["w_O"]))
        return pair_kernels.run(pair_kernels.rac_rows, rows, cols, fixed, p, out)

    def _repr_params(self) -> Dict[str, Any]:
        return {"length": self.length, "input_dim": self.input_dim, "hidden": self.hidden,
                "depth": self.depth, "seed": self.seed}
