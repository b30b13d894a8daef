"""Where the tests of the built book (HTML, browser, PDF) find it.

* ``BOOK_HTML`` / ``BOOK_PDF`` name a built HTML folder / PDF to check. ``.ci/run`` sets them to
  the book it has just built from the fresh clone (chapters executed), so CI checks exactly what
  it built; they must exist.
* Without them, the tests build what they need under ``_build/test-book/`` from the committed
  chapter outputs (``scripts/book_build.py --stored-outputs``: seconds, not minutes, and
  incremental on the next run). nbval checks separately that those outputs are what a fresh run
  of each chapter prints.

Only a missing Chromium is a reason to skip (the browser and PDF tests), and never in CI
(``CI=true``), where ``.ci/run`` installs it.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_BUILD = ROOT / "_build" / "test-book"
sys.path.insert(0, str(ROOT / "scripts"))

from browser import INSTALL_HINT, book_pages, chapter_pages, find_chromium  # noqa: E402,F401


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require_chromium() -> str:
    """The Chromium binary; skip the test without one, except in CI, where that is a failure."""
    chromium = find_chromium()
    if chromium is None:
        if in_ci():
            pytest.fail(f"CI=true but {INSTALL_HINT}")
        pytest.skip(INSTALL_HINT)
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -r requirements.txt")
    return chromium


@contextmanager
def _build_lock():
    """One build at a time into _build/test-book (pytest-xdist workers, or two checkouts' runs)."""
    TEST_BUILD.mkdir(parents=True, exist_ok=True)
    with open(TEST_BUILD / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"{what} failed ({' '.join(command)}):\n{result.stdout[-4000:]}\n"
                    f"{result.stderr[-4000:]}")


def _from_env(name: str, expected: str) -> Path | None:
    value = os.environ.get(name)
    if not value:
        return None
    path = Path(value)
    if not path.is_absolute():
        path = ROOT / path
    if not (path / expected if expected else path).exists():
        pytest.fail(f"{name}={value} is set, but {path / expected if expected else path} does not "
                    "exist: build the book first (see .ci/run)")
    return path


def html_dir() -> Path:
    """The built HTML book to check (see the module docstring)."""
    given = _from_env("BOOK_HTML", "index.html")
    if given is not None:
        return given
    with _build_lock():
        _run([sys.executable, "scripts/book_build.py", "--stored-outputs",
              "--path-output", str(TEST_BUILD)], "building the book from the committed outputs")
    return TEST_BUILD / "_build" / "html"


def pdf_file() -> Path:
    """The whole-book PDF to check (see the module docstring); needs Chromium to build one."""
    given = _from_env("BOOK_PDF", "")
    if given is not None:
        return given
    require_chromium()
    with _build_lock():
        _run([sys.executable, "scripts/build_pdf.py", "--stored-outputs", "--if-stale",
              "--path-output", str(TEST_BUILD)], "building the PDF from the committed outputs")
    return TEST_BUILD / "_build" / "pdf" / "book.pdf"
