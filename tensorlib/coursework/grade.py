"""Grading a folder of submissions: hidden checks, a gradebook (CSV) and feedback for each student.

``python -m tensorlib.coursework grade SUBMISSIONS --handout student/ --out grades.csv``

* ``SUBMISSIONS`` holds one folder per student, each with that student's notebooks under the names
  they were handed out with (``alice/03_convolutional.ipynb``).
* ``--handout`` is the folder of student versions that was handed out; ``--masters`` (default
  ``chapters/``) the masters they were made from, which carry the hidden checks and the points.
  The handout must be the student version of the masters (checked first), so that what is graded
  is what the students received.

For each student, a scratch copy of the folder is made (the submission itself is only read) and
each notebook is run there in a fresh kernel (:mod:`tensorlib.coursework.execute`), with each check
cell replaced by the master's, hidden tests included: they run right after the student's answer.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import re
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import nbformat
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

from .checking import STATUS_PHRASES
from .conventions import ANSWER_TAG, CHECK_CALL, CHECK_TAG, Exercise, check_calls, exercises, keyword, normalized, source, tags
from .execute import Run, run_notebook
from .student import make_student_version

__all__ = ["STATUSES", "Grade", "HandedOut", "load_handout", "grade_notebook", "grade_submissions"]

STATUSES = ("correct", "incorrect", "not answered", "error", "timeout", "tampered", "missing")
CSV_COLUMNS = ("student", "notebook", "exercise", "status", "points", "max_points")
# Put before each master check cell in the graded copy: an answer cell that rebinds ``check`` cannot pass.
_FRESH_CHECK = "from tensorlib.coursework import check  # added by the grader\n"
_TAMPERED = ("its check cell differs from the one handed out (edited or deleted), so it is not graded; "
             "restore it from the handout.")
_PHRASE = {phrase: status for status, phrase in STATUS_PHRASES.items()}
PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class Grade:
    """One row of the gradebook, with the feedback shown to the student."""

    student: str
    notebook: str
    exercise: str
    status: str
    points: float
    max_points: float
    feedback: str = ""


@dataclass(frozen=True)
class HandedOut:
    """A handed-out notebook: its exercises (from the master) and both versions of each check cell."""

    name: str
    exercises: Tuple[Exercise, ...]
    handout_checks: Dict[str, Tuple[str, ...]]  # exercise -> its check cells as handed out (normalized)
    master_checks: Dict[str, Tuple[str, ...]]   # exercise -> its check cells in the master (hidden tests in)
    chapter_cells: frozenset = frozenset()     # the other code cells as handed out, answer cells aside (normalized)


def _check_sources(notebook: Any, name: str, normalize: bool = False) -> Dict[str, Tuple[str, ...]]:
    """Exercise -> the sources of its check cells, in order (normalized for comparison if asked)."""
    form = normalized if normalize else str
    return {ex.exercise: tuple(form(source(notebook.cells[i])) for i in ex.check_cells)
            for ex in exercises(notebook, name)}


def load_handout(handout: PathLike, masters: PathLike) -> List[HandedOut]:
    """Read the handed-out notebooks and their masters, and check that they belong together.

    Raises
    ------
    ValueError
        If a folder is missing or holds no notebook, if a handed-out notebook has no master, if it
        is not the student version of its master (the masters changed since it was handed out:
        grade with the masters that made it), or if a master's check gives no expected value.
    """
    handout_dir, masters_dir = Path(handout), Path(masters)
    for folder, label in ((handout_dir, "--handout"), (masters_dir, "--masters")):
        if not folder.is_dir():
            raise ValueError(f"{label} must be a folder of notebooks, got {str(folder)!r} (not a folder)")
    paths = sorted(handout_dir.glob("*.ipynb"))
    if not paths:
        raise ValueError(f"--handout {str(handout_dir)!r} holds no .ipynb notebooks")
    result = []
    for path in paths:
        master_path = masters_dir / path.name
        if not master_path.is_file():
            raise ValueError(f"{path.name}: no master {str(master_path)!r}; pass --masters, the folder the "
                             f"handout was made from")
        master = nbformat.read(master_path, as_version=4)
        handed = nbformat.read(path, as_version=4)
        handed_checks = _check_sources(handed, path.name, normalize=True)
        made = make_student_version(master, name=master_path.name)
        if handed_checks != _check_sources(made, master_path.name, normalize=True):
            raise ValueError(f"{path.name}: the handout is not the student version of {str(master_path)!r} "
                             f"(its check cells differ); grade with the masters it was made from")
        master_checks = _check_sources(master, master_path.name)
        for exercise, texts in master_checks.items():
            if not any(keyword(call, "expected", 2) is not None for text in texts for call in check_calls(text)):
                raise ValueError(f"{master_path.name}: the check of exercise {exercise} gives no expected "
                                 f"value, so grading cannot decide it")
        chapter = frozenset(normalized(source(cell)) for cell in handed.cells if cell.cell_type == "code"
                            and not {ANSWER_TAG, CHECK_TAG} & set(tags(cell)))
        result.append(HandedOut(path.name, tuple(exercises(master, master_path.name)), handed_checks, master_checks,
                                chapter))
    return result


# -- one notebook ---------------------------------------------------------------------------------

def _locate(submission: Any, handed: HandedOut) -> Tuple[Dict[str, List[int]], Dict[str, List[int]], set]:
    """For each exercise, the cells holding its check as handed out, the check cells edited, and other exercises named."""
    intact: Dict[str, List[int]] = {ex.exercise: [] for ex in handed.exercises}
    edited: Dict[str, List[int]] = {ex.exercise: [] for ex in handed.exercises}
    named = set()
    for index, cell in enumerate(submission.cells):
        if cell.get("cell_type") != "code":
            continue
        text = normalized(source(cell))
        ids = {match["exercise"] for match in CHECK_CALL.finditer(text)}
        named |= ids
        for exercise, sources in handed.handout_checks.items():
            if text in sources:
                intact[exercise].append(index)
            elif CHECK_TAG in tags(cell) and exercise in ids:
                edited[exercise].append(index)
    return intact, edited, named - set(intact)


def _with_hint(text: str, hint: str) -> str:
    return f"{text} Hint: {hint}" if hint and "Hint:" not in text else text


def _check_status(run: Run, cells: List[int], exercise: str) -> Tuple[Optional[str], str]:
    """The status the check cells printed, and the message of the deciding line."""
    pattern = re.compile(rf"^Exercise {re.escape(exercise)}: (?P<phrase>{'|'.join(map(re.escape, _PHRASE))})\b")
    found = []
    for index in cells:
        for line in run.cells[index].stdout.splitlines():
            match = pattern.match(line)
            if match and match["phrase"] != STATUS_PHRASES["answered"]:
                found.append((_PHRASE[match["phrase"]], line[len(f"Exercise {exercise}: "):]))
    for status in ("incorrect", "not answered", "correct"):
        lines = [text for found_status, text in found if found_status == status]
        if lines:
            return status, lines[0]
    return None, ""


def _judge(run: Run, exercise: Exercise, checks: List[int], region: List[int]) -> Tuple[str, str]:
    """(status, feedback) of an exercise whose check cells are intact, from the run."""
    status, message = _check_status(run, checks, exercise.exercise)
    in_checks = [i for i in checks if run.cells[i].timed_out or run.cells[i].error]
    late = [i for i in region if run.cells[i].timed_out]
    failed = [i for i in region if run.cells[i].error]
    if in_checks and run.cells[in_checks[0]].timed_out:
        index = in_checks[0]
        return "timeout", f"its check ran longer than {run.cells[index].limit} s (cell {index + 1}) and was stopped."
    if status == "correct" and not in_checks:
        return "correct", "correct."
    if late:
        return "timeout", _with_hint(f"cell {late[0] + 1} ran longer than {run.cells[late[0]].limit} s and was stopped.",
                                     exercise.hint)
    if failed or in_checks:
        index = (failed or in_checks)[0]
        return "error", _with_hint(f"cell {index + 1} raised {run.cells[index].error}.", exercise.hint)
    if status is None:
        if run.stopped:
            return run.stopped_status, f"its check did not run: {run.stopped}."
        return "error", "its check printed no result."
    if status == "not answered":
        return status, _with_hint("not yet answered: the answer is still None.", exercise.hint)
    return status, message


def grade_notebook(path: Optional[Path], handed: HandedOut, owners: Dict[str, str], workdir: Path, *,
                   timeout: int, chapter_timeout: int, kernel_name: str = "python3") -> List[Tuple[str, str, float, float, str]]:
    """Grade one submitted notebook: (exercise, status, points, max_points, feedback) for each exercise.

    ``path`` is the notebook in the scratch folder ``workdir`` (None if it was not submitted);
    ``owners`` maps every exercise of the handout to the notebook it belongs to. The cells as handed
    out and the masters' checks may run ``chapter_timeout`` seconds, the others ``timeout``.
    """
    def all_as(status: str, feedback: str) -> list:
        return [(ex.exercise, status, 0, ex.points, feedback) for ex in handed.exercises]

    if path is None:
        return all_as("missing", "this notebook was not submitted.")
    try:
        submission = nbformat.read(path, as_version=4)
    except Exception as error:  # any unreadable file: say why, grade the rest
        return all_as("error", f"the file is not a readable notebook ({type(error).__name__}: {error}).")
    intact, edited, others = _locate(submission, handed)
    if not any(intact.values()) and not any(edited.values()):
        holders = sorted({owners[name] for name in others if name in owners} - {handed.name})
        if holders:
            return all_as("missing", f"this file holds the exercises of {', '.join(holders)}, not those of "
                                     f"{handed.name}.")
    graded = nbformat.from_dict(submission)
    limits = {index: max(chapter_timeout, timeout) for index, cell in enumerate(submission.cells)
              if cell.get("cell_type") == "code" and normalized(source(cell)) in handed.chapter_cells}
    tampered = set()
    for ex in handed.exercises:
        sources = handed.handout_checks[ex.exercise]
        kept = {normalized(source(submission.cells[i])) for i in intact[ex.exercise]}
        if edited[ex.exercise] or kept != set(sources):
            tampered.add(ex.exercise)
            continue
        for index in intact[ex.exercise]:
            master = handed.master_checks[ex.exercise][sources.index(normalized(source(submission.cells[index])))]
            graded.cells[index].source = _FRESH_CHECK + master
            limits[index] = max(chapter_timeout, timeout)
    if len(tampered) == len(handed.exercises):  # nothing left to grade: do not run it
        return all_as("tampered", _TAMPERED)
    run = run_notebook(graded, workdir, timeout=timeout, limits=limits, kernel_name=kernel_name)
    rows = []
    previous = -1
    for ex in handed.exercises:
        if ex.exercise in tampered:
            rows.append((ex.exercise, "tampered", 0, ex.points, _TAMPERED))
            previous = max([previous, *intact[ex.exercise], *edited[ex.exercise]])
            continue
        checks = intact[ex.exercise]
        region = [i for i in run.cells if previous < i < min(checks)]
        status, feedback = _judge(run, ex, checks, region)
        rows.append((ex.exercise, status, ex.points if status == "correct" else 0, ex.points, feedback))
        previous = max(previous, *checks)
    return rows


# -- a folder of submissions ----------------------------------------------------------------------

def _grade_student(folder: Path, handout: List[HandedOut], timeout: int, chapter_timeout: int,
                   kernel_name: str) -> Tuple[str, List[Grade], List[str], float]:
    """Grade every handed-out notebook of one student's folder, in a scratch copy of it."""
    start = time.perf_counter()
    owners = {ex.exercise: handed.name for handed in handout for ex in handed.exercises}
    names = {handed.name for handed in handout}
    notes = [f"{path.name} is not one of the handed-out notebooks; it was not graded."
             for path in sorted(folder.glob("*.ipynb")) if path.name not in names]
    grades = []
    with tempfile.TemporaryDirectory(prefix="coursework-grade-") as scratch:
        workdir = Path(scratch) / folder.name
        shutil.copytree(folder, workdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"), symlinks=True)
        for handed in handout:
            path = workdir / handed.name
            rows = grade_notebook(path if path.is_file() else None, handed, owners, workdir,
                                  timeout=timeout, chapter_timeout=chapter_timeout, kernel_name=kernel_name)
            grades += [Grade(folder.name, handed.name, *row) for row in rows]
    return folder.name, grades, notes, time.perf_counter() - start


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _feedback(student: str, grades: List[Grade], notes: List[str]) -> str:
    total, maximum = sum(g.points for g in grades), sum(g.max_points for g in grades)
    lines = [f"# Feedback for {student}", "", f"Computational exercises: {_number(total)} of {_number(maximum)} points.",
             "Exercises without a check cell (proofs, explanations) are graded by reading your notebooks.", ""]
    for notebook in dict.fromkeys(g.notebook for g in grades):
        mine = [g for g in grades if g.notebook == notebook]
        got, of = sum(g.points for g in mine), sum(g.max_points for g in mine)
        lines += [f"## {notebook}: {_number(got)} of {_number(of)} points", ""]
        lines += [f"- Exercise {g.exercise}, **{g.status}** ({_number(g.points)} of {_number(g.max_points)}): {g.feedback}"
                  for g in mine]
        lines.append("")
    if notes:
        lines += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    return "\n".join(lines)


def _summary(grades: List[Grade], seconds: List[float], wall: float, jobs: int) -> List[str]:
    students = list(dict.fromkeys(g.student for g in grades))
    counts = Counter(g.status for g in grades)
    totals = [sum(g.points for g in grades if g.student == s) for s in students]
    maximum = sum(g.max_points for g in grades if g.student == students[0]) if students else 0
    lines = [f"graded {len(students)} submission{'s' if len(students) != 1 else ''} "
             f"({len({(g.student, g.notebook) for g in grades})} notebooks, {len(grades)} exercises) in {wall:.1f} s: "
             f"{sum(seconds) / max(len(seconds), 1):.1f} s per submission"
             + (f" ({wall / max(len(students), 1):.1f} s of wall time each with {jobs} jobs)" if jobs > 1 else ""),
             "statuses: " + ", ".join(f"{status} {counts[status]}" for status in STATUSES if counts[status])]
    if totals:
        lines.append(f"points: mean {sum(totals) / len(totals):.1f}, min {_number(min(totals))}, "
                     f"max {_number(max(totals))} (of {_number(maximum)})")
    return lines


def grade_submissions(submissions: PathLike, handout: PathLike, *, masters: PathLike = "chapters",
                      out: PathLike = "grades.csv", feedback: Optional[PathLike] = None, timeout: int = 120,
                      chapter_timeout: int = 600, jobs: int = 1, kernel_name: str = "python3",
                      log: Callable[[str], None] = print) -> List[Grade]:
    """Grade every student's folder in ``submissions``; write the gradebook and the feedback files.

    Parameters
    ----------
    submissions : path
        A folder with one folder per student (its name is the student's name in the gradebook),
        holding that student's notebooks under their handed-out names. Only read, never written.
    handout : path
        The folder of student versions that was handed out.
    masters : path
        The folder of master notebooks the handout was made from (default ``chapters``).
    out : path
        The gradebook to write (CSV, columns ``student, notebook, exercise, status, points,
        max_points``; one row per student, handed-out notebook and exercise).
    feedback : path, optional
        Folder for one Markdown file per student (default: ``feedback/`` beside ``out``).
    timeout : int
        Seconds a cell the student wrote or changed may run before it is interrupted.
    chapter_timeout : int
        The same for the cells as handed out and the masters' checks (the chapter's own code, which
        the student cannot make loop by editing it; the book's build allows 600 s per cell).
    jobs : int
        Students graded in parallel (each notebook still runs in its own kernel).
    kernel_name : str
        The Jupyter kernel to run the notebooks with.
    log : callable
        Receives one progress line per student, then the summary lines.

    Returns
    -------
    list of Grade
        The gradebook's rows, students in name order.

    Raises
    ------
    ValueError
        If a folder is missing, the handout does not match the masters (see ``load_handout``),
        ``submissions`` holds no student folder, or an output path is inside ``submissions``.
    """
    for value, label in ((timeout, "timeout"), (chapter_timeout, "chapter_timeout"), (jobs, "jobs")):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{label} must be an int, got {type(value).__name__}")
        if value < 1:
            raise ValueError(f"{label} must be at least 1, got {value}")
    root = Path(submissions)
    if not root.is_dir():
        raise ValueError(f"SUBMISSIONS must be a folder with one folder per student, got {str(root)!r} (not a folder)")
    out_path = Path(out)
    feedback_dir = Path(feedback) if feedback is not None else out_path.parent / "feedback"
    for target, label in ((out_path, "--out"), (feedback_dir, "--feedback")):
        if root.resolve() in (target.resolve(), *target.resolve().parents):
            raise ValueError(f"{label} {str(target)!r} is inside SUBMISSIONS; grading never writes there")
    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise ValueError(f"--kernel {kernel_name!r} is not an installed Jupyter kernel "
                         f"(see 'jupyter kernelspec list')") from None
    handed = load_handout(handout, masters)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not folders:
        loose = sorted(p.name for p in root.glob("*.ipynb"))
        extra = f" (it holds notebooks directly: {', '.join(loose[:3])}; put each student's in a folder)" if loose else ""
        raise ValueError(f"SUBMISSIONS {str(root)!r} holds no student folder{extra}")
    start = time.perf_counter()
    results: Dict[str, Tuple[List[Grade], List[str], float]] = {}

    def record(done: Tuple[str, List[Grade], List[str], float]) -> None:
        student, grades, notes, seconds = done
        results[student] = (grades, notes, seconds)
        counts = Counter(g.status for g in grades)
        log(f"[{len(results)}/{len(folders)}] {student}: {_number(sum(g.points for g in grades))} of "
            f"{_number(sum(g.max_points for g in grades))} points ("
            + ", ".join(f"{status} {counts[status]}" for status in STATUSES if counts[status]) + f"), {seconds:.1f} s")

    if jobs == 1:
        for folder in folders:
            record(_grade_student(folder, handed, timeout, chapter_timeout, kernel_name))
    else:
        # Fresh worker processes ("spawn"), not forks: a fork of a process that runs threads (BLAS,
        # JAX, a caller's) can deadlock in the child.
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = [pool.submit(_grade_student, folder, handed, timeout, chapter_timeout, kernel_name)
                       for folder in folders]
            for future in as_completed(futures):
                record(future.result())
    grades = [g for folder in folders for g in results[folder.name][0]]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([g.student, g.notebook, g.exercise, g.status, _number(g.points), _number(g.max_points)]
                         for g in grades)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    for folder in folders:
        mine, notes, _ = results[folder.name]
        (feedback_dir / f"{folder.name}.md").write_text(_feedback(folder.name, mine, notes), encoding="utf-8")
    for line in _summary(grades, [results[f.name][2] for f in folders], time.perf_counter() - start, jobs):
        log(line)
    log(f"wrote {out_path} and {len(folders)} feedback file{'s' if len(folders) != 1 else ''} in {feedback_dir}")
    return grades
