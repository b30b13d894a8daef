"""Tests of tensorlib.checks: the argument checks every entry point shares.

Each check returns the value normalised (a Python int or bool) or raises a TypeError/ValueError whose
message names the argument and says what was expected.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tensorlib.checks import check_bool, check_int, check_int_list, check_seed


@given(value=st.integers(-2**70, 2**70), minimum=st.one_of(st.none(), st.integers(-5, 5)))
def test_check_int_returns_python_ints_at_or_above_the_minimum(value, minimum):
    if minimum is not None and value < minimum:
        with pytest.raises(ValueError, match=f"width must be at least {minimum}, got {value}"):
            check_int(value, "width", minimum)
    else:
        out = check_int(value, "width", minimum)
        assert out == value and type(out) is int


@pytest.mark.parametrize("value", [np.int8(3), np.int64(3), np.uint64(3), np.int32(3)])
def test_check_int_accepts_numpy_integers_and_returns_int(value):
    out = check_int(value, "width", 1)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value, kind", [(1.0, "float"), (True, "bool"), (np.bool_(True), "bool"), ("3", "str"),
                                         (None, "NoneType"), (np.float64(2.0), "float64"), ([3], "list")])
def test_check_int_refuses_non_ints_naming_the_argument_and_the_type(value, kind):
    with pytest.raises(TypeError, match=f"width must be an int, got {kind}"):
        check_int(value, "width", 1)


def test_check_int_appends_the_reason_to_the_message():
    with pytest.raises(ValueError, match=r"n_inputs must be at least 2 \(a partition needs two sides\), got 1"):
        check_int(1, "n_inputs", 2, "(a partition needs two sides)")


@pytest.mark.parametrize("value", [True, False, np.bool_(True), np.bool_(False)])
def test_check_bool_returns_python_bools(value):
    out = check_bool(value, "shared")
    assert out == bool(value) and type(out) is bool


@pytest.mark.parametrize("value, kind", [(1, "int"), (0, "int"), ("yes", "str"), (None, "NoneType"), (1.0, "float")])
def test_check_bool_refuses_everything_else(value, kind):
    with pytest.raises(TypeError, match=f"shared must be a bool, got {kind}"):
        check_bool(value, "shared")


def test_check_seed_accepts_non_negative_ints_for_default_rng():
    assert check_seed(0) == 0 and check_seed(np.int64(7)) == 7 and check_seed(2**64) == 2**64
    np.random.default_rng(check_seed(2**64))  # numpy accepts it
    with pytest.raises(ValueError, match=r"seed must be at least 0 \(a seed for numpy.random.default_rng\), got -1"):
        check_seed(-1)
    with pytest.raises(TypeError, match="seed must be an int, got float"):
        check_seed(1.5)
    with pytest.raises(TypeError, match="rng_seed must be an int, got str"):
        check_seed("0", "rng_seed")


@given(values=st.lists(st.integers(1, 50), max_size=6))
def test_check_int_list_returns_a_list_of_ints(values):
    for form in (values, tuple(values), np.array(values, dtype=np.int64), iter(values)):
        out = check_int_list(form, "widths")
        assert out == values and all(type(v) is int for v in out)


@pytest.mark.parametrize("values, exc, msg", [
    ("23", TypeError, "widths must be a sequence of ints, got str"),
    (b"23", TypeError, "widths must be a sequence of ints, got bytes"),
    (3, TypeError, "widths must be a sequence of ints, got int"),
    (None, TypeError, "widths must be a sequence of ints, got NoneType"),
    ([2, 0, 3], ValueError, r"widths\[1\] must be at least 1, got 0"),
    ([2, 2.0], TypeError, r"widths\[1\] must be an int, got float"),
    ([True], TypeError, r"widths\[0\] must be an int, got bool"),
])
def test_check_int_list_names_the_bad_entry(values, exc, msg):
    with pytest.raises(exc, match=msg):
        check_int_list(values, "widths")


def test_check_int_list_minimum():
    assert check_int_list([0, 3], "sizes", 0) == [0, 3]
    with pytest.raises(ValueError, match=r"sizes\[0\] must be at least 2, got 1"):
        check_int_list([1], "sizes", 2)
