"""The two simplest models: a product of linear forms, and a sum of R such products.

They are the CP model of the book's second chapter, without a network around them:

.. math::  f(x_1,\\dots,x_N) = \\sum_{z=1}^{R} \\prod_{i=1}^{N} \\langle a^{z,i}, x_i\\rangle ,
           \\qquad \\mathcal A = \\sum_{z=1}^{R} a^{z,1}\\otimes\\cdots\\otimes a^{z,N}.

Every term is separable under every partition, so :math:`\\operatorname{sep}(f;I,J) \\le R`, and
also :math:`\\le M^{\\min(|I|,|J|)}`. For generic weights equality holds:
:math:`\\operatorname{sep}(f;I,J) = \\min(R, M^{\\min(|I|,|J|)})`.
"""

from __future__ import annotations

from typing import Any, Dict

import numpy as np
import tensorly as tl
from tensorly.cp_tensor import cp_to_tensor

from ..bounds.formats import sum_of_products_rank
from ..checks import check_int, check_seed
from ..fields import Field
from ..grid import check_dense_size
from ..partitions import Partition, validate_partition
from .base import Network

__all__ = ["SumOfProducts", "ProductOfLinearForms"]


class SumOfProducts(Network):
    """:math:`f(x) = \\sum_{z=1}^{R}\\prod_{i=1}^{N}\\langle a^{z,i}, x_i\\rangle`, a sum of ``terms`` = R products.

    Weights: ``factors[i]`` has shape (M, R); column z is :math:`a^{z,i}` (tensorly's CP layout).
    """

    multilinear = True

    def __init__(self, n_inputs: int, input_dim: int, terms: int, *, seed: int = 0) -> None:
        self.n_inputs = check_int(n_inputs, "n_inputs", 2, "(a partition needs two sides)")
        self.input_dim = check_int(input_dim, "input_dim", 1)
        self.terms = check_int(terms, "terms", 1)
        self.seed = check_seed(seed)

    def _init_weights(self, rng: np.random.Generator, field: Field) -> Dict[str, Any]:
        return {"factors": [field.random(rng, (self.input_dim, self.terms)) for _ in range(self.n_inputs)]}

    def _forward(self, X: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:
        out = None
        for i, factor in enumerate(weights["factors"]):
            forms = field.matmul(X[:, i, :], factor)  # (B, R): <a^{z,i}, x_i>
            out = forms if out is None else field.mul(out, forms)
        return field.sum(out, axis=1)

    def rank_upper_bound(self, partition: Partition) -> int:
        """:math:`\\min(R, M^{\\min(|I|,|J|)})` (:func:`tensorlib.bounds.formats.sum_of_products_rank`)."""
        return sum_of_products_rank(self.terms, self.input_dim, validate_partition(partition, self.n_inputs))

    def coefficient_tensor(self) -> np.ndarray:
        """:math:`\\mathcal A = \\sum_z a^{z,1}\\otimes\\cdots\\otimes a^{z,N}` in float64 (``tensorly.cp_to_tensor``)."""
        check_dense_size((self.input_dim,) * self.n_inputs, "coefficient tensor")
        factors = self._weights(Field())["factors"]
        return np.asarray(cp_to_tensor((tl.ones(self.terms), [tl.tensor(f) for f in factors])))

    def _repr_params(self) -> Dict[str, Any]:
        return {"n_inputs": self.n_inputs, "input_dim": self.input_dim, "terms": self.terms, "seed": self.seed}


class ProductOfLinearForms(SumOfProducts):
    """:math:`f(x) = \\prod_{i=1}^{N}\\langle a^{i}, x_i\\rangle`: separable, separation rank 1 under every partition."""

    def __init__(self, n_inputs: int, input_dim: int, *, seed: int = 0) -> None:
        super().__init__(n_inputs, input_dim, 1, seed=seed)

    def _repr_params(self) -> Dict[str, Any]:
        return {"n_inputs": self.n_inputs, "input_dim": self.input_dim, "seed": self.seed}
