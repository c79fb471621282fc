"""Run the whole build (what ``policygraph build`` runs) with plain progress lines.

Run: ``python bench/build.py CORPUS OUT [--cache-dir DIR] [--jobs N] [--gzip]``.

Prints the build's own progress lines (as ``policygraph build`` prints them in a log)
with the seconds since start, then one JSON line with the totals: documents, triples
(union), quads (every graph), how many documents came from the cache, wall seconds per
build stage and CPU seconds per document stage. A build that stops on non-conforming
data prints the report and ``NONCONFORMING`` with the report's violation lines, so the
benchmark can check that a planted defect is found and placed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from policygraph.errors import NonConformanceError
from policygraph.pipeline import Progress, build


def main(argv: list[str]) -> int:
    """Build CORPUS into OUT; progress on stdout, a JSON summary last."""
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus")
    parser.add_argument("out")
    parser.add_argument("--cache-dir")
    parser.add_argument("--jobs", type=int)
    parser.add_argument("--gzip", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    last = [0.0]

    def progress(event: Progress) -> None:
        now = time.perf_counter() - started
        if event.stage != "documents" or event.done in (0, event.total) or now - last[0] > 5:
            print(f"{now:9.2f} [{event.done}/{event.total}] {event.stage}", flush=True)
            last[0] = now

    try:
        result = build(
            [args.corpus],
            out=args.out,
            progress=progress,
            cache_dir=args.cache_dir,
            jobs=args.jobs,
            compress=args.gzip,
        )
    except NonConformanceError as exc:
        violations = [line.strip() for line in exc.report_text.split("\n") if "Violation:" in line]
        print("NONCONFORMING " + json.dumps(violations, ensure_ascii=False), flush=True)
        return 1
    summary = {
        "documents": len(result.documents),
        "cached": result.cached,
        "triples": result.triples,
        "quads": result.quads,
        "sum_document_triples": sum(d.triples for d in result.documents),
        "warnings": len(result.warnings),
        "similarity": result.similarity[0],
        "link_chunks_written": result.similarity[1],
        "dumps_written": result.dumps_written[0],
        "link_chunks": result.similarity[2],
        "stages": {name: round(seconds, 2) for name, seconds in result.timings.items()},
        "document_stages_cpu": {k: round(v, 2) for k, v in result.document_timings.items()},
        "seconds": round(time.perf_counter() - started, 2),
    }
    print("SUMMARY " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
