"""`policygraph cache info` and `cache prune`: the cache stays as big as what builds use.

A build marks every entry it reads as used (its modification time); prune removes
entries no build used for the given days, temporary files of killed builds, and
nothing that the cache did not write.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from policygraph.outputledger import LEDGER_FOLDER, temporary_name
from policygraph.pipeline import build
from tests.conftest import BUNDLED
from tests.test_queries import policygraph

DAY = 86400


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("??/*.entry"))


def age(path: Path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    """A cache filled by one build of the bundled document."""
    folder = tmp_path / "cache"
    build([BUNDLED], out=tmp_path / "out", cache_dir=folder)
    assert entries(folder)
    return folder


def test_a_build_marks_the_entries_it_reads_as_used(cache: Path, tmp_path: Path) -> None:
    for entry in entries(cache):
        age(entry, 100)
    again = build([BUNDLED], out=tmp_path / "out", cache_dir=cache)
    assert again.cached == 1
    used = [e for e in entries(cache) if time.time() - e.stat().st_mtime < DAY]
    assert used  # the document's entry at least, read from the cache this time


def test_prune_removes_only_what_no_build_used(cache: Path, tmp_path: Path) -> None:
    current = entries(cache)
    shard = current[0].parent
    stale = shard / ("f" * 64 + ".entry")
    shutil.copy(current[0], stale)
    age(stale, 40)
    killed, writing = shard / ".tmp-killed", shard / ".tmp-writing"
    killed.write_bytes(b"half")
    age(killed, 2)
    writing.write_bytes(b"half")
    ledger = next((cache / LEDGER_FOLDER).glob("*.json"))
    killed_ledger = ledger.with_name(temporary_name(ledger.name, 4242))
    killed_ledger.write_text("{")
    age(killed_ledger, 2)
    strangers = [cache / "notes.txt", shard / "notes.txt", cache / "zz" / "keep.entry"]
    for path in strangers:
        path.parent.mkdir(exist_ok=True)
        path.write_text("not the cache's")
        age(path, 400)

    done = policygraph("cache", "prune", "--cache-dir", str(cache), "--unused-for", "30")
    assert done.returncode == 0, done.stderr
    assert "removed 3 files" in done.stdout
    assert not stale.exists() and not killed.exists() and not killed_ledger.exists()
    assert ledger.exists()
    assert writing.exists() and all(path.exists() for path in strangers)
    assert set(entries(cache)) - set(strangers) == set(current)
    again = build([BUNDLED], out=tmp_path / "out", cache_dir=cache)
    assert again.cached == len(again.documents) == 1


def test_prune_all_empties_the_cache_and_the_next_build_fills_it(
    cache: Path, tmp_path: Path
) -> None:
    done = policygraph("cache", "prune", "--cache-dir", str(cache), "--all")
    assert done.returncode == 0, done.stderr
    assert entries(cache) == []
    assert not list(cache.glob("??"))  # emptied shard folders go too
    again = build([BUNDLED], out=tmp_path / "out", cache_dir=cache)
    assert again.cached == 0 and entries(cache)


def test_info_counts_the_entries_and_their_bytes(cache: Path) -> None:
    done = policygraph("cache", "info", "--cache-dir", str(cache))
    assert done.returncode == 0, done.stderr
    assert f"{len(entries(cache))} entries" in done.stdout
    assert str(cache) in done.stdout


def test_an_absent_cache_is_empty_not_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "none"
    info = policygraph("cache", "info", "--cache-dir", str(missing))
    assert info.returncode == 0 and "0 entries" in info.stdout
    prune = policygraph("cache", "prune", "--cache-dir", str(missing), "--all")
    assert prune.returncode == 0 and "removed 0 files" in prune.stdout
    assert not missing.exists()


def test_the_search_state_goes_whole_once_unused(cache: Path, tmp_path: Path) -> None:
    search = cache / "search"
    state = search / "state.pickle"
    bases = list(search.glob("base-*"))
    assert state.is_file() and len(bases) == 1
    for file in bases[0].iterdir():
        age(file, 40)  # written by the last full search, long ago
    prune = ("cache", "prune", "--cache-dir", str(cache), "--unused-for", "30")
    assert policygraph(*prune).returncode == 0
    assert state.is_file() and any(bases[0].iterdir())  # the state was written lately
    age(state, 40)
    orphan = search / "base-orphan"  # vectors no state names, from a killed build
    orphan.mkdir()
    (orphan / "keys.npy").write_bytes(b"")
    age(orphan / "keys.npy", 40)
    assert policygraph(*prune).returncode == 0
    assert not search.exists()
    assert entries(cache)  # the documents' entries were used lately
    again = build([BUNDLED], out=tmp_path / "again", cache_dir=cache)
    assert again.cached == 1
