"""Benchmarks of tensorlib's exact separation-rank engine.

Run from the repository root:

    python benchmarks/run_benchmarks.py            # all cases, writes benchmarks/results.md
    python benchmarks/run_benchmarks.py --book     # also times each chapter and the full book build
    python benchmarks/run_benchmarks.py --case convac_6561

Each case runs in its own subprocess, so its peak RSS (``ru_maxrss``) is its own. Times are wall
clock on whatever machine runs this; compare ratios within one run (these machines are noisy).
The "flint floor" of a case is the time python-flint's ``nmod_mat.rank`` takes on a random matrix
of the same size and the same prime, matrix construction excluded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.md"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _flint_floor(size: int, p: int) -> float:
    import flint

    a = np.random.default_rng(1).integers(0, p, size=(size, size))
    mat = flint.nmod_mat(a.tolist(), p)
    t0 = time.perf_counter()
    mat.rank()
    return time.perf_counter() - t0


def _convac_6561():
    import tensorlib as tl
    from tensorlib.networks import DeepConvAC

    return (DeepConvAC(16, 3, 3, seed=0), tl.odd_even(16),
            "deep ConvAC N=16, M=r=3, odd/even", "min(r0, M)^(N/2) = 3^8 = 6561 (COLT 2016, Thm 1)", {})


def _attention_w3_d3():
    import tensorlib as tl
    from tensorlib.networks import SelfAttention

    bound = tl.bounds.self_attention_rank_upper_bound(3, 3)
    return (SelfAttention(4, 3, 3, seed=0), tl.balanced(4, seed=0),
            "self-attention width 3, depth 3, 4 tokens, balanced",
            f"saturated, <= {bound} (our upper bound; max_rank = bound + 1)", {"max_rank": bound + 1})


def _rac_d3():
    import tensorlib as tl
    from tensorlib.networks import RAC

    return (RAC(8, 3, 3, depth=3, seed=0), tl.start_end(8),
            "deep RAC depth 3, M=R=3, T=8, Start-End", "saturated, below the model's proven upper bound", {})


SEPARATION_CASES = {"convac_6561": _convac_6561, "attention_w3_d3": _attention_w3_d3, "rac_d3": _rac_d3}


def child_total(name: str) -> dict:
    """separation_rank alone: its wall time and the process's peak RSS."""
    import tensorlib as tl

    model, partition, label, expected, options = SEPARATION_CASES[name]()
    steps = []
    t0 = time.perf_counter()
    result = tl.separation_rank(model, partition, progress=lambda K, r, s: steps.append(K), **options)
    return {"case": label, "expected": expected, "K": result.samples, "rank": result.rank, "status": result.status,
            "schedule": steps, "total_s": time.perf_counter() - t0, "prime": result.prime}


def child_split(name: str, K: int) -> dict:
    """The final K x K matrix alone: assembly time, then exact rank time."""
    import tensorlib as tl

    model, partition, _, _, _ = SEPARATION_CASES[name]()
    t0 = time.perf_counter()
    F = tl.sampled_grid_matrix(model, partition, K)
    assembly = time.perf_counter() - t0
    t0 = time.perf_counter()
    tl.exact_rank(F)
    return {"assembly_s": assembly, "rank_s": time.perf_counter() - t0}


def child_floor(K: int, p: int) -> dict:
    return {"flint_floor_s": _flint_floor(K, p)}


def case_rank_routines() -> dict:
    """exact_rank against numerical_rank on random integer matrices (the foundation issue's figures)."""
    import tensorlib as tl

    rows = []
    for n in (1000, 2000, 4000):
        a = np.random.default_rng(n).integers(0, 1000, size=(n, n))
        t0 = time.perf_counter()
        r_exact = tl.exact_rank(a)
        t_exact = time.perf_counter() - t0
        t0 = time.perf_counter()
        r_float = tl.numerical_rank(a)
        t_float = time.perf_counter() - t0
        rows.append({"n": n, "exact_rank": r_exact, "exact_s": t_exact, "numerical_rank": r_float,
                     "numerical_s": t_float})
    return {"case": "rank routines", "rows": rows}


