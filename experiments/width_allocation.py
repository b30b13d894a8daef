"""Rule 2, width allocation by min-cut (Levine et al., ICLR 2018): wide base for local, wide tip for global correlations.

The two deep ConvACs of Chapter 4 (N = 16 inputs, M = 2, pooling windows of 2, L = 4, unshared
weights), with the same number of weights: wide base, widths [6, 6, 4, 4], and wide tip,
[3, 3, 12, 12]. Two pair tasks on binary strings: each position agrees with the one 2 places away
inside blocks of 4 ("local", correlations at distance 2), or with the one 8 places away ("global",
every pair split by the left/right partition); a negative string breaks 1 or 2 pairs. Ten seeds.

Training: Adam with learning rate 0.003 for 150 epochs, minibatches of 64
(tensorlib.training.train). These settings were chosen in preliminary runs with seeds 100 to 104
on the network the rule predicts to win each task, then used unchanged for every network.

Run from the repository root (about 1 minute on 2 cores):

    .venv/bin/python experiments/width_allocation.py

It rewrites tensorlib/training/results/width_allocation.json, which Chapter 7 reads.
"""

import time

from tensorlib.networks import DeepConvAC
from tensorlib.training import (PairTask, offset_pairs, parameter_count, run_trials, summary_lines, task_config,
                                write_results)

N, M = 16, 2
DESIGNS = {"wide base": [6, 6, 4, 4], "wide tip": [3, 3, 12, 12]}
DISTANCES = {"local": 2, "global": 8}
MAX_DEFECTS = 2
SEEDS = tuple(range(10))
TRAINING = {"n_train": 5000, "n_test": 2000, "epochs": 150, "batch_size": 64, "learning_rate": 0.003}


def tasks():
    return [PairTask(name, N, tuple(offset_pairs(N, d)), M, MAX_DEFECTS) for name, d in DISTANCES.items()]


def networks():
    return {name: DeepConvAC(N, M, widths) for name, widths in DESIGNS.items()}


def main():
    start = time.perf_counter()
    nets = networks()
    records = []
    for task in tasks():
        records += run_trials(task, nets, SEEDS, **TRAINING)
    config = {"n_inputs": N, "input_dim": M, "designs": DESIGNS, "distances": DISTANCES, "seeds": list(SEEDS),
              "training": TRAINING, "tasks": [task_config(t) for t in tasks()],
              "parameters": {name: parameter_count(net) for name, net in nets.items()}}
    path = write_results("width_allocation", config, records)
    print("\n".join(summary_lines(records)))
    print(f"wrote {path} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
