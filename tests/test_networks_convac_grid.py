"""Tests of tensorlib.networks.convac_grid: the fast sampled grid matrix of a DeepConvAC (and the shallow one's).

The fast block must equal the network evaluated pair by pair (``pairwise_grid_matrix_block``) and, in
GF(p), the big-integer evaluation of the definition: with every weight and input at p - 1 the
float64 products of the kernel are pushed to their exactness limit (and, for p near 2^31, through
the limb split).
"""

import numpy as np
import pytest
from conftest import bigint_deep_convac, mod_p, partitions, small_deep_convacs
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlib as tl
import tensorlib.networks.convac_grid as convac_grid
from tensorlib import DEFAULT_PRIME
from tensorlib.grid import pairwise_grid_matrix_block
from tensorlib.networks import DeepConvAC, ShallowConvAC

P = DEFAULT_PRIME
SETTINGS = settings(max_examples=25)


def _samples(field, rng, A, B, partition, M):
    return field.random(rng, (A, len(partition[0]), M)), field.random(rng, (B, len(partition[1]), M))


@SETTINGS
@given(data=st.data(), model=small_deep_convacs(), p=st.sampled_from([None, 2, 101, P]))
def test_deep_grid_matrix_block_matches_pairwise(data, model, p):
    partition = data.draw(partitions(model.n_inputs))
    rng = np.random.default_rng(data.draw(st.integers(0, 99)))
    xr, xc = _samples(tl.Field(p), rng, data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9)), partition,
                      model.input_dim)
    fast = model.grid_matrix_block(xr, xc, partition, p=p)
    slow = pairwise_grid_matrix_block(model, xr, xc, partition, p)
    if p is not None:
        assert fast.dtype == np.int64 and np.array_equal(fast, slow)
    else:
        assert fast.dtype == np.float64
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("prime", [P, 2**31 - 1])
@pytest.mark.parametrize("widths, window", [([9, 7, 5], 2), ([11, 6], 3), ([5, 9], (2, 4))])
def test_deep_grid_block_at_the_overflow_margin_equals_big_integers(widths, window, prime):
    # Every weight and input is p - 1 or p - 2: the largest residues (the worst case of an uncentred
    # kernel; the float64 kernel centres them to -1 and -2, and the next test covers its worst case).
    n = 8 if window != 3 else 9
    model = DeepConvAC(n, 3, widths, window=window, seed=0)
    top = {"conv": [np.full(w.shape, prime - 1) for w in model.weights(prime)["conv"]],
           "output": np.full(model.weights(prime)["output"].shape, prime - 1)}
    model.set_weights(top, p=prime)
    partition = tl.balanced(n, 1)
    xr = np.full((3, len(partition[0]), 3), prime - 1)
    xc = np.full((2, len(partition[1]), 3), prime - 2)
    block = model.grid_matrix_block(xr, xc, partition, p=prime)
    for a in range(3):
        for b in range(2):
            X = np.empty((1, n, 3), dtype=np.int64)
            X[0, list(partition[0])], X[0, list(partition[1])] = xr[a], xc[b]
            assert block[a, b] == mod_p(bigint_deep_convac(model, top, X), prime)[0]


@pytest.mark.parametrize("prime", [P, 2**31 - 1])
def test_deep_grid_block_with_random_weights_near_half_p_equals_big_integers(prime):
    # Centred residues near p/2 are the largest the float64 kernel holds: random weights and inputs
    # drawn there push every product and every matrix-product sum to its bound.
    model = DeepConvAC(8, 3, [6, 5, 4], seed=0)
    rng = np.random.default_rng(3)
    half = prime // 2
    near = {"conv": [half + rng.integers(-2, 3, size=w.shape) for w in model.weights(prime)["conv"]],
            "output": half + rng.integers(-2, 3, size=model.weights(prime)["output"].shape)}
    model.set_weights(near, p=prime)
    partition = ((0, 2, 3, 6), (1, 4, 5, 7))
    xr = half + rng.integers(-2, 3, size=(4, 4, 3))
    xc = half + rng.integers(-2, 3, size=(3, 4, 3))
    block = model.grid_matrix_block(xr, xc, partition, p=prime)
    for a in range(4):
        for b in range(3):
            X = np.empty((1, 8, 3), dtype=np.int64)
            X[0, list(partition[0])], X[0, list(partition[1])] = xr[a], xc[b]
            assert block[a, b] == mod_p(bigint_deep_convac(model, near, X), prime)[0]


