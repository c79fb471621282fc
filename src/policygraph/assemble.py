"""Writing a corpus's dumps from the documents' pieces, a header and a tail.

Every dump is: a header (prefixes, the JSON-LD context), each document's piece in
source order — copied from its cache entry by the kernel, never parsed again — and a
tail holding what no single document owns: the triples about shared resources (each
once), the links between documents, and the vocabularies. So memory stays flat however
many documents there are, and the cost of the dumps is the cost of copying bytes.

A large build writes each dump as numbered parts (:mod:`policygraph.dumpparts` says
where they are cut). Each part is a whole file of its syntax: its own header with the
prefixes its pieces use, and a JSON-LD part closes its ``@graph`` after its last node.
The tail is the last part. Cut or not, the dumps hold the same statements. When the
documents alone fill more than one part, their parts do not depend on the links, and
they are written while the links are made (:class:`DocumentParts`).

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

import functools
import gzip
import hashlib
import os
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from policygraph import dumpfile, dumpparts, export
from policygraph.buildcache import BuildCache, Entry, tool_fingerprint
from policygraph.describe import DatasetStats, namespace_of
from policygraph.docbuild import DocumentStats, term_hash
from policygraph.dumpparts import Part, Piece
from policygraph.entailment import ENTAILED_FILE
from policygraph.iris import Iris
from policygraph.pipeline import DUMP_STEM

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
    """How many distinct values among ``hashes`` and ``more`` (64-bit term hashes).

    Sorted, then counted where neighbours differ: ``numpy.unique`` takes a hash table
    in NumPy 2, about fifteen times slower on the ~10⁷ hashes of 10 000 documents.
    """
    import numpy as np

    extra = np.fromiter(more, dtype=np.uint64)  # type: ignore[call-overload]
    values = np.concatenate([np.frombuffer(hashes, dtype=np.uint64), extra])
    if not values.size:
        return 0
    values.sort()
    return int(np.count_nonzero(values[1:] != values[:-1])) + 1


class _PartWriter:
    """The files of one part of every dump, open in the staging folder (all but ``kept``)."""

    def __init__(self, paths: dict[str, Path], compress: bool, kept: Collection[str]):
        self.compress = compress
        self.handles = {
            name: path.open("wb") for name, path in paths.items() if path.name not in kept
        }

    def write(self, name: str, text: str) -> None:
        """Append ``text`` to dump ``name`` (as one gzip member when compressing)."""
        if text and name in self.handles:
            data = text.encode("utf-8")
            self.handles[name].write(export.gzip_bytes(data) if self.compress else data)

    def copy_pieces(self, entry: Entry, trimmed: Collection[str] = ()) -> None:
        """Append an entry's pieces, copied from the cache; those ``trimmed`` lose their
        final separator (see :data:`_SEPARATOR`)."""
        if not self.handles:
            return
        with entry.path.open("rb") as source:
            for name, target in self.handles.items():
                offset, length = entry.offsets[name]
                target.flush()
                if name in trimmed:
                    target.write(self._trimmed(source.fileno(), offset, length))
                else:
                    _copy_range(source.fileno(), target.fileno(), offset, length)

    def _trimmed(self, source: int, offset: int, length: int) -> bytes:
        data = os.pread(source, length, offset)
        if self.compress:
            data = gzip.decompress(data)
        if not data.endswith(_SEPARATOR):
            raise OSError("a JSON-LD piece in the cache does not end as pieces do")
        data = data[: -len(_SEPARATOR)]
        return export.gzip_bytes(data) if self.compress else data

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


#: What ends every JSON-LD piece but the tail's: the comma before the next node.
_SEPARATOR = b",\n"
#: What ends a JSON-LD part that has no tail: its last node's separator is cut off first.
_JSONLD_CLOSE = "\n" + export.JSONLD_TAIL


def dump_paths(folder: Path, compress: bool, part: int | None = None) -> dict[str, Path]:
    """Each dump's file in ``folder`` (``part``: that part's file), by piece name."""
    names = whole_names(compress)
    if part is not None:
        names = {name: dumpfile.part_name(file, part) for name, file in names.items()}
    return {name: folder / file for name, file in names.items()}


def whole_names(compress: bool) -> dict[str, str]:
    """What each dump is called as one file, by piece name."""
    suffix = dumpfile.COMPRESSED_SUFFIX if compress else ""
    return {name: f"{file}{suffix}" for name, file in _FILE_NAMES.items()}


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


@dataclass(frozen=True)
class Tail:
    """What no document owns, ready to end the dumps: texts by piece name, prefixes used."""

    texts: dict[str, str]
    ttl_prefixes: set[str]
    trig_prefixes: set[str]
    triples: list[ox.Triple]  # the tail's triples (shared, citations, vocabularies), each once
    named_triples: int  # the statements of its named graphs, each graph's counted


@dataclass(frozen=True)
class TailRecord:
    """What the cache keeps of a tail besides its texts (the entry's pieces)."""

    ttl_prefixes: set[str]
    trig_prefixes: set[str]
    named_triples: int


def dump_tail(
    shared: set[str], citations: Sequence[str], iris: Iris, cache: BuildCache | None = None
) -> Tail:
    """The dumps' tail: the triples about shared resources (N-Triples ``shared``), the
    citations (N-Triples lines) and the vocabularies, in every syntax.

    Serialising it takes a second or more at corpus scale, and a rebuild after one change
    mostly finds the same shared resources and citations, so it is kept in ``cache`` under
    a key made of its inputs, the tool's fingerprint and this module's own code.
    """
    lines = sorted(shared)
    digest = hashlib.sha256(b"dump tail\0")
    for part in (tool_fingerprint(), _own_code(), iris.base, *lines, "\0", *citations):
        digest.update(part.encode("utf-8") + b"\0")
    key = digest.hexdigest()
    found = cache.get(key) if cache is not None else None
    if found is not None and isinstance(found.record, TailRecord):
        return _tail_from(found)
    tail = _tail(lines, citations, iris)
    if cache is not None:
        record = TailRecord(tail.ttl_prefixes, tail.trig_prefixes, tail.named_triples)
        cache.put(key, record, {name: text.encode("utf-8") for name, text in tail.texts.items()})
    return tail


@functools.cache
def _own_code() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _tail_from(entry: Entry) -> Tail:
    record: TailRecord = entry.record
    with entry.path.open("rb") as handle:
        texts = {
            name: os.pread(handle.fileno(), length, offset).decode("utf-8")
            for name, (offset, length) in entry.offsets.items()
        }
    # the statistics count the tail's triples; they need no order
    triples = parse_lines([texts["nt"]])
    return Tail(texts, record.ttl_prefixes, record.trig_prefixes, triples, record.named_triples)


def _tail(shared: list[str], citations: Sequence[str], iris: Iris) -> Tail:
    from policygraph.entailment import entailed_from
    from policygraph.shacl import vocabulary_graph

    vocabulary = export.sorted_triples(vocabulary_graph())
    link_triples = export.sort_ox(parse_lines(citations))
    tail_lines = sorted(
        set(shared).union(export.ntriples_lines(vocabulary), export.ntriples_lines(link_triples))
    )
    tail = export.sort_ox(parse_lines(tail_lines))
    shared_triples = export.sort_ox(parse_lines(shared))
    named = [
        (iris.graph("links"), link_triples),
        (iris.shared_graph(), shared_triples),
        (iris.vocabulary_graph(), vocabulary),
    ]
    named = [(name, triples) for name, triples in named if triples]
    tail_prefixes = _used(tail)
    named_prefixes = [_used(triples, name) for name, triples in named]
    blocks = list(zip(named, named_prefixes, strict=True))
    texts = {
        "nt": "".join(tail_lines),
        "nq": "".join(export.as_quads(export.ntriples_lines(t), n) for (n, t), _ in blocks),
        "ttl": export.turtle_body(tail, tail_prefixes),
        "trig": "".join(export.trig_body(t, n, used) for (n, t), used in blocks),
        "jsonld": export.jsonld_nodes_text(tail, last=True) + export.JSONLD_TAIL,
        "entailed": "".join(export.ntriples_lines(entailed_from(tail))),
    }
    trig_prefixes = set().union(*named_prefixes)
    named_triples = sum(len(triples) for _, triples in named)
    return Tail(texts, set(tail_prefixes), trig_prefixes, tail, named_triples)


def _head(name: str, part: Part, tail: Tail | None) -> str:
    """The header of dump ``name`` in ``part``: the prefixes its pieces (and tail) use."""
    if name == "jsonld":
        return export.jsonld_head()
    if name not in ("ttl", "trig"):
        return ""
    used: set[str] = set()
    for piece in part.pieces:
        used |= piece.ttl_prefixes if name == "ttl" else piece.trig_prefixes
    if part.tail:
        assert tail is not None
        used |= tail.ttl_prefixes if name == "ttl" else tail.trig_prefixes
    return export._header(export.header_prefixes(used))


def _ending(name: str, part: Part, tail: Tail | None) -> str:
    if part.tail:
        assert tail is not None
        return tail.texts[name]
    if name == "jsonld":
        return _JSONLD_CLOSE if _last_jsonld(part) is not None else export.JSONLD_TAIL
    return ""


def _last_jsonld(part: Part) -> Piece | None:
    """The part's last piece with JSON-LD nodes: its separator is cut off (no tail)."""
    if part.tail:
        return None
    for piece in reversed(part.pieces):
        if piece.entry.offsets["jsonld"][1]:
            return piece
    return None


def write_dumps(
    staging: Path,
    documents: Sequence[Piece],
    chunks: Sequence[Piece],
    tail: Tail,
    compress: bool,
    part_triples: int,
    progress: Callable[[int], None],
    keep: Callable[[dict[str, str]], set[str]] = lambda recipes: set(),
    early: DocumentParts | None = None,
) -> Dumps:
    """Write every dump into ``staging``: headers, the documents' pieces, the tail.

    ``chunks`` are the similarity links' pieces (see ``linkdump``), ``tail`` what
    :func:`dump_tail` made of the rest. Each dump is one file, or parts of about
    ``part_triples`` triples (see :mod:`policygraph.dumpparts`), each part a complete
    file of its syntax with the prefixes its pieces use. ``keep`` is given each file's
    recipe (see ``outputledger``) before anything is written, and returns the names of
    the files it has put into ``staging`` itself (unchanged since the last build); those
    are not written. ``early``: the documents' parts, being written already (see
    :class:`DocumentParts`); only the rest is written here.

    Order in every dump: header, documents, similarity chunks, tail; in the dataset
    dumps the chunks and the citations make one run of the links graph.
    """
    planned = dumpparts.plan(documents, chunks, len(tail.triples), part_triples)
    parts = planned or [Part([*documents, *chunks], tail=True)]
    numbers: list[int | None] = [None] if planned is None else list(range(1, len(parts) + 1))
    done = [0]

    def counted() -> None:
        done[0] += 1
        if done[0] % 1000 == 0:
            progress(min(done[0], len(documents)))

    before = _Written({}, {}, set())
    if early is not None:
        if planned is None or list(planned[: len(early.parts)]) != early.parts:
            raise AssertionError("the documents' parts written early are not the plan's")
        before = early.result()
        done[0] = len(documents)
        parts, numbers = parts[len(early.parts) :], numbers[len(early.parts) :]
    rest = _write_parts(staging, parts, numbers, tail, compress, keep, counted)
    progress(len(documents))
    files = {name: before.files.get(name, []) + paths for name, paths in rest.files.items()}
    return Dumps(files, before.recipes | rest.recipes, before.kept | rest.kept)


def document_parts(documents: Sequence[Piece], part_triples: int) -> list[Part] | None:
    """The documents' parts of every dump when they can be known before the links are:
    when the documents alone fill more than one part, the dumps are cut and their first
    parts are the documents' (:func:`dumpparts.plan`), whatever the links and the tail
    hold. None otherwise."""
    if part_triples <= 0 or sum(p.triples for p in documents) <= part_triples:
        return None
    return dumpparts.plan(documents, (), 0, part_triples)[:-1]  # type: ignore[index]


class DocumentParts:
    """The documents' parts of every dump, written by a thread while the links are made.

    At 10 000 documents those parts are 12 GB, written at the disk's speed once the
    kernel holds as much unwritten data as it allows (30–35 s), while the disk is idle
    during the links stage, which is CPU work in worker processes. The thread only
    copies file ranges, writes headers and hard-links unchanged files: nothing that a
    process forked meanwhile could find half-done. :meth:`result` waits for it and
    raises what it raised; :meth:`stop` ends it early (the build failed or was
    interrupted).
    """

    def __init__(
        self,
        staging: Path,
        parts: list[Part],
        compress: bool,
        keep: Callable[[dict[str, str]], set[str]],
    ) -> None:
        self.parts = parts
        self._stopping = threading.Event()
        self._written: _Written | None = None
        self._error: BaseException | None = None
        arguments = (staging, parts, list(range(1, len(parts) + 1)), None, compress, keep)
        self._thread = threading.Thread(
            target=self._run, args=arguments, name="document parts", daemon=True
        )
        self._thread.start()

    def _run(self, *arguments: Any) -> None:
        try:
            self._written = _write_parts(*arguments, self._check)
        except BaseException as error:  # handed to the main thread by result()
            self._error = error

    def _check(self) -> None:
        if self._stopping.is_set():
            raise _Stopped

    def result(self) -> _Written:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._written is not None
        return self._written

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()


class _Stopped(Exception):
    """The documents' parts were no longer wanted."""


@dataclass(frozen=True)
class _Written:
    """What writing some parts made: each dump's files, the files' recipes, those kept."""

    files: dict[str, list[Path]]
    recipes: dict[str, str]
    kept: set[str]


def _write_parts(
    staging: Path,
    parts: Sequence[Part],
    numbers: Sequence[int | None],
    tail: Tail | None,
    compress: bool,
    keep: Callable[[dict[str, str]], set[str]],
    after_piece: Callable[[], None],
) -> _Written:
    """Write ``parts`` (numbered ``numbers``) of every dump; ``after_piece`` is called
    after each piece is copied."""
    from policygraph.outputledger import piece_source, recipe

    kinds = whole_names(compress)
    sources = {id(p): piece_source(p.entry.path) for part in parts for p in part.pieces}
    files: dict[str, list[Path]] = {kinds[name]: [] for name in kinds}
    recipes: dict[str, str] = {}
    for part, number in zip(parts, numbers, strict=True):
        last = _last_jsonld(part)
        for name, path in dump_paths(staging, compress, number).items():
            files[kinds[name]].append(path)
            recipes[path.name] = recipe(
                kinds[name],
                _head(name, part, tail),
                ((sources[id(p)], *p.entry.offsets[name]) for p in part.pieces),
                _ending(name, part, tail),
                trimmed=name == "jsonld" and last is not None,
            )
    kept = keep(recipes)
    for part, number in zip(parts, numbers, strict=True):
        last = _last_jsonld(part)
        writer = _PartWriter(dump_paths(staging, compress, number), compress, kept)
        try:
            for name in writer.handles:
                writer.write(name, _head(name, part, tail))
            for piece in part.pieces:
                writer.copy_pieces(piece.entry, ("jsonld",) if piece is last else ())
                after_piece()
            for name in list(writer.handles):
                writer.write(name, _ending(name, part, tail))
        finally:
            writer.close()
    return _Written(files, recipes, kept)


@dataclass(frozen=True)
class Dumps:
    """What :func:`write_dumps` wrote, for the description and the ledger."""

    dumps: dict[str, list[Path]]  # each dump's name as one file -> the files holding it
    recipes: dict[str, str]  # file name -> recipe
    kept: set[str]  # names of the files kept from the last build, not written

    @property
    def files(self) -> list[Path]:
        return sorted(path for paths in self.dumps.values() for path in paths)

    @property
    def written(self) -> int:
        return len(self.recipes) - len(self.kept)


def parse_lines(lines: Sequence[str]) -> list[ox.Triple]:
    """N-Triples lines back to triples (for the tail, which is small)."""
    data = "".join(lines).encode("utf-8")
    return [quad.triple for quad in ox.parse(data, format=ox.RdfFormat.N_TRIPLES)]
