"""The named queries: their headers, their answers on the bundled document, two engines.

Expected answers come from reading the source text (``sources/…txt``) or from an
independent computation over the graph with rdflib's Python API — never from the
output of the query under test. Every query also runs through rdflib's own SPARQL
engine (with its parameters bound by a VALUES block, as remote endpoints get them)
and must agree with pyoxigraph.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import RDF, RDFS, SKOS

from policygraph import results
from policygraph.endpoint import inline_values, sparql_term
from policygraph.query import (
    QueryError,
    bind,
    catalogue,
    read_query,
    resolve,
    run,
    where_group_offset,
)
from tests.conftest import BUNDLED, PINNED_EPOCH, REPO

PG = Namespace("https://w3id.org/policygraph/ontology#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
THEME = Namespace("https://w3id.org/policygraph/theme/")
XSD = "http://www.w3.org/2001/XMLSchema#"
POLICY_ID = "2017-launching-quality-improving-action"
MALICIOUS = 'x" } ; DROP ALL ; #'
SOURCE = BUNDLED.read_text(encoding="utf-8")
SOURCE_LINES = SOURCE.splitlines()
# Split words and the dash the parser repairs, read off the source by hand.
REPAIRS = {"Brea k": "Break", "Ma ke": "Make", "–": "-"}

# Every named query with its defaults, plus cases that exercise each parameter.
PARAM_CASES: list[tuple[str, dict[str, str]]] = [
    ("toc", {"policy": POLICY_ID}),
    ("toc", {"policy": "no-such-policy"}),
    ("chapter-items", {"chapter": "I"}),
    ("theme-measures", {"theme": "quality-infrastructure"}),
    ("theme-measures", {"theme": "industry"}),
    ("objectives-by-year", {"year": "2019"}),
    ("issuers", {"policy": POLICY_ID}),
    ("search", {"text": "QUALITY"}),
    ("search", {"text": MALICIOUS}),
    ("source-span", {"number": "III"}),
    ("related-policies", {"policy": POLICY_ID}),
    ("measure", {"item": "4"}),
    ("theme-lookup", {"label": "Brands"}),
    ("cites", {"policy": POLICY_ID}),
    ("similar-measures", {"policy": POLICY_ID, "item": "4"}),
    ("targets-by-year", {"year": "2025"}),
    ("agency-measures", {"agency": "财政部"}),
    # Every query about the parts of a policy narrows to one, or to none.
    *(
        (name, {"policy": policy})
        for name in (
            "chapter-items",
            "theme-measures",
            "objectives",
            "objectives-by-year",
            "search",
            "source-span",
            "measure",
            "targets-by-year",
            "agency-measures",
            "sdg-links",
        )
        for policy in (POLICY_ID, "no-such-policy")
    ),
]
CASES = [(name, {}) for name in sorted(catalogue())] + PARAM_CASES


def case_id(case: tuple[str, dict[str, str]]) -> str:
    name, params = case
    return name + "".join(f"[{k}={v[:12]}]" for k, v in params.items())


# -- helpers shared with the endpoint tests -----------------------------------------

INTEGER_TYPES = {
    XSD + name
    for name in (
        "integer",
        "nonNegativeInteger",
        "positiveInteger",
        "nonPositiveInteger",
        "negativeInteger",
        "long",
        "int",
        "short",
        "byte",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
}


def norm(term: Any) -> tuple[Any, ...] | None:
    """A pyoxigraph or rdflib term in one comparable form.

    pyoxigraph's Store keeps every integer subtype as xsd:integer (``"5"^^xsd:
    nonNegativeInteger`` comes back as ``"5"^^xsd:integer``) and numbers in canonical
    form (``"0.60"^^xsd:decimal`` comes back as ``"0.6"``), so numbers compare by
    value; everything else compares exactly.
    """
    if term is None:
        return None
    if isinstance(term, ox.NamedNode | URIRef):
        return ("iri", str(term.value if isinstance(term, ox.NamedNode) else term))
    if isinstance(term, ox.Literal):
        value, lang, datatype = term.value, term.language, term.datatype.value
    elif isinstance(term, Literal):
        value, lang = str(term), term.language
        datatype = str(term.datatype) if term.datatype else XSD + "string"
    else:
        return ("bnode",)
    if lang:
        return ("lang", value, lang.lower())
    if datatype in INTEGER_TYPES:
        return ("integer", int(value))
    if datatype == XSD + "decimal":
        return ("decimal", Decimal(value).normalize())
    if datatype in (XSD + "double", XSD + "float"):
        return ("double", float(value))
    return ("literal", value, datatype)


def norm_rows(variables: Iterable[str], rows: Iterable[Iterable[Any]]) -> Counter:
    """Rows as a multiset of tuples of normalised terms."""
    del variables
    return Counter(tuple(norm(t) for t in row) for row in rows)


def norm_graph(triples: Iterable[tuple[Any, Any, Any]]) -> Graph:
    """Triples as an rdflib graph in normal form: integers xsd:integer, strings plain."""
    graph = Graph()
    for s, p, o in triples:
        graph.add((_to_rdflib(s), _to_rdflib(p), _to_rdflib(o)))
    return graph


def _to_rdflib(term: Any) -> Any:
    node = norm(term)
    if node is None or node[0] == "bnode":
        return term
    if node[0] == "iri":
        return URIRef(node[1])
    if node[0] == "lang":
        return Literal(node[1], lang=node[2])
    if node[0] in ("integer", "decimal", "double"):
        return Literal(node[1])
    literal, datatype = node[1], node[2]
    return Literal(literal) if datatype == XSD + "string" else Literal(literal, datatype=datatype)


def comparable(result: results.Result) -> Any:
    """An answer in a form two engines' answers can be compared in."""
    if isinstance(result, results.Boolean):
        return result.value
    if isinstance(result, results.Triples):
        return norm_graph((t.subject, t.predicate, t.object) for t in result.triples)
    return (result.variables, norm_rows(result.variables, result.rows))


