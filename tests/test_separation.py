"""Tests of tensorlib.separation: SeparationRank and the driver separation_rank.

The expected ranks come from theorems (``tensorlib.bounds``) or from elementary facts about small test
models (``conftest``: <x_0, x_1> has separation rank M; an additive function has rank 2), never from
running the code under test. The status words are the book's (issue 11):

* *certified* -- the exact rank meets a proven upper bound (for any prime);
* *saturated (confirmed)* -- rank < K for two independent primes, with the same rank;
* *lower bound* -- everything else, with the reason (two primes disagree, memory budget, small prime).
"""


import numpy as np
import pytest
from conftest import Additive, InnerProduct, P, mod_p, to_objects
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorlib import DEFAULT_PRIME, balanced, odd_even, separation_rank
from tensorlib.bounds import sum_of_products_rank
from tensorlib.fields import matmul_mod, previous_prime
from tensorlib.models import validate_inputs
from tensorlib.networks import ProductOfLinearForms, ShallowConvAC, SumOfProducts
from tensorlib.separation import MIN_SATURATION_PRIME, SeparationRank

SETTINGS = settings(max_examples=30)
Q = previous_prime(P)  # the confirmation prime


# -- SeparationRank: what each combination of facts may be called -------------------------------

def _record(rank, K, *, exact=True, prime=P, upper=None, confirmation=None, stopped_by="saturated"):
    return SeparationRank(rank=rank, saturated=rank < K, exact=exact, samples=K, seed=0,
                          prime=prime if exact else None, upper_bound=upper, history=((K, rank),),
                          confirmation=confirmation, stopped_by=stopped_by)


def test_a_rank_meeting_the_upper_bound_is_certified_for_any_prime():
    for prime in (2, 3, 101, P):
        result = _record(4, 4, prime=prime, upper=4, stopped_by="upper bound")
        assert result.certified and result.is_value and result.status == "certified"
    assert not _record(3, 4, upper=4, stopped_by="max_samples").certified
    assert not _record(3, 16, upper=None).certified


def test_a_saturated_rank_is_the_value_only_when_confirmed_by_a_second_prime():
    agree = _record(3, 19, prime=Q)
    disagree = _record(4, 19, prime=Q)
    confirmed = _record(3, 16, confirmation=agree)
    assert confirmed.confirmed is True and confirmed.is_value and confirmed.status == "saturated (confirmed)"
    unconfirmed = _record(3, 16)
    assert unconfirmed.confirmed is None and not unconfirmed.is_value
    assert unconfirmed.status == "saturated (unconfirmed)"
    # The first prime saw rank 3, the second 4: the larger is reported.
    disagreed = SeparationRank(rank=4, saturated=True, exact=True, samples=16, seed=0, prime=P, history=((16, 3),),
                               confirmation=disagree)
    assert disagreed.confirmed is False and not disagreed.is_value
    assert disagreed.status == "lower bound (two primes disagree)"
    full = _record(19, 19, prime=Q)  # the second run did not saturate: no confirmation either
    assert _record(3, 16, confirmation=full).confirmed is False


def test_a_small_prime_cannot_read_saturation():
    assert MIN_SATURATION_PRIME == 2**16
    for prime in (2, 3, 65521):
        small = _record(3, 16, prime=prime)
        assert small.small_prime and not small.is_value
        assert small.status == f"lower bound (p = {prime} is too small to read saturation)"
    assert not _record(3, 16, prime=65537).small_prime


def test_full_rank_results_are_lower_bounds_with_the_reason():
    assert _record(16, 16, stopped_by="max_samples").status == "lower bound"
    memory = _record(32, 32, stopped_by="memory budget")
    assert memory.status == "lower bound (memory budget reached)" and not memory.is_value


def test_float_estimates_are_never_the_value():
    for rank, K, upper in [(4, 4, 4), (3, 16, None), (16, 16, None), (3, 16, 8)]:
        result = _record(rank, K, exact=False, upper=upper)
        assert not result.is_value and not result.certified and result.confirmed is None
        assert result.status.startswith("float estimate")
    assert _record(4, 4, exact=False, upper=4).status == "float estimate, equals the upper bound"
    assert _record(3, 16, exact=False).status == "float estimate, saturated"
    assert _record(16, 16, exact=False).status == "float estimate, lower bound"


