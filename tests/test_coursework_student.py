"""Student and instructor versions (tensorlib/coursework/student.py, conventions.py and the command).

On small synthetic notebooks: what a student version keeps and removes (solutions, solution-only
cells, hidden tests, outputs), the refusals that protect against a leak, ``write_versions``, the
command line, and that ``import tensorlib.coursework`` needs neither nbformat nor nbclient.
"""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from _coursework_notebooks import (
    BEGIN,
    END,
    HIDDEN_BEGIN,
    HIDDEN_END,
    KERNELSPEC,
    synthetic_master,
    tagged,
    tags,
)
from tensorlib.coursework import make_student_version, write_versions
from tensorlib.coursework.cli import main


def _sources(nb) -> list:
    return [cell.source for cell in nb.cells]


def _executed(cell, *texts):
    cell.execution_count = 7
    cell.outputs = [new_output("stream", name="stdout", text=text) for text in texts]
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00"}
    return cell


def _executed_master() -> nbformat.NotebookNode:
    """The synthetic master as committed: every code cell run, every check saying "correct"."""
    nb = synthetic_master()
    for cell in nb.cells:
        if cell.cell_type == "code":
            _executed(cell, "Exercise 9.1: correct\n" if "check" in tags(cell) else "some output\n")
    return nb


def _check(exercise: str, visible: str = "kind=int", hidden: str = "expected=3") -> str:
    return f'_ = check("{exercise}", x, {visible},\n{HIDDEN_BEGIN}\n    {hidden},\n{HIDDEN_END}\n)'


# -- make_student_version: solutions ---------------------------------------------------------------

def test_solution_tagged_cells_are_removed_markdown_and_code():
    student = make_student_version(synthetic_master())
    assert not any("secret" in source for source in _sources(student))
    assert len(student.cells) == len(synthetic_master().cells) - 4


def test_answer_cell_keeps_only_the_lines_outside_the_solution_block():
    source = f"x = None  # your answer\n{BEGIN}\nx = secret()\nsecret_two()\n{END}\ny = x"
    nb = synthetic_master(tagged(new_code_cell(source), "answer"))
    assert make_student_version(nb).cells[-1].source == "x = None  # your answer\ny = x"


def test_solution_markers_are_recognized_when_indented_or_misspelt_in_case():
    source = "x = None\n    ### begin solution\n    x = secret()\n  ##  END SOLUTION  "
    nb = synthetic_master(tagged(new_code_cell(source), "answer"))
    assert make_student_version(nb).cells[-1].source == "x = None"


@pytest.mark.parametrize("fence", ["```", "~~~", ":::", "````"])
def test_untagged_solution_directive_is_cut_out_of_markdown(fence):
    text = f"Before.\n\n{fence}{{solution}} ex-ch9-entries\n:class: dropdown\n\nsecret text\n{fence}\n\nAfter."
    student = make_student_version(synthetic_master(new_markdown_cell(text)))
    assert student.cells[-1].source == "Before.\n\n\nAfter."


def test_solution_directive_with_a_nested_code_block_is_cut_out_whole():
    text = "````{solution} ex-ch9-entries\nsecret\n```python\nsecret_code()\n```\nmore secret\n````\nAfter."
    student = make_student_version(synthetic_master(new_markdown_cell(text)))
    assert student.cells[-1].source == "After."


def test_markdown_cell_holding_only_an_untagged_solution_is_dropped():
    nb = synthetic_master(new_markdown_cell("```{solution} ex-ch9-entries\nsecret\n```"))
    assert len(make_student_version(nb).cells) == len(make_student_version(synthetic_master()).cells)


def test_unclosed_solution_directive_is_cut_to_the_end_of_its_cell():
    nb = synthetic_master(new_markdown_cell("Kept.\n```{solution} ex-ch9-entries\nsecret"), new_markdown_cell("Next."))
    assert _sources(make_student_version(nb))[-2:] == ["Kept.\n", "Next."]


def test_solution_directive_shown_inside_a_code_block_is_kept():
    text = "How to write one:\n\n````markdown\n```{solution} ex-ch9-x\ntext\n```\n````"
    assert make_student_version(synthetic_master(new_markdown_cell(text))).cells[-1].source == text


