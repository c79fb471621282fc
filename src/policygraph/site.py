"""The static site: every page ``serve`` shows, written to files for hosting without a server.

The layout keeps the server's paths, so links and IRIs work the same on any static
host (a folder on a web server, GitHub Pages, an object store with index documents):

- a resource served at ``/id/policy/x/chp_2`` is ``id/policy/x/chp_2/index.html``
  (hosts answer ``/id/policy/x/chp_2`` with that folder's index), with its description
  beside it as ``id/policy/x/chp_2.ttl`` and ``id/policy/x/chp_2.jsonld``;
- vocabulary resources the same way under ``theme/``, ``unit/`` …;
- ``index.html`` (the documents), ``query/index.html`` (the canned queries, without
  forms), ``ontology/index.html``, ``.well-known/void`` and ``dumps/``.

The output is replaced atomically, like a build: a failed run leaves the old site.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import pyoxigraph as ox

from policygraph import dumpfile, html
from policygraph.errors import PolicyGraphError
from policygraph.pipeline import DESCRIPTION_FILE, DUMP_STEM, atomic_output

QUADS_FILE = f"{DUMP_STEM}.nq"
VOID = "http://rdfs.org/ns/void#"


@dataclass
class SiteResult:
    """What the site writer wrote, for the CLI's summary and for tests."""

    out: Path
    base: str
    pages: list[str] = field(default_factory=list)
    dumps: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def build_base(data: Path) -> str:
    """The base IRI of a build, as its dataset description states it (``void:uriSpace``)."""
    description = data / DESCRIPTION_FILE
    if not description.is_file():
        raise PolicyGraphError("no dataset description here; is this a build folder?", description)
    store = ox.Store()
    try:
        store.load(path=str(description), format=ox.RdfFormat.TURTLE)
    except SyntaxError as exc:
        raise PolicyGraphError(f"not valid Turtle: {exc}", description) from None
    spaces = sorted(
        q.object.value for q in store.quads_for_pattern(None, ox.NamedNode(VOID + "uriSpace"), None)
    )
    if not spaces:
        raise PolicyGraphError("the dataset description has no void:uriSpace", description)
    return spaces[0]


def load_build(data: Path) -> html.QuadIndex:
    """The build's N-Quads dump (every part), exactly as written (see
    :class:`html.QuadIndex`)."""
    files = dumpfile.find_all(data, QUADS_FILE)
    if not files:
        raise PolicyGraphError("no N-Quads dump here; is this a build folder?", data / QUADS_FILE)
    index = html.QuadIndex([])
    for quads in files:
        try:
            index.add(dumpfile.parse(quads, ox.RdfFormat.N_QUADS))
        except SyntaxError as exc:
            raise PolicyGraphError(f"not valid N-Quads: {exc}", quads) from None
        except dumpfile.DECOMPRESSION_ERRORS as exc:
            raise PolicyGraphError(f"cannot be decompressed: {exc}", quads) from None
    return index


def subjects(store: html.QuadIndex) -> list[str]:
    """Every IRI the build describes, sorted."""
    return sorted({q.subject.value for q in store if isinstance(q.subject, ox.NamedNode)})


def _target(root: Path, path: str) -> Path | None:
    """The file for a local path, or None when the path could leave the output folder."""
    segments = unquote(path).split("/")[1:]
    if not segments or any(s in ("", ".", "..") or "\\" in s for s in segments[:-1]):
        return None
    if segments[-1] in (".", ".."):
        return None
    return root.joinpath(*segments) if segments[-1] else root.joinpath(*segments[:-1])


def _write(file: Path, content: str | bytes) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        file.write_text(content, encoding="utf-8")
    else:
        file.write_bytes(content)


def _write_resource(root: Path, store: html.QuadIndex, iri: str, base: str) -> bool:
    """A resource's page, Turtle and JSON-LD; False when its IRI has no local path."""
    path = html.local_path(iri, base)
    folder = _target(root, path) if path.startswith("/") and "#" not in path else None
    if folder is None or folder == root:
        return False
    page = html.resource_page(store, iri, base, static=True)
    if page is None:
        return False
    triples = html.resource_triples(store, iri)
    _write(folder / "index.html", page)
    _write(folder.with_name(folder.name + ".ttl"), html.resource_turtle(triples))
    document = html.resource_jsonld(triples)
    _write(
        folder.with_name(folder.name + ".jsonld"),
        json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
    )
    return True


def _dump_files(data: Path) -> list[Path]:
    """The files of the build to publish under ``dumps/``: the dumps and their description."""
    return sorted(p for p in data.iterdir() if p.is_file() and not p.name.startswith("."))


def write_site(
    data: str | Path = "build",
    out: str | Path = "site",
    progress: Callable[[str], None] | None = None,
) -> SiteResult:
    """Write the static site of the build in ``data`` to ``out``; see the module docstring."""
    data, out = Path(data).resolve(), Path(out).resolve()
    if out == data or data.is_relative_to(out):
        raise PolicyGraphError("the site would replace the build it is made from", out)
    say = progress or (lambda message: None)
    base = build_base(data)
    store = load_build(data)
    result = SiteResult(out=out, base=base)
    with atomic_output(out) as staging:
        iris = subjects(store)
        say(f"{len(iris)} resources under {base} and the vocabularies")
        for iri in iris:
            if _write_resource(staging, store, iri, base):
                result.pages.append(iri)
            else:
                result.skipped.append(iri)
        dumps_folder = staging / html.DUMPS_PATH.strip("/")
        dumps_folder.mkdir(parents=True, exist_ok=True)
        for file in _dump_files(data):
            shutil.copyfile(file, dumps_folder / file.name)
            result.dumps.append(file.name)
        dumps = [name for name in result.dumps if name.startswith(DUMP_STEM)]
        _write(staging / "index.html", html.home_page(store, base, static=True, dumps=dumps))
        _write(
            staging / "query" / "index.html",
            html.query_page(store, base, None, {}, None, static=True),
        )
        say("ontology documentation (pyLODE)")
        _write(staging / "ontology" / "index.html", html.ontology_page())
        _write(staging / ".well-known" / "void", (data / DESCRIPTION_FILE).read_bytes())
        # GitHub Pages runs Jekyll unless told not to, and Jekyll drops dot-folders.
        _write(staging / ".nojekyll", b"")
    return result
