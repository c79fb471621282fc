"""HTML pages over a build: one per resource, a home page, a query page, the ontology.

The linked-data server (``serve``) renders these on request and the static site writer
(``site``) writes them to files, so both publish the same pages at the same paths.
Every page reads the build through a ``pyoxigraph.Store`` and is complete without
JavaScript: links both ways, the source text a resource was parsed from, and its
JSON-LD in ``<script type="application/ld+json">`` for machines.

Nothing here knows a particular document. Labels of classes and properties come from
``ontology/policygraph.ttl``; the schema.org view of a resource comes from the
ontology's own alignments (``rdfs:subClassOf``/``rdfs:subPropertyOf`` to schema.org);
the canned queries and their parameters come from the comment lines of
``queries/*.rq``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from policygraph.iris import ONTOLOGY, Iris
from policygraph.resources import data_dir, data_files

#: The namespace every policygraph vocabulary lives under (ontology, themes, units …).
VOCAB_ROOT = ONTOLOGY.rsplit("ontology#", 1)[0]
ONTOLOGY_IRI = ONTOLOGY.rstrip("#")
#: Where data IRIs (those under the build's base) are served.
ID_PREFIX = "/id/"
DUMPS_PATH = "/dumps/"
VOID_PATH = "/.well-known/void"
ONTOLOGY_PATH = "/ontology"
QUERY_PATH = "/query"
SPARQL_PATH = "/sparql"
#: The form field of the query page that names the canned query.
QUERY_FIELD = "query"
LANGUAGE = "en"

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
ELI = "http://data.europa.eu/eli/ontology#"
OA = "http://www.w3.org/ns/oa#"
DCTERMS = "http://purl.org/dc/terms/"
SCHEMA = "http://schema.org/"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
PG = ONTOLOGY

_LABELS = (SKOS + "prefLabel", RDFS + "label", DCTERMS + "title", SKOS + "notation")
_TEXTS = (PG + "text", PG + "statement", SKOS + "definition", DCTERMS + "description")
# Links a page shows as breadcrumbs, parts or objectives, not again as incoming links.
_STRUCTURE = {ELI + "is_part_of", ELI + "has_part", PG + "inPolicy", PG + "objectiveOf"}
_OBJECTIVE_COLUMNS = ("targetYear", "indicator", "value", "unit", "comparison")
#: At most this many linking resources are listed per property on a page, the rest
#: through the query the page shows. A theme of a 10,000-document corpus has ~10^4
#: measures: listing 1,000 of them made a 1.3 MB page that took 2.6 s to render.
MAX_INCOMING = 100


def local_path(iri: str, base: str) -> str:
    """The path on the server (and in the static site) where ``iri`` is published.

    ``{base}X`` → ``/id/X``; the build's dumps → ``/dumps/…`` and its dataset →
    ``/.well-known/void``; ontology terms → ``/ontology#Term``; other policygraph
    vocabulary IRIs (``…/theme/x``) → ``/theme/x``. Anything else stays absolute.
    """
    iris = Iris(base)
    dumps = iris.dump("")
    if iri.startswith(dumps):
        return DUMPS_PATH + iri[len(dumps) :]
    if iri == iris.dataset():
        return VOID_PATH
    if iri.startswith(iris.base):
        return ID_PREFIX + iri[len(iris.base) :]
    if iri.startswith(ONTOLOGY):
        return f"{ONTOLOGY_PATH}#{iri[len(ONTOLOGY) :]}"
    if iri == ONTOLOGY_IRI:
        return ONTOLOGY_PATH
    if iri.startswith(VOCAB_ROOT):
        return "/" + iri[len(VOCAB_ROOT) :]
    return iri


def resource_iri(path: str, base: str) -> str | None:
    """The IRI a local path publishes (the inverse of :func:`local_path` for resources).

    Returns None for paths that are not resources (``/``, ``/sparql``, ``/dumps/…``).
    """
    if path.startswith(ID_PREFIX):
        return Iris(base).base + path[len(ID_PREFIX) :]
    reserved = (DUMPS_PATH, VOID_PATH, ONTOLOGY_PATH, QUERY_PATH, SPARQL_PATH, "/.well-known/")
    if path in ("", "/") or path.startswith(reserved) or not path.startswith("/"):
        return None
    return VOCAB_ROOT + path[1:]


# ---------------------------------------------------------------------------
# Reading the build


class QuadIndex:
    """Quads exactly as parsed, indexed for the look-ups pages make.

    A stand-in for ``pyoxigraph.Store`` wherever only ``quads_for_pattern`` and
    iteration are used. The store normalises literals as it loads them
    (``"0.60"^^xsd:decimal`` becomes ``"0.6"``, ``xsd:nonNegativeInteger`` becomes
    ``xsd:integer``); the static site reads the build through this index instead, so
    its files say exactly what the dumps say.
    """

    def __init__(self, quads: Iterable[ox.Quad]):
        self._all: list[ox.Quad] = []
        self._index: tuple[dict[Any, list[ox.Quad]], ...] = ({}, {}, {})
        self.add(quads)

    def add(self, quads: Iterable[ox.Quad]) -> None:
        """Index more quads (the next part of a dump in parts)."""
        for quad in quads:
            self._all.append(quad)
            for position, term in enumerate((quad.subject, quad.predicate, quad.object)):
                self._index[position].setdefault(term, []).append(quad)

    @classmethod
    def load(cls, path: Path) -> QuadIndex:
        """An N-Quads file, parsed."""
        from policygraph import dumpfile

        return cls(dumpfile.parse(path, ox.RdfFormat.N_QUADS))

    def __iter__(self) -> Iterator[ox.Quad]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def quads_for_pattern(
        self, subject: Any = None, predicate: Any = None, object: Any = None, graph: Any = None
    ) -> list[ox.Quad]:
        """The quads matching a pattern (None matches anything), as the store answers."""
        pattern = (subject, predicate, object)
        bound = [(i, term) for i, term in enumerate(pattern) if term is not None]
        candidates = self._index[bound[0][0]].get(bound[0][1], []) if bound else self._all
        return [
            q
            for q in candidates
            if all((q.subject, q.predicate, q.object)[i] == term for i, term in bound)
            and (graph is None or q.graph_name == graph)
        ]


#: What pages read the build from: the server's store, or the site writer's index.
QuadSource = ox.Store | QuadIndex


def _triple(quad: ox.Quad) -> ox.Triple:
    return ox.Triple(quad.subject, quad.predicate, quad.object)


def _term_key(term: Any) -> tuple[int, str, str]:
    if isinstance(term, ox.Literal):
        return (1, term.value, term.language or term.datatype.value)
    return (0, term.value, "")


def _sorted(triples: Iterable[ox.Triple]) -> list[ox.Triple]:
    """Distinct triples in a fixed order, whatever graph they came from."""
    unique = {(t.subject.value, t.predicate.value, _term_key(t.object)): t for t in triples}
    return [unique[key] for key in sorted(unique)]


def resource_triples(store: QuadSource, iri: str) -> list[ox.Triple]:
    """The description of a resource: every triple with it as subject, in any graph.

    The build has no blank nodes, so this is the resource's concise bounded
    description. The build writes literals in canonical form, so the store returns
    them exactly as the dumps have them.
    """
    node = ox.NamedNode(iri)
    return _sorted(_triple(q) for q in store.quads_for_pattern(node, None, None, None))


@cache
def context() -> dict[str, Any]:
    """The JSON-LD context kept in ``ontology/context.jsonld``."""
    from policygraph.export import load_context

    return load_context()


@cache
def prefixes() -> dict[str, str]:
    """Namespace prefixes of the JSON-LD context, used for CURIEs and Turtle."""
    found = {
        name: value
        for name, value in context().items()
        if isinstance(value, str) and value.endswith(("#", "/")) and "://" in value
    }
    found.setdefault("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#")
    return found


def expand(name: str) -> str:
    """A CURIE of the context (``xsd:integer``) as a full IRI; other strings unchanged."""
    prefix, colon, rest = name.partition(":")
    namespace = prefixes().get(prefix) if colon else None
    return namespace + rest if namespace and not rest.startswith("//") else name


def resource_turtle(triples: list[ox.Triple]) -> bytes:
    """Turtle for a description, with the context's prefixes that it uses."""
    triples = list(triples)
    used = {
        name: ns
        for name, ns in prefixes().items()
        if any(
            term.value.startswith(ns)
            for t in triples
            for term in (t.predicate, t.object)
            if isinstance(term, ox.NamedNode)
        )
    }
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=used)