def test_the_result_is_a_frozen_record_and_an_int():
    result = separation_rank(SumOfProducts(4, 2, 3), ((0, 1), (2, 3)))
    assert isinstance(result, SeparationRank) and int(result) == result.rank == 3
    with pytest.raises(AttributeError):
        result.rank = 0


# -- separation_rank against theorems -------------------------------------------------------------

@st.composite
def sum_of_products_case(draw):
    n = draw(st.integers(2, 6))
    M = draw(st.integers(1, 3))
    R = draw(st.integers(1, 30))
    partition = balanced(n, draw(st.integers(0, 10_000)))
    return n, M, R, partition


@SETTINGS
@given(case=sum_of_products_case(), exact=st.booleans(), weight_seed=st.integers(0, 1000),
       seed=st.integers(0, 2**32 - 1))
def test_separation_rank_of_sum_of_products_is_min_of_terms_and_M_to_the_min_side(case, exact, weight_seed, seed):
    # sep = min(R, M^min(|I|,|J|)) for generic weights (COLT 2016 App. B), and it is also the model's bound.
    n, M, R, partition = case
    result = separation_rank(SumOfProducts(n, M, R, seed=weight_seed), partition, exact=exact, seed=seed, start=4)
    assert result.rank == sum_of_products_rank(R, M, partition) == result.upper_bound
    assert result.certified == exact and result.is_value == exact
    assert result.status == ("certified" if exact else "float estimate, equals the upper bound")


@SETTINGS
@given(n=st.integers(2, 6), M=st.integers(2, 3), exact=st.booleans(), data=st.data())
def test_separation_rank_of_R_separable_terms_is_R_when_R_fits(n, M, exact, data):
    partition = balanced(n, data.draw(st.integers(0, 10_000), label="partition seed"))
    R = data.draw(st.integers(1, M ** min(map(len, partition))), label="R")
    result = separation_rank(SumOfProducts(n, M, R, seed=1), partition, exact=exact, start=2)
    assert result.rank == R and result.stopped_by == "upper bound"


@SETTINGS
@given(n=st.integers(2, 6), M=st.integers(1, 3), R=st.integers(1, 30), data=st.data())
def test_separation_rank_of_sum_of_products_on_arbitrary_partitions(n, M, R, data):
    I = data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n - 1), label="I")
    partition = (sorted(I), sorted(set(range(n)) - I))
    result = separation_rank(SumOfProducts(n, M, R, seed=2), partition, start=3)
    assert result.rank == sum_of_products_rank(R, M, partition) and result.certified


@SETTINGS
@given(case=sum_of_products_case(), exact=st.booleans(), start=st.integers(1, 20), seed=st.integers(0, 1000))
def test_separation_rank_reports_consistent_bookkeeping(case, exact, start, seed):
    n, M, R, partition = case
    model = SumOfProducts(n, M, R, seed=seed)
    result = separation_rank(model, partition, exact=exact, seed=seed, start=start)
    Ks = [K for K, _ in result.history]
    ranks = [r for _, r in result.history]
    assert result.upper_bound == model.rank_upper_bound(partition) == min(R, M ** min(map(len, partition)))
    assert result.rank <= result.upper_bound
    assert all(r <= K for K, r in result.history)
    assert Ks == sorted(set(Ks)) and ranks == sorted(ranks)  # K strictly increases, the rank never drops
    assert result.history[-1] == (result.samples, result.rank)
    assert Ks[0] == min(start, result.upper_bound)
    assert result.saturated == (result.rank < result.samples)
    assert result.certified == (exact and result.rank == result.upper_bound)
    assert result.exact == exact and result.seed == seed
    assert result.prime == (DEFAULT_PRIME if exact else None)
    assert int(result) == result.rank


