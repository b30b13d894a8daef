"""The compiled per-pair kernels (GF(p)): the same blocks as the numpy kernels and as pair-by-pair evaluation.

Three independent computations of one block are compared: the compiled kernel
(:mod:`tensorlib.networks.pair_kernels`), the numpy kernel it replaces (``ENABLED = False``), and
:func:`tensorlib.grid.pairwise_grid_matrix_block`, which evaluates the network's definition on each
pair in :class:`tensorlib.fields.Field` arithmetic. Near-half-p residues push every dot product of
the kernel to its bound; the reference there is Python's big integers (the RAC's such test is in
``test_networks_rac.py``, for both kernels).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import P, reference_attention

from tensorlib import start_end
from tensorlib.fields import Field, is_prime, previous_prime
from tensorlib.fields.blas import FloatModP
from tensorlib.grid import pairwise_grid_matrix_block
from tensorlib.networks import RAC, SelfAttention, pair_kernels

PRIMES = [2, 101, P]
# Rows x columns: the wide and the tall orientation (the kernel puts the longer side in its inner
# loop) and more columns than one chunk of the kernel.
SHAPES = [(3, 7), (7, 3), (2, pair_kernels.CHUNK + 37), (pair_kernels.CHUNK + 37, 2)]


def _blocks(model, xr, xc, partition, p, monkeypatch):
    compiled = model.grid_matrix_block(xr, xc, partition, p=p)
    monkeypatch.setattr(pair_kernels, "ENABLED", False)
    numpy_kernel = model.grid_matrix_block(xr, xc, partition, p=p)
    monkeypatch.setattr(pair_kernels, "ENABLED", True)
    pairwise = pairwise_grid_matrix_block(model, xr, xc, partition, p)
    return compiled, numpy_kernel, pairwise


def _assert_equal(compiled, numpy_kernel, pairwise):
    assert compiled.dtype == np.int64
    np.testing.assert_array_equal(compiled, pairwise)
    np.testing.assert_array_equal(numpy_kernel, pairwise)


def test_exact_capacity_follows_the_float64_bound():
    # k (h+1)^2 + h below FloatModP's limit (just under 2^53), h = floor(p/2) + 2.
    for p in (101, P, 2**25 - 39):
        h = p // 2 + 2
        k = (2**53 - 2**32 - h) // (h + 1) ** 2
        assert pair_kernels.exact_capacity(p, k) and not pair_kernels.exact_capacity(p, k + 1)
    assert not pair_kernels.exact_capacity(None, 1)           # float64 keeps the numpy kernels
    assert not pair_kernels.exact_capacity(2**31 - 1, 1)       # products of residues near 2^30 overflow
    assert FloatModP(P).kmax >= 2047


@pytest.mark.parametrize("p", PRIMES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kwargs", [dict(), dict(residual=True), dict(width=4, heads=2), dict(input_dim=2),
                                    dict(depth=1), dict(depth=2, residual=True, input_dim=5)])
def test_attention_kernel_equals_numpy_kernel_and_pairwise(monkeypatch, p, shape, kwargs):
    args = dict(n_tokens=4, width=3, depth=3, seed=3) | kwargs
    model = SelfAttention(**args)
    field, rng = Field(p), np.random.default_rng(len(kwargs))
    for partition in [((0, 2), (1, 3)), ((1, 3), (0, 2)), ((0,), (1, 2, 3))]:
        I, J = partition
        xr = field.random(rng, (shape[0], len(I), model.input_dim))
        xc = field.random(rng, (shape[1], len(J), model.input_dim))
        _assert_equal(*_blocks(model, xr, xc, partition, p, monkeypatch))


@pytest.mark.parametrize("p", PRIMES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("length, input_dim, hidden, depth", [(8, 3, 3, 3), (6, 2, 4, 2), (5, 3, 2, 1), (4, 1, 3, 4)])
def test_rac_kernel_equals_numpy_kernel_and_pairwise(monkeypatch, p, shape, length, input_dim, hidden, depth):
    model = RAC(length, input_dim, hidden, depth=depth, seed=2)
    field, rng = Field(p), np.random.default_rng(depth)
    for k in (1, length // 2, length - 1):
        for partition in [(tuple(range(k)), tuple(range(k, length))), (tuple(range(k, length)), tuple(range(k)))]:
            I, J = partition
            xr = field.random(rng, (shape[0], len(I), input_dim))
            xc = field.random(rng, (shape[1], len(J), input_dim))
            _assert_equal(*_blocks(model, xr, xc, partition, p, monkeypatch))


def _near_half(rng, weights, p):
    half = p // 2
    return {key: ([half + rng.integers(-2, 3, size=np.shape(m)) for m in value] if isinstance(value, list)
                  else half + rng.integers(-2, 3, size=np.shape(value)))
            for key, value in weights.items()}


@pytest.mark.parametrize("residual", [False, True])
def test_attention_kernel_near_half_p_equals_big_integers(residual):
    # Centred residues near p/2 are the largest the kernel holds: every dot product at its bound.
    model = SelfAttention(4, 4, 3, heads=2, residual=residual, seed=0)
    rng = np.random.default_rng(1)
    model.set_weights(_near_half(rng, model.weights(P), P), p=P)
    half = P // 2
    xr = half + rng.integers(-2, 3, size=(3, 2, 4))
    xc = half + rng.integers(-2, 3, size=(4, 2, 4))
    block = model.grid_matrix_block(xr, xc, ((0, 1), (2, 3)), p=P)
    weights = model.weights(P)
    for a in range(3):
        for b in range(4):
            x = np.concatenate([xr[a], xc[b]])
            assert block[a, b] == reference_attention(model, x, weights, exact=True) % P


@pytest.mark.parametrize("p", [None, 2**31 - 1])
def test_float64_and_large_primes_use_the_numpy_kernels(monkeypatch, p):
    # Near 2^31 a product of two residues does not fit in float64; float64 estimates keep numpy.
    def refuse(*args):
        raise AssertionError(f"the compiled kernel was called for p={p}")

    monkeypatch.setattr(pair_kernels, "attention_rows", refuse)
    monkeypatch.setattr(pair_kernels, "rac_rows", refuse)
    field, rng = Field(p), np.random.default_rng(0)
    close = np.testing.assert_array_equal if p else np.testing.assert_allclose
    attention = SelfAttention(4, 3, 2, seed=0)
    xr, xc = field.random(rng, (3, 2, 3)), field.random(rng, (4, 2, 3))
    close(attention.grid_matrix_block(xr, xc, ((0, 1), (2, 3)), p=p),
          pairwise_grid_matrix_block(attention, xr, xc, ((0, 1), (2, 3)), p))
    rac = RAC(6, 2, 3, depth=2, seed=0)
    xr, xc = field.random(rng, (3, 3, 2)), field.random(rng, (4, 3, 2))
    close(rac.grid_matrix_block(xr, xc, start_end(6), p=p), pairwise_grid_matrix_block(rac, xr, xc, start_end(6), p))


def _largest_accepted_prime(terms: int) -> int:
    """The largest prime p with ``exact_capacity(p, terms)`` (the capacity falls as p grows)."""
    low, high = 2, 2**31
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if pair_kernels.exact_capacity(mid, terms) else (low, mid)
    return previous_prime(low + 1)


def _counting(monkeypatch, name: str) -> list:
    calls: list = []
    kernel = getattr(pair_kernels, name)
    monkeypatch.setattr(pair_kernels, name, lambda *args: calls.append(1) or kernel(*args))
    return calls


@pytest.mark.parametrize("model, partition, kernel, terms", [
    (SelfAttention(4, 3, 3, seed=5), ((0, 1), (2, 3)), "attention_rows", 6 + 3),               # nq + d
    (SelfAttention(4, 3, 3, residual=True, seed=5), ((0, 1), (2, 3)), "attention_rows", 6 + 3),
    (RAC(6, 3, 3, depth=3, seed=5), start_end(6), "rac_rows", 3),                               # R
], ids=["attention", "attention-residual", "rac"])
def test_kernel_at_the_largest_prime_it_accepts(monkeypatch, model, partition, kernel, terms):
    # The caller counts the longest sum: at the largest prime that count allows the kernel runs and
    # is exact; at the next prime it must not run.
    top = _largest_accepted_prime(terms)
    above = next(q for q in range(top + 1, 2 * top) if is_prime(q))
    calls = _counting(monkeypatch, kernel)
    rng = np.random.default_rng(terms)
    I, J = partition
    for p, used in [(top, True), (above, False)]:
        model.set_weights(_near_half(rng, model.weights(p), p), p=p)
        xr = p // 2 + rng.integers(-2, 3, size=(3, len(I), model.input_dim))
        xc = p // 2 + rng.integers(-2, 3, size=(5, len(J), model.input_dim))
        calls.clear()
        block = model.grid_matrix_block(xr, xc, partition, p=p)
        assert bool(calls) == used
        np.testing.assert_array_equal(block, pairwise_grid_matrix_block(model, xr, xc, partition, p))
