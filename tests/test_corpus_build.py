"""Building a corpus: parallel workers, the per-document cache, dumps assembled from pieces.

A corpus from ``bench/corpus.py`` (English and Chinese documents that cite each other)
is built several ways — one process or two, cold or from the cache, plain or gzip —
and the results are compared with each other and with each document built alone.
"""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from policygraph.errors import InputError, NonConformanceError
from policygraph.pipeline import build
from tests.support.corpus import folder_bytes, write_corpus

DUMPS = (
    "policygraph.nt",
    "policygraph.nq",
    "policygraph.ttl",
    "policygraph.trig",
    "policygraph.jsonld",
    "policygraph-entailed.nt",
)
CORPUS_SIZE = 8


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"), CORPUS_SIZE, 7)


@pytest.fixture(scope="module")
def pinned() -> pytest.MonkeyPatch:
    patch = pytest.MonkeyPatch()
    patch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    yield patch
    patch.undo()


@pytest.fixture(scope="module")
def parallel(corpus: Path, pinned: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("parallel")
    result = build([corpus], out=root / "out", cache_dir=root / "cache", jobs=2)
    return result, root


def _copy(corpus: Path, folder: Path) -> Path:
    """A copy of the corpus to edit, leaving the module's corpus as it is."""
    shutil.copytree(corpus, folder)
    return folder


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line]


def test_the_corpus_has_both_layouts(corpus: Path, parallel) -> None:
    result, _ = parallel
    assert len(result.documents) == CORPUS_SIZE
    assert {d.language for d in result.documents} == {"en", "zh"}
    assert result.cached == 0


def test_quads_are_the_sum_of_the_documents_graphs(parallel) -> None:
    """Each document's graph arrives whole in the dataset dumps; nothing else is added."""
    result, root = parallel
    out = root / "out"
    dataset = Dataset()
    dataset.parse(out / "policygraph.nq", format="nquads")
    per_graph = {str(g.identifier): len(g) for g in dataset.graphs() if len(g)}
    for doc in result.documents:
        graph = doc.iri.replace("/policy/", "/graph/")
        assert 0 < per_graph[graph] <= doc.triples  # less what it says of shared resources
    assert len(_lines(out / "policygraph.nq")) == result.quads
    assert sum(per_graph.values()) == result.quads
    # no statement is in two graphs: a query over their union counts each once
    statements = {(s, p, o) for s, p, o, _ in dataset.quads()}
    assert len(statements) == result.quads == result.triples


def test_union_dumps_hold_each_triple_once(parallel) -> None:
    result, root = parallel
    out = root / "out"
    lines = _lines(out / "policygraph.nt")
    assert len(lines) == len(set(lines)) == result.triples
    union = Graph()
    dataset = Dataset()
    dataset.parse(out / "policygraph.nq", format="nquads")
    for s, p, o, _ in dataset.quads():
        union.add((s, p, o))
    assert len(union) == result.triples
    void = Graph().parse(out / "void.ttl")
    stated = {
        int(o) for o in void.objects(None, Graph().namespace_manager.expand_curie("void:triples"))
    }
    assert stated == {result.triples}


@pytest.mark.parametrize(
    ("name", "fmt"), [("policygraph.ttl", "turtle"), ("policygraph.jsonld", "json-ld")]
)
def test_every_union_format_is_the_same_graph(parallel, name: str, fmt: str) -> None:
    _, root = parallel
    reference = Graph().parse(root / "out" / "policygraph.nt", format="nt")
    assert isomorphic(Graph().parse(root / "out" / name, format=fmt), reference)


def test_trig_is_the_same_dataset_as_nquads(parallel) -> None:
    _, root = parallel
    a, b = Dataset(), Dataset()
    a.parse(root / "out" / "policygraph.nq", format="nquads")
    b.parse(root / "out" / "policygraph.trig", format="trig")
    assert set(a.quads()) == set(b.quads())


