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
                          env=full_env, check=True, timeout=300)
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


def test_the_assembly_pool_is_made_once_per_process_and_size():
    pool = threads.assembly_pool(2)
    assert threads.assembly_pool(2) is pool
    other = threads.assembly_pool(3)
    assert other is not pool and threads.assembly_pool(3) is other
    assert sorted(other.map(abs, [-2, 1, -3])) == [1, 2, 3]
    threads.assembly_pool(2)  # leave the usual pool in place for the other tests


def test_idle_assembly_workers_do_not_stop_the_spin_from_being_shortened():
    # separation_rank assembles its first blocks (in the pool's threads) before it shortens the spin.
    out = _run("""
        import json
        import numpy as np
        import tensorlib as tl
        from tensorlib import grid, threads
        from tensorlib.networks import SelfAttention
        libs = threads.blas_controller().lib_controllers
        eligible = any(lib.internal_api == "openblas" and lib.threading_layer == "pthreads"
                       and hasattr(lib.dynlib, "openblas_read_env") for lib in libs)
        model = SelfAttention(4, 2, 2, seed=0)
        rng = np.random.default_rng(0)
        x = grid.sample_side(rng, 300, 2, 2, 101)
        F = np.empty((300, 300), dtype=np.int64)
        grid.fill_block(F, model, x, x, ((0, 1), (2, 3)), 101)
        names = [t.name for t in threads.threading.enumerate()]
        print(json.dumps({"eligible": eligible, "workers": sum(n.startswith("tensorlib-assembly") for n in names),
                          "shortened": threads.shorten_openblas_spin()}))
    """)
    result = json.loads(out)
    assert result["workers"] >= 1                       # the block was assembled in the pool
    assert result["shortened"] == result["eligible"]


def test_a_forked_child_makes_its_own_assembly_pool():
    # A pool inherited through fork has no threads in the child: it must not be reused there.
    out = _run("""
        import multiprocessing as mp
        import numpy as np
        from tensorlib import grid
        from tensorlib.networks import SelfAttention

        def block():
            model = SelfAttention(4, 2, 2, seed=0)
            x = grid.sample_side(np.random.default_rng(0), 300, 2, 2, 101)
            F = np.empty((300, 300), dtype=np.int64)
            grid.fill_block(F, model, x, x, ((0, 1), (2, 3)), 101)
            return int(F.sum())

        def child(queue):
            queue.put(block())

        parent = block()
        ctx = mp.get_context("fork")
        queue = ctx.Queue()
        proc = ctx.Process(target=child, args=(queue,), daemon=True)
        proc.start()
        try:
            print(queue.get(timeout=60) == parent)
        except Exception:  # a child waiting forever on the inherited pool's missing threads
            print("no answer")
        proc.join(5)
    """)
    assert out == "True"


class _TileModel:
    """A model whose blocks run in the assembly pool: a block with row 0 marked -1 fails as soon as
    another block has started; the others are slow (or, ``nested``, assemble a block themselves)."""

    parallel_blocks = True
    n_inputs, input_dim = 2, 1

    def __init__(self, nested: bool = False) -> None:
        import threading
        self.finished = 0
        self.nested = nested
        self.slow_started = threading.Event()

    def grid_matrix_block(self, x_rows, x_cols, partition, p=None):
        import time

        import numpy as np

        from tensorlib import grid
        if int(x_rows[0, 0, 0]) == -1:
            self.slow_started.wait(10)
            raise ValueError("bad tile")
        self.slow_started.set()
        out = np.zeros((x_rows.shape[0], x_cols.shape[0]), dtype=np.int64)
        if self.nested:  # a block that assembles a block of its own, from inside a worker
            grid.fill_block(out, _TileModel(), x_rows, x_cols, partition, p)
        else:
            time.sleep(0.3)
        self.finished += 1
        return out


def _tile_inputs(rows: int = 600):
    import numpy as np
    x = np.ones((rows, 1, 1), dtype=np.int64)
    return x, np.ones((rows, 1, 1), dtype=np.int64)


def test_fill_block_leaves_no_tile_running_when_one_fails():
    import numpy as np
    import pytest

    from tensorlib import grid
    model = _TileModel()
    x_rows, x_cols = _tile_inputs()
    x_rows[0, 0, 0] = -1  # the first tile fails; the others sleep, then count themselves
    F = np.full((600, 600), 7, dtype=np.int64)
    with pytest.raises(ValueError, match="bad tile"):
        grid.fill_block(F, model, x_rows, x_cols, ((0,), (1,)), 101)
    started = model.finished
    assert not threads._other_threads()
    assert all(t.name.startswith("tensorlib-assembly") for t in threads.threading.enumerate()
               if t is not threads.threading.current_thread())
    import time
    time.sleep(0.5)
    assert model.finished == started  # every tile that had started was finished before fill_block raised


def test_fill_block_called_from_a_tile_runs_there_instead_of_waiting_on_the_pool():
    import threading

    import numpy as np

    from tensorlib import grid
    model = _TileModel(nested=True)
    x_rows, x_cols = _tile_inputs()
    F = np.full((600, 600), 7, dtype=np.int64)
    done = threading.Event()
    worker = threading.Thread(target=lambda: (grid.fill_block(F, model, x_rows, x_cols, ((0,), (1,)), 101), done.set()),
                              daemon=True)
    worker.start()
    worker.join(120)
    assert done.is_set(), "fill_block inside a tile waited for the pool's busy workers"
    assert model.finished >= 2 and not F.any()
