"""The static site: a page and RDF files for every resource, links that resolve, atomic output.

Expected values come from the build itself read independently: every subject of its
Turtle dump (rdflib) must have a page, and each resource's ``.ttl``/``.jsonld`` must be
isomorphic to what the dump says about it; the dump files must be copied byte for byte.
Links are followed on disk, the way a static web server would.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import pytest
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic

from policygraph import html
from policygraph.errors import PolicyGraphError
from policygraph.site import build_base, write_site
from tests.conftest import REPO


@pytest.fixture(scope="module")
def site_dir(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    write_site(build_dir, out)
    return out


@pytest.fixture(scope="module")
def base(build_dir: Path) -> str:
    return build_base(build_dir)


def folder_of(site: Path, path: str) -> Path:
    return site.joinpath(*unquote(path).strip("/").split("/"))


def description(graph: Graph, iri: URIRef) -> Graph:
    found = Graph()
    for triple in graph.triples((iri, None, None)):
        found.add(triple)
    return found


def test_every_resource_has_a_page_and_its_rdf(site_dir: Path, base: str, graph: Graph) -> None:
    """Every subject under the base or the policygraph vocabularies; others stay external."""
    subjects = sorted({s for s in graph.subjects() if isinstance(s, URIRef)})
    local = [s for s in subjects if str(s).startswith((base, html.VOCAB_ROOT))]
    assert len(local) > 200
    assert any(str(s).startswith(base + "policy/") for s in local)
    for subject in local:
        path = html.local_path(str(subject), base)
        assert path.startswith("/"), f"{subject} has no local path"
        folder = folder_of(site_dir, path)
        assert (folder / "index.html").is_file(), subject
        expected = description(graph, subject)
        turtle = Graph().parse(folder.with_name(folder.name + ".ttl"), format="turtle")
        assert isomorphic(turtle, expected), subject
        jsonld = Graph().parse(folder.with_name(folder.name + ".jsonld"), format="json-ld")
        assert isomorphic(jsonld, expected), subject
    pages = list(site_dir.rglob("index.html"))
    fixed = {
        site_dir / "index.html",
        site_dir / "query/index.html",
        site_dir / "ontology/index.html",
    }
    assert len(pages) == len(local) + len(fixed)
    assert fixed <= set(pages)


def _hrefs(text: str) -> list[str]:
    return re.findall(r'\b(?:href|src)="([^"]*)"', text)


def test_every_local_link_resolves(site_dir: Path) -> None:
    """Follow every link of every page on disk, as a static web server would."""
    ontology_ids = set(
        re.findall(r'\bid="([^"]+)"', (site_dir / "ontology/index.html").read_text())
    )
    checked = 0
    for page in site_dir.rglob("*.html"):
        if page == site_dir / "ontology" / "index.html":
            continue  # pyLODE's page links to the terms' own IRIs
        for href in _hrefs(page.read_text(encoding="utf-8")):
            if not href.startswith("/") or href.startswith("//"):
                continue
            assert "?" not in href, f"{page}: {href} needs a server"
            path, _, fragment = href.partition("#")
            target = folder_of(site_dir, path)
            assert target.is_file() or (target / "index.html").is_file(), f"{page}: {href}"
            if path == html.ONTOLOGY_PATH and fragment:
                assert fragment in ontology_ids, f"{page}: {href}"
            checked += 1
    assert checked > 1000


def test_pages_point_to_their_static_rdf(site_dir: Path, base: str, graph: Graph) -> None:
    policy = next(s for s in graph.subjects() if str(s).startswith(base + "policy/"))
    path = html.local_path(str(policy), base)
    text = (folder_of(site_dir, path) / "index.html").read_text(encoding="utf-8")
    for kind, suffix in (("text/turtle", ".ttl"), ("application/ld+json", ".jsonld")):
        assert f'<link rel="alternate" type="{kind}" href="{path}{suffix}">' in text
    assert 'href="/sparql"' not in text  # no server behind a static site


def test_fixed_pages_and_dumps(site_dir: Path, build_dir: Path) -> None:
    home = (site_dir / "index.html").read_text(encoding="utf-8")
    assert "<svg" in home
    for dump in build_dir.iterdir():
        copy = site_dir / "dumps" / dump.name
        assert copy.read_bytes() == dump.read_bytes(), dump.name
        if dump.name.startswith("policygraph."):
            assert f'href="/dumps/{dump.name}"' in home
    void = (site_dir / ".well-known" / "void").read_bytes()
    assert void == (build_dir / "void.ttl").read_bytes()
    assert (site_dir / ".nojekyll").is_file()
    queries = (site_dir / "query" / "index.html").read_text(encoding="utf-8")
    for rq in (REPO / "queries").glob("*.rq"):
        assert f"<code>{rq.stem}</code>" in queries
    assert "<form" not in queries
    assert "policygraph ontology" in (site_dir / "ontology" / "index.html").read_text()


def test_output_is_replaced_only_when_complete(build_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(build_dir, out)
    marker = out / "index.html"
    before = marker.read_bytes()
    not_a_build = tmp_path / "empty"
    not_a_build.mkdir()
    with pytest.raises(PolicyGraphError, match=r"void\.ttl"):
        write_site(not_a_build, out)
    assert marker.read_bytes() == before
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "void.ttl").write_bytes((build_dir / "void.ttl").read_bytes())
    (broken / "policygraph.nq").write_text("<a> <b> .\n", encoding="utf-8")
    with pytest.raises(PolicyGraphError, match=r"policygraph\.nq"):
        write_site(broken, out)
    assert marker.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "empty", "site"]
    with pytest.raises(PolicyGraphError, match="replace the build"):
        write_site(build_dir, build_dir)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-m", "policygraph", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_cli_writes_a_site(build_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "public"
    done = _cli("site", "--data", str(build_dir), "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert (out / "index.html").is_file()
    failed = _cli("site", "--data", str(tmp_path / "missing"), "--out", str(out))
    assert failed.returncode == 2
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and "missing" in lines[0] and "Traceback" not in failed.stderr
