"""Tests of tensorlib.networks.rac: recurrent arithmetic circuits.

Expected ranks come from the closed forms in tensorlib.bounds (the paper's Theorem 1, or our own
derivations), or from an independent computation: the dense grid tensor on basis templates, an exact
contraction of the tensor-train cores, a pure-Python big-integer evaluation of the recurrence.
"""

from math import comb

import numpy as np
import pytest
from conftest import bigint_rac
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorly.tt_tensor import _validate_tt_tensor, tt_to_tensor

import tensorlib as T
from tensorlib import bounds
from tensorlib.fields import Field
from tensorlib.grid import pairwise_grid_matrix_block
from tensorlib.networks import RAC

SETTINGS = settings(max_examples=20)
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
    result = T.separation_rank(model, T.start_end(T_))
    assert result.rank == expected == result.upper_bound and result.certified


@SETTINGS
@given(half=st.integers(1, 4), M=st.integers(1, 3), R=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_shallow_start_end_rank_never_exceeds_theorem(half, M, R, seed):
    # More samples than the theorem's value, and no cap: the sampled rank may not pass it.
    T_ = 2 * half
    model = RAC(T_, M, R, depth=1, seed=seed)
    expected = bounds.shallow_rac_start_end_rank(T_, M, R)
    assert _sampled_rank(model, T.start_end(T_), expected + 4, seed=seed) == expected


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

@pytest.mark.parametrize("T_", [4, 6, 8])
def test_depth2_rank_exceeds_shallow_and_basis_grid_capacity(T_):
    # Not multilinear: the rank passes both R (the shallow value) and M^(T/2) (the basis-grid size).
    M = R = 2
    rank = T.separation_rank(RAC(T_, M, R, depth=2, seed=0), T.start_end(T_)).rank
    assert rank > bounds.shallow_rac_start_end_rank(T_, M, R)
    if T_ == 4:
        assert rank > M ** (T_ // 2)


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
    slow = pairwise_grid_matrix_block(model, xr, xc, T.validate_partition(partition, 6), P)
    np.testing.assert_array_equal(fast, slow)
    fr, fc = rng.standard_normal((5, len(I), 2)), rng.standard_normal((4, len(J), 2))
    np.testing.assert_allclose(model.grid_matrix_block(fr, fc, partition),
                               pairwise_grid_matrix_block(model, fr, fc, T.validate_partition(partition, 6)),
                               rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("max_terms", [1, 3, 10**6])
@pytest.mark.parametrize("p", [None, 2, 101, P, 2**31 - 1])
def test_fast_block_in_every_form_and_in_row_blocks(monkeypatch, max_terms, p):
    # max_terms = 1 forms every mixed state per pair at once, 10**6 keeps all of them factored up to
    # the output, 3 mixes both; blocks of 3 rows exercise the blocking.
    import tensorlib.networks.rac as rac_module
    from tensorlib.networks import pair_kernels

    monkeypatch.setattr(pair_kernels, "ENABLED", False)  # the numpy kernel (the compiled one: its own tests)
    monkeypatch.setattr(rac_module, "_MAX_TERMS", max_terms)
    monkeypatch.setattr(rac_module, "_BLOCK_BYTES", 8 * 9 * 3)
    field = T.Field(p)
    rng = np.random.default_rng(0)
    for model, partition in [(RAC(4, 2, 2, depth=2, seed=1), T.start_end(4)),
                             (RAC(6, 2, 3, depth=3, seed=2), ((0, 1), (2, 3, 4, 5))),
                             (RAC(5, 3, 2, depth=1, seed=3), ((2, 3, 4), (0, 1)))]:
        I, J = partition
        xr, xc = field.random(rng, (7, len(I), model.input_dim)), field.random(rng, (9, len(J), model.input_dim))
        fast = model.grid_matrix_block(xr, xc, partition, p=p)
        slow = pairwise_grid_matrix_block(model, xr, xc, partition, p)
        if p is None:
            np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)
        else:
            assert fast.dtype == np.int64
            np.testing.assert_array_equal(fast, slow)


@pytest.mark.parametrize("p, compiled", [(P, True), (P, False), (2**31 - 1, False)])
def test_fast_block_near_half_p_equals_big_integers(monkeypatch, p, compiled):
    # Centred residues near p/2 are the largest the float64 kernels hold: every product is at its
    # bound (p = 2^31 - 1 always takes the numpy kernel; the compiled kernel's sums are tested at the
    # largest prime it accepts in test_networks_pair_kernels.py).
    from tensorlib.networks import pair_kernels

    monkeypatch.setattr(pair_kernels, "ENABLED", compiled)
    model = RAC(6, 3, 3, depth=3, seed=0)
    rng = np.random.default_rng(5)
    half = p // 2
    near = {key: ([half + rng.integers(-2, 3, size=np.shape(m)) for m in value] if isinstance(value, list)
                  else half + rng.integers(-2, 3, size=np.shape(value)))
            for key, value in model.weights(p).items()}
    model.set_weights(near, p=p)
    xr = half + rng.integers(-2, 3, size=(3, 3, 3))
    xc = half + rng.integers(-2, 3, size=(4, 3, 3))
    block = model.grid_matrix_block(xr, xc, T.start_end(6), p=p)
    X = np.concatenate([np.repeat(xr, 4, axis=0), np.tile(xc, (3, 1, 1))], axis=1)
    expected = [v % p for v in bigint_rac(model.weights(p), X)]
    np.testing.assert_array_equal(block.ravel(), expected)


# -- arithmetic: float, GF(p), big integers ------------------------------------------------------

@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("p", [101, P])
def test_mod_p_evaluation_equals_big_integer_evaluation(depth, p):
    model = RAC(5, 3, 2, depth=depth, seed=11)
    X = np.random.default_rng(depth).integers(-5, 6, size=(6, 5, 3))
    exact = [v % p for v in bigint_rac(model.weights(p), X)]
    np.testing.assert_array_equal(model.evaluate(X, p=p), exact)


def test_float_evaluation_equals_big_integers_for_small_integer_weights():
    model = RAC(4, 2, 2, depth=2, seed=0)
    rng = np.random.default_rng(0)
    w = {"W_H": [rng.integers(-2, 3, (2, 2)) for _ in range(2)],
         "W_I": [rng.integers(-2, 3, (2, 2)) for _ in range(2)], "w_O": rng.integers(-2, 3, 2)}
    model.set_weights({k: ([a.astype(float) for a in v] if isinstance(v, list) else v.astype(float))
                       for k, v in w.items()})
    X = rng.integers(-3, 4, size=(5, 4, 2))
    np.testing.assert_array_equal(model.evaluate(X), np.array(bigint_rac(w, X), dtype=float))


@pytest.mark.parametrize("T_, M, R", [(4, 2, 2), (8, 2, 2), (6, 3, 2), (8, 2, 5)])
def test_float_and_exact_shallow_ranks_both_equal_the_theorem(T_, M, R):
    # Float (Gaussian) and exact (uniform residues) weights are both generic: min(R, M^(T/2)) on both sides.
    model = RAC(T_, M, R, depth=1, seed=0)
    expected = bounds.shallow_rac_start_end_rank(T_, M, R)
    exact = T.separation_rank(model, T.start_end(T_))
    estimate = T.separation_rank(model, T.start_end(T_), exact=False)
    assert estimate.rank == exact.rank == expected and exact.certified


@pytest.mark.parametrize("T_", [4, 6])
def test_deep_exact_ranks_lie_between_the_theorem_and_our_bound(T_):
    model = RAC(T_, 2, 2, depth=2, seed=0)
    exact = T.separation_rank(model, T.start_end(T_))
    assert bounds.depth2_rac_start_end_lower_bound(T_, 2, 2) <= exact.rank <= exact.upper_bound
    assert exact.upper_bound == bounds.depth2_rac_start_end_upper_bound(T_, 2)
    # The float estimate is only an estimate: at depth 2 the values span many orders of magnitude,
    # and the SVD may undercount; it never certifies anything.
    estimate = T.separation_rank(model, T.start_end(T_), exact=False)
    assert not estimate.is_value and estimate.rank <= exact.upper_bound


def test_float_weights_are_gaussian_with_variance_one_over_fan_in_and_not_orthogonal():
    weights = RAC(4, 300, 200, depth=2, seed=2).weights()
    for W in weights["W_H"]:
        assert abs(W.std() * np.sqrt(200) - 1) < 0.02
        assert not np.allclose(W @ W.T, np.eye(200), atol=0.1)  # the old draws were orthogonal
    assert abs(weights["W_I"][0].std() * np.sqrt(300) - 1) < 0.02
    assert abs(weights["W_I"][1].std() * np.sqrt(200) - 1) < 0.02


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


def test_deep_rac_has_no_coefficient_tensor():
    with pytest.raises(ValueError, match="exists only for depth == 1.*not multilinear"):
        RAC(4, 2, 2, depth=2).coefficient_tensor()
    with pytest.raises(ValueError, match="exists only for depth == 1"):
        RAC(4, 2, 2, depth=3).tt_cores()


def test_oversize_coefficient_tensor_is_refused():
    with pytest.raises(ValueError, match="dense coefficient tensor would have .* entries"):
        RAC(40, 3, 2).coefficient_tensor()
