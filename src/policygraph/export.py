"""Writing the graph in every format users load: Turtle, N-Triples, N-Quads, TriG, JSON-LD.

Deterministic by construction, so two builds of the same input are byte-identical
and builds diff cleanly: triples are sorted before writing (rdf:type first within a
subject, so Turtle reads naturally), N-Triples lines are sorted, and JSON-LD nodes and
values are sorted; Turtle and TriG declare only the prefixes they use, in alphabetical
order, and leave a blank line between statements so they read well. The line-based
formats are written by pyoxigraph (Rust), two orders of magnitude faster than rdflib's
serialisers; JSON-LD is compacted directly from the triples (``jsonld``) against the
context kept in ``ontology/context.jsonld``, so keys are short and readable.

A corpus is never serialised as one graph: each document's share of every dump is
written on its own (``document_pieces``) and the dumps are assembled from the pieces
(``assemble``), so memory does not grow with the corpus. A document's TriG piece is its
Turtle piece rewritten as a graph block (``trig_from_turtle``), the text pyoxigraph's
TriG writer gives, without serialising the triples a second time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
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


def sorted_triples(graph: Graph) -> list[ox.Triple]:
    """The graph's triples in a fixed order: by subject, rdf:type first, then predicate, object.

    Each distinct term is converted once (a document repeats its subjects and
    predicates in most of its triples), and the pyoxigraph triples are sorted by
    their own strings, which is cheaper than rdflib's ``n3()``.
    """
    converted: dict[Node, ox.NamedNode | ox.BlankNode | ox.Literal] = {}

    def term(node: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        found = converted.get(node)
        if found is None:
            found = converted[node] = to_ox(node)
        return found

    return sort_ox(ox.Triple(term(s), term(p), term(o)) for s, p, o in graph)  # type: ignore[arg-type]


def _iris(terms: Iterable[ox.Triple] | Iterable[ox.Quad]) -> set[str]:
    """Every IRI a serialiser might abbreviate: terms, datatypes and graph names.

    Leaves out what Turtle writes without a prefix: rdf:type as a predicate (``a``),
    and the datatypes of language-tagged and plain string literals.
    """
    statements = terms if isinstance(terms, Sequence) else list(terms)
    # distinct terms first: statements repeat their subjects and predicates many times
    predicates = {statement.predicate for statement in statements}
    nodes = {statement.subject for statement in statements}
    nodes.update(statement.object for statement in statements)
    nodes.update(getattr(statement, "graph_name", None) for statement in statements)
    found = {predicate.value for predicate in predicates if predicate.value != _RDF_TYPE}
    for term in nodes:
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


def _completed(prefixes: dict[str, str]) -> dict[str, str]:
    """``prefixes`` plus the context's (where neither the name nor the namespace is taken)."""
    prefixes = dict(prefixes)
    for name, namespace in context_prefixes().items():
        if name not in prefixes and namespace not in prefixes.values():
            prefixes[name] = namespace
    return prefixes


def used_prefixes(prefixes: dict[str, str], iris: set[str]) -> dict[str, str]:
    """The prefixes whose namespace some IRI starts with, sorted by prefix name.

    ``prefixes`` is completed with the context's (where neither the name nor the
    namespace is taken), so Turtle and JSON-LD abbreviate the same vocabularies.
    Declaring only the used ones keeps the header honest, and a fixed order keeps it
    from depending on how the serialiser happens to store its prefix map.
    """
    prefixes = _completed(prefixes)
    namespaces = tuple(sorted({namespace for namespace in prefixes.values() if namespace}))
    used = set()
    for cut in {_directory(iri) for iri in iris}:
        best = _longest_namespace(namespaces, cut)
        if best:
            used.add(best)
    return {name: ns for name, ns in sorted(prefixes.items()) if ns in used}


def _directory(iri: str) -> str:
    """An IRI up to its last ``/`` or ``#``: every namespace it starts with is a prefix of this."""
    return iri[: max(iri.rfind("/"), iri.rfind("#")) + 1]


@lru_cache(maxsize=1 << 12)
def _longest_namespace(namespaces: tuple[str, ...], cut: str) -> str | None:
    """The longest of ``namespaces`` that ``cut`` starts with (the one a writer uses).

    Bounded: ``cut`` is an IRI's folder, and most folders belong to one document, so an
    unbounded cache grew by some 66 entries per document (660 000 in each worker of a
    10 000-document build) and was seldom hit across documents.
    """
    matching = [ns for ns in namespaces if cut.startswith(ns)]
    return max(matching, key=len) if matching else None


