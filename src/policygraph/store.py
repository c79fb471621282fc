"""A build's quads in a persistent Oxigraph store: made once per build, shared by every reader.

Loading a corpus build's dump into an in-memory store takes minutes and gigabytes, and
``policygraph serve`` did it three times (the server and each SPARQL worker) on every
start. A large build is therefore bulk-loaded once into an on-disk (RocksDB) store that
every process opens read-only: one copy on disk, shared through the page cache, open in
milliseconds.

Where: ``BUILD/.oxigraph/`` — inside the build, because ``policygraph build`` replaces
the build folder as a whole (``pipeline.atomic_output``), so the store disappears with
the build it was made from: no store outlives its build and none needs collecting
(a rebuild that keeps the dump itself — nothing changed, or every part of a dump in
parts — moves the store along with it: :func:`carry_over`). The
name starts with a dot, so nothing that lists a build's files sees it: the server's
``/dumps/`` and home page (dot names refused; a folder has no dump suffix), ``site``
(skips dot names), ``load`` (reads ``policygraph.nq``, or its parts, by name), and the VoID
description (written by the build, before any store exists). A build in a folder this
process cannot write to is loaded into memory instead, with a notice.

How it is made: the N-Quads dump is bulk-loaded in chunks of whole lines by a few
threads (``Store.bulk_load`` releases the GIL; one call over the whole file keeps three
batches of a million quads in memory, ~2 GB at 5M quads, while chunks bound it to a few
hundred MB), then compacted (``optimize``: fewer, sorted files answer lookups faster).
All of it happens in ``BUILD/.oxigraph.new-*``, which is renamed into place only when
complete, with its marker ``made-from.json`` written last. So a store killed half-way is
never taken for a complete one: a folder without a marker that matches the dump (its
name, size, modification time and inode, the pyoxigraph version) is rebuilt, and so is
a store that fails to open. An exclusive lock on the build folder makes processes that
start together wait for one maker instead of each making a copy.

The marker also records the triples of each named graph, so a server need not scan
every quad at start to count them, and the graphs each file of the dump holds. A
rebuild of a dump in parts keeps most parts as they were; the first reader then
updates the store in place instead of making it again: it drops the graphs of the parts
that are gone and loads the new parts (and any kept part that shares a graph with
them). The marker is removed before and written after, so a killed update leaves a
store that is made again. When the graphs to drop are large (the corpus-wide links
graph, after an edit that changed similarity links), the store is made afresh.

Small builds (a dump under :data:`IN_MEMORY_BELOW` bytes) are loaded into memory as
before: there, loading takes a fraction of a second and the in-memory store answers
queries several times faster than RocksDB (bench/README.md, "serving a corpus build").

The store holds the dump's quads only — exactly what an in-memory load of the dump
holds — so SPARQL answers do not depend on the size of the build; the server layers the
VoID description over it for its pages (:class:`policygraph.lod.BuildView`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from policygraph.errors import PolicyGraphError

log = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["IN_MEMORY_BELOW", "STORE_DIR", "Location", "StoreError", "carry_over", "locate"]

#: Dumps smaller than this many bytes are loaded into memory instead (see the docstring).
IN_MEMORY_BELOW = 64 * 1024 * 1024
#: The store's folder inside the build; its temporary and retired twins share the prefix.
STORE_DIR = ".oxigraph"
MARKER = "made-from.json"
DATABASE = "db"
#: Bumped when what a store holds or how its marker reads changes: older stores are rebuilt.
LAYOUT = 3  # 2: the marker names every file of a dump in parts; 3: and their graphs
#: Bytes per bulk-load call (cut at a line end) and threads making calls at once.
CHUNK_BYTES = 32 * 1024 * 1024
LOAD_THREADS = max(1, min(4, os.cpu_count() or 1))
PERSISTENT_SUFFIX = ".nq"  # chunks of whole lines are valid N-Quads; other formats are not
#: A gzip dump is weighed at this many times its size on disk against IN_MEMORY_BELOW
#: (the build's N-Quads compress about tenfold), so it is not held in memory when the
#: plain one would not be.
GZIP_RATIO = 8


class StoreError(PolicyGraphError):
    """The dump cannot be loaded into a store: it is not valid N-Quads."""


@dataclass(frozen=True)
class Location:
    """Where a build's quads are read from: an on-disk store, or the dump loaded in memory.

    Picklable, so the server hands its workers the very store it opened itself.
    """

    dumps: tuple[Path, ...]  # the N-Quads dump's files: the one file, or its parts
    store: Path | None = None  # the store folder (holding DATABASE and MARKER); None: memory

    @property
    def persistent(self) -> bool:
        return self.store is not None

    def open(self) -> Any:
        """The quads as a ``pyoxigraph.Store``: read-only on disk, or freshly loaded."""
        import pyoxigraph as ox

        if self.store is None:
            from policygraph.query import load_in_memory

            return load_in_memory(self.dumps)
        return ox.Store.read_only(str(self.store / DATABASE))

    def graph_sizes(self) -> dict[str, int] | None:
        """Triples per named graph as counted when the store was made (None: in memory)."""
        if self.store is None:
            return None
        marker = _read_marker(self.store)
        return dict(marker["graphs"]) if marker else None


def carry_over(old_build: Path, new_build: Path) -> None:
    """Move the store of ``old_build`` into ``new_build`` (before the new build replaces it).

    The build calls this when it kept the N-Quads dump, or some parts of it
    (hard-linked). The marker still names those files (same inodes, sizes and times), so
    readers of the new build take the store as theirs instead of making it again
    (minutes at corpus size); when some parts changed, the first reader updates it
    (:func:`_update`), or makes it again when too much changed.
    """
    source, target = old_build / STORE_DIR, new_build / STORE_DIR
    if (source / MARKER).is_file() and not target.exists():
        with contextlib.suppress(OSError):  # no store moved: readers make one as ever
            os.rename(source, target)


def locate(data: Path, notice: Callable[[str], None] | None = None) -> Location:
    """Where to read the build in ``data`` from, making its store first if it needs one.

    :param notice: told when a store is being made (it takes a while) or cannot be
        (default: a logged warning).
    :raises StoreError: when the dump is not valid N-Quads.
    """
    from policygraph import dumpfile
    from policygraph.query import data_files_for

    dumps = tuple(data_files_for([data]))
    size = sum(d.stat().st_size * (GZIP_RATIO if dumpfile.is_compressed(d) else 1) for d in dumps)
    if dumpfile.rdf_suffix(dumps[0]) != PERSISTENT_SUFFIX or size < IN_MEMORY_BELOW:
        return Location(dumps)
    folder = data / STORE_DIR
    if _usable(folder, dumps):
        return Location(dumps, folder)
    say = notice or log.warning
    try:
        with _locked(data):
            # another process may have made it meanwhile; else update it, else make it
            if not _usable(folder, dumps) and not _update(folder, dumps, say):
                _make(dumps, folder, say)
    except OSError as exc:  # a read-only folder, a full disk: memory still works
        reason = exc.strerror or str(exc)
        say(f"cannot keep a query store in {data} ({reason}); loading into memory")
        return Location(dumps)
    return Location(dumps, folder)


# -- the marker -------------------------------------------------------------------------


def signature(dumps: Sequence[Path]) -> dict[str, Any]:
    """What identifies the dump a store was made from, cheaply: no byte is read.

    ``policygraph build`` writes a new file (a new inode) each time; an edit in place
    changes the size or the modification time. A dump in parts is identified by every
    part, in order.
    """
    import pyoxigraph as ox

    files = []
    for dump in dumps:
        stat = dump.stat()
        files.append([dump.name, stat.st_size, stat.st_mtime_ns, stat.st_ino])
    return {"layout": LAYOUT, "pyoxigraph": ox.__version__, "files": files}


def _read_marker(folder: Path) -> dict[str, Any] | None:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return marker if isinstance(marker, dict) else None


def _usable(folder: Path, dumps: Sequence[Path]) -> bool:
    """A complete store made from this very dump (its marker says so) that opens."""
    marker = _read_marker(folder)
    if marker is None or marker.get("made-from") != signature(dumps):
        return False
    if not isinstance(marker.get("graphs"), dict) or not (folder / DATABASE).is_dir():
        return False
    import pyoxigraph as ox

    try:
        ox.Store.read_only(str(folder / DATABASE))
    except OSError as exc:
        log.warning("%s: the query store does not open (%s); making it again", folder, exc)
        return False
    return True


# -- making a store -----------------------------------------------------------------------


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on the build folder itself (no lock file to leave behind)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _make(dumps: Sequence[Path], folder: Path, say: Callable[[str], None]) -> None:
    """Make the store of ``dumps`` in a temporary folder, then put it in ``folder``'s place."""
    for stale in folder.parent.glob(f"{STORE_DIR}.*"):  # left by a maker that was killed
        shutil.rmtree(stale, ignore_errors=True)
    megabytes = sum(dump.stat().st_size for dump in dumps) / 2**20
    what = str(dumps[0]) if len(dumps) == 1 else f"{dumps[0].parent}/ ({len(dumps)} parts)"
    say(f"making the query store of {what} ({megabytes:.0f} MB; once per build) …")
    started = time.perf_counter()
    staging = Path(tempfile.mkdtemp(prefix=f"{STORE_DIR}.new-", dir=folder.parent))
    try:
        made_from = signature(dumps)
        graphs, held = _fill(dumps, staging / DATABASE)
        marker = {"made-from": made_from, "graphs": graphs, "held": held}
        marker["seconds"] = round(time.perf_counter() - started, 1)
        (staging / MARKER).write_text(json.dumps(marker, sort_keys=True), encoding="utf-8")
        staging.chmod(0o755)
        _swap(staging, folder)
    finally:
        _remove(staging)
    say(f"query store made in {time.perf_counter() - started:.0f}s: {folder}")


