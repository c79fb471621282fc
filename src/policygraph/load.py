"""Load a build into a graph database, one named graph per document.

The build's N-Quads dump already names a graph per document (``{base}graph/{doc-id}``)
and one for the shared vocabularies. Each graph is *replaced* on the server: with the
SPARQL 1.1 Graph Store HTTP Protocol the first request for a graph is a PUT and the
rest are POSTs; with SPARQL 1.1 Update the first is ``DROP SILENT GRAPH`` plus
``INSERT DATA`` and the rest ``INSERT DATA``. Loading twice therefore leaves the same
store, and a load that stopped half-way is repaired by running it again.

Graphs are sent in chunks of N-Triples because stores stall on very large single
requests (Virtuoso stopped at ~600k triples in one PUT). Triples that share a blank
node always travel in the same chunk: a blank node label means the same node only
within one request.

The dump is streamed, never held: a corpus dump has millions of quads. A thread
parses it and cuts chunks a few requests ahead of the one being sent, so reading
costs no time beside a store that is slower than the parser (all of them, so far).
A graph met again further on in the dump is appended to, not replaced a second time.

Afterwards the triples of each graph are counted on the server (many graphs with
one query) and compared with the distinct triples the dump holds (counted as parsed,
before chunking), so a store that silently dropped or merged triples is reported, not
trusted. The raw parse is counted rather than a pyoxigraph Store, because such stores
canonicalise literals (Oxigraph 0.5 keeps ``"7"^^xsd:nonNegativeInteger`` as
``"7"^^xsd:integer``), which could merge triples the build holds apart.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO, cast
from urllib.parse import urlencode, urlsplit, urlunsplit

from policygraph import dumpfile
from policygraph.credentials import Credentials, credentials_for
from policygraph.errors import PolicyGraphError
from policygraph.httpclient import HttpClient, HttpError, Response, check_url, url_origin
from policygraph.pipeline import DUMP_STEM

if TYPE_CHECKING:
    import pyoxigraph
    from click._termui_impl import ProgressBar

DEFAULT_CHUNK_SIZE = 10_000
DEFAULT_TIMEOUT = 300.0
# Up to this many graphs, each is counted with a query of its own (~5 ms apiece on
# Virtuoso and Oxigraph). Beyond, one query counts every graph of the store: 0.15 s per
# million triples on Virtuoso, 1.5 s on Oxigraph, where 10,000 queries would take ~50 s.
# (Batches of graphs in VALUES cost Virtuoso ~50 ms per graph: worse than one each.)
FEW_GRAPHS = 100
# Chunks cut ahead of the request being sent: enough to keep the store busy, few
# enough that memory stays a few chunks.
READ_AHEAD = 2
PROTOCOLS = ("auto", "gsp", "update")
GRAPH_PARAMS = ("graph", "graph-uri")

N_TRIPLES = "application/n-triples"
FORM = "application/x-www-form-urlencoded"
SPARQL_JSON = "application/sparql-results+json"

# Statuses that mean "no Graph Store Protocol here" rather than "your data is wrong":
# the path does not exist, or the method is not allowed or not implemented.
_GSP_MISSING = frozenset({404, 405, 501})

# Where stores put their endpoints, as (store, GSP path end, query path end, update path
# end). Used only to guess the query and update endpoints from --endpoint; anything
# else must be given. docs/loading.md lists the same table for users.
STORE_LAYOUTS: tuple[tuple[str, str, str, str], ...] = (
    ("Virtuoso", "/sparql-graph-crud-auth", "/sparql", "/sparql-auth"),
    ("Virtuoso", "/sparql-graph-crud", "/sparql", "/sparql-auth"),
    ("Oxigraph", "/store", "/query", "/update"),
    ("Apache Jena Fuseki", "/data", "/query", "/update"),
    ("GraphDB / RDF4J", "/rdf-graphs/service", "", "/statements"),
)


class LoadError(PolicyGraphError):
    """Loading stopped; the message says where and that a rerun repairs the store."""


class LoadInterrupted(LoadError):
    """Ctrl-C during a load: the store may hold part of the build."""

    exit_code = 130


class CountMismatchError(LoadError):
    """The server holds other triple counts than the build; one line per graph."""

    def __init__(self, report: LoadReport) -> None:
        lines = [
            f"  <{g.iri}>: expected {g.expected} triples, found {g.found}"
            for g in report.mismatches
        ]
        super().__init__(
            f"triple counts at {url_origin(report.endpoints.query)} differ from the build "
            f"in {len(lines)} graph(s):\n" + "\n".join(lines)
        )
        self.report = report


@dataclass(frozen=True)
class Endpoints:
    """The URLs a load talks to; ``gsp`` or ``update`` may be unknown (None)."""

    gsp: str | None
    update: str | None
    query: str


@dataclass
class GraphLoad:
    """One named graph of the build: its distinct triples, and what the server holds."""

    iri: str
    expected: int = 0
    chunks: int = 0
    found: int | None = None


@dataclass(frozen=True)
class ChunkSent:
    """Progress after one request: which graph, which of its chunks, how far overall.

    ``total`` is the dump's line count, one quad a line in a build: known before
    reading, which the number of chunks per graph is not.
    """

    graph: str
    chunk: int
    triples: int
    done: int
    total: int


@dataclass
class LoadReport:
    """What was loaded, how, and what the server counted afterwards."""

    graphs: list[GraphLoad]
    protocol: str  # "gsp" or "update": the one actually used
    endpoints: Endpoints
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def mismatches(self) -> list[GraphLoad]:
        return [g for g in self.graphs if g.found != g.expected]

    @property
    def protocol_name(self) -> str:
        return "the Graph Store Protocol" if self.protocol == "gsp" else "SPARQL Update"

    @property
    def triples(self) -> int:
        return sum(g.expected for g in self.graphs)


# -- endpoints ----------------------------------------------------------------


def resolve_endpoints(
    endpoint: str | None,
    query_endpoint: str | None = None,
    update_endpoint: str | None = None,
    protocol: str = "auto",
) -> Endpoints:
    """Check the URLs given and guess the missing ones from the store's known layout.

    :raises PolicyGraphError: when a needed URL is missing and cannot be guessed.
    """
    if protocol not in PROTOCOLS:
        raise PolicyGraphError(f"unknown protocol {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if endpoint:
        check_url(endpoint, "--endpoint")
    elif protocol != "update" or not update_endpoint:
        raise PolicyGraphError("--endpoint URL is required (the store's Graph Store endpoint)")
    update = update_endpoint or (_derive(endpoint, 1, 3) if endpoint else None)
    if update_endpoint:
        check_url(update_endpoint, "--update-endpoint")
    if protocol == "update" and not update:
        raise PolicyGraphError(
            f"cannot tell the SPARQL Update endpoint from {endpoint}; pass --update-endpoint URL"
        )
    query = query_endpoint or (_derive(endpoint, 1, 2) if endpoint else None)
    query = query or (_derive(update, 3, 2) if update else None)
    if not query:
        raise PolicyGraphError(
            f"cannot tell the store's SPARQL query endpoint from {endpoint or update}, which "
            "is needed to count the loaded triples; pass --query-endpoint URL"
        )
    check_url(query, "--query-endpoint")
    return Endpoints(gsp=None if protocol == "update" else endpoint, update=update, query=query)


def _derive(url: str, known: int, wanted: int) -> str | None:
    """Swap one path ending of a known store layout for another (e.g. /store → /query)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    for layout in STORE_LAYOUTS:
        ending = layout[known]
        if ending and path.endswith(ending):
            new_path = path[: -len(ending)] + layout[wanted]
            return urlunsplit((parts.scheme, parts.netloc, new_path or "/", parts.query, ""))
    return None


