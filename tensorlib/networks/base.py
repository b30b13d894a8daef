"""The common base of tensorlib's networks: seeded weights per field, validated evaluation, the model protocol."""

from __future__ import annotations

import copy
from typing import Any, Dict, Optional, Tuple

import numpy as np

from ..bounds.formats import multilinear_rank_bound
from ..fields import Field, validate_prime
from ..grid import check_dense_size
from ..models import validate_inputs
from ..partitions import Partition, validate_partition

__all__ = ["Network", "check_dense_size"]


class Network:
    """Base class of the networks: implements the model protocol of :mod:`tensorlib.models`.

    Subclasses set ``n_inputs`` and ``input_dim``, and implement

    * ``_init_weights(rng, field) -> dict`` -- draw the weights with ``field.random(rng, shape, scale)``;
    * ``_forward(X, field, weights) -> ndarray (B,)`` -- the network, written once with the
      ``field``'s operations so it runs in float64 and in GF(p).

    Weights are drawn from ``numpy.random.default_rng(seed)`` the first time a field is used and
    cached: float64 weights are i.i.d. Gaussian (scaled by :math:`1/\\sqrt{\\text{fan-in}}`), GF(p)
    weights are uniform residues (integers in [0, p)). Both have a density, so "for almost every
    weight setting" holds for them with probability one (float64) or with high probability (GF(p));
    structured draws such as orthogonal matrices are measure-zero sets on which ranks can drop.
    """

    #: ``grid_matrix_block`` may run in several threads at once (it only reads the weights), so
    #: :func:`tensorlib.grid.fill_block` assembles a sampled matrix with one thread per core.
    parallel_blocks: bool = True

    #: True if the network is linear in each input separately (ConvACs, shallow RACs): then the
    #: separation rank is at most :math:`M^{\min(|I|,|J|)}`.
    multilinear: bool = False

    n_inputs: int
    input_dim: int
    seed: int

    def _init_weights(self, rng: np.random.Generator, field: Field) -> Dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def _forward(self, X: np.ndarray, field: Field, weights: Dict[str, Any]) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def weights(self, p: Optional[int] = None) -> Dict[str, Any]:
        """The weights used in float64 (``p=None``) or in GF(p) (integers in [0, p)).

        The arrays are read-only views: change weights with :meth:`set_weights`, which validates them.
        """
        return _read_only(self._weights(Field(None if p is None else validate_prime(p, "p"))))

    def _weights(self, field: Field) -> Dict[str, Any]:
        cache = self.__dict__.setdefault("_weight_cache", {})
        if field.modulus not in cache:
            cache[field.modulus] = _read_only(self._init_weights(np.random.default_rng(self.seed), field))
        return cache[field.modulus]

    def set_weights(self, weights: Dict[str, Any], p: Optional[int] = None) -> None:
        """Replace the weights for one field (e.g. to exhibit a measure-zero degenerate setting)."""
        field = Field(None if p is None else validate_prime(p, "p"))
        current = self._weights(field)
        if not isinstance(weights, dict):
            raise TypeError(f"weights must be a dict like self.weights(p), got {type(weights).__name__}")
        if set(weights) != set(current):
            raise ValueError(f"weights must have the keys {sorted(current)}, got {sorted(weights)}")
        new = {}
        for key, value in weights.items():
            ref = current[key]
            if isinstance(ref, list):
                if isinstance(value, (str, bytes, np.ndarray)) or not hasattr(value, "__len__") or len(value) != len(ref):
                    raise ValueError(f"weights[{key!r}] must be a list of {len(ref)} arrays")
                new[key] = [self._check_weight(v, r, f"{key}[{i}]", field) for i, (v, r) in enumerate(zip(value, ref))]
            else:
                new[key] = self._check_weight(value, ref, key, field)
        self.__dict__["_weight_cache"][field.modulus] = _read_only(new)
        # The integers as given (negative ones included), so that a confirmation mod another prime
        # evaluates the same integer network (see with_weights_reduced).
        integers = self.__dict__.setdefault("_set_integers", {})
        integers.pop(field.modulus, None)
        if field.exact:
            integers[field.modulus] = {key: [np.array(v) for v in value] if isinstance(current[key], list)
                                       else np.array(value) for key, value in weights.items()}

    def with_weights_reduced(self, p_from: int, p_to: int) -> "Network":
        """A copy of this network whose GF(``p_to``) weights are its GF(``p_from``) integer weights reduced mod ``p_to``.

        The integer weights are the integers given to :meth:`set_weights` for ``p_from`` (negative
        ones included), or else the residues drawn for it. The confirmation of a saturated rank
        (:func:`tensorlib.separation.separation_rank`) runs on this copy: the same integer network,
        evaluated mod a second prime. The original network is not changed.
        """
        p_from, p_to = validate_prime(p_from, "p_from"), validate_prime(p_to, "p_to")
        source = self.__dict__.get("_set_integers", {}).get(p_from) or self._weights(Field(p_from))
        reduced = {key: [np.mod(v, p_to) for v in value] if isinstance(value, list) else np.mod(value, p_to)
                   for key, value in source.items()}
        other = copy.copy(self)
        other.__dict__["_weight_cache"] = {**self.__dict__.get("_weight_cache", {}), p_to: _read_only(reduced)}
        other.__dict__["_set_integers"] = {}
        return other

    @staticmethod
    def _check_weight(value: Any, ref: np.ndarray, name: str, field: Field) -> np.ndarray:
        a = np.asarray(value)
        if a.shape != np.shape(ref):
            raise ValueError(f"weights[{name!r}] must have shape {np.shape(ref)}, got {a.shape}")
        numeric = np.issubdtype(a.dtype, np.integer) or a.dtype == bool or (
            not field.exact and np.issubdtype(a.dtype, np.floating))
        if not numeric:
            expected = "an integer dtype (residues mod p)" if field.exact else "a real numeric dtype"
            raise TypeError(f"weights[{name!r}] must have {expected} in {field}, got dtype {a.dtype}")
        if not field.exact and not np.all(np.isfinite(a.astype(np.float64))):
            raise ValueError(f"weights[{name!r}] contains NaN or inf")
        return np.array(field.asarray(a))  # a copy: later edits of the caller's array change nothing

    def evaluate(self, X: np.ndarray, p: Optional[int] = None) -> np.ndarray:
        """The network's output on a batch ``X`` of shape ``(B, n_inputs, input_dim)``.

        With ``p=None`` in float64; with a prime ``p`` on integer inputs, returning the value mod p.
        """
        if p is not None:
            p = validate_prime(p, "p")
        X = validate_inputs(X, self.n_inputs, self.input_dim, p)
        field = Field(p)
        return self._forward(X, field, self._weights(field))

    def __call__(self, X: np.ndarray, p: Optional[int] = None) -> np.ndarray:
        """``self.evaluate(X, p)``: the subclass's evaluate, whichever class that is."""
        return self.evaluate(X, p)

    def _validate_block(self, x_rows: np.ndarray, x_cols: np.ndarray, partition: Partition, p: Optional[int]
                        ) -> Tuple[Field, Tuple[int, ...], Tuple[int, ...], np.ndarray, np.ndarray]:
        """Check the arguments of a ``grid_matrix_block`` fast path; return ``(field, I, J, x_rows, x_cols)``."""
        if p is not None:
            p = validate_prime(p, "p")
        I, J = validate_partition(partition, self.n_inputs)
        x_rows = validate_inputs(x_rows, len(I), self.input_dim, p, name="x_rows")
        x_cols = validate_inputs(x_cols, len(J), self.input_dim, p, name="x_cols")
        return Field(p), I, J, x_rows, x_cols

    def rank_upper_bound(self, partition: Partition) -> Optional[int]:
        """:math:`M^{\\min(|I|,|J|)}` for multilinear networks (:func:`tensorlib.bounds.formats.multilinear_rank_bound`), else None.

        Subclasses with a sharper theorem override this, taking the bound from :mod:`tensorlib.bounds`.
        """
        if not self.multilinear:
            return None
        return multilinear_rank_bound(self.input_dim, validate_partition(partition, self.n_inputs))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self._repr_params().items())
        return f"{type(self).__name__}({params})"

    def _repr_params(self) -> Dict[str, Any]:
        return {"n_inputs": self.n_inputs, "input_dim": self.input_dim, "seed": self.seed}


def _read_only(weights: Dict[str, Any]) -> Dict[str, Any]:
    """A new dict (and new lists) of read-only views of the same arrays: no copy, and no in-place edit."""
    out: Dict[str, Any] = {}
    for key, value in weights.items():
        if isinstance(value, list):
            out[key] = [_view(v) for v in value]
        else:
            out[key] = _view(value)
    return out


def _view(a: np.ndarray) -> np.ndarray:
    view = np.asarray(a).view()
    view.flags.writeable = False
    return view
