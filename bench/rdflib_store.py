"""Every canned query with rdflib over a build too large for rdflib's memory store.

Run: ``python bench/rdflib_store.py BUILD STORE [--cap 60] [--compare QUERIES.jsonl]``.
Needs the ``berkeleydb`` package (``pip install berkeleydb``, built against Debian's
``libdb-dev``); it is not one of policygraph's dependencies.

Why: rdflib's in-memory ``Dataset`` held the 1,000-document build's 1.7 M quads in
3.7 GB, so the 10,000-document build would need about 37 GB. Its persistent store,
BerkeleyDB, keeps the quads on disk, so rdflib can answer the canned queries over the
whole corpus and its times can stand beside pyoxigraph's.

Method: the build's N-Quads dump (its parts, in order) is parsed into a BerkeleyDB store
in STORE (with a 2,000 MiB page cache), once (a marker file records the parts loaded; later
runs reuse the store); the load time and the process's peak RSS are reported. Every
query in ``queries/`` then runs once, with the defaults bound and the rest unbound, and
again with one policy bound where it takes a ``policy`` (the first id in order, as
``bench/queries.py`` picks it), under a time cap (SIGALRM). With ``--compare``, a JSON
lines file written by ``bench/queries.py`` on the same build, each answer's row count is
checked against pyoxigraph's. Prints one JSON line per case and a summary line.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

from bench_common import (  # type: ignore[import-not-found]
    FIRST_POLICY,
    canned_cases,
    rdflib_answer,
)

from policygraph import dumpfile
from policygraph.endpoint import inline_values
from policygraph.query import bind

MARKER = "loaded.json"
# BerkeleyDB's page cache: rdflib asks for 50 MB, and with a store of gigabytes every
# insert then reads pages from disk (about 2,000 quads/s, against 7,000 on a small store)
CACHE_BYTES = 2000 << 20  # the largest size the call takes: a signed 32-bit count of bytes


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_store(build: Path, folder: Path):  # type: ignore[no-untyped-def]
    """The build's quads in a BerkeleyDB-backed rdflib ``Dataset`` (union default graph),
    loaded now unless ``folder`` already holds exactly these parts."""
    from rdflib import Dataset
    from rdflib.plugins.stores import berkeleydb

    berkeleydb.CACHESIZE = CACHE_BYTES  # read when the store opens its environment

    dumps = dumpfile.find_all(build, "policygraph.nq")
    if not dumps:
        sys.exit(f"{build}: no policygraph.nq (whole or in parts)")
    wanted = [[p.name, p.stat().st_size] for p in dumps]
    marker = folder / MARKER
    loaded = marker.exists() and json.loads(marker.read_text()) == wanted
    if not loaded and folder.exists() and any(folder.iterdir()):
        sys.exit(f"{folder}: not empty, and holds no complete load of {build}; remove it first")
    folder.mkdir(parents=True, exist_ok=True)
    dataset = Dataset(store="BerkeleyDB", default_union=True)
    dataset.open(str(folder), create=not loaded)
    if loaded:
        return dataset
    started = time.perf_counter()
    for number, dump in enumerate(dumps, start=1):
        dataset.parse(str(dump), format="nquads")
        seconds = round(time.perf_counter() - started, 1)
        print(json.dumps({"loaded_part": number, "of": len(dumps), "s": seconds}), flush=True)
    dataset.close()  # writes the cached pages out: a run stopped later keeps a whole store
    marker.write_text(json.dumps(wanted))
    seconds = round(time.perf_counter() - started, 1)
    done = {"engine": "rdflib-berkeleydb", "load_s": seconds, "rss_mib": round(_rss_mib(), 1)}
    print(json.dumps(done), flush=True)
    dataset = Dataset(store="BerkeleyDB", default_union=True)
    dataset.open(str(folder), create=False)
    return dataset


def _first_policy(dataset) -> str | None:  # type: ignore[no-untyped-def]
    rows = list(dataset.query(FIRST_POLICY))
    return str(rows[0][0]) if rows else None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("build", type=Path)
    parser.add_argument("store", type=Path)
    parser.add_argument("--cap", type=int, default=60, help="seconds per query")
    parser.add_argument("--compare", type=Path, help="bench/queries.py output on the same build")
    args = parser.parse_args(argv)
    dataset = open_store(args.build, args.store)
    try:
        return _time_queries(dataset, args)
    finally:
        dataset.close()


def _time_queries(dataset, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    expected: dict[str, int] = {}
    if args.compare:
        for line in args.compare.read_text(encoding="utf-8").splitlines():
            record = json.loads(line) if line.startswith("{") else {}
            # either of bench/queries.py's stores: "pyoxigraph" or "pyoxigraph-disk"
            if str(record.get("engine", "")).startswith("pyoxigraph") and "rows" in record:
                expected[record["query"]] = record["rows"]
    cases = canned_cases(_first_policy(dataset))
    times: dict[str, float] = {}
    agree = 0
    for label, query, given in cases:
        rows, seconds = rdflib_answer(
            dataset, inline_values(query.text, bind(query, given)), args.cap
        )
        if seconds is not None:
            times[label] = seconds
        answer: dict[str, object] = {"engine": "rdflib-berkeleydb", "query": label, "rows": rows}
        answer["s"] = round(times[label], 3) if label in times else None
        answer["capped"] = label not in times
        if label in times and label in expected:
            answer["rows_as_pyoxigraph"] = rows == expected[label]
            agree += rows == expected[label]
        print(json.dumps(answer, ensure_ascii=False), flush=True)
    done = sorted(times.values())
    print("SUMMARY " + json.dumps({
        "cases": len(cases), "finished": len(done), "cap_s": args.cap,
        "median_s": round(statistics.median(done), 3) if done else None,
        "under_1s": sum(t < 1 for t in done),
        "rows_as_pyoxigraph": agree, "compared": sum(1 for c in cases if c[0] in expected),
        "rss_mib": round(_rss_mib(), 1),
    }), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
