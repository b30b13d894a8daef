r"""The book's networks in JAX, with their weights converted to and from ``tensorlib.networks``.

A tensorlib network (:class:`~tensorlib.networks.DeepConvAC`, :class:`~tensorlib.networks.ShallowConvAC`,
:class:`~tensorlib.networks.RAC`) is the *description* of an architecture: its sizes, pooling
windows, order, weight sharing and depth. This module runs the same function in JAX, on weights
("params") laid out exactly like the network's ``weights()`` dict, so that trained params go back
into the network with ``set_weights`` (:func:`to_network`) and every tool of the book applies to a
trained network.

**Normalized evaluation.** A ConvAC or a RAC multiplies many numbers, so its raw output spans many
orders of magnitude and is a poor input to a loss. With ``normalize=True`` every hidden state (a
pooled node of a ConvAC, a state :math:`h^{t,l}` of a RAC) is divided by the root mean square of its
channels. That divides the state by a positive number depending on the input, and since the network
is built from linear maps and products, the output changes by a positive factor only:

.. math::  g(X) = f(X)\, e^{\lambda(X)}, \qquad \lambda(X)\in\mathbb R,

where f is the network of the tensorlib description with the same weights. :func:`forward` returns
g and :math:`\lambda` (tracked exactly: a product adds the exponents of its factors, a division by
s subtracts :math:`\log s`). So :math:`\operatorname{sign} g = \operatorname{sign} f`: a classifier
trained on g is the tensorlib network's sign, and its separation rank is that of f.
"""

from __future__ import annotations

import copy
from fractions import Fraction
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np

from ..checks import check_seed
from ..networks import RAC, DeepConvAC, ShallowConvAC

__all__ = ["init_params", "params_from_network", "to_network", "forward", "exact_residues"]

Params = Dict[str, Any]
Network = Union[DeepConvAC, ShallowConvAC, RAC]

# Added to the mean square before the root: keeps the division finite when a state is exactly zero.
_EPS = 1e-30


def _check_network(network: object) -> Network:
    if not isinstance(network, (DeepConvAC, ShallowConvAC, RAC)):
        raise TypeError("network must be a tensorlib DeepConvAC, ShallowConvAC or RAC, "
                        f"got {type(network).__name__}")
    return network


def params_from_network(network: Network, dtype: Any = jnp.float32) -> Params:
    """The network's float64 weights as JAX arrays (same keys, same list layout, same shapes)."""
    weights = _check_network(network).weights()
    return jax.tree_util.tree_map(lambda w: jnp.asarray(w, dtype=dtype), weights)


def init_params(network: Network, seed: int = 0, spread: float = 0.5, dtype: Any = jnp.float32) -> Params:
    r"""Fresh params for training, drawn from a density: a network that starts near a constant function.

    A ConvAC's convolutions have i.i.d. entries :math:`(1 + \sigma\varepsilon)/\text{fan-in}`, with
    :math:`\varepsilon` standard normal and :math:`\sigma` = ``spread``, and its output vector has
    i.i.d. entries :math:`\varepsilon/\sqrt{\text{fan-in}}`. With these mean-one matrices every
    channel of every hidden state starts close to the same positive value whatever the input, so the
    initial network is nearly constant and the gradient of each weight sees the interactions between
    the inputs it multiplies at first order. With zero-mean weights a product of many random factors
    has a random sign whatever the input, and in our runs training then stayed at chance.

    A RAC keeps its memory through the recurrent matrices, which an averaging matrix would erase:
    :math:`W^{H,1}` and :math:`W^{I,l}` for :math:`l \ge 2` are :math:`I + \sigma\varepsilon/\sqrt R`
    (near the identity), while :math:`W^{I,1}` and :math:`W^{H,l}` for :math:`l \ge 2` are mean-one as
    above (so a deeper layer starts by passing the layer below through). Every draw has a density,
    so the initial weights are generic.

    The shapes are those of ``network.weights()``; the values come from
    ``numpy.random.default_rng(seed)`` alone, so a run is reproducible whatever the network's own
    initialization. The fan-in is the size of the second-to-last axis of a convolution
    (``(..., fan_in, fan_out)``), of the last axis of a RAC matrix (``(out, in)``).
    """
    _check_network(network)
    rng = np.random.default_rng(check_seed(seed))
    recurrent = isinstance(network, RAC)

    def draw(w: np.ndarray, near_identity: bool = False) -> jnp.ndarray:
        shape = np.shape(w)
        noise = rng.standard_normal(shape)
        if len(shape) == 1:
            return jnp.asarray(noise / np.sqrt(shape[0]), dtype=dtype)
        if near_identity:
            return jnp.asarray(np.eye(shape[0]) + spread * noise / np.sqrt(shape[0]), dtype=dtype)
        fan_in = shape[-1] if recurrent else shape[-2]
        return jnp.asarray((1.0 + spread * noise) / fan_in, dtype=dtype)

    weights = network.weights()
    if recurrent:
        return {"W_H": [draw(w, layer == 0) for layer, w in enumerate(weights["W_H"])],
                "W_I": [draw(w, layer > 0) for layer, w in enumerate(weights["W_I"])],
                "w_O": draw(weights["w_O"])}
    return jax.tree_util.tree_map(draw, weights)


