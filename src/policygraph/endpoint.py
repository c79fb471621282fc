"""Asking a remote SPARQL endpoint the same questions, through SPARQLWrapper.

Queries are always POSTed (form-encoded), so long queries never hit URL length
limits. Credentials never come from the command line, where they would land in
shell history and process lists: :mod:`policygraph.credentials` finds them in
``POLICYGRAPH_ENDPOINT_USER`` and ``POLICYGRAPH_ENDPOINT_PASSWORD``, or else in
``~/.netrc`` for the endpoint's host. They are sent only when the server asks (HTTP
401), in the scheme it asks for — Basic or Digest (Virtuoso's ``/sparql-auth`` wants
Digest).

Parameters reach the endpoint as a ``VALUES`` block placed first in the query's
top-level WHERE group, built from serialised RDF terms: a literal's text is escaped,
an IRI with a character that could close ``<…>`` is refused, so no value can change
the query around it.

Every failure — unreachable host, timeout, 401, 4xx, 5xx, an answer that is not
SPARQL results — becomes one :class:`EndpointError` line; no traceback.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyoxigraph as ox
from SPARQLWrapper import JSON, POST, TURTLE, SPARQLWrapper

from policygraph import __version__, results
from policygraph.credentials import PASSWORD_VARIABLE, USER_VARIABLE, Credentials, credentials_for
from policygraph.errors import PolicyGraphError
from policygraph.query import Query, QueryError, where_group_offset
from policygraph.results import Result, escape_string

if TYPE_CHECKING:
    from policygraph.query import Term

_BAD_IRI_CHARS = set('<>"{}|^`\\') | {chr(c) for c in range(0x21)}
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_BODY_EXCERPT = 160
_HEAD = re.compile(r"<head>.*?</head>", re.I | re.S)
_TAGS = re.compile(r"<[^>]*>")


class EndpointError(PolicyGraphError):
    """The endpoint could not be reached, refused the query or answered nonsense."""


# -- binding parameters as terms ----------------------------------------------------


def sparql_term(term: Term) -> str:
    """A term in SPARQL syntax, safe to place in a query whatever its text."""
    if isinstance(term, ox.NamedNode):
        return f"<{_safe_iri(term.value)}>"
    if not isinstance(term, ox.Literal):
        raise QueryError(f"cannot send {term!r} to an endpoint as a parameter")
    text = f'"{escape_string(term.value)}"'
    if term.language:
        if not all(part.isalnum() for part in term.language.split("-")):
            raise QueryError(f"{term.language!r} is not a language tag")
        return f"{text}@{term.language}"
    if term.datatype.value == _XSD_STRING:
        return text
    return f"{text}^^<{_safe_iri(term.datatype.value)}>"


def _safe_iri(iri: str) -> str:
    if not iri or any(c in _BAD_IRI_CHARS for c in iri):
        raise QueryError(f"{iri!r} cannot be written as an IRI in a query")
    return iri


def inline_values(text: str, bindings: Mapping[str, Term]) -> str:
    """The query with ``VALUES (?a ?b) { (term term) }`` opening its WHERE group.

    Kept on the line of the opening brace, so the query's line numbers do not move.
    """
    if not bindings:
        return text
    names = sorted(bindings)
    variables = " ".join(f"?{name}" for name in names)
    row = " ".join(sparql_term(bindings[name]) for name in names)
    offset = where_group_offset(text)
    return f"{text[:offset]} VALUES ({variables}) {{ ({row}) }}{text[offset:]}"


# -- credentials --------------------------------------------------------------------


def _opener(url: str, creds: Credentials | None) -> urllib.request.OpenerDirector:
    """An opener that answers a Basic or Digest challenge with the credentials."""
    if creds is None:
        return urllib.request.build_opener()
    manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    manager.add_password(None, url, creds.user, creds.password)
    return urllib.request.build_opener(
        urllib.request.HTTPDigestAuthHandler(manager),
        urllib.request.HTTPBasicAuthHandler(manager),
    )


# -- asking -------------------------------------------------------------------------


class _Client(SPARQLWrapper):
    """SPARQLWrapper builds the protocol request; our opener sends it.

    SPARQLWrapper's own Digest support installs a global opener for one fixed realm
    and truncates the timeout to whole seconds; this sends the same request through
    a private opener with both auth schemes and the exact timeout.
    """

    def __init__(self, url: str, opener: urllib.request.OpenerDirector, timeout: float):
        super().__init__(url, agent=f"policygraph/{__version__}")
        self._opener = opener
        self._seconds = timeout

    def _query(self) -> tuple[Any, str]:
        request = self._createRequest()
        return self._opener.open(request, timeout=self._seconds), self.returnFormat


def check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointError(f"--endpoint {url!r} is not an http(s) URL")


def ask_endpoint(
    query: Query,
    url: str,
    bindings: Mapping[str, Term],
    graphs: Sequence[str] = (),
    timeout: float = 60.0,
) -> Result:
    """Send a query (with its parameters bound) to an endpoint; return its answer.

    ``graphs`` become ``default-graph-uri`` parameters: the default graph is then
    their union, whatever else the endpoint holds.
    """
    check_url(url)
    creds = credentials_for(url)
    client = _Client(url, _opener(url, creds), timeout)
    client.setMethod(POST)
    for graph in graphs:
        client.addDefaultGraph(graph)
    client.setQuery(inline_values(query.text, bindings))
    # SPARQLWrapper guesses the form with a regex that can take a word in a comment
    # ("selected", "construction") for the keyword; the catalogue has parsed the query.
    client.queryType = query.form
    graph = query.form in ("CONSTRUCT", "DESCRIBE")
    client.setReturnFormat(TURTLE if graph else JSON)
    try:
        response = client.query().response
        body = response.read()
        media_type = response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        raise EndpointError(_http_message(url, exc, creds)) from None
    except urllib.error.URLError as exc:
        raise EndpointError(_unreachable(url, exc.reason, timeout)) from None
    except (OSError, http.client.HTTPException) as exc:
        raise EndpointError(_unreachable(url, exc, timeout)) from None
    except ValueError as exc:  # urllib: an auth scheme it cannot answer
        raise EndpointError(f"{url}: {exc}") from None
    return _answer(url, body, media_type, graph)


def _answer(url: str, body: bytes, media_type: str, graph: bool) -> Result:
    """The endpoint's answer read as results; anything else is a clear error."""
    try:
        if graph:
            return results.from_rdf(body, media_type)
        return results.from_sparql_json(json.loads(body.decode("utf-8")))
    except (ValueError, KeyError, TypeError, SyntaxError) as exc:
        expected = "RDF" if graph else "SPARQL JSON results"
        raise EndpointError(
            f"{url} answered with {media_type}, not {expected} ({_first_line(str(exc))})"
        ) from None


