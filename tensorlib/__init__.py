"""tensorlib: separation ranks of deep networks, exactly over GF(p) and estimated in float64.

Layout (imports flow up this list; nothing imports a module below it in the list):

* :mod:`~tensorlib.checks` -- argument checks shared by every entry point;
* :mod:`~tensorlib.fields` -- float64 and GF(p) arithmetic, its fast kernels, ``DEFAULT_PRIME``;
* :mod:`~tensorlib.partitions` -- ``left_right``, ``odd_even``, ``start_end``, ``balanced``;
* :mod:`~tensorlib.tensors` -- ``matricize`` and tensor/Kronecker products;
* :mod:`~tensorlib.rank` -- ``exact_rank`` (GF(p)), ``numerical_rank``, ``singular_values``;
* :mod:`~tensorlib.bounds` -- closed-form statements of the theorems, on plain architecture descriptions;
* :mod:`~tensorlib.models` -- the model protocol, and checks of a model's inputs and outputs;
* :mod:`~tensorlib.grid` -- grid tensors and sampled grid matrices;
* :mod:`~tensorlib.separation` -- ``separation_rank`` and its result, ``SeparationRank``;
* :mod:`~tensorlib.networks` -- one module per architecture.

Apart from the tensor code: :mod:`~tensorlib.coursework` (exercise checks, student versions, grading).
"""

from . import bounds, networks, partitions
from .fields import DEFAULT_PRIME, Field, is_prime
from .grid import grid_tensor, sampled_grid_matrix
from .partitions import balanced, left_right, odd_even, start_end, validate_partition
from .rank import exact_rank, numerical_rank, singular_values
from .separation import SeparationRank, separation_rank
from .tensors import kron, matricize, tensor_product

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_PRIME",
    "Field",
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
