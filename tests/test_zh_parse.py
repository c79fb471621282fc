"""The Chinese layout, checked on two real State Council documents (issue 5, point 1).

Every expected value below was read off the source texts in ``tests/data/zh/`` by hand
(copies of ``../shared/docs``, unchanged): the titles as wrapped, the document
numbers, the chapter and item headings, where bodies start, which paragraphs stand
under a heading-only item, the closing paragraph, the signatures and notes. The
graph is a real build of both documents, queried with SPARQL.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import XSD

DATA = Path(__file__).parent / "data" / "zh"
AGRI = DATA / "zh-2018-agricultural-mechanization-guiding-opinions.txt"
SPORTS = DATA / "zh-2018-sports-competition-industry-guiding-opinions.txt"
BASE = "https://w3id.org/policygraph/id/"
PREFIXES = """
PREFIX pg: <https://w3id.org/policygraph/ontology#>
PREFIX eli: <http://data.europa.eu/eli/ontology#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""

# Read off the two texts by hand.
EXPECTED = {
    "agri": {
        "path": AGRI,
        "id": "guofa-2018-42",
        "title": "国务院关于加快推进农业机械化和农机装备产业转型升级的指导意见",
        "number": "国发〔2018〕42号",
        "addressees": "各省、自治区、直辖市人民政府，国务院各部委、各直属机构",
        "date": "2018-12-21",
        "issuer": ("state-council", "State Council", "国务院"),
        "chapters": [
            ("一", "总体要求", [1, 2]),
            ("二", "加快推动农机装备产业高质量发展", [3, 4, 5, 6]),
            ("三", "着力推进主要农作物生产全程机械化", [7, 8]),
            ("四", "大力推广先进适用农机装备与机械化技术", [9, 10, 11]),
            ("五", "积极发展农机社会化服务", [12, 13]),
            ("六", "持续改善农机作业基础条件", [14, 15]),
            ("七", "切实加强农机人才培养", [16, 17]),
            ("八", "强化组织领导", [18, 19, 20]),
        ],
        "items": [
            "指导思想",
            "发展目标",
            "完善农机装备创新体系",
            "推进农机装备全产业链协同发展",
            "优化农机装备产业结构布局",
            "加强农机装备质量可靠性建设",
            "加快补齐全程机械化生产短板",
            "协同构建高效机械化生产体系",
            "加强绿色高效新机具新技术示范推广",
            "推动智慧农业示范应用",
            "提高农业机械化技术推广能力",
            "发展农机社会化服务组织",
            "推进农机服务机制创新",
            "提高农机作业便利程度",
            "改善农机作业配套设施条件",
            "健全新型农业工程人才培养体系",
            "注重农机实用型人才培养",
            "健全组织实施机制",
            "强化地方政府责任",
            "促进政府与市场良性互动",
        ],
        "numbers": "一 二 三 四 五 六 七 八 九 十 "
        "十一 十二 十三 十四 十五 十六 十七 十八 十九 二十",
        # the heading-only item, and how its paragraphs begin
        "heading_only": (2, ["到2020年，农机装备产业", "到2025年，农机装备品类"]),
        "closing_paragraphs": [],
        "signature": ("国务院", "2018年12月21日", 37, 38),
        "note": ("（此件公开发布）", 39),
        "measures": 18,
    },
    "sports": {
        "path": SPORTS,
        "id": "guobanfa-2018-121",
        "title": "国务院办公厅关于加快发展体育竞赛表演产业的指导意见",
        "number": "国办发〔2018〕121号",
        "addressees": "各省、自治区、直辖市人民政府，国务院各部委、各直属机构",
        "date": "2018-12-11",
        "issuer": (
            "general-office-of-the-state-council",
            "General Office of the State Council",
            "国务院办公厅",
        ),
        "chapters": [
            ("一", "总体要求", [1, 2, 3]),
            ("二", "丰富赛事活动，完善赛事体系", [4, 5, 6, 7, 8]),
            ("三", "壮大市场主体，优化市场环境", [9, 10, 11, 12, 13]),
            ("四", "优化产业布局，加强平台建设", [14, 15, 16, 17]),
            ("五", "强化协调配合，加强资金保障", [18, 19]),
        ],
        "items": [
            "指导思想",
            "基本原则",
            "发展目标",
            "大力发展职业赛事",
            "支持引进国际重大赛事",
            "引导扶持业余精品赛事",
            "积极培育冰雪体育赛事",
            "促进体育竞赛与文化表演互动融合",
            "支持企业发展",
            "鼓励创新创业",
            "培育中介机构",
            "引导消费理念",
            "改善消费条件",
            "完善产业链条",
            "健全产业标准",
            "打造发展平台",
            "深化国际合作",
            "持续推进“放管服”改革",
            "完善相关投入机制",
        ],
        "numbers": "一 二 三 四 五 六 七 八 九 十 十一 十二 十三 十四 十五 十六 十七 十八 十九",
        "heading_only": (
            2,
            ["坚持问题导向。从", "坚持市场驱动。遵循", "坚持融合发展。坚持", "坚持因地制宜。立足"],
        ),
        "closing_paragraphs": [("各地区、各有关部门要充分认识发展体育竞赛表演产业的重要意义", 35)],
        "signature": ("国务院办公厅", "2018年12月11日", 36, 37),
        "note": ("（此件公开发布）", 38),
        "measures": 16,
    },
}
DOCS = sorted(EXPECTED)