def _lines(data: bytes) -> list[str]:
    """The text's lines, split at newlines only.

    ``str.splitlines()`` would also split at U+2028, U+0085 and the like, which the
    serialisers leave unescaped inside literals, and so would break those literals.
    """
    return data.decode("utf-8").split("\n")


def _header(prefixes: dict[str, str]) -> str:
    """The ``@prefix`` lines of a Turtle or TriG file, in the order given."""
    return "".join(f"@prefix {name}: <{ns}> .\n" for name, ns in prefixes.items())


def _body(data: bytes) -> str:
    """Turtle/TriG statements as pyoxigraph wrote them, less its header, a blank line before each.

    pyoxigraph writes one ``@prefix`` line per prefix, then each statement starting
    on a line of its own — at column 0 in Turtle, one tab in inside a TriG graph
    block — with continuation lines indented further (newlines inside literals are
    escaped), so the indentation tells where statements start. Bodies written this
    way can be concatenated after one header: that is how a corpus dump is assembled.
    """
    out: list[str] = []
    depth = 0
    for line in _lines(data):
        if not line or line.startswith(("@prefix ", "@base ")):
            continue
        if line == "}":
            depth = 0
        elif len(line) - len(line.lstrip("\t")) == depth and not (out and out[-1].endswith("{")):
            out.append("")
        out.append(line)
        if line.endswith("{") and not line.startswith("\t"):
            depth = 1
    return "".join(line + "\n" for line in out)


def _readable(data: bytes, prefixes: dict[str, str]) -> bytes:
    """Turtle/TriG with the prefix header in ``prefixes`` order and a blank line per statement."""
    base = [line for line in _lines(data) if line.startswith("@base ")]
    head = "".join(line + "\n" for line in base) + _header(prefixes)
    return (head + _body(data)).encode("utf-8")


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


def load_context() -> dict[str, Any]:
    """The JSON-LD context kept in the repository."""
    document = json.loads((data_dir("ontology") / CONTEXT_FILE).read_text(encoding="utf-8"))
    return document["@context"]


def union(graphs: Iterable[Graph]) -> Graph:
    """One graph with the triples of all ``graphs``."""
    merged = Graph()
    for graph in graphs:
        for prefix, namespace in graph.namespaces():
            merged.bind(prefix, namespace, replace=True)
        for triple in graph:
            merged.add(triple)
    return merged


# -- corpus dumps, assembled from per-document pieces ------------------------------------
#
# A corpus build does not hold one graph: each document's share of every dump is
# serialised on its own (in a worker, and kept in the cache), and the dumps are the
# concatenation of those pieces between a header and a tail. The functions below write
# the pieces so that concatenation gives exactly the files above would: a Turtle body
# after one prefix header, N-Triples lines, JSON-LD node objects inside one "@graph".


@cache
def corpus_prefixes() -> dict[str, str]:
    """Every prefix a dump may use: the data's and the JSON-LD context's."""
    from policygraph.graph import PREFIXES

    return _completed(PREFIXES)


def header_prefixes(names: Iterable[str]) -> dict[str, str]:
    """The prefixes called ``names``, sorted, for a dump's header."""
    everything = corpus_prefixes()
    return {name: everything[name] for name in sorted(set(names))}


def ntriples_lines(triples: Sequence[ox.Triple]) -> list[str]:
    """Canonical N-Triples lines (each with its newline), sorted."""
    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    return sorted(line + "\n" for line in set(_lines(data)) - {""})


def as_quads(lines: Iterable[str], graph_iri: str) -> str:
    """N-Triples lines put in the named graph ``graph_iri`` (N-Quads)."""
    suffix = f"<{graph_iri}> .\n"
    return "".join(line[:-2] + suffix for line in lines)  # "s p o .\n" -> "s p o <g> .\n"


def turtle_body(triples: Sequence[ox.Triple], prefixes: dict[str, str]) -> str:
    """Turtle statements (no header) for ``triples``, abbreviated with ``prefixes``."""
    if not triples:
        return ""
    return _body(ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes))


def trig_body(triples: Sequence[ox.Triple], graph_iri: str, prefixes: dict[str, str]) -> str:
    """One TriG graph block (no header) holding ``triples``."""
    if not triples:
        return ""
    name = ox.NamedNode(graph_iri)
    quads = [ox.Quad(t.subject, t.predicate, t.object, name) for t in triples]
    return _body(ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=prefixes))


