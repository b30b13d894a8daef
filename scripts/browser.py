"""Headless Chromium, offline, for the browser test, the screenshots and the PDF.

The browser is Debian's ``chromium`` (``apt-get install chromium``), driven through Playwright's
Python package with ``executable_path``, so Playwright never downloads a browser of its own. Every
launch blocks the network: a proxy on the discard port and a host resolver that resolves nothing,
so a page that asks for anything outside ``file://`` fails to get it, as it would on a train.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

#: Where ``chromium`` is looked for, after the ``CHROMIUM`` environment variable.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "/usr/bin/chromium")

#: Flags for every launch: no first-run work, no background or update traffic, and no network.
OFFLINE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--proxy-server=127.0.0.1:9",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)

INSTALL_HINT = ("Chromium is not installed: install it with `apt-get install chromium` "
                "(Debian/Ubuntu, as root), or point the CHROMIUM environment variable at a "
                "Chromium or Chrome binary.")


def find_chromium() -> str | None:
    """Path of the Chromium binary, or None when there is none."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@contextmanager
def launch_chromium() -> Iterator[Any]:
    """A Playwright ``Browser`` on Debian's Chromium, offline.

    Playwright starts Chromium with a fresh temporary ``--user-data-dir`` of its own (it refuses
    one passed in ``args``) and removes it on close.
    """
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    if executable is None:
        raise RuntimeError(INSTALL_HINT)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True,
                                     args=[flag for flag in OFFLINE_FLAGS if flag != "--headless"])
        try:
            yield browser
        finally:
            browser.close()


def book_pages(root: Path) -> list[str]:
    """Docnames of every page in ``_toc.yml``, in reading order (the root page first)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries:
            if "file" in entry:
                pages.append(entry["file"])
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    walk(toc.get("parts", []) + toc.get("chapters", []))
    return [str(Path(page).with_suffix("")) for page in pages]


def chapter_pages(root: Path) -> list[str]:
    """Docnames of the chapters (``chapters/*``), in reading order."""
    return [page for page in book_pages(root) if page.startswith("chapters/")]


def wait_for_math(page: Any, timeout_ms: int = 60_000) -> None:
    """Wait until MathJax has typeset the page (a no-op on a page that does not load it)."""
    page.wait_for_function(
        "() => !document.querySelector('script[src*=\"mathjax\"]')"
        " || (window.MathJax && MathJax.startup && MathJax.startup.promise)",
        timeout=timeout_ms)
    page.evaluate("() => window.MathJax && MathJax.startup && MathJax.startup.promise"
                  " ? MathJax.startup.promise.then(() => true) : true")
