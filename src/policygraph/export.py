"""Writing the graph in every format users load: Turtle, N-Triples, N-Quads, TriG, JSON-LD.

Deterministic by construction, so two builds of the same input are byte-identical
and builds diff cleanly: triples are sorted before writing (rdf:type first within a
subject, so Turtle reads naturally), N-Triples are sorted lines, and JSON-LD nodes
and values are sorted; Turtle and TriG declare only the prefixes they use, in
alphabetical order, and leave a blank line between statements so they read well.
The line-based formats are written by pyoxigraph (Rust),
which is two orders of magnitude faster than rdflib's serialisers on large graphs;
JSON-LD is compacted by rdflib against the context kept in ``ontology/context.jsonld``
so that keys are short and readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import RDF, XSD, BNode, Graph, Literal, URIRef
from rdflib.term import Node

from policygraph.resources import data_dir

CONTEXT_FILE = "context.jsonld"
_RDF_TYPE = str(RDF.type)
_XSD_STRING = str(XSD.string)


def to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """Convert an rdflib term to the pyoxigraph term with the same meaning."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot convert {term!r}")


def _key(triple: tuple[Node, Node, Node]) -> tuple[str, int, str, str]:
    s, p, o = triple
    return (str(s), 0 if str(p) == _RDF_TYPE else 1, str(p), o.n3())


def sorted_triples(graph: Graph) -> list[ox.Triple]:
    """The graph's triples in a fixed order: by subject, rdf:type first, then predicate, object."""
    return [
        ox.Triple(to_ox(s), to_ox(p), to_ox(o))  # type: ignore[arg-type]
        for s, p, o in sorted(graph, key=_key)
    ]


def _iris(terms: Iterable[ox.Triple] | Iterable[ox.Quad]) -> set[str]:
    """Every IRI a serialiser might abbreviate: terms, datatypes and graph names.

    Leaves out what Turtle writes without a prefix: rdf:type as a predicate (``a``),
    and the datatypes of language-tagged and plain string literals.
    """
    found: set[str] = set()
    for statement in terms:
        for position, term in enumerate(statement):
            if position == 1 and term.value == _RDF_TYPE:
                continue
            if isinstance(term, ox.NamedNode):
                found.add(term.value)
            elif (
                isinstance(term, ox.Literal)
                and term.language is None
                and term.datatype.value != _XSD_STRING  # written as a plain "string"
            ):
                found.add(term.datatype.value)
    return found


def context_prefixes() -> dict[str, str]:
    """The namespace prefixes the repository's JSON-LD context declares."""
    return {
        name: value
        for name, value in load_context().items()
        if isinstance(value, str) and value.endswith(("#", "/")) and "://" in value
    }


def used_prefixes(prefixes: dict[str, str], iris: set[str]) -> dict[str, str]:
    """The prefixes whose namespace some IRI starts with, sorted by prefix name.

    ``prefixes`` is completed with the context's (where neither the name nor the
    namespace is taken), so Turtle and JSON-LD abbreviate the same vocabularies.
    Declaring only the used ones keeps the header honest, and a fixed order keeps it
    from depending on how the serialiser happens to store its prefix map.
    """
    prefixes = dict(prefixes)
    for name, namespace in context_prefixes().items():
        if name not in prefixes and namespace not in prefixes.values():
            prefixes[name] = namespace
    namespaces = {namespace for namespace in prefixes.values() if namespace}
    used = set()
    for iri in iris:  # the longest namespace an IRI starts with is the one written
        matching = [ns for ns in namespaces if iri.startswith(ns)]
        if matching:
            used.add(max(matching, key=len))
    return {name: ns for name, ns in sorted(prefixes.items()) if ns in used}


def _lines(data: bytes) -> list[str]:
    """The text's lines, split at newlines only.

    ``str.splitlines()`` would also split at U+2028, U+0085 and the like, which the
    serialisers leave unescaped inside literals, and so would break those literals.
    """
    return data.decode("utf-8").split("\n")


