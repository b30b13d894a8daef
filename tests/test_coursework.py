"""Student versions of the chapters (``tensorlib.coursework``), and the exercise conventions of every chapter.

Three groups of tests:

* ``make_student_version``, ``write_versions`` and the command, on small synthetic notebooks;
* the chapters' exercises follow the conventions (read statically, cheap);
* the chapters' exercises work: master checks say "correct" (stored outputs), student versions hold
  no solution text and no outputs, run top to bottom with every check "not yet answered", and pass
  every check once the master's solution lines are pasted back.

The chapters are discovered generically (``chapters/*.ipynb``, cells found by their tags), so a new
chapter or exercise is tested without touching this file. Executing notebooks is the expensive
part: it is done once per chapter that has check cells (see ``_student_run``). With the suite's
``--dist loadfile`` every test of this module runs on one xdist worker, so that per-chapter cache
is shared by the tests that read it.
"""

from __future__ import annotations

import ast
import builtins
import re
import subprocess
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from tensorlib.coursework import main, make_student_version, write_versions

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
GLUE_RECORD = "application/papermill.record/"
CHECK_LINE = re.compile(r"^Exercise (?P<exercise>.+?): (?P<status>correct|not correct yet|not yet answered)\b")


# -- helpers: reading notebooks the way the conventions describe them ---------------------------

def _tags(cell) -> list:
    return list(cell.get("metadata", {}).get("tags", []))


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _solution_lines(answer_source: str) -> list:
    """The lines strictly between the markers, found independently of the module under test."""
    lines, inside = [], False
    for line in answer_source.splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def _with_solution(answer_source: str) -> str:
    """The answer cell as a student who solved it would have it: the master's lines, markers dropped."""
    return "\n".join(line for line in answer_source.splitlines() if line.strip() not in (BEGIN, END))


def _output_lines(cell) -> list:
    """Every line a code cell shows; an error or stderr output is returned as a line that is no check message."""
    lines = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            text = output["text"] if output["name"] == "stdout" else f"[stderr] {output['text']}"
        elif output["output_type"] in ("execute_result", "display_data"):
            data = output.get("data", {})
            if data and all(key.startswith(GLUE_RECORD) for key in data):
                continue  # glue(..., display=False): a value recorded for the text, shown nowhere
            text = data.get("text/plain", "[an output with no text]")
        else:
            text = f"[{output['output_type']}] {output.get('ename', '')}: {output.get('evalue', '')}"
        lines.extend(line for line in text.splitlines() if line.strip())
    return lines


def _statuses(cell) -> list:
    """(status, line) for every output line of a check cell; status None if the line is not a check message."""
    result = []
    for line in _output_lines(cell):
        match = CHECK_LINE.match(line)
        result.append((match.group("status") if match else None, line))
    return result


def _groups(nb) -> list:
    """(answer cell index, [check cell indices]) for each answer cell: the check cells that follow it."""
    groups = []
    for index, cell in enumerate(nb.cells):
        if "answer" in _tags(cell):
            groups.append((index, []))
        elif "check" in _tags(cell):
            if not groups:
                groups.append((None, []))
            groups[-1][1].append(index)
    return groups


def _has_checks(path: Path) -> bool:
    return any("check" in _tags(cell) for cell in _read(path).cells)


def _execute(nb, workdir: Path):
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    return client.execute()


# -- synthetic notebooks ------------------------------------------------------------------------

def _cell(cell, *tags):
    cell.metadata["tags"] = list(tags)
    return cell


def _answer(variable: str, solution: str) -> str:
    return f"{variable} = None  # your answer: an int\n{BEGIN}\n{solution}\n{END}"


