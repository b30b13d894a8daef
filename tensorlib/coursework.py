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
Write the student versions of all chapters with::

    python -m tensorlib.coursework student chapters/ student/

and the instructor versions (the masters as they are, outputs kept) with::

    python -m tensorlib.coursework instructor chapters/ instructor/

``nbformat`` (installed with jupyter-book) is imported only by these two tools, so
``import tensorlib`` and :func:`check` do not need it.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Sequence, Union

import numpy as np

__all__ = ["CheckResult", "check", "make_student_version", "write_versions"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of :func:`check`: ``status`` is ``"correct"``, ``"incorrect"`` or ``"not answered"``."""

    exercise: str
    status: str
    message: str

    @property
    def passed(self) -> bool:
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


def check(exercise: str, answer: Any, expected: Any, *, hint: Optional[str] = None, rtol: float = 0.0,
          show: bool = True) -> CheckResult:
    """Grade one answer: print (and return) a pass/fail message; never raises because of the answer.

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

    Raises
    ------
    TypeError, ValueError
        Only for a mistake of the notebook's author (``exercise`` not a str, ``expected`` None, ``rtol``
        not a finite non-negative number); whatever the *answer*, ``check`` never raises.
    """
    if not isinstance(exercise, str):
        raise TypeError(f"exercise must be a str such as '3.2', got {type(exercise).__name__}")
    if expected is None:
        raise TypeError(f"expected must be the reference value of exercise {exercise}, got None")
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.integer, np.floating)):
        raise TypeError(f"rtol must be a non-negative number, got {type(rtol).__name__}")
    if not np.isfinite(rtol) or rtol < 0:
        raise ValueError(f"rtol must be a finite non-negative number, got {rtol}")
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


# -- Student and instructor versions of the chapters ------------------------------------------

SOLUTION_TAG = "solution"
ANSWER_TAG = "answer"
CHECK_TAG = "check"
BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"

# Lenient on purpose (any number of #, any case, surrounding blanks): a misspelt marker that went
# unrecognized would leak the solution into the student version.
_BEGIN = re.compile(r"^\s*#+\s*BEGIN\s+SOLUTION\s*$", re.IGNORECASE)
_END = re.compile(r"^\s*#+\s*END\s+SOLUTION\s*$", re.IGNORECASE)

# A MyST fence: backticks, tildes or colons (colon_fence), optionally opening a directive {name}.
_FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,}|:{3,})[ \t]*(?:\{(?P<name>[^}\s]+)\})?(?P<rest>.*)$")
_SOLUTION_DIRECTIVES = {"solution", "solution-start", "solution-end"}
# Directives whose body is literal text, not markdown: a {solution} shown there is an example.
_LITERAL_DIRECTIVES = {"code", "code-block", "sourcecode", "code-cell", "math", "raw", "literalinclude"}


def _tags(cell: Any) -> list:
    tags = cell.get("metadata", {}).get("tags", [])
    return list(tags) if isinstance(tags, (list, tuple)) else []


def _cell_label(name: str, index: int, cell: Any) -> str:
    first = next((line.strip() for line in _source(cell).splitlines() if line.strip()), "")
    return f"{name}, cell {index + 1} ({first[:60]!r})"


def _source(cell: Any) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a fence opened with ``fence`` (same character, at least as long, nothing else)."""
    match = _FENCE.match(line)
    return bool(match and not match.group("name") and not match.group("rest").strip()
                and match.group("fence")[0] == fence[0] and len(match.group("fence")) >= len(fence))


def _strip_solution_fences(text: str, gated: bool, where: str) -> tuple[str, bool]:
    """Remove ``{solution}`` directives (and gated ``{solution-start}``...``{solution-end}`` spans) from markdown.

    ``gated`` says whether the cell starts inside a gated solution (opened in an earlier cell);
    the returned flag says whether it ends inside one. Fences follow CommonMark: a fence closes
    at the first bare fence of the same character that is at least as long, or at the cell's end.
    """
    kept: list[str] = []
    stack: list[tuple[str, bool]] = []  # open fences that are kept: (fence, body is literal)
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


