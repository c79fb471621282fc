"""The ``policygraph`` command: a thin layer over the Python API.

Commands import the pipeline only when they run, so ``--help`` and ``--version`` are
instant. Every user error (bad input, bad option, non-conforming graph) is one clear
line on stderr and a documented exit code — 0 success, 1 SHACL non-conformance,
2 error — never a traceback.
"""

from __future__ import annotations

import functools
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from policygraph import __version__
from policygraph.errors import EXIT_ERROR, EXIT_NONCONFORMANT, NonConformanceError, PolicyGraphError

F = TypeVar("F", bound=Callable[..., Any])


def _friendly_errors(command: F) -> F:
    """Turn PolicyGraphError (and interrupts) into one line and an exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except NonConformanceError as exc:
            click.echo(exc.report_text, err=True)
            click.echo(f"policygraph: {exc}", err=True)
            sys.exit(EXIT_NONCONFORMANT)
        except PolicyGraphError as exc:
            click.echo(f"policygraph: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("policygraph: interrupted; nothing was changed", err=True)
            sys.exit(130)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"policygraph: {where}{exc.strerror or exc}", err=True)
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="policygraph")
def main() -> None:
    """Turn government policy documents into a validated, linked, queryable knowledge graph.

    Exit codes: 0 success, 1 the graph does not conform to the shapes, 2 error.
    """


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-o",
    default="build",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Output folder; replaced only when the build succeeds.",
)
@click.option(
    "--base-iri",
    default=None,
    metavar="IRI",
    help="Base of all data IRIs [default: https://w3id.org/policygraph/id/].",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only warnings and errors.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes for the documents [default: one per core].",
)
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Keep each document's results here, so unchanged documents are not rebuilt "
    "[default: $XDG_CACHE_HOME/policygraph].",
)
@click.option("--no-cache", is_flag=True, help="Rebuild every document; keep nothing.")
@click.option("--gzip", "compress", is_flag=True, help="Write the dumps gzip-compressed (.gz).")
@click.option(
    "--part-triples",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Split each dump into numbered parts of about N triples when it holds more "
    "(policygraph.0001.nt …), so a rebuild rewrites only the parts that changed; "
    "0: one file per dump; the similarity links' parts are a third of that size "
    "[default: 250000].",
)
@_friendly_errors
def build(
    paths: tuple[Path, ...],
    out: Path,
    base_iri: str | None,
    quiet: bool,
    jobs: int | None,
    cache_dir: Path | None,
    no_cache: bool,
    compress: bool,
    part_triples: int | None,
) -> None:
    """Build documents (files or folders of .txt; default: the bundled document) into OUT.

    Parses, links to themes, validates with SHACL, and writes Turtle, N-Triples,
    N-Quads, TriG, JSON-LD and a DCAT/VoID description. Documents are built in
    parallel and cached: a rebuild redoes only the documents whose text changed.
    Set SOURCE_DATE_EPOCH to pin the build time for byte-identical rebuilds.
    """
    from policygraph.buildcache import default_cache_dir
    from policygraph.buildprogress import BuildProgressDisplay
    from policygraph.pipeline import build as run_build

    # A termination request (kill, a CI timeout) stops a build as Ctrl-C does, so that
    # its temporary output is removed instead of left beside the real one.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    started = time.perf_counter()
    # A bar on a terminal; plain progress lines in logs and CI (stderr, so stdout
    # carries only the summary).
    display = None if quiet else BuildProgressDisplay(sys.stderr)
    try:
        result = run_build(
            list(paths) or None,
            out=out,
            base_iri=base_iri,
            progress=display,
            cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
            jobs=jobs,
            compress=compress,
            part_triples=part_triples,
        )
    finally:
        if display is not None:
            display.close()
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if quiet:
        return
    click.echo(f"Built {len(result.documents)} document(s), {result.triples} triples into {out}/")
    shown = result.documents if len(result.documents) <= _LISTED_DOCUMENTS else []
    for doc in shown:
        click.echo(
            f"  {doc.doc_id} [{doc.language}]: {doc.chapters} chapters, {doc.items} items "
            f"({doc.measures} measures), {doc.objectives} objectives, {doc.repairs} repairs, "
            f"{doc.triples} triples"
        )
    if not shown:
        click.echo(
            f"  documents: {sum(d.language == 'en' for d in result.documents)} English, "
            f"{sum(d.language == 'zh' for d in result.documents)} Chinese; "
            f"{sum(d.measures for d in result.documents)} measures, "
            f"{sum(d.objectives for d in result.documents)} objectives"
        )
    click.echo(
        f"  rebuilt {len(result.documents) - result.cached}, unchanged (from the cache) "
        f"{result.cached}; {result.quads} statements in the dataset dumps"
    )
    if result.links is not None:
        click.echo(f"  {result.links.text()}")
    how, written, chunks = result.similarity
    if chunks:
        found = {"searched": "searched", "updated": "the last search updated"}.get(how)
        said = f"{found}, {written} of {chunks} chunks written" if found else "from the cache"
        click.echo(f"  similar measures: {said}")
    if result.sdg_links is not None:
        click.echo(f"  {result.sdg_links.text()}")
    click.echo(f"  files: {', '.join(_file_list(result.files))}")
    written, dumps = result.dumps_written
    if written < dumps:
        click.echo(f"  dumps: {written} of {dumps} written, the rest unchanged since last time")
    total = time.perf_counter() - started
    stages = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in result.timings.items())
    click.echo(f"  warnings: {len(result.warnings)}; time: {stages}; total {total:.2f}s")
    if result.document_timings:
        work = ", ".join(f"{k} {v:.2f}s" for k, v in result.document_timings.items())
        click.echo(f"  per-document stages (CPU, all workers): {work}")


#: Up to this many documents, the summary has a line per document.
_LISTED_DOCUMENTS = 20

_CACHE_DIR_OPTION = click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The build cache [default: $XDG_CACHE_HOME/policygraph].",
)


@main.group()
def cache() -> None:
    """See how big the build cache is, and prune what no build uses any more."""


@cache.command("info")
@_CACHE_DIR_OPTION
@_friendly_errors
def cache_info(cache_dir: Path | None) -> None:
    """Where the cache is, how many entries it holds and their size."""
    from policygraph.buildcache import default_cache_dir
    from policygraph.cacheprune import usage

    found = usage(cache_dir or default_cache_dir())
    click.echo(f"cache: {found.folder}")
    click.echo(f"  {found.entries} entries, {found.ledgers} output ledgers, {_size(found.bytes)}")
    if found.state_bytes:
        click.echo(f"  the similarity search's state: {_size(found.state_bytes)} of that")
    if found.oldest_use is not None and found.newest_use is not None:
        click.echo(
            f"  last used: oldest {_when(found.oldest_use)}, newest {_when(found.newest_use)}"
        )


@cache.command("prune")
@_CACHE_DIR_OPTION
@click.option(
    "--unused-for",
    "days",
    type=click.FloatRange(min=0),
    default=30,
    show_default=True,
    help="Remove what no build has read or written for this many days.",
)
@click.option("--all", "everything", is_flag=True, help="Remove every entry.")
@_friendly_errors
def cache_prune(cache_dir: Path | None, days: float, everything: bool) -> None:
    """Remove cache entries no build has used lately (each build marks what it reads).

    Only files the cache wrote are removed. The next build rebuilds what it misses.
    """
    from policygraph.buildcache import default_cache_dir
    from policygraph.cacheprune import prune

    folder = cache_dir or default_cache_dir()
    done = prune(folder, None if everything else days * 86400)
    click.echo(
        f"removed {done.removed} files ({_size(done.freed)}) from {folder}; kept {done.kept}"
    )


def _size(count: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    raise AssertionError("unreachable")


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def _file_list(files: list[Path]) -> list[str]:
    """The build's files by name, a dump in parts once, as ``policygraph.nt (70 parts)``."""
    from policygraph.dumpfile import by_dump, whole_name

    grouped = by_dump(path.name for path in files)
    return [
        f"{name} ({len(parts)} parts)" if whole_name(parts[0]) else name
        for name, parts in grouped.items()
    ]


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_friendly_errors
def validate(files: tuple[Path, ...]) -> None:
    """Validate RDF FILES (.ttl, .nt, .nq, .trig, .jsonld, .rdf) against the SHACL shapes.

    Exit code 0 when every file conforms, 1 when one does not, 2 on an error.
    """
    from policygraph.shacl import validate_files

    report = validate_files(list(files))
    click.echo(report.text())
    if not report.conforms:
        sys.exit(EXIT_NONCONFORMANT)


