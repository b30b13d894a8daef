"""Screenshots of the built book's chapter pages, light and dark, for a person to look at.

    python scripts/screenshots.py [--html _build/html] [--out _build/screenshots] [--width 1280]

Each chapter page is opened in headless Chromium with the network blocked (the same browser
setup as ``tests/test_browser.py``), in the light and the dark theme (the theme switcher's
"auto" mode following the browser's colour scheme), and written as a series of PNG slices of the
whole page (``<out>/<chapter>-<theme>-<k>.png``), each one screen high, so an image viewer can show
them at full size.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from browser import chapter_pages, launch_chromium, wait_for_math  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--pages", nargs="*", help="docnames to shoot (default: every chapter)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    pages = args.pages or chapter_pages(ROOT)
    with launch_chromium() as browser:
        for theme in ("light", "dark"):
            context = browser.new_context(color_scheme=theme,
                                          viewport={"width": args.width, "height": args.height})
            page = context.new_page()
            for docname in pages:
                page.goto((args.html / f"{docname}.html").resolve().as_uri(), wait_until="load")
                wait_for_math(page)
                total = page.evaluate("document.documentElement.scrollHeight")
                stem = docname.replace("/", "-")
                for k, top in enumerate(range(0, total, args.height)):
                    page.evaluate(f"window.scrollTo(0, {top})")
                    page.wait_for_timeout(50)
                    page.screenshot(path=args.out / f"{stem}-{theme}-{k:02d}.png")
                print(f"{stem} ({theme}): {k + 1} screenshots")
            context.close()
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