def _rdflib_term(term: Any) -> Any:
    from rdflib import BNode, Literal, URIRef

    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    if term.datatype.value == XSD_STRING:
        return Literal(term.value)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


@cache
def _rdflib_context() -> Any:
    """rdflib's parsed form of the context, made once rather than for every page."""
    from rdflib.plugins.shared.jsonld.context import Context

    return Context(context())


def resource_jsonld(triples: list[ox.Triple]) -> dict[str, Any]:
    """Compact JSON-LD of a description, with the repository's context inlined.

    The context is inlined rather than linked so that any JSON-LD processor reads
    the page offline.
    """
    from rdflib import Graph
    from rdflib.plugins.serializers.jsonld import from_rdf

    graph = Graph()
    for t in triples:
        graph.add((_rdflib_term(t.subject), _rdflib_term(t.predicate), _rdflib_term(t.object)))
    document = from_rdf(graph, _rdflib_context(), auto_compact=True)
    document["@context"] = context()
    return document


@cache
def _context_json() -> str:
    return script_json(context())


def script_json(data: Any) -> str:
    """JSON safe inside ``<script>``: no ``<``, ``>`` or ``&`` can end or break the element.

    A top-level ``@context`` that is the repository's is written from a cached copy,
    as it is the bulk of every page's JSON-LD.
    """
    if isinstance(data, dict) and data.get("@context") is context() and len(data) > 1:
        rest = script_json({k: v for k, v in data.items() if k != "@context"})
        return '{\n "@context": ' + _context_json() + "," + rest[1:]
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# ---------------------------------------------------------------------------
# The ontology: labels, definitions and alignments


