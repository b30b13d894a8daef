"""tensorlib.training: the JAX networks equal tensorlib's, weights convert both ways, training is seeded."""

from __future__ import annotations

from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tensorlib as tl
from tensorlib.networks import RAC, DeepConvAC, ShallowConvAC
from tensorlib.training import (PairTask, accuracy, data, exact_residues, forward, init_params, load_results,
                                paired_difference, parameter_count, params_from_network, run_trials, summarize,
                                summary_lines, task_config, to_network, train, write_results)

P = tl.DEFAULT_PRIME

NETWORKS = {
    "deep, window 2": DeepConvAC(8, 2, [3, 4, 2], seed=1),
    "deep, shared": DeepConvAC(8, 3, [2, 3, 4], shared=True, seed=2),
    "deep, 2-D mirror": DeepConvAC(16, 2, [3, 4], window=4, order=data.mirror_order(4), seed=3),
    "deep, windows (2, 4)": DeepConvAC(8, 2, [3, 2], window=(2, 4), seed=4),
    "shallow": ShallowConvAC(6, 3, 4, seed=5),
    "shallow, shared": ShallowConvAC(6, 2, 5, shared=True, seed=6),
    "RAC, depth 1": RAC(6, 2, 3, seed=7),
    "RAC, depth 2": RAC(6, 3, 3, depth=2, seed=8),
    "RAC, depth 3": RAC(5, 2, 2, depth=3, seed=9),
}


def _inputs(network, batch=7, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, network.n_inputs, network.input_dim))


@pytest.mark.parametrize("name", NETWORKS)
def test_jax_forward_equals_tensorlib_evaluate_in_float64(name):
    network = NETWORKS[name]
    X = _inputs(network)
    with jax.enable_x64(True):
        f, log_scale = forward(network, params_from_network(network, dtype=jnp.float64), X)
    np.testing.assert_allclose(np.asarray(f), network.evaluate(X), rtol=1e-11, atol=0)
    assert np.all(np.asarray(log_scale) == 0)


@pytest.mark.parametrize("name", NETWORKS)
def test_normalized_forward_is_the_network_times_a_positive_factor(name):
    network = NETWORKS[name]
    X = _inputs(network, seed=1)
    with jax.enable_x64(True):
        g, log_scale = forward(network, params_from_network(network, dtype=jnp.float64), X, normalize=True)
    f = network.evaluate(X)
    np.testing.assert_allclose(np.asarray(g) * np.exp(-np.asarray(log_scale)), f, rtol=1e-10, atol=0)
    assert np.array_equal(np.sign(np.asarray(g)), np.sign(f))


@pytest.mark.parametrize("name", NETWORKS)
def test_random_params_convert_to_a_tensorlib_network_with_the_same_outputs(name):
    network = NETWORKS[name]
    params = init_params(network, seed=3)
    converted = to_network(network, params)
    X = _inputs(network, seed=2)
    with jax.enable_x64(True):
        f, _ = forward(network, jax.tree_util.tree_map(lambda w: jnp.asarray(w, jnp.float64), params), X)
    np.testing.assert_allclose(converted.evaluate(X), np.asarray(f), rtol=1e-11, atol=0)
    # and back: the converted network's weights are the params, array for array
    back = params_from_network(converted)
    for a, b in zip(jax.tree_util.tree_leaves(back), jax.tree_util.tree_leaves(params)):
        assert np.array_equal(np.asarray(a), np.asarray(b))


def test_to_network_leaves_the_original_network_unchanged():
    network = DeepConvAC(8, 2, [2, 2, 2], seed=0)
    before = network.evaluate(_inputs(network))
    to_network(network, init_params(network, seed=1))
    assert np.array_equal(network.evaluate(_inputs(network)), before)


def test_init_params_is_seeded_and_shaped_like_the_weights():
    network = RAC(6, 2, 3, depth=2)
    a, b, c = init_params(network, 0), init_params(network, 0), init_params(network, 1)
    shapes = jax.tree_util.tree_map(np.shape, network.weights())
    assert jax.tree_util.tree_map(np.shape, a) == shapes
    assert all(np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))
    assert not np.array_equal(a["w_O"], c["w_O"])


def test_exact_residues_are_the_power_of_two_multiple_mod_p():
    rng = np.random.default_rng(0)
    A = np.concatenate([rng.standard_normal(20) * 10.0 ** rng.integers(-6, 4, 20), [0.0, -0.75]]).astype(np.float32)
    residues = exact_residues(A, P)
    fractions = [Fraction(float(a)) for a in A]
    scale = max(f.denominator for f in fractions)          # a power of two: the smallest integer multiple
    for f, r in zip(fractions, residues):
        integer = f * scale
        assert integer.denominator == 1 and int(integer) % P == int(r)


def test_exact_weights_of_a_trained_network_certify_its_rank():
    # A trained multilinear network: its GF(p) rank (exact weights) equals its float64 rank, and is
    # at most the min-cut of the architecture.
    network = DeepConvAC(8, 2, [2, 3, 2], seed=0)
    task = PairTask("pairs", 8, tuple(data.offset_pairs(8, 1)), max_defects=2)
    X, y = task.sample(600, seed=0)
    result = train(network, X[:500], y[:500], X[500:], y[500:], epochs=3, seed=0)
    trained = to_network(network, result.params, primes=[P])
    partition = tl.odd_even(8)
    exact = tl.exact_rank(tl.matricize(tl.grid_tensor(trained, np.eye(2, dtype=np.int64), 8, p=P), partition[0]), P)
    grid = tl.grid_tensor(trained, np.eye(2), 8)
    assert exact == tl.numerical_rank(tl.matricize(grid, partition[0]))
    assert exact <= tl.bounds.mincut(network, partition)


