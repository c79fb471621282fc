"""The English parser, on the bundled document and on documents written for these tests.

Expected values come from the source texts: facts counted by hand (the bundled
document's 6 chapters and 30 items; what the test documents in ``tests/data/en`` were
written to hold) or an independent scan of the file in the test itself — never from
the parser's own output.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from rdflib import RDF, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, RDFS, SKOS

import policygraph
from policygraph.classify import classify
from policygraph.model import Document, Text
from policygraph.objectives import extract_objectives
from tests.conftest import BUNDLED, REPO

PG = Namespace("https://w3id.org/policygraph/ontology#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
OA = Namespace("http://www.w3.org/ns/oa#")

DATA = Path(__file__).parent / "data" / "en"
RURAL = DATA / "rural-drinking-water-2019.txt"
GROUNDWATER = DATA / "groundwater-protection-2021.txt"
GRASSLAND = DATA / "grassland-restoration-2020.txt"
ROMAN = ["I", "II", "III", "IV", "V", "VI"]


def source_lines(path: Path) -> list[str]:
    """The file's lines as an editor shows them (the test documents use \\n only)."""
    return path.read_text(encoding="utf-8").split("\n")


def line_of(lines: list[str], prefix: str) -> int:
    """The 1-based number of the only line that starts with ``prefix``."""
    found = [n for n, text in enumerate(lines, start=1) if text.startswith(prefix)]
    assert len(found) == 1, (prefix, found)
    return found[0]


def all_texts(document: Document) -> list[Text]:
    """Every cleaned text of a parsed document."""
    texts = [document.title, *(p.text for p in document.preamble)]
    for chapter in document.chapters:
        texts += [chapter.heading, *(p.text for p in chapter.paragraphs)]
        for item in chapter.items:
            texts += [item.heading, *(p.text for p in item.paragraphs)]
            texts += [item.body] if item.body else []
    return texts + [note.text for note in document.closing]


def parsed(path: Path) -> Document:
    document = policygraph.parse(path)
    classify(document)
    extract_objectives(document)
    return document


# -- the bundled document ---------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled() -> Document:
    return parsed(BUNDLED)


@pytest.fixture(scope="module")
def bundled_lines() -> list[str]:
    return source_lines(BUNDLED)


def test_bundled_title_is_joined_from_its_two_wrapped_lines(bundled, bundled_lines):
    # By hand: line 1 is a running title, lines 3-4 the title, line 5 the date.
    assert bundled_lines[2].endswith("State Council")
    assert bundled_lines[3].startswith("on Launching")
    assert bundled.title.value == f"{bundled_lines[2]} {bundled_lines[3]}"
    assert bundled.preface.start_line == 1
    assert bundled.preface.end_line == 5


def test_bundled_date_and_issuers(bundled):
    assert bundled.date.isoformat() == "2017-09-05"
    assert [ident for ident, _ in bundled.issuers] == ["cpc-central-committee", "state-council"]


def test_bundled_chapters_have_roman_numbers_and_ordinals(bundled, bundled_lines):
    assert [c.number for c in bundled.chapters] == ROMAN
    assert [c.ordinal for c in bundled.chapters] == [1, 2, 3, 4, 5, 6]
    for chapter in bundled.chapters:
        assert chapter.span.start_line == line_of(bundled_lines, f"{chapter.number}. ")
    assert bundled.chapters[0].heading.value == "General Requirements"


def test_bundled_items_are_numbered_straight_through(bundled, bundled_lines):
    items = bundled.items()
    assert [i.number for i in items] == [str(n) for n in range(1, 31)]
    assert bundled.numbering == "continuous"
    for item in items:
        assert item.span.start_line == line_of(bundled_lines, f"{item.number}. ")
        heading = bundled_lines[item.span.start_line - 1].split(". ", 1)[1]
        # Headings are the line after the number, but for the repaired split word.
        if "Ma ke" not in heading:
            assert item.heading.value == heading
    # Per chapter, by hand: 3, 8, 7, 4, 4, 4 items.
    assert [len(c.items) for c in bundled.chapters] == [3, 8, 7, 4, 4, 4]
    assert len(bundled.measures()) == 27