def _master(*extra) -> nbformat.NotebookNode:
    """A small chapter with two computational exercises; the second reuses the first's solution."""
    nb = new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells = [
        new_markdown_cell("# Chapter 9: a synthetic chapter"),
        new_code_cell("import tensorlib as tl\nfrom tensorlib.networks import SumOfProducts\n"
                      "from tensorlib.coursework import check"),
        new_markdown_cell("```{exercise} Odd-even rank\n:label: ex-ch9-odd-even\n\nCompute it.\n```"),
        _cell(new_markdown_cell("```{solution} ex-ch9-odd-even\n:class: dropdown\n\n"
                                "The secret reasoning of 9.1.\n```"), "solution"),
        _cell(new_code_cell(_answer("answer_9_1", "model = SumOfProducts(n_inputs=4, input_dim=2, terms=3, seed=0)\n"
                                                  "answer_9_1 = tl.separation_rank(model, tl.odd_even(4)).rank")),
              "answer"),
        _cell(new_code_cell('check("9.1", answer_9_1, expected=tl.bounds.sum_of_products_rank(3, 2, tl.odd_even(4)))'),
              "check"),
        new_markdown_cell("```{exercise} Left-right rank\n:label: ex-ch9-left-right\n\nNow left-right.\n```"),
        _cell(new_markdown_cell("```{solution} ex-ch9-left-right\n:class: dropdown\n\nThe secret of 9.2.\n```"),
              "solution"),
        _cell(new_code_cell(_answer("answer_9_2", "answer_9_2 = tl.separation_rank(model, tl.left_right(4)).rank")),
              "answer"),
        _cell(new_code_cell('check("9.2", answer_9_2, expected=tl.bounds.sum_of_products_rank(3, 2, tl.left_right(4)))'),
              "check"),
        *extra,
    ]
    return nb


def _executed(cell, *texts):
    cell.execution_count = 7
    cell.outputs = [new_output("stream", name="stdout", text=text) for text in texts]
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    return cell


def _executed_master() -> nbformat.NotebookNode:
    """The synthetic master as committed: every code cell run, every check saying "correct"."""
    nb = _master()
    for cell in nb.cells:
        if cell.cell_type == "code":
            _executed(cell, "Exercise 9.1: correct\n" if "check" in _tags(cell) else "some output\n")
    return nb


def _sources(nb) -> list:
    return [cell.source for cell in nb.cells]


# -- make_student_version -----------------------------------------------------------------------

def test_solution_tagged_cells_are_removed():
    student = make_student_version(_master(_cell(new_code_cell("secret_helper = 1"), "solution")))
    assert not any("secret" in source for source in _sources(student))
    assert len(student.cells) == len(_master().cells) - 2


def test_answer_cell_keeps_only_the_lines_outside_the_solution_block():
    source = f"x = None  # your answer\n{BEGIN}\nx = secret()\nsecret_two()\n{END}\ny = x"
    nb = _master(_cell(new_code_cell(source), "answer"))
    assert make_student_version(nb).cells[-1].source == "x = None  # your answer\ny = x"


def test_solution_markers_are_recognized_when_indented_or_misspelt_in_case():
    source = "x = None\n    ### begin solution\n    x = secret()\n  ##  END SOLUTION  "
    nb = _master(_cell(new_code_cell(source), "answer"))
    assert make_student_version(nb).cells[-1].source == "x = None"


@pytest.mark.parametrize("fence", ["```", "~~~", ":::", "````"])
def test_untagged_solution_directive_is_cut_out_of_markdown(fence):
    text = f"Before.\n\n{fence}{{solution}} ex-ch9-odd-even\n:class: dropdown\n\nsecret text\n{fence}\n\nAfter."
    student = make_student_version(_master(new_markdown_cell(text)))
    assert student.cells[-1].source == "Before.\n\n\nAfter."


def test_solution_directive_with_a_nested_code_block_is_cut_out_whole():
    text = "````{solution} ex-ch9-odd-even\nsecret\n```python\nsecret_code()\n```\nmore secret\n````\nAfter."
    student = make_student_version(_master(new_markdown_cell(text)))
    assert student.cells[-1].source == "After."


def test_markdown_cell_holding_only_an_untagged_solution_is_dropped():
    nb = _master(new_markdown_cell("```{solution} ex-ch9-odd-even\nsecret\n```"))
    assert len(make_student_version(nb).cells) == len(make_student_version(_master()).cells)


