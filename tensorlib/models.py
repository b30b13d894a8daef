"""The model protocol, and the checks of what goes into a model and what comes out of it.

The model protocol
------------------
Everything in :mod:`tensorlib.grid` and :mod:`tensorlib.separation` works on a *model*: any object
with

* ``n_inputs`` (N) and ``input_dim`` (M), positive ints;
* a method ``evaluate(X, p=None)`` taking a batch ``X`` of shape ``(B, n_inputs, input_dim)`` and
  returning shape ``(B,)``. With ``p=None`` it computes in float64. With a prime ``p`` the inputs are
  int64 residues in ``[0, p)``, the model uses integer weights, and the result is the network's
  value reduced mod p (an integer array).

Optional attributes that make :func:`tensorlib.separation.separation_rank` faster or sharper:

* ``rank_upper_bound(partition) -> int | None``: a proven upper bound on the separation rank (for
  a model that is multilinear in its N inputs, :math:`M^{\\min(|I|,|J|)}`); sampling stops once it
  is reached, and a rank that reaches it is *certified*.
* ``grid_matrix_block(x_rows, x_cols, partition, p=None)``: the block
  :math:`F[a, b] = f(x_I = x_{rows}[a], x_J = x_{cols}[b])` computed faster than pair by pair.

:class:`tensorlib.networks.base.Network` implements the protocol. A plain function ``f(X) -> (B,)``
(or ``f(X, p=None)``) works with :func:`tensorlib.grid.grid_tensor`.

Trust
-----
An exact rank is only a certificate if the matrix really holds the network's values mod p. So in
exact mode every output is checked (:func:`evaluate_model`): it must have an integer dtype (or hold
Python ints), and it is reduced mod p; floats, NaN or non-numbers are refused with an error that
names the model, never truncated into int64.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .checks import check_int
from .fields import Field

__all__ = ["validate_model", "validate_inputs", "evaluate_model", "check_values", "upper_bound_of"]


def _model_name(model: Any) -> str:
    return getattr(model, "__name__", None) or type(model).__name__


def validate_model(model: object) -> Any:
    """Check that ``model`` follows the model protocol; raise ``TypeError`` naming what is missing."""
    missing = [name for name in ("n_inputs", "input_dim", "evaluate") if not hasattr(model, name)]
    if missing:
        raise TypeError(f"model must follow the model protocol (n_inputs, input_dim, evaluate(X, p=None)); "
                        f"{type(model).__name__} lacks {', '.join(missing)}")
    for name in ("n_inputs", "input_dim"):
        value = getattr(model, name)
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
            raise TypeError(f"model.{name} must be a positive int, got {value!r}")
    return model


def validate_inputs(X: object, n_inputs: int, input_dim: int, p: Optional[int] = None, name: str = "X") -> np.ndarray:
    """Check a batch of inputs of shape ``(B, n_inputs, input_dim)``.

    In float64 (``p=None``) any finite real array is accepted and cast to float64. In GF(p) the
    array must have an integer dtype; it is reduced mod p. Masked arrays are refused (their mask
    would be ignored silently).
    """
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {type(X).__name__}")
    if isinstance(X, np.ma.MaskedArray):
        raise TypeError(f"{name} is a masked array; tensorlib would ignore its mask: pass {name}.filled(value) "
                        "or the unmasked data explicitly")
    a = as_array(X)
    if a.dtype == object:
        a = _object_integers(a, name, p)
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if a.ndim != 3 or a.shape[1:] != (n_inputs, input_dim):
        raise ValueError(f"{name} must have shape (batch, n_inputs={n_inputs}, input_dim={input_dim}), "
                         f"got {a.shape}")
    if np.iscomplexobj(a):
        raise TypeError(f"{name} must be real, got a complex array")
    if p is None:
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or inf")
        return a
    if not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool):
        raise TypeError(f"{name} must have an integer dtype in exact (mod p) arithmetic, got {a.dtype}")
    return Field(p).asarray(a)


def _is_int(v: object) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def as_array(X: object) -> np.ndarray:
    """``np.asarray(X)``, but a nested list of Python ints stays exact: numpy reads a list mixing ints of
    2**63 or more with smaller ones as float64, which would round them (an object array keeps them)."""
    a = np.asarray(X)
    if a.dtype.kind == "f" and not isinstance(X, np.ndarray):
        exact = np.array(X, dtype=object)
        if exact.shape == a.shape and exact.size and all(_is_int(v) for v in exact.ravel()):
            return exact
    return a


def _object_integers(a: np.ndarray, name: str, p: Optional[int]) -> np.ndarray:
    """An object array of Python ints (e.g. values of 2**63 or more): reduce mod p, or convert to float64."""
    flat = a.ravel()
    if not all(_is_int(v) for v in flat):
        raise TypeError(f"{name} must be a numeric array, got dtype object (ragged, or mixed types?)")
    if p is None:
        try:
            return np.array([float(v) for v in flat], dtype=np.float64).reshape(a.shape)
        except OverflowError:
            raise ValueError(f"{name} holds an integer too large for float64 (above about 1.8e308); "
                             "pass p for exact arithmetic mod p") from None
    return np.array([int(v) % p for v in flat], dtype=np.int64).reshape(a.shape)


def evaluate_model(model: Any, X: np.ndarray, p: Optional[int]) -> np.ndarray:
    """``model.evaluate(X, p=p)`` (or ``model(X)`` for a plain function), with its output checked.

    See :func:`check_values`: the output must have shape ``(B,)``, be real and finite in float64,
    and be integers (reduced here mod p) in GF(p).
    """
    if hasattr(model, "evaluate"):
        out = model.evaluate(X, p=p)
    else:
        out = model(X) if p is None else model(X, p=p)
    return check_values(out, (X.shape[0],), p, f"model {_model_name(model)}")


def check_values(out: Any, shape: tuple, p: Optional[int], source: str) -> np.ndarray:
    """Check values a model computed (its outputs, or a grid-matrix block) and bring them into the field.

    In float64 they must be real and finite. In GF(p) they must be integers (any integer dtype, or
    Python ints), which are reduced mod p; a float, NaN or non-numeric result is refused, because
    truncating it into int64 would make an exact rank a false certificate.

    Parameters
    ----------
    out : array-like
    shape : tuple
        The shape the protocol asks for: ``(B,)`` for outputs, ``(A, B)`` for a block.
    p : int or None
    source : str
        Who computed the values, for the message (e.g. ``"model RAC"``).

    Raises
    ------
    TypeError, ValueError
        Naming ``source`` and what it returned.
    """
    if isinstance(out, np.ma.MaskedArray):
        raise TypeError(f"{source} returned a masked array; return plain values")
    out = as_array(out)
    if out.shape != tuple(shape):
        raise ValueError(f"{source} returned shape {out.shape}; the protocol asks for shape {tuple(shape)}")
    if p is None:
        if out.dtype == object or not (np.issubdtype(out.dtype, np.number) or out.dtype == bool) \
                or np.iscomplexobj(out):
            raise TypeError(f"{source} returned dtype {out.dtype} in float64 mode; expected real numbers")
        out = out.astype(np.float64, copy=False)
        if not np.all(np.isfinite(out)):
            raise ValueError(f"{source} returned NaN or inf in float64 mode")
        return out
    if out.dtype == object:
        return _object_integers(out, f"the values returned by {source}", p)
    if not (np.issubdtype(out.dtype, np.integer) or out.dtype == bool):
        raise TypeError(f"{source} returned dtype {out.dtype} with p={p}: in exact mode a model must compute "
                        "with integers and return its values mod p (an integer array); a float result "
                        "cannot certify a rank")
    if out.dtype == np.int64 and (out.size == 0 or (out.min() >= 0 and out.max() < p)):
        return out  # already residues (the networks' fast paths): no copy
    return Field(p).asarray(out)


def upper_bound_of(model: Any, partition: Any) -> Optional[int]:
    """The model's ``rank_upper_bound(partition)``, checked: ``None`` or an int of at least 1."""
    method = getattr(model, "rank_upper_bound", None)
    if method is None:
        return None
    if not callable(method):
        raise TypeError(f"{_model_name(model)}.rank_upper_bound must be a method rank_upper_bound(partition) -> int "
                        f"or None, got {type(method).__name__}")
    bound = method(partition)
    if bound is None:
        return None
    return check_int(bound, f"{_model_name(model)}.rank_upper_bound(partition)", 1,
                     "(a separation rank bound; a function that is not identically zero has rank >= 1)")
