"""Validating graphs against the SHACL shapes in ``shapes/``, with a readable report.

Each document is validated on its own graph, together with the vocabularies it refers
to (themes, provision kinds) and the ontology (its class hierarchy, so that a shape
targeting ``pg:Item`` reaches measures, and its individuals such as the repair rules):
pySHACL's cost grows with the graph, and documents are independent. Every result is
reported as focus node, path and message — and, where the focus node (or a resource it
belongs to) has a span in the source, the source file and line, so a defect can be
found in the text.

Warnings (``sh:Warning``) are reported but do not make a graph non-conforming: they
mark what deserves a look, such as a measure the theme rule could not place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH

from policygraph.errors import InputError
from policygraph.resources import data_dir, data_files
from policygraph.vocab import vocab_graph_files

PG = Namespace("https://w3id.org/policygraph/ontology#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")

#: How far up the part-of tree to look for a resource's place in the source.
_MAX_ANCESTORS = 6

#: Links from a resource to the one it belongs to, for finding a line in the source:
#: (predicate, True when the link points from the owner to the resource).
_OWNER_LINKS = (
    (ELI.is_part_of, False),
    (PG.objectiveOf, False),
    (PG.span, True),
    (PG.repair, True),
    (PG.themeMatch, True),
)

_SEVERITY_ORDER = {"Violation": 0, "Warning": 1, "Info": 2}


@dataclass(frozen=True)
class ValidationResult:
    """One SHACL result, in words."""

    focus: str
    path: str | None
    message: str
    severity: str  # "Violation", "Warning" or "Info"
    shape: str | None  # the IRI of the shape that reported it (None for a blank node)
    where: str | None = None  # "file:line" of the focus node's source, when known
    value: str | None = None  # the offending value, when the result names one

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        path = f" {self.path}" if self.path else ""
        value = ""
        shown = (self.value or "").strip("<>")
        if shown and shown != self.focus and shown not in self.message:
            value = f" (value: {self.value})"  # unless the message says it already
        return f"{prefix}{self.severity}: <{self.focus}>{path}: {self.message}{value}"


@dataclass
class ValidationReport:
    """The outcome of validating one or more graphs."""

    conforms: bool
    results: list[ValidationResult] = field(default_factory=list)

    @property
    def violations(self) -> list[ValidationResult]:
        """The results that make a graph non-conforming."""
        return [r for r in self.results if r.severity == "Violation"]

    @property
    def warnings(self) -> list[ValidationResult]:
        """The results that are reported but allowed (warnings and infos)."""
        return [r for r in self.results if r.severity != "Violation"]

    def text(self) -> str:
        """The report for people: a summary line, then one line per result."""
        if self.conforms:
            if not self.results:
                return "Conforms."
            head = f"Conforms, with {_count(len(self.results), 'warning')}."
        else:
            head = f"Does not conform: {_count(len(self.violations), 'violation')}"
            if self.warnings:
                head += f", {_count(len(self.warnings), 'warning')}"
            head += "."
        return "\n".join([head, *(f"  {result}" for result in self.results)])

    def extend(self, other: ValidationReport) -> None:
        self.conforms = self.conforms and other.conforms
        self.results.extend(other.results)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _merged(paths: Iterable[Path]) -> Graph:
    """One graph of the Turtle files at ``paths``."""
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


@cache
def shapes_graph() -> Graph:
    """All shapes files, merged."""
    return _merged(data_files("shapes", "*.ttl"))


@cache
def ontology_graph() -> Graph:
    """The ontology: the class hierarchy that shapes target, and its individuals."""
    return _merged(data_files("ontology", "*.ttl"))


@cache
def vocabulary_graph() -> Graph:
    """The published vocabularies that data refers to (themes, provision kinds)."""
    from policygraph.sdg import mapping_graph  # the theme-SDG table, turned into RDF

    graph = _merged(vocab_graph_files())
    graph += mapping_graph()
    return graph


@cache
def _reference_graph() -> Graph:
    """Vocabularies and ontology together, merged once and added to every data graph."""
    graph = Graph()
    graph += vocabulary_graph()
    graph += ontology_graph()
    return graph


def _working_graph(data: Graph) -> Graph:
    """A private copy of ``data`` with the reference graph mixed in.

    pySHACL may add to the graph it validates, so it never sees the caller's graph;
    since this copy is private, pySHACL can work on it in place instead of cloning it
    once more. The shapes' prefixes are bound too, so that paths read ``pg:ordinal``
    even when the data came from a format without prefixes.
    """
    working = Graph()
    for prefix, namespace in data.namespaces():
        working.bind(prefix, namespace)
    for prefix, namespace in shapes_graph().namespaces():
        working.bind(prefix, namespace, override=False)
    working += data
    working += _reference_graph()
    return working


def _short(graph: Graph, term: object) -> str | None:
    """A term as people read it: a prefixed name where a prefix is bound."""
    if term is None:
        return None
    if isinstance(term, URIRef):
        try:
            return graph.namespace_manager.curie(term, generate=False)
        except (KeyError, ValueError):
            return f"<{term}>"
    if isinstance(term, Literal):
        return term.n3(graph.namespace_manager)
    return str(term)


def _path_text(report: Graph, working: Graph, path: object) -> str | None:
    """A SHACL property path in SPARQL's notation (``^eli:has_part``, ``a/b``, ``a*``)."""
    if path is None or isinstance(path, URIRef):
        return _short(working, path)
    inverse = report.value(path, SH.inversePath)  # type: ignore[arg-type]
    if inverse is not None:
        return f"^{_path_text(report, working, inverse)}"
    for predicate, suffix in (
        (SH.zeroOrMorePath, "*"),
        (SH.oneOrMorePath, "+"),
        (SH.zeroOrOnePath, "?"),
    ):
        inner = report.value(path, predicate)  # type: ignore[arg-type]
        if inner is not None:
            return f"({_path_text(report, working, inner)}){suffix}"
    alternatives = report.value(path, SH.alternativePath)  # type: ignore[arg-type]
    members = Collection(report, alternatives if alternatives is not None else path)  # type: ignore[arg-type]
    parts = [_path_text(report, working, member) or "?" for member in members]
    if not parts:
        return str(path)
    return "(" + ("|" if alternatives is not None else "/").join(parts) + ")"