@pytest.fixture(scope="module")
def zh_build(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A build of the two sample documents: its result, and its Turtle dump read back."""
    from policygraph.pipeline import build

    out = tmp_path_factory.mktemp("zh") / "build"
    result = build([AGRI, SPORTS], out=out)
    return result, Graph().parse(out / "policygraph.ttl", format="turtle")


@pytest.fixture(scope="module")
def zh_graph(zh_build) -> Graph:  # type: ignore[no-untyped-def]
    return zh_build[1]


def policy(doc: str) -> URIRef:
    return URIRef(f"{BASE}policy/{EXPECTED[doc]['id']}")


def rows(graph: Graph, query: str, **bindings: object) -> list[tuple]:
    return [tuple(row) for row in graph.query(PREFIXES + query, initBindings=bindings)]


@pytest.mark.parametrize("doc", DOCS)
def test_policy_identity(zh_graph: Graph, doc: str) -> None:
    expected = EXPECTED[doc]
    found = rows(
        zh_graph,
        """SELECT ?title ?number ?addressees ?date ?id ?lang WHERE {
            ?p a pg:Policy ; dcterms:title ?title ; pg:documentNumber ?number ;
               pg:addressees ?addressees ; eli:date_document ?date ; eli:id_local ?id ;
               dcterms:language ?lang }""",
        p=policy(doc),
    )
    assert found == [
        (
            Literal(expected["title"], lang="zh"),
            Literal(expected["number"]),
            Literal(expected["addressees"], lang="zh"),
            Literal(expected["date"], datatype=XSD.date),
            Literal(expected["id"]),
            URIRef("http://id.loc.gov/vocabulary/iso639-1/zh"),
        )
    ]


@pytest.mark.parametrize("doc", DOCS)
def test_issuer_is_an_organisation_with_english_name(zh_graph: Graph, doc: str) -> None:
    ident, english, chinese = EXPECTED[doc]["issuer"]
    found = rows(
        zh_graph,
        """SELECT ?org WHERE { ?p eli:passed_by ?org .
            ?org a <http://www.w3.org/ns/org#Organization> ;
                 skos:prefLabel ?en, ?zh . FILTER(?en = ?english && ?zh = ?chinese) }""",
        p=policy(doc),
        english=Literal(english, lang="en"),
        chinese=Literal(chinese, lang="zh"),
    )
    assert found == [(URIRef(f"{BASE}org/{ident}"),)]
    issuers = rows(zh_graph, "SELECT ?o WHERE { ?p eli:passed_by ?o }", p=policy(doc))
    assert len(issuers) == 1


@pytest.mark.parametrize("doc", DOCS)
def test_chapters_and_items_numbered_straight_through(zh_graph: Graph, doc: str) -> None:
    expected = EXPECTED[doc]
    chapters = rows(
        zh_graph,
        """SELECT ?c ?number ?ordinal ?heading WHERE {
            ?c a pg:Chapter ; eli:is_part_of ?p ; eli:number ?number ; pg:ordinal ?ordinal ;
               pg:heading ?heading } ORDER BY ?ordinal""",
        p=policy(doc),
    )
    assert [(str(n), int(o), str(h)) for _, n, o, h in chapters] == [
        (number, ordinal, heading)
        for ordinal, (number, heading, _) in enumerate(expected["chapters"], start=1)
    ]
    for chapter_number, (_, _, item_ordinals) in enumerate(expected["chapters"], start=1):
        items = rows(
            zh_graph,
            """SELECT ?i ?ordinal WHERE { ?i eli:is_part_of ?c ; pg:ordinal ?ordinal ;
                   a ?type . FILTER(?type IN (pg:Measure, pg:GeneralProvision)) }
               ORDER BY ?ordinal""",
            c=URIRef(f"{policy(doc)}/chp_{chapter_number}"),
        )
        assert [int(o) for _, o in items] == item_ordinals
        # The IRI scheme is the English one: …/policy/<id>/chp_N/item_M.
        assert [str(i) for i, _ in items] == [
            f"{policy(doc)}/chp_{chapter_number}/item_{m}" for m in item_ordinals
        ]
    numbering = rows(zh_graph, "SELECT ?n WHERE { ?p pg:itemNumbering ?n }", p=policy(doc))
    assert numbering == [(URIRef("https://w3id.org/policygraph/ontology#ContinuousNumbering"),)]


@pytest.mark.parametrize("doc", DOCS)
def test_item_numbers_and_headings(zh_graph: Graph, doc: str) -> None:
    expected = EXPECTED[doc]
    items = rows(
        zh_graph,
        """SELECT ?number ?heading WHERE { ?i pg:inPolicy ?p ; pg:ordinal ?o ;
               eli:number ?number ; pg:heading ?heading ;
               a ?type . FILTER(?type IN (pg:Measure, pg:GeneralProvision)) } ORDER BY ?o""",
        p=policy(doc),
    )
    assert [str(n) for n, _ in items] == expected["numbers"].split()
    assert [h for _, h in items] == [Literal(h, lang="zh") for h in expected["items"]]
    measures = rows(zh_graph, "SELECT ?m WHERE { ?m a pg:Measure ; pg:inPolicy ?p }", p=policy(doc))
    assert len(measures) == expected["measures"]


@pytest.mark.parametrize("doc", DOCS)
def test_heading_and_body_on_one_line(zh_graph: Graph, doc: str) -> None:
    """（一）指导思想。以… : the heading stops at 。, the body starts after it."""
    source = EXPECTED[doc]["path"].read_text(encoding="utf-8")
    first_item = next(line for line in source.splitlines() if line.startswith("（一）"))
    assert first_item.startswith("（一）指导思想。以")
    found = rows(
        zh_graph,
        "SELECT ?heading ?text WHERE { ?i pg:heading ?heading ; pg:text ?text }",
        i=URIRef(f"{policy(doc)}/chp_1/item_1"),
    )
    assert found == [
        (Literal("指导思想", lang="zh"), Literal(first_item[len("（一）指导思想。") :], lang="zh"))
    ]


@pytest.mark.parametrize("doc", DOCS)
def test_heading_only_item_holds_the_paragraphs_below(zh_graph: Graph, doc: str) -> None:
    ordinal, starts = EXPECTED[doc]["heading_only"]
    item = URIRef(f"{policy(doc)}/chp_1/item_{ordinal}")
    assert rows(zh_graph, "SELECT ?t WHERE { ?i pg:text ?t }", i=item) == []
    paragraphs = rows(
        zh_graph,
        """SELECT ?para ?text WHERE { ?para a pg:Paragraph ; eli:is_part_of ?i ;
               pg:order ?o ; pg:text ?text } ORDER BY ?o""",
        i=item,
    )
    assert [
        str(t)[: len(start)] for (_, t), start in zip(paragraphs, starts, strict=True)
    ] == starts
    assert [str(p) for p, _ in paragraphs] == [
        f"{item}/para_{n}" for n in range(1, len(starts) + 1)
    ]


@pytest.mark.parametrize("doc", DOCS)
def test_closing_paragraph_signature_and_note(zh_graph: Graph, doc: str) -> None:
    expected = EXPECTED[doc]
    notes = rows(
        zh_graph,
        """SELECT ?note ?type ?text ?first ?last WHERE {
            ?note eli:is_part_of ?p ; a ?type ; pg:text ?text ; pg:order ?o ;
                  pg:span [ pg:startLine ?first ; pg:endLine ?last ] .
            FILTER(?type IN (pg:ClosingNote, pg:Signature)) } ORDER BY ?o""",
        p=policy(doc),
    )
    kinds = [str(t).rsplit("#", 1)[-1] for _, t, _, _, _ in notes]
    closing = expected["closing_paragraphs"]
    assert kinds == ["ClosingNote"] * len(closing) + ["Signature", "ClosingNote"]
    for (_, _, text, first, last), (start, line) in zip(notes, closing, strict=False):
        assert str(text).startswith(start)
        assert (int(first), int(last)) == (line, line)
    signer, date, first, last = expected["signature"]
    _, _, text, sig_first, sig_last = notes[len(closing)]
    assert signer in str(text) and date in str(text)
    assert (int(sig_first), int(sig_last)) == (first, last)
    note_text, note_line = expected["note"]
    assert (str(notes[-1][2]), int(notes[-1][3])) == (note_text, note_line)
    # The last item keeps only its own line: the closing paragraph is not part of it.
    last_item = rows(
        zh_graph,
        """SELECT ?i ?end WHERE { ?i a pg:Measure ; pg:inPolicy ?p ; pg:ordinal ?o ;
               pg:span [ pg:endLine ?end ] } ORDER BY DESC(?o) LIMIT 1""",
        p=policy(doc),
    )
    ((item, end),) = last_item
    assert rows(zh_graph, "SELECT ?x WHERE { ?x a pg:Paragraph ; eli:is_part_of ?i }", i=item) == []
    assert int(end) == first - 1 - len(closing)


@pytest.mark.parametrize("doc", DOCS)
def test_labels_are_tagged_zh(zh_graph: Graph, doc: str) -> None:
    """The policy and every part of it (chapters, items, paragraphs, objectives, notes)."""
    labels = rows(
        zh_graph,
        """SELECT ?s ?label WHERE { { ?s pg:inPolicy ?p } UNION { BIND(?p AS ?s) }
               ?s rdfs:label ?label }""",
        p=policy(doc),
    )
    counted = EXPECTED[doc]["chapters"]
    assert len(labels) > 1 + len(counted) + sum(len(c[2]) for c in counted)
    assert {label.language for _, label in labels} == {"zh"}


@pytest.mark.parametrize("doc", DOCS)
def test_every_non_blank_line_is_covered_once(zh_graph: Graph, doc: str) -> None:
    """The maximal spans of the document, in order, reproduce its non-blank lines."""
    source = EXPECTED[doc]["path"].read_text(encoding="utf-8")
    spans = rows(
        zh_graph,
        """SELECT DISTINCT ?start ?end ?exact WHERE {
            ?span a pg:TextSpan ; pg:sourceText ?src ; oa:start ?start ; oa:end ?end ;
                  oa:exact ?exact . ?p pg:sourceText ?src }""",
        p=policy(doc),
    )
    intervals = {(int(s), int(e)) for s, e, _ in spans}
    for start, end, exact in spans:
        assert source[int(start) : int(end)] == str(exact)
    maximal = sorted(
        (s, e)
        for s, e in intervals
        if not any(o != (s, e) and o[0] <= s and e <= o[1] for o in intervals)
    )
    for (_, end), (start, _) in itertools.pairwise(maximal):
        assert end <= start, "maximal spans overlap"
    covered = [
        line.strip() for s, e in maximal for line in source[s:e].splitlines() if line.strip()
    ]
    assert covered == [line.strip() for line in source.splitlines() if line.strip()]


def test_every_measure_has_a_theme_with_chinese_labels(zh_build) -> None:  # type: ignore[no-untyped-def]
    """Issue 5, point 4: Chinese measures are themed by the labels of the same scheme."""
    result, graph = zh_build
    assert [w for w in result.warnings if "matches no theme" in w] == []
    for doc in DOCS:
        measures = rows(
            graph, "SELECT ?m WHERE { ?m a pg:Measure ; pg:inPolicy ?p }", p=policy(doc)
        )
        assert len(measures) == EXPECTED[doc]["measures"]
        for (measure,) in measures:
            matches = rows(
                graph,
                """SELECT ?theme ?label ?zh WHERE { ?m pg:theme ?theme ; pg:themeMatch ?r .
                       ?r pg:matchedTheme ?theme ; pg:matchedLabel ?label .
                       ?theme skos:prefLabel ?zh . FILTER(LANG(?zh) = "zh") }""",
                m=measure,
            )
            assert matches, measure
            themes = {t for t, _, _ in matches}
            assert themes == {
                t for (t,) in rows(graph, "SELECT ?t WHERE { ?m pg:theme ?t }", m=measure)
            }
            assert {label.language for _, label, _ in matches} == {"zh"}
    # The label matched is one of the theme's own labels.
    labelled = rows(
        graph,
        """SELECT ?theme ?label WHERE { ?r pg:matchedTheme ?theme ; pg:matchedLabel ?label .
               FILTER NOT EXISTS { ?theme skos:prefLabel|skos:altLabel ?label } }""",
    )
    assert labelled == []