#: A store is updated in place only when the graphs to drop hold at most this many
#: triples (documents' graphs; not the corpus-wide links graph): dropping a graph is one
#: transaction, held in memory.
UPDATE_MAX_TRIPLES = 2_000_000


def _update(folder: Path, dumps: Sequence[Path], say: Callable[[str], None]) -> bool:
    """Bring the store made from an earlier build's dump in parts up to ``dumps``, when
    most parts are the very files it was made from (a rebuild keeps unchanged parts,
    hard-linked, perhaps under another number); False when it cannot, and it must be
    made afresh.

    The graphs held by the parts that are gone are dropped, then every new part, and
    every kept part holding one of those graphs, is loaded again. The marker is removed
    first and written back last, so an update killed half-way leaves a store that the
    next reader makes again.
    """
    import pyoxigraph as ox

    marker = _read_marker(folder)
    wanted = signature(dumps)
    if marker is None or not (folder / DATABASE).is_dir():
        return False
    made_from, held, counts = marker.get("made-from"), marker.get("held"), marker.get("graphs")
    if not isinstance(made_from, dict) or not isinstance(counts, dict):
        return False
    if made_from == wanted:  # made from these very files, yet not usable: it is broken
        return False
    if any(made_from.get(key) != wanted[key] for key in ("layout", "pyoxigraph")):
        return False
    old_files = made_from.get("files")
    if not isinstance(held, list) or not isinstance(old_files, list):
        return False
    if len(held) != len(old_files):
        return False
    old = {tuple(file[1:]): set(graphs) for file, graphs in zip(old_files, held, strict=True)}
    new = [tuple(file[1:]) for file in wanted["files"]]  # size, time, inode: not the name
    kept = [key for key in new if key in old]
    if len(kept) * 2 < len(new):
        return False
    gone = set().union(*(graphs for key, graphs in old.items() if key not in new))
    if sum(int(counts.get(graph, 0)) for graph in gone) > UPDATE_MAX_TRIPLES:
        return False
    again = [i for i, key in enumerate(new) if key not in old or old[key] & gone]
    say(f"updating the query store of {folder.parent}: {len(again)} of {len(new)} parts …")
    started = time.perf_counter()
    (folder / MARKER).unlink()

    def change(store: Any) -> dict[int, list[str]]:
        for graph in sorted(gone):
            store.remove_graph(ox.NamedNode(graph))
            counts.pop(graph, None)
        found = _bulk_load(store, [dumps[i] for i in again])
        loaded = {i: sorted(graphs) for i, graphs in zip(again, found, strict=True)}
        for graph in sorted(set().union(*loaded.values())):
            query = f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
            counts[graph] = int(next(iter(store.query(query)))["n"].value)
        return loaded

    try:
        loaded = _in_store(folder / DATABASE, change)
    except RuntimeError as exc:  # RocksDB found it damaged: made afresh instead
        log.warning("%s: the query store does not open (%s); making it again", folder, exc)
        return False
    marker = {
        "made-from": wanted,
        "graphs": counts,
        "held": [loaded[i] if i in loaded else sorted(old[key]) for i, key in enumerate(new)],
        "seconds": round(time.perf_counter() - started, 1),
    }
    (folder / MARKER).write_text(json.dumps(marker, sort_keys=True), encoding="utf-8")
    say(f"query store updated in {time.perf_counter() - started:.0f}s: {folder}")
    return True


