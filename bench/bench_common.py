"""What the benchmark scripts share: mapping documents to RDF exactly as the pipeline does,
the canned queries as they are timed, and a query on rdflib under a time cap."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from rdflib import Graph

from policygraph.agencies import assign_agencies
from policygraph.classify import classify
from policygraph.graph import document_graph
from policygraph.iris import Iris
from policygraph.objectives import extract_objectives
from policygraph.parse import parse_file
from policygraph.pipeline import build_time
from policygraph.query import Query, catalogue
from policygraph.sdg import add_sdg_links
from policygraph.themes import assign_themes


def map_documents(sources: list[Path], iris: Iris | None = None, every: int = 0) -> list[Graph]:
    """Each document through the pipeline's stages up to its RDF graph (SDG links included).

    With ``every`` > 0, prints a progress line every ``every`` documents, so that a run
    cut off by its time cap still shows how far it got.
    """
    iris = iris or Iris(None)
    built_at = build_time()
    started = time.perf_counter()
    graphs = []
    for number, source in enumerate(sources, start=1):
        document = parse_file(source)
        classify(document)
        extract_objectives(document)
        assign_agencies(document)
        assign_themes(document)
        graph = document_graph(document, iris, built_at)
        add_sdg_links(graph)
        graphs.append(graph)
        if every and number % every == 0:
            elapsed = time.perf_counter() - started
            print(f"{elapsed:9.2f} mapped {number}/{len(sources)}", flush=True)
    return graphs


#: The policy the bound cases are asked about: the first by its identifier.
FIRST_POLICY = (
    "PREFIX eli: <http://data.europa.eu/eli/ontology#> "
    "SELECT ?id WHERE { ?p eli:id_local ?id } ORDER BY ?id LIMIT 1"
)


def canned_cases(policy: str | None) -> list[tuple[str, Query, dict[str, str]]]:
    """Every canned query with its defaults bound and the rest unbound (over the whole
    corpus), and again with ``policy`` bound where the query takes one: (label, query,
    given parameters)."""
    cases: list[tuple[str, Query, dict[str, str]]] = []
    for name, query in sorted(catalogue().items()):
        cases.append((name, query, {}))
        if policy and any(p.name == "policy" for p in query.params):
            cases.append((f"{name} (policy={policy})", query, {"policy": policy}))
    return cases


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Timeout


def rdflib_answer(dataset, text: str, cap: int) -> tuple[int, float | None]:  # type: ignore[no-untyped-def]
    """Rows and seconds of the query ``text`` on an rdflib graph or dataset, the answer
    fully read; (-1, None) when it was still running after ``cap`` seconds (SIGALRM:
    rdflib evaluates in Python, so the alarm interrupts it)."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(cap)
    mark = time.perf_counter()
    try:
        rows = len(list(dataset.query(text)))
        return rows, time.perf_counter() - mark
    except _Timeout:
        return -1, None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
