"""The build: parse → classify → objectives → themes → RDF → validate → export.

Each stage is a module of its own; this one only runs them in order, times them and
publishes the result atomically: everything is written to a temporary folder beside
the output, and swapped in only when every document parsed and conformed. A failed
or interrupted build leaves the previous output exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from policygraph.docbuild import DocumentSummary
from policygraph.errors import InputError, NonConformanceError, PolicyGraphError
from policygraph.resources import data_dir

if TYPE_CHECKING:
    from policygraph.links import LinkSummary
    from policygraph.sdg import LinkCounts

DUMP_STEM = "policygraph"
DESCRIPTION_FILE = "void.ttl"


@dataclass
class BuildResult:
    """What a build produced, for the CLI's summary and for tests."""

    out: Path
    documents: list[DocumentSummary] = field(default_factory=list)
    triples: int = 0
    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # wall seconds per build stage
    # CPU seconds per document stage, summed over the documents built (not cached) this time
    document_timings: dict[str, float] = field(default_factory=dict)
    cached: int = 0  # documents whose results were reused from the cache
    # statements in the dataset dumps: every document's graph, links, shared, vocabularies
    quads: int = 0
    links: LinkSummary | None = None  # citations and similar measures between documents
    sdg_links: LinkCounts | None = None  # measures linked to SDG goals and targets via themes
    # similarity links: how found ("cached", "updated" or "searched"), chunks written
    # this time, chunks in all
    similarity: tuple[str, int, int] = ("cached", 0, 0)
    # dump files written this time, of all (the rest were unchanged and kept)
    dumps_written: tuple[int, int] = (0, 0)


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
    """The ``.txt`` files named, or found in the folders named (default: bundled sources).

    Hidden files and folders (a name starting with ".") below a folder named are left
    out; a file named twice, or reached by a symbolic link too, is built once.
    """
    if not paths:
        paths = [data_dir("sources")]
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = _text_files(path)
            if not found:
                raise InputError("no .txt documents in this folder", path)
            files.extend(found)
        elif path.is_file():
            files.append(path.resolve())
        else:
            raise InputError("no such file or folder", path)
    return list(dict.fromkeys(files))


def _text_files(folder: Path) -> list[Path]:
    """The ``.txt`` files below ``folder``, resolved, in path order.

    The folder is resolved once and each file joined to it: resolving ten thousand
    paths one by one walks every component of each (a second at corpus scale). Only a
    file that is itself a symbolic link is resolved alone; linked folders are not
    entered.
    """
    root = folder.resolve()
    found: list[tuple[tuple[str, ...], Path]] = []
    for here, folders, names in os.walk(root):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in names:
            if name.endswith(".txt") and not name.startswith("."):
                file = Path(here, name)
                place = file.relative_to(root).parts  # the order: by path below the folder
                found.append((place, file.resolve() if file.is_symlink() else file))
    return [file for _, file in sorted(found, key=lambda pair: pair[0])]


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


@dataclass(frozen=True)
class Progress:
    """How far a build has got: ``done`` of ``total`` in ``stage``.

    The CLI draws a bar from these on a terminal and prints plain lines in logs.
    """

    stage: str  # "documents", "links", "export"
    done: int
    total: int
    detail: str = ""

    def __str__(self) -> str:
        tail = f" {self.detail}" if self.detail else ""
        return f"{self.stage}: {self.done}/{self.total}{tail}"


