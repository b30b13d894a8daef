"""Chapters run outside the book: in plain Jupyter without myst-nb, and on Colab.

* Every chapter's first code cell is the Colab setup cell that ``scripts/sync_chapter_setup.py``
  writes (repository URL from ``_config.yml``, pins from ``requirements.txt``), hidden in the HTML.
* The setup cell does nothing outside Colab; on Colab it installs the pins and tensorlib from the
  repository (``subprocess.run`` is replaced by a recorder: the test has no network).
* ``tensorlib.book.glue`` is myst-nb's glue when myst-nb is importable, a plain display otherwise.
* A chapter, and its student version, run top to bottom in a kernel where ``import myst_nb``
  fails.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import nbclient
import nbformat
import pytest
import yaml

import tensorlib.book

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import sync_chapter_setup as setup_sync  # noqa: E402

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
#: The quickest chapter, run end to end without myst-nb.
RUN_WITHOUT_MYST = ROOT / "chapters" / "01_tensors.ipynb"


@pytest.fixture(scope="module")
def notebooks() -> dict[Path, nbformat.NotebookNode]:
    return {path: nbformat.read(path, as_version=4) for path in CHAPTERS}


@pytest.fixture(scope="module")
def setup_source() -> str:
    """The setup cell of the chapter that the tests run without myst-nb."""
    return setup_sync.setup_source([nbformat.read(RUN_WITHOUT_MYST, as_version=4)])


def _setup_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(cell for cell in nb.cells if cell.cell_type == "code")


def _run_setup(source: str, monkeypatch, *, colab: bool) -> list[list[str]]:
    """Execute the setup cell's code; return the commands it passed to subprocess.run."""
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda command, **kw: calls.append(command))
    if colab:
        google = types.ModuleType("google")
        monkeypatch.setitem(sys.modules, "google", google)
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "<setup cell>", "exec"), {})
    return calls


# --- the setup cell ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_setup_cell_is_what_the_sync_script_writes(path, notebooks):
    nb = nbformat.read(path, as_version=4)
    expected = setup_sync.setup_source([nb])
    assert not setup_sync.sync(nb, expected), (
        f"{path.name} is out of date: run python scripts/sync_chapter_setup.py")
    cell = _setup_cell(notebooks[path])
    assert cell.get("id") == setup_sync.SETUP_CELL_ID
    assert "remove-cell" in cell.metadata.get("tags", [])
    assert cell.source == expected


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_chapter_imports_myst_nb(path, notebooks):
    uses = [cell.source for cell in notebooks[path].cells
            if cell.cell_type == "code" and re.search(r"\bmyst_nb\b", cell.source)]
    assert not uses, f"{path.name} imports myst_nb, which plain Jupyter and Colab lack"


def test_setup_cell_does_nothing_outside_colab(setup_source, monkeypatch):
    assert _run_setup(setup_source, monkeypatch, colab=False) == []


def test_setup_cell_on_colab_installs_the_pins_and_the_repository(setup_source, monkeypatch):
    [command] = _run_setup(setup_source, monkeypatch, colab=True)
    assert command[:5] == [sys.executable, "-m", "pip", "install", "--quiet"]
    *pins, package = command[5:]
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    assert package == f"tensorlib @ git+{config['url'].rstrip('/')}@{config.get('branch', 'main')}"
    requirement_lines = {line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()}
    assert set(pins) <= requirement_lines, "every pin is a line of requirements.txt"
    pinned = {re.split("==", pin)[0].lower() for pin in pins}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = {re.split(r"[\s<>=!~;\[]", dep, maxsplit=1)[0].lower() for dep in project["dependencies"]}
    assert needed <= pinned, "tensorlib's own dependencies are pinned"
    assert "matplotlib" in pinned  # the chapters' figures
    assert not {"myst-nb", "jupyter-book"} & pinned  # the book's tooling is not needed there


def test_setup_cell_asks_for_a_restart_when_an_imported_module_changed(setup_source, monkeypatch):
    import importlib.metadata

    def dist(name, version):
        return types.SimpleNamespace(metadata={"Name": name}, version=version)

    snapshots = iter([[dist("numpy", "1.0")], [dist("numpy", "2.2.6")]])
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: next(snapshots))
    monkeypatch.setattr(importlib.metadata, "packages_distributions", lambda: {"numpy": ["numpy"]})
    assert "numpy" in sys.modules
    with pytest.raises(RuntimeError, match="restart the session"):
        _run_setup(setup_source, monkeypatch, colab=True)