@dataclass
class Ontology:
    """What pages need from the ontology: labels, definitions, super-terms."""

    labels: dict[str, str] = field(default_factory=dict)
    definitions: dict[str, str] = field(default_factory=dict)
    supers: dict[str, set[str]] = field(default_factory=dict)
    ranges: dict[str, str] = field(default_factory=dict)
    types: dict[str, set[str]] = field(default_factory=dict)

    def ancestors(self, iri: str) -> set[str]:
        """Every super-class or super-property of ``iri``, transitively."""
        seen: set[str] = set()
        todo = [iri]
        while todo:
            for parent in self.supers.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen


@cache
def ontology() -> Ontology:
    """The ontology file, read once."""
    graph = ox.Store()
    graph.load(path=str(data_dir("ontology") / "policygraph.ttl"), format=ox.RdfFormat.TURTLE)
    found = Ontology()
    for quad in graph:
        s, p, o = quad.subject.value, quad.predicate.value, quad.object
        if p == RDFS + "label" and (o.language in (None, LANGUAGE) or s not in found.labels):
            found.labels[s] = o.value
        elif p == SKOS + "definition":
            found.definitions[s] = o.value
        elif p in (RDFS + "subClassOf", RDFS + "subPropertyOf"):
            found.supers.setdefault(s, set()).add(o.value)
        elif p == RDFS + "range":
            found.ranges[s] = o.value
        elif p == RDF_TYPE:
            found.types.setdefault(s, set()).add(o.value)
    return found


def local_name(iri: str) -> str:
    """The part of an IRI after its last ``#`` or ``/``."""
    return iri[max(iri.rfind("#"), iri.rfind("/")) + 1 :] or iri


def humanize(name: str) -> str:
    """``is_part_of`` → ``is part of``, ``prefLabel`` → ``pref label``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ")
    return spaced[:1] + spaced[1:].lower() if " " in spaced else spaced


def curie(iri: str) -> str:
    """``eli:is_part_of`` for an IRI in a known namespace; the IRI otherwise."""
    best = max(
        ((name, ns) for name, ns in prefixes().items() if iri.startswith(ns)),
        key=lambda pair: len(pair[1]),
        default=None,
    )
    return f"{best[0]}:{iri[len(best[1]) :]}" if best else iri


def term_label(iri: str) -> str:
    """A class or property's label: the ontology's, else its local name made readable."""
    return ontology().labels.get(iri) or humanize(local_name(iri))


# ---------------------------------------------------------------------------
# A view of the build for one page


@dataclass
class Link:
    """A resource as a page shows it: where it is, what it is called, in which language."""

    href: str
    label: str
    iri: str
    lang: str | None = None


@dataclass
class Value:
    """One value of a property: a link, or a literal with its language or datatype."""

    text: str
    link: Link | None = None
    lang: str | None = None
    datatype: str | None = None


class View:
    """The build, read for one base; caches labels while one page is made."""

    def __init__(self, store: QuadSource, base: str):
        self.store = store
        self.base = Iris(base).base
        self._labels: dict[str, tuple[str, str | None]] = {}

    def objects(self, iri: str, predicate: str) -> list[Any]:
        """Distinct objects of ``iri predicate ?o`` in any graph, in a fixed order."""
        found = self.store.quads_for_pattern(ox.NamedNode(iri), ox.NamedNode(predicate), None)
        unique = {_term_key(q.object): q.object for q in found}
        return [unique[k] for k in sorted(unique)]

    def subjects(self, predicate: str, iri: str) -> list[str]:
        """Distinct subjects of ``?s predicate iri``, sorted."""
        found = self.store.quads_for_pattern(None, ox.NamedNode(predicate), ox.NamedNode(iri))
        return sorted({q.subject.value for q in found if isinstance(q.subject, ox.NamedNode)})

    def first(self, iri: str, predicate: str) -> Any | None:
        """One object, preferring the page's language; None when there is none."""
        values = self.objects(iri, predicate)
        return _prefer(values) if values else None

    def text(self, iri: str, predicate: str) -> str | None:
        value = self.first(iri, predicate)
        return value.value if value is not None else None

    def types(self, iri: str) -> list[str]:
        return [t.value for t in self.objects(iri, RDF_TYPE)]

    def label(self, iri: str) -> tuple[str, str | None]:
        """The best label of a resource and its language tag."""
        if iri not in self._labels:
            self._labels[iri] = self._find_label(iri)
        return self._labels[iri]

    def _find_label(self, iri: str) -> tuple[str, str | None]:
        for predicate in _LABELS:
            value = self.first(iri, predicate)
            if value is not None:
                return value.value, value.language
        if iri in ontology().labels:
            return ontology().labels[iri], LANGUAGE
        return humanize(local_name(iri)), None

    def link(self, iri: str) -> Link:
        label, lang = self.label(iri)
        return Link(local_path(iri, self.base), label, iri, lang)

    def value(self, term: Any) -> Value:
        if isinstance(term, ox.NamedNode):
            link = self.link(term.value)
            return Value(link.label, link=link, lang=link.lang)
        if isinstance(term, ox.Literal):
            plain = term.language or term.datatype.value == XSD_STRING
            datatype = None if plain else curie(term.datatype.value)
            return Value(term.value, lang=term.language, datatype=datatype)
        return Value(str(term))

    def order(self, iri: str) -> tuple[int, int, str]:
        """Sort key for parts: reading order, then printed ordinal, then IRI."""
        order = self.text(iri, PG + "order")
        ordinal = self.text(iri, PG + "ordinal")
        return (_int(order), _int(ordinal), iri)

    def parts(self, iri: str) -> list[str]:
        """The parts of a resource in reading order (from either direction of the link)."""
        found = {o.value for o in self.objects(iri, ELI + "has_part")}
        found.update(self.subjects(ELI + "is_part_of", iri))
        return sorted(found, key=self.order)

    def ancestors(self, iri: str) -> list[str]:
        """What a resource is part of, outermost first."""
        chain: list[str] = []
        current = iri
        while True:
            parents = [o.value for o in self.objects(current, ELI + "is_part_of")]
            parents += [s for s in self.subjects(ELI + "has_part", current) if s not in parents]
            if not parents or parents[0] in chain or parents[0] == iri:
                return list(reversed(chain))
            chain.append(parents[0])
            current = parents[0]


