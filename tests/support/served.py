"""Start ``policygraph serve`` for real, in a subprocess on a free loopback port.

The server runs as users run it — the command line, waitress, its worker processes —
so the tests see the real HTTP contract. ``--port 0`` lets the kernel pick a free port;
the server prints its URL once it listens, and that line is read back here.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

_URL = re.compile(r"at (http://127\.0\.0\.1:\d+/) ")


@dataclass
class Served:
    """A running server: its URL and process."""

    url: str
    process: subprocess.Popen[str]
    output: list[str]

    def workers(self) -> set[int]:
        """Process ids of the server's SPARQL workers (its spawned children)."""
        return {pid for pid, cmd in children(self.process.pid) if "spawn_main" in cmd}


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes

    @property
    def media_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip()

    def text(self) -> str:
        return self.body.decode("utf-8")


def request(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    timeout: float = 60,
) -> Reply:
    """One HTTP request; 4xx and 5xx come back as replies, not exceptions."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return Reply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, error.headers, error.read())


def children(pid: int) -> list[tuple[int, str]]:
    """Direct child processes of ``pid`` with their command lines (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append((int(entry.name), cmd))
    return found


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@contextmanager
def serve(data: Path, *options: str, startup: float = 120) -> Iterator[Served]:
    """Run ``policygraph serve --data DATA --port 0 OPTIONS…`` until the block ends."""
    command = [sys.executable, "-m", "policygraph", "serve", "--data", str(data), "--port", "0"]
    process = subprocess.Popen(
        [*command, *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    output: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:  # keeps draining the pipe so the server never blocks on it
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = _URL.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    ready.wait(startup)
    if not found:
        process.kill()
        raise RuntimeError("policygraph serve did not start:\n" + "".join(output))
    served = Served(found[0], process, output)
    try:
        yield served
    finally:
        workers = served.workers()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        leftover = [pid for pid in workers if alive(pid)]
        assert not leftover, f"SPARQL workers outlived the server: {leftover}"
