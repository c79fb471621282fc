"""Responsible agencies as data (issue 5, point 3).

Every responsibility note of both sample documents was read by hand. Names are listed
as written; ``IDS`` maps each name to the organisation of ``vocab/organizations.ttl``
it denotes (looked up by hand in that file). 国发〔2018〕42号 states in item （三）
"列第一位者为牵头单位，下同": the first agency listed leads, in that item and every
item after it. 国办发〔2018〕121号 states no such convention, so none of its measures
has a lead; some of its items carry several notes, one after each group of sentences.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

DATA = Path(__file__).parent / "data" / "zh"
AGRI = DATA / "zh-2018-agricultural-mechanization-guiding-opinions.txt"
SPORTS = DATA / "zh-2018-sports-competition-industry-guiding-opinions.txt"
MEASURE_TARGETS = DATA / "layouts" / "measure-targets.txt"
BASE = "https://w3id.org/policygraph/id/"
ELI = "http://data.europa.eu/eli/ontology#"
PG = "https://w3id.org/policygraph/ontology#"
ORG = URIRef("http://www.w3.org/ns/org#Organization")

IDS = {
    "工业和信息化部": "miit",
    "发展改革委": "ndrc",
    "科技部": "most",
    "农业农村部": "moa",
    "商务部": "mofcom",
    "国资委": "sasac",
    "国际发展合作署": "cidca",
    "市场监管总局": "samr",
    "财政部": "mof",
    "交通运输部": "mot",
    "人民银行": "pboc",
    "银保监会": "cbirc",
    "民航局": "caac",
    "税务总局": "sta",
    "自然资源部": "mnr",
    "教育部": "moe",
    "各省级人民政府": "provincial-governments",
    "体育总局": "gas",
    "民政部": "mca",
    "人力资源社会保障部": "mohrss",
    "北京冬奥组委": "bocog-2022",
    "文化和旅游部": "mct",
    "网信办": "cac",
    "公安部": "mps",
    "住房城乡建设部": "mohurd",
    "应急部": "mem",
    "标准委": "sac",
    "统计局": "nbs",
    "广电总局": "nrta",
    "版权局": "ncac",
    "司法部": "moj",
    "外交部": "mfa",
    "海关总署": "gacc",
    "水利部": "mwr",
    "海洋局": "soa",
    "空管委办公室": "atc-commission-office",
    "证监会": "csrc",
}

# item ordinal: agencies in order of first mention (all notes of the item), lead
AGRI_NOTES = {
    3: ("工业和信息化部 发展改革委 科技部 农业农村部", "工业和信息化部"),
    4: ("工业和信息化部 发展改革委 科技部 农业农村部 商务部", "工业和信息化部"),
    5: ("工业和信息化部 发展改革委 农业农村部 商务部 国资委 国际发展合作署", "工业和信息化部"),
    6: ("市场监管总局 工业和信息化部 发展改革委 农业农村部", "市场监管总局"),
    7: ("农业农村部 发展改革委 财政部", "农业农村部"),
    8: ("农业农村部 发展改革委 科技部 工业和信息化部", "农业农村部"),
    9: (
        "农业农村部 科技部 工业和信息化部 财政部 交通运输部 商务部 人民银行 银保监会 民航局",
        "农业农村部",
    ),
    10: ("农业农村部 发展改革委 工业和信息化部 国资委", "农业农村部"),
    11: ("农业农村部 工业和信息化部", "农业农村部"),
    12: ("农业农村部 财政部 人民银行 税务总局 银保监会", "农业农村部"),
    13: ("农业农村部 发展改革委 财政部 自然资源部 交通运输部", "农业农村部"),
    14: ("农业农村部 发展改革委 财政部 自然资源部 市场监管总局", "农业农村部"),
    15: ("农业农村部 发展改革委 财政部 自然资源部 税务总局", "农业农村部"),
    16: ("教育部 工业和信息化部 农业农村部", "教育部"),
    17: ("农业农村部 工业和信息化部", "农业农村部"),
    18: ("农业农村部 工业和信息化部", "农业农村部"),  # （…牵头负责）
    19: ("各省级人民政府", "各省级人民政府"),
    20: ("农业农村部 工业和信息化部", "农业农村部"),
}
SPORTS_NOTES = {
    4: "体育总局 民政部 人力资源社会保障部",
    5: "体育总局 北京冬奥组委",
    6: "体育总局",
    7: "体育总局 北京冬奥组委",
    8: "体育总局 文化和旅游部",
    9: "体育总局 市场监管总局",
    # three notes: 市场监管总局 | 体育总局、教育部 | 体育总局、网信办、科技部、工业和信息化部
    10: "市场监管总局 体育总局 教育部 网信办 科技部 工业和信息化部",
    11: "体育总局 民政部",
    12: "体育总局 公安部 市场监管总局 财政部",
    # three notes: 体育总局、教育部、住房城乡建设部 | 体育总局、公安部、应急部 |
    # 银保监会、人民银行、体育总局
    13: "体育总局 教育部 住房城乡建设部 公安部 应急部 银保监会 人民银行",
    14: "发展改革委 工业和信息化部 体育总局",
    15: "体育总局 公安部 标准委 统计局",
    16: "广电总局 版权局 司法部 体育总局",
    17: "体育总局 外交部 公安部 海关总署 交通运输部",
    # two notes: 公安部、…、空管委办公室 | 体育总局、发展改革委、公安部、市场监管总局
    18: "公安部 工业和信息化部 交通运输部 水利部 海洋局 空管委办公室 "
    "体育总局 发展改革委 市场监管总局",
    19: "体育总局 人民银行 银保监会 证监会 财政部",
}


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Graph, object]:
    from policygraph.pipeline import build

    out = tmp_path_factory.mktemp("agencies") / "build"
    result = build([AGRI, SPORTS], out=out)
    return Graph().parse(out / "policygraph.ttl", format="turtle"), result


def org(name: str) -> URIRef:
    return URIRef(f"{BASE}org/{IDS[name]}")


def items(path: Path) -> dict[int, object]:
    from policygraph.agencies import assign_agencies
    from policygraph.parse import parse_file

    document = parse_file(path)
    assert assign_agencies(document) == []
    return {item.ordinal: item for item in document.items()}


def test_agricultural_agencies_in_order_with_leads() -> None:
    found = items(AGRI)
    for ordinal, item in found.items():
        if ordinal not in AGRI_NOTES:
            assert (item.agencies, item.lead_agency) == ([], None)
            continue
        names, lead = AGRI_NOTES[ordinal]
        assert item.agencies == [(IDS[n], n) for n in names.split()], ordinal
        assert item.lead_agency == IDS[lead], ordinal
    assert sorted(AGRI_NOTES) == list(range(3, 21))


def test_sports_agencies_in_order_without_leads() -> None:
    found = items(SPORTS)
    for ordinal, item in found.items():
        names = SPORTS_NOTES.get(ordinal, "")
        assert item.agencies == [(IDS[n], n) for n in names.split()], ordinal
        assert item.lead_agency is None, ordinal


@pytest.mark.parametrize(
    ("policy_id", "chapters", "notes"),
    [
        (
            "guofa-2018-42",
            [[1, 2], [3, 4, 5, 6], [7, 8], [9, 10, 11], [12, 13], [14, 15], [16, 17], [18, 19, 20]],
            {k: v for k, v in AGRI_NOTES.items()},
        ),
        (
            "guobanfa-2018-121",
            [[1, 2, 3], [4, 5, 6, 7, 8], [9, 10, 11, 12, 13], [14, 15, 16, 17], [18, 19]],
            {k: (v, None) for k, v in SPORTS_NOTES.items()},
        ),
    ],
)
def test_graph_links_measures_to_agencies(
    both: tuple[Graph, object], policy_id: str, chapters: list[list[int]], notes: dict
) -> None:
    graph, _ = both
    responsibility, lead_agency = URIRef(ELI + "responsibility_of"), URIRef(PG + "leadAgency")
    for chapter, ordinals in enumerate(chapters, start=1):
        for ordinal in ordinals:
            item = URIRef(f"{BASE}policy/{policy_id}/chp_{chapter}/item_{ordinal}")
            names, lead = notes.get(ordinal, ("", None))
            assert set(graph.objects(item, responsibility)) == {org(n) for n in names.split()}
            assert list(graph.objects(item, lead_agency)) == ([org(lead)] if lead else [])


def test_an_agency_of_both_documents_is_one_resource(both: tuple[Graph, object]) -> None:
    graph, _ = both
    responsibility = URIRef(ELI + "responsibility_of")
    in_policy = URIRef(PG + "inPolicy")
    english = {
        "市场监管总局": "State Administration for Market Regulation",
        "财政部": "Ministry of Finance",
        "人民银行": "People's Bank of China",
        "银保监会": "China Banking and Insurance Regulatory Commission",
        "发展改革委": "National Development and Reform Commission",
        "工业和信息化部": "Ministry of Industry and Information Technology",
    }
    for name, english_name in english.items():
        node = org(name)
        policies = {
            graph.value(measure, in_policy) for measure in graph.subjects(responsibility, node)
        }
        assert policies == {
            URIRef(f"{BASE}policy/guofa-2018-42"),
            URIRef(f"{BASE}policy/guobanfa-2018-121"),
        }, name
        assert (node, RDF.type, ORG) in graph
        assert [
            label for label in graph.objects(node, SKOS.prefLabel) if label.language == "en"
        ] == [Literal(english_name, lang="en")]
        # No second resource carries the same name.
        named = {
            s for s in graph.subjects(None, Literal(name, lang="zh")) if (s, RDF.type, ORG) in graph
        }
        assert named == {node}, name
    # Every organisation the notes name is in the vocabulary: no warning.
    _, result = both
    assert [w for w in result.warnings if "agency" in w] == []


def test_an_unknown_agency_is_reported_and_gets_its_own_organisation(tmp_path: Path) -> None:
    """The test document names 国家示例事务管理局, which the vocabulary does not know."""
    from policygraph.pipeline import build

    out = tmp_path / "build"
    result = build([MEASURE_TARGETS], out=out)
    assert [w for w in result.warnings if "国家示例事务管理局" in w] == [
        f"{MEASURE_TARGETS.name}: agency '国家示例事务管理局' is not in vocab/organizations.ttl; "
        "it was given an id of its own"
    ]
    graph = Graph().parse(out / "policygraph.ttl", format="turtle")
    (node,) = graph.subjects(RDFS.label, Literal("国家示例事务管理局", lang="zh"))
    assert (node, RDF.type, ORG) in graph
    assert str(node).startswith(f"{BASE}org/")
    known = {f"{BASE}org/{ident}" for ident in IDS.values()}
    assert str(node) not in known
    measure = URIRef(f"{BASE}policy/shizhengfa-2021-7/chp_2/item_3")
    responsibility, lead = URIRef(ELI + "responsibility_of"), URIRef(PG + "leadAgency")
    assert set(graph.objects(measure, responsibility)) == {node, URIRef(f"{BASE}org/mwr")}
    # No convention is stated, so （水利部、国家示例事务管理局负责） names no lead; the next
    # item's （生态环境部、水利部牵头负责） names its first agency as lead.
    assert list(graph.objects(measure, lead)) == []
    next_measure = URIRef(f"{BASE}policy/shizhengfa-2021-7/chp_2/item_4")
    assert list(graph.objects(next_measure, lead)) == [URIRef(f"{BASE}org/mee")]


def test_unknown_agency_warning_in_the_cli_summary(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "policygraph",
            "build",
            str(MEASURE_TARGETS),
            "-o",
            str(tmp_path / "b"),
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert any("国家示例事务管理局" in line for line in warnings)
    assert "warnings: " in done.stdout


def test_convention_without_same_below_covers_one_item(tmp_path: Path) -> None:
    """列第一位者为牵头单位 without 下同 names the lead of its own item only."""
    from policygraph.agencies import assign_agencies
    from policygraph.parse import parse_file

    text = (
        MEASURE_TARGETS.read_text(encoding="utf-8")
        .replace("国家示例事务管理局负责）", "国家示例事务管理局负责。列第一位者为牵头单位）")
        .replace("牵头负责）", "负责）")
    )
    source = tmp_path / "one-item-convention.txt"
    source.write_text(text, encoding="utf-8")
    document = parse_file(source)
    assign_agencies(document)
    leads = {item.ordinal: item.lead_agency for item in document.items()}
    assert leads == {1: None, 2: None, 3: "mwr", 4: None}