def _child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()
        raise RuntimeError(tail[-1] if tail else "child failed")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_case(name: str) -> dict:
    if name == "rank_routines":
        return _child("rank_routines")
    try:
        out = _child("total", name)
        for extra in (_child("split", name, str(out["K"])), _child("floor", str(out["K"]), str(out["prime"]))):
            extra.pop("peak_rss_mb")  # the case's RSS is that of the separation_rank run
            out.update(extra)
    except RuntimeError as err:
        return {"case": name, "error": str(err)}
    out["ratio"] = out["total_s"] / out["flint_floor_s"]
    return out


CASES = ["rank_routines", *SEPARATION_CASES]


def _time_book() -> dict:
    chapters = sorted((ROOT / "chapters").glob("*.ipynb"))
    times = {}
    bindir = Path(sys.executable).parent
    for nb in chapters:
        out = Path("/tmp") / f"bench_{nb.name}"
        t0 = time.perf_counter()
        subprocess.run([str(bindir / "jupyter-execute"), "--output", str(out), str(nb)], cwd=nb.parent,
                       capture_output=True, check=True)
        times[nb.stem] = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run([str(bindir / "jupyter-book"), "build", "--all", "-W", "-n", "--keep-going", ".", "--path-output",
                    "/tmp/bench_book"], cwd=ROOT, capture_output=True, check=True)
    times["full book build (cold, --all)"] = time.perf_counter() - t0
    return times


def _markdown(results: list, book: dict | None) -> str:
    lines = [
        "<!-- Written by benchmarks/run_benchmarks.py; do not edit by hand. -->",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| case | K | rank | status | reference | assembly (s) | rank (s) | total (s) | flint floor (s) | total / floor | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    rank_rows = None
    for r in results:
        # peak RSS of the separation_rank run alone (the split and floor runs are separate processes)
        if "rows" in r:
            rank_rows = r
            continue
        if "error" in r:
            lines.append(f"| {r['case']} | – | – | error: {r['error']} | | | | | | | |")
            continue
        lines.append(
            f"| {r['case']} | {r['K']} | {r['rank']} | {r['status']} | {r['expected']} | {r['assembly_s']:.2f} | {r['rank_s']:.2f} | "
            f"{r['total_s']:.2f} | {r['flint_floor_s']:.2f} | {r['ratio']:.2f} | {r['peak_rss_mb']:.0f} |")
    lines.append("")
    lines.append("K is the final number of samples per side; the total includes every doubling of K "
                 "(schedule: " + "; ".join(f"{r['case'].split(',')[0]}: {r.get('schedule')}" for r in results
                                          if "schedule" in r) + ").")
    if rank_rows:
        lines += ["", "Random integer matrices (entries in [0, 1000)), full rank:", "",
                  "| n x n | exact_rank (s) | numerical_rank (s) | exact / numerical |", "|---|---|---|---|"]
        for row in rank_rows["rows"]:
            lines.append(f"| {row['n']} | {row['exact_s']:.2f} | {row['numerical_s']:.2f} | "
                         f"{row['exact_s'] / row['numerical_s']:.1f} |")
    if book:
        lines += ["", "| chapter | execution (s) |", "|---|---|"]
        lines += [f"| {name} | {secs:.1f} |" for name, secs in book.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=CASES, action="append")
    parser.add_argument("--book", action="store_true", help="also time each chapter and the full build")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "rank_routines":
            out = case_rank_routines()
        elif kind == "total":
            out = child_total(rest[0])
        elif kind == "split":
            out = child_split(rest[0], int(rest[1]))
        else:
            out = child_floor(int(rest[0]), int(rest[1]))
        out["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(out))
        return
    results = []
    for name in args.case or CASES:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results.append(run_case(name))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    text = _markdown(results, None)
    if not args.case:
        RESULTS.write_text(text)  # the book build below includes this page
        if args.book:
            text = _markdown(results, _time_book())
            RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
