"""Benchmark of the exact elimination on BLAS against LAPACK's LU and FLINT, each case in its own process.

For each n: ``scipy.linalg.lu_factor`` of a random n x n float64 matrix (the floor: a dense
elimination does the same multiply-adds), FLINT's LU mod p (``exact_rank(method="flint")``, which
factors FLINT's own ``nmod_mat`` in place: the routine behind ``nmod_mat.rank``, without the
Python-list conversion), :func:`tensorlib.elimination.rank_mod_p` with the BLAS prime, with a
prime near :math:`2^{23}` and with :math:`2^{31}-1` (the limb-split path), and :class:`~tensorlib.elimination.GrowingElimination`
grown to n in steps of ``--step``. Every case runs in a fresh subprocess, so its peak RSS
(``resource.getrusage``) is its own; the load average before each case is recorded, since other
processes share the machine, and so is the process CPU time (``time.process_time``, all threads),
which a loaded machine disturbs less than the wall-clock time (with one BLAS thread, ``--threads 1``,
it approximates the wall-clock time of a quiet machine; cache and memory contention still show).

Usage::

    python benchmarks/bench_elimination.py --repeat 3      # n = 1000, 3000, 6561; writes elimination_results.md
    python benchmarks/bench_elimination.py --sizes 1000 --threads 1 --output -
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

HERE = Path(__file__).resolve().parent
CASES = ("lu", "flint", "blas", "blas21", "blas23", "blas31", "growing")
DEFAULT_CASES = ("lu", "flint", "blas", "blas23", "blas31", "growing")
PRIMES = {"flint": 2**31 - 1, "blas21": 2097143, "blas23": 8388593, "blas31": 2**31 - 1}
LABELS = {
    "lu": "LAPACK LU, float64 (`scipy.linalg.lu_factor`)",
    "flint": "FLINT LU mod 2^31 - 1 (`exact_rank(method=\"flint\")`)",
    "blas": "BLAS engine, `BLAS_PRIME` = {blas_prime} (`rank_mod_p`)",
    "blas21": "BLAS engine, p = 2097143 (below 2^21)",
    "blas23": "BLAS engine, p = 8388593 (below 2^23)",
    "blas31": "BLAS engine, p = 2^31 - 1 (limb split)",
    "growing": "growing elimination to n, steps of {step}, `BLAS_PRIME`",
}


def _worker(case: str, n: int, step: int, seed: int) -> dict:
    """Run one case in this process and return its time, rank and peak RSS."""
    import numpy as np

    rng = np.random.default_rng(seed)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if case == "lu":
        import scipy.linalg
        x = rng.standard_normal((n, n))
        start, cpu = time.perf_counter(), time.process_time()
        scipy.linalg.lu_factor(x, overwrite_a=True, check_finite=False)
        seconds, cpu, rank = time.perf_counter() - start, time.process_time() - cpu, None
    elif case in ("flint", "blas", "blas21", "blas23", "blas31"):
        from tensorlib.elimination import BLAS_PRIME
        from tensorlib.rank import exact_rank
        p = PRIMES.get(case, BLAS_PRIME)
        a = rng.integers(0, p, size=(n, n))
        start, cpu = time.perf_counter(), time.process_time()
        rank = exact_rank(a, p, method="flint" if case == "flint" else "blas")
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    elif case == "growing":
        from tensorlib.elimination import BLAS_PRIME, GrowingElimination
        g = GrowingElimination(BLAS_PRIME)
        seconds = cpu = 0.0
        while g.size < n and not g.saturated:
            k = min(step, n - g.size)
            # The blocks of a random n x n matrix, drawn as the driver would sample them (F is never held).
            columns = rng.integers(0, BLAS_PRIME, size=(g.size, k))
            rows = rng.integers(0, BLAS_PRIME, size=(k, g.size + k))
            start, cpu_start = time.perf_counter(), time.process_time()
            g.grow(columns, rows)
            seconds += time.perf_counter() - start
            cpu += time.process_time() - cpu_start
        rank = g.rank
    else:
        raise ValueError(f"unknown case {case!r}")
    return {"case": case, "n": n, "seconds": seconds, "cpu": cpu, "rank": rank,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "baseline_rss_mb": rss_before / 1024}


def run_case(case: str, n: int, step: int, seed: int, threads: int = 0) -> dict:
    load = os.getloadavg()[0]
    env = dict(os.environ)
    if threads:
        env["OPENBLAS_NUM_THREADS"] = str(threads)
    out = subprocess.run([sys.executable, __file__, "--worker", case, str(n), "--step", str(step), "--seed", str(seed)],
                         capture_output=True, text=True, check=True, env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["load"] = load
    return result


def _table(results: list, step: int, blas_prime: int) -> str:
    lines = ["| n | case | time (s) | / LU | CPU time (s) | / LU | peak RSS (MB) | rank | load avg |",
             "|---|---|---|---|---|---|---|---|---|"]
    for n in sorted({r["n"] for r in results}):
        row = {r["case"]: r for r in results if r["n"] == n}
        lu = row.get("lu", {}).get("seconds")
        lu_cpu = row.get("lu", {}).get("cpu")
        for case in CASES:
            if case not in row:
                continue
            r = row[case]
            ratio = f"{r['seconds'] / lu:.2f}" if lu else "-"
            cpu_ratio = f"{r['cpu'] / lu_cpu:.2f}" if lu_cpu else "-"
            rank = "-" if r["rank"] is None else str(r["rank"])
            label = LABELS[case].format(step=step, blas_prime=blas_prime)
            lines.append(f"| {n} | {label} | {r['seconds']:.2f} | {ratio} | {r['cpu']:.2f} | "
                         f"{cpu_ratio} | {r['peak_rss_mb']:.0f} | {rank} | {r['load']:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 3000, 6561])
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES), choices=CASES)
    parser.add_argument("--step", type=int, default=256, help="rows and columns added per growing step")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the fastest is kept")
    parser.add_argument("--flint-repeat", type=int, default=1, help="runs of the (slow) FLINT case")
    parser.add_argument("--threads", type=int, nargs="+", default=[0, 1],
                        help="OPENBLAS_NUM_THREADS of the cases, one table each (0: OpenBLAS's default); "
                             "FLINT, which does not use BLAS, is run once and shown in every table")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(HERE / "elimination_results.md"), help="'-' for stdout only")
    parser.add_argument("--worker", nargs=2, metavar=("CASE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker[0], int(args.worker[1]), args.step, args.seed)))
        return
    tables = {threads: [] for threads in args.threads}
    for n in args.sizes:
        flint_result = None
        for threads in args.threads:
            for case in args.cases:
                if case == "flint" and flint_result is not None:
                    tables[threads].append(flint_result)
                    continue
                repeat = args.flint_repeat if case == "flint" else args.repeat
                runs = [run_case(case, n, args.step, args.seed, threads) for _ in range(repeat)]
                best = min(runs, key=lambda r: r["seconds"])
                best["cpu"] = min(r["cpu"] for r in runs)
                best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
                tables[threads].append(best)
                if case == "flint":
                    flint_result = best
                print(f"threads={threads or 'default'} n={n:5d} {case:8s} {best['seconds']:8.2f} s  "
                      f"cpu {best['cpu']:8.2f} s  {best['peak_rss_mb']:7.0f} MB  rank={best['rank']}  "
                      f"load={best['load']:.1f}", flush=True)
    import numpy as np
    import scipy
    from tensorlib.elimination import BLAS_PRIME
    command = " ".join(["python benchmarks/bench_elimination.py"] + list(argv if argv is not None else sys.argv[1:]))
    parts = [
        "# Exact elimination on BLAS: measured",
        "",
        f"`{command}` on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__} (OpenBLAS), scipy {scipy.__version__}. Each case runs in its own process "
        f"(peak RSS includes the input matrix and the interpreter), best of {args.repeat} (FLINT: "
        f"{args.flint_repeat}); random n x n matrices of full rank. The load average (the machine's, other "
        "jobs included) is read before each case: on a loaded machine the wall-clock time is unreliable, "
        "and with one BLAS thread the process CPU time is the steadier measure.",
        "",
    ]
    for threads, results in tables.items():
        parts += [f"## BLAS threads: {threads or 'OpenBLAS default (2)'}", "", _table(results, args.step, BLAS_PRIME), ""]
    text = "\n".join(parts)
    if args.output != "-":
        Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