def test_bundled_item_3_has_its_body_paragraph(bundled, bundled_lines):
    item = bundled.items()[2]
    assert item.heading.value == "Main Objectives"
    body_line = item.span.start_line + 1
    assert [p.text.value for p in item.paragraphs] == [bundled_lines[body_line - 1]]
    assert item.paragraphs[0].span.start_line == body_line
    assert all(not i.paragraphs for i in bundled.items() if i is not item)
    # Three sentences, each an objective for 2020.
    assert [o.target_year for o in item.objectives] == [2020, 2020, 2020]


def test_bundled_closing_source_note(bundled, bundled_lines):
    last = max(n for n, text in enumerate(bundled_lines, start=1) if text.strip())
    assert [n.kind for n in bundled.closing] == ["source"]
    note = bundled.closing[0]
    assert note.text.value == "(Source: Xinhua)"
    assert note.attribution == "Xinhua"
    assert note.span.start_line == last


def test_bundled_repairs_keep_the_original_text_at_its_offsets(bundled):
    text = BUNDLED.read_text(encoding="utf-8")
    repairs = sorted({r for t in all_texts(bundled) for r in t.repairs}, key=lambda r: r.start)
    expected = [("Brea k", "Break", "split-word"), ("Ma ke", "Make", "split-word")]
    expected.append(("–", "-", "dash"))  # the en dash of "high–end"
    found = {(r.original, r.repaired, r.rule) for r in repairs}
    assert found == set(expected)
    assert len(repairs) == 3
    for repair in repairs:
        assert text[repair.start : repair.end] == repair.original
    dash = next(r for r in repairs if r.rule == "dash")
    assert dash.start == text.index("high–end") + len("high")
    assert next(r for r in repairs if r.repaired == "Break").start == text.index("Brea k")
    assert next(r for r in repairs if r.repaired == "Make").start == text.index("Ma ke")
    assert bundled.chapters[2].heading.value.startswith("Break the bottleneck")
    assert bundled.items()[16].heading.value.startswith("Make more efforts")
    assert "high-end" in bundled.preamble[0].text.value


def test_bundled_repairs_are_in_the_graph_with_their_originals(graph):
    text = BUNDLED.read_text(encoding="utf-8")
    repairs = list(graph.subjects(RDF.type, PG.Repair))
    originals = set()
    for node in repairs:
        original = str(graph.value(node, PG.originalText))
        start, end = int(graph.value(node, OA.start)), int(graph.value(node, OA.end))
        assert text[start:end] == original
        originals.add((original, str(graph.value(node, PG.repairedText))))
    assert originals == {("Brea k", "Break"), ("Ma ke", "Make"), ("–", "-")}
    assert len(repairs) == 3


# -- documents written for these tests ----------------------------------------------------


@pytest.fixture(scope="module")
def others(tmp_path_factory) -> dict[str, Document]:
    return {path.name: parsed(path) for path in (RURAL, GROUNDWATER, GRASSLAND)}


@pytest.fixture(scope="module")
def other_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("others") / "build"
    policygraph.build([RURAL, GROUNDWATER, GRASSLAND], out=out)
    return out


@pytest.fixture(scope="module")
def other_graph(other_build) -> Graph:
    return Graph().parse(other_build / "policygraph.ttl", format="turtle")


def policy_of(graph: Graph, path: Path) -> URIRef:
    """The policy whose source file is ``path``, found through the provenance."""
    (source,) = graph.subjects(PG.fileName, Literal(path.name))
    (policy,) = (
        p for p in graph.subjects(PG.sourceText, source) if (p, RDF.type, PG.Policy) in graph
    )
    return policy


def parts(graph: Graph, parent: URIRef, rdf_type: URIRef) -> list[URIRef]:
    """The direct parts of ``parent`` of one type, in order."""
    found = [p for p in graph.objects(parent, ELI.has_part) if (p, RDF.type, rdf_type) in graph]
    return sorted(found, key=lambda p: int(graph.value(p, PG.order)))