def default_jobs() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def build(
    paths: list[str | Path] | None = None,
    out: str | Path = "build",
    base_iri: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    cache_dir: str | Path | None = None,
    jobs: int | None = None,
    compress: bool = False,
    part_triples: int | None = None,
) -> BuildResult:
    """Build the documents at ``paths`` into ``out``; see the module docstring.

    ``cache_dir`` keeps each document's results between builds (None: a temporary
    cache for this build only); ``jobs`` is the number of worker processes (default:
    one per core); ``compress`` writes gzip dumps (``policygraph.nt.gz`` …);
    ``part_triples`` splits each dump into parts of about that many triples when it
    holds more (default :data:`policygraph.dumpparts.DEFAULT_PART_TRIPLES`; 0: one
    file per dump).
    """
    from policygraph.buildcache import BuildCache
    from policygraph.docbuild import BuildSettings
    from policygraph.dumpparts import DEFAULT_PART_TRIPLES
    from policygraph.iris import Iris

    say = progress or (lambda event: None)
    iris = Iris(base_iri)
    timer = _Timer()
    result = BuildResult(out=Path(out))
    settings = BuildSettings(iris.base, build_time(), compress)
    sources = collect_sources(paths)
    with _cache_folder(cache_dir) as folder:
        cache = BuildCache(folder, lasting=cache_dir is not None)
        try:
            with timer.stage("documents"):
                entries = _document_entries(sources, settings, cache, jobs, say, result)
            parts = DEFAULT_PART_TRIPLES if part_triples is None else part_triples
            work = _Work(settings, cache, max(1, jobs or default_jobs()), parts)
            _publish(entries, iris, work, Path(out), timer, say, result)
        finally:
            gc.unfreeze()  # what the build kept may be collected once the caller drops it
    result.timings = timer.timings
    return result


@contextmanager
def _cache_folder(cache_dir: str | Path | None) -> Iterator[Path]:
    if cache_dir is not None:
        yield Path(cache_dir)
        return
    with tempfile.TemporaryDirectory(prefix="policygraph-cache-") as folder:
        yield Path(folder)


# The worker processes' settings, set once per process by the pool's initialiser.
_WORKER: dict[str, object] = {}


def _set_work(settings: object, cache: object) -> None:
    _WORKER["settings"] = settings
    _WORKER["cache"] = cache


def _init_worker(settings: object, cache: object) -> None:
    from policygraph.workers import start_collecting_worker

    start_collecting_worker()  # interrupts left to the parent; garbage collected per task
    _set_work(settings, cache)
    _keep_compiled(cache)  # inherited when forked; read from the cache when spawned


def _keep_compiled(cache) -> None:  # type: ignore[no-untyped-def]
    from policygraph.shacl_compiled import keep_compiled

    keep_compiled(cache)


def _work(task: tuple[int, Path, str]) -> tuple[int, object]:
    """Build one document in a worker; an input error comes back as a value."""
    from policygraph.docbuild import build_document
    from policygraph.workers import between_tasks

    between_tasks()
    index, source, key = task
    try:
        record, pieces = build_document(source, _WORKER["settings"])  # type: ignore[arg-type]
    except InputError as exc:
        return index, ("error", exc.message, str(exc.path or source), exc.line)
    return index, _WORKER["cache"].put(key, record, pieces)  # type: ignore[attr-defined]


def _document_entries(sources, settings, cache, jobs, say, result):  # type: ignore[no-untyped-def]
    """Every document's cache entry: read where present, built in parallel where not.

    Which documents need building is known from which entries exist, before any is
    read, so the workers build those while this process reads the rest: a rebuild after
    one change costs the longer of the two, not their sum.
    """
    from policygraph.buildcache import entry_key

    keys = [entry_key(source, settings) for source in sources]
    entries: list = [None] * len(sources)
    absent = [i for i, key in enumerate(keys) if not cache.has(key)]
    total = len(sources)
    _set_work(settings, cache)
    with _builders(absent, settings, cache, jobs) as build:
        building = build([(i, sources[i], keys[i]) for i in absent])
        wanted = set(absent)
        with _collector_paused():  # not while building here: a document's graph has cycles
            for i, key in enumerate(keys):
                if i not in wanted:
                    entries[i] = cache.get(key)
        unreadable = [i for i in range(total) if entries[i] is None and i not in wanted]
        result.cached = total - len(absent) - len(unreadable)
        say(Progress("documents", result.cached, total, f"({result.cached} unchanged)"))
        _collect(building, entries, total, say)
        _collect(build([(i, sources[i], keys[i]) for i in unreadable]), entries, total, say)
    return entries


