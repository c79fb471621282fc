"""The controlled vocabularies the pipeline reads: themes, provision kinds, organisations.

They live as SKOS data files in ``vocab/``; this module loads them once into plain
lookup structures (labels per language) so that the parser and classifiers can match
text against them without touching RDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from policygraph.resources import data_dir

PG = "https://w3id.org/policygraph/ontology#"
SKOS = "http://www.w3.org/2004/02/skos/core#"


@dataclass(frozen=True)
class Concept:
    """A concept with the labels it is recognised by, per language."""

    iri: str
    notation: str
    labels: dict[str, tuple[str, ...]] = field(hash=False)  # preferred label first
    flags: frozenset[str] = frozenset()  # local names of pg: boolean properties that are true
    # other language-tagged pg: values, by property local name and language (e.g. afterLabel)
    extra: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict, hash=False)

    def pref_label(self, language: str = "en") -> str:
        """The preferred label in ``language``, falling back to English, then to the notation."""
        for lang in (language, "en"):
            if self.labels.get(lang):
                return self.labels[lang][0]
        return self.notation


def _load_concepts(path: Path, rdf_type: str, base: str | None = None) -> list[Concept]:
    from rdflib import RDF, Graph, Literal, URIRef
    from rdflib.namespace import SKOS as SK

    graph = Graph().parse(path, format="turtle", publicID=base)
    concepts = []
    for subject in sorted(set(graph.subjects(RDF.type, URIRef(rdf_type))), key=str):
        labels: dict[str, list[str]] = {}
        for prop in (SK.prefLabel, SK.altLabel):
            for label in sorted(graph.objects(subject, prop), key=str):
                if isinstance(label, Literal) and label.language:
                    labels.setdefault(label.language, []).append(str(label))
        extra: dict[str, dict[str, list[str]]] = {}
        for p, o in sorted(graph.predicate_objects(subject)):
            if str(p).startswith(PG) and isinstance(o, Literal) and o.language:
                extra.setdefault(str(p)[len(PG) :], {}).setdefault(o.language, []).append(str(o))
        flags = frozenset(
            str(p)[len(PG) :]
            for p, o in graph.predicate_objects(subject)
            if str(p).startswith(PG) and isinstance(o, Literal) and o.toPython() is True
        )
        notation = graph.value(subject, SK.notation)
        concepts.append(
            Concept(
                iri=str(subject),
                notation=str(notation) if notation else str(subject).rstrip("/").rsplit("/", 1)[-1],
                labels={lang: tuple(values) for lang, values in labels.items()},
                flags=flags,
                extra={k: {lang: tuple(v) for lang, v in d.items()} for k, d in extra.items()},
            )
        )
    return concepts


@cache
def themes() -> tuple[Concept, ...]:
    """The theme scheme (``vocab/themes.ttl``)."""
    return tuple(_load_concepts(data_dir("vocab") / "themes.ttl", PG + "Theme"))


@cache
def provision_kinds() -> tuple[Concept, ...]:
    """Kinds of general provision (``vocab/provision-kinds.ttl``)."""
    return tuple(_load_concepts(data_dir("vocab") / "provision-kinds.ttl", PG + "ProvisionKind"))


def load_scheme(file_name: str, class_local_name: str) -> tuple[Concept, ...]:
    """The concepts of type ``pg:<class_local_name>`` in ``vocab/<file_name>``."""
    return tuple(_load_concepts(data_dir("vocab") / file_name, PG + class_local_name))


ORG_FILE = "organizations.ttl"
_ORG_PLACEHOLDER_BASE = "http://org.invalid/"


@cache
def organizations() -> tuple[Concept, ...]:
    """Known organisations; their IRIs are relative ids until :func:`org_iri` places them."""
    concepts = _load_concepts(
        data_dir("vocab") / ORG_FILE, "http://www.w3.org/ns/org#Organization", _ORG_PLACEHOLDER_BASE
    )
    return tuple(
        Concept(c.iri[len(_ORG_PLACEHOLDER_BASE) :], c.iri[len(_ORG_PLACEHOLDER_BASE) :], c.labels)
        for c in concepts
    )


@cache
def organization_identifiers() -> dict[str, tuple[str, ...]]:
    """Identifiers other datasets give known organisations (schema:sameAs), by relative id.

    Only those ``vocab/organizations.ttl`` states, each with its source named there.
    """
    from rdflib import Graph, URIRef

    graph = Graph().parse(
        data_dir("vocab") / ORG_FILE, format="turtle", publicID=_ORG_PLACEHOLDER_BASE
    )
    same_as = URIRef("http://schema.org/sameAs")
    found: dict[str, list[str]] = {}
    for org, other in sorted(graph.subject_objects(same_as)):
        found.setdefault(str(org)[len(_ORG_PLACEHOLDER_BASE) :], []).append(str(other))
    return {org: tuple(iris) for org, iris in found.items()}


def vocab_graph_files() -> list[Path]:
    """The vocabulary files that are published with the data (organisations are resolved apart)."""
    names = ("themes.ttl", "provision-kinds.ttl", "units.ttl", "comparisons.ttl", "sdg.ttl")
    return [data_dir("vocab") / name for name in names]