def test_sync_rewrites_only_the_setup_cell_and_the_glue_import(setup_source):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"),
                nbformat.v4.new_code_cell("import numpy as np\nfrom myst_nb import glue"),
                nbformat.v4.new_code_cell("glue('x', 1)")]
    untouched = copy.deepcopy([nb.cells[0], nb.cells[2]])
    assert setup_sync.sync(nb, setup_source)
    assert [cell.cell_type for cell in nb.cells] == ["markdown", "code", "code", "code"]
    assert nb.cells[1].source == setup_source
    assert nb.cells[2].source == "import numpy as np\nfrom tensorlib.book import glue"
    assert [nb.cells[0], nb.cells[3]] == untouched
    assert not setup_sync.sync(nb, setup_source)  # idempotent


def test_sync_refuses_other_uses_of_myst_nb(setup_source):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import myst_nb\nmyst_nb.glue('x', 1)")]
    with pytest.raises(ValueError, match="myst_nb"):
        setup_sync.sync(nb, setup_source)


# --- tensorlib.book.glue ------------------------------------------------------------------------

def test_glue_is_myst_nb_glue_when_installed(monkeypatch):
    import myst_nb

    calls = []
    monkeypatch.setattr(myst_nb, "glue", lambda *args: calls.append(args))
    tensorlib.book.glue("rank", 16, display=False)
    assert calls == [("rank", 16, False)]


@pytest.mark.parametrize("display", [True, False])
def test_glue_without_myst_nb_displays_plainly_or_not_at_all(monkeypatch, display):
    import IPython.display

    shown = []
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import myst_nb raises ImportError
    monkeypatch.setattr(IPython.display, "display", shown.append)
    tensorlib.book.glue("rank", 16, display=display)
    assert shown == ([16] if display else [])


def test_glue_rejects_bad_arguments():
    with pytest.raises(TypeError, match="name"):
        tensorlib.book.glue(3, 16)
    with pytest.raises(TypeError, match="display"):
        tensorlib.book.glue("rank", 16, display="yes")


# --- a chapter in a kernel without myst-nb ------------------------------------------------------

def _execute_without_myst_nb(nb: nbformat.NotebookNode, tmp_path: Path, monkeypatch):
    blocker = tmp_path / "no_myst_nb" / "myst_nb"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text(
        'raise ImportError("myst_nb is made unimportable for this test")\n')
    path = f"{blocker.parent}:{ROOT}"
    monkeypatch.setenv("PYTHONPATH", path)  # the kernel inherits it and finds the blocker first
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(RUN_WITHOUT_MYST.parent)}})
    client.execute()
    return nb


def _output_types(nb: nbformat.NotebookNode) -> set[str]:
    return {mime for cell in nb.cells if cell.cell_type == "code"
            for output in cell.get("outputs", []) for mime in output.get("data", {})}


def test_chapter_runs_without_myst_nb(tmp_path, monkeypatch):
    nb = _execute_without_myst_nb(nbformat.read(RUN_WITHOUT_MYST, as_version=4), tmp_path,
                                  monkeypatch)
    mimes = _output_types(nb)
    assert not any(m.startswith("application/papermill.record") for m in mimes), (
        "glue went through myst-nb, which was meant to be unimportable")
    assert "image/png" in mimes  # the figures were drawn
    probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import importlib.util; print(importlib.util.find_spec('myst_nb').origin)")])
    origin = _execute_without_myst_nb(probe, tmp_path / "probe", monkeypatch)
    assert "no_myst_nb" in origin.cells[0].outputs[0]["text"]


def test_student_version_runs_without_myst_nb(tmp_path, monkeypatch):
    from tensorlib.coursework import make_student_version

    student = make_student_version(nbformat.read(RUN_WITHOUT_MYST, as_version=4))
    assert _setup_cell(student).get("id") == setup_sync.SETUP_CELL_ID
    nb = _execute_without_myst_nb(student, tmp_path, monkeypatch)
    checks = [output.get("text", "") for cell in nb.cells if "check" in cell.metadata.get("tags", [])
              for output in cell.outputs]
    assert checks and all("not yet answered" in text for text in checks)


# --- what the Colab cell installs ---------------------------------------------------------------

def test_a_non_editable_install_has_every_module(tmp_path):
    # The setup cell installs tensorlib from the repository, not in editable mode: every module
    # the chapters import must be in that install (pyproject.toml's package list decides).
    project = tmp_path / "project"  # a copy, so that the build leaves no build/ in the checkout
    shutil.copytree(ROOT / "tensorlib", project / "tensorlib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(target), str(project)],
                   check=True, capture_output=True)
    source = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tensorlib").rglob("*.py")}
    installed = {p.relative_to(target).as_posix() for p in (target / "tensorlib").rglob("*.py")}
    assert not source - installed, f"missing from a pip install of the repository: {sorted(source - installed)}"
