"""Writing a corpus's dumps from the documents' pieces, a header and a tail.

Every dump is: a header (prefixes, the JSON-LD context), each document's piece in
source order — copied from its cache entry by the kernel, never parsed again — and a
tail holding what no single document owns: the triples about shared resources (each
once), the links between documents, and the vocabularies. So memory stays flat however
many documents there are, and the cost of the dumps is the cost of copying bytes.

Every dump holds each triple once: a document's pieces hold only the triples about
resources minted for it, and the tail the rest, de-duplicated. The dataset dumps
(N-Quads, TriG) keep every document in its own named graph, and what documents say of
shared resources (organisations) in one graph of its own, ``{base}graph/shared``, so a
query over the union of the graphs meets each statement once.

The dataset's VoID statistics are gathered here as well, from what each document
recorded of itself (hashes of its subjects and objects, its predicates, its typed
resources), so the description's counts are true of what was written without reading
it back.
"""

from __future__ import annotations

import os
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph

from policygraph import dumpfile, export
from policygraph.buildcache import Entry
from policygraph.describe import DatasetStats, namespace_of
from policygraph.docbuild import DocumentStats, term_hash
from policygraph.entailment import ENTAILED_FILE
from policygraph.iris import Iris

DUMP_STEM = "policygraph"
_FILE_NAMES = {
    "nt": f"{DUMP_STEM}.nt",
    "nq": f"{DUMP_STEM}.nq",
    "ttl": f"{DUMP_STEM}.ttl",
    "trig": f"{DUMP_STEM}.trig",
    "jsonld": f"{DUMP_STEM}.jsonld",
    "entailed": ENTAILED_FILE,
}
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


class StatsCollector:
    """The dataset's VoID statistics, merged document by document."""

    def __init__(self) -> None:
        self.own_triples = 0
        self.subjects = array("Q")
        self.objects = array("Q")
        self.predicates: set[str] = set()
        self.classes: Counter[str] = Counter()
        self.vocabularies: set[str] = set()

    def add_document(self, stats: DocumentStats, own_triples: int) -> None:
        self.own_triples += own_triples
        self.subjects.frombytes(stats.subject_hashes)
        self.objects.frombytes(stats.object_hashes)
        self.predicates |= stats.predicates
        self.classes.update(stats.own_classes)
        self.vocabularies |= stats.vocabularies

    def finish(self, tail: Sequence[ox.Triple]) -> DatasetStats:
        """The totals, with the tail's triples (each counted once) added."""
        classes = Counter(self.classes)
        for (_, cls), _count in Counter(
            (t.subject.value, t.object.value) for t in tail if t.predicate.value == _RDF_TYPE
        ).items():
            classes[cls] += 1
        subjects = _distinct(self.subjects, (term_hash(t.subject) for t in tail))
        objects = _distinct(self.objects, (term_hash(t.object) for t in tail))
        vocabularies = set(self.vocabularies)
        for t in tail:
            vocabularies.add(namespace_of(t.predicate.value))
            if t.predicate.value == _RDF_TYPE:
                vocabularies.add(namespace_of(t.object.value))
        return DatasetStats(
            triples=self.own_triples + len(tail),
            distinct_subjects=subjects,
            distinct_objects=objects,
            properties=len(self.predicates | {t.predicate.value for t in tail}),
            classes=classes,
            vocabularies=vocabularies,
        )


def _distinct(hashes: array, more: object) -> int:
    """How many distinct values among ``hashes`` and ``more`` (64-bit term hashes)."""
    import numpy as np

    values = np.frombuffer(hashes.tobytes(), dtype=np.uint64)
    extra = np.fromiter(more, dtype=np.uint64)  # type: ignore[call-overload]
    return int(np.unique(np.concatenate([values, extra])).size)


class DumpWriter:
    """The dump files of one build, open in the staging folder (all but those ``kept``)."""

    def __init__(self, staging: Path, compress: bool, kept: Collection[str] = ()):
        self.compress = compress
        self.paths = dump_paths(staging, compress)
        self.handles = {
            name: path.open("wb") for name, path in self.paths.items() if path.name not in kept
        }

    def write(self, name: str, text: str) -> None:
        """Append ``text`` to dump ``name`` (as one gzip member when compressing)."""
        if text and name in self.handles:
            data = text.encode("utf-8")
            self.handles[name].write(export.gzip_bytes(data) if self.compress else data)

    def copy_pieces(self, entry: Entry) -> None:
        """Append a document's pieces, copied from its cache entry."""
        if not self.handles:
            return
        with entry.path.open("rb") as source:
            for name, target in self.handles.items():
                offset, length = entry.offsets[name]
                target.flush()
                _copy_range(source.fileno(), target.fileno(), offset, length)

    def close(self) -> list[Path]:
        for handle in self.handles.values():
            handle.close()
        return sorted(self.paths.values())


def dump_paths(folder: Path, compress: bool) -> dict[str, Path]:
    """Each dump's file in ``folder``, by piece name."""
    suffix = dumpfile.COMPRESSED_SUFFIX if compress else ""
    return {name: folder / f"{file}{suffix}" for name, file in _FILE_NAMES.items()}


