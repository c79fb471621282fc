"""Dumps in parts: a large build splits each dump into numbered files, and a rebuild
rewrites only the parts whose pieces changed.

A small corpus from ``bench/corpus.py`` is built with a small part size, so that it is
cut into several parts, and compared with the same corpus built into one file per
dump. The data holds no blank nodes (checked), so two dumps hold the same graph (or
dataset) exactly when they hold the same set of triples (or quads).
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal
from rdflib.namespace import DCAT, VOID

from policygraph import dumpfile, dumpparts
from policygraph.load import DumpReader, dump_files
from policygraph.outputledger import OutputLedger
from policygraph.pipeline import build
from policygraph.query import load_store
from policygraph.site import load_build, write_site
from tests.support.corpus import write_corpus

FORMATS = {
    "policygraph.nt": ox.RdfFormat.N_TRIPLES,
    "policygraph.nq": ox.RdfFormat.N_QUADS,
    "policygraph.ttl": ox.RdfFormat.TURTLE,
    "policygraph.trig": ox.RdfFormat.TRIG,
    "policygraph.jsonld": ox.RdfFormat.JSON_LD,
    "policygraph-entailed.nt": ox.RdfFormat.N_TRIPLES,
}
PART_TRIPLES = 3000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"), 10, 11)


@pytest.fixture(scope="module")
def builds(corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    """The corpus built into one file per dump, and into parts (the same cache)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    root = tmp_path_factory.mktemp("builds")
    cache = root / "cache"
    whole = build([corpus], out=root / "whole", cache_dir=cache, part_triples=0)
    parts = build([corpus], out=root / "parts", cache_dir=cache, part_triples=PART_TRIPLES)
    yield whole, parts, root
    patch.undo()


def _statements(paths: list[Path], fmt: ox.RdfFormat) -> list[object]:
    found = []
    for path in paths:
        found += list(ox.parse(path=str(path), format=fmt))  # each part parses on its own
    return found


def test_each_dump_is_cut_into_several_parts(builds) -> None:
    whole, parts, root = builds
    assert whole.triples > 3 * PART_TRIPLES  # big enough to be cut
    for name in FORMATS:
        assert dumpfile.find_all(root / "whole", name) == [root / "whole" / name]
        files = dumpfile.find_all(root / "parts", name)
        assert len(files) >= 3
        assert [dumpfile.whole_name(f.name) for f in files] == [name] * len(files)
        assert not (root / "parts" / name).exists()
    counts = {len(dumpfile.find_all(root / "parts", name)) for name in FORMATS}
    assert len(counts) == 1  # every dump is cut at the same places
    assert parts.dumps_written == (len(FORMATS) * counts.pop(),) * 2


@pytest.mark.parametrize("name", FORMATS)
def test_the_parts_together_are_the_one_file(builds, name: str) -> None:
    _, _, root = builds
    one = _statements([root / "whole" / name], FORMATS[name])
    many = _statements(dumpfile.find_all(root / "parts", name), FORMATS[name])
    assert not any(
        isinstance(term, ox.BlankNode) for statement in one for term in statement
    )  # ground data: equal sets are isomorphic graphs
    assert len(many) == len(set(many))  # no statement written in two parts
    assert set(many) == set(one)


def test_json_ld_parts_are_each_a_json_document(builds) -> None:
    _, _, root = builds
    for path in dumpfile.find_all(root / "parts", "policygraph.jsonld"):
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["@graph"], path.name


def test_gzip_parts_are_the_plain_parts_compressed(corpus: Path, builds) -> None:
    """A gzip part without the tail has its last JSON-LD piece cut and compressed again."""
    _, _, root = builds
    build([corpus], out=root / "gz", cache_dir=root / "gz-cache", compress=True,
          part_triples=PART_TRIPLES)  # fmt: skip
    for name in FORMATS:
        plain = dumpfile.find_all(root / "parts", name)
        packed = dumpfile.find_all(root / "gz", name)
        assert [p.name for p in packed] == [p.name + ".gz" for p in plain]
        for one, other in zip(plain, packed, strict=True):
            assert gzip.decompress(other.read_bytes()) == one.read_bytes()


def test_the_description_lists_every_part(builds) -> None:
    _, _, root = builds
    description = Graph().parse(root / "parts" / "void.ttl")
    dumps = {str(o) for o in description.objects(None, VOID.dataDump)}
    files = [p for name in FORMATS for p in dumpfile.find_all(root / "parts", name)]
    assert {url.rsplit("/", 1)[1] for url in dumps} == {p.name for p in files}
    for name in FORMATS:
        parts = dumpfile.find_all(root / "parts", name)
        (distribution,) = {
            d
            for d in description.objects(None, DCAT.distribution)
            if str(description.value(d, DCAT.downloadURL)).rsplit("/", 1)[1]
            in {p.name for p in parts}
        }
        urls = {
            str(u).rsplit("/", 1)[1] for u in description.objects(distribution, DCAT.downloadURL)
        }
        assert urls == {p.name for p in parts}
        size = description.value(distribution, DCAT.byteSize)
        assert isinstance(size, Literal) and size.toPython() == sum(p.stat().st_size for p in parts)


