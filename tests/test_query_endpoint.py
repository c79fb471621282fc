"""The same questions asked of a real third-party endpoint: Virtuoso.

The session's build is loaded into a private Virtuoso (tests/support), one named
graph per graph of the N-Quads dump, under IRIs of this module's own so that other
tests sharing the server cannot disturb them. Every query then runs through
``policygraph query --endpoint`` and must give the answers the local engine gives:

* with ``--graph`` for each loaded graph (sent as ``default-graph-uri``), so the
  default graph is exactly our data;
* without it, on Virtuoso's anonymous ``/sparql``, whose default graph is the union
  of every graph on the server, ~2,500 system triples included — the queries only
  match policygraph's own terms, and DISTINCT keeps data held twice from doubling.

Virtuoso's ``/sparql-auth`` wants HTTP Digest: the credentials come from the
environment or ``~/.netrc``, and a malicious parameter value on an endpoint that
allows updates changes nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import Graph

from policygraph import results
from policygraph.query import resolve, run
from tests.support.fixtures import virtuoso  # noqa: F401  (pytest fixture)
from tests.support.virtuoso import VirtuosoServer
from tests.test_queries import (
    CASES,
    MALICIOUS,
    POLICY_ID,
    case_id,
    comparable,
    norm_graph,
    policygraph,
    same_answer,
)

GRAPH_BASE = "urn:x-policygraph-test:query-endpoint/"


@pytest.fixture(scope="module")
def loaded(
    virtuoso: VirtuosoServer,  # noqa: F811
    build_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> list[str]:
    """Put each graph of the build into Virtuoso; return the graph IRIs used."""
    folder = tmp_path_factory.mktemp("virtuoso-graphs")
    by_graph: dict[str, list[ox.Triple]] = defaultdict(list)
    for quad in ox.parse(path=str(build_dir / "policygraph.nq"), format=ox.RdfFormat.N_QUADS):
        by_graph[quad.graph_name.value].append(quad.triple)
    assert len(by_graph) >= 2  # one per document, and the vocabularies
    graphs = []
    for number, (name, triples) in enumerate(sorted(by_graph.items())):
        iri = GRAPH_BASE + name.rstrip("/").rsplit("/", 1)[-1]
        path = folder / f"graph-{number}.nt"
        ox.serialize(triples, str(path), format=ox.RdfFormat.N_TRIPLES)
        assert virtuoso.put_graph(iri, path) in (200, 201)
        assert virtuoso.count_triples(iri) == len(set(map(str, triples)))
        graphs.append(iri)
    return graphs


@pytest.fixture
def env(clean_env: dict[str, str]) -> dict[str, str]:
    """No credentials and no .netrc unless a test adds them (see ``clean_env``)."""
    return clean_env


def remote(url: str, name: str, params: dict[str, str], env: dict[str, str], *extra: str) -> Any:
    """Ask through the command line; read its JSON or N-Triples back."""
    form = resolve(name).form
    fmt = "nt" if form in ("CONSTRUCT", "DESCRIBE") else "json"
    args = [arg for key, value in params.items() for arg in ("--param", f"{key}={value}")]
    done = policygraph("query", name, "--endpoint", url, "--format", fmt, *args, *extra, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warnings either
    if fmt == "nt":
        return norm_graph(Graph().parse(data=done.stdout, format="nt"))
    return comparable(results.from_sparql_json(json.loads(done.stdout)))


def local(build_dir: Path, name: str, params: dict[str, str]) -> Any:
    return comparable(run(name, data=[build_dir], params=params))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_virtuoso_answers_like_the_local_engine(case, loaded, virtuoso, build_dir, env):  # noqa: F811
    name, params = case
    graphs = [arg for iri in loaded for arg in ("--graph", iri)]
    answer = remote(virtuoso.sparql_url, name, params, env, *graphs)
    assert same_answer(local(build_dir, name, params), answer)


def policies_on(server: VirtuosoServer) -> set[str]:
    rows = server.select(
        "SELECT DISTINCT ?id WHERE { ?p a <https://w3id.org/policygraph/ontology#Policy> ; "
        "<http://data.europa.eu/eli/ontology#id_local> ?id }"
    )
    return {row["id"]["value"] for row in rows}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_the_union_of_all_graphs_answers_alike(case, loaded, virtuoso, build_dir, env):  # noqa: F811
    held = policies_on(virtuoso)
    if held != {POLICY_ID}:
        pytest.skip(f"another test left other policies on the shared server: {sorted(held)}")
    name, params = case
    answer = remote(virtuoso.sparql_url, name, params, env)
    assert same_answer(local(build_dir, name, params), answer)


def test_the_system_graphs_are_there_and_do_not_match(loaded, virtuoso):  # noqa: F811
    everything = virtuoso.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    ours = sum(virtuoso.count_triples(iri) for iri in loaded)
    assert int(everything[0]["n"]["value"]) > ours + 1000


# -- credentials and safety ---------------------------------------------------------


def dba(env: dict[str, str], password: str = "dba") -> dict[str, str]:
    return {
        **env,
        "POLICYGRAPH_ENDPOINT_USER": VirtuosoServer.user,
        "POLICYGRAPH_ENDPOINT_PASSWORD": password,
    }


def test_digest_credentials_from_the_environment(loaded, virtuoso, build_dir, env):  # noqa: F811
    answer = remote(virtuoso.auth_sparql_url, "objectives", {}, dba(env))
    assert same_answer(local(build_dir, "objectives", {}), answer)


def test_digest_credentials_from_netrc(loaded, virtuoso, build_dir, env):  # noqa: F811
    netrc = Path(env["HOME"]) / ".netrc"
    netrc.write_text(f"machine 127.0.0.1\n  login {VirtuosoServer.user}\n  password dba\n")
    netrc.chmod(0o600)
    answer = remote(virtuoso.auth_sparql_url, "issuers", {}, env)
    assert same_answer(local(build_dir, "issuers", {}), answer)


def test_a_wrong_digest_password_is_one_line(loaded, virtuoso, env):  # noqa: F811
    done = policygraph(
        "query", "toc", "--endpoint", virtuoso.auth_sparql_url, env=dba(env, "not-dba")
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "HTTP 401" in lines[0] and "not-dba" not in lines[0]
    assert "Traceback" not in done.stderr


def test_no_credentials_for_the_protected_endpoint(loaded, virtuoso, env):  # noqa: F811
    done = policygraph("query", "toc", "--endpoint", virtuoso.auth_sparql_url, env=env)
    assert done.returncode == 2
    assert "HTTP 401" in done.stderr and "POLICYGRAPH_ENDPOINT_USER" in done.stderr


ECHO = """\
# question: Does a value come back exactly as it was given?
# param: text string — any text
PREFIX eli: <http://data.europa.eu/eli/ontology#>
PREFIX pg:  <https://w3id.org/policygraph/ontology#>
SELECT ?text ?policy WHERE { ?doc a pg:Policy ; eli:id_local ?policy }
"""


MISLEADING_COMMENTS = {
    "graph.rq": """# Every policy and its id, as a graph:
