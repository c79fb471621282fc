"""What a rebuild takes from the cache besides documents: the citations, the dumps'
tail and the decision to search for similar measures again — each must be taken only
when what it was made of is unchanged, and then equal what would be made afresh."""

from __future__ import annotations

import datetime as dt
import gc
import os
import pickle
import re
import shutil
from pathlib import Path

import pytest

from policygraph import assemble, linkdump
from policygraph.buildcache import BuildCache
from policygraph.docbuild import BuildSettings
from policygraph.errors import InputError
from policygraph.iris import Iris
from policygraph.links import DocumentLinks, Mention, PackedLinks, PolicyLinks, unpacked
from policygraph.pipeline import build, collect_sources
from policygraph.similarity import MeasureText
from policygraph.workers import collects_between_tasks
from tests.support.corpus import folder_bytes, write_corpus

CORPUS_SIZE = 6
_SETTINGS = BuildSettings("http://example.org/", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"), CORPUS_SIZE, 11)


@pytest.fixture(autouse=True)
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")


def _edited(corpus: Path, folder: Path, pattern: str, replacement: str) -> Path:
    """A copy of ``corpus`` with the first match of ``pattern`` in some document replaced."""
    shutil.copytree(corpus, folder)
    for path in sorted(folder.iterdir()):
        text = path.read_text(encoding="utf-8")
        if re.search(pattern, text):
            path.write_text(re.sub(pattern, replacement, text, count=1), encoding="utf-8")
            return folder
    raise AssertionError(f"no document of the corpus has {pattern!r}")


# -- per-document digests ---------------------------------------------------------------


def _features(text: str = "improve the supply", title: str | None = "A Plan") -> DocumentLinks:
    policy = PolicyLinks(
        "http://x/policy/a",
        "Opinions",
        None,
        "en",
        (("http://x/policy/a/preface", Mention(title, None)),),
    )
    measure = MeasureText("http://x/policy/a/m1", policy.iri, frozenset({"t1", "t2"}), text)
    return DocumentLinks((policy,), (measure,))


def test_the_digests_follow_what_each_stage_reads() -> None:
    base = _features()
    assert _features().measures_digest == base.measures_digest
    assert _features().policies_digest == base.policies_digest
    reworded = _features(text="improve the supply chain")
    assert reworded.measures_digest != base.measures_digest
    assert reworded.policies_digest == base.policies_digest  # citations need not run again
    retitled = _features(title="Another Plan")
    assert retitled.policies_digest != base.policies_digest
    assert retitled.measures_digest == base.measures_digest  # nor the similarity search
    # a mention without a title is not one with an empty title
    assert _features(title=None).policies_digest != _features(title="").policies_digest


def test_the_digests_travel_with_the_features() -> None:
    base = _features()
    copy = pickle.loads(pickle.dumps(base))
    assert (copy.measures_digest, copy.policies_digest) == (
        base.measures_digest,
        base.policies_digest,
    )


# -- the citations ------------------------------------------------------------------------


def test_a_changed_citation_is_found_again(corpus: Path, tmp_path: Path) -> None:
    """A cited title edited in one document: the citations (and the tail that holds them)
    are made again, and the rebuild writes what a build from scratch writes."""
    cache = tmp_path / "cache"
    build([corpus], out=tmp_path / "first", cache_dir=cache)
    copy = _edited(corpus, tmp_path / "corpus", r"《", "《新编")
    second = build([copy], out=tmp_path / "second", cache_dir=cache)
    assert second.cached == CORPUS_SIZE - 1
    build([copy], out=tmp_path / "fresh", cache_dir=tmp_path / "fresh-cache")
    assert folder_bytes(tmp_path / "second") == folder_bytes(tmp_path / "fresh")
    assert folder_bytes(tmp_path / "second") != folder_bytes(tmp_path / "first")


def test_an_edit_outside_every_citation_keeps_them(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first = build([corpus], out=tmp_path / "first", cache_dir=cache)
    copy = _edited(corpus, tmp_path / "corpus", r"(\d+)%", r"\g<1>.5%")
    found = []
    cite = linkdump.cite_documents
    monkeypatch.setattr(linkdump, "cite_documents", lambda *a: found.append(1) or cite(*a))
    second = build([copy], out=tmp_path / "second", cache_dir=cache)
    assert found == []  # taken from the cache, not found again
    assert second.links is not None and first.links is not None
    assert second.links.citations == first.links.citations
    build([copy], out=tmp_path / "fresh", cache_dir=tmp_path / "fresh-cache")
    assert found == [1]  # a fresh cache finds them
    assert folder_bytes(tmp_path / "second") == folder_bytes(tmp_path / "fresh")


# -- the dumps' tail ------------------------------------------------------------------------

_SHARED = [
    '<http://example.org/org/a> <http://www.w3.org/2000/01/rdf-schema#label> "A"@en .\n',
    '<http://example.org/org/b> <http://www.w3.org/2000/01/rdf-schema#label> "B"@en .\n',
]
_CITED = [
    "<http://example.org/policy/p> <http://data.europa.eu/eli/ontology#cites> "
    "<http://example.org/cited/guofa-2017-5> .\n"
]


def test_a_tail_from_the_cache_is_the_tail_made_again(tmp_path: Path) -> None:
    iris = Iris("http://example.org/")
    cache = BuildCache(tmp_path / "cache")
    made = assemble.dump_tail(set(_SHARED), _CITED, iris, cache)
    entries = sorted((tmp_path / "cache").rglob("*.entry"))
    assert len(entries) == 1
    again = assemble.dump_tail(set(_SHARED), _CITED, iris, cache)
    assert sorted((tmp_path / "cache").rglob("*.entry")) == entries  # nothing new written
    fresh = assemble.dump_tail(set(_SHARED), _CITED, iris)
    for tail in (again, fresh):
        assert tail.texts == made.texts
        assert (tail.ttl_prefixes, tail.trig_prefixes) == (made.ttl_prefixes, made.trig_prefixes)
        assert tail.named_triples == made.named_triples
        assert sorted(map(str, tail.triples)) == sorted(map(str, made.triples))


def test_a_tail_of_other_inputs_is_made_anew(tmp_path: Path) -> None:
    iris = Iris("http://example.org/")
    cache = BuildCache(tmp_path / "cache")
    made = assemble.dump_tail(set(_SHARED), _CITED, iris, cache)
    fewer = assemble.dump_tail(set(_SHARED[:1]), _CITED, iris, cache)
    uncited = assemble.dump_tail(set(_SHARED), [], iris, cache)
    assert "/org/b>" in made.texts["nt"] and "/org/b>" not in fewer.texts["nt"]
    assert "cites" in made.texts["nt"] and "cites" not in uncited.texts["nt"]
    assert len(list((tmp_path / "cache").rglob("*.entry"))) == 3


# -- finding the sources ------------------------------------------------------------------


def test_sources_are_found_in_path_order_without_hidden_ones(tmp_path: Path) -> None:
    folder = tmp_path / ".hidden-parent" / "docs"  # a hidden folder above is no concern
    (folder / "b").mkdir(parents=True)
    (folder / ".drafts").mkdir()
    for name in ("a-b.txt", "b/a.txt", "a.txt", ".x.txt", ".drafts/d.txt", "notes.md"):
        (folder / name).write_text("x", encoding="utf-8")
    os.symlink(folder / "a.txt", folder / "z.txt")  # the same document under a link
    found = collect_sources([folder, folder / "a.txt"])
    assert found == [folder / "a-b.txt", folder / "a.txt", folder / "b" / "a.txt"]
    (tmp_path / "empty" / ".drafts").mkdir(parents=True)
    (tmp_path / "empty" / ".drafts" / "d.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape("no .txt documents")):
        collect_sources([tmp_path / "empty"])


# -- building while reading -----------------------------------------------------------------


def test_an_unreadable_entry_is_built_again(corpus: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build([corpus], out=tmp_path / "first", cache_dir=cache, jobs=2)
    entries = sorted(cache.rglob("*.entry"), key=lambda p: p.stat().st_size)
    entries[-1].write_bytes(entries[-1].read_bytes()[:40])  # the largest: a document's
    again = build([corpus], out=tmp_path / "again", cache_dir=cache, jobs=2)
    assert again.cached == CORPUS_SIZE - 1
    assert folder_bytes(tmp_path / "again") == folder_bytes(tmp_path / "first")


def test_the_collector_is_left_as_it_was_found(corpus: Path, tmp_path: Path) -> None:
    build([corpus], out=tmp_path / "out", cache_dir=tmp_path / "cache", jobs=2)
    assert gc.isenabled() and gc.get_freeze_count() == 0
    copy = shutil.copytree(corpus, tmp_path / "corpus")
    (copy / "zz-bad.txt").write_text("\n", encoding="utf-8")  # nothing a parser can read
    with pytest.raises(InputError, match=re.escape("zz-bad.txt")):
        build([copy], out=tmp_path / "other", cache_dir=tmp_path / "cache", jobs=2)
    assert gc.isenabled() and gc.get_freeze_count() == 0


_TRACE: dict = {}


def _traced_work(task):  # type: ignore[no-untyped-def]
    """``pipeline._work`` noting the process it ran in, whether the cyclic collector
    was on there, and whether it collected between tasks instead (module level: it is
    sent to workers)."""
    with _TRACE["file"].open("a") as pids:
        pids.write(f"{os.getpid()} {gc.isenabled()} {collects_between_tasks()}\n")
    return _TRACE["work"](task)


def test_one_changed_document_is_built_beside_the_reading(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With more than one job, even a single document to build goes to a worker, so it
    is built while this process reads the cached entries; with one job it is built here."""
    import policygraph.pipeline as pipeline

    cache = tmp_path / "cache"
    build([corpus], out=tmp_path / "first", cache_dir=cache, jobs=2)
    copy = _edited(corpus, tmp_path / "corpus", r"(\d+)%", r"\g<1>.5%")
    where = tmp_path / "pids"
    _TRACE.update(file=where, work=pipeline._work)  # forked workers inherit it
    monkeypatch.setattr(pipeline, "_work", _traced_work)
    second = build([copy], out=tmp_path / "second", cache_dir=cache, jobs=2)
    assert second.cached == CORPUS_SIZE - 1
    assert where.read_text().split()[0] != str(os.getpid())
    # one document, its garbage collected before the worker's next task
    assert where.read_text().split()[1:] == ["False", "True"]
    where.unlink()
    other = sorted(copy.iterdir())[-1]  # another document changed, one job this time
    other.write_text(other.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    third = build([copy], out=tmp_path / "third", cache_dir=cache, jobs=1)
    assert third.cached == CORPUS_SIZE - 1
    # built here, and with the collector on: a document's graph makes cyclic garbage
    assert where.read_text().split() == [str(os.getpid()), "True", "False"]


def test_packed_features_keep_their_digests_and_unpack_whole() -> None:
    base = _features()
    packed = PackedLinks.pack(base)
    assert (packed.measures_digest, packed.policies_digest) == (
        base.measures_digest,
        base.policies_digest,
    )
    assert packed.unpack() == base
    assert unpacked([packed, base]) == [base, base]
    assert linkdump.links_key([packed], _SETTINGS) == linkdump.links_key([base], _SETTINGS)
    other = _features(text="another text")
    assert linkdump.links_key([PackedLinks.pack(other)], _SETTINGS) != linkdump.links_key(
        [packed], _SETTINGS
    )
