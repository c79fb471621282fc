"""Showing a build's progress: a bar on a terminal, plain lines in logs and CI.

A bar redraws itself in place, which is right for a person watching and wrong for a log
file (where every redraw would be a line, or all of them one unreadable line). So
without a terminal the same events become plain lines, each with the seconds since the
build started — at the start and end of each stage and at most every ``interval``
seconds between — which a CI log can show and a person can grep. A build that is over
within ``interval`` prints none: its summary says all there is to say.
"""

from __future__ import annotations

import time
from typing import TextIO

from policygraph.pipeline import Progress


class BuildProgressDisplay:
    """Receives the pipeline's ``Progress`` events and shows them on ``stream``."""

    def __init__(self, stream: TextIO, interval: float = 5.0, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.interval = interval
        self._bar = None
        self._bar_done = 0
        self._stage = ""
        self._started = time.perf_counter()
        self._last_line = self._started

    def __call__(self, event: Progress) -> None:
        if self.tty and event.stage == "documents":
            self._draw_bar(event)
            return
        self.close()
        now = time.perf_counter()
        boundary = event.stage != self._stage or event.done in (0, event.total)
        started = now - self._started >= self.interval
        if started and (boundary or now - self._last_line >= self.interval):
            elapsed = now - self._started
            rate = ""
            if event.stage == "documents" and elapsed > 0 and event.done:
                rate = f", {event.done / elapsed:.1f}/s"
            detail = f" {event.detail}" if event.detail and boundary else ""
            print(
                f"build [{elapsed:6.1f}s] {event.stage}: {event.done}/{event.total}{rate}{detail}",
                file=self.stream,
                flush=True,
            )
            self._last_line = now
        self._stage = event.stage

    def _draw_bar(self, event: Progress) -> None:
        import click

        if self._bar is None:
            self._bar = click.progressbar(
                length=event.total,
                label="Documents",
                file=self.stream,
                show_pos=True,
                show_eta=True,
            )
            self._bar.__enter__()
        self._bar.update(event.done - self._bar_done)
        self._bar_done = event.done
        self._stage = event.stage

    def close(self) -> None:
        """End the bar's line so later output starts on a fresh one."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
