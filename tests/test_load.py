"""``policygraph load``: the build into real graph stores, and every way a load can fail.

Virtuoso (the session's shared server, plus a private one that we kill mid-load) and
Oxigraph's server are real stores started by the tests. Small stub servers stand in
only where a real store cannot be made to misbehave on cue (a 500, a dropped
connection, a hang, wrong counts).

Expected triple counts come from rdflib reading the build's N-Quads: a parser
independent of both the loader (pyoxigraph) and the stores.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph
import pytest
from click.testing import CliRunner, Result
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from policygraph import load as load_module
from policygraph.cli import main
from policygraph.credentials import Credentials, credentials_for
from policygraph.errors import PolicyGraphError
from policygraph.httpclient import Challenge, HttpClient, digest_authorization, parse_challenges
from policygraph.load import DumpReader, ProgressDisplay, dump_files, resolve_endpoints
from tests.conftest import BUNDLED, PINNED_EPOCH
from tests.support.virtuoso import VirtuosoServer, free_port, virtuoso_available

# A base IRI of our own, so no other test module's graphs in the shared Virtuoso
# collide with ours.
BASE = "https://example.org/policygraph-load-test/"
VOCAB_GRAPH = f"{BASE}graph/vocabularies"
DOC_GRAPH = f"{BASE}graph/2017-launching-quality-improving-action"
SHARED_GRAPH = f"{BASE}graph/shared"  # organisations the documents name, described once
GRAPHS = (VOCAB_GRAPH, DOC_GRAPH, SHARED_GRAPH)
MARKER = '<urn:policygraph-test:marker> <urn:policygraph-test:p> "left alone" .\n'


# -- fixtures ------------------------------------------------------------------


@pytest.fixture(scope="module")
def load_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled document built under our base IRI, with the time pinned."""
    from policygraph.pipeline import build

    out = tmp_path_factory.mktemp("load") / "build"
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = PINNED_EPOCH
    try:
        build([BUNDLED], out=out, base_iri=BASE)
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
    return out


@pytest.fixture(scope="module")
def expected(load_build: Path) -> dict[str, int]:
    """Triples per named graph of the build, counted by rdflib."""
    dataset = Dataset()
    dataset.parse(load_build / "policygraph.nq", format="nquads")
    counts = {str(g.identifier): len(g) for g in dataset.graphs() if len(g)}
    assert set(counts) == set(GRAPHS)
    return counts


@pytest.fixture(autouse=True)
def no_ambient_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Neither the developer's environment nor their ~/.netrc may leak into a test."""
    monkeypatch.delenv("POLICYGRAPH_ENDPOINT_USER", raising=False)
    monkeypatch.delenv("POLICYGRAPH_ENDPOINT_PASSWORD", raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))


DBA = {"POLICYGRAPH_ENDPOINT_USER": "dba", "POLICYGRAPH_ENDPOINT_PASSWORD": "dba"}