def test_solution_directive_inside_another_directive_is_cut_out():
    text = "````{note}\nKept.\n```{solution} ex-ch9-x\nsecret\n```\nAlso kept.\n````"
    student = make_student_version(synthetic_master(new_markdown_cell(text)))
    assert student.cells[-1].source == "````{note}\nKept.\nAlso kept.\n````"


def test_gated_solution_is_removed_with_every_cell_inside_it():
    nb = synthetic_master(new_markdown_cell("Kept.\n```{solution-start} ex-ch9-entries\n:class: dropdown\n```\nsecret"),
                          new_code_cell("secret_code()"),
                          new_markdown_cell("secret words\n```{solution-end}\n```\nKept after."),
                          new_code_cell("kept_code()"))
    assert _sources(make_student_version(nb))[-3:] == ["Kept.\n", "Kept after.", "kept_code()"]


# -- make_student_version: hidden tests --------------------------------------------------------------

def test_check_cell_loses_its_hidden_tests_and_keeps_the_rest_in_order():
    source = (f"{HIDDEN_BEGIN}\nsecret_setup = 1\n{HIDDEN_END}\n_ = check(\"9.9\", x, kind=int,\n"
              f"{HIDDEN_BEGIN}\n          expected=secret_setup,\n{HIDDEN_END}\n          hint=\"think\")")
    student = make_student_version(synthetic_master(tagged(new_code_cell(source), "check")))
    assert student.cells[-1].source == '_ = check("9.9", x, kind=int,\n          hint="think")'


def test_hidden_markers_are_recognized_when_indented_or_misspelt_in_case():
    source = '_ = check("9.9", x, kind=int,\n   ## begin hidden test \n    expected=secret,\n#END HIDDEN TESTS\n)'
    student = make_student_version(synthetic_master(tagged(new_code_cell(source), "check")))
    assert student.cells[-1].source == '_ = check("9.9", x, kind=int,\n)'


def test_synthetic_check_cells_have_no_hidden_line_left():
    student = make_student_version(synthetic_master())
    checks = [cell.source for cell in student.cells if "check" in tags(cell)]
    assert len(checks) == 3 and not any("expected" in text or "HIDDEN" in text for text in checks)


@pytest.mark.parametrize("source, message", [
    (f'_ = check("9.9", x, kind=int)\n{HIDDEN_BEGIN}\ny = 1', "without a matching '### END HIDDEN TESTS'"),
    (f'_ = check("9.9", x, kind=int)\n{HIDDEN_END}', "without a '### BEGIN HIDDEN TESTS' before it"),
    (f'{HIDDEN_BEGIN}\n{HIDDEN_BEGIN}\ny = 1\n{HIDDEN_END}\n_ = check("9.9", x, kind=int)', "inside another such block"),
    (f'_ = check("9.9", x, kind=int,\n{HIDDEN_BEGIN}\n    expected=3)\n{HIDDEN_END}', "is not valid Python"),
    (f'{HIDDEN_BEGIN}\n_ = check("9.9", x, 3)\n{HIDDEN_END}', "no check(...) call"),
    ('_ = check(exercise_name, x, 3)', "must name its exercise with a string literal"),
    ('_ = check("9.9", x, 3)\n_ = check("9.8", y, 4)', "calls for exercises ['9.8', '9.9']"),
    ('_ = check("9.9", x, 3)', "gives its expected value outside '### BEGIN HIDDEN TESTS'"),
    (f'_ = check("9.9", x, kind=int,\n    expected=y)\n{HIDDEN_BEGIN}\ny = 3\n{HIDDEN_END}', "gives its expected value outside"),
])
def test_malformed_check_cell_is_refused_with_its_location(source, message):
    nb = synthetic_master(tagged(new_code_cell(source), "check"))
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        make_student_version(nb, name="09_synthetic.ipynb")
    assert f"09_synthetic.ipynb, cell {len(nb.cells)}" in str(error.value)


def test_hidden_markers_in_a_cell_not_tagged_check_are_refused():
    nb = synthetic_master(new_code_cell(_check("9.9")))
    with pytest.raises(ValueError, match="is not tagged 'check'"):
        make_student_version(nb)


def test_hidden_markers_in_an_answer_cell_are_refused():
    nb = synthetic_master(tagged(new_code_cell(f"x = None\n{HIDDEN_BEGIN}\nx = 3\n{HIDDEN_END}"), "answer"))
    with pytest.raises(ValueError, match="is not tagged 'check'"):
        make_student_version(nb)


# -- make_student_version: everything else -----------------------------------------------------------