def test_a_document_built_alone_is_its_graph_in_the_corpus(
    corpus: Path, parallel, tmp_path: Path
) -> None:
    result, root = parallel
    source = Path(result.documents[3].path)
    alone = build([source], out=tmp_path / "alone")
    assert alone.documents[0].triples == result.documents[3].triples
    corpus_data = Dataset()
    corpus_data.parse(root / "out" / "policygraph.nq", format="nquads")
    graph_iri = result.documents[3].iri.replace("/policy/", "/graph/")
    alone_data = Dataset()
    alone_data.parse(tmp_path / "alone" / "policygraph.nq", format="nquads")
    in_corpus = Graph()
    for s, p, o, g in corpus_data.quads():
        if str(g) == graph_iri:
            in_corpus.add((s, p, o))
    by_itself = Graph()
    for s, p, o, g in alone_data.quads():
        if str(g) == graph_iri:
            by_itself.add((s, p, o))
    assert isomorphic(in_corpus, by_itself)


def test_one_process_and_two_write_the_same_bytes(corpus: Path, parallel, tmp_path: Path) -> None:
    _, root = parallel
    build([corpus], out=tmp_path / "serial", jobs=1)
    assert folder_bytes(tmp_path / "serial") == folder_bytes(root / "out")


def test_a_rebuild_reuses_every_unchanged_document(corpus: Path, parallel, tmp_path: Path) -> None:
    _, root = parallel
    again = build([corpus], out=tmp_path / "again", cache_dir=root / "cache", jobs=2)
    assert again.cached == CORPUS_SIZE
    assert again.document_timings == {}  # no document stage ran
    assert again.similarity[0] == "cached"  # nor the similarity search
    assert folder_bytes(tmp_path / "again") == folder_bytes(root / "out")


def test_a_changed_document_is_rebuilt_and_only_it(corpus: Path, parallel, tmp_path: Path) -> None:
    result, root = parallel
    copy = _copy(corpus, tmp_path / "corpus")
    changed = copy / Path(result.documents[0].path).name
    text = changed.read_text(encoding="utf-8")
    changed.write_text(text + "\n", encoding="utf-8")  # one more byte: a new hash
    cache = tmp_path / "cache"
    build([copy], out=tmp_path / "first", cache_dir=cache)
    changed.write_text(text, encoding="utf-8")
    second = build([copy], out=tmp_path / "second", cache_dir=cache)
    assert second.cached == CORPUS_SIZE - 1
    # no measure's text changed: the similarity links are those of the first build
    assert second.similarity[0] == "cached"
    assert folder_bytes(tmp_path / "second") == folder_bytes(root / "out")


