"""A build made with ``--gzip`` is read by every reader exactly as the plain build is.

The readers (query, the query store that serve and query share, serve's dumps, site,
load) find ``policygraph.nq.gz`` where a plain build has ``policygraph.nq``; each is
checked against the plain build of the same document, and a damaged ``.gz`` gets one
line naming the file.
"""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from policygraph import store as stores
from policygraph.errors import PolicyGraphError
from policygraph.load import DumpReader, dump_files
from policygraph.query import run
from policygraph.site import write_site
from tests.conftest import BUNDLED, PINNED_EPOCH
from tests.support.served import request, serve
from tests.test_queries import CASES, case_id, comparable, policygraph, same_answer


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled document built with --gzip, at the pinned time of the session build."""
    out = tmp_path_factory.mktemp("gzip") / "build"
    env = {**os.environ, "SOURCE_DATE_EPOCH": PINNED_EPOCH}
    done = policygraph("build", str(BUNDLED), "-o", str(out), "--gzip", "-q", env=env)
    assert done.returncode == 0, done.stderr
    assert (out / "policygraph.nq.gz").is_file() and not (out / "policygraph.nq").exists()
    return out


def damaged(packed: Path, folder: Path) -> Path:
    """A build folder whose N-Quads dump stops half-way through its gzip stream."""
    folder.mkdir()
    data = (packed / "policygraph.nq.gz").read_bytes()
    (folder / "policygraph.nq.gz").write_bytes(data[: len(data) // 2])
    shutil.copy(packed / "void.ttl", folder / "void.ttl")
    return folder


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_query_answers_as_on_the_plain_build(case, packed: Path, build_dir: Path):
    name, params = case
    plain = comparable(run(name, data=[build_dir], params=params))
    assert same_answer(plain, comparable(run(name, data=[packed], params=params)))


@pytest.mark.parametrize("dump", ["policygraph.ttl.gz", "policygraph.trig.gz", "policygraph.nt.gz"])
def test_a_compressed_file_named_with_data_is_read_by_its_inner_suffix(dump, packed, build_dir):
    plain = comparable(run("toc", data=[build_dir / dump.removesuffix(".gz")]))
    assert same_answer(plain, comparable(run("toc", data=[packed / dump])))


def test_the_query_store_is_made_from_the_compressed_dump(
    packed: Path, build_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "build"
    data.mkdir()
    shutil.copy(packed / "policygraph.nq.gz", data)
    monkeypatch.setattr(stores, "IN_MEMORY_BELOW", 0)
    monkeypatch.setattr(stores, "CHUNK_BYTES", 64 * 1024)  # several chunks across members
    location = stores.locate(data, notice=lambda message: None)
    assert location.persistent
    made = location.open()
    plain = ox.Store()
    plain.load(path=str(build_dir / "policygraph.nq"), format=ox.RdfFormat.N_QUADS)
    assert len(made) == len(plain)
    assert set(made) == set(plain)


def test_a_damaged_compressed_dump_makes_no_store(
    packed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = damaged(packed, tmp_path / "build")
    monkeypatch.setattr(stores, "IN_MEMORY_BELOW", 0)
    with pytest.raises(stores.StoreError) as caught:
        stores.locate(data, notice=lambda message: None)
    assert caught.value.path == str(data / "policygraph.nq.gz")
    assert "decompress" in str(caught.value)
    assert not (data / stores.STORE_DIR).exists()


def test_a_damaged_compressed_dump_is_one_line(packed: Path, tmp_path: Path) -> None:
    data = damaged(packed, tmp_path / "build")
    done = policygraph("query", "toc", "--data", str(data))
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(data / "policygraph.nq.gz") in done.stderr


def test_load_reads_the_compressed_dump_as_the_plain_one(packed: Path, build_dir: Path) -> None:
    def chunks(data: Path) -> tuple[list[tuple[str, int, bytes]], dict[str, int]]:
        reader = DumpReader(dump_files(data), chunk_size=50)
        sent = [(c.graph, c.number, c.data) for c in reader.chunks()]
        return sent, {iri: graph.expected for iri, graph in reader.graphs.items()}

    assert [p.name for p in dump_files(packed)] == ["policygraph.nq.gz"]
    plain, packed_chunks = chunks(build_dir), chunks(packed)
    assert packed_chunks == plain
    assert len(plain[0]) > len(plain[1])  # several chunks per graph, so the test has teeth


def test_load_names_a_damaged_compressed_dump(packed: Path, tmp_path: Path) -> None:
    data = damaged(packed, tmp_path / "build")
    with pytest.raises(PolicyGraphError) as caught:
        list(DumpReader(dump_files(data), chunk_size=50).chunks())
    assert caught.value.path == str(data / "policygraph.nq.gz")


def test_serve_lists_and_sends_the_compressed_dumps(packed: Path) -> None:
    names = sorted(p.name for p in packed.iterdir() if p.name.endswith(".gz"))
    assert len(names) >= 5
    with serve(packed) as served:
        home = request(served.url).text()
        assert all(f"/dumps/{name}" in home for name in names)
        for name in names:
            reply = request(f"{served.url}dumps/{name}")
            assert reply.status == 200, name
            assert reply.media_type == "application/gzip"
            assert reply.headers.get("Content-Encoding") is None  # the file, as it is
            assert reply.body == (packed / name).read_bytes()
        answer = request(f"{served.url}id/policy/2017-launching-quality-improving-action")
        assert answer.status in (200, 303)


def test_site_is_written_from_the_compressed_build(
    packed: Path, build_dir: Path, tmp_path: Path
) -> None:
    from_packed = write_site(packed, tmp_path / "packed")
    from_plain = write_site(build_dir, tmp_path / "plain")
    assert from_packed.pages == from_plain.pages and from_plain.pages
    for name in from_packed.dumps:
        if name.endswith(".gz"):
            body = gzip.decompress((tmp_path / "packed" / "dumps" / name).read_bytes())
            assert body == (build_dir / name.removesuffix(".gz")).read_bytes()


def test_a_rebuild_that_keeps_the_compressed_dump_keeps_its_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from policygraph.pipeline import build

    monkeypatch.setattr(stores, "IN_MEMORY_BELOW", 0)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", PINNED_EPOCH)
    out, cache = tmp_path / "out", tmp_path / "cache"
    build([BUNDLED], out=out, cache_dir=cache, compress=True)
    made: list[str] = []
    stores.locate(out, notice=made.append)
    assert made  # made once, from policygraph.nq.gz
    again = build([BUNDLED], out=out, cache_dir=cache, compress=True)
    assert again.dumps_written[0] == 0
    remade: list[str] = []
    assert stores.locate(out, notice=remade.append).persistent
    assert remade == []  # the store came along with the kept dump
