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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .separation import SeparationRank

from .checks import check_bool

__all__ = ["frontier_rank", "glue", "load_result"]


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


def frontier_rank(name: str) -> "SeparationRank":
    """A frontier rank of ``benchmarks/run_benchmarks.py --frontier``, as the :class:`~tensorlib.separation.SeparationRank` it computed.

    The frontier cases take minutes each, so chapters read them from the committed record
    (:func:`load_result` ``("frontier")``) instead of recomputing them; the record keeps what the
    run found with both primes, so ``status``, ``is_value`` and ``certified`` read as for a live
    result.

    Parameters
    ----------
    name : str
        ``"attention_w4_d3"``, ``"rac_d3_T10"`` or ``"rac_d3_T12"``.
    """
    from .separation import SeparationRank

    records = load_result("frontier")
    if name not in records:
        raise ValueError(f"no frontier case named {name!r}; the record holds {sorted(records)}")
    r = records[name]
    confirmation = None
    if "confirm_rank" in r:
        confirmation = SeparationRank(rank=r["confirm_rank"], saturated=r["confirm_rank"] < r["confirm_K"],
                                      exact=True, samples=r["confirm_K"], seed=0, prime=r["confirm_prime"],
                                      upper_bound=r["upper_bound"])
    result = SeparationRank(rank=r["rank"], saturated=r["status"].startswith("saturated") or r["rank"] < r["K"],
                            exact=True, samples=r["K"], seed=0, prime=r["prime"], upper_bound=r["upper_bound"],
                            history=((r["K"], r["rank"]),), confirmation=confirmation)
    if result.status != r["status"]:  # the record and the class must read the same way
        raise ValueError(f"the frontier record {name!r} says {r['status']!r}, its numbers read {result.status!r}")
    return result