def test_training_is_deterministic_and_its_accuracy_is_the_sign_of_the_converted_network():
    network = DeepConvAC(8, 2, [3, 3, 2], seed=0)
    task = PairTask("local", 8, tuple(data.offset_pairs(8, 1)), max_defects=2)
    X, y = task.sample(700, seed=1)
    first = train(network, X[:500], y[:500], X[500:], y[500:], epochs=4, seed=2)
    second = train(network, X[:500], y[:500], X[500:], y[500:], epochs=4, seed=2)
    for a, b in zip(jax.tree_util.tree_leaves(first.params), jax.tree_util.tree_leaves(second.params)):
        assert np.array_equal(a, b)
    assert first.test_curve == second.test_curve and len(first.test_curve) == 4
    converted = to_network(network, first.params)
    predicted = np.sign(converted.evaluate(X[500:]))
    assert first.test_accuracy == pytest.approx(np.mean(predicted == y[500:]), abs=1e-12)
    assert accuracy(network, first.params, X[500:], y[500:]) == first.test_accuracy


def test_training_learns_a_local_pair_task():
    # A sanity check with a wide margin over chance: two local pairs, a deep ConvAC that pools them.
    network = DeepConvAC(4, 2, [4, 4], seed=0)
    task = PairTask("two pairs", 4, ((0, 1), (2, 3)), max_defects=2)
    X, y = task.sample(1200, seed=0)
    result = train(network, X[:1000], y[:1000], X[1000:], y[1000:], epochs=20, seed=0)
    assert result.test_accuracy > 0.9


def test_run_trials_and_the_paired_statistics():
    task = PairTask("local", 8, tuple(data.offset_pairs(8, 1)), max_defects=2)
    networks = {"a": DeepConvAC(8, 2, [3, 3, 2]), "b": DeepConvAC(8, 2, [2, 2, 2])}
    records = run_trials(task, networks, [0, 1, 2], n_train=256, n_test=128, epochs=2, extra={"note": 1})
    assert [(r["network"], r["seed"]) for r in records] == [(n, s) for s in range(3) for n in "ab"]
    assert all(r["task"] == "local" and r["note"] == 1 and len(r["test_curve"]) == 2 for r in records)
    summary = summarize(records, network="a")
    values = [r["test_accuracy"] for r in records if r["network"] == "a"]
    assert summary["n"] == 3 and summary["mean"] == pytest.approx(np.mean(values))
    assert summary["sem"] == pytest.approx(np.std(values, ddof=1) / np.sqrt(3))
    diff = paired_difference(records, "a", "b")
    d = [records[2 * s]["test_accuracy"] - records[2 * s + 1]["test_accuracy"] for s in range(3)]
    assert diff["mean"] == pytest.approx(np.mean(d)) and diff["sem"] == pytest.approx(np.std(d, ddof=1) / np.sqrt(3))


def test_bad_arguments_are_refused():
    network = DeepConvAC(8, 2, [2, 2, 2])
    with pytest.raises(ValueError, match="X must have shape"):
        forward(network, params_from_network(network), np.zeros((2, 8, 3)))
    with pytest.raises(TypeError, match="network"):
        init_params("not a network")
    X, y = PairTask("t", 8, ((0, 1),)).sample(20, seed=0)
    with pytest.raises(ValueError, match="batch_size"):
        train(network, X, y, X, y, batch_size=64)
    with pytest.raises(ValueError, match="learning_rate"):
        train(network, X, y, X, y, batch_size=4, learning_rate=0.0)
    with pytest.raises(ValueError, match="finite"):
        exact_residues(np.array([np.nan]), P)


def test_results_files_round_trip_and_the_summary(tmp_path):
    task = PairTask("local", 8, tuple(data.offset_pairs(8, 1)), max_defects=2)
    networks = {"a": DeepConvAC(8, 2, [2, 2, 2])}
    records = run_trials(task, networks, [0, 1], n_train=128, n_test=64, epochs=1, keep_params=True)
    assert all(set(r["params"]) == {"conv", "output"} for r in records)
    plain = [{k: v for k, v in r.items() if k != "params"} for r in records]
    path = write_results("demo", {"task": task_config(task)}, plain, directory=tmp_path)
    loaded = load_results("demo", directory=tmp_path)
    assert path == tmp_path / "demo.json" and loaded["records"] == plain
    assert loaded["config"]["task"]["pairs"] == [list(p) for p in task.pairs]
    assert set(loaded["versions"]) == {"python", "numpy", "jax", "optax"}
    (line,) = summary_lines(plain)
    assert line.startswith("task=local  network=a") and "(n=2)" in line
    with pytest.raises(FileNotFoundError, match="experiments/missing.py"):
        load_results("missing", directory=tmp_path)


def test_parameter_count_is_the_total_size_of_the_weights():
    # unshared window-2 ConvAC: N M r_0 + sum_l (N / 2^l) r_(l-1) r_l + r_(L-1) (COLT 2016, section 2)
    assert parameter_count(DeepConvAC(16, 2, [6, 6, 4, 4])) == 16 * 2 * 6 + 8 * 6 * 6 + 4 * 6 * 4 + 2 * 4 * 4 + 4
    # RAC: L R^2 (recurrent) + R M + (L - 1) R^2 (input) + R (output)
    assert parameter_count(RAC(8, 2, 5, depth=2)) == 2 * 25 + 5 * 2 + 25 + 5
