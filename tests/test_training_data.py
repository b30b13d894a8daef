"""tensorlib.training.data: pooling orders of images, pair tasks (deterministic, with the intended structure)."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest

import tensorlib as tl
from tensorlib.training import data


def _coords(order, side):
    return [divmod(k, side) for k in order]


# -- pooling orders ------------------------------------------------------------------------------

@pytest.mark.parametrize("side", [2, 4, 8, 16])
def test_square_order_pools_squares_at_every_level(side):
    order = data.square_order(side)
    assert sorted(order) == list(range(side * side))
    coords = _coords(order, side)
    size = 4
    while size <= side * side:
        block = int(round(size ** 0.5))
        for start in range(0, side * side, size):
            rows = {i for i, _ in coords[start:start + size]}
            cols = {j for _, j in coords[start:start + size]}
            # a window of 4**l tree positions is an aligned 2**l x 2**l square
            assert len(rows) == len(cols) == block
            assert min(rows) % block == 0 and min(cols) % block == 0
        size *= 4


@pytest.mark.parametrize("side", [4, 8, 16])
def test_mirror_order_first_windows_are_closed_under_both_reflections(side):
    order = data.mirror_order(side)
    assert sorted(order) == list(range(side * side))
    coords = _coords(order, side)
    for start in range(0, side * side, 4):
        window = set(coords[start:start + 4])
        assert window == {(side - 1 - i, j) for i, j in window} == {(i, side - 1 - j) for i, j in window}


def test_orders_of_a_4x4_image_match_chapter_4():
    # Chapter 4 writes both orders out for a 4 x 4 image; an independent transcription of its cells.
    def pixel(i, j):
        return 4 * i + j
    square = [pixel(2 * bi + di, 2 * bj + dj) for bi in range(2) for bj in range(2) for di in range(2) for dj in range(2)]
    mirror = [pixel(a, b) for i in range(2) for j in range(2)
              for a, b in ((i, j), (i, 3 - j), (3 - i, j), (3 - i, 3 - j))]
    assert data.square_order(4) == square
    assert data.mirror_order(4) == mirror


@pytest.mark.parametrize("bad", [3, 6, 1])
def test_orders_refuse_a_side_that_is_not_a_power_of_two(bad):
    with pytest.raises(ValueError, match="side"):
        data.square_order(bad)
    with pytest.raises(ValueError, match="side"):
        data.mirror_pairs(bad)


# -- pairs ---------------------------------------------------------------------------------------

def test_neighbour_and_mirror_pairs_of_an_8x8_image():
    neighbours = data.neighbour_pairs(8)
    mirrors = data.mirror_pairs(8)
    assert len(neighbours) == len(mirrors) == 32
    for pairs in (neighbours, mirrors):
        flat = [p for pair in pairs for p in pair]
        assert sorted(flat) == list(range(64))                 # disjoint, covering the image
    assert all(b == a + 1 and a % 2 == 0 for a, b in neighbours)
    assert all(a // 8 == b // 8 and a % 8 + b % 8 == 7 for a, b in mirrors)


def test_offset_pairs():
    assert data.offset_pairs(8, 4) == [(0, 4), (1, 5), (2, 6), (3, 7)]
    assert data.offset_pairs(8, 2) == [(0, 2), (1, 3), (4, 6), (5, 7)]
    with pytest.raises(ValueError, match="multiple"):
        data.offset_pairs(10, 4)


# -- pair tasks ----------------------------------------------------------------------------------

def test_pair_task_is_deterministic_in_its_seed():
    pairs = data.offset_pairs(12, 6)
    a = data.pair_task(200, 12, pairs, alphabet=3, max_defects=2, seed=5)
    b = data.pair_task(200, 12, pairs, alphabet=3, max_defects=2, seed=5)
    c = data.pair_task(200, 12, pairs, alphabet=3, max_defects=2, seed=6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("alphabet,max_defects", [(2, 1), (2, 3), (4, 2)])
def test_pair_task_labels_count_the_broken_pairs(alphabet, max_defects):
    pairs = data.offset_pairs(16, 4)[:6]
    symbols, labels = data.pair_task(1001, 16, pairs, alphabet=alphabet, max_defects=max_defects, seed=0)
    assert symbols.shape == (1001, 16) and symbols.min() >= 0 and symbols.max() < alphabet
    assert np.sum(labels == 1) == 500 and np.sum(labels == -1) == 501
    broken = np.sum([symbols[:, i] != symbols[:, j] for i, j in pairs], axis=0)
    assert np.all(broken[labels == 1] == 0)
    assert set(broken[labels == -1]) == set(range(1, max_defects + 1))


def test_pair_task_keeps_every_symbol_uniform_in_both_classes():
    # The information is in the pairs only: each position alone is uniform given the label.
    symbols, labels = data.pair_task(40000, 8, data.offset_pairs(8, 4), max_defects=2, seed=1)
    for label in (1, -1):
        frequency = symbols[labels == label].mean(axis=0)
        assert np.all(np.abs(frequency - 0.5) < 0.02)


def test_pair_task_validation():
    with pytest.raises(ValueError, match="disjoint"):
        data.pair_task(10, 4, [(0, 1), (1, 2)])
    with pytest.raises(ValueError, match="range"):
        data.pair_task(10, 4, [(0, 4)])
    with pytest.raises(TypeError, match="pairs"):
        data.pair_task(10, 4, [0, 1])
    with pytest.raises(ValueError, match="alphabet"):
        data.pair_task(10, 4, [(0, 1)], alphabet=1)


def test_one_hot():
    X = data.one_hot(np.array([[0, 2], [1, 1]]), 3)
    assert X.shape == (2, 2, 3)
    assert np.array_equal(X[0, 1], [0.0, 0.0, 1.0]) and np.array_equal(X[1, 0], [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="range"):
        data.one_hot(np.array([[0, 3]]), 3)
    with pytest.raises(ValueError, match="integer"):
        data.one_hot(np.array([0.0, 1.0]), 2)


# -- the rank of the label ------------------------------------------------------------------------

@pytest.mark.parametrize("alphabet", [2, 3])
def test_pair_indicator_rank_matches_the_exact_rank_of_the_indicator_tensor(alphabet):
    n = 6
    pairs = [(0, 3), (1, 2), (4, 5)]
    # the indicator prod_k [s_i = s_j] as a dense tensor, built independently of the formula
    grid = np.array([all(s[i] == s[j] for i, j in pairs) for s in itertools.product(range(alphabet), repeat=n)],
                    dtype=np.int64).reshape((alphabet,) * n)
    for I in [(0, 1, 2), (0, 1), (0, 4), (3,), (0, 1, 4)]:
        J = tuple(k for k in range(n) if k not in I)
        rank = tl.exact_rank(tl.matricize(grid, I))
        assert data.pair_indicator_rank(pairs, (I, J), alphabet) == rank


def test_importing_tensorlib_and_the_data_generators_does_not_import_jax():
    # tensorlib itself never needs JAX, and tensorlib.training imports it only when a network or
    # the training loop is first used (run in a fresh interpreter: this test session has JAX loaded).
    code = ("import sys, tensorlib, tensorlib.training; tensorlib.training.pair_task(4, 2, [(0, 1)]); "
            "print('jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
