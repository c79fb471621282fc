"""A build over a folder of English and Chinese documents (issue 5, point 6).

The folder holds the two Chinese sample documents and the bundled English one; the
command line builds it like any other. Each document keeps its own language on its
labels, no IRI is shared between documents, and the result validates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

REPO = Path(__file__).resolve().parent.parent
ZH = REPO / "tests" / "data" / "zh"
SOURCES = [
    ZH / "zh-2018-agricultural-mechanization-guiding-opinions.txt",
    ZH / "zh-2018-sports-competition-industry-guiding-opinions.txt",
    REPO / "sources" / "quality-improving-action-2017.txt",
]
BASE = "https://w3id.org/policygraph/id/"
PG = "https://w3id.org/policygraph/ontology#"
# Policy ids: from the document numbers (Chinese); from year and subject (English).
LANGUAGES = {
    "guofa-2018-42": "zh",
    "guobanfa-2018-121": "zh",
    "2017-launching-quality-improving-action": "en",
}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "SOURCE_DATE_EPOCH": "1800000000"}
    return subprocess.run(
        [sys.executable, "-m", "policygraph", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp("mixed") / "docs"
    folder.mkdir()
    for source in SOURCES:
        shutil.copyfile(source, folder / source.name)
    out = folder.parent / "build"
    return out, run_cli("build", str(folder), "-o", str(out))


@pytest.fixture(scope="module")
def graph(mixed: tuple[Path, subprocess.CompletedProcess]) -> Graph:
    out, done = mixed
    assert done.returncode == 0, done.stderr
    return Graph().parse(out / "policygraph.ttl", format="turtle")


def test_three_policies(graph: Graph) -> None:
    policies = set(graph.subjects(RDF.type, URIRef(PG + "Policy")))
    assert policies == {URIRef(f"{BASE}policy/{ident}") for ident in LANGUAGES}


def test_the_summary_names_each_document_with_its_language(mixed) -> None:  # type: ignore[no-untyped-def]
    _, done = mixed
    assert "Built 3 document(s)" in done.stdout
    for ident, language in LANGUAGES.items():
        assert f"{ident} [{language}]" in done.stdout


@pytest.mark.parametrize("ident", sorted(LANGUAGES))
def test_labels_carry_the_language_of_their_document(graph: Graph, ident: str) -> None:
    """The policy and its parts (chapters, items, paragraphs, objectives, notes)."""
    policy = f"{BASE}policy/{ident}"
    parts = {URIRef(policy), *graph.subjects(URIRef(PG + "inPolicy"), URIRef(policy))}
    languages = {label.language for part in parts for label in graph.objects(part, RDFS.label)}
    assert languages == {LANGUAGES[ident]}
    language = URIRef(f"http://id.loc.gov/vocabulary/iso639-1/{LANGUAGES[ident]}")
    assert (URIRef(policy), URIRef("http://purl.org/dc/terms/language"), language) in graph


def test_every_part_belongs_to_one_policy(graph: Graph) -> None:
    """No IRI is shared: each part is in one policy, and under that policy's IRI."""
    in_policy = URIRef(PG + "inPolicy")
    parts: dict[URIRef, set] = {}
    for part, policy in graph.subject_objects(in_policy):
        parts.setdefault(part, set()).add(policy)
    # at least the chapters and items: 8 + 20, 5 + 19 and 6 + 30 (counted by hand)
    assert len(parts) >= 28 + 24 + 36
    for part, policies in parts.items():
        assert len(policies) == 1, part
        (policy,) = policies
        assert str(part).startswith(f"{policy}/"), part
    # Parts of different documents never share an IRI, though their numbering does.
    chapters = [s for s in graph.subjects(RDF.type, URIRef(PG + "Chapter"))]
    assert len(chapters) == len(set(chapters)) == 8 + 5 + 6


def test_the_build_validates(mixed) -> None:  # type: ignore[no-untyped-def]
    out, done = mixed
    assert done.returncode == 0, done.stderr
    checked = run_cli("validate", str(out / "policygraph.ttl"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
