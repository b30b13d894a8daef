"""The chapters' exercises follow the coursework conventions, leak nothing, and work both ways.

* Read statically (cheap): each chapter has at least four exercises with hidden solutions; every
  answer cell is followed by a check cell; every master check compares with a computed value (never
  a typed constant) inside hidden tests, and every student check keeps a visible form check.
* No leak: a student version holds no solution, no hidden test, no expected value and no output.
  "No expected value" is shown in three ways: no line of a hidden block or of a solution cell is
  left; no check call of the student version has an ``expected`` argument; no value glued by a
  hidden block or a solution-only cell is glued, or referenced, in the student version (and a run
  of the student version records none).
* Executed, once per chapter: the student version runs top to bottom with every check "not yet
  answered"; with the master's solution pasted in after each exercise, the student's check says
  "answered" and the master's hidden check says "correct"; with an answer of the wrong form, the
  student's check says "not correct yet". The stored outputs of the masters say "correct" (nbval, in
  the same suite, re-runs each master and compares).

The chapters are discovered generically (``chapters/*.ipynb``), so a new chapter is tested without
touching this file. With the suite's ``--dist loadfile`` this module runs on one xdist worker, so
the per-chapter run cache (``_student_run``) is shared by the tests that read it.
"""

from __future__ import annotations

import ast
import builtins
import re
from pathlib import Path

import nbclient
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from _coursework_notebooks import (
    BEGIN,
    CHECK_LINE,
    END,
    HIDDEN_BEGIN,
    HIDDEN_END,
    KERNELSPEC,
    blocks,
    solved,
    synthetic_master,
    tagged,
    tags,
)
from tensorlib.coursework import make_student_version

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
GLUE_RECORD = "application/papermill.record/"
GLUE_CALL = re.compile(r"""\bglue\(\s*f?(['"])(?P<name>[^'"]+)\1""")
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`(?P<name>[^`:]+)")


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _ids(paths):
    return [path.stem for path in paths]


def _has_checks(path: Path) -> bool:
    return any("check" in tags(cell) for cell in _read(path).cells)


WITH_CHECKS = [path for path in CHAPTERS if _has_checks(path)]


# -- reading outputs --------------------------------------------------------------------------------

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
    """(status, line) for every output line of a cell; status None if the line is not a check message."""
    result = []
    for line in _output_lines(cell):
        match = CHECK_LINE.match(line)
        result.append((match.group("status") if match else None, line))
    return result


def _glue_records(cell) -> set:
    return {output.get("metadata", {}).get("scrapbook", {}).get("name") for output in cell.get("outputs", [])
            if any(key.startswith(GLUE_RECORD) for key in output.get("data", {}))}


# -- pasting the solutions into a student version, in one run per chapter -----------------------------

# The student run must show what a student sees, so no solution may leak into it; the pasted run must
# show what a student who solved every exercise sees. One execution does both: after each exercise's
# check cells, a cell runs the master's answer with ``exec`` in a *copy* of the notebook's namespace
# overlaid with what earlier pasted solutions bound (unless a student cell rebound that name since),
# then the student's checks (expected: "answered"), the master's checks with their hidden tests
# (expected: "correct"), and the student's checks again with every answer variable set to a string
# (expected: "not correct yet"). The student cells never see a solution's names (a check that needs a
# solution's name still fails), while a solution may build on an earlier one's, as in the master.
_PASTE_SETUP = '''\
from IPython.utils.capture import capture_output as _coursework_capture

_coursework_state = {"solved": {}, "seen": {}}

def _coursework_paste(answer, student_checks, master_checks, variables):
    missing, glob = object(), globals()
    ns = dict(glob)
    for name, value in _coursework_state["solved"].items():
        if glob.get(name, missing) is _coursework_state["seen"].get(name, missing):
            ns[name] = value
    before = dict(ns)
    with _coursework_capture():  # what the solution prints or plots is not a check's output
        exec(get_ipython().transform_cell(answer), ns)
    for source in student_checks + master_checks:
        exec(get_ipython().transform_cell(source), ns)
    _coursework_state["solved"].update(
        {name: value for name, value in ns.items() if before.get(name, missing) is not value})
    _coursework_state["seen"] = dict(glob)
    wrong = dict(ns, **{name: "an answer of the wrong form" for name in variables})
    for source in student_checks:
        exec(get_ipython().transform_cell(source), wrong)
'''


def _groups(nb) -> list:
    """(answer cell index, [check cell indices]) for each answer cell: the check cells that follow it."""
    groups = []
    for index, cell in enumerate(nb.cells):
        if "answer" in tags(cell):
            groups.append((index, []))
        elif "check" in tags(cell):
            if not groups:
                groups.append((None, []))
            groups[-1][1].append(index)
    return groups


