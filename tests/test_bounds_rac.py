"""Tests of tensorlib.bounds.rac: Start--End (and prefix/suffix) bounds of recurrent arithmetic circuits.

The closed forms are checked against their special cases, against direct counts (multisets and
monomials enumerated with itertools), and against exact GF(p) ranks of RACs: the dense grid tensor on
basis templates for shallow RACs (independent of sampling), and sampled grid matrices with *more*
samples than the bound otherwise (no cap from the model, so the rank may not pass the bound).
"""

from itertools import combinations_with_replacement
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorlib as tl
from tensorlib import bounds
from tensorlib.bounds import (depth2_rac_start_end_lower_bound, depth2_rac_start_end_upper_bound, rac_cut_upper_bound,
                              rac_start_end_upper_bound, shallow_rac_start_end_rank)
from tensorlib.networks import RAC

SETTINGS = settings(max_examples=20)
P = tl.DEFAULT_PRIME


def sampled_rank(model, partition, samples, seed=0):
    """Exact rank of one K x K sampled grid matrix (no cap from the model's upper bound)."""
    return tl.exact_rank(tl.sampled_grid_matrix(model, partition, samples, seed=seed), P)


def prefix_cut(length, k):
    return tuple(range(k)), tuple(range(k, length))


def monomial_count(variables, degree):
    return sum(1 for _ in combinations_with_replacement(range(variables), degree))


# -- shallow (depth 1): Theorem 1 part 1 ----------------------------------------------------------------

@SETTINGS
@given(half=st.integers(1, 3), M=st.integers(1, 3), R=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_shallow_start_end_rank_is_the_exact_rank_of_the_coefficient_tensor(half, M, R, seed):
    T = 2 * half
    model = RAC(T, M, R, depth=1, seed=seed)
    grid = tl.grid_tensor(model, np.eye(M, dtype=np.int64), T, p=P)
    assert tl.exact_rank(tl.matricize(grid, range(half)), P) == shallow_rac_start_end_rank(T, M, R) == min(R, M**half)


def test_shallow_start_end_rank_examples():
    assert shallow_rac_start_end_rank(8, 2, 100) == 16 and shallow_rac_start_end_rank(8, 2, 5) == 5


# -- depth 2: Theorem 1 part 2 and our upper bound ---------------------------------------------------------

def test_depth2_lower_bound_is_the_multiset_coefficient():
    for half in range(1, 6):
        for q in range(1, 4):
            count = sum(1 for _ in combinations_with_replacement(range(q), half))  # multisets of size T/2
            assert depth2_rac_start_end_lower_bound(2 * half, q, q + 1) == count
            assert depth2_rac_start_end_lower_bound(2 * half, q + 1, q) == count


@SETTINGS
@given(half=st.integers(1, 6), R=st.integers(1, 5))
def test_depth2_upper_bound_counts_state_times_degree_half_monomials(half, R):
    # R coordinates of h^{T/2,2} times the monomials of degree T/2 in the R coordinates of h^{T/2,1}.
    assert depth2_rac_start_end_upper_bound(2 * half, R) == R * monomial_count(R, half)
    assert depth2_rac_start_end_upper_bound(2 * half, R) == rac_cut_upper_bound(half, R, 2)


@SETTINGS
@given(half=st.integers(1, 3), M=st.integers(1, 3), R=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_depth2_exact_start_end_rank_lies_between_the_bounds(half, M, R, seed):
    T = 2 * half
    model = RAC(T, M, R, depth=2, seed=seed)
    lower = depth2_rac_start_end_lower_bound(T, M, R)
    upper = depth2_rac_start_end_upper_bound(T, R)
    assert lower <= sampled_rank(model, tl.start_end(T), upper + 4, seed=seed) <= upper


# -- any depth, any cut of the sequence ------------------------------------------------------------------

@SETTINGS
@given(suffix=st.integers(1, 6), R=st.integers(1, 4), depth=st.integers(1, 4))
def test_rac_cut_bound_counts_products_of_monomials(suffix, R, depth):
    # prod_m (number of monomials of degree c_m = C(e + m - 1, m) in R variables), enumerated.
    expected = 1
    for m in range(depth):
        expected *= monomial_count(R, comb(suffix + m - 1, m))
    assert rac_cut_upper_bound(suffix, R, depth) == expected


@SETTINGS
@given(half=st.integers(1, 6), R=st.integers(1, 4), depth=st.integers(1, 4))
def test_rac_bounds_special_cases(half, R, depth):
    assert rac_cut_upper_bound(half, R, 1) == R  # depth 1: the tensor-train bond
    assert rac_start_end_upper_bound(2 * half, R, depth) == rac_cut_upper_bound(half, R, depth)
    if depth == 1:
        assert rac_start_end_upper_bound(2 * half, R, 1) == R
    if depth == 2:
        assert rac_start_end_upper_bound(2 * half, R, 2) == depth2_rac_start_end_upper_bound(2 * half, R)


@pytest.mark.parametrize("depth, T, M, R", [(1, 6, 2, 3), (2, 5, 2, 2), (2, 6, 2, 2), (3, 4, 2, 2), (3, 5, 1, 2)])
def test_rac_cut_bound_holds_for_every_prefix_cut(depth, T, M, R):
    model = RAC(T, M, R, depth=depth, seed=depth)
    for k in range(1, T):
        partition = prefix_cut(T, k)
        bound = rac_cut_upper_bound(T - k, R, depth)
        rank = sampled_rank(model, partition, bound + 4, seed=k)
        assert rank <= bound
        if depth == 1:  # the tensor train: min(R, M^min(k, T - k)) for generic weights
            assert rank == min(R, M ** min(k, T - k))


@pytest.mark.parametrize("T, M, R", [(4, 2, 2), (6, 2, 2), (4, 3, 2)])
def test_depth3_start_end_rank_within_the_state_count_bound(T, M, R):
    model = RAC(T, M, R, depth=3, seed=0)
    upper = rac_start_end_upper_bound(T, R, 3)
    rank = sampled_rank(model, tl.start_end(T), upper + 4)
    assert shallow_rac_start_end_rank(T, M, R) <= rank <= upper


# -- bad arguments -----------------------------------------------------------------------------------

@pytest.mark.parametrize("func, args", [
    (bounds.shallow_rac_start_end_rank, (7, 2, 3)),
    (bounds.depth2_rac_start_end_lower_bound, (5, 2, 3)),
    (bounds.depth2_rac_start_end_upper_bound, (9, 3)),
    (bounds.rac_start_end_upper_bound, (3, 3, 2)),
])
def test_start_end_bounds_refuse_odd_length(func, args):
    with pytest.raises(ValueError, match="length must be even for the Start-End partition"):
        func(*args)


def test_bounds_refuse_bad_sizes():
    with pytest.raises(ValueError, match="hidden must be at least 1"):
        depth2_rac_start_end_upper_bound(4, 0)
    with pytest.raises(ValueError, match="depth must be at least 1"):
        rac_start_end_upper_bound(4, 2, 0)
    with pytest.raises(TypeError, match="length must be an int"):
        shallow_rac_start_end_rank(4.0, 2, 2)
    with pytest.raises(ValueError, match="length must be at least 2"):
        shallow_rac_start_end_rank(0, 2, 2)
    with pytest.raises(ValueError, match="suffix must be at least 1"):
        rac_cut_upper_bound(0, 2, 2)
    with pytest.raises(TypeError, match="hidden must be an int, got bool"):
        rac_cut_upper_bound(2, True, 2)
