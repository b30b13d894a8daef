"""Tests of tensorlib.bounds.attention: softmax-free self-attention (Levine et al. 2020; Wies et al. 2021).

The degree is checked by homogeneity of the exact network (f(t x) = t^(3^L) f(x) mod p) and by finite
differences; the embedding rank against the ranks of generic embedding matrices; the depth-1 formula
and the upper bound (our own derivations, proved in chapter 6) against exact ranks of sampled grid
matrices with more samples than the formula, so the rank may not stop early at it.
"""

import itertools
from itertools import combinations_with_replacement
from math import comb, log

import numpy as np
import pytest
from conftest import DEPTH1_CASES
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlib as tl
from tensorlib import DEFAULT_PRIME, exact_rank, numerical_rank, sampled_grid_matrix
from tensorlib.bounds import (depth_efficiency_threshold, embedding_rank, self_attention_degree,
                              self_attention_depth1_rank, self_attention_rank_upper_bound)
from tensorlib.networks import SelfAttention

P = DEFAULT_PRIME


# -- embedding_rank ---------------------------------------------------------------------------------

@given(width=st.integers(1, 8), M=st.one_of(st.none(), st.integers(1, 8)))
def test_embedding_rank_is_min_of_width_and_input_dim(width, M):
    assert embedding_rank(width, M) == (width if M is None else min(width, M))


@pytest.mark.parametrize("width, M", [(5, 3), (3, 5), (4, 4), (1, 6), (6, 1)])
def test_embedding_rank_is_the_rank_of_the_generic_embeddings_drawn(width, M):
    model = SelfAttention(3, width, 1, input_dim=M, seed=width + M)
    assert numerical_rank(model.weights()["embedding"]) == embedding_rank(width, M)
    assert exact_rank(model.weights(P)["embedding"], P) == embedding_rank(width, M) == model.embedding_rank


def test_embedding_rank_bad_arguments():
    with pytest.raises(ValueError, match="width must be at least 1"):
        embedding_rank(0)
    with pytest.raises(ValueError, match="input_dim must be at least 1"):
        embedding_rank(3, 0)


# -- self_attention_degree ---------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [1, 2, 3])
def test_output_is_homogeneous_of_degree_three_to_the_depth(depth):
    # f(t x) = t^(3^L) f(x) exactly, checked mod p.
    assert self_attention_degree(depth) == 3**depth
    model = SelfAttention(3, 2, depth, seed=1)
    X = np.random.default_rng(3).integers(0, P, (6, 3, 2))
    t = 12345
    lhs = model.evaluate((X * t) % P, p=P)
    factor = pow(t, self_attention_degree(depth), P)
    rhs = [(int(v) * factor) % P for v in model.evaluate(X, p=P)]
    assert lhs.tolist() == rhs


@pytest.mark.parametrize("depth", [1, 2])
def test_with_residual_connections_the_degree_is_at_most_three_to_the_depth(depth):
    # g(t) = f(t x) is a polynomial in t of degree <= 3^L: its (3^L + 1)-th finite difference vanishes,
    # while the 3^L-th does not (the top-degree part is the residual-free network's, generically nonzero).
    model = SelfAttention(3, 2, depth, residual=True, seed=2)
    X = np.random.default_rng(4).integers(0, P, (1, 3, 2))
    D = self_attention_degree(depth)
    values = [int(model.evaluate((X * t) % P, p=P)[0]) for t in range(D + 2)]

    def difference(order):
        return sum((-1) ** (order - k) * comb(order, k) * values[k] for k in range(order + 1)) % P

    assert difference(D + 1) == 0 and difference(D) != 0


def test_degree_rejects_bad_depth():
    with pytest.raises(ValueError, match="depth must be at least 1"):
        self_attention_degree(0)


# -- self_attention_depth1_rank -----------------------------------------------------------------------