def _answer_variables(answer_source: str) -> list:
    """The names an answer cell sets to None before its solution: the answers its checks read."""
    outside, _ = blocks(answer_source, BEGIN, END)
    return [target.id for node in ast.parse("\n".join(outside)).body if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and node.value.value is None
            for target in node.targets if isinstance(target, ast.Name)]


def _student_with_pasted_answers(master) -> tuple:
    """The student version, plus a cell after each exercise's checks re-running them with the solution pasted.

    Returns the notebook, the indices of its own check cells, and (pasted cell index, number of
    check cells) for each exercise.
    """
    student = make_student_version(master)
    master_groups, student_groups = _groups(master), _groups(student)
    assert len(master_groups) == len(student_groups)
    cells, checks, pasted = [new_code_cell(_PASTE_SETUP)], [], []
    ends = {group[1][-1]: (m_group, group) for m_group, group in zip(master_groups, student_groups) if group[1]}
    for index, cell in enumerate(student.cells):
        cells.append(cell)
        if "check" in tags(cell):
            checks.append(len(cells) - 1)
        if index in ends:
            (m_answer, m_checks), (_, s_checks) = ends[index]
            answer = solved(master.cells[m_answer].source) if m_answer is not None else ""
            variables = _answer_variables(master.cells[m_answer].source) if m_answer is not None else []
            arguments = (answer, [student.cells[i].source for i in s_checks],
                         [master.cells[i].source for i in m_checks], variables)
            cells.append(new_code_cell(f"_coursework_paste(*{arguments!r})"))
            pasted.append((len(cells) - 1, len(s_checks)))
    student.cells = cells
    return student, checks, pasted


def _execute(nb, workdir: Path):
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(workdir)}})
    return client.execute()


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
        found = [status for status, _ in _statuses(nb.cells[index])]
        expected = ["answered"] * n_checks + ["correct"] * n_checks + ["not correct yet"] * n_checks
        assert found == expected, f"{name}: pasted cell {index + 1} shows {_output_lines(nb.cells[index])}"


def test_harness_runs_a_synthetic_chapter_every_way(tmp_path):
    nb, checks, pasted = _student_with_pasted_answers(synthetic_master())
    executed = _execute(nb, tmp_path)
    _assert_checks_say(executed, checks, "not yet answered", "synthetic")
    _assert_pasted_pass(executed, pasted, "synthetic")
    assert len(checks) == len(pasted) == 3


def test_harness_catches_a_check_that_needs_the_solution(tmp_path):
    # 9.3's check reads `shape_92`, which only 9.2's solution defines: a student's run breaks.
    nb = synthetic_master()
    nb.cells[-1].source = '_ = check("9.3", answer_9_3, kind=int, hint=f"the shape was {shape_92}")'
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="NameError"):
        _execute(_student_with_pasted_answers(nb)[0], tmp_path)


def test_harness_catches_a_visible_rule_that_refuses_the_right_answer(tmp_path):
    nb = synthetic_master()
    nb.cells[-1].source = nb.cells[-1].source.replace("kind=int,", 'kind=int, rule=(lambda a: a < 3, "below 3"),')
    executed = _execute(_student_with_pasted_answers(nb)[0], tmp_path)
    with pytest.raises(AssertionError, match="pasted cell"):
        _assert_pasted_pass(executed, _student_with_pasted_answers(nb)[2], "synthetic")


# -- the chapters: conventions ---------------------------------------------------------------------

EXERCISE = re.compile(r"^[ \t]*(`{3,}|~{3,}|:{3,})\{exercise\}.*?\n[ \t]*:label:[ \t]*(\S+)", re.MULTILINE)
SOLUTION = re.compile(r"^[ \t]*(`{3,}|~{3,}|:{3,})\{solution\}[ \t]*(\S+)", re.MULTILINE)


