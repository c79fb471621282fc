"""Answers to queries, whichever engine gave them, and how they are written out.

The local engine (pyoxigraph) and a remote endpoint (SPARQL JSON results, Turtle)
answer in different shapes; both become one of three plain answers — solutions,
a boolean or triples — whose terms are pyoxigraph terms, so every output format is
written by one piece of code and the two engines' answers can be compared.

Formats: ``table`` (aligned text for a terminal; long values cut, IRIs shortened with
the query's own prefixes), ``md`` (a Markdown table), and the standard ``csv``,
``tsv`` and ``json`` of the SPARQL 1.1 result formats for SELECT and ASK; ``ttl``,
``nt`` and ``jsonld`` for the triples of CONSTRUCT and DESCRIBE.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox

from policygraph.errors import PolicyGraphError

Term = ox.NamedNode | ox.BlankNode | ox.Literal
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

TABLE_FORMATS = ("table", "csv", "tsv", "json", "md")
GRAPH_FORMATS = ("ttl", "jsonld", "nt")
FORMATS = TABLE_FORMATS + GRAPH_FORMATS
CELL_WIDTH = 60  # display columns of one cell in ``table``; the other formats never cut


@dataclass
class Solutions:
    """The answer to a SELECT: variables in order, and rows of terms (None = unbound)."""

    variables: list[str]
    rows: list[list[Term | None]] = field(default_factory=list)

    def records(self) -> list[dict[str, Term]]:
        """Rows as {variable: term}, unbound variables left out."""
        return [
            {v: t for v, t in zip(self.variables, row, strict=True) if t is not None}
            for row in self.rows
        ]


@dataclass
class Boolean:
    """The answer to an ASK."""

    value: bool


@dataclass
class Triples:
    """The answer to a CONSTRUCT or DESCRIBE."""

    triples: list[ox.Triple]


Result = Solutions | Boolean | Triples


# -- reading answers ----------------------------------------------------------------


def from_oxigraph(answer: Any) -> Result:
    """pyoxigraph's QuerySolutions, QueryBoolean or QueryTriples as a plain answer."""
    if isinstance(answer, ox.QueryBoolean):
        return Boolean(bool(answer))
    if isinstance(answer, ox.QueryTriples):
        return Triples(list(answer))
    variables = [v.value for v in answer.variables]
    # a solution iterates over its values in the order of the variables (None where
    # unbound): two to three times cheaper than looking each value up by name
    return Solutions(variables, [list(solution) for solution in answer])


def from_sparql_json(document: Mapping[str, Any]) -> Solutions | Boolean:
    """A SPARQL 1.1 JSON results document (also Virtuoso's older "typed-literal")."""
    if "boolean" in document:
        return Boolean(bool(document["boolean"]))
    variables = list(document["head"]["vars"])
    rows = [
        [_json_term(binding[v]) if v in binding else None for v in variables]
        for binding in document["results"]["bindings"]
    ]
    return Solutions(variables, rows)


def _json_term(value: Mapping[str, str]) -> Term:
    kind = value["type"]
    if kind == "uri":
        return ox.NamedNode(value["value"])
    if kind == "bnode":
        return ox.BlankNode(value["value"])
    if kind not in ("literal", "typed-literal"):
        raise ValueError(f"unknown term type {kind!r}")
    language = value.get("xml:lang")
    if language:
        return ox.Literal(value["value"], language=language)
    datatype = value.get("datatype")
    if datatype and datatype != XSD_STRING:
        return ox.Literal(value["value"], datatype=ox.NamedNode(datatype))
    return ox.Literal(value["value"])


def from_rdf(data: bytes, media_type: str | None) -> Triples:
    """Triples sent by an endpoint in any RDF syntax pyoxigraph reads (default Turtle)."""
    rdf_format = (media_type and ox.RdfFormat.from_media_type(media_type)) or ox.RdfFormat.TURTLE
    return Triples([quad.triple for quad in ox.parse(data, format=rdf_format)])


# -- writing answers ----------------------------------------------------------------


def check_format(form: str, fmt: str | None) -> str:
    """The format to write a query's answer in: the one asked for, if it fits."""
    graph = form in ("CONSTRUCT", "DESCRIBE")
    allowed = GRAPH_FORMATS if graph else TABLE_FORMATS
    if fmt is None:
        return allowed[0]
    if fmt not in allowed:
        raise PolicyGraphError(
            f"--format {fmt} does not fit {'an' if form == 'ASK' else 'a'} {form} query; "
            "its answer can be written as "
            f"{', '.join(allowed)}"
        )
    return fmt


def render(result: Result, fmt: str, prefixes: Mapping[str, str] | None = None) -> str:
    """The answer as text in a format of :data:`FORMATS`."""
    prefixes = prefixes or {}
    if isinstance(result, Triples):
        return _render_triples(result, fmt, prefixes)
    if isinstance(result, Boolean):
        return _render_boolean(result, fmt)
    writers = {
        "table": lambda: _table(result, prefixes),
        "md": lambda: _markdown(result, prefixes),
        "csv": lambda: _csv(result),
        "tsv": lambda: _tsv(result),
        "json": lambda: _json_results(result),
    }
    return writers[fmt]()


