"""Training the book's networks in JAX (Chapter 7): tasks, networks, conversion, training.

* :mod:`~tensorlib.training.data` -- seeded synthetic pair tasks and two-dimensional pooling
  orders (numpy only);
* :mod:`~tensorlib.training.networks` -- ConvACs and RACs in JAX on weights laid out like
  ``tensorlib.networks``' ``weights()``, and the conversion back with ``set_weights``;
* :mod:`~tensorlib.training.fit` -- logistic loss, Adam (optax), seeded minibatches;
* :mod:`~tensorlib.training.experiment` -- seeded comparisons over seeds, paired statistics, the
  results files of ``experiments/``.

``import tensorlib`` does not import this package, and this package imports JAX only when a name
from ``networks`` or ``fit`` is first used, so the data generators work without JAX.
"""

from __future__ import annotations

import importlib
from typing import Any

from .data import (mirror_order, mirror_pairs, neighbour_pairs, offset_pairs, one_hot, pair_indicator_rank,
                   pair_task, split_pairs, square_order)
from .experiment import (RESULTS_DIR, PairTask, load_results, paired_difference, parameter_count, run_trials, summarize,
                         summary_lines, task_config, write_results)

_LAZY = {
    "init_params": "networks", "params_from_network": "networks", "to_network": "networks", "forward": "networks",
    "exact_residues": "networks", "TrainResult": "fit", "train": "fit", "accuracy": "fit",
}

__all__ = ["PairTask", "RESULTS_DIR", "TrainResult", "accuracy", "exact_residues", "forward", "init_params",
           "load_results", "mirror_order", "mirror_pairs", "neighbour_pairs", "offset_pairs", "one_hot",
           "pair_indicator_rank", "pair_task", "paired_difference", "parameter_count", "params_from_network", "run_trials",
           "split_pairs", "square_order", "summarize", "summary_lines", "task_config", "to_network", "train", "write_results"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
