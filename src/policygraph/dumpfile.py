"""A build's dump files, plain or gzip-compressed (``build --gzip``), found and read alike.

A publisher who builds with ``--gzip`` has ``policygraph.nq.gz`` where others have
``policygraph.nq``. Every reader of a build — ``query``, ``serve``, ``site``, ``load`` —
finds its dump and opens it here, so a compressed build answers exactly as the plain
one does, and none of them has its own idea of what a dump is called.

The dumps are written as concatenated gzip members (one per document piece), which is
one valid gzip stream: :mod:`gzip` reads it through, member after member.
"""

from __future__ import annotations

import glob
import gzip
import re
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

COMPRESSED_SUFFIX = ".gz"
#: What reading a damaged or truncated gzip dump raises (checked before other OSErrors).
DECOMPRESSION_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def is_compressed(path: Path) -> bool:
    return path.suffix == COMPRESSED_SUFFIX


def rdf_suffix(path: Path) -> str:
    """The suffix that says the RDF syntax: ``.nq`` for both ``a.nq`` and ``a.nq.gz``."""
    return Path(path.stem).suffix if is_compressed(path) else path.suffix


def find(folder: Path, name: str) -> Path | None:
    """``folder/name``, else its compressed twin ``folder/name.gz``, else None."""
    for candidate in (folder / name, folder / (name + COMPRESSED_SUFFIX)):
        if candidate.is_file():
            return candidate
    return None


def open_dump(path: Path) -> IO[bytes]:
    """The dump's bytes, decompressed as they are read when the file is gzip."""
    if is_compressed(path):
        return gzip.open(path, "rb")
    return path.open("rb")


@contextmanager
def source(path: Path) -> Iterator[dict[str, Any]]:
    """How to hand the file to pyoxigraph's ``parse`` or ``Store.load``: by its path when
    it is plain (pyoxigraph reads it itself, faster), else as a decompressing stream,
    closed when the block ends."""
    if not is_compressed(path):
        yield {"path": str(path)}
        return
    with open_dump(path) as handle:
        yield {"input": handle}


def parse(path: Path, rdf_format: Any) -> Iterator[Any]:
    """The dump's quads (or triples) as pyoxigraph parses them, the file closed after."""
    import pyoxigraph as ox

    with source(path) as given:
        yield from ox.parse(**given, format=rdf_format)


# -- dumps in parts ---------------------------------------------------------------
#
# A large build writes each dump as numbered parts: ``policygraph.nt`` becomes
# ``policygraph.0001.nt``, ``policygraph.0002.nt`` … (``policygraph.0001.nt.gz`` when
# compressed), each a complete file of its syntax. The number goes before the suffixes,
# so every tool that goes by a file's suffix reads a part as it reads a whole dump.

PART_DIGITS = 4


def part_name(name: str, number: int) -> str:
    """The name of part ``number`` (from 1) of the dump called ``name`` as one file."""
    stem, _, suffixes = name.partition(".")
    return f"{stem}.{number:0{PART_DIGITS}d}.{suffixes}"


def whole_name(name: str) -> str | None:
    """What the dump whose part is called ``name`` is called as one file; None when
    ``name`` is not a part's."""
    stem, _, rest = name.partition(".")
    number, _, suffixes = rest.partition(".")
    if len(number) < PART_DIGITS or not number.isdigit() or not suffixes:
        return None
    return f"{stem}.{suffixes}"


def by_dump(names: Iterable[str]) -> dict[str, list[str]]:
    """File names grouped by the dump they hold, sorted: a dump in parts under its name as
    one file, with its parts in order; any other file under its own name, alone."""
    grouped: dict[str, list[str]] = {}
    for name in sorted(names):
        grouped.setdefault(whole_name(name) or name, []).append(name)
    return dict(sorted(grouped.items()))


def find_all(folder: Path, name: str) -> list[Path]:
    """The files that hold dump ``name``, in order: the one file (or its gzip twin, see
    :func:`find`), else its parts, plain ones before gzip ones; [] when there are none."""
    single = find(folder, name)
    if single is not None:
        return [single]
    for whole in (name, name + COMPRESSED_SUFFIX):
        stem, _, suffixes = whole.partition(".")
        pattern = re.compile(rf"{re.escape(stem)}\.(\d{{{PART_DIGITS},}})\.{re.escape(suffixes)}")
        numbered = []
        for path in folder.glob(f"{glob.escape(stem)}.*.{glob.escape(suffixes)}"):
            matched = pattern.fullmatch(path.name)
            if matched and path.is_file():
                numbered.append((int(matched[1]), path))
        if numbered:
            return [path for _, path in sorted(numbered)]
    return []