def run_load(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["load", *args], env=env)


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """Exit 2, no traceback, and a single ``policygraph:`` line naming the problem."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("policygraph:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


# -- Virtuoso ------------------------------------------------------------------


def triples_in(server: VirtuosoServer, graph: str) -> set[tuple[str, ...]]:
    """Every triple of one graph, as comparable tuples of SPARQL-JSON terms."""
    rows = server.select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
    return {
        tuple(
            f"{row[v]['type']}|{row[v]['value']}|{row[v].get('datatype', '')}"
            f"|{row[v].get('xml:lang', '')}"
            for v in ("s", "p", "o")
        )
        for row in rows
    }


def reset_to_marker(server: VirtuosoServer, tmp_path: Path) -> None:
    """Every graph holds one marker triple: a state no successful load leaves behind."""
    marker = tmp_path / "marker.nt"
    marker.write_text(MARKER, encoding="utf-8")
    for graph in GRAPHS:
        server.put_graph(graph, marker)
        assert server.count_triples(graph) == 1


def test_first_load_puts_every_graph_with_the_build_counts(
    virtuoso: VirtuosoServer, load_build: Path, expected: dict[str, int], tmp_path: Path
) -> None:
    reset_to_marker(virtuoso, tmp_path)
    result = run_load(["--data", str(load_build), "--endpoint", virtuoso.gsp_url], DBA)
    assert result.exit_code == 0, result.output
    for graph, count in expected.items():
        assert virtuoso.count_triples(graph) == count
        assert f"<{graph}>: {count} triples" in result.stdout
    assert "Graph Store Protocol" in result.stdout
    # Without a terminal, progress is plain lines on stderr, one per chunk.
    assert "loaded chunk 1 of <" in result.stderr


def test_second_load_leaves_the_same_store(
    virtuoso: VirtuosoServer, load_build: Path, expected: dict[str, int]
) -> None:
    args = ["--data", str(load_build), "--endpoint", virtuoso.gsp_url, "--chunk-size", "400"]
    assert run_load(args, DBA).exit_code == 0
    before = {graph: triples_in(virtuoso, graph) for graph in expected}
    assert {g: len(t) for g, t in before.items()} == expected

    # A stray triple in a document graph must go: the load replaces, never appends.
    virtuoso.isql(
        f"SPARQL INSERT DATA {{ GRAPH <{DOC_GRAPH}> {{ <urn:x:stray> <urn:x:p> 'stray' }} }};"
    )
    assert virtuoso.count_triples(DOC_GRAPH) == expected[DOC_GRAPH] + 1

    result = run_load(args, DBA)
    assert result.exit_code == 0, result.output
    after = {graph: triples_in(virtuoso, graph) for graph in expected}
    assert after == before


def test_legacy_graph_uri_parameter_and_netrc_credentials(
    virtuoso: VirtuosoServer,
    load_build: Path,
    expected: dict[str, int],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reset_to_marker(virtuoso, tmp_path)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login dba password dba\n", encoding="utf-8")
    monkeypatch.setenv("NETRC", str(netrc))
    args = ["--data", str(load_build), "--endpoint", virtuoso.gsp_url, "--graph-param", "graph-uri"]
    result = run_load(args)
    assert result.exit_code == 0, result.output
    for graph, count in expected.items():
        assert virtuoso.count_triples(graph) == count


def test_sparql_update_protocol_on_virtuoso(
    virtuoso: VirtuosoServer, load_build: Path, expected: dict[str, int], tmp_path: Path
) -> None:
    reset_to_marker(virtuoso, tmp_path)
    args = ["--data", str(load_build), "--endpoint", virtuoso.gsp_url, "--protocol", "update"]
    result = run_load([*args, "--chunk-size", "700"], DBA)
    assert result.exit_code == 0, result.output
    assert "SPARQL Update" in result.stdout
    for graph, count in expected.items():
        assert virtuoso.count_triples(graph) == count


def test_wrong_password_is_a_clear_error_and_changes_nothing(
    virtuoso: VirtuosoServer, load_build: Path, tmp_path: Path
) -> None:
    reset_to_marker(virtuoso, tmp_path)
    before = {graph: triples_in(virtuoso, graph) for graph in GRAPHS}
    wrong = {**DBA, "POLICYGRAPH_ENDPOINT_PASSWORD": "not-the-password"}
    result = run_load(["--data", str(load_build), "--endpoint", virtuoso.gsp_url], wrong)
    line = assert_one_line_error(result, "HTTP 401", "user 'dba'", "wrong user name or password")
    assert "not-the-password" not in result.output
    assert "accepted no chunk" in line
    assert {graph: triples_in(virtuoso, graph) for graph in before} == before


def test_missing_credentials_say_where_to_put_them(
    virtuoso: VirtuosoServer, load_build: Path
) -> None:
    result = run_load(["--data", str(load_build), "--endpoint", virtuoso.gsp_url])
    assert_one_line_error(result, "HTTP 401", "POLICYGRAPH_ENDPOINT_USER", "netrc")


def counted(client: HttpClient, url: str, graphs: list[str]) -> dict[str, int | None]:
    """What the loader's verification finds for these graphs."""
    loads = [load_module.GraphLoad(graph) for graph in graphs]
    load_module._count_on_server(client, url, loads)
    return {graph.iri: graph.found for graph in loads}


