"""The ``policygraph`` command, run as users run it: in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import BNode, Dataset, URIRef

import policygraph
from policygraph.cli import main
from tests.conftest import PINNED_EPOCH, REPO

DATA = Path(__file__).parent / "data" / "en"
HEAVY = {"rdflib", "pyshacl", "pyoxigraph", "wordfreq"}


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SOURCE_DATE_EPOCH": PINNED_EPOCH}
    return subprocess.run(
        [sys.executable, "-m", "policygraph", *args],
        cwd=cwd or REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_version():
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert policygraph.__version__ in result.stdout


@pytest.mark.parametrize("command", [None, *sorted(main.commands)])
def test_help_on_every_command(command):
    args = ["--help"] if command is None else [command, "--help"]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage:")
    if command is None:
        for name in main.commands:
            assert name in result.stdout


def test_importing_the_cli_loads_no_heavy_library():
    code = (
        "import policygraph.cli, sys; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(HEAVY)!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"


def test_build_without_paths_builds_the_bundled_document_into_build(tmp_path):
    result = run("build", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "build"
    assert (out / "policygraph.ttl").is_file()
    assert (out / "policygraph.nt").is_file()
    assert "1 document" in result.stdout
    dataset = Dataset().parse(out / "policygraph.nq", format="nquads")
    sources = {str(o) for _, p, o, _ in dataset.quads() if str(p).endswith("#fileName")}
    assert sources == {"quality-improving-action-2017.txt"}


def test_build_a_folder_under_another_base_iri(tmp_path):
    base = "https://data.example.org/policy-graph/"
    out = tmp_path / "site"
    result = run("build", str(DATA), "--out", str(out), "--base-iri", base)
    assert result.returncode == 0, result.stderr
    dataset = Dataset().parse(out / "policygraph.nq", format="nquads")
    graphs = {
        str(g.identifier)
        for g in dataset.graphs()
        if isinstance(g.identifier, URIRef)
        and str(g.identifier) != str(dataset.default_graph.identifier)
    }
    documents = {g for g in graphs if not g.endswith(("/vocabularies", "/links", "/shared"))}
    assert len(documents) == len(list(DATA.glob("*.txt")))
    assert all(g.startswith(base) for g in graphs)
    # Every resource the documents describe has an IRI under the base.
    for g in documents:
        for s, _, o in dataset.graph(URIRef(g)):
            assert not isinstance(s, BNode)
            assert str(s).startswith(base), s
            if isinstance(o, URIRef) and "/policy/" in str(o):
                assert str(o).startswith(base), o
    assert "https://w3id.org/policygraph/id/" not in (out / "policygraph.nq").read_text()


@pytest.mark.parametrize("bad", ["not an iri", "example.org/data/", "http://exa mple.org/"])
def test_bad_base_iri_is_one_line_and_exit_2(tmp_path, bad):
    result = run("build", "--out", str(tmp_path / "out"), "--base-iri", bad)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "base" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
