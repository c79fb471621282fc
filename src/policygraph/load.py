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

Afterwards the triples of each graph are counted on the server and compared with the
distinct triples the dump holds (counted as parsed, before chunking), so a store that
silently dropped or merged triples is reported, not trusted. The raw parse is counted
rather than a pyoxigraph Store, because such stores canonicalise literals (Oxigraph
0.5 keeps ``"7"^^xsd:nonNegativeInteger`` as ``"7"^^xsd:integer``), which could merge
triples the build holds apart.
"""

from __future__ import annotations

import json
import mmap
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO
from urllib.parse import urlencode, urlsplit, urlunsplit

from policygraph.credentials import Credentials, credentials_for
from policygraph.errors import PolicyGraphError
from policygraph.httpclient import HttpClient, HttpError, Response, check_url, url_origin
from policygraph.pipeline import DUMP_STEM

if TYPE_CHECKING:
    import pyoxigraph
    from click._termui_impl import ProgressBar

DEFAULT_CHUNK_SIZE = 10_000
DEFAULT_TIMEOUT = 300.0
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
    """One named graph of the build, ready to send, and what the server holds after."""

    iri: str
    expected: int
    chunks: list[bytes] = field(default_factory=list)
    chunk_triples: list[int] = field(default_factory=list)
    found: int | None = None


@dataclass(frozen=True)
class ChunkSent:
    """Progress after one request: which graph, which chunk, how far overall."""

    graph: str
    chunk: int
    chunks: int
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


def dump_path(data: Path) -> Path:
    """The build's N-Quads dump, with a clear error when there is no build."""
    if not data.is_dir():
        raise PolicyGraphError("no build folder; run `policygraph build` or pass --data DIR", data)
    path = data / f"{DUMP_STEM}.nq"
    if not path.is_file():
        raise PolicyGraphError("the build has no N-Quads dump; run `policygraph build`", path)
    return path


def read_build(data: Path, chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[GraphLoad]:
    """Every named graph of the build, cut into N-Triples chunks, with its triple count.

    :raises PolicyGraphError: on a missing or unreadable dump, or triples in the
        default graph (load replaces named graphs only, never a store's default graph).
    """
    if chunk_size < 1:
        raise PolicyGraphError(f"the chunk size must be at least 1 triple, not {chunk_size}")
    path = dump_path(data)
    graphs = []
    blank_nodes = _may_hold_blank_nodes(path)
    for iri, triples in _read_quads(path).items():
        # Counted before chunking, so a chunk that lost triples shows up as a mismatch.
        graph = GraphLoad(iri=iri, expected=len(triples))
        for chunk in _chunk(triples, chunk_size, blank_nodes):
            graph.chunks.append(_ntriples(chunk))
            graph.chunk_triples.append(len(chunk))
        graphs.append(graph)
    return graphs


def _read_quads(path: Path) -> dict[str, list[pyoxigraph.Triple]]:
    """The distinct triples of each named graph, in file order."""
    import pyoxigraph

    graphs: dict[str, dict[pyoxigraph.Triple, None]] = {}
    in_default = 0
    try:
        for quad in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.N_QUADS):
            if isinstance(quad.graph_name, pyoxigraph.NamedNode):
                graphs.setdefault(quad.graph_name.value, {})[quad.triple] = None
            else:
                in_default += 1
    except SyntaxError as exc:
        raise PolicyGraphError(f"not valid N-Quads: {exc.msg}", path, exc.lineno) from None
    if in_default:
        raise PolicyGraphError(
            f"{in_default} triple(s) are outside any named graph; load replaces one named "
            "graph per document and never writes a store's default graph",
            path,
        )
    return {iri: list(triples) for iri, triples in graphs.items()}


def _may_hold_blank_nodes(path: Path) -> bool:
    """False when the dump has no ``_:`` at all, so chunking can skip the grouping.

    Looking at every term of every triple costs seconds per 100k triples; this scan
    costs milliseconds. A literal that contains ``_:`` only costs the slow path.
    """
    if path.stat().st_size == 0:
        return False
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as m:
        return m.find(b"_:") != -1