def test_unclosed_solution_directive_is_cut_to_the_end_of_its_cell():
    nb = _master(new_markdown_cell("Kept.\n```{solution} ex-ch9-odd-even\nsecret"), new_markdown_cell("Next."))
    assert _sources(make_student_version(nb))[-2:] == ["Kept.\n", "Next."]


def test_solution_directive_shown_inside_a_code_block_is_kept():
    text = "How to write one:\n\n````markdown\n```{solution} ex-ch9-x\ntext\n```\n````"
    assert make_student_version(_master(new_markdown_cell(text))).cells[-1].source == text


def test_solution_directive_inside_another_directive_is_cut_out():
    text = "````{note}\nKept.\n```{solution} ex-ch9-x\nsecret\n```\nAlso kept.\n````"
    student = make_student_version(_master(new_markdown_cell(text)))
    assert student.cells[-1].source == "````{note}\nKept.\nAlso kept.\n````"


def test_gated_solution_is_removed_with_every_cell_inside_it():
    nb = _master(new_markdown_cell("Kept.\n```{solution-start} ex-ch9-odd-even\n:class: dropdown\n```\nsecret"),
                 new_code_cell("secret_code()"),
                 new_markdown_cell("secret words\n```{solution-end}\n```\nKept after."),
                 new_code_cell("kept_code()"))
    assert _sources(make_student_version(nb))[-3:] == ["Kept.\n", "Kept after.", "kept_code()"]


def test_outputs_execution_counts_and_timings_are_cleared():
    student = make_student_version(_executed_master())
    code = [cell for cell in student.cells if cell.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None and "execution" not in c.metadata for c in code)


def test_check_cells_and_prose_are_kept_unchanged():
    nb = _master()
    kept = [cell for cell in nb.cells if not {"solution", "answer"} & set(_tags(cell))]
    student = [cell for cell in make_student_version(nb).cells if "answer" not in _tags(cell)]
    assert [cell.source for cell in student] == [cell.source for cell in kept]
    assert [_tags(cell) for cell in student] == [_tags(cell) for cell in kept]


def test_master_notebook_is_not_modified():
    nb = _executed_master()
    before = nbformat.writes(nb)
    make_student_version(nb)
    assert nbformat.writes(nb) == before


def test_student_version_is_a_valid_notebook():
    nbformat.validate(make_student_version(_master()))


@pytest.mark.parametrize("source, message", [
    (f"x = None\n{BEGIN}\nx = 1", "BEGIN SOLUTION' without a matching '### END SOLUTION'"),
    (f"x = None\n{END}", "END SOLUTION' without a '### BEGIN SOLUTION' before it"),
    (f"x = None\n{BEGIN}\n{BEGIN}\nx = 1\n{END}", "inside another solution block"),
    (f"# your answer:\n{BEGIN}\nx = 1\n{END}", "nothing is left outside the solution block"),
])
def test_malformed_answer_cell_is_refused_with_its_location(source, message):
    nb = _master(_cell(new_code_cell(source), "answer"))
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        make_student_version(nb, name="09_synthetic.ipynb")
    assert f"09_synthetic.ipynb, cell {len(nb.cells)}" in str(error.value)


def test_solution_markers_in_an_untagged_code_cell_are_refused():
    nb = _master(new_code_cell(f"x = None\n{BEGIN}\nx = 1\n{END}"))
    with pytest.raises(ValueError, match="is not tagged 'answer'"):
        make_student_version(nb)


def test_unclosed_gated_solution_is_refused():
    nb = _master(new_markdown_cell("```{solution-start} ex-ch9-odd-even\n```"), new_code_cell("secret()"))
    with pytest.raises(ValueError, match=r"\{solution-start\} without a \{solution-end\}"):
        make_student_version(nb)


def test_solution_end_without_start_is_refused():
    with pytest.raises(ValueError, match=r"\{solution-end\} without a \{solution-start\}"):
        make_student_version(_master(new_markdown_cell("```{solution-end}\n```")))


