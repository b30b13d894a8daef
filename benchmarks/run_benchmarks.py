"""Benchmarks of tensorlib's exact separation-rank engine, and the frontier results of the book.

Run from the repository root:

    python benchmarks/run_benchmarks.py                  # the three reference cases -> reference.json
    python benchmarks/run_benchmarks.py --frontier       # the frontier cases (tens of minutes)
    python benchmarks/run_benchmarks.py --book           # also each chapter and a cold book build
    python benchmarks/run_benchmarks.py --case rac_d3    # one case, printed only

Both kinds of run rewrite ``benchmarks/results.md`` (the Performance page) from the two committed
files: ``benchmarks/reference.json`` and ``tensorlib/results/frontier.json``, which chapters 5 and
6 read (it ships with the package, so the chapters find it wherever tensorlib is installed).

Every measurement runs in its own subprocess, so its peak RSS (``ru_maxrss``) is its own. For each
reference case the same run reports: the total wall time of ``separation_rank`` with its default
arguments and ``confirm=False`` (one certification), as the first call in a fresh process and as a
second call in the same process (on a new network object); the time of LAPACK's LU
(``scipy.linalg.lu_factor``, best of 3) of a random r x r float64 matrix, r the rank found (the floor
of any dense elimination); their ratios; how much of the second call the assembly of F
(``fill_block``) and the elimination took; and the time FLINT's ``nmod_mat.rank`` (the previous
engine) takes on a random r x r matrix mod the same prime. The confirmation with a second prime
(``confirm=True``, the default) is timed separately. These machines are noisy: the load average is
recorded next to each figure, and ratios within one run are what matter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.md"
REFERENCE_FILE = Path(__file__).resolve().parent / "reference.json"
FRONTIER = ROOT / "tensorlib" / "results" / "frontier.json"


def _case(name: str):
    """(model, partition, label) of each case."""
    import tensorlib as tl
    from tensorlib.networks import RAC, DeepConvAC, SelfAttention

    if name == "convac_6561":
        return DeepConvAC(16, 3, 3, seed=0), tl.odd_even(16), "deep ConvAC N=16, M=r=3, odd/even"
    if name == "attention_w3_d3":
        return SelfAttention(4, 3, 3, seed=0), tl.balanced(4, seed=0), "self-attention width 3, depth 3, 4 tokens"
    if name == "rac_d3":
        return RAC(8, 3, 3, depth=3, seed=0), tl.start_end(8), "deep RAC depth 3, M=R=3, T=8, Start-End"
    if name == "attention_w4_d3":
        return SelfAttention(4, 4, 3, seed=0), tl.balanced(4, seed=0), "self-attention width 4, depth 3, 4 tokens"
    if name.startswith("rac_d3_T"):
        T = int(name[len("rac_d3_T"):])
        return RAC(T, 3, 3, depth=3, seed=0), tl.start_end(T), f"deep RAC depth 3, M=R=3, T={T}, Start-End"
    raise KeyError(name)


REFERENCE = ["convac_6561", "attention_w3_d3", "rac_d3"]
FRONTIER_CASES = ["rac_d3_T10", "rac_d3_T12", "attention_w4_d3"]


def _load() -> float:
    return float(open("/proc/loadavg").read().split()[0])


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def child_separation(name: str, confirm: bool, warm: bool = False) -> dict:
    """One separation_rank run with default arguments (with ``warm``, a second one in the same process).

    The first call in a fresh process also pays one-time costs: numba's start and the loading of the
    compiled kernels from its disk cache (about 0.15 s), OpenBLAS's first threads. The LU it is
    compared with is the best of three calls, so ``warm`` also times a second call, on a new network
    object (same weights: nothing computed by the first call is reused), in the same process.
    """
    import tensorlib as tl
    import tensorlib.separation as separation

    spent = {"assembly": 0.0, "elimination": 0.0}

    def timed(what: str, fn):  # wall time of each call of fn, summed under `what`
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[what] += time.perf_counter() - t
        return wrapper

    separation.fill_block = timed("assembly", separation.fill_block)
    separation.exact_rank = timed("elimination", separation.exact_rank)
    separation.GrowingElimination.grow = timed("elimination", separation.GrowingElimination.grow)
    separation.GrowingElimination._grow_residues = timed("elimination", separation.GrowingElimination._grow_residues)
    model, partition, label = _case(name)
    load = _load()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    result = tl.separation_rank(model, partition, confirm=confirm)
    out = {"name": name, "case": label, "rank": result.rank, "status": result.status, "K": result.samples,
           "upper_bound": result.upper_bound, "prime": result.prime, "seconds": time.perf_counter() - t0,
           "cpu_seconds": time.process_time() - cpu0, "load": load, "steps": len(result.history),
           "assembly_seconds": spent["assembly"], "elimination_seconds": spent["elimination"]}
    if result.confirmation is not None:
        out.update(confirm_prime=result.confirmation.prime, confirm_rank=result.confirmation.rank,
                   confirm_K=result.confirmation.samples)
    if warm:
        spent.update(assembly=0.0, elimination=0.0)
        model, partition, _ = _case(name)
        t0 = time.perf_counter()
        again = tl.separation_rank(model, partition, confirm=confirm)
        out.update(warm_seconds=time.perf_counter() - t0, warm_assembly_seconds=spent["assembly"],
                   warm_elimination_seconds=spent["elimination"])
        if (again.rank, again.samples) != (result.rank, result.samples):
            raise RuntimeError(f"{name}: the second run gave rank {again.rank} on K={again.samples}, "
                               f"the first {result.rank} on K={result.samples}")
    return out


def child_lu(n: int) -> dict:
    """LAPACK's LU of a random n x n float64 matrix (best of 3)."""
    import scipy.linalg

    a = np.random.default_rng(n).standard_normal((n, n))
    best = float("inf")
    for _ in range(3):
        b = a.copy()
        t0 = time.perf_counter()
        scipy.linalg.lu_factor(b, overwrite_a=True, check_finite=False)
        best = min(best, time.perf_counter() - t0)
    return {"lu_seconds": best}