def same_answer(left: Any, right: Any) -> bool:
    if isinstance(left, Graph):
        return isomorphic(left, right)
    return left == right


def policygraph(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """The command line, as users run it."""
    return subprocess.run(
        [sys.executable, "-m", "policygraph", *args],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


# -- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dump(build_dir: Path) -> Path:
    return build_dir / "policygraph.nq"


@pytest.fixture(scope="module")
def ask(dump: Path):
    """Answer a named query on the session build with pyoxigraph, as records."""

    def answer(name: str, **params: str) -> Any:
        result = run(name, data=[dump], params=params)
        return result.records() if isinstance(result, results.Solutions) else result

    return answer


@pytest.fixture(scope="module")
def dataset(dump: Path) -> Dataset:
    """The same build in rdflib, the default graph being the union of all graphs."""
    data = Dataset(default_union=True)
    data.parse(dump, format="nquads")
    return data


def value(record: dict[str, Any], name: str) -> str | None:
    term = record.get(name)
    return None if term is None else term.value


def items_in_source() -> list[tuple[str, str, str]]:
    """(chapter number, item number, heading) read from the source by pattern."""
    chapter, found = "", []
    for line in SOURCE_LINES:
        if match := re.match(r"^([IVX]+)\. ", line):
            chapter = match[1]
        elif match := re.match(r"^(\d+)\. (.+)$", line):
            heading = match[2]
            for published, repaired in REPAIRS.items():
                heading = heading.replace(published, repaired)
            found.append((chapter, match[1], heading))
    return found


# -- the catalogue ------------------------------------------------------------------


def test_the_catalogue_holds_at_least_twelve_questions_each_stated():
    named = catalogue()
    assert len(named) >= 12
    for name, query in named.items():
        assert query.question and query.question.endswith("?"), name
        text = (REPO / "queries" / f"{name}.rq").read_text(encoding="utf-8")
        assert text.startswith("# question: "), name


def test_every_parameter_is_used_projected_and_has_a_valid_kind():
    for name, query in catalogue().items():
        for param in query.params:
            assert re.search(rf"[?$]{param.name}\b", query.text), (name, param.name)
            if query.form == "SELECT":
                select = query.text.split("WHERE", 1)[0]
                assert f"?{param.name}" in select, (name, param.name)
            if param.default is not None:
                param.term(param.default)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("# param: x\nSELECT ?x WHERE { ?x ?p ?o }", "needs a name and a kind"),
        ("# param: x colour\nSELECT ?x WHERE { ?x ?p ?o }", "unknown parameter kind"),
        ("# param: x integer default=many\nSELECT ?x WHERE { ?x ?p ?o }", "bad default"),
        ("# param: x lang\nSELECT ?x WHERE { ?x ?p ?o }", "needs a language tag"),
        ("# param: y string\nSELECT ?x WHERE { ?x ?p ?o }", "?y is not used"),
        ("# param: x string\n# param: x string\nSELECT ?x WHERE { ?x ?p ?o }", "twice"),
        ("# question: A?\n# question: B?\nASK { ?s ?p ?o }", "one question"),
    ],
)
def test_a_broken_header_is_reported_with_its_line(header, message):
    with pytest.raises(QueryError, match=re.escape(message)) as caught:
        read_query(header, "mine.rq")
    assert str(caught.value).startswith("mine.rq")


