"""The SPARQL 1.1 Protocol endpoint at ``/sparql``: read-only, time-limited, capped, CORS-open.

What a request may be (https://www.w3.org/TR/sparql11-protocol/ §2.1):

* ``GET /sparql?query=…`` — the query in the URL;
* ``POST`` with ``application/x-www-form-urlencoded`` — ``query=…`` in the body;
* ``POST`` with ``application/sparql-query`` — the body is the query;
* ``default-graph-uri`` / ``named-graph-uri`` (repeatable) choose the dataset; without
  them, the default graph is the union of every graph of the build.

What the server refuses, each with one clear line of text:

* updates — an ``update`` field, an ``application/sparql-update`` body, or a text that
  uses an update keyword → 403 (the endpoint is read-only);
* ``SERVICE`` → 403 (it would make the server fetch arbitrary URLs);
* a query running longer than the time limit → 504; its worker process is killed, so
  the query really stops (see :mod:`policygraph.sparql_pool`); all workers busy for
  that long → 503 with ``Retry-After``.

The row cap is announced, never silent. When a result is cut the response carries
``X-Result-Truncated: true`` and ``X-Result-Limit: N``; JSON and XML results also name
a ``link`` in their head (the place the SPARQL results formats reserve for metadata)
pointing at ``/sparql/limits``, which explains the limits; Turtle and N-Triples end with
a comment. CSV and TSV have no place for a note, so the headers carry it alone.

Result types: SELECT and ASK as SPARQL JSON (the default), XML, CSV and TSV; CONSTRUCT
and DESCRIBE as Turtle (the default), JSON-LD, N-Triples and RDF/XML — chosen from
``Accept`` or a ``format`` (or ``output``) field such as ``json``, ``xml``, ``csv``,
``tsv``, ``turtle``, ``jsonld``, ``nt`` or a media type; unknown ``format`` values are
ignored (clients such as SPARQLWrapper send several), so ``Accept`` decides.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from policygraph.conneg import negotiate
from policygraph.httpkit import (
    LRUCache,
    Response,
    TooLarge,
    origin,
    query_fields,
    read_body,
    text_response,
)
from policygraph.sparql_guard import inspect
from policygraph.sparql_pool import (
    CSV,
    SPARQL_JSON,
    SPARQL_XML,
    TSV,
    PoolBusy,
    QueryFailed,
    QueryJob,
    QueryTimeout,
    WorkerPool,
)

__all__ = ["GRAPH_TYPES", "RESULT_TYPES", "SparqlEndpoint"]

TURTLE = "text/turtle"
JSONLD = "application/ld+json"
NTRIPLES = "application/n-triples"
RDFXML = "application/rdf+xml"
HTML = "text/html"

RESULT_TYPES = (SPARQL_JSON, SPARQL_XML, CSV, TSV)
GRAPH_TYPES = (TURTLE, JSONLD, NTRIPLES, RDFXML)
RESULT_ALIASES = {
    "application/json": SPARQL_JSON,
    "application/xml": SPARQL_XML,
    "text/xml": SPARQL_XML,
}
GRAPH_ALIASES = {
    "application/x-turtle": TURTLE,
    "application/turtle": TURTLE,
    "text/n3": TURTLE,  # Turtle is a subset of N3
    "text/rdf+n3": TURTLE,
    "application/json": JSONLD,
    "application/x-json+ld": JSONLD,
}
RESULT_TOKENS = {"json": SPARQL_JSON, "srj": SPARQL_JSON, "xml": SPARQL_XML, "srx": SPARQL_XML}
RESULT_TOKENS |= {"csv": CSV, "tsv": TSV}
GRAPH_TOKENS = {"turtle": TURTLE, "ttl": TURTLE, "n3": TURTLE, "jsonld": JSONLD}
GRAPH_TOKENS |= {"json-ld": JSONLD, "json": JSONLD, "nt": NTRIPLES, "ntriples": NTRIPLES}
GRAPH_TOKENS |= {"n-triples": NTRIPLES, "rdf": RDFXML, "xml": RDFXML, "rdfxml": RDFXML}
GRAPH_TOKENS |= {"rdf+xml": RDFXML}

MAX_BODY = 1_000_000  # bytes of a POSTed query
SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = "http://www.w3.org/ns/formats/"
FORMAT_IRIS = {
    SPARQL_JSON: "SPARQL_Results_JSON",
    SPARQL_XML: "SPARQL_Results_XML",
    CSV: "SPARQL_Results_CSV",
    TSV: "SPARQL_Results_TSV",
    TURTLE: "Turtle",
    JSONLD: "JSON-LD",
    NTRIPLES: "N-Triples",
    RDFXML: "RDF_XML",
}


def _offers(form: str) -> tuple[Sequence[str], dict[str, str], dict[str, str]]:
    if form in ("CONSTRUCT", "DESCRIBE"):
        return GRAPH_TYPES, GRAPH_ALIASES, GRAPH_TOKENS
    return RESULT_TYPES, RESULT_ALIASES, RESULT_TOKENS


def choose_result_type(form: str, accept: str | None, formats: Sequence[str]) -> str | None:
    """The result media type: the first recognised ``format`` value, else ``Accept``."""
    offers, aliases, tokens = _offers(form)
    for value in formats:
        key = value.strip().lower()
        chosen = tokens.get(key) or aliases.get(key) or (key if key in offers else None)
        if chosen:
            return chosen
    return negotiate(accept, offers, aliases)


@dataclass(frozen=True)
class ParsedRequest:
    """The protocol fields of one request."""

    query: str | None
    default_graphs: tuple[str, ...]
    named_graphs: tuple[str, ...]
    formats: tuple[str, ...]


class Refusal(Exception):
    """A request the endpoint answers with an error instead of running it."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def _refuse(status: int, message: str, *headers: tuple[str, str]) -> Refusal:
    return Refusal(text_response(status, message, *headers))