_QUERY_FORMATS = ("table", "csv", "tsv", "json", "md", "ttl", "jsonld", "nt")


@main.command("query")
@click.argument("query", required=False, metavar="QUERY")
@click.option("--list", "list_queries", is_flag=True, help="List the named queries and exit.")
@click.option(
    "--data",
    "-d",
    multiple=True,
    type=click.Path(path_type=Path),
    help="RDF file or build folder to query (repeatable) [default: build/].",
)
@click.option("--endpoint", "-e", metavar="URL", help="Ask this SPARQL endpoint instead.")
@click.option(
    "--graph",
    "-g",
    "graphs",
    multiple=True,
    metavar="IRI",
    help="Query only these named graphs, as one default graph (repeatable) [default: all].",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=click.Choice(_QUERY_FORMATS),
    help="table|csv|tsv|json|md for SELECT/ASK [table]; ttl|jsonld|nt for CONSTRUCT [ttl].",
)
@click.option(
    "--param", "-p", "params", multiple=True, metavar="NAME=VALUE", help="Bind a parameter."
)
@click.option(
    "--timeout",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds to wait for a remote endpoint.",
)
@_friendly_errors
def query(
    query: str | None,
    list_queries: bool,
    data: tuple[Path, ...],
    endpoint: str | None,
    graphs: tuple[str, ...],
    fmt: str | None,
    params: tuple[str, ...],
    timeout: float,
) -> None:
    """Answer QUERY: a name from queries/ (see --list), a .rq file, or a query string.

    Local answers come from the build (or --data) through pyoxigraph; with --endpoint
    the query is POSTed to any SPARQL 1.1 endpoint, with credentials from
    POLICYGRAPH_ENDPOINT_USER/POLICYGRAPH_ENDPOINT_PASSWORD or ~/.netrc. Parameters
    are bound as RDF terms, never pasted into the query text.
    """
    from policygraph import query as queries
    from policygraph import results

    if list_queries:
        click.echo(_query_list(queries.catalogue()), nl=False)
        return
    if query is None:
        raise click.UsageError("give a QUERY (a name, a .rq file or a query string) or --list")
    chosen = queries.resolve(query)
    fmt = results.check_format(chosen.form, fmt)
    answer = queries.run(
        chosen,
        data=data,
        endpoint=endpoint,
        params=queries.parse_param_options(params),
        graphs=graphs,
        timeout=timeout,
    )
    click.echo(results.render(answer, fmt, chosen.prefixes), nl=False)