def _chunk(
    triples: list[pyoxigraph.Triple], size: int, blank_nodes: bool = True
) -> Iterator[list[pyoxigraph.Triple]]:
    """Runs of at most ``size`` triples; a blank-node group may exceed it, never split."""
    if not blank_nodes:
        for start in range(0, len(triples), size):
            yield triples[start : start + size]
        return
    current: list[pyoxigraph.Triple] = []
    for group in _blank_node_groups(triples):
        if current and len(current) + len(group) > size:
            yield current
            current = []
        current.extend(group)
    if current:
        yield current


def _blank_node_groups(triples: list[pyoxigraph.Triple]) -> Iterator[list[pyoxigraph.Triple]]:
    """Each ground triple alone, then the triples joined by shared blank nodes."""
    import pyoxigraph

    parent: dict[str, str] = {}

    def root(label: str) -> str:
        while parent.setdefault(label, label) != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    with_blanks: list[tuple[pyoxigraph.Triple, str]] = []
    for triple in triples:
        labels = [
            term.value
            for term in (triple.subject, triple.object)
            if isinstance(term, pyoxigraph.BlankNode)
        ]
        if not labels:
            yield [triple]
            continue
        for label in labels[1:]:
            parent[root(label)] = root(labels[0])
        with_blanks.append((triple, labels[0]))
    groups: dict[str, list[pyoxigraph.Triple]] = {}
    for triple, label in with_blanks:
        groups.setdefault(root(label), []).append(triple)
    yield from groups.values()


def _ntriples(triples: Iterable[pyoxigraph.Triple]) -> bytes:
    import pyoxigraph

    data = pyoxigraph.serialize(triples, format=pyoxigraph.RdfFormat.N_TRIPLES)
    assert data is not None
    return data


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
    graphs = read_build(Path(data), chunk_size)
    started = time.monotonic()
    write_url = endpoints.gsp or endpoints.update
    assert write_url is not None
    with (
        HttpClient(_credentials(credentials, write_url), timeout) as writer_client,
        HttpClient(_credentials(credentials, endpoints.query), timeout) as query_client,
    ):
        session = _Session(writer_client, endpoints, graph_param, protocol, progress, notice)
        session.send(graphs)
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

    def send(self, graphs: list[GraphLoad]) -> None:
        total = sum(sum(g.chunk_triples) for g in graphs)
        done = 0
        for graph in graphs:
            count = len(graph.chunks)
            for index, (chunk, size) in enumerate(
                zip(graph.chunks, graph.chunk_triples, strict=True)
            ):
                where = f"chunk {index + 1}/{count} of graph <{graph.iri}>"
                self._write(graph.iri, chunk, index == 0, where)
                done += size
                if self.progress:
                    self.progress(ChunkSent(graph.iri, index + 1, count, size, done, total))

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


# -- verifying -----------------------------------------------------------------


def _count_on_server(client: HttpClient, url: str, graphs: list[GraphLoad]) -> None:
    """Fill in ``found`` for every graph with a COUNT query on the store."""
    for graph in graphs:
        graph.found = count_graph(client, url, graph.iri)


def count_graph(client: HttpClient, url: str, graph: str) -> int:
    """The number of triples the store holds in one named graph."""
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    body = urlencode({"query": query}).encode("utf-8")
    headers = {"Content-Type": FORM, "Accept": SPARQL_JSON}
    try:
        response = client.request("POST", url, body, headers)
        _require_ok(response, url, "triple count query")
    except HttpError as exc:
        raise LoadError(f"everything was sent, but counting failed: {exc}") from None
    try:
        bindings = json.loads(response.body)["results"]["bindings"]
        # Virtuoso answers {"type": "typed-literal", ...}: read the value, not the type.
        return int(bindings[0]["n"]["value"]) if bindings and "n" in bindings[0] else 0
    except (ValueError, KeyError, TypeError, IndexError):
        raise LoadError(
            f"{url_origin(url)} did not answer the count query with SPARQL JSON results; "
            "is it the store's query endpoint? (--query-endpoint)"
        ) from None


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
                f"loaded chunk {event.chunk}/{event.chunks} of <{event.graph}> "
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
