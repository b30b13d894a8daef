"""The whole book as one PDF: ``_build/pdf/book.pdf``.

    python scripts/build_pdf.py [--skip-build] [--stored-outputs] [--path-output DIR] [--output PDF]

1. ``jupyter-book build --builder singlehtml -W -n --keep-going .``: every page, in the order of
   ``_toc.yml``, in one HTML file (chapters are executed, or taken from the execution cache that
   an HTML build filled). ``--stored-outputs`` renders the committed outputs instead (see
   ``scripts/book_build.py``); ``--skip-build`` prints an existing singlehtml build.
2. A copy of that page gets a title page and the light theme.
3. Headless Chromium (Debian's ``chromium``), with the network blocked, typesets the math with
   the bundled MathJax and prints the page with ``--print-to-pdf``. The print rules (A4, page
   numbers, a new sheet per chapter, wrapped code lines) are in ``_static/book.css``.

Jupyter Book's own ``pdfhtml`` builder downloads a browser of its own and cannot work offline.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import html
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from book_build import build  # noqa: E402
from browser import INSTALL_HINT, OFFLINE_FLAGS, find_chromium  # noqa: E402

#: Virtual time Chromium gives the page to load and typeset before printing (MathJax needs a few
#: seconds of it for the whole book; virtual time only runs while the page is otherwise idle).
VIRTUAL_TIME_BUDGET_MS = 120_000


def singlehtml_build(path_output: Path, stored_outputs: bool) -> Path:
    """Run the singlehtml build; return its output folder."""
    if stored_outputs:
        return build("singlehtml", path_output, stored_outputs=True)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book if jupyter_book.exists() else "jupyter-book"), "build",
               "--builder", "singlehtml", "-W", "-n", "--keep-going"]
    if Path(path_output).resolve() != ROOT:
        command += ["--path-output", str(path_output)]
    subprocess.run([*command, str(ROOT)], check=True, cwd=ROOT)
    return Path(path_output).resolve() / "_build" / "singlehtml"


def title_page(config: dict) -> str:
    """HTML of the title page: title, author, the repository and when this copy was printed."""
    repository = (config.get("repository") or {}).get("url", "")
    commit = _git_commit()
    printed = datetime.date.today().isoformat() + (f", commit {commit}" if commit else "")
    # Not an <h1>: sphinx-book-theme hides the article's headings of that level in print.
    parts = [f'<div class="book-title">{html.escape(str(config.get("title", "")))}</div>',
             f'<p class="book-author">{html.escape(str(config.get("author", "")))}</p>']
    if repository:
        parts.append(f'<p class="book-repository">{html.escape(repository)}</p>')
    parts.append(f'<p class="book-edition">Printed from the HTML edition on {printed}.</p>')
    return '<section class="book-title-page">' + "".join(parts) + "</section>"


def _git_commit() -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip() or None


def print_copy(singlehtml: Path, config: dict) -> Path:
    """Write ``book-print.html`` beside the singlehtml page: title page in front, light theme."""
    root = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["root"]
    page = (singlehtml / f"{Path(root).with_suffix('')}.html").read_text(encoding="utf-8")
    # sphinx-book-theme's print-only header (the title and the table of contents) comes first.
    header = page.find('<div id="jb-print-docs-body"')
    if header < 0:
        raise RuntimeError(f"{singlehtml}: no print header (jb-print-docs-body) to put the title "
                           "page before (has the theme changed?)")
    page = page[:header] + title_page(config) + page[header:]
    # Print in the light theme whatever the reader's system prefers.
    page, count = re.subn(r'(dataset\.(?:mode|theme) = localStorage\.getItem\("(?:mode|theme)"\)'
                          r' \|\| )"[^"]*"', r'\1"light"', page)
    if count != 2:
        raise RuntimeError(f"{singlehtml}: could not set the light theme (has the theme changed?)")
    target = singlehtml / "book-print.html"
    target.write_text(page, encoding="utf-8")
    return target


def print_pdf(page: Path, output: Path) -> None:
    """Print ``page`` to ``output`` with headless Chromium, offline."""
    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError(INSTALL_HINT)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(".partial.pdf")
    partial.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="book-pdf-chromium-") as profile:
        command = [chromium, *OFFLINE_FLAGS, f"--user-data-dir={profile}",
                   "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw",
                   f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}",
                   f"--print-to-pdf={partial}", page.resolve().as_uri()]
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if result.returncode != 0 or not partial.exists() or partial.stat().st_size == 0:
        raise RuntimeError(f"Chromium did not print {page} (exit {result.returncode}):\n"
                           f"{result.stderr[-3000:]}")
    partial.replace(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path-output", type=Path, default=ROOT,
                        help="the build goes to PATH_OUTPUT/_build (default: the book's root)")
    parser.add_argument("--output", type=Path, help="the PDF (default: PATH_OUTPUT/_build/pdf/book.pdf)")
    parser.add_argument("--skip-build", action="store_true",
                        help="print the existing singlehtml build")
    parser.add_argument("--stored-outputs", action="store_true",
                        help="render the committed outputs instead of executing the chapters")
    parser.add_argument("--if-stale", action="store_true",
                        help="print only if the singlehtml page changed since the last print")
    args = parser.parse_args(argv)
    output = args.output or args.path_output / "_build" / "pdf" / "book.pdf"
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    start = time.perf_counter()
    if args.skip_build:
        singlehtml = args.path_output.resolve() / "_build" / "singlehtml"
    else:
        singlehtml = singlehtml_build(args.path_output, args.stored_outputs)
    built = time.perf_counter()
    # singlehtml rewrites its page on every build, so compare contents, not times.
    root = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))["root"]
    digest = hashlib.sha256()
    for source in (singlehtml / f"{Path(root).with_suffix('')}.html",
                   singlehtml / "_static" / "book.css"):
        digest.update(source.read_bytes() if source.exists() else b"")
    stamp = output.with_suffix(".sources.sha256")
    if (args.if_stale and output.exists() and stamp.exists()
            and stamp.read_text().strip() == digest.hexdigest()):
        print(f"up to date: {output}")
        return 0
    print_pdf(print_copy(singlehtml, config), output)
    stamp.write_text(digest.hexdigest() + "\n")
    pages = ""
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(output)], capture_output=True, text=True).stdout
        match = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
        pages = f", {match.group(1)} pages" if match else ""
    print(f"singlehtml build: {built - start:.0f} s; printing: {time.perf_counter() - built:.0f} s")
    print(f"written: {output}{pages}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