@SETTINGS
@given(case=sum_of_products_case(), exact=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_separation_rank_is_deterministic_for_a_seed(case, exact, seed):
    n, M, R, partition = case
    model = SumOfProducts(n, M, R, seed=5)
    assert separation_rank(model, partition, exact=exact, seed=seed) == separation_rank(
        SumOfProducts(n, M, R, seed=5), partition, exact=exact, seed=seed)


@pytest.mark.parametrize("n, M", [(2, 3), (4, 2), (5, 3)])
def test_additive_model_without_a_bound_saturates_at_two_and_is_confirmed(n, M):
    result = separation_rank(Additive(n, M, seed=n), balanced(n, 1))
    assert result.rank == 2 and result.saturated and result.upper_bound is None
    assert result.confirmed is True and result.is_value and result.status == "saturated (confirmed)"


# -- confirmation with a second prime (issue 11) ----------------------------------------------------

def test_a_saturated_rank_is_confirmed_with_the_second_prime_and_fresh_samples():
    result = separation_rank(InnerProduct(20), ((0,), (1,)), start=4)
    assert result.rank == 20 and result.saturated and result.upper_bound is None
    assert [K for K, _ in result.history][:3] == [4, 8, 16] and result.samples > 20
    second = result.confirmation
    assert second.prime == Q == previous_prime(DEFAULT_PRIME) and second.exact and second.saturated
    assert second.rank == 20
    assert result.confirmed is True and result.is_value and not result.certified
    assert result.status == "saturated (confirmed)"


def test_the_confirmation_draws_fresh_samples():
    seen = {}

    class Spy(InnerProduct):
        def evaluate(self, X, p=None):
            seen.setdefault(p, set()).update(map(tuple, np.asarray(X).reshape(len(X), -1).tolist()))
            return super().evaluate(X, p)

    result = separation_rank(Spy(6), ((0,), (1,)), start=4)
    assert result.confirmation.prime == Q and set(seen) == {P, Q}
    first_inputs = {x % Q for pair in seen[P] for x in pair}  # the same residues would show up mod q
    second_inputs = {x for pair in seen[Q] for x in pair}
    assert len(first_inputs & second_inputs) < len(second_inputs) // 2


def test_confirm_false_leaves_a_saturated_rank_unconfirmed():
    result = separation_rank(InnerProduct(20), ((0,), (1,)), start=4, confirm=False)
    assert result.rank == 20 and result.saturated and result.confirmation is None and result.confirmed is None
    assert result.status == "saturated (unconfirmed)" and not result.is_value


def test_certified_and_float_results_are_not_confirmed():
    assert separation_rank(SumOfProducts(4, 2, 3), ((0, 1), (2, 3))).confirmation is None
    assert separation_rank(InnerProduct(5), ((0,), (1,)), exact=False).confirmation is None


class TwoPrimes:
    """f = <x_0, x_1> + c * x_{0,0}^2 x_{1,1}^2 (M = 2), computed in Python integers, then reduced.

    Over the integers its separation rank is 3. Mod a prime dividing c the second term vanishes and the
    rank is 2: with c = q or c = p, the two primes of a confirmation see different functions.
    """

    n_inputs, input_dim = 2, 2

    def __init__(self, c):
        self.c = c

    def evaluate(self, X, p=None):
        X = validate_inputs(X, 2, 2, p)
        big = X.astype(object) if p is None else to_objects(X)
        value = (big[:, 0] * big[:, 1]).sum(axis=1) + self.c * big[:, 0, 0] ** 2 * big[:, 1, 1] ** 2
        return value.astype(np.float64) if p is None else mod_p(value, p)


@pytest.mark.parametrize("c, first, second", [(Q, 3, 2), (P, 2, 3)])
def test_two_primes_that_disagree_give_the_larger_rank_as_a_lower_bound(c, first, second):
    result = separation_rank(TwoPrimes(c), ((0,), (1,)))
    assert result.history[-1][1] == first and result.confirmation.rank == second
    assert result.rank == max(first, second) == 3
    assert result.confirmed is False and not result.is_value and not result.certified
    assert result.status == "lower bound (two primes disagree)"


def test_two_primes_agree_when_no_prime_divides_the_function():
    result = separation_rank(TwoPrimes(1), ((0,), (1,)))
    assert result.rank == 3 and result.confirmed is True and result.status == "saturated (confirmed)"


def test_a_network_is_confirmed_with_its_own_integer_weights_reduced_mod_the_second_prime():
    # Weights set for p only (every term one product: rank 1). The confirmation must test that same
    # integer network mod q, not the network's independent draw for q (rank 5).
    model = SumOfProducts(4, 3, 5, seed=0)
    one = [np.repeat(f[:, :1], 5, axis=1) for f in model.weights(P)["factors"]]
    model.set_weights({"factors": one}, p=P)
    result = separation_rank(model, ((0, 1), (2, 3)))
    assert result.rank == 1 and result.confirmation.rank == 1 and result.confirmed
    assert result.confirmation.prime == Q and result.status == "saturated (confirmed)"


def test_with_weights_reduced_gives_the_same_integer_network_mod_the_second_prime():
    model = SumOfProducts(3, 2, 4, seed=1)
    copy = model.with_weights_reduced(P, Q)
    X = np.random.default_rng(0).integers(0, 50, size=(6, 3, 2))
    big = [np.array(f, dtype=object) for f in model.weights(P)["factors"]]
    expected = [sum(int(np.prod([int(X[b, i] @ big[i][:, z]) for i in range(3)], dtype=object)) for z in range(4)) % Q
                for b in range(6)]
    assert copy.evaluate(X, p=Q).tolist() == expected
    assert model.weights(Q)["factors"][0].tolist() != copy.weights(Q)["factors"][0].tolist()  # the original is unchanged


# -- small primes (issue 11) -------------------------------------------------------------------------

def test_a_small_prime_is_never_reported_as_the_value():
    # Issue 11: p = 3 made this network look saturated at rank 3 (and is_value); its generic rank is 8.
    result = separation_rank(ShallowConvAC(8, 4, 8, seed=1), odd_even(8), p=3)
    assert result.upper_bound == 8 and result.rank < 8
    assert not result.is_value and not result.certified and result.confirmation is None
    assert result.status.startswith("lower bound") and "too small" in result.status


@pytest.mark.parametrize("p", [2, 3])
def test_a_small_prime_still_certifies_a_rank_that_meets_the_bound(p):
    # f = <x_0, x_1> with identity weights: bound 2. Whether 2 x 2 samples mod 2 or 3 reach rank 2
    # depends on the seed; whenever they do, the rank is certified, whatever the prime.
    certified = 0
    for seed in range(8):
        model = SumOfProducts(2, 2, 2)
        model.set_weights({"factors": [np.eye(2, dtype=np.int64)] * 2}, p=p)
        result = separation_rank(model, ((0,), (1,)), p=p, seed=seed)
        assert result.certified == (result.rank == 2) == result.is_value
        certified += result.certified
    assert certified > 0


def test_a_prime_below_2_to_16_certifies_when_the_bound_is_met():
    result = separation_rank(SumOfProducts(4, 2, 3, seed=0), ((0, 1), (2, 3)), p=65521)
    assert result.prime == 65521 and result.rank == 3 and result.certified and result.status == "certified"


# -- the cap on K --------------------------------------------------------------------------------

def test_separation_rank_capped_by_max_samples_is_only_a_lower_bound():
    model = SumOfProducts(6, 3, 25, seed=0)  # generic rank min(25, 27) = 25
    result = separation_rank(model, ((0, 2, 4), (1, 3, 5)), max_samples=10, start=4)
    assert result.rank == 10 == result.samples and result.stopped_by == "max_samples"
    assert not result.saturated and not result.certified and not result.is_value
    assert result.status == "lower bound"
    assert separation_rank(model, ((0, 2, 4), (1, 3, 5)), max_samples=10, exact=False).status == \
        "float estimate, lower bound"


def test_max_samples_above_the_upper_bound_is_capped_by_the_bound():
    model = SumOfProducts(4, 2, 9, seed=0)
    result = separation_rank(model, ((0, 1), (2, 3)), max_samples=100, start=1)
    assert result.samples <= 4 and result.rank == 4 and result.stopped_by == "upper bound"


class _FastInnerProduct:
    """<x_0, x_1> with a fast block (one matrix product mod p): large ranks in milliseconds."""

    n_inputs = 2

    def __init__(self, input_dim: int) -> None:
        self.input_dim = input_dim

    def evaluate(self, X, p=None):
        return InnerProduct(self.input_dim).evaluate(X, p)

    def grid_matrix_block(self, x_rows, x_cols, partition, p=None):
        assert p is not None and tuple(partition) == ((0,), (1,))
        return matmul_mod(x_rows[:, 0, :], np.ascontiguousarray(x_cols[:, 0, :].T), p)


def test_exact_sample_sizes_double_to_512_then_grow_by_256_up_to_the_cap():
    result = separation_rank(_FastInnerProduct(2000), ((0,), (1,)), start=100, max_samples=1000, confirm=False)
    assert [K for K, _ in result.history] == [100, 200, 400, 512, 768, 1000]
    assert [r for _, r in result.history] == [100, 200, 400, 512, 768, 1000]
    assert result.rank == 1000 and result.stopped_by == "max_samples"


def test_a_saturated_rank_is_reached_with_a_matrix_just_past_it():
    # Rank 700 (the inner product of 700-dimensional inputs): the last step stops at most 256 past it.
    result = separation_rank(_FastInnerProduct(700), ((0,), (1,)), start=64)
    assert result.rank == 700 and result.saturated and 700 < result.samples <= 700 + 256
    assert result.status == "saturated (confirmed)" and result.confirmation.samples <= 700 + 256


def test_float_sample_sizes_double_then_jump_to_the_cap():
    # Doubling until the next doubling would pass half the cap (24 -> 48 > 25), then the cap itself.
    result = separation_rank(InnerProduct(80), ((0,), (1,)), start=3, max_samples=50, exact=False)
    assert [K for K, _ in result.history] == [3, 6, 12, 24, 50]
    assert result.rank == 50 and result.stopped_by == "max_samples"


# -- the memory budget (issue 11) -------------------------------------------------------------------

_STEP_OVERHEAD = 64 * 2**20  # bytes a step needs besides F and FLINT's copy of it (2 * 8 K^2 bytes)


def test_a_memory_budget_stops_the_growth_with_a_lower_bound_that_says_so():
    budget = _STEP_OVERHEAD + 2 * 8 * 16**2 + 100  # K = 16 fits, K = 32 does not
    result = separation_rank(InnerProduct(100), ((0,), (1,)), memory_budget=budget)
    assert result.history == ((16, 16),) and result.rank == 16 and not result.saturated
    assert result.stopped_by == "memory budget" and result.status == "lower bound (memory budget reached)"
    assert not result.is_value
    assert separation_rank(InnerProduct(40), ((0,), (1,))).rank == 40  # the default budget lets it finish


def test_a_memory_budget_too_small_for_the_first_step_raises_memory_error_with_the_estimate():
    with pytest.raises(MemoryError, match=r"the first step \(K = 16 samples per side\) needs about .* GiB, above "
                                          r"memory_budget = .* GiB; lower start or raise memory_budget"):
        separation_rank(InnerProduct(4), ((0,), (1,)), memory_budget=2**20)


def test_a_memory_budget_that_fits_the_first_run_does_not_lose_it_in_the_confirmation():
    budget = _STEP_OVERHEAD + 2 * 8 * 16**2  # exactly K = 16
    result = separation_rank(InnerProduct(15), ((0,), (1,)), memory_budget=budget)
    assert result.rank == 15 and result.saturated and result.confirmed and result.is_value
    assert result.confirmation.samples == 16  # confirmed within the budget the first run fitted in


@pytest.mark.parametrize("budget, exc", [(0, ValueError), (-1, ValueError), (1.5e9, TypeError), ("1G", TypeError)])
def test_separation_rank_rejects_bad_memory_budgets(budget, exc):
    with pytest.raises(exc, match="memory_budget must be"):
        separation_rank(SumOfProducts(4, 2, 3), ((0, 1), (2, 3)), memory_budget=budget)


# -- what a model may claim (issue 11) ---------------------------------------------------------------

class ClaimsBound(InnerProduct):
    def __init__(self, bound):
        super().__init__(3)
        self.bound = bound

    def rank_upper_bound(self, partition):
        return self.bound


@pytest.mark.parametrize("bound, exc", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (3.0, TypeError),
                                        (True, TypeError), (np.float64(3), TypeError)])
