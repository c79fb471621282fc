"""Validating graphs against the SHACL shapes in ``shapes/``, with a readable report.

Each document is validated on its own graph, together with the vocabularies it refers
to (themes, provision kinds) and the ontology (for the class hierarchy): pySHACL's
cost grows with the graph, and documents are independent. Every result is reported
as focus node, path and message — and, where the focus node has a span in the
source, the source file and line, so a defect can be found in the text.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import SH

from policygraph.errors import InputError
from policygraph.resources import data_dir, data_files
from policygraph.vocab import vocab_graph_files

PG = Namespace("https://w3id.org/policygraph/ontology#")


@dataclass(frozen=True)
class ValidationResult:
    """One SHACL result, in words."""

    focus: str
    path: str | None
    message: str
    severity: str
    shape: str | None
    where: str | None = None  # "file:line" of the focus node's source, when known

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        path = f" {self.path}" if self.path else ""
        return f"{prefix}{self.severity}: <{self.focus}>{path}: {self.message}"


@dataclass
class ValidationReport:
    """The outcome of validating one or more graphs."""

    conforms: bool
    results: list[ValidationResult] = field(default_factory=list)

    def text(self) -> str:
        if self.conforms:
            return "Conforms."
        lines = [f"Does not conform: {len(self.results)} result(s)."]
        lines.extend(f"  {result}" for result in self.results)
        return "\n".join(lines)

    def extend(self, other: ValidationReport) -> None:
        self.conforms = self.conforms and other.conforms
        self.results.extend(other.results)


@cache
def shapes_graph() -> Graph:
    """All shapes files, merged."""
    graph = Graph()
    for path in data_files("shapes", "*.ttl"):
        graph.parse(path, format="turtle")
    return graph


@cache
def ontology_graph() -> Graph:
    """The ontology, for the class hierarchy that shapes target."""
    graph = Graph()
    for path in data_files("ontology", "*.ttl"):
        graph.parse(path, format="turtle")
    return graph


@cache
def vocabulary_graph() -> Graph:
    """The published vocabularies that data refers to (themes, provision kinds)."""
    graph = Graph()
    for path in vocab_graph_files():
        graph.parse(path, format="turtle")
    return graph


def _short(graph: Graph, term: object) -> str | None:
    if term is None:
        return None
    if isinstance(term, URIRef):
        try:
            return graph.namespace_manager.normalizeUri(term)
        except Exception:
            return f"<{term}>"
    return str(term)


def _where(data: Graph, focus: object) -> str | None:
    """The source file and line of a focus node, from its span (or its parent's)."""
    node = focus
    for _ in range(4):
        if not isinstance(node, URIRef):
            return None
        span = data.value(node, PG.span)
        if span is not None:
            line = data.value(span, PG.startLine)
            source = data.value(span, PG.sourceText)
            name = data.value(source, PG.fileName) if source is not None else None
            if line is not None:
                return f"{name or source}:{line}"
        node = data.value(node, URIRef("http://data.europa.eu/eli/ontology#is_part_of"))
    return None


def validate_graph(data: Graph) -> ValidationReport:
    """Validate one data graph (with the vocabularies and the ontology mixed in)."""
    import pyshacl

    working = Graph()
    for prefix, namespace in data.namespaces():
        working.bind(prefix, namespace)
    for triple in data:
        working.add(triple)
    for triple in vocabulary_graph():
        working.add(triple)
    conforms, report_graph, _ = pyshacl.validate(
        working,
        shacl_graph=shapes_graph(),
        ont_graph=ontology_graph(),
        inference="none",
        advanced=True,
        allow_warnings=True,
    )
    results = []
    for result in report_graph.subjects(SH.resultSeverity, None):
        focus = report_graph.value(result, SH.focusNode)
        messages = sorted(str(m) for m in report_graph.objects(result, SH.resultMessage))
        severity = report_graph.value(result, SH.resultSeverity)
        results.append(
            ValidationResult(
                focus=str(focus),
                path=_short(working, report_graph.value(result, SH.resultPath)),
                message="; ".join(messages) or "constraint violated",
                severity=str(severity).rsplit("#", 1)[-1],
                shape=_short(working, report_graph.value(result, SH.sourceShape)),
                where=_where(working, focus),
            )
        )
    results.sort(key=lambda r: (r.where or "", r.focus, r.path or "", r.message))
    return ValidationReport(bool(conforms), results)


def _rdf_format(path: Path) -> str:
    suffixes = {
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
    try:
        return suffixes[path.suffix.lower()]
    except KeyError:
        raise InputError(
            f"unknown RDF format {path.suffix!r}; use one of {', '.join(sorted(suffixes))}", path
        ) from None


def load_rdf(path: Path) -> Graph:
    """Parse an RDF file of any supported format; a syntax error names the file and line."""
    if not path.is_file():
        raise InputError("no such file", path)
    fmt = _rdf_format(path)
    if fmt in {"turtle", "nt", "nquads", "trig"}:
        _check_syntax(path, fmt)
    graph = Graph()
    try:
        if fmt in {"nquads", "trig"}:
            from rdflib import Dataset

            dataset = Dataset()
            dataset.parse(path, format=fmt)
            for s, p, o, _ in dataset.quads():
                graph.add((s, p, o))
        else:
            graph.parse(path, format=fmt)
    except Exception as exc:  # rdflib raises many exception types for bad syntax
        raise InputError(f"cannot parse as {fmt}: {exc}", path) from None
    return graph


def _check_syntax(path: Path, fmt: str) -> None:
    """Use pyoxigraph's parser first: its syntax errors carry line and column."""
    import pyoxigraph as ox

    formats = {
        "turtle": ox.RdfFormat.TURTLE,
        "nt": ox.RdfFormat.N_TRIPLES,
        "nquads": ox.RdfFormat.N_QUADS,
        "trig": ox.RdfFormat.TRIG,
    }
    try:
        for _ in ox.parse(path=str(path), format=formats[fmt]):
            pass
    except SyntaxError as exc:
        line = getattr(exc, "lineno", None)
        raise InputError(
            f"syntax error: {exc.msg if hasattr(exc, 'msg') else exc}", path, line
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
    "Literal",
    "ValidationReport",
    "ValidationResult",
    "load_rdf",
    "validate_files",
    "validate_graph",
]
