"""Tests of tensorlib.networks.attention: softmax-free self-attention (and its softmax variant).

Expected ranks come from closed forms in :mod:`tensorlib.bounds` (the depth-1 formula and the upper
bound, both derived in chapter 6) or from an independent computation (the fast grid block vs pair-by-
pair evaluation, a big-integer reference implementation of the layer formula in ``conftest``).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DEPTH1_CASES, reference_attention
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorlib import DEFAULT_PRIME, bounds, separation_rank
from tensorlib.grid import pairwise_grid_matrix_block
from tensorlib.networks import SelfAttention

SMALL_PRIME = 10007


# -- the rank upper bound and separation_rank ----------------------------------------------------



@pytest.mark.parametrize("n_tokens, width, heads, input_dim, residual, partition", DEPTH1_CASES)
def test_depth1_separation_rank_is_certified_at_embedding_rank_plus_one(n_tokens, width, heads, input_dim, residual,
                                                                        partition):
    # The network now has an upper bound (issue 10), which equals the depth-1 formula at L = 1: small
    # cases are certified instead of saturated.
    model = SelfAttention(n_tokens, width, 1, heads=heads, input_dim=input_dim, residual=residual, seed=3)
    expected = bounds.self_attention_depth1_rank(width, input_dim)
    assert model.rank_upper_bound(partition) == expected
    result = separation_rank(model, partition, seed=2)
    assert result.rank == expected and result.certified and result.status == "certified"


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_width_one_rank_is_certified_at_degree_plus_one_over_two(depth):
    # d_x = 1: f = c x_0 (s_I + s_J)^D, D = (3^L - 1)/2, has separation rank D + 1 (chapter 6, exercise).
    result = separation_rank(SelfAttention(4, 1, depth, seed=5), ((0, 1), (2, 3)))
    assert result.rank == (bounds.self_attention_degree(depth) + 1) // 2 and result.certified


@pytest.mark.parametrize("width, depth, heads, input_dim, residual", [
    (2, 2, 1, None, False), (4, 2, 2, 3, True), (6, 3, 3, 2, False), (1, 3, 1, None, True), (5, 1, 5, None, False)])
def test_rank_upper_bound_is_the_bounds_function_for_every_partition(width, depth, heads, input_dim, residual):
    model = SelfAttention(4, width, depth, heads=heads, input_dim=input_dim, residual=residual)
    expected = bounds.self_attention_rank_upper_bound(width, depth, input_dim, residual)
    for partition in (((0,), (1, 2, 3)), ((1, 2), (0, 3)), ((0, 1, 2), (3,))):
        assert model.rank_upper_bound(partition) == expected
    with pytest.raises(ValueError, match="partition must cover all 4 positions"):
        model.rank_upper_bound(((0,), (1,)))


def test_the_softmax_variant_has_no_upper_bound():
    assert SelfAttention(3, 4, 2, softmax=True).rank_upper_bound(((0,), (1, 2))) is None


def test_separation_rank_no_longer_needs_a_hand_computed_cap():
    # Chapter 6 used to pass max_rank = U + 1; the model's own bound now stops the growth at U.
    model = SelfAttention(4, 3, 2, seed=0)
    result = separation_rank(model, ((0, 1), (2, 3)))
    assert result.upper_bound == bounds.self_attention_rank_upper_bound(3, 2)
    assert result.rank <= result.upper_bound and result.samples <= result.upper_bound


# -- arithmetic: float vs exact, mod p vs big integers, fast block vs pairs -------------------------

@pytest.mark.parametrize("width, depth", [(2, 1), (3, 1), (1, 1), (1, 2)])
def test_exact_and_float_ranks_both_equal_the_theorem(width, depth):
    # Where a formula gives the generic rank (depth 1; width 1), generic float and exact weights reach it.
    model = SelfAttention(4, width, depth, seed=0)
    expected = bounds.self_attention_depth1_rank(width) if depth == 1 else (3**depth + 1) // 2
    exact = separation_rank(model, ((0, 1), (2, 3)))
    approx = separation_rank(model, ((0, 1), (2, 3)), exact=False)
    assert exact.rank == approx.rank == expected and exact.certified and not approx.is_value


@pytest.mark.parametrize("p", [SMALL_PRIME, DEFAULT_PRIME])
@pytest.mark.parametrize("heads, input_dim, residual", [(1, None, False), (2, 3, True), (1, 5, False)])
def test_mod_p_evaluation_matches_big_integer_evaluation(p, heads, input_dim, residual):
    model = SelfAttention(3, 4, 2, heads=heads, input_dim=input_dim, residual=residual, seed=11)
    rng = np.random.default_rng(0)
    X = rng.integers(0, p, size=(4, 3, model.input_dim))
    weights = model.weights(p)
    expected = [reference_attention(model, x, weights, exact=True) % p for x in X]
    assert all(isinstance(v, int) for v in expected)
    assert model.evaluate(X, p=p).tolist() == expected


def test_float_evaluation_matches_reference():
    model = SelfAttention(4, 4, 3, heads=2, input_dim=3, residual=True, seed=2)
    X = np.random.default_rng(1).standard_normal((3, 4, 3))
    expected = [reference_attention(model, x, model.weights(), exact=False) for x in X]
    np.testing.assert_allclose(model.evaluate(X), expected, rtol=1e-10)


def test_heads_split_the_width_into_blocks():
    model = SelfAttention(3, 4, 1, heads=2, seed=4)
    W = model.weights()
    assert W["query"].shape == (1, 2, 2, 4) and W["output"].shape == (1, 2, 4, 2)
    X = np.random.default_rng(2).standard_normal((5, 3, 4))
    # Manual: each head attends with its own 2-dimensional queries/keys/values.
    manual = np.zeros(5)
    for h in range(2):
        q, k, v = (X @ W[name][0, h].T for name in ("query", "key", "value"))  # (B, N, 2)
        scores = np.einsum("ba,bja->bj", q[:, 0], k)
        manual += (np.einsum("bj,bja->ba", scores, v) @ W["output"][0, h].T) @ W["readout"]
    np.testing.assert_allclose(model.evaluate(X), manual, rtol=1e-12)


@settings(max_examples=12)
@given(n_tokens=st.integers(2, 5), width=st.sampled_from([1, 2, 3, 4]), depth=st.integers(1, 3),
       input_dim=st.sampled_from([None, 1, 3]), residual=st.booleans(), seed=st.integers(0, 100), data=st.data())
def test_fast_grid_block_matches_pairwise_evaluation(n_tokens, width, depth, input_dim, residual, seed, data):
    heads = data.draw(st.sampled_from([h for h in (1, 2, 4) if width % h == 0]), label="heads")
    model = SelfAttention(n_tokens, width, depth, heads=heads, input_dim=input_dim, residual=residual, seed=seed)
    rng = np.random.default_rng(seed)
    I = tuple(sorted(rng.choice(n_tokens, size=rng.integers(1, n_tokens), replace=False).tolist()))
    J = tuple(i for i in range(n_tokens) if i not in I)
    M = model.input_dim
    xr, xc = rng.integers(0, DEFAULT_PRIME, (6, len(I), M)), rng.integers(0, DEFAULT_PRIME, (5, len(J), M))
    np.testing.assert_array_equal(model.grid_matrix_block(xr, xc, (I, J), p=DEFAULT_PRIME),
                                  pairwise_grid_matrix_block(model, xr, xc, (I, J), DEFAULT_PRIME))
    fr, fc = rng.standard_normal((6, len(I), M)), rng.standard_normal((5, len(J), M))
    np.testing.assert_allclose(model.grid_matrix_block(fr, fc, (I, J)),
                               pairwise_grid_matrix_block(model, fr, fc, (I, J), None), rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("compiled", [True, False])
def test_fast_grid_block_spans_several_chunks(monkeypatch, compiled):
    from tensorlib.networks import pair_kernels

    monkeypatch.setattr(pair_kernels, "ENABLED", compiled)  # the compiled kernel's chunks, or the numpy one's
    model = SelfAttention(4, 2, 2, seed=0)
    rng = np.random.default_rng(0)
    xr, xc = rng.integers(0, SMALL_PRIME, (1100, 2, 2)), rng.integers(0, SMALL_PRIME, (70, 2, 2))
    np.testing.assert_array_equal(model.grid_matrix_block(xr, xc, ((0, 1), (2, 3)), p=SMALL_PRIME),
                                  pairwise_grid_matrix_block(model, xr, xc, ((0, 1), (2, 3)), SMALL_PRIME))


# -- the embedding, the protocol, the softmax variant ---------------------------------------------

def test_embedding_shape_and_input_dim():
    model = SelfAttention(4, 5, 2, input_dim=3)
    assert model.input_dim == 3 and model.n_inputs == 4 and model.embedding_rank == 3
    assert model.weights()["embedding"].shape == (5, 3)
    assert model.weights(DEFAULT_PRIME)["embedding"].shape == (5, 3)
    assert model.evaluate(np.ones((2, 4, 3))).shape == (2,)
    plain = SelfAttention(4, 5, 2)
    assert plain.input_dim == 5 and "embedding" not in plain.weights() and plain.embedding_rank == 5
    assert SelfAttention(4, 2, 1, input_dim=7).embedding_rank == 2
    assert model.n_parameters == 4 * 2 * 25 + 5 + 15


def test_float_values_stay_moderate():
    # The scaling of the float weights keeps typical outputs of order one at depth 1 and 2.
    rng = np.random.default_rng(0)
    for depth in (1, 2):
        values = np.abs(SelfAttention(4, 4, depth).evaluate(rng.standard_normal((400, 4, 4))))
        assert 1e-3 < np.median(values) < 1e2


def test_softmax_variant_is_float_only():
    model = SelfAttention(3, 4, 2, heads=2, softmax=True, seed=0)
    X = np.random.default_rng(0).standard_normal((4, 3, 4))
    assert np.all(np.isfinite(model.evaluate(X)))
    assert model.evaluate(X).tolist() != SelfAttention(3, 4, 2, heads=2, seed=0).evaluate(X).tolist()
    with pytest.raises(ValueError, match="softmax=True is float64 only"):
        model.evaluate(np.zeros((1, 3, 4), dtype=np.int64), p=DEFAULT_PRIME)
    with pytest.raises(ValueError, match="softmax=True is float64 only"):
        separation_rank(model, ((0,), (1, 2)))
    xr, xc = np.ones((2, 1, 4)), np.ones((3, 2, 4))
    np.testing.assert_allclose(model.grid_matrix_block(xr, xc, ((0,), (1, 2))),
                               pairwise_grid_matrix_block(model, xr, xc, ((0,), (1, 2)), None))


def test_softmax_attention_rows_are_convex_combinations():
    # With all tokens equal, softmax attention returns that token's value: f no longer scales cubically.
    model = SelfAttention(3, 2, 1, softmax=True, seed=0)
    x = np.ones((1, 3, 2))
    assert model.evaluate(2 * x)[0] == pytest.approx(2 * model.evaluate(x)[0])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(n_tokens=4, width=5, depth=2, heads=2), ValueError, "width must be divisible by heads"),
    (dict(n_tokens=4, width=4, depth=0), ValueError, "depth must be at least 1"),
    (dict(n_tokens=1, width=4, depth=1), ValueError, "n_tokens must be at least 2"),
    (dict(n_tokens=4, width=4, depth=1, input_dim=0), ValueError, "input_dim must be at least 1"),
    (dict(n_tokens=4, width=0, depth=1), ValueError, "width must be at least 1"),
    (dict(n_tokens=4, width=4, depth=1, heads=0), ValueError, "heads must be at least 1"),
    (dict(n_tokens=4, width=4, depth=1.5), TypeError, "depth must be an int"),
    (dict(n_tokens=4, width=4, depth=1, residual="yes"), TypeError, "residual must be a bool"),
    (dict(n_tokens=4, width=4, depth=1, softmax=1), TypeError, "softmax must be a bool"),
])
def test_bad_arguments_are_rejected(kwargs, error, message):
    with pytest.raises(error, match=message):
        SelfAttention(**kwargs)


def test_inputs_of_the_wrong_shape_are_rejected():
    model = SelfAttention(4, 3, 1, input_dim=2)
    with pytest.raises(ValueError, match=r"X must have shape \(batch, n_inputs=4, input_dim=2\)"):
        model.evaluate(np.zeros((5, 4, 3)))
    with pytest.raises(ValueError, match=r"x_rows must have shape \(batch, n_inputs=2, input_dim=2\)"):
        model.grid_matrix_block(np.zeros((3, 1, 2)), np.zeros((3, 2, 2)), ((0, 1), (2, 3)))
    with pytest.raises(ValueError, match="partition must cover all 4 positions"):
        model.grid_matrix_block(np.zeros((3, 2, 2)), np.zeros((3, 1, 2)), ((0, 1), (2,)))
    with pytest.raises(TypeError, match="integer dtype"):
        model.evaluate(np.zeros((1, 4, 2)), p=DEFAULT_PRIME)


def test_repr_names_the_architecture():
    assert repr(SelfAttention(4, 6, 2, heads=3, input_dim=2, residual=True, seed=1)) == \
        "SelfAttention(n_tokens=4, width=6, depth=2, heads=3, input_dim=2, residual=True, seed=1)"


def test_float_weights_are_gaussian_with_variance_one_over_fan_in():
    # Query, key, value, read-out: fan-in d_x; embedding: fan-in M; output: further divided by N.
    model = SelfAttention(5, 64, 2, heads=4, input_dim=48, seed=0)
    w = model.weights()
    for name, scale in [("query", 64), ("key", 64), ("value", 64), ("embedding", 48), ("output", 64 * 5)]:
        assert abs(w[name].std() * np.sqrt(scale) - 1) < 0.05 and abs(w[name].mean() * np.sqrt(scale)) < 0.05
    assert abs(np.mean(w["readout"])) < 0.1
    assert not np.allclose(w["embedding"].T @ w["embedding"], np.eye(48) * 64 / 48, atol=0.1)  # not orthogonal
