"""The naive route: every document into ONE rdflib graph, then ONE pyshacl run over it all.

Run: ``python bench/naive.py CORPUS``.

Why: issue 7 asks how the build compares with the obvious way of doing the same work.
This uses policygraph's own stages (parse, classify, objectives, agencies, themes,
document graph, SDG links, citation and similarity links) exactly as the pipeline
does, but instead of validating each document on its own it merges everything and
validates once, with the same shapes, ontology and vocabularies
(``policygraph.shacl.validate_graph``). It writes no files: the export is the same
work in both routes, so only the part that differs is measured. Prints one line per
100 documents and a JSON summary line at the end.
"""

from __future__ import annotations

import json
import sys
import time

from bench_common import map_documents  # type: ignore[import-not-found]

from policygraph.export import union
from policygraph.iris import Iris
from policygraph.links import link_documents
from policygraph.pipeline import collect_sources
from policygraph.shacl import validate_graph


def main(argv: list[str]) -> int:
    """Map every document, merge, validate once; print stage times as JSON."""
    (corpus,) = argv
    started = time.perf_counter()
    stages: dict[str, float] = {}
    iris = Iris(None)
    sources = collect_sources([corpus])

    mark = time.perf_counter()
    graphs = map_documents(sources, iris, every=100)
    stages["parse+graph"] = time.perf_counter() - mark

    mark = time.perf_counter()
    links, _ = link_documents(graphs, iris)
    stages["links"] = time.perf_counter() - mark

    mark = time.perf_counter()
    data = union([*graphs, links])
    stages["union"] = time.perf_counter() - mark
    print(f"{time.perf_counter() - started:9.2f} validating {len(data)} triples", flush=True)

    mark = time.perf_counter()
    report = validate_graph(data)
    stages["validate"] = time.perf_counter() - mark

    summary = {
        "documents": len(sources),
        "triples": len(data),
        "conforms": report.conforms,
        "stages": {name: round(seconds, 2) for name, seconds in stages.items()},
        "seconds": round(time.perf_counter() - started, 2),
    }
    print("SUMMARY " + json.dumps(summary), flush=True)
    return 0 if report.conforms else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
