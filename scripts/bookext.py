"""Sphinx extension for this book's build (loaded from ``_config.yml``, ``sphinx.local_extensions``).

Three repairs, each for a problem measured in the built book:

* **Stale cached outputs.** ``execute_notebooks: cache`` keys each chapter's cached outputs on the
  notebook's code alone, so after an edit to ``tensorlib`` a rebuild would show numbers computed by
  the old code. The extension hashes the package sources and ``requirements.txt``; when the hash
  differs from the one the cache was filled with, it empties the cache and re-reads every notebook.
* **Duplicate inline scripts.** sphinx-thebe and sphinx-togglebutton add inline ``<script>``
  bodies after the HTML builder has started, and Sphinx 7.4 then emits them twice per page; the
  second ``const THEBE_JS_URL`` is a JavaScript error in the console of every page.
* **singlehtml.** sphinx-proof registers its nodes for the ``html`` builder only, so the
  ``singlehtml`` build (the source of the PDF) stops at the first ``{prf:definition}``; the HTML
  visitors are reused for it.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: What the chapters' outputs depend on besides their own code, relative to the book's root.
EXECUTION_INPUTS = ("tensorlib", "requirements.txt")
STAMP_NAME = "sources.sha256"


def sources_digest(root: Path) -> str:
    """SHA-256 over the paths and contents of the Python sources the chapters execute."""
    digest = hashlib.sha256()
    for name in EXECUTION_INPUTS:
        path = root / name
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()


def _guard_execution_cache(app: Sphinx) -> None:
    config = getattr(app.env, "mystnb_config", None)
    app.env.bookext_reexecute = False
    if config is None or config.execution_mode != "cache":
        return
    cache = Path(config.execution_cache_path)
    stamp = cache.with_name(cache.name + "-" + STAMP_NAME)
    digest = sources_digest(Path(app.srcdir))
    previous = stamp.read_text().strip() if stamp.exists() else None
    if previous != digest and cache.exists():
        logger.info("bookext: tensorlib or requirements.txt changed since the cached chapter "
                    "outputs were computed; emptying %s and re-executing every chapter", cache)
        shutil.rmtree(cache)
        app.env.bookext_reexecute = True
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")


def _notebooks_to_reread(app: Sphinx, env: BuildEnvironment, added: set[str],
                         changed: set[str], removed: set[str]) -> list[str]:
    if not getattr(env, "bookext_reexecute", False):
        return []
    return sorted(doc for doc in env.found_docs if str(env.doc2path(doc)).endswith(".ipynb"))


def _drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str,
                            context: dict[str, Any], doctree: Any) -> None:
    for key in ("script_files", "css_files"):
        assets = context.get(key)
        if not isinstance(assets, list):
            continue
        seen: set[tuple] = set()
        unique = []
        for asset in sorted(assets, key=lambda a: getattr(a, "priority", 500)):
            # The same inline body is registered once with filename None and once with "".
            ident = (str(asset.filename or ""),
                     tuple(sorted((k, str(v)) for k, v in getattr(asset, "attributes", {}).items())))
            if ident not in seen:
                seen.add(ident)
                unique.append(asset)
        context[key] = unique


def _reuse_html_visitors_for_singlehtml(app: Sphinx) -> None:
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node, visitors in handlers.get("html", {}).items():
        single.setdefault(node, visitors)


def setup(app: Sphinx) -> dict[str, Any]:
    # After myst-nb's own builder-inited handler, which resolves the cache path.
    app.connect("builder-inited", _guard_execution_cache, priority=900)
    app.connect("builder-inited", _reuse_html_visitors_for_singlehtml)
    app.connect("env-get-outdated", _notebooks_to_reread)
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
