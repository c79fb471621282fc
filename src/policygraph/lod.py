"""What the server publishes about a build: the build's quads, its base IRI, descriptions.

``policygraph serve`` answers a resource's IRI with its *description*: every triple with
the resource as subject (blank nodes followed, as in a concise bounded description), the
triples that point at it (at most :data:`MAX_INCOMING`, so a popular theme cannot make a
response unbounded), and the labels of every resource linked either way, so a client can
show the links by name without asking again. Kept apart from the HTTP layer so the static
site writer can publish the same descriptions.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from policygraph.errors import PolicyGraphError

if TYPE_CHECKING:
    from policygraph.store import Location

__all__ = [
    "LABEL_PREDICATES",
    "MAX_INCOMING",
    "BuildView",
    "describe",
    "graph_sizes",
    "load_build",
    "read_base",
]

MAX_INCOMING = 2000
VOID_URI_SPACE = "http://rdfs.org/ns/void#uriSpace"
LABEL_PREDICATES = (
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://purl.org/dc/terms/title",
)


class BuildView:
    """A build as the server's pages read it: the dump's quads plus the VoID description.

    The quads are a persistent store opened read-only, shared with the SPARQL workers,
    so the description (in the default graph, where :func:`read_base` looks) cannot be
    added to it — and should not be: the workers' default graph is the union of the
    named graphs, which would then include it. It is kept in a small store of its own
    and looked up alongside. Offers what pages and :func:`describe` use:
    ``quads_for_pattern`` and iteration.
    """

    def __init__(self, quads: Any, description: Any, graphs: dict[str, int]):
        self.quads = quads
        self.description = description
        self.graphs = graphs

    def quads_for_pattern(
        self, subject: Any = None, predicate: Any = None, object: Any = None, graph_name: Any = None
    ) -> Iterator[Any]:
        """Matching quads of the dump, then of the description (only in the default graph)."""
        import pyoxigraph as ox

        yield from self.quads.quads_for_pattern(subject, predicate, object, graph_name)
        if graph_name is None or isinstance(graph_name, ox.DefaultGraph):
            yield from self.description.quads_for_pattern(subject, predicate, object, graph_name)

    def __iter__(self) -> Iterator[Any]:
        yield from self.quads
        yield from self.description

    def __len__(self) -> int:
        return len(self.quads) + len(self.description)


def load_build(data: Path, location: Location | None = None) -> Any:
    """The build's graphs plus its ``void.ttl`` (in the default graph).

    A large build is read from its persistent store (:mod:`policygraph.store`, made
    here if need be) as a :class:`BuildView`; a small one is loaded into memory, as a
    ``pyoxigraph.Store``. ``location`` is where :func:`policygraph.store.locate` found
    the quads, when the caller has asked already.
    """
    import pyoxigraph as ox

    from policygraph.query import QueryError
    from policygraph.store import locate

    try:
        location = location or locate(data)
        store = location.open()
    except QueryError as exc:
        raise PolicyGraphError(str(exc)) from None
    void = data / "void.ttl"
    if location.persistent:
        description = ox.Store()
        store = BuildView(store, description, location.graph_sizes() or graph_sizes(store))
    else:
        description = store
    if void.is_file():
        description.load(path=str(void), format=ox.RdfFormat.TURTLE, to_graph=ox.DefaultGraph())
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
    """Triples per named graph (the default graph holds only the VoID description).

    A :class:`BuildView` knows them from its store's marker: counting every quad of a
    corpus build takes longer than the rest of the server's start.
    """
    if isinstance(store, BuildView):
        return dict(store.graphs)
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