def _prefer(values: list[Any]) -> Any:
    """The value in the page's language, else one without a language, else the first."""
    for wanted in (LANGUAGE, None):
        for value in values:
            if getattr(value, "language", None) == wanted:
                return value
    return values[0]


def _int(text: str | None) -> int:
    try:
        return int(text) if text is not None else 1 << 30
    except ValueError:
        return 1 << 30


# ---------------------------------------------------------------------------
# Templates


@cache
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "svg"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        css=(Path(__file__).parent / "templates" / "policygraph.css").read_text(encoding="utf-8"),
        paths={
            "home": "/",
            "query": QUERY_PATH,
            "ontology": ONTOLOGY_PATH,
            "void": VOID_PATH,
            "dumps": DUMPS_PATH,
            "sparql": SPARQL_PATH,
        },
        query_field=QUERY_FIELD,
    )
    return env


def _render(template: str, **values: Any) -> str:
    values.setdefault("static", False)
    values.setdefault("alternates", [])
    return _environment().get_template(template).render(**values)


# ---------------------------------------------------------------------------
# Resource pages


@dataclass
class Row:
    """A property of a resource with its values, for the properties table."""

    label: str
    curie: str
    iri: str
    values: list[Value]


def _rows(view: View, triples: list[ox.Triple]) -> list[Row]:
    grouped: dict[str, list[Value]] = {}
    for t in triples:
        grouped.setdefault(t.predicate.value, []).append(view.value(t.object))
    rows = [Row(term_label(p), curie(p), p, values) for p, values in grouped.items()]
    return sorted(rows, key=lambda row: (row.iri != RDF_TYPE, row.label.lower(), row.iri))


def _incoming(view: View, iri: str) -> list[dict[str, Any]]:
    """Resources that link to this one, grouped by the linking property.

    A group lists at most :data:`MAX_INCOMING` resources (the first by IRI), says how
    many there are, and carries the SPARQL query that lists them all.
    """
    groups: dict[str, set[str]] = {}
    for quad in view.store.quads_for_pattern(None, None, ox.NamedNode(iri)):
        if quad.predicate.value in _STRUCTURE or not isinstance(quad.subject, ox.NamedNode):
            continue
        groups.setdefault(quad.predicate.value, set()).add(quad.subject.value)
    sections = []
    for predicate in sorted(groups, key=lambda p: (term_label(p).lower(), p)):
        subjects = sorted(groups[predicate])
        rows = sorted((_incoming_row(view, s) for s in subjects[:MAX_INCOMING]), key=_row_key)
        sections.append(
            {
                "label": term_label(predicate),
                "curie": curie(predicate),
                "rows": rows,
                "total": len(subjects),
                "query": f"SELECT ?resource WHERE {{ ?resource <{predicate}> <{iri}> }} "
                "ORDER BY ?resource",
            }
        )
    # Links from parts of documents (a theme's measures, an agency's policies) first.
    return sorted(sections, key=lambda s: not any(row["policy"] for row in s["rows"]))


