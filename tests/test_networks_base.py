"""Tests of tensorlib.networks.base: the Network class every architecture builds on.

Weights are drawn per field and cached; ``weights()`` hands out read-only views and ``set_weights``
validates and copies (issue 11: in-place edits used to bypass the validation). ``model(X, p)`` is
``model.evaluate(X, p)`` for every network, the user's subclasses too (issue 11: ``__call__`` was
bound to the base method).
"""

import numpy as np
import pytest

from tensorlib import DEFAULT_PRIME, odd_even, separation_rank
from tensorlib.networks import (RAC, DeepConvAC, Network, ProductOfLinearForms, SelfAttention, ShallowConvAC,
                                SumOfProducts)

P = DEFAULT_PRIME

ALL_NETWORKS = [
    SumOfProducts(4, 2, 3, seed=1),
    ProductOfLinearForms(3, 2, seed=1),
    ShallowConvAC(4, 2, 3, seed=1),
    ShallowConvAC(4, 2, 3, shared=True, seed=1),
    DeepConvAC(8, 2, [2, 3, 2], seed=1),
    DeepConvAC(9, 2, 2, window=3, order=[8, 7, 6, 5, 4, 3, 2, 1, 0], shared=True, seed=1),
    RAC(4, 2, 3, depth=2, seed=1),
    SelfAttention(3, 4, 2, heads=2, input_dim=3, residual=True, seed=1),
    SelfAttention(3, 2, 1, softmax=True, seed=1),
]


class Affine(Network):
    """A non-multilinear network with a dict of array and list weights: f(x) = <w, x_0> * s[0] + b."""

    def __init__(self, seed=0):
        self.n_inputs, self.input_dim, self.seed = 2, 2, seed

    def _init_weights(self, rng, field):
        return {"w": field.random(rng, 2), "s": [field.random(rng, 1)], "b": field.random(rng, 1)}

    def _forward(self, X, field, weights):
        lin = field.matmul(X[:, 0, :], weights["w"])
        return field.add(field.mul(lin, weights["s"][0]), weights["b"])


def _arrays(weights):
    for value in weights.values():
        yield from (value if isinstance(value, list) else [value])


# -- the model protocol -----------------------------------------------------------------------------

def test_network_base_without_multilinearity_has_no_upper_bound():
    assert Affine().rank_upper_bound(((0,), (1,))) is None
    assert repr(Affine(seed=3)) == "Affine(n_inputs=2, input_dim=2, seed=3)"


def test_multilinear_networks_default_to_the_multilinear_bound():
    class Multilinear(Affine):
        multilinear = True

    model = Multilinear()
    model.n_inputs, model.input_dim = 5, 3
    assert model.rank_upper_bound(((0, 1), (2, 3, 4))) == 3**2
    with pytest.raises(ValueError, match="partition must cover all 5 positions"):
        model.rank_upper_bound(((0,), (1,)))


def test_network_base_evaluates_in_both_fields_with_set_weights():
    model = Affine()
    model.set_weights({"w": np.array([2, 3]), "s": [np.array([5])], "b": np.array([-1])}, p=7)
    model.set_weights({"w": np.array([2.0, 3.0]), "s": [np.array([5.0])], "b": np.array([-1.0])})
    X = np.array([[[1, 4], [0, 0]], [[6, 6], [1, 1]]])
    expected = (X[:, 0] @ np.array([2, 3])) * 5 - 1
    np.testing.assert_array_equal(model.evaluate(X), expected)
    np.testing.assert_array_equal(model.evaluate(X, p=7), np.mod(expected, 7))


