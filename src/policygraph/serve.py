"""``policygraph serve``: the build as linked data — dereferenceable IRIs and a SPARQL endpoint.

Where things are on the server (the mapping :func:`policygraph.html.local_path` also
uses for the links in pages, so links and routes cannot drift apart):

=============================  =====================================================
path                           what
=============================  =====================================================
``/``                          home page: each document's contents and structure
``/id/X``                      the resource ``{base}X`` (``base`` = the build's
                               ``void:uriSpace``, or ``--base-iri``)
``/X`` (anything else)         the vocabulary resource ``https://w3id.org/policygraph/X``
                               (themes, units, comparisons …)
``/ontology``                  the ontology: documentation page, or its RDF
``/sparql``                    SPARQL 1.1 Protocol (see :mod:`policygraph.sparql_protocol`)
``/query``, ``/queries``       pick a canned query of ``queries/``, fill its parameters
``/.well-known/void``          the dataset description (``void.ttl``)
``/dumps/F``, ``/id/dumps/F``  the dump files of the build
=============================  =====================================================

Resources are negotiated (:mod:`policygraph.conneg`) between Turtle, JSON-LD,
N-Triples, RDF/XML and HTML. Server preference breaks ties in that order, so
``Accept: */*`` (or no Accept, as curl sends) gets Turtle — data for programs — while
browsers, which name ``text/html`` first, get the page. ``application/json`` is read as
JSON-LD. ``?format=ttl|jsonld|nt|rdf|html`` overrides Accept; nothing acceptable is
406 with the list of types. Every negotiated answer says ``Vary: Accept`` and links each
alternative with ``Link: <…?format=…>; rel="alternate"; type="…"``.

A resource's RDF is its description: every triple with it as subject (blank nodes
followed), the triples that point at it (at most :data:`MAX_INCOMING`), and the labels
of the resources on the other end of those links, so a client can show them by name.

The build is immutable while served, so rendered responses are cached (bounded LRU,
by bytes) and marked with an ETag; that is what lets a two-core machine answer hundreds
of page requests a second.

A large build is read from its persistent store (:mod:`policygraph.store`), made on the
first start and reused by every later one; the server and its SPARQL workers open it
read-only, so its quads are on disk once rather than in memory three times.
"""

from __future__ import annotations

import html as html_escape
import logging
import mimetypes
import signal
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from policygraph import dumpfile
from policygraph.conneg import negotiate
from policygraph.errors import PolicyGraphError
from policygraph.httpkit import LRUCache, Response, query_fields, text_response
from policygraph.lod import MAX_INCOMING, describe, graph_sizes, load_build, read_base
from policygraph.sparql_pool import SPARQL_JSON, QueryJob, WorkerPool
from policygraph.sparql_protocol import (
    HTML,
    JSONLD,
    NTRIPLES,
    RDFXML,
    TURTLE,
    SparqlEndpoint,
)

log = logging.getLogger(__name__)

__all__ = ["MAX_INCOMING", "ServeConfig", "Server", "describe", "make_server", "run"]

#: Representations of a resource, in the server's order of preference.
RESOURCE_TYPES = (TURTLE, JSONLD, NTRIPLES, RDFXML, HTML)
RESOURCE_ALIASES = {
    "application/json": JSONLD,
    "application/x-turtle": TURTLE,
}
#: ``?format=`` values.
FORMAT_NAMES = {"ttl": TURTLE, "jsonld": JSONLD, "nt": NTRIPLES, "rdf": RDFXML, "html": HTML}
FORMAT_SYNONYMS = {"turtle": "ttl", "json-ld": "jsonld", "json": "jsonld", "ntriples": "nt"}
FORMAT_SYNONYMS |= {"n-triples": "nt", "rdfxml": "rdf", "xml": "rdf", "htm": "html"}
EXTENSION_OF = {media: name for name, media in FORMAT_NAMES.items()}