# -- the build ------------------------------------------------------------------


def dump_files(data: Path) -> list[Path]:
    """The build's N-Quads dump (its one file, or its parts in order), with a clear error
    when there is no build."""
    if not data.is_dir():
        raise PolicyGraphError("no build folder; run `policygraph build` or pass --data DIR", data)
    files = dumpfile.find_all(data, f"{DUMP_STEM}.nq")
    if not files:
        raise PolicyGraphError(
            "the build has no N-Quads dump (plain or .gz, whole or in parts); "
            "run `policygraph build`",
            data / f"{DUMP_STEM}.nq",
        )
    return files


@dataclass(frozen=True)
class Chunk:
    """The N-Triples of one request: part of one graph, its blank-node groups whole."""

    graph: str
    number: int  # 1 for the graph's first chunk, the one that replaces the graph
    data: bytes
    triples: int


class DumpReader:
    """Streams a dump as chunks, and tallies the distinct triples of every graph.

    Memory holds a pool of at most about two chunks of quads, the hashes of the run
    being read, the triples with blank nodes (none in a build) and one record per
    graph: never the dump. Quads are sent in file order as far as the pool allows; a
    graph that comes back after another one is appended to, never replaced twice.

    The distinct triples of a graph read in one run (one block of the file) are
    counted from 64-bit hashes of its quads. A graph met in several runs is counted
    again at the end, in a second pass over the dump restricted to such graphs;
    builds write each graph in one block, so the pass is normally skipped.
    """

    def __init__(self, paths: Sequence[Path], chunk_size: int) -> None:
        if chunk_size < 1:
            raise PolicyGraphError(f"the chunk size must be at least 1 triple, not {chunk_size}")
        self.paths, self.chunk_size = list(paths), chunk_size
        self.path = self.paths[0]  # the file being read, for messages
        scans = [_scan(path) for path in self.paths]
        self.lines = sum(lines for lines, _ in scans)
        self.blank_nodes = any(blank for _, blank in scans)
        self.graphs: dict[str, GraphLoad] = {}
        self._recurring: set[str] = set()
        self._pending: dict[str, list[pyoxigraph.Quad]] = {}
        self._pending_total = 0
        self._run_base = 0  # quads of the current run's graph already in the pool
        self._held: dict[str, list[pyoxigraph.Quad]] = {}
        self._read = 0

    def chunks(self) -> Iterator[Chunk]:
        """Every chunk of the dump; afterwards ``graphs`` holds the expected counts."""
        size, blank_nodes = self.chunk_size, self.blank_nodes
        current: pyoxigraph.NamedNode | None = None
        iri = ""
        buffer: list[pyoxigraph.Quad] = []
        hashes = array("q")
        try:
            for quad in self._quads():
                graph = quad.graph_name
                if graph != current:
                    yield from self._end_run(iri, buffer, hashes)
                    iri = self._start_run(graph)
                    current, buffer, hashes = graph, self._pending.setdefault(iri, []), array("q")
                    self._run_base = len(buffer)
                hashes.append(hash(quad))
                if blank_nodes and _has_blank_node(quad):
                    self._held.setdefault(iri, []).append(quad)
                    continue
                buffer.append(quad)
                if len(buffer) >= size:
                    yield self._chunk(iri, buffer)
                    buffer.clear()
                    self._pending_total -= self._run_base
                    self._run_base = 0
        except SyntaxError as exc:
            raise PolicyGraphError(f"not valid N-Quads: {exc.msg}", self.path, exc.lineno) from None
        except dumpfile.DECOMPRESSION_ERRORS as exc:
            raise PolicyGraphError(f"cannot be decompressed: {exc}", self.path) from None
        yield from self._end_run(iri, buffer, hashes)
        yield from self._flush_pending()
        yield from self._blank_node_chunks()
        if self._recurring:
            self._recount()

    def _start_run(self, graph: pyoxigraph.NamedNode | object) -> str:
        """The IRI of the graph a new run of quads is in; only named graphs are loaded."""
        import pyoxigraph

        if not isinstance(graph, pyoxigraph.NamedNode):
            blank = isinstance(graph, pyoxigraph.BlankNode)
            what = "in a graph named by a blank node" if blank else "outside any named graph"
            raise PolicyGraphError(
                f"quad {self._read + 1} is {what}; load replaces one named graph per "
                "document and never writes a store's default graph",
                self.path,
            )
        iri = graph.value
        if iri in self.graphs:
            self._recurring.add(iri)
        else:
            self.graphs[iri] = GraphLoad(iri)
        return iri

    def _end_run(
        self, iri: str, buffer: list[pyoxigraph.Quad], hashes: array[int]
    ) -> Iterator[Chunk]:
        """Count the run's distinct triples; send the pool once it holds a chunk."""
        if not iri:
            return
        self._read += len(hashes)
        if iri not in self._recurring:
            self.graphs[iri].expected = _distinct(hashes)
        self._pending_total += len(buffer) - self._run_base
        if self._pending_total >= self.chunk_size:
            yield from self._flush_pending()

    def _flush_pending(self) -> Iterator[Chunk]:
        for iri, quads in self._pending.items():
            if quads:
                yield self._chunk(iri, quads)
        self._pending.clear()
        self._pending_total = 0

    def _blank_node_chunks(self) -> Iterator[Chunk]:
        """The triples with blank nodes, at the end: only then is every group complete."""
        for iri, quads in self._held.items():
            for chunk in _chunk(quads, self.chunk_size):
                yield self._chunk(iri, chunk)
        self._held.clear()

    def _quads(self) -> Iterator[pyoxigraph.Quad]:
        """The quads of every file in order; a graph's run goes on from one part into the
        next (the links graph ends one part and begins the next)."""
        import pyoxigraph

        for path in self.paths:
            self.path = path
            yield from dumpfile.parse(path, pyoxigraph.RdfFormat.N_QUADS)

    def _chunk(self, iri: str, quads: list[pyoxigraph.Quad]) -> Chunk:
        graph = self.graphs[iri]
        graph.chunks += 1
        return Chunk(iri, graph.chunks, _ntriples(quads, iri), len(quads))

    def _recount(self) -> None:
        """Exact distinct counts for the graphs met in more than one run of the dump."""

        hashes: dict[str, array[int]] = {iri: array("q") for iri in self._recurring}
        for quad in self._quads():
            found = hashes.get(quad.graph_name.value)
            if found is not None:
                found.append(hash(quad))
        for iri, values in hashes.items():
            self.graphs[iri].expected = _distinct(values)


