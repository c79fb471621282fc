"""A synthetic corpus dump for `policygraph load` at scale, and a Virtuoso to load it into.

``make`` replicates the document graph(s) of a real build's N-Quads K times, renaming
each copy's graph IRI and the IRIs minted for it (the document's slug gets a suffix), so
every copy is a distinct graph with distinct subjects, as in a corpus; resources shared
between documents (agencies, vocabulary terms) stay shared, as in a real build. A
links graph (10 links of 8 triples per document: one graph far larger than a chunk, as
a corpus's links graph is) and the build's vocabularies graph close the dump, each in
one block as the corpus build writes them. The link triples are shaped like the
build's (a resource per link) but use a bench vocabulary: only their number matters.

``run`` starts a fresh throw-away Virtuoso (tests/support/virtuoso.py), times
``policygraph load`` of such a dump under ``/usr/bin/time -v`` and prints wall time,
triples/s and peak RSS; ``serve`` keeps a Virtuoso running until Ctrl-C instead.

    .venv/bin/python bench/load_scale.py make --build build --quads 1000000 --out /tmp/s1m
    .venv/bin/python bench/load_scale.py run --data /tmp/s1m --chunk-size 10000
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
LINKS_PER_DOCUMENT = 10
LINK_PROPERTIES = ("source", "target", "score", "textScore", "themeScore", "method", "measure")
# Virtuoso sized for a 2 GB machine (the packaged ini's own recommendation for 2 GB).
VIRTUOSO_SETTINGS = {"Parameters": {"NumberOfBuffers": "170000", "MaxDirtyBuffers": "130000"}}


def _graph_of(line: str) -> str:
    """The graph term of a canonical N-Quads line (the builds write one quad a line)."""
    return line.rstrip().rsplit(" ", 2)[-2]


def make(build: Path, quads: int, out: Path) -> int:
    """Write ``out/policygraph.nq`` with about ``quads`` quads; returns the number written."""
    lines = (build / "policygraph.nq").read_text(encoding="utf-8").splitlines(keepends=True)
    by_graph: dict[str, list[str]] = {}
    for line in lines:
        if line.strip():
            by_graph.setdefault(_graph_of(line), []).append(line)
    vocab = [g for g in by_graph if g.endswith("/graph/vocabularies>")]
    documents = [g for g in by_graph if g not in vocab and not g.endswith("/graph/links>")]
    slugs = {g: g.rstrip(">").rsplit("/", 1)[1] for g in documents}
    link_triples = LINKS_PER_DOCUMENT * (1 + len(LINK_PROPERTIES))
    per_copy = sum(len(by_graph[g]) for g in documents) + link_triples * len(documents)
    copies = max(1, quads // per_copy)
    base = documents[0][1:].rsplit("/graph/", 1)[0] + "/"
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with (out / "policygraph.nq").open("w", encoding="utf-8") as dump:
        for k in range(copies):
            for graph in documents:
                slug = slugs[graph]
                text = "".join(by_graph[graph]).replace(slug, f"{slug}-{k:06d}")
                dump.write(text)
                written += len(by_graph[graph])
        for k in range(copies):
            for graph in documents:
                written += _write_links(dump, base, slugs[graph], k, copies)
        for graph in vocab:
            dump.writelines(by_graph[graph])
            written += len(by_graph[graph])
    return written


def _write_links(dump: TextIO, base: str, slug: str, k: int, copies: int) -> int:
    """One document's links: a resource per link, as the build's links graph has."""
    graph, vocab = f"<{base}graph/links>", f"{base}bench#"
    lines = []
    for step in range(1, LINKS_PER_DOCUMENT + 1):
        link = f"<{base}link/{slug}-{k:06d}-{step}>"
        lines.append(f"{link} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{vocab}Link>")
        target = f"{slug}-{(k + step * 7) % copies:06d}"
        values = {"source": f"<{base}policy/{slug}-{k:06d}>", "target": f"<{base}policy/{target}>"}
        for name in LINK_PROPERTIES:
            value = values.get(name, f'"0.{(k * step) % 97:02d}"')
            lines.append(f"{link} <{vocab}{name}> {value}")
    dump.write("".join(f"{line} {graph} .\n" for line in lines))
    return len(lines)


def run(data: Path, chunk_size: int, protocol: str) -> None:
    """Load ``data`` into a fresh Virtuoso under /usr/bin/time -v; print the figures."""
    sys.path.insert(0, str(ROOT))
    from tests.support.virtuoso import VirtuosoServer

    from policygraph.dumpfile import find_all

    quads = sum(sum(1 for _ in path.open("rb")) for path in find_all(data, "policygraph.nq"))
    with VirtuosoServer(settings=VIRTUOSO_SETTINGS) as server:
        command = [
            "/usr/bin/time", "-v", sys.executable, "-m", "policygraph.cli", "load", "--quiet",
            "--data", str(data), "--endpoint", server.gsp_url,
            "--chunk-size", str(chunk_size), "--protocol", protocol,
        ]  # fmt: skip
        env = {**os.environ, "POLICYGRAPH_ENDPOINT_USER": "dba"}
        env["POLICYGRAPH_ENDPOINT_PASSWORD"] = "dba"
        began = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - began
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    cpu = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", done.stderr)
    verdict = "counts verified" if done.returncode == 0 else f"FAILED: {done.stderr[-2000:]}"
    print(
        f"{quads} quads, chunk {chunk_size}, {protocol}: {seconds:.1f} s wall, "
        f"{quads / seconds:,.0f} triples/s, client CPU {sum(map(float, cpu)):.1f} s, "
        f"peak RSS {int(rss.group(1)) // 1024 if rss else '?'} MB; {verdict}",
        flush=True,
    )


def serve() -> None:
    """A private Virtuoso until Ctrl-C, sized like a small production server."""
    sys.path.insert(0, str(ROOT))
    from tests.support.virtuoso import VirtuosoServer

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so `kill PID` stops it cleanly
    with VirtuosoServer(settings=VIRTUOSO_SETTINGS) as server:
        print(server.gsp_url, flush=True)
        print(f"isql port {server.isql_port}, folder {server.folder}", flush=True)
        try:
            while server.running:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("make", help="write a synthetic corpus dump")
    made.add_argument("--build", type=Path, default=ROOT / "build")
    made.add_argument("--quads", type=int, default=1_000_000)
    made.add_argument("--out", type=Path, required=True)
    timed = commands.add_parser("run", help="time a load into a fresh Virtuoso")
    timed.add_argument("--data", type=Path, required=True)
    timed.add_argument("--chunk-size", type=int, action="append")
    timed.add_argument("--protocol", default="gsp", choices=("gsp", "update"))
    commands.add_parser("serve", help="run a throw-away Virtuoso until Ctrl-C")
    args = parser.parse_args()
    if args.command == "make":
        written = make(args.build, args.quads, args.out)
        print(f"{written} quads in {args.out / 'policygraph.nq'}")
    elif args.command == "run":
        for size in args.chunk_size or [10_000]:
            run(args.data, size, args.protocol)
    else:
        serve()


if __name__ == "__main__":
    main()