def _http_message(url: str, exc: urllib.error.HTTPError, creds: Credentials | None) -> str:
    try:
        reason = HTTPStatus(exc.code).phrase
    except ValueError:
        reason = exc.reason or ""
    head = f"{url} answered HTTP {exc.code} {reason}".rstrip()
    if exc.code == 401:
        if creds is None:
            return (
                f"{head}: it wants credentials; set {USER_VARIABLE} and {PASSWORD_VARIABLE} "
                "or add the host to ~/.netrc"
            )
        return f"{head}: it refused {creds.describe()}"
    body = exc.read().decode("utf-8", errors="replace") if exc.fp else ""
    if exc.headers and exc.headers.get_content_type() == "text/html":
        body = _TAGS.sub("\n", _HEAD.sub("", body))
    detail = _first_line(body)
    return f"{head}: {detail}" if detail else head


def _unreachable(url: str, reason: object, timeout: float) -> str:
    if isinstance(reason, TimeoutError):
        return f"{url} did not answer within {timeout:g} s (--timeout)"
    if isinstance(reason, ConnectionRefusedError):
        return f"cannot reach {url}: connection refused (is the server running?)"
    text = getattr(reason, "strerror", None) or str(reason) or type(reason).__name__
    return f"cannot reach {url}: {_first_line(text)}"


def _first_line(text: str) -> str:
    """The first non-blank line of a server's explanation, cut to a readable length."""
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return line if len(line) <= _BODY_EXCERPT else line[: _BODY_EXCERPT - 1] + "…"
    return ""
