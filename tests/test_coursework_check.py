"""Tests of tensorlib.coursework.check, the answer check of the exercises (tensorlib/coursework/checking.py)."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorlib.coursework import CheckResult, check

SETTINGS = settings(max_examples=50)  # derandomized by the profile of tests/conftest.py


def test_none_answer_is_not_yet_answered():
    result = check("3.1", None, 4, show=False)
    assert result.status == "not answered" and not result.passed and result.exercise == "3.1"
    assert result.message.startswith("Exercise 3.1: not yet answered")


def test_correct_answer_passes_and_prints_the_message(capsys):
    result = check("2.4", 4, 4)
    assert result.passed and result.status == "correct"
    assert capsys.readouterr().out == "Exercise 2.4: correct\n"
    assert repr(result) == result.message == "Exercise 2.4: correct"


def test_wrong_answer_shows_the_answer_and_the_hint(capsys):
    result = check("2.5", 3, 4, hint="count the rows of the matricization")
    assert result.status == "incorrect" and not result.passed
    out = capsys.readouterr().out
    assert out == ("Exercise 2.5: not correct yet (your answer: 3). Hint: count the rows of the matricization\n")
    assert "Hint" not in check("2.5", 3, 4, show=False).message


def test_show_false_prints_nothing(capsys):
    check("1.1", 1, 1, show=False)
    check("1.1", None, 1, show=False)
    check("1.1", 2, 1, show=False)
    assert capsys.readouterr().out == ""


def test_check_result_is_frozen():
    result = check("1.1", 1, 1, show=False)
    assert isinstance(result, CheckResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.status = "incorrect"


@SETTINGS
@given(value=st.integers(-10**12, 10**12))
def test_integer_answers_pass_exactly_when_equal(value):
    assert check("1.1", value, value, show=False).passed
    assert check("1.1", np.int64(value), value, show=False).passed
    assert check("1.1", value, np.int64(value), show=False).passed
    assert not check("1.1", value + 1, value, show=False).passed


@pytest.mark.parametrize("answer, expected", [
    ([1, 2, 3], np.array([1, 2, 3])),
    (np.array([[1, 0], [0, 1]]), np.eye(2)),
    ((4, 9), [4, 9]),
    (2.5, np.float64(2.5)),
])
def test_equal_numeric_values_of_any_container_pass(answer, expected):
    assert check("1.1", answer, expected, show=False).passed


@pytest.mark.parametrize("answer, expected", [
    ([1, 2], [1, 2, 3]),  # shape differs
    ([[1, 2]], [1, 2]),   # shape differs, same entries
    (np.nan, np.nan),     # NaN is never a correct answer
    (1.0000001, 1.0),     # exact equality by default
])
def test_unequal_numeric_values_fail(answer, expected):
    assert check("1.1", answer, expected, show=False).status == "incorrect"


@SETTINGS
@given(expected=st.floats(0.1, 1e6), rel=st.floats(-0.5, 0.5))
def test_rtol_accepts_exactly_the_answers_within_the_relative_tolerance(expected, rel):
    answer = expected * (1 + rel)
    rtol = 0.01
    assert check("1.1", answer, expected, rtol=rtol, show=False).passed == (abs(answer - expected) <= rtol * abs(expected))


def test_rtol_has_no_absolute_slack_at_zero():
    assert not check("1.1", 1e-300, 0.0, rtol=0.5, show=False).passed
    assert check("1.1", 0.0, 0.0, rtol=0.5, show=False).passed


def test_string_expected_needs_the_same_string():
    assert check("1.1", "odd-even", "odd-even", show=False).passed
    assert not check("1.1", "left-right", "odd-even", show=False).passed
    assert not check("1.1", ["odd-even"], "odd-even", show=False).passed
    assert not check("1.1", np.array([1, 2]), "odd-even", show=False).passed


def test_bool_expected_needs_a_bool():
    assert check("1.1", True, True, show=False).passed
    assert check("1.1", np.True_, True, show=False).passed
    assert check("1.1", False, np.bool_(False), show=False).passed
    assert not check("1.1", 1, True, show=False).passed
    assert not check("1.1", 0, False, show=False).passed
    assert not check("1.1", "True", True, show=False).passed


def test_a_number_written_as_a_string_is_not_the_number():
    assert not check("1.1", "3", 3, show=False).passed
    assert not check("1.1", ["3"], [3], show=False).passed


def test_a_bool_is_not_a_rank():
    assert not check("1.1", True, 1, show=False).passed
    assert not check("1.1", False, 0, show=False).passed


def test_non_numeric_expected_values_compare_with_equality():
    assert check("1.1", {"I": (0, 1)}, {"I": (0, 1)}, show=False).passed
    assert not check("1.1", {"I": (0,)}, {"I": (0, 1)}, show=False).passed
    assert check("1.1", [[1], [1, 2]], [[1], [1, 2]], show=False).passed  # ragged


answers = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
    st.lists(st.integers(-3, 3), max_size=4), st.lists(st.lists(st.integers(), max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2), st.just(object()), st.just(np.array([1, "a"], dtype=object)),
    st.builds(lambda n: np.arange(n), st.integers(0, 4)), st.just(1 + 2j), st.just(np.zeros((2, 2))),
)
expecteds = st.one_of(
    st.integers(), st.floats(allow_nan=False), st.text(max_size=5), st.booleans(), st.just(np.eye(2)),
    st.lists(st.integers(-3, 3), max_size=4), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.just(np.array([1, "a"], dtype=object)),
)


@SETTINGS
@given(answer=answers, expected=expecteds, rtol=st.sampled_from([0.0, 1e-3]))
def test_check_never_raises_whatever_the_answer(answer, expected, rtol):
    result = check("1.1", answer, expected, rtol=rtol, show=False)
    assert result.status in {"correct", "incorrect", "not answered"}
    assert (result.status == "not answered") == (answer is None)


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(exercise=3), TypeError, "exercise must be a str such as '3.2', got int"),
    (dict(exercise=None), TypeError, "exercise must be a str"),
    (dict(expected=None), TypeError, "expected must be the reference value of exercise 1.1, got None"),
    (dict(rtol=-0.1), ValueError, "rtol must be a finite non-negative number, got -0.1"),
    (dict(rtol=np.nan), ValueError, "rtol must be a finite non-negative number"),
    (dict(rtol=np.inf), ValueError, "rtol must be a finite non-negative number"),
    (dict(rtol="1e-3"), TypeError, "rtol must be a non-negative number, got str"),
    (dict(rtol=True), TypeError, "rtol must be a non-negative number, got bool"),
    (dict(kind="int"), TypeError, "kind must be int, float, bool, str, or a non-empty tuple or list"),
    (dict(kind=()), TypeError, "kind must be int"),
    (dict(kind=(int, dict)), TypeError, "kind must be int"),
    (dict(kind=int, rule=lambda a: True), TypeError, "rule must be a pair"),
    (dict(kind=int, rule=(lambda a: True, 3)), TypeError, "rule must be a pair"),
    (dict(rule=(lambda a: True, "of at least 1")), TypeError, "a rule needs a kind"),
    (dict(hint=3), TypeError, "hint must be a str, got int"),
])
def test_check_rejects_mistakes_of_the_notebook_author(kwargs, exc, msg):
    args = dict(exercise="1.1", answer=3, expected=3)
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        check(args.pop("exercise"), args.pop("answer"), args.pop("expected"), show=False, **args)


def test_check_without_expected_needs_a_kind():
    with pytest.raises(TypeError, match="give expected .* or kind"):
        check("1.1", 3, show=False)


# -- the visible part of a check: kind and rule, without expected --------------------------------

def test_well_formed_answer_without_expected_is_answered_not_correct(capsys):
    result = check("3.1", 16, kind=int)
    assert result.status == "answered" and not result.passed
    assert capsys.readouterr().out == ("Exercise 3.1: answered (an int, as asked); "
                                       "its value is checked when your notebook is graded\n")


def test_answered_message_names_the_form_and_the_rule():
    rule = (lambda a: a[0] <= a[1] <= a[2], "with lower <= rank <= upper")
    message = check("4.5", (4, 8, 8), kind=(int, int, int), rule=rule, show=False).message
    assert message.startswith("Exercise 4.5: answered (a triple of ints with lower <= rank <= upper, as asked)")


def test_none_is_not_answered_whatever_the_kind():
    assert check("1.1", None, kind=(int, int), show=False).status == "not answered"


@pytest.mark.parametrize("answer, kind, description", [
    ("16", int, "an int"),
    (16.0, int, "an int"),
    (True, int, "an int"),
    ((1, 2, 3), (int, int), "a pair of ints"),
    ([1, "2"], [int, int], "a pair of ints"),
    (np.zeros((2, 2), dtype=int), (int, int), "a pair of ints"),
    ([1] * 8, [int] * 9, "a list of 9 ints"),
    (1, bool, "a bool"),
    (3, str, "a str"),
    ("x", float, "a number"),
    ((1, 2.5), (int, str), "a list of 2 items: an int, a str"),
])
def test_answer_of_the_wrong_form_is_incorrect_and_says_the_form(answer, kind, description):
    result = check("2.2", answer, kind=kind, hint="count again", show=False)
    assert result.status == "incorrect"
    assert result.message == (f"Exercise 2.2: not correct yet: the answer should be {description} "
                              f"(your answer: {answer!r}). Hint: count again")


@pytest.mark.parametrize("answer, kind", [
    (3, int), (np.int64(3), int), (np.uint8(3), int), (3, float), (2.5, float), (np.float32(2.5), float),
    (True, bool), (np.False_, bool), ("odd-even", str), ((1, 2), (int, int)), ([1, 2], (int, int)),
    (np.array([1, 2]), (int, int)), ((1, 2.5, "a"), (int, float, str)), (((1, 2), 3), ((int, int), int)),
])
def test_answer_of_the_right_form_is_answered(answer, kind):
    assert check("2.2", answer, kind=kind, show=False).status == "answered"


def test_rule_is_checked_after_the_kind_and_its_failure_says_the_rule():
    rule = (lambda a: 1 <= a <= 81, "between 1 and 81")
    assert check("3.1", 16, kind=int, rule=rule, show=False).status == "answered"
    result = check("3.1", 100, kind=int, rule=rule, show=False)
    assert result.status == "incorrect"
    assert result.message == "Exercise 3.1: not correct yet: the answer should be an int between 1 and 81 (your answer: 100)."
    # the predicate only ever sees well-formed answers: "16" fails the kind, not the comparison
    assert "should be an int between 1 and 81" in check("3.1", "16", kind=int, rule=rule, show=False).message


def test_rule_that_raises_counts_as_broken_never_raises():
    result = check("1.1", (1, 2), kind=(int, int), rule=(lambda a: 1 / 0, "with a broken rule"), show=False)
    assert result.status == "incorrect"


def test_with_expected_the_kind_and_rule_still_apply_first():
    rule = (lambda a: a >= 1, "of at least 1")
    assert check("3.1", 16, 16, kind=int, rule=rule, show=False).status == "correct"
    assert check("3.1", 15, 16, kind=int, rule=rule, show=False).message == "Exercise 3.1: not correct yet (your answer: 15)."
    assert "should be an int" in check("3.1", 16.0, 16, kind=int, show=False).message
    assert check("3.1", 16.0, 16, show=False).status == "correct"  # without kind, 16.0 equals 16


@SETTINGS
@given(answer=answers, kind=st.sampled_from([int, float, bool, str, (int, int), [int] * 3, ((int, int), str)]))
def test_check_without_expected_never_raises_and_never_says_correct(answer, kind):
    result = check("1.1", answer, kind=kind, rule=(lambda a: a == a, "equal to itself"), show=False)
    assert result.status in {"answered", "incorrect", "not answered"}
