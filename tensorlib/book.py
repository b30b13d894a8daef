"""Helpers that let the book's chapters run outside Jupyter Book.

The chapters quote computed numbers in their prose with myst-nb's ``glue``. Jupyter Book needs
myst-nb, but a reader who downloads a chapter into plain Jupyter or opens it on Colab does not
have it, and ``from myst_nb import glue`` would stop the notebook at its first cell. The chapters
import :func:`glue` from here instead: the real one when myst-nb is installed, otherwise a
stand-in that shows the value as the cell would show it.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from .checks import check_bool

__all__ = ["glue", "load_result"]


def glue(name: str, variable: Any, display: bool = True) -> None:
    """Record ``variable`` under ``name`` for the book's prose, and show it if ``display``.

    With myst-nb installed this is ``myst_nb.glue`` (the book's build reads the recorded value
    back into ``{glue:}`` roles). Without it, the value is displayed like a cell's result when
    ``display`` is true, and nothing happens otherwise: there is no book to glue into.

    Parameters
    ----------
    name : str
        The key the prose refers to, as in ``{glue:text}`name```.
    variable : object
        The value to record.
    display : bool, default True
        Whether the cell shows the value as well.

    Raises
    ------
    TypeError
        If ``name`` is not a string or ``display`` is not a bool.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    display = check_bool(display, "display")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        myst_glue = None
    if myst_glue is not None:
        myst_glue(name, variable, display)
    elif display:
        _display_plainly(variable)


def _display_plainly(variable: Any) -> None:
    try:
        from IPython.display import display
    except ImportError:  # a plain Python interpreter, not a Jupyter kernel
        print(repr(variable))
    else:
        display(variable)


def load_result(name: str) -> Any:
    """The committed output of a long computation that a chapter reads instead of repeating it.

    Some results take minutes to hours (the frontier ranks, the full Appendix D simulation), so a
    script in ``benchmarks/`` computes them and writes ``tensorlib/results/<name>.json``, which is
    shipped with the package: a chapter finds it wherever tensorlib is installed (a clone, a pip
    install, Colab). The record names the command that reproduces it.

    Parameters
    ----------
    name : str
        ``"frontier"`` (``benchmarks/run_benchmarks.py --frontier``) or ``"appendix_d"``
        (``benchmarks/appendix_d.py``).

    Raises
    ------
    ValueError
        If no such record is shipped (the message lists the ones that are).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    folder = resources.files("tensorlib") / "results"
    known = sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".json"))
    if name not in known:
        raise ValueError(f"no committed result named {name!r}; tensorlib ships {known}")
    return json.loads((folder / f"{name}.json").read_text())
