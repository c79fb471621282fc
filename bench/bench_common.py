"""What the benchmark scripts share: mapping documents to RDF exactly as the pipeline does."""

from __future__ import annotations

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