def _fill(dumps: Sequence[Path], database: Path) -> tuple[dict[str, int], list[list[str]]]:
    """Bulk-load the dump's files, compact the store, count each graph's triples.
    Returns the counts and the graphs each file holds."""

    def fill(store: Any) -> tuple[dict[str, int], list[list[str]]]:
        held = [sorted(found) for found in _bulk_load(store, dumps)]
        store.optimize()
        query = "SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
        return {row["g"].value: int(row["n"].value) for row in store.query(query)}, held

    return _in_store(database, fill)


def _in_store(database: Path, work: Callable[[Any], T]) -> T:
    """``work`` done on the store at ``database`` (made if missing), then the store closed.

    The store closes when its last reference goes, and a failure's traceback holds
    references in the frames it passed through; those are cleared, so a failed store is
    closed before its folder is removed.
    """
    import pyoxigraph as ox

    store = ox.Store(str(database))
    try:
        done = work(store)
        store.flush()
        return done
    except BaseException as exc:
        traceback.clear_frames(exc.__traceback__)
        raise
    finally:
        del store


def _bulk_load(store: Any, dumps: Sequence[Path]) -> list[set[str]]:
    """Load the files in chunks of whole lines, on :data:`LOAD_THREADS` threads; the IRIs
    of the graphs each file holds (the last IRI of each line: a build writes no blank
    graph names).

    The threads take chunks from one file after another, so none waits for the last
    chunk of a part while the next part could be loading. ``lenient``: the dump is the
    build's own output, written by a serialiser from validated terms; checking every
    IRI again only costs time (about a quarter of it).
    """
    lock = threading.Lock()
    failures: list[BaseException] = []
    graphs: list[set[bytes]] = [set() for _ in dumps]
    chunks = _Chunks(dumps)

    def work() -> None:
        while not failures:
            try:
                with lock:
                    taken = chunks.next()
                if taken is None:
                    return
                index, first_line, chunk = taken
                _load_chunk(store, chunk, dumps[index], first_line)
                found = _graphs_in(chunk)
                with lock:
                    graphs[index].update(found)
            except (StoreError, OSError) as exc:
                failures.append(exc)

    try:
        threads = [threading.Thread(target=work) for _ in range(LOAD_THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        chunks.close()
    if failures:
        raise failures[0]
    return [{iri.decode("utf-8") for iri in found} for found in graphs]


class _Chunks:
    """Chunks of whole lines of the files, in order, each with its file and first line."""

    def __init__(self, dumps: Sequence[Path]) -> None:
        self.dumps, self.index, self.lines = list(dumps), 0, 0
        self.handle: Any = None

    def next(self) -> tuple[int, int, bytes] | None:
        """The next chunk: (the file's index, the number of its first line, the bytes)."""
        from policygraph import dumpfile

        while self.index < len(self.dumps):
            path = self.dumps[self.index]
            try:
                if self.handle is None:
                    self.handle, self.lines = dumpfile.open_dump(path), 0
                chunk = self.handle.read(CHUNK_BYTES)
                if chunk and not chunk.endswith(b"\n"):
                    chunk += self.handle.readline()
            except dumpfile.DECOMPRESSION_ERRORS as exc:
                raise StoreError(f"cannot be decompressed: {exc}", path) from None
            if chunk:
                first = self.lines + 1
                self.lines += chunk.count(b"\n")
                return self.index, first, chunk
            self.close()
            self.index += 1
        return None

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


#: The graph name at the end of an N-Quads line of a build: ``… <graph> .``
_GRAPH_NAME = re.compile(rb" <([^<>\s]*)> \.[ \t]*\r?(?:\n|\Z)")


def _graphs_in(chunk: bytes) -> set[bytes]:
    """The names of the graphs a chunk of whole N-Quads lines puts quads in.

    A build writes each graph's quads as one run of lines, so after reading a line's
    graph this skips ahead over the lines that end in the same graph, in windows that
    double, as long as two counts (lines, and lines ending so) show that every line
    skipped is in it: passes at memory speed, not a regular expression over every line
    (which took a fifth of the time of making the store). Lines in any other order are
    read one by one.
    """
    found: set[bytes] = set()
    position, size = 0, len(chunk)
    while position < size:
        end = chunk.find(b"\n", position) + 1 or size
        matched = _GRAPH_NAME.search(chunk, position, end)
        if matched is None:  # a blank line, or a triple in the default graph
            position = end
            continue
        found.add(matched[1])
        ending = b" <" + matched[1] + b"> .\n"
        position, window = end, 1 << 16
        while (last := chunk.rfind(ending, position, min(size, position + window))) >= 0:
            stop = last + len(ending)
            if chunk.count(b"\n", position, stop) != chunk.count(ending, position, stop):
                found.update(_GRAPH_NAME.findall(chunk, position))  # the graph comes back
                return found
            position, window = stop, window * 2
    return found


def _load_chunk(store: Any, chunk: bytes, dump: Path, first_line: int) -> None:
    """One chunk into the store; a syntax error names its line in the whole dump."""
    import pyoxigraph as ox

    try:
        store.bulk_load(chunk, format=ox.RdfFormat.N_QUADS, lenient=True)
    except SyntaxError as exc:
        reason = (exc.msg or "").split(": ", 1)[-1] or "invalid syntax"
        line = first_line + exc.lineno - 1 if exc.lineno else None
        raise StoreError(f"not valid N-Quads: {reason}", dump, line) from None


def _swap(staging: Path, folder: Path) -> None:
    """Put ``staging`` in ``folder``'s place; a previous store is moved aside, then removed."""
    if folder.exists():
        retired = Path(tempfile.mkdtemp(prefix=f"{STORE_DIR}.old-", dir=folder.parent))
        os.replace(folder, retired / folder.name)
        os.replace(staging, folder)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, folder)


def _remove(folder: Path, attempts: int = 100) -> None:
    """Remove a folder a failed load may still be writing to, until it stays removed.

    When the parser fails, pyoxigraph's bulk loader returns without waiting for the
    threads that write the batches already read; they go on adding files for a moment.
    Once the folder is gone they cannot (RocksDB makes its folder only when opening).
    """
    for _ in range(attempts):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.05)