def test_chapters_are_found():
    assert len(CHAPTERS) >= 6


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_chapter_ends_with_at_least_four_exercises_each_with_a_hidden_solution(path):
    cells = _read(path).cells
    markdown = "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    exercises = [label for _, label in EXERCISE.findall(markdown)]
    assert len(exercises) >= 4, f"{path.name} has {len(exercises)} labelled exercises, needs at least 4"
    solved_labels = []
    for cell in cells:
        for _, target in SOLUTION.findall(cell.source if cell.cell_type == "markdown" else ""):
            solved_labels.append(target)
            assert "solution" in tags(cell), f"{path.name}: the solution of {target} is in a cell not tagged 'solution'"
            assert re.search(r"^:class:[ \t]*dropdown", cell.source, re.MULTILINE), \
                f"{path.name}: the solution of {target} is not hidden (:class: dropdown)"
    assert sorted(solved_labels) == sorted(exercises), f"{path.name}: exercises {exercises}, solutions {solved_labels}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_every_answer_cell_is_followed_by_a_check_cell(path):
    code = [cell for cell in _read(path).cells if cell.cell_type == "code" and "solution" not in tags(cell)]
    answers = [i for i, cell in enumerate(code) if "answer" in tags(cell)]
    assert answers, f"{path.name} has no computational exercise (no cell tagged 'answer')"
    for i in answers:
        assert i + 1 < len(code) and "check" in tags(code[i + 1]), \
            f"{path.name}: the code cell after answer cell {code[i].source.splitlines()[0]!r} is not tagged 'check'"
    for i, cell in enumerate(code):
        if "check" in tags(cell):
            assert i > 0 and {"answer", "check"} & set(tags(code[i - 1])), \
                f"{path.name}: check cell {cell.source!r} does not follow an answer cell"


def _check_calls(source: str) -> list:
    calls = []
    for node in ast.walk(ast.parse(source)):
        func = getattr(node, "func", None)
        if isinstance(node, ast.Call) and (getattr(func, "id", None) == "check" or getattr(func, "attr", None) == "check"):
            calls.append(node)
    return calls


def _argument(call: ast.Call, name: str, position: int):
    keywords = {kw.arg: kw.value for kw in call.keywords}
    return keywords.get(name, call.args[position] if len(call.args) > position else None)


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_master_checks_compare_with_a_computed_value_given_in_hidden_tests(path):
    seen = []
    for cell in _read(path).cells:
        if "check" not in tags(cell):
            continue
        calls = _check_calls(cell.source)
        assert calls, f"{path.name}: check cell {cell.source!r} does not call check()"
        _, hidden = blocks(cell.source, HIDDEN_BEGIN, HIDDEN_END)
        assert hidden, f"{path.name}: check cell {cell.source!r} has no hidden tests"
        for call in calls:
            expected = _argument(call, "expected", 2)
            assert expected is not None, f"{path.name}: {ast.unparse(call)} has no expected value"
            names = {n.id for n in ast.walk(expected) if isinstance(n, ast.Name)} - set(dir(builtins))
            assert names, f"{path.name}: {ast.unparse(call)} compares with a typed constant, not a computed value"
            if call.args and isinstance(call.args[0], ast.Constant):
                seen.append(call.args[0].value)
    assert len(seen) == len(set(seen)), f"{path.name}: an exercise is checked twice: {seen}"


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_student_checks_keep_a_form_check_and_no_expected_value(path):
    student = make_student_version(_read(path), name=path.name)
    checks = [cell for cell in student.cells if "check" in tags(cell)]
    assert checks
    for cell in checks:
        for call in _check_calls(cell.source):
            assert _argument(call, "expected", 2) is None, f"{path.name} (student): {ast.unparse(call)}"
            assert _argument(call, "kind", 99) is not None, f"{path.name} (student): {ast.unparse(call)} has no kind"


# Executing the masters again here would repeat nbval's work: nbval (in this suite, over chapters/)
# re-runs every chapter and fails if any fresh text output differs from the stored one. So a stored
# "correct" is a fresh "correct", and reading the stored outputs is enough.
@pytest.mark.parametrize("path", WITH_CHECKS, ids=_ids(WITH_CHECKS))
def test_master_checks_all_say_correct_in_the_stored_outputs(path):
    nb = _read(path)
    indices = [i for i, cell in enumerate(nb.cells) if "check" in tags(cell)]
    _assert_checks_say(nb, indices, "correct", path.name)


# -- the chapters: nothing leaks into a student version --------------------------------------------

