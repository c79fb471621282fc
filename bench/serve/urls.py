"""Write the request paths the load benchmark rotates over.

``pages.txt``: every resource of the build (each IRI with triples about it) at its path on
the server, through the same mapping the server and its pages use. ``queries.txt``:
``/sparql?query=…`` for every canned query of ``queries/`` (parameters left unbound, as a
client sending the file's text would).

``--documents K`` keeps the resources of K document graphs, evenly spaced in IRI order,
plus the shared resources and the vocabularies (not the links graph, whose similarity
records span the corpus): a corpus has millions of resources, and one sequential pass
over all of them would take hours. The queries are then those with a ``policy``
parameter, bound to each sampled document's policy. The sample is the same for the
same build.
"""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path

import pyoxigraph as ox

from policygraph.endpoint import inline_values
from policygraph.html import local_path
from policygraph.iris import Iris
from policygraph.lod import graph_sizes, load_build, read_base
from policygraph.query import bind, read_query
from policygraph.resources import data_files


def main(data: Path, out: Path, documents: int | None = None) -> None:
    store = load_build(data)
    base = read_base(data, store)
    if documents is None:
        quads = iter(store)
    else:
        graphs = sorted(graph_sizes(store))
        iris = Iris(base)
        corpus_wide = {iris.graph("links"), iris.shared_graph(), iris.vocabulary_graph()}
        own = [g for g in graphs if g not in corpus_wide]
        step = max(1, len(own) // documents)
        chosen = set(own[::step][:documents]) | (set(graphs) & corpus_wide) - {iris.graph("links")}
        quads = (
            q
            for g in sorted(chosen)
            for q in store.quads_for_pattern(None, None, None, ox.NamedNode(g))
        )
    subjects = {q.subject.value for q in quads if isinstance(q.subject, ox.NamedNode)}
    paths = sorted({local_path(iri, base) for iri in subjects} - {"/.well-known/void"})
    pages = [urllib.parse.quote(p, safe="/#") for p in paths if p.startswith("/")]
    pages = [p.split("#")[0] for p in pages]
    (out / "pages.txt").write_text("\n".join(sorted(set(pages))) + "\n")
    texts = [f.read_text(encoding="utf-8") for f in data_files("queries", "*.rq")]
    if documents is not None:
        # a corpus's unbound answers run to 100 000s of rows (bench/queries.py times
        # them); a user asks about one policy: each query with a policy parameter, bound
        # to each sampled document's policy as `policygraph query --param` binds it
        policies = sorted(g.removeprefix(base + "graph/") for g in chosen - corpus_wide)
        texts = [
            inline_values(query.text, bind(query, {"policy": policy}))
            for query in map(read_query, texts, texts)
            if any(param.name == "policy" for param in query.params)
            for policy in policies
        ]
    queries = ["/sparql?" + urllib.parse.urlencode({"query": text}) for text in texts]
    (out / "queries.txt").write_text("\n".join(queries) + "\n")
    print(f"{len(set(pages))} resource paths, {len(queries)} canned queries")


if __name__ == "__main__":
    sample = sys.argv[sys.argv.index("--documents") + 1] if "--documents" in sys.argv else None
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sample) if sample else None)
