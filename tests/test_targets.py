"""Quantified targets as data (issue 5, point 2).

The expected targets were read off the objective provisions of the two sample
documents by hand: （二）发展目标 of 国发〔2018〕42号 (lines 10–11) and （三）发展目标
of 国办发〔2018〕121号 (line 14). Each row is (target year, indicator as stated,
comparison, value, unit, the clause that states it). The measures of both documents
state no number at all (checked by eye), so they have no targets. The graph is a
real build, queried with SPARQL.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from rdflib import Graph, URIRef

DATA = Path(__file__).parent / "data" / "zh"
AGRI = DATA / "zh-2018-agricultural-mechanization-guiding-opinions.txt"
SPORTS = DATA / "zh-2018-sports-competition-industry-guiding-opinions.txt"
MEASURE_TARGETS = DATA / "layouts" / "measure-targets.txt"
BASE = "https://w3id.org/policygraph/id/"
HMKW = "hundred-million-kilowatts"
PREFIXES = """
PREFIX pg: <https://w3id.org/policygraph/ontology#>
PREFIX eli: <http://data.europa.eu/eli/ontology#>
PREFIX oa: <http://www.w3.org/ns/oa#>
"""

AGRI_TARGETS = [
    (2020, "全国农机总动力", "exceed", "10", HMKW, "全国农机总动力超过10亿千瓦"),
    (2020, "灌排机械动力", "reach", "1.2", HMKW, "其中灌排机械动力达到1.2亿千瓦"),
    (
        2020,
        "全国农作物耕种收综合机械化率",
        "reach",
        "70",
        "percent",
        "全国农作物耕种收综合机械化率达到70%",
    ),
    (2025, "全国农机总动力", "about", "11", HMKW, "全国农机总动力稳定在11亿千瓦左右"),
    (2025, "灌排机械动力", "reach", "1.3", HMKW, "其中灌排机械动力达到1.3亿千瓦"),
    (
        2025,
        "全国农作物耕种收综合机械化率",
        "reach",
        "75",
        "percent",
        "全国农作物耕种收综合机械化率达到75%",
    ),
    (
        2025,
        "丘陵山区县（市、区）农作物耕种收综合机械化率",
        "reach",
        "55",
        "percent",
        "丘陵山区县（市、区）农作物耕种收综合机械化率达到55%",
    ),
    (2025, "马铃薯种植机械化率", "reach", "45", "percent", "其中马铃薯种植、收获机械化率均达到45%"),
    (2025, "马铃薯收获机械化率", "reach", "45", "percent", "其中马铃薯种植、收获机械化率均达到45%"),
    (2025, "棉花收获机械化率", "reach", "60", "percent", "棉花收获机械化率达到60%"),
    (2025, "花生种植机械化率", "reach", "65", "percent", "花生种植、收获机械化率分别达到65%和55%"),
    (2025, "花生收获机械化率", "reach", "55", "percent", "花生种植、收获机械化率分别达到65%和55%"),
    (2025, "油菜种植机械化率", "reach", "50", "percent", "油菜种植、收获机械化率分别达到50%和65%"),
    (2025, "油菜收获机械化率", "reach", "65", "percent", "油菜种植、收获机械化率分别达到50%和65%"),
    (2025, "甘蔗收获机械化率", "reach", "30", "percent", "甘蔗收获机械化率达到30%"),
    (
        2025,
        "设施农业、畜牧养殖、水产养殖和农产品初加工机械化率",
        "about",
        "50",
        "percent",
        "设施农业、畜牧养殖、水产养殖和农产品初加工机械化率总体达到50%左右",
    ),
]
SPORTS_TARGETS = [
    (
        2025,
        "体育竞赛表演产业总规模",
        "reach",
        "2",
        "trillion-yuan",
        "体育竞赛表演产业总规模达到2万亿元",
    ),
    (
        2025,
        "具有较大知名度的体育精品赛事",
        "reach",
        "100",
        "item",
        "推出100项具有较大知名度的体育精品赛事",
    ),
    (
        2025,
        "具有自主知识产权的体育竞赛表演品牌",
        "reach",
        "100",
        "unit",
        "打造100个具有自主知识产权的体育竞赛表演品牌",
    ),
]
TARGET_QUERY = """
SELECT ?item ?year ?indicator ?comparison ?value ?unit ?exact ?start ?end WHERE {
    ?obj a pg:Objective ; pg:inPolicy ?p ; pg:objectiveOf ?item ; pg:targetYear ?year ;
         pg:indicator ?indicator ; pg:comparison ?comparison ; pg:value ?value ;
         pg:unit ?unit ; pg:span [ oa:exact ?exact ; oa:start ?start ; oa:end ?end ] .
}"""


def _build(out: Path, sources: list[Path]) -> tuple[Graph, object]:
    from policygraph.pipeline import build

    result = build(sources, out=out)
    return Graph().parse(out / "policygraph.ttl", format="turtle"), result


@pytest.fixture(scope="module")
def zh_graph(tmp_path_factory: pytest.TempPathFactory) -> Graph:
    graph, _ = _build(tmp_path_factory.mktemp("targets") / "build", [AGRI, SPORTS])
    return graph


def targets(graph: Graph, policy_id: str) -> list[tuple]:
    """(item, year, indicator, comparison, value, unit, exact, start, end) of each target."""
    policy = URIRef(f"{BASE}policy/{policy_id}")
    found = []
    for row in graph.query(PREFIXES + TARGET_QUERY, initBindings={"p": policy}):
        item, year, indicator, comparison, value, unit, exact, start, end = row
        assert indicator.language == "zh" or indicator.language == "en"
        assert value.datatype == URIRef("http://www.w3.org/2001/XMLSchema#decimal")
        found.append(
            (
                str(item),
                int(str(year)),
                str(indicator),
                str(comparison).rsplit("/", 1)[-1],
                value.toPython(),
                str(unit).rsplit("/", 1)[-1],
                str(exact),
                int(start),
                int(end),
            )
        )
    return found


@pytest.mark.parametrize(
    ("policy_id", "source", "item", "expected"),
    [
        ("guofa-2018-42", AGRI, "chp_1/item_2", AGRI_TARGETS),
        ("guobanfa-2018-121", SPORTS, "chp_1/item_3", SPORTS_TARGETS),
    ],
)
def test_every_target_of_the_samples(
    zh_graph: Graph, policy_id: str, source: Path, item: str, expected: list[tuple]
) -> None:
    found = targets(zh_graph, policy_id)
    as_read = Counter(
        (year, indicator, comparison, Decimal(value), unit, clause)
        for year, indicator, comparison, value, unit, clause in expected
    )
    assert Counter(row[1:7] for row in found) == as_read
    # All in the objective provision, and each span is the clause in the source.
    assert {row[0] for row in found} == {f"{BASE}policy/{policy_id}/{item}"}
    text = source.read_text(encoding="utf-8")
    for *_, exact, start, end in found:
        assert text[start:end] == exact


def test_measures_of_the_samples_have_no_targets(zh_graph: Graph) -> None:
    """No measure of either document states a number, so none has a target."""
    found = zh_graph.query(PREFIXES + "SELECT ?o WHERE { ?m a pg:Measure ; pg:hasObjective ?o }")
    assert list(found) == []
    for source in (AGRI, SPORTS):
        measure_lines = [
            line
            for line in source.read_text(encoding="utf-8").splitlines()
            if line.startswith("（") and not line.startswith(("（一）", "（二）", "（三）"))
        ]
        assert measure_lines and not any(c.isdigit() for line in measure_lines for c in line)


def test_a_measure_states_a_target_with_a_year(tmp_path: Path) -> None:
    """到2022年，…覆盖率达到90%以上 in a measure: 以上 after the value makes it 'exceed'."""
    graph, _ = _build(tmp_path / "build", [MEASURE_TARGETS])
    found = targets(graph, "shizhengfa-2021-7")
    base = f"{BASE}policy/shizhengfa-2021-7"
    text = MEASURE_TARGETS.read_text(encoding="utf-8")
    # Read off the test document: two targets in 主要目标, one in measure （三）.
    assert sorted(row[:7] for row in found) == sorted(
        [
            (
                f"{base}/chp_1/item_2",
                2025,
                "农村自来水普及率",
                "reach",
                Decimal(88),
                "percent",
                "农村自来水普及率达到88%",
            ),
            (
                f"{base}/chp_1/item_2",
                2025,
                "规模化供水工程覆盖农村人口比例",
                "exceed",
                Decimal(55),
                "percent",
                "规模化供水工程覆盖农村人口比例超过55%",
            ),
            (
                f"{base}/chp_2/item_3",
                2022,
                "农村集中供水工程覆盖率",
                "exceed",
                Decimal(90),
                "percent",
                "农村集中供水工程覆盖率达到90%以上",
            ),
        ]
    )
    for *_, exact, start, end in found:
        assert text[start:end] == exact
    measure = graph.query(PREFIXES + "SELECT ?m WHERE { ?m a pg:Measure ; pg:hasObjective ?o }")
    assert [str(m) for (m,) in measure] == [f"{base}/chp_2/item_3"]


ENGLISH = """\
Guiding Opinions of the State Council on Accelerating Agricultural Mechanization
(December 21, 2018)

