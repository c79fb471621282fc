"""SPARQL queries run in worker processes, so a query past its time can really be stopped.

pyoxigraph evaluates a query inside one call that Python cannot interrupt: a thread
stuck in it keeps burning a core after the client has been told "timeout". So every
query runs in a separate process that holds its own copy of the build; on timeout the
process is killed (SIGKILL) — the only stop that always works — and a fresh worker is
started in the background to take its place. Workers are started with ``spawn`` (a
clean interpreter), because forking a multi-threaded web server can copy a held lock
into the child.

The build's quads are not copied per worker when the build is large: the pool finds
(or makes, once) the build's persistent store in the parent (:mod:`policygraph.store`),
and every worker opens that same store read-only — one copy on disk, shared through the
page cache. A small build is loaded into each worker's memory, which is faster there.

A worker also applies the row cap: it reads at most ``max_rows`` solutions (or triples)
from the engine, notes whether more were there, and serialises only what it kept, so a
huge result never crosses the pipe.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from policygraph.store import Location

log = logging.getLogger(__name__)

__all__ = [
    "Answer",
    "PoolBusy",
    "QueryFailed",
    "QueryJob",
    "QueryTimeout",
    "WorkerPool",
    "run_job",
]

SPARQL_JSON = "application/sparql-results+json"
SPARQL_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclass(frozen=True)
class QueryJob:
    """One query as the endpoint hands it to a worker (picklable)."""

    query: str
    form: str  # SELECT, ASK, CONSTRUCT or DESCRIBE
    media_type: str  # the negotiated result type
    max_rows: int
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    truncation_link: str | None = None  # URL put in the results' head when rows are cut
    prefixes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Answer:
    """A serialised result, ready to send."""

    body: bytes
    media_type: str
    rows: int
    truncated: bool
    seconds: float = 0.0


class QueryFailed(Exception):
    """The engine rejected the query; ``syntax`` tells a parse error from an evaluation error."""

    def __init__(self, message: str, syntax: bool):
        super().__init__(message)
        self.syntax = syntax


class QueryTimeout(Exception):
    """The query ran past the time limit; its worker was killed."""


class PoolBusy(Exception):
    """Every worker stayed busy for the whole wait."""


# ---------------------------------------------------------------------------
# Running one job (inside a worker; also usable in-process)


def _json_term(term: Any) -> dict[str, Any]:
    """A term as SPARQL 1.1 Query Results JSON writes it (RDF-star triples included)."""
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Triple):
        parts = {"subject": term.subject, "predicate": term.predicate, "object": term.object}
        return {"type": "triple", "value": {k: _json_term(v) for k, v in parts.items()}}
    value: dict[str, Any] = {"type": "literal", "value": term.value}
    if term.language:
        value["xml:lang"] = term.language
    elif term.datatype.value != XSD_STRING:
        value["datatype"] = term.datatype.value
    return value


def _select(answer: Any, job: QueryJob) -> Answer:
    """Keep at most ``max_rows`` solutions; write JSON, converting for XML, CSV and TSV."""
    import pyoxigraph as ox

    names = [variable.value for variable in answer.variables]
    bindings: list[dict[str, Any]] = []
    truncated = False
    for solution in answer:
        if len(bindings) >= job.max_rows:
            truncated = True
            break
        row = {}
        for name in names:
            term = solution[name]
            if term is not None:
                row[name] = _json_term(term)
        bindings.append(row)
    head: dict[str, Any] = {"vars": names}
    if truncated and job.truncation_link:
        head["link"] = [job.truncation_link]  # SPARQL 1.1 JSON results §3.1.1
    body = json.dumps({"head": head, "results": {"bindings": bindings}}, ensure_ascii=False)
    data = body.encode("utf-8")
    if job.media_type != SPARQL_JSON:
        fmt = ox.QueryResultsFormat.from_media_type(job.media_type)
        data = ox.parse_query_results(data, format=ox.QueryResultsFormat.JSON).serialize(format=fmt)
        if truncated and job.truncation_link and job.media_type == SPARQL_XML:
            data = _xml_head_link(data, job.truncation_link)
    return Answer(data, job.media_type, len(bindings), truncated)


def _xml_head_link(data: bytes, href: str) -> bytes:
    """Add ``<link href="…"/>`` to the results' ``<head>`` (SPARQL XML results §2.3.1)."""
    from xml.sax.saxutils import quoteattr

    link = f"<link href={quoteattr(href)}/>".encode()
    if b"</head>" in data:
        return data.replace(b"</head>", link + b"</head>", 1)
    return data.replace(b"<head/>", b"<head>" + link + b"</head>", 1)