def _float64(params: Params) -> Dict[str, Any]:
    return jax.tree_util.tree_map(lambda w: np.asarray(w, dtype=np.float64), params)


def exact_residues(array: np.ndarray, p: int) -> np.ndarray:
    r"""Residues mod p of :math:`2^{s} A`, the smallest power-of-two multiple of A with integer entries.

    Every float is a dyadic rational :math:`m\,2^{e}`, so :math:`2^{s}A` is an exact integer array
    for :math:`s = -\min e`. Scaling a weight array by a positive constant multiplies the output of
    a ConvAC or a RAC by a positive constant, which changes no separation rank. A network with these
    residues as its GF(p) weights therefore computes, on integer inputs, the trained function times
    a constant, reduced mod p; its GF(p) grid ranks are certified lower bounds on the trained
    network's separation rank (a GF(p) rank is at most the rational rank).
    """
    a = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        raise ValueError("array must be finite to be converted to exact integers")
    # Fraction(float) is exact, and the denominator of a float is a power of two.
    exact = [Fraction(x) for x in a.ravel().tolist()]
    scale = max((f.denominator for f in exact), default=1)
    return np.array([int(f * scale) % p for f in exact], dtype=np.int64).reshape(a.shape)


def to_network(network: Network, params: Params, *, primes: Sequence[int] = ()) -> Network:
    """A copy of ``network`` whose weights are ``params``: float64, and exactly for each prime in ``primes``.

    The float64 weights are the params themselves. For a prime p the GF(p) weights are
    :func:`exact_residues` of each array (the params up to a positive factor per array, exactly), so
    ``tensorlib.separation_rank(net, partition, p=p)`` certifies lower bounds on the separation rank
    of the trained network. The network passed in is not changed.
    """
    net = copy.deepcopy(_check_network(network))
    weights = _float64(params)
    net.set_weights(weights)
    for p in primes:
        net.set_weights(jax.tree_util.tree_map(lambda w: exact_residues(w, int(p)), weights), p=int(p))
    return net


def _normalized(h: jnp.ndarray, log_scale: jnp.ndarray, normalize: bool) -> Tuple[jnp.ndarray, jnp.ndarray]:
    """Divide h (..., channels) by its RMS over the channels; add -log(RMS) to log_scale (...)."""
    if not normalize:
        return h, log_scale
    rms = jnp.sqrt(jnp.mean(h * h, axis=-1) + _EPS)
    return h / rms[..., None], log_scale - jnp.log(rms)


