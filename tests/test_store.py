"""The persistent store of a build: made once, reused, remade when the dump changes, never half.

The bundled build is far below the size at which a store is made, so these tests lower
the threshold to 0 and cut the dump into small chunks, so that a copy of the bundled
build is loaded the way a corpus build is: in many pieces, on several threads.
Every expectation is read from an independent in-memory load of the same dump.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
from pathlib import Path

import pyoxigraph as ox
import pytest

from policygraph import store as stores
from policygraph.errors import PolicyGraphError
from policygraph.lod import describe, graph_sizes, load_build, read_base

EXTRA = (
    "<https://example.org/s> <https://example.org/p> "
    '"added after the store was made" <https://example.org/graph/extra> .\n'
)


@pytest.fixture
def big(tmp_path: Path, build_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the session's build that counts as large: it gets a persistent store."""
    data = tmp_path / "build"
    data.mkdir()
    for name in ("policygraph.nq", "void.ttl"):
        shutil.copy(build_dir / name, data / name)
    monkeypatch.setattr(stores, "IN_MEMORY_BELOW", 0)
    monkeypatch.setattr(stores, "CHUNK_BYTES", 64 * 1024)  # ~11 chunks
    monkeypatch.setattr(stores, "LOAD_THREADS", 2)
    return data


def in_memory(dump: Path) -> ox.Store:
    store = ox.Store()
    store.load(path=str(dump), format=ox.RdfFormat.N_QUADS)
    return store


def quads(store: ox.Store) -> set[str]:
    return {str(quad) for quad in store}


def made_at(data: Path) -> tuple[int, int]:
    """When the store's marker was written, and its inode: both change when it is remade."""
    stat = (data / stores.STORE_DIR / stores.MARKER).stat()
    return stat.st_mtime_ns, stat.st_ino


def test_a_small_build_is_loaded_into_memory(build_dir: Path) -> None:
    location = stores.locate(build_dir)
    assert not location.persistent
    assert not (build_dir / stores.STORE_DIR).exists()
    assert quads(location.open()) == quads(in_memory(build_dir / "policygraph.nq"))


def test_the_store_holds_the_dump_and_counts_its_graphs(big: Path) -> None:
    said: list[str] = []
    location = stores.locate(big, notice=said.append)
    assert location.persistent and location.store == big / stores.STORE_DIR
    expected = in_memory(big / "policygraph.nq")
    assert quads(location.open()) == quads(expected)
    assert location.graph_sizes() == graph_sizes(expected)
    assert any("making" in line for line in said)
    assert not list(big.glob(f"{stores.STORE_DIR}.*")), "a temporary folder was left behind"


def test_a_second_start_reuses_the_store(big: Path) -> None:
    stores.locate(big)
    first = made_at(big)
    said: list[str] = []
    location = stores.locate(big, notice=said.append)
    assert made_at(big) == first
    assert said == []
    assert len(location.open()) == len(in_memory(big / "policygraph.nq"))


def test_a_changed_dump_makes_it_again(big: Path) -> None:
    stores.locate(big)
    first = made_at(big)
    with (big / "policygraph.nq").open("a", encoding="utf-8") as dump:
        dump.write(EXTRA)
    location = stores.locate(big)
    assert made_at(big) != first
    expected = in_memory(big / "policygraph.nq")
    assert quads(location.open()) == quads(expected)
    assert location.graph_sizes() == graph_sizes(expected)
    assert "https://example.org/graph/extra" in location.graph_sizes()


def test_a_half_made_store_is_not_used(big: Path) -> None:
    """A folder without its marker, as a killed maker would leave it, is made again."""
    half = big / stores.STORE_DIR / stores.DATABASE
    half.parent.mkdir()
    partial = ox.Store(str(half))
    partial.add(
        ox.Quad(ox.NamedNode("https://example.org/half"), ox.NamedNode("urn:p"), ox.Literal("x"))
    )
    del partial
    stale = big / f"{stores.STORE_DIR}.new-killed"
    (stale / stores.DATABASE).mkdir(parents=True)
    location = stores.locate(big)
    assert (big / stores.STORE_DIR / stores.MARKER).is_file()
    assert quads(location.open()) == quads(in_memory(big / "policygraph.nq"))
    assert not stale.exists()


def test_a_store_that_does_not_open_is_made_again(big: Path) -> None:
    stores.locate(big)
    first = made_at(big)
    (big / stores.STORE_DIR / stores.DATABASE / "CURRENT").unlink()
    location = stores.locate(big)
    assert made_at(big) != first
    assert len(location.open()) == len(in_memory(big / "policygraph.nq"))


