"""Keeping the build cache from growing without end: how big it is, and pruning it.

The cache is keyed by content (:mod:`policygraph.buildcache`), so nothing in it ever
becomes wrong — but every edited document, every new version of the tool and every
corpus built with the same cache folder leaves entries that no build will read again.
At corpus scale that is gigabytes (about the size of the dumps per build).

A build refreshes the modification time of each entry it reads, so "unused for N
days" is the time since any build last needed an entry: pruning by it keeps what
current builds use, whichever corpus they belong to, and drops the rest. The similarity
search's state (``search/``, see :mod:`policygraph.similarity_update`) is one unit,
used when its state file was last written: it goes whole or stays whole, and without
it the next build searches afresh. Only files the cache itself writes are touched —
entries, their temporary files, output ledgers, the search's state — so pointing
``--cache-dir`` at the wrong folder removes nothing else.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from policygraph.buildcache import ENTRY_SUFFIX, SEARCH_FOLDER, TEMPORARY_PREFIX
from policygraph.outputledger import LEDGER_FOLDER, is_temporary

_ENTRY = re.compile(rf"^[0-9a-f]{{64}}{re.escape(ENTRY_SUFFIX)}$")
_SHARD = re.compile(r"^[0-9a-f]{2}$")
_LEDGER = re.compile(r"^[0-9a-f]+\.json$")
#: A temporary file this old belongs to a build that was killed, not one running.
STALE_TEMPORARY_SECONDS = 24 * 3600

Kind = Literal["entry", "temporary", "ledger", "state"]
#: The search state's file, and the folders of vectors it names (see similarity_update).
_STATE_FILE = "state.pickle"
_STATE_PART = re.compile(r"^(base-\w+|\.tmp-state-\w+)$")


@dataclass(frozen=True)
class CacheFile:
    path: Path
    kind: Kind
    size: int
    used: float  # modification time: when a build last wrote or read it


@dataclass
class Usage:
    folder: Path
    entries: int = 0
    ledgers: int = 0
    bytes: int = 0
    state_bytes: int = 0  # of the similarity search's state, counted in ``bytes`` too
    oldest_use: float | None = None
    newest_use: float | None = None


@dataclass
class Pruned:
    removed: int = 0
    freed: int = 0
    kept: int = 0


def cache_files(folder: Path) -> Iterator[CacheFile]:
    """Every file the cache wrote in ``folder``; nothing else found there."""
    if not folder.is_dir():
        return
    for shard in folder.iterdir():
        if shard.is_dir() and _SHARD.match(shard.name):
            for path in shard.iterdir():
                if path.name.startswith(TEMPORARY_PREFIX):
                    yield from _cache_file(path, "temporary")
                elif _ENTRY.match(path.name):
                    yield from _cache_file(path, "entry")
    yield from _state_files(folder / SEARCH_FOLDER)
    ledgers = folder / LEDGER_FOLDER
    if ledgers.is_dir():
        for path in ledgers.iterdir():
            if _LEDGER.match(path.name):
                yield from _cache_file(path, "ledger")
            elif is_temporary(path.name):
                yield from _cache_file(path, "temporary")


def _state_files(search: Path) -> Iterator[CacheFile]:
    """The search state's files, each dated when the state was last written."""
    if not search.is_dir():
        return
    state = search / _STATE_FILE
    try:
        written = state.stat().st_mtime
    except OSError:
        written = 0.0  # no state names the vectors: they are of no use
    for path in search.iterdir():
        if path == state:
            yield from _cache_file(path, "state")
        elif _STATE_PART.match(path.name):
            files = path.rglob("*") if path.is_dir() else [path]
            for file in files:
                for found in _cache_file(file, "state"):
                    yield CacheFile(found.path, "state", found.size, max(written, found.used))


def _cache_file(path: Path, kind: Kind) -> Iterator[CacheFile]:
    try:
        stat = path.stat()
    except OSError:  # removed meanwhile by a build or another prune
        return
    yield CacheFile(path, kind, stat.st_size, stat.st_mtime)


def usage(folder: Path) -> Usage:
    """How many entries and ledgers the cache holds, their bytes, and when they were used."""
    found = Usage(folder)
    for file in cache_files(folder):
        found.bytes += file.size
        if file.kind == "temporary":
            continue
        if file.kind == "ledger":
            found.ledgers += 1
        elif file.kind == "state":
            found.state_bytes += file.size
        else:
            found.entries += 1
        found.oldest_use = min(found.oldest_use or file.used, file.used)
        found.newest_use = max(found.newest_use or file.used, file.used)
    return found


def prune(folder: Path, unused_for: float | None, now: float | None = None) -> Pruned:
    """Remove what no build used for ``unused_for`` seconds (None: everything).

    Temporary files are removed once older than :data:`STALE_TEMPORARY_SECONDS`, or
    all of them with ``unused_for=None``, and emptied shard folders go too.
    """
    now = time.time() if now is None else now
    result = Pruned()
    for file in cache_files(folder):
        if unused_for is not None:
            limit = STALE_TEMPORARY_SECONDS if file.kind == "temporary" else unused_for
            if now - file.used < limit:
                result.kept += 1
                continue
        try:
            file.path.unlink()
        except FileNotFoundError:
            continue
        result.removed += 1
        result.freed += file.size
    for shard in folder.iterdir() if folder.is_dir() else ():
        if shard.is_dir() and (_SHARD.match(shard.name) or shard.name == LEDGER_FOLDER):
            with contextlib.suppress(OSError):  # only when empty
                shard.rmdir()
    search = folder / SEARCH_FOLDER
    if search.is_dir():
        for part in [*search.iterdir(), search]:
            if part.is_dir() and (part == search or _STATE_PART.match(part.name)):
                with contextlib.suppress(OSError):  # only when empty
                    part.rmdir()
    return result
