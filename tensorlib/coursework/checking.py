"""The answer check of the exercises: :func:`check` and its result, :class:`CheckResult`.

This module needs only NumPy, so a student's notebook (plain Jupyter or Colab) can import
:func:`check` without any of the notebook tooling.

A check has two parts, and a master notebook's check cell uses both:

* the *visible* part, which the student version keeps: the answer's form (``kind``, e.g. an int or
  a pair of ints) and an optional ``rule`` that a right answer must satisfy and that does not give
  the value away (a range, or a consistency condition such as ``lower <= rank <= upper``);
* the *hidden* part, ``expected``: the reference value, computed in the cell between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` lines, which the student version drops and
  grading puts back (see :mod:`tensorlib.coursework.student` and :mod:`tensorlib.coursework.grade`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["CheckResult", "check", "STATUS_PHRASES"]

#: The first words of every message after ``"Exercise <id>: "``, by status; grading reads them back.
STATUS_PHRASES = {
    "correct": "correct",
    "incorrect": "not correct yet",
    "not answered": "not yet answered",
    "answered": "answered",
}

_SCALAR_KINDS = {int: ("an int", "ints"), float: ("a number", "numbers"), bool: ("a bool", "bools"),
                 str: ("a str", "strs")}
_NOTHING = object()  # "no expected value given": the student version of a check

Kind = Union[type, Sequence[Any]]
Rule = Tuple[Callable[[Any], bool], str]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :func:`check`.

    ``status`` is ``"correct"`` or ``"incorrect"`` (compared with the expected value, or the answer
    has the wrong form or breaks the rule), ``"not answered"`` (the answer is None) or ``"answered"``
    (well formed, and no expected value to compare with: the student version of a hidden check).
    """

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        """Whether the answer was compared with the expected value and found equal."""
        return self.status == "correct"

    def __repr__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:
        """Show nothing: :func:`check` has printed the message already, so a bare ``check(...)`` as a
        cell's last line prints it once, not twice."""


def _same(answer: Any, expected: Any) -> bool:
    """``answer == expected`` as a plain bool; False when the comparison fails or is ambiguous (arrays)."""
    try:
        return bool(answer == expected)
    except Exception:
        return False


def _equal(answer: Any, expected: Any, rtol: float) -> bool:
    if isinstance(expected, (str, bytes)):
        return isinstance(answer, type(expected)) and answer == expected
    if isinstance(expected, (bool, np.bool_)):
        return isinstance(answer, (bool, np.bool_)) and bool(answer) == bool(expected)
    if isinstance(answer, (str, bytes, bool, np.bool_)):
        return False  # "3" is not the number 3, and True is not the rank 1
    try:
        a = np.asarray(answer, dtype=float)
        e = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return _same(answer, expected)
    if np.asarray(answer).dtype.kind in "USO":  # strings inside a list or array
        return _same(answer, expected)
    if a.shape != e.shape:
        return False
    return bool(np.allclose(a, e, rtol=rtol, atol=0.0)) if rtol else bool(np.array_equal(a, e))


# -- the answer's form ----------------------------------------------------------------------------

def _validate_kind(kind: Any, exercise: str) -> None:
    if isinstance(kind, type) and kind in _SCALAR_KINDS:
        return
    if isinstance(kind, (tuple, list)) and kind:
        for item in kind:
            _validate_kind(item, exercise)
        return
    raise TypeError(f"exercise {exercise}: kind must be int, float, bool, str, or a non-empty tuple or list "
                    f"of kinds such as (int, int), got {kind!r}")


def _describe(kind: Kind) -> str:
    """``int`` -> "an int", ``(int, int)`` -> "a pair of ints", ``[int] * 9`` -> "a list of 9 ints"."""
    if isinstance(kind, type):
        return _SCALAR_KINDS[kind][0]
    items = list(kind)
    if all(isinstance(item, type) and item is items[0] for item in items):
        plural = _SCALAR_KINDS[items[0]][1]
        return {1: f"a list of one {plural[:-1]}", 2: f"a pair of {plural}", 3: f"a triple of {plural}"}.get(
            len(items), f"a list of {len(items)} {plural}")
    return f"a list of {len(items)} items: " + ", ".join(_describe(item) for item in items)


def _has_kind(answer: Any, kind: Kind) -> bool:
    if kind is int:
        return isinstance(answer, (int, np.integer)) and not isinstance(answer, (bool, np.bool_))
    if kind is float:
        return isinstance(answer, (int, float, np.integer, np.floating)) and not isinstance(answer, (bool, np.bool_))
    if kind is bool:
        return isinstance(answer, (bool, np.bool_))
    if kind is str:
        return isinstance(answer, str)
    if isinstance(answer, np.ndarray):
        if answer.ndim != 1:
            return False
        answer = list(answer)
    if not isinstance(answer, (tuple, list)) or len(answer) != len(kind):
        return False
    return all(_has_kind(item, item_kind) for item, item_kind in zip(answer, kind))


