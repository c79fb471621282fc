"""The similarity links of a build, written the way documents are: in chunks, in parallel.

A corpus of thousands of documents has hundreds of thousands of similarity links, some
nine statements each — as many triples as the documents themselves. Held as one graph,
validated and serialised in one process, they were the build's memory peak and most of
an unchanged rebuild's time. So the links are cut into chunks of a few thousand (never
splitting one measure's links, which keeps each subject's statements together), and
each chunk is treated like a document: its triples made straight as pyoxigraph terms,
validated against the shapes, serialised into a piece per dump and kept in the build
cache. The dumps copy the pieces in order, as they copy documents' pieces.

A chunk's statements are about the similar measure's record and its source measure,
subjects no document and no other chunk states anything of, so the chunks' triples are
disjoint from the documents', from the shared tail and from each other; that is what
lets their pieces be concatenated into union dumps that hold each triple once.

The search for similar measures reads every document (its TF-IDF weights are corpus
wide). When no measure changed, the search's outcome is found in the cache under a key
made of the documents' digests of their measures, and nothing about the links is
computed again. When some changed, the last search's lists are updated from the state
it left in the cache (:mod:`policygraph.similarity_update`), or the search runs again
when the update cannot be exact. Chunks are cut where their content says (see
:func:`_cuts`) and cached by their content, so only the chunks whose links changed
are validated and written again. The citations are small, but finding them normalises
every title and number of the corpus; they are kept in the cache the same way, under
the documents' digests of what they name and how they are named.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

import numpy as np
import pyoxigraph as ox

from policygraph import export
from policygraph.buildcache import (
    NO_PIECES,
    SEARCH_FOLDER,
    BuildCache,
    Entry,
    tool_fingerprint,
)
from policygraph.docbuild import BuildSettings, DocumentStats, triple_stats
from policygraph.entailment import entailed_from
from policygraph.iris import Iris
from policygraph.links import (
    DocumentLinks,
    LinkSummary,
    PackedLinks,
    cite_documents,
    similarity_statements,
    unpacked,
)
from policygraph.shacl_compiled import keep_compiled
from policygraph.similarity import TOP_K, MeasureText, Ranked, Similarity
from policygraph.similarity_update import Document, ranked_lists
from policygraph.workers import between_tasks, can_fork, forked_pool

#: Similarity links per chunk: about 4,700 triples, a fraction of a second of work. An
#: edit inside a measure's text changes the links of a few sources, spread over a few
#: chunks, and each is validated and written again: small chunks keep that quick.
CHUNK_LINKS = 500
#: Fewer chunks than this are made in this process: a forked worker's start (the fork of
#: a large process, and setting up the validator in it) costs about as much as this many
#: chunks, and after an edit one to three chunks are typical (bench/README.md).
IN_PROCESS = 8
_XSD_DECIMAL = ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")


@dataclass
class LinkChunk:
    """What the build keeps of one chunk besides its pieces."""

    triples: int
    report: Any  # shacl.ValidationReport
    stats: DocumentStats
    ttl_prefixes: set[str]
    trig_prefixes: set[str]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class LinkOutcome:
    """The chunks of a build's similarity links, and what it took to get them."""

    entries: list[Entry]
    similar: int  # links
    how: str  # "cached" (the whole outcome), "updated" (the last lists) or "searched"
    written: int  # chunks validated and serialised this time (the others were cached)


@dataclass
class LinkIndex:
    """The outcome of one similarity search: how many links, and the keys of its chunks."""

    similar: int
    chunks: list[str]


def links_key(features: Sequence[DocumentLinks | PackedLinks], settings: BuildSettings) -> str:
    """The cache key of the similarity links between the measures of ``features``.

    The search reads nothing of a document but its measures' IRIs, policies, themes and
    text, and each document carries a digest of those (``measures_digest``), so the key
    is made of the digests in build order: a change elsewhere in a document (its title,
    date, targets outside a measure's text, a typo in its preamble) does not search again.
    """
    digest = hashlib.sha256(b"similarity links\0")
    for part in (tool_fingerprint(), settings.base_iri, str(settings.compress)):
        digest.update(part.encode("utf-8") + b"\0")
    for document in features:
        digest.update(document.measures_digest)
    return digest.hexdigest()