def _scan(path: Path) -> tuple[int, bool]:
    """The dump's line count (the progress total) and whether it may hold blank nodes.

    One pass over the bytes costs about a second per GB; the lines are the quads of a
    build's dump, one per line. Without any ``_:`` the reader skips looking at every
    term of every quad for blank nodes; a literal that contains ``_:`` only costs that.
    """
    lines, blank, tail = 0, False, b""
    try:
        with dumpfile.open_dump(path) as handle:
            while block := handle.read(1 << 24):
                lines += block.count(b"\n")
                blank = blank or b"_:" in tail + block[:1] or b"_:" in block
                tail = block[-1:]
    except dumpfile.DECOMPRESSION_ERRORS as exc:
        raise PolicyGraphError(f"cannot be decompressed: {exc}", path) from None
    return lines + (1 if tail not in (b"", b"\n") else 0), blank


def _has_blank_node(quad: pyoxigraph.Quad) -> bool:
    import pyoxigraph

    return isinstance(quad.subject, pyoxigraph.BlankNode) or isinstance(
        quad.object, pyoxigraph.BlankNode
    )


def _distinct(hashes: array[int]) -> int:
    """How many different 64-bit hashes; a collision (odds ~n²/2⁶⁵) reports a mismatch."""
    import numpy

    return int(numpy.unique(numpy.frombuffer(hashes, dtype=numpy.int64)).size)


