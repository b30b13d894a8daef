"""Closed-form statements of the theorems, to assert computed ranks against.

Each function returns the number a theorem gives, with the theorem named in its docstring. A bound
marked *[own derivation]* is not the paper's; the book says so where it uses it.
"""

from __future__ import annotations

import numpy as np

from .partitions import validate_partition

__all__ = ["sum_of_products_rank"]


def _positive(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


# -- Chapter 2: the CP model -------------------------------------------------------------------

def sum_of_products_rank(terms: int, input_dim: int, partition: object) -> int:
    """:math:`\\min(R, M^{\\min(|I|,|J|)})`: the generic separation rank of a sum of R products of linear forms.

    Upper bound: each product is separable, and the matricization has :math:`M^{\\min(|I|,|J|)}`
    rows or columns. Equality for generic weights (COLT 2016, App. B; ICLR 2017 §3.3).
    """
    terms = _positive(terms, "terms")
    input_dim = _positive(input_dim, "input_dim")
    I, J = partition if isinstance(partition, tuple) and len(partition) == 2 else (None, None)
    if I is None:
        raise TypeError("partition must be a pair (I, J)")
    I, J = validate_partition((I, J), len(tuple(I)) + len(tuple(J)))
    return min(terms, input_dim ** min(len(I), len(J)))


# -- Chapters 3-4: convolutional networks (ConvACs) --------------------------------------------

# -- Chapter 5: recurrent networks (RACs) ------------------------------------------------------

# -- Chapter 6: self-attention -----------------------------------------------------------------
