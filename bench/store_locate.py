"""Time what ``serve`` and ``query`` do first on a build: make (or update) its query store.

Run: ``python bench/store_locate.py BUILD`` under ``/usr/bin/time -v``. Prints the
store's messages, then one JSON line: the seconds ``store.locate`` took, the quads in the
store against the lines of the N-Quads dump (one quad a line), the graphs and the sum
of their counts as the marker records them. Run it once after a build to time making
the store, and again after a rebuild in parts to time updating it.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from policygraph import dumpfile
from policygraph import store as stores


def main(data: Path) -> None:
    said: list[str] = []

    def notice(message: str) -> None:
        said.append(message)
        print(message, flush=True)

    started = time.perf_counter()
    location = stores.locate(data, notice=notice)
    seconds = time.perf_counter() - started
    quads = len(location.open())
    lines = 0
    for path in dumpfile.find_all(data, "policygraph.nq"):
        with dumpfile.open_dump(path) as handle:
            lines += sum(1 for _ in handle)
    sizes = location.graph_sizes() or {}
    print(json.dumps({
        "locate_s": round(seconds, 1),
        "quads_in_store": quads,
        "lines_in_dump": lines,
        "graphs": len(sizes),
        "sum_graph_sizes": sum(sizes.values()),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "said": said,
    }))  # fmt: skip


if __name__ == "__main__":
    main(Path(sys.argv[1]))
