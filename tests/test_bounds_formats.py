"""Tests of tensorlib.bounds.formats: the rank bounds of CP, Tucker, tensor-train and power-sum tensors.

Each bound is checked against an independent computation: exact GF(p) ranks of matricizations of
tensors built with tensorly (``cp_to_tensor``, ``tucker_to_tensor``, ``tt_to_tensor``) or evaluated from
their definition, and, for the min-cut dynamic program of tensor trains, a brute force over all
assignments of the chain's nodes to the two sides. Where a test asserts that a bound is *attained*, the
docstring gives the argument (a generic statement; the random draws are fixed by their seeds).
"""

import itertools
from math import comb, prod

import numpy as np
import pytest
from conftest import identity_topped, partitions
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorly.cp_tensor import cp_to_tensor
from tensorly.tt_tensor import tt_to_tensor
from tensorly.tucker_tensor import tucker_to_tensor

import tensorlib as tl
from tensorlib.bounds import (multilinear_rank_bound, power_sum_rank_upper_bound, sum_of_products_rank,
                              tensor_train_rank_upper_bound, tucker_rank_upper_bound)

SETTINGS = settings(max_examples=30)
P = tl.DEFAULT_PRIME


def exact_matricization_rank(A, rows, p=P):
    return tl.exact_rank(tl.matricize(np.asarray(A, dtype=np.int64), rows), p)


# -- multilinear_rank_bound ------------------------------------------------------------------------

@SETTINGS
@given(n=st.integers(2, 5), M=st.integers(1, 3), data=st.data())
def test_multilinear_bound_is_the_rank_of_a_generic_coefficient_tensor(n, M, data):
    # f = <A, x_1 (x) ... (x) x_N>: sep(f; I, J) = rank [[A]]_{I,J}, a generic M^|I| x M^|J| matrix.
    I, J = data.draw(partitions(n))
    A = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).integers(-2**20, 2**20, size=(M,) * n)
    assert exact_matricization_rank(A, I) == multilinear_rank_bound(M, (I, J)) == M ** min(len(I), len(J))


def test_multilinear_bound_accepts_any_pair_of_position_iterables():
    assert multilinear_rank_bound(3, ((0, 2), (1, 3, 4))) == 9
    assert multilinear_rank_bound(np.int64(2), [{4, 0}, iter([1, 2, 3])]) == 4
    with pytest.raises(ValueError, match="input_dim must be at least 1"):
        multilinear_rank_bound(0, ((0,), (1,)))
    with pytest.raises(ValueError, match=r"partition positions must lie in range\(2\)"):
        multilinear_rank_bound(2, ((0,), (5,)))


# -- sum_of_products_rank (the CP model) --------------------------------------------------------------

@SETTINGS
@given(R=st.integers(1, 100), M=st.integers(1, 5), n=st.integers(2, 8), data=st.data())
def test_sum_of_products_rank_is_min_of_terms_and_M_to_the_smaller_side(R, M, n, data):
    I, J = data.draw(partitions(n))
    smaller = min(len(I), len(J))
    assert sum_of_products_rank(R, M, (I, J)) == (R if R <= M**smaller else M**smaller)


@SETTINGS
@given(n=st.integers(2, 5), M=st.integers(1, 3), R=st.integers(1, 12), data=st.data())
def test_sum_of_products_rank_is_the_rank_of_a_generic_cp_tensor(n, M, R, data):
    # COLT 2016 App. B: a generic rank-R CP tensor has matricization rank min(R, M^min(|I|,|J|)).
    partition = data.draw(partitions(n))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    factors = [rng.integers(-2**10, 2**10, size=(M, R)) for _ in range(n)]
    A = cp_to_tensor((np.ones(R, dtype=np.int64), factors))
    assert exact_matricization_rank(A, partition[0]) == sum_of_products_rank(R, M, partition)


