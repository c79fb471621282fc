"""The ontology describes itself and every term it defines.

Issue 2 asks for an English label and definition on every class and property, and
for the ontology's IRI, version IRI, version info, licence and creator; the terms the
data uses must all be defined somewhere (in the ontology, or in a reused vocabulary).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import OWL, RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, SKOS

from tests.conftest import REPO

PG = Namespace("https://w3id.org/policygraph/ontology#")
ONTOLOGY = URIRef("https://w3id.org/policygraph/ontology")
TERM_TYPES = (
    OWL.Class,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.AnnotationProperty,
    RDF.Property,
)


@pytest.fixture(scope="module")
def ontology() -> Graph:
    graph = Graph()
    for path in sorted((REPO / "ontology").glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


def defined_terms(graph: Graph) -> list[URIRef]:
    return sorted(
        {s for t in TERM_TYPES for s in graph.subjects(RDF.type, t) if str(s).startswith(str(PG))}
    )


def english(graph: Graph, node: URIRef, predicate: URIRef) -> list[Literal]:
    return [
        o for o in graph.objects(node, predicate) if isinstance(o, Literal) and o.language == "en"
    ]


def test_the_ontology_describes_itself(ontology: Graph) -> None:
    assert (ONTOLOGY, RDF.type, OWL.Ontology) in ontology
    version_iri = ontology.value(ONTOLOGY, OWL.versionIRI)
    version = ontology.value(ONTOLOGY, OWL.versionInfo)
    assert version_iri is not None and version is not None
    assert str(version_iri).endswith(str(version)), "the version IRI names the version"
    assert ontology.value(ONTOLOGY, DCTERMS.license) is not None
    assert ontology.value(ONTOLOGY, DCTERMS.creator) is not None
    assert english(ontology, ONTOLOGY, RDFS.label)


def test_the_ontology_defines_the_agreed_classes(ontology: Graph) -> None:
    for name in ("Policy", "Chapter", "Measure", "Objective", "Theme", "GeneralProvision"):
        assert (PG[name], RDF.type, OWL.Class) in ontology, name


def test_every_term_has_an_english_label_and_definition(ontology: Graph) -> None:
    terms = defined_terms(ontology)
    assert len(terms) > 40
    missing = [
        str(term)
        for term in terms
        if len(english(ontology, term, RDFS.label)) != 1
        or len(english(ontology, term, SKOS.definition)) != 1
    ]
    assert not missing, f"terms without exactly one English label and definition: {missing}"


def test_classes_align_with_eli_and_schema_org(ontology: Graph) -> None:
    eli = Namespace("http://data.europa.eu/eli/ontology#")
    schema = Namespace("http://schema.org/")
    supers = set(ontology.transitive_objects(PG.Policy, RDFS.subClassOf))
    assert {eli.LegalResource, schema.Legislation} <= supers
    assert eli.LegalResourceSubdivision in set(
        ontology.transitive_objects(PG.Measure, RDFS.subClassOf)
    )


def test_every_pg_term_the_build_uses_is_defined(ontology: Graph, build_dir: Path) -> None:
    data = Graph().parse(build_dir / "policygraph.nt", format="nt")
    used = {p for p in data.predicates() if str(p).startswith(str(PG))}
    used |= {o for o in data.objects(None, RDF.type) if str(o).startswith(str(PG))}
    defined = set(ontology.subjects(RDF.type, None))
    assert used and not (used - defined), sorted(map(str, used - defined))
