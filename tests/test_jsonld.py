"""The JSON-LD writer that compacts triples directly (policygraph.jsonld).

What it writes must mean the same graph to every reader (rdflib, pyoxigraph, and
pyld when installed), keep literals' lexical forms, follow the JSON-LD 1.1
compaction rules for the repository's context (checked against pyld's compaction
where pyld is installed), and give the same file as the rdflib route it replaces.
"""

from __future__ import annotations

import json
import os
import random
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from policygraph import export
from policygraph.jsonld import (
    RDF_TYPE,
    XSD_STRING,
    JsonLdWriter,
    UnsupportedContext,
    compactor,
    dumps,
    node_objects,
)

REPO = Path(__file__).resolve().parent.parent
ZH = sorted((REPO / "tests" / "data" / "zh").glob("*.txt"))
EX = "http://example.org/"  # a namespace the context has no prefix for
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


# -- helpers ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def context() -> dict[str, Any]:
    return export.load_context()


def expand(context: dict[str, Any], name: str) -> str:
    """A context value (``pg:ordinal`` or a full IRI) as a full IRI."""
    prefix, _, rest = name.partition(":")
    namespace = context.get(prefix)
    return namespace + rest if isinstance(namespace, str) and not rest.startswith("//") else name


def term_with(context: dict[str, Any], kind: str | None) -> tuple[str, str]:
    """A term of the context whose @type coercion is ``kind`` (None: a plain property term).

    Tests pick their terms from the context by shape instead of naming them, so they
    hold for whatever vocabulary the context file defines.
    """
    prefixes = {v for v in context.values() if isinstance(v, str) and v.endswith(("#", "/"))}
    for name, value in sorted(context.items()):
        if kind is None and isinstance(value, str) and value not in prefixes and name.islower():
            return name, expand(context, value)
        if isinstance(value, dict) and value.get("@type") == kind:
            return name, expand(context, value["@id"])
    raise LookupError(kind)


def prefix_named(context: dict[str, Any]) -> tuple[str, str]:
    """A namespace prefix of the context: (name, namespace)."""
    name = sorted(k for k, v in context.items() if isinstance(v, str) and v.endswith("#"))[0]
    return name, context[name]


def ox_triples(graph: Graph) -> list[ox.Triple]:
    return [ox.Triple(export.to_ox(s), export.to_ox(p), export.to_ox(o)) for s, p, o in graph]


def parse_turtle(text: str) -> list[ox.Triple]:
    return [quad.triple for quad in ox.parse(text.encode("utf-8"), format=ox.RdfFormat.TURTLE)]


def rdflib_graph(triples: list[ox.Triple], normalize: bool = False) -> Graph:
    """The triples as an rdflib graph, literals' lexical forms untouched unless ``normalize``.

    rdflib's parsers normalise lexical forms (``"007"`` to ``"7"``), so a graph that
    rdflib read is compared with a normalised one.
    """

    def term(t: Any) -> Any:
        if isinstance(t, ox.NamedNode):
            return URIRef(t.value)
        if isinstance(t, ox.BlankNode):
            return BNode(t.value)
        if t.language:
            return Literal(t.value, lang=t.language)
        if t.datatype.value == XSD_STRING:
            return Literal(t.value)
        return Literal(t.value, datatype=URIRef(t.datatype.value), normalize=normalize)

    graph = Graph()
    for t in triples:
        graph.add((term(t.subject), term(t.predicate), term(t.object)))
    return graph


def write(triples: list[ox.Triple], path: Path, context: dict[str, Any]) -> str:
    with JsonLdWriter(path, context) as out:
        out.write_triples(triples)
    return path.read_text(encoding="utf-8")


def by_id(nodes: list[dict]) -> dict[str, dict]:
    return {node["@id"]: node for node in nodes}


def read_back_exactly(text: str) -> set[ox.Triple]:
    """The triples pyoxigraph reads from JSON-LD text, lexical forms as written."""
    quads = ox.parse(text.encode("utf-8"), format=ox.RdfFormat.JSON_LD)
    return {quad.triple for quad in quads if quad.graph_name == ox.DefaultGraph()}


# -- the builds: every reader reads back the source graph ---------------------------


