"""Argument checks shared by every entry point of tensorlib.

Each check returns the value normalised (a Python ``int`` or ``bool``) or raises ``TypeError`` /
``ValueError`` with a message that names the argument and says what was expected. numpy integer
scalars are accepted where an ``int`` is; ``bool`` is refused where an ``int`` is expected (``True``
is not the number 1 here).
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np

__all__ = ["check_int", "check_bool", "check_seed", "check_int_list"]


def check_int(value: object, name: str, minimum: Optional[int] = None, what: str = "") -> int:
    """``value`` as an ``int``, at least ``minimum`` if given.

    Parameters
    ----------
    value : object
    name : str
        The argument's name, used in the message.
    minimum : int, optional
    what : str
        A short reason appended to the ``ValueError`` message, e.g. ``"(a partition needs two sides)"``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        reason = f" {what}" if what else ""
        raise ValueError(f"{name} must be at least {minimum}{reason}, got {value}")
    return value


def check_bool(value: object, name: str) -> bool:
    """``value`` as a ``bool`` (Python or numpy); anything else is a ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def check_seed(value: object, name: str = "seed") -> int:
    """A seed for ``numpy.random.default_rng``: a non-negative ``int``."""
    return check_int(value, name, 0, "(a seed for numpy.random.default_rng)")


def check_int_list(values: object, name: str, minimum: int = 1) -> List[int]:
    """A sequence of ints, each at least ``minimum``, as a list (a str or a scalar is refused)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{name} must be a sequence of ints, got {type(values).__name__}")
    return [check_int(v, f"{name}[{k}]", minimum) for k, v in enumerate(values)]