def test_a_rank_upper_bound_that_is_not_a_positive_int_is_refused(bound, exc):
    # Issue 11: a bound of 0 made rank 0 "equal the upper bound".
    with pytest.raises(exc, match=r"ClaimsBound.rank_upper_bound\(partition\) must be"):
        separation_rank(ClaimsBound(bound), ((0,), (1,)))


def test_a_valid_custom_bound_caps_the_samples_and_certifies():
    result = separation_rank(ClaimsBound(np.int64(3)), ((0,), (1,)))
    assert result.rank == 3 == result.upper_bound and result.certified and result.samples == 3


# -- progress, silence, bad arguments --------------------------------------------------------------

def test_separation_rank_calls_progress_once_per_sample_size_of_both_runs():
    calls = []
    result = separation_rank(InnerProduct(10), ((0,), (1,)), start=2, progress=lambda *a: calls.append(a))
    assert [(K, r) for K, r, _ in calls] == list(result.history) + list(result.confirmation.history)
    assert all(seconds >= 0 for _, _, seconds in calls)
    calls.clear()
    result = separation_rank(InnerProduct(10), ((0,), (1,)), start=2, confirm=False,
                             progress=lambda *a: calls.append(a))
    assert [(K, r) for K, r, _ in calls] == list(result.history)


