"""The ``policygraph`` command: a thin layer over the Python API.

Commands import the pipeline only when they run, so ``--help`` and ``--version`` are
instant. Every user error (bad input, bad option, non-conforming graph) is one clear
line on stderr and a documented exit code — 0 success, 1 SHACL non-conformance,
2 error — never a traceback.
"""

from __future__ import annotations

import functools
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
@_friendly_errors
def build(paths: tuple[Path, ...], out: Path, base_iri: str | None, quiet: bool) -> None:
    """Build documents (files or folders of .txt; default: the bundled document) into OUT.

    Parses, links to themes, validates with SHACL, and writes Turtle, N-Triples,
    N-Quads, TriG, JSON-LD and a DCAT/VoID description. Set SOURCE_DATE_EPOCH to pin
    the build time for byte-identical rebuilds.
    """
    from policygraph.pipeline import build as run_build

    started = time.perf_counter()
    progress = None if quiet else (lambda message: click.echo(message, err=True))
    result = run_build(list(paths) or None, out=out, base_iri=base_iri, progress=progress)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if quiet:
        return
    click.echo(f"Built {len(result.documents)} document(s), {result.triples} triples into {out}/")
    for doc in result.documents:
        click.echo(
            f"  {doc.doc_id} [{doc.language}]: {doc.chapters} chapters, {doc.items} items "
            f"({doc.measures} measures), {doc.objectives} objectives, {doc.repairs} repairs, "
            f"{doc.triples} triples"
        )
    click.echo(f"  files: {', '.join(p.name for p in result.files)}")
    stages = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in result.timings.items())
    total = time.perf_counter() - started
    click.echo(f"  warnings: {len(result.warnings)}; time: {stages}; total {total:.2f}s")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@_friendly_errors
def validate(files: tuple[Path, ...]) -> None:
    """Validate RDF FILES (.ttl, .nt, .nq, .trig, .jsonld, .rdf) against the SHACL shapes.

    Exit code 0 when every file conforms, 1 when one does not, 2 on an error.
    """
    from policygraph.validate import validate_files

    report = validate_files(list(files))
    click.echo(report.text())
    if not report.conforms:
        sys.exit(EXIT_NONCONFORMANT)


if __name__ == "__main__":  # pragma: no cover
    main()