def test_processes_starting_together_make_it_once(big: Path) -> None:
    said: list[str] = []
    threads = [threading.Thread(target=stores.locate, args=(big, said.append)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum("making" in line for line in said) == 1


def test_a_syntax_error_names_its_line_in_the_whole_dump(big: Path) -> None:
    dump = big / "policygraph.nq"
    lines = dump.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = len(lines) - 5  # far past the first chunk
    lines[bad - 1] = '<https://example.org/s> <https://example.org/p> "unclosed .\n'
    dump.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(PolicyGraphError) as caught:
        stores.locate(big)
    assert f"policygraph.nq:{bad}:" in str(caught.value)
    assert not (big / stores.STORE_DIR).exists()
    assert not list(big.glob(f"{stores.STORE_DIR}.*"))


def test_a_folder_it_cannot_write_falls_back_to_memory(
    big: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*args: object, **kwargs: object) -> str:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(stores.tempfile, "mkdtemp", read_only)
    said: list[str] = []
    location = stores.locate(big, notice=said.append)
    assert not location.persistent
    assert any("memory" in line for line in said)
    assert len(location.open()) == len(in_memory(big / "policygraph.nq"))


def test_the_build_view_adds_the_description_to_the_store(big: Path) -> None:
    """Pages see the VoID description (default graph) over the read-only store."""
    view = load_build(big)
    small = in_memory(big / "policygraph.nq")
    small.load(path=str(big / "void.ttl"), format=ox.RdfFormat.TURTLE, to_graph=ox.DefaultGraph())
    assert {str(q) for q in view} == quads(small)
    base = read_base(big, view)
    assert describe(view, base + "dataset") == describe(small, base + "dataset")
    assert graph_sizes(view) == graph_sizes(small)


def test_the_server_and_its_workers_read_one_store(big: Path) -> None:
    from policygraph.serve import ServeConfig, Server
    from policygraph.sparql_pool import SPARQL_JSON, QueryJob

    app = Server(ServeConfig(data=big, workers=2))
    app.start()
    try:
        assert app.location.persistent
        database = str((big / stores.STORE_DIR / stores.DATABASE).resolve())
        for pid in app.pool.pids:
            opened = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
            assert any(path.startswith(database) for path in opened), pid
        job = QueryJob("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }", "SELECT", SPARQL_JSON, 10)
        answer = app.pool.run(job)
        expected = len(in_memory(big / "policygraph.nq"))  # the VoID description is not in it
        assert f'"value": "{expected}"' in answer.body.decode("utf-8")
    finally:
        app.close()
    first = made_at(big)
    again = Server(ServeConfig(data=big))
    assert made_at(big) == first and again.location == app.location


def test_query_reads_a_build_from_its_store(big: Path) -> None:
    from policygraph.query import run

    from_store = run("theme-counts", data=[big])
    assert (big / stores.STORE_DIR / stores.MARKER).is_file()
    from_file = run("theme-counts", data=[big / "policygraph.nq"])  # a file: in memory
    assert from_store.rows and sorted(map(str, from_store.rows)) == sorted(map(str, from_file.rows))


def test_a_rebuild_that_keeps_the_dump_keeps_its_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unchanged rebuild keeps the N-Quads file, so the store made from it stays; a
    rebuild that writes the dump again leaves the store behind with the old build."""
    from policygraph.pipeline import build

    monkeypatch.setattr(stores, "IN_MEMORY_BELOW", 0)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1800000000")
    out, cache = tmp_path / "out", tmp_path / "cache"
    build(out=out, cache_dir=cache)
    stores.locate(out)
    first = made_at(out)
    again = build(out=out, cache_dir=cache)
    assert again.dumps_written[0] == 0
    assert not any(p.name.startswith(".") for p in again.files)
    said: list[str] = []
    location = stores.locate(out, notice=said.append)
    assert made_at(out) == first and said == []  # the same store, not made again
    assert quads(location.open()) == quads(in_memory(out / "policygraph.nq"))
    build(out=out, cache_dir=tmp_path / "other-cache")  # no ledger there: dumps written
    assert not (out / stores.STORE_DIR).exists()


def test_the_graphs_of_a_chunk_are_read_whatever_the_order_of_its_lines() -> None:
    """The store records which graphs each file holds by skipping over runs of lines in
    one graph; lines in any order give what reading every line gives."""
    import random
    import re

    every_line = re.compile(rb" <([^<>\s]*)> \.[ \t]*\r?(?:\n|\Z)")

    def quad(graph: str, obj: str) -> bytes:
        return f"<https://example.org/s> <https://example.org/p> {obj} <{graph}> .\n".encode()

    shuffled = random.Random(7)
    chunks = [b"", quad("g", "<o>").rstrip(b"\n"), quad("g", '"x"').replace(b".\n", b".\r\n")]
    chunks.append(b"<https://example.org/s> <https://example.org/p> <https://example.org/g> .\n")
    for _ in range(300):
        runs = [
            quad(shuffled.choice("abcd"), shuffled.choice(['"x"', "<o>", '"y"@en']))
            * shuffled.randint(1, 3000)
            for _ in range(shuffled.randint(1, 8))
        ]
        chunks.append(b"".join(runs))
    for chunk in chunks:
        assert stores._graphs_in(chunk) == set(every_line.findall(chunk))