def _skip_block(lines: list, start: int, fence: str) -> int:
    """Index of the line after the fenced block opened at ``lines[start]`` (the cell's end if unclosed)."""
    for j in range(start + 1, len(lines)):
        if _closes(lines[j], fence):
            return j + 1
    return len(lines)


def _strip_answer(source: str, where: str) -> str:
    """The answer cell without its ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` blocks."""
    kept: list[str] = []
    inside = False
    for line in source.splitlines(keepends=True):
        if _BEGIN.match(line):
            if inside:
                raise ValueError(f"{where}: '{BEGIN_SOLUTION}' inside another solution block "
                                 f"(close the first one with '{END_SOLUTION}')")
            inside = True
        elif _END.match(line):
            if not inside:
                raise ValueError(f"{where}: '{END_SOLUTION}' without a '{BEGIN_SOLUTION}' before it")
            inside = False
        elif not inside:
            kept.append(line)
    if inside:
        raise ValueError(f"{where}: '{BEGIN_SOLUTION}' without a matching '{END_SOLUTION}'; "
                         f"the student version would contain the rest of the cell")
    student = "".join(kept).rstrip()
    code = [ln for ln in student.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not code:
        raise ValueError(f"{where}: nothing is left outside the solution block; start the cell with "
                         f"the answer set to None, e.g. 'answer_3_1 = None  # your answer: ...'")
    return student


def _as_notebook(notebook: object) -> Any:
    import nbformat

    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise TypeError(f"notebook must be an nbformat notebook (a dict with a 'cells' list), "
                        f"got {type(notebook).__name__}")
    if notebook.get("nbformat") != 4:
        raise ValueError(f"notebook must be in nbformat 4, got nbformat {notebook.get('nbformat')!r}")
    return nbformat.from_dict(copy.deepcopy(dict(notebook)))


def make_student_version(notebook: Any, *, name: str = "notebook") -> Any:
    """The student version of a master notebook: solutions removed, checks kept, outputs cleared.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        The master notebook (nbformat 4). It is not modified.
    name : str
        How error messages name the notebook (e.g. its file name).

    Returns
    -------
    nbformat.NotebookNode
        A new notebook in which

        * cells tagged ``solution`` are gone;
        * cells tagged ``answer`` keep only the lines outside their ``### BEGIN SOLUTION`` ...
          ``### END SOLUTION`` blocks (so the answer variable stays ``None``);
        * any ``{solution}`` directive left in an untagged markdown cell is cut out (so is a gated
          ``{solution-start}`` ... ``{solution-end}`` span, with every cell inside it), and a
          markdown cell left empty is dropped;
        * every code cell has no outputs and no execution count;
        * cells tagged ``check`` and all other cells are unchanged.

    Raises
    ------
    TypeError
        If ``notebook`` is not a notebook.
    ValueError
        If an ``answer`` cell has ``### BEGIN SOLUTION`` without ``### END SOLUTION`` (or the
        reverse, or nested blocks, or nothing left outside the block), if a
        code cell not tagged ``answer`` or ``solution`` holds these markers, or if a
        ``{solution-start}`` is never closed.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    student = _as_notebook(notebook)
    cells = []
    gated = False
    gate_opened = ""
    for index, cell in enumerate(student.cells):
        where = _cell_label(name, index, cell)
        tags = _tags(cell)
        if SOLUTION_TAG in tags:
            continue
        if gated and cell.cell_type != "markdown":
            continue
        if cell.cell_type == "markdown":
            was_gated = gated
            text, gated = _strip_solution_fences(_source(cell), gated, where)
            if gated and not was_gated:
                gate_opened = where
            if not text.strip():
                continue
            cell.source = text
        elif cell.cell_type == "code":
            source = _source(cell)
            if ANSWER_TAG in tags:
                cell.source = _strip_answer(source, where)
            elif any(_BEGIN.match(line) or _END.match(line) for line in source.splitlines()):
                raise ValueError(f"{where}: has '{BEGIN_SOLUTION}'/'{END_SOLUTION}' lines but is not tagged "
                                 f"'{ANSWER_TAG}'; tag it so its solution is removed from the student version")
            cell.outputs = []
            cell.execution_count = None
            cell.metadata.pop("execution", None)
        cells.append(cell)
    if gated:
        raise ValueError(f"{gate_opened}: {{solution-start}} without a {{solution-end}} after it")
    student.cells = cells
    return student


def write_versions(src_dir: Union[str, Path], dst_dir: Union[str, Path], *, instructor: bool = False) -> List[Path]:
    """Write the student (or instructor) version of every notebook ``src_dir/*.ipynb`` into ``dst_dir``.

    Parameters
    ----------
    src_dir : str or Path
        The folder of master notebooks, e.g. ``chapters/`` (not searched recursively).
    dst_dir : str or Path
        Where to write; created if missing; must not be ``src_dir``. Notebooks of the same name
        there are overwritten, other files are left alone.
    instructor : bool
        False (default): write :func:`make_student_version` of each notebook. True: copy the
        masters byte for byte, solutions *and stored outputs* included, so the instructor sees
        every check already saying "correct" without running anything.

    Returns
    -------
    list of Path
        The notebooks written, in file-name order.

    Raises
    ------
    ValueError
        If ``src_dir`` is not a folder holding notebooks, if ``dst_dir`` is ``src_dir`` (which
        would overwrite the masters) or an existing file, or if any notebook breaks the
        conventions (see :func:`make_student_version`): then nothing is written.
    """
    import nbformat

    if not isinstance(instructor, bool):
        raise TypeError(f"instructor must be a bool, got {type(instructor).__name__}")
    for value, label in ((src_dir, "src_dir"), (dst_dir, "dst_dir")):
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"{label} must be a path (str or Path), got {type(value).__name__}")
    src, dst = Path(src_dir), Path(dst_dir)
    if not src.is_dir():
        raise ValueError(f"src_dir must be a folder of notebooks, got {str(src)!r} (not a folder)")
    masters = sorted(src.glob("*.ipynb"))
    if not masters:
        raise ValueError(f"src_dir {str(src)!r} holds no .ipynb notebooks")
    if dst.exists() and not dst.is_dir():
        raise ValueError(f"dst_dir must be a folder, got {str(dst)!r}, an existing file")
    if dst.resolve() == src.resolve():
        raise ValueError(f"dst_dir must differ from src_dir ({str(src)!r}): writing there would overwrite the masters")
    if instructor:
        dst.mkdir(parents=True, exist_ok=True)
        return [Path(shutil.copyfile(path, dst / path.name)) for path in masters]
    # Convert everything before writing anything: one broken notebook leaves dst_dir untouched.
    versions = [make_student_version(nbformat.read(path, as_version=4), name=path.name) for path in masters]
    dst.mkdir(parents=True, exist_ok=True)
    written = []
    for path, version in zip(masters, versions):
        nbformat.write(version, dst / path.name)
        written.append(dst / path.name)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m tensorlib.coursework {student,instructor} SRC DST``: write the versions of the chapters."""
    parser = argparse.ArgumentParser(
        prog="python -m tensorlib.coursework",
        description="Write student or instructor versions of the chapter notebooks.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{student,instructor}")
    for command, help_text in [
        ("student", "solution cells and BEGIN/END SOLUTION blocks removed, checks kept, outputs cleared"),
        ("instructor", "the masters copied as they are: solutions and stored outputs kept"),
    ]:
        sub = commands.add_parser(command, help=help_text, description=f"Write {command} versions: {help_text}.")
        sub.add_argument("src_dir", help="folder of master notebooks, e.g. chapters/")
        sub.add_argument("dst_dir", help=f"folder to write to, e.g. {command}/ (created if missing)")
    args = parser.parse_args(argv)
    try:
        written = write_versions(args.src_dir, args.dst_dir, instructor=args.command == "instructor")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    print(f"wrote {len(written)} {args.command} notebook{'s' if len(written) != 1 else ''} to {args.dst_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
