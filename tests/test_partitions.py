"""Tests of tensorlib.partitions: the named partitions against their definitions, and validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorlib import balanced, left_right, odd_even, start_end, validate_partition

SETTINGS = settings(max_examples=40)
NAMED = [left_right, odd_even, start_end, balanced]


def _is_partition(partition, n):
    I, J = partition
    return (I == tuple(sorted(I)) and J == tuple(sorted(J)) and len(I) > 0 and len(J) > 0
            and not set(I) & set(J) and set(I) | set(J) == set(range(n)))


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 9, 16])
def test_left_right_puts_the_first_ceil_half_in_I(n):
    I, J = left_right(n)
    assert I == tuple(i for i in range(n) if i < (n + 1) // 2)
    assert J == tuple(j for j in range(n) if j >= (n + 1) // 2)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 9, 16])
def test_odd_even_puts_the_book_odd_positions_in_I(n):
    # the book's 1-based I^odd = {1, 3, 5, ...} is {0, 2, 4, ...} 0-based
    I, J = odd_even(n)
    assert tuple(i + 1 for i in I) == tuple(k for k in range(1, n + 1) if k % 2 == 1)
    assert tuple(j + 1 for j in J) == tuple(k for k in range(1, n + 1) if k % 2 == 0)


def test_named_partitions_on_small_examples():
    assert left_right(4) == ((0, 1), (2, 3))
    assert left_right(5) == ((0, 1, 2), (3, 4))
    assert odd_even(5) == ((0, 2, 4), (1, 3))
    assert start_end(6) == ((0, 1, 2), (3, 4, 5))


@pytest.mark.parametrize("n", [2, 3, 4, 7, 10])
def test_start_end_is_left_right(n):
    assert start_end(n) == left_right(n)


@SETTINGS
@given(n=st.integers(2, 40), seed=st.integers(0, 2**63))
def test_balanced_is_a_partition_with_floor_half_in_I(n, seed):
    partition = balanced(n, seed)
    assert _is_partition(partition, n)
    assert len(partition[0]) == n // 2


@SETTINGS
@given(n=st.integers(2, 40), seed=st.integers(0, 2**32 - 1))
def test_balanced_is_deterministic_for_a_seed_and_a_first_half_of_its_permutation(n, seed):
    assert balanced(n, seed) == balanced(n, np.int64(seed))
    perm = np.random.default_rng(seed).permutation(n)  # the documented construction
    assert balanced(n, seed)[0] == tuple(sorted(int(i) for i in perm[: n // 2]))


def test_balanced_draws_different_partitions_for_different_seeds():
    assert len({balanced(10, seed) for seed in range(20)}) > 10


@SETTINGS
@given(n=st.integers(2, 40), seed=st.integers(0, 100))
def test_named_partitions_are_valid_partitions(n, seed):
    for partition in (left_right(n), odd_even(n), start_end(n), balanced(n, seed)):
        assert _is_partition(partition, n)
        assert validate_partition(partition, n) == partition


# -- validate_partition -----------------------------------------------------------------------

@SETTINGS
@given(n=st.integers(2, 12), data=st.data())
def test_validate_partition_normalises_any_pair_of_iterables_to_sorted_tuples(n, data):
    I = data.draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n - 1), label="I")
    J = set(range(n)) - I
    expected = (tuple(sorted(I)), tuple(sorted(J)))
    perm_I = data.draw(st.permutations(sorted(I)), label="order of I")
    forms = [(perm_I, list(J)), [set(I), tuple(J)], (np.array(perm_I), np.array(sorted(J), dtype=np.int32)),
             (iter(perm_I), (j for j in J))]
    for form in forms:
        out = validate_partition(form, n)
        assert out == expected
        assert all(type(i) is int for side in out for i in side)


def test_validate_partition_accepts_numpy_integer_n():
    assert validate_partition(((1,), (0,)), np.int64(2)) == ((1,), (0,))


@pytest.mark.parametrize("partition, exc, msg", [
    (((0, 1), (1, 2)), ValueError, r"partition sides must be disjoint; both contain \[1\]"),
    (((0,), (2,)), ValueError, r"partition must cover all 3 positions; missing \[1\]"),
    (((0, 1), (2, 3)), ValueError, r"partition positions must lie in range\(3\) \(0-based\), got \[3\]"),
    (((-1, 0), (1, 2)), ValueError, r"partition positions must lie in range\(3\).*got \[-1\]"),
    (((), (0, 1, 2)), ValueError, "partition sides must both be non-empty"),
    (((0, 1, 2), []), ValueError, "partition sides must both be non-empty"),
    (((0, 0), (1, 2)), ValueError, r"partition side I repeats a position: \[0, 0\]"),
    (((0,), (1,), (2,)), ValueError, r"partition must be a pair \(I, J\), got 3 parts"),
    (((0, 1, 2),), ValueError, r"partition must be a pair \(I, J\), got 1 parts"),
    (((0, 1.0), (2,)), TypeError, "partition side I must contain ints, got 1.0"),
    (((0, 1), ("2",)), TypeError, "partition side J must contain ints, got '2'"),
    (((0, True), (2,)), TypeError, "partition side I must contain ints, got True"),
    (((0, 1), 2), TypeError, "partition side J must be an iterable of ints, got int"),
    (("01", (2,)), TypeError, "partition side I must be an iterable of ints, got str"),
    ("01", TypeError, r"partition must be a pair \(I, J\) of position tuples, got str"),
    (3, TypeError, r"partition must be a pair \(I, J\) of position tuples, got int"),
    (None, TypeError, r"partition must be a pair \(I, J\) of position tuples, got NoneType"),
])
def test_validate_partition_rejects_bad_partitions(partition, exc, msg):
    with pytest.raises(exc, match=msg):
        validate_partition(partition, 3)


@pytest.mark.parametrize("n, exc, msg", [(1, ValueError, "n must be at least 2"), (0, ValueError, "n must be at least 2"),
                                         (3.0, TypeError, "n must be an int, got float"),
                                         (True, TypeError, "n must be an int, got bool"),
                                         ("3", TypeError, "n must be an int, got str")])
def test_validate_partition_rejects_bad_n(n, exc, msg):
    with pytest.raises(exc, match=msg):
        validate_partition(((0,), (1,)), n)


@pytest.mark.parametrize("fn", NAMED)
@pytest.mark.parametrize("n, exc, msg", [(1, ValueError, "n must be at least 2"),
                                         (-4, ValueError, "n must be at least 2"),
                                         (4.0, TypeError, "n must be an int, got float"),
                                         (None, TypeError, "n must be an int, got NoneType")])
def test_named_partitions_reject_bad_n(fn, n, exc, msg):
    with pytest.raises(exc, match=msg):
        fn(n)


@pytest.mark.parametrize("seed, exc, msg", [(-1, ValueError, "seed must be a non-negative int"),
                                            (1.0, TypeError, "seed must be an int, got float"),
                                            ("0", TypeError, "seed must be an int, got str"),
                                            (None, TypeError, "seed must be an int, got NoneType"),
                                            (False, TypeError, "seed must be an int, got bool")])
def test_balanced_rejects_bad_seeds(seed, exc, msg):
    with pytest.raises(exc, match=msg):
        balanced(6, seed)