def test_outputs_execution_counts_and_timings_are_cleared():
    student = make_student_version(_executed_master())
    code = [cell for cell in student.cells if cell.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None and "execution" not in c.metadata for c in code)


def test_prose_and_other_code_cells_are_kept_unchanged_with_their_metadata():
    nb = synthetic_master()
    kept = [cell for cell in nb.cells if not {"solution", "answer", "check"} & set(tags(cell))]
    student = [cell for cell in make_student_version(nb).cells if not {"answer", "check"} & set(tags(cell))]
    assert [(c.source, c.metadata) for c in student] == [(c.source, c.metadata) for c in kept]


def test_check_cells_keep_their_metadata_points_included():
    checks = [cell for cell in make_student_version(synthetic_master()).cells if "check" in tags(cell)]
    assert [cell.metadata.get("points") for cell in checks] == [2, None, None]


def test_master_notebook_is_not_modified():
    nb = _executed_master()
    before = nbformat.writes(nb)
    make_student_version(nb)
    assert nbformat.writes(nb) == before


def test_student_version_is_a_valid_notebook():
    nbformat.validate(make_student_version(synthetic_master()))


@pytest.mark.parametrize("source, message", [
    (f"x = None\n{BEGIN}\nx = 1", "BEGIN SOLUTION' without a matching '### END SOLUTION'"),
    (f"x = None\n{END}", "END SOLUTION' without a '### BEGIN SOLUTION' before it"),
    (f"x = None\n{BEGIN}\n{BEGIN}\nx = 1\n{END}", "inside another such block"),
    (f"# your answer:\n{BEGIN}\nx = 1\n{END}", "nothing is left outside the solution block"),
])
def test_malformed_answer_cell_is_refused_with_its_location(source, message):
    nb = synthetic_master(tagged(new_code_cell(source), "answer"))
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        make_student_version(nb, name="09_synthetic.ipynb")
    assert f"09_synthetic.ipynb, cell {len(nb.cells)}" in str(error.value)


def test_solution_markers_in_an_untagged_code_cell_are_refused():
    nb = synthetic_master(new_code_cell(f"x = None\n{BEGIN}\nx = 1\n{END}"))
    with pytest.raises(ValueError, match="is not tagged 'answer'"):
        make_student_version(nb)


def test_unclosed_gated_solution_is_refused():
    nb = synthetic_master(new_markdown_cell("```{solution-start} ex-ch9-entries\n```"), new_code_cell("secret()"))
    with pytest.raises(ValueError, match=r"\{solution-start\} without a \{solution-end\}"):
        make_student_version(nb)


def test_solution_end_without_start_is_refused():
    with pytest.raises(ValueError, match=r"\{solution-end\} without a \{solution-start\}"):
        make_student_version(synthetic_master(new_markdown_cell("```{solution-end}\n```")))


@pytest.mark.parametrize("notebook", [None, "chapter.ipynb", {"cells": "not a list"}])
def test_non_notebook_is_refused(notebook):
    with pytest.raises(TypeError, match="notebook must be an nbformat notebook"):
        make_student_version(notebook)


def test_notebook_in_an_old_format_is_refused():
    nb = synthetic_master()
    nb["nbformat"] = 3
    with pytest.raises(ValueError, match="nbformat 4"):
        make_student_version(nb)


