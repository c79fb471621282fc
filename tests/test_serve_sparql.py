"""The SPARQL 1.1 Protocol endpoint of ``policygraph serve``: a real client, and the refusals.

SPARQLWrapper talks to the server as to any endpoint. Expected answers come from the
source document, counted by hand (27 measures, 6 chapters, 3 objectives), or from the
build's Turtle dump read by rdflib. The refusals are checked from the outside: an update
changes nothing, a SERVICE clause never reaches the service it names (a canary server
counts its visitors), a runaway query is stopped — its worker process is gone — and the
server goes on answering.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF
from SPARQLWrapper import JSON, POST, POSTDIRECTLY, TURTLE, XML, SPARQLWrapper

from tests.support.served import alive, request, serve

PG = Namespace("https://w3id.org/policygraph/ontology#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
PREFIXES = (
    "PREFIX pg: <https://w3id.org/policygraph/ontology#>\n"
    "PREFIX eli: <http://data.europa.eu/eli/ontology#>\n"
)
MAX_ROWS = 50
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # ~2.5e10 rows


@pytest.fixture(scope="module")
def server(build_dir: Path):
    with serve(build_dir, "--timeout", "1", "--max-rows", str(MAX_ROWS)) as served:
        yield served


@pytest.fixture
def endpoint(server) -> str:
    return server.url + "sparql"


def wrapper(endpoint: str, query: str, fmt: str = JSON, method: str | None = None):
    client = SPARQLWrapper(endpoint)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    if method == POSTDIRECTLY:
        client.setMethod(POST)
        client.setRequestMethod(POSTDIRECTLY)
    elif method:
        client.setMethod(method)
    client.setTimeout(60)
    return client.query()


def get(endpoint: str, query: str, accept: str | None = None, **fields: str):
    params = urllib.parse.urlencode({"query": query, **fields})
    return request(f"{endpoint}?{params}", headers={"Accept": accept} if accept else {})


# ---------------------------------------------------------------------------
# SPARQLWrapper as a real client


COUNT_MEASURES = PREFIXES + "SELECT (COUNT(DISTINCT ?m) AS ?n) WHERE { ?m a pg:Measure }"


@pytest.mark.parametrize("method", [None, POST, POSTDIRECTLY])
def test_select_json(endpoint, method):
    """27 measures: items 4–30 of the bundled document (items 1–3 are general provisions)."""
    answer = wrapper(endpoint, COUNT_MEASURES, JSON, method).convert()
    assert answer["head"]["vars"] == ["n"]
    assert int(answer["results"]["bindings"][0]["n"]["value"]) == 27


def test_select_xml(endpoint, graph):
    query = PREFIXES + "SELECT ?c ?label WHERE { ?c a pg:Chapter ; rdfs:label ?label }"
    query = "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n" + query
    document = wrapper(endpoint, query, XML).convert()  # an xml.dom.minidom Document
    results = document.getElementsByTagName("result")
    assert len(results) == 6  # chapters I–VI
    served = {
        b.getElementsByTagName("uri")[0].firstChild.data
        for r in results
        for b in r.getElementsByTagName("binding")
        if b.getAttribute("name") == "c"
    }
    assert served == {str(c) for c in graph.subjects(RDF.type, PG.Chapter)}


@pytest.mark.parametrize(("number", "expected"), [("17", True), ("31", False)])
def test_ask(endpoint, number, expected):
    query = PREFIXES + f'ASK {{ ?m a pg:Measure ; eli:number "{number}" }}'
    assert wrapper(endpoint, query, JSON).convert()["boolean"] is expected


def test_construct(endpoint, graph):
    measure = next(
        m for m in graph.subjects(RDF.type, PG.Measure) if (m, ELI.number, Literal("17")) in graph
    )
    query = f"CONSTRUCT {{ <{measure}> ?p ?o }} WHERE {{ <{measure}> ?p ?o }}"
    served = wrapper(endpoint, query, TURTLE).convert()
    if isinstance(served, bytes):
        served = Graph().parse(data=served, format="turtle")
    expected = Graph()
    for triple in graph.triples((measure, None, None)):
        expected.add(triple)
    assert isomorphic(served, expected)


# ---------------------------------------------------------------------------
# The protocol, request by request


@pytest.mark.parametrize(
    ("accept", "fields", "media_type"),
    [
        (None, {}, "application/sparql-results+json"),
        ("application/sparql-results+xml", {}, "application/sparql-results+xml"),
        ("text/csv", {}, "text/csv"),
        ("text/tab-separated-values", {}, "text/tab-separated-values"),
        ("application/json", {}, "application/sparql-results+json"),
        ("text/html,*/*;q=0.8", {}, "application/sparql-results+json"),
        ("text/csv", {"format": "tsv"}, "text/tab-separated-values"),
        (None, {"format": "xml"}, "application/sparql-results+xml"),
        (None, {"output": "csv"}, "text/csv"),
    ],
)
def test_select_result_types(endpoint, accept, fields, media_type):
    reply = get(endpoint, COUNT_MEASURES, accept, **fields)
    assert (reply.status, reply.media_type) == (200, media_type)
    if media_type == "text/csv":
        rows = list(csv.reader(io.StringIO(reply.text())))
        assert rows == [["n"], ["27"]]


@pytest.mark.parametrize(
    ("accept", "media_type", "fmt"),
    [
        (None, "text/turtle", "turtle"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/n-triples", "application/n-triples", "nt"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
    ],
)
def test_construct_result_types(endpoint, graph, accept, media_type, fmt):
    query = PREFIXES + "CONSTRUCT { ?c a pg:Chapter } WHERE { ?c a pg:Chapter }"
    reply = get(endpoint, query, accept)
    assert (reply.status, reply.media_type) == (200, media_type)
    served = Graph().parse(data=reply.body, format=fmt)
    assert set(served.subjects(RDF.type, PG.Chapter)) == set(graph.subjects(RDF.type, PG.Chapter))


def test_describe(endpoint, graph):
    policy = next(graph.subjects(RDF.type, PG.Policy))
    reply = get(endpoint, f"DESCRIBE <{policy}>", "text/turtle")
    assert reply.status == 200
    served = Graph().parse(data=reply.body, format="turtle")
    assert set(graph.triples((policy, None, None))) <= set(served)


def test_406_when_no_result_type_fits(endpoint):
    reply = get(endpoint, COUNT_MEASURES, "image/png")
    assert reply.status == 406
    assert "application/sparql-results+json" in reply.text()


def test_syntax_error_is_400_with_position(endpoint):
    reply = get(endpoint, "SELECT * WHERE { ?s ?p }")
    assert reply.status == 400
    assert "1:" in reply.text()  # line:column of the error


def test_dataset_from_the_protocol(endpoint, build_dir):
    """default-graph-uri picks graphs: the document's holds the measures, vocabularies none."""
    graphs = {str(g.identifier) for g in _dataset(build_dir).graphs() if len(g)}
    document = next(g for g in graphs if not g.endswith(("/vocabularies", "/shared")))
    vocabularies = next(g for g in graphs if g.endswith("/vocabularies"))
    counts = {}
    for name in (document, vocabularies):
        reply = get(endpoint, COUNT_MEASURES, None, **{"default-graph-uri": name})
        counts[name] = int(json.loads(reply.body)["results"]["bindings"][0]["n"]["value"])
    assert counts == {document: 27, vocabularies: 0}