@pytest.mark.parametrize("n_tokens, width, heads, input_dim, residual, partition", DEPTH1_CASES)
def test_depth1_rank_is_the_exact_rank_of_a_sampled_grid_matrix(n_tokens, width, heads, input_dim, residual, partition):
    model = SelfAttention(n_tokens, width, 1, heads=heads, input_dim=input_dim, residual=residual, seed=3)
    expected = self_attention_depth1_rank(width, input_dim)
    assert expected == embedding_rank(width, input_dim) + 1
    F = sampled_grid_matrix(model, partition, expected + 4, seed=1)
    assert exact_rank(F) == expected


# -- self_attention_rank_upper_bound ---------------------------------------------------------------------

def _bound_by_enumeration(width, depth, input_dim=None, residual=False):
    """The sum of the docstring, with the monomials counted by enumeration instead of binomials."""
    r = min(width, input_dim) if input_dim else width
    m = r * (r + 1) // 2
    D = (3**depth - 1) // 2

    def monomials(degree, extra_variable=False):
        return sum(1 for _ in combinations_with_replacement(range(m + extra_variable), degree))

    return sum(min(monomials(j), r * monomials(D - j, residual)) for j in range(D + 1))


@settings(max_examples=40)
@given(width_depth=st.sampled_from([(w, 1) for w in range(1, 7)] + [(w, 2) for w in range(1, 5)] + [(1, 3), (2, 3)]),
       input_dim=st.one_of(st.none(), st.integers(1, 4)), residual=st.booleans())
def test_upper_bound_counts_the_monomials_of_each_side(width_depth, input_dim, residual):
    width, depth = width_depth
    assert self_attention_rank_upper_bound(width, depth, input_dim, residual) == \
        _bound_by_enumeration(width, depth, input_dim, residual)


@pytest.mark.parametrize("n_tokens, width, depth, heads, input_dim, residual, partition", [
    (4, 2, 2, 1, None, False, ((0, 1), (2, 3))),
    (4, 3, 2, 1, None, False, ((0, 1), (2, 3))),
    (4, 4, 2, 2, None, False, ((0, 1), (2, 3))),
    (4, 4, 2, 4, None, False, ((0, 2), (1, 3))),
    (5, 3, 2, 1, None, True, ((0, 1), (2, 3, 4))),
    (4, 2, 3, 1, None, False, ((0, 1), (2, 3))),
    (4, 2, 3, 2, None, True, ((0,), (1, 2, 3))),
    (4, 6, 2, 3, 2, False, ((0, 1), (2, 3))),
    (4, 6, 3, 1, 2, False, ((2, 3), (0, 1))),
])
def test_rank_never_exceeds_the_upper_bound(n_tokens, width, depth, heads, input_dim, residual, partition):
    model = SelfAttention(n_tokens, width, depth, heads=heads, input_dim=input_dim, residual=residual, seed=7)
    bound = self_attention_rank_upper_bound(width, depth, input_dim, residual)
    F = sampled_grid_matrix(model, partition, bound + 8, seed=4)
    assert exact_rank(F) <= bound


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_width_one_rank_is_degree_plus_one_over_two(depth):
    # d_x = 1: f = c x_0 (s_I + s_J)^D with D = (3^L - 1)/2, whose binomial expansion has D + 1
    # independent terms, so the separation rank is D + 1 = (3^L + 1)/2 (chapter 6, exercise).
    expected = (self_attention_degree(depth) + 1) // 2
    assert self_attention_rank_upper_bound(1, depth) == expected
    F = sampled_grid_matrix(SelfAttention(4, 1, depth, seed=5), ((0, 1), (2, 3)), expected + 4, seed=2)
    assert exact_rank(F) == expected


def test_upper_bound_equals_depth1_formula_at_depth_one():
    for width, input_dim in itertools.product(range(1, 9), [None, 1, 2, 5]):
        for residual in (False, True):
            assert (self_attention_rank_upper_bound(width, 1, input_dim, residual)
                    == self_attention_depth1_rank(width, input_dim))


