"""Make every chapter runnable outside the book: a Colab setup cell, and glue without myst-nb.

    python scripts/sync_chapter_setup.py [--check] [NOTEBOOK ...]    (default: chapters/*.ipynb)

Two edits, and nothing else in the notebook changes (it is re-written with nbformat, so every
other cell and output stays byte-identical):

1. The first code cell becomes the *setup cell* (cell id ``colab-setup``, tagged ``remove-cell``
   so the HTML never shows it). On Colab, detected by ``google.colab`` in ``sys.modules``, it
   installs the pinned packages the chapters need and ``tensorlib`` from the book's repository;
   anywhere else it does nothing. The repository URL and branch are read from ``_config.yml``
   (``repository.url``, ``repository.branch``) and the pins from ``requirements.txt``, so both
   stay one setting each: change them there and re-run this script.
2. ``from myst_nb import glue`` becomes ``from tensorlib.book import glue``, which is myst-nb's
   glue when myst-nb is installed and a plain display otherwise.

The script is idempotent; ``--check`` writes nothing and exits 1 if a notebook is out of date.
A chapter's setup cell pins tensorlib's own dependencies (``pyproject.toml``) and every
third-party package that chapter imports, each with its version from ``requirements.txt``.
"""

from __future__ import annotations

import argparse
import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

import nbformat
import yaml
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parent.parent
SETUP_CELL_ID = "colab-setup"
SETUP_TAGS = ["remove-cell"]
GLUE_OLD = "from myst_nb import glue"
GLUE_NEW = "from tensorlib.book import glue"
#: Modules every Jupyter kernel has, which the setup cell need not install.
KERNEL_MODULES = {"IPython", "ipykernel", "matplotlib_inline", "ipywidgets", "tensorlib"}

SETUP_TEMPLATE = '''\
# On Google Colab only: install the book's pinned packages and tensorlib from its repository.
# Anywhere else (a clone of the repository, plain Jupyter, the book's build) this does nothing.
import sys

if "google.colab" in sys.modules:
    import importlib
    import importlib.metadata
    import subprocess

    installed = {d.metadata["Name"]: d.version for d in importlib.metadata.distributions()}
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
{requirements}],
                   check=True)
    importlib.invalidate_caches()
    changed = {d.metadata["Name"] for d in importlib.metadata.distributions()
               if installed.get(d.metadata["Name"], d.version) != d.version}
    stale = sorted(module for module, names in importlib.metadata.packages_distributions().items()
                   if module in sys.modules and changed.intersection(names))
    if stale:
        raise RuntimeError(f"New versions of {', '.join(stale)} were installed after this session "
                           "imported them: restart the session (Runtime > Restart session), then "
                           "run all cells again.")'''


def repository(root: Path = ROOT) -> tuple[str, str]:
    """The book's repository URL and branch, from ``_config.yml``."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    repo = config.get("repository") or {}
    url = repo.get("url")
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValueError(f"_config.yml: repository.url must be an https URL, got {url!r}")
    return url.rstrip("/"), str(repo.get("branch") or "main")


def _pins(root: Path) -> dict[str, str]:
    pins = {}
    for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[_canonical(match.group(1))] = f"{match.group(1)}=={match.group(2)}"
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_modules(notebooks: Iterable[nbformat.NotebookNode]) -> set[str]:
    modules = set()
    for nb in notebooks:
        for cell in nb.cells:
            if cell.cell_type != "code" or cell.get("id") == SETUP_CELL_ID:
                continue
            # IPython turns magics and shell escapes into Python, so the cell parses as Python.
            source = TransformerManager().transform_cell(cell.source)
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules


def requirements(notebooks: Iterable[nbformat.NotebookNode], root: Path = ROOT) -> list[str]:
    """The pinned requirements a setup cell installs, sorted, without tensorlib itself.

    tensorlib's runtime dependencies from ``pyproject.toml`` plus the distribution of every
    third-party module the given notebooks import (the standard library and the kernel's own modules
    excepted), each pinned as in ``requirements.txt``. A chapter import that requirements.txt
    does not pin is an error: the Colab cell could not install a tested version of it.
    """
    pins = _pins(root)
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {_canonical(re.split(r"[\s<>=!~;\[]", dep, maxsplit=1)[0])
             for dep in project.get("dependencies", [])}
    distributions = importlib.metadata.packages_distributions()
    myst_nb = {GLUE_OLD.split()[1]}
    for module in sorted(_imported_modules(notebooks) - KERNEL_MODULES - myst_nb):
        if module in sys.stdlib_module_names:
            continue
        found = [_canonical(d) for d in distributions.get(module, [])]
        if not found:
            raise ValueError(f"a chapter imports {module!r}, which no installed distribution "
                             "provides")
        names.update(found)
    missing = sorted(name for name in names if name not in pins)
    if missing:
        raise ValueError(f"requirements.txt pins no version of {', '.join(missing)}, which the "
                         "chapters need; add the pin there")
    return sorted(pins[name] for name in names)


def setup_source(notebooks: Iterable[nbformat.NotebookNode], root: Path = ROOT) -> str:
    """The source of the setup cell for the current ``_config.yml`` and ``requirements.txt``."""
    url, branch = repository(root)
    items = [*requirements(notebooks, root), f"tensorlib @ git+{url}@{branch}"]
    lines = ",\n".join(f'                    "{item}"' for item in items)
    return SETUP_TEMPLATE.replace("{requirements}", lines)


def sync(nb: nbformat.NotebookNode, source: str) -> bool:
    """Put the setup cell and the glue import right in ``nb`` (in place); True if it changed."""
    before = nbformat.writes(nb)
    existing = [cell for cell in nb.cells if cell.get("id") == SETUP_CELL_ID]
    if existing:
        cell = existing[0]
        nb.cells.remove(cell)
    else:
        cell = nbformat.v4.new_code_cell(id=SETUP_CELL_ID)
    cell.source = source
    cell.metadata["tags"] = SETUP_TAGS + [t for t in cell.metadata.get("tags", [])
                                          if t not in SETUP_TAGS]
    first_code = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
    nb.cells.insert(first_code, cell)
    for other in nb.cells:
        if other.cell_type != "code" or other is cell:
            continue
        lines = [GLUE_NEW if line.strip() == GLUE_OLD else line
                 for line in other.source.split("\n")]
        other.source = "\n".join(lines)
        if re.search(r"\bmyst_nb\b", other.source):
            raise ValueError(f"cell {other.get('id')!r} uses myst_nb in a way this script does "
                             f"not rewrite (only {GLUE_OLD!r} is); import glue from "
                             "tensorlib.book instead")
    return nbformat.writes(nb) != before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    stale, failed = [], []
    for path in paths:
        nb = nbformat.read(path, as_version=4)  # read right before writing: others edit chapters
        try:
            changed = sync(nb, setup_source([nb]))
        except ValueError as error:
            failed.append(path)
            print(f"error: {path}: {error}", file=sys.stderr)
            continue
        if changed:
            stale.append(path)
            if not args.check:
                nbformat.write(nb, path)
    verb = "out of date" if args.check else "updated"
    for path in stale:
        print(f"{verb}: {path}")
    if not stale and not failed:
        print(f"{len(paths)} notebooks already in sync")
    return 1 if failed or (args.check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main())
