"""Graded exercises: answer checks, and student versions of the chapters.

Conventions in a chapter notebook (the master version):

* An exercise is a markdown cell with a ``{exercise}`` directive (sphinx-exercise) and a label
  such as ``ex-ch3-shallow-width``.
* Its solution is a markdown cell with a ``{solution}`` directive, tagged ``solution``.
* A computational exercise has an *answer cell*, tagged ``answer``: it first sets the answer
  variable to ``None``, then holds the solution between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION`` lines (nbgrader's markers).
* The next cell, tagged ``check``, calls :func:`check` with the answer and a value computed
  independently (a theorem's formula from :mod:`tensorlib.bounds`, or a tensorlib computation),
  never a typed constant.

A student version drops the ``solution`` cells, strips the solution lines from ``answer`` cells
and clears all outputs, so it runs top to bottom with every check saying "not yet answered".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

__all__ = ["CheckResult", "check"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :func:`check`: ``status`` is ``"correct"``, ``"incorrect"`` or ``"not answered"``."""

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
        return self.status == "correct"

    def __repr__(self) -> str:  # what a notebook shows if the result is the cell's last value
        return self.message


def _equal(answer: Any, expected: Any, rtol: float) -> bool:
    if isinstance(expected, (str, bool)):
        return answer == expected
    try:
        a = np.asarray(answer, dtype=float)
        e = np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return answer == expected
    if a.shape != e.shape:
        return False
    return bool(np.allclose(a, e, rtol=rtol, atol=0.0)) if rtol else bool(np.array_equal(a, e))


def check(exercise: str, answer: Any, expected: Any, *, hint: Optional[str] = None, rtol: float = 0.0,
          show: bool = True) -> CheckResult:
    """Grade one answer: print (and return) a pass/fail message, never raise.

    Parameters
    ----------
    exercise : str
        The exercise's number, e.g. ``"3.2"``.
    answer : object
        The student's answer; ``None`` means "not yet answered".
    expected : object
        The reference value, computed in the notebook independently of the answer.
    hint : str, optional
        Shown when the answer is wrong.
    rtol : float
        Relative tolerance for numeric answers (default: exact equality).
    show : bool
        Print the message (default True).
    """
    if answer is None:
        result = CheckResult(exercise, "not answered",
                             f"Exercise {exercise}: not yet answered (fill in the answer cell above, then re-run this cell)")
    elif _equal(answer, expected, rtol):
        result = CheckResult(exercise, "correct", f"Exercise {exercise}: correct")
    else:
        detail = f" Hint: {hint}" if hint else ""
        result = CheckResult(exercise, "incorrect",
                             f"Exercise {exercise}: not correct yet (your answer: {answer!r}).{detail}")
    if show:
        print(result.message)
    return result
