"""Shared test configuration: one derandomized hypothesis profile, and the shared strategies and helpers.

The profile is loaded before any test module is imported, so every ``settings(...)`` in the suite
inherits ``derandomize=True``: the same examples run on every machine and CI never fails at random.
No test module registers a profile or sets ``derandomize`` itself.

The helpers here are *independent* of the code under test: reference evaluations in Python's big
integers (no modular reduction until the end, no numpy integer arithmetic that could overflow), exact
ranks of dense coefficient tensors, and small models whose separation ranks are elementary.
"""

from __future__ import annotations

import itertools
import math
from typing import Iterator, List, Optional, Tuple

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "tensorlib",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)
settings.load_profile("tensorlib")

import tensorlib as tl  # noqa: E402  (after the profile, which must be loaded first)
from tensorlib.models import validate_inputs  # noqa: E402
from tensorlib.networks import DeepConvAC, ShallowConvAC  # noqa: E402

P = tl.DEFAULT_PRIME


# -- partitions ----------------------------------------------------------------------------------

@st.composite
def partitions(draw: st.DrawFn, n: int) -> tuple:
    """A partition (I, J) of ``range(n)`` with both sides non-empty, as sorted tuples."""
    mask = draw(st.lists(st.booleans(), min_size=n, max_size=n).filter(lambda m: 0 < sum(m) < n))
    I = tuple(i for i in range(n) if mask[i])
    J = tuple(i for i in range(n) if not mask[i])
    return I, J


def all_partitions(n: int) -> Iterator[Tuple[Tuple[int, ...], Tuple[int, ...]]]:
    """Every partition (I, J) of ``range(n)`` with both sides non-empty (ordered pairs)."""
    for size in range(1, n):
        for I in itertools.combinations(range(n), size):
            yield I, tuple(j for j in range(n) if j not in I)


# -- random arrays -------------------------------------------------------------------------------

def residues(rng: np.random.Generator, shape, p: int, near_top: bool = False) -> np.ndarray:
    """Uniform residues in [0, p), or residues in [p - 8, p) to stress the overflow margins."""
    if near_top:
        return rng.integers(max(0, p - 8), p, size=shape, dtype=np.int64)
    return rng.integers(0, p, size=shape, dtype=np.int64)


def identity_topped(rng: np.random.Generator, rows: int, cols: int, low: int = -9, high: int = 10) -> np.ndarray:
    """An integer ``rows x cols`` matrix (rows >= cols) with an identity block on top.

    It has full column rank over every field (the identity block is a nonzero maximal minor mod any p).
    """
    return np.vstack([np.eye(cols, dtype=np.int64), rng.integers(low, high, size=(rows - cols, cols))])


def to_objects(a) -> np.ndarray:
    """An object array of Python ints (exact arithmetic at any size)."""
    return np.vectorize(int, otypes=[object])(np.asarray(a))


def mod_p(values, p: int) -> np.ndarray:
    """Python-int values reduced mod p, as int64."""
    return np.array([int(v) % p for v in np.ravel(values)], dtype=np.int64).reshape(np.shape(values))


def bigint_matmul_mod(a: np.ndarray, b: np.ndarray, p: int) -> np.ndarray:
    """a @ b mod p with Python integers (object arrays): no overflow at any size."""
    return np.asarray((to_objects(a) @ to_objects(b)) % p, dtype=np.int64)


# -- reference evaluations in big integers --------------------------------------------------------

def bigint_sum_of_products(factors, X, output=None) -> np.ndarray:
    """:math:`\\sum_z a_z \\prod_i \\langle a^{z,i}, x_i\\rangle` in Python integers.

    Without ``output``, :math:`a_z = 1` (the plain sum of products).
    """
    X = to_objects(X)
    out = None
    for i, a in enumerate(factors):
        forms = X[:, i, :].dot(to_objects(a))  # (B, R)
        out = forms if out is None else out * forms
    if output is not None:
        out = out * to_objects(output)[None, :]
    return out.sum(axis=1)