def _query_list(catalogue: dict[str, Any]) -> str:
    """Each named query with its question, and its parameters below it."""
    width = max(len(name) for name in catalogue)
    lines = []
    for name, named in sorted(catalogue.items()):
        lines.append(f"{name:<{width}}  {named.question}")
        lines += [f"{'':<{width}}    {param.describe()}" for param in named.params]
    return "\n".join(lines) + "\n"


@main.command()
@click.option(
    "--endpoint",
    metavar="URL",
    help="The store's Graph Store Protocol endpoint, e.g. Virtuoso "
    "http://HOST:8890/sparql-graph-crud-auth, Oxigraph http://HOST:7878/store, "
    "Fuseki http://HOST:3030/DATASET/data.",
)
@click.option(
    "--data",
    default="build",
    show_default=True,
    type=click.Path(path_type=Path),
    help="The build folder to load (its policygraph.nq).",
)
@click.option(
    "--query-endpoint",
    metavar="URL",
    help="SPARQL query endpoint used to count the loaded triples "
    "[default: guessed from --endpoint for Virtuoso, Oxigraph, Fuseki, GraphDB].",
)
@click.option(
    "--update-endpoint",
    metavar="URL",
    help="SPARQL Update endpoint for --protocol update or the fallback [default: guessed].",
)
@click.option(
    "--graph-param",
    type=click.Choice(["graph", "graph-uri"]),
    default="graph",
    show_default=True,
    help="Query parameter naming the graph (graph-uri: older Virtuoso).",
)
@click.option(
    "--protocol",
    type=click.Choice(["auto", "gsp", "update"]),
    default="auto",
    show_default=True,
    help="auto: Graph Store Protocol, or SPARQL Update if the store answers 404/405/501.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    metavar="TRIPLES",
    help="Most triples sent in one request.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=300.0,
    show_default=True,
    metavar="SECONDS",
    help="Give up on a request that gets no answer for this long.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress, only errors.")
