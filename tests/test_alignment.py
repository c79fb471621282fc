"""ELI and schema.org consumers get the document structure back.

The build writes the triples that the ontology's alignments entail to their own file,
``policygraph-entailed.nt``. A consumer that loads the data and that file, and asks in
ELI or in schema.org terms only, finds the policy, its date, its issuers and its parts.
The same questions over the data and the ontology closed by owlrl (RDFS semantics)
give the same answers, so the targeted closure misses nothing these queries need.
Expected values are the bundled document's, counted by hand from the source: one
policy dated 2017-09-05, issued by the CPC Central Committee and the State Council,
six chapters (I–VI) numbered straight through 30 items.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph

from policygraph.entailment import ENTAILED_FILE
from tests.conftest import REPO

PREFIXES = """
PREFIX eli: <http://data.europa.eu/eli/ontology#>
PREFIX schema: <http://schema.org/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
ELI_QUERY = (
    PREFIXES
    + """
SELECT ?p ?d ?o ?c WHERE {
    ?p a eli:LegalResource ; eli:date_document ?d ; eli:passed_by ?o .
    ?c eli:is_part_of ?p .
}"""
)
SCHEMA_QUERY = (
    PREFIXES
    + """
SELECT ?p ?d ?o ?c WHERE {
    ?p a schema:Legislation ; schema:legislationDate ?d ; schema:legislationPassedBy ?o .
    ?c schema:isPartOf ?p .
}"""
)
ELI_CHAPTERS = (
    PREFIXES
    + """
SELECT ?c ?n WHERE {
    ?p a eli:LegalResource . ?c eli:is_part_of ?p ; a eli:LegalResourceSubdivision ;
       eli:number ?n .
}"""
)
SCHEMA_ITEMS = (
    PREFIXES
    + """
SELECT ?i WHERE {
    ?p a schema:Legislation ; schema:legislationDate ?d .
    ?c schema:isPartOf ?p . ?i schema:isPartOf ?c ; schema:name ?name .
    FILTER EXISTS { ?i <http://data.europa.eu/eli/ontology#number> ?n }
}"""
)
SCHEMA_NAME = (
    PREFIXES
    + """
SELECT ?name WHERE { ?p a schema:Legislation ; schema:legislationDate ?d ; schema:name ?name }"""
)


def _rows(results) -> set[tuple[str, ...]]:
    return {tuple(str(term.value) for term in row) for row in results}


@pytest.fixture(scope="module")
def with_entailed(build_dir: Path) -> ox.Store:
    store = ox.Store()
    store.load(path=str(build_dir / "policygraph.nt"), format=ox.RdfFormat.N_TRIPLES)
    store.load(path=str(build_dir / ENTAILED_FILE), format=ox.RdfFormat.N_TRIPLES)
    return store


@pytest.fixture(scope="module")
def data_only(build_dir: Path) -> ox.Store:
    store = ox.Store()
    store.load(path=str(build_dir / "policygraph.nt"), format=ox.RdfFormat.N_TRIPLES)
    return store


@pytest.fixture(scope="module")
def owlrl_closure(build_dir: Path) -> Graph:
    """The data and the ontology, closed under RDFS semantics by owlrl."""
    import owlrl

    graph = Graph().parse(build_dir / "policygraph.nt", format="nt")
    graph.parse(REPO / "ontology" / "policygraph.ttl", format="turtle")
    owlrl.DeductiveClosure(owlrl.RDFS_Semantics).expand(graph)
    return graph


def _check_structure(rows: set[tuple[str, ...]]) -> None:
    policies = {p for p, _, _, _ in rows}
    assert len(policies) == 1
    assert {d for _, d, _, _ in rows} == {"2017-09-05"}
    issuers = {o for _, _, o, _ in rows}
    assert len(issuers) == 2
    assert len({c for *_, c in rows}) >= 8  # preface, preamble, six chapters, closing note


def test_an_eli_consumer_gets_the_document_back(with_entailed: ox.Store):
    _check_structure(_rows(with_entailed.query(ELI_QUERY)))
    chapters = _rows(with_entailed.query(ELI_CHAPTERS))
    assert sorted(n for _, n in chapters) == sorted(["I", "II", "III", "IV", "V", "VI"])


def test_a_schema_org_consumer_gets_the_document_back(with_entailed: ox.Store):
    _check_structure(_rows(with_entailed.query(SCHEMA_QUERY)))
    assert len(_rows(with_entailed.query(SCHEMA_ITEMS))) == 30
    (name,) = _rows(with_entailed.query(SCHEMA_NAME))
    assert "quality" in name[0].lower()


def test_without_the_entailed_file_neither_query_answers(data_only: ox.Store):
    assert not _rows(data_only.query(ELI_QUERY))
    assert not _rows(data_only.query(SCHEMA_QUERY))


def test_owlrl_gives_the_same_answers(with_entailed: ox.Store, owlrl_closure: Graph):
    for query in (ELI_QUERY, SCHEMA_QUERY, ELI_CHAPTERS, SCHEMA_NAME):
        ours = _rows(with_entailed.query(query))
        theirs = {tuple(str(term) for term in row) for row in owlrl_closure.query(query)}
        assert ours == theirs and ours


def test_every_entailed_triple_is_one_owlrl_draws_too(build_dir: Path, owlrl_closure: Graph):
    entailed = Graph().parse(build_dir / ENTAILED_FILE, format="nt")
    assert len(entailed) > 100
    assert not [t for t in entailed if t not in owlrl_closure]


def test_the_entailed_file_is_sorted_new_and_described(build_dir: Path):
    """Sorted within each piece (a document's own, then the shared block), each line once."""
    lines = (build_dir / ENTAILED_FILE).read_text(encoding="utf-8").splitlines()
    descents = sum(1 for a, b in pairwise(lines) if b < a)
    assert descents <= 1 and len(lines) == len(set(lines))
    data = set((build_dir / "policygraph.nt").read_text(encoding="utf-8").splitlines())
    assert not data & set(lines)
    void = (build_dir / "void.ttl").read_text(encoding="utf-8")
    assert ENTAILED_FILE in void


# -- organisations: identifiers of other datasets, each with its source ----------------

SCHEMA_SAME_AS = "http://schema.org/sameAs"


def test_organisations_carry_only_sourced_identifiers():
    from rdflib import URIRef
    from rdflib.namespace import DCTERMS

    orgs = Graph().parse(
        REPO / "vocab" / "organizations.ttl", format="turtle", publicID="http://org.invalid/"
    )
    identified = set(orgs.subjects(URIRef(SCHEMA_SAME_AS), None))
    assert identified
    for org in identified:
        assert orgs.value(org, DCTERMS.source) is not None, org


def test_the_issuer_carries_its_ror_identifier(with_entailed: ox.Store):
    """The State Council issued the bundled document; ROR lists it as 02fzqav45."""
    query = (
        PREFIXES
        + """
    SELECT ?o ?same WHERE {
        ?p a eli:LegalResource ; eli:passed_by ?o . ?o rdfs:label "State Council"@en ;
           schema:sameAs ?same .
    }"""
    )
    assert {same for _, same in _rows(with_entailed.query(query))} == {"https://ror.org/02fzqav45"}
