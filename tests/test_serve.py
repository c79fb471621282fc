"""``policygraph serve``: the linked-data HTTP contract, against a real server on loopback.

The contract is a table of real ``Accept`` headers (browsers', curl's, RDF clients') with
the status and type each must get. Bodies are parsed with rdflib and compared with the
build's own Turtle dump, an independent reading of the same graph.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF

from policygraph.conneg import negotiate, parse_accept
from policygraph.sparql_guard import inspect
from tests.support.served import request, serve

PG = Namespace("https://w3id.org/policygraph/ontology#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
VOID = Namespace("http://rdfs.org/ns/void#")

TURTLE = "text/turtle"
JSONLD = "application/ld+json"
NT = "application/n-triples"
RDFXML = "application/rdf+xml"
HTML = "text/html"
RDFLIB_FORMAT = {TURTLE: "turtle", JSONLD: "json-ld", NT: "nt", RDFXML: "xml"}
OFFERS = [TURTLE, JSONLD, NT, RDFXML, HTML]

FIREFOX = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
CHROME = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
)


# ---------------------------------------------------------------------------
# Accept parsing, on its own (RFC 9110 §12.5.1)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, TURTLE),  # no header: anything goes; server order puts Turtle first
        ("", TURTLE),
        ("*/*", TURTLE),
        ("text/*", TURTLE),  # Turtle and HTML tie; server order
        (FIREFOX, HTML),
        ("text/turtle;q=0.5, application/ld+json;q=0.9", JSONLD),
        ("text/turtle;q=0, */*;q=0.1", JSONLD),  # q=0 excludes even under a wildcard
        ("text/*;q=0.9, text/html;q=0", TURTLE),  # the specific range decides HTML's weight
        ("text/*;q=0.3, text/turtle;q=0.2", HTML),  # turtle's own q beats text/*
        ("application/rdf+xml;q=0.9, text/turtle;q=0.9", TURTLE),
        ("TEXT/TURTLE", TURTLE),
        ('application/ld+json;profile="http://www.w3.org/ns/json-ld#compacted"', JSONLD),
        ("text/turtle;charset=utf-8", TURTLE),
        ("text/turtle;charset=latin-1", None),  # we only write UTF-8
        ("image/png", None),
        ("text/turtle;q=0", None),
        ("garbage, text/turtle;q=0.1", TURTLE),  # a malformed range is ignored
        ("text/turtle;q=x", None),  # an unreadable q drops that range
    ],
)
def test_negotiate(accept, expected):
    assert negotiate(accept, OFFERS) == expected


def test_alias_counts_only_when_the_type_is_not_named():
    aliases = {"application/json": JSONLD}
    assert negotiate("application/json", OFFERS, aliases) == JSONLD
    assert negotiate("application/json, application/ld+json;q=0", OFFERS, aliases) is None


def test_parse_accept_keeps_order_and_weights():
    ranges = parse_accept("text/html;level=1;q=0.4, */*;q=0.1")
    assert [(r.type, r.subtype, r.q) for r in ranges] == [("text", "html", 0.4), ("*", "*", 0.1)]
    assert ranges[0].params == (("level", "1"),)


# ---------------------------------------------------------------------------
# SERVICE and update detection, on its own


@pytest.mark.parametrize(
    ("text", "service", "update"),
    [
        ("SELECT * { SERVICE <http://e/sparql> { ?s ?p ?o } }", True, False),
        ("select * { service silent <http://e/sparql> { ?s ?p ?o } }", True, False),
        ("SELECT * {\n  # a comment\n  sErViCe<http://e/sparql>{?s ?p ?o}}", True, False),
        ("SELECT * { ?s ?p ?o . { SELECT ?s { SERVICE ?where { ?s ?p ?o } } } }", True, False),
        (r"SELECT * { \u0053ERVICE <http://e/> { ?s ?p ?o } }", True, False),
        ("SELECT * { ?s ?p ?o } # SERVICE <http://e/>", False, False),
        ('SELECT * { ?s ?p "SERVICE <http://e/> {}" }', False, False),
        ("SELECT * { ?s ?p '''\nSERVICE <http://e/> { }''' }", False, False),
        ("SELECT ?service { ?service ?p ?o }", False, False),
        ("PREFIX service: <http://e/> SELECT * { ?s service:x ?o }", False, False),
        ("PREFIX e: <http://e/> SELECT * { ?s e:SERVICE ?o }", False, False),
        ('SELECT * { ?s ?p "x"@service }', False, False),
        ("SELECT * { <http://e/SERVICE> ?p ?o }", False, False),
        ("INSERT DATA { <http://e/a> <http://e/b> <http://e/c> }", False, True),
        ("PREFIX e: <http://e/>\ndelete where { ?s ?p ?o }", False, True),
        ("SELECT * { ?s ?p ?o } ; DROP ALL", False, True),
        ('SELECT * { ?s ?p "DROP ALL" }', False, False),
    ],
)
def test_inspect(text, service, update):
    found = inspect(text)
    assert (found.uses_service, found.is_update) == (service, update)


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("PREFIX e: <http://e/> SELECT * { ?s ?p ?o }", "SELECT"),
        ("# CONSTRUCT in a comment\nASK { ?s ?p ?o }", "ASK"),
        ("BASE <http://e/> CONSTRUCT WHERE { ?s ?p ?o }", "CONSTRUCT"),
        ("DESCRIBE <http://e/x>", "DESCRIBE"),
        ("not sparql at all", None),
    ],
)
def test_inspect_finds_the_form(text, form):
    assert inspect(text).form == form


# ---------------------------------------------------------------------------
# A real server


@pytest.fixture(scope="module")
def server(build_dir: Path):
    with serve(build_dir) as served:
        yield served


@pytest.fixture(scope="module")
def base(build_dir: Path) -> str:
    void = Graph().parse(build_dir / "void.ttl")
    return str(next(void.objects(None, VOID.uriSpace)))


@pytest.fixture(scope="module")
def measure(graph: Graph) -> URIRef:
    """Item 17 of the bundled document (a measure, by the source's numbering)."""
    found = [
        m for m in graph.subjects(RDF.type, PG.Measure) if (m, ELI.number, Literal("17")) in graph
    ]
    assert len(found) == 1
    return found[0]


def path_of(iri: str, base: str) -> str:
    """The documented mapping: {base}X is served at /id/X."""
    assert iri.startswith(base)
    return "/id/" + iri[len(base) :]


def own_triples(graph: Graph, subject: URIRef) -> set:
    return set(graph.triples((subject, None, None)))


def test_server_announces_where_it_listens(server):
    assert server.url.startswith("http://127.0.0.1:")
    assert len(server.workers()) == 2  # the default number of SPARQL workers


CONTRACT = [
    # (Accept header, expected status, expected Content-Type)
    (FIREFOX, 200, HTML),
    (CHROME, 200, HTML),
    ("text/html", 200, HTML),
    (TURTLE, 200, TURTLE),
    (JSONLD, 200, JSONLD),
    (NT, 200, NT),
    (RDFXML, 200, RDFXML),
    ("text/turtle;q=0.5, application/ld+json;q=0.9", 200, JSONLD),
    ("application/n-triples, text/turtle;q=0.9", 200, NT),
    ("application/turtle,text/turtle", 200, TURTLE),  # what SPARQLWrapper sends for Turtle
    ("application/json", 200, JSONLD),  # JSON-LD is JSON
    ("*/*", 200, TURTLE),  # curl, wget: data
    (None, 200, TURTLE),
    ("text/*", 200, TURTLE),
    ("text/turtle;q=0, */*;q=0.5", 200, JSONLD),
    ("image/png", 406, "text/plain"),
    ("application/pdf, image/*;q=0.5", 406, "text/plain"),
]


@pytest.mark.parametrize(("accept", "status", "media_type"), CONTRACT)
def test_resource_contract(server, graph, base, measure, accept, status, media_type):
    path = path_of(str(measure), base)
    reply = request(server.url.rstrip("/") + path, headers={"Accept": accept} if accept else {})
    assert reply.status == status
    assert reply.media_type == media_type
    assert "Accept" in reply.headers.get("Vary", "")
    if status == 406:
        for offered in (TURTLE, JSONLD, NT, RDFXML, HTML):
            assert offered in reply.text()  # the 406 lists what is available
        return
    links = reply.headers.get("Link", "")
    for offered, name in ((TURTLE, "ttl"), (JSONLD, "jsonld"), (NT, "nt"), (RDFXML, "rdf")):
        assert f'<{path}?format={name}>; rel="alternate"; type="{offered}"' in links
    if media_type == HTML:
        check_html(reply.text(), graph, measure)
    else:
        served = Graph().parse(data=reply.body, format=RDFLIB_FORMAT[media_type])
        assert own_triples(graph, measure) <= set(served)


def check_html(page: str, graph: Graph, subject: URIRef) -> None:
    """The page names the resource and carries its JSON-LD."""
    label = str(graph.value(subject, URIRef("http://www.w3.org/2000/01/rdf-schema#label")))
    assert label in page or label.split(". ", 1)[-1] in page
    scripts = re.findall(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page, re.S)
    assert scripts, "no JSON-LD in the page"
    embedded = Graph()
    for script in scripts:
        embedded.parse(data=script, format="json-ld")
    assert (subject, RDF.type, PG.Measure) in embedded


@pytest.mark.parametrize(
    ("name", "media_type"),
    [("ttl", TURTLE), ("jsonld", JSONLD), ("nt", NT), ("rdf", RDFXML), ("html", HTML)],
)
def test_format_parameter_overrides_accept(server, base, measure, name, media_type):
    path = path_of(str(measure), base)
    reply = request(
        f"{server.url.rstrip('/')}{path}?format={name}", headers={"Accept": "image/png"}
    )
    assert (reply.status, reply.media_type) == (200, media_type)


def test_unknown_format_parameter_is_406(server, base, measure):
    path = path_of(str(measure), base)
    reply = request(f"{server.url.rstrip('/')}{path}?format=pdf")
    assert reply.status == 406
    assert "?format=ttl" in reply.text()


def test_every_format_says_the_same(server, graph, base, measure):
    """The four RDF representations of one resource are the same graph."""
    path = path_of(str(measure), base)
    graphs = []
    for media_type, fmt in RDFLIB_FORMAT.items():
        reply = request(server.url.rstrip("/") + path, headers={"Accept": media_type})
        graphs.append(Graph().parse(data=reply.body, format=fmt))
    for other in graphs[1:]:
        assert isomorphic(graphs[0], other)


def test_description_has_links_both_ways_and_labels(server, graph, base, measure):
    """Its own triples, what points at it (its chapter's has_part), labels of both ends."""
    reply = request(server.url.rstrip("/") + path_of(str(measure), base), headers={"Accept": NT})
    served = Graph().parse(data=reply.body, format="nt")
    chapter = graph.value(measure, ELI.is_part_of)
    assert (chapter, ELI.has_part, measure) in served
    theme = graph.value(measure, PG.theme)
    labels = set(graph.objects(theme, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel")))
    assert labels and labels <= set(served.objects(theme, None))


def test_theme_is_served_under_its_own_path_and_lists_its_measures(server, graph, measure):
    theme = graph.value(measure, PG.theme)
    root = "https://w3id.org/policygraph/"
    assert str(theme).startswith(root)
    reply = request(server.url + str(theme)[len(root) :], headers={"Accept": TURTLE})
    assert reply.status == 200
    served = Graph().parse(data=reply.body, format="turtle")
    measures = set(graph.subjects(PG.theme, theme))
    assert measure in measures
    assert measures == set(served.subjects(PG.theme, theme))


@pytest.mark.parametrize(
    ("accept", "media_type"), [("text/turtle", "text/plain"), (FIREFOX, "text/html")]
)
def test_unknown_iri_is_404(server, accept, media_type):
    reply = request(server.url + "id/policy/no-such-policy", headers={"Accept": accept})
    assert (reply.status, reply.media_type) == (404, media_type)


def test_head_has_headers_and_no_body(server, base, measure):
    url = server.url.rstrip("/") + path_of(str(measure), base)
    full = request(url, headers={"Accept": TURTLE})
    head = request(url, method="HEAD", headers={"Accept": TURTLE})
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == str(len(full.body))


def test_etag_gives_304(server, base, measure):
    url = server.url.rstrip("/") + path_of(str(measure), base)
    first = request(url, headers={"Accept": TURTLE})
    again = request(url, headers={"Accept": TURTLE, "If-None-Match": first.headers["ETag"]})
    assert again.status == 304


# ---------------------------------------------------------------------------
# The dataset description, dumps, pages, CORS


@pytest.mark.parametrize("accept", [TURTLE, JSONLD, NT, RDFXML])
def test_well_known_void(server, build_dir, accept):
    reply = request(server.url + ".well-known/void", headers={"Accept": accept})
    assert (reply.status, reply.media_type) == (200, accept)
    served = Graph().parse(data=reply.body, format=RDFLIB_FORMAT[accept])
    assert isomorphic(served, Graph().parse(build_dir / "void.ttl"))


@pytest.mark.parametrize(
    ("name", "media_type"),
    [
        ("policygraph.ttl", TURTLE),
        ("policygraph.nt", NT),
        ("policygraph.nq", "application/n-quads"),
        ("policygraph.trig", "application/trig"),
        ("policygraph.jsonld", JSONLD),
    ],
)
def test_dumps(server, build_dir, name, media_type):
    reply = request(server.url + "dumps/" + name)
    assert (reply.status, reply.media_type) == (200, media_type)
    expected = (build_dir / name).read_bytes()
    assert reply.headers["Content-Length"] == str(len(expected))
    assert reply.body == expected  # a dump is served byte for byte


def test_void_dump_links_resolve_on_the_server(server, build_dir, base):
    """void:dataDump names {base}dumps/F; the server answers that IRI's path too."""
    void = Graph().parse(build_dir / "void.ttl")
    dumps = [str(d) for d in void.objects(None, VOID.dataDump)]
    assert dumps
    for dump in dumps:
        reply = request(server.url.rstrip("/") + path_of(dump, base), method="HEAD")
        assert reply.status == 200, dump


@pytest.mark.parametrize("path", ["dumps/..%2Fvoid.ttl", "dumps/../../pyproject.toml", "dumps/"])
def test_dumps_stay_in_the_build(server, path):
    assert request(server.url + path).status == 404


def test_cors_on_answers_and_preflight(server, base, measure):
    reply = request(server.url + "sparql?query=" + urllib.parse.quote("ASK {}"))
    assert reply.headers["Access-Control-Allow-Origin"] == "*"
    preflight = request(
        server.url + "sparql",
        method="OPTIONS",
        headers={
            "Origin": "https://example.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "content-type" in preflight.headers["Access-Control-Allow-Headers"].lower()


def test_home_page(server):
    reply = request(server.url, headers={"Accept": FIREFOX})
    assert (reply.status, reply.media_type) == (200, HTML)
    assert "/.well-known/void" in reply.headers.get("Link", "")


def test_ontology_page_and_rdf(server):
    page = request(server.url + "ontology", headers={"Accept": FIREFOX})
    assert (page.status, page.media_type) == (200, HTML)
    rdf = request(server.url + "ontology", headers={"Accept": TURTLE})
    assert rdf.status == 200
    ontology = Graph().parse(data=rdf.body, format="turtle")
    assert (URIRef("https://w3id.org/policygraph/ontology"), RDF.type, None) in ontology


def test_query_page_runs_a_canned_query_with_a_parameter(server):
    """Objectives due in 2020: the bundled text's item 3 sets three, all for 2020."""
    reply = request(
        server.url + "query?query=objectives-by-year&year=2020", headers={"Accept": FIREFOX}
    )
    assert (reply.status, reply.media_type) == (200, HTML)
    table = re.search(r"<table>.*?</table>", reply.text(), re.S)
    assert table, "no result table"
    assert table.group().count("<tr>") == 1 + 3  # the header row and three objectives
    none = request(server.url + "query?query=objectives-by-year&year=1999")
    assert none.status == 200
    assert re.search(r"<table>.*?</table>", none.text(), re.S).group().count("<tr>") == 1


def test_query_page_reports_a_bad_parameter(server):
    reply = request(server.url + "query?query=objectives-by-year&year=soon")
    assert reply.status == 400
    assert "soon" in reply.text()


def test_json_ld_is_compact_with_the_context(server, base, measure):
    reply = request(
        server.url.rstrip("/") + path_of(str(measure), base), headers={"Accept": JSONLD}
    )
    document = json.loads(reply.body)
    assert "@context" in document


# ---------------------------------------------------------------------------
# The application in-process (no SPARQL workers needed), and user errors


def call(app, path: str, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request to the WSGI application, without a server."""
    from wsgiref.util import setup_testing_defaults

    route, _, query = path.partition("?")
    environ = {"PATH_INFO": route, "QUERY_STRING": query, "REQUEST_METHOD": "GET"}
    if accept:
        environ["HTTP_ACCEPT"] = accept
    setup_testing_defaults(environ)
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def test_base_iri_option_moves_the_id_space(build_dir, base, measure):
    from policygraph.serve import ServeConfig, Server

    path = path_of(str(measure), base)
    default = Server(ServeConfig(data=build_dir))
    assert default.base == base
    assert call(default, path, TURTLE)[0] == 200
    moved = Server(ServeConfig(data=build_dir, base_iri="https://example.org/elsewhere/"))
    assert call(moved, path, TURTLE)[0] == 404  # /id/X now means https://example.org/elsewhere/X


def test_a_build_without_void_needs_base_iri(tmp_path, build_dir, base, measure):
    import shutil

    from policygraph.errors import PolicyGraphError
    from policygraph.serve import ServeConfig, Server

    shutil.copy(build_dir / "policygraph.nq", tmp_path / "policygraph.nq")
    with pytest.raises(PolicyGraphError, match="--base-iri"):
        Server(ServeConfig(data=tmp_path))
    app = Server(ServeConfig(data=tmp_path, base_iri=base))
    assert call(app, path_of(str(measure), base), NT)[0] == 200
    assert call(app, "/.well-known/void", TURTLE)[0] == 404


def test_serve_without_a_build_is_one_clear_line(tmp_path):
    import subprocess
    import sys

    missing = tmp_path / "nothing-here"
    result = subprocess.run(
        [sys.executable, "-m", "policygraph", "serve", "--data", str(missing), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(missing) in lines[0]
    assert "Traceback" not in result.stderr