def bigint_deep_convac(model: DeepConvAC, weights: dict, X) -> np.ndarray:
    """A DeepConvAC evaluated from its definition (COLT 2016 eq. 4, any windows and order) in Python integers.

    Layer l convolves the channels at each position with ``conv[l][j]`` (shared: one matrix) and
    multiplies the channels of w consecutive positions; the output is linear in the last channels.
    """
    X = to_objects(X)
    h = [X[:, i, :] for i in model.order]  # one (B, channels) array per position, in tree order
    for l, w in enumerate(model.windows):
        conv = weights["conv"][l]
        h = [v.dot(to_objects(conv if model.shared else conv[j])) for j, v in enumerate(h)]
        h = [math.prod(h[k:k + w][1:], start=h[k]) for k in range(0, len(h), w)]
    return h[0].dot(to_objects(weights["output"]))


def bigint_rac(weights: dict, X) -> List[int]:
    """The RAC recurrence on Python integers (no modular reduction, no numpy arithmetic)."""
    W_H = [[[int(v) for v in row] for row in W] for W in weights["W_H"]]
    W_I = [[[int(v) for v in row] for row in W] for W in weights["W_I"]]
    w_O = [int(v) for v in weights["w_O"]]
    depth, R = len(W_H), len(w_O)
    out = []
    for seq in np.asarray(X).tolist():
        h = [[1] * R for _ in range(depth)]
        for x in seq:
            below = [int(v) for v in x]
            for l in range(depth):
                rec = [sum(W_H[l][r][s] * h[l][s] for s in range(R)) for r in range(R)]
                inj = [sum(W_I[l][r][s] * below[s] for s in range(len(below))) for r in range(R)]
                h[l] = [a * b for a, b in zip(rec, inj)]
                below = h[l]
        out.append(sum(w * v for w, v in zip(w_O, h[-1])))
    return out


def reference_attention(model, x: np.ndarray, weights: dict, exact: bool) -> object:
    """:math:`\\langle w, y^{L,0}\\rangle` of a SelfAttention with explicit loops over layers, tokens and heads.

    ``exact=True`` computes over the integers (Python ints), else in float64, following
    :math:`y^{l+1,i} = \\sum_j\\sum_h \\langle W^Q y^i, W^K y^j\\rangle W^O W^V y^j` (+ :math:`y^i` with residuals).
    """
    dtype = object if exact else np.float64
    W = {k: (to_objects(v) if exact else np.asarray(v, dtype=np.float64)) for k, v in weights.items()}
    x = to_objects(x) if exact else np.asarray(x, dtype=np.float64)
    ys = [W["embedding"].dot(t) if "embedding" in W else t for t in x]
    for l in range(model.depth):
        new = []
        for i in range(model.n_tokens):
            acc = ys[i].copy() if model.residual else np.zeros(model.width, dtype=dtype)
            for j in range(model.n_tokens):
                for h in range(model.heads):
                    score = W["query"][l, h].dot(ys[i]).dot(W["key"][l, h].dot(ys[j]))
                    acc = acc + score * W["output"][l, h].dot(W["value"][l, h].dot(ys[j]))
            new.append(acc)
        ys = new
    return W["readout"].dot(ys[0])


# -- exact and float ranks of dense coefficient tensors -------------------------------------------

def basis_grid_rank(model, partition, p: int = P) -> int:
    """GF(p) rank of the coefficient matricization: the grid tensor on the basis templates, matricized.

    For a multilinear model the grid tensor on :math:`e_1,\\dots,e_M` is the coefficient tensor, so this
    is :math:`\\operatorname{rank}[\\![\\mathcal A]\\!]_{I,J}` (mod p), independent of the sampled path.
    """
    A = tl.grid_tensor(model, np.eye(model.input_dim, dtype=np.int64), model.n_inputs, p=p)
    return tl.exact_rank(tl.matricize(A, partition[0]), p)


def dense_float_rank(model, partition) -> int:
    """SVD rank of the float64 coefficient tensor, matricized (numpy's default tolerance)."""
    I, J = partition
    A = model.coefficient_tensor()
    return int(np.linalg.matrix_rank(np.transpose(A, I + J).reshape(model.input_dim ** len(I), -1)))


# -- small models with elementary separation ranks -------------------------------------------------

