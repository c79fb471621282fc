"""The compiled shapes report exactly what pySHACL reports.

``validate_graph`` runs the shapes compiled into SPARQL (``policygraph.shacl_compiled``);
``validate_graph_pyshacl`` is the reference. Every defect that ``test_shapes`` builds is
validated both ways and the two reports must agree result for result (focus node, path,
message, severity, shape, value, place in the source) and on conformance; so must the
bundled build, the Chinese samples as the pipeline validates them (one document graph at
a time), and pyoxigraph triples given directly. Shapes that use a SHACL feature the
compiler does not translate are refused when compiled, never half-checked.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, XSD, Graph, Literal, Namespace
from rdflib.namespace import SH

from policygraph.shacl import (
    ValidationReport,
    shapes_graph,
    validate_graph,
    validate_graph_pyshacl,
)
from policygraph.shacl_compiled import (
    UnsupportedShapeError,
    compile_shapes,
    validate_rdflib,
    validate_triples,
)
from tests.test_shapes import (
    DEFECTS,
    PG,
    Defect,
    _policy,
    _set,
    _similarity_record,
    copy_of,
    the_policy,
)

DATA = Path(__file__).parent / "data"
EX = Namespace("https://example.org/")


def _rows(report: ValidationReport) -> list[tuple]:
    rows = [
        (r.focus, r.path, r.message, r.severity, r.shape, r.value, r.where) for r in report.results
    ]
    return sorted(rows, key=repr)


def assert_same(fast: ValidationReport, reference: ValidationReport) -> None:
    assert _rows(fast) == _rows(reference), (
        f"compiled:\n{fast.text()}\npySHACL:\n{reference.text()}"
    )
    assert fast.conforms == reference.conforms


# --- the defects of test_shapes, and more ---------------------------------------------


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_each_defect_is_reported_as_pyshacl_reports_it(graph: Graph, defect: Defect):
    broken = copy_of(graph)
    defect.breaks(broken)
    fast = validate_graph(broken)
    assert fast.results, "the defect must be reported at all"
    assert_same(fast, validate_graph_pyshacl(broken))


def _score_spelled(g: Graph) -> None:
    record = _similarity_record(g)
    g.set((record, PG.score, Literal("1.50", datatype=XSD.decimal, normalize=False)))


TOGETHER = (
    "part without order", "item without number", "span without end", "repair without original",
    "theme match without label", "source with a bad digest", "measure without theme",
)  # fmt: skip


def _together(g: Graph) -> None:
    by_name = {d.name: d for d in DEFECTS}
    for name in TOGETHER:  # in this order: the last one takes the theme the others find by
        by_name[name].breaks(g)


MORE_DEFECTS = {
    # pyoxigraph keeps "1.50" as "1.5": the report still shows the document's spelling.
    "a score spelled 1.50": _score_spelled,
    "several defects at once": _together,
    # Every part's policy is then no pg:Policy: many results, on many nodes.
    "a policy that is not a pg:Policy": _policy(_set(RDF.type, EX.Unknown)),
}


@pytest.mark.parametrize("name", sorted(MORE_DEFECTS))
def test_more_defects(graph: Graph, name: str):
    broken = copy_of(graph)
    MORE_DEFECTS[name](broken)
    assert_same(validate_graph(broken), validate_graph_pyshacl(broken))


def test_the_spelling_of_a_value_is_the_documents(graph: Graph):
    broken = copy_of(graph)
    _score_spelled(broken)
    values = {r.value for r in validate_graph(broken).results}
    assert '"1.50"^^xsd:decimal' in values


def test_the_bundled_build_agrees(graph: Graph):
    assert_same(validate_graph(graph), validate_graph_pyshacl(graph))


def test_shapes_kept_in_a_build_cache_validate_as_freshly_compiled_ones(
    graph: Graph, tmp_path: Path
):
    """A build keeps the compiled shapes in its cache; read back by another build, they
    must report every defect exactly as shapes compiled now do."""
    from policygraph.buildcache import BuildCache

    made = []

    def compile_now():
        made.append(1)
        return compile_shapes(shapes_graph())

    BuildCache(tmp_path).kept("compiled shapes", compile_now)
    kept = BuildCache(tmp_path).kept("compiled shapes", compile_now)
    assert made == [1], "the second build must read the shapes, not compile them"
    fresh = compile_shapes(shapes_graph())
    broken = copy_of(graph)
    _together(broken)
    found = validate_rdflib(broken, kept)
    assert found.results
    assert_same(found, validate_rdflib(broken, fresh))


# --- documents as the pipeline validates them -----------------------------------------


def _document_graph(source: Path) -> Graph:
    """One document's graph, made by the pipeline's stages (without the rest of a build)."""
    from policygraph.agencies import assign_agencies
    from policygraph.classify import classify
    from policygraph.graph import document_graph
    from policygraph.iris import Iris
    from policygraph.objectives import extract_objectives
    from policygraph.parse import parse_file
    from policygraph.sdg import add_sdg_links
    from policygraph.themes import assign_themes

    document = parse_file(source)
    classify(document)
    extract_objectives(document)
    assign_agencies(document)
    assign_themes(document)
    graph = document_graph(document, Iris(None), dt.datetime(2027, 1, 15, tzinfo=dt.UTC))
    add_sdg_links(graph)
    return graph


SAMPLES = sorted((DATA / "zh").glob("*.txt")) + sorted((DATA / "en").glob("*.txt"))


@pytest.mark.parametrize("source", SAMPLES, ids=lambda p: p.name)
def test_sample_documents_agree(source: Path):
    graph = _document_graph(source)
    fast = validate_graph(graph)
    assert_same(fast, validate_graph_pyshacl(graph))
    # The same document as pyoxigraph triples, as the pipeline may hand it over.
    triples = [ox.Triple(*(_ox(t) for t in triple)) for triple in graph]
    assert_same(validate_triples(triples, dict(graph.namespaces())), fast)


def test_a_broken_sample_document_agrees_as_triples():
    """Results of a document given as triples name values and places as pySHACL does."""
    graph = _document_graph(SAMPLES[0])
    policy = the_policy(graph)
    graph.set((policy, PG.itemNumbering, PG.Unnumbered))
    graph.set((policy, PG.sourceText, EX.nowhere))
    span = next(graph.objects(None, PG.span))
    graph.set((span, PG.startLine, Literal("9", datatype=XSD.positiveInteger)))
    reference = validate_graph_pyshacl(graph)
    triples = [ox.Triple(*(_ox(t) for t in triple)) for triple in graph]
    fast = validate_triples(triples, dict(graph.namespaces()))
    assert len(fast.results) >= 3 and any(r.where for r in fast.results)
    assert_same(fast, reference)


def _ox(term: object) -> object:
    from rdflib import BNode, URIRef

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    assert isinstance(term, Literal)
    if term.language:
        return ox.Literal(str(term), language=term.language)
    datatype = ox.NamedNode(str(term.datatype or XSD.string))
    return ox.Literal(str(term), datatype=datatype)


def test_a_document_may_describe_reference_nodes(graph: Graph):
    """A document that adds to the vocabularies is validated with them in full."""
    broken = copy_of(graph)
    theme = next(broken.objects(None, PG.theme))
    broken.add((theme, RDF.type, EX.Unknown))
    broken.add((theme, PG.heading, Literal("no language")))
    fast = validate_graph(broken)
    assert any(r.focus == str(theme) for r in fast.results)
    assert_same(fast, validate_graph_pyshacl(broken))


# --- pySHACL's own words, where a shape has none ----------------------------------------


def _without_messages() -> Graph:
    shapes = Graph()
    for prefix, namespace in shapes_graph().namespaces():
        shapes.bind(prefix, namespace)
    shapes += shapes_graph()
    shapes.remove((None, SH.message, None))
    return shapes


# One defect per kind of constraint (sh:in is left out: pySHACL lists its members in the
# order of a Python set, which changes from run to run).
DEFAULT_MESSAGE_DEFECTS = [
    "policy without title",  # minCount
    "policy with two titles",  # maxCount
    "date as a plain string",  # datatype
    "issuer that is no organisation",  # class
    "chapter numbered 0",  # minInclusive
    "record with confidence above 1",  # maxInclusive
    "source with a bad digest",  # pattern
    "span that ends before it starts",  # lessThan
    "span whose lines run backwards",  # lessThanOrEquals
    "part-of one way only",  # equals
    "theme outside the scheme",  # node
    "record without goal or target",  # or
    "cited document without title or number",  # or, on a node shape
    "similarity link without its measure",  # nodeKind, minCount
    "duplicate item number",  # SPARQL
]


@pytest.mark.parametrize("name", DEFAULT_MESSAGE_DEFECTS)
def test_default_messages_are_pyshacls(graph: Graph, name: str):
    shapes = _without_messages()
    (defect,) = [d for d in DEFECTS if d.name == name]
    broken = copy_of(graph)
    defect.breaks(broken)
    fast = validate_rdflib(broken, compile_shapes(shapes))
    assert fast.results
    assert_same(fast, validate_graph_pyshacl(broken, shapes))


# --- what is not compiled is refused --------------------------------------------------

_SHAPES_HEAD = """
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <https://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
"""

UNSUPPORTED = {
    "closed shape": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:closed true .",
    "sh:not": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:not [ sh:class ex:D ] .",
    "sequence path": "ex:S a sh:PropertyShape ; sh:targetClass ex:C ; "
    "sh:path ( ex:p ex:q ) ; sh:minCount 1 .",
    "qualified value shape": "ex:S a sh:PropertyShape ; sh:targetClass ex:C ; sh:path ex:p ; "
    "sh:qualifiedValueShape [ sh:class ex:D ] ; sh:qualifiedMinCount 1 .",
    "target node": "ex:S a sh:NodeShape ; sh:targetNode ex:n ; sh:class ex:C .",
    "implicit class target": "ex:S a sh:NodeShape, rdfs:Class ; sh:class ex:C .",
    "MINUS in a SPARQL constraint": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; sh:sparql [ "
    'sh:select "SELECT $this WHERE { $this ex:p ?x MINUS { ?x ex:q ?y } }" ] .',
    "$this in a group that does not bind it": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; "
    'sh:sparql [ sh:select "SELECT $this WHERE { { ?x ex:p ?y FILTER(?x = $this) } }" ] .',
    "aggregates in a SPARQL constraint": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; "
    'sh:sparql [ sh:select "SELECT $this (COUNT(?x) AS ?n) WHERE { $this ex:p ?x } '
    'GROUP BY $this" ] .',
    "a SPARQL constraint under sh:node": "ex:S a sh:NodeShape ; sh:targetClass ex:C ; "
    "sh:node ex:T . ex:T a sh:NodeShape ; sh:sparql [ "
    'sh:select "SELECT $this WHERE { $this ex:p ?x }" ] .',
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_features_are_refused(name: str):
    shapes = Graph().parse(data=_SHAPES_HEAD + UNSUPPORTED[name], format="turtle")
    with pytest.raises(UnsupportedShapeError):
        compile_shapes(shapes)


def test_the_shapes_compile_with_a_query_for_each_constraint():
    compiled = compile_shapes(shapes_graph())
    constraints = sum(
        len(s.checks["document"]) + len(s.sparql["document"]) for s in compiled.shapes
    )
    with_targets = {
        s
        for p in (SH.targetClass, SH.targetSubjectsOf, SH.target)
        for s in shapes_graph().subjects(p)
    }
    assert {s.node for s in compiled.shapes} == with_targets
    assert constraints > 150