def _incoming_row(view: View, subject: str) -> dict[str, Any]:
    policy = view.first(subject, PG + "inPolicy")
    return {
        "link": view.link(subject),
        "types": [view.link(t) for t in view.types(subject)],
        "policy": view.link(policy.value) if policy is not None else None,
        "order": view.order(subject),
    }


def _row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["policy"].label if row["policy"] else "", *row["order"])


def _span(view: View, iri: str) -> dict[str, Any] | None:
    """The stretch of source text a resource was parsed from (itself, if it is one)."""
    span = iri if view.first(iri, OA + "exact") is not None else None
    if span is None:
        found = view.first(iri, PG + "span")
        span = found.value if isinstance(found, ox.NamedNode) else None
    if span is None:
        return None
    source = view.first(span, PG + "sourceText")
    return {
        "link": view.link(span),
        "exact": view.text(span, OA + "exact") or "",
        "start": view.text(span, OA + "start"),
        "end": view.text(span, OA + "end"),
        "start_line": view.text(span, PG + "startLine"),
        "end_line": view.text(span, PG + "endLine"),
        "source": view.link(source.value) if source is not None else None,
        "file": view.text(source.value, PG + "fileName") if source is not None else None,
    }


def _objectives(view: View, iri: str) -> list[dict[str, Any]]:
    found = {o.value for o in view.objects(iri, PG + "hasObjective")}
    found.update(view.subjects(PG + "objectiveOf", iri))
    rows = []
    for objective in sorted(found, key=view.order):
        row: dict[str, Any] = {"link": view.link(objective)}
        statement = view.first(objective, PG + "statement")
        row["statement"] = view.value(statement) if statement is not None else None
        for column in _OBJECTIVE_COLUMNS:
            term = view.first(objective, PG + column)
            row[column] = view.value(term) if term is not None else None
        rows.append(row)
    return rows


def _repairs(view: View, iri: str) -> list[dict[str, Any]]:
    rows = []
    for repair in view.objects(iri, PG + "repair"):
        rule = view.first(repair.value, PG + "repairRule")
        rows.append(
            {
                "link": view.link(repair.value),
                "original": view.text(repair.value, PG + "originalText") or "",
                "repaired": view.text(repair.value, PG + "repairedText") or "",
                "rule": view.link(rule.value) if rule is not None else None,
                "start": view.text(repair.value, OA + "start"),
                "end": view.text(repair.value, OA + "end"),
            }
        )
    return sorted(rows, key=lambda row: (_int(row["start"]), row["link"].iri))


def _themes(view: View, iri: str) -> list[dict[str, Any]]:
    """A measure's themes, each with the words of the text that matched it."""
    evidence: dict[str, list[str]] = {}
    for match in view.objects(iri, PG + "themeMatch"):
        theme = view.first(match.value, PG + "matchedTheme")
        text = view.text(match.value, PG + "matchedText")
        if theme is not None and text:
            evidence.setdefault(theme.value, []).append(text)
    themes = [t.value for t in view.objects(iri, PG + "theme")]
    links = sorted((view.link(t) for t in themes), key=lambda link: link.label.lower())
    return [{"link": link, "matched": sorted(set(evidence.get(link.iri, [])))} for link in links]


def _citations(view: View, iri: str) -> dict[str, Any] | None:
    """What a policy or part cites (marking documents not in the build), and who cites it."""
    cites = [
        {
            "link": view.link(target.value),
            "number": view.text(target.value, PG + "documentNumber"),
            "missing": PG + "CitedDocument" in view.types(target.value),
        }
        for target in view.objects(iri, ELI + "cites")
        if isinstance(target, ox.NamedNode)
    ]
    cited_by = [
        view.link(s) for s in view.subjects(ELI + "cites", iri) if PG + "Policy" in view.types(s)
    ]
    if not cites and not cited_by:
        return None
    cites.sort(key=lambda row: (row["missing"], row["link"].label, row["link"].iri))
    return {"cites": cites, "cited_by": sorted(cited_by, key=lambda link: link.label)}


def _similar(view: View, iri: str) -> list[dict[str, Any]]:
    """A measure's similar measures elsewhere, closest first, with score and shared themes."""
    rows = []
    for record in view.objects(iri, PG + "similarity"):
        other = view.first(record.value, PG + "similarMeasure")
        if not isinstance(other, ox.NamedNode):
            continue
        policy = view.first(other.value, PG + "inPolicy")
        themes = [view.link(t.value) for t in view.objects(record.value, PG + "sharedTheme")]
        rows.append(
            {
                "link": view.link(other.value),
                "policy": view.link(policy.value) if policy is not None else None,
                "score": view.text(record.value, PG + "score") or "0",
                "record": view.link(record.value),
                "themes": sorted(themes, key=lambda link: link.label.lower()),
            }
        )
    return sorted(rows, key=lambda row: (-float(row["score"]), row["link"].iri))


