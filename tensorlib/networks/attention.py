r"""Self-attention without softmax: the network analysed by Levine et al. (NeurIPS 2020).

The inputs are N tokens :math:`x^0,\dots,x^{N-1}` (0-based, like the package's partitions). An
optional input embedding
:math:`E\in\mathbb R^{d_x\times M}` gives :math:`y^{0,j} = E x^j` (without it, :math:`y^{0,j} = x^j`
and :math:`M = d_x`). Each of the L layers is multi-head self-attention with the softmax removed, so
the attention scores are raw bilinear forms, and with no layer norm and no feed-forward sublayer:

.. math::  y^{l+1,i} = \sum_{j=0}^{N-1}\sum_{h=1}^{H}
           \langle W^{Q,l,h} y^{l,i},\, W^{K,l,h} y^{l,j}\rangle\, W^{O,l,h} W^{V,l,h} y^{l,j}
           \;\bigl(+\, y^{l,i} \text{ with residual connections}\bigr),

with :math:`W^{Q,l,h}, W^{K,l,h}, W^{V,l,h} \in \mathbb R^{d_a\times d_x}`,
:math:`W^{O,l,h}\in\mathbb R^{d_x\times d_a}` and head dimension :math:`d_a = d_x / H`. The output
is read at the first position, :math:`f(x^0,\dots,x^{N-1}) = \langle w, y^{L,0}\rangle`.

Every layer is a homogeneous cubic map of the previous layer's tokens, so without residual
connections :math:`f` is a homogeneous polynomial of degree :math:`3^L` in the inputs (of degree at
most :math:`3^L` with them). With the embedding the network depends on each token only through
:math:`E x^j`, which lives in a space of dimension :math:`r = \operatorname{rank} E \le
\min(M, d_x)`: the *embedding rank* of Wies et al. (ICML 2021).
"""

from __future__ import annotations

import functools
from typing import Any, Dict, Optional

import numpy as np

from ..bounds.attention import embedding_rank, self_attention_rank_upper_bound
from ..checks import check_bool, check_int, check_seed
from ..fields import Field
from ..grid import pairwise_grid_matrix_block
from ..partitions import Partition, validate_partition
from . import pair_kernels
from .base import Network

__all__ = ["SelfAttention"]

# Pairs per chunk in grid_matrix_block: each per-pair quantity is one vector of this length.
_PAIRS_PER_CHUNK = 1 << 14