def test_the_description_counts_what_the_parts_hold(builds) -> None:
    """VoID's counts are gathered from the documents' records, never from the dumps:
    they must still be what the dumps hold."""
    _, _, root = builds
    triples = set(
        _statements(dumpfile.find_all(root / "parts", "policygraph.nt"), FORMATS["policygraph.nt"])
    )
    description = Graph().parse(root / "parts" / "void.ttl")
    (dataset,) = set(description.subjects(VOID.triples, None))
    counts = {
        VOID.triples: len(triples),
        VOID.distinctSubjects: len({t.subject for t in triples}),
        VOID.distinctObjects: len({t.object for t in triples}),
        VOID.properties: len({t.predicate for t in triples}),
    }
    assert {p: description.value(dataset, p).toPython() for p in counts} == counts


def test_readers_read_every_part(builds, tmp_path: Path) -> None:
    whole, _, root = builds
    quads = set(ox.parse(path=str(root / "whole" / "policygraph.nq"), format=ox.RdfFormat.N_QUADS))
    assert len(load_store([root / "parts"])) == len(quads)  # policygraph query
    assert set(load_build(root / "parts")) == quads  # policygraph site
    reader = DumpReader(dump_files(root / "parts"), chunk_size=500)  # policygraph load
    assert sum(chunk.triples for chunk in reader.chunks()) == len(quads)
    assert sum(graph.expected for graph in reader.graphs.values()) == whole.quads
    site = write_site(root / "parts", tmp_path / "site")
    parts = dumpfile.find_all(root / "parts", "policygraph.nq")
    assert f"policygraph.nq in {len(parts)} parts" in (site.out / "index.html").read_text()