def test_separation_rank_is_silent_by_default(capsys):
    separation_rank(SumOfProducts(4, 2, 3), ((0, 1), (2, 3)))
    separation_rank(InnerProduct(3), ((0,), (1,)), progress=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(partition=((0,), (1, 2))), ValueError, "partition must cover all 4 positions"),
    (dict(partition=((0, 1), (1, 2, 3))), ValueError, "partition sides must be disjoint"),
    (dict(partition=((0, 1), (2, 7))), ValueError, r"partition positions must lie in range\(4\)"),
    (dict(partition=([], [0, 1, 2, 3])), ValueError, "partition sides must both be non-empty"),
    (dict(partition="0123"), TypeError, r"partition must be a pair \(I, J\)"),
    (dict(exact="yes"), TypeError, "exact must be a bool, got str"),
    (dict(exact=1), TypeError, "exact must be a bool, got int"),
    (dict(confirm=1), TypeError, "confirm must be a bool, got int"),
    (dict(seed=1.0), TypeError, "seed must be an int, got float"),
    (dict(seed="0"), TypeError, "seed must be an int, got str"),
    (dict(seed=-1), ValueError, "seed must be at least 0"),
    (dict(start=0), ValueError, "start must be at least 1, got 0"),
    (dict(start=2.0), TypeError, "start must be an int, got float"),
    (dict(max_samples=0), ValueError, "max_samples must be at least 1, got 0"),
    (dict(max_samples=10.0), TypeError, "max_samples must be an int, got float"),
    (dict(p=91), ValueError, r"p must be prime, got 91 \(composite\)"),
    (dict(p=2**31), ValueError, "p must be a prime in"),
    (dict(p=7.0), TypeError, "p must be an int"),
    (dict(exact=False, p=7), ValueError, "p is only used with exact=True"),
    (dict(exact=False, tol=-1.0), ValueError, "tol must be a finite non-negative number"),
    (dict(exact=False, tol=np.nan), ValueError, "tol must be a finite non-negative number"),
    (dict(tol=1e-3), ValueError, "tol is only used with exact=False"),
    (dict(progress=3), TypeError, "progress must be None, a bool or a callable"),
    (dict(progress="yes"), TypeError, "progress must be None, a bool or a callable"),
])
def test_separation_rank_rejects_bad_arguments(kwargs, exc, msg):
    args = dict(partition=((0, 1), (2, 3)))
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        separation_rank(SumOfProducts(4, 2, 3), args.pop("partition"), **args)