def _chunk(quads: list[pyoxigraph.Quad], size: int) -> Iterator[list[pyoxigraph.Quad]]:
    """Runs of at most ``size`` quads; a blank-node group may exceed it, never split."""
    current: list[pyoxigraph.Quad] = []
    for group in _blank_node_groups(quads):
        if current and len(current) + len(group) > size:
            yield current
            current = []
        current.extend(group)
    if current:
        yield current


def _blank_node_groups(quads: list[pyoxigraph.Quad]) -> Iterator[list[pyoxigraph.Quad]]:
    """Each ground quad alone, then the quads joined by shared blank nodes."""
    import pyoxigraph

    parent: dict[str, str] = {}

    def root(label: str) -> str:
        while parent.setdefault(label, label) != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    with_blanks: list[tuple[pyoxigraph.Quad, str]] = []
    for quad in quads:
        labels = [
            term.value
            for term in (quad.subject, quad.object)
            if isinstance(term, pyoxigraph.BlankNode)
        ]
        if not labels:
            yield [quad]
            continue
        for label in labels[1:]:
            parent[root(label)] = root(labels[0])
        with_blanks.append((quad, labels[0]))
    groups: dict[str, list[pyoxigraph.Quad]] = {}
    for quad, label in with_blanks:
        groups.setdefault(root(label), []).append(quad)
    yield from groups.values()


