"""What stopping queries for real costs: a query through a worker process vs in-process.

    python bench/serve/overhead.py BUILD_DIR

Prints one JSON line: the time of ``ASK {}`` in-process and through a one-worker pool,
how soon a 0.5 s timeout is answered, and how long the replacement worker takes to be
ready (the next query waits for it, as the pool has only one worker here).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from policygraph.query import load_store
from policygraph.sparql_pool import QueryJob, QueryTimeout, WorkerPool, run_job

JSON = "application/sparql-results+json"
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def per_call(function, repeat: int = 2000) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        function()
    return (time.perf_counter() - started) / repeat


def main(data: Path) -> None:
    store = load_store([data])
    ask = QueryJob("ASK {}", "ASK", JSON, 10)
    pool = WorkerPool(data, 1, timeout=0.5)
    started = time.perf_counter()
    pool.start()
    start_seconds = time.perf_counter() - started
    try:
        through_pool = per_call(lambda: pool.run(ask))
        in_process = per_call(lambda: run_job(store, ask))
        started = time.perf_counter()
        try:
            pool.run(QueryJob(SLOW, "SELECT", JSON, 10))
            raise SystemExit("the slow query finished: no timeout to measure")
        except QueryTimeout:
            timeout_seconds = time.perf_counter() - started
        pool.timeout = 60
        started = time.perf_counter()
        pool.run(ask)
        replacement_seconds = time.perf_counter() - started
    finally:
        pool.close()
    print(
        json.dumps(
            {
                "ask_in_process_ms": round(in_process * 1000, 3),
                "ask_through_worker_ms": round(through_pool * 1000, 3),
                "first_worker_ready_s": round(start_seconds, 2),
                "timeout_0.5s_answered_after_s": round(timeout_seconds, 3),
                "replacement_ready_s": round(replacement_seconds, 2),
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
