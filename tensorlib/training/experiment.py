r"""Seeded comparisons of architectures on pair tasks, and the statistics the book reports.

One *trial* trains one network on one task with one seed; the seed fixes the data
(:func:`~tensorlib.training.data.pair_task`), the initial weights and the minibatch order, so the
networks compared under one seed see the same samples. The scripts in ``experiments/`` run the full
comparisons and write their records as JSON (:func:`write_results`) into
``tensorlib/training/results``; Chapter 7 reads them back (:func:`load_results`) and runs reduced
versions live with the same functions.

A difference between two networks is judged on the **paired** differences over seeds,
:math:`d_s = a_s - b_s`: its mean :math:`\bar d` and standard error :math:`s_d/\sqrt n`
(:func:`paired_difference`). The book calls a difference established when :math:`|\bar d|` exceeds
two standard errors, and says so in those words; nothing stronger is claimed from a handful of seeds.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..checks import check_int
from .data import one_hot, pair_task

__all__ = ["PairTask", "run_trials", "summarize", "paired_difference", "write_results", "load_results",
           "parameter_count", "summary_lines", "task_config", "RESULTS_DIR"]

#: Where the experiment scripts write their results, and Chapter 7 reads them: package data, so
#: that a chapter run from an installed tensorlib (on Colab, say) finds them too.
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class PairTask:
    """A pair task (see :func:`~tensorlib.training.data.pair_task`) with a name.

    ``pairs`` are the position pairs that must agree; ``n_positions`` is N, ``alphabet`` is M.
    """

    name: str
    n_positions: int
    pairs: Tuple[Tuple[int, int], ...]
    alphabet: int = 2
    max_defects: int = 1

    def sample(self, n_samples: int, seed: int) -> Tuple[np.ndarray, np.ndarray]:
        """Inputs (one-hot, shape (n_samples, N, M)) and labels (+1/-1), from ``seed``."""
        symbols, labels = pair_task(n_samples, self.n_positions, self.pairs, alphabet=self.alphabet,
                                    max_defects=self.max_defects, seed=seed)
        return one_hot(symbols, self.alphabet), labels


def run_trials(task: PairTask, networks: Mapping[str, Any], seeds: Sequence[int], *, n_train: int, n_test: int,
               epochs: int, batch_size: int = 64, learning_rate: float = 1e-2,
               extra: Optional[Mapping[str, Any]] = None, keep_params: bool = False) -> List[Dict[str, Any]]:
    """Train every network on ``task`` once per seed; one record (a dict) per trial.

    Each record holds the task, the network's name, the seed, the final train and test accuracies,
    the test accuracy after every epoch, and the items of ``extra`` (e.g. the sequence length).
    Accuracies are fractions of whole counts, stored to 6 decimals. With ``keep_params`` a record
    also holds the trained weights under ``"params"`` (not JSON data: leave it out of a results file).
    """
    from .fit import train   # JAX is imported here, not when the records are only read

    n_train = check_int(n_train, "n_train", 1)
    n_test = check_int(n_test, "n_test", 1)
    records = []
    for seed in seeds:
        X, y = task.sample(n_train + n_test, seed)
        for name, network in networks.items():
            result = train(network, X[:n_train], y[:n_train], X[n_train:], y[n_train:], epochs=epochs,
                           batch_size=batch_size, learning_rate=learning_rate, seed=int(seed))
            records.append({"task": task.name, "network": name, "seed": int(seed), **dict(extra or {}),
                            "train_accuracy": round(result.train_accuracy, 6),
                            "test_accuracy": round(result.test_accuracy, 6),
                            "test_curve": [round(a, 6) for a in result.test_curve]})
            if keep_params:
                records[-1]["params"] = result.params
    return records


def _select(records: Sequence[Mapping[str, Any]], **match: Any) -> List[Mapping[str, Any]]:
    return [r for r in records if all(r.get(k) == v for k, v in match.items())]


def summarize(records: Sequence[Mapping[str, Any]], key: str = "test_accuracy", **match: Any) -> Dict[str, float]:
    """Mean, sample standard deviation, standard error and count of ``key`` over the matching records."""
    values = np.array([r[key] for r in _select(records, **match)], dtype=float)
    if values.size == 0:
        raise ValueError(f"no record matches {match}")
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return {"mean": float(values.mean()), "std": std, "sem": std / np.sqrt(values.size), "n": int(values.size)}


def paired_difference(records: Sequence[Mapping[str, Any]], first: str, second: str, key: str = "test_accuracy",
                      **match: Any) -> Dict[str, float]:
    """The mean and standard error of ``key`` of network ``first`` minus network ``second``, paired by seed.

    Returns ``{"mean", "sem", "n", "margin"}`` with ``margin = mean / sem`` (inf when every paired
    difference is equal and non-zero, 0 when all are zero).
    """
    a = {r["seed"]: r[key] for r in _select(records, network=first, **match)}
    b = {r["seed"]: r[key] for r in _select(records, network=second, **match)}
    seeds = sorted(set(a) & set(b))
    if len(seeds) < 2:
        raise ValueError(f"need at least two seeds with both {first!r} and {second!r} for {match}")
    d = np.array([a[s] - b[s] for s in seeds])
    sem = float(d.std(ddof=1) / np.sqrt(d.size))
    mean = float(d.mean())
    margin = mean / sem if sem > 0 else (0.0 if mean == 0 else float(np.sign(mean)) * np.inf)
    return {"mean": mean, "sem": sem, "n": int(d.size), "margin": margin}


def write_results(name: str, config: Mapping[str, Any], records: Sequence[Mapping[str, Any]],
                  directory: Optional[Path] = None) -> Path:
    """Write ``{"experiment", "config", "versions", "records"}`` to ``<directory>/<name>.json``.

    The file holds no timings, so a rerun with the same seeds and versions rewrites it identically.
    """
    import jax
    import optax

    directory = Path(directory) if directory is not None else RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    versions = {"python": platform.python_version(), "numpy": np.__version__, "jax": jax.__version__,
                "optax": optax.__version__}
    path = directory / f"{name}.json"
    payload = {"experiment": name, "config": dict(config), "versions": versions, "records": list(records)}
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


def load_results(name: str, directory: Optional[Path] = None) -> Dict[str, Any]:
    """Read the results file written by :func:`write_results` (default directory :data:`RESULTS_DIR`)."""
    directory = Path(directory) if directory is not None else RESULTS_DIR
    path = directory / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run experiments/{name}.py first")
    return json.loads(path.read_text())


def summary_lines(records: Sequence[Mapping[str, Any]], keys: Sequence[str] = ("task", "network")) -> List[str]:
    """One line per group of records (grouped by ``keys``, in order of appearance): mean +- std of the test accuracy."""
    groups: Dict[Tuple[Any, ...], None] = {}
    for r in records:
        groups.setdefault(tuple(r[k] for k in keys), None)
    lines = []
    for group in groups:
        stats = summarize(records, **dict(zip(keys, group)))
        label = "  ".join(f"{k}={v}" for k, v in zip(keys, group))
        lines.append(f"{label:<50} test accuracy {stats['mean']:.3f} +- {stats['std']:.3f} (n={stats['n']})")
    return lines


def parameter_count(network: Any) -> int:
    """The number of weights of a tensorlib network: the total size of the arrays in ``network.weights()``."""
    total = 0
    for value in network.weights().values():
        total += sum(int(np.size(v)) for v in value) if isinstance(value, list) else int(np.size(value))
    return total


def task_config(task: PairTask) -> Dict[str, Any]:
    """A task as plain JSON data."""
    data = asdict(task)
    data["pairs"] = [list(p) for p in task.pairs]
    return data