def _deep_convac(net: DeepConvAC, params: Params, X: jnp.ndarray, normalize: bool) -> Tuple[jnp.ndarray, jnp.ndarray]:
    h = X[:, jnp.asarray(net.order), :]                    # (B, positions, channels), in tree order
    log_scale = jnp.zeros((X.shape[0], X.shape[1]), dtype=X.dtype)
    for w, conv in zip(net.windows, params["conv"]):
        h = h @ conv if conv.ndim == 2 else jnp.einsum("bnc,ncd->bnd", h, conv)
        B, n, r = h.shape
        h = jnp.prod(h.reshape(B, n // w, w, r), axis=2)
        log_scale = jnp.sum(log_scale.reshape(B, n // w, w), axis=2)
        h, log_scale = _normalized(h, log_scale, normalize)
    return h[:, 0, :] @ params["output"], log_scale[:, 0]


def _shallow_convac(net: ShallowConvAC, params: Params, X: jnp.ndarray, normalize: bool
                    ) -> Tuple[jnp.ndarray, jnp.ndarray]:
    conv = params["conv"]
    forms = X @ conv if conv.ndim == 2 else jnp.einsum("bnc,ncd->bnd", X, conv)   # (B, N, Z)
    forms, log_scale = _normalized(forms, jnp.zeros(forms.shape[:2], dtype=X.dtype), normalize)
    pooled = jnp.prod(forms, axis=1)
    pooled, total = _normalized(pooled, jnp.sum(log_scale, axis=1), normalize)
    return pooled @ params["output"], total


def _rac(net: RAC, params: Params, X: jnp.ndarray, normalize: bool) -> Tuple[jnp.ndarray, jnp.ndarray]:
    B = X.shape[0]
    ones = jnp.ones((B, net.hidden), dtype=X.dtype)
    zeros = jnp.zeros((B,), dtype=X.dtype)
    init = (tuple(ones for _ in range(net.depth)), tuple(zeros for _ in range(net.depth)))

    def step(carry: Tuple[tuple, tuple], x_t: jnp.ndarray) -> Tuple[Tuple[tuple, tuple], None]:
        states, scales = carry
        below, below_scale = x_t, zeros
        new_states, new_scales = [], []
        for layer in range(net.depth):
            h = (states[layer] @ params["W_H"][layer].T) * (below @ params["W_I"][layer].T)
            h, scale = _normalized(h, scales[layer] + below_scale, normalize)
            new_states.append(h)
            new_scales.append(scale)
            below, below_scale = h, scale
        return (tuple(new_states), tuple(new_scales)), None

    (states, scales), _ = jax.lax.scan(step, init, jnp.swapaxes(X, 0, 1))
    return states[-1] @ params["w_O"], scales[-1]


def forward(network: Network, params: Params, X: Any, *, normalize: bool = False
            ) -> Tuple[jnp.ndarray, jnp.ndarray]:
    r"""The network's output on a batch, in JAX: ``(g, log_scale)``, both of shape (B,).

    Parameters
    ----------
    network : DeepConvAC, ShallowConvAC or RAC
        The architecture (its weights are not used).
    params : dict
        Weights laid out as ``network.weights()`` (see :func:`init_params`, :func:`params_from_network`).
    X : array of shape (B, N, M)
        The inputs, as for ``network.evaluate``.
    normalize : bool
        Divide every hidden state by the root mean square of its channels (see the module notes).

    Returns
    -------
    g : array (B,)
        :math:`g = f\,e^{\lambda}`, with f the tensorlib network's output on the same weights;
        :math:`g = f` when ``normalize`` is False.
    log_scale : array (B,)
        :math:`\lambda`; zero when ``normalize`` is False.
    """
    X = jnp.asarray(X)
    if X.ndim != 3 or X.shape[1:] != (network.n_inputs, network.input_dim):
        raise ValueError(f"X must have shape (batch, {network.n_inputs}, {network.input_dim}), got {X.shape}")
    if isinstance(network, DeepConvAC):
        return _deep_convac(network, params, X, normalize)
    if isinstance(network, ShallowConvAC):
        return _shallow_convac(network, params, X, normalize)
    if isinstance(network, RAC):
        return _rac(network, params, X, normalize)
    raise TypeError(f"network must be a tensorlib DeepConvAC, ShallowConvAC or RAC, got {type(network).__name__}")
