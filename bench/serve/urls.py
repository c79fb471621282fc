"""Write the request paths the load benchmark rotates over.

``pages.txt``: every resource of the build (each IRI with triples about it) at its path on
the server, through the same mapping the server and its pages use. ``queries.txt``:
``/sparql?query=…`` for every canned query of ``queries/`` (parameters left unbound, as a
client sending the file's text would).
"""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path

import pyoxigraph as ox

from policygraph.html import local_path
from policygraph.lod import load_build, read_base
from policygraph.resources import data_files


def main(data: Path, out: Path) -> None:
    store = load_build(data)
    base = read_base(data, store)
    subjects = {q.subject.value for q in store if isinstance(q.subject, ox.NamedNode)}
    paths = sorted({local_path(iri, base) for iri in subjects} - {"/.well-known/void"})
    pages = [urllib.parse.quote(p, safe="/#") for p in paths if p.startswith("/")]
    pages = [p.split("#")[0] for p in pages]
    (out / "pages.txt").write_text("\n".join(sorted(set(pages))) + "\n")
    queries = [
        "/sparql?" + urllib.parse.urlencode({"query": f.read_text(encoding="utf-8")})
        for f in data_files("queries", "*.rq")
    ]
    (out / "queries.txt").write_text("\n".join(queries) + "\n")
    print(f"{len(set(pages))} resource paths, {len(queries)} canned queries")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