def schema_org(view: View, iri: str, triples: list[ox.Triple]) -> dict[str, Any] | None:
    """The resource in schema.org terms, as the ontology aligns its classes and properties.

    Search engines and schema.org tools read this one; the full description in the
    project's own terms follows in a second script element.
    """
    onto = ontology()
    types = {a for t in view.types(iri) for a in onto.ancestors(t) | {t}}
    node: dict[str, Any] = {"@id": iri}
    schema_types = sorted(local_name(t) for t in types if t.startswith(SCHEMA))
    if schema_types:
        node["@type"] = schema_types
    for t in triples:
        for term in sorted(onto.ancestors(t.predicate.value)):
            if term.startswith(SCHEMA):
                node.setdefault(local_name(term), []).append(_schema_value(view, t.object))
    if len(node) == 1:
        return None
    if "name" not in node:
        label, lang = view.label(iri)
        node["name"] = [{"@value": label, "@language": lang} if lang else label]
    return {"@context": {"@vocab": SCHEMA}, **node}


def _schema_value(view: View, term: Any) -> Any:
    if isinstance(term, ox.NamedNode):
        label, lang = view.label(term.value)
        return {"@id": term.value, "name": {"@value": label, "@language": lang} if lang else label}
    if term.language:
        return {"@value": term.value, "@language": term.language}
    return term.value


def _alternates(path: str, static: bool) -> list[dict[str, str]]:
    """``<link rel=alternate>`` targets: ``?format=`` on the server, sibling files statically."""
    formats = [("text/turtle", "ttl"), ("application/ld+json", "jsonld")]
    if static:
        return [{"type": mime, "href": f"{path}.{ext}", "label": ext} for mime, ext in formats]
    formats += [("application/n-triples", "nt"), ("application/rdf+xml", "rdf")]
    return [{"type": mime, "href": f"{path}?format={ext}", "label": ext} for mime, ext in formats]


def resource_page(store: QuadSource, iri: str, base: str, *, static: bool = False) -> str | None:
    """The HTML page of a resource, or None when the build says nothing about it.

    ``static`` (for ``site``) points the alternate-format links at the sibling
    ``.ttl``/``.jsonld`` files instead of ``?format=``.
    """
    view = View(store, base)
    triples = resource_triples(store, iri)
    if not triples:
        return None
    label, lang = view.label(iri)
    text = next((v for p in _TEXTS if (v := view.first(iri, p)) is not None), None)
    path = local_path(iri, view.base)
    return _render(
        "resource.html",
        title=label,
        lang=lang,
        iri=iri,
        path=path,
        static=static,
        alternates=_alternates(path, static),
        types=[view.link(t) for t in view.types(iri)],
        text=view.value(text) if text is not None else None,
        breadcrumbs=[view.link(a) for a in view.ancestors(iri)],
        parts=[view.link(p) for p in view.parts(iri)],
        themes=_themes(view, iri),
        citations=_citations(view, iri),
        similar=_similar(view, iri),
        objectives=_objectives(view, iri),
        span=_span(view, iri),
        repairs=_repairs(view, iri),
        rows=_rows(view, triples),
        incoming=_incoming(view, iri),
        schema_json=_maybe_json(schema_org(view, iri, triples)),
        jsonld=script_json(resource_jsonld(triples)),
    )


def _maybe_json(data: dict[str, Any] | None) -> str | None:
    return script_json(data) if data is not None else None


# ---------------------------------------------------------------------------
# Home page: each document's table of contents and a picture of its structure

_ITEM_CLASSES = {PG + "Item", PG + "Measure", PG + "GeneralProvision"}
_BOX, _GAP, _PER_ROW, _LABEL_WIDTH = 30, 6, 15, 70


def _palette(themes: list[str]) -> dict[str, str]:
    """A distinct light colour per theme: hues spread by the golden angle."""
    return {
        theme: f"hsl({(i * 137.508) % 360:.0f}, 60%, {72 if i % 2 else 80}%)"
        for i, theme in enumerate(themes)
    }


def _is_item(view: View, iri: str) -> bool:
    types = set(view.types(iri))
    return bool(types & _ITEM_CLASSES) or any(
        ontology().ancestors(t) & _ITEM_CLASSES for t in types
    )


def _first_theme(view: View, item: str) -> str | None:
    themes = sorted(
        (t.value for t in view.objects(item, PG + "theme")), key=lambda t: view.label(t)
    )
    return themes[0] if themes else None


def _toc(view: View, policy: str) -> list[dict[str, Any]]:
    """The parts of a policy in reading order, chapters with their items."""
    entries = []
    for part in view.parts(policy):
        children = [c for c in view.parts(part) if _is_item(view, c)]
        entries.append({"link": view.link(part), "children": [view.link(c) for c in children]})
    return entries