@pytest.fixture(scope="module")
def zh_graph(tmp_path_factory: pytest.TempPathFactory) -> Graph:
    """The Chinese samples built together, as rdflib read the Turtle dump."""
    from policygraph.pipeline import build

    out = tmp_path_factory.mktemp("zh") / "build"
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = "1800000000"
    try:
        build(ZH, out=out)
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
    return Graph().parse(out / "policygraph.ttl", format="turtle")


@pytest.fixture(params=["bundled", "zh"])
def source(request: pytest.FixtureRequest) -> Graph:
    return request.getfixturevalue("graph" if request.param == "bundled" else "zh_graph")


def test_rdflib_reads_back_the_source_graph(source: Graph, context, tmp_path: Path) -> None:
    text = write(ox_triples(source), tmp_path / "out.jsonld", context)
    assert isomorphic(Graph().parse(data=text, format="json-ld"), source)


def test_pyoxigraph_reads_back_every_triple_exactly(source: Graph, context, tmp_path) -> None:
    triples = ox_triples(source)
    text = write(triples, tmp_path / "out.jsonld", context)
    assert read_back_exactly(text) == set(triples)


def test_pyld_reads_back_the_source_graph(source: Graph, context, tmp_path) -> None:
    from pyld import jsonld as pyld  # a test dependency (pyproject: test extra)

    text = write(ox_triples(source), tmp_path / "out.jsonld", context)
    dataset = pyld.to_rdf(json.loads(text), {})
    assert set(dataset) == {"@default"}
    again = Graph()
    for t in dataset["@default"]:
        again.add(tuple(_pyld_term(t[k]) for k in ("subject", "predicate", "object")))
    assert isomorphic(again, source)


def test_one_node_per_subject_sorted_by_id(graph: Graph, context) -> None:
    nodes = node_objects(ox_triples(graph), context)
    ids = [node["@id"] for node in nodes]
    assert ids == sorted(set(ids))
    assert len(ids) == len(set(graph.subjects()))


def _rdflib_compaction(graph: Graph, context: dict[str, Any]) -> list[dict]:
    """What rdflib's JSON-LD serialiser makes of ``graph``, in the writer's order.

    The route the writer replaces: rdflib compacts, then nodes are sorted by @id and
    every array by the JSON text of its items.
    """

    def ordered(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ordered(v) for k, v in value.items()}
        if isinstance(value, list):
            items = [ordered(v) for v in value]
            return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
        return value

    text = graph.serialize(format="json-ld", context=context, auto_compact=True)
    return sorted((ordered(n) for n in json.loads(text)["@graph"]), key=lambda n: n["@id"])


def test_the_same_nodes_as_the_rdflib_route(source: Graph, context) -> None:
    """The switch from rdflib changes nothing in the builds' JSON-LD."""
    assert node_objects(ox_triples(source), context) == _rdflib_compaction(source, context)


def test_the_order_of_the_triples_does_not_matter(graph: Graph, context) -> None:
    triples = ox_triples(graph)
    shuffled = triples[:]
    random.Random(7).shuffle(shuffled)
    assert node_objects(shuffled, context) == node_objects(sorted(triples, key=str), context)


# -- compaction as JSON-LD 1.1 does it (pyld, when installed) ------------------------

EDGES = """
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix ex: <http://example.org/> .
ex:thing a ex:Class, <{class_term}>, <{class_curie}> ;
  <{int_p}> 3, "4", "5.0"^^xsd:decimal, "06"^^xsd:integer, "seven"@en ;
  <{plain_p}> 5, "007"^^xsd:integer, true, "1"^^xsd:boolean, "1.0E9"^^xsd:double,
      "1.50"^^xsd:decimal, "plain", "typed"^^xsd:string, "Wert"@de, "值"@zh, ex:o, _:b ;
  <{id_p}> ex:o, <{class_term}>, _:b, "a string" ;
  ex:p ex:o, "v" ;
  ex:inEveryNamespace {in_every_namespace} .
_:b a _:c ; <{plain_p}> "blank"@en ; <{id_p}> ex:thing .
"""


