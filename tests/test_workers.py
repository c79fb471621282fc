"""Worker pools leave interrupts to their parent, end quietly, and collect per task.

The CLI turns SIGTERM into KeyboardInterrupt; a pool ends its workers with SIGTERM
when its block closes. Forked workers that kept the CLI's handler printed a
KeyboardInterrupt traceback after a build that had succeeded (one build in three of
30 documents).

A collecting worker turns automatic garbage collection off and collects between tasks
instead; the tests check that one task's cyclic garbage is gone before the next runs.
"""

from __future__ import annotations

import gc
import signal
import weakref

import pytest

from policygraph.workers import between_tasks, can_fork, forked_pool


def _handlers() -> tuple[int, int]:
    """In a worker: what SIGINT and SIGTERM do there."""
    return int(signal.getsignal(signal.SIGINT)), int(signal.getsignal(signal.SIGTERM))


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@pytest.mark.skipif(not can_fork(), reason="workers are forked only where fork exists")
def test_workers_ignore_ctrl_c_and_end_quietly_whatever_the_parent_does() -> None:
    previous = signal.signal(signal.SIGTERM, _interrupt)  # as `policygraph build` does
    try:
        with forked_pool(2) as pool:
            seen = set(pool.starmap(_handlers, [()] * 8))
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen == {(int(signal.SIG_IGN), int(signal.SIG_DFL))}


class _Node:
    """An object that can be put in a reference cycle and watched through a weak reference."""

    partner: _Node


_LAST: list[weakref.ref[_Node]] = []  # in a worker: the cycle the previous task left


def _leave_a_cycle(_: int) -> tuple[bool, bool | None, int]:
    """In a worker: whether collection is automatic, whether the last task's cycle is
    gone, and how many objects are frozen; then leave a cycle of garbage behind."""
    between_tasks()
    previous_gone = _LAST[-1]() is None if _LAST else None
    a, b = _Node(), _Node()
    a.partner, b.partner = b, a
    _LAST.append(weakref.ref(a))
    return gc.isenabled(), previous_gone, gc.get_freeze_count()


@pytest.mark.skipif(not can_fork(), reason="workers are forked only where fork exists")
def test_a_collecting_worker_collects_each_tasks_garbage_before_the_next() -> None:
    frozen_here = gc.get_freeze_count()
    with forked_pool(1, collect_per_task=True) as pool:
        seen = pool.map(_leave_a_cycle, range(4), chunksize=1)
    assert [automatic for automatic, _, _ in seen] == [False] * 4
    assert [gone for _, gone, _ in seen] == [None, True, True, True]
    # what the worker inherited and what outlived a task is frozen
    assert all(frozen > frozen_here for _, _, frozen in seen)


@pytest.mark.skipif(not can_fork(), reason="workers are forked only where fork exists")
def test_a_plain_worker_keeps_automatic_collection() -> None:
    frozen_here = gc.get_freeze_count()
    with forked_pool(1) as pool:
        seen = pool.map(_leave_a_cycle, range(2), chunksize=1)
    assert [automatic for automatic, _, _ in seen] == [True, True]
    assert [frozen for _, _, frozen in seen] == [frozen_here] * 2  # between_tasks did nothing
