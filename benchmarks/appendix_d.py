"""The Appendix D simulation of Levine, Yakira, Cohen & Shashua (ICLR 2018), at a larger scale than chapter 4.

Deep ConvACs with N = 16 inputs of dimension M = 2, size-2 pooling, and widths r_0, ..., r_3 an
arrangement of four distinct primes from {2, 3, 5, 7, 11, 13} (all 360 arrangements). For each
arrangement, one network with random integer weights and ``--partitions`` balanced partitions
(I holds input 0; drawn without replacement from the 6435 such partitions). For every pair:

* the rank of the coefficient tensor's matricization over GF(p) (the grid tensor on the basis
  templates e_1, e_2 is the coefficient tensor), a certified lower bound on the separation rank of
  the integer network;
* the min-cut of the network's tensor network (``bounds.mincut``, Claim 1: an upper bound for
  every weight setting);
* Theorem 2's lower bound (``bounds.mincut_lower_bound``: rank >= it for almost all weights).

A pair whose rank equals the min-cut is certified. A pair whose rank falls below the min-cut (a
*deviation*) is rechecked with ``tensorlib.separation_rank`` (sampled grid matrices, confirmed with
a second prime) and with two further weight draws; the JSON records all of it.

Run from the repository root (about 18 minutes on a busy 2-core machine at the default 100
partitions; the time is recorded in the JSON)::

    python benchmarks/appendix_d.py                  # writes tensorlib/results/appendix_d.json
    python benchmarks/appendix_d.py --partitions 10 --output -     # a quick look, printed

Chapter 4 reads ``tensorlib/results/appendix_d.json`` (shipped with the package); the times in it are wall clock on the machine
that wrote it, everything else is deterministic (seeded).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
N_INPUTS, INPUT_DIM = 16, 2
PRIMES = (2, 3, 5, 7, 11, 13)
EXTRA_DRAWS = 2


def balanced_partitions(n: int):
    """Every balanced partition (I, J) of range(n) with 0 in I, in lexicographic order of I."""
    for rest in itertools.combinations(range(1, n), n // 2 - 1):
        I = (0,) + rest
        yield I, tuple(i for i in range(n) if i not in I)


def run(n_partitions: int, seed: int) -> dict:
    import tensorlib as tl
    from tensorlib import bounds
    from tensorlib.networks import DeepConvAC

    start = time.perf_counter()
    arrangements = list(itertools.permutations(PRIMES, 4))
    partitions = list(balanced_partitions(N_INPUTS))
    rng = np.random.default_rng(seed)
    basis = np.eye(INPUT_DIM, dtype=np.int64)
    pairs = certified = lower_tight = 0
    deviations = []
    for widths in arrangements:
        weight_seed = int(rng.integers(2**31))
        chosen = rng.choice(len(partitions), size=n_partitions, replace=False)
        net = DeepConvAC(N_INPUTS, INPUT_DIM, list(widths), seed=weight_seed)
        A = tl.grid_tensor(net, basis, N_INPUTS, p=tl.DEFAULT_PRIME)  # the coefficient tensor mod p
        for index in sorted(int(c) for c in chosen):
            partition = partitions[index]
            rank = tl.exact_rank(tl.matricize(A, partition[0]))
            cut = bounds.mincut(net, partition)
            lower = bounds.mincut_lower_bound(net, partition)
            if not lower <= rank <= cut:  # Theorem 2 (almost all weights) and Claim 1 (all weights)
                raise AssertionError(f"widths {widths}, partition {partition}: rank {rank} outside [{lower}, {cut}]")
            pairs += 1
            certified += rank == cut
            lower_tight += lower == cut
            if rank < cut:
                result = tl.separation_rank(net, partition)
                draws = [tl.separation_rank(DeepConvAC(N_INPUTS, INPUT_DIM, list(widths), seed=weight_seed + k),
                                            partition) for k in range(1, EXTRA_DRAWS + 1)]
                deviations.append({
                    "widths": list(widths), "weight_seed": weight_seed, "partition": [list(partition[0]),
                                                                                      list(partition[1])],
                    "rank": rank, "mincut": cut, "theorem2_lower": lower,
                    "relative_deviation": round(1 - rank / cut, 6),
                    "separation_rank": result.rank, "status": result.status,
                    "other_draws": [{"weight_seed": weight_seed + k, "rank": d.rank, "status": d.status}
                                    for k, d in enumerate(draws, start=1)],
                })
    return {
        "command": "python benchmarks/appendix_d.py" + ("" if n_partitions == 100 and seed == 2018 else
                                                        f" --partitions {n_partitions} --seed {seed}"),
        "n_inputs": N_INPUTS, "input_dim": INPUT_DIM, "primes": list(PRIMES),
        "arrangements": len(arrangements), "balanced_partitions": len(partitions),
        "partitions_per_arrangement": n_partitions, "seed": seed, "prime": tl.DEFAULT_PRIME,
        "pairs": pairs, "certified": certified, "deviations": len(deviations),
        "theorem2_lower_equals_mincut": lower_tight,
        "max_relative_deviation": max((d["relative_deviation"] for d in deviations), default=0.0),
        "deviating_arrangements": len({tuple(d["widths"]) for d in deviations}),
        "deviation_list": deviations,
        "seconds": round(time.perf_counter() - start, 1),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partitions", type=int, default=100,
                        help="balanced partitions per arrangement (at most 6435; default 100)")
    parser.add_argument("--seed", type=int, default=2018, help="seed of the weights and partitions")
    parser.add_argument("--output", default=str(HERE.parent / "tensorlib" / "results" / "appendix_d.json"),
                        help="where to write the JSON ('-' prints it)")
    args = parser.parse_args(argv)
    if not 1 <= args.partitions <= math.comb(N_INPUTS - 1, N_INPUTS // 2 - 1):
        parser.error(f"--partitions must be between 1 and {math.comb(N_INPUTS - 1, N_INPUTS // 2 - 1)}")
    record = run(args.partitions, args.seed)
    text = json.dumps(record, indent=1) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"{record['pairs']} pairs, {record['deviations']} deviations, {record['seconds']} s -> {args.output}")


if __name__ == "__main__":
    main()