@pytest.fixture(scope="module")
def edges(context) -> list[ox.Triple]:
    """A graph of the cases compaction has to tell apart, on terms taken from the context.

    Among them an IRI in every namespace of the context, some of which nest
    (``…/sdg/`` and ``…/sdg/ontology#``): the shortest compact IRI wins.
    """
    class_term = next(
        n for n, v in sorted(context.items()) if isinstance(v, str) and n[0].isupper()
    )
    namespace = prefix_named(context)[1]
    namespaces = {v for v in context.values() if isinstance(v, str) and v.endswith(("#", "/"))}
    return parse_turtle(
        EDGES.format(
            in_every_namespace=", ".join(f"<{ns}x>" for ns in sorted(namespaces)),
            class_term=expand(context, context[class_term]),
            class_curie=namespace + "NoTermForThis",
            int_p=term_with(context, "xsd:integer")[1],
            plain_p=term_with(context, None)[1],
            id_p=term_with(context, "@id")[1],
        )
    )


def _pyld_term(term: dict[str, Any]) -> Any:
    if term["type"] == "IRI":
        return URIRef(term["value"])
    if term["type"] == "blank node":
        return BNode(term["value"][2:])
    if "language" in term:
        return Literal(term["value"], lang=term["language"])
    if term["datatype"] == XSD_STRING:
        return Literal(term["value"])
    return Literal(term["value"], datatype=URIRef(term["datatype"]))


def _pyld_dataset(triples: list[ox.Triple]) -> dict[str, list]:
    def term(t: Any) -> dict[str, str]:
        if isinstance(t, ox.NamedNode):
            return {"type": "IRI", "value": t.value}
        if isinstance(t, ox.BlankNode):
            return {"type": "blank node", "value": "_:" + t.value}
        found = {"type": "literal", "value": t.value, "datatype": t.datatype.value}
        return found | ({"language": t.language} if t.language else {})

    return {
        "@default": [
            {"subject": term(t.subject), "predicate": term(t.predicate), "object": term(t.object)}
            for t in triples
        ]
    }


def _with_native_values(value: Any) -> Any:
    """pyld's compaction (without native types) with canonical booleans and integers as
    JSON values where no coercion applies, as the writer writes them."""
    if isinstance(value, list):
        return [_with_native_values(v) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"@type", "@value"}:
        lexical = value["@value"]
        if value["@type"] == "xsd:boolean" and lexical in ("true", "false"):
            return lexical == "true"
        if value["@type"] == "xsd:integer" and lexical == str(int(lexical)):
            return int(lexical)
    return {k: _with_native_values(v) for k, v in value.items()}


def _pyld_compacted(triples: list[ox.Triple], context: dict[str, Any]) -> list[dict]:
    from pyld import jsonld as pyld  # a test dependency (pyproject: test extra)

    expanded = pyld.from_rdf(_pyld_dataset(triples), {"useNativeTypes": False})
    nodes = pyld.compact(expanded, context, {"graph": True})["@graph"]
    return [_with_native_values(node) for node in nodes]


def _unordered(nodes: list[dict]) -> dict[str, dict]:
    """Nodes by id, array values as sorted JSON texts (order is the writer's own choice)."""

    def canonical(value: Any) -> Any:
        if isinstance(value, list):
            return sorted(json.dumps(v, sort_keys=True) for v in value)
        return value

    return {n["@id"]: {k: canonical(v) for k, v in n.items()} for n in nodes}


def test_the_same_compaction_as_pyld(graph: Graph, context) -> None:
    triples = ox_triples(graph)
    expected = _pyld_compacted(triples, context)
    assert _unordered(node_objects(triples, context)) == _unordered(expected)


def test_the_same_compaction_as_pyld_in_edge_cases(edges, context) -> None:
    expected = _pyld_compacted(edges, context)
    assert _unordered(node_objects(edges, context)) == _unordered(expected)


# -- edge cases, one rule at a time ---------------------------------------------------


@pytest.fixture(scope="module")
def thing(edges, context) -> dict[str, Any]:
    return by_id(node_objects(edges, context))[EX + "thing"]


def test_a_literal_of_another_datatype_than_the_coercion_keeps_its_type(thing, context):
    name, iri = term_with(context, "xsd:integer")
    curie = compactor(context).compact_id(iri)
    assert thing[name] == ["06", "3"]  # integers: bare, lexical form kept
    other = thing[curie]  # the rest cannot use the coerced term
    assert {"@type": "xsd:decimal", "@value": "5.0"} in other
    assert "4" in other and {"@language": "en", "@value": "seven"} in other


