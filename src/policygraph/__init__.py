"""policygraph: government policy documents as a validated, linked, queryable knowledge graph.

The package keeps its public API small and its imports light: ``import policygraph``
loads nothing heavy, so that ``policygraph --help`` is instant. The functions below
import the pipeline stages (rdflib, pyshacl, pyoxigraph) only when called.

>>> import policygraph
>>> policygraph.__version__ >= "0.1"
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pathlib import Path

    from policygraph.pipeline import BuildResult
    from policygraph.shacl import ValidationReport

__all__ = ["__version__", "build", "parse", "validate"]


def build(
    paths: list[str | Path] | None = None,
    out: str | Path = "build",
    base_iri: str | None = None,
    **options: Any,
) -> BuildResult:
    """Build documents (files or folders; default: the bundled sources) into ``out``.

    :param paths: source files or folders of ``.txt`` documents.
    :param out: the output folder, replaced atomically only when the build succeeds.
    :param base_iri: the base of all data IRIs (default :data:`policygraph.iris.DEFAULT_BASE`).
    :returns: a :class:`~policygraph.pipeline.BuildResult` with counts and warnings.
    :raises policygraph.errors.PolicyGraphError: on bad input or a non-conforming graph.
    """
    from policygraph.pipeline import build as _build

    return _build(paths, out=out, base_iri=base_iri, **options)


# Loading the submodule policygraph.parse binds its name on the package, which would
# replace the function below the first time a build imports it. Load it first (it is
# light: no rdflib, no wordfreq) so that ``policygraph.parse`` stays the function.
from policygraph import parse as _parse_module  # noqa: E402, F401


def parse(path: str | Path) -> Any:
    """Parse one source file into the document model (:class:`policygraph.model.Document`)."""
    from policygraph.parse import parse_file

    return parse_file(path)


def validate(paths: list[str | Path]) -> ValidationReport:
    """Validate RDF files against the project's SHACL shapes."""
    from policygraph.shacl import validate_files

    return validate_files(paths)