Agricultural mechanization is an important foundation of modern agriculture. The following opinions are put forward.

I. General Requirements
(1) Guiding thought. We will follow the new development philosophy and promote mechanization.
(2) Main objectives. By 2025, the comprehensive mechanization rate will reach 75%, and the total power of agricultural machinery will stabilize at around 1.1 billion kilowatts. The mechanization rates of peanut planting and harvesting will reach 65% and 55% respectively.

II. Strengthen Support
(3) Improve training for machinery operators. By 2022, the share of trained operators will exceed 90%.

(Source: State Council)
"""  # noqa: E501


def test_english_targets(tmp_path: Path) -> None:
    source = tmp_path / "en-mechanization.txt"
    source.write_text(ENGLISH, encoding="utf-8")
    graph, _ = _build(tmp_path / "build", [source])
    found = targets(graph, "2018-accelerating-agricultural-mechanization")
    base = f"{BASE}policy/2018-accelerating-agricultural-mechanization"
    objectives, measure = f"{base}/chp_1/item_2", f"{base}/chp_2/item_3"
    # Read off the text above.
    assert sorted(row[:6] for row in found) == sorted(
        [
            (objectives, 2025, "comprehensive mechanization rate", "reach", Decimal(75), "percent"),
            (
                objectives,
                2025,
                "total power of agricultural machinery",
                "about",
                Decimal("1.1"),
                "billion-kilowatts",
            ),
            (
                objectives,
                2025,
                "mechanization rates of peanut planting",
                "reach",
                Decimal(65),
                "percent",
            ),
            (
                objectives,
                2025,
                "mechanization rates of peanut harvesting",
                "reach",
                Decimal(55),
                "percent",
            ),
            (measure, 2022, "share of trained operators", "exceed", Decimal(90), "percent"),
        ]
    )
    for *_, exact, start, end in found:
        assert ENGLISH[start:end] == exact
    languages = {
        indicator.language
        for (indicator,) in graph.query(PREFIXES + "SELECT ?i WHERE { ?o pg:indicator ?i }")
    }
    assert languages == {"en"}


def test_traditional_characters_state_the_same_targets(tmp_path: Path) -> None:
    """A traditional-character copy states the same targets, indicators as published."""
    import opencc

    to_traditional = opencc.OpenCC("s2t").convert
    source = tmp_path / "agri-traditional.txt"
    source.write_text(to_traditional(AGRI.read_text(encoding="utf-8")), encoding="utf-8")
    graph, _ = _build(tmp_path / "build", [source])
    found = targets(graph, "guofa-2018-42")
    assert Counter(row[1:7] for row in found) == Counter(
        (year, to_traditional(indicator), comparison, Decimal(value), unit, to_traditional(clause))
        for year, indicator, comparison, value, unit, clause in AGRI_TARGETS
    )


def test_two_targets_in_one_english_clause_keep_their_own_indicators() -> None:
    """The second target's indicator starts after the first target, and "reach" is not "each"."""
    from policygraph.model import Span
    from policygraph.targets import find_targets

    text = (
        "By 2020, the coverage of centralized water supply in rural areas will reach 85 percent "
        "and the tap water penetration rate will reach 83 percent."
    )
    found = find_targets(Span(0, len(text), 1, 1, text), "en")
    assert [(t.indicator, str(t.value)) for t in found] == [
        ("coverage of centralized water supply in rural areas", "85"),
        ("tap water penetration rate", "83"),
    ]
    assert text[found[1].start : found[1].end].startswith("and the tap water")