@pytest.mark.parametrize("notebook", [None, "chapter.ipynb", {"cells": "not a list"}])
def test_non_notebook_is_refused(notebook):
    with pytest.raises(TypeError, match="notebook must be an nbformat notebook"):
        make_student_version(notebook)


def test_notebook_in_an_old_format_is_refused():
    nb = _master()
    nb["nbformat"] = 3
    with pytest.raises(ValueError, match="nbformat 4"):
        make_student_version(nb)


# A random master: public lines must survive, in order; no secret line may.
_line = st.integers(0, 10**6)
_cells = st.lists(st.one_of(
    st.tuples(st.just("public_code"), st.lists(_line, min_size=1, max_size=3)),
    st.tuples(st.just("public_md"), st.lists(_line, min_size=1, max_size=3)),
    st.tuples(st.just("solution_md"), st.lists(_line, min_size=1, max_size=3)),
    st.tuples(st.just("untagged_solution_md"), st.lists(_line, min_size=1, max_size=3)),
    st.tuples(st.just("answer"), st.lists(_line, min_size=3, max_size=6)),
), max_size=12)


def _random_master(spec):
    nb, public = new_notebook(metadata={"kernelspec": KERNELSPEC}), []
    for kind, numbers in spec:
        secret = [f"secret_{n}" for n in numbers]
        keep = [f"public_{n}" for n in numbers]
        if kind == "public_code":
            nb.cells.append(new_code_cell("\n".join(keep)))
            public += keep
        elif kind == "public_md":
            nb.cells.append(new_markdown_cell("\n".join(keep)))
            public += keep
        elif kind == "solution_md":
            nb.cells.append(_cell(new_markdown_cell("```{solution} ex\n" + "\n".join(secret) + "\n```"), "solution"))
        elif kind == "untagged_solution_md":
            nb.cells.append(new_markdown_cell(f"{keep[0]}\n```{{solution}} ex\n" + "\n".join(secret[1:]) + "\n```"))
            public.append(keep[0])
        else:
            before, inside, after = keep[:1], secret[1:-1], keep[-1:]
            nb.cells.append(_cell(new_code_cell("\n".join([*before, BEGIN, *inside, END, *after])), "answer"))
            public += before + after
    return nb, public


@settings(max_examples=60, deadline=None)
@given(_cells)
def test_student_version_keeps_every_public_line_in_order_and_no_secret_line(spec):
    nb, public = _random_master(spec)
    student = make_student_version(nb)
    lines = [line for cell in student.cells for line in cell.source.splitlines() if line.strip()]
    assert [line for line in lines if line.startswith("public_")] == public
    assert not [line for line in lines if "secret" in line or "SOLUTION" in line or "{solution" in line]
    assert make_student_version(student) == student  # nothing left to strip


# -- write_versions and the command -------------------------------------------------------------

@pytest.fixture
def masters(tmp_path):
    src = tmp_path / "chapters"
    src.mkdir()
    for name in ("01_a.ipynb", "02_b.ipynb"):
        nbformat.write(_executed_master(), src / name)
    (src / "notes.txt").write_text("not a notebook")
    return src


def test_write_versions_writes_a_student_version_of_every_notebook(masters, tmp_path):
    written = write_versions(masters, tmp_path / "student")
    assert [p.name for p in written] == ["01_a.ipynb", "02_b.ipynb"]
    for path in written:
        assert _read(path) == make_student_version(_read(masters / path.name))
    assert sorted(p.name for p in (tmp_path / "student").iterdir()) == ["01_a.ipynb", "02_b.ipynb"]


def test_instructor_version_is_a_byte_for_byte_copy_of_the_masters(masters, tmp_path):
    written = write_versions(masters, tmp_path / "instructor", instructor=True)
    assert [p.read_bytes() for p in written] == [(masters / p.name).read_bytes() for p in written]


def test_write_versions_refuses_to_overwrite_the_masters(masters):
    with pytest.raises(ValueError, match="dst_dir must differ from src_dir"):
        write_versions(masters, masters / ".." / "chapters")


