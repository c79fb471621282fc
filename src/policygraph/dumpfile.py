"""A build's dump files, plain or gzip-compressed (``build --gzip``), found and read alike.

A publisher who builds with ``--gzip`` has ``policygraph.nq.gz`` where others have
``policygraph.nq``. Every reader of a build — ``query``, ``serve``, ``site``, ``load`` —
finds its dump and opens it here, so a compressed build answers exactly as the plain
one does, and none of them has its own idea of what a dump is called.

The dumps are written as concatenated gzip members (one per document piece), which is
one valid gzip stream: :mod:`gzip` reads it through, member after member.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
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