#: Media types of dump files, by extension (Content-Type of ``/dumps/…``).
DUMP_TYPES = {
    ".ttl": TURTLE,
    ".nt": NTRIPLES,
    ".nq": "application/n-quads",
    ".trig": "application/trig",
    ".jsonld": JSONLD,
    ".rdf": RDFXML,
    ".csv": "text/csv",
    ".txt": "text/plain",
}


def _dump_type(path: Path) -> str | None:
    """A dump file's Content-Type; a ``.gz`` dump is served as the gzip file it is (its
    contents' type is in the VoID description), not as ``Content-Encoding``, so what a
    client saves is what the build holds."""
    media = DUMP_TYPES.get(dumpfile.rdf_suffix(path))
    if media is not None and dumpfile.is_compressed(path):
        return "application/gzip"
    return media or mimetypes.guess_type(path.name)[0]


def _is_dump(path: Path) -> bool:
    """A file the home page lists: one of the dump types, plain or compressed."""
    return dumpfile.rdf_suffix(path) in DUMP_TYPES


CORS = (
    ("Access-Control-Allow-Origin", "*"),
    (
        "Access-Control-Expose-Headers",
        "Link, Vary, ETag, Content-Location, X-Result-Truncated, X-Result-Limit, X-Result-Rows",
    ),
)


@dataclass(frozen=True)
class ServeConfig:
    """How to serve a build; the defaults are those of ``policygraph serve``."""

    data: Path = Path("build")
    base_iri: str | None = None
    timeout: float = 10.0
    max_rows: int = 10_000
    workers: int = 2
    cache_mb: int = 256
    worker_memory_mb: int = 4096


# ---------------------------------------------------------------------------
# Pages (HTML by policygraph.html; a plain fallback keeps the server usable without it)


def _plain_page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>'
        f"{html_escape.escape(title)}</title></head><body><h1>{html_escape.escape(title)}</h1>"
        f"{body}</body></html>\n"
    )


def _pages() -> Any | None:
    """The HTML module, or None when its dependencies are missing."""
    try:
        from policygraph import html
    except ImportError as exc:  # pragma: no cover - only without jinja2/markupsafe
        log.warning("HTML pages unavailable (%s); serving plain pages", exc)
        return None
    return html


def local_path(iri: str, base: str) -> str:
    """Where ``iri`` is served (see the module docstring)."""
    from policygraph.html import local_path as path_of

    return path_of(iri, base)


def resource_iri(path: str, base: str) -> str | None:
    """The IRI a path serves, or None for paths that are not resources."""
    from policygraph.html import resource_iri as iri_of

    return iri_of(path, base)


def results_table(body: bytes, base: str) -> str:
    """SPARQL JSON results as an HTML table; IRIs link to their pages on this server."""
    import json

    data = json.loads(body)
    if "boolean" in data:
        return f'<p class="answer">{"yes" if data["boolean"] else "no"}</p>'
    names = data["head"]["vars"]
    head = "".join(f'<th scope="col">{html_escape.escape(n)}</th>' for n in names)
    rows = []
    for binding in data["results"]["bindings"]:
        cells = "".join(f"<td>{_cell(binding.get(n), base)}</td>" for n in names)
        rows.append(f"<tr>{cells}</tr>")
    count = len(rows)
    caption = f"<caption>{count} row{'s' if count != 1 else ''}</caption>"
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _cell(term: dict[str, Any] | None, base: str) -> str:
    if term is None:
        return ""
    value = html_escape.escape(term["value"])
    if term["type"] == "uri":
        href = html_escape.escape(local_path(term["value"], base), quote=True)
        pages = _pages()
        shown = html_escape.escape(pages.curie(term["value"])) if pages else value
        return f'<a href="{href}" title="{value}">{shown}</a>'
    lang = term.get("xml:lang")
    return f'<span lang="{html_escape.escape(lang)}">{value}</span>' if lang else value


# ---------------------------------------------------------------------------
# The application