# A random master: public lines must survive, in order; no secret line may.
_line = st.integers(0, 10**6)
_cells = st.lists(st.one_of(
    st.tuples(st.just("public_code"), st.lists(_line, min_size=1, max_size=3)),
    st.tuples(st.just("public_md"), st.lists(_line, min_size=1, max_size=3)),
    st.tuples(st.just("solution_md"), st.lists(_line, min_size=1, max_size=3)),
    st.tuples(st.just("solution_code"), st.lists(_line, min_size=1, max_size=3)),
    st.tuples(st.just("untagged_solution_md"), st.lists(_line, min_size=1, max_size=3)),
    st.tuples(st.just("answer"), st.lists(_line, min_size=3, max_size=6)),
    st.tuples(st.just("check"), st.lists(_line, min_size=2, max_size=5)),
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
            nb.cells.append(tagged(new_markdown_cell("```{solution} ex\n" + "\n".join(secret) + "\n```"), "solution"))
        elif kind == "solution_code":
            nb.cells.append(tagged(new_code_cell("\n".join(secret)), "remove-input", "solution"))
        elif kind == "untagged_solution_md":
            nb.cells.append(new_markdown_cell(f"{keep[0]}\n```{{solution}} ex\n" + "\n".join(secret[1:]) + "\n```"))
            public.append(keep[0])
        elif kind == "answer":
            before, inside, after = keep[:1], secret[1:-1], keep[-1:]
            nb.cells.append(tagged(new_code_cell("\n".join([*before, BEGIN, *inside, END, *after])), "answer"))
            public += before + after
        else:  # a check cell: hidden setup lines, then a call whose hidden argument lines stand inside it
            call = f'check("{numbers[0]}", {keep[0]},'
            hidden = [f"    {name}=1," for name in secret[1:]]
            nb.cells.append(tagged(new_code_cell("\n".join([HIDDEN_BEGIN, *secret[1:], HIDDEN_END, call,
                                                            HIDDEN_BEGIN, *hidden, HIDDEN_END, ")"])), "check"))
            public.append(f'check("{numbers[0]}", {keep[0]},')
    return nb, public


@settings(max_examples=60)
@given(_cells)
def test_student_version_keeps_every_public_line_in_order_and_no_secret_line(spec):
    nb, public = _random_master(spec)
    student = make_student_version(nb)
    lines = [line for cell in student.cells for line in cell.source.splitlines() if line.strip()]
    assert [line for line in lines if "public_" in line] == public
    assert not [line for line in lines if "secret" in line or "SOLUTION" in line or "HIDDEN" in line
                or "{solution" in line]
    assert make_student_version(student) == student  # nothing left to strip


# -- write_versions and the command ------------------------------------------------------------------

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
        assert nbformat.read(path, as_version=4) == make_student_version(nbformat.read(masters / path.name, as_version=4))
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
    broken = synthetic_master(tagged(new_code_cell(f"x = None\n{BEGIN}"), "answer"))
    nbformat.write(broken, masters / "03_broken.ipynb")
    with pytest.raises(ValueError, match=f"03_broken.ipynb, cell {len(broken.cells)}"):
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


def test_importing_check_needs_neither_nbformat_nor_nbclient():
    # What a student's notebook does; the tools are imported only when asked for.
    code = ("import sys\nimport tensorlib\nfrom tensorlib.coursework import check, CheckResult\n"
            "print(sorted(m for m in ('nbformat', 'nbclient') if m in sys.modules))\n"
            "from tensorlib.coursework import make_student_version\nprint('nbformat' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.splitlines()) == (0, ["[]", "True"]), done.stderr


# -- issue 11: the tool never writes through a link, never trips on a folder, never keeps a string-tagged solution

def _one_master(folder) -> "Path":
    nb = new_notebook(cells=[new_markdown_cell("# A chapter"), new_code_cell("x = 1")])
    folder.mkdir()
    path = folder / "01_a.ipynb"
    nbformat.write(nb, path)
    return path


def test_a_link_in_the_destination_to_a_master_is_refused_and_the_master_is_untouched(tmp_path):
    master = _one_master(tmp_path / "chapters")
    before = master.read_bytes()
    (tmp_path / "student").mkdir()
    (tmp_path / "student" / "01_a.ipynb").symlink_to(master)
    for instructor in (False, True):
        with pytest.raises(ValueError, match="is a symbolic link"):
            write_versions(tmp_path / "chapters", tmp_path / "student", instructor=instructor)
    assert master.read_bytes() == before


def test_a_folder_named_like_a_notebook_is_skipped_in_the_source_and_refused_in_the_destination(tmp_path):
    _one_master(tmp_path / "chapters")
    (tmp_path / "chapters" / "02_folder.ipynb").mkdir()
    written = write_versions(tmp_path / "chapters", tmp_path / "student")
    assert [path.name for path in written] == ["01_a.ipynb"]
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "01_a.ipynb").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        write_versions(tmp_path / "chapters", tmp_path / "other")


def test_a_solution_tag_given_as_a_string_still_removes_the_cell():
    # A code cell that serves only a solution (it glues the answer): no directive to recognize it by.
    nb = new_notebook(cells=[new_markdown_cell("# A chapter"), new_code_cell('glue("ex_x", 42)')])
    nb.cells[1].metadata["tags"] = "solution"  # hand-edited: a string, not a list
    student = make_student_version(nb)
    assert all("42" not in "".join(cell.source) for cell in student.cells)
