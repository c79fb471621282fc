"""Run the whole build (what ``policygraph build`` runs) with plain progress lines.

Run: ``python bench/build.py CORPUS OUT``.

Why not the CLI itself: ``policygraph build`` prints progress only on a terminal, and
a benchmark that is cut off by its time cap still needs to know how far it got. This
prints one line per document with the seconds since start, then one JSON line with the
totals (documents, triples, per-stage seconds), and otherwise runs exactly the build.
"""

from __future__ import annotations

import json
import sys
import time

from policygraph.pipeline import build


def main(argv: list[str]) -> int:
    """Build ``argv[0]`` into ``argv[1]``; progress on stdout, a JSON summary last."""
    corpus, out = argv
    started = time.perf_counter()

    def progress(message: str) -> None:
        print(f"{time.perf_counter() - started:9.2f} {message}", flush=True)

    result = build([corpus], out=out, progress=progress)
    summary = {
        "documents": len(result.documents),
        "triples": result.triples,
        "sum_document_triples": sum(d.triples for d in result.documents),
        "warnings": len(result.warnings),
        "stages": {name: round(seconds, 2) for name, seconds in result.timings.items()},
        "seconds": round(time.perf_counter() - started, 2),
    }
    print("SUMMARY " + json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
