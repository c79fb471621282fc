"""Where a large build cuts its dumps into parts, so a rebuild rewrites only what changed.

A corpus's dumps run to gigabytes. Written as one file each, a change to one document
means copying all of them again (over a minute at 10 000 documents), because the
document's bytes sit in the middle of every file. Written in parts of a few hundred
thousand triples, the same change rewrites one part of each dump, and the ledger
(:mod:`policygraph.outputledger`) keeps every other part as it was.

That only works if the cuts do not move when the corpus changes. So whether a part
ends after a piece (a document, or a chunk of similarity links) is decided by that
piece alone: a hash of its name drawn against its size, so a part ends after a piece
with a probability of the piece's triples over the part size. Parts then hold about
the part size on average; editing, adding or removing a document moves at most the
cut at that document, and every other part keeps its pieces. Counting pieces instead
would shift every cut after an added document.

Documents and link chunks never share a part (a changed document leaves the links'
parts alone, and a new similarity search leaves the documents'), and the tail — shared
resources, citations, vocabularies — is a part of its own, the last.

The links' parts are smaller than the documents'. An edit inside one measure's text
changes, besides that measure's own list, the lists of the few measures that list it,
and those lie anywhere in the links: the edit rewrites one part of documents and a few
parts of links, so the links' part size decides most of what is copied.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from policygraph.buildcache import Entry

#: Triples per part by default: ~70 MB of N-Quads, ~70 parts of each dump at 10 000
#: benchmark documents, and one file per dump below it (every small build).
DEFAULT_PART_TRIPLES = 250_000
#: Parts of links hold this fraction of the part size (see the module's docstring): at
#: 10,000 benchmark documents, about 75 parts of links in each dump instead of 25, and
#: an edit inside a measure's text copies about a third as much (bench/README.md).
LINK_PART_SHARE = 3
#: A part is ended anyway once it holds this many times the part size (a long run of
#: pieces whose draws all said "go on" would otherwise make one very large part).
_MAX_RUN = 4


@dataclass(frozen=True)
class Piece:
    """What the assembler knows of one cache entry besides its bytes."""

    entry: Entry
    name: str  # what decides the cut: a document's id, a link chunk's content key
    triples: int  # the entry's own triples, the weight of its draw
    ttl_prefixes: frozenset[str]  # the prefixes its Turtle uses
    trig_prefixes: frozenset[str]  # the prefixes its TriG uses


@dataclass(frozen=True)
class Part:
    """The pieces of one part; ``tail``: the part ends with the dumps' tail."""

    pieces: Sequence[Piece]
    tail: bool = False


def ends_part(piece: Piece, part_triples: int) -> bool:
    """Whether a part ends after ``piece``: true with probability triples / part size,
    decided by a hash of the piece's name, so the same piece always decides the same."""
    draw = int.from_bytes(hashlib.sha256(piece.name.encode("utf-8")).digest()[:8], "big")
    return draw * part_triples < piece.triples << 64


def _cut(pieces: Sequence[Piece], part_triples: int) -> list[Part]:
    parts: list[Part] = []
    current: list[Piece] = []
    size = 0
    for piece in pieces:
        current.append(piece)
        size += piece.triples
        if ends_part(piece, part_triples) or size >= _MAX_RUN * part_triples:
            parts.append(Part(current))
            current, size = [], 0
    if current:
        parts.append(Part(current))
    return parts


def plan(
    documents: Sequence[Piece], chunks: Sequence[Piece], tail_triples: int, part_triples: int
) -> list[Part] | None:
    """The parts of every dump, in order; None when each dump is one file — when
    ``part_triples`` is 0 or everything fits in one part."""
    total = sum(p.triples for p in documents) + sum(p.triples for p in chunks) + tail_triples
    if part_triples <= 0 or total <= part_triples:
        return None
    links = _cut(chunks, max(1, part_triples // LINK_PART_SHARE))
    return [*_cut(documents, part_triples), *links, Part((), tail=True)]