def _ntriples(quads: list[pyoxigraph.Quad], graph: str) -> bytes:
    """N-Triples of quads of one graph: their N-Quads without the graph term.

    Serialising the quads and cutting the graph off each line is three times faster
    than building a Triple per quad; a line ends with ``<graph> .`` followed by the
    only unescaped newline, so the cut cannot hit a literal. Should the lengths not
    add up (an IRI serialised differently), the triples are serialised instead.
    """
    import pyoxigraph

    data = pyoxigraph.serialize(quads, format=pyoxigraph.RdfFormat.N_QUADS)
    assert data is not None
    suffix = f" <{graph}> .\n".encode()
    body = data.replace(suffix, b" .\n")
    if len(body) == len(data) - len(quads) * (len(suffix) - 3):
        return body
    triples = pyoxigraph.serialize([q.triple for q in quads], format=pyoxigraph.RdfFormat.N_TRIPLES)
    assert triples is not None
    return triples


# -- writing -------------------------------------------------------------------


class _Writer(Protocol):
    key: str
    url: str

    def write(self, graph: str, chunk: bytes, first: bool) -> None: ...


class _GspMissing(LoadError):
    """The endpoint answered as if it had no Graph Store Protocol."""

    def __init__(self, url: str, response: Response) -> None:
        super().__init__(
            f"{url_origin(url)} does not accept the Graph Store Protocol "
            f"(HTTP {response.status} {response.reason})"
        )
        self.status = response.status
        self.url = url


class _GraphStoreWriter:
    """SPARQL 1.1 Graph Store HTTP Protocol: PUT replaces a graph, POST adds to it."""

    key = "gsp"

    def __init__(self, client: HttpClient, url: str, graph_param: str) -> None:
        self.client, self.url, self.graph_param = client, url, graph_param

    def write(self, graph: str, chunk: bytes, first: bool) -> None:
        separator = "&" if urlsplit(self.url).query else "?"
        target = f"{self.url}{separator}{urlencode({self.graph_param: graph})}"
        method = "PUT" if first else "POST"
        response = self.client.request(method, target, chunk, {"Content-Type": N_TRIPLES})
        if response.status in _GSP_MISSING:
            raise _GspMissing(self.url, response)
        _require_ok(response, self.url, f"{method} of graph <{graph}>")


class _UpdateWriter:
    """SPARQL 1.1 Update, for stores without the Graph Store Protocol."""

    key = "update"

    def __init__(self, client: HttpClient, url: str) -> None:
        self.client, self.url = client, url

    def write(self, graph: str, chunk: bytes, first: bool) -> None:
        insert = f"INSERT DATA {{ GRAPH <{graph}> {{\n{chunk.decode('utf-8')}}} }}"
        update = f"DROP SILENT GRAPH <{graph}> ;\n{insert}" if first else insert
        body = urlencode({"update": update}).encode("utf-8")
        response = self.client.request("POST", self.url, body, {"Content-Type": FORM})
        _require_ok(response, self.url, f"update of graph <{graph}>")


def _require_ok(response: Response, url: str, what: str) -> None:
    if not response.ok:
        detail = response.text_excerpt()
        raise HttpError(
            f"{url_origin(url)} refused the {what}: HTTP {response.status} {response.reason}"
            + (f": {detail}" if detail else "")
        )


# -- the load ------------------------------------------------------------------


def load(
    data: str | Path,
    endpoint: str | None,
    *,
    query_endpoint: str | None = None,
    update_endpoint: str | None = None,
    graph_param: str = "graph",
    protocol: str = "auto",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    timeout: float = DEFAULT_TIMEOUT,
    credentials: Credentials | bool | None = True,
    progress: Callable[[ChunkSent], None] | None = None,
    notice: Callable[[str], None] | None = None,
) -> LoadReport:
    """Replace each named graph of the build in a store, then verify the counts.

    :param data: the build folder holding ``policygraph.nq``.
    :param endpoint: the store's Graph Store Protocol endpoint.
    :param graph_param: ``graph`` (the standard) or ``graph-uri`` (older Virtuoso).
    :param protocol: ``gsp``, ``update``, or ``auto`` (GSP, falling back to Update when
        the endpoint answers 404/405/501 before anything was written).
    :param credentials: True looks them up (environment, then ~/.netrc); None or False
        means anonymous; or pass :class:`~policygraph.credentials.Credentials`.
    :param progress: called after every request that wrote a chunk.
    :param notice: called with remarks worth showing (e.g. the protocol fallback).
    :returns: the report, with the server's count of every graph.
    :raises CountMismatchError: when the server's counts differ from the build's.
    :raises LoadError: when loading stops; the store may then hold part of the build.
    """
    if graph_param not in GRAPH_PARAMS:
        raise PolicyGraphError(f"--graph-param must be one of {', '.join(GRAPH_PARAMS)}")
    endpoints = resolve_endpoints(endpoint, query_endpoint, update_endpoint, protocol)
    started = time.monotonic()
    reader = DumpReader(dump_files(Path(data)), chunk_size)
    write_url = endpoints.gsp or endpoints.update
    assert write_url is not None
    with (
        HttpClient(_credentials(credentials, write_url), timeout) as writer_client,
        HttpClient(_credentials(credentials, endpoints.query), timeout) as query_client,
    ):
        session = _Session(writer_client, endpoints, graph_param, protocol, progress, notice)
        with _ReadAhead(reader.chunks()) as chunks:
            session.send(chunks, reader.lines)
        graphs = list(reader.graphs.values())
        _count_on_server(query_client, endpoints.query, graphs)
    report = LoadReport(graphs, session.writer.key, endpoints, time.monotonic() - started)
    report.notes = session.notes
    if report.mismatches:
        raise CountMismatchError(report)
    return report


