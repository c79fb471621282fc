"""SHACL validation cost per document when documents are validated in batches of k.

Run: ``python bench/batch_validate.py CORPUS K [K ...]``  (e.g. ``1 5 20``).

Why: the build validates each document on its own (one pyshacl run per document),
the naive route validates everything in one run. Between the two lies the batch size
that amortises pyshacl's fixed cost per run (parsing the shapes' SPARQL, copying the
ontology and vocabularies into the working graph) without paying for SPARQL over one
huge graph. For each k this maps the first ``max(K)`` documents of CORPUS (as the
pipeline does), validates them in consecutive batches of k with
``policygraph.shacl.validate_graph`` and prints seconds per document as JSON lines.
"""

from __future__ import annotations

import json
import sys
import time

from bench_common import map_documents  # type: ignore[import-not-found]

from policygraph.export import union
from policygraph.pipeline import collect_sources
from policygraph.shacl import validate_graph


def main(argv: list[str]) -> int:
    """Map max(K) documents, then time batch validation for each K."""
    corpus, *sizes = argv
    ks = [int(k) for k in sizes]
    sources = collect_sources([corpus])[: max(ks)]
    graphs = map_documents(sources)
    validate_graph(graphs[0])  # warm-up: shapes, ontology and vocabularies loaded once
    for k in ks:
        mark = time.perf_counter()
        conforms = True
        for start in range(0, len(graphs), k):
            conforms &= validate_graph(union(graphs[start : start + k])).conforms
        seconds = time.perf_counter() - mark
        record = {
            "batch": k,
            "documents": len(graphs),
            "seconds": round(seconds, 2),
            "s_per_doc": round(seconds / len(graphs), 3),
            "conforms": conforms,
        }
        print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