def test_a_changed_document_rewrites_one_part_of_each_dump(
    corpus: Path, builds, tmp_path: Path
) -> None:
    whole, _, _ = builds
    copy = tmp_path / "corpus"
    shutil.copytree(corpus, copy)
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = build([copy], out=out, cache_dir=cache, part_triples=PART_TRIPLES)
    inodes = {p.name: p.stat().st_ino for p in out.iterdir()}
    changed = copy / Path(whole.documents[len(whole.documents) // 2].path).name
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    second = build([copy], out=out, cache_dir=cache, part_triples=PART_TRIPLES)
    assert second.cached == len(whole.documents) - 1
    assert second.dumps_written == (len(FORMATS), first.dumps_written[1])
    rewritten = {p.name for p in out.iterdir() if p.stat().st_ino != inodes.get(p.name)}
    parts = {n for n in rewritten if dumpfile.whole_name(n) is not None}
    assert {dumpfile.whole_name(n) for n in parts} == set(FORMATS)
    assert len({n.split(".")[1] for n in parts}) == 1  # the same part of each
    fresh = build([copy], out=tmp_path / "fresh", cache_dir=tmp_path / "fresh-cache",
                  part_triples=PART_TRIPLES)  # fmt: skip
    assert fresh.dumps_written == second.dumps_written[1:] * 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == {
        p.name: p.read_bytes() for p in (tmp_path / "fresh").iterdir()
    }


def _pieces(names: list[str], triples: int = 100) -> list[dumpparts.Piece]:
    return [dumpparts.Piece(SimpleNamespace(), n, triples, frozenset(), frozenset()) for n in names]


def test_a_piece_added_or_removed_moves_no_other_cut() -> None:
    names = [f"doc-{i:04d}" for i in range(2000)]
    before = dumpparts.plan(_pieces(names), [], 0, 5000)
    assert before is not None and 20 < len(before) < 80
    for change in ([*names[:700], "new", *names[700:]], names[:700] + names[701:]):
        after = dumpparts.plan(_pieces(change), [], 0, 5000)
        assert after is not None
        old = [[p.name for p in part.pieces] for part in before]
        new = [[p.name for p in part.pieces] for part in after]
        assert len([part for part in new if part not in old]) <= 2  # the edited part, merged


def test_the_links_parts_are_smaller_than_the_documents() -> None:
    """Link parts are cut at a third of the part size: as many triples make about three
    times as many parts."""
    names = [f"piece-{i:05d}" for i in range(6000)]
    planned = dumpparts.plan(_pieces(names[:3000]), _pieces(names[3000:]), 0, 20_000)
    assert planned is not None
    documents = [p for p in planned if p.pieces and p.pieces[0].name < names[3000]]
    links = [p for p in planned if p.pieces and p.pieces[0].name >= names[3000]]
    share = len(links) / len(documents)
    assert 2 < share < 4.5


def test_documents_links_and_tail_never_share_a_part() -> None:
    planned = dumpparts.plan(_pieces(["a", "b"], 10), _pieces(["c"], 10), 5, 20)
    assert planned is not None
    assert [[p.name for p in part.pieces] for part in planned][-2:] == [["c"], []]
    assert planned[-1].tail and not any(part.tail for part in planned[:-1])
    assert dumpparts.plan(_pieces(["a", "b"], 10), _pieces(["c"], 10), 5, 35) is None
    assert dumpparts.plan(_pieces(["a", "b"], 10**6), [], 5, 0) is None


def test_the_ledger_keeps_a_part_that_changed_number(tmp_path: Path) -> None:
    out, staging, cache = tmp_path / "out", tmp_path / "staging", tmp_path / "cache"
    out.mkdir()
    staging.mkdir()
    (out / "policygraph.0002.nt").write_text("<a> <b> <c> .\n")
    ledger = OutputLedger(cache, out)
    ledger.record({"policygraph.0002.nt": "recipe-x"})
    linked = ledger.link_unchanged({"policygraph.0003.nt": "recipe-x"}, staging)
    assert linked == {"policygraph.0003.nt"}
    assert (staging / "policygraph.0003.nt").stat().st_ino == (
        out / "policygraph.0002.nt"
    ).stat().st_ino
    assert (
        OutputLedger(cache, out).link_unchanged({"policygraph.0003.nt": "other"}, staging) == set()
    )


def test_the_cli_builds_parts_and_lists_them_once(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "policygraph", "build", str(corpus), "--out", str(out),
         "--no-cache", "--part-triples", str(PART_TRIPLES)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    parts = len(dumpfile.find_all(out, "policygraph.nq"))
    assert parts >= 3
    assert f"policygraph.nq ({parts} parts)" in result.stdout
    assert "policygraph.0001.nq" not in result.stdout
    refused = subprocess.run(
        [sys.executable, "-m", "policygraph", "build", str(corpus), "--out", str(out),
         "--part-triples", "-1"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert refused.returncode == 2 and "Traceback" not in refused.stderr


def test_a_rebuild_in_parts_updates_the_query_store(
    corpus: Path, builds, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store of a build in parts follows the rebuild: the parts that changed are
    loaded again, the rest kept; it then holds exactly what a fresh load holds."""
    from policygraph import store as stores
    from policygraph.lod import graph_sizes

    monkeypatch.setattr(stores, "IN_MEMORY_BELOW", 0)  # a store even for this small build
    whole, _, _ = builds
    copy, out, cache = tmp_path / "corpus", tmp_path / "out", tmp_path / "cache"
    shutil.copytree(corpus, copy)
    build([copy], out=out, cache_dir=cache, part_triples=PART_TRIPLES)
    said: list[str] = []
    stores.locate(out, notice=said.append)
    assert any("making" in line for line in said)
    changed = copy / Path(whole.documents[len(whole.documents) // 2].path).name
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    build([copy], out=out, cache_dir=cache, part_triples=PART_TRIPLES)
    said.clear()
    location = stores.locate(out, notice=said.append)
    assert location.persistent
    assert any("updating" in line for line in said) and not any("making" in x for x in said)
    expected = ox.Store()
    for path in dumpfile.find_all(out, "policygraph.nq"):
        expected.load(path=str(path), format=ox.RdfFormat.N_QUADS)
    updated = location.open()
    assert {str(q) for q in updated} == {str(q) for q in expected}
    assert location.graph_sizes() == graph_sizes(expected)
    del updated
    said.clear()
    stores.locate(out, notice=said.append)
    assert said == []  # the updated store is this build's
    # a change to a graph larger than an update may drop: the store is made afresh
    monkeypatch.setattr(stores, "UPDATE_MAX_TRIPLES", 0)
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    build([copy], out=out, cache_dir=cache, part_triples=PART_TRIPLES)
    said.clear()
    again = stores.locate(out, notice=said.append)
    assert any("making" in line for line in said)
    assert len(again.open()) == len(expected)


def _bytes_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("policygraph*"))}


def test_parts_written_while_linking_are_those_written_after(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documents' parts are written by a thread during the links stage; the files
    must be byte for byte those the export writes when nothing is written early."""
    from policygraph import assemble

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    started = []
    real = assemble.DocumentParts

    def spied(*args, **kwargs):  # type: ignore[no-untyped-def]
        started.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(assemble, "DocumentParts", spied)
    cache = tmp_path / "cache"
    build([corpus], out=tmp_path / "early", cache_dir=cache, part_triples=PART_TRIPLES)
    assert len(started) == 1 and len(started[0]) > 1  # several parts, written early
    monkeypatch.setattr(assemble, "document_parts", lambda documents, part_triples: None)
    build([corpus], out=tmp_path / "late", cache_dir=cache, part_triples=PART_TRIPLES)
    early, late = _bytes_of(tmp_path / "early"), _bytes_of(tmp_path / "late")
    assert len(early) > len(FORMATS) and early == late


def test_a_failure_while_linking_stops_the_parts_and_keeps_the_last_output(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from policygraph import linkdump

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    out = tmp_path / "out"
    build([corpus], out=out, cache_dir=tmp_path / "cache", part_triples=PART_TRIPLES)
    before = _bytes_of(out)

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError("no space left while linking")

    monkeypatch.setattr(linkdump, "similarity_entries", failing)
    with pytest.raises(OSError, match="while linking"):
        build([corpus], out=out, cache_dir=tmp_path / "other", part_triples=PART_TRIPLES)
    assert _bytes_of(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
    assert not any(t.name == "document parts" for t in threading.enumerate())