def _secrets(master) -> tuple:
    """(lines only solutions and hidden tests hold, names glued only by them) of a master, found independently."""
    public, secret, secret_code = set(), set(), []
    for cell in master.cells:
        lines = {line.strip() for line in cell.source.splitlines() if line.strip()}
        if "solution" in tags(cell):
            secret |= lines
            secret_code += [cell.source] if cell.cell_type == "code" else []
        elif "answer" in tags(cell) or "check" in tags(cell):
            begin, end = (BEGIN, END) if "answer" in tags(cell) else (HIDDEN_BEGIN, HIDDEN_END)
            outside, inside = blocks(cell.source, begin, end)
            secret |= {line.strip() for line in inside if line.strip()}
            public |= {line.strip() for line in outside if line.strip()}
            secret_code += inside
        else:
            public |= lines
    # a line that also stands in a public cell (e.g. "```" or ")") gives nothing away
    glued = {match["name"] for text in secret_code for match in GLUE_CALL.finditer(text)}
    return secret - public - {BEGIN, END, HIDDEN_BEGIN, HIDDEN_END}, glued


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_student_version_holds_no_solution_no_hidden_test_and_no_output(path):
    master = _read(path)
    student = make_student_version(master, name=path.name)
    secret, _ = _secrets(master)
    for index, cell in enumerate(student.cells):
        where = f"{path.name} (student), cell {index + 1}"
        assert "{solution" not in cell.source, where
        assert not re.search("(BEGIN|END) (SOLUTION|HIDDEN)", cell.source, re.IGNORECASE), where
        assert not secret & {line.strip() for line in cell.source.splitlines()}, where
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, where


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids(CHAPTERS))
def test_student_version_neither_glues_nor_quotes_a_value_of_the_solutions(path):
    master = _read(path)
    student = make_student_version(master, name=path.name)
    _, hidden_glue = _secrets(master)
    text = "\n".join(cell.source for cell in student.cells)
    leaked = sorted(name for name in hidden_glue if name in text)
    assert not leaked, f"{path.name} (student) names values glued only for the solutions: {leaked}"
    # every value the student version's text quotes is glued by the student version itself
    glued = {m["name"] for cell in student.cells if cell.cell_type == "code" for m in GLUE_CALL.finditer(cell.source)}
    quoted = {m["name"] for cell in student.cells if cell.cell_type == "markdown" for m in GLUE_ROLE.finditer(cell.source)}
    dynamic = any(re.search(r"\bglue\(\s*f['\"]", cell.source) for cell in student.cells if cell.cell_type == "code")
    missing = sorted(name for name in quoted - glued if not dynamic or name in hidden_glue)
    assert not missing, f"{path.name} (student) quotes values it does not compute: {missing}"


@pytest.mark.parametrize("path", WITH_CHECKS, ids=_ids(WITH_CHECKS))
def test_student_version_runs_with_every_check_not_yet_answered(path, tmp_path):
    executed, checks, _ = _student_run(path, tmp_path)
    _assert_checks_say(executed, checks, "not yet answered", f"{path.name} (student)")


@pytest.mark.parametrize("path", WITH_CHECKS, ids=_ids(WITH_CHECKS))
def test_run_of_the_student_version_records_no_value_of_the_solutions(path, tmp_path):
    executed, _, pasted = _student_run(path, tmp_path)
    _, hidden_glue = _secrets(_read(path))
    pasted_cells = {index for index, _ in pasted}
    recorded = set().union(*(_glue_records(cell) for index, cell in enumerate(executed.cells)
                             if index not in pasted_cells))
    assert not recorded & hidden_glue, f"{path.name} (student) records {sorted(recorded & hidden_glue)}"


@pytest.mark.parametrize("path", WITH_CHECKS, ids=_ids(WITH_CHECKS))
def test_student_checks_accept_the_solutions_and_hidden_checks_pass_them(path, tmp_path):
    executed, _, pasted = _student_run(path, tmp_path)
    assert pasted, f"{path.name}: no answer cell to paste a solution into"
    _assert_pasted_pass(executed, pasted, f"{path.name} (student, solutions pasted)")


# -- the example on the "For instructors" page -----------------------------------------------------

def _page_blocks(language: str) -> list:
    """The fenced ``language`` blocks of instructors.md, dedented (some sit inside list items)."""
    found, current, fence, indent = [], None, None, 0
    for line in (ROOT / "instructors.md").read_text().splitlines():
        stripped = line.strip()
        if current is None and stripped in (f"```{language}", f"````{language}"):
            current, fence, indent = [], stripped[:stripped.index(language)], len(line) - len(line.lstrip())
        elif current is not None and stripped == fence:
            found.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line[indent:])
    return found


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


def test_example_exercise_on_the_instructors_page_works_every_way(capsys):
    nb = new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells = [
        new_code_cell(_page_block("python", "from tensorlib.coursework import check")),
        new_markdown_cell(_page_block("markdown", "{exercise}")),
        tagged(new_markdown_cell(_page_block("markdown", "{solution}")), "solution"),
        tagged(new_code_cell(_page_block("python", BEGIN)), "answer"),
        tagged(new_code_cell(_page_block("python", HIDDEN_BEGIN)), "check"),
    ]
    assert re.search(r"^:class: dropdown$", nb.cells[2].source, re.MULTILINE)

    def statuses(lines):
        return [match["status"] if (match := CHECK_LINE.match(line)) else line for line in lines]

    student = make_student_version(nb)
    assert statuses(_run_code_cells(student, capsys)) == ["not yet answered"]
    assert statuses(_run_code_cells(nb, capsys)) == ["correct"]
    student.cells[-2].source = solved(nb.cells[3].source)
    assert statuses(_run_code_cells(student, capsys)) == ["answered"]
