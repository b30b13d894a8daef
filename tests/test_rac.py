"""Tests of tensorlib.networks.RAC and the Chapter 5 bounds.

Expected ranks come from the closed forms in tensorlib.bounds (theorems, or our own derivations),
or from an independent computation: the dense grid tensor on basis templates, an exact contraction
of the tensor-train cores, a pure-Python big-integer evaluation of the recurrence.
"""

from itertools import combinations_with_replacement
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorly.tt_tensor import _validate_tt_tensor, tt_to_tensor

import tensorlib as T
from tensorlib import bounds
from tensorlib.fields import Field
from tensorlib.networks import RAC
from tensorlib.grid import pairwise_grid_matrix_block

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)  # reproducible in CI
P = T.DEFAULT_PRIME


def _sampled_rank(model, partition, samples, seed=0):
    """Exact rank of one K x K sampled grid matrix (no cap from the model's upper bound)."""
    return T.exact_rank(T.sampled_grid_matrix(model, partition, samples, seed=seed), P)


def _basis_grid(model, p=None):
    dtype = np.int64 if p is not None else np.float64
    return T.grid_tensor(model, np.eye(model.input_dim, dtype=dtype), model.length, p=p)


# -- depth 1: the theorem and the tensor train ---------------------------------------------------

@SETTINGS
@given(half=st.integers(1, 4), M=st.integers(1, 3), R=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_shallow_start_end_rank_equals_theorem(half, M, R, seed):
    T_ = 2 * half
    model = RAC(T_, M, R, depth=1, seed=seed)
    expected = bounds.shallow_rac_start_end_rank(T_, M, R)
    assert T.separation_rank(model, T.start_end(T_)).rank == expected


@SETTINGS
@given(half=st.integers(1, 4), M=st.integers(1, 3), R=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_shallow_start_end_rank_never_exceeds_theorem(half, M, R, seed):
    # More samples than the theorem's value, and no cap: the sampled rank may not pass it.
    T_ = 2 * half
    model = RAC(T_, M, R, depth=1, seed=seed)
    expected = bounds.shallow_rac_start_end_rank(T_, M, R)
    assert _sampled_rank(model, T.start_end(T_), expected + 4, seed=seed) == expected


@SETTINGS
@given(half=st.integers(1, 3), M=st.integers(1, 3), R=st.integers(1, 4), seed=st.integers(0, 10**6))
def test_shallow_basis_grid_rank_equals_theorem(half, M, R, seed):
    # Independent of sampling: the dense grid tensor on e_1..e_M, matricized Start/End.
    T_ = 2 * half
    grid = _basis_grid(RAC(T_, M, R, depth=1, seed=seed), p=P)
    rank = T.exact_rank(T.matricize(grid, range(half)), P)
    assert rank == bounds.shallow_rac_start_end_rank(T_, M, R)


@pytest.mark.parametrize("T_, M, R", [(2, 2, 3), (5, 2, 3), (6, 3, 2), (7, 2, 2)])
def test_coefficient_tensor_equals_basis_grid_tensor(T_, M, R):
    model = RAC(T_, M, R, depth=1, seed=3)
    A = model.coefficient_tensor()
    assert A.shape == (M,) * T_
    np.testing.assert_allclose(A, _basis_grid(model), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("T_, M, R", [(2, 2, 3), (5, 3, 2), (6, 2, 4)])
def test_tt_cores_are_a_tensorly_tt_with_bond_R(T_, M, R):
    cores = RAC(T_, M, R, depth=1, seed=1).tt_cores()
    shape, ranks = _validate_tt_tensor(cores)
    assert tuple(shape) == (M,) * T_
    assert tuple(ranks) == (1,) + (R,) * (T_ - 1) + (1,)


@pytest.mark.parametrize("p", [101, P])
def test_tt_cores_contracted_mod_p_equal_exact_basis_grid(p):
    # Contract the GF(p) cores with Field(p) products (no tensorly, no overflow) and compare with the
    # network evaluated exactly on basis templates: the TT formula holds in exact arithmetic.
    model = RAC(5, 2, 3, depth=1, seed=4)
    field = Field(p)
    cores = model.tt_cores(p=p)
    full = cores[0].reshape(-1, cores[0].shape[-1])  # (M, R)
    for core in cores[1:]:
        r0, m, r1 = core.shape
        full = field.matmul(full, core.reshape(r0, m * r1)).reshape(-1, r1)
    np.testing.assert_array_equal(full.reshape((2,) * 5), _basis_grid(model, p=p))


def test_coefficient_tensor_is_tt_to_tensor_of_float_cores():
    model = RAC(6, 3, 2, depth=1, seed=2)
    np.testing.assert_allclose(model.coefficient_tensor(), tt_to_tensor(model.tt_cores()), rtol=0, atol=0)
    np.testing.assert_allclose(tt_to_tensor(model.tt_cores()), _basis_grid(model), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cut", [1, 2, 3, 4, 5])
def test_every_cut_of_the_shallow_coefficient_tensor_has_rank_at_most_R(cut):
    M, R, T_ = 2, 3, 6
    grid = _basis_grid(RAC(T_, M, R, depth=1, seed=5), p=P)
    rank = T.exact_rank(T.matricize(grid, range(cut)), P)
    assert rank == min(R, M ** min(cut, T_ - cut))


def test_shallow_odd_even_rank_grows_with_length():
    # The TT is not bounded by R under the interleaved partition (Khrulkov et al.): here min(M, R)^(T/2).
    M, R = 2, 2
    for T_ in (4, 6, 8):
        rank = T.separation_rank(RAC(T_, M, R, seed=0), T.odd_even(T_)).rank
        assert rank == min(M, R) ** (T_ // 2)


# -- depth 2 and 3: between the bounds ------------------------------------------------------------

@SETTINGS
@given(half=st.integers(1, 4), M=st.integers(1, 3), R=st.integers(1, 3), seed=st.integers(0, 10**6))
def test_depth2_start_end_rank_between_bounds(half, M, R, seed):
    T_ = 2 * half
    model = RAC(T_, M, R, depth=2, seed=seed)
    lower = bounds.depth2_rac_start_end_lower_bound(T_, M, R)
    upper = bounds.depth2_rac_start_end_upper_bound(T_, R)
    rank = _sampled_rank(model, T.start_end(T_), upper + 4, seed=seed)  # more samples than the upper bound
    assert lower <= rank <= upper


@pytest.mark.parametrize("T_", [4, 6, 8])
def test_depth2_rank_exceeds_shallow_and_basis_grid_capacity(T_):
    # Not multilinear: the rank passes both R (the shallow value) and M^(T/2) (the basis-grid size).
    M = R = 2
    rank = T.separation_rank(RAC(T_, M, R, depth=2, seed=0), T.start_end(T_)).rank
    assert rank > bounds.shallow_rac_start_end_rank(T_, M, R)
    if T_ == 4:
        assert rank > M ** (T_ // 2)


@pytest.mark.parametrize("T_, M, R", [(4, 2, 2), (6, 2, 2), (4, 3, 2)])
def test_depth3_start_end_rank_within_state_count_bound(T_, M, R):
    model = RAC(T_, M, R, depth=3, seed=0)
    upper = bounds.rac_start_end_upper_bound(T_, R, 3)
    rank = _sampled_rank(model, T.start_end(T_), upper + 4)
    assert bounds.shallow_rac_start_end_rank(T_, M, R) <= rank <= upper


@SETTINGS
@given(half=st.integers(1, 6), R=st.integers(1, 4), depth=st.integers(1, 4))
def test_state_count_bound_generalizes_the_depth1_and_depth2_bounds(half, R, depth):
    T_ = 2 * half
    general = bounds.rac_start_end_upper_bound(T_, R, depth)
    if depth == 1:
        assert general == R
    if depth == 2:
        assert general == bounds.depth2_rac_start_end_upper_bound(T_, R)
    model = RAC(T_, 2, R, depth=depth)
    expected = min(general, 2 ** half) if depth == 1 else general
    assert model.rank_upper_bound(T.start_end(T_)) == expected


def test_rank_upper_bound_of_other_cuts_and_partitions():
    model = RAC(6, 2, 3, depth=2)
    # a cut after 2 steps leaves e = 4 steps: R * C(R + e - 1, e)
    assert model.rank_upper_bound(((0, 1), (2, 3, 4, 5))) == 3 * comb(3 + 3, 4)
    assert model.rank_upper_bound(((2, 3, 4, 5), (0, 1))) == 3 * comb(3 + 3, 4)
    assert model.rank_upper_bound(T.odd_even(6)) is None
    assert RAC(6, 2, 3, depth=1).rank_upper_bound(T.odd_even(6)) == 2**3


def test_lower_bound_formula_is_the_multiset_coefficient():
    for half in range(1, 6):
        for q in range(1, 4):
            # multisets of size T/2 from q symbols, counted directly
            count = sum(1 for _ in combinations_with_replacement(range(q), half))
            assert bounds.depth2_rac_start_end_lower_bound(2 * half, q, q + 1) == count
            assert bounds.depth2_rac_start_end_lower_bound(2 * half, q + 1, q) == count


# -- the Start-End fast path ---------------------------------------------------------------------

@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("partition", [((0, 1, 2), (3, 4, 5)), ((0,), (1, 2, 3, 4, 5)), ((0, 1, 2, 3, 4), (5,)),
                                       ((3, 4, 5), (0, 1, 2)), ((0, 2, 4), (1, 3, 5)), ((1, 2), (0, 3, 4, 5))])
def test_fast_block_equals_pairwise(depth, partition):
    model = RAC(6, 2, 3, depth=depth, seed=7)
    rng = np.random.default_rng(depth)
    I, J = partition
    xr = rng.integers(0, P, size=(5, len(I), 2))
    xc = rng.integers(0, P, size=(4, len(J), 2))
    fast = model.grid_matrix_block(xr, xc, partition, p=P)
    np.testing.assert_array_equal(fast, pairwise_grid_matrix_block(model, xr, xc, T.validate_partition(partition, 6), P))
    fr, fc = rng.standard_normal((5, len(I), 2)), rng.standard_normal((4, len(J), 2))
    np.testing.assert_allclose(model.grid_matrix_block(fr, fc, partition),
                               pairwise_grid_matrix_block(model, fr, fc, T.validate_partition(partition, 6)),
                               rtol=1e-12, atol=1e-300)


def test_fast_block_splits_large_blocks(monkeypatch):
    import tensorlib.networks.rac as rac_module

    monkeypatch.setattr(rac_module, "_PAIRS_PER_BATCH", 6)  # forces row and column chunks
    model = RAC(4, 2, 2, depth=2, seed=1)
    rng = np.random.default_rng(0)
    xr, xc = rng.integers(0, P, (7, 2, 2)), rng.integers(0, P, (9, 2, 2))
    np.testing.assert_array_equal(model.grid_matrix_block(xr, xc, T.start_end(4), p=P),
                                  pairwise_grid_matrix_block(model, xr, xc, T.start_end(4), P))


# -- arithmetic: float, GF(p), big integers ------------------------------------------------------

def _big_int_rac(weights, X):
    """The recurrence on Python integers (no modular reduction, no numpy arithmetic)."""
    W_H = [[[int(v) for v in row] for row in W] for W in weights["W_H"]]
    W_I = [[[int(v) for v in row] for row in W] for W in weights["W_I"]]
    w_O = [int(v) for v in weights["w_O"]]
    depth, R = len(W_H), len(w_O)
    out = []
    for seq in X.tolist():
        h = [[1] * R for _ in range(depth)]
        for x in seq:
            below = x
            for l in range(depth):
                rec = [sum(W_H[l][r][s] * h[l][s] for s in range(R)) for r in range(R)]
                inj = [sum(W_I[l][r][s] * below[s] for s in range(len(below))) for r in range(R)]
                h[l] = [a * b for a, b in zip(rec, inj)]
                below = h[l]
        out.append(sum(w * v for w, v in zip(w_O, h[-1])))
    return out


@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("p", [101, P])
def test_mod_p_evaluation_equals_big_integer_evaluation(depth, p):
    model = RAC(5, 3, 2, depth=depth, seed=11)
    X = np.random.default_rng(depth).integers(-5, 6, size=(6, 5, 3))
    exact = [v % p for v in _big_int_rac(model.weights(p), X)]
    np.testing.assert_array_equal(model.evaluate(X, p=p), exact)


def test_float_evaluation_equals_big_integers_for_small_integer_weights():
    model = RAC(4, 2, 2, depth=2, seed=0)
    rng = np.random.default_rng(0)
    w = {"W_H": [rng.integers(-2, 3, (2, 2)) for _ in range(2)],
         "W_I": [rng.integers(-2, 3, (2, 2)) for _ in range(2)], "w_O": rng.integers(-2, 3, 2)}
    model.set_weights({k: ([a.astype(float) for a in v] if isinstance(v, list) else v.astype(float))
                       for k, v in w.items()})
    X = rng.integers(-3, 4, size=(5, 4, 2))
    np.testing.assert_array_equal(model.evaluate(X), np.array(_big_int_rac(w, X), dtype=float))


@pytest.mark.parametrize("depth, T_", [(1, 4), (1, 8), (2, 4), (2, 6), (3, 4)])
def test_float_and_exact_ranks_agree_for_short_sequences(depth, T_):
    model = RAC(T_, 2, 2, depth=depth, seed=0)
    exact = T.separation_rank(model, T.start_end(T_))
    estimate = T.separation_rank(model, T.start_end(T_), exact=False)
    assert estimate.rank == exact.rank


def test_float_recurrent_weights_are_orthogonal():
    for W in RAC(4, 3, 5, depth=3, seed=2).weights()["W_H"]:
        np.testing.assert_allclose(W @ W.T, np.eye(5), atol=1e-12)


def test_weights_are_seeded():
    a, b, c = RAC(4, 2, 3, depth=2, seed=1), RAC(4, 2, 3, depth=2, seed=1), RAC(4, 2, 3, depth=2, seed=2)
    X = np.random.default_rng(0).standard_normal((3, 4, 2))
    np.testing.assert_array_equal(a.evaluate(X), b.evaluate(X))
    assert not np.allclose(a.evaluate(X), c.evaluate(X))


def test_attributes_follow_the_model_protocol():
    model = RAC(6, 3, 4, depth=2, seed=0)
    assert (model.n_inputs, model.input_dim, model.length, model.hidden, model.depth) == (6, 3, 6, 4, 2)
    assert model.multilinear is False and RAC(6, 3, 4).multilinear is True
    assert repr(model) == "RAC(length=6, input_dim=3, hidden=4, depth=2, seed=0)"
    shapes = {k: [w.shape for w in v] if isinstance(v, list) else v.shape for k, v in model.weights(P).items()}
    assert shapes == {"W_H": [(4, 4), (4, 4)], "W_I": [(4, 3), (4, 4)], "w_O": (4,)}


# -- bad inputs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    (dict(length=6, input_dim=2, hidden=3, depth=0), ValueError, "depth must be at least 1"),
    (dict(length=6, input_dim=2, hidden=0), ValueError, "hidden must be at least 1"),
    (dict(length=1, input_dim=2, hidden=3), ValueError, "length must be at least 2"),
    (dict(length=6, input_dim=0, hidden=3), ValueError, "input_dim must be at least 1"),
    (dict(length=6, input_dim=2, hidden=3, depth=1.5), TypeError, "depth must be an int"),
    (dict(length=6, input_dim=2, hidden=True), TypeError, "hidden must be an int"),
    (dict(length=6, input_dim=2, hidden=3, seed=-1), ValueError, "seed must be at least 0"),
])
def test_bad_constructor_arguments_are_rejected(kwargs, error, match):
    with pytest.raises(error, match=match):
        RAC(**kwargs)


def test_inputs_of_the_wrong_shape_are_rejected():
    model = RAC(6, 2, 3)
    with pytest.raises(ValueError, match=r"shape \(batch, n_inputs=6, input_dim=2\), got \(4, 5, 2\)"):
        model.evaluate(np.zeros((4, 5, 2)))
    with pytest.raises(ValueError, match=r"single sequence of shape \(6, 2\); use X\[None\]"):
        model.evaluate(np.zeros((6, 2)))
    with pytest.raises(TypeError, match="integer dtype"):
        model.evaluate(np.zeros((1, 6, 2)), p=P)
    with pytest.raises(ValueError, match=r"x_rows must have shape \(batch, n_inputs=3, input_dim=2\)"):
        model.grid_matrix_block(np.zeros((2, 2, 2)), np.zeros((2, 3, 2)), T.start_end(6))


@pytest.mark.parametrize("func, args", [
    (bounds.shallow_rac_start_end_rank, (7, 2, 3)),
    (bounds.depth2_rac_start_end_lower_bound, (5, 2, 3)),
    (bounds.depth2_rac_start_end_upper_bound, (9, 3)),
    (bounds.rac_start_end_upper_bound, (3, 3, 2)),
])
def test_bounds_refuse_odd_length(func, args):
    with pytest.raises(ValueError, match="length must be even for the Start-End partition"):
        func(*args)


def test_bounds_refuse_bad_sizes():
    with pytest.raises(ValueError, match="hidden must be at least 1"):
        bounds.depth2_rac_start_end_upper_bound(4, 0)
    with pytest.raises(ValueError, match="depth must be at least 1"):
        bounds.rac_start_end_upper_bound(4, 2, 0)
    with pytest.raises(TypeError, match="length must be an int"):
        bounds.shallow_rac_start_end_rank(4.0, 2, 2)


def test_deep_rac_has_no_coefficient_tensor():
    with pytest.raises(ValueError, match="exists only for depth == 1.*not multilinear"):
        RAC(4, 2, 2, depth=2).coefficient_tensor()
    with pytest.raises(ValueError, match="exists only for depth == 1"):
        RAC(4, 2, 2, depth=3).tt_cores()


def test_oversize_coefficient_tensor_is_refused():
    with pytest.raises(ValueError, match="dense coefficient tensor would have .* entries"):
        RAC(40, 3, 2).coefficient_tensor()