def _copy_range(source: int, target: int, offset: int, length: int) -> None:
    """Copy ``length`` bytes at ``offset`` of ``source`` to the end of ``target``."""
    while length:
        try:
            done = os.copy_file_range(source, target, length, offset)
        except OSError:  # file systems or kernels without it: copy through memory
            done = os.write(target, os.pread(source, min(length, 1 << 24), offset))
        if done == 0:
            raise OSError("cache entry shorter than its index says")
        offset += done
        length -= done


def _used(triples: Sequence[ox.Triple], graph_iri: str | None = None) -> dict[str, str]:
    found = export._iris(triples) | ({graph_iri} if graph_iri else set())
    return export.used_prefixes(export.corpus_prefixes(), found)


def write_dumps(
    staging: Path,
    entries: Sequence[Entry],
    shared: set[str],
    links: tuple[Graph, Sequence[Entry]],
    prefixes: tuple[set[str], set[str]],
    iris: Iris,
    compress: bool,
    progress: Callable[[int], None],
    keep: Callable[[dict[str, str]], set[str]] = lambda recipes: set(),
) -> Dumps:
    """Write every dump into ``staging``: headers, the documents' pieces, the tail.

    ``shared`` holds the N-Triples lines about shared resources that the documents
    reported, ``links`` the citations graph and the similarity links' chunks (see
    ``linkdump``), ``prefixes`` the names of the prefixes the documents' and chunks'
    Turtle and TriG use. ``keep`` is given each dump file's recipe (see
    ``outputledger``) before anything is written, and returns the names of the files it
    has put into ``staging`` itself (unchanged since the last build); those are not
    written.

    Order in every dump: header, documents, similarity chunks, tail; in the dataset
    dumps the chunks and the citations make one run of the links graph.
    """
    from policygraph.entailment import entailed_from
    from policygraph.outputledger import piece_source, recipe
    from policygraph.shacl import vocabulary_graph

    vocabulary = export.sorted_triples(vocabulary_graph())
    citations, chunks = links
    link_triples = export.sorted_triples(citations)
    tail_lines = sorted(
        shared.union(export.ntriples_lines(vocabulary), export.ntriples_lines(link_triples))
    )
    tail = export.sort_ox(parse_lines(tail_lines))
    shared_triples = export.sort_ox(parse_lines(sorted(shared)))
    named = [
        (iris.graph("links"), link_triples),
        (iris.shared_graph(), shared_triples),
        (iris.vocabulary_graph(), vocabulary),
    ]
    named = [(name, triples) for name, triples in named if triples]
    tail_prefixes = _used(tail)
    named_prefixes = [_used(triples, name) for name, triples in named]
    ttl_names = prefixes[0] | set(tail_prefixes)
    trig_names = prefixes[1].union(*named_prefixes)
    heads = {
        "ttl": export._header(export.header_prefixes(ttl_names)),
        "trig": export._header(export.header_prefixes(trig_names)),
        "jsonld": export.jsonld_head(),
    }
    blocks = list(zip(named, named_prefixes, strict=True))
    tails = {
        "nt": "".join(tail_lines),
        "nq": "".join(export.as_quads(export.ntriples_lines(t), n) for (n, t), _ in blocks),
        "ttl": export.turtle_body(tail, tail_prefixes),
        "trig": "".join(export.trig_body(t, n, used) for (n, t), used in blocks),
        "jsonld": export.jsonld_nodes_text(tail, last=True) + export.JSONLD_TAIL,
        "entailed": "".join(export.ntriples_lines(entailed_from(tail))),
    }
    parts = [(piece_source(entry.path), entry) for entry in [*entries, *chunks]]
    recipes = {
        path.name: recipe(
            path.name,
            heads.get(name, ""),
            ((source, *entry.offsets[name]) for source, entry in parts),
            tails[name],
        )
        for name, path in dump_paths(staging, compress).items()
    }
    kept = keep(recipes)
    dumps = DumpWriter(staging, compress, kept)
    try:
        for name, text in heads.items():
            dumps.write(name, text)
        for number, entry in enumerate(entries, start=1):
            dumps.copy_pieces(entry)
            if number % 1000 == 0:
                progress(number)
        for entry in chunks:
            dumps.copy_pieces(entry)
        for name, text in tails.items():
            dumps.write(name, text)
    finally:
        files = dumps.close()
    progress(len(entries))
    return Dumps(tail, [triples for _, triples in named], files, recipes, kept)


@dataclass(frozen=True)
class Dumps:
    """What :func:`write_dumps` wrote, for the statistics and the ledger."""

    tail: list[ox.Triple]  # the tail's triples
    # the triples of the named graphs written after the documents' other than the chunks'
    # (citations, shared resources, vocabularies)
    named_tail: list[list[ox.Triple]]
    files: list[Path]
    recipes: dict[str, str]  # file name -> recipe
    kept: set[str]  # names of the files kept from the last build, not written

    @property
    def written(self) -> int:
        return len(self.files) - len(self.kept)


def parse_lines(lines: Sequence[str]) -> list[ox.Triple]:
    """N-Triples lines back to triples (for the tail, which is small)."""
    data = "".join(lines).encode("utf-8")
    return [quad.triple for quad in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]
