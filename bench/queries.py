"""Time every canned query over a build: pyoxigraph (embedded), and rdflib beside it.

Run: ``python bench/queries.py BUILD [--repeat 5] [--cap 60] [--disk] [--rdflib]``
(``--rdflib-cap 120``: seconds per rdflib query).

Method: the build's N-Quads dump is loaded once into an in-memory pyoxigraph store
(load time and the process's RSS after loading are reported); with ``--disk`` the
queries read the build's on-disk query store instead, as ``policygraph query`` and
``serve`` read a large build (made first when missing; the time to open or make it is
reported as the load). Each query in
``queries/`` then runs ``--repeat`` times with its parameters as the catalogue gives
them (defaults bound, the rest unbound — so "every policy" queries span the whole
corpus), the answer fully read (rows counted); the median and the slowest run are
reported. pyoxigraph cannot be interrupted while it evaluates, so each query first runs
once in a forked child that inherits the store, killed after ``--cap`` seconds
(reported as capped). Only a query that finished there is timed, in this process, the
way a long-running ``serve`` or a ``query`` command runs it: a forked child answers
about four times slower than the process that loaded the store (its first writes to
memory it shares with the parent copy pages), so the child's time is reported apart,
as ``forked_s``, and not as the query's. After a run over a tenth of the cap the query
is not repeated. Where a query takes a
``policy`` parameter it is also run with one policy
bound, the way a researcher looking at one document asks it. With ``--rdflib`` the
same queries run once each on an rdflib ``Dataset`` loaded from the same dump, each
under a time cap (SIGALRM), so the two engines can be compared on the same data.
Prints one JSON line per query and a summary line.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import pyoxigraph as ox
from bench_common import (  # type: ignore[import-not-found]
    FIRST_POLICY,
    canned_cases,
    rdflib_answer,
)

from policygraph import dumpfile
from policygraph.endpoint import inline_values
from policygraph.query import bind, run_local


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _one_policy(store: ox.Store) -> str | None:
    answer = store.query(FIRST_POLICY, use_default_graph_as_union=True)
    rows = list(answer)
    return str(rows[0]["id"].value) if rows else None


def _rows(result: object) -> int:
    for attribute in ("rows", "triples"):
        value = getattr(result, attribute, None)
        if value is not None:
            return len(value)
    return 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("build", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rdflib", action="store_true")
    parser.add_argument("--rdflib-cap", type=int, default=120)
    parser.add_argument("--cap", type=float, default=60, help="seconds per query (pyoxigraph)")
    parser.add_argument("--disk", action="store_true", help="read the on-disk query store")
    args = parser.parse_args(argv)
    dumps = dumpfile.find_all(args.build, "policygraph.nq")  # the one file, or its parts
    if not dumps:
        parser.error(f"{args.build}: no policygraph.nq (whole or in parts)")

    started = time.perf_counter()
    if args.disk:
        from policygraph.store import locate

        location = locate(args.build)
        if not location.persistent:
            parser.error(f"{args.build}: too small for an on-disk query store")
        store = location.open()
    else:
        store = ox.Store()
        for dump in dumps:
            store.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
    load_s = time.perf_counter() - started
    engine = "pyoxigraph-disk" if args.disk else "pyoxigraph"
    loaded = {"engine": engine, "load_s": round(load_s, 2), "quads": len(store)}
    print(json.dumps({**loaded, "rss_mib": round(_rss_mib(), 1)}), flush=True)
    policy = _one_policy(store)

    cases = canned_cases(policy)
    medians: dict[str, float] = {}
    rows_by_label: dict[str, int] = {}
    capped: list[str] = []
    for label, query, given in cases:
        bindings = bind(query, given)
        forked = _seconds_in_child(store, query, bindings, args.cap)
        if forked is None:
            capped.append(label)
            print(json.dumps({"engine": engine, "query": label, "capped": args.cap},
                             ensure_ascii=False), flush=True)  # fmt: skip
            continue
        times, rows = _timed(store, query, bindings, args.repeat, args.cap / 10)
        rows_by_label[label] = rows
        medians[label] = statistics.median(times)
        print(json.dumps({"engine": engine, "query": label, "rows": rows, "runs": len(times),
                          "median_s": round(medians[label], 4), "max_s": round(max(times), 4),
                          "forked_s": round(forked, 4)},
                         ensure_ascii=False), flush=True)  # fmt: skip

    rdflib_times: dict[str, float | None] = {}
    if args.rdflib:
        from rdflib import Dataset

        mark = time.perf_counter()
        dataset = Dataset(default_union=True)
        for dump in dumps:
            dataset.parse(dump, format="nquads")
        print(json.dumps({"engine": "rdflib", "load_s": round(time.perf_counter() - mark, 2),
                          "rss_mib": round(_rss_mib(), 1)}), flush=True)  # fmt: skip
        for label, query, given in cases:
            # bound as every engine gets them (a VALUES row): rdflib's initBindings
            # would take an xsd:string literal for a different term than a plain one
            text = inline_values(query.text, bind(query, given))
            rows, seconds = rdflib_answer(dataset, text, args.rdflib_cap)
            rdflib_times[label] = seconds
            shown = None if seconds is None else round(seconds, 3)
            answer = {"engine": "rdflib", "query": label, "rows": rows, "s": shown}
            if seconds is not None and label in rows_by_label:
                answer["rows_as_pyoxigraph"] = rows == rows_by_label[label]
            print(json.dumps({**answer, "capped": seconds is None}, ensure_ascii=False), flush=True)

    values = sorted(medians.values()) or [float("nan")]
    summary = {
        "queries": len(medians) + len(capped),
        "capped": capped,
        "median_of_medians_s": round(statistics.median(values), 4),
        "slowest_median_s": round(values[-1], 4),
        "slowest": max(medians, key=medians.get) if medians else None,
        "under_1s": sum(v < 1 for v in medians.values()),
    }
    if rdflib_times:
        done = [v for v in rdflib_times.values() if v is not None]
        summary["rdflib_finished"] = len(done)
        summary["rdflib_median_s"] = round(statistics.median(done), 3) if done else None
    print("SUMMARY " + json.dumps(summary, ensure_ascii=False), flush=True)
    return 0


def _timed(store, query, bindings, repeat: int, enough: float):  # type: ignore[no-untyped-def]
    """(seconds of each of up to ``repeat`` runs in this process, rows); no run after one
    taking over ``enough`` seconds (one slow run tells enough)."""
    times, rows = [], 0
    for _ in range(repeat):
        mark = time.perf_counter()
        rows = _rows(run_local(query, store, bindings))
        times.append(time.perf_counter() - mark)
        if times[-1] > enough:
            break
    return times, rows


def _seconds_in_child(store, query, bindings, cap: float) -> float | None:  # type: ignore[no-untyped-def]
    """Seconds ``query`` took once in a forked child that inherits the store, or None
    when the child had not finished in ``cap`` s and was killed."""
    import multiprocessing

    def child(send) -> None:  # type: ignore[no-untyped-def]
        mark = time.perf_counter()
        _rows(run_local(query, store, bindings))
        send.send(time.perf_counter() - mark)

    receive, send = multiprocessing.get_context("fork").Pipe(duplex=False)
    process = multiprocessing.get_context("fork").Process(target=child, args=(send,))
    process.start()
    try:
        return receive.recv() if receive.poll(cap) else None
    finally:
        process.kill()
        process.join()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
