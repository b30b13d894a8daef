"""Running one notebook for grading: a fresh kernel, errors allowed, a time limit per cell.

nbclient does the work. On a cell that runs past the limit the kernel is interrupted and the run
goes on with the next cell, so an infinite loop costs that cell only. A kernel that ignores the
interrupt (a loop that catches ``KeyboardInterrupt``, say) or dies stops the run: the cells after it
are reported as not run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import nbclient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

__all__ = ["CellOutcome", "Run", "run_notebook"]

# How long to wait, after interrupting a cell, for the kernel to answer: a kernel inside a long C
# call answers only when the call returns, and one still silent after this is taken to be stuck.
_SETTLE_SECONDS = (5, 60)  # at least, at most; in between, the cell's own time limit


@dataclass
class CellOutcome:
    """What one code cell did: its stdout, and the error it raised, if any."""

    stdout: str = ""
    error: Optional[str] = None  # "ZeroDivisionError: division by zero"
    timed_out: bool = False
    limit: Optional[int] = None  # the cell's time limit, in seconds


@dataclass
class Run:
    """A run of a notebook: one :class:`CellOutcome` per cell index (code cells only), and why it stopped early."""

    cells: Dict[int, CellOutcome] = field(default_factory=dict)
    stopped: Optional[str] = None  # None if every cell ran, else why not
    stopped_status: str = "error"  # how the exercises that did not run are graded: "timeout" or "error"


class _GradingClient(nbclient.NotebookClient):
    """nbclient with the index of the cell being run, and a record of the cells that timed out."""

    def __init__(self, nb: Any, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self.current: Optional[int] = None
        self.timed_out: List[int] = []

    async def async_execute_cell(self, cell: Any, cell_index: int, execution_count: Optional[int] = None,
                                 store_history: bool = True) -> Any:
        self.current = cell_index
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

    async def _async_handle_timeout(self, timeout: int, cell: Any = None) -> Optional[Dict[str, Any]]:
        if self.current is not None:
            self.timed_out.append(self.current)
        return await super()._async_handle_timeout(timeout, cell)


def _outcome(cell: Any) -> CellOutcome:
    outcome = CellOutcome()
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            outcome.stdout += output.get("text", "")
        elif output.get("output_type") == "error":
            outcome.error = f"{output.get('ename', 'Error')}: {output.get('evalue', '')}".rstrip(": ")
    return outcome


def run_notebook(notebook: Any, workdir: Path, *, timeout: int, limits: Optional[Dict[int, int]] = None,
                 kernel_name: str = "python3") -> Run:
    """Execute ``notebook`` (modified in place: outputs filled in) with ``workdir`` as the kernel's folder.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        The notebook to run; its outputs are replaced.
    workdir : Path
        The kernel's working folder (a scratch copy of the student's folder).
    timeout : int
        Seconds a cell may run before the kernel is interrupted.
    limits : dict, optional
        Other limits for some cells, by cell index (e.g. longer ones for the chapter's own cells).
    kernel_name : str
        The Jupyter kernel to start (a kernel whose Python has ``tensorlib`` installed).

    Returns
    -------
    Run
    """
    limit_of = {index: (limits or {}).get(index, timeout) for index in range(len(notebook.cells))}
    by_cell = {id(cell): limit_of[index] for index, cell in enumerate(notebook.cells)}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = _GradingClient(
        notebook, timeout=timeout, timeout_func=lambda cell: by_cell.get(id(cell), timeout), kernel_name=kernel_name,
        allow_errors=True, interrupt_on_timeout=True,
        error_on_timeout={"ename": "TimeoutError", "evalue": "the cell ran past its time limit", "traceback": []},
        raise_on_iopub_timeout=True, iopub_timeout=min(max(timeout, _SETTLE_SECONDS[0]), _SETTLE_SECONDS[1]),
        shutdown_kernel="immediate", record_timing=False, resources={"metadata": {"path": str(workdir)}})
    run = Run()
    try:
        client.execute()
    except CellTimeoutError:
        run.stopped_status = "timeout"
        index = client.current or 0
        run.stopped = (f"the kernel did not stop when cell {index + 1} was interrupted after {limit_of[index]} s, "
                       f"so the cells after it did not run")
    except DeadKernelError:
        run.stopped = f"the kernel died in cell {(client.current or 0) + 1}, so the cells after it did not run"
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            run.cells[index] = _outcome(cell)
            run.cells[index].limit = limit_of[index]
    for index in client.timed_out:
        run.cells[index].timed_out = True
        if run.cells[index].error and run.cells[index].error.startswith("KeyboardInterrupt"):
            run.cells[index].error = None  # the interrupt was ours
    return run