@_friendly_errors
def load(
    endpoint: str | None,
    data: Path,
    query_endpoint: str | None,
    update_endpoint: str | None,
    graph_param: str,
    protocol: str,
    chunk_size: int,
    timeout: float,
    quiet: bool,
) -> None:
    """Load a build into a graph database: each document's named graph is replaced.

    Loading twice leaves the same store; after a failed load, run it again. The
    triples of every graph are then counted on the server: a difference from the
    build is an error (exit 2). Credentials come from POLICYGRAPH_ENDPOINT_USER and
    POLICYGRAPH_ENDPOINT_PASSWORD, or ~/.netrc — never from the command line.
    """
    from policygraph.load import ProgressDisplay
    from policygraph.load import load as run_load

    display = None if quiet else ProgressDisplay(sys.stderr)
    try:
        report = run_load(
            data,
            endpoint,
            query_endpoint=query_endpoint,
            update_endpoint=update_endpoint,
            graph_param=graph_param,
            protocol=protocol,
            chunk_size=chunk_size,
            timeout=timeout,
            progress=display,
            notice=lambda text: click.echo(f"note: {text}", err=True),
        )
    finally:
        if display is not None:
            display.close()
    if quiet:
        return
    click.echo(
        f"Loaded {len(report.graphs)} graph(s), {report.triples} triples, through "
        f"{report.protocol_name} in {report.seconds:.1f}s; "
        f"counts verified at {report.endpoints.query}"
    )
    if len(report.graphs) > _LISTED_DOCUMENTS:  # a corpus: a line per graph would be noise
        largest = max(report.graphs, key=lambda graph: graph.found)
        click.echo(f"  largest graph <{largest.iri}>: {largest.found} triples")
        return
    for graph in report.graphs:
        click.echo(f"  <{graph.iri}>: {graph.found} triples")


@main.command()
@click.option(
    "--data",
    default="build",
    show_default=True,
    type=click.Path(path_type=Path),
    help="The build to publish.",
)
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder; replaced only when the whole site is written.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only warnings and errors.")
@_friendly_errors
def site(data: Path, out: Path, quiet: bool) -> None:
    """Write the linked-data pages of a build as a static site, for hosting without a server.

    Every resource gets an HTML page (OUT/id/…/index.html) with its Turtle and JSON-LD
    beside it, plus the home page, the ontology documentation, the canned queries,
    /.well-known/void and the dumps under /dumps/ — at the same paths as `serve`.
    """
    from policygraph.site import write_site

    progress = None if quiet else (lambda message: click.echo(message, err=True))
    result = write_site(data, out, progress=progress)
    if not quiet:
        click.echo(
            f"Wrote {len(result.pages)} resource pages (with .ttl and .jsonld), the home, "
            f"query and ontology pages and {len(result.dumps)} dump files into {out}/"
        )


@main.command()
@click.option(
    "--data",
    default="build",
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The build folder to serve.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0: any free."
)
@click.option(
    "--base-iri",
    default=None,
    metavar="IRI",
    help="Base of the data IRIs served under /id/ [default: the build's void:uriSpace].",
)
@click.option(
    "--timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds a SPARQL query may run before it is stopped (504).",
)
@click.option(
    "--max-rows",
    default=10_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Row cap of a SPARQL answer; a cut answer says so.",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(min=1),
    help="SPARQL worker processes (queries evaluated at once).",
)
@click.option(
    "--worker-memory-mb",
    default=4096,
    show_default=True,
    type=click.IntRange(min=0),
    help="Address-space cap of each SPARQL worker (0: none).",
)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(min=1),
    help="HTTP request threads.",
)
@click.option(
    "--cache-mb",
    default=256,
    show_default=True,
    type=click.IntRange(min=0),
    help="Memory for cached responses.",
)
@_friendly_errors
def serve(
    data: Path,
    host: str,
    port: int,
    base_iri: str | None,
    timeout: float,
    max_rows: int,
    workers: int,
    worker_memory_mb: int,
    threads: int,
    cache_mb: int,
) -> None:
    """Serve a build as linked data: dereferenceable IRIs, pages and a SPARQL endpoint.

    Data IRIs {base}X are served at /id/X, vocabulary IRIs https://w3id.org/policygraph/X
    at /X; /sparql is the read-only SPARQL 1.1 endpoint, /query the canned queries,
    /.well-known/void the dataset description, /dumps/ the dumps.
    """
    from policygraph.serve import ServeConfig, run

    config = ServeConfig(
        data=data,
        base_iri=base_iri,
        timeout=timeout,
        max_rows=max_rows,
        workers=workers,
        worker_memory_mb=worker_memory_mb,
        cache_mb=cache_mb,
    )
    run(config, host, port, threads=threads, announce=lambda line: click.echo(line))


if __name__ == "__main__":  # pragma: no cover
    main()
