"""Worker processes that leave interrupts to the process that started them.

The CLI turns SIGTERM into KeyboardInterrupt so that a build stopped from outside
cleans up like one stopped with Ctrl-C. A forked worker inherits that handler, and a
pool ends its workers with SIGTERM when its ``with`` block closes — so every worker
printed a KeyboardInterrupt traceback after a build that had succeeded. Workers
started here ignore Ctrl-C (the parent decides what an interrupt does) and die
quietly on SIGTERM.
"""

from __future__ import annotations

import multiprocessing
import signal
from multiprocessing.pool import Pool


def quiet_signals() -> None:
    """In a worker: ignore Ctrl-C, and end without a word on SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def can_fork() -> bool:
    """Whether workers can be forked (they inherit the parent's memory, not a pickle)."""
    return "fork" in multiprocessing.get_all_start_methods()


def forked_pool(processes: int) -> Pool:
    """A pool of forked workers, each starting with :func:`quiet_signals`."""
    return multiprocessing.get_context("fork").Pool(processes, quiet_signals)