def child_flint(n: int, p: int) -> dict:
    """FLINT's rank of a random n x n matrix mod p (the previous engine), construction excluded."""
    from tensorlib.rank import exact_rank

    a = np.random.default_rng(n).integers(0, p, size=(n, n))
    t0 = time.perf_counter()
    exact_rank(a, p, method="flint")
    return {"flint_seconds": time.perf_counter() - t0}


def _child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()
        raise RuntimeError(tail[-1] if tail else f"child failed ({proc.returncode})")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def run_reference(name: str) -> dict:
    out = _child("separation", name, "0", "warm")
    out["peak_rss_mb"] = out.pop("child_rss_mb")
    out.update({k: v for k, v in _child("lu", str(out["rank"])).items() if k != "child_rss_mb"})
    out.update({k: v for k, v in _child("flint", str(out["rank"]), str(out["prime"])).items() if k != "child_rss_mb"})
    confirmed = _child("separation", name, "1")
    out.update(confirmed_seconds=confirmed["seconds"], confirmed_status=confirmed["status"],
               confirmed_rss_mb=confirmed["child_rss_mb"])
    out["ratio"] = out["warm_seconds"] / out["lu_seconds"]
    out["first_call_ratio"] = out["seconds"] / out["lu_seconds"]
    return out


def run_frontier(name: str) -> dict:
    out = _child("separation", name, "1")
    out["peak_rss_mb"] = out.pop("child_rss_mb")
    out["command"] = f"python benchmarks/run_benchmarks.py --frontier-case {name}"
    return out


def _time_book() -> dict:
    bindir = Path(sys.executable).parent
    times = {}
    for nb in sorted((ROOT / "chapters").glob("*.ipynb")):
        t0 = time.perf_counter()
        subprocess.run([str(bindir / "jupyter-execute"), "--output", f"/tmp/bench_{nb.name}", str(nb)],
                       cwd=nb.parent, capture_output=True, check=True)
        times[nb.stem] = time.perf_counter() - t0
    shutil.rmtree("/tmp/bench_book", ignore_errors=True)  # a cold build: no execution cache
    t0 = time.perf_counter()
    subprocess.run([str(bindir / "jupyter-book"), "build", "--all", "-W", "-n", "--keep-going", ".",
                    "--path-output", "/tmp/bench_book"], cwd=ROOT, capture_output=True, check=True)
    times["full book build (cold, --all)"] = time.perf_counter() - t0
    return times