def _credentials(given: Credentials | bool | None, url: str) -> Credentials | None:
    if given is True:
        return credentials_for(url)
    return given or None


class _Session:
    """Sends every chunk in order, switching to Update once if GSP is missing."""

    def __init__(
        self,
        client: HttpClient,
        endpoints: Endpoints,
        graph_param: str,
        protocol: str,
        progress: Callable[[ChunkSent], None] | None,
        notice: Callable[[str], None] | None,
    ) -> None:
        self.client, self.endpoints, self.protocol = client, endpoints, protocol
        self.progress, self.notice = progress, notice
        self.notes: list[str] = []
        self.writer: _Writer
        if protocol == "update":
            assert endpoints.update is not None
            self.writer = _UpdateWriter(client, endpoints.update)
        else:
            assert endpoints.gsp is not None
            self.writer = _GraphStoreWriter(client, endpoints.gsp, graph_param)
        self.written = 0
        self.last = ""  # the last chunk written, for messages

    def send(self, chunks: Iterator[Chunk], total: int) -> None:
        """Write every chunk; stopping between two writes says what the store holds."""
        done = 0
        try:
            for chunk in chunks:
                where = f"chunk {chunk.number} of graph <{chunk.graph}>"
                self._write(chunk.graph, chunk.data, chunk.number == 1, where)
                done += chunk.triples
                if self.progress:
                    self.progress(ChunkSent(chunk.graph, chunk.number, chunk.triples, done, total))
        except KeyboardInterrupt:
            after = f" after {self.last}" if self.written else ""
            raise LoadInterrupted(f"interrupted{after}; {self._partial()}") from None
        except LoadError:
            raise
        except PolicyGraphError as exc:  # the dump, found wrong part-way
            if not self.written:
                raise
            raise LoadError(
                f"{exc} — stopped after {self.written} chunk(s) were written; the store "
                "holds part of the build: fix the dump, then load again"
            ) from None

    def _write(self, graph: str, chunk: bytes, first: bool, where: str) -> None:
        try:
            try:
                self.writer.write(graph, chunk, first)
            except _GspMissing as exc:
                self._fall_back(exc)
                self.writer.write(graph, chunk, first)
        except KeyboardInterrupt:
            raise LoadInterrupted(f"interrupted at {where}; {self._partial()}") from None
        except HttpError as exc:
            raise LoadError(f"{exc} — stopped at {where}; {self._partial()}") from None
        self.written += 1
        self.last = where

    def _fall_back(self, missing: _GspMissing) -> None:
        """Switch to SPARQL Update, but only in auto mode and before any write."""
        if self.protocol != "auto" or self.written:
            hint = "" if self.written else "; check the URL, or try --protocol update"
            raise LoadError(f"{missing}{hint}")
        if not self.endpoints.update:
            raise LoadError(
                f"{missing}, and no SPARQL Update endpoint is known; pass --update-endpoint URL"
            )
        self.writer = _UpdateWriter(self.client, self.endpoints.update)
        note = (
            f"{url_origin(missing.url)} answered HTTP {missing.status} to the Graph "
            f"Store Protocol; loading through SPARQL Update at {url_origin(self.endpoints.update)}"
        )
        self.notes.append(note)
        if self.notice:
            self.notice(note)

    def _partial(self) -> str:
        if not self.written:
            return "the store accepted no chunk"
        return "the store may hold part of the build: run the same load again to replace it"