def _dataset(build_dir: Path):
    from rdflib import Dataset

    return Dataset().parse(build_dir / "policygraph.nq", format="nquads")


def test_service_description(endpoint):
    reply = request(endpoint, headers={"Accept": "text/turtle"})
    assert (reply.status, reply.media_type) == (200, "text/turtle")
    description = Graph().parse(data=reply.body, format="turtle")
    service = next(description.subjects(RDF.type, SD.Service))
    assert (service, SD.endpoint, URIRef(endpoint)) in description
    assert (service, SD.supportedLanguage, SD.SPARQL11Query) in description
    formats = set(description.objects(service, SD.resultFormat))
    assert URIRef("http://www.w3.org/ns/formats/SPARQL_Results_JSON") in formats
    assert URIRef("http://www.w3.org/ns/formats/SPARQL_Results_CSV") in formats


def test_browser_gets_a_form_at_sparql(endpoint):
    reply = request(endpoint, headers={"Accept": "text/html"})
    assert (reply.status, reply.media_type) == (200, "text/html")
    assert "<form" in reply.text()


# ---------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "update=INSERT+DATA+%7B%3Ca%3A1%3E+%3Ca%3A2%3E+1%7D"),
        ("application/sparql-update", "INSERT DATA { <a:1> <a:2> 1 }"),
        ("application/x-www-form-urlencoded", "query=DROP+ALL"),
        ("application/sparql-query", "DELETE WHERE { ?s ?p ?o }"),
    ],
)
def test_updates_are_refused(endpoint, content_type, body):
    reply = request(
        endpoint, method="POST", headers={"Content-Type": content_type}, data=body.encode()
    )
    assert reply.status == 403
    assert "read-only" in reply.text()
    still = get(endpoint, COUNT_MEASURES)
    assert json.loads(still.body)["results"]["bindings"][0]["n"]["value"] == "27"


