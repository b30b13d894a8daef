"""tensorlib: separation ranks of deep networks, exactly over GF(p) and estimated in float64.

Layout (imports flow top to bottom; nothing imports upward):

* :mod:`~tensorlib.fields` -- float64 and GF(p) arithmetic, ``DEFAULT_PRIME``;
* :mod:`~tensorlib.rank` -- ``exact_rank`` (GF(p), python-flint), ``numerical_rank``, ``singular_values``;
* :mod:`~tensorlib.tensors` -- ``matricize`` and tensor/Kronecker products;
* :mod:`~tensorlib.partitions` -- ``left_right``, ``odd_even``, ``start_end``, ``balanced``;
* :mod:`~tensorlib.separation` -- the model protocol, ``grid_tensor``, sampled grid matrices,
  ``separation_rank``;
* :mod:`~tensorlib.networks` -- one module per architecture;
* :mod:`~tensorlib.bounds` -- closed-form statements of the theorems.
"""

from . import bounds, networks, partitions
from .fields import DEFAULT_PRIME, Field, is_prime
from .partitions import balanced, left_right, odd_even, start_end, validate_partition
from .rank import exact_rank, numerical_rank, singular_values
from .separation import (
    Model,
    SeparationRank,
    grid_tensor,
    sampled_grid_matrix,
    separation_rank,
)
from .tensors import kron, matricize, tensor_product

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_PRIME",
    "Field",
    "Model",
    "SeparationRank",
    "balanced",
    "bounds",
    "exact_rank",
    "grid_tensor",
    "is_prime",
    "kron",
    "left_right",
    "matricize",
    "networks",
    "numerical_rank",
    "odd_even",
    "partitions",
    "sampled_grid_matrix",
    "separation_rank",
    "singular_values",
    "start_end",
    "tensor_product",
    "validate_partition",
]