def test_a_header_is_only_the_opening_comment_block():
    query = read_query(
        "# question: Which?\n# param: n integer default=3 -- a number\n"
        "SELECT ?n WHERE { ?s ?p ?n }\n# param: later string\n",
        "mine.rq",
    )
    assert query.question == "Which?"
    assert [(p.name, p.kind, p.default, p.description) for p in query.params] == [
        ("n", "integer", "3", "a number")
    ]


def test_the_list_names_every_query_with_its_question():
    listing = policygraph("query", "--list")
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    for name, query in catalogue().items():
        assert any(line.split(None, 1) == [name, query.question] for line in lines), name
    assert "--param theme=standards" in listing.stdout


# -- expected answers on the bundled document ---------------------------------------


def test_toc_lists_six_chapters_and_thirty_items_in_order(ask):
    rows = ask("toc")
    expected = items_in_source()
    assert len(expected) == 30
    assert len(rows) == 30
    got = [(value(r, "chapter"), value(r, "item"), value(r, "itemHeading")) for r in rows]
    assert got == expected
    assert [c for c, *_ in got[:1]] == ["I"] and got[0][2] == "Guiding Concepts"
    chapters = list(dict.fromkeys(value(r, "chapter") for r in rows))
    assert chapters == ["I", "II", "III", "IV", "V", "VI"]
    headings = {value(r, "chapter"): value(r, "chapterHeading") for r in rows}
    assert headings["I"] == "General Requirements"
    assert headings["III"] == "Break the bottleneck of quality improvement"
    assert {value(r, "policy") for r in rows} == {POLICY_ID}


def test_toc_of_one_policy_and_of_an_unknown_one(ask):
    assert len(ask("toc", policy=POLICY_ID)) == 30
    assert ask("toc", policy="no-such-policy") == []


def test_chapter_items_of_chapter_three_and_one(ask):
    rows = ask("chapter-items")  # default: chapter III
    assert [value(r, "item") for r in rows] == [str(n) for n in range(12, 19)]
    assert value(rows[5], "heading") == "Make more efforts to create Chinese brands"
    assert {value(r, "kind") for r in rows} == {str(PG.Measure)}
    first = ask("chapter-items", chapter="I")
    assert [value(r, "heading") for r in first] == [
        "Guiding Concepts",
        "Basic Principles",
        "Main Objectives",
    ]
    assert {value(r, "kind") for r in first} == {str(PG.GeneralProvision)}


def measures_of(graph: Graph, theme: URIRef) -> set[str]:
    """Item numbers of the measures tagged with the theme or a narrower one (rdflib API)."""
    wanted = {theme, *graph.subjects(SKOS.broader, theme)}
    return {
        str(graph.value(m, ELI.number))
        for m in graph.subjects(RDF.type, PG.Measure)
        if wanted & set(graph.objects(m, PG.theme))
    }


def test_measures_of_the_standards_theme_include_item_13(ask, dataset):
    rows = ask("theme-measures")  # default: standards
    assert ("13", "Accelerate the standard upgrading") in {
        (value(r, "item"), value(r, "heading")) for r in rows
    }
    assert {value(r, "item") for r in rows} == measures_of(dataset, THEME.standards)


def test_measures_of_a_broad_theme_include_its_narrower_themes(ask, dataset):
    rows = ask("theme-measures", theme="quality-infrastructure")
    items = {value(r, "item") for r in rows}
    # Items 19 and 20 say "national quality infrastructure"; item 13 is about standards,
    # a narrower theme of quality infrastructure in vocab/themes.ttl.
    assert {"13", "19", "20"} <= items
    assert items == measures_of(dataset, THEME["quality-infrastructure"])
    via = {value(r, "item"): value(r, "taggedWith") for r in rows}
    assert via["13"] == str(THEME.standards)
    assert via["19"] == str(THEME["quality-infrastructure"])