class Server:
    """The WSGI application over one build. Call :meth:`start` before serving, :meth:`close`
    after; both are idempotent enough for tests to use the object in-process."""

    def __init__(self, config: ServeConfig, notice: Callable[[str], None] | None = None):
        data = Path(config.data)
        if not data.is_dir():
            raise PolicyGraphError(f"{data}: no such build folder; run 'policygraph build' first")
        self.config = config
        self.data = data
        from policygraph.iris import normalise_base
        from policygraph.store import locate

        self.location = locate(data, notice)  # the one store the server and workers read
        self.store = load_build(data, self.location)
        self.base = normalise_base(config.base_iri or read_base(data, self.store))
        self.graphs = graph_sizes(self.store)
        self.cache = LRUCache(config.cache_mb * 1024 * 1024)
        self.pool = WorkerPool(
            self.location, config.workers, config.timeout, config.worker_memory_mb
        )
        pages = _pages()
        self.pages = pages
        self.prefixes = pages.prefixes() if pages else {}
        self.sparql = SparqlEndpoint(
            self.pool,
            config.max_rows,
            self.graphs,
            self.prefixes,
            LRUCache(config.cache_mb * 1024 * 1024),
        )
        self.routes: dict[str, Callable[[dict[str, Any]], Response]] = {
            "/": self.home,
            "/sparql": self.sparql.handle,
            "/sparql/limits": lambda environ: self.sparql.limits_text(),
            "/query": self.query_page,
            "/queries": self.query_page,
            "/ontology": self.ontology,
            "/.well-known/void": self.void,
        }

    @property
    def triples(self) -> int:
        return sum(self.graphs.values())

    def start(self) -> None:
        """Start the SPARQL workers (each opens the build's store, or loads a small build)."""
        try:
            self.pool.start()
        except RuntimeError as exc:
            self.pool.close()
            raise PolicyGraphError(str(exc)) from None

    def close(self) -> None:
        self.pool.close()

    # -- WSGI ------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "OPTIONS":
            response = self.preflight(environ)
        elif method not in ("GET", "HEAD", "POST"):
            response = text_response(405, f"{method} is not allowed here.", self._allow())
        else:
            try:
                response = self.dispatch(environ)
            except Exception:  # one broken page must not take the server down
                log.exception("error answering %s", environ.get("PATH_INFO"))
                response = text_response(500, "Internal error; the server log has the details.")
        return self._send(environ, response, start_response)

    @staticmethod
    def _allow() -> tuple[str, str]:
        return ("Allow", "GET, HEAD, POST, OPTIONS")

    def preflight(self, environ: dict[str, Any]) -> Response:
        """CORS preflight: any origin may GET and POST, with any request headers it asks for."""
        asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "Accept, Content-Type")
        return Response(
            204,
            headers=(
                ("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS"),
                ("Access-Control-Allow-Headers", asked),
                ("Access-Control-Max-Age", "86400"),
                self._allow(),
            ),
        )

    def _send(
        self, environ: dict[str, Any], response: Response, start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        head = environ.get("REQUEST_METHOD") == "HEAD"
        if response.etag and response.status == 200:
            wanted = environ.get("HTTP_IF_NONE_MATCH", "")
            if response.etag in [tag.strip() for tag in wanted.split(",")] or wanted == "*":
                headers = [*CORS, *response.headers, ("ETag", response.etag)]
                start_response("304 Not Modified", headers)
                return [b""]
        if response.file is not None:
            size = response.file.stat().st_size
            start_response(response.status_line, [*CORS, *response.header_list(size)])
            if head:
                return [b""]
            handle = response.file.open("rb")
            wrapper = environ.get("wsgi.file_wrapper")
            return wrapper(handle, 65536) if wrapper else iter(lambda: handle.read(65536), b"")
        start_response(response.status_line, [*CORS, *response.header_list(len(response.body))])
        return [b""] if head else [response.body]

    def dispatch(self, environ: dict[str, Any]) -> Response:
        """Route a GET/HEAD/POST by path."""
        path = environ.get("PATH_INFO") or "/"
        route = self.routes.get(path)
        if route is not None:
            if environ.get("REQUEST_METHOD") == "POST" and path != "/sparql":
                return text_response(405, "Only /sparql takes POST.", self._allow())
            return route(environ)
        if environ.get("REQUEST_METHOD") == "POST":
            return text_response(405, "Only /sparql takes POST.", self._allow())
        for prefix in ("/dumps/", "/id/dumps/"):
            if path.startswith(prefix):
                return self.dump(path[len(prefix) :], environ)
        iri = resource_iri(path, self.base)
        if iri is None:
            return self.not_found(environ, path)
        return self.resource(environ, iri, path)

    # -- negotiation helpers ---------------------------------------------------

    def _choose(self, environ: dict[str, Any], offers: tuple[str, ...]) -> str | Response:
        """The representation asked for by ``?format=`` or Accept, or a 406 response."""
        fields = query_fields(environ.get("QUERY_STRING", ""))
        if "format" in fields:
            name = fields["format"][-1].strip().lower()
            name = FORMAT_SYNONYMS.get(name, name)
            media = FORMAT_NAMES.get(name) or (name if name in offers else None)
            if media in offers:
                return media
            return self._not_acceptable(offers, f"format={fields['format'][-1]} is not offered.")
        media = negotiate(environ.get("HTTP_ACCEPT"), offers, RESOURCE_ALIASES)
        if media is None:
            return self._not_acceptable(offers, "Nothing in the Accept header is offered.")
        return media

    @staticmethod
    def _not_acceptable(offers: tuple[str, ...], reason: str) -> Response:
        names = ", ".join(f"{m} (?format={EXTENSION_OF.get(m, m)})" for m in offers)
        return text_response(406, f"{reason} Available: {names}.", ("Vary", "Accept"))

    @staticmethod
    def _alternates(path: str, offers: tuple[str, ...], chosen: str) -> list[tuple[str, str]]:
        path = quote(path, safe="/:@!$&'()*+,;=-._~%")  # headers carry ASCII only
        links = ", ".join(
            f'<{path}?format={EXTENSION_OF[m]}>; rel="alternate"; type="{m}"' for m in offers
        )
        return [
            ("Vary", "Accept"),
            ("Link", links),
            ("Content-Location", f"{path}?format={EXTENSION_OF[chosen]}"),
        ]

    def _negotiated(
        self,
        environ: dict[str, Any],
        path: str,
        offers: tuple[str, ...],
        render: Callable[[str], bytes | None],
        key: Any,
    ) -> Response | None:
        """Negotiate, then answer from the cache or ``render`` (None: unknown resource)."""
        chosen = self._choose(environ, offers)
        if isinstance(chosen, Response):
            return chosen
        cached = self.cache.get((key, chosen))
        if cached is not None:
            return cached
        body = render(chosen)
        if body is None:
            return None
        headers = tuple(self._alternates(path, offers, chosen))
        response = Response(200, body, chosen, headers).with_etag()
        self.cache.put((key, chosen), response)
        return response

    # -- resources ---------------------------------------------------------------

    def resource(self, environ: dict[str, Any], iri: str, path: str) -> Response:
        """A resource's description in the negotiated format; 404 when unknown."""
        response = self._negotiated(
            environ, path, RESOURCE_TYPES, lambda media: self.render(iri, media), ("res", iri)
        )
        return response if response is not None else self.not_found(environ, path)

    def render(self, iri: str, media_type: str) -> bytes | None:
        """One representation of a resource (uncached)."""
        if media_type == HTML:
            if describe(self.store, iri, max_incoming=1) is None:
                return None
            page = self.pages.resource_page(self.store, iri, self.base) if self.pages else None
            return (page or self._fallback_resource(iri)).encode("utf-8")
        triples = describe(self.store, iri)
        if triples is None:
            return None
        return self.serialise(triples, media_type)

    def serialise(self, triples: list[Any], media_type: str) -> bytes:
        """Triples as Turtle (with prefixes), JSON-LD (compacted with the project's context
        when the page module is there), N-Triples or RDF/XML."""
        import pyoxigraph as ox

        if media_type == TURTLE and self.pages:
            return self.pages.resource_turtle(triples)
        if media_type == JSONLD and self.pages:
            import json

            document = self.pages.resource_jsonld(triples)
            return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
        return ox.serialize(triples, format=ox.RdfFormat.from_media_type(media_type))

    def _fallback_resource(self, iri: str) -> str:
        rows = "".join(
            f"<li>{html_escape.escape(str(t))}</li>" for t in describe(self.store, iri) or []
        )
        return _plain_page(iri, f"<ul>{rows}</ul>")

    def not_found(self, environ: dict[str, Any], path: str) -> Response:
        """404, as a page for browsers and as one line of text for everyone else."""
        message = f"Nothing is published at {path}."
        if negotiate(environ.get("HTTP_ACCEPT"), ("text/plain", HTML)) == HTML:
            body = _plain_page(
                "Not found", f'<p>{html_escape.escape(message)}</p><p><a href="/">Home</a></p>'
            )
            return Response(404, body.encode("utf-8"), HTML)
        return text_response(404, message)

    # -- fixed pages -----------------------------------------------------------

    def home(self, environ: dict[str, Any]) -> Response:
        """The home page (HTML whatever Accept says; the data is at /.well-known/void)."""
        cached = self.cache.get("home")
        if cached is not None:
            return cached
        dumps = sorted(p.name for p in self.data.iterdir() if _is_dump(p))
        if self.pages:
            page = self.pages.home_page(self.store, self.base, dumps=dumps)
        else:
            items = "".join(f'<li><a href="/dumps/{d}">{d}</a></li>' for d in dumps)
            page = _plain_page("policygraph", f"<ul>{items}</ul>")
        headers = (("Link", '</.well-known/void>; rel="describedby"; type="text/turtle"'),)
        response = Response(200, page.encode("utf-8"), HTML, headers).with_etag()
        self.cache.put("home", response)
        return response

    def void(self, environ: dict[str, Any]) -> Response:
        """The dataset description: ``void.ttl`` as it is, converted, or as a page."""
        source = self.data / "void.ttl"
        if not source.is_file():
            return text_response(404, f"This build has no {source.name}.")

        def render(media: str) -> bytes | None:
            if media == TURTLE:
                return source.read_bytes()
            if media == HTML:
                dataset = self.base + "dataset"
                page = (
                    self.pages.resource_page(self.store, dataset, self.base) if self.pages else None
                )
                return (page or _plain_page("Dataset", "<p>See void.ttl.</p>")).encode("utf-8")
            return self._convert(source, media)

        response = self._negotiated(environ, "/.well-known/void", RESOURCE_TYPES, render, "void")
        return response or self.not_found(environ, "/.well-known/void")

    def ontology(self, environ: dict[str, Any]) -> Response:
        """The ontology: its documentation page, or its Turtle file in any RDF format."""
        from policygraph.resources import data_dir

        source = data_dir("ontology") / "policygraph.ttl"

        def render(media: str) -> bytes | None:
            if media == HTML:
                return (
                    self.pages.ontology_page()
                    if self.pages
                    else _plain_page("Ontology", '<p><a href="/ontology?format=ttl">Turtle</a></p>')
                ).encode("utf-8")
            if media == TURTLE:
                return source.read_bytes()
            return self._convert(source, media)

        response = self._negotiated(environ, "/ontology", RESOURCE_TYPES, render, "ontology")
        return response or self.not_found(environ, "/ontology")

    @staticmethod
    def _convert(turtle_file: Path, media_type: str) -> bytes:
        import pyoxigraph as ox

        triples = [
            ox.Triple(q.subject, q.predicate, q.object)
            for q in ox.parse(path=str(turtle_file), format=ox.RdfFormat.TURTLE)
        ]
        return ox.serialize(triples, format=ox.RdfFormat.from_media_type(media_type))

    def dump(self, name: str, environ: dict[str, Any]) -> Response:
        """A dump file of the build, streamed with its media type and length."""
        if "/" in name or name.startswith(".") or not name:
            return self.not_found(environ, "/dumps/" + name)
        path = self.data / name
        media = _dump_type(path)
        if not path.is_file() or media is None:
            return self.not_found(environ, "/dumps/" + name)
        stat = path.stat()
        etag = f'"{stat.st_size:x}-{int(stat.st_mtime):x}"'
        modified = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(stat.st_mtime))
        headers = (("Last-Modified", modified), ("Cache-Control", "public, max-age=3600"))
        return Response(200, media_type=media, headers=headers, file=path, etag=etag)

    # -- canned queries --------------------------------------------------------

    def query_page(self, environ: dict[str, Any]) -> Response:
        """Pick a canned query, fill its parameters, see its answer as a table."""
        fields = {k: v[-1] for k, v in query_fields(environ.get("QUERY_STRING", "")).items()}
        name = fields.pop("query", None) or None
        key = ("query", name, tuple(sorted(fields.items())))
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        status, result_html = 200, None
        if name:
            status, result_html = self._run_canned(name, fields)
        if self.pages:
            page = self.pages.query_page(self.store, self.base, name, fields, result_html)
        else:
            page = _plain_page("Canned queries", result_html or "")
        response = Response(status, page.encode("utf-8"), HTML).with_etag()
        if status == 200:
            self.cache.put(key, response)
        return response

    def _run_canned(self, name: str, fields: dict[str, str]) -> tuple[int, str | None]:
        from policygraph.endpoint import inline_values
        from policygraph.query import QueryError, bind, catalogue

        query = catalogue().get(name)
        if query is None:
            return 404, None
        try:
            bindings = bind(query, fields)
        except QueryError as exc:
            return 400, f'<p class="error">{html_escape.escape(str(exc))}</p>'
        graph_form = query.form in ("CONSTRUCT", "DESCRIBE")
        job = QueryJob(
            query=inline_values(query.text, bindings),  # as query.run_local binds them
            form=query.form,
            media_type=TURTLE if graph_form else SPARQL_JSON,
            max_rows=self.config.max_rows,
            prefixes=tuple(sorted(self.prefixes.items())),
        )
        response = self.sparql.run(job)
        if response.status != 200:
            return response.status, (
                f'<p class="error">{html_escape.escape(response.body.decode("utf-8"))}</p>'
            )
        if graph_form:
            text = html_escape.escape(response.body.decode("utf-8"))
            result = f"<pre>{text}</pre>"
        else:
            result = results_table(response.body, self.base)
        if dict(response.headers).get("X-Result-Truncated"):
            result = (
                f'<p class="warning">Only the first {self.config.max_rows} rows are shown '
                '(<a href="/sparql/limits">limits</a>).</p>' + result
            )
        return 200, result


# ---------------------------------------------------------------------------
# Running under a real server


def make_server(app: Server, host: str, port: int, threads: int = 8) -> Any:
    """A waitress server bound to ``host:port`` (0 picks a free port), not yet running."""
    from waitress.server import create_server

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "task queue depth" noise
    return create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        connection_limit=1000,
        ident="policygraph",
        clear_untrusted_proxy_headers=True,
    )


def run(
    config: ServeConfig,
    host: str,
    port: int,
    threads: int = 8,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM); the workers are stopped on the way out."""
    started = time.perf_counter()
    app = Server(config, notice=announce)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    server = None
    try:
        app.start()
        try:
            server = make_server(app, host, port, threads)
        except OSError as exc:
            raise PolicyGraphError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        shown_host = f"[{host}]" if ":" in host else host
        url = f"http://{shown_host}:{server.effective_port}/"
        say = announce or (lambda line: print(line, flush=True))
        say(
            f"Serving {app.triples} triples from {config.data} at {url} "
            f"(base {app.base}; SPARQL at {url}sparql; {config.workers} query workers; "
            f"ready in {time.perf_counter() - started:.1f}s). Ctrl-C stops."
        )
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.close()
        app.close()
        sys.stdout.flush()