class SelfAttention(Network):
    r"""L layers of softmax-free multi-head self-attention, read out at the first position.

    .. math::  f(x^0,\dots,x^{N-1}) = \langle w, y^{L,0}\rangle, \qquad
               y^{l+1,i} = \sum_{j}\sum_{h}\langle W^{Q,l,h}y^{l,i}, W^{K,l,h}y^{l,j}\rangle\,
               W^{O,l,h}W^{V,l,h}y^{l,j},

    and :math:`y^{0,j} = E x^j` if ``input_dim`` is given, else :math:`y^{0,j} = x^j`.

    Parameters
    ----------
    n_tokens : int
        N, the number of tokens (at least 2, so that a partition has two sides). The model's
        ``n_inputs``.
    width : int
        :math:`d_x`, the width of every layer.
    depth : int
        L, the number of self-attention layers (at least 1).
    heads : int
        H, the number of heads; must divide ``width``. The head dimension is :math:`d_a = d_x/H`.
    input_dim : int, optional
        M. When given, an input embedding :math:`E` of shape ``(width, input_dim)`` maps each token
        to :math:`y^{0,j} = E x^j`; its rank, the *embedding rank*, is
        :math:`\min(M, d_x)` for generic weights. When omitted there is no embedding and each token
        has ``width`` coordinates.
    residual : bool
        Add :math:`y^{l,i}` to each layer's output (default False).
    softmax : bool
        Normalise the scores of every query with a softmax, :math:`\operatorname{softmax}_j(\langle
        q_i,k_j\rangle/\sqrt{d_a})`, as in a real Transformer (default False). This variant is
        float64 only and *outside the theory*: it is not a polynomial, so it has no GF(p) version.
    seed : int
        Seed of the weights.

    Notes
    -----
    Weights (``weights(p)``): ``"query"``, ``"key"``, ``"value"`` of shape ``(L, H, d_a, d_x)``
    (``[l, h]`` is :math:`W^{Q,l,h}` etc.), ``"output"`` of shape ``(L, H, d_x, d_a)``,
    ``"readout"`` :math:`w` of shape ``(d_x,)`` and, with ``input_dim``, ``"embedding"``
    :math:`E` of shape ``(d_x, M)``. Float64 weights are Gaussian with standard deviation
    :math:`1/\sqrt{\text{fan-in}}`, and the value--output product is further divided by
    :math:`\sqrt N`, which keeps the tokens of order one through the layers for inputs of order one.
    GF(p) weights are uniform residues.
    """

    multilinear = False

    def __init__(self, n_tokens: int, width: int, depth: int, *, heads: int = 1, input_dim: Optional[int] = None,
                 residual: bool = False, softmax: bool = False, seed: int = 0) -> None:
        self.n_tokens = check_int(n_tokens, "n_tokens", 2, "(a partition needs two sides)")
        self.width = check_int(width, "width", 1)
        self.depth = check_int(depth, "depth", 1)
        self.heads = check_int(heads, "heads", 1)
        if self.width % self.heads:
            raise ValueError(f"width must be divisible by heads (the head dimension is width / heads), "
                             f"got width={self.width}, heads={self.heads}")
        self.head_dim = self.width // self.heads
        self.embedding_dim = None if input_dim is None else check_int(input_dim, "input_dim", 1)
        self.residual = check_bool(residual, "residual")
        self.softmax = check_bool(softmax, "softmax")
        self.seed = check_seed(seed)
        self.n_inputs = self.n_tokens
        self.input_dim = self.width if self.embedding_dim is None else self.embedding_dim

    @property
    def n_parameters(self) -> int:
        """The number of weights: :math:`4Ld_x^2` (layers) + :math:`d_x` (read-out) + :math:`d_xM` (embedding)."""
        embedding = 0 if self.embedding_dim is None else self.width * self.embedding_dim
        return 4 * self.depth * self.width * self.width + self.width + embedding

    @property
    def embedding_rank(self) -> int:
        """:math:`r = \\min(M, d_x)`, the rank of a generic embedding (``width`` without one): :func:`tensorlib.bounds.attention.embedding_rank`."""
        return embedding_rank(self.width, self.embedding_dim)

    def rank_upper_bound(self, partition: Partition) -> Optional[int]:
        """Our upper bound U (:func:`tensorlib.bounds.attention.self_attention_rank_upper_bound`, *own derivation*); None with the softmax.

        U holds for every partition with two non-empty sides, any number of heads, with or without
        residual connections; it depends on the width only through the embedding rank.
        """
        validate_partition(partition, self.n_inputs)
        if self.softmax:
            return None
        return self_attention_rank_upper_bound(self.width, self.depth, self.embedding_dim, self.residual)

    # -- weights ---------------------------------------------------------------------------
    def _init_weights(self, rng: np.random.Generator, field: Field) -> Dict[str, Any]:
        L, H, d, da = self.depth, self.heads, self.width, self.head_dim
        weights: Dict[str, Any] = {}
        if self.embedding_dim is not None:
            weights["embedding"] = field.random(rng, (d, self.embedding_dim), 1 / np.sqrt(self.embedding_dim))
        weights["query"] = field.random(rng, (L, H, da, d), 1 / np.sqrt(d))
        weights["key"] = field.random(rng, (L, H, da, d), 1 / np.sqrt(d))
        weights["value"] = field.random(rng, (L, H, da, d), 1 / np.sqrt(d))
        weights["output"] = field.random(rng, (L, H, d, da), 1 / np.sqrt(self.width * self.n_tokens))
        weights["readout"] = field.random(rng, (d,), 1 / np.sqrt(d))
        return weights

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, X: np.ndarray, p: Optional[int] = None) -> np.ndarray:
        """The output :math:`\\langle w, y^{L,0}\\rangle` on a batch ``X`` of shape ``(B, N, M)``.

        With a prime ``p``: integer inputs, integer weights, the value mod p. The softmax variant
        refuses ``p`` (a softmax has no meaning mod p).
        """
        self._check_field(p)
        return super().evaluate(X, p)

    def _heads(self, Y: np.ndarray, W: np.ndarray, field: Field) -> np.ndarray:
        """Project tokens ``Y`` (B, n, d) by the stacked head matrices ``W`` (H, d_a, d) -> (B, H, n, d_a)."""
        B, n, _ = Y.shape
        stacked = W.reshape(self.heads * self.head_dim, self.width)
        out = field.matmul(Y, np.ascontiguousarray(stacked.T))
        return out.reshape(B, n, self.heads, self.head_dim).transpose(0, 2, 1, 3)

    def _scores(self, q: np.ndarray, k: np.ndarray, field: Field) -> np.ndarray:
        s = field.matmul(q, k.transpose(0, 1, 3, 2))  # (B, H, n_queries, N)
        if self.softmax:
            s = s / np.sqrt(self.head_dim)
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s = s / s.sum(axis=-1, keepdims=True)
        return s

    def _layer(self, Y: np.ndarray, field: Field, weights: Dict[str, Any], l: int) -> np.ndarray:
        B, N, d = Y.shape
        q = self._heads(Y, weights["query"][l], field)
        k = self._heads(Y, weights["key"][l], field)
        v = self._heads(Y, weights["value"][l], field)
        z = field.matmul(self._scores(q, k, field), v)  # (B, H, N, d_a)
        z = z.transpose(0, 2, 1, 3).reshape(B, N, self.heads * self.head_dim)
        # Column h*d_a + a of the stacked output matrix is column a of W^{O,l,h}.
        stacked = weights["output"][l].transpose(1, 0, 2).reshape(d, self.heads * self.head_dim)
        out = field.matmul(z, np.ascontiguousarray(stacked.T))
        return field.add(out, Y) if self.residual else out

    def _readout(self, Y: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:
        # Only position 0 is read: <w, sum_j s_0j W^O W^V y_j> = sum_j s_0j <c_h, y_j>,
        # with c_h = (W^{V,h})^T (W^{O,h})^T w, so the last layer needs one query and N scalars per head.
        l = self.depth - 1
        w = weights["readout"]
        u = field.matmul(w[None, None, :], weights["output"][l])                       # (H, 1, d_a)
        c = field.matmul(u, weights["value"][l])                                       # (H, 1, d)
        t = field.matmul(Y[:, None], np.ascontiguousarray(c.transpose(0, 2, 1))[None])  # (B, H, N, 1)
        q0 = self._heads(Y[:, :1], weights["query"][l], field)                          # (B, H, 1, d_a)
        k = self._heads(Y, weights["key"][l], field)
        out = field.sum(field.matmul(self._scores(q0, k, field), t)[:, :, 0, 0], axis=1)
        if self.residual:
            out = field.add(out, field.matmul(Y[:, 0], w))
        return out

    def _embed(self, X: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:
        if self.embedding_dim is None:
            return X
        return field.matmul(X, np.ascontiguousarray(weights["embedding"].T))

    def _forward(self, X: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:
        Y = self._embed(X, field, weights)
        for l in range(self.depth - 1):
            Y = self._layer(Y, field, weights, l)
        return self._readout(Y, field, weights)

    # -- the sampled grid matrix, via the shared linear map -------------------------------
    def grid_matrix_block(self, x_rows: np.ndarray, x_cols: np.ndarray, partition: Partition,
                          p: Optional[int] = None) -> np.ndarray:
        r"""The block :math:`F[a,b] = f(x_I = x_{rows}[a],\ x_J = x_{cols}[b])`, using the shared linear map.

        Without the softmax, a layer applies *one* linear map to every token,

        .. math::  y^{l+1,i} = T_l\, y^{l,i}, \qquad
                   T_l = \sum_{h} W^{O,l,h} W^{V,l,h}\, S^l\, (W^{K,l,h})^\top W^{Q,l,h}
                   \;(+\,I), \qquad S^l = \sum_{j} y^{l,j} (y^{l,j})^\top,

        because :math:`\langle W^Q y^{i}, W^K y^{j}\rangle\, W^O W^V y^{j} = W^O W^V y^{j}
        (y^{j})^\top (W^K)^\top W^Q y^{i}`. Hence :math:`S^{l+1} = T_l S^l T_l^\top` and
        :math:`f = \langle w, T_{L-1}\cdots T_0\, y^{0,0}\rangle`: the output depends on the tokens
        only through the first token and :math:`S^0 = S_I + S_J`, one symmetric
        :math:`d_x\times d_x` matrix per side. The block computes :math:`S_I`, :math:`S_J` and
        their shares of :math:`T_0` once per sample of each side, then runs the
        :math:`d_x\times d_x` recursion per pair, so its cost does not grow with the number of
        tokens. The softmax variant has no such structure and falls back to
        :func:`tensorlib.grid.pairwise_grid_matrix_block`.

        Parameters
        ----------
        x_rows : ndarray of shape ``(A, |I|, M)``
            The samples of the I side.
        x_cols : ndarray of shape ``(B, |J|, M)``
            The samples of the J side.
        partition : (I, J)
            0-based token positions.
        p : int, optional
            A prime: integer inputs and weights, result mod p (int64). Default float64.

        Returns
        -------
        ndarray of shape (A, B)
        """
        field, I, J, x_rows, x_cols = self._validate_block(x_rows, x_cols, partition, p)
        p = field.modulus
        self._check_field(p)
        if self.softmax:
            return pairwise_grid_matrix_block(self, x_rows, x_cols, (I, J), p)
        if 0 not in I:  # put the side holding the read-out token on the rows
            return self.grid_matrix_block(x_cols, x_rows, (J, I), p).T
        field = Field(p)
        A, B, d = x_rows.shape[0], x_cols.shape[0], self.width
        out = np.empty((A, B), dtype=field.dtype)
        if A == 0 or B == 0:
            return out
        weights = self._weights(field)
        ops = field  # the shared kernels: uint64 residues, delayed reduction
        maps = self._linear_maps(field, weights)
        y_rows, S_rows, T_rows = (ops.work(a) for a in self._side(x_rows, field, weights, maps[0]))
        _, S_cols, T_cols = (ops.work(a) for a in self._side(x_cols, field, weights, maps[0]))
        first = y_rows[:, I.index(0)]                                     # (A, d): y^{0,0} of each row
        fixed = self._fixed_tensors(field, weights, maps, ops)
        if pair_kernels.usable(p, len(fixed["upper"]) + d):
            return self._compiled_block(first, S_rows, T_rows, S_cols, T_cols, fixed, p, out)
        per_chunk = max(1, _PAIRS_PER_CHUNK // B)
        for a0 in range(0, A, per_chunk):
            a1 = min(A, a0 + per_chunk)
            # One vector per matrix entry, indexed by the pairs (row, column) in row-major order.
            S = [[ops.add_residues(S_rows[a0:a1, i, j, None], S_cols[None, :, i, j]).ravel() for j in range(d)]
                 for i in range(d)]
            T = [[ops.add_residues(T_rows[a0:a1, i, j, None], T_cols[None, :, i, j]).ravel() for j in range(d)]
                 for i in range(d)]
            v = [np.repeat(first[a0:a1, i], B) for i in range(d)]
            out[a0:a1] = self._pair_values(S, T, v, ops, fixed).reshape(a1 - a0, B).astype(field.dtype)
        return out

    def _compiled_block(self, first: np.ndarray, S_rows: np.ndarray, T_rows: np.ndarray, S_cols: np.ndarray,
                        T_cols: np.ndarray, fixed: dict, p: int, out: np.ndarray) -> np.ndarray:
        """The per-pair recursion of :meth:`_pair_values` in the compiled kernel of :mod:`.pair_kernels` (GF(p))."""
        d, upper = self.width, fixed["upper"]
        ku = np.array([k for k, _ in upper], dtype=np.int64)
        mu = np.array([m for _, m in upper], dtype=np.int64)
        full = np.empty((d, d), dtype=np.int64)
        for q, (k, m) in enumerate(upper):
            full[k, m] = full[m, k] = q
        c = functools.partial(pair_kernels.to_centred, p=p)
        rows = (first, S_rows[:, ku, mu], T_rows)
        cols = (np.zeros((S_cols.shape[0], d)), S_cols[:, ku, mu], T_cols)   # token 0 is a row's
        fixed_args = (np.stack([c(m) for m in fixed["maps"]]), c(fixed["readout"]), c(fixed["w"]), full, ku, mu,
                      self.residual)
        return pair_kernels.run(pair_kernels.attention_rows, rows, cols, fixed_args, p, out)

    def _check_field(self, p: Optional[int]) -> None:
        if self.softmax and p is not None:
            raise ValueError("softmax=True is float64 only (a softmax is not a polynomial, so it has no "
                             "GF(p) version); use p=None, or softmax=False for exact ranks")

    def _head_products(self, field: Field, weights: Dict[str, Any], l: int) -> tuple:
        """:math:`B_h = W^{O,l,h}W^{V,l,h}` and :math:`C_h = (W^{K,l,h})^\\top W^{Q,l,h}`, each (H, d, d)."""
        Bh = field.matmul(weights["output"][l], weights["value"][l])
        Ch = field.matmul(np.ascontiguousarray(weights["key"][l].transpose(0, 2, 1)), weights["query"][l])
        return Bh, Ch

    def _linear_maps(self, field: Field, weights: Dict[str, Any]) -> list:
        """Per layer, the matrix of :math:`S \\mapsto \\sum_h B_h S C_h` on row-major vec(S), shape (d^2, d^2).

        The entry at ((i, j), (k, m)) is :math:`\\sum_h (B_h)_{ik} (C_h)_{mj}`.
        """
        d = self.width
        maps = []
        for l in range(self.depth):
            Bh, Ch = self._head_products(field, weights, l)
            terms = field.mul(Bh[:, :, None, :, None], Ch.transpose(0, 2, 1)[:, None, :, None, :])
            maps.append(field.sum(terms, axis=0).reshape(d * d, d * d))
        return maps

    def _fixed_tensors(self, field: Field, weights: Dict[str, Any], maps: list, ops: Field) -> dict:
        """The weight-only tensors of the per-pair recursion, on the upper triangle of the symmetric :math:`S`.

        ``maps[l][(i, j), q]`` sends the packed :math:`S` (entries k <= m) to :math:`T_l`, and
        ``readout[q, t]`` gives :math:`f = \\sum_{q=(k,m)} S_{km} \\sum_t \\mathrm{readout}[q,t]\\, v_t`
        in the last layer, from :math:`G_{kmt} = \\sum_h (B_h^\\top w)_k (C_h)_{mt}`.
        """
        d = self.width
        upper = [(k, m) for k in range(d) for m in range(k, d)]

        def pack(full: np.ndarray) -> np.ndarray:  # full[..., k, m] -> packed[..., q], adding (k,m) and (m,k)
            cols = [full[..., k, m] if k == m else field.add(full[..., k, m], full[..., m, k]) for k, m in upper]
            return np.stack(cols, axis=-1)

        packed_maps = [ops.work(pack(m.reshape(d * d, d, d))) for m in maps]
        Bh, Ch = self._head_products(field, weights, self.depth - 1)
        u = field.matmul(weights["readout"][None, None, :], Bh)[:, 0, :]                  # (H, d): B_h^T w
        G = field.sum(field.mul(u[:, :, None, None], Ch[:, None, :, :]), axis=0)           # (k, m, t)
        readout = ops.work(pack(np.ascontiguousarray(G.transpose(2, 0, 1))).T)           # (q, t)
        return {"upper": upper, "maps": packed_maps, "readout": readout,
                "w": ops.work(weights["readout"]), "one": ops.work(np.ones((), dtype=np.int64))}

    def _side(self, x: np.ndarray, field: Field, weights: Dict[str, Any], first_map: np.ndarray) -> tuple:
        """Per-sample work of one side: its embedded tokens, :math:`S_{side}` and its share of :math:`T_0`."""
        y = self._embed(x, field, weights)                                              # (A, n_side, d)
        S = field.matmul(np.ascontiguousarray(y.transpose(0, 2, 1)), y)                 # (A, d, d)
        d = self.width
        T = field.matmul(S.reshape(-1, d * d), np.ascontiguousarray(first_map.T)).reshape(-1, d, d)
        return y, S, T

    def _pair_values(self, S: list, T: list, v: list, ops: Field, fixed: dict) -> np.ndarray:
        """f per pair from :math:`S^0`, :math:`T_0` (no identity yet) and :math:`y^{0,0}`, one vector per entry."""
        d, upper = self.width, fixed["upper"]
        rng_d = range(d)
        for l in range(self.depth - 1):
            if l > 0:
                M = fixed["maps"][l]
                T = [[ops.dot((M[i * d + j, q], S[k][m]) for q, (k, m) in enumerate(upper)) for j in rng_d]
                     for i in rng_d]
            if self.residual:
                for i in rng_d:
                    T[i][i] = ops.add_residues(T[i][i], fixed["one"])
            v = [ops.dot((T[i][k], v[k]) for k in rng_d) for i in rng_d]
            TS = [[ops.dot((T[i][k], S[k][j]) for k in rng_d) for j in rng_d] for i in rng_d]
            S = [[None] * d for _ in rng_d]
            for i, j in upper:  # S' = T S T^T is symmetric: compute the upper triangle only
                S[i][j] = S[j][i] = ops.dot((TS[i][k], T[j][k]) for k in rng_d)
        # Last layer: <w, T v> = sum_h <B_h^T w, S C_h v> (+ <w, v>), without forming T.
        R = fixed["readout"]
        out = ops.dot((S[k][m], ops.dot((R[q, t], v[t]) for t in rng_d)) for q, (k, m) in enumerate(upper))
        if self.residual:
            out = ops.add_residues(out, ops.dot((fixed["w"][t], v[t]) for t in rng_d))
        return out

    def _repr_params(self) -> Dict[str, Any]:
        params: Dict[str, Any] = {"n_tokens": self.n_tokens, "width": self.width, "depth": self.depth,
                                  "heads": self.heads}
        if self.embedding_dim is not None:
            params["input_dim"] = self.embedding_dim
        if self.residual:
            params["residual"] = True
        if self.softmax:
            params["softmax"] = True
        params["seed"] = self.seed
        return params
