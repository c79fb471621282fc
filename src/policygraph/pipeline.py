"""The build: parse → classify → objectives → themes → RDF → validate → export.

Each stage is a module of its own; this one only runs them in order, times them and
publishes the result atomically: everything is written to a temporary folder beside
the output, and swapped in only when every document parsed and conformed. A failed
or interrupted build leaves the previous output exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from policygraph.errors import InputError, NonConformanceError, PolicyGraphError
from policygraph.resources import data_dir

if TYPE_CHECKING:
    from policygraph.links import LinkSummary
    from policygraph.sdg import LinkCounts

DUMP_STEM = "policygraph"
DESCRIPTION_FILE = "void.ttl"


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
class BuildResult:
    """What a build produced, for the CLI's summary and for tests."""

    out: Path
    documents: list[DocumentSummary] = field(default_factory=list)
    triples: int = 0
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    links: LinkSummary | None = None  # citations and similar measures between documents
    sdg_links: LinkCounts | None = None  # measures linked to SDG goals and targets via themes


def build_time() -> dt.datetime:
    """Now, or the time pinned by ``SOURCE_DATE_EPOCH`` (reproducible builds)."""
    pinned = os.environ.get("SOURCE_DATE_EPOCH")
    if pinned:
        try:
            return dt.datetime.fromtimestamp(int(pinned), dt.UTC)
        except ValueError:
            raise PolicyGraphError(
                f"SOURCE_DATE_EPOCH={pinned!r} is not a whole number of seconds"
            ) from None
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def collect_sources(paths: list[str | Path] | None) -> list[Path]:
    """The ``.txt`` files named, or found in the folders named (default: bundled sources)."""
    if not paths:
        paths = [data_dir("sources")]
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*.txt") if not any(part.startswith(".") for part in p.parts)
            )
            if not found:
                raise InputError("no .txt documents in this folder", path)
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError("no such file or folder", path)
    unique = list(dict.fromkeys(p.resolve() for p in files))
    return unique


@contextmanager
def atomic_output(out: Path) -> Iterator[Path]:
    """A temporary folder that replaces ``out`` only if the block completes."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and not out.is_dir():
        raise PolicyGraphError("the output exists and is not a folder", out)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        yield staging
        staging.chmod(0o755)
        with _interrupts_deferred():
            _swap(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _swap(staging: Path, out: Path) -> None:
    """Put ``staging`` in the place of ``out``, retiring the previous output."""
    if not out.exists():
        os.replace(staging, out)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
    os.replace(out, retired / out.name)
    os.replace(staging, out)
    shutil.rmtree(retired, ignore_errors=True)


_DEFERRED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C (and SIGTERM) back during the swap: between its renames there is no output.

    An interrupt that arrives meanwhile lets the swap finish (the build is complete by
    then) and is not raised. Signal handlers can only be changed in the main thread;
    elsewhere, interrupts are not delivered to this code anyway.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, lambda signum, frame: None) for sig in _DEFERRED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            # None: a handler not set from Python; the default is the honest fallback.
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)


class _Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start


def build(
    paths: list[str | Path] | None = None,
    out: str | Path = "build",
    base_iri: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build the documents at ``paths`` into ``out``; see the module docstring."""
    from policygraph import export
    from policygraph.agencies import assign_agencies
    from policygraph.classify import classify
    from policygraph.describe import describe
    from policygraph.entailment import ENTAILED_FILE, entailed_triples
    from policygraph.graph import PREFIXES, document_graph
    from policygraph.iris import Iris
    from policygraph.links import link_documents
    from policygraph.objectives import extract_objectives
    from policygraph.parse import parse_file
    from policygraph.sdg import LinkCounts, add_sdg_links
    from policygraph.shacl import ValidationReport, ontology_graph, validate_graph, vocabulary_graph
    from policygraph.themes import assign_themes

    say = progress or (lambda message: None)
    iris = Iris(base_iri)
    timer = _Timer()
    result = BuildResult(out=Path(out))
    built_at = build_time()
    sources = collect_sources(paths)

    named = []
    seen: dict[str, Path] = {}
    report = ValidationReport(True)
    sdg_counts = LinkCounts()
    for number, source in enumerate(sources, start=1):
        say(f"[{number}/{len(sources)}] {source.name}")
        with timer.stage("parse"):
            document = parse_file(source)
            classify(document)
            extract_objectives(document)
            unknown_agencies = assign_agencies(document)
        for name in unknown_agencies:
            result.warnings.append(
                f"{source.name}: agency {name!r} is not in vocab/organizations.ttl; "
                "it was given an id of its own"
            )
        if document.doc_id in seen:
            raise InputError(
                f"same document id {document.doc_id!r} as {seen[document.doc_id]}", source
            )
        seen[document.doc_id] = source
        with timer.stage("themes"):
            unplaced = assign_themes(document)
        for item in unplaced:
            result.warnings.append(
                f"{source.name}:{item.span.start_line}: measure {item.number} "
                f"({item.heading.value!r}) matches no theme"
            )
        with timer.stage("graph"):
            graph = document_graph(document, iris, built_at)
        with timer.stage("sdg"):
            sdg_counts.extend(add_sdg_links(graph))
        with timer.stage("validate"):
            report.extend(validate_graph(graph))
        named.append((iris.graph(document.doc_id), graph))
        result.documents.append(
            DocumentSummary(
                doc_id=document.doc_id,
                path=str(source),
                iri=iris.policy(document.doc_id),
                language=document.language,
                triples=len(graph),
                chapters=len(document.chapters),
                items=len(document.items()),
                measures=len(document.measures()),
                objectives=sum(len(i.objectives) for i in document.items()),
                repairs=len({r for t in _texts(document) for r in t.repairs}),
            )
        )
    # Links need every document: they are made once all are mapped, in a graph of their own.
    with timer.stage("links"):
        links, result.links = link_documents([graph for _, graph in named], iris)
    if len(links):
        with timer.stage("validate"):
            report.extend(validate_graph(links))
        named.append((iris.graph("links"), links))
    if not report.conforms:
        raise NonConformanceError(
            "the graph does not conform to the shapes; nothing was published", report.text()
        )

    with timer.stage("export"), atomic_output(Path(out)) as staging:
        named.append((iris.vocabulary_graph(), vocabulary_graph()))
        data = export.union(graph for _, graph in named)
        stem = staging / DUMP_STEM
        export.write_turtle(data, stem.with_suffix(".ttl"), PREFIXES)
        export.write_ntriples(data, stem.with_suffix(".nt"))
        export.write_jsonld(data, stem.with_suffix(".jsonld"))
        export.write_trig(named, stem.with_suffix(".trig"), PREFIXES)
        export.write_nquads(named, stem.with_suffix(".nq"))
        dumps = sorted(staging.glob(f"{DUMP_STEM}.*"))
        with timer.stage("entailment"):
            entailed = entailed_triples(data, ontology_graph())
            export.write_ntriples(entailed, staging / ENTAILED_FILE)
        dumps.append(staging / ENTAILED_FILE)
        examples = [d.iri for d in result.documents[:3]]
        description = describe(data, iris, dumps, built_at, examples, len(result.documents))
        export.write_turtle(description, staging / DESCRIPTION_FILE, dict(description.namespaces()))
        shutil.copyfile(data_dir("ontology") / export.CONTEXT_FILE, staging / export.CONTEXT_FILE)
        result.triples = len(data)
        result.files = sorted(p.name for p in staging.iterdir())  # type: ignore[misc]
    result.files = [Path(out) / name for name in result.files]  # type: ignore[operator]
    result.timings = timer.timings
    result.sdg_links = sdg_counts
    return result


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