# policies selected by their type.
PREFIX eli: <http://data.europa.eu/eli/ontology#>
PREFIX pg:  <https://w3id.org/policygraph/ontology#>
CONSTRUCT { ?doc eli:id_local ?policy } WHERE { ?doc a pg:Policy ; eli:id_local ?policy }
""",
    "table.rq": """# Every policy's id, as a table:
# no construction, no description.
PREFIX eli: <http://data.europa.eu/eli/ontology#>
PREFIX pg:  <https://w3id.org/policygraph/ontology#>
SELECT ?policy WHERE { ?doc a pg:Policy ; eli:id_local ?policy }
""",
}


@pytest.mark.parametrize("name", sorted(MISLEADING_COMMENTS))
def test_a_keyword_in_a_comment_does_not_change_the_form(loaded, virtuoso, env, name, tmp_path):  # noqa: F811
    """The form sent is the one parsed, not a word guessed from the comment above it."""
    path = tmp_path / name
    path.write_text(MISLEADING_COMMENTS[name], encoding="utf-8")
    graphs = [arg for iri in loaded for arg in ("--graph", iri)]
    fmt = "nt" if name == "graph.rq" else "json"
    done = policygraph(
        "query", str(path), "--endpoint", virtuoso.sparql_url, "--format", fmt, *graphs, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    if fmt == "nt":
        ids = {str(o) for o in Graph().parse(data=done.stdout, format="nt").objects()}
    else:
        ids = {row["policy"]["value"] for row in json.loads(done.stdout)["results"]["bindings"]}
    assert ids == {POLICY_ID}


@pytest.mark.parametrize(
    "value",
    [MALICIOUS, 'x" . } ; DROP ALL ; SELECT * { "', "x\\u0022 } ; DROP ALL ; #", "x'\n} DROP ALL"],
)
def test_a_malicious_value_cannot_change_the_query(loaded, virtuoso, env, value, tmp_path):  # noqa: F811
    """On an endpoint where dba may update, the value stays one string literal."""
    before = {iri: virtuoso.count_triples(iri) for iri in loaded}
    echo = tmp_path / "echo.rq"
    echo.write_text(ECHO, encoding="utf-8")
    graphs = [arg for iri in loaded for arg in ("--graph", iri)]
    done = policygraph(
        "query", str(echo), "--endpoint", virtuoso.auth_sparql_url, "--param", f"text={value}",
        "--format", "json", *graphs, env=dba(env),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["results"]["bindings"]
    assert [(r["text"]["value"], r["policy"]["value"]) for r in rows] == [(value, POLICY_ID)]
    assert {iri: virtuoso.count_triples(iri) for iri in loaded} == before
    assert all(before.values())
    search = policygraph(
        "query", "search", "--endpoint", virtuoso.auth_sparql_url, "--param", f"text={value}",
        "--format", "csv", *graphs, env=dba(env),
    )  # fmt: skip
    assert search.returncode == 0, search.stderr
    assert search.stdout.splitlines() == ["text,kind,label,policy,start"]
