"""The engine's threads: the BLAS libraries' thread pools, the assembly's threads, and OpenBLAS's idle spin.

The separation-rank driver alternates two kinds of work on every core: an elimination step (BLAS,
multithreaded) and the assembly of the next samples (:func:`tensorlib.grid.fill_block`, one
Python thread per core running elementwise kernels, BLAS held to one thread meanwhile). The
assembly's threads are made once per process (:func:`assembly_pool`): a pool made for every block
cost up to a few ms to start, each time, while OpenBLAS's workers still held the cores. After each
multithreaded call, OpenBLAS's worker threads keep spinning for new work for :math:`2^{28}` CPU
cycles (about 0.1 s) before they sleep, so during the assembly that follows they take a core from
it: measured on the self-attention reference case, the assembly took 0.33 s instead of 0.21 s.
:func:`shorten_openblas_spin` makes them sleep after :math:`2^{18}` cycles (about 0.1 ms), still
longer than the gaps between the calls of one elimination step.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, Tuple

from threadpoolctl import ThreadpoolController

__all__ = ["OPENBLAS_SPIN_LOG2", "blas_controller", "assembly_pool", "in_assembly_worker", "shorten_openblas_spin"]

#: log2 of the CPU cycles OpenBLAS's idle workers spin before they sleep, once shortened (OpenBLAS: 28).
OPENBLAS_SPIN_LOG2 = 18

_ENV = "OPENBLAS_THREAD_TIMEOUT"
_lock = threading.Lock()
_shortened = False
_pools: Dict[Tuple[int, int], ThreadPoolExecutor] = {}   # (process id, workers) -> pool
_workers: "weakref.WeakSet[threading.Thread]" = weakref.WeakSet()


@functools.cache
def blas_controller() -> ThreadpoolController:
    """The controller of the BLAS threads, made once (each one inspects the loaded libraries, about 2 ms)."""
    return ThreadpoolController()


def _mark_worker() -> None:
    _workers.add(threading.current_thread())


def assembly_pool(workers: int) -> ThreadPoolExecutor:
    """The process's pool of ``workers`` assembly threads, made on first use (again in a forked child).

    Its threads run only the tasks of :func:`tensorlib.grid.fill_block`, which waits for every one
    of them before it returns or raises; idle, they sleep. A pool is never shut down (another
    thread may be using it): asking for another number of workers makes another pool.
    """
    key = (os.getpid(), workers)
    with _lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tensorlib-assembly",
                                                    initializer=_mark_worker)
        return pool


def in_assembly_worker() -> bool:
    """Whether this thread is one of :func:`assembly_pool`'s workers (work submitted from it could wait
    for itself: :func:`tensorlib.grid.fill_block` then runs its tiles in this thread)."""
    return threading.current_thread() in _workers


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # a fork while another thread held it would leave it locked forever
    _pools.clear()            # the parent's pools have no threads here


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _other_threads() -> bool:
    """Whether a Python thread other than this one and the idle assembly workers exists.

    The assembly workers run tasks only while :func:`tensorlib.grid.fill_block` waits for them in
    the thread that submitted them (it waits for every task, also when one fails or it is
    interrupted): that thread is either this one (then it is not waiting) or another one, which
    counts.
    """
    me = threading.current_thread()
    return any(t is not me and t not in _workers for t in threading.enumerate())


def shorten_openblas_spin() -> bool:
    """Once per process, make the idle workers of every loaded OpenBLAS sleep after :data:`OPENBLAS_SPIN_LOG2`.

    OpenBLAS reads the spin time from the environment variable ``OPENBLAS_THREAD_TIMEOUT`` (log2 of
    cycles) only when it starts its threads, and numpy starts them when it is imported. So this sets
    the variable, has OpenBLAS read it again (``openblas_read_env``), restores the environment, and
    stops the workers (``blas_thread_shutdown_``, the function OpenBLAS's own fork handler calls);
    the next multithreaded call starts them again, with the new spin time, in about 25 ms. Results
    are unchanged: only when idle threads sleep.

    Nothing is done if ``OPENBLAS_THREAD_TIMEOUT`` is set already (the user's choice stands), for a
    BLAS other than OpenBLAS on pthreads, or while any other Python thread exists (as in a Jupyter
    kernel; :func:`assembly_pool`'s idle workers do not count): another thread could be inside a
    BLAS call that the shutdown would cut, or reading the environment while it is changed. Returns
    True if the spin is now short (by this call or an earlier one).
    """
    global _shortened
    if _shortened:
        return True
    if _ENV in os.environ or _other_threads() or threading.current_thread() is not threading.main_thread():
        return False
    with _lock:
        libraries = [lib.dynlib for lib in blas_controller().lib_controllers
                     if lib.internal_api == "openblas" and lib.threading_layer == "pthreads"
                     and all(hasattr(lib.dynlib, name) for name in ("openblas_read_env", "blas_thread_shutdown_"))]
        if not libraries:
            return False
        os.environ[_ENV] = str(OPENBLAS_SPIN_LOG2)
        try:
            for lib in libraries:
                lib.openblas_read_env()
        finally:
            del os.environ[_ENV]
        for lib in libraries:
            lib.blas_thread_shutdown_()
        _shortened = True
    return True