def test_only_a_lasting_cache_keeps_the_search_state(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search's state serves the next build; a build with its own temporary cache
    (``--no-cache``) has no next build, so it must not spend time writing one."""
    from policygraph import similarity_update

    saved: list[Path] = []
    real = similarity_update._save
    monkeypatch.setattr(
        similarity_update, "_save", lambda folder, *a: (saved.append(folder), real(folder, *a))
    )
    build([corpus], out=tmp_path / "fleeting")
    assert saved == []
    build([corpus], out=tmp_path / "kept", cache_dir=tmp_path / "cache")
    assert saved == [tmp_path / "cache" / "search"]
    assert (tmp_path / "cache" / "search" / "state.pickle").is_file()


def test_changed_measures_update_the_search_as_a_fresh_build_makes_it(
    corpus: Path, parallel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A measure's new wording updates the last search's lists (similarity_update), and
    the output is, byte for byte, what a build from scratch makes; so after each of a
    series of edits: an item heading, a body sentence, a document removed (which may
    search again, when it moves the number of measures to another bucket)."""
    import re

    from policygraph import similarity_update

    # a corpus this small searches in no time, and the update gives way to the search
    # after a few rescored sources; here it updates whenever it can
    monkeypatch.setattr(similarity_update, "RESCORED_SHARE", 1)
    copy = _copy(corpus, tmp_path / "corpus")
    cache = tmp_path / "cache"
    build([copy], out=tmp_path / "first", cache_dir=cache)
    english = [p for p in sorted(copy.iterdir()) if p.name.startswith("en-")]
    heading = re.compile(r"^(\d+\. \w+ .+) work$", re.M)  # an item heading of bench/corpus.py
    body = re.compile(r"(support pilot projects in )(\d+)")  # only in a measure's body
    edits = [(english[0], heading, r"\1 reform"), (english[-1], body, r"\g<1>1\2")]
    for step, (changed, rule, replacement) in enumerate([*edits, (english[1], None, "")]):
        if rule is None:
            changed.unlink()
        else:
            text = changed.read_text(encoding="utf-8")
            assert rule.search(text), changed.name
            changed.write_text(rule.sub(replacement, text, count=1), encoding="utf-8")
        again = build([copy], out=tmp_path / f"again-{step}", cache_dir=cache)
        if rule is not None:  # a removed document may move the count of measures to
            assert again.similarity[0] == "updated", step  # another bucket: a search
        fresh = build(
            [copy], out=tmp_path / f"fresh-{step}", cache_dir=tmp_path / f"fresh-{step}-c"
        )
        assert fresh.similarity[0] == "searched"
        assert folder_bytes(tmp_path / f"again-{step}") == folder_bytes(tmp_path / f"fresh-{step}")


def test_an_unchanged_rebuild_keeps_the_dumps_it_would_write(
    corpus: Path, parallel, tmp_path: Path
) -> None:
    """Dumps whose parts did not change are linked from the last output, not copied."""
    _, root = parallel
    out, cache = tmp_path / "out", tmp_path / "cache"
    first = build([corpus], out=out, cache_dir=cache)
    assert first.dumps_written == (len(DUMPS), len(DUMPS))
    inodes = {name: (out / name).stat().st_ino for name in DUMPS}
    again = build([corpus], out=out, cache_dir=cache)
    assert again.dumps_written == (0, len(DUMPS))
    assert {name: (out / name).stat().st_ino for name in DUMPS} == inodes
    assert folder_bytes(out) == folder_bytes(root / "out")
    # a published dump changed by hand is not trusted: it is written again
    (out / "policygraph.nt").write_bytes(b"")
    third = build([corpus], out=out, cache_dir=cache)
    assert third.dumps_written == (1, len(DUMPS))
    assert folder_bytes(out) == folder_bytes(root / "out")
    # another output folder has no dumps to keep
    elsewhere = build([corpus], out=tmp_path / "elsewhere", cache_dir=cache)
    assert elsewhere.dumps_written == (len(DUMPS), len(DUMPS))


def test_a_change_rewrites_every_dump(corpus: Path, parallel, tmp_path: Path) -> None:
    result, _ = parallel
    copy = _copy(corpus, tmp_path / "corpus")
    out, cache = tmp_path / "out", tmp_path / "cache"
    build([copy], out=out, cache_dir=cache)
    before = folder_bytes(out)
    changed = copy / Path(result.documents[-1].path).name
    changed.write_text(changed.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    second = build([copy], out=out, cache_dir=cache)
    assert second.dumps_written == (len(DUMPS), len(DUMPS))
    assert all(
        folder_bytes(out)[name] != before[name] for name in ("policygraph.nt", "policygraph.ttl")
    )
    fresh = tmp_path / "fresh"
    build([copy], out=fresh, cache_dir=tmp_path / "fresh-cache")
    assert folder_bytes(out) == folder_bytes(fresh)


def test_links_in_small_chunks_are_the_same_dataset(
    corpus: Path, parallel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks are cut between measures; however small, together they are the links graph."""
    from policygraph import linkdump

    result, root = parallel
    assert result.links.similar > 20  # enough links for many chunks
    monkeypatch.setattr(linkdump, "CHUNK_LINKS", 3)
    build([corpus], out=tmp_path / "small", jobs=2)
    for name in ("policygraph.nt", "policygraph.nq", "policygraph-entailed.nt"):
        small = _lines(tmp_path / "small" / name)
        assert len(small) == len(set(small))
        assert set(small) == set(_lines(root / "out" / name))
    chunked, whole = Dataset(), Dataset()
    chunked.parse(tmp_path / "small" / "policygraph.trig", format="trig")
    whole.parse(root / "out" / "policygraph.nq", format="nquads")
    assert len(chunked) == len(whole)
    assert set(chunked.quads()) == set(whole.quads())


def test_gzip_dumps_are_the_plain_dumps_compressed(corpus: Path, parallel, tmp_path: Path) -> None:
    _, root = parallel
    build([corpus], out=tmp_path / "gz", cache_dir=tmp_path / "cache", compress=True)
    for name in DUMPS:
        packed = (tmp_path / "gz" / f"{name}.gz").read_bytes()
        assert gzip.decompress(packed) == (root / "out" / name).read_bytes()


def test_a_defect_in_one_document_is_reported_with_its_file_and_line(
    corpus: Path, pinned, tmp_path: Path
) -> None:
    """An objective due in 1925 parses (it is a year) but is no plausible target year."""
    copy = tmp_path / "corpus"
    copy.mkdir()
    planted = None
    for source in sorted(corpus.iterdir()):
        text = source.read_text(encoding="utf-8")
        if planted is None and source.name.startswith("en-") and "By 20" in text:
            lines = text.split("\n")
            number = next(i for i, line in enumerate(lines, start=1) if "By 20" in line)
            lines[number - 1] = lines[number - 1].replace("By 20", "By 19", 1)
            text = "\n".join(lines)
            planted = (source.name, number)
        (copy / source.name).write_text(text, encoding="utf-8")
    assert planted is not None
    out = tmp_path / "out"
    with pytest.raises(NonConformanceError) as raised:
        build([copy], out=out, jobs=2)
    report = raised.value.report_text
    violations = [line for line in report.split("\n") if "Violation" in line]
    assert violations and all(
        line.strip().startswith(f"{planted[0]}:{planted[1]}:") for line in violations
    )
    assert "target year" in report
    assert not out.exists()


def test_a_bad_document_stops_the_build_and_keeps_the_last_good_one(
    corpus: Path, tmp_path: Path
) -> None:
    copy = _copy(corpus, tmp_path / "corpus")
    out = tmp_path / "out"
    build([copy], out=out, cache_dir=tmp_path / "cache")
    before = folder_bytes(out)
    (copy / "zz-broken.txt").write_bytes(b"\xff\xfe not text")
    with pytest.raises(InputError) as raised:
        build([copy], out=out, cache_dir=tmp_path / "cache", jobs=2)
    assert "zz-broken.txt" in str(raised.value)
    assert folder_bytes(out) == before


def test_the_cache_key_follows_the_document_stage_code_only() -> None:
    """The stage's modules and data files are in the fingerprint; the server is not."""
    from policygraph.buildcache import _stage_modules

    names = {path.name for path in _stage_modules()}
    assert {"parse.py", "graph.py", "shacl_compiled.py", "__init__.py", "linkdump.py"} <= names
    assert not names & {"serve.py", "cli.py", "load.py"}


def test_the_fingerprint_finds_every_import_a_parser_finds() -> None:
    """The fingerprint reads imports with a regular expression; Python's own parser,
    walked from the same modules, must find no module it misses."""
    import ast

    from policygraph.buildcache import _stage_modules

    package = Path(_stage_modules()[0]).parent
    seen: set[str] = set()
    todo = ["docbuild", "linkdump"]
    while todo:
        name = todo.pop()
        if name in seen or not (package / f"{name}.py").is_file():
            continue
        seen.add(name)
        for node in ast.walk(ast.parse((package / f"{name}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "policygraph":
                todo += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "policygraph."
            ):
                todo.append(node.module.split(".")[1])  # type: ignore[union-attr]
            elif isinstance(node, ast.Import):
                todo += [
                    a.name.split(".")[1] for a in node.names if a.name.startswith("policygraph.")
                ]
    assert {f"{name}.py" for name in seen} <= {path.name for path in _stage_modules()}
