"""The engine's threads: OpenBLAS's idle spin is shortened once, results are unchanged, users' settings stand."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tensorlib import threads


def _run(code: str, env: dict | None = None) -> str:
    """Run ``code`` in a fresh interpreter (the spin is shortened once per process) and return its stdout."""
    full_env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"} | (env or {})
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=full_env, check=True)
    return proc.stdout.strip()


def test_the_spin_is_shortened_once_with_results_and_thread_counts_unchanged():
    out = _run("""
        import json, os
        import numpy as np
        from tensorlib import threads
        libs = threads.blas_controller().lib_controllers
        eligible = [lib for lib in libs if lib.internal_api == "openblas" and lib.threading_layer == "pthreads"
                    and hasattr(lib.dynlib, "openblas_read_env") and hasattr(lib.dynlib, "blas_thread_shutdown_")]
        a = np.random.default_rng(0).standard_normal((600, 600))
        before, counts = a @ a, [lib.num_threads for lib in libs]
        first, again = threads.shorten_openblas_spin(), threads.shorten_openblas_spin()
        after = a @ a
        print(json.dumps({"eligible": bool(eligible), "first": first, "again": again,
                          "equal": bool(np.array_equal(before, after)),
                          "spin": [lib.dynlib.openblas_thread_timeout() for lib in eligible],
                          "counts": [counts, [lib.num_threads for lib in libs]],
                          "env": "OPENBLAS_THREAD_TIMEOUT" in os.environ}))
    """)
    result = json.loads(out)
    # Where the BLAS is OpenBLAS on pthreads (numpy's wheels on Linux, this project's CI) the spin is
    # shortened; elsewhere nothing is done. Either way products and thread counts are unchanged.
    assert result["first"] == result["again"] == result["eligible"]
    if result["eligible"]:
        assert set(result["spin"]) == {threads.OPENBLAS_SPIN_LOG2}   # OpenBLAS reads the new spin time
    assert result["equal"]
    assert result["counts"][0] == result["counts"][1]
    assert not result["env"]                                        # the environment restored


def test_a_users_openblas_thread_timeout_is_left_alone():
    out = _run("""
        from tensorlib import threads
        print(threads.shorten_openblas_spin())
    """, env={"OPENBLAS_THREAD_TIMEOUT": "24"})
    assert out == "False"


def test_nothing_is_done_off_the_main_thread():
    out = _run("""
        import threading
        from tensorlib import threads
        result = []
        worker = threading.Thread(target=lambda: result.append(threads.shorten_openblas_spin()))
        worker.start(); worker.join()
        print(result[0], threads._shortened)
    """)
    assert out == "False False"


def test_the_controller_is_made_once():
    assert threads.blas_controller() is threads.blas_controller()


def test_nothing_is_done_while_another_python_thread_runs():
    out = _run("""
        import threading
        from tensorlib import threads
        stop = threading.Event()
        other = threading.Thread(target=stop.wait)
        other.start()
        print(threads.shorten_openblas_spin(), threads._shortened)
        stop.set(); other.join()
    """)
    assert out == "False False"