def test_language_tagged_strings_keep_their_language(thing, context):
    name, _ = term_with(context, None)
    assert {"@language": "de", "@value": "Wert"} in thing[name]
    assert {"@language": "zh", "@value": "值"} in thing[name]
    assert "plain" in thing[name] and "typed" in thing[name]  # xsd:string is a plain string


def test_numbers_are_native_only_where_the_lexical_form_survives(thing, context):
    values = thing[term_with(context, None)[0]]
    assert 5 in values and True in values
    for kind, lexical in [
        ("xsd:integer", "007"),
        ("xsd:boolean", "1"),
        ("xsd:double", "1.0E9"),
        ("xsd:decimal", "1.50"),
    ]:
        assert {"@type": kind, "@value": lexical} in values


def test_lexical_forms_survive_the_round_trip(edges, context, tmp_path):
    text = write(edges, tmp_path / "edges.jsonld", context)
    without_blanks = {t for t in edges if not isinstance(t.subject, ox.BlankNode)}
    without_blanks = {t for t in without_blanks if not isinstance(t.object, ox.BlankNode)}
    read = {t for t in read_back_exactly(text) if not isinstance(t.subject, ox.BlankNode)}
    assert without_blanks <= read
    assert isomorphic(Graph().parse(data=text, format="json-ld"), rdflib_graph(edges, True))


def test_an_iri_without_a_prefix_stays_whole(thing, context):
    id_name = term_with(context, "@id")[0]
    assert EX + "o" in thing[id_name]  # coerced to @id: a bare string
    assert thing[EX + "p"] == ["v", {"@id": EX + "o"}]  # no term: full key, node object
    assert {"@id": EX + "o"} in thing[term_with(context, None)[0]]


def test_a_literal_under_an_id_term_uses_the_compact_iri(thing, context):
    _, iri = term_with(context, "@id")
    assert thing[compactor(context).compact_id(iri)] == "a string"


def test_types_use_terms_then_compact_iris_then_full_iris(thing, context):
    class_term = next(
        n for n, v in sorted(context.items()) if isinstance(v, str) and n[0].isupper()
    )
    name = prefix_named(context)[0]
    assert sorted(thing["@type"]) == sorted([class_term, f"{name}:NoTermForThis", EX + "Class"])


def test_blank_nodes_are_id_references(edges, context):
    nodes = node_objects(edges, context)
    blanks = [n for n in nodes if n["@id"].startswith("_:")]
    assert len(blanks) == 1
    (blank,) = blanks
    assert blank["@type"].startswith("_:")
    assert blank[term_with(context, "@id")[0]] == EX + "thing"
    assert blank["@id"] in by_id(nodes)[EX + "thing"][term_with(context, "@id")[0]]


def test_a_literal_rdf_type_is_an_ordinary_property(context, tmp_path):
    triples = parse_turtle(f'<{EX}s> <{RDF_TYPE}> "not a class" , <{EX}C> .')
    (node,) = node_objects(triples, context)
    assert node["@type"] == EX + "C"
    assert node[RDF_TYPE] == "not a class"
    text = write(triples, tmp_path / "t.jsonld", context)
    assert read_back_exactly(text) == set(triples)


def test_lists_stay_first_rest_triples(context, tmp_path):
    label = term_with(context, None)[1]
    triples = parse_turtle(f'<{EX}s> <{label}> ( "a" "b" ( "c" ) ) .')
    text = write(triples, tmp_path / "l.jsonld", context)
    nodes = json.loads(text)["@graph"]
    assert sum(RDF + "first" in n for n in nodes) == 4
    assert isomorphic(Graph().parse(data=text, format="json-ld"), rdflib_graph(triples))


def test_strings_that_need_escaping(context, tmp_path):
    label = term_with(context, None)[1]
    text_value = 'quote " backslash \\ newline \n tab \t line sep \u2028 nul \x01 中文'
    triple = ox.Triple(ox.NamedNode(EX + "s"), ox.NamedNode(label), ox.Literal(text_value))
    text = write([triple], tmp_path / "s.jsonld", context)
    assert read_back_exactly(text) == {triple}


