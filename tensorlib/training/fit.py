r"""Training a network of the book as a binary classifier: logistic loss, Adam, seeded minibatches.

The classifier is :math:`\operatorname{sign} f(X)`, with f the network's single output (the
tensorlib networks have one). A two-class network with one output per class decides by the sign of
the difference of its two scores, and that difference is again a network of the same architecture
(same convolutions, output vector :math:`a^{(1)} - a^{(2)}`); one output is that network directly.
The loss is the logistic loss :math:`\log(1+e^{-y g(X)})` on the normalized output
:math:`g = f e^{\lambda}` of :func:`tensorlib.training.networks.forward`, which has the sign of f.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Dict, List, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ..checks import check_int, check_seed
from .networks import Network, Params, _check_network, forward, init_params

__all__ = ["TrainResult", "train", "accuracy"]


@dataclass
class TrainResult:
    """The outcome of :func:`train`.

    Attributes
    ----------
    params : dict
        The trained weights (the layout of ``network.weights()``), as numpy float64 arrays.
    train_accuracy, test_accuracy : float
        Fractions of correctly classified samples after the last epoch.
    test_curve : list of float
        The test accuracy after each epoch.
    """

    params: Dict[str, Any]
    train_accuracy: float
    test_accuracy: float
    test_curve: List[float] = field(default_factory=list)


def _loss(network: Network, params: Params, X: jnp.ndarray, y: jnp.ndarray) -> jnp.ndarray:
    g, _ = forward(network, params, X, normalize=True)
    return jnp.mean(jax.nn.softplus(-y * g))


# Compiled functions per network, keyed by the network's identity (not its hash), each entry
# holding the network so that its id is not reused while the entry lives.
_COMPILED: Dict[Tuple[Any, ...], Tuple[Any, Any]] = {}


def _remember(key: Tuple[Any, ...], network: Network, value: Any) -> None:
    if len(_COMPILED) >= 128:
        _COMPILED.clear()
    _COMPILED[key] = (network, value)


def _predict_function(network: Network) -> Callable[..., Any]:
    """The jitted normalized output of this network, compiled once per network."""
    key = ("predict", id(network))
    if key not in _COMPILED:
        _remember(key, network, jax.jit(lambda params, X: forward(network, params, X, normalize=True)[0]))
    return _COMPILED[key][1]


def _epoch_function(network: Network, learning_rate: float) -> Tuple[Any, Callable[..., Any]]:
    """Adam and one jitted epoch (a scan over the minibatches) for this network, compiled once per network."""
    key = ("epoch", id(network), learning_rate)
    if key in _COMPILED:
        return _COMPILED[key][1]
    optimizer = optax.adam(learning_rate)
    grad = jax.grad(partial(_loss, network))

    @jax.jit
    def epoch(params: Params, state: Any, Xb: jnp.ndarray, yb: jnp.ndarray) -> Any:
        def step(carry: Any, batch: Any) -> Any:
            params, state = carry
            updates, state = optimizer.update(grad(params, *batch), state, params)
            return (optax.apply_updates(params, updates), state), None

        return jax.lax.scan(step, (params, state), (Xb, yb))[0]

    _remember(key, network, (optimizer, epoch))
    return optimizer, epoch


def accuracy(network: Network, params: Params, X: Any, y: Any, chunk: int = 1024) -> float:
    """The fraction of samples with :math:`\\operatorname{sign} f(X) = y` (an output of exactly 0 counts as wrong).

    The samples are evaluated in chunks of ``chunk``, the last one padded, so the network is
    compiled for one batch shape only.
    """
    X, y = np.asarray(X, dtype=np.float32), np.asarray(y)
    predict = _predict_function(_check_network(network))
    correct = 0
    for start in range(0, len(y), chunk):
        block = X[start:start + chunk]
        padded = np.concatenate([block, np.repeat(block[:1], chunk - len(block), axis=0)]) if len(block) < chunk else block
        g = np.asarray(predict(params, jnp.asarray(padded)))[:len(block)]
        correct += int(np.sum(np.sign(g) == y[start:start + chunk]))
    return correct / len(y)


def train(network: Network, X_train: Any, y_train: Any, X_test: Any, y_test: Any, *, epochs: int = 20,
          batch_size: int = 64, learning_rate: float = 1e-2, seed: int = 0) -> TrainResult:
    """Train ``network`` (the architecture; its own weights are not used) on (X_train, y_train).

    Parameters
    ----------
    network : DeepConvAC, ShallowConvAC or RAC
    X_train, X_test : arrays (B, N, M)
        Inputs, e.g. :func:`tensorlib.training.data.one_hot` of a pair task.
    y_train, y_test : arrays (B,)
        Labels in {+1, -1}.
    epochs, batch_size : int
        Each epoch visits the training set once in a fresh seeded order, in ``len(X_train) //
        batch_size`` minibatches (the remainder is left out of that epoch).
    learning_rate : float
        Adam's step size (optax).
    seed : int
        Seeds the initial weights (:func:`~tensorlib.training.networks.init_params`) and the minibatch order.

    Returns
    -------
    TrainResult
    """
    _check_network(network)
    epochs = check_int(epochs, "epochs", 1)
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    batch_size = check_int(batch_size, "batch_size", 1)
    seed = check_seed(seed)
    X_train = np.asarray(X_train, dtype=np.float32)
    y_train = np.asarray(y_train, dtype=np.float32)
    if len(X_train) < batch_size:
        raise ValueError(f"batch_size={batch_size} is larger than the training set ({len(X_train)} samples)")
    params = init_params(network, seed)
    optimizer, epoch = _epoch_function(network, float(learning_rate))
    state = optimizer.init(params)
    rng = np.random.default_rng(seed)
    n_batches = len(X_train) // batch_size
    curve = []
    for _ in range(epochs):
        idx = rng.permutation(len(X_train))[:n_batches * batch_size].reshape(n_batches, batch_size)
        params, state = epoch(params, state, jnp.asarray(X_train[idx]), jnp.asarray(y_train[idx]))
        curve.append(accuracy(network, params, X_test, y_test))
    return TrainResult(params=jax.tree_util.tree_map(lambda w: np.asarray(w, dtype=np.float64), params),
                       train_accuracy=accuracy(network, params, X_train, y_train),
                       test_accuracy=curve[-1], test_curve=curve)
