"""Awkward and bad Chinese input (issue 5, point 7): parsed alike, or rejected clearly.

Half-width punctuation and traditional characters must give the structure, dates,
targets and agencies of the published original; numbering that restarts in each
chapter and the 第一章 / 第一条 layout of regulations must parse; mixed numbering, a
missing signature date and skipped numbers must be rejected by the command line with
exit code 2 and one line on stderr naming the file and the line. The test documents
in ``tests/data/zh/bad`` and ``tests/data/zh/layouts`` were written for these tests;
the expected lines and values were read off them by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef

DATA = Path(__file__).parent / "data" / "zh"
AGRI = DATA / "zh-2018-agricultural-mechanization-guiding-opinions.txt"
SPORTS = DATA / "zh-2018-sports-competition-industry-guiding-opinions.txt"
LAYOUTS = DATA / "layouts"
BAD = DATA / "bad"
BASE = "https://w3id.org/policygraph/id/"
PREFIXES = """
PREFIX pg: <https://w3id.org/policygraph/ontology#>
PREFIX eli: <http://data.europa.eu/eli/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
HALF_WIDTH = str.maketrans({"（": "(", "）": ")", "：": ":", "〔": "[", "〕": "]"})


def analysed(path: Path):  # type: ignore[no-untyped-def]
    """A document parsed, classified, with objectives and agencies, as the build does it."""
    from policygraph.agencies import assign_agencies
    from policygraph.classify import classify
    from policygraph.objectives import extract_objectives
    from policygraph.parse import parse_file
    from policygraph.themes import assign_themes

    document = parse_file(path)
    classify(document)
    extract_objectives(document)
    assign_agencies(document)
    assign_themes(document)
    return document


def structure(document, text=lambda value: value):  # type: ignore[no-untyped-def]
    """What must not change with the script or the punctuation: ``text`` maps texts."""
    return {
        "id": document.doc_id,
        "date": document.date,
        "title": text(document.title.value),
        "number": text(document.doc_number),
        "addressees": text(document.addressees),
        "issuers": [ident for ident, _ in document.issuers],
        "type": text(document.doc_type),
        "numbering": document.numbering,
        "preamble": [text(p.text.value) for p in document.preamble],
        "chapters": [
            (c.number, c.ordinal, text(c.heading.value), c.frames_policy) for c in document.chapters
        ],
        "items": [
            (
                i.number,
                i.ordinal,
                text(i.heading.value),
                text(i.body.value) if i.body else None,
                [text(p.text.value) for p in i.paragraphs],
                i.is_general,
                i.provision_kind,
                [ident for ident, _ in i.agencies],
                i.lead_agency,
                [t.theme for t in i.themes],
                [
                    (o.target_year, text(o.indicator), o.comparison, o.value, o.unit)
                    for o in i.objectives
                ],
            )
            for i in document.items()
        ],
        "closing": [(n.kind, text(n.text.value), n.span.start_line) for n in document.closing],
        "lines": document.line_count,
    }


def _normalise(value: str | None) -> str | None:
    return value.translate(HALF_WIDTH) if value is not None else None


@pytest.mark.parametrize("source", [AGRI, SPORTS, LAYOUTS / "measure-targets.txt"])
def test_half_width_punctuation_parses_like_full_width(tmp_path: Path, source: Path) -> None:
    """(一) for （一）, : for ：, 国发[2018]42号 for 国发〔2018〕42号."""
    variant = tmp_path / source.name
    variant.write_text(source.read_text(encoding="utf-8").translate(HALF_WIDTH), encoding="utf-8")
    original = structure(analysed(source), _normalise)
    half = structure(analysed(variant), _normalise)
    assert half == original
    assert original["items"] and original["chapters"]


@pytest.mark.parametrize("source", [AGRI, SPORTS])
def test_traditional_characters_parse_like_simplified(tmp_path: Path, source: Path) -> None:
    """A copy in traditional characters: same structure, dates, targets and agencies."""
    import opencc

    to_traditional = opencc.OpenCC("s2t").convert
    variant = tmp_path / source.name
    variant.write_text(to_traditional(source.read_text(encoding="utf-8")), encoding="utf-8")
    original = structure(analysed(source), lambda v: to_traditional(v) if v else v)
    traditional = analysed(variant)
    assert structure(traditional) == original
    # The text is kept as published, in traditional characters.
    assert traditional.title.value == to_traditional(analysed(source).title.value)
    assert traditional.title.value != analysed(source).title.value