def test_upper_bound_depends_on_width_only_through_embedding_rank():
    for depth in (1, 2, 3):
        for r in (1, 2, 3):
            assert self_attention_rank_upper_bound(9, depth, input_dim=r) == self_attention_rank_upper_bound(r, depth)


def test_an_embedding_caps_the_rank_below_the_bound_of_the_unconstrained_network():
    wide = SelfAttention(4, 6, 2, input_dim=2, seed=1)
    capped = self_attention_rank_upper_bound(6, 2, input_dim=2)
    F = sampled_grid_matrix(wide, ((0, 1), (2, 3)), capped + 8, seed=0)
    assert exact_rank(F) <= capped < self_attention_rank_upper_bound(6, 2)
    unconstrained = sampled_grid_matrix(SelfAttention(4, 6, 2, seed=1), ((0, 1), (2, 3)), capped + 8, seed=0)
    assert exact_rank(unconstrained) > capped


def test_upper_bound_rejects_bad_arguments():
    with pytest.raises(ValueError, match="depth must be at least 1"):
        self_attention_rank_upper_bound(3, 0)
    with pytest.raises(ValueError, match="input_dim must be at least 1"):
        self_attention_depth1_rank(3, 0)
    with pytest.raises(TypeError, match="residual must be a bool"):
        self_attention_rank_upper_bound(3, 1, residual=None)


# -- depth_efficiency_threshold ------------------------------------------------------------------------

@given(width=st.integers(1, 10**6))
def test_depth_efficiency_threshold_is_log_base_3_of_the_width(width):
    threshold = depth_efficiency_threshold(width)
    assert isinstance(threshold, float) and threshold == pytest.approx(log(width) / log(3))
    assert 3 ** threshold == pytest.approx(width)


def test_depth_efficiency_threshold_examples_and_bad_arguments():
    assert depth_efficiency_threshold(27) == pytest.approx(3.0) and depth_efficiency_threshold(1) == 0.0
    with pytest.raises(ValueError, match="width must be at least 1"):
        depth_efficiency_threshold(0)
    assert tl.bounds.depth_efficiency_threshold is depth_efficiency_threshold


# -- one-hot tokens -----------------------------------------------------------------------------------

@pytest.mark.parametrize("V,d,L", [(2, 3, 2), (3, 2, 2), (3, 5, 1), (2, 1, 3), (3, 3, 2)])
def test_one_hot_bound_caps_the_exact_rank_of_the_whole_one_hot_grid(V, d, L):
    # 6 tokens, 3 per side: every one of the V^3 x V^3 combinations of one-hot templates.
    from tensorlib.networks import SelfAttention

    net = SelfAttention(6, d, L, input_dim=V, seed=0)
    grid = tl.grid_tensor(net, np.eye(V, dtype=np.int64), 6, p=DEFAULT_PRIME)
    rank = exact_rank(tl.matricize(grid, (0, 1, 2)), DEFAULT_PRIME)
    assert rank <= tl.bounds.one_hot_rank_upper_bound(V, d, L, 3)


def test_one_hot_bound_parts_are_the_multiset_count_and_the_count_polynomials():
    # Part 1 is the number of multisets of |J| words (counted directly); with V = 1 there is one word
    # and the function is a constant times that word's embedding: rank 1.
    for V, J in [(2, 3), (3, 4), (4, 2)]:
        multisets = sum(1 for _ in combinations_with_replacement(range(V), J))
        assert tl.bounds.one_hot_rank_upper_bound(V, 64, 3, J) <= multisets
    assert tl.bounds.one_hot_rank_upper_bound(2, 64, 3, 50) < comb(2 + 50 - 1, 50)  # part 2 binds
    assert tl.bounds.one_hot_rank_upper_bound(1, 4, 2, 5) == 1
    with pytest.raises(ValueError, match="vocabulary must be at least 1"):
        tl.bounds.one_hot_rank_upper_bound(0, 4, 2, 5)