def _box(view: View, item: str, x: int, y: int, colours: dict[str, str]) -> dict[str, Any]:
    """One item of the picture: grey for a general provision, else its first theme's colour."""
    types = view.types(item)
    general = PG + "GeneralProvision" in types
    kind = "measure" if PG + "Measure" in types else "general" if general else "item"
    return {
        "x": x,
        "y": y,
        "link": view.link(item),
        "number": view.text(item, ELI + "number") or "",
        "fill": "#c8c8c8" if general else colours.get(_first_theme(view, item) or "", "#ffffff"),
        "kind": kind,
        "themes": sorted(view.label(t.value)[0] for t in view.objects(item, PG + "theme")),
    }


def _structure(view: View, policy: str, colours: dict[str, str]) -> dict[str, Any]:
    """Boxes for an SVG picture: a row per chapter, a box per item, in reading order."""
    groups = [(p, [c for c in view.parts(p) if _is_item(view, c)]) for p in view.parts(policy)]
    direct = [p for p in view.parts(policy) if _is_item(view, p)]
    if direct:
        groups.append((policy, direct))
    rows, y, step = [], 0, _BOX + _GAP
    for group, items in groups:
        if not items:
            continue
        boxes = [
            _box(
                view,
                item,
                _LABEL_WIDTH + (i % _PER_ROW) * step,
                y + (i // _PER_ROW) * step,
                colours,
            )
            for i, item in enumerate(items)
        ]
        number = view.text(group, ELI + "number") or ""
        rows.append({"link": view.link(group), "number": number, "y": y, "boxes": boxes})
        y += ((len(items) + _PER_ROW - 1) // _PER_ROW) * step + 10
    width = _LABEL_WIDTH + _PER_ROW * step
    return {"rows": rows, "width": width, "height": max(y, _BOX), "box": _BOX}


def _policy_summary(view: View, policy: str, colours: dict[str, str]) -> dict[str, Any]:
    issuers = [view.link(o.value) for o in view.objects(policy, ELI + "passed_by")]
    items = [i for p in view.parts(policy) for i in [p, *view.parts(p)] if _is_item(view, i)]
    used = sorted({t for i in items if (t := _first_theme(view, i))}, key=lambda t: view.label(t))
    return {
        "link": view.link(policy),
        "date": view.text(policy, ELI + "date_document"),
        "kind": view.text(policy, DCTERMS + "type"),
        "issuers": issuers,
        "toc": _toc(view, policy),
        "structure": _structure(view, policy, colours),
        "legend": [{"link": view.link(t), "fill": colours[t]} for t in used],
    }


def _theme_counts(view: View) -> list[dict[str, Any]]:
    counts: dict[str, set[str]] = {}
    for quad in view.store.quads_for_pattern(None, ox.NamedNode(PG + "theme"), None):
        counts.setdefault(quad.object.value, set()).add(quad.subject.value)
    links = sorted((view.link(t) for t in counts), key=lambda link: link.label.lower())
    return [{"link": link, "count": len(counts[link.iri])} for link in links]


def home_page(
    store: QuadSource, base: str, *, static: bool = False, dumps: list[str] | None = None
) -> str:
    """Each document with its table of contents and an SVG picture of its structure.

    ``dumps`` names the dump files to list (they are not part of the graph).
    """
    view = View(store, base)
    policies = view.subjects(RDF_TYPE, PG + "Policy")
    policies.sort(key=lambda p: (view.text(p, ELI + "date_document") or "", p), reverse=True)
    used = {_first_theme(view, i) for i in view.subjects(RDF_TYPE, PG + "Measure")}
    colours = _palette(sorted((t for t in used if t), key=lambda t: view.label(t)))
    return _render(
        "home.html",
        title="Policy documents",
        lang=LANGUAGE,
        static=static,
        policies=[_policy_summary(view, p, colours) for p in policies],
        themes=_theme_counts(view),
        dumps=_dump_links(dumps or []),
    )


def _dump_links(names: list[str]) -> list[dict[str, Any]]:
    """The dump files to list, a dump in parts once, with a link to each of its parts."""
    from policygraph.dumpfile import by_dump, whole_name

    return [
        {
            "name": name,
            "href": DUMPS_PATH + files[0],
            "parts": [
                {"number": number, "href": DUMPS_PATH + file}
                for number, file in enumerate(files, start=1)
                if whole_name(file)
            ],
        }
        for name, files in by_dump(names).items()
    ]


# ---------------------------------------------------------------------------
# The query page


@dataclass
class Parameter:
    """A parameter of a canned query, as its ``# param:`` line declares it."""

    name: str
    kind: str
    default: str | None
    description: str

    @property
    def input_type(self) -> str:
        return "number" if self.kind == "integer" else "text"

    @property
    def pattern(self) -> str | None:
        return "-?[0-9]{4}" if self.kind == "gYear" else None


@dataclass
class CannedQuery:
    """A query of ``queries/``: its name, its question, its parameters and its text."""

    name: str
    question: str
    parameters: list[Parameter]
    text: str


_PARAM = re.compile(r"^(?P<name>[A-Za-z_]\w*)\s+(?P<kind>\S+)(?:\s+default=(?P<default>.*?))?\s*$")


def parse_query_header(name: str, text: str) -> CannedQuery:
    """Read the ``# question:`` and ``# param:`` lines that open a query file.

    A parameter line reads ``# param: NAME TYPE [default=VALUE] — description``.
    """
    question, parameters = "", []
    for line in text.splitlines():
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        body = line.lstrip("#").strip()
        if body.startswith("question:"):
            question = body[len("question:") :].strip()
        elif body.startswith("param:"):
            spec, _, description = body[len("param:") :].strip().partition(" — ")
            match = _PARAM.match(spec.strip())
            if match:
                parameters.append(
                    Parameter(match["name"], match["kind"], match["default"], description.strip())
                )
    return CannedQuery(name, question, parameters, text)


def canned_queries(folder: Path | None = None) -> list[CannedQuery]:
    """Every query in ``queries/`` (or ``folder``), sorted by name."""
    files = sorted(folder.glob("*.rq")) if folder else data_files("queries", "*.rq")
    return [parse_query_header(f.stem, f.read_text(encoding="utf-8")) for f in files]


def query_page(
    store: QuadSource,
    base: str,
    name: str | None,
    params: dict[str, str],
    result_html: str | None,
    *,
    static: bool = False,
) -> str:
    """The canned queries, a form for the chosen one, and its result (HTML from the server).

    The form sends ``GET /query?query=NAME&PARAM=VALUE…``. ``result_html`` is
    inserted as it is: the server makes it and escapes the values in it. ``static``
    (for ``site``) shows every query's text without forms, as there is no server.
    """
    queries = canned_queries()
    chosen = next((q for q in queries if q.name == name), None)
    values = {}
    if chosen is not None:
        values = {p.name: params.get(p.name, p.default or "") for p in chosen.parameters}
    from markupsafe import Markup

    return _render(
        "query.html",
        title=chosen.question if chosen else "Canned queries",
        lang=LANGUAGE,
        static=static,
        queries=queries,
        chosen=chosen,
        unknown=name if name and chosen is None else None,
        values=values,
        result=Markup(result_html) if result_html is not None else None,
    )


# ---------------------------------------------------------------------------
# The ontology documentation


def _import_pylode() -> Any:
    """pyLODE's OntPub, without the logging set-up pyLODE does when imported.

    pyLODE 3.3 calls ``logging.basicConfig(level=DEBUG)`` at import time, which would
    make the server print every library's debug messages; undo exactly that.
    """
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from pylode import OntPub

    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    return OntPub


_OWL = "http://www.w3.org/2002/07/owl#"
_SCHEMA_TERMS = {_OWL + k for k in ("Class", "ObjectProperty", "DatatypeProperty", "Ontology")}
_SCHEMA_TERMS |= {_OWL + "AnnotationProperty", _OWL + "FunctionalProperty"}


def _individuals() -> list[dict[str, Any]]:
    """The ontology's named individuals (repair rules, numbering schemes) that pyLODE skips."""
    onto = ontology()
    found = []
    for iri, types in sorted(onto.types.items()):
        if iri.startswith(ONTOLOGY) and not types & _SCHEMA_TERMS:
            classes = sorted(t for t in types if t.startswith(ONTOLOGY))
            found.append(
                {
                    "id": local_name(iri),
                    "iri": iri,
                    "label": onto.labels.get(iri, local_name(iri)),
                    "definition": onto.definitions.get(iri, ""),
                    "types": [{"id": local_name(t), "label": term_label(t)} for t in classes],
                }
            )
    return found


@cache
def ontology_page() -> str:
    """Human-readable documentation of ``ontology/policygraph.ttl``, made by pyLODE.

    pyLODE names its anchors after labels (``#Themematch``); an anchor named after
    each term's local name is added beside it, so ``/ontology#ThemeMatch`` — where
    :func:`local_path` sends ontology terms — lands on the term. pyLODE leaves out
    individuals that are not typed ``owl:NamedIndividual`` (the repair rules, the
    numbering schemes); they get a section of their own, as data links to them.
    """
    doc = _import_pylode()(str(data_dir("ontology") / "policygraph.ttl"))
    page = doc.make_html()
    for iri, fid in sorted(doc.fids.items()):
        name = local_name(iri)
        if iri.startswith(ONTOLOGY) and name != fid and f'id="{name}"' not in page:
            anchor = f'<span id="{name}"></span>'
            page = re.sub(
                rf'<[a-z0-9]+\b[^>]*\bid="{re.escape(fid)}"',
                lambda found, anchor=anchor: anchor + found.group(0),
                page,
                count=1,
            )
    individuals = [i for i in _individuals() if f'id="{i["id"]}"' not in page]
    if individuals:
        section = _environment().get_template("individuals.html").render(individuals=individuals)
        page = page.replace('<div id="namespaces">', section + '<div id="namespaces">', 1)
    home = '<nav class="pg-home"><a href="/">← policygraph home</a></nav>'
    return page.replace("<body>", f"<body>\n{home}", 1)
