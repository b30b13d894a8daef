"""Rule 1, pooling geometry (Cohen & Shashua, ICLR 2017): square pooling for local structure, mirror for symmetry.

Deep ConvACs on 8 x 8 binary images (N = 64 pixels, M = 2, pooling windows of 4, L = 3 layers,
unshared weights), with square (2x2) or mirror pooling and all widths r in {4, 8}, and a shallow
ConvAC with about as many weights as the deep ones at r = 8. Two pair tasks: pixel (i, 2k) agrees
with its right-hand neighbour (i, 2k+1) ("local"), or pixel (i, j) with its mirror image (i, 7-j)
("symmetry"); a negative image breaks 1 to 4 pairs. Ten seeds; each seed fixes the data, the
initial weights and the minibatch order.

Training: Adam with learning rate 0.003 for 40 epochs, minibatches of 64 (tensorlib.training.train).
These settings were chosen in preliminary runs with seeds 100 to 104 on the network the rule
predicts to win each task, then used unchanged for every network.

Run from the repository root (about 3 minutes on 2 cores):

    .venv/bin/python experiments/pooling_geometry.py

It rewrites tensorlib/training/results/pooling_geometry.json, which Chapter 7 reads.
"""

import time

from tensorlib.networks import DeepConvAC, ShallowConvAC
from tensorlib.training import (PairTask, mirror_order, mirror_pairs, neighbour_pairs, parameter_count, run_trials,
                                square_order, summary_lines, task_config, write_results)

SIDE = 8
N, M = SIDE * SIDE, 2
WIDTHS = (4, 8)
SHALLOW_CHANNELS = 18          # 64*2*18 + 18 = 2322 weights, against 2312 for the deep networks at r = 8
MAX_DEFECTS = 4
SEEDS = tuple(range(10))
TRAINING = {"n_train": 5000, "n_test": 2000, "epochs": 40, "batch_size": 64, "learning_rate": 0.003}


def tasks():
    return [PairTask("local", N, tuple(neighbour_pairs(SIDE)), M, MAX_DEFECTS),
            PairTask("symmetry", N, tuple(mirror_pairs(SIDE)), M, MAX_DEFECTS)]


def networks():
    nets = {}
    for r in WIDTHS:
        nets[f"square, r={r}"] = DeepConvAC(N, M, [r] * 3, window=4, order=square_order(SIDE))
        nets[f"mirror, r={r}"] = DeepConvAC(N, M, [r] * 3, window=4, order=mirror_order(SIDE))
    nets[f"shallow, Z={SHALLOW_CHANNELS}"] = ShallowConvAC(N, M, SHALLOW_CHANNELS)
    return nets


def main():
    start = time.perf_counter()
    nets = networks()
    records = []
    for task in tasks():
        records += run_trials(task, nets, SEEDS, **TRAINING)
    config = {"side": SIDE, "n_inputs": N, "input_dim": M, "widths": list(WIDTHS), "shallow_channels": SHALLOW_CHANNELS,
              "seeds": list(SEEDS), "training": TRAINING, "tasks": [task_config(t) for t in tasks()],
              "networks": {name: repr(net) for name, net in nets.items()},
              "parameters": {name: parameter_count(net) for name, net in nets.items()}}
    path = write_results("pooling_geometry", config, records)
    print("\n".join(summary_lines(records)))
    print(f"wrote {path} in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
