"""Time each step of the export stage on its own, over a finished build's data.

Run: ``python bench/export_split.py BUILD``  (a folder ``policygraph build`` wrote).

Why: the build reports one figure for "export", but the plan for issue 7 depends on
which writer costs what (the rdflib union, Turtle, N-Triples, JSON-LD, TriG, N-Quads).
This reloads the build's N-Quads into rdflib graphs (one per named graph, as the
pipeline holds them) and times the same ``policygraph.export`` calls the pipeline makes,
writing into a temporary folder. Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from rdflib import Dataset, Graph

from policygraph import export
from policygraph.graph import PREFIXES


def _named(build: Path) -> list[tuple[str, Graph]]:
    dataset = Dataset()
    dataset.parse(build / "policygraph.nq", format="nquads")
    named = []
    for context in dataset.graphs():
        if len(context):
            graph = Graph()
            for triple in context:
                graph.add(triple)
            named.append((str(context.identifier), graph))
    return named


def main(argv: list[str]) -> int:
    """Reload ``argv[0]``'s N-Quads, then time union and every writer."""
    build = Path(argv[0])
    times: dict[str, float] = {}
    mark = time.perf_counter()
    named = _named(build)
    times["reload (not part of the build)"] = time.perf_counter() - mark
    with tempfile.TemporaryDirectory() as tmp:
        stem = Path(tmp) / "policygraph"
        mark = time.perf_counter()
        data = export.union(graph for _, graph in named)
        times["union"] = time.perf_counter() - mark
        writers = {
            "turtle": lambda: export.write_turtle(data, stem.with_suffix(".ttl"), PREFIXES),
            "ntriples": lambda: export.write_ntriples(data, stem.with_suffix(".nt")),
            "jsonld": lambda: export.write_jsonld(data, stem.with_suffix(".jsonld")),
            "trig": lambda: export.write_trig(named, stem.with_suffix(".trig"), PREFIXES),
            "nquads": lambda: export.write_nquads(named, stem.with_suffix(".nq")),
        }
        for name, write in writers.items():
            mark = time.perf_counter()
            write()
            times[name] = time.perf_counter() - mark
    summary = {k: round(v, 2) for k, v in times.items()}
    print(json.dumps({"build": str(build), "triples": len(data), "seconds": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
