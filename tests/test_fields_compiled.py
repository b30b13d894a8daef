"""The compiled GF(p) kernels: centred reduction, inverses, and the Gauss--Jordan leaf of the pivots."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import P
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorlib.fields.compiled import _inverse, gauss_jordan, reduce_centred


def _centred(x: np.ndarray, p: int) -> np.ndarray:
    r = np.mod(x, p)
    return np.where(r > p // 2, r - p, r).astype(np.float64)


@pytest.mark.parametrize("p", [2, 3, 101, P])
def test_reduce_centred_and_inverse(p):
    for x in [0, 1, -1, p // 2, -(p // 2), p, 3 * p + 5, -(2**40) - 7, 2**52 - 1]:
        r = reduce_centred(float(x), float(p), 1.0 / p)
        assert r == int(r) and abs(r) <= p // 2 + 2 and (int(r) - x) % p == 0
    for x in [1, 2, p - 1, p // 2, -(p // 2)]:
        if x % p:
            inv = _inverse(float(x), float(p))
            assert abs(inv) <= p // 2 and (int(inv) * x) % p == 1


@settings(max_examples=30)
@given(p=st.sampled_from([2, 101, P]), t=st.integers(1, 12), w=st.integers(1, 10), rank=st.integers(0, 10),
       seed=st.integers(0, 10**6))
def test_gauss_jordan_reduces_the_block_and_finds_its_rank(p, t, w, rank, seed):
    # Reference: the rank of a product of random factors (at most `rank`) in Python integers, by
    # plain Gaussian elimination mod p.
    rng = np.random.default_rng(seed)
    block = (rng.integers(0, p, (t, rank)) @ rng.integers(0, p, (rank, w))) % p if rank else np.zeros((t, w), np.int64)
    g = np.zeros((t, w + t))
    g[:, :w] = _centred(block, p)
    g[np.arange(t), w + np.arange(t)] = 1.0
    rows, cols = np.empty(t, np.int64), np.empty(t, np.int64)
    r = gauss_jordan(g, w, float(p), rows, cols)
    assert r == _rank_mod_p([[int(v) for v in row] for row in block], p)
    rows, cols = rows[:r], cols[:r]
    assert len(set(rows)) == r and list(cols) == sorted(cols)
    G = np.mod(g.astype(np.int64), p)
    np.testing.assert_array_equal(G[np.ix_(rows, cols)], np.eye(r, dtype=np.int64))   # pivots scaled to 1
    # Every row of g is (its combination T) x (the block), T in the identity's columns: g = T [block | I].
    T = G[:, w:]
    np.testing.assert_array_equal(G[:, :w], (T @ block) % p)
    assert np.all(np.abs(g) <= p // 2 + 2)


def _rank_mod_p(rows: list, p: int) -> int:
    rows = [r[:] for r in rows]
    rank, n = 0, len(rows[0]) if rows else 0
    for j in range(n):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][j] % p), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        inv = pow(rows[rank][j], -1, p)
        rows[rank] = [v * inv % p for v in rows[rank]]
        for i in range(len(rows)):
            if i != rank and rows[i][j] % p:
                f = rows[i][j]
                rows[i] = [(a - f * b) % p for a, b in zip(rows[i], rows[rank])]
        rank += 1
    return rank
