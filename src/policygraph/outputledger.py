"""Which dump files of the last build can stand unchanged, so a rebuild does not copy them.

A corpus's dumps run to gigabytes, and rewriting them costs more than every other
step of a rebuild in which nothing changed. Each dump file (a whole dump, or one part
of a large one: :mod:`policygraph.dumpparts`) is a concatenation of a header, cache
entries' pieces and a tail, so a build can say, before writing a byte, what a file will
hold: its *recipe*, a hash of the header and tail texts and of the identity of every
piece (the cache entry's file and where the piece lies in it). The ledger keeps, per
output folder, each file's recipe and what the file was on disk (size, modification
time, inode). A later build with the same recipe, finding that same file still in the
output, hard-links it into the staging folder instead of writing it — under the name
the new build gives it — so the published bytes are those the build would write, and
the atomic swap of the output folder is unchanged.

The ledger lives in the build cache, not in the output, so the published folder
holds only what is published. A file changed since it was recorded (size, time or
inode differ), a recipe that differs, or a file system without hard links: the dump
is written as usual.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

#: The ledgers' folder inside the build cache: one ``(hash of the output path).json`` each.
LEDGER_FOLDER = "outputs"

_VERSION = 2  # 2: recipes name the dump, not the file; parts
_TEMPORARY = re.compile(r"^\.[0-9a-f]+\.json\.[0-9]+\.tmp$")


def temporary_name(ledger_name: str, pid: int) -> str:
    """The name a ledger is written under before it is renamed into place."""
    return f".{ledger_name}.{pid}.tmp"


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a ledger being written, or one a killed build left behind."""
    return _TEMPORARY.match(name) is not None


def piece_source(path: Path) -> str:
    """What identifies the bytes of a cache entry file: its name (the content key), inode
    and size. Entries are replaced by rename, never rewritten in place."""
    found = path.stat()
    return f"{path.name}\0{found.st_ino}\0{found.st_size}"


def recipe(
    kind: str,
    head: str,
    pieces: Iterable[tuple[str, int, int]],
    tail: str,
    trimmed: bool = False,
) -> str:
    """The hash of what a dump file is made of: the dump it belongs to (``kind``: its
    name as one file, which says its syntax and compression), its header text, its
    pieces — each (:func:`piece_source` of its entry, offset, length) — its tail text,
    and whether the last JSON-LD piece lost its separator (a part without the tail).

    The file's own name is left out: a part that holds the same pieces as a part of
    the last build, under another number, is the same file. Texts are hashed before
    any compression: the kind says whether the file is gzip, and the compression of a
    text is fixed (no timestamp).
    """
    digest = hashlib.sha256(f"{_VERSION}\0{kind}\0{int(trimmed)}\0".encode())
    for text in (head, tail):
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "big") + data)
    for source, offset, length in pieces:
        digest.update(f"{source}\0{offset}\0{length}\n".encode())
    return digest.hexdigest()


class OutputLedger:
    """The recipes of the dumps last published into one output folder."""

    def __init__(self, cache_folder: Path, out: Path):
        self.out = out.resolve()
        key = hashlib.sha256(str(self.out).encode("utf-8")).hexdigest()[:32]
        self.path = cache_folder / LEDGER_FOLDER / f"{key}.json"

    def _read(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("out") != str(self.out):
            return {}
        files = data.get("files")
        return files if isinstance(files, dict) else {}

    def link_unchanged(self, recipes: dict[str, str], staging: Path) -> set[str]:
        """Hard-link into ``staging`` each file whose recipe is that of a published file
        (under the new name: a part may have moved up or down a number); the names of the
        files linked."""
        published: dict[str, tuple[str, object]] = {}
        for name, held in self._read().items():
            if isinstance(held, dict) and isinstance(held.get("recipe"), str):
                published[held["recipe"]] = (name, held.get("stat"))
        linked: set[str] = set()
        for name, made_of in recipes.items():
            if made_of not in published:
                continue
            old_name, stat = published[made_of]
            source = self.out / old_name
            try:
                found = source.stat()
                if [found.st_size, found.st_mtime_ns, found.st_ino] != stat:
                    continue
                os.link(source, staging / name)
            except OSError:
                continue
            linked.add(name)
        return linked

    def record(self, recipes: dict[str, str]) -> None:
        """Note the recipes of the files now published (after the output was swapped in)."""
        files: dict[str, object] = {}
        for name, made_of in recipes.items():
            try:
                found = (self.out / name).stat()
            except OSError:
                continue
            files[name] = {
                "recipe": made_of,
                "stat": [found.st_size, found.st_mtime_ns, found.st_ino],
            }
        temporary = self.path.with_name(temporary_name(self.path.name, os.getpid()))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps({"out": str(self.out), "files": files}), "utf-8")
            os.replace(temporary, self.path)
        except OSError:  # only a saving lost: the next build writes every dump
            temporary.unlink(missing_ok=True)
