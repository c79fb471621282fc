"""Documents linked to each other: citations, cited-but-missing documents, similar measures.

The corpus in ``tests/data/links/`` was written for these tests; the expected
citations below were read off its text by hand:

- ``shizhengfa-2021-3`` (示政发〔2021〕3号) names 《示范省农机装备产业发展规划》
  （示政办发〔2020〕7号） in its preamble — a policy of the corpus, by title and
  number — and 国办发〔2017〕5号, not in the corpus, in item 五.
- ``shizhengbanfa-2020-7`` (示政办发〔2020〕7号) names 《国务院关于加快推进农业机械化和农机
  装备产业转型升级的指导意见》（国发〔2018〕42号） in its preamble and the same title without
  its number in item 六, and 《示范省乡村振兴促进条例》 (no number) in its preamble, neither
  in the corpus; item 四 names its own title, which is no citation.
- ``2022-rural-water-supply-projects`` quotes "Guiding Opinions of the Demonstration
  Province on Water Conservancy Infrastructure" (the fourth document) and "National Rural
  Water Supply Standards Programme" (not in the corpus) in its preamble.
- ``2021-water-conservancy-infrastructure`` cites nothing.

Similarity scores are checked against a computation written here from the formula in
the ontology's definition of pg:ThemeAndTextSimilarity, not against the module's code.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import subprocess
import sys
import unicodedata
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import RDF, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDFS, SKOS

from policygraph import results
from policygraph.iris import Iris
from policygraph.links import (
    Mention,
    cited_iri,
    link_features,
    link_from_features,
    link_statements,
    mentions,
)
from policygraph.query import run
from policygraph.similarity import THRESHOLD, TOP_K
from tests.conftest import PINNED_EPOCH, REPO

PG = Namespace("https://w3id.org/policygraph/ontology#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
BASE = "https://w3id.org/policygraph/id/"
CORPUS = REPO / "tests" / "data" / "links"
LINKS_GRAPH = URIRef(f"{BASE}graph/links")

A = "shizhengfa-2021-3"  # 示政发〔2021〕3号
B = "shizhengbanfa-2020-7"  # 示政办发〔2020〕7号
C = "2022-rural-water-supply-projects"
D = "2021-water-conservancy-infrastructure"
GUOFA_42 = URIRef(f"{BASE}cited/guofa-2018-42")
GUOBANFA_5 = URIRef(f"{BASE}cited/guobanfa-2017-5")
GUOFA_42_TITLE = "国务院关于加快推进农业机械化和农机装备产业转型升级的指导意见"
REGULATION_TITLE = "示范省乡村振兴促进条例"
PROGRAMME_TITLE = "National Rural Water Supply Standards Programme"


def policy(doc_id: str) -> URIRef:
    return URIRef(f"{BASE}policy/{doc_id}")


def _pinned_build(paths: list[Path], out: Path):
    from policygraph.pipeline import build

    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = PINNED_EPOCH
    try:
        return build(paths, out=out)
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


@pytest.fixture(scope="module")
def corpus_build(tmp_path_factory: pytest.TempPathFactory):
    return _pinned_build([CORPUS], tmp_path_factory.mktemp("links") / "build")


@pytest.fixture(scope="module")
def data(corpus_build) -> Dataset:
    dataset = Dataset(default_union=True)
    dataset.parse(Path(corpus_build.out) / "policygraph.nq", format="nquads")
    return dataset


@pytest.fixture(scope="module")
def links(data: Dataset) -> Graph:
    graph = Graph()
    for triple in data.graph(LINKS_GRAPH):
        graph.add(triple)
    return graph


def measure(data: Dataset, doc_id: str, number: str) -> URIRef:
    found = [
        m
        for m in data.subjects(ELI.number, Literal(number))
        if (m, RDF.type, PG.Measure) in data and (m, PG.inPolicy, policy(doc_id)) in data
    ]
    assert len(found) == 1, (doc_id, number, found)
    return found[0]


def preamble_paragraph(data: Dataset, doc_id: str) -> URIRef:
    (preamble,) = [
        p for p in data.subjects(RDF.type, PG.Preamble) if (p, PG.inPolicy, policy(doc_id)) in data
    ]
    (paragraph,) = data.subjects(ELI.is_part_of, preamble)
    return paragraph


# -- finding mentions in a text ----------------------------------------------------------


def test_a_number_after_a_title_names_the_same_document():
    text = "为落实《甲乙丙的通知》（国发〔2017〕5号）和国办发〔2018〕12号文件，制定本方案。"
    assert mentions(text, english=False) == [
        Mention("甲乙丙的通知", "国发〔2017〕5号"),
        Mention(None, "国办发〔2018〕12号"),
    ]


def test_a_number_does_not_take_the_words_that_lead_up_to_it():
    assert mentions("根据国发〔2018〕42号要求", english=False) == [
        Mention(None, "国发〔2018〕42号")
    ]
    assert mentions("依据财税[2019]13号执行", english=False) == [Mention(None, "财税[2019]13号")]


def test_english_quotations_are_titles_only_when_titled_like_a_document():
    text = 'Carry out the "Action Plan for Clean Water", the "river chief" system and “Water Law”.'
    assert [m.title for m in mentions(text, english=True)] == [
        "Action Plan for Clean Water",
        "Water Law",
    ]
    # Chinese quotation marks set off phrases, not titles: only 《》 names a work there.
    assert mentions("坚持“五位一体”，落实《中国制造2025》。", english=False) == [
        Mention("中国制造2025", None)
    ]


def test_cited_iris_are_stable_and_derived_from_number_or_title():
    iris = Iris()
    assert cited_iri(iris, Mention("任意标题", "国办发〔2017〕5号")) == GUOBANFA_5
    by_title = cited_iri(iris, Mention(REGULATION_TITLE, None))
    assert by_title == cited_iri(iris, Mention(REGULATION_TITLE, None))
    assert by_title != cited_iri(iris, Mention("示范省乡村振兴促进办法", None))
    assert str(by_title).startswith(f"{BASE}cited/shi-fan-sheng-")


# -- citations in the built corpus ---------------------------------------------------------


def cited_by_policies(links: Graph) -> set[tuple[URIRef, URIRef]]:
    policies = {policy(d) for d in (A, B, C, D)}
    return {(s, o) for s, o in links.subject_objects(ELI.cites) if s in policies}


def test_each_policy_cites_what_its_text_names(links: Graph):
    assert cited_by_policies(links) == {
        (policy(A), policy(B)),
        (policy(A), GUOBANFA_5),
        (policy(B), GUOFA_42),
        (policy(B), cited_iri(Iris(), Mention(REGULATION_TITLE, None))),
        (policy(C), policy(D)),
        (policy(C), cited_iri(Iris(), Mention(PROGRAMME_TITLE, None))),
    }


def test_no_document_cites_itself(links: Graph):
    assert not [(s, o) for s, o in links.subject_objects(ELI.cites) if str(s).startswith(str(o))]
    assert (policy(B), ELI.cites, policy(B)) not in links


def test_the_citing_part_cites_too(data: Dataset, links: Graph):
    assert (preamble_paragraph(data, A), ELI.cites, policy(B)) in links
    assert (measure(data, A, "五"), ELI.cites, GUOBANFA_5) in links
    assert (preamble_paragraph(data, B), ELI.cites, GUOFA_42) in links
    # the title alone, in item 六, is known by the number printed with it in the preamble
    assert (measure(data, B, "六"), ELI.cites, GUOFA_42) in links
    assert (preamble_paragraph(data, C), ELI.cites, policy(D)) in links
    for part, target in links.subject_objects(ELI.cites):
        owner = data.value(part, PG.inPolicy) or part
        assert (owner, ELI.cites, target) in links, part


def test_documents_not_in_the_corpus_carry_what_was_cited(links: Graph):
    missing = set(links.subjects(RDF.type, PG.CitedDocument))
    assert len(missing) == 4
    assert links.value(GUOFA_42, DCTERMS.title) == Literal(GUOFA_42_TITLE, lang="zh")
    assert links.value(GUOFA_42, PG.documentNumber) == Literal("国发〔2018〕42号")
    assert links.value(GUOBANFA_5, PG.documentNumber) == Literal("国办发〔2017〕5号")
    assert links.value(GUOBANFA_5, DCTERMS.title) is None
    titles = {str(links.value(m, DCTERMS.title)) for m in missing}
    assert titles == {GUOFA_42_TITLE, REGULATION_TITLE, PROGRAMME_TITLE, "None"}
    for node in missing:
        assert str(node).startswith(f"{BASE}cited/")
        assert (node, RDF.type, PG.Policy) not in links


def test_policies_in_the_corpus_are_not_made_cited_documents(links: Graph):
    for doc_id in (A, B, C, D):
        assert (policy(doc_id), RDF.type, PG.CitedDocument) not in links


def test_the_build_reports_the_links(corpus_build, links: Graph):
    summary = corpus_build.links
    assert (summary.citations, summary.in_corpus, summary.missing) == (6, 2, 4)
    assert summary.similar == len(set(links.subjects(RDF.type, PG.SimilarityLink))) > 0


# -- similar measures --------------------------------------------------------------------


def _grams(text: str) -> Counter:
    """Character 2- and 3-grams within runs of letters and digits (the ontology's definition)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    runs = "".join(c if c.isalnum() else " " for c in folded).split()
    return Counter(
        run_[i : i + n] for run_ in runs for n in (2, 3) for i in range(len(run_) - n + 1)
    )


_COUNTED: dict[int, dict[URIRef, Counter]] = {}


def _counted(data: Dataset) -> dict[URIRef, Counter]:
    if id(data) not in _COUNTED:
        _COUNTED[id(data)] = {m: _grams(t) for m, t in measure_texts(data).items()}
    return _COUNTED[id(data)]


def measure_texts(data: Dataset) -> dict[URIRef, str]:
    texts = {}
    for m in set(data.subjects(RDF.type, PG.Measure)):
        parts = [str(data.value(m, PG.heading))] + [str(t) for t in data.objects(m, PG.text)]
        paragraphs = sorted(
            (int(data.value(p, PG.order)), str(data.value(p, PG.text)))
            for p in data.subjects(ELI.is_part_of, m)
        )
        texts[m] = " ".join(parts + [t for _, t in paragraphs])
    return texts


def expected_text_score(data: Dataset, a: URIRef, b: URIRef) -> float:
    counted = _counted(data)
    df = Counter(g for grams in counted.values() for g in set(grams))
    n = len(counted)

    def vector(m: URIRef) -> dict[str, float]:
        return {
            g: (1 + math.log(tf)) * (1 + math.log((1 + n) / (1 + df[g])))
            for g, tf in counted[m].items()
        }

    va, vb = vector(a), vector(b)
    dot = sum(w * vb.get(g, 0.0) for g, w in va.items())
    return dot / (
        math.sqrt(sum(w * w for w in va.values())) * math.sqrt(sum(w * w for w in vb.values()))
    )


def test_near_identical_measures_on_the_same_themes_rank_first(data: Dataset):
    for (doc_a, item_a), (doc_b, item_b) in [((A, "三"), (B, "三")), ((C, "2"), (D, "2"))]:
        first, second = measure(data, doc_a, item_a), measure(data, doc_b, item_b)
        for source, target in ((first, second), (second, first)):
            ranked = sorted(
                data.objects(source, PG.similarity),
                key=lambda r: -Decimal(str(data.value(r, PG.score))),
            )
            assert data.value(ranked[0], PG.similarMeasure) == target
            assert (source, PG.similarTo, target) in data


def test_scores_follow_the_documented_formula(data: Dataset, links: Graph):
    records = set(links.subjects(RDF.type, PG.SimilarityLink))
    assert records
    for record in records:
        (source,) = links.subjects(PG.similarity, record)
        target = links.value(record, PG.similarMeasure)
        themes_a, themes_b = (
            set(data.objects(source, PG.theme)),
            set(data.objects(target, PG.theme)),
        )
        jaccard = len(themes_a & themes_b) / len(themes_a | themes_b) if themes_a | themes_b else 0
        text = expected_text_score(data, source, target)
        theme_score = links.value(record, PG.themeScore).toPython()
        text_score = links.value(record, PG.textScore).toPython()
        score = links.value(record, PG.score).toPython()
        assert abs(float(theme_score) - jaccard) <= 0.0005, record
        assert abs(float(text_score) - text) <= 0.0005, record
        assert abs(float(score) - (0.5 * jaccard + 0.5 * text)) <= 0.001, record
        assert score >= THRESHOLD
        assert set(links.objects(record, PG.sharedTheme)) == themes_a & themes_b
        assert links.value(record, PG.method) == PG.ThemeAndTextSimilarity
        assert str(record).startswith(f"{source}/similar/")
        assert data.value(source, PG.inPolicy) != data.value(target, PG.inPolicy)
        assert (source, PG.similarTo, target) in links


def test_each_measure_keeps_at_most_its_top_k(data: Dataset, links: Graph):
    per_measure = Counter(links.subjects(PG.similarity, None))
    assert per_measure and max(per_measure.values()) <= TOP_K
    assert len(set(links.subject_objects(PG.similarTo))) == sum(per_measure.values())


def test_the_method_is_defined_with_the_constants_the_code_uses():
    ontology = Graph().parse(REPO / "ontology" / "policygraph.ttl")
    definition = str(ontology.value(PG.ThemeAndTextSimilarity, SKOS.definition))
    assert f"at least {THRESHOLD}" in definition
    assert {1: "one", 2: "two", 3: "three"}[TOP_K] in definition
    for term in (PG.CitedDocument, PG.SimilarityLink, PG.similarTo, PG.score, PG.sharedTheme):
        assert ontology.value(term, RDFS.label) is not None, term
        assert ontology.value(term, SKOS.definition) is not None, term


# -- links from each document's features -----------------------------------------------------


def document_graphs(data: Dataset) -> list[Graph]:
    """Each document's graph as the build published it (not the links, not the vocabularies)."""
    shared = {LINKS_GRAPH, URIRef(f"{BASE}graph/vocabularies"), URIRef(f"{BASE}graph/shared")}
    found = []
    for named in data.graphs():
        if isinstance(named.identifier, URIRef) and named.identifier not in shared:
            graph = Graph()
            for triple in named:
                graph.add(triple)
            if len(graph):
                found.append(graph)
    return found


def test_features_of_the_published_graphs_give_the_published_links(data: Dataset, links: Graph):
    graphs = document_graphs(data)
    assert len(graphs) == 4
    # what a worker would send back: plain data that survives pickling
    features = [pickle.loads(pickle.dumps(link_features(g, Iris()))) for g in graphs]
    graph, summary = link_from_features(features, Iris())
    assert set(graph) == set(links)
    assert (summary.citations, summary.in_corpus, summary.missing) == (6, 2, 4)
    statements, again = link_statements(reversed(features), Iris())
    listed = list(statements)
    assert len(listed) == len(set(listed)) and set(listed) == set(links)
    assert again == summary


# -- the outputs of the multi-document build -----------------------------------------------


def test_the_links_have_a_named_graph_of_their_own(links: Graph):
    """Only link triples: citations, cited documents, similarity records and their shortcuts."""
    assert len(links) > 0
    for subject, predicate, _ in links:
        assert (
            predicate in (ELI.cites, PG.similarTo, PG.similarity)
            or str(subject).startswith(f"{BASE}cited/")
            or "/similar/" in str(subject)
        ), (subject, predicate)


def test_json_ld_keys_of_the_links_are_terms(corpus_build):
    document = json.loads((Path(corpus_build.out) / "policygraph.jsonld").read_text("utf-8"))
    terms = set(document["@context"])
    keys = {key for node in document["@graph"] for key in node}
    assert {"cites", "similarTo", "score", "sharedTheme"} <= keys
    assert sorted(k for k in keys if not k.startswith("@") and k not in terms) == []


def test_two_builds_write_the_same_links(corpus_build, tmp_path: Path):
    again = _pinned_build([CORPUS], tmp_path / "again")
    first = (Path(corpus_build.out) / "policygraph.nq").read_bytes()
    assert (Path(again.out) / "policygraph.nq").read_bytes() == first


def test_the_command_line_prints_the_link_counts(tmp_path: Path, links: Graph):
    done = subprocess.run(
        [sys.executable, "-m", "policygraph", "build", "-o", str(tmp_path / "b"), str(CORPUS)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "SOURCE_DATE_EPOCH": PINNED_EPOCH},
    )
    assert done.returncode == 0, done.stderr
    similar = len(set(links.subjects(RDF.type, PG.SimilarityLink)))
    expected = (
        "links: 6 citations (2 to documents in the corpus, 4 to documents not in it), "
        f"{similar} similar-measure links"
    )
    assert expected in done.stdout


def test_the_bundled_document_alone_has_no_similarity_links(built, graph: Graph):
    assert built.links is not None and built.links.similar == 0
    assert not list(graph.subjects(RDF.type, PG.SimilarityLink))
    assert not list(graph.triples((None, PG.similarTo, None)))
    # The bundled text names no other document: no 《》, no quotation, no document number.
    source = Path(built.documents[0].path).read_text(encoding="utf-8")
    assert not any(mark in source for mark in ("《", "“", '"', "号"))
    assert built.links.citations == 0
    quads = (Path(built.out) / "policygraph.nq").read_text(encoding="utf-8")
    assert f"<{LINKS_GRAPH}>" not in quads


# -- the queries ---------------------------------------------------------------------------


def records(name: str, build, **params: str) -> list[dict]:
    answer = run(name, data=[Path(build.out) / "policygraph.nq"], params=params)
    assert isinstance(answer, results.Solutions)
    return answer.records()


def test_cites_answers_both_directions(corpus_build):
    rows = records("cites", corpus_build, policy=B)
    found = {(r["direction"].value, r["other"].value, r["inBuild"].value) for r in rows}
    assert found == {
        ("cited by", str(policy(A)), "true"),
        ("cites", str(GUOFA_42), "false"),
        ("cites", str(cited_iri(Iris(), Mention(REGULATION_TITLE, None))), "false"),
    }
    numbers = {r["otherNumber"].value for r in rows if r.get("otherNumber") is not None}
    assert numbers == {"示政发〔2021〕3号", "国发〔2018〕42号"}


def test_similar_measures_lists_the_closest_first(corpus_build, data: Dataset):
    rows = records("similar-measures", corpus_build, policy=A, item="三")
    assert rows and len(rows) <= TOP_K
    assert (rows[0]["otherPolicy"].value, rows[0]["otherItem"].value) == (B, "三")
    scores = [Decimal(r["score"].value) for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert records("similar-measures", corpus_build, policy=D, item="1") == []


# -- the HTML pages ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages(corpus_build):
    from policygraph import html

    store = html.QuadIndex.load(Path(corpus_build.out) / "policygraph.nq")
    return lambda iri: html.resource_page(store, str(iri), BASE)


def test_a_policy_page_shows_what_it_cites_and_what_cites_it(pages):
    page = pages(policy(B))
    cites = page.split('id="citations"', 1)[1].split("</section>", 1)[0]
    assert GUOFA_42_TITLE in cites and "国发〔2018〕42号" in cites
    assert REGULATION_TITLE in cites and "not in this dataset" in cites
    cited_by = cites.split("Cited by", 1)[1]
    assert "示范省人民政府关于加快推进农业机械化发展的意见" in cited_by


def test_a_measure_page_shows_its_similar_measures_with_scores(pages, data: Dataset):
    source, target = measure(data, A, "三"), measure(data, B, "三")
    page = pages(source)
    section = page.split('id="similar"', 1)[1].split("</section>", 1)[0]
    (record,) = [
        r for r in data.objects(source, PG.similarity) if data.value(r, PG.similarMeasure) == target
    ]
    heading = str(data.value(target, PG.heading))
    assert heading in section and str(data.value(record, PG.score)) in section
    assert section.index(heading) < min(
        section.index(str(data.value(data.value(r, PG.similarMeasure), PG.heading)))
        for r in data.objects(source, PG.similarity)
        if r != record
    )