def items_of(graph: Graph, policy: URIRef) -> list[URIRef]:
    return [
        item
        for chapter in parts(graph, policy, PG.Chapter)
        for item in parts(graph, chapter, PG.Item)
        + parts(graph, chapter, PG.Measure)
        + parts(graph, chapter, PG.GeneralProvision)
    ]


def test_title_on_one_line_without_a_running_title(others):
    document = others[RURAL.name]
    lines = source_lines(RURAL)
    assert document.title.value == lines[0]
    assert (document.preface.start_line, document.preface.end_line) == (1, 2)
    assert document.date.isoformat() == "2019-03-18"


def test_title_wrapped_over_three_lines(others):
    document = others[GROUNDWATER.name]
    lines = source_lines(GROUNDWATER)
    assert document.title.value == " ".join(lines[0:3])
    assert document.date.isoformat() == "2021-06-07"
    assert [name for _, name in document.issuers] == [
        "Ministry of Water Resources",
        "Ministry of Natural Resources",
    ]


def test_running_title_abbreviated_month_and_issuer_with_and_in_its_name(others):
    document = others[GRASSLAND.name]
    lines = source_lines(GRASSLAND)
    assert document.title.value == f"{lines[2]} {lines[3]}"
    assert document.preface.start_line == 1  # the running title stays in the preface
    assert document.date.isoformat() == "2020-09-28"
    assert [name for _, name in document.issuers] == [
        "Qinghai Provincial Forestry and Grassland Bureau"
    ]


# What each test document was written to hold: chapters, items per chapter, body
# paragraphs per item (by item position), objectives' sentences.
WRITTEN = {
    RURAL.name: {
        "items": [3, 4, 3, 3],
        "paragraphs": {0: 1, 1: 2, 2: 1, 3: 2, 5: 3, 8: 2},
        "numbers": ["1", "2", "3", "1", "2", "3", "4", "1", "2", "3", "1", "2", "3"],
        "numbering": "per-chapter",
        "general": 3,
    },
    GROUNDWATER.name: {
        "items": [2, 3, 3],
        "paragraphs": {0: 1, 1: 2, 2: 2, 4: 1},
        "numbers": [str(n) for n in range(1, 9)],
        "numbering": "continuous",
        "general": 2,
    },
    GRASSLAND.name: {
        "items": [2, 3, 2],
        "paragraphs": {2: 1},
        "numbers": [str(n) for n in range(1, 8)],
        "numbering": "continuous",
        "general": 2,
    },
}


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_structure_matches_what_was_written(others, name):
    document, written = others[name], WRITTEN[name]
    assert [len(c.items) for c in document.chapters] == written["items"]
    assert [c.number for c in document.chapters] == ROMAN[: len(written["items"])]
    assert [i.number for i in document.items()] == written["numbers"]
    assert document.numbering == written["numbering"]
    paragraphs = {n: len(i.paragraphs) for n, i in enumerate(document.items()) if i.paragraphs}
    assert paragraphs == written["paragraphs"]
    assert len(document.items()) - len(document.measures()) == written["general"]


@pytest.mark.parametrize("path", [RURAL, GROUNDWATER, GRASSLAND], ids=lambda p: p.stem)
def test_line_numbers_match_a_scan_of_the_file(others, path):
    document = others[path.name]
    lines = source_lines(path)
    chapter_lines = [n for n, text in enumerate(lines, start=1) if re.match(r"[IVX]+\. ", text)]
    item_lines = [n for n, text in enumerate(lines, start=1) if re.match(r"\(?\d+[.)] ", text)]
    assert [c.span.start_line for c in document.chapters] == chapter_lines
    assert [i.span.start_line for i in document.items()] == item_lines
    for item in document.items():
        for paragraph in item.paragraphs:
            first = lines[paragraph.span.start_line - 1]
            assert paragraph.text.value.startswith(first.strip()[:20])


