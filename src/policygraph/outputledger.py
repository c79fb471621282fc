"""Which dump files of the last build can stand unchanged, so a rebuild does not copy them.

A corpus's dumps run to gigabytes, and rewriting them costs more than every other
step of a rebuild in which nothing changed. Each dump is a concatenation of known
parts — a header, cache entries' pieces, a tail — so a build can say, before
writing a byte, what a dump will hold: its *recipe*, a hash of the header and tail
texts and of the identity of every piece (the cache entry's file and where the piece
lies in it). The ledger keeps, per output folder, each dump's recipe and the file it
was written to (size, modification time, inode). A later build whose recipe for a dump
is the same, finding that same file still in the output, hard-links it into the
staging folder instead of writing it: the published bytes are those the build would
write, and the atomic swap of the output folder is unchanged.

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

_VERSION = 1
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


def recipe(name: str, head: str, pieces: Iterable[tuple[str, int, int]], tail: str) -> str:
    """The hash of what dump ``name`` is made of: its header text, its pieces — each
    (:func:`piece_source` of its entry, offset, length) — and its tail text.

    Texts are hashed before any compression: the name says whether the file is gzip,
    and the compression of a text is fixed (no timestamp).
    """
    digest = hashlib.sha256(f"{_VERSION}\0{name}\0".encode())
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
        """Hard-link into ``staging`` each published file whose recipe is the same; the
        names of the files linked."""
        linked: set[str] = set()
        for name, held in self._read().items():
            if not isinstance(held, dict) or recipes.get(name) != held.get("recipe"):
                continue
            published = self.out / name
            try:
                found = published.stat()
                if [found.st_size, found.st_mtime_ns, found.st_ino] != held.get("stat"):
                    continue
                os.link(published, staging / name)
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