def similarity_entries(
    features: Sequence[DocumentLinks | PackedLinks],
    settings: BuildSettings,
    cache: BuildCache,
    jobs: int,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> LinkOutcome:
    """The chunks of this build's similarity links, from the cache or made now.
    ``features`` are the documents' link features, in build order.
    """
    key = links_key(features, settings)
    found = _cached(cache, key)
    if found is not None:
        return found
    documents = [Document(f.measures_digest, _measures_of(f)) for f in features]
    state = cache.folder / SEARCH_FOLDER if cache.lasting else None
    found = ranked_lists(documents, state, tool_fingerprint(), jobs=jobs)
    ranked, identities = found.ranked, found.identities
    listed = np.flatnonzero(ranked.target[:, 0] >= 0)  # the sources with links
    counts = (ranked.target[listed] >= 0).sum(axis=1)
    cuts = list(_cuts([found.iris[i] for i in listed.tolist()], counts.tolist()))
    keys = [_chunk_key(ranked, listed[lo:hi], identities, settings) for lo, hi in cuts]
    entries = [_chunk_entry(cache, chunk_key) for chunk_key in keys]
    # only the chunks not in the cache are made into links, validated and written
    tasks = [
        (i, keys[i], listed[lo:hi])
        for i, ((lo, hi), entry) in enumerate(zip(cuts, entries, strict=True))
        if entry is None
    ]
    progress(0, len(tasks))
    for done, (index, entry) in enumerate(_run(tasks, ranked, settings, cache, jobs), start=1):
        entries[index] = entry
        progress(done, len(tasks))
    similar = int(counts.sum())
    cache.put(key, LinkIndex(similar, keys), NO_PIECES)
    how = "searched" if found.searched else "updated"
    return LinkOutcome(entries, similar, how, len(tasks))  # type: ignore[arg-type]


@dataclass
class Citations:
    """The citations between a build's documents, checked and ready for the dumps."""

    lines: list[str]  # canonical N-Triples lines, sorted
    summary: LinkSummary
    report: Any  # shacl.ValidationReport


def citations(
    features: Sequence[DocumentLinks | PackedLinks],
    iris: Iris,
    settings: BuildSettings,
    cache: BuildCache,
) -> Citations:
    """The citations between the documents of ``features``, validated; from the cache when
    no document changed what it names or how it is named (``policies_digest``)."""
    from policygraph.shacl import validate_graph

    digest = hashlib.sha256(b"citations\0")
    for part in (tool_fingerprint(), iris.base):
        digest.update(part.encode("utf-8") + b"\0")
    for document in features:
        digest.update(document.policies_digest)
    key = digest.hexdigest()
    found = cache.get(key)
    if found is not None and isinstance(found.record, Citations):
        return found.record
    graph, summary = cite_documents(unpacked(features), iris)
    lines = export.ntriples_lines(export.sorted_triples(graph))
    made = Citations(lines, summary, validate_graph(graph) if len(graph) else None)
    cache.put(key, made, NO_PIECES)
    return made


def _cached(cache: BuildCache, key: str) -> LinkOutcome | None:
    index = cache.get(key)
    if index is None or not isinstance(index.record, LinkIndex):
        return None
    entries = [_chunk_entry(cache, chunk) for chunk in index.record.chunks]
    if any(entry is None for entry in entries):
        return None
    return LinkOutcome(entries, index.record.similar, "cached", 0)  # type: ignore[arg-type]


def _chunk_entry(cache: BuildCache, key: str) -> Entry | None:
    entry = cache.get(key)
    return entry if entry is not None and isinstance(entry.record, LinkChunk) else None


def _measures_of(
    features: DocumentLinks | PackedLinks,
) -> Callable[[], Sequence[MeasureText]]:
    """A document's measures, unpacked when asked for (an update asks only for the
    documents whose measures changed)."""
    return lambda: unpacked([features])[0].measures


def _chunk_key(
    ranked: Ranked, sources: np.ndarray, identities: np.ndarray, settings: BuildSettings
) -> str:
    """A chunk's cache key: what its links are made of (each link's two measures and
    rounded cosine, in order) and what decides how they are written. Computed from the
    ranked lists, so that a chunk found in the cache is never made into links."""
    digest = hashlib.sha256(b"similarity chunk\0")
    for part in (tool_fingerprint(), settings.base_iri, str(settings.compress)):
        digest.update(part.encode("utf-8") + b"\0")
    targets = ranked.target[sources]
    held = targets >= 0
    source = np.broadcast_to(sources[:, None], targets.shape)[held]
    digest.update(identities[source].tobytes())
    digest.update(identities[targets[held]].tobytes())
    digest.update(ranked.text[sources][held].astype("<i8").tobytes())
    return digest.hexdigest()


def _cuts(sources: Sequence[str], counts: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Where to cut the links of ``sources`` (IRIs, in order, with their numbers of
    links) into runs of about ``CHUNK_LINKS``: (start, end) indices of sources.

    Where to cut is decided by the content, not by position: after a source whose
    IRI hashes to a multiple of the expected number of sources per chunk (with a
    floor and a ceiling on the size). A changed document shifts every later position,
    but most cuts stay where they were, so most chunks keep their links, their keys
    and their cached pieces, and only those around a change are written again.
    """
    every = max(1, CHUNK_LINKS // TOP_K)  # sources per chunk, on average
    start, size = 0, 0
    for end, (source, count) in enumerate(zip(sources, counts, strict=True), start=1):
        size += count
        cut = size >= CHUNK_LINKS // 4 and _hashed(source) % every == 0
        if end == len(sources) or cut or size >= 4 * CHUNK_LINKS:
            yield start, end
            start, size = end, 0


def _hashed(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


# The settings, cache and ranked lists a forked worker inherits.
_FORKED: dict[str, Any] = {}


def _run(
    tasks: list[tuple[int, str, np.ndarray]],
    ranked: Ranked,
    settings: BuildSettings,
    cache: BuildCache,
    jobs: int,
) -> Iterator[tuple[int, Entry]]:
    """Make the chunks of ``tasks`` (index, key, the sources whose links it holds).

    The links themselves are made where the chunk is made, from ``ranked``: a forked
    worker inherits it, so the parent neither builds some 600 000 links one after
    another at 10 000 documents nor pickles them to the workers.
    """
    _FORKED.update(settings=settings, cache=cache, ranked=ranked)
    if tasks:
        keep_compiled(cache)  # here, so that forked workers inherit the shapes
        # The records, the search's state and its lists live to the end of the build;
        # without this, each full collection while chunks are made walks them all
        # (about 0.25 s a time at 10,000 documents), and in a forked worker it would
        # also copy their pages. The build lets the collector see them again at its end.
        gc.freeze()
    try:
        if jobs <= 1 or len(tasks) < IN_PROCESS or not can_fork():
            yield from map(_forked_chunk, tasks)
            return
        with forked_pool(min(jobs, len(tasks)), collect_per_task=True) as pool:
            yield from pool.imap_unordered(_forked_chunk, tasks)
    finally:
        _FORKED.clear()


def _forked_chunk(task: tuple[int, str, np.ndarray]) -> tuple[int, Entry]:
    between_tasks()
    index, key, sources = task
    settings: BuildSettings = _FORKED["settings"]
    links = _FORKED["ranked"].links(sources)
    record, pieces = chunk_pieces(links, Iris(settings.base_iri), settings.compress)
    return index, _FORKED["cache"].put(key, record, pieces)


def chunk_pieces(
    links: Sequence[Similarity], iris: Iris, compress: bool = False
) -> tuple[LinkChunk, dict[str, bytes]]:
    """One chunk of links: validated, and serialised into a piece for every dump."""
    import time

    from policygraph.shacl_compiled import validate_triples

    started = time.process_time()
    triples = export.sort_ox(
        ox.Triple(_iri(s), _iri(p), _decimal(str(o)) if isinstance(o, Decimal) else _iri(o))
        for link in links
        for s, p, o in similarity_statements(iris, link)
    )
    report = validate_triples(triples, export.corpus_prefixes())
    validated = time.process_time()
    pieces, ttl_prefixes, trig_prefixes = export.document_pieces(
        triples, entailed_from(triples), iris.graph("links")
    )
    if compress:
        pieces = {name: export.gzip_bytes(data) for name, data in pieces.items()}
    record = LinkChunk(
        triples=len(triples),
        report=report,
        stats=triple_stats(triples, triples),
        ttl_prefixes=ttl_prefixes,
        trig_prefixes=trig_prefixes,
        timings={
            "validate": validated - started,
            "serialise": time.process_time() - validated,
        },
    )
    return record, pieces


@lru_cache(maxsize=1 << 16)  # a measure's IRI recurs in its links; records are new each time
def _iri(value: str) -> ox.NamedNode:
    return ox.NamedNode(value)


@cache
def _decimal(written: str) -> ox.Literal:
    # keyed by the written form: 0.35 and 0.350 are equal decimals, distinct literals
    return ox.Literal(written, datatype=_XSD_DECIMAL)