def test_sum_of_products_rank_accepts_any_pair_of_position_iterables():
    expected = sum_of_products_rank(5, 2, ((0, 1), (2, 3)))
    assert expected == 4
    assert sum_of_products_rank(5, 2, [[2, 3], [0, 1]]) == expected
    assert sum_of_products_rank(5, 2, (np.array([0, 1]), np.array([3, 2]))) == expected
    assert sum_of_products_rank(5, 2, ((i for i in (0, 1)), iter([2, 3]))) == expected
    assert sum_of_products_rank(np.int64(5), np.int64(2), ((0, 1), (2, 3))) == expected


@pytest.mark.parametrize("args, exc, msg", [
    ((0, 2, ((0,), (1,))), ValueError, "terms must be at least 1, got 0"),
    ((2, 0, ((0,), (1,))), ValueError, "input_dim must be at least 1, got 0"),
    ((2.0, 2, ((0,), (1,))), TypeError, "terms must be an int, got float"),
    ((2, True, ((0,), (1,))), TypeError, "input_dim must be an int, got bool"),
    ((2, 2, ((0, 1), (1, 2))), ValueError, r"partition sides must be disjoint; both contain \[1\]"),
    ((2, 2, ((0, 1), (3, 4))), ValueError, r"partition positions must lie in range\(4\)"),
    ((2, 2, ((0, 1), ())), ValueError, "partition sides must both be non-empty"),
    ((2, 2, ((0,), (1,), (2,))), ValueError, r"partition must be a pair \(I, J\), got 3 parts"),
    ((2, 2, ((0, 1.0), (2,))), TypeError, "partition side I must contain ints"),
    ((2, 2, "01"), TypeError, r"partition must be a pair \(I, J\) of position tuples, got str"),
    ((2, 2, 5), TypeError, r"partition must be a pair \(I, J\) of position tuples"),
])
def test_sum_of_products_rank_rejects_bad_arguments(args, exc, msg):
    with pytest.raises(exc, match=msg):
        sum_of_products_rank(*args)


# -- tucker_rank_upper_bound ---------------------------------------------------------------------------

@st.composite
def tucker_cases(draw):
    n = draw(st.integers(2, 4))
    ranks = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    dims = [r + draw(st.integers(0, 2)) for r in ranks]
    return ranks, dims, draw(partitions(n)), np.random.default_rng(draw(st.integers(0, 2**32 - 1)))


@SETTINGS
@given(case=tucker_cases())
def test_tucker_bound_is_attained_by_a_generic_core_and_full_column_rank_factors(case):
    # [[A]] = (kron of U_i, i in I) [[G]] (kron of U_j, j in J)^T; the Kronecker products of full-column-rank
    # factors have full column rank, so rank [[A]] = rank [[G]], which for a generic core is the bound.
    ranks, dims, (I, J), rng = case
    core = rng.integers(-2**10, 2**10, size=ranks)
    factors = [identity_topped(rng, M, r) for M, r in zip(dims, ranks)]
    A = tucker_to_tensor((core, factors))
    assert A.shape == tuple(dims)
    assert exact_matricization_rank(A, I) == tucker_rank_upper_bound(ranks, (I, J))
    assert tucker_rank_upper_bound(ranks, (I, J)) == min(prod(ranks[i] for i in I), prod(ranks[j] for j in J))


@SETTINGS
@given(case=tucker_cases(), terms=st.integers(1, 3))
def test_tucker_rank_follows_a_deficient_core_below_the_bound(case, terms):
    # A core of CP rank s: its matricization has rank <= s, and [[A]] has exactly the core's rank.
    ranks, dims, (I, J), rng = case
    core = cp_to_tensor((None, [rng.integers(-9, 10, size=(r, terms)) for r in ranks]))
    factors = [identity_topped(rng, M, r) for M, r in zip(dims, ranks)]
    A = tucker_to_tensor((core, factors))
    core_rank = exact_matricization_rank(core, I)
    assert exact_matricization_rank(A, I) == core_rank <= min(terms, tucker_rank_upper_bound(ranks, (I, J)))


