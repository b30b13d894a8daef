"""The whole-book PDF (``scripts/build_pdf.py``): a title page, every chapter in order, math typeset.

Reads the PDF with poppler's ``pdfinfo`` and ``pdftotext`` (Debian ``poppler-utils``, which
``.ci/run`` installs). Building a PDF needs Chromium: see ``built_book.py`` for where the PDF comes
from and when a missing Chromium skips these tests.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
import yaml
from built_book import ROOT, book_pages, chapter_pages, pdf_file

#: TeX that MathJax consumes: left in the text, it means the math was printed untypeset.
RAW_TEX = re.compile(r"\\\(|\\\[|\$\$|\\begin\{")


def _poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: apt-get install poppler-utils")
    return path


@pytest.fixture(scope="module")
def pdf() -> Path:
    return pdf_file()


@pytest.fixture(scope="module")
def pages(pdf) -> list[str]:
    """The text of each page, whitespace collapsed (pdftotext separates pages by form feeds)."""
    text = subprocess.run([_poppler("pdftotext"), str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return [" ".join(page.split()) for page in text.split("\f")[:-1]]


def _chapter_headings() -> list[str]:
    """'k. Title' for each chapter: the numbered parts of _toc.yml number chapters 1, 2, ..."""
    headings = []
    for number, docname in enumerate(chapter_pages(ROOT), start=1):
        nb = nbformat.read(ROOT / f"{docname}.ipynb", as_version=4)
        first = next(c for c in nb.cells if c.cell_type == "markdown").source
        title = re.match(r"#\s+(.+)", first.strip()).group(1)
        headings.append(f"{number}. {' '.join(title.split())}")
    return headings


def test_page_count(pdf, pages):
    info = subprocess.run([_poppler("pdfinfo"), str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))
    assert count == len(pages)
    # A title page, the table of contents, then every page of the book from a new sheet.
    assert count >= 2 + len(book_pages(ROOT))


def test_title_page_comes_first(pages):
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert pages[0].startswith(" ".join(config["title"].split()))
    assert config["author"] in pages[0]
    assert "Contents" in pages[1]


def _letters(text: str) -> str:
    # pdftotext drops some hyphens of the large heading font ("long-term" reads "longterm").
    return re.sub(r"[\W_]+", "", text)


def test_every_chapter_starts_a_page_in_order(pages):
    starts = []
    headings = _chapter_headings()
    for heading in headings:
        # A chapter's first page starts with its heading; the preface's reading map may start a page
        # with the same words, but it names the other chapters too.
        found = [i for i, page in enumerate(pages) if _letters(page).startswith(_letters(heading))
                 and sum(_letters(other) in _letters(page) for other in headings) == 1]
        assert found, f"no page starts with the chapter heading {heading!r}"
        starts.append(found[0])
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_no_raw_tex(pages):
    raw = [(i + 1, page[max(m.start() - 40, 0):m.end() + 40])
           for i, page in enumerate(pages) for m in RAW_TEX.finditer(page)]
    assert not raw, f"untypeset math (page, text): {raw[:5]}"


def test_raw_tex_check_recognises_untypeset_math():
    assert RAW_TEX.search(r"the rank \(r^2\) of") and RAW_TEX.search("$$x$$")
    assert not RAW_TEX.search("a typeset formula, r² ≤ M^{N/2}")