def test_body_paragraphs_under_items(others):
    document = others[RURAL.name]
    lines = source_lines(RURAL)
    expand = document.chapters[1].items[2]
    assert expand.heading.value == "Expand and upgrade water supply projects"
    start = expand.span.start_line
    assert [p.span.start_line for p in expand.paragraphs] == [start + 1, start + 2, start + 3]
    assert expand.paragraphs[2].text.value == lines[start + 2]
    # The stray double space is repaired in the second line of that body.
    assert "large projects" in expand.paragraphs[0].text.value


def test_chapter_paragraph_before_the_items(others):
    chapter = others[GROUNDWATER.name].chapters[1]
    assert [p.text.value for p in chapter.paragraphs] == [
        "The measures in this chapter apply first to the areas where extraction is highest."
    ]
    assert chapter.items[0].number == "3"


def test_heading_and_body_on_one_line(others):
    items = others[GRASSLAND.name].items()
    assert items[0].heading.value == "Guiding thought"
    assert items[0].body.value.startswith("We will follow the principle")
    assert items[4].heading.value == "Restore grasslands damaged by mining and road building"
    assert items[4].body.value.startswith("Companies will restore")
    text = GRASSLAND.read_text(encoding="utf-8")
    for item in (items[0], items[1], items[4]):
        span = item.body_span
        assert text[span.start : span.end] == span.text == item.body.value


def test_lines_wrapped_by_hand_join_their_block(others):
    lines = source_lines(GRASSLAND)
    items = others[GRASSLAND.name].items()
    wrapped = items[3]
    first = line_of(lines, "(4) ")
    assert wrapped.heading.value == f"{lines[first - 1][4:]} {lines[first]}"
    assert (wrapped.span.start_line, wrapped.span.end_line) == (first, first + 1)
    (paragraph,) = items[2].paragraphs
    start = line_of(lines, "Herders who")
    assert (paragraph.span.start_line, paragraph.span.end_line) == (start, start + 1)
    assert paragraph.text.value == f"{lines[start - 1]} {lines[start]}"


def test_repairs_of_the_defects_written_into_the_documents(others):
    expected = {
        RURAL.name: {
            ("Strengt hen", "Strengthen", "split-word"),
            ("  ", " ", "whitespace"),
            ("\u00a0", " ", "whitespace"),
            ("\u2014", "-", "dash"),
        },
        GROUNDWATER.name: {("Promo te", "Promote", "split-word")},
        GRASSLAND.name: set(),
    }
    for path in (RURAL, GROUNDWATER, GRASSLAND):
        text = path.read_text(encoding="utf-8")
        repairs = {r for t in all_texts(others[path.name]) for r in t.repairs}
        assert {(r.original, r.repaired, r.rule) for r in repairs} == expected[path.name]
        for repair in repairs:
            assert text[repair.start : repair.end] == repair.original
    rural = others[RURAL.name]
    assert rural.chapters[1].items[1].heading.value.startswith("Strengthen the protection")
    assert rural.chapters[2].items[1].heading.value == "Promote long-term operation and maintenance"
    assert rural.chapters[2].items[2].heading.value == "Strengthen water quality monitoring"


def test_objectives_carry_the_year_of_their_sentence(others):
    for path, years in (
        (RURAL, (2020, 2025)),
        (GROUNDWATER, (2022, 2025)),
        (GRASSLAND, (2025, 2035)),
    ):
        text = path.read_text(encoding="utf-8")
        document = others[path.name]
        (item,) = [i for i in document.items() if i.objectives]
        later = text.index(f"By {years[1]}")
        assert {o.target_year for o in item.objectives} == set(years)
        for objective in item.objectives:
            expected = years[1] if objective.span.start >= later else years[0]
            assert objective.target_year == expected, objective.statement.value
            assert text[objective.span.start : objective.span.end] == objective.span.text


