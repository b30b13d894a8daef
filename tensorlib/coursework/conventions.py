"""How a chapter notebook marks its exercises, read the same way by the student-version tool and the grader.

A *master* notebook (``chapters/*.ipynb``) holds, for each exercise:

* a markdown cell with a ``{exercise}`` directive (sphinx-exercise) and a label ``ex-chN-name``;
* its solution, a markdown cell with a ``{solution}`` directive, tagged ``solution``. Code cells that
  exist only for the solution's text (``glue`` calls for the numbers it quotes, asserts behind its
  claims) are tagged ``solution`` too (and ``remove-input``);
* for a computational exercise, an *answer cell* tagged ``answer``: it sets the answer variable to
  ``None``, then holds the solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` lines;
* right after it, a *check cell* tagged ``check`` that calls :func:`~tensorlib.coursework.check`
  with the exercise's number as a string literal. Whatever computes or reveals the expected value
  stands between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` lines (nbgrader's
  markers), whole lines, possibly inside the call's argument list; what is left must still be a
  valid cell that checks the answer's form. The check cell's metadata may give the exercise's
  points (``"points": 2``; default 1).

This module has no dependency beyond the standard library: it reads cells as dicts.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

SOLUTION_TAG = "solution"
ANSWER_TAG = "answer"
CHECK_TAG = "check"
POINTS_KEY = "points"
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"

# Lenient on purpose (any number of #, any case, surrounding blanks): a misspelt marker that went
# unrecognized would leak a solution or a hidden test into the student version.
BEGIN_SOLUTION_LINE = re.compile(r"^\s*#+\s*BEGIN\s+SOLUTION\s*$", re.IGNORECASE)
END_SOLUTION_LINE = re.compile(r"^\s*#+\s*END\s+SOLUTION\s*$", re.IGNORECASE)
BEGIN_HIDDEN_LINE = re.compile(r"^\s*#+\s*BEGIN\s+HIDDEN\s+TESTS?\s*$", re.IGNORECASE)
END_HIDDEN_LINE = re.compile(r"^\s*#+\s*END\s+HIDDEN\s+TESTS?\s*$", re.IGNORECASE)

# The exercise named by a check call, read without parsing (a tampered cell need not be valid Python).
CHECK_CALL = re.compile(r"""\bcheck\(\s*(?P<quote>['"])(?P<exercise>[^'"\n]+)(?P=quote)""")


def tags(cell: Any) -> list:
    """The cell's tags. A single string (a hand-edited notebook's ``"tags": "solution"``) is one tag:
    ignoring it would leave a solution in the student version."""
    value = cell.get("metadata", {}).get("tags", [])
    if isinstance(value, str):
        return [value]
    return list(value) if isinstance(value, (list, tuple)) else []


def source(cell: Any) -> str:
    value = cell.get("source", "")
    return "".join(value) if isinstance(value, list) else str(value)


def cell_label(name: str, index: int, cell: Any) -> str:
    first = next((line.strip() for line in source(cell).splitlines() if line.strip()), "")
    return f"{name}, cell {index + 1} ({first[:60]!r})"


def normalized(text: str) -> str:
    """The cell source as compared when looking for edits: trailing blanks and line endings ignored."""
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").splitlines()).strip()


def has_markers(text: str, begin: re.Pattern, end: re.Pattern) -> bool:
    return any(begin.match(line) or end.match(line) for line in text.splitlines())


def strip_block(text: str, begin: re.Pattern, end: re.Pattern, names: Tuple[str, str], where: str) -> Tuple[str, List[str]]:
    """``text`` without its ``begin`` ... ``end`` blocks, and the lines removed (markers excluded).

    Raises ``ValueError`` for an unclosed, unopened or nested block, since the cell would then
    leak what follows the marker, or lose what should be kept.
    """
    kept: List[str] = []
    removed: List[str] = []
    inside = False
    for line in text.splitlines(keepends=True):
        if begin.match(line):
            if inside:
                raise ValueError(f"{where}: '{names[0]}' inside another such block (close the first one with '{names[1]}')")
            inside = True
        elif end.match(line):
            if not inside:
                raise ValueError(f"{where}: '{names[1]}' without a '{names[0]}' before it")
            inside = False
        elif inside:
            removed.append(line.rstrip("\n"))
        else:
            kept.append(line)
    if inside:
        raise ValueError(f"{where}: '{names[0]}' without a matching '{names[1]}'; "
                         f"the student version would contain the rest of the cell")
    return "".join(kept).rstrip(), removed


def has_code(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def parses(text: str) -> Optional[str]:
    """None if ``text`` is valid Python (IPython magics and shell lines aside), else the error."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        ast.parse("\n".join(lines))
    except SyntaxError as error:
        return f"{error.msg} (line {error.lineno})"
    return None


def check_calls(text: str) -> List[ast.Call]:
    """The calls ``check(...)`` (or ``something.check(...)``) in a cell's code, in order."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith(("%", "!"))]
    calls = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        func = getattr(node, "func", None)
        if isinstance(node, ast.Call) and (getattr(func, "id", None) == "check" or getattr(func, "attr", None) == "check"):
            calls.append(node)
    return sorted(calls, key=lambda call: (call.lineno, call.col_offset))


def exercise_of(text: str, where: str) -> str:
    """The exercise a check cell checks: the string literal that starts each of its ``check`` calls."""
    error = parses(text)
    if error:
        raise ValueError(f"{where}: the check cell is not valid Python: {error}")
    names = set()
    for call in check_calls(text):
        if not (call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
            raise ValueError(f"{where}: check(...) must name its exercise with a string literal, "
                             f"e.g. check(\"3.2\", ...), got {ast.unparse(call)[:60]!r}")
        names.add(call.args[0].value)
    if len(names) != 1:
        found = "no check(...) call" if not names else f"calls for exercises {sorted(names)}"
        raise ValueError(f"{where}: a check cell must check exactly one exercise, found {found}")
    return names.pop()


def keyword(call: ast.Call, name: str, position: Optional[int] = None) -> Optional[ast.expr]:
    """The expression passed to ``call`` as ``name=`` (or at ``position``), or None."""
    for item in call.keywords:
        if item.arg == name:
            return item.value
    if position is not None and len(call.args) > position:
        return call.args[position]
    return None


@dataclass(frozen=True)
class Exercise:
    """A computational exercise of a notebook: its number, its check cells, points and hint."""

    exercise: str
    check_cells: Tuple[int, ...]
    points: float
    hint: str


def _points(cell: Any, where: str) -> float:
    value = cell.get("metadata", {}).get(POINTS_KEY, 1)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(f"{where}: metadata '{POINTS_KEY}' must be a non-negative number, got {value!r}")
    return value


def exercises(notebook: Any, name: str) -> List[Exercise]:
    """The computational exercises of a notebook, in order, from its cells tagged ``check``.

    The points of an exercise are those of its first check cell (metadata ``points``, default 1);
    its hint is the first string-literal ``hint=`` of its check calls.
    """
    found: dict = {}
    for index, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") != "code" or CHECK_TAG not in tags(cell):
            continue
        where = cell_label(name, index, cell)
        exercise = exercise_of(source(cell), where)
        hints = [node.value for call in check_calls(source(cell))
                 if isinstance(node := keyword(call, "hint"), ast.Constant) and isinstance(node.value, str)]
        if exercise in found:
            previous = found[exercise]
            found[exercise] = Exercise(exercise, previous.check_cells + (index,), previous.points,
                                       previous.hint or (hints[0] if hints else ""))
        else:
            found[exercise] = Exercise(exercise, (index,), _points(cell, where), hints[0] if hints else "")
    return list(found.values())


# -- markdown: {solution} directives --------------------------------------------------------------

# A MyST fence: backticks, tildes or colons (colon_fence), optionally opening a directive {name}.
_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,}|:{3,})[ \t]*(?:\{(?P<name>[^}\s]+)\})?(?P<rest>.*)$")
_SOLUTION_DIRECTIVES = {"solution", "solution-start", "solution-end"}
# Directives whose body is literal text, not markdown: a {solution} shown there is an example.
_LITERAL_DIRECTIVES = {"code", "code-block", "sourcecode", "code-cell", "math", "raw", "literalinclude"}


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a fence opened with ``fence`` (same character, at least as long, nothing else)."""
    match = _FENCE.match(line)
    return bool(match and not match.group("name") and not match.group("rest").strip()
                and match.group("fence")[0] == fence[0] and len(match.group("fence")) >= len(fence))


def _skip_block(lines: list, start: int, fence: str) -> int:
    """Index of the line after the fenced block opened at ``lines[start]`` (the cell's end if unclosed)."""
    for j in range(start + 1, len(lines)):
        if _closes(lines[j], fence):
            return j + 1
    return len(lines)


def strip_solution_fences(text: str, gated: bool, where: str) -> Tuple[str, bool]:
    """Remove ``{solution}`` directives (and gated ``{solution-start}``...``{solution-end}`` spans) from markdown.

    ``gated`` says whether the cell starts inside a gated solution (opened in an earlier cell);
    the returned flag says whether it ends inside one. Fences follow CommonMark: a fence closes
    at the first bare fence of the same character that is at least as long, or at the cell's end.
    """
    kept: list = []
    stack: list = []  # open fences that are kept: (fence, body is literal)
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        if gated:  # inside solution-start ... solution-end: drop everything up to the end directive
            match = _FENCE.match(line)
            if match and match.group("name") == "solution-end":
                i = _skip_block(lines, i, match.group("fence"))
                gated = False
            else:
                i += 1
            continue
        if stack and _closes(line, stack[-1][0]):
            stack.pop()
            kept.append(line)
            i += 1
            continue
        match = _FENCE.match(line)
        if match and not (stack and stack[-1][1]):
            name = match.group("name")
            if name in _SOLUTION_DIRECTIVES:
                if name == "solution-end":
                    raise ValueError(f"{where}: {{solution-end}} without a {{solution-start}} before it")
                i = _skip_block(lines, i, match.group("fence"))
                gated = name == "solution-start"
                continue
            literal = name is None or name in _LITERAL_DIRECTIVES
            stack.append((match.group("fence"), literal))
        kept.append(line)
        i += 1
    return "".join(kept), gated