class _Facts(Protocol):
    """Look-ups for placing a focus node in the source, in whatever holds the triples."""

    def object(self, node: Any, predicate: URIRef) -> Any: ...  # one object, or None

    def subject(self, predicate: URIRef, node: Any) -> Any: ...  # one subject, or None

    def is_iri(self, node: Any) -> bool: ...

    def text(self, node: Any) -> str: ...  # an IRI or a literal's lexical form


class _GraphFacts:
    """The look-ups in an rdflib graph."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def object(self, node: Any, predicate: URIRef) -> Any:
        return self.graph.value(node, predicate)

    def subject(self, predicate: URIRef, node: Any) -> Any:
        return self.graph.value(None, predicate, node)

    def is_iri(self, node: Any) -> bool:
        return isinstance(node, URIRef)

    def text(self, node: Any) -> str:
        return str(node)


def _file_name(facts: _Facts, source: object) -> str | None:
    if source is None:
        return None
    name = facts.object(source, PG.fileName)
    return facts.text(name if name is not None else source)


def _owner(facts: _Facts, node: object) -> object:
    """The resource that ``node`` belongs to (its parent, item, or the resource it serves)."""
    for predicate, from_owner in _OWNER_LINKS:
        owner = facts.subject(predicate, node) if from_owner else facts.object(node, predicate)
        if owner is not None:
            return owner
    return None


def _where(facts: _Facts, focus: object) -> str | None:
    """The source file and line of a focus node, from its span or its nearest owner's.

    A resource without a span of its own (a policy, a repair, a theme match) is placed
    by the resource it belongs to; failing a line, the source file alone is given.
    """
    node = focus
    file_only = None
    for _ in range(_MAX_ANCESTORS):
        if not facts.is_iri(node):
            break
        has_line = facts.object(node, PG.startLine) is not None
        span = node if has_line else facts.object(node, PG.span)
        if span is not None:
            line = facts.object(span, PG.startLine)
            name = _file_name(facts, facts.object(span, PG.sourceText))
            if line is not None and name is not None:
                return f"{name}:{facts.text(line)}"
        file_only = file_only or _file_name(facts, facts.object(node, PG.sourceText))
        node = _owner(facts, node)
    return file_only


def _results(report: Graph, working: Graph) -> list[ValidationResult]:
    results = []
    # Only the report's own results: those of shapes used through sh:node are details.
    top_level = {
        r
        for node in report.subjects(RDF.type, SH.ValidationReport)
        for r in report.objects(node, SH.result)
    }
    for result in sorted(top_level, key=str):
        focus = report.value(result, SH.focusNode)
        messages = sorted(str(m) for m in report.objects(result, SH.resultMessage))
        severity = report.value(result, SH.resultSeverity)
        shape = report.value(result, SH.sourceShape)
        results.append(
            ValidationResult(
                focus=str(focus),
                path=_path_text(report, working, report.value(result, SH.resultPath)),
                message="; ".join(messages) or "constraint violated",
                severity=str(severity).rsplit("#", 1)[-1],
                shape=str(shape) if isinstance(shape, URIRef) else None,
                where=_where(_GraphFacts(working), focus),
                value=_short(working, report.value(result, SH.value)),
            )
        )
    results.sort(key=_reading_order)
    return results


def _reading_order(result: ValidationResult) -> tuple:
    """Violations first, then warnings; each in the order of the source text."""
    file, _, line = (result.where or "").rpartition(":")
    place = (file, int(line)) if line.isdigit() else (result.where or "", 0)
    return (
        _SEVERITY_ORDER.get(result.severity, 3),
        place,
        result.focus,
        result.path or "",
        result.message,
    )


def validate_graph(data: Graph) -> ValidationReport:
    """Validate one data graph (with the vocabularies and the ontology mixed in).

    The shapes run as SPARQL compiled from them (``policygraph.shacl_compiled``) in
    pyoxigraph: some thirty times faster than pySHACL, with the same report (the tests
    compare the two on every defect they build).
    """
    from policygraph.shacl_compiled import validate_rdflib

    return validate_rdflib(data)


def validate_graph_pyshacl(data: Graph, shapes: Graph | None = None) -> ValidationReport:
    """Validate one data graph with pySHACL: the reference that the compiled shapes match."""
    import pyshacl

    working = _working_graph(data)
    conforms, report_graph, _ = pyshacl.validate(
        working,
        shacl_graph=shapes if shapes is not None else shapes_graph(),
        inference="none",
        advanced=True,  # SPARQL targets, used by the numbering shapes
        allow_warnings=True,  # warnings are reported, not refused
        inplace=True,
    )
    return ValidationReport(bool(conforms), _results(report_graph, working))


_RDF_FORMATS = {
    ".ttl": "turtle",
    ".nt": "nt",
    ".nq": "nquads",
    ".trig": "trig",
    ".jsonld": "json-ld",
    ".json": "json-ld",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
}


def _rdf_format(path: Path) -> str:
    try:
        return _RDF_FORMATS[path.suffix.lower()]
    except KeyError:
        raise InputError(
            f"unknown RDF format {path.suffix or '(no extension)'!r}; "
            f"use one of {', '.join(sorted(_RDF_FORMATS))}",
            path,
        ) from None


@contextmanager
def _ill_typed_literals_quiet() -> Iterator[None]:
    """Silence rdflib's log of ill-typed literals (``"2017-02-30"^^xsd:date``) while parsing.

    rdflib logs a traceback for each one; the shapes report them as violations, in
    words and with their place, so the log would only add a traceback to the output.
    """
    logger = logging.getLogger("rdflib.term")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def load_rdf(path: Path) -> Graph:
    """Parse an RDF file of any supported format; a syntax error names the file and line."""
    if path.is_dir():
        raise InputError("is a folder; name the RDF files in it", path)
    if not path.is_file():
        raise InputError("no such file", path)
    fmt = _rdf_format(path)
    _check_syntax(path, fmt)
    try:
        with _ill_typed_literals_quiet():
            return _parse(path, fmt)
    except Exception as exc:  # rdflib raises many exception types for bad syntax
        line = getattr(exc, "lineno", None)
        if line is None and hasattr(exc, "getLineNumber"):  # XML (SAX) errors
            line = exc.getLineNumber()
        raise InputError(f"cannot parse as {fmt}: {exc}", path, line) from None


def _parse(path: Path, fmt: str) -> Graph:
    """One graph from a file; the named graphs of a dataset are merged."""
    graph = Graph()
    if fmt not in {"nquads", "trig"}:
        return graph.parse(path, format=fmt)
    from rdflib import Dataset

    dataset = Dataset()
    dataset.parse(path, format=fmt)
    for prefix, namespace in dataset.namespaces():
        graph.bind(prefix, namespace)
    for s, p, o, _ in dataset.quads():
        graph.add((s, p, o))
    return graph


_OXIGRAPH_PREFIX = re.compile(
    r"^Parser error (?:at|between) line \d+ column \d+(?: and line \d+ column \d+)?: "
)


def _check_syntax(path: Path, fmt: str) -> None:
    """Check the syntax first with a parser whose errors carry the line and column.

    rdflib's own errors often lack a line; pyoxigraph raises Python's ``SyntaxError``
    with ``lineno`` and ``offset`` (column) set, both counted from 1, and JSON's
    decoder reports the line of a JSON-LD file's error.
    """
    if fmt == "json-ld":
        _check_json(path)
        return
    if fmt == "xml":
        return  # rdflib's XML parser reports the line itself
    import pyoxigraph as ox

    formats = {
        "turtle": (ox.RdfFormat.TURTLE, "Turtle"),
        "nt": (ox.RdfFormat.N_TRIPLES, "N-Triples"),
        "nquads": (ox.RdfFormat.N_QUADS, "N-Quads"),
        "trig": (ox.RdfFormat.TRIG, "TriG"),
    }
    ox_format, name = formats[fmt]
    try:
        # The file's own URL is the base for relative IRIs, as rdflib resolves them.
        for _ in ox.parse(path=str(path), format=ox_format, base_iri=path.resolve().as_uri()):
            pass
    except SyntaxError as exc:
        detail = _OXIGRAPH_PREFIX.sub("", exc.msg or str(exc))
        column = f" at column {exc.offset}" if exc.offset else ""
        raise InputError(f"{name} syntax error{column}: {detail}", path, exc.lineno) from None


def _check_json(path: Path) -> None:
    import json

    try:
        json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"JSON syntax error at column {exc.colno}: {exc.msg}", path, exc.lineno
        ) from None


def validate_files(paths: Iterable[str | Path]) -> ValidationReport:
    """Validate each RDF file on its own against the shapes."""
    report = ValidationReport(True)
    for path in paths:
        report.extend(validate_graph(load_rdf(Path(path))))
    return report


def shapes_dir() -> Path:
    return data_dir("shapes")


__all__ = [
    "ValidationReport",
    "ValidationResult",
    "load_rdf",
    "validate_files",
    "validate_graph",
    "validate_graph_pyshacl",
]