def test_tucker_bound_is_strict_for_a_rank_one_core():
    rng = np.random.default_rng(4)
    core = cp_to_tensor((None, [rng.integers(1, 10, size=(3, 1)) for _ in range(3)]))  # one outer product
    A = tucker_to_tensor((core, [identity_topped(rng, 4, 3) for _ in range(3)]))
    assert exact_matricization_rank(A, (0,)) == 1 < tucker_rank_upper_bound([3, 3, 3], ((0,), (1, 2))) == 3


def test_tucker_bound_on_examples_and_bad_arguments():
    assert tucker_rank_upper_bound([2, 3, 4], ((0, 1), (2,))) == 4
    assert tucker_rank_upper_bound([2, 3, 4], ((1,), (0, 2))) == 3
    assert tucker_rank_upper_bound((5, 5, 5, 5), ((0, 2), (1, 3))) == 25
    with pytest.raises(ValueError, match=r"ranks\[1\] must be at least 1, got 0"):
        tucker_rank_upper_bound([2, 0], ((0,), (1,)))
    with pytest.raises(TypeError, match="ranks must be a sequence of ints, got int"):
        tucker_rank_upper_bound(3, ((0,), (1,)))
    with pytest.raises(ValueError, match=r"partition must cover all 3 positions"):
        tucker_rank_upper_bound([2, 2, 2], ((0,), (1,)))


# -- tensor_train_rank_upper_bound -------------------------------------------------------------------

def brute_force_tt_cut(bonds, partition, dims):
    """Minimum over all 2^N assignments of the chain's nodes to the sides of the cut legs and bonds."""
    n = len(dims)
    in_I = set(partition[0])
    best = None
    for sides in itertools.product((0, 1), repeat=n):  # 0: the node is on I's side
        legs = prod(dims[i] for i in range(n) if sides[i] != (0 if i in in_I else 1))
        cut_bonds = prod(bonds[i] for i in range(n - 1) if sides[i] != sides[i + 1])
        best = legs * cut_bonds if best is None else min(best, legs * cut_bonds)
    return best


@st.composite
def tt_cases(draw, max_n=7, max_dim=4, max_bond=6):
    n = draw(st.integers(2, max_n))
    bonds = draw(st.lists(st.integers(1, max_bond), min_size=n - 1, max_size=n - 1))
    dims = draw(st.lists(st.integers(1, max_dim), min_size=n, max_size=n))
    return bonds, dims, draw(partitions(n))


@settings(max_examples=60)
@given(case=tt_cases())
def test_tensor_train_dynamic_program_equals_brute_force_over_assignments(case):
    bonds, dims, partition = case
    assert tensor_train_rank_upper_bound(bonds, partition, dims) == brute_force_tt_cut(bonds, partition, dims)


@SETTINGS
@given(case=tt_cases())
def test_tensor_train_bound_is_at_most_the_trivial_and_the_unfolding_bounds(case):
    bonds, dims, (I, J) = case
    bound = tensor_train_rank_upper_bound(bonds, (I, J), dims)
    assert bound <= min(prod(dims[i] for i in I), prod(dims[j] for j in J))
    if I == tuple(range(len(I))):  # a contiguous cut after k = |I| nodes: Oseledets' unfolding bound
        assert bound <= bonds[len(I) - 1]


def _random_tt(rng, bonds, dims, low=-2**8):
    ranks = [1, *bonds, 1]
    cores = [rng.integers(low, -low, size=(ranks[i], dims[i], ranks[i + 1])) for i in range(len(dims))]
    A = tt_to_tensor(cores)
    assert A.dtype == np.int64 and A.shape == tuple(dims)
    return A


@SETTINGS
@given(case=tt_cases(max_n=5, max_dim=3, max_bond=4), seed=st.integers(0, 2**32 - 1))
def test_exact_rank_of_a_random_tensor_train_never_exceeds_the_bound(case, seed):
    bonds, dims, (I, J) = case
    A = _random_tt(np.random.default_rng(seed), bonds, dims)
    assert exact_matricization_rank(A, I) <= tensor_train_rank_upper_bound(bonds, (I, J), dims)