class InnerProduct:
    """f(x_0, x_1) = <x_0, x_1>: the model protocol without an upper bound or a fast block.

    Its grid matrix on templates T is T T^T, and sep(f; {0}, {1}) = M (the coefficient matricization
    is the identity).
    """

    n_inputs = 2

    def __init__(self, input_dim: int) -> None:
        self.input_dim = input_dim

    def evaluate(self, X, p: Optional[int] = None) -> np.ndarray:
        X = validate_inputs(X, 2, self.input_dim, p)
        if p is None:
            return np.einsum("bm,bm->b", X[:, 0], X[:, 1])
        big = to_objects(X)
        return mod_p((big[:, 0] * big[:, 1]).sum(axis=1), p)


class Additive:
    """f(x) = sum_i <c_i, x_i> with integer coefficients: g(x_I) * 1 + 1 * g'(x_J), separation rank 2."""

    def __init__(self, n_inputs: int, input_dim: int, seed: int = 0) -> None:
        self.n_inputs, self.input_dim = n_inputs, input_dim
        self.c = np.random.default_rng(seed).integers(1, 50, size=(n_inputs, input_dim))

    def evaluate(self, X, p: Optional[int] = None) -> np.ndarray:
        X = validate_inputs(X, self.n_inputs, self.input_dim, p)
        if p is None:
            return np.einsum("bim,im->b", X, self.c)
        return mod_p((to_objects(X) * to_objects(self.c)).sum(axis=(1, 2)), p)


# -- random networks -----------------------------------------------------------------------------

@st.composite
def deep_convacs(draw: st.DrawFn, shapes=((4, 2), (8, 2), (16, 4), (16, (2, 8)), (16, (4, 2, 2))),
                 max_width: int = 7, max_dim: int = 4, shared: bool = False) -> DeepConvAC:
    """DeepConvACs over the given (N, window) shapes, any input order, small enough for dense ranks."""
    n, window = draw(st.sampled_from(shapes))
    depth = len(window) if isinstance(window, tuple) else round(math.log(n, window))
    widths = draw(st.lists(st.integers(1, max_width), min_size=depth, max_size=depth))
    order = draw(st.permutations(range(n)))
    M = draw(st.integers(1, max_dim if n <= 8 else min(max_dim, 2)))  # keeps M^N small for dense ranks
    tied = draw(st.booleans()) if shared else False
    return DeepConvAC(n, M, widths, window=window, order=order, shared=tied, seed=draw(st.integers(0, 1000)))


@st.composite
def small_deep_convacs(draw: st.DrawFn) -> DeepConvAC:
    """Small DeepConvACs: N = 2, 4, 8 (window 2) or 3, 9 (window 3), any order, shared or not."""
    window = draw(st.sampled_from([2, 2, 3]))
    depth = draw(st.integers(1, 3 if window == 2 else 2))
    n = window ** depth
    M = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 3), min_size=depth, max_size=depth))
    order = list(draw(st.permutations(range(n)))) if draw(st.booleans()) else None
    return DeepConvAC(n, M, widths, window=window, order=order, shared=draw(st.booleans()),
                      seed=draw(st.integers(0, 2**16)))


@st.composite
def shallow_convacs(draw: st.DrawFn, max_n: int = 6, max_dim: int = 3, max_channels: int = 12) -> ShallowConvAC:
    n = draw(st.integers(2, max_n))
    return ShallowConvAC(n, draw(st.integers(1, max_dim)), draw(st.integers(1, max_channels)),
                         shared=draw(st.booleans()), seed=draw(st.integers(0, 99)))


# Depth-1 self-attention configurations: (n_tokens, width, heads, input_dim, residual, partition).
DEPTH1_CASES = [
    # (n_tokens, width, heads, input_dim, residual, partition)
    (4, 1, 1, None, False, ((0, 1), (2, 3))),
    (4, 2, 1, None, False, ((0, 1), (2, 3))),
    (4, 3, 1, None, False, ((0, 1), (2, 3))),
    (4, 4, 2, None, False, ((0, 1), (2, 3))),
    (5, 5, 1, None, True, ((0, 3), (1, 2, 4))),
    (3, 4, 4, None, False, ((0,), (1, 2))),         # a single token on the read-out side
    (4, 3, 1, None, False, ((2, 3), (0, 1))),       # the read-out token on the J side
    (4, 6, 2, 2, False, ((0, 1), (2, 3))),          # embedding rank 2 < width
    (4, 3, 3, 5, False, ((0, 2), (1, 3))),          # input_dim > width: r = width
]
