"""Time one network's fast sampled-grid-matrix path (``grid_matrix_block``), in GF(p) or float64.

Usage: ``python benchmarks/bench_fast_paths.py CASE [--float] [--repeat R] [--prime P]`` with CASE one of
``convac``, ``shallow``, ``rac``, ``attention``, ``simple``. Prints the best of R timings. The
script uses only the public API that every version of tensorlib has, so it can time two checkouts
against each other (run it with ``PYTHONPATH`` pointing at each).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tensorlib as tl
from tensorlib.networks import RAC, DeepConvAC, SelfAttention, ShallowConvAC, SumOfProducts

P = 2**31 - 1  # the same prime for every version compared


def case(name: str):
    """(model, partition, samples per side) of each case."""
    if name == "convac":
        return DeepConvAC(16, 3, 3, seed=0), tl.odd_even(16), 2048
    if name == "shallow":
        return ShallowConvAC(16, 3, 16, seed=0), tl.odd_even(16), 2048
    if name == "rac":
        return RAC(8, 3, 3, depth=3, seed=0), tl.start_end(8), 1024
    if name == "attention":
        return SelfAttention(4, 3, 3, seed=0), ((0, 1), (2, 3)), 1024
    if name == "simple":
        return SumOfProducts(12, 3, 20, seed=0), tl.odd_even(12), 512
    raise SystemExit(f"unknown case {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case")
    parser.add_argument("--float", action="store_true", help="float64 instead of GF(p)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--prime", type=int, default=P, help=f"the prime of the GF(p) runs (default {P})")
    args = parser.parse_args()
    model, (I, J), K = case(args.case)
    rng = np.random.default_rng(0)
    p = None if args.float else args.prime
    draw = (lambda shape: rng.standard_normal(shape)) if args.float else (lambda shape: rng.integers(0, p, shape))
    xr, xc = draw((K, len(I), model.input_dim)), draw((K, len(J), model.input_dim))
    block = getattr(model, "grid_matrix_block", None)
    best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        if block is not None:
            F = block(xr, xc, (I, J), p=p)
        else:  # no fast path: evaluate the model on a batch of K inputs
            X = np.concatenate([xr, xc], axis=1)
            F = model.evaluate(X, p=p)
        best = min(best, time.perf_counter() - t0)
    checksum = int(np.asarray(F).sum() % 1000003) if p else float(np.asarray(F).sum())
    print(f"{args.case} {'float64' if args.float else 'GF(p)'} K={K}: {best:.3f} s (checksum {checksum})")


if __name__ == "__main__":
    main()