def test_counting_many_graphs_survives_an_answer_cut_short(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Virtuoso silently cuts answers at ResultSetMaxRows (10,000 as packaged: fewer rows
    than a 10,000-document corpus has graphs); the graphs cut off are counted one by one.
    """
    if not virtuoso_available():
        pytest.skip("virtuoso-t/isql-vt not installed (Debian package virtuoso-opensource)")
    monkeypatch.setattr(load_module, "FEW_GRAPHS", 0)  # the one-query path, for 4 graphs
    graphs = [f"{BASE}graph/cut-{n}" for n in range(1, 4)]
    with VirtuosoServer(settings={"SPARQL": {"ResultSetMaxRows": "2"}}) as server:
        for n, graph in enumerate(graphs, start=1):
            lines = tmp_path / f"{n}.nt"
            lines.write_text("".join(MARKER.replace("left alone", str(i)) for i in range(n)))
            server.put_graph(graph, lines)
        assert len(server.select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")) == 2  # cut
        with HttpClient(None) as client:
            found = counted(client, server.sparql_url, [*graphs, f"{BASE}graph/absent"])
    assert found == {graphs[0]: 1, graphs[1]: 2, graphs[2]: 3, f"{BASE}graph/absent": 0}


class RestartableVirtuoso(VirtuosoServer):
    """The harness's server, plus a hard kill and a restart on the same database."""

    def kill_hard(self) -> None:
        assert self._process is not None
        os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait(timeout=30)

    def restart_same_database(self) -> None:
        """Relaunch on the same folder (new ports): Virtuoso replays its log."""
        self._kill()
        self._launch()
        self._wait_until_ready()


@pytest.fixture
def private_virtuoso() -> Iterator[RestartableVirtuoso]:
    """A Virtuoso of this test's own, so killing it spares the shared one."""
    if not virtuoso_available():
        message = "virtuoso-t/isql-vt not installed (Debian package virtuoso-opensource)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    with RestartableVirtuoso() as server:
        yield server


def test_server_dying_mid_load_is_a_clear_error_and_a_rerun_completes(
    private_virtuoso: RestartableVirtuoso,
    load_build: Path,
    expected: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = private_virtuoso
    shown: list[int] = []
    original = ProgressDisplay.__call__

    def kill_after_first_chunk(self: ProgressDisplay, event: load_module.ChunkSent) -> None:
        original(self, event)
        shown.append(event.chunk)
        if len(shown) == 1:
            server.kill_hard()

    monkeypatch.setattr(ProgressDisplay, "__call__", kill_after_first_chunk)
    args = ["--data", str(load_build), "--chunk-size", "100"]
    result = run_load([*args, "--endpoint", server.gsp_url], DBA)
    line = assert_one_line_error(result, "connection refused", "run the same load again")
    assert "chunk 2 of graph <" in line
    assert shown == [1]

    monkeypatch.setattr(ProgressDisplay, "__call__", original)
    server.restart_same_database()
    # The killed load left a partial first graph behind (or nothing, if the log was
    # not yet flushed); either way the rerun must replace it exactly.
    assert server.count_triples(VOCAB_GRAPH) <= 100
    result = run_load([*args, "--endpoint", server.gsp_url], DBA)
    assert result.exit_code == 0, result.output
    for graph, count in expected.items():
        assert server.count_triples(graph) == count


def test_unreachable_server(load_build: Path) -> None:
    port = free_port()  # nothing listens there
    result = run_load(["--data", str(load_build), "--endpoint", f"http://127.0.0.1:{port}/store"])
    assert_one_line_error(result, f"127.0.0.1:{port}", "connection refused")


# -- Oxigraph ------------------------------------------------------------------


def oxigraph_binary() -> str | None:
    """The ``oxigraph`` command: on PATH, or beside this Python (a venv not activated)."""
    beside = Path(sys.executable).parent / "oxigraph"
    return shutil.which("oxigraph") or (str(beside) if beside.is_file() else None)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def oxigraph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Oxigraph's server on a free loopback port; yields its base URL."""
    binary = oxigraph_binary()
    if binary is None:
        message = "the oxigraph command is missing (pip install oxigraph, in the test extra)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("oxigraph")
    for _attempt in range(3):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with (folder / "server.log").open("ab") as log:
            process = subprocess.Popen(
                [binary, "serve", "--location", str(folder / "db"), "--bind", f"127.0.0.1:{port}"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        ask = f"{base}/query?{urllib.parse.urlencode({'query': 'ASK {}'})}"
        while time.monotonic() < deadline and process.poll() is None and not _answers(ask):
            time.sleep(0.1)
        if process.poll() is None and _answers(ask):
            break
        process.kill()
        process.wait()
    else:
        log_text = (folder / "server.log").read_text(errors="replace")
        pytest.fail(f"oxigraph serve did not start:\n{log_text}", pytrace=False)
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def oxigraph_count(base: str, graph: str) -> int:
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    request = urllib.request.Request(
        f"{base}/query",
        data=urllib.parse.urlencode({"query": query}).encode(),
        headers={"Accept": "application/sparql-results+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(json.load(response)["results"]["bindings"][0]["n"]["value"])


def oxigraph_graph(base: str, graph: str) -> Graph:
    """One graph fetched with the Graph Store Protocol, parsed by rdflib."""
    url = f"{base}/store?{urllib.parse.urlencode({'graph': graph})}"
    request = urllib.request.Request(url, headers={"Accept": "application/n-triples"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return Graph().parse(data=response.read(), format="nt")


def oxigraph_insert(base: str, graph: str, triple: str) -> None:
    body = urllib.parse.urlencode({"update": f"INSERT DATA {{ GRAPH <{graph}> {{ {triple} }} }}"})
    with urllib.request.urlopen(f"{base}/update", data=body.encode(), timeout=30):
        pass


def test_oxigraph_graph_store_protocol_and_sparql_update_agree(
    oxigraph: str, load_build: Path, expected: dict[str, int]
) -> None:
    """Both protocols leave the build's counts, and the very same graphs.

    The graphs are compared with each other, not with the dump: Oxigraph stores
    literals canonically (``xsd:nonNegativeInteger`` becomes ``xsd:integer``).
    """
    result = run_load(["--data", str(load_build), "--endpoint", f"{oxigraph}/store"])
    assert result.exit_code == 0, result.output
    assert f"counts verified at {oxigraph}/query" in result.stdout
    for graph, count in expected.items():
        assert oxigraph_count(oxigraph, graph) == count
    through_gsp = {graph: oxigraph_graph(oxigraph, graph) for graph in expected}

    oxigraph_insert(oxigraph, DOC_GRAPH, MARKER.strip())
    args = ["--data", str(load_build), "--endpoint", f"{oxigraph}/store", "--protocol", "update"]
    result = run_load([*args, "--chunk-size", "300"])
    assert result.exit_code == 0, result.output
    assert "through SPARQL Update" in result.stdout
    for graph, count in expected.items():
        assert oxigraph_count(oxigraph, graph) == count
        assert isomorphic(oxigraph_graph(oxigraph, graph), through_gsp[graph])


def test_auto_falls_back_to_update_where_the_graph_store_protocol_is_missing(
    oxigraph: str, load_build: Path, expected: dict[str, int]
) -> None:
    args = [
        "--data", str(load_build),
        "--endpoint", f"{oxigraph}/no-graph-store-here",
        "--update-endpoint", f"{oxigraph}/update",
        "--query-endpoint", f"{oxigraph}/query",
    ]  # fmt: skip
    result = run_load(args)
    assert result.exit_code == 0, result.output
    assert "loading through SPARQL Update" in result.stderr
    for graph, count in expected.items():
        assert oxigraph_count(oxigraph, graph) == count

    forced = run_load([*args, "--protocol", "gsp"])
    assert_one_line_error(forced, "does not accept the Graph Store Protocol", "--protocol update")


def test_blank_node_groups_arrive_whole_in_chunks(oxigraph: str, tmp_path: Path) -> None:
    """Chunks of 2 triples must not split a blank-node chain, or the store's graph differs."""
    graph = "http://example.org/bnodes"
    lines = [
        f'<http://example.org/s{i}> <http://example.org/p> "{i}" <{graph}> .' for i in range(5)
    ]
    lines += [
        f"<http://example.org/s0> <http://example.org/has> _:a <{graph}> .",
        f"_:a <http://example.org/next> _:b <{graph}> .",
        f"_:b <http://example.org/next> _:c <{graph}> .",
        f'_:c <http://example.org/value> "end" <{graph}> .',
        f'_:d <http://example.org/value> "alone" <{graph}> .',
    ]
    data = tmp_path / "data"
    data.mkdir()
    (data / "policygraph.nq").write_text("\n".join(lines) + "\n", encoding="utf-8")

    reader = DumpReader(dump_files(data), chunk_size=2)
    chunks = list(reader.chunks())
    labels_per_chunk = [
        {t.value for q in pyoxigraph.parse(c.data, format=pyoxigraph.RdfFormat.N_TRIPLES)
         for t in (q.subject, q.object) if isinstance(t, pyoxigraph.BlankNode)}
        for c in chunks
    ]  # fmt: skip
    chain = next(labels for labels in labels_per_chunk if "a" in labels)
    assert chain == {"a", "b", "c"}
    (loaded,) = reader.graphs.values()
    assert sum(c.triples for c in chunks) == len(lines) == loaded.expected
    assert max(c.triples for c in chunks) == 4  # the chain: larger than a chunk, sent whole

    result = run_load(["--data", str(data), "--endpoint", f"{oxigraph}/store", "--chunk-size", "2"])
    assert result.exit_code == 0, result.output
    local = Graph().parse(
        data="\n".join(line.rsplit(" <", 1)[0] + " ." for line in lines), format="nt"
    )
    assert isomorphic(oxigraph_graph(oxigraph, graph), local)


def nquads(graph: str, subjects: range) -> list[str]:
    return [f'<http://example.org/s{i}> <http://example.org/p> "{i}" <{graph}> .' for i in subjects]


def write_dump(tmp_path: Path, lines: list[str]) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "policygraph.nq").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data


@pytest.mark.parametrize("chunk_size", ["2", "10000"])
def test_a_graph_met_again_later_is_appended_not_replaced(
    oxigraph: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_size: str
) -> None:
    """Graph A, then B, then A again: A keeps both blocks; a triple in both counts once."""
    first = f"http://example.org/two-blocks/{chunk_size}/a"
    second = f"http://example.org/two-blocks/{chunk_size}/b"
    lines = nquads(first, range(5)) + nquads(second, range(3)) + nquads(first, range(4, 9))
    data = write_dump(tmp_path, lines)
    dataset = Dataset()
    dataset.parse(data / "policygraph.nq", format="nquads")
    expected = {str(g.identifier): len(g) for g in dataset.graphs() if len(g)}
    assert expected[first] < 10  # s4 is in both blocks

    reader = DumpReader(dump_files(data), int(chunk_size))
    sent = list(reader.chunks())
    assert {g.iri: g.expected for g in reader.graphs.values()} == expected
    for graph in expected:  # numbered 1, 2, … in the order sent: one replace per graph
        numbers = [c.number for c in sent if c.graph == graph]
        assert numbers == list(range(1, len(numbers) + 1))

    oxigraph_insert(oxigraph, first, MARKER.strip())  # the load must replace it
    monkeypatch.setattr(load_module, "FEW_GRAPHS", 0)  # counted with one query
    result = run_load(["--data", str(data), "--endpoint", f"{oxigraph}/store",
                       "--chunk-size", chunk_size])  # fmt: skip
    assert result.exit_code == 0, result.output
    for graph, count in expected.items():
        assert f"<{graph}>: {count} triples" in result.stdout
        assert oxigraph_count(oxigraph, graph) == count
    local = Graph().parse(
        data="\n".join(line.rsplit(" <", 1)[0] + " ." for line in lines if first in line),
        format="nt",
    )
    assert isomorphic(oxigraph_graph(oxigraph, first), local)


def test_a_broken_dump_found_after_writes_says_the_store_holds_part(
    oxigraph: str, tmp_path: Path
) -> None:
    graph = "http://example.org/broken-late"
    data = write_dump(tmp_path, [*nquads(graph, range(4)), "<urn:x:s> <urn:x:p> <urn:x:o> ."])
    args = ["--data", str(data), "--endpoint", f"{oxigraph}/store", "--chunk-size", "1"]
    line = assert_one_line_error(run_load(args), "quad 5 is outside any named graph")
    assert "after 4 chunk(s) were written" in line
    assert "holds part of the build" in line
    assert oxigraph_count(oxigraph, graph) == 4


def test_many_graphs_are_counted_with_one_query(
    oxigraph: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    graphs = [f"http://example.org/counted/{n}" for n in (1, 2)]
    for n, graph in enumerate(graphs, start=1):
        for i in range(n):
            oxigraph_insert(oxigraph, graph, f'<urn:x:s> <urn:x:p> "{i}"')
    absent = "http://example.org/absent"
    alone: list[str] = []
    original = load_module.count_graph

    def count_graph(client: HttpClient, url: str, graph: str) -> int:
        alone.append(graph)
        return original(client, url, graph)

    monkeypatch.setattr(load_module, "FEW_GRAPHS", 1)
    monkeypatch.setattr(load_module, "count_graph", count_graph)
    with HttpClient(None) as client:
        found = counted(client, f"{oxigraph}/query", [*graphs, absent])
    assert found == {graphs[0]: 1, graphs[1]: 2, absent: 0}
    assert alone == [absent]  # the one graph the store's answer has no row for


def test_ctrl_c_between_two_writes_says_what_the_store_holds(
    oxigraph: str, load_build: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(self: ProgressDisplay, event: load_module.ChunkSent) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ProgressDisplay, "__call__", interrupt)
    args = ["--data", str(load_build), "--endpoint", f"{oxigraph}/store", "--chunk-size", "100"]
    result = run_load(args)
    assert result.exit_code == 130, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("policygraph:")]
    assert len(errors) == 1, result.stderr
    assert "interrupted after chunk 1 of graph <" in errors[0]
    assert "run the same load again" in errors[0]


# -- failures a real store will not produce on cue: stub servers ---------------------


class _StubHandler(http.server.BaseHTTPRequestHandler):
    mode = "ok"
    found = 0
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"", kind: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "hang":
            time.sleep(3)
        if self.mode == "drop":
            self.close_connection = True
            return
        if self.mode == "error":
            self._answer(500, b"<html><body>stub store exploded</body></html>", "text/html")
        elif self.path.startswith("/query"):
            rows = {"results": {"bindings": [{"n": {"type": "literal", "value": str(self.found)}}]}}
            self._answer(200, json.dumps(rows).encode(), "application/sparql-results+json")
        else:
            self._answer(201)

    do_PUT = do_POST = _handle


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (timeout) makes the stub's write fail: expected."""


@pytest.fixture
def stub() -> Iterator[Callable[..., str]]:
    """Start stub stores that misbehave in one way; yields a starter returning the base URL."""
    servers: list[_QuietServer] = []

    def start(mode: str, found: int = 0) -> str:
        handler = type("Handler", (_StubHandler,), {"mode": mode, "found": found})
        server = _QuietServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def stub_args(base: str, load_build: Path) -> list[str]:
    return [
        "--data",
        str(load_build),
        "--endpoint",
        f"{base}/store",
        "--query-endpoint",
        f"{base}/query",
    ]


def test_server_error_is_one_line_with_the_servers_explanation(
    stub: Callable[..., str], load_build: Path
) -> None:
    result = run_load(stub_args(stub("error"), load_build))
    assert_one_line_error(result, "HTTP 500", "stub store exploded")


def test_dropped_connection_is_one_line(stub: Callable[..., str], load_build: Path) -> None:
    result = run_load(stub_args(stub("drop"), load_build))
    assert_one_line_error(result, "closed the connection")


def test_timeout_is_one_line(stub: Callable[..., str], load_build: Path) -> None:
    result = run_load([*stub_args(stub("hang"), load_build), "--timeout", "0.5"])
    assert_one_line_error(result, "no answer before the timeout")


def test_count_mismatch_fails_loudly_with_a_line_per_graph(
    stub: Callable[..., str], load_build: Path, expected: dict[str, int]
) -> None:
    result = run_load(stub_args(stub("ok", found=7), load_build))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for graph, count in expected.items():
        assert f"<{graph}>: expected {count} triples, found 7" in result.stderr


# -- small parts -----------------------------------------------------------------


def test_rfc2617_digest_example() -> None:
    """RFC 2617 §3.5: Mufasa's GET of /dir/index.html."""
    challenge = parse_challenges(
        ['Digest realm="testrealm@host.com", qop="auth,auth-int", '
         'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"']
    )[0]  # fmt: skip
    header = digest_authorization(
        challenge,
        Credentials("Mufasa", "Circle Of Life", "test"),
        "GET",
        "http://www.nowhere.org/dir/index.html",
        1,
        cnonce="0a4f113b",
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in header
    assert "nc=00000001" in header
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in header


def test_rfc7616_sha256_digest_example() -> None:
    """RFC 7616 §3.9.1: the same request with SHA-256."""
    challenge = Challenge(
        "digest",
        {
            "realm": "http-auth@example.org",
            "qop": "auth, auth-int",
            "algorithm": "SHA-256",
            "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
        },
    )
    header = digest_authorization(
        challenge,
        Credentials("Mufasa", "Circle of Life", "test"),
        "GET",
        "http://www.example.org/dir/index.html",
        1,
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert 'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"' in header


def test_challenges_with_digest_and_basic_on_one_line() -> None:
    found = parse_challenges(['Digest realm="a, b", nonce="n1", qop="auth", Basic realm="x"'])
    assert [(c.scheme, c.params.get("realm")) for c in found] == [
        ("digest", "a, b"),
        ("basic", "x"),
    ]


def test_credentials_from_environment_win_over_netrc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine store.example login alice password secret\n", encoding="utf-8")
    monkeypatch.setenv("NETRC", str(netrc))
    found = credentials_for("https://store.example:8890/sparql-graph-crud-auth")
    assert found is not None and (found.user, found.password) == ("alice", "secret")
    assert credentials_for("https://other.example/store") is None
    assert "secret" not in repr(found)

    monkeypatch.setenv("POLICYGRAPH_ENDPOINT_USER", "bob")
    monkeypatch.setenv("POLICYGRAPH_ENDPOINT_PASSWORD", "pw")
    found = credentials_for("https://store.example/store")
    assert found is not None and (found.user, found.source) == ("bob", "environment")

    monkeypatch.delenv("POLICYGRAPH_ENDPOINT_PASSWORD")
    with pytest.raises(PolicyGraphError, match="POLICYGRAPH_ENDPOINT_PASSWORD is not"):
        credentials_for("https://store.example/store")


def test_broken_netrc_names_file_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine a login x password y\nmachine\n", encoding="utf-8")
    monkeypatch.setenv("NETRC", str(netrc))
    with pytest.raises(PolicyGraphError) as caught:
        credentials_for("http://a/store")
    assert str(caught.value).startswith(f"{netrc}:")


def test_password_in_the_url_is_refused(load_build: Path) -> None:
    url = "http://dba:dba@127.0.0.1:1/store"
    result = run_load(["--data", str(load_build), "--endpoint", url])
    assert_one_line_error(result, "must not carry a user name or password")


@pytest.mark.parametrize(
    ("endpoint", "query", "update"),
    [
        (
            "http://h:8890/sparql-graph-crud-auth",
            "http://h:8890/sparql",
            "http://h:8890/sparql-auth",
        ),
        ("http://h:7878/store", "http://h:7878/query", "http://h:7878/update"),
        ("http://h:3030/ds/data", "http://h:3030/ds/query", "http://h:3030/ds/update"),
        (
            "http://h:7200/repositories/pg/rdf-graphs/service",
            "http://h:7200/repositories/pg",
            "http://h:7200/repositories/pg/statements",
        ),
    ],
)
def test_query_and_update_endpoints_are_guessed_for_known_stores(
    endpoint: str, query: str, update: str
) -> None:
    found = resolve_endpoints(endpoint)
    assert (found.gsp, found.query, found.update) == (endpoint, query, update)


def test_unknown_layout_asks_for_the_query_endpoint(load_build: Path) -> None:
    result = run_load(["--data", str(load_build), "--endpoint", "http://h/graphs"])
    assert_one_line_error(result, "--query-endpoint")


def test_default_graph_triples_are_refused(tmp_path: Path) -> None:
    (tmp_path / "policygraph.nq").write_text("<http://a> <http://b> <http://c> .\n")
    result = run_load(["--data", str(tmp_path), "--endpoint", "http://127.0.0.1:1/store"])
    assert_one_line_error(result, "policygraph.nq", "outside any named graph")


def test_bad_nquads_name_file_and_line(tmp_path: Path) -> None:
    text = (
        "<http://a> <http://b> <http://c> <http://g> .\n<http://a> <http://b> oops <http://g> .\n"
    )
    (tmp_path / "policygraph.nq").write_text(text)
    result = run_load(["--data", str(tmp_path), "--endpoint", "http://127.0.0.1:1/store"])
    assert_one_line_error(result, f"{tmp_path / 'policygraph.nq'}:2:")


def test_missing_build_folder(tmp_path: Path) -> None:
    result = run_load(["--data", str(tmp_path / "nope"), "--endpoint", "http://127.0.0.1:1/store"])
    assert_one_line_error(result, "policygraph build")


def test_progress_bar_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    display = ProgressDisplay(stream)
    for done in (10, 20, 30):
        display(load_module.ChunkSent("urn:g", done // 10, 10, done, 30))
    display.close()
    text = stream.getvalue()
    assert "Loading" in text and "30/30" in text
    assert "loaded chunk" not in text


def test_cli_import_does_not_load_the_loader() -> None:
    code = "import sys, policygraph.cli; print('policygraph.load' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
