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


def test_the_spin_is_shortened_once_and_blas_still_multithreaded_and_exact():
    out = _run("""
        import json, os
        import numpy as np
        from tensorlib import threads
        a = np.random.default_rng(0).standard_normal((600, 600))
        before = a @ a
        first, again = threads.shorten_openblas_spin(), threads.shorten_openblas_spin()
        after = a @ a
        libs = threads.blas_controller().lib_controllers
        print(json.dumps({"first": first, "again": again, "equal": bool(np.array_equal(before, after)),
                          "spin": [lib.dynlib.openblas_thread_timeout() for lib in libs if lib.internal_api == "openblas"],
                          "threads": [lib.num_threads for lib in libs],
                          "env": "OPENBLAS_THREAD_TIMEOUT" in os.environ}))
    """)
    result = json.loads(out)
    assert result["first"] and result["again"] and result["equal"]
    assert result["spin"] and set(result["spin"]) == {threads.OPENBLAS_SPIN_LOG2}   # OpenBLAS reads the new spin
    assert min(result["threads"]) > 1 or (os.cpu_count() or 1) == 1                   # still multithreaded
    assert not result["env"]                                                         # the environment restored


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
