"""The built HTML book loads nothing from the network: no external script, stylesheet or font.

The pages may *link* to the web (citations, the repository, the launch buttons); they must not
need it to render. The browser test (``test_browser.py``) checks the same at run time, request by
request; this one reads the files, including every stylesheet's ``url(...)`` and ``@import``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from built_book import ROOT, book_pages, chapter_pages, html_dir

#: A URL that leaves the book: a scheme other than data:/blob: or relative, or protocol-relative.
EXTERNAL = re.compile(r"^\s*(?:[a-zA-Z][a-zA-Z0-9+.-]*:)?//|^\s*(?:https?|ftp):", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""",
                     re.IGNORECASE)
#: <link rel=...> values that make the browser fetch the target.
FETCHING_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut",
                 "apple-touch-icon", "manifest", "preconnect", "dns-prefetch"}
#: (tag, attribute) pairs whose URL the browser loads.
LOADED = {("script", "src"), ("img", "src"), ("img", "srcset"), ("source", "src"),
          ("source", "srcset"), ("video", "src"), ("video", "poster"), ("audio", "src"),
          ("iframe", "src"), ("embed", "src"), ("object", "data"), ("input", "src"),
          ("track", "src")}


def _urls_in_srcset(value: str) -> list[str]:
    return [part.strip().split()[0] for part in value.split(",") if part.strip()]


class ResourceScanner(HTMLParser):
    """Collects the URLs an HTML page makes the browser fetch, with where each was found."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.resources: list[tuple[str, str]] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if (tag, name) in LOADED:
                urls = _urls_in_srcset(value) if name == "srcset" else [value]
                self.resources += [(f"<{tag} {name}>", url) for url in urls]
        if tag == "link" and FETCHING_RELS & set(values.get("rel", "").lower().split()):
            self.resources.append((f"<link rel={values.get('rel')}>", values.get("href", "")))
        if "style" in values:
            self.resources += [("style attribute", url) for url in css_urls(values["style"])]
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.resources += [("<style>", url) for url in css_urls(data)]


def css_urls(css: str) -> list[str]:
    return [m.group(2) or m.group(4) for m in CSS_URL.finditer(css)]


def external_resources(html: str) -> list[tuple[str, str]]:
    scanner = ResourceScanner()
    scanner.feed(html)
    return [(where, url) for where, url in scanner.resources if EXTERNAL.match(url)]


@pytest.fixture(scope="module")
def book() -> Path:
    return html_dir()


def test_scanner_finds_what_a_cdn_page_loads():
    # The scanner itself: a page as Sphinx writes it with MathJax from a CDN, plus a web font.
    page = """<html><head>
      <script defer src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>
      <link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">
      <link rel="next" href="https://example.org/next.html">
      <style>@font-face { src: url('https://fonts.gstatic.com/x.woff2') }</style>
      <script src="_static/local.js"></script></head>
      <body><a href="https://arxiv.org/abs/1">a citation</a><img src="data:image/png;base64,AA">
      <img srcset="_images/a.png 1x, http://example.org/b.png 2x"></body></html>"""
    assert sorted(url for _, url in external_resources(page)) == [
        "//fonts.googleapis.com/css?family=Lato",
        "http://example.org/b.png",
        "https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js",
        "https://fonts.gstatic.com/x.woff2",
    ]


def test_every_page_in_the_toc_was_built(book):
    missing = [page for page in book_pages(ROOT) if not (book / f"{page}.html").exists()]
    assert not missing, f"pages of _toc.yml missing from {book}: {missing}"


def test_no_page_loads_anything_from_the_network(book):
    pages = sorted(book.rglob("*.html"))
    assert len(pages) >= len(book_pages(ROOT))
    found = {}
    for page in pages:
        external = external_resources(page.read_text(encoding="utf-8", errors="replace"))
        if external:
            found[str(page.relative_to(book))] = external
    assert not found, f"pages that load from the network: {found}"


def test_no_stylesheet_loads_anything_from_the_network(book):
    sheets = sorted(book.rglob("*.css"))
    assert sheets
    found = {str(sheet.relative_to(book)): external
             for sheet in sheets
             if (external := [u for u in css_urls(sheet.read_text(errors="replace"))
                              if EXTERNAL.match(u)])}
    assert not found, f"stylesheets that load from the network: {found}"


def test_mathjax_is_bundled_with_its_fonts(book):
    with_math = 0
    for page in book_pages(ROOT):
        text = (book / f"{page}.html").read_text(encoding="utf-8")
        if 'class="math' not in text:  # Sphinx loads MathJax only on pages with math
            continue
        with_math += 1
        scripts = re.findall(r'<script[^>]*src="([^"]*mathjax[^"]*)"', text)
        assert len(scripts) == 1, f"{page}: MathJax scripts {scripts}"
        local = (book / page).parent / scripts[0].split("?")[0]
        assert local.resolve().is_file(), f"{page}: {scripts[0]} is not in the build"
    assert with_math >= len(chapter_pages(ROOT))
    fonts = list((book / "_static" / "mathjax").rglob("*.woff*"))
    assert fonts, "the bundled MathJax has no web fonts"


def test_the_colab_setup_cell_is_not_shown(book):
    for page in book_pages(ROOT):
        text = (book / f"{page}.html").read_text(encoding="utf-8")
        assert "google.colab" not in text, f"{page} shows the Colab setup cell"
