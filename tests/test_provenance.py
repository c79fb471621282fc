"""Provenance, proved from the published graph alone plus the bytes of the source file.

No parser objects are consulted: if the graph says where every part came from, the
source's text can be recovered from it — every non-blank line is covered by a span,
the outermost spans give back the non-blank lines in order, and each span's quoted
text is exactly the source's text at its offsets.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest
from rdflib import RDF, BNode, Graph, Literal, Namespace
from rdflib.namespace import PROV

import policygraph
from tests.conftest import BUNDLED, PINNED_EPOCH

PG = Namespace("https://w3id.org/policygraph/ontology#")
OA = Namespace("http://www.w3.org/ns/oa#")
DATA = Path(__file__).parent / "data" / "en"


def source_node(graph: Graph, path: Path):
    (node,) = graph.subjects(PG.fileName, Literal(path.name))
    return node


def spans_of(graph: Graph, path: Path) -> list[dict]:
    """Every text span of the source file ``path``, as plain values read from the graph."""
    source = source_node(graph, path)
    spans = []
    for node in graph.subjects(RDF.type, PG.TextSpan):
        if (node, PG.sourceText, source) not in graph:
            continue
        spans.append(
            {
                "node": node,
                "start": int(graph.value(node, OA.start)),
                "end": int(graph.value(node, OA.end)),
                "start_line": int(graph.value(node, PG.startLine)),
                "end_line": int(graph.value(node, PG.endLine)),
                "exact": str(graph.value(node, OA.exact)),
            }
        )
    assert spans, f"no spans for {path.name}"
    return spans


def source_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8-sig")


def non_blank_lines(text: str) -> list[tuple[int, str]]:
    """(number, line) of the non-blank lines; \\n, \\r\\n and \\r end lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]


def maximal(spans: list[dict]) -> list[dict]:
    """The spans not contained in another span, by offsets, sorted by start."""
    distinct = {(s["start"], s["end"]): s for s in spans}.values()
    outer = [
        s
        for s in distinct
        if not any(
            o is not s and o["start"] <= s["start"] and s["end"] <= o["end"] for o in distinct
        )
    ]
    return sorted(outer, key=lambda s: s["start"])


def check_every_line_is_covered(graph: Graph, path: Path) -> None:
    spans = spans_of(graph, path)
    for number, line in non_blank_lines(source_text(path)):
        assert any(s["start_line"] <= number <= s["end_line"] for s in spans), (number, line)


def check_outer_spans_give_back_the_lines(graph: Graph, path: Path) -> None:
    recovered = [
        line
        for span in maximal(spans_of(graph, path))
        for line in span["exact"].replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if line.strip()
    ]
    assert recovered == [line for _, line in non_blank_lines(source_text(path))]


def check_quotes_match_offsets(graph: Graph, path: Path) -> None:
    text = source_text(path)
    for span in spans_of(graph, path):
        assert text[span["start"] : span["end"]] == span["exact"], span["node"]
        # The line numbers agree with the offsets.
        assert line_at(text, span["start"]) == span["start_line"], span["node"]
        assert line_at(text, span["end"] - 1) == span["end_line"], span["node"]


def line_at(text: str, offset: int) -> int:
    """The 1-based line of the character at ``offset``."""
    before = text[:offset].replace("\r\n", "\n").replace("\r", "\n")
    return before.count("\n") + 1


# -- the bundled document, from the session's build ------------------------------------------


def test_every_non_blank_line_falls_in_a_span(graph):
    check_every_line_is_covered(graph, BUNDLED)


def test_outermost_spans_reproduce_the_non_blank_lines_in_order(graph):
    check_outer_spans_give_back_the_lines(graph, BUNDLED)


def test_each_span_quotes_the_source_at_its_offsets(graph):
    check_quotes_match_offsets(graph, BUNDLED)


def test_repairs_quote_the_source_at_their_offsets(graph):
    text = source_text(BUNDLED)
    repairs = list(graph.subjects(RDF.type, PG.Repair))
    assert repairs
    for node in repairs:
        start, end = int(graph.value(node, OA.start)), int(graph.value(node, OA.end))
        assert text[start:end] == str(graph.value(node, PG.originalText))


def test_source_checksum_is_the_files(graph):
    source = source_node(graph, BUNDLED)
    assert str(graph.value(source, PG.sha256)) == hashlib.sha256(BUNDLED.read_bytes()).hexdigest()
    assert int(graph.value(source, PG.byteSize)) == BUNDLED.stat().st_size


def test_build_activity_names_the_version_and_the_pinned_time(graph):
    (policy,) = graph.subjects(RDF.type, PG.Policy)
    (activity,) = graph.objects(policy, PROV.wasGeneratedBy)
    assert (activity, RDF.type, PROV.Activity) in graph
    assert str(graph.value(activity, PG.softwareVersion)) == policygraph.__version__
    ended = graph.value(activity, PROV.endedAtTime).toPython()
    assert ended == dt.datetime.fromtimestamp(int(PINNED_EPOCH), dt.UTC)
    assert (activity, PROV.used, source_node(graph, BUNDLED)) in graph


def test_no_blank_nodes_at_all(graph):
    blank = [t for t in graph if any(isinstance(term, BNode) for term in t)]
    assert blank == []


# -- other documents, including one with Windows line breaks -------------------------------


@pytest.fixture(scope="module")
def other_sources(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("sources")
    paths = []
    for path in sorted(DATA.glob("*.txt")):
        copy = folder / path.name
        copy.write_bytes(path.read_bytes())
        paths.append(copy)
    # The same text with CRLF line breaks and a byte-order mark, under its own title.
    original = (DATA / "groundwater-protection-2021.txt").read_text(encoding="utf-8")
    crlf = original.replace("\nthe Protection", "\nthe Urban Protection")
    assert crlf != original
    windows = folder / "windows-line-breaks.txt"
    windows.write_bytes(b"\xef\xbb\xbf" + crlf.replace("\n", "\r\n").encode("utf-8"))
    return [*paths, windows]


@pytest.fixture(scope="module")
def other_graph(other_sources, tmp_path_factory) -> Graph:
    out = tmp_path_factory.mktemp("build") / "build"
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = PINNED_EPOCH
    try:
        policygraph.build(other_sources, out=out)
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous
    return Graph().parse(out / "policygraph.ttl", format="turtle")


def test_provenance_of_other_documents(other_graph, other_sources):
    assert len(other_sources) == 4
    for path in other_sources:
        check_every_line_is_covered(other_graph, path)
        check_outer_spans_give_back_the_lines(other_graph, path)
        check_quotes_match_offsets(other_graph, path)
        source = source_node(other_graph, path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert str(other_graph.value(source, PG.sha256)) == digest
    assert not [t for t in other_graph if any(isinstance(term, BNode) for term in t)]
