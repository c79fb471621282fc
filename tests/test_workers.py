"""Worker pools leave interrupts to their parent and end quietly.

The CLI turns SIGTERM into KeyboardInterrupt; a pool ends its workers with SIGTERM
when its block closes. Forked workers that kept the CLI's handler printed a
KeyboardInterrupt traceback after a build that had succeeded (one build in three of
30 documents).
"""

from __future__ import annotations

import signal

import pytest

from policygraph.workers import can_fork, forked_pool


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
