"""Smoke test for the Virtuoso test harness (tests/support/virtuoso.py).

It proves the three things other tests rely on: a graph uploaded with GSP
arrives complete, PUT replaces rather than appends, and the write endpoint
really requires the dba password.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from tests.support.fixtures import virtuoso  # noqa: F401  (pytest fixture)
from tests.support.virtuoso import VirtuosoHTTPError, VirtuosoServer

GRAPH = "http://example.org/policygraph/test/harness"
UNTOUCHED_GRAPH = "http://example.org/policygraph/test/harness-denied"

# Mixes IRIs, a blank node, language-tagged and typed literals, and one
# repeated statement, so both stores must agree on set semantics.
TURTLE = """\
@prefix ex: <http://example.org/policy/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

ex:retention a ex:Policy ;
    ex:title "Data retention"@en , "Aufbewahrung"@de ;
    ex:version "3"^^xsd:integer ;
    ex:hasRule [ a ex:Rule ; ex:maxDays 30 ] .
ex:retention a ex:Policy .
"""


@pytest.fixture
def turtle_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.ttl"
    path.write_text(TURTLE, encoding="utf-8")
    return path


def test_put_graph_stores_every_triple_and_replaces(
    virtuoso: VirtuosoServer,  # noqa: F811
    turtle_file: Path,
) -> None:
    expected = len(Graph().parse(turtle_file, format="turtle"))
    assert expected == 7

    assert virtuoso.put_graph(GRAPH, turtle_file) in (200, 201)
    assert virtuoso.count_triples(GRAPH) == expected

    assert virtuoso.put_graph(GRAPH, turtle_file) in (200, 201)
    assert virtuoso.count_triples(GRAPH) == expected


def test_wrong_password_is_rejected(
    virtuoso: VirtuosoServer,  # noqa: F811
    turtle_file: Path,
) -> None:
    with pytest.raises(VirtuosoHTTPError) as excinfo:
        virtuoso.put_graph(UNTOUCHED_GRAPH, turtle_file, password="not-dba")
    assert excinfo.value.status == 401
    assert virtuoso.count_triples(UNTOUCHED_GRAPH) == 0