def test_unsupported_context_features_are_refused():
    for context in [
        {"items": {"@id": EX + "items", "@container": "@list"}},
        {"type": "@type"},
        {"@base": EX},
        {"x": {"@id": EX + "x", "@context": {}}},
    ]:
        with pytest.raises(UnsupportedContext):
            compactor(context)


def test_a_default_language_and_a_language_term(tmp_path):
    """Context features the repository's context does not use: @language, @vocab, @set."""
    context = {
        "@vocab": EX,
        "@language": "en",
        "ex": EX,
        "german": {"@id": EX + "label", "@language": "de"},
        "nolang": {"@id": EX + "label", "@language": None},
        "tags": {"@id": EX + "tag", "@container": "@set"},
    }
    triples = parse_turtle(
        f'<{EX}s> <{EX}label> "hello"@en, "hallo"@de, "plain", "bonjour"@fr ; <{EX}tag> "t" .'
    )
    (node,) = node_objects(triples, context)
    assert node["label"] == ["hello", {"@language": "fr", "@value": "bonjour"}]
    assert node["german"] == "hallo"
    assert node["nolang"] == "plain"
    assert node["tags"] == [{"@value": "t"}]  # a bare "t" would read as "t"@en
    text = write(triples, tmp_path / "v.jsonld", context)
    assert read_back_exactly(text) == set(triples)
    assert _unordered([node]) == _unordered(_pyld_compacted(triples, context))


# -- the writer -----------------------------------------------------------------------


def test_the_writer_writes_what_json_dumps_would(graph: Graph, context, tmp_path: Path) -> None:
    nodes = node_objects(ox_triples(graph), context)
    with JsonLdWriter(tmp_path / "w.jsonld", context) as out:
        for start in range(0, len(nodes), 7):  # in batches
            out.write(nodes[start : start + 7])
    document = {"@context": context, "@graph": nodes}
    expected = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert (tmp_path / "w.jsonld").read_text(encoding="utf-8") == expected


def test_dumps_is_json_dumps(graph: Graph, context) -> None:
    odd = [{}, [], {"a": []}, None, 1.5, -3, Literal("é"), OrderedDict(b=1, a=("x", False))]
    values = [*node_objects(ox_triples(graph), context), *odd]
    for value in values:
        assert dumps(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def test_an_empty_document_is_valid(context, tmp_path: Path) -> None:
    with JsonLdWriter(tmp_path / "e.jsonld", context):
        pass
    document = json.loads((tmp_path / "e.jsonld").read_text(encoding="utf-8"))
    assert document == {"@context": context, "@graph": []}


def test_named_graphs(graph: Graph, context, tmp_path: Path) -> None:
    triples = ox_triples(graph)
    half = len(triples) // 2
    names = [EX + "g1", EX + "g2", EX + "empty"]
    with JsonLdWriter(tmp_path / "n.jsonld", context) as out:
        with out.graph(names[0]):
            out.write_triples(triples[:half])
        with out.graph(names[1]):
            out.write_triples(triples[half:])
        with out.graph(names[2]):
            pass
    text = (tmp_path / "n.jsonld").read_text(encoding="utf-8")
    document = {
        "@context": context,
        "@graph": [
            {"@id": names[0], "@graph": node_objects(triples[:half], context)},
            {"@id": names[1], "@graph": node_objects(triples[half:], context)},
            {"@id": names[2], "@graph": []},
        ],
    }
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    dataset = Dataset().parse(data=text, format="json-ld")
    for name, part in [(names[0], triples[:half]), (names[1], triples[half:])]:
        assert isomorphic(dataset.graph(URIRef(name)), rdflib_graph(part))
    quads = set(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.JSON_LD))
    assert {q.triple for q in quads} == set(triples)
    assert {q.graph_name.value for q in quads} == set(names[:2])


def test_a_failed_export_is_left_unfinished(context, tmp_path: Path) -> None:
    path = tmp_path / "f.jsonld"
    with pytest.raises(RuntimeError), JsonLdWriter(path, context) as out:
        out.write([{"@id": EX + "s"}])
        raise RuntimeError("export failed")
    with pytest.raises(json.JSONDecodeError):
        json.loads(path.read_text(encoding="utf-8"))