def test_write_versions_refuses_a_missing_or_empty_source(tmp_path):
    with pytest.raises(ValueError, match="src_dir must be a folder of notebooks"):
        write_versions(tmp_path / "missing", tmp_path / "student")
    with pytest.raises(ValueError, match="holds no .ipynb notebooks"):
        write_versions(tmp_path, tmp_path / "student")


@pytest.mark.parametrize("kwargs, message", [
    ({"src_dir": 3, "dst_dir": "student"}, "src_dir must be a path"),
    ({"src_dir": "chapters", "dst_dir": None}, "dst_dir must be a path"),
    ({"src_dir": "chapters", "dst_dir": "student", "instructor": "yes"}, "instructor must be a bool"),
])
def test_write_versions_refuses_arguments_of_the_wrong_type(kwargs, message):
    with pytest.raises(TypeError, match=message):
        write_versions(**kwargs)


def test_write_versions_refuses_a_destination_that_is_a_file(masters, tmp_path):
    (tmp_path / "student").write_text("")
    with pytest.raises(ValueError, match="dst_dir must be a folder"):
        write_versions(masters, tmp_path / "student")


def test_one_broken_notebook_means_nothing_is_written(masters, tmp_path):
    nbformat.write(_master(_cell(new_code_cell(f"x = None\n{BEGIN}"), "answer")), masters / "03_broken.ipynb")
    with pytest.raises(ValueError, match="03_broken.ipynb, cell 11"):
        write_versions(masters, tmp_path / "student")
    assert not (tmp_path / "student").exists()


