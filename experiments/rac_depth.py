"""Rule 3, depth for long-term memory (Levine, Sharir, Ziv & Shashua): deep RACs for Start-End dependencies.

Recurrent arithmetic circuits on binary sequences of length T in {8, 16, 24} (M = 2): a shallow RAC
of width R = 8, a depth-2 RAC of the same width, and a depth-2 RAC of width 5, which has about as
many weights as the shallow one (90 against 88). The task: each step of the first half agrees with
the step T/2 later (every pair is split by the Start-End partition); a negative sequence breaks 1
or 2 pairs. Six seeds.

Training: Adam with learning rate 0.003 for 150 epochs, minibatches of 64
(tensorlib.training.train). These settings were chosen in preliminary runs with seeds 100 to 103
on the deep RACs (the networks the rule predicts to win), then used unchanged for every network.

Run from the repository root (about 4 minutes on 2 cores):

    .venv/bin/python experiments/rac_depth.py

It rewrites tensorlib/training/results/rac_depth.json, which Chapter 7 reads.
"""

import time

from tensorlib.networks import RAC
from tensorlib.training import (PairTask, offset_pairs, parameter_count, run_trials, summary_lines, task_config,
                                write_results)

M = 2
LENGTHS = (8, 16, 24)
DESIGNS = {"shallow, R=8": (8, 1), "deep, R=8": (8, 2), "deep, R=5": (5, 2)}     # name: (hidden, depth)
MAX_DEFECTS = 2
SEEDS = tuple(range(6))
TRAINING = {"n_train": 5000, "n_test": 2000, "epochs": 150, "batch_size": 64, "learning_rate": 0.003}


def task(length):
    return PairTask(f"start-end, T={length}", length, tuple(offset_pairs(length, length // 2)), M, MAX_DEFECTS)


def networks(length):
    return {name: RAC(length, M, hidden, depth) for name, (hidden, depth) in DESIGNS.items()}


def main():
    start = time.perf_counter()
    records = []
    for length in LENGTHS:
        records += run_trials(task(length), networks(length), SEEDS, extra={"length": length}, **TRAINING)
    config = {"input_dim": M, "lengths": list(LENGTHS), "designs": {k: list(v) for k, v in DESIGNS.items()},
              "seeds": list(SEEDS), "training": TRAINING, "tasks": [task_config(task(T)) for T in LENGTHS],
              "parameters": {name: parameter_count(RAC(8, M, h, d)) for name, (h, d) in DESIGNS.items()}}
    path = write_results("rac_depth", config, records)
    print("\n".join(summary_lines(records, ("length", "network"))))
    print(f"wrote {path} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
