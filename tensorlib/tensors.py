"""Matricization and products of tensors, in the book's (row-major) convention.

For a tensor :math:`\\mathcal A` of order N and a partition (I, J) of its modes,
:math:`[\\![\\mathcal A]\\!]_{I,J}` has rows indexed by the modes in I (ascending, row-major) and
columns by the modes in J (ascending, row-major). In numpy this is
``np.transpose(A, I + J).reshape(prod_I, -1)``; it coincides with ``tensorly.base.matricize`` for
sorted row modes, which is what :func:`matricize` calls.

The key identity (Cohen & Shashua, ICLR 2017, eq. 1) is checked by the tests: for
:math:`\\mathcal A` of order P and :math:`\\mathcal B` of order Q,

.. math:: [\\![\\mathcal A \\otimes \\mathcal B]\\!]_{I,J} = [\\![\\mathcal A]\\!]_{I\\cap[P],\\,J\\cap[P]}
          \\odot [\\![\\mathcal B]\\!]_{(I-P)\\cap[Q],\\,(J-P)\\cap[Q]},

with :math:`\\odot` the Kronecker product, so matricization ranks multiply.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import tensorly as tl
from tensorly.base import matricize as _tl_matricize

__all__ = ["matricize", "tensor_product", "kron"]


def _validate_tensor(tensor: object, name: str = "tensor") -> np.ndarray:
    a = np.asarray(tensor)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name} must be a numeric array, got dtype {a.dtype}")
    if a.ndim < 1:
        raise ValueError(f"{name} must have at least one mode, got a scalar")
    return a


def matricize(tensor: np.ndarray, rows: Iterable[int]) -> np.ndarray:
    """The matricization :math:`[\\![\\mathcal A]\\!]_{I,J}` with :math:`I` = ``rows``.

    Parameters
    ----------
    tensor : ndarray of order N, shape (M_0, ..., M_{N-1})
    rows : iterable of int
        The modes I that index the rows (0-based, any order: they are taken ascending). The columns
        are indexed by all other modes, ascending. ``rows`` may be empty (a row vector) or all modes
        (a column vector).

    Returns
    -------
    ndarray of shape :math:`(\\prod_{i\\in I} M_i, \\prod_{j\\in J} M_j)`, where the entry of
    :math:`\\mathcal A_{d_0\\dots d_{N-1}}` sits at the row-major index of :math:`(d_i)_{i\\in I}` and
    the row-major index of :math:`(d_j)_{j\\in J}`.
    """
    a = _validate_tensor(tensor)
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Iterable):
        raise TypeError(f"rows must be an iterable of mode indices, got {type(rows).__name__}")
    modes = []
    for m in rows:
        if isinstance(m, bool) or not isinstance(m, (int, np.integer)):
            raise TypeError(f"rows must contain ints, got {m!r}")
        modes.append(int(m))
    if len(set(modes)) != len(modes):
        raise ValueError(f"rows repeats a mode: {sorted(modes)}")
    bad = [m for m in modes if not 0 <= m < a.ndim]
    if bad:
        raise ValueError(f"rows must be modes in range({a.ndim}) for a tensor of order {a.ndim}, got {bad}")
    modes.sort()
    if not modes:
        return a.reshape(1, -1)
    return np.asarray(_tl_matricize(tl.tensor(a), modes))


def tensor_product(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """:math:`(\\mathcal A\\otimes\\mathcal B)_{d_1\\dots d_{P+Q}} = \\mathcal A_{d_1\\dots d_P}\\,\\mathcal B_{d_{P+1}\\dots d_{P+Q}}`."""
    a, b = _validate_tensor(a, "a"), _validate_tensor(b, "b")
    return np.multiply.outer(a, b)


def kron(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The Kronecker product :math:`A \\odot B` of two matrices (``numpy.kron``)."""
    a, b = _validate_tensor(a, "a"), _validate_tensor(b, "b")
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"kron takes two matrices, got shapes {a.shape} and {b.shape}")
    return np.kron(a, b)