def test_update_in_get_is_refused(endpoint):
    reply = request(endpoint + "?update=" + urllib.parse.quote("CLEAR ALL"))
    assert reply.status == 403


class _Canary(BaseHTTPRequestHandler):
    visits: ClassVar[list[str]] = []

    def do_GET(self):  # the http.server API names it so
        self.visits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/sparql-results+json")
        self.end_headers()
        self.wfile.write(b'{"head":{"vars":[]},"results":{"bindings":[{}]}}')

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def canary():
    """A SPARQL 'service' on loopback that records every visit."""
    _Canary.visits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/sparql", _Canary.visits
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "template",
    [
        "SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "select * where {{ service silent <{url}> {{ ?s ?p ?o }} }}",
        "SELECT * WHERE {{\n# harmless?\nSeRvIcE<{url}>{{?s ?p ?o}} }}",
        "SELECT * WHERE {{ ?x ?y ?z . {{ SELECT * {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}",
    ],
)
def test_service_is_refused_and_never_called(endpoint, canary, template):
    url, visits = canary
    reply = get(endpoint, template.format(url=url))
    assert reply.status == 403
    assert "SERVICE" in reply.text()
    assert visits == []


@pytest.mark.parametrize(
    "query",
    [
        'SELECT ?s WHERE { ?s ?p "SERVICE" } LIMIT 1',
        "SELECT ?service WHERE { ?service ?p ?o } LIMIT 1  # not a SERVICE call",
    ],
)
def test_the_word_service_elsewhere_is_fine(endpoint, query):
    assert get(endpoint, query).status == 200


def test_timeout_stops_the_query_and_its_worker(server, endpoint):
    before = server.workers()
    assert len(before) == 2
    started = time.monotonic()
    reply = request(
        endpoint,
        method="POST",
        headers={"Content-Type": "application/sparql-query"},
        data=SLOW.encode(),
        timeout=60,
    )
    waited = time.monotonic() - started
    assert reply.status == 504, reply.text()
    assert "stopped" in reply.text()
    assert waited < 30  # a bound, not a speed test: without the stop it would run for hours
    # The worker that ran it was killed; the others are untouched.
    gone = before - server.workers()
    assert len(gone) == 1
    assert not alive(gone.pop())
    # The server still answers, and a replacement worker joins the pool.
    assert get(endpoint, COUNT_MEASURES).status == 200
    deadline = time.monotonic() + 60
    while len(server.workers()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(server.workers()) == 2
    assert server.workers() != before


@pytest.mark.parametrize(
    ("accept", "link_in_body"),
    [("application/sparql-results+json", True), ("application/sparql-results+xml", True)],
)
def test_row_cap_is_announced(endpoint, accept, link_in_body):
    reply = get(endpoint, "SELECT * WHERE { ?s ?p ?o }", accept)
    assert reply.status == 200
    assert reply.headers["X-Result-Truncated"] == "true"
    assert reply.headers["X-Result-Limit"] == str(MAX_ROWS)
    if accept.endswith("json"):
        data = json.loads(reply.body)
        assert len(data["results"]["bindings"]) == MAX_ROWS
        assert data["head"]["link"] == [endpoint + "/limits"]
    else:
        assert reply.text().count("<result>") == MAX_ROWS
        assert f'<link href="{endpoint}/limits"/>' in reply.text()
    limits = request(endpoint + "/limits")
    assert str(MAX_ROWS) in limits.text()


def test_row_cap_in_csv_and_turtle(endpoint, graph):
    reply = get(endpoint, "SELECT * WHERE { ?s ?p ?o }", "text/csv")
    assert reply.headers["X-Result-Truncated"] == "true"
    assert len(list(csv.reader(io.StringIO(reply.text())))) == 1 + MAX_ROWS
    reply = get(endpoint, "CONSTRUCT WHERE { ?s ?p ?o }", "text/turtle")
    assert reply.headers["X-Result-Truncated"] == "true"
    assert "truncated" in reply.text().splitlines()[-1]
    assert len(Graph().parse(data=reply.body, format="turtle")) == MAX_ROWS


def test_no_announcement_below_the_cap(endpoint):
    reply = get(endpoint, PREFIXES + "SELECT ?c WHERE { ?c a pg:Chapter }")
    assert reply.status == 200
    assert "X-Result-Truncated" not in reply.headers
    assert "link" not in json.loads(reply.body)["head"]