@pytest.mark.parametrize("model", ALL_NETWORKS, ids=repr)
def test_call_is_evaluate_for_every_network(model):
    X = np.random.default_rng(0).standard_normal((3, model.n_inputs, model.input_dim))
    np.testing.assert_array_equal(model(X), model.evaluate(X))
    np.testing.assert_array_equal(model(X, None), model.evaluate(X, p=None))
    Xp = np.random.default_rng(1).integers(0, P, (3, model.n_inputs, model.input_dim))
    if getattr(model, "softmax", False):
        # Issue 11: the softmax network returned [0] through __call__ while evaluate raised.
        for call in (lambda: model(Xp, P), lambda: model(Xp, p=P), lambda: model.evaluate(Xp, P)):
            with pytest.raises(ValueError, match="softmax=True is float64 only"):
                call()
    else:
        np.testing.assert_array_equal(model(Xp, P), model.evaluate(Xp, p=P))


def test_the_softmax_example_of_issue_11_raises_through_call():
    with pytest.raises(ValueError, match="softmax=True is float64 only"):
        SelfAttention(2, 1, 1, softmax=True)(np.ones((1, 2, 1), dtype=np.int64), p=7)


def test_call_uses_a_subclass_override_of_evaluate():
    class Doubled(SumOfProducts):
        def evaluate(self, X, p=None):
            out = super().evaluate(X, p)
            return 2 * out if p is None else (2 * out) % p

    class Refuses(ShallowConvAC):
        def evaluate(self, X, p=None):
            raise RuntimeError("not in this field")

    model, plain = Doubled(3, 2, 2, seed=4), SumOfProducts(3, 2, 2, seed=4)
    X = np.random.default_rng(2).integers(0, 50, (4, 3, 2))
    np.testing.assert_allclose(model(X), 2 * plain(X))
    np.testing.assert_array_equal(model(X, 101), (2 * plain(X, 101)) % 101)
    with pytest.raises(RuntimeError, match="not in this field"):
        Refuses(3, 2, 2)(X)


def test_separation_rank_sees_the_subclass_evaluate():
    class Squared(ProductOfLinearForms):
        """f^2 of a product of linear forms: still separable (rank 1), a different function."""

        multilinear = False

        def rank_upper_bound(self, partition):
            return None

        def evaluate(self, X, p=None):
            out = super().evaluate(X, p)
            return out * out if p is None else (out * out) % p

    result = separation_rank(Squared(4, 2, seed=0), odd_even(4))
    assert result.rank == 1 and result.confirmed


# -- weights: cached per field, read-only, replaced only through set_weights ----------------------------

@pytest.mark.parametrize("model", ALL_NETWORKS, ids=repr)
@pytest.mark.parametrize("p", [None, P])
def test_weights_are_read_only_views_of_the_cached_weights(model, p):
    if p is not None and getattr(model, "softmax", False):
        return
    first = list(_arrays(model.weights(p)))
    for array in first:
        assert not array.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            array[...] = 0
        with pytest.raises(ValueError, match="read-only"):
            array += 1
    again = list(_arrays(model.weights(p)))
    assert all(np.shares_memory(a, b) for a, b in zip(first, again))  # the cache, not a fresh draw


def test_editing_the_dict_or_lists_returned_by_weights_changes_nothing():
    model = DeepConvAC(4, 2, 2, seed=0)
    X = np.random.default_rng(0).standard_normal((2, 4, 2))
    before = model(X)
    weights = model.weights()
    weights["conv"][0] = np.zeros_like(weights["conv"][0])
    weights["output"] = np.zeros_like(weights["output"])
    np.testing.assert_array_equal(model(X), before)


def test_set_weights_copies_the_callers_arrays():
    model = SumOfProducts(3, 2, 2, seed=0)
    new = [np.arange(4.0).reshape(2, 2) + i for i in range(3)]
    model.set_weights({"factors": new})
    X = np.random.default_rng(1).standard_normal((3, 3, 2))
    before = model(X)
    new[0][0, 0] = 1e6  # the caller keeps editing its own array
    np.testing.assert_array_equal(model(X), before)
    integers = [np.full((2, 2), 3 + i, dtype=np.int64) for i in range(3)]
    model.set_weights({"factors": integers}, p=7)
    integers[1][...] = 0
    assert all(f.min() > 0 for f in model.weights(7)["factors"])
    assert not model.weights(7)["factors"][0].flags.writeable