def _readable(data: bytes, prefixes: dict[str, str]) -> bytes:
    """Turtle/TriG with the prefix header in ``prefixes`` order and a blank line per statement.

    pyoxigraph writes one ``@prefix`` line per prefix, then each statement starting
    on a line of its own — at column 0 in Turtle, one tab in inside a TriG graph
    block — with continuation lines indented further (newlines inside literals are
    escaped), so the indentation tells where statements start.
    """
    lines = _lines(data)
    out = [line for line in lines if line.startswith("@base ")]
    out += [f"@prefix {name}: <{ns}> ." for name, ns in prefixes.items()]
    depth = 0
    for line in lines:
        if not line or line.startswith(("@prefix ", "@base ")):
            continue
        if line == "}":
            depth = 0
        elif len(line) - len(line.lstrip("\t")) == depth and out and not out[-1].endswith("{"):
            out.append("")
        out.append(line)
        if line.endswith("{") and not line.startswith("\t"):
            depth = 1
    return "".join(line + "\n" for line in out).encode("utf-8")


def write_turtle(
    graph: Graph, path: Path, prefixes: dict[str, str], base: str | None = None
) -> None:
    """Prefixed, grouped Turtle; data IRIs relative to ``base`` where one is given."""
    triples = sorted_triples(graph)
    declared = used_prefixes(prefixes, _iris(triples))
    data = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=declared, base_iri=base)
    path.write_bytes(_readable(data, declared))


def write_ntriples(graph: Graph, path: Path) -> None:
    """Canonical N-Triples, one triple per line, lines sorted."""
    data = ox.serialize(sorted_triples(graph), format=ox.RdfFormat.N_TRIPLES)
    lines = sorted(set(_lines(data)) - {""})
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _quads(named: Sequence[tuple[str, Graph]]) -> list[ox.Quad]:
    quads = []
    for graph_iri, graph in sorted(named, key=lambda pair: pair[0]):
        name = ox.NamedNode(graph_iri)
        quads.extend(ox.Quad(t.subject, t.predicate, t.object, name) for t in sorted_triples(graph))
    return quads


def write_trig(
    named: Sequence[tuple[str, Graph]],
    path: Path,
    prefixes: dict[str, str],
    base: str | None = None,
) -> None:
    """TriG with one named graph per document (and one for the vocabularies)."""
    quads = _quads(named)
    declared = used_prefixes(prefixes, _iris(quads))
    data = ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=declared, base_iri=base)
    path.write_bytes(_readable(data, declared))


def write_nquads(named: Sequence[tuple[str, Graph]], path: Path) -> None:
    """N-Quads, sorted lines, for stores that bulk-load line-based dumps."""
    data = ox.serialize(_quads(named), format=ox.RdfFormat.N_QUADS)
    lines = sorted(set(_lines(data)) - {""})
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def load_context() -> dict[str, Any]:
    """The JSON-LD context kept in the repository."""
    document = json.loads((data_dir("ontology") / CONTEXT_FILE).read_text(encoding="utf-8"))
    return document["@context"]


def _sort_json(value: Any) -> Any:
    """Sort JSON-LD nodes by @id and unordered value arrays by content, recursively."""
    if isinstance(value, dict):
        return {
            k: _sort_json(v) if k != "@list" else [_sort_json(x) for x in v]
            for k, v in value.items()
        }
    if isinstance(value, list):
        items = [_sort_json(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def write_jsonld(graph: Graph, path: Path) -> None:
    """Compacted JSON-LD with the repository's context inlined, so it parses offline."""
    context = load_context()
    text = graph.serialize(format="json-ld", context=context, auto_compact=True)
    document = json.loads(text)
    if "@graph" in document:
        nodes = document["@graph"]
    else:
        nodes = [{k: v for k, v in document.items() if k != "@context"}]
    nodes = sorted(
        (_sort_json(node) for node in nodes), key=lambda n: (str(n.get("@id", "")), json.dumps(n))
    )
    output = {"@context": context, "@graph": nodes}
    path.write_text(
        json.dumps(output, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


def union(graphs: Iterable[Graph]) -> Graph:
    """One graph with the triples of all ``graphs``."""
    merged = Graph()
    for graph in graphs:
        for prefix, namespace in graph.namespaces():
            merged.bind(prefix, namespace, replace=True)
        for triple in graph:
            merged.add(triple)
    return merged