@contextmanager
def _builders(todo: list[int], settings, cache, jobs):  # type: ignore[no-untyped-def]
    """A function that builds a list of tasks lazily: in worker processes, one per core
    and at most one per task in ``todo``, or here when one job is asked for or ``todo``
    is empty. A single task gets a worker too, to be built while this process reads
    the cached entries."""
    requested = jobs or default_jobs()
    if requested == 1 or not todo:
        yield lambda tasks: map(_work, tasks)
        return
    jobs = min(requested, len(todo))
    _keep_compiled(cache)  # once here, not in every worker
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    chunk = max(1, min(8, len(todo) // (jobs * 16)))
    with context.Pool(jobs, _init_worker, (settings, cache)) as pool:
        try:
            yield lambda tasks: pool.imap_unordered(_work, tasks, chunk)
        except BaseException:
            pool.terminate()
            raise


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep Python's cyclic garbage collector out of the way while records are read.

    Reading ten thousand records makes millions of small objects that live to the end
    of the build; each full collection walks all of them again, and at corpus scale
    that took about a third of a rebuild's time. Reading makes no cyclic garbage, so
    the collector is paused while the records are read and then told to leave them
    alone (``gc.freeze``); :func:`build` lets it see them again at the end.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _refuse_unless(report) -> None:  # type: ignore[no-untyped-def]
    if not report.conforms:
        raise NonConformanceError(
            "the graph does not conform to the shapes; nothing was published", report.text()
        )


def _add_timings(into: dict[str, float], timings: dict[str, float]) -> None:
    for stage, seconds in timings.items():
        into[stage] = into.get(stage, 0.0) + seconds


def _collect(outcomes, entries, total, say) -> None:  # type: ignore[no-untyped-def]
    done = sum(entry is not None for entry in entries)
    for index, outcome in outcomes:
        if isinstance(outcome, tuple):
            _, message, path, line = outcome
            raise InputError(message, path, line)
        entries[index] = outcome
        done += 1
        say(Progress("documents", done, total, Path(outcome.record.summary.path).name))


@dataclass(frozen=True)
class _Work:
    """What the stages after the documents need to know of the build."""

    settings: object  # docbuild.BuildSettings
    cache: object  # buildcache.BuildCache
    jobs: int
    part_triples: int  # dumps in parts of about this many triples; 0: one file each


def _piece(entry, name, triples, record):  # type: ignore[no-untyped-def]
    """What the assembler needs of an entry, taken from its record before it is dropped."""
    from policygraph.dumpparts import Piece

    return Piece(
        entry, name, triples, frozenset(record.ttl_prefixes), frozenset(record.trig_prefixes)
    )


def _link(features, iris, work, say, result, report, stats):  # type: ignore[no-untyped-def]
    """The citations and the similarity links' chunks (as pieces), their reports and
    statistics added to ``report`` and ``stats``."""
    from policygraph.linkdump import citations, similarity_entries

    cited = citations(features, iris, work.settings, work.cache)
    result.links = replace(cited.summary)

    def say_links(done: int, total: int) -> None:
        say(Progress("links", done, total, "similarity chunks"))

    outcome = similarity_entries(features, work.settings, work.cache, work.jobs, say_links)
    result.links.similar = outcome.similar
    result.similarity = (outcome.how, outcome.written, len(outcome.entries))
    chunks = []
    for entry in outcome.entries:
        chunk = entry.record
        report.extend(chunk.report)
        stats.add_document(chunk.stats, chunk.triples)
        chunks.append(_piece(entry, entry.path.name, chunk.triples, chunk))
        if not entry.cached:
            timings = {f"links {stage}": cpu for stage, cpu in chunk.timings.items()}
            _add_timings(result.document_timings, timings)
    if cited.report is not None:
        report.extend(cited.report)
    return cited, chunks


def _publish(entries, iris, work, out, timer, say, result) -> None:  # type: ignore[no-untyped-def]
    """Link, check and write what the documents produced."""
    from policygraph import assemble, export
    from policygraph.describe import describe
    from policygraph.dumpparts import Piece
    from policygraph.outputledger import OutputLedger
    from policygraph.sdg import LinkCounts
    from policygraph.shacl import ValidationReport
    from policygraph.store import carry_over

    settings = work.settings
    report = ValidationReport(True)
    sdg_counts = LinkCounts()
    stats = assemble.StatsCollector()
    shared: set[str] = set()
    pieces: list[Piece] = []
    seen: dict[str, str] = {}
    features = []
    for entry in entries:
        record = entry.record
        summary = record.summary
        if summary.doc_id in seen:
            raise InputError(
                f"same document id {summary.doc_id!r} as {seen[summary.doc_id]}", summary.path
            )
        seen[summary.doc_id] = summary.path
        result.documents.append(summary)
        result.warnings.extend(record.warnings)
        report.extend(record.report)
        sdg_counts.extend(record.sdg)
        stats.add_document(record.stats, summary.triples - len(record.shared))
        shared.update(record.shared)
        own = summary.triples - len(record.shared)
        pieces.append(_piece(entry, summary.doc_id, own, record))
        features.append(record.links)
        if not entry.cached:  # a cached document did no work this time
            _add_timings(result.document_timings, record.timings)
        entry.record = None  # what is left to do needs only the entry's pieces
    _refuse_unless(report)  # before linking: a defect in a document is found at once
    ledger = OutputLedger(work.cache.folder, out)
    with ExitStack() as publishing:
        staging = publishing.enter_context(atomic_output(out))

        def keep(recipes: dict[str, str]) -> set[str]:
            return ledger.link_unchanged(recipes, staging)

        early = None
        parts = assemble.document_parts(pieces, work.part_triples)
        if parts is not None:  # written while the links are made; stopped if they fail
            early = assemble.DocumentParts(staging, parts, settings.compress, keep)
            publishing.callback(early.stop)
        say(Progress("links", 0, 1, f"linking {len(entries)} documents"))
        with timer.stage("links"):
            cited, chunks = _link(features, iris, work, say, result, report, stats)
        del features
        say(Progress("links", 1, 1))
        _refuse_unless(report)
        result.sdg_links = sdg_counts

        def say_export(done: int) -> None:
            say(Progress("export", done, len(entries)))

        with timer.stage("export"):
            tail = assemble.dump_tail(shared, cited.lines, iris, work.cache)
            dumps = assemble.write_dumps(
                staging,
                pieces,
                chunks,
                tail,
                settings.compress,
                work.part_triples,
                say_export,
                keep,
                early,
            )
            dataset = stats.finish(tail.triples)
            result.triples = dataset.triples
            # each graph's statements once: own (documents, link chunks) and the tail's graphs
            result.quads = stats.own_triples + tail.named_triples
            result.dumps_written = (dumps.written, len(dumps.files))
            examples = [d.iri for d in result.documents[:3]]
            description = describe(
                dataset, iris, dumps.dumps, settings.built_at, examples, len(entries)
            )
            export.write_turtle(
                description, staging / DESCRIPTION_FILE, dict(description.namespaces())
            )
            shutil.copyfile(
                data_dir("ontology") / export.CONTEXT_FILE, staging / export.CONTEXT_FILE
            )
            quads = dumps.dumps[assemble.whole_names(settings.compress)["nq"]]
            if any(path.name in dumps.kept for path in quads):
                # the query store made from them stays valid, or its first reader updates it
                carry_over(out, staging)
            names = sorted(p.name for p in staging.iterdir() if not p.name.startswith("."))
            publishing.close()  # the output swapped in, as part of the export
    ledger.record(dumps.recipes)
    result.files = [out / name for name in names]
