"""The similarity links cut into chunks, each validated and serialised on its own."""

from __future__ import annotations

import itertools
from decimal import Decimal

from rdflib import Graph
from rdflib.compare import isomorphic

from policygraph import export, linkdump
from policygraph.iris import Iris
from policygraph.links import _similarity
from policygraph.similarity import Similarity

THEME = "https://w3id.org/policygraph/theme/digital-economy"


def _link(source: int, target: int, score: str = "0.600") -> Similarity:
    measure = "https://w3id.org/policygraph/id/policy/p{}/chp_1/item_{}"
    return Similarity(
        measure.format(source, source),
        measure.format(target, target),
        Decimal(score),
        Decimal("1.000"),
        Decimal("0.200"),
        (THEME,),
    )


def _chunks(links: list[Similarity]) -> list[list[Similarity]]:
    """``links`` (sorted by source) cut where ``linkdump._cuts`` cuts them."""
    runs = [list(run) for _, run in itertools.groupby(links, key=lambda link: link.source)]
    cuts = linkdump._cuts([run[0].source for run in runs], [len(run) for run in runs])
    return [[link for run in runs[lo:hi] for link in run] for lo, hi in cuts]


def test_chunks_are_cut_between_measures_only(monkeypatch) -> None:
    monkeypatch.setattr(linkdump, "CHUNK_LINKS", 2)
    links = [_link(s, t) for s in range(5) for t in range(6, 6 + s % 3 + 1)]
    chunks = _chunks(links)
    assert [link for chunk in chunks for link in chunk] == links
    assert len(chunks) > 1
    for before, after in itertools.pairwise(chunks):
        assert before[-1].source != after[0].source


def test_a_chunk_is_the_graph_of_its_links() -> None:
    iris = Iris()
    links = [_link(1, 2), _link(1, 3, "0.350"), _link(4, 2, "0.000")]
    chunk, pieces = linkdump.chunk_pieces(links, iris)
    expected = Graph()
    for link in links:
        for triple in _similarity(iris, link):
            expected.add(triple)
    assert chunk.report.conforms
    assert chunk.triples == len(expected)
    header = export._header(export.header_prefixes(chunk.ttl_prefixes))
    for name, fmt, head in (("nt", "nt", ""), ("ttl", "turtle", header)):
        written = Graph().parse(data=head + pieces[name].decode(), format=fmt)
        assert isomorphic(written, expected), name
    # scores keep their three decimals: "0.000" is not written "0"
    assert '"0.000"^^<http://www.w3.org/2001/XMLSchema#decimal>' in pieces["nt"].decode()


def test_a_broken_link_is_caught_by_the_shapes() -> None:
    chunk, _ = linkdump.chunk_pieces([_link(1, 2, "1.500")], Iris())
    assert not chunk.report.conforms
    assert "score" in chunk.report.text()


def test_a_change_moves_only_the_chunks_around_it(monkeypatch) -> None:
    """Cuts follow the content: links removed in the middle leave the other chunks alone."""
    monkeypatch.setattr(linkdump, "CHUNK_LINKS", 12)
    links = [_link(s, t) for s in range(600) for t in range(601, 601 + s % 3 + 1)]
    before = _chunks(links)
    middle = len(links) // 2
    after = _chunks(links[:middle] + links[middle + 3 :])
    assert len(before) > 20
    kept = {tuple(chunk) for chunk in before} & {tuple(chunk) for chunk in after}
    assert len(kept) >= len(before) - 3
    assert all(len(chunk) <= 4 * 12 for chunk in before)