def test_theme_counts_match_a_count_over_the_graph(ask, dataset):
    rows = ask("theme-counts")
    counted = Counter(
        str(dataset.value(theme, SKOS.notation))
        for measure in set(dataset.subjects(RDF.type, PG.Measure))
        for theme in set(dataset.objects(measure, PG.theme))
    )
    assert {value(r, "theme"): int(value(r, "measures")) for r in rows} == dict(counted)
    by_theme = {value(r, "theme"): r for r in rows}
    assert int(value(by_theme["quality-infrastructure"], "measures")) == 2  # items 19, 20
    assert value(by_theme["standards"], "label") == "Standards and standardization"
    counts = [int(value(r, "measures")) for r in rows]
    assert counts == sorted(counts, reverse=True)


def test_objectives_are_the_three_sentences_of_item_3_all_for_2020(ask):
    rows = ask("objectives")
    body = SOURCE_LINES[12]  # line 13, the body of "3. Main Objectives"
    sentences = [s if s.endswith(".") else s + "." for s in body.split(". ")]
    assert len(sentences) == 3
    assert [value(r, "statement") for r in rows] == sentences
    assert {value(r, "item") for r in rows} == {"3"}
    assert [r["year"] for r in rows] == [
        ox.Literal("2020", datatype=ox.NamedNode(XSD + "gYear"))
    ] * 3


def test_objectives_by_year_binds_a_gyear(ask):
    assert len(ask("objectives-by-year")) == 3  # default 2020
    assert ask("objectives-by-year", year="2019") == []


def english_name(vocab: Graph, written: str) -> str:
    """The preferred English label of the organisation a name as written stands for."""
    name = Literal(written, lang="en")
    org = next(vocab.subjects(SKOS.altLabel, name), None) or next(
        vocab.subjects(SKOS.prefLabel, name)
    )
    return next(str(o) for o in vocab.objects(org, SKOS.prefLabel) if o.language == "en")


def test_issuers_are_the_central_committee_and_the_state_council(ask):
    rows = ask("issuers")
    assert len(rows) == 2
    assert {value(r, "date") for r in rows} == {"2017-09-05"}
    # The title names "CPC Central Committee and State Council"; their preferred
    # English names are read from vocab/organizations.ttl with rdflib.
    vocab = Graph().parse(REPO / "vocab" / "organizations.ttl")
    expected = {english_name(vocab, "CPC Central Committee"), english_name(vocab, "State Council")}
    assert {value(r, "issuer") for r in rows} == expected
    assert "Central Committee of the Communist Party of China" in expected


def test_search_finds_words_in_repaired_text_ignoring_case(ask):
    rows = ask("search")  # default: "brand"
    assert [value(r, "label") for r in rows] == ["17. Make more efforts to create Chinese brands"]
    broken = ask("search", text="BREAK")
    assert [value(r, "kind") for r in broken] == [str(PG.Chapter)]
    assert value(broken[0], "label") == "III. Break the bottleneck of quality improvement"


def test_search_counts_every_part_that_mentions_quality(ask, dataset):
    rows = ask("search", text="Quality")
    properties = (RDFS.label, PG.heading, PG.text, PG.statement)
    parts = {
        part
        for prop in properties
        for part, text in dataset.subject_objects(prop)
        if "quality" in str(text).lower() and (part, PG.inPolicy, None) in dataset
    }
    assert len(rows) == len(parts) > 20


def test_a_malicious_search_value_is_only_ever_a_string(ask):
    assert ask("search", text=MALICIOUS) == []
    query = resolve("search")
    sent = inline_values(query.text, bind(query, {"text": MALICIOUS}))
    # rdflib's parser (independent of ours) reads one SELECT with one VALUES row.
    from rdflib.plugins.sparql import prepareQuery

    prepared = prepareQuery(sent)
    assert prepared.algebra.name == "SelectQuery"
    values = [n for n in _walk(prepared.algebra) if getattr(n, "name", "") == "values"]
    assert len(values) == 1
    assert list(values[0]["res"][0].values()) == [Literal(MALICIOUS)]


def _walk(node: Any) -> Iterable[Any]:
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    for child in children:
        if isinstance(child, dict | list):
            yield from _walk(child)