@SETTINGS
@given(n=st.integers(2, 5), base=st.sampled_from([2, 3]), data=st.data())
def test_random_tensor_trains_attain_the_bound_when_dimensions_are_powers_of_one_integer(n, base, data):
    # Split every leg and bond of dimension b^k into k strands of dimension b. By Menger's theorem there
    # are as many edge-disjoint strand paths from the I legs to the J legs as the min-cut has strands;
    # cores that route each path as an identity (the cores are arbitrary tensors) give a matricization
    # of rank b^(min-cut strands), so the generic rank attains the bound (the argument of Levine et al.,
    # ICLR 2018, Thm. 2, on a chain).
    powers = [1, base, base**2] if base == 2 else [1, base]
    dims = data.draw(st.lists(st.sampled_from(powers), min_size=n, max_size=n), label="dims")
    bonds = data.draw(st.lists(st.sampled_from(powers + [base**2] if base == 2 else powers), min_size=n - 1,
                               max_size=n - 1), label="bonds")
    I, J = data.draw(partitions(n))
    A = _random_tt(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), bonds, dims)
    assert exact_matricization_rank(A, I) == tensor_train_rank_upper_bound(bonds, (I, J), dims)


@SETTINGS
@given(n=st.integers(2, 5), data=st.data())
def test_random_tensor_trains_with_feasible_ranks_attain_the_unfolding_bound(n, data):
    # Feasible ranks r_k <= min(r_{k-1} M_{k-1}, M_k r_{k+1}) (Oseledets 2011): the left interface matrices
    # (U_{k-1} (x) I_M) G_k have full column rank r_k for generic cores, so a contiguous cut after k nodes
    # has rank r_k; and every cut of the chain then weighs at least r_k (follow the chain from the cut
    # point to the first bond that changes sides), so the min-cut is r_k too.
    dims = data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n), label="dims")
    bonds = []
    for k in range(1, n):
        left = (bonds[-1] if bonds else 1) * dims[k - 1]
        bonds.append(data.draw(st.integers(1, min(left, prod(dims[k:]))), label=f"r_{k}"))
    for k in range(n - 2, -1, -1):  # also feasible from the right
        bonds[k] = min(bonds[k], dims[k + 1] * (bonds[k + 1] if k + 1 < n - 1 else 1))
    k = data.draw(st.integers(1, n - 1), label="cut")
    I, J = tuple(range(k)), tuple(range(k, n))
    A = _random_tt(np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))), bonds, dims)
    bound = tensor_train_rank_upper_bound(bonds, (I, J), dims)
    assert bound == bonds[k - 1] == exact_matricization_rank(A, I)


def test_tensor_train_bound_on_examples_and_bad_arguments():
    # A contiguous cut where the bond is not the cheapest cut: r_1 = 1 makes node 1 cheap to move, so the
    # bound is M r_1 = 3, below Oseledets' min(r_2, 3^2, 3^2) = 5 (the ranks are not feasible).
    assert tensor_train_rank_upper_bound([1, 5, 2], ((0, 1), (2, 3)), 3) == 3
    A = _random_tt(np.random.default_rng(0), [1, 5, 2], [3, 3, 3, 3])
    assert exact_matricization_rank(A, (0, 1)) == 3
    assert tensor_train_rank_upper_bound([2, 2, 2], ((0, 2), (1, 3)), [2, 2, 2, 2]) == 4
    assert tensor_train_rank_upper_bound([3], ((1,), (0,)), [5, 2]) == 2
    with pytest.raises(ValueError, match=r"mode_dims must have N = len\(bond_ranks\) \+ 1 = 3 entries, got 2"):
        tensor_train_rank_upper_bound([2, 2], ((0,), (1, 2)), [2, 2])
    with pytest.raises(ValueError, match="mode_dims must be at least 1"):
        tensor_train_rank_upper_bound([2, 2], ((0,), (1, 2)), 0)
    with pytest.raises(ValueError, match=r"bond_ranks\[0\] must be at least 1"):
        tensor_train_rank_upper_bound([0, 2], ((0,), (1, 2)), 2)
    with pytest.raises(ValueError, match=r"partition must cover all 3 positions"):
        tensor_train_rank_upper_bound([2, 2], ((0,), (1,)), 2)


