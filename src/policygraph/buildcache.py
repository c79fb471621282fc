"""The build cache: each document's record and dump pieces, kept under a content hash.

A corpus rebuild after one document changed should cost that document, not the
corpus. An entry is keyed by everything that decides a document's output: the bytes
and name of its source, the base IRI, the pinned build time (when
``SOURCE_DATE_EPOCH`` is set), whether pieces are compressed, and a fingerprint of the
tool itself — its code and every data file it reads (ontology, shapes, vocabularies,
context). Change any of those and the key changes; nothing needs invalidating.

When the build time is not pinned, it is left out of the key on purpose: a cached
document keeps the time its graph was generated (``prov:generatedAtTime``), which is
what that statement means.

An entry is one file: a magic line, the length of the pickled record, the record, then
the pieces back to back, so a build can copy a piece into a dump with
``os.copy_file_range`` (no trip through Python). Entries are written to a temporary
name and renamed, so a build killed mid-write leaves no torn entry. The cache is the
user's own folder (default ``$XDG_CACHE_HOME/policygraph``); pickle is safe there as
anywhere the user's own files are.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import re
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

from policygraph.docbuild import PIECES, BuildSettings, DocumentRecord
from policygraph.resources import data_dir

_MAGIC = b"policygraph-cache 1\n"
_LENGTH = struct.Struct(">Q")
_DATA_FOLDERS = ("ontology", "shapes", "vocab")
#: An entry is ``KEY[:2]/KEY.entry``; one being written is ``KEY[:2]/.tmp-…`` until renamed.
ENTRY_SUFFIX = ".entry"
TEMPORARY_PREFIX = ".tmp-"
#: The folder that keeps the similarity search's state (see ``similarity_update``).
SEARCH_FOLDER = "search"
#: The pieces of an entry that keeps only a record (a link index, the citations, ...).
NO_PIECES = {name: b"" for name in PIECES}
T = TypeVar("T")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/policygraph``, or ``~/.cache/policygraph``."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "policygraph"


@cache
def tool_fingerprint() -> str:
    """A hash of the code and data files that decide what a document becomes.

    The code is the modules the per-document stage imports, found by reading their
    import statements from ``docbuild`` on — not the whole package, so that a change to
    the server or the CLI does not make every cached document stale.
    """
    digest = hashlib.sha256()
    files = _stage_modules()
    for folder in _DATA_FOLDERS:
        files += sorted(p for p in data_dir(folder).rglob("*") if p.is_file())
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _stage_modules() -> list[Path]:
    """The source files of the modules whose output the cache keys (``docbuild``, and
    ``linkdump`` for the links) and of every policygraph module they import.

    The imports are read with a regular expression, not parsed: parsing every module
    took a quarter of a second of each build, a tenth of a rebuild after one change.
    A line that only looks like an import (in a docstring, say) adds a module to the
    fingerprint, which costs nothing but a cold cache when that module changes.
    """
    package = Path(__file__).resolve().parent
    seen: set[str] = set()
    todo = ["docbuild", "linkdump"]
    while todo:
        name = todo.pop()
        path = package / f"{name}.py"
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        for found in _IMPORT.finditer(path.read_text(encoding="utf-8")):
            module, names, imported = found.groups()
            if module or imported:
                todo.append(module or imported)
            else:  # from policygraph import a, b as c
                todo += [part.split()[0] for part in names.strip("()").split(",") if part.strip()]
    # __init__ holds the version that every document's provenance states.
    return sorted(package / f"{name}.py" for name in seen | {"__init__"})


#: ``from policygraph.x import …``, ``from policygraph import a, b`` (names in
#: parentheses may run over lines) and ``import policygraph.x``.
_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+policygraph(?:\.(\w+))?[ \t]+import[ \t]+(\([^)]*\)|[^\n#]*)"
    r"|import[ \t]+policygraph\.(\w+))",
    re.MULTILINE,
)


def entry_key(source: Path, settings: BuildSettings) -> str:
    """The cache key of ``source`` built with ``settings``."""
    digest = hashlib.sha256()
    pinned = os.environ.get("SOURCE_DATE_EPOCH") and settings.built_at.isoformat()
    for part in (
        tool_fingerprint(),
        settings.base_iri,
        pinned or "",
        "gzip" if settings.compress else "plain",
        source.name,
    ):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(source.read_bytes())
    return digest.hexdigest()


@dataclass
class Entry:
    """A cache entry on disk: where each piece sits in its file."""

    path: Path
    record: DocumentRecord
    offsets: dict[str, tuple[int, int]]  # piece name -> (offset, length)
    cached: bool = False  # read from an earlier build, not built by this one


class BuildCache:
    """A folder of entries, two levels deep by key so no folder grows too large."""

    def __init__(self, folder: Path, lasting: bool = True):
        self.folder = folder
        # False for a build's own temporary cache (``--no-cache``): nothing in it is read
        # again, so what only a later build would use (the search's state) is not kept
        self.lasting = lasting

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}{ENTRY_SUFFIX}"

    def has(self, key: str) -> bool:
        """Whether an entry for ``key`` is on disk (it may still turn out unreadable)."""
        return self._path(key).is_file()

    def get(self, key: str) -> Entry | None:
        """The entry for ``key``, or None when there is none (or it cannot be read)."""
        path = self._path(key)
        try:
            with path.open("rb") as handle:
                if handle.read(len(_MAGIC)) != _MAGIC:
                    return None
                (length,) = _LENGTH.unpack(handle.read(_LENGTH.size))
                record, sizes = pickle.loads(handle.read(length))
        except (OSError, EOFError, pickle.UnpicklingError, struct.error, ValueError):
            return None
        except Exception:  # an entry from another version of the classes: rebuild it
            return None
        start = len(_MAGIC) + _LENGTH.size + length
        _mark_used(path)
        return Entry(path, record, _offsets(start, sizes), cached=True)

    def kept(self, name: str, make: Callable[[], T]) -> T:
        """What ``make`` returns, made once per tool fingerprint and kept under ``name``:
        for what is slow to make and quick to read back (the compiled shapes)."""
        key = hashlib.sha256(f"{name}\0{tool_fingerprint()}".encode()).hexdigest()
        found = self.get(key)
        if found is not None:
            return found.record  # type: ignore[return-value]
        made = make()
        self.put(key, made, NO_PIECES)  # type: ignore[arg-type]
        return made

    def put(self, key: str, record: DocumentRecord, pieces: dict[str, bytes]) -> Entry:
        """Write an entry atomically and return it."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        sizes = [len(pieces[name]) for name in PIECES]
        head = pickle.dumps((record, sizes), protocol=pickle.HIGHEST_PROTOCOL)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=TEMPORARY_PREFIX)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(_MAGIC + _LENGTH.pack(len(head)) + head)
                for name in PIECES:
                    handle.write(pieces[name])
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return Entry(path, record, _offsets(len(_MAGIC) + _LENGTH.size + len(head), sizes))


def _mark_used(path: Path) -> None:
    """Set the entry's modification time to now: ``policygraph cache prune`` keeps what
    builds still read (see :mod:`policygraph.cacheprune`)."""
    with contextlib.suppress(OSError):  # a read-only cache still serves
        os.utime(path)


def _offsets(start: int, sizes: list[int]) -> dict[str, tuple[int, int]]:
    offsets = {}
    for name, size in zip(PIECES, sizes, strict=True):
        offsets[name] = (start, size)
        start += size
    return offsets