def test_weights_are_deterministic_for_a_seed_and_cached_per_field():
    a, b = SumOfProducts(3, 2, 4, seed=7), SumOfProducts(3, 2, 4, seed=7)
    for p in (None, 101, P):
        for fa, fb in zip(a.weights(p)["factors"], b.weights(p)["factors"]):
            np.testing.assert_array_equal(fa, fb)
    c = SumOfProducts(3, 2, 4, seed=8)
    assert not np.array_equal(a.weights()["factors"][0], c.weights()["factors"][0])


def test_weights_reject_composite_primes():
    with pytest.raises(ValueError, match="p must be prime"):
        SumOfProducts(3, 2, 2).weights(91)


def test_set_weights_replaces_the_weights_of_one_field_only():
    model = SumOfProducts(3, 2, 2, seed=0)
    float_before = [f.copy() for f in model.weights()["factors"]]
    other_prime = [f.copy() for f in model.weights(11)["factors"]]
    new = [np.full((2, 2), -3 + i) for i in range(3)]
    model.set_weights({"factors": new}, p=7)
    for got, want in zip(model.weights(7)["factors"], new):
        np.testing.assert_array_equal(got, np.mod(want, 7))  # reduced into GF(7)
    for got, want in zip(model.weights()["factors"], float_before):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(model.weights(11)["factors"], other_prime):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("weights, p, exc, msg", [
    ({"x": 1}, None, ValueError, r"weights must have the keys \['factors'\], got \['x'\]"),
    ([np.ones((2, 2))] * 3, None, TypeError, r"weights must be a dict like self.weights\(p\), got list"),
    ({"factors": [np.ones((2, 2))] * 2}, None, ValueError, r"weights\['factors'\] must be a list of 3 arrays"),
    ({"factors": [np.ones((2, 2))] * 4}, None, ValueError, r"weights\['factors'\] must be a list of 3 arrays"),
    ({"factors": np.ones((3, 2, 2))}, None, ValueError, r"weights\['factors'\] must be a list of 3 arrays"),
    ({"factors": [np.ones((2, 3))] * 3}, None, ValueError,
     r"weights\['factors\[0\]'\] must have shape \(2, 2\), got \(2, 3\)"),
    ({"factors": [np.full((2, 2), np.nan)] * 3}, None, ValueError, r"weights\['factors\[0\]'\] contains NaN or inf"),
    ({"factors": [np.full((2, 2), np.inf)] * 3}, None, ValueError, r"weights\['factors\[0\]'\] contains NaN or inf"),
    ({"factors": [np.ones((2, 2))] * 3}, 7, TypeError, r"weights\['factors\[0\]'\] must have an integer dtype"),
    ({"factors": [np.full((2, 2), "a")] * 3}, None, TypeError, r"weights\['factors\[0\]'\] must have a real numeric"),
    ({"factors": [np.ones((2, 2), dtype=complex)] * 3}, None, TypeError, r"must have a real numeric dtype"),
    ({"factors": [np.ones((2, 2), dtype=int)] * 3}, 91, ValueError, "p must be prime"),
])
def test_set_weights_rejects_bad_weights(weights, p, exc, msg):
    with pytest.raises(exc, match=msg):
        SumOfProducts(3, 2, 2).set_weights(weights, p=p)


def test_docstrings_of_networks_and_bounds_hold_no_control_characters():
    # A "\b" in a non-raw docstring becomes a backspace, and the math (":math:`R\binom...`") is lost.
    import inspect
    import re

    import tensorlib.bounds
    import tensorlib.networks

    found = []
    for package in (tensorlib.networks, tensorlib.bounds):
        for name in package.__all__:
            obj = getattr(package, name)
            members = [obj] + ([m for m in vars(obj).values() if callable(m) or isinstance(m, property)]
                               if inspect.isclass(obj) else [])
            for member in members:
                doc = getattr(member, "__doc__", None) or ""
                if re.search(r"[\x00-\x08\x0b-\x1f]", doc):
                    found.append(f"{name}.{getattr(member, '__name__', '?')}")
    assert found == []