def test_numbering_that_restarts_in_each_chapter(tmp_path: Path) -> None:
    """（一） starts again in every chapter: items keep unique IRIs under their chapter."""
    from policygraph.pipeline import build

    source = LAYOUTS / "per-chapter-numbering.txt"
    build([source], out=tmp_path / "build")
    graph = Graph().parse(tmp_path / "build" / "policygraph.ttl", format="turtle")
    found = [
        tuple(row)
        for row in graph.query(
            PREFIXES
            + """SELECT ?i ?number ?heading WHERE { ?i a pg:Measure ; eli:number ?number ;
                     pg:heading ?heading }"""
        )
    ]
    # Read off the test document: 2, 3 and 1 items in chapters 一, 二, 三.
    base = f"{BASE}policy/shizhengbanfa-2020-15"
    assert sorted((str(i), str(n), str(h)) for i, n, h in found) == sorted(
        [
            (f"{base}/chp_1/item_1", "一", "培育农机合作社"),
            (f"{base}/chp_1/item_2", "二", "发展农机作业公司"),
            (f"{base}/chp_2/item_1", "一", "建设农机库棚"),
            (f"{base}/chp_2/item_2", "二", "推进农田宜机化改造"),
            (f"{base}/chp_2/item_3", "三", "加强农机安全监理"),
            (f"{base}/chp_3/item_1", "一", "落实部门责任"),
        ]
    )
    assert len({i for i, _, _ in found}) == 6
    numbering = list(
        graph.query(PREFIXES + "SELECT ?n WHERE { ?p a pg:Policy ; pg:itemNumbering ?n }")
    )
    assert [tuple(r) for r in numbering] == [
        (URIRef("https://w3id.org/policygraph/ontology#PerChapterNumbering"),)
    ]
    # The signer is not in the vocabulary; it is the issuer all the same.
    issuer = list(graph.query(PREFIXES + "SELECT ?l WHERE { ?p eli:passed_by [ rdfs:label ?l ] }"))
    assert [tuple(r) for r in issuer] == [(Literal("示范市人民政府办公室", lang="zh"),)]


def test_regulation_in_chapters_and_articles() -> None:
    """第一章 chapters holding 第一条 articles; （一） lines inside an article enumerate."""
    from policygraph.parse import parse_file

    document = parse_file(LAYOUTS / "regulation-articles.txt")
    # Read off the test document.
    assert [(c.number, c.heading.value) for c in document.chapters] == [
        ("一", "总则"),
        ("二", "安全使用"),
        ("三", "附则"),
    ]
    assert [[i.ordinal for i in c.items] for c in document.chapters] == [[1, 2], [3, 4], [5]]
    assert [i.number for i in document.items()] == ["一", "二", "三", "四", "五"]
    third = document.items()[2]
    assert third.heading.value == "第三条"
    assert third.body is not None and third.body.value == "农业机械操作人员应当遵守下列规定："
    assert [p.text.value[:3] for p in third.paragraphs] == ["（一）", "（二）", "（三）"]
    assert document.numbering == "continuous"
    # The date and the issuer come from the promulgation note under the title.
    assert document.date is not None and document.date.isoformat() == "2020-05-08"
    assert [name for _, name in document.issuers] == ["示范省人民政府"]
    assert document.title.value == "示范省农业机械安全管理条例"
    assert document.doc_type == "条例"
    assert document.closing == []


def test_regulation_builds_and_validates(tmp_path: Path) -> None:
    from policygraph.pipeline import build

    result = build([LAYOUTS / "regulation-articles.txt"], out=tmp_path / "build")
    assert [(d.chapters, d.items) for d in result.documents] == [(3, 5)]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "policygraph", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=False,
    )


# file, line named, words the message must contain (lines read off the test documents)
REJECTED = [
    ("mixed-numbering.txt", 10, "mixed numbering"),
    ("missing-date.txt", 11, "no date found"),
    ("missing-signature.txt", 12, "no issuing body found"),
    ("skipped-item.txt", 11, "skips from item 3 to 五"),
    ("skipped-chapter.txt", 9, "skips from chapter 一 to 三"),
]


@pytest.mark.parametrize(("name", "line", "words"), REJECTED)
def test_bad_documents_are_rejected_naming_the_line(
    tmp_path: Path, name: str, line: int, words: str
) -> None:
    source = BAD / name
    out = tmp_path / "build"
    done = run_cli("build", "--quiet", str(source), "-o", str(out))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{source.resolve()}:{line}: " in lines[0]
    assert words in lines[0]
    assert "Traceback" not in done.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        # a chapter numbered 第二章 among 一、 chapters
        (("二、加强安全监管", "第二章　加强安全监管"), 9, "mixed numbering"),
        # a section inside a chapter
        (("二、加强安全监管", "二、加强安全监管\n第一节　隐患排查"), 10, "第一节"),
        # an item before any chapter
        (("一、落实安全责任\n", ""), 6, "before any chapter"),
        # a date that cannot be
        (("2020年3月2日", "2020年2月30日"), 13, "impossible date"),
    ],
)
def test_more_bad_documents(tmp_path: Path, edit: tuple[str, str], line: int, words: str) -> None:
    """Variants of a good document (the skipped-item one, repaired), each broken one way."""
    text = (BAD / "skipped-item.txt").read_text(encoding="utf-8").replace("（五）", "（四）")
    assert edit[0] in text
    source = tmp_path / "variant.txt"
    source.write_text(text.replace(edit[0], edit[1]), encoding="utf-8")
    done = run_cli("build", "--quiet", str(source), "-o", str(tmp_path / "build"))
    assert done.returncode == 2, done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"{source.resolve()}:{line}: " in lines[0]
    assert words in lines[0]