_PROBE = ox.NamedNode("urn:x-policygraph:probe")  # shows how a graph name is written


def trig_from_turtle(turtle: str, graph_iri: str, prefixes: dict[str, str]) -> str:
    """The TriG graph block ``trig_body`` writes, made from the Turtle body of the same
    triples written with the same ``prefixes``.

    pyoxigraph writes a graph block as the Turtle statements indented one tab, between
    the graph's name and a closing brace; rewriting the text costs a fraction of
    serialising every triple again.
    """
    if not turtle:
        return ""
    probe = ox.Quad(_PROBE, _PROBE, _PROBE, ox.NamedNode(graph_iri))
    written = ox.serialize([probe], format=ox.RdfFormat.TRIG, prefixes=prefixes)
    opening = next(line for line in _lines(written) if line.endswith(" {"))
    inner = "".join(("\t" + line if line else "") + "\n" for line in turtle.split("\n")[1:-1])
    return f"\n{opening}\n{inner}}}\n"


def jsonld_nodes_text(triples: Sequence[ox.Triple], last: bool = False) -> str:
    """Node objects for ``triples`` as they sit in a dump's "@graph" array.

    Each node ends with a comma unless ``last``: the assembler does not need to know
    which document comes first, and the tail (never empty: the vocabularies) closes it.
    """
    from policygraph.jsonld import dumps, node_objects

    texts = ["    " + dumps(node, "    ") for node in node_objects(triples, load_context())]
    if not texts:
        return ""
    return ",\n".join(texts) + ("\n" if last else ",\n")


def jsonld_head() -> str:
    """The start of a dump's JSON-LD document, up to its "@graph" array's first node."""
    context = json.dumps(load_context(), ensure_ascii=False, indent=2, sort_keys=True)
    return '{\n  "@context": ' + context.replace("\n", "\n  ") + ',\n  "@graph": [\n'


JSONLD_TAIL = "  ]\n}\n"


def document_pieces(
    own: Sequence[ox.Triple],
    own_entailed: Sequence[ox.Triple],
    graph_iri: str,
) -> tuple[dict[str, bytes], set[str], set[str]]:
    """One document's share of every dump, and the prefixes its Turtle and TriG use.

    Every dump gets the document's own triples; the dataset dumps (N-Quads, TriG) put
    them in the document's graph. What the document says of shared resources (an
    organisation's names) is written once for the corpus, in its own graph, by the
    assembler: repeated in every document's graph it would be counted once per
    document by a query over the union of the graphs.
    Each body is written with only the prefixes it uses, as a whole file would be,
    so the header made of every piece's prefixes declares exactly what is used.
    """
    iris = _iris(own)
    ttl_prefixes = used_prefixes(corpus_prefixes(), iris)
    trig_prefixes = used_prefixes(corpus_prefixes(), iris | {graph_iri})
    lines = ntriples_lines(own)
    turtle = turtle_body(own, ttl_prefixes)
    if trig_prefixes == ttl_prefixes:  # the graph's name needs no prefix of its own
        trig = trig_from_turtle(turtle, graph_iri, trig_prefixes)
    else:
        trig = trig_body(own, graph_iri, trig_prefixes)
    pieces = {
        "nt": "".join(lines),
        "nq": as_quads(lines, graph_iri),
        "ttl": turtle,
        "trig": trig,
        "jsonld": jsonld_nodes_text(own),
        "entailed": "".join(ntriples_lines(own_entailed)),
    }
    encoded = {name: text.encode("utf-8") for name, text in pieces.items()}
    return encoded, set(ttl_prefixes), set(trig_prefixes)


def gzip_bytes(data: bytes) -> bytes:
    """``data`` as one gzip member, without a timestamp (so builds stay byte-identical).

    Concatenated gzip members are one valid gzip file, which is what lets compressed
    pieces be assembled by copying.
    """
    import gzip

    return gzip.compress(data, compresslevel=6, mtime=0)


def _ox_key(triple: ox.Triple) -> tuple[str, int, str, str]:
    subject, predicate, obj = triple.subject, triple.predicate, triple.object
    return (subject.value, 0 if predicate.value == _RDF_TYPE else 1, predicate.value, str(obj))


def sort_ox(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """pyoxigraph triples in a fixed order: by subject, rdf:type first, then predicate, object."""
    return sorted(triples, key=_ox_key)
