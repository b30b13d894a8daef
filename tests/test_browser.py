"""Every page of the built book, opened in headless Chromium with the network blocked.

What a reader offline would see: the math typeset by the bundled MathJax (every math element
rendered, no TeX error, no raw ``\\(``, ``\\[`` or ``$$`` left in the text), every image loaded,
no request leaving ``file://``, and no error in the console. In the dark theme, every figure sits
on a light, opaque background, so a figure with transparent parts stays readable.

Chromium is Debian's ``chromium`` (``.ci/run`` installs it); without it the tests skip with the
command to install it, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from built_book import ROOT, book_pages, html_dir, require_chromium

from browser import launch_chromium, wait_for_math

PAGES = book_pages(ROOT)
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{")

# The text a reader sees outside code: code cells and inline code may contain backslashes.
VISIBLE_PROSE = """() => {
  const body = document.querySelector('main') || document.body;
  const copy = body.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, textarea, mjx-assistive-mml')
      .forEach(el => el.remove());
  return copy.textContent;
}"""

PAGE_FACTS = """() => ({
  math: document.querySelectorAll('.math').length,
  untypeset: Array.from(document.querySelectorAll('.math'))
      .filter(el => !el.querySelector('mjx-container'))
      .map(el => el.textContent.slice(0, 80)),
  texErrors: Array.from(document.querySelectorAll('mjx-merror'))
      .map(el => el.getAttribute('data-mjx-error') || el.textContent.slice(0, 80)),
  rendered: document.querySelectorAll('mjx-container').length,
  images: Array.from(document.images).map(img => ({
      src: img.getAttribute('src'), complete: img.complete, width: img.naturalWidth})),
})"""

FIGURE_BACKGROUNDS = """() => Array.from(document.querySelectorAll('.bd-article img'))
  .map(img => ({src: img.getAttribute('src'), background: getComputedStyle(img).backgroundColor}))"""


@pytest.fixture(scope="module")
def book() -> Path:
    require_chromium()
    return html_dir()


@pytest.fixture(scope="module")
def browser(book):
    with launch_chromium() as browser:
        yield browser


def _open(browser, url: str, color_scheme: str):
    """Open ``url``; return the page and the lists its events fill (console errors, requests)."""
    context = browser.new_context(color_scheme=color_scheme)
    page = context.new_page()
    events = {"errors": [], "requests": [], "failed": []}
    page.on("console", lambda m: m.type == "error" and events["errors"].append(m.text))
    page.on("pageerror", lambda e: events["errors"].append(f"uncaught: {e}"))
    page.on("request", lambda r: events["requests"].append(r.url))
    page.on("requestfailed", lambda r: events["failed"].append(f"{r.url}: {r.failure}"))
    page.goto(url, wait_until="load")
    wait_for_math(page)
    page.wait_for_function("() => Array.from(document.images).every(img => img.complete)")
    return context, page, events


def _rgba(css_color: str) -> tuple[float, ...]:
    numbers = [float(x) for x in re.findall(r"[\d.]+", css_color)]
    return tuple(numbers + [1.0] * (4 - len(numbers)))


@pytest.mark.parametrize("docname", PAGES)
def test_page_renders_offline(book, browser, docname):
    context, page, events = _open(browser, (book / f"{docname}.html").as_uri(), "light")
    try:
        facts = page.evaluate(PAGE_FACTS)
        prose = page.evaluate(VISIBLE_PROSE)
    finally:
        context.close()
    assert not facts["untypeset"], f"math MathJax did not typeset: {facts['untypeset'][:5]}"
    assert facts["rendered"] >= facts["math"]
    assert not facts["texErrors"], f"TeX errors: {facts['texErrors'][:5]}"
    raw = [prose[max(m.start() - 40, 0):m.end() + 40] for m in RAW_TEX.finditer(prose)]
    assert not raw, f"raw TeX in the visible text: {raw[:5]}"
    broken = [img["src"] for img in facts["images"] if not img["complete"] or img["width"] == 0]
    assert not broken, f"images that did not load: {broken}"
    outside = [url for url in events["requests"] if not url.startswith(("file:", "data:", "blob:"))]
    assert not outside, f"requests that left file://: {outside}"
    assert not events["failed"], f"failed requests: {events['failed']}"
    assert not events["errors"], f"console errors: {events['errors']}"


def test_chapters_have_typeset_math_and_figures(book, browser):
    # The per-page test passes vacuously on a page without math or figures; the chapters have both.
    for docname in [page for page in PAGES if page.startswith("chapters/")]:
        context, page, _ = _open(browser, (book / f"{docname}.html").as_uri(), "light")
        try:
            facts = page.evaluate(PAGE_FACTS)
        finally:
            context.close()
        assert facts["rendered"] > 0, f"{docname}: no typeset math"
        assert facts["images"], f"{docname}: no images"


@pytest.mark.parametrize("docname", PAGES)
def test_figures_have_a_light_background_in_the_dark_theme(book, browser, docname):
    context, page, events = _open(browser, (book / f"{docname}.html").as_uri(), "dark")
    try:
        theme = page.evaluate("document.documentElement.dataset.theme")
        backgrounds = page.evaluate(FIGURE_BACKGROUNDS)
    finally:
        context.close()
    assert theme == "dark"
    assert not events["errors"], f"console errors in the dark theme: {events['errors']}"
    for figure in backgrounds:
        red, green, blue, alpha = _rgba(figure["background"])
        luminance = (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255
        assert alpha == 1.0 and luminance > 0.6, (
            f"{figure['src']} has background {figure['background']} in the dark theme: "
            "transparent parts of the figure would show the dark page through")