def _markdown(results: list, frontier: list, book: dict | None) -> str:
    lines = [
        "<!-- Written by benchmarks/run_benchmarks.py; do not edit by hand. -->",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        "times are wall clock, load average at the start of each run in the last column.",
        "",
        "One certification (`separation_rank` with default arguments, `confirm=False`) against LAPACK's LU "
        "of a random r x r float64 matrix (r the rank; best of 3). *Total* is a second call in the same "
        "process, split into the assembly of the sampled grid matrix and its elimination; *first call* is "
        "the first call in a fresh process, which also starts numba (about 0.15 s) and OpenBLAS's threads:",
        "",
        "| case | rank r | status | K | total (s) | assembly / elimination (s) | LU of r x r (s) | total / LU "
        "| first call (s) | first call / LU |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['name']} | error: {r['error']} |" + " |" * 8)
            continue
        lines.append(
            f"| {r['case']} | {r['rank']} | {r['status']} | {r['K']} | {r['warm_seconds']:.2f} | "
            f"{r['warm_assembly_seconds']:.2f} / {r['warm_elimination_seconds']:.2f} | {r['lu_seconds']:.2f} | "
            f"{r['ratio']:.2f} | {r['seconds']:.2f} | {r['first_call_ratio']:.2f} |")
    lines += ["", "In the same benchmark run: FLINT's rank of a random r x r matrix (the previous engine), the peak memory, "
              "the time with the confirmation by a second prime (`confirm=True`, the default), and the "
              "machine's load:", "",
              "| case | FLINT rank of r x r (s) | peak RSS (MB) | with confirmation (s) | load |",
              "|---|---|---|---|---|"]
    for r in results:
        if "error" not in r:
            lines.append(f"| {r['case']} | {r['flint_seconds']:.1f} | {r['peak_rss_mb']:.0f} | "
                         f"{r['confirmed_seconds']:.2f} ({r['confirmed_status']}) | {r['load']:.1f} |")
    if frontier:
        lines += ["", "The frontier (`confirm=True`, the book's setting; `python benchmarks/run_benchmarks.py "
                  "--frontier` reproduces them and rewrites `tensorlib/results/frontier.json`, which chapters 5 "
                  "and 6 read):",
                  "", "| case | rank | status | K | our upper bound | second prime: rank (K) | time (s) "
                  "| peak RSS (MB) | load |", "|---|---|---|---|---|---|---|---|---|"]
        for r in frontier:
            if "error" in r:
                lines.append(f"| {r['name']} | error: {r['error']} |" + " |" * 7)
                continue
            second = f"{r['confirm_rank']} ({r['confirm_K']})" if "confirm_rank" in r else "–"
            lines.append(f"| {r['case']} | {r['rank']} | {r['status']} | {r['K']} | {r['upper_bound']} | {second} | "
                         f"{r['seconds']:.1f} | {r['peak_rss_mb']:.0f} | {r['load']:.1f} |")
    if book:
        lines += ["", "| chapter | execution (s) |", "|---|---|"]
        lines += [f"| {name} | {secs:.1f} |" for name, secs in book.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=REFERENCE, action="append", help="run only these reference cases")
    parser.add_argument("--frontier", action="store_true", help="also the frontier cases (minutes each)")
    parser.add_argument("--frontier-case", choices=FRONTIER_CASES, action="append", help="one frontier case")
    parser.add_argument("--book", action="store_true", help="also time each chapter and a cold full build")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "separation":
            out = child_separation(rest[0], rest[1] == "1", warm=rest[2:] == ["warm"])
        elif kind == "lu":
            out = child_lu(int(rest[0]))
        else:
            out = child_flint(int(rest[0]), int(rest[1]))
        out["child_rss_mb"] = _peak_rss_mb()
        print(json.dumps(out))
        return

    def run(fn, name):
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            out = fn(name)
        except RuntimeError as err:
            out = {"name": name, "error": str(err)}
        print(json.dumps(out), file=sys.stderr, flush=True)
        return out

    if args.frontier_case:
        print(json.dumps([run(run_frontier, name) for name in args.frontier_case], indent=1))
        return
    if args.case:
        print(_markdown([run(run_reference, name) for name in args.case], [], None))
        return
    if args.frontier:
        frontier = [run(run_frontier, name) for name in FRONTIER_CASES]
        FRONTIER.parent.mkdir(exist_ok=True)
        FRONTIER.write_text(json.dumps({r["name"]: r for r in frontier}, indent=1) + "\n")
    else:
        REFERENCE_FILE.write_text(json.dumps([run(run_reference, name) for name in REFERENCE], indent=1) + "\n")
    results = json.loads(REFERENCE_FILE.read_text()) if REFERENCE_FILE.exists() else []
    frontier = list(json.loads(FRONTIER.read_text()).values()) if FRONTIER.exists() else []
    RESULTS.write_text(_markdown(results, frontier, _time_book() if args.book else None))
    print(RESULTS.read_text())

if __name__ == "__main__":
    main()
