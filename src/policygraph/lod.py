"""What the server publishes about a build: the build in memory, its base IRI, descriptions.

``policygraph serve`` answers a resource's IRI with its *description*: every triple with
the resource as subject (blank nodes followed, as in a concise bounded description), the
triples that point at it (at most :data:`MAX_INCOMING`, so a popular theme cannot make a
response unbounded), and the labels of every resource linked either way, so a client can
show the links by name without asking again. Kept apart from the HTTP layer so the static
site writer can publish the same descriptions.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

from policygraph.errors import PolicyGraphError

__all__ = ["LABEL_PREDICATES", "MAX_INCOMING", "describe", "graph_sizes", "load_build", "read_base"]

MAX_INCOMING = 2000
VOID_URI_SPACE = "http://rdfs.org/ns/void#uriSpace"
LABEL_PREDICATES = (
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://purl.org/dc/terms/title",
)


def load_build(data: Path) -> Any:
    """The build's graphs plus its ``void.ttl`` (in the default graph), in memory."""
    import pyoxigraph as ox

    from policygraph.query import QueryError, load_store

    try:
        store = load_store([data])
    except QueryError as exc:
        raise PolicyGraphError(str(exc)) from None
    void = data / "void.ttl"
    if void.is_file():
        store.load(path=str(void), format=ox.RdfFormat.TURTLE, to_graph=ox.DefaultGraph())
    return store


def read_base(data: Path, store: Any) -> str:
    """The build's base IRI, from ``void:uriSpace`` in its ``void.ttl``.

    Only the description's own statement counts (it is loaded into the default graph):
    vocabularies in the data may describe other datasets' URI spaces.
    """
    import pyoxigraph as ox

    uri_space = ox.NamedNode(VOID_URI_SPACE)
    spaces = {
        q.object.value for q in store.quads_for_pattern(None, uri_space, None, ox.DefaultGraph())
    }
    if len(spaces) != 1:
        found = "no void:uriSpace" if not spaces else f"{len(spaces)} void:uriSpace values"
        raise PolicyGraphError(
            f"{data / 'void.ttl'}: {found}; cannot tell the base IRI — pass --base-iri"
        )
    return spaces.pop()


def graph_sizes(store: Any) -> dict[str, int]:
    """Triples per named graph (the default graph holds only the VoID description)."""
    answer = store.query("SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    return {row["g"].value: int(row["n"].value) for row in answer}


def _key(triple: Any) -> str:
    return str(triple)


def describe(store: Any, iri: str, max_incoming: int = MAX_INCOMING) -> list[Any] | None:
    """The description served for ``iri``, or None when the build has no triple about it.

    Its own triples (blank-node objects followed, as in a concise bounded description),
    at most ``max_incoming`` triples pointing at it, and the labels of every resource
    linked either way — distinct triples, whatever graph they come from, in a fixed order.
    """
    import pyoxigraph as ox

    node = ox.NamedNode(iri)
    own = _closure(store, node)
    if not own:
        return None
    incoming = [
        ox.Triple(q.subject, q.predicate, q.object)
        for q in islice(store.quads_for_pattern(None, None, node), max_incoming)
    ]
    linked = {t.object for t in own if isinstance(t.object, ox.NamedNode)}
    linked |= {t.subject for t in incoming if isinstance(t.subject, ox.NamedNode)}
    linked.discard(node)
    labels = [
        ox.Triple(q.subject, q.predicate, q.object)
        for other in linked
        for predicate in LABEL_PREDICATES
        for q in store.quads_for_pattern(other, ox.NamedNode(predicate), None)
    ]
    unique = {_key(t): t for t in (*own, *incoming, *labels)}
    return [unique[k] for k in sorted(unique)]


def _closure(store: Any, node: Any) -> list[Any]:
    """Triples with ``node`` as subject, and those of the blank nodes they lead to."""
    import pyoxigraph as ox

    found, todo, seen = [], [node], set()
    while todo:
        subject = todo.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for quad in store.quads_for_pattern(subject, None, None):
            found.append(ox.Triple(quad.subject, quad.predicate, quad.object))
            if isinstance(quad.object, ox.BlankNode):
                todo.append(quad.object)
    return found