READ_ONLY = (
    "This SPARQL endpoint is read-only: SPARQL Update (INSERT, DELETE, LOAD, CLEAR, "
    "CREATE, DROP, COPY, MOVE, ADD) is refused. Load the dumps into your own store to change them."
)


def parse_request(environ: dict[str, Any]) -> ParsedRequest:
    """Read the protocol fields of a GET or POST, refusing what the endpoint never runs."""
    method = environ.get("REQUEST_METHOD", "GET")
    fields = query_fields(environ.get("QUERY_STRING", ""))
    body_query: str | None = None
    if method == "POST":
        kind = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        try:
            body = read_body(environ, MAX_BODY)
        except TooLarge:
            raise _refuse(413, f"The request body is over {MAX_BODY} bytes.") from None
        text = _decode(body)
        if kind == "application/x-www-form-urlencoded":
            for name, values in query_fields(text).items():
                fields.setdefault(name, []).extend(values)
        elif kind == "application/sparql-query":
            body_query = text
        elif kind == "application/sparql-update":
            raise _refuse(403, READ_ONLY)
        else:
            raise _refuse(
                415,
                "POST needs Content-Type application/x-www-form-urlencoded "
                "(with query=…) or application/sparql-query (the query as the body).",
            )
    if "update" in fields:
        raise _refuse(403, READ_ONLY)
    queries = fields.get("query", [])
    if body_query is not None:
        queries = [*queries, body_query]
    if len(queries) > 1:
        raise _refuse(400, "Send exactly one query (the request has several 'query' values).")
    return ParsedRequest(
        query=queries[0] if queries else None,
        default_graphs=tuple(fields.get("default-graph-uri", [])),
        named_graphs=tuple(fields.get("named-graph-uri", [])),
        formats=tuple(fields.get("format", []) + fields.get("output", [])),
    )


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse(400, "The request body is not UTF-8 text.") from None


