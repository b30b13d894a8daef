"""Build the book the way ``jupyter-book build -W -n --keep-going`` does, optionally without executing.

    python scripts/book_build.py [--builder html|singlehtml] [--path-output DIR] [--stored-outputs]

With ``--stored-outputs`` the chapters are not executed: their committed outputs are rendered
(``nb_execution_mode = "off"``), which takes seconds instead of minutes. The test suite uses that
to check the HTML of the committed chapters when no executed build is at hand; nbval checks
separately that the committed outputs are what a fresh run prints. Without the flag this is the
README's build (cached execution, see ``_config.yml``).

The output goes to ``<path-output>/_build/<builder>``, as with ``jupyter-book build --path-output``.
Jupyter Book's command line has no option to override one Sphinx setting, hence this script: it
calls the same function as the command line, with the same overrides plus the execution mode.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(builder: str = "html", path_output: Path = ROOT, *, stored_outputs: bool = False,
          all_pages: bool = False) -> Path:
    """Build the book into ``path_output/_build/<builder>``; return that folder.

    Raises ``RuntimeError`` if Sphinx reports an error or a warning (warnings are errors, as in
    the README's command).
    """
    from jupyter_book.sphinx import build_sphinx

    output = Path(path_output).resolve() / "_build" / builder
    overrides = {"external_toc_path": (ROOT / "_toc.yml").as_posix(), "nitpicky": True,
                 "latex_individualpages": False}
    if stored_outputs:
        overrides["nb_execution_mode"] = "off"
    result = build_sphinx(ROOT, output, use_external_toc=True, noconfig=True,
                          path_config=str(ROOT / "_config.yml"), confoverrides=overrides,
                          builder=builder, warningiserror=True, keep_going=True,
                          freshenv=all_pages, force_all=all_pages)
    if isinstance(result, Exception) or result:
        raise RuntimeError(f"the {builder} build of the book failed ({result!r}); "
                           "the messages above say why")
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builder", default="html", choices=("html", "singlehtml"))
    parser.add_argument("--path-output", type=Path, default=ROOT)
    parser.add_argument("--stored-outputs", action="store_true",
                        help="render the committed outputs instead of executing the chapters")
    parser.add_argument("--all", action="store_true", help="rebuild every page")
    args = parser.parse_args(argv)
    try:
        output = build(args.builder, args.path_output, stored_outputs=args.stored_outputs,
                       all_pages=args.all)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    print(f"built: {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