@pytest.mark.parametrize("max_terms", [1, 3, 10**6])
@pytest.mark.parametrize("p", [None, 2, 101, P, 2**31 - 1])
def test_every_form_of_a_node_gives_the_same_block(monkeypatch, max_terms, p):
    # max_terms = 1 forms every mixed node as a pair tensor at once; 10**6 keeps every node factored
    # up to the root (one matrix product with all the terms); 3 mixes both.
    monkeypatch.setattr(convac_grid, "_MAX_TERMS", max_terms)
    rng = np.random.default_rng(0)
    for model, partition in [(DeepConvAC(8, 2, [3, 2, 2], seed=1), ((0, 3, 4, 6), (1, 2, 5, 7))),
                             (DeepConvAC(8, 3, 2, seed=2), tl.odd_even(8)),
                             (DeepConvAC(9, 2, [2, 3], window=3, seed=3), ((0, 1, 5), (2, 3, 4, 6, 7, 8))),
                             (DeepConvAC(8, 2, [2, 3], window=(2, 4), shared=True, seed=4), tl.left_right(8))]:
        xr, xc = _samples(tl.Field(p), rng, 6, 5, partition, model.input_dim)
        fast = model.grid_matrix_block(xr, xc, partition, p=p)
        slow = pairwise_grid_matrix_block(model, xr, xc, partition, p)
        if p is not None:
            assert fast.dtype == np.int64 and np.array_equal(fast, slow)
        else:
            np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)


def test_grid_matrix_block_with_a_small_prime_and_many_row_blocks(monkeypatch):
    # A small prime exercises the reductions; a tiny block size exercises the row blocks.
    model = DeepConvAC(8, 2, [3, 5, 4], seed=2)
    partition = ((0, 3, 4, 6), (1, 2, 5, 7))
    rng = np.random.default_rng(1)
    monkeypatch.setattr(convac_grid, "_BLOCK_BYTES", 8 * 40 * 7)  # blocks of 7 rows
    for p in (101, P, None):
        xr, xc = _samples(tl.Field(p), rng, 300, 40, partition, 2)
        fast = model.grid_matrix_block(xr, xc, partition, p=p)
        np.testing.assert_allclose(fast, pairwise_grid_matrix_block(model, xr, xc, partition, p), rtol=1e-9)


def test_grid_matrix_block_of_empty_sides_is_empty():
    model = DeepConvAC(4, 2, 2)
    for p in (None, P):
        field = tl.Field(p)
        rng = np.random.default_rng(0)
        assert model.grid_matrix_block(field.random(rng, (0, 2, 2)), field.random(rng, (3, 2, 2)),
                                       ((0, 1), (2, 3)), p=p).shape == (0, 3)
        assert model.grid_matrix_block(field.random(rng, (2, 2, 2)), field.random(rng, (0, 2, 2)),
                                       ((0, 1), (2, 3)), p=p).shape == (2, 0)


@SETTINGS
@given(data=st.data(), n=st.integers(2, 6), M=st.integers(1, 3), Z=st.integers(1, 9), shared=st.booleans(),
       p=st.sampled_from([None, 3, P]))
def test_shallow_grid_matrix_block_matches_pairwise(data, n, M, Z, shared, p):
    model = ShallowConvAC(n, M, Z, shared=shared)
    partition = data.draw(partitions(n))
    xr, xc = _samples(tl.Field(p), np.random.default_rng(0), 7, 5, partition, M)
    fast = model.grid_matrix_block(xr, xc, partition, p=p)
    slow = pairwise_grid_matrix_block(model, xr, xc, partition, p)
    if p is not None:
        assert np.array_equal(fast, slow)
    else:
        np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)


def test_grid_matrix_block_rejects_bad_shapes():
    model = DeepConvAC(4, 2, 2)
    partition = ((0, 1), (2, 3))
    with pytest.raises(ValueError, match=r"x_rows must have shape \(batch, n_inputs=2, input_dim=2\)"):
        model.grid_matrix_block(np.zeros((3, 3, 2)), np.zeros((3, 2, 2)), partition)
    with pytest.raises(TypeError, match=r"x_cols must have an integer dtype"):
        model.grid_matrix_block(np.zeros((3, 2, 2), dtype=int), np.zeros((3, 2, 2)), partition, p=P)
    with pytest.raises(ValueError, match="partition must cover all 4 positions"):
        model.grid_matrix_block(np.zeros((3, 2, 2)), np.zeros((3, 1, 2)), ((0, 1), (2,)))
    with pytest.raises(TypeError, match="x_rows is a masked array"):
        ShallowConvAC(4, 2, 2).grid_matrix_block(np.ma.masked_array(np.zeros((3, 2, 2))), np.zeros((3, 2, 2)),
                                                 partition)
