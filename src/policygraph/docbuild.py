"""One document, from text to validated, serialised pieces: the unit of work of a build.

Documents are independent until they are linked, so everything that can be done for
one document alone is done here, in a worker process: parse, classify, objectives,
agencies, themes, RDF, SDG links, SHACL, the features the linking stage needs, and the
document's share of every dump, already serialised. The result is a ``DocumentRecord``
(small: counts, warnings, the validation report, link features, statistics) and a set of
byte *pieces* that the build concatenates into the dumps (see ``assemble``) and the
cache keeps, so an unchanged document costs a file copy on the next build.

A document's triples are split in two. Its *own* triples have a subject minted for this
document (its policy, parts, source, graph); no other document can state them, so its
pieces carry them and they are never compared with anything. Its *shared* triples
describe resources several documents mention (an organisation from the vocabulary);
those are returned as lines, and the build writes each once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from policygraph.errors import InputError

#: The names of the pieces each document contributes, one per dump it appears in.
PIECES = ("nt", "nq", "ttl", "trig", "jsonld", "entailed")


@dataclass(frozen=True)
class BuildSettings:
    """What, besides the source text, decides a document's output (and its cache key)."""

    base_iri: str
    built_at: dt.datetime
    compress: bool = False


@dataclass
class DocumentSummary:
    """What one document contributed to the build."""

    doc_id: str
    path: str
    iri: str
    language: str
    triples: int
    chapters: int
    items: int
    measures: int
    objectives: int
    repairs: int


@dataclass
class DocumentStats:
    """What the dataset description needs to know of a document, without its triples.

    Subjects and objects are kept as 64-bit hashes so that distinct counts over
    thousands of documents fit in memory; ``own_classes`` counts the document's own
    typed resources (no other document has them, so the counts add up).
    """

    subject_hashes: bytes = b""
    object_hashes: bytes = b""
    predicates: set[str] = field(default_factory=set)
    own_classes: Counter[str] = field(default_factory=Counter)
    vocabularies: set[str] = field(default_factory=set)


@dataclass
class DocumentRecord:
    """Everything the build keeps of one document once its pieces are written."""

    summary: DocumentSummary
    graph_iri: str
    warnings: list[str]
    report: Any  # shacl.ValidationReport
    links: Any  # links.PackedLinks: what linking documents needs of this one
    sdg: Any  # sdg.LinkCounts
    shared: list[str]  # N-Triples lines of triples about shared resources
    ttl_prefixes: set[str]
    trig_prefixes: set[str]
    stats: DocumentStats | None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, this document


def term_hash(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> int:
    """A 64-bit hash of a term, stable across processes (unlike ``hash``)."""
    digest = hashlib.blake2b(str(term).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def triple_stats(triples: list[ox.Triple], own: list[ox.Triple]) -> DocumentStats:
    """The statistics of ``triples``, of which ``own`` are stated nowhere else."""
    from policygraph.describe import namespace_of

    subjects = array("Q", sorted(map(term_hash, {t.subject for t in triples})))
    objects = array("Q", sorted(map(term_hash, {t.object for t in triples})))
    stats = DocumentStats(subjects.tobytes(), objects.tobytes())
    # distinct terms first: a document states thousands of triples with a few dozen
    stats.predicates = {p.value for p in {t.predicate for t in triples}}
    classes = {t.object.value for t in triples if t.predicate == _RDF_TYPE}
    stats.vocabularies = {namespace_of(iri) for iri in stats.predicates | classes}
    stats.own_classes = Counter(t.object.value for t in own if t.predicate == _RDF_TYPE)
    return stats


_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def build_document(
    source: Path, settings: BuildSettings
) -> tuple[DocumentRecord, dict[str, bytes]]:
    """Run every per-document stage on ``source``; return its record and its pieces.

    Raises ``InputError`` (naming the file and line) for text the parser cannot read.
    """
    from policygraph import export
    from policygraph.agencies import assign_agencies
    from policygraph.classify import classify
    from policygraph.entailment import entailed_from
    from policygraph.graph import document_graph
    from policygraph.iris import Iris
    from policygraph.links import PackedLinks, link_features
    from policygraph.objectives import extract_objectives
    from policygraph.parse import parse_file
    from policygraph.sdg import add_sdg_links
    from policygraph.shacl_compiled import validate_triples
    from policygraph.themes import assign_themes

    iris = Iris(settings.base_iri)
    clock = _Clock()
    document = parse_file(source)
    classify(document)
    extract_objectives(document)
    unknown = assign_agencies(document)
    clock.lap("parse")
    warnings = [
        f"{source.name}: agency {name!r} is not in vocab/organizations.ttl; "
        "it was given an id of its own"
        for name in unknown
    ]
    for item in assign_themes(document):
        warnings.append(
            f"{source.name}:{item.span.start_line}: measure {item.number} "
            f"({item.heading.value!r}) matches no theme"
        )
    clock.lap("themes")
    graph = document_graph(document, iris, settings.built_at)
    clock.lap("graph")
    sdg = add_sdg_links(graph)
    clock.lap("sdg")
    triples = export.sorted_triples(graph)
    report = validate_triples(triples, dict(graph.namespaces()))
    clock.lap("validate")
    links = PackedLinks.pack(link_features(graph))
    clock.lap("links")

    graph_iri = iris.graph(document.doc_id)
    is_own = iris.local_test(document.doc_id)
    own = [t for t in triples if is_own(t.subject)]
    shared = [t for t in triples if not is_own(t.subject)]
    own_entailed = [t for t in entailed_from(triples) if is_own(t.subject)]

    pieces, ttl_prefixes, trig_prefixes = export.document_pieces(own, own_entailed, graph_iri)
    record = DocumentRecord(
        summary=DocumentSummary(
            doc_id=document.doc_id,
            path=str(source),
            iri=iris.policy(document.doc_id),
            language=document.language,
            triples=len(triples),
            chapters=len(document.chapters),
            items=len(document.items()),
            measures=len(document.measures()),
            objectives=sum(len(i.objectives) for i in document.items()),
            repairs=len({r for t in _texts(document) for r in t.repairs}),
        ),
        graph_iri=graph_iri,
        warnings=warnings,
        report=report,
        links=links,
        sdg=sdg,
        shared=export.ntriples_lines(shared),
        ttl_prefixes=ttl_prefixes,
        trig_prefixes=trig_prefixes,
        stats=triple_stats(triples, own),
    )
    if settings.compress:
        pieces = {name: export.gzip_bytes(data) for name, data in pieces.items()}
    clock.lap("serialise")
    record.timings = clock.laps
    return record, pieces


class _Clock:
    """Seconds spent in each stage of one document, for the build's summary."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = self.laps.get(stage, 0.0) + now - self._last
        self._last = now


def _texts(document):  # type: ignore[no-untyped-def]
    """Every repaired text of a document, for counting repairs."""
    yield document.title
    for paragraph in document.preamble:
        yield paragraph.text
    for chapter in document.chapters:
        yield chapter.heading
        for paragraph in chapter.paragraphs:
            yield paragraph.text
        for item in chapter.items:
            yield item.heading
            if item.body is not None:
                yield item.body
            for paragraph in item.paragraphs:
                yield paragraph.text
    for note in document.closing:
        yield note.text


__all__ = ["BuildSettings", "DocumentRecord", "DocumentSummary", "InputError", "build_document"]