# -- power_sum_rank_upper_bound --------------------------------------------------------------------------

POWER_PRIME = 65521  # residues below 2^16: products of two fit in int64, reduced after every product


class PowerSum:
    """f(x) = sum_z prod_i <a^{z,i}, x_i>^d over GF(65521), evaluated with int64 and a reduction per product."""

    def __init__(self, n, M, R, d, seed):
        self.n_inputs, self.input_dim, self.degree = n, M, d
        self.a = np.random.default_rng(seed).integers(0, POWER_PRIME, size=(R, n, M))

    def evaluate(self, X, p=None):
        assert p == POWER_PRIME
        X = np.asarray(X, dtype=np.int64) % p
        total = np.zeros(X.shape[0], dtype=np.int64)
        for a in self.a:  # one term z
            term = np.ones(X.shape[0], dtype=np.int64)
            for i in range(self.n_inputs):
                form = (X[:, i, :] * a[i]).sum(axis=1) % p
                for _ in range(self.degree):
                    term = term * form % p
            total = (total + term) % p
        return total


@settings(max_examples=20)
@given(n=st.integers(2, 4), M=st.integers(1, 3), R=st.integers(1, 40), data=st.data())
def test_power_sum_bound_is_the_exact_rank_of_the_grid_tensor(n, M, R, data):
    # Upper bound: the docstring's argument. Attained: each side's factors prod_i <a^{z,i}, x_i>^d are
    # points of a nondegenerate (Segre-Veronese) variety in the D^|side|-dimensional space of multi-
    # homogeneous forms, so min(R, D^|I|) generic ones are independent; with the surplus terms set to
    # zero this gives a weight setting of rank min(R, D^min(|I|,|J|)), hence so do generic weights. The
    # grid tensor on D generic templates keeps the rank (their degree-d evaluation matrix is invertible).
    d = data.draw(st.sampled_from([d for d in (1, 2, 3) if comb(M + d - 1, d) ** n <= 5000]), label="d")
    D = comb(M + d - 1, d)
    I, J = data.draw(partitions(n))
    seed = data.draw(st.integers(0, 2**32 - 1))
    model = PowerSum(n, M, R, d, seed)
    templates = np.random.default_rng(seed + 1).integers(0, POWER_PRIME, size=(D, M))
    grid = tl.grid_tensor(model, templates, n, p=POWER_PRIME)
    rank = tl.exact_rank(tl.matricize(grid, I), POWER_PRIME)
    assert rank == power_sum_rank_upper_bound(R, M, d, (I, J)) == min(R, D ** min(len(I), len(J)))


@SETTINGS
@given(R=st.integers(1, 50), M=st.integers(1, 4), n=st.integers(2, 6), data=st.data())
def test_power_sum_bound_with_degree_one_is_the_cp_rank(R, M, n, data):
    partition = data.draw(partitions(n))
    assert power_sum_rank_upper_bound(R, M, 1, partition) == sum_of_products_rank(R, M, partition)


def test_power_sum_bound_on_examples_and_bad_arguments():
    # D = C(M + d - 1, d) monomials of degree d in M variables: 3 for (M, d) = (2, 2), 10 for (3, 3).
    assert power_sum_rank_upper_bound(100, 2, 2, ((0, 1), (2, 3))) == 9
    assert power_sum_rank_upper_bound(7, 3, 3, ((0,), (1, 2))) == 7
    assert power_sum_rank_upper_bound(100, 3, 3, ((0,), (1, 2))) == 10
    with pytest.raises(ValueError, match="degree must be at least 1"):
        power_sum_rank_upper_bound(2, 2, 0, ((0,), (1,)))
    with pytest.raises(TypeError, match="terms must be an int"):
        power_sum_rank_upper_bound(2.0, 2, 1, ((0,), (1,)))