def test_built_graph_counts_match_what_was_written(other_graph):
    for path in (RURAL, GROUNDWATER, GRASSLAND):
        written = WRITTEN[path.name]
        policy = policy_of(other_graph, path)
        chapters = parts(other_graph, policy, PG.Chapter)
        assert len(chapters) == len(written["items"])
        items = items_of(other_graph, policy)
        assert len(items) == sum(written["items"])
        assert len(set(items)) == len(items)  # numbering restarts, IRIs do not repeat
        numbers = [str(other_graph.value(i, ELI.number)) for i in items]
        assert numbers == written["numbers"]
        general = [i for i in items if (i, RDF.type, PG.GeneralProvision) in other_graph]
        assert len(general) == written["general"]


def test_restarting_numbers_give_distinct_iris(other_graph):
    policy = policy_of(other_graph, RURAL)
    items = items_of(other_graph, policy)
    numbers = Counter(str(other_graph.value(i, ELI.number)) for i in items)
    assert numbers["1"] == 4  # item 1 in each of the four chapters
    assert len({str(i) for i in items}) == 13


def test_issuer_not_in_the_vocabulary_is_taken_from_the_title(other_graph):
    vocabulary = Graph().parse(REPO / "vocab" / "organizations.ttl", format="turtle")
    known = {str(label).lower() for label in vocabulary.objects(None, SKOS.prefLabel)}
    known |= {str(label).lower() for label in vocabulary.objects(None, SKOS.altLabel)}
    name = "Qinghai Provincial Forestry and Grassland Bureau"
    assert name.lower() not in known
    policy = policy_of(other_graph, GRASSLAND)
    (issuer,) = other_graph.objects(policy, ELI.passed_by)
    assert other_graph.value(issuer, RDFS.label) == Literal(name, lang="en")
    title = str(other_graph.value(policy, DCTERMS.title))
    assert name in title


@pytest.mark.parametrize(
    ("title", "issuers"),
    [
        (
            "Opinions of the CPC Central Committee and the State Council on Rural Roads",
            ["CPC Central Committee", "State Council"],
        ),
        (
            "Notice of the State Council and the Qinghai Provincial Government on Rural Roads",
            ["State Council", "Qinghai Provincial Government"],
        ),
        (
            "Report of the Development Research Center of the State Council on Rural Roads",
            ["Development Research Center of the State Council"],
        ),
        (
            "Notice of the Yunnan Provincial Department of Finance, the Yunnan Provincial "
            "Department of Transport and the Yunnan Provincial Water Resources Department "
            "on Rural Roads",
            [
                "Yunnan Provincial Department of Finance",
                "Yunnan Provincial Department of Transport",
                "Yunnan Provincial Water Resources Department",
            ],
        ),
        ("Plan for Rural Roads", []),
    ],
)
def test_issuers_are_read_from_the_title(title, issuers):
    from policygraph.parse_en import EnglishParser

    parser = EnglishParser(Path("title.txt"), title, title.encode())
    found, _, _ = parser.title_parts(title)
    assert [name for _, name in found] == issuers


def test_objectives_in_a_paragraph_wrapped_by_hand(tmp_path):
    text = (
        "Opinions of the State Council on Cleaner Rivers\n"
        "(May 4, 2021)\n"
        "\n"
        "I. General Requirements\n"
        "1. Main Objectives\n"
        "By 2025, every river in the province will have a named keeper. Sewage from towns\n"
        "will be treated before it reaches a river, and no new outfall will be opened.\n"
        "II. Tasks\n"
        "2. Appoint river keepers\n"
    )
    path = tmp_path / "rivers.txt"
    path.write_text(text, encoding="utf-8")
    document = parsed(path)
    (item,) = [i for i in document.items() if i.objectives]
    (paragraph,) = item.paragraphs
    assert (paragraph.span.start_line, paragraph.span.end_line) == (6, 7)
    first, second = item.objectives
    assert (first.span.start_line, first.span.end_line) == (6, 6)
    assert (second.span.start_line, second.span.end_line) == (6, 7)
    assert second.statement.value == (
        "Sewage from towns will be treated before it reaches a river, "
        "and no new outfall will be opened."
    )
    assert [o.target_year for o in item.objectives] == [2025, 2025]
    for objective in item.objectives:
        assert text[objective.span.start : objective.span.end] == objective.span.text