def _validate_rule(rule: Any, exercise: str) -> None:
    if not (isinstance(rule, tuple) and len(rule) == 2 and callable(rule[0]) and isinstance(rule[1], str)):
        raise TypeError(f"exercise {exercise}: rule must be a pair (predicate, description), e.g. "
                        f"(lambda a: a >= 1, 'of at least 1'), got {rule!r}")


def _obeys(answer: Any, predicate: Callable[[Any], bool]) -> bool:
    try:
        return bool(predicate(answer))
    except Exception:  # a rule that cannot even be evaluated on this answer is not satisfied
        return False


def _validate_author_arguments(exercise: Any, expected: Any, kind: Any, rule: Any, hint: Any, rtol: Any) -> None:
    if not isinstance(exercise, str):
        raise TypeError(f"exercise must be a str such as '3.2', got {type(exercise).__name__}")
    if expected is None:
        raise TypeError(f"expected must be the reference value of exercise {exercise}, got None")
    if expected is _NOTHING and kind is None:
        raise TypeError(f"exercise {exercise}: give expected (the reference value, hidden from students) "
                        f"or kind (the answer's form, e.g. int), or both")
    if kind is not None:
        _validate_kind(kind, exercise)
    if rule is not None:
        if kind is None:
            raise TypeError(f"exercise {exercise}: a rule needs a kind, so that it sees a well-formed answer")
        _validate_rule(rule, exercise)
    if hint is not None and not isinstance(hint, str):
        raise TypeError(f"hint must be a str, got {type(hint).__name__}")
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.integer, np.floating)):
        raise TypeError(f"rtol must be a non-negative number, got {type(rtol).__name__}")
    if not np.isfinite(rtol) or rtol < 0:
        raise ValueError(f"rtol must be a finite non-negative number, got {rtol}")


def check(exercise: str, answer: Any, expected: Any = _NOTHING, *, kind: Optional[Kind] = None,
          rule: Optional[Rule] = None, hint: Optional[str] = None, rtol: float = 0.0,
          show: bool = True) -> CheckResult:
    """Check one answer: print (and return) a message; never raises because of the answer.

    The answer is checked in this order, and the first failure is reported: not None; of the form
    ``kind``; satisfying ``rule``; equal to ``expected``. Without ``expected`` (the student version
    of a check whose expected value is hidden) a well-formed answer is reported as "answered": its
    value is checked when the notebook is graded.

    Parameters
    ----------
    exercise : str
        The exercise's number, e.g. ``"3.2"``.
    answer : object
        The student's answer; ``None`` means "not yet answered".
    expected : object, optional
        The reference value, computed in the notebook independently of the answer (a theorem's
        closed form, or an independent computation), never typed in. In a master notebook it is
        given between hidden-test markers, so students never see it.
    kind : type or tuple or list, optional
        The answer's form: ``int`` (a Python or NumPy integer, not a bool), ``float`` (any real
        number), ``bool`` or ``str``; a tuple or list of kinds is a sequence (tuple, list or 1-D
        array) of that length, e.g. ``(int, int)`` for a pair of ints or ``[int] * 9``.
        Required when ``expected`` is not given.
    rule : (callable, str), optional
        A condition every right answer satisfies and that does not reveal the value, with its
        description as it reads after the kind, e.g.
        ``(lambda a: a[0] <= a[1] <= a[2], "with lower bound <= rank <= upper bound")``. The
        predicate sees only answers of the right ``kind``; one that raises counts as not satisfied.
    hint : str, optional
        Shown when the answer is wrong.
    rtol : float
        Relative tolerance for numeric answers (default: exact equality).
    show : bool
        Print the message (default True).

    Returns
    -------
    CheckResult
        With ``status`` ``"correct"``, ``"incorrect"``, ``"not answered"`` or ``"answered"``.

    Raises
    ------
    TypeError, ValueError
        Only for a mistake of the notebook's author (``exercise`` not a str, ``expected`` None,
        neither ``expected`` nor ``kind``, a malformed ``kind`` or ``rule``, ``rtol`` not a finite
        non-negative number); whatever the *answer*, ``check`` never raises.
    """
    _validate_author_arguments(exercise, expected, kind, rule, hint, rtol)
    form = _describe(kind) + (f" {rule[1]}" if rule is not None else "") if kind is not None else ""
    detail = f" Hint: {hint}" if hint else ""
    prefix = f"Exercise {exercise}: "
    if answer is None:
        status, text = "not answered", "(fill in the answer cell above, then re-run this cell)"
    elif kind is not None and not (_has_kind(answer, kind) and (rule is None or _obeys(answer, rule[0]))):
        status, text = "incorrect", f": the answer should be {form} (your answer: {answer!r}).{detail}"
    elif expected is _NOTHING:
        status, text = "answered", f"({form}, as asked); its value is checked when your notebook is graded"
    elif _equal(answer, expected, rtol):
        status, text = "correct", ""
    else:
        status, text = "incorrect", f"(your answer: {answer!r}).{detail}"
    phrase = STATUS_PHRASES[status]
    separator = "" if not text or text.startswith(":") else " "
    result = CheckResult(exercise, status, prefix + phrase + separator + text)
    if show:
        print(result.message)
    return result
