"""Coursework: the answer check of the exercises, and the tooling for instructors.

* :func:`check` (in ``tensorlib/coursework/checking.py``) is what a chapter's check cells call. It
  needs only NumPy, and importing this package imports nothing else, so students can use it in
  plain Jupyter or Colab.
* The tools (they need ``nbformat`` and ``nbclient``, which come with Jupyter) are imported on first
  use: :func:`make_student_version` and :func:`write_versions` (``student.py``),
  :func:`grade_submissions` (``grade.py``, running notebooks with ``execute.py``), and the command
  line::

      python -m tensorlib.coursework student chapters/ student/
      python -m tensorlib.coursework instructor chapters/ instructor/
      python -m tensorlib.coursework grade SUBMISSIONS --handout student/ --out grades.csv

The conventions a chapter follows are in ``conventions.py``; the workflow is
described on the book's "For instructors" page.
"""

from __future__ import annotations

import importlib
from typing import Any

from .checking import CheckResult, check

__all__ = ["CheckResult", "check", "make_student_version", "write_versions", "grade_submissions"]

_TOOLS = {"make_student_version": "student", "write_versions": "student", "grade_submissions": "grade"}


def __getattr__(name: str) -> Any:
    """The tools, imported when first asked for, so that ``check`` never needs nbformat or nbclient."""
    if name in _TOOLS:
        return getattr(importlib.import_module(f".{_TOOLS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_TOOLS))