def test_command_writes_the_versions_and_lists_them(masters, tmp_path, capsys):
    assert main(["student", str(masters), str(tmp_path / "student")]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"wrote 2 student notebooks to {tmp_path / 'student'}"
    assert main(["instructor", str(masters), str(tmp_path / "instructor")]) == 0
    assert (tmp_path / "instructor" / "01_a.ipynb").read_bytes() == (masters / "01_a.ipynb").read_bytes()


def test_command_reports_an_error_without_a_traceback(tmp_path, capsys):
    assert main(["student", str(tmp_path / "missing"), str(tmp_path / "student")]) == 1
    assert capsys.readouterr().err.startswith("error: src_dir must be a folder of notebooks")


def test_command_runs_as_a_module(masters, tmp_path):
    # The README's spelling, in a fresh interpreter: ``python -m tensorlib.coursework student SRC DST``.
    done = subprocess.run([sys.executable, "-m", "tensorlib.coursework", "student", str(masters),
                           str(tmp_path / "student")], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    assert len(list((tmp_path / "student").glob("*.ipynb"))) == 2


# -- running a student version, with and without the solutions pasted back ----------------------

# The student run must show what a student sees, so the solutions must not leak into it; the
# pasted-back run must show what a student who solved every exercise sees. One execution does
# both: each pasted answer and its check cells run right after the student's check cells, with
# ``exec`` in a *copy* of the notebook's namespace overlaid with what earlier pasted solutions
# bound (unless a student cell rebound that name since). The student cells therefore never see a
# solution's names (a check whose expected value leaks from a solution still fails), while a
# solution may build on an earlier one's, as in the master. Only an in-place mutation of a shared
# object by a solution could leak; solutions are expected to compute, not mutate.
_PASTE_SETUP = '''\
from IPython.utils.capture import capture_output as _coursework_capture

_coursework_state = {"solved": {}, "seen": {}}

def _coursework_paste(answer, checks):
    missing, glob = object(), globals()
    ns = dict(glob)
    for name, value in _coursework_state["solved"].items():
        if glob.get(name, missing) is _coursework_state["seen"].get(name, missing):
            ns[name] = value
    before = dict(ns)
    with _coursework_capture():  # what the solution prints or plots is not a check's output
        exec(get_ipython().transform_cell(answer), ns)
    for source in checks:
        exec(get_ipython().transform_cell(source), ns)
    _coursework_state["solved"].update(
        {name: value for name, value in ns.items() if before.get(name, missing) is not value})
    _coursework_state["seen"] = dict(glob)
'''


def _student_with_pasted_answers(master) -> tuple:
    """The student version, plus a cell after each exercise's checks re-running them with the solution pasted.

    Returns the notebook, the indices of its own check cells and those of the pasted cells.
    """
    student = make_student_version(master)
    master_groups, student_groups = _groups(master), _groups(student)
    assert len(master_groups) == len(student_groups)
    cells, checks, pasted = [new_code_cell(_PASTE_SETUP)], [], []
    ends = {group[1][-1]: (m_group, group) for m_group, group in zip(master_groups, student_groups) if group[1]}
    for index, cell in enumerate(student.cells):
        cells.append(cell)
        if "check" in _tags(cell):
            checks.append(len(cells) - 1)
        if index in ends:
            (m_answer, _), (_, s_checks) = ends[index]
            answer = _with_solution(master.cells[m_answer].source) if m_answer is not None else ""
            checks_source = [student.cells[i].source for i in s_checks]
            cells.append(new_code_cell(f"_coursework_paste({answer!r}, {checks_source!r})"))
            pasted.append((len(cells) - 1, len(s_checks)))
    student.cells = cells
    return student, checks, pasted


_RUNS: dict = {}


def _student_run(path: Path, workdir: Path) -> tuple:
    """Execute a chapter's student version (with pasted answers) once per test session; cached."""
    if path not in _RUNS:
        nb, checks, pasted = _student_with_pasted_answers(_read(path))
        try:
            _RUNS[path] = (_execute(nb, workdir), checks, pasted, None)
        except nbclient.exceptions.CellExecutionError as error:
            _RUNS[path] = (None, checks, pasted, error)
    executed, checks, pasted, error = _RUNS[path]
    if error is not None:
        pytest.fail(f"the student version of {path.name} stops with an error:\n{error}")
    return executed, checks, pasted


def _assert_checks_say(nb, indices, status, name):
    for index in indices:
        statuses = _statuses(nb.cells[index])
        assert statuses, f"{name}: check cell {index + 1} shows nothing; it must print check()'s message"
        wrong = [line for found, line in statuses if found != status]
        assert not wrong, f"{name}: check cell {index + 1} should say {status!r} but shows {wrong}"


def _assert_pasted_pass(nb, pasted, name):
    for index, n_checks in pasted:
        statuses = _statuses(nb.cells[index])
        assert len(statuses) >= n_checks, f"{name}: pasted cell {index + 1} shows {statuses}"
        wrong = [line for found, line in statuses if found != "correct"]
        assert not wrong, f"{name}: with the master's solution pasted back, a check says {wrong}"


def test_harness_runs_a_synthetic_chapter_both_ways(tmp_path):
    nb, checks, pasted = _student_with_pasted_answers(_master())
    executed = _execute(nb, tmp_path)
    _assert_checks_say(executed, checks, "not yet answered", "synthetic")
    _assert_pasted_pass(executed, pasted, "synthetic")
    assert len(checks) == len(pasted) == 2


def test_harness_catches_a_check_that_needs_the_solution(tmp_path):
    # 9.2's expected value reads `model`, which only 9.1's solution defines: a student's run breaks.
    nb = _master()
    nb.cells[-1].source = 'check("9.2", answer_9_2, expected=tl.separation_rank(model, tl.left_right(4)).rank)'
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="NameError"):
        _execute(_student_with_pasted_answers(nb)[0], tmp_path)


# -- the chapters -------------------------------------------------------------------------------

EXERCISE = re.compile(r"^[ \t]*(`{3,}|~{3,}|:{3,})\{exercise\}.*?\n[ \t]*:label:[ \t]*(\S+)", re.MULTILINE)
SOLUTION = re.compile(r"^[ \t]*(`{3,}|~{3,}|:{3,})\{solution\}[ \t]*(\S+)", re.MULTILINE)
WITH_CHECKS = [path for path in CHAPTERS if _has_checks(path)]


def _ids(paths):
    return [path.stem for path in paths]


def test_chapters_are_found():
    assert len(CHAPTERS) >= 6


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_ends_with_at_least_four_exercises_each_with_a_hidden_solution(path):
    cells = _read(path).cells
    markdown = "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    exercises = [label for _, label in EXERCISE.findall(markdown)]
    assert len(exercises) >= 4, f"{path.name} has {len(exercises)} labelled exercises, needs at least 4"
    solved = []
    for cell in cells:
        for _, target in SOLUTION.findall(cell.source if cell.cell_type == "markdown" else ""):
            solved.append(target)
            assert "solution" in _tags(cell), f"{path.name}: the solution of {target} is in a cell not tagged 'solution'"
            assert re.search(r"^:class:[ \t]*dropdown", cell.source, re.MULTILINE), \
                f"{path.name}: the solution of {target} is not hidden (:class: dropdown)"
    assert sorted(solved) == sorted(exercises), f"{path.name}: exercises {exercises}, solutions {solved}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_every_answer_cell_is_followed_by_a_check_cell(path):
    cells = _read(path).cells
    code = [cell for cell in cells if cell.cell_type == "code"]
    answers = [i for i, cell in enumerate(code) if "answer" in _tags(cell)]
    assert answers, f"{path.name} has no computational exercise (no cell tagged 'answer')"
    for i in answers:
        assert i + 1 < len(code) and "check" in _tags(code[i + 1]), \
            f"{path.name}: the code cell after answer cell {code[i].source.splitlines()[0]!r} is not tagged 'check'"
    for i, cell in enumerate(code):
        if "check" in _tags(cell):
            assert i > 0 and {"answer", "check"} & set(_tags(code[i - 1])), \
                f"{path.name}: check cell {cell.source!r} does not follow an answer cell"


def _check_calls(source: str) -> list:
    calls = []
    for node in ast.walk(ast.parse(source)):
        func = getattr(node, "func", None)
        if isinstance(node, ast.Call) and (getattr(func, "id", None) == "check" or getattr(func, "attr", None) == "check"):
            calls.append(node)
    return calls


def _expected(call: ast.Call):
    keywords = {kw.arg: kw.value for kw in call.keywords}
    return keywords.get("expected", call.args[2] if len(call.args) > 2 else None)


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_checks_compare_with_a_computed_value_not_a_typed_constant(path):
    seen = []
    for cell in _read(path).cells:
        if "check" not in _tags(cell):
            continue
        calls = _check_calls(cell.source)
        assert calls, f"{path.name}: check cell {cell.source!r} does not call check()"
        for call in calls:
            expected = _expected(call)
            assert expected is not None, f"{path.name}: {ast.unparse(call)} has no expected value"
            names = {n.id for n in ast.walk(expected) if isinstance(n, ast.Name)} - set(dir(builtins))
            assert names, f"{path.name}: {ast.unparse(call)} compares with a typed constant, not a computed value"
            if call.args and isinstance(call.args[0], ast.Constant):
                seen.append(call.args[0].value)
    assert len(seen) == len(set(seen)), f"{path.name}: an exercise is checked twice: {seen}"


# Executing the masters again here would repeat nbval's work: nbval (in this suite, over
# chapters/) re-runs every chapter and fails if any fresh text output differs from the stored one.
# So a stored "correct" is a fresh "correct", and reading the stored outputs is enough.
@pytest.mark.parametrize("path", WITH_CHECKS, ids=_ids(WITH_CHECKS))
def test_master_checks_all_say_correct_in_the_stored_outputs(path):
    nb = _read(path)
    indices = [i for i, cell in enumerate(nb.cells) if "check" in _tags(cell)]
    _assert_checks_say(nb, indices, "correct", path.name)


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_student_version_holds_no_solution_and_no_output(path):
    master = _read(path)
    student = make_student_version(master, name=path.name)
    public, secret = set(), set()
    for cell in master.cells:
        lines = {line.strip() for line in cell.source.splitlines() if line.strip()}
        if "solution" in _tags(cell):
            secret |= lines
        elif "answer" in _tags(cell):
            solution = {line.strip() for line in _solution_lines(cell.source) if line.strip()}
            secret |= solution
            public |= lines - solution - {BEGIN, END}
        else:
            public |= lines
    secret -= public  # a line that also stands in a public cell (e.g. "```") gives nothing away
    for index, cell in enumerate(student.cells):
        where = f"{path.name} (student), cell {index + 1}"
        assert "{solution" not in cell.source, where
        assert not re.search("(BEGIN|END) SOLUTION", cell.source, re.IGNORECASE), where
        assert not secret & {line.strip() for line in cell.source.splitlines()}, where
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, where


@pytest.mark.parametrize("path", WITH_CHECKS, ids=_ids(WITH_CHECKS))
def test_student_version_runs_with_every_check_not_yet_answered(path, tmp_path):
    executed, checks, _ = _student_run(path, tmp_path)
    _assert_checks_say(executed, checks, "not yet answered", f"{path.name} (student)")


@pytest.mark.parametrize("path", WITH_CHECKS, ids=_ids(WITH_CHECKS))
def test_student_version_passes_every_check_with_the_solutions_pasted_back(path, tmp_path):
    executed, _, pasted = _student_run(path, tmp_path)
    assert pasted, f"{path.name}: no answer cell to paste a solution into"
    _assert_pasted_pass(executed, pasted, f"{path.name} (student, solutions pasted)")


# -- the code on the "For instructors" page -----------------------------------------------------

def _page_blocks(language: str) -> list:
    """The fenced ``language`` blocks of instructors.md, dedented (some sit inside list items)."""
    blocks, current, fence = [], None, None
    for line in (ROOT / "instructors.md").read_text().splitlines():
        stripped = line.strip()
        if current is None and stripped in (f"```{language}", f"````{language}"):
            current, fence, indent = [], stripped[:stripped.index(language)], len(line) - len(line.lstrip())
        elif current is not None and stripped == fence:
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line[indent:])
    return blocks


