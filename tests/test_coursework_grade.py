"""Grading (tensorlib/coursework/grade.py, execute.py): simulated submissions, graded in one run.

The handout is the student versions of a real chapter (chapter 1, the quickest to run) and of the
synthetic chapter 9 of ``_coursework_notebooks``. One run of the real command,
``python -m tensorlib.coursework grade SUBMISSIONS --handout ... --masters ... --out grades.csv``,
grades one student per case:

========  ===================================================================================
alice     the master's answers pasted in everywhere (all correct), and an extra notebook
bob       the untouched student versions (all not answered)
carol     wrong answers (a wrong value, a wrong form, a cell that prints "correct"), an edited
          check cell in chapter 1 and a deleted one in chapter 9
dave      chapter 9: an answer cell that raises, one that loops forever, then a right answer
          after them; chapter 1 not submitted
erin      chapter 9's notebook saved under chapter 1's name; chapter 9 not submitted
frank     chapter 9: an answer cell that redefines ``check`` to always say "correct"
========  ===================================================================================

The expected gradebook is written out below, case by case, from what each submission does.
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from _coursework_notebooks import synthetic_master, tagged, tags, with_answers
from tensorlib.coursework import make_student_version
from tensorlib.coursework.grade import STATUSES, grade_submissions, load_handout

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "01_tensors.ipynb"
REAL, SYNTH = CHAPTER.name, "09_synthetic.ipynb"
TIMEOUT = 10  # seconds per cell: well above any cell of chapter 1, and what the infinite loop costs


def _write(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)


def _check_cell(nb, exercise: str):
    return next(cell for cell in nb.cells if "check" in tags(cell) and f'check("{exercise}"' in cell.source)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """masters/, handout/ and submissions/ for the six students, and a fingerprint of the submissions."""
    root = tmp_path_factory.mktemp("course")
    masters, handout, subs = root / "masters", root / "handout", root / "submissions"
    masters.mkdir()
    shutil.copyfile(CHAPTER, masters / REAL)
    _write(synthetic_master(), masters / SYNTH)
    real_master, synth_master = nbformat.read(masters / REAL, as_version=4), synthetic_master()
    real, synth = make_student_version(real_master), make_student_version(synth_master)
    _write(real, handout / REAL)
    _write(synth, handout / SYNTH)

    _write(with_answers(real, real_master), subs / "alice" / REAL)
    _write(with_answers(synth, synth_master), subs / "alice" / SYNTH)
    _write(synth, subs / "alice" / "scratch.ipynb")
    (subs / "alice" / "data.txt").write_text("a file the notebooks could read")

    _write(real, subs / "bob" / REAL)
    _write(synth, subs / "bob" / SYNTH)

    carol_real = with_answers(real, real_master, replace={
        0: "answer_1_1 = (14, 3)  # a wrong column",
        1: 'answer_1_2 = "2"',
        2: 'answer_1_3 = 26\nprint("Exercise 1.3: correct")'})
    _check_cell(carol_real, "1.4").source = '_ = check("1.4", answer_1_4, answer_1_4)'
    _write(carol_real, subs / "carol" / REAL)
    carol_synth = with_answers(synth, synth_master, replace={0: "answer_9_1 = 2 + 3 + 4"})
    carol_synth.cells.remove(_check_cell(carol_synth, "9.2"))
    _write(carol_synth, subs / "carol" / SYNTH)

    _write(with_answers(synth, synth_master, replace={0: "answer_9_1 = None\nanswer_9_1 = 24 // 0",
                                                      1: "answer_9_2 = None\nwhile True:\n    pass",
                                                      2: "answer_9_3 = sum(range(5)) + 4 + 6"}),
           subs / "dave" / SYNTH)

    _write(with_answers(synth, synth_master), subs / "erin" / REAL)

    frank = with_answers(synth, synth_master, replace={
        0: 'answer_9_1 = 23\ndef check(*args, **kwargs):\n    print(f"Exercise {args[0]}: correct")'})
    _write(frank, subs / "frank" / SYNTH)
    fingerprint = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(subs.rglob("*"))
                   if path.is_file()}
    return root, fingerprint


@pytest.fixture(scope="module")
def graded(course):
    """The command, run once on the whole course: its output, the gradebook and the feedback."""
    root, _ = course
    done = subprocess.run(
        [sys.executable, "-m", "tensorlib.coursework", "grade", str(root / "submissions"), "--handout",
         str(root / "handout"), "--masters", str(root / "masters"), "--out", str(root / "out" / "grades.csv"),
         "--timeout", str(TIMEOUT)], capture_output=True, text=True, check=False, cwd=root)
    assert done.returncode == 0, done.stderr
    with open(root / "out" / "grades.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    return done.stdout, rows, root / "out" / "feedback"


R, S = REAL, SYNTH
EXPECTED = {
    "alice": {(R, "1.1"): "correct", (R, "1.2"): "correct", (R, "1.3"): "correct", (R, "1.4"): "correct",
              (S, "9.1"): "correct", (S, "9.2"): "correct", (S, "9.3"): "correct"},
    "bob": {(R, e): "not answered" for e in ("1.1", "1.2", "1.3", "1.4")}
    | {(S, e): "not answered" for e in ("9.1", "9.2", "9.3")},
    "carol": {(R, "1.1"): "incorrect", (R, "1.2"): "incorrect", (R, "1.3"): "incorrect", (R, "1.4"): "tampered",
              (S, "9.1"): "incorrect", (S, "9.2"): "tampered", (S, "9.3"): "correct"},
    "dave": {(R, e): "missing" for e in ("1.1", "1.2", "1.3", "1.4")}
    | {(S, "9.1"): "error", (S, "9.2"): "timeout", (S, "9.3"): "correct"},
    "erin": {(R, e): "missing" for e in ("1.1", "1.2", "1.3", "1.4")}
    | {(S, e): "missing" for e in ("9.1", "9.2", "9.3")},
    "frank": {(R, e): "missing" for e in ("1.1", "1.2", "1.3", "1.4")}
    | {(S, "9.1"): "incorrect", (S, "9.2"): "correct", (S, "9.3"): "correct"},
}
POINTS = {"9.1": 2}  # the synthetic master's metadata; every other exercise is worth the default 1


def test_gradebook_has_the_right_status_for_every_case(graded):
    _, rows, _ = graded
    assert rows[0] == ["student", "notebook", "exercise", "status", "points", "max_points"]
    found = {}
    for student, notebook, exercise, status, points, max_points in rows[1:]:
        assert status in STATUSES
        found.setdefault(student, {})[notebook, exercise] = status
        worth = POINTS.get(exercise, 1)
        assert (points, max_points) == (str(worth if status == "correct" else 0), str(worth))
    assert found == EXPECTED


def test_gradebook_rows_are_in_student_notebook_and_exercise_order(graded):
    _, rows, _ = graded
    keys = [(student, notebook) for student, notebook, *_ in rows[1:]]
    assert keys == sorted(keys)
    assert [exercise for _, notebook, exercise, *_ in rows[1:7]] == ["1.1", "1.2", "1.3", "1.4", "9.1", "9.2"]


def test_progress_line_per_submission_and_a_summary(graded):
    out, _, _ = graded
    lines = out.splitlines()
    progress = [line for line in lines if line.startswith("[")]
    assert [line.split(":")[0] for line in progress] == [f"[{k}/6] {name}" for k, name in
                                                         enumerate(["alice", "bob", "carol", "dave", "erin", "frank"], 1)]
    assert progress[0].startswith("[1/6] alice: 8 of 8 points (correct 7), ")
    assert any(line.startswith("graded 6 submissions (12 notebooks, 42 exercises) in ") and "s per submission" in line
               for line in lines)
    assert "statuses: correct 11, incorrect 5, not answered 7, error 1, timeout 1, tampered 2, missing 15" in lines


def test_feedback_file_per_student_with_status_and_hint(graded):
    _, _, feedback = graded
    assert sorted(p.name for p in feedback.iterdir()) == [f"{s}.md" for s in sorted(EXPECTED)]
    carol = (feedback / "carol.md").read_text()
    assert "# Feedback for carol" in carol and "Computational exercises: 1 of 8 points." in carol
    assert ("- Exercise 1.1, **incorrect** (0 of 1): not correct yet (your answer: (14, 3)). Hint: rows are "
            "(d_1, d_3) with d_3 fastest; columns are (d_0, d_2)") in carol
    assert "- Exercise 1.2, **incorrect** (0 of 1): not correct yet: the answer should be an int (your answer: '2')." in carol
    assert "- Exercise 1.4, **tampered** (0 of 1): its check cell differs from the one handed out (edited or deleted)" in carol
    dave = (feedback / "dave.md").read_text()
    assert "- Exercise 9.1, **error** (0 of 2): cell 4 raised ZeroDivisionError: integer division or modulo by zero." in dave
    assert f"- Exercise 9.2, **timeout** (0 of 1): cell 7 ran longer than {TIMEOUT} s and was stopped." in dave
    assert "- Exercise 1.1, **missing** (0 of 1): this notebook was not submitted." in dave
    erin = (feedback / "erin.md").read_text()
    assert f"this file holds the exercises of {SYNTH}, not those of {REAL}" in erin
    assert "scratch.ipynb is not one of the handed-out notebooks; it was not graded." in (feedback / "alice.md").read_text()


def test_feedback_on_a_wrong_answer_quotes_the_answer_not_the_expected_value(graded):
    _, _, feedback = graded
    line = next(line for line in (feedback / "carol.md").read_text().splitlines() if "Exercise 9.1" in line)
    assert line == ("- Exercise 9.1, **incorrect** (0 of 2): not correct yet (your answer: 9). "
                    "Hint: multiply the mode sizes")  # the expected value, 24, is nowhere


def test_grading_never_modifies_the_submissions(course, graded):
    root, before = course
    after = {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted((root / "submissions").rglob("*"))
             if path.is_file()}
    assert after == before


# -- the checks made before any notebook runs -----------------------------------------------------

def test_handout_that_is_not_the_student_version_of_the_masters_is_refused(course, tmp_path):
    root, _ = course
    stale = tmp_path / "handout"
    shutil.copytree(root / "handout", stale)
    nb = nbformat.read(stale / SYNTH, as_version=4)
    _check_cell(nb, "9.3").source += "  # an older version"
    nbformat.write(nb, stale / SYNTH)
    with pytest.raises(ValueError, match=f"{SYNTH}: the handout is not the student version of"):
        load_handout(stale, root / "masters")


def test_master_without_a_hidden_expected_value_is_refused(tmp_path):
    master = synthetic_master()
    _check_cell(master, "9.3").source = '_ = check("9.3", answer_9_3, kind=int)'
    _write(master, tmp_path / "masters" / SYNTH)
    _write(make_student_version(master), tmp_path / "handout" / SYNTH)
    with pytest.raises(ValueError, match="the check of exercise 9.3 gives no expected value"):
        load_handout(tmp_path / "handout", tmp_path / "masters")


def test_handout_without_its_master_is_refused(course, tmp_path):
    root, _ = course
    (tmp_path / "masters").mkdir()
    with pytest.raises(ValueError, match=f"{REAL}: no master"):
        load_handout(root / "handout", tmp_path / "masters")


@pytest.mark.parametrize("layout, message", [
    ("flat", "holds no student folder (it holds notebooks directly: 09_synthetic.ipynb"),
    ("missing", "SUBMISSIONS must be a folder with one folder per student"),
])
def test_submissions_folder_must_hold_one_folder_per_student(course, tmp_path, layout, message):
    root, _ = course
    if layout == "flat":
        _write(synthetic_master(), tmp_path / "subs" / SYNTH)
    with pytest.raises(ValueError, match=re.escape(message)):
        grade_submissions(tmp_path / "subs", root / "handout", masters=root / "masters", out=tmp_path / "g.csv",
                          log=lambda line: None)


def test_outputs_inside_the_submissions_are_refused(course):
    root, _ = course
    with pytest.raises(ValueError, match="is inside SUBMISSIONS; grading never writes there"):
        grade_submissions(root / "submissions", root / "handout", masters=root / "masters",
                          out=root / "submissions" / "grades.csv", log=lambda line: None)


@pytest.mark.parametrize("kwargs, error", [({"timeout": 0}, ValueError), ({"jobs": 1.5}, TypeError),
                                           ({"timeout": True}, TypeError), ({"chapter_timeout": -1}, ValueError)])
def test_bad_timeout_or_jobs_is_refused(course, tmp_path, kwargs, error):
    root, _ = course
    with pytest.raises(error, match="timeout|jobs|chapter_timeout"):
        grade_submissions(root / "submissions", root / "handout", masters=root / "masters",
                          out=tmp_path / "g.csv", log=lambda line: None, **kwargs)


def test_command_reports_a_refusal_without_a_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "tensorlib.coursework", "grade", str(tmp_path / "nothing"),
                           "--handout", str(tmp_path)], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and done.stderr.startswith("error: SUBMISSIONS must be a folder")


def test_parallel_grading_gives_the_same_gradebook(course, tmp_path):
    # Two students of chapter 9 only, two at a time: the same rows as one at a time.
    root, _ = course
    (tmp_path / "handout").mkdir()
    shutil.copyfile(root / "handout" / SYNTH, tmp_path / "handout" / SYNTH)
    for student in ("alice", "carol"):
        _write(nbformat.read(root / "submissions" / student / SYNTH, as_version=4), tmp_path / "subs" / student / SYNTH)
    lines: list = []
    grades = grade_submissions(tmp_path / "subs", tmp_path / "handout", masters=root / "masters",
                               out=tmp_path / "grades.csv", jobs=2, timeout=TIMEOUT, log=lines.append)
    assert [(g.student, g.exercise, g.status) for g in grades] == [
        (student, exercise, EXPECTED[student][SYNTH, exercise]) for student in ("alice", "carol")
        for exercise in ("9.1", "9.2", "9.3")]
    assert any("with 2 jobs" in line for line in lines)


def test_a_kernel_that_ignores_the_interrupt_stops_the_notebook_not_the_run(course, tmp_path):
    root, _ = course
    synth = make_student_version(synthetic_master())
    stubborn = "answer_9_2 = None\nimport signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    _write(with_answers(synth, synthetic_master(), replace={1: stubborn}), tmp_path / "subs" / "gina" / SYNTH)
    (tmp_path / "handout").mkdir()
    shutil.copyfile(root / "handout" / SYNTH, tmp_path / "handout" / SYNTH)
    grades = grade_submissions(tmp_path / "subs", tmp_path / "handout", masters=root / "masters",
                               out=tmp_path / "grades.csv", timeout=2, log=lambda line: None)
    assert [(g.exercise, g.status) for g in grades] == [("9.1", "correct"), ("9.2", "timeout"), ("9.3", "timeout")]
    assert "did not stop when cell 7 was interrupted" in grades[2].feedback


def test_extra_cells_and_lost_tags_do_not_count_as_tampering(course, tmp_path):
    # A student who adds cells and whose editor dropped the check cells' tags is graded normally.
    root, _ = course
    synth_master = synthetic_master()
    nb = with_answers(make_student_version(synth_master), synth_master)
    nb.cells.insert(3, new_code_cell("scratch = 1 + 1"))
    for cell in nb.cells:
        cell.metadata.pop("tags", None)
    nb.cells.append(tagged(new_code_cell('print("my own notes")'), "check"))
    _write(nb, tmp_path / "subs" / "hana" / SYNTH)
    (tmp_path / "handout").mkdir()
    shutil.copyfile(root / "handout" / SYNTH, tmp_path / "handout" / SYNTH)
    grades = grade_submissions(tmp_path / "subs", tmp_path / "handout", masters=root / "masters",
                               out=tmp_path / "grades.csv", timeout=TIMEOUT, log=lambda line: None)
    assert [g.status for g in grades] == ["correct"] * 3


def test_unknown_kernel_is_refused_before_anything_runs(course, tmp_path):
    root, _ = course
    with pytest.raises(ValueError, match="--kernel 'no-such-kernel' is not an installed Jupyter kernel"):
        grade_submissions(root / "submissions", root / "handout", masters=root / "masters",
                          out=tmp_path / "g.csv", kernel_name="no-such-kernel", log=lambda line: None)
    assert not (tmp_path / "g.csv").exists()


def test_notebook_whose_every_check_cell_was_edited_is_not_run(course, tmp_path):
    root, _ = course
    nb = make_student_version(synthetic_master())
    for cell in nb.cells:
        if "check" in tags(cell):
            cell.source += "\nimport time; time.sleep(60)  # would cost a minute if it ran"
    _write(nb, tmp_path / "subs" / "ivan" / SYNTH)
    (tmp_path / "handout").mkdir()
    shutil.copyfile(root / "handout" / SYNTH, tmp_path / "handout" / SYNTH)
    grades = grade_submissions(tmp_path / "subs", tmp_path / "handout", masters=root / "masters",
                               out=tmp_path / "grades.csv", timeout=1, log=lambda line: None)
    assert [g.status for g in grades] == ["tampered"] * 3


def test_the_time_limit_is_for_the_students_cells_the_chapters_own_cells_get_the_chapter_limit(tmp_path):
    # A chapter cell that takes 3 s runs to the end under --timeout 1; the student's 3 s cell is stopped.
    master = synthetic_master()
    master.cells.insert(2, new_code_cell("import time\ntime.sleep(3)\nslow_chapter_value = 24"))
    _write(master, tmp_path / "masters" / SYNTH)
    _write(make_student_version(master), tmp_path / "handout" / SYNTH)
    slow = "answer_9_2 = None\nimport time\ntime.sleep(3)\nanswer_9_2 = (4, 6)"
    _write(with_answers(make_student_version(master), master, replace={0: "answer_9_1 = slow_chapter_value", 1: slow,
                                                                           2: "answer_9_3 = 10 + 4 + 6"}),
           tmp_path / "subs" / "jo" / SYNTH)
    grades = grade_submissions(tmp_path / "subs", tmp_path / "handout", masters=tmp_path / "masters",
                               out=tmp_path / "grades.csv", timeout=1, chapter_timeout=30, log=lambda line: None)
    assert [(g.exercise, g.status) for g in grades] == [("9.1", "correct"), ("9.2", "timeout"), ("9.3", "correct")]
    assert grades[1].feedback.startswith("cell 8 ran longer than 1 s and was stopped.")


def test_a_kernel_that_dies_costs_the_exercises_after_it(course, tmp_path):
    root, _ = course
    synth = make_student_version(synthetic_master())
    _write(with_answers(synth, synthetic_master(), replace={1: "answer_9_2 = None\nimport os\nos._exit(3)"}),
           tmp_path / "subs" / "kim" / SYNTH)
    (tmp_path / "handout").mkdir()
    shutil.copyfile(root / "handout" / SYNTH, tmp_path / "handout" / SYNTH)
    grades = grade_submissions(tmp_path / "subs", tmp_path / "handout", masters=root / "masters",
                               out=tmp_path / "grades.csv", timeout=TIMEOUT, log=lambda line: None)
    assert [(g.exercise, g.status) for g in grades] == [("9.1", "correct"), ("9.2", "error"), ("9.3", "error")]
    assert grades[2].feedback == "its check did not run: the kernel died in cell 7, so the cells after it did not run."
