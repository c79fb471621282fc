"""The triples that the ontology's alignments entail, for consumers that do not reason.

The data uses pg: classes and ELI properties; the ontology says that ``pg:Policy`` is an
``eli:LegalResource`` and a ``schema:Legislation``, that ``eli:date_document`` is a
``schema:legislationDate``, and so on. A consumer that asks in ELI or schema.org terms
finds nothing unless something draws those conclusions. This module draws exactly
them — the RDFS rules for ``rdfs:subClassOf`` (rdfs9) and ``rdfs:subPropertyOf``
(rdfs7), closed transitively over the ontology — and returns only what is new, so the
build can publish it as a file of its own beside the data.

Why not a general reasoner: owlrl's RDFS semantics over the whole build also adds the
axiomatic triples (every property a ``rdf:Property``, every IRI a ``rdfs:Resource``,
domain and range types …), most of which no consumer asks for, and its cost grows with
the data. The targeted closure gives the same answers to ELI and schema.org queries (a
test compares the two) and takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

import pyoxigraph as ox
from rdflib import RDF, RDFS, Graph, URIRef

ENTAILED_FILE = "policygraph-entailed.nt"


def _closure(graph: Graph, relation: URIRef) -> dict[URIRef, set[URIRef]]:
    """For each term, every term above it by ``relation`` (transitively, not itself)."""
    direct: dict[URIRef, set[URIRef]] = {}
    for sub, sup in graph.subject_objects(relation):
        if isinstance(sub, URIRef) and isinstance(sup, URIRef) and sub != sup:
            direct.setdefault(sub, set()).add(sup)
    closed: dict[URIRef, set[URIRef]] = {}
    for start in direct:
        seen: set[URIRef] = set()
        todo = list(direct[start])
        while todo:
            term = todo.pop()
            if term in seen or term == start:
                continue
            seen.add(term)
            todo.extend(direct.get(term, ()))
        closed[start] = seen
    return closed


def entailed_triples(data: Graph | Iterable[Graph], ontology: Graph) -> Graph:
    """The triples ``ontology``'s subclass and subproperty axioms add to ``data``.

    Only the new triples are returned; the data's own triples are not repeated.
    """
    graphs = [data] if isinstance(data, Graph) else list(data)
    classes = _closure(ontology, RDFS.subClassOf)
    properties = _closure(ontology, RDFS.subPropertyOf)
    entailed = Graph()
    for graph in graphs:
        for s, p, o in graph:
            for q in properties.get(p, ()):  # type: ignore[call-overload]
                entailed.add((s, q, o))
            if p == RDF.type:
                for cls in classes.get(o, ()):  # type: ignore[call-overload]
                    entailed.add((s, RDF.type, cls))
    for graph in graphs:
        for triple in graph:
            entailed.remove(triple)
    return entailed


@cache
def _closures() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The ontology's superclasses and superproperties of each term, as IRI strings."""
    from policygraph.shacl import ontology_graph

    ontology = ontology_graph()

    def as_strings(closed: dict[URIRef, set[URIRef]]) -> dict[str, list[str]]:
        return {str(k): sorted(str(v) for v in values) for k, values in closed.items()}

    return (
        as_strings(_closure(ontology, RDFS.subClassOf)),
        as_strings(_closure(ontology, RDFS.subPropertyOf)),
    )


def entailed_from(triples: Sequence[ox.Triple]) -> list[ox.Triple]:
    """``entailed_triples`` for pyoxigraph triples and the shipped ontology, sorted.

    The same rules, on the terms a corpus build already holds, so a document's share
    of the entailed dump costs a pass over its triples rather than an rdflib graph.
    """
    classes, properties = _term_closures()
    found: set[ox.Triple] = set()
    for t in triples:
        for q in properties.get(t.predicate, ()):
            found.add(ox.Triple(t.subject, q, t.object))
        if t.predicate == _RDF_TYPE:
            for cls in classes.get(t.object, ()):  # type: ignore[call-overload]
                found.add(ox.Triple(t.subject, t.predicate, cls))
    found.difference_update(triples)
    return sorted(found, key=str)


_RDF_TYPE = ox.NamedNode(str(RDF.type))


@cache
def _term_closures() -> tuple[dict[ox.NamedNode, list[ox.NamedNode]], ...]:
    """``_closures`` keyed and valued by pyoxigraph terms (no string made per triple)."""
    return tuple(
        {ox.NamedNode(k): [ox.NamedNode(v) for v in values] for k, values in closed.items()}
        for closed in _closures()
    )
