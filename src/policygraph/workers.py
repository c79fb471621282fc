"""Worker processes that leave interrupts to the process that started them.

The CLI turns SIGTERM into KeyboardInterrupt so that a build stopped from outside
cleans up like one stopped with Ctrl-C. A forked worker inherits that handler, and a
pool ends its workers with SIGTERM when its ``with`` block closes — so every worker
printed a KeyboardInterrupt traceback after a build that had succeeded. Workers
started here ignore Ctrl-C (the parent decides what an interrupt does) and die
quietly on SIGTERM.

A worker also runs Python's cyclic garbage collector on its own schedule (see
:func:`collect_between_tasks`).
"""

from __future__ import annotations

import gc
import multiprocessing
import signal
from multiprocessing.pool import Pool


def quiet_signals() -> None:
    """In a worker: ignore Ctrl-C, and end without a word on SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


_BETWEEN_TASKS = {"on": False}


def collect_between_tasks() -> None:
    """In a worker: collect garbage once per task, not whenever allocations pile up.

    Left to itself, the collector runs a full collection every few documents, in the
    middle of one, and walks every object alive: the half-built document, and all the
    long-lived state of the process, which grows as lazily loaded data arrives (the
    pinyin dictionary alone is some 190 000 lists, read on the first Chinese
    document). That cost 11–16 ms of a document's 63–92. Here automatic collection
    is off, and :func:`between_tasks` collects the last task's garbage and freezes what
    survives it: what outlives a task is the process's own state, which later
    collections then leave alone. A task's garbage is at most one task's worth.
    """
    gc.disable()
    _BETWEEN_TASKS["on"] = True


def between_tasks() -> None:
    """Before a task: collect the previous task's garbage and freeze what is left.

    Does nothing in a process that did not ask for it (a build run in one process
    keeps the collector as it was).
    """
    if _BETWEEN_TASKS["on"]:
        gc.collect()
        gc.freeze()


def collects_between_tasks() -> bool:
    """Whether this process collects its garbage between tasks (else automatically)."""
    return _BETWEEN_TASKS["on"]


def can_fork() -> bool:
    """Whether workers can be forked (they inherit the parent's memory, not a pickle)."""
    return "fork" in multiprocessing.get_all_start_methods()


def forked_pool(processes: int, collect_per_task: bool = False) -> Pool:
    """A pool of forked workers, each starting with :func:`quiet_signals`.

    With ``collect_per_task``, each also calls :func:`collect_between_tasks`, and the
    function the pool runs must then call :func:`between_tasks` first.
    """
    start = start_collecting_worker if collect_per_task else quiet_signals
    return multiprocessing.get_context("fork").Pool(processes, start)


def start_collecting_worker() -> None:
    """A worker's start: interrupts left to the parent, garbage collected per task."""
    quiet_signals()
    collect_between_tasks()