def _boolean(answer: Any, job: QueryJob) -> Answer:
    import pyoxigraph as ox

    fmt = ox.QueryResultsFormat.from_media_type(job.media_type)
    return Answer(answer.serialize(format=fmt), job.media_type, 1, False)


def _graph(answer: Any, job: QueryJob) -> Answer:
    """Keep at most ``max_rows`` triples; Turtle and N-Triples say in a comment when cut."""
    import pyoxigraph as ox

    triples = []
    truncated = False
    for triple in answer:
        if len(triples) >= job.max_rows:
            truncated = True
            break
        triples.append(triple)
    fmt = ox.RdfFormat.from_media_type(job.media_type)
    prefixes = dict(job.prefixes) if fmt == ox.RdfFormat.TURTLE else None
    data = ox.serialize(triples, format=fmt, prefixes=prefixes)
    if truncated and fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.N_TRIPLES):
        note = f"# results truncated to the first {job.max_rows} triples"
        if job.truncation_link:
            note += f"; see {job.truncation_link}"
        data += f"{note}\n".encode()
    return Answer(data, job.media_type, len(triples), truncated)


def run_job(store: Any, job: QueryJob) -> Answer:
    """Evaluate ``job`` on ``store`` (no time limit here: the pool enforces it).

    :raises QueryFailed: when the engine cannot parse or evaluate the query.
    """
    import pyoxigraph as ox

    started = time.perf_counter()
    options: dict[str, Any] = {}
    if job.default_graphs or job.named_graphs:
        options["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs] or [
            ox.DefaultGraph()
        ]
        options["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs]
    else:
        options["use_default_graph_as_union"] = True
    try:
        answer = store.query(job.query, **options)
        if isinstance(answer, ox.QuerySolutions):
            result = _select(answer, job)
        elif isinstance(answer, ox.QueryBoolean):
            result = _boolean(answer, job)
        else:
            result = _graph(answer, job)
    except SyntaxError as exc:
        raise QueryFailed(str(exc), syntax=True) from None
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        raise QueryFailed(str(exc), syntax=False) from None
    seconds = time.perf_counter() - started
    return Answer(result.body, result.media_type, result.rows, result.truncated, seconds)


# ---------------------------------------------------------------------------
# The worker process


def _limit_memory(megabytes: int) -> None:
    """Cap the worker's address space, so a runaway query dies instead of the machine."""
    if megabytes <= 0:
        return
    import resource

    limit = megabytes * 1024 * 1024
    with contextlib.suppress(ValueError, OSError):  # a platform without RLIMIT_AS
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the server dies, even mid-query (best effort)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def _worker_main(conn: Connection, location: Location, memory_mb: int) -> None:
    """Open (or load) the build, say ready, then answer jobs until the pipe closes."""
    _die_with_parent()
    _limit_memory(memory_mb)
    try:
        store = location.open()
    except Exception as exc:  # the parent reports it; a worker has no one else to tell
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", run_job(store, job)))
        except QueryFailed as exc:
            conn.send(("failed-syntax" if exc.syntax else "failed-eval", str(exc)))
        except MemoryError:
            conn.send(("failed-eval", "the query needed more memory than a worker may use"))
        except Exception as exc:  # keep the worker alive; the client gets a 500 with the cause
            conn.send(("failed-eval", f"{type(exc).__name__}: {exc}"))


@dataclass
class _Worker:
    process: Any
    conn: Connection
    pid: int = 0
    jobs: int = field(default=0)


class WorkerPool:
    """A fixed number of query workers, each killed and replaced when a query overruns.

    :param data: the build folder, or where :func:`policygraph.store.locate` found its
        quads (the store every worker opens, or the dump each one loads).
    :param size: number of workers, i.e. queries evaluated at once.
    :param timeout: seconds a query may run; also the longest wait for a free worker.
    :param memory_mb: address-space cap per worker (0: none).
    """

    def __init__(self, data: Path | Location, size: int, timeout: float, memory_mb: int = 0):
        self.data = data
        self.location: Location | None = None
        self.size = max(1, size)
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._workers: set[int] = set()
        self._closed = False
        self.started = 0
        self.killed = 0
        self._ready_timeout = 300.0
        self._requests: queue.Queue[Future[_Worker] | None] = queue.Queue()
        self._spawner = threading.Thread(
            target=self._spawner_loop, name="sparql-worker-spawner", daemon=True
        )

    # -- life cycle ------------------------------------------------------------

    def start(self, ready_timeout: float = 300.0) -> None:
        """Start every worker and wait until each has loaded the build.

        All workers are started by one long-lived thread: Linux's parent-death signal
        (which stops a worker when the server dies mid-query) follows the *thread* that
        started a process, so a short-lived thread would take its workers with it.
        """
        from policygraph.store import Location, locate

        self.location = self.data if isinstance(self.data, Location) else locate(Path(self.data))
        self._ready_timeout = ready_timeout
        self._spawner.start()
        for request in [self._request_worker() for _ in range(self.size)]:
            self._idle.put(request.result())

    def _request_worker(self) -> Future[_Worker]:
        request: Future[_Worker] = Future()
        self._requests.put(request)
        return request

    def _spawner_loop(self) -> None:
        """Start workers on request, several at once when several are asked for."""
        while True:
            batch = [self._requests.get()]
            while not self._requests.empty():
                batch.append(self._requests.get_nowait())
            live = [request for request in batch if request is not None]
            started = []
            for request in live:
                try:
                    started.append((request, self._spawn()))
                except OSError as exc:
                    request.set_exception(RuntimeError(f"cannot start a SPARQL worker: {exc}"))
            for request, worker in started:
                try:
                    self._await_ready(worker, self._ready_timeout)
                except RuntimeError as exc:
                    request.set_exception(exc)
                else:
                    request.set_result(worker)
            if len(live) < len(batch):  # None: the pool is closing
                return

    def _spawn(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main,
            args=(child, self.location, self.memory_mb),
            name="policygraph-sparql-worker",
            daemon=True,
        )
        process.start()
        child.close()
        self.started += 1
        return _Worker(process, parent)

    def _await_ready(self, worker: _Worker, ready_timeout: float) -> None:
        if not worker.conn.poll(ready_timeout):
            self._kill(worker)
            raise RuntimeError(f"a SPARQL worker did not load the build in {ready_timeout:.0f}s")
        try:
            status, detail = worker.conn.recv()
        except EOFError:
            self._kill(worker)
            raise RuntimeError(
                "a SPARQL worker died while loading the build (too little memory for it? "
                "see --worker-memory-mb)"
            ) from None
        if status != "ready":
            self._kill(worker)
            raise RuntimeError(f"a SPARQL worker could not load the build: {detail}")
        worker.pid = detail
        with self._lock:
            self._workers.add(worker.pid)

    def _kill(self, worker: _Worker) -> None:
        """Stop a worker for good: SIGKILL, reap it, forget it."""
        worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        with self._lock:
            self._workers.discard(worker.pid)
        self.killed += 1

    def _replace(self, attempt: int = 1) -> None:
        """Have a worker started in the background to take a killed one's place."""
        if self._closed:
            return

        def arrived(request: Future[_Worker]) -> None:
            error = request.exception()
            if error is None:
                worker = request.result()
                if self._closed:
                    self._kill(worker)
                else:
                    self._idle.put(worker)
            elif attempt < 3:
                log.error("replacing a SPARQL worker (attempt %d): %s", attempt, error)
                self._replace(attempt + 1)
            else:
                log.error("gave up replacing a SPARQL worker: %s", error)

        self._request_worker().add_done_callback(arrived)

    def close(self) -> None:
        """Kill every worker (idle ones now; busy ones as their queries return)."""
        self._closed = True
        self._requests.put(None)
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            self._kill(worker)

    @property
    def pids(self) -> set[int]:
        """Process ids of the live workers (for tests and the status line)."""
        with self._lock:
            return set(self._workers)

    # -- running ---------------------------------------------------------------

    def run(self, job: QueryJob) -> Answer:
        """Answer ``job`` in a worker within the time limit.

        :raises PoolBusy: no worker became free within the time limit.
        :raises QueryTimeout: the query overran; its worker was killed and is being replaced.
        :raises QueryFailed: the engine rejected the query.
        """
        try:
            worker = self._idle.get(timeout=self.timeout)
        except queue.Empty:
            raise PoolBusy() from None
        try:
            worker.conn.send(job)
            if not worker.conn.poll(self.timeout):
                self._kill(worker)
                self._replace()
                raise QueryTimeout()
            status, payload = worker.conn.recv()
        except (EOFError, OSError):
            self._kill(worker)
            self._replace()
            raise QueryFailed(
                "the query worker died (most likely the query needed too much memory)",
                syntax=False,
            ) from None
        worker.jobs += 1
        if self._closed:
            self._kill(worker)
        else:
            self._idle.put(worker)
        if status == "ok":
            return payload
        raise QueryFailed(payload, syntax=status == "failed-syntax")