def _render_boolean(result: Boolean, fmt: str) -> str:
    word = "true" if result.value else "false"
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": result.value}, indent=2) + "\n"
    if fmt == "csv":
        return f"boolean\r\n{word}\r\n"
    if fmt == "tsv":
        return f"?boolean\n{word}\n"
    return word + "\n"


def shorten(iri: str, prefixes: Mapping[str, str]) -> str:
    """An IRI as prefix:local where a prefix covers it and the rest is a plain name."""
    best = max(
        (p for p, ns in prefixes.items() if iri.startswith(ns) and _plain(iri[len(ns) :])),
        key=lambda p: len(prefixes[p]),
        default=None,
    )
    return f"{best}:{iri[len(prefixes[best]) :]}" if best is not None else iri


def _plain(local: str) -> bool:
    return bool(local) and all(c.isalnum() or c in "_-." for c in local)


def display(term: Term | None, prefixes: Mapping[str, str]) -> str:
    """A term as a person reads it: IRIs shortened, literals as their text."""
    if term is None:
        return ""
    if isinstance(term, ox.NamedNode):
        return shorten(term.value, prefixes)
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    return term.value


def _width(text: str) -> int:
    """Display columns: East Asian wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if _width(text) <= limit:
        return text
    out, used = [], 0
    for char in text:
        used += _width(char)
        if used > limit - 1:
            break
        out.append(char)
    return "".join(out) + "…"


def _table(result: Solutions, prefixes: Mapping[str, str]) -> str:
    cells = [[_cut(display(t, prefixes), CELL_WIDTH) for t in row] for row in result.rows]
    widths = [
        max([_width(v), *(_width(row[i]) for row in cells)]) for i, v in enumerate(result.variables)
    ]

    def line(values: Iterable[str]) -> str:
        padded = (v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=True))
        return "  ".join(padded).rstrip()

    lines = [line(result.variables), line("-" * w for w in widths)]
    lines += [line(row) for row in cells]
    count = len(result.rows)
    lines.append(f"({count} row{'' if count == 1 else 's'})")
    return "\n".join(lines) + "\n"


def _markdown(result: Solutions, prefixes: Mapping[str, str]) -> str:
    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>")

    lines = [
        "| " + " | ".join(result.variables) + " |",
        "|" + "|".join(" --- " for _ in result.variables) + "|",
    ]
    for row in result.rows:
        lines.append("| " + " | ".join(cell(display(t, prefixes)) for t in row) + " |")
    return "\n".join(lines) + "\n"


def _csv(result: Solutions) -> str:
    """SPARQL 1.1 CSV: IRIs and literals as plain strings, CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(result.variables)
    for row in result.rows:
        writer.writerow(["" if t is None else display(t, {}) for t in row])
    return out.getvalue()


def ntriples_term(term: Term) -> str:
    """A term in N-Triples syntax (as SPARQL TSV results write it)."""
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    text = '"' + escape_string(term.value) + '"'
    if term.language:
        return f"{text}@{term.language}"
    if term.datatype.value in (XSD_STRING, RDF_LANG_STRING):
        return text
    return f"{text}^^<{term.datatype.value}>"


def escape_string(value: str) -> str:
    """A string's text escaped for a double-quoted SPARQL or N-Triples literal."""
    replacements = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return "".join(replacements.get(c, c) for c in value)


def _tsv(result: Solutions) -> str:
    lines = ["\t".join(f"?{v}" for v in result.variables)]
    for row in result.rows:
        lines.append("\t".join("" if t is None else ntriples_term(t) for t in row))
    return "\n".join(lines) + "\n"


def json_term(term: Term) -> dict[str, str]:
    """A term as SPARQL 1.1 JSON results write it."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    value = {"type": "literal", "value": term.value}
    if term.language:
        value["xml:lang"] = term.language
    elif term.datatype.value != XSD_STRING:
        value["datatype"] = term.datatype.value
    return value


def _json_results(result: Solutions) -> str:
    bindings = [{v: json_term(t) for v, t in record.items()} for record in result.records()]
    document = {"head": {"vars": result.variables}, "results": {"bindings": bindings}}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _sorted_triples(result: Triples) -> list[ox.Triple]:
    """Distinct triples by subject, rdf:type first: the same answer always reads the same."""
    unique = {str(t): t for t in result.triples}
    return sorted(unique.values(), key=_triple_key)


def _triple_key(triple: ox.Triple) -> tuple[str, bool, str, str]:
    predicate = triple.predicate.value
    return (str(triple.subject), predicate != RDF_TYPE, predicate, str(triple.object))


def _render_triples(result: Triples, fmt: str, prefixes: Mapping[str, str]) -> str:
    triples = _sorted_triples(result)
    if fmt == "nt":
        return "".join(f"{t} .\n" for t in triples)
    if fmt == "jsonld":
        return _jsonld(triples)
    data = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=dict(prefixes))
    return data.decode("utf-8") if data else ""


def _jsonld(triples: list[ox.Triple]) -> str:
    """JSON-LD compacted with the project's context, as the build's own dump is."""
    from rdflib import Graph

    from policygraph.resources import data_dir

    context_file = data_dir("ontology") / "context.jsonld"
    context = json.loads(context_file.read_text(encoding="utf-8"))["@context"]
    graph = Graph().parse(data="".join(f"{t} .\n" for t in triples), format="nt")
    return graph.serialize(format="json-ld", context=context, auto_compact=True) + "\n"