def test_source_span_of_item_3_points_at_its_text(ask):
    rows = ask("source-span")  # default: number 3
    kinds = Counter(value(r, "kind").rsplit("#", 1)[1] for r in rows)
    assert kinds == {"GeneralProvision": 1, "Paragraph": 1, "Objective": 3}
    for row in rows:
        start, end = int(value(row, "start")), int(value(row, "end"))
        assert SOURCE[start:end] == value(row, "exact")
        assert int(value(row, "startLine")) == SOURCE.count("\n", 0, start) + 1
        assert int(value(row, "endLine")) == SOURCE.count("\n", 0, end) + 1
        assert value(row, "file") == BUNDLED.name
    heading = next(r for r in rows if value(r, "kind").endswith("GeneralProvision"))
    assert value(heading, "exact") == "3. Main Objectives"
    assert int(value(heading, "startLine")) == 12


def test_source_span_of_chapter_three_covers_its_seven_items(ask):
    rows = ask("source-span", number="III")
    assert len(rows) == 8
    assert value(rows[0], "exact") == "III. Brea k the bottleneck of quality improvement"
    assert int(value(rows[0], "startLine")) == 25


def test_repairs_are_the_two_split_words_and_the_dash(ask):
    rows = ask("repairs")
    assert {(value(r, "original"), value(r, "repaired")) for r in rows} == set(REPAIRS.items())
    for row in rows:
        assert SOURCE[int(value(row, "start")) : int(value(row, "end"))] == value(row, "original")
    rules = {value(r, "original"): value(r, "rule") for r in rows}
    assert rules["–"] == str(PG.DashRule)
    assert rules["Brea k"] == rules["Ma ke"] == str(PG.SplitWordRule)
    assert [value(r, "original") for r in rows] == ["–", "Brea k", "Ma ke"]  # source order


def test_theme_pairs_come_from_item_4(ask, dataset):
    rows = ask("theme-pairs")
    got = {(value(r, "theme1"), value(r, "theme2")): int(value(r, "measures")) for r in rows}
    # Item 4: "Increase the high-quality supply of agricultural products, food and drugs".
    assert got == {("agriculture", "drugs"): 1, ("agriculture", "food"): 1, ("drugs", "food"): 1}
    pairs: Counter = Counter()
    for measure in set(dataset.subjects(RDF.type, PG.Measure)):
        names = sorted(
            {str(dataset.value(t, SKOS.notation)) for t in dataset.objects(measure, PG.theme)}
        )
        pairs.update((a, b) for i, a in enumerate(names) for b in names[i + 1 :])
    assert got == dict(pairs)


def test_related_policies_is_empty_with_one_policy(ask):
    assert ask("related-policies") == []
    assert ask("related-policies", policy=POLICY_ID) == []


def test_measure_13_with_its_context(ask):
    result = ask("measure")  # default: item 13
    graph = norm_graph((t.subject, t.predicate, t.object) for t in result.triples)
    measures = set(graph.subjects(RDF.type, PG.Measure))
    assert len(measures) == 1
    measure = measures.pop()
    assert str(graph.value(measure, PG.heading)) == "Accelerate the standard upgrading"
    chapter = graph.value(measure, ELI.is_part_of)
    assert str(graph.value(chapter, PG.heading)) == "Break the bottleneck of quality improvement"
    policy = graph.value(measure, PG.inPolicy)
    assert str(graph.value(policy, ELI.date_document)) == "2017-09-05"
    assert set(graph.objects(measure, PG.theme)) == {THEME.standards}
    assert Literal("Standards and standardization", lang="en") in set(
        graph.objects(THEME.standards, SKOS.prefLabel)
    )
    span = graph.value(measure, PG.span)
    assert graph.value(span, PG.startLine) == Literal(27)
    exact = str(graph.value(span, URIRef("http://www.w3.org/ns/oa#exact")))
    assert exact == SOURCE_LINES[26] == "13. Accelerate the standard upgrading"


def test_measure_4_carries_its_three_themes(ask):
    result = ask("measure", item="4")
    graph = norm_graph((t.subject, t.predicate, t.object) for t in result.triples)
    measure = next(graph.subjects(RDF.type, PG.Measure))
    assert set(graph.objects(measure, PG.theme)) == {THEME.agriculture, THEME.food, THEME.drugs}