class SparqlEndpoint:
    """Answers ``/sparql`` requests with a worker pool, a response cache and the limits.

    :param pool: the query workers (they enforce the time limit).
    :param max_rows: the row cap (solutions or triples per response).
    :param graphs: the build's named graphs with their triple counts (for the service
        description).
    :param prefixes: namespace prefixes for Turtle answers.
    :param form_page: renders the HTML page browsers get at ``/sparql`` without a query.
    """

    def __init__(
        self,
        pool: WorkerPool,
        max_rows: int,
        graphs: dict[str, int],
        prefixes: dict[str, str],
        cache: LRUCache,
        path: str = "/sparql",
        form_page: Callable[[str], str] | None = None,
    ):
        self.pool = pool
        self.max_rows = max_rows
        self.graphs = graphs
        self.prefixes = prefixes
        self.cache = cache
        self.path = path
        self.form_page = form_page or _form_page

    # -- entry points ----------------------------------------------------------

    def handle(self, environ: dict[str, Any]) -> Response:
        """Answer one request to the endpoint."""
        try:
            request = parse_request(environ)
            if request.query is None:
                if environ.get("REQUEST_METHOD") == "POST":
                    raise _refuse(400, "POST to /sparql needs a query.")
                return self.service_description(environ)
            return self.answer(request, environ.get("HTTP_ACCEPT"), origin(environ))
        except Refusal as refusal:
            return refusal.response

    def answer(self, request: ParsedRequest, accept: str | None, base_url: str) -> Response:
        """Check, negotiate, then run a query (or take its answer from the cache)."""
        query = request.query or ""
        found = inspect(query)
        if found.is_update:
            raise _refuse(403, READ_ONLY)
        if found.uses_service:
            raise _refuse(
                403,
                "SERVICE (federated query) is refused by this endpoint: it would make the "
                "server fetch other sites for you. Run federated queries from your own client.",
            )
        form = found.form or "SELECT"
        media_type = choose_result_type(form, accept, request.formats)
        if media_type is None:
            offers = _offers(form)[0]
            raise _refuse(
                406,
                f"No acceptable result type for a {form} query. Available: {', '.join(offers)} "
                "(send one in Accept, or format=json|xml|csv|tsv|turtle|jsonld|nt|rdfxml).",
            )
        # A digest, not the text: keys are not counted in the cache's byte budget.
        digest = hashlib.blake2b(query.encode("utf-8"), digest_size=16).digest()
        key = (digest, media_type, request.default_graphs, request.named_graphs)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        job = QueryJob(
            query=query,
            form=form,
            media_type=media_type,
            max_rows=self.max_rows,
            default_graphs=request.default_graphs,
            named_graphs=request.named_graphs,
            truncation_link=f"{base_url}{self.path}/limits",
            prefixes=tuple(sorted(self.prefixes.items())),
        )
        response = self.run(job)
        if response.status == 200:
            self.cache.put(key, response)
        return response

    def run(self, job: QueryJob) -> Response:
        """Run a job in the pool and turn the outcome into a response."""
        try:
            answer = self.pool.run(job)
        except PoolBusy:
            return text_response(
                503,
                f"Every query worker stayed busy for {self.pool.timeout:g} s; try again shortly.",
                ("Retry-After", "5"),
            )
        except QueryTimeout:
            return text_response(
                504,
                f"The query ran longer than this endpoint's limit of {self.pool.timeout:g} s "
                "and was stopped. Narrow it (add LIMIT, more specific patterns) or load the "
                "dumps into your own store.",
            )
        except QueryFailed as exc:
            if exc.syntax:
                return text_response(400, f"SPARQL syntax error: {exc}")
            return text_response(500, f"The query failed: {exc}")
        headers = [("Vary", "Accept"), ("X-Result-Rows", str(answer.rows))]
        if answer.truncated:
            headers += [
                ("X-Result-Truncated", "true"),
                ("X-Result-Limit", str(job.max_rows)),
                ("Link", f'<{job.truncation_link}>; rel="describedby"'),
            ]
        return Response(200, answer.body, answer.media_type, tuple(headers)).with_etag()

    # -- describing the service ------------------------------------------------

    def limits_text(self) -> Response:
        """``/sparql/limits``: the limits in words (where truncated results link to)."""
        return text_response(
            200,
            "Limits of this SPARQL endpoint\n\n"
            f"- Results are cut at {self.max_rows} rows (solutions, or triples for CONSTRUCT "
            "and DESCRIBE). A cut result carries the HTTP headers X-Result-Truncated: true "
            "and X-Result-Limit; SPARQL JSON and XML results also name this page in the "
            "'link' of their head, Turtle and N-Triples end with a comment.\n"
            "  To read everything, page with ORDER BY, LIMIT and OFFSET, or download the "
            "dumps (/dumps/).\n"
            f"- A query may run {self.pool.timeout:g} s; then it is stopped and the answer is "
            "504.\n"
            "- The endpoint is read-only (updates get 403) and refuses SERVICE (403).\n",
        )

    def service_description(self, environ: dict[str, Any]) -> Response:
        """GET /sparql without a query: a SPARQL 1.1 Service Description, or a form."""
        offers = (*GRAPH_TYPES, HTML)
        accept = environ.get("HTTP_ACCEPT")
        media_type = negotiate(accept, offers, GRAPH_ALIASES)
        if media_type is None:
            return text_response(406, f"Available: {', '.join(offers)}")
        endpoint = origin(environ) + self.path
        if media_type == HTML:
            body = self.form_page(endpoint).encode("utf-8")
        else:
            body = self._description_rdf(endpoint, media_type)
        return Response(200, body, media_type, (("Vary", "Accept"),))

    def _description_rdf(self, endpoint: str, media_type: str) -> bytes:
        import pyoxigraph as ox

        def iri(value: str) -> ox.NamedNode:
            return ox.NamedNode(value)

        rdf_type = iri("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
        service = iri(endpoint + "#service")
        dataset = ox.BlankNode("dataset")
        default = ox.BlankNode("default")
        triples = [
            ox.Triple(service, rdf_type, iri(SD + "Service")),
            ox.Triple(service, iri(SD + "endpoint"), iri(endpoint)),
            ox.Triple(service, iri(SD + "supportedLanguage"), iri(SD + "SPARQL11Query")),
            ox.Triple(service, iri(SD + "feature"), iri(SD + "UnionDefaultGraph")),
            ox.Triple(service, iri(SD + "defaultDataset"), dataset),
            ox.Triple(dataset, rdf_type, iri(SD + "Dataset")),
            ox.Triple(dataset, iri(SD + "defaultGraph"), default),
            ox.Triple(default, rdf_type, iri(SD + "Graph")),
            ox.Triple(
                service,
                iri("http://purl.org/dc/terms/description"),
                ox.Literal(
                    f"Read-only (updates refused); SERVICE refused; queries stop after "
                    f"{self.pool.timeout:g} s; results are cut at {self.max_rows} rows and a "
                    "cut is announced (see /sparql/limits). The default graph is the union "
                    "of all named graphs.",
                    language="en",
                ),
            ),
        ]
        triples += [
            ox.Triple(service, iri(SD + "resultFormat"), iri(FORMATS + name))
            for name in FORMAT_IRIS.values()
        ]
        void_triples = iri("http://rdfs.org/ns/void#triples")
        integer = iri("http://www.w3.org/2001/XMLSchema#integer")
        total = sum(self.graphs.values())
        triples.append(ox.Triple(default, void_triples, ox.Literal(str(total), datatype=integer)))
        for number, (name, count) in enumerate(sorted(self.graphs.items())):
            named, graph = ox.BlankNode(f"named{number}"), ox.BlankNode(f"graph{number}")
            triples += [
                ox.Triple(dataset, iri(SD + "namedGraph"), named),
                ox.Triple(named, rdf_type, iri(SD + "NamedGraph")),
                ox.Triple(named, iri(SD + "name"), iri(name)),
                ox.Triple(named, iri(SD + "graph"), graph),
                ox.Triple(graph, rdf_type, iri(SD + "Graph")),
                ox.Triple(graph, void_triples, ox.Literal(str(count), datatype=integer)),
            ]
        fmt = ox.RdfFormat.from_media_type(media_type)
        prefixes = {"sd": SD, "formats": FORMATS, "void": "http://rdfs.org/ns/void#"}
        prefixes["dcterms"] = "http://purl.org/dc/terms/"
        return ox.serialize(
            triples, format=fmt, prefixes=prefixes if fmt == ox.RdfFormat.TURTLE else None
        )


def _form_page(endpoint: str) -> str:
    """A query form that works without JavaScript (it GETs /sparql?query=…)."""
    options = "".join(
        f'<option value="{token}">{token}</option>'
        for token in ("json", "xml", "csv", "tsv", "turtle", "jsonld", "nt")
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>SPARQL endpoint</title></head><body>"
        f"<h1>SPARQL endpoint</h1><p>Endpoint: <code>{html.escape(endpoint)}</code>. "
        'Read-only; see <a href="/sparql/limits">its limits</a>, or pick a '
        '<a href="/query">canned query</a>.</p>'
        '<form method="get" action="/sparql">'
        '<textarea name="query" rows="12" cols="80">'
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 10</textarea><br>"
        f'<label>Format <select name="format">{options}</select></label> '
        '<button type="submit">Run</button></form></body></html>\n'
    )
