"""Student and instructor versions of the chapter notebooks.

Write the student versions of all chapters (what students receive) with::

    python -m tensorlib.coursework student chapters/ student/

and the instructor versions (the masters as they are, outputs kept) with::

    python -m tensorlib.coursework instructor chapters/ instructor/

The conventions a master follows are described in :mod:`tensorlib.coursework.conventions`.
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any, List, Union

import nbformat

from .conventions import (
    ANSWER_TAG,
    BEGIN_HIDDEN,
    BEGIN_HIDDEN_LINE,
    BEGIN_SOLUTION,
    BEGIN_SOLUTION_LINE,
    CHECK_TAG,
    END_HIDDEN,
    END_HIDDEN_LINE,
    END_SOLUTION,
    END_SOLUTION_LINE,
    SOLUTION_TAG,
    cell_label,
    check_calls,
    exercise_of,
    has_code,
    has_markers,
    keyword,
    parses,
    source,
    strip_block,
    strip_solution_fences,
    tags,
)

__all__ = ["make_student_version", "write_versions", "student_check_source"]


def _as_notebook(notebook: object) -> Any:
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise TypeError(f"notebook must be an nbformat notebook (a dict with a 'cells' list), "
                        f"got {type(notebook).__name__}")
    if notebook.get("nbformat") != 4:
        raise ValueError(f"notebook must be in nbformat 4, got nbformat {notebook.get('nbformat')!r}")
    return nbformat.from_dict(copy.deepcopy(dict(notebook)))


def _student_answer(text: str, where: str) -> str:
    student, _ = strip_block(text, BEGIN_SOLUTION_LINE, END_SOLUTION_LINE, (BEGIN_SOLUTION, END_SOLUTION), where)
    if not has_code(student):
        raise ValueError(f"{where}: nothing is left outside the solution block; start the cell with "
                         f"the answer set to None, e.g. 'answer_3_1 = None  # your answer: ...'")
    return student


def student_check_source(text: str, where: str) -> str:
    """A check cell without its hidden tests; it must still be valid Python checking the same exercise.

    Raises
    ------
    ValueError
        If the hidden-test markers are unbalanced, or if what is left does not parse, no longer
        calls ``check`` for the cell's exercise (a hidden block that cut a call in half), or still
        passes ``check`` an expected value (which students would see).
    """
    student, _ = strip_block(text, BEGIN_HIDDEN_LINE, END_HIDDEN_LINE, (BEGIN_HIDDEN, END_HIDDEN), where)
    if parses(text) is None:
        error = parses(student)
        if error:
            raise ValueError(f"{where}: without its hidden tests the check cell is not valid Python ({error}); "
                             f"hide whole statements, or whole arguments one per line")
        if exercise_of(student, f"{where} (student version)") != exercise_of(text, where):
            raise ValueError(f"{where}: without its hidden tests the check cell checks another exercise")
        if any(keyword(call, "expected", 2) is not None for call in check_calls(student)):
            raise ValueError(f"{where}: the check gives its expected value outside '{BEGIN_HIDDEN}' ... "
                             f"'{END_HIDDEN}', so students would see it; move the argument (one per line) "
                             f"or the statements computing it between the markers")
    return student


def make_student_version(notebook: Any, *, name: str = "notebook") -> Any:
    """The student version of a master notebook: solutions and hidden tests removed, outputs cleared.

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

        * cells tagged ``solution`` are gone (solution text, and code that only serves it);
        * cells tagged ``answer`` keep only the lines outside their ``### BEGIN SOLUTION`` ...
          ``### END SOLUTION`` blocks (so the answer variable stays ``None``);
        * cells tagged ``check`` keep only the lines outside their ``### BEGIN HIDDEN TESTS`` ...
          ``### END HIDDEN TESTS`` blocks (the expected values and whatever computes them);
        * any ``{solution}`` directive left in an untagged markdown cell is cut out (so is a gated
          ``{solution-start}`` ... ``{solution-end}`` span, with every cell inside it), and a
          markdown cell left empty is dropped;
        * every code cell has no outputs and no execution count;
        * all other cells are unchanged.

    Raises
    ------
    TypeError
        If ``notebook`` is not a notebook.
    ValueError
        If a block of either kind is unbalanced or nested, if nothing is left of an answer cell
        outside its solution, if a check cell without its hidden tests is not valid Python, no
        longer checks its exercise or still gives an expected value, if a cell not tagged ``answer`` (``check``) holds solution
        (hidden-test) markers, or if a ``{solution-start}`` is never closed.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    student = _as_notebook(notebook)
    cells = []
    gated = False
    gate_opened = ""
    for index, cell in enumerate(student.cells):
        where = cell_label(name, index, cell)
        cell_tags = tags(cell)
        if SOLUTION_TAG in cell_tags:
            continue
        if gated and cell.cell_type != "markdown":
            continue
        if cell.cell_type == "markdown":
            was_gated = gated
            text, gated = strip_solution_fences(source(cell), gated, where)
            if gated and not was_gated:
                gate_opened = where
            if not text.strip():
                continue
            cell.source = text
        elif cell.cell_type == "code":
            text = source(cell)
            if ANSWER_TAG in cell_tags:
                text = _student_answer(text, where)
            elif has_markers(text, BEGIN_SOLUTION_LINE, END_SOLUTION_LINE):
                raise ValueError(f"{where}: has '{BEGIN_SOLUTION}'/'{END_SOLUTION}' lines but is not tagged "
                                 f"'{ANSWER_TAG}'; tag it so its solution is removed from the student version")
            if CHECK_TAG in cell_tags:
                text = student_check_source(text, where)
            elif has_markers(text, BEGIN_HIDDEN_LINE, END_HIDDEN_LINE):
                raise ValueError(f"{where}: has '{BEGIN_HIDDEN}'/'{END_HIDDEN}' lines but is not tagged "
                                 f"'{CHECK_TAG}'; tag it so its hidden tests are removed from the student version")
            cell.source = text
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
        masters byte for byte, solutions, hidden tests *and stored outputs* included, so the
        instructor sees every check already saying "correct" without running anything.

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
    if not isinstance(instructor, bool):
        raise TypeError(f"instructor must be a bool, got {type(instructor).__name__}")
    for value, label in ((src_dir, "src_dir"), (dst_dir, "dst_dir")):
        if not isinstance(value, (str, os.PathLike)):
            raise TypeError(f"{label} must be a path (str or Path), got {type(value).__name__}")
    src, dst = Path(src_dir), Path(dst_dir)
    if not src.is_dir():
        raise ValueError(f"src_dir must be a folder of notebooks, got {str(src)!r} (not a folder)")
    masters = sorted(path for path in src.glob("*.ipynb") if path.is_file())
    if not masters:
        raise ValueError(f"src_dir {str(src)!r} holds no .ipynb notebooks")
    if dst.exists() and not dst.is_dir():
        raise ValueError(f"dst_dir must be a folder, got {str(dst)!r}, an existing file")
    if dst.resolve() == src.resolve():
        raise ValueError(f"dst_dir must differ from src_dir ({str(src)!r}): writing there would overwrite the masters")
    _refuse_unsafe_targets(masters, dst)
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


def _refuse_unsafe_targets(masters: List[Path], dst: Path) -> None:
    """Refuse to write where a target is a link (writing through it could overwrite a master) or a folder."""
    sources = {path.resolve() for path in masters}
    for path in masters:
        target = dst / path.name
        if target.is_symlink():
            raise ValueError(f"{str(target)!r} is a symbolic link (to {os.readlink(target)!r}); writing through it "
                             "could overwrite a master: remove the link first")
        if target.exists() and (target.is_dir() or target.resolve() in sources):
            what = "a folder" if target.is_dir() else "one of the masters"
            raise ValueError(f"{str(target)!r} is {what}; refusing to write the {path.name} version there")