def _page_block(language: str, contains: str) -> str:
    found = [block for block in _page_blocks(language) if contains in block]
    assert len(found) == 1, f"instructors.md should have one {language} block with {contains!r}"
    return found[0]


def _run_code_cells(nb, capsys) -> list:
    namespace: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(cell.source, namespace)
    return capsys.readouterr().out.splitlines()


def test_example_exercise_on_the_instructors_page_works_both_ways(capsys):
    nb = new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells = [
        new_code_cell(_page_block("python", "from tensorlib.coursework import check")),
        new_markdown_cell(_page_block("markdown", "{exercise}")),
        _cell(new_markdown_cell(_page_block("markdown", "{solution}")), "solution"),
        _cell(new_code_cell(_page_block("python", BEGIN)), "answer"),
        _cell(new_code_cell(_page_block("python", "check(\"")), "check"),
    ]
    assert re.search(r"^:class: dropdown$", nb.cells[2].source, re.MULTILINE)

    def statuses(lines):
        return [match["status"] if (match := CHECK_LINE.match(line)) else line for line in lines]

    assert statuses(_run_code_cells(make_student_version(nb), capsys)) == ["not yet answered"]
    assert statuses(_run_code_cells(nb, capsys)) == ["correct"]


def test_grading_function_on_the_instructors_page(tmp_path):
    namespace: dict = {}
    exec(_page_block("python", "def grade("), namespace)
    handed_out = tmp_path / "09_synthetic.ipynb"
    nbformat.write(make_student_version(_master()), handed_out)
    submission = make_student_version(_master())
    checks = [cell for cell in submission.cells if "check" in _tags(cell)]
    _executed(checks[0], "Exercise 9.1: correct\n")
    _executed(checks[1], "Exercise 9.2: not correct yet (your answer: 4).\n")
    nbformat.write(submission, tmp_path / "alice.ipynb")
    assert namespace["grade"](tmp_path / "alice.ipynb", handed_out) == {"9.1": "correct", "9.2": "not correct yet"}
    checks[1].source = 'check("9.2", answer_9_2, expected=answer_9_2)'
    nbformat.write(submission, tmp_path / "mallory.ipynb")
    with pytest.raises(ValueError, match="check cells differ"):
        namespace["grade"](tmp_path / "mallory.ipynb", handed_out)
