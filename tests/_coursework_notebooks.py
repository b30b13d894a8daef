"""Notebooks for the coursework tests: a small synthetic chapter, and ways to answer a student version.

Shared by ``test_coursework_student.py``, ``test_coursework_chapters.py`` and
``test_coursework_grade.py``. The cell conventions are read here independently of the module under
test (plain tag and marker lookups), so a bug there cannot hide itself.
"""

from __future__ import annotations

import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CHECK_LINE = re.compile(r"^Exercise (?P<exercise>.+?): (?P<status>correct|not correct yet|not yet answered|answered)\b")


def tags(cell) -> list:
    return list(cell.get("metadata", {}).get("tags", []))


def tagged(cell, *names):
    cell.metadata["tags"] = list(names)
    return cell


def blocks(text: str, begin: str, end: str) -> tuple:
    """(lines outside the blocks, lines inside them), markers dropped; markers matched exactly."""
    outside, inside, within = [], [], False
    for line in text.splitlines():
        if line.strip() == begin:
            within = True
        elif line.strip() == end:
            within = False
        else:
            (inside if within else outside).append(line)
    return outside, inside


def solved(answer_source: str) -> str:
    """An answer cell as a student who solved it has it: the master's lines, markers dropped."""
    return "\n".join(line for line in answer_source.splitlines() if line.strip() not in (BEGIN, END))


def answer(variable: str, solution: str, kind: str = "an int") -> str:
    return f"{variable} = None  # your answer: {kind}\n{BEGIN}\n{solution}\n{END}"


def synthetic_master(*extra) -> nbformat.NotebookNode:
    """Chapter 9: three quick exercises (pure Python, so a run costs little more than the kernel's start).

    9.1 is worth 2 points and has a solution-only code cell after it; 9.2 has a rule and a hidden
    setup block; the solution of 9.3 reuses a name that the solution of 9.2 defines.
    """
    nb = new_notebook(metadata={"kernelspec": KERNELSPEC})
    check_91 = tagged(new_code_cell(
        f'_ = check("9.1", answer_9_1, kind=int,\n{HIDDEN_BEGIN}\n          expected=math.prod((2, 3, 4)),\n'
        f'{HIDDEN_END}\n          hint="multiply the mode sizes")'), "check")
    check_91.metadata["points"] = 2
    nb.cells = [
        new_markdown_cell("# Chapter 9: a synthetic chapter"),
        new_code_cell("import math\n\nfrom tensorlib.coursework import check"),
        new_markdown_cell("```{exercise} Entries\n:label: ex-ch9-entries\n\nHow many entries has a 2 x 3 x 4 tensor?\n```"),
        tagged(new_markdown_cell("```{solution} ex-ch9-entries\n:class: dropdown\n\nThe secret reasoning of 9.1.\n```"),
               "solution"),
        tagged(new_code_cell(answer("answer_9_1", "answer_9_1 = 2 * 3 * 4")), "answer"),
        check_91,
        tagged(new_code_cell("secret_support_91 = math.prod((2, 3, 4))\nprint('secret value', secret_support_91)"),
               "remove-input", "solution"),
        new_markdown_cell("```{exercise} Shape\n:label: ex-ch9-shape\n\nThe shape of its matricization with "
                          "I = {2}, as a pair.\n```"),
        tagged(new_markdown_cell("```{solution} ex-ch9-shape\n:class: dropdown\n\nThe secret of 9.2.\n```"), "solution"),
        tagged(new_code_cell(answer("answer_9_2", "shape_92 = (4, 2 * 3)\nanswer_9_2 = shape_92", "a pair of ints")),
               "answer"),
        tagged(new_code_cell(
            f'{HIDDEN_BEGIN}\nsecret_expected_92 = (4, math.prod((2, 3)))\n{HIDDEN_END}\n'
            f'_ = check("9.2", answer_9_2, kind=(int, int),\n'
            f'          rule=(lambda a: a[0] * a[1] == 24, "whose product is the number of entries"),\n'
            f'{HIDDEN_BEGIN}\n          expected=secret_expected_92,\n{HIDDEN_END}\n          hint="rows: the modes in I")'),
            "check"),
        new_markdown_cell("```{exercise} A sum\n:label: ex-ch9-sum\n\nThe sum of the entries of the shape of 9.2 "
                          "and of 0, 1, 2, 3, 4.\n```"),
        tagged(new_markdown_cell("```{solution} ex-ch9-sum\n:class: dropdown\n\nThe secret of 9.3.\n```"), "solution"),
        tagged(new_code_cell(answer("answer_9_3", "answer_9_3 = sum(range(5)) + sum(shape_92)")), "answer"),
        tagged(new_code_cell(f'_ = check("9.3", answer_9_3, kind=int,\n{HIDDEN_BEGIN}\n'
                             f'          expected=5 * 4 // 2 + 4 + 6,\n{HIDDEN_END}\n          )'), "check"),
        *extra,
    ]
    return nb


def answer_cells(nb) -> list:
    return [cell for cell in nb.cells if "answer" in tags(cell)]


def with_answers(student, master, replace=None):
    """A copy of ``student`` with the master's solutions in its answer cells; ``replace`` overrides some.

    ``replace`` maps an answer cell's position (0, 1, ...) to the source the student wrote instead.
    """
    done = nbformat.from_dict(student)
    for k, (mine, theirs) in enumerate(zip(answer_cells(done), answer_cells(master))):
        mine.source = (replace or {}).get(k, solved(theirs.source))
    return done