class _ReadAhead:
    """Runs the chunk iterator in a thread, at most READ_AHEAD chunks ahead.

    The main thread keeps the requests, so Ctrl-C and HTTP errors surface where the
    session can say what the store holds. An error of the reader (a broken dump) is
    raised in the main thread at the point the reader reached.
    """

    _END = object()

    def __init__(self, source: Iterator[Chunk]) -> None:
        self._source = source
        self._queue: queue.Queue[object] = queue.Queue(maxsize=READ_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="policygraph-load-reader")
        self._thread.daemon = True  # a reader stuck in a huge file must not block exit

    def __enter__(self) -> Iterator[Chunk]:
        self._thread.start()
        return self._chunks()

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _chunks(self) -> Iterator[Chunk]:
        while (item := self._queue.get()) is not self._END:
            if isinstance(item, BaseException):
                raise item
            yield cast(Chunk, item)

    def _run(self) -> None:
        try:
            for chunk in self._source:
                if not self._put(chunk):
                    return
            self._put(self._END)
        except BaseException as exc:  # handed over, raised by the main thread
            self._put(exc)
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()

    def _put(self, item: object) -> bool:
        """Queue an item, unless the main thread stopped listening."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False


# -- verifying -----------------------------------------------------------------


def _count_on_server(client: HttpClient, url: str, graphs: list[GraphLoad]) -> None:
    """Fill in ``found`` for every graph: for many, one query counts them all.

    Beyond FEW_GRAPHS graphs, one query asks for the triples of every graph in the
    store; any graph its answer lacks (an empty graph, an answer cut at Virtuoso's
    ResultSetMaxRows, or a store that refused the query) gets a query of its own.
    """
    known = _count_every_graph(client, url) if len(graphs) > FEW_GRAPHS else {}
    for graph in graphs:
        found = known.get(graph.iri)
        graph.found = count_graph(client, url, graph.iri) if found is None else found


def _count_every_graph(client: HttpClient, url: str) -> dict[str, int]:
    """The triples of each graph of the store, or nothing if the store will not say."""
    query = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"
    try:
        return {row["g"]["value"]: int(row["n"]["value"]) for row in _select(client, url, query)}
    except (LoadError, KeyError, ValueError, TypeError):
        return {}


def count_graph(client: HttpClient, url: str, graph: str) -> int:
    """The number of triples the store holds in one named graph."""
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    bindings = _select(client, url, query)
    try:
        # Virtuoso answers {"type": "typed-literal", ...}: read the value, not the type.
        return int(bindings[0]["n"]["value"]) if bindings and "n" in bindings[0] else 0
    except (ValueError, KeyError, TypeError, IndexError):
        raise _not_sparql_json(url) from None


def _select(client: HttpClient, url: str, query: str) -> list[dict[str, dict[str, str]]]:
    """The bindings of a SELECT query's answer."""
    body = urlencode({"query": query}).encode("utf-8")
    headers = {"Content-Type": FORM, "Accept": SPARQL_JSON}
    try:
        response = client.request("POST", url, body, headers)
        _require_ok(response, url, "triple count query")
    except HttpError as exc:
        raise LoadError(f"everything was sent, but counting failed: {exc}") from None
    try:
        bindings = json.loads(response.body)["results"]["bindings"]
    except (ValueError, KeyError, TypeError):
        raise _not_sparql_json(url) from None
    if not isinstance(bindings, list):
        raise _not_sparql_json(url)
    return bindings


def _not_sparql_json(url: str) -> LoadError:
    return LoadError(
        f"{url_origin(url)} did not answer the count query with SPARQL JSON results; "
        "is it the store's query endpoint? (--query-endpoint)"
    )


# -- showing progress ------------------------------------------------------------


class ProgressDisplay:
    """A progress bar on a terminal; one plain line per chunk otherwise (logs, CI)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._bar: ProgressBar[int] | None = None

    def __call__(self, event: ChunkSent) -> None:
        if not self.tty:
            print(
                f"loaded chunk {event.chunk} of <{event.graph}> "
                f"({event.done}/{event.total} triples)",
                file=self.stream,
                flush=True,
            )
            return
        if self._bar is None:
            import click

            self._bar = click.progressbar(
                length=event.total, label="Loading", file=self.stream, show_pos=True
            )
            self._bar.__enter__()
        self._bar.update(event.triples)

    def close(self) -> None:
        """End the bar's line so later output starts on a fresh one."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None