def test_the_repaired_document_builds(tmp_path: Path) -> None:
    """The base of the variants above is itself fine, so each variant fails for its edit."""
    text = (BAD / "skipped-item.txt").read_text(encoding="utf-8").replace("（五）", "（四）")
    source = tmp_path / "variant.txt"
    source.write_text(text, encoding="utf-8")
    done = run_cli("build", "--quiet", str(source), "-o", str(tmp_path / "build"))
    assert done.returncode == 0, done.stderr


def test_cover_notice_followed_by_the_plan_it_issues(tmp_path: Path) -> None:
    """A notice (…关于印发…的通知) signed and dated, then the plan it issues."""
    from policygraph.pipeline import build

    source = LAYOUTS / "cover-notice.txt"
    document = analysed(source)
    # Read off the test document: the notice's number, signer and date identify it;
    # its text, signature, note and the plan's title and preamble precede the chapters.
    assert document.doc_id == "shizhengfa-2019-9"
    assert document.doc_type == "通知"
    assert document.date is not None and document.date.isoformat() == "2019-03-01"
    assert [name for _, name in document.issuers] == ["示范省人民政府"]
    assert [p.span.start_line for p in document.preamble] == [5, 6, 7, 8, 9, 10]
    assert document.preamble[4].text.value == "示范省农业机械化发展规划"
    assert [(c.number, c.heading.value) for c in document.chapters] == [
        ("一", "总体要求"),
        ("二", "重点任务"),
    ]
    assert [i.heading.value for i in document.items()] == [
        "指导思想",
        "发展目标",
        "加强农机装备研发",
        "发展农机社会化服务",
    ]
    (objective,) = document.items()[1].objectives
    assert (objective.target_year, objective.indicator, objective.value) == (
        2025,
        "全省农作物耕种收综合机械化率",
        75,
    )
    assert document.closing == []
    result = build([source], out=tmp_path / "build")
    assert [(d.chapters, d.items, d.measures) for d in result.documents] == [(2, 4, 2)]


@pytest.mark.parametrize("name", sorted(p.name for p in LAYOUTS.glob("*.txt")))
def test_layouts_lose_no_line(tmp_path: Path, name: str) -> None:
    """The maximal spans of the graph, in order, reproduce every non-blank line."""
    from policygraph.pipeline import build

    source = LAYOUTS / name
    build([source], out=tmp_path / "build")
    graph = Graph().parse(tmp_path / "build" / "policygraph.ttl", format="turtle")
    intervals = {
        (int(s), int(e))
        for s, e in graph.query(
            "PREFIX oa: <http://www.w3.org/ns/oa#> "
            "SELECT ?s ?e WHERE { ?span oa:start ?s ; oa:end ?e ; oa:exact ?x }"
        )
    }
    maximal = sorted(
        (s, e)
        for s, e in intervals
        if not any(o != (s, e) and o[0] <= s and e <= o[1] for o in intervals)
    )
    text = source.read_text(encoding="utf-8")
    covered = [line.strip() for s, e in maximal for line in text[s:e].splitlines() if line.strip()]
    assert covered == [line.strip() for line in text.splitlines() if line.strip()]


def test_date_in_chinese_numerals_and_a_distribution_line(tmp_path: Path) -> None:
    """二〇二一年三月五日 is the date 2021-03-05; 抄送：… after it is a note."""
    text = (LAYOUTS / "measure-targets.txt").read_text(encoding="utf-8")
    assert "2021年3月5日\n" in text
    source = tmp_path / "numerals.txt"
    source.write_text(
        text.replace(
            "2021年3月5日\n", "二〇二一年三月五日\n抄送：县委各部门，县人大常委会办公室。\n"
        ),
        encoding="utf-8",
    )
    document = analysed(source)
    assert document.date is not None and document.date.isoformat() == "2021-03-05"
    assert [(n.kind, n.span.start_line) for n in document.closing] == [
        ("signature", 13),
        ("note", 15),
    ]
    assert (
        structure(document)["items"]
        == structure(analysed(LAYOUTS / "measure-targets.txt"))["items"]
    )


def test_arabic_numbers_inside_an_item_enumerate(tmp_path: Path) -> None:
    """1. 2. under an item （三） are its paragraphs; directly under a chapter they are mixed."""
    text = (LAYOUTS / "measure-targets.txt").read_text(encoding="utf-8")
    anchor = "（四）加强水质保障。"
    source = tmp_path / "enumerated.txt"
    source.write_text(
        text.replace(anchor, "1.新建供水工程。\n2.改造老旧管网。\n" + anchor), encoding="utf-8"
    )
    document = analysed(source)
    third = document.items()[2]
    assert [p.text.value for p in third.paragraphs] == ["1.新建供水工程。", "2.改造老旧管网。"]
    assert [i.ordinal for i in document.items()] == [1, 2, 3, 4]