def test_theme_lookup_binds_a_language_literal(ask):
    rows = ask("theme-lookup")  # default: "standard upgrading"@en
    assert [value(r, "theme") for r in rows] == ["standards"]
    assert value(rows[0], "labelKind") == str(SKOS.altLabel)
    brands = ask("theme-lookup", label="Brands")
    assert [(value(r, "theme"), value(r, "labelKind")) for r in brands] == [
        ("brands", str(SKOS.prefLabel))
    ]


def broken_copy(dump: Path, target: Path, drop) -> Path:
    """The dump without the quads ``drop`` picks, to break a data-quality rule."""
    quads = [q for q in ox.parse(path=str(dump), format=ox.RdfFormat.N_QUADS) if not drop(q)]
    ox.serialize(quads, str(target), format=ox.RdfFormat.N_QUADS)
    return target


def test_every_measure_has_a_theme_and_a_broken_graph_says_no(ask, dump, tmp_path):
    assert ask("check-measure-themes").value is True
    item13 = "/chp_3/item_13"
    broken = broken_copy(
        dump,
        tmp_path / "no-theme.nq",
        lambda q: q.subject.value.endswith(item13) and q.predicate.value == str(PG.theme),
    )
    assert run("check-measure-themes", data=[broken]).value is False


def test_every_part_has_a_span_and_a_broken_graph_says_no(ask, dump, tmp_path):
    assert ask("check-spans").value is True
    broken = broken_copy(
        dump,
        tmp_path / "no-span.nq",
        lambda q: q.subject.value.endswith("/chp_2/item_5") and q.predicate.value == str(PG.span),
    )
    assert run("check-spans", data=[broken]).value is False


# -- related policies, with a second document ---------------------------------------

SECOND = """\
Opinions of the State Council on Promoting Standards and Brands

Opinions of the State Council on Promoting Standards and Brands
(March 1, 2019)

To raise the quality of supply, the following opinions are proposed.

I. General Requirements
1. Guiding Concepts
2. Main Objectives
By 2025, the standards system will be improved.

II. Key Tasks
3. Accelerate the standard upgrading of consumer goods
4. Make more efforts to create Chinese brands
5. Offer more fiscal and financial support

(Source: Xinhua)
"""