def test_separation_rank_rejects_non_models():
    with pytest.raises(TypeError, match="model must follow the model protocol"):
        separation_rank(lambda X: X.sum(axis=(1, 2)), ((0,), (1,)))


def test_a_product_of_linear_forms_is_certified_separable():
    for partition in (((0,), (1, 2)), ((0, 2), (1,))):
        result = separation_rank(ProductOfLinearForms(3, 2, seed=0), partition)
        assert result.rank == 1 and result.certified


def test_the_confirmation_prime_is_never_below_the_saturation_threshold():
    result = separation_rank(InnerProduct(3), ((0,), (1,)), p=65537, start=4)
    assert result.confirmation is not None and result.confirmation.prime >= MIN_SATURATION_PRIME
    assert result.status == "saturated (confirmed)"


def test_negative_integer_weights_are_confirmed_as_the_same_integer_network():
    # f = x0[0] x1[0] + x0[1] x1[1] - x0[0] x1[0] = x0[1] x1[1]: rank 1 over the integers, so mod every
    # prime. Reducing the residue p - 1 of -1 again mod q would give another network, of rank 2.
    model = SumOfProducts(2, 2, 3)
    W = [np.array([[1, 0, -1], [0, 1, 0]]), np.array([[1, 0, 1], [0, 1, 0]])]
    model.set_weights({"factors": W}, p=P)
    result = separation_rank(model, ((0,), (1,)), start=2)
    assert result.rank == 1 and result.confirmation.rank == 1 and result.status == "saturated (confirmed)"
    wrong = SumOfProducts(2, 2, 3)
    wrong.set_weights({"factors": [np.mod(w, P) % Q for w in W]}, p=Q)
    assert separation_rank(wrong, ((0,), (1,)), p=Q, confirm=False).rank == 2  # what the residues would give