@pytest.fixture(scope="module")
def two_documents(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled document and a small second one, built together."""
    folder = tmp_path_factory.mktemp("two")
    second = folder / "standards-brands-2019.txt"
    second.write_text(SECOND, encoding="utf-8")
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "policygraph",
            "build",
            "-q",
            "-o",
            str(folder / "build"),
            str(BUNDLED),
            str(second),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": PINNED_EPOCH},
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    return folder / "build"


def test_related_policies_count_shared_themes_both_ways(two_documents: Path):
    rows = run("related-policies", data=[two_documents]).records()
    data = Dataset(default_union=True)
    data.parse(two_documents / "policygraph.nq", format="nquads")
    themes = {}
    for policy in data.subjects(RDF.type, PG.Policy):
        measures = [
            m for m in data.subjects(PG.inPolicy, policy) if (m, RDF.type, PG.Measure) in data
        ]
        themes[str(data.value(policy, ELI.id_local))] = {
            t for m in measures for t in data.objects(m, PG.theme)
        }
    (first, a), (second, b) = sorted(themes.items())
    shared = len(a & b)
    # The second document's measures name standard upgrading, consumer goods, brands
    # and fiscal and financial support: all four are themes of the bundled one too.
    assert shared == 4
    got = {(value(r, "policy"), value(r, "other")): int(value(r, "sharedThemes")) for r in rows}
    assert got == {(first, second): shared, (second, first): shared}
    only = run("related-policies", data=[two_documents], params={"policy": first}).records()
    assert [value(r, "other") for r in only] == [second]


# -- two engines agree --------------------------------------------------------------


def rdflib_answer(dataset: Dataset, name: str, params: dict[str, str]) -> Any:
    """The answer of rdflib's own engine, parameters bound by a VALUES block."""
    query = resolve(name)
    text = inline_values(query.text, bind(query, params))
    answer = dataset.query(text)
    if answer.type == "ASK":
        return bool(answer.askAnswer)
    if answer.type in ("CONSTRUCT", "DESCRIBE"):
        return norm_graph(answer.graph)
    variables = [str(v) for v in answer.vars]
    rows = [[b.get(v) for v in answer.vars] for b in answer.bindings]
    if "GROUP BY" in query.text.upper():
        # rdflib answers a GROUP BY that matches nothing with one row that binds
        # nothing (RDFLib/rdflib#3382); SPARQL wants no rows.
        rows = [row for row in rows if any(t is not None for t in row)]
    return (variables, norm_rows(variables, rows))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_pyoxigraph_and_rdflib_agree(case, dump, dataset):
    name, params = case
    local = comparable(run(name, data=[dump], params=params))
    other = rdflib_answer(dataset, name, params)
    assert same_answer(local, other)


@pytest.mark.parametrize("name", sorted(catalogue()))
def test_data_held_twice_gives_the_same_answers(name, build_dir):
    """The Turtle dump lands in the default graph, the N-Quads in named graphs: the
    union holds every triple twice, and no answer may change."""
    once = comparable(run(name, data=[build_dir / "policygraph.nq"]))
    twice = run(name, data=[build_dir / "policygraph.nq", build_dir / "policygraph.ttl"])
    assert same_answer(once, comparable(twice))


def test_cases_cover_every_named_query_and_every_parameter():
    covered = {(name, key) for name, params in PARAM_CASES for key in params}
    for name, query in catalogue().items():
        for param in query.params:
            assert (name, param.name) in covered, (name, param.name)


# -- output formats -----------------------------------------------------------------


def test_every_select_format_carries_the_same_rows(dump):
    answers = {
        fmt: policygraph("query", "chapter-items", "--data", str(dump), "--format", fmt)
        for fmt in results.TABLE_FORMATS
    }
    for fmt, done in answers.items():
        assert done.returncode == 0, (fmt, done.stderr)
    headings = [f"{n}" for n in range(12, 19)]
    document = json.loads(answers["json"].stdout)
    assert [b["item"]["value"] for b in document["results"]["bindings"]] == headings
    csv_rows = answers["csv"].stdout.splitlines()
    assert csv_rows[0] == "chapter,item,heading,kind,policy"
    assert len(csv_rows) == 8
    tsv_rows = answers["tsv"].stdout.splitlines()
    assert tsv_rows[0].split("\t")[:2] == ["?chapter", "?item"]
    assert '"Accelerate the standard upgrading"@en' in tsv_rows[2]
    md_rows = answers["md"].stdout.splitlines()
    assert md_rows[0] == "| chapter | item | heading | kind | policy |"
    assert len(md_rows) == 9 and "pg:Measure" in md_rows[2]
    table = answers["table"].stdout.splitlines()
    assert table[0].split() == ["chapter", "item", "heading", "kind", "policy"]
    assert table[-1] == "(7 rows)"


def test_every_graph_format_carries_the_same_triples(dump):
    graphs = []
    for fmt, rdflib_format in (("ttl", "turtle"), ("nt", "nt"), ("jsonld", "json-ld")):
        done = policygraph("query", "measure", "--data", str(dump), "--format", fmt)
        assert done.returncode == 0, (fmt, done.stderr)
        graphs.append(norm_graph(Graph().parse(data=done.stdout, format=rdflib_format)))
    assert len(graphs[0]) > 20
    assert isomorphic(graphs[0], graphs[1]) and isomorphic(graphs[0], graphs[2])


def test_csv_lines_end_in_crlf_as_the_standard_says(dump):
    answer = run("theme-pairs", data=[dump])
    assert results.render(answer, "csv").count("\r\n") == 4


def test_ask_answers_true_or_false_in_every_format(dump):
    json_answer = policygraph("query", "check-spans", "--data", str(dump), "--format", "json")
    assert json.loads(json_answer.stdout) == {"head": {}, "boolean": True}
    table = policygraph("query", "check-spans", "--data", str(dump))
    assert table.stdout == "true\n"


def test_a_query_file_and_a_query_string_run_like_a_name(dump, tmp_path):
    copy = tmp_path / "mine.rq"
    copy.write_text(resolve("objectives").text, encoding="utf-8")
    by_file = policygraph("query", str(copy), "--data", str(dump), "--format", "csv")
    by_name = policygraph("query", "objectives", "--data", str(dump), "--format", "csv")
    assert by_file.returncode == 0 and by_file.stdout == by_name.stdout
    text = (
        "PREFIX pg: <https://w3id.org/policygraph/ontology#>\n"
        "SELECT (COUNT(*) AS ?n) WHERE { ?m a pg:Measure }"
    )
    counted = policygraph("query", text, "--data", str(dump), "--format", "csv")
    assert counted.stdout.splitlines() == ["n", "27"]


def test_the_build_folder_is_the_default_data(build_dir):
    done = policygraph("query", "theme-pairs", "--format", "csv", cwd=build_dir.parent)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 4


def test_turtle_and_ntriples_files_load_too(build_dir):
    for name in ("policygraph.ttl", "policygraph.nt"):
        rows = run("toc", data=[build_dir / name]).records()
        assert len(rows) == 30, name


# -- parameters as terms ------------------------------------------------------------


def test_each_kind_of_parameter_becomes_its_term():
    theme = resolve("theme-measures").params[0]
    assert theme.term("finance") == ox.NamedNode(str(THEME.finance))
    assert theme.term(str(THEME.talent)) == ox.NamedNode(str(THEME.talent))
    item = resolve("measure").params[0]
    assert item.term("013") == ox.Literal("13", datatype=ox.NamedNode(XSD + "integer"))
    year = resolve("objectives-by-year").params[0]
    assert year.term("2020") == ox.Literal("2020", datatype=ox.NamedNode(XSD + "gYear"))
    label = resolve("theme-lookup").params[0]
    assert label.term("brands") == ox.Literal("brands", language="en")
    text = resolve("search").params[0]
    assert text.term(MALICIOUS) == ox.Literal(MALICIOUS)


@pytest.mark.parametrize(
    ("name", "param", "bad"),
    [
        ("theme-measures", "theme", MALICIOUS),
        ("theme-measures", "theme", "a b"),
        ("measure", "item", "thirteen"),
        ("objectives-by-year", "year", "20"),
    ],
)
def test_values_that_are_not_terms_of_their_kind_are_refused(name, param, bad):
    with pytest.raises(QueryError, match=f"--param {param}"):
        bind(resolve(name), {param: bad})


def test_serialised_terms_escape_everything_that_could_end_a_string():
    tricky = 'a"b\\c\nd\re\tf \\u0022 } # DROP ALL'
    text = sparql_term(ox.Literal(tricky))
    parsed = list(ox.Store().query(f"SELECT ?x WHERE {{ BIND({text} AS ?x) }}"))
    assert parsed[0]["x"] == ox.Literal(tricky)
    assert sparql_term(ox.Literal("x", language="en")) == '"x"@en'
    year = ox.Literal("2020", datatype=ox.NamedNode(XSD + "gYear"))
    assert sparql_term(year) == f'"2020"^^<{XSD}gYear>'


def test_values_open_the_top_level_where_group():
    query = resolve("measure")  # a CONSTRUCT: the template comes first
    offset = where_group_offset(query.text)
    assert query.text[:offset].rstrip().endswith("WHERE {")
    sent = inline_values(query.text, bind(query, {}))
    assert sent.count("\n") == query.text.count("\n")  # line numbers do not move
    assert 'VALUES (?item) { ("13"^^<http://www.w3.org/2001/XMLSchema#integer>) }' in sent
    string_query = "SELECT * { ?s ?p ?o } # WHERE {"
    assert where_group_offset(string_query) == string_query.index("{") + 1


POLICY_PARAM_QUERIES = sorted(
    name for name, query in catalogue().items() if any(p.name == "policy" for p in query.params)
)


@pytest.mark.parametrize("name", POLICY_PARAM_QUERIES)
def test_the_policy_parameter_splits_the_corpus_answer_by_policy(name, two_documents: Path):
    """Bound to each policy in turn, a query answers the parts of the unbound answer
    that concern that policy: together all of it, none of it twice, nothing else."""
    whole = comparable(run(name, data=[two_documents]))
    ids = sorted({str(r["policy"].value) for r in run("issuers", data=[two_documents]).records()})
    assert len(ids) == 2
    parts = [comparable(run(name, data=[two_documents], params={"policy": i})) for i in ids]
    nothing = comparable(run(name, data=[two_documents], params={"policy": "no-such-policy"}))
    if isinstance(whole, Graph):
        assert len(nothing) == 0
        together = Graph()
        for part in parts:
            together += part
        assert isomorphic(together, whole)
        return
    variables, rows = whole
    assert nothing == (variables, Counter())
    column = variables.index("policy")
    for policy, (_, part_rows) in zip(ids, parts, strict=True):
        assert {row[column] for row in part_rows} <= {norm(Literal(policy))}
    assert sum((part for _, part in parts), Counter()) == rows
