"""Measure the build at corpus scale (issue 7); ``bench/run`` runs this.

For each N: generate the corpus (``bench/corpus.py``), time the whole build
(``bench/build.py``, i.e. ``policygraph.pipeline.build``) under ``/usr/bin/time -v``
for wall time and peak RSS, then the naive route (``bench/naive.py``) the same way,
each under a time cap. A run that hits the cap is recorded as not finished, with the
rate over the documents it did finish (from its progress lines). One JSON line per
run goes to ``bench/results/build-<date>.jsonl``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
_PROGRESS = re.compile(r"^\s*(?P<t>[\d.]+) \[(?P<k>\d+)/(?P<n>\d+)\]")
_NAIVE_PROGRESS = re.compile(r"^\s*(?P<t>[\d.]+) mapped (?P<k>\d+)/(?P<n>\d+)")


def _time_v(path: Path) -> dict:
    """Wall time (s) and peak RSS (MiB) from ``/usr/bin/time -v`` output."""
    text = path.read_text()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)[1])
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", text)[1]
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    return {"wall_s": round(seconds, 2), "peak_rss_mib": round(rss / 1024, 1)}


def _timed(command: list[str], cap: int, log: Path) -> dict:
    """Run ``command`` under a cap with ``/usr/bin/time -v``; what it measured and printed."""
    timing = log.with_suffix(".time")
    with log.open("w") as out:
        status = subprocess.run(
            ["/usr/bin/time", "-v", "-o", str(timing), "timeout", str(cap), *command],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        ).returncode
    return record_of(log, timing, status, cap)


def record_of(log: Path, timing: Path, status: int, cap: int) -> dict:
    """What a run measured: ``/usr/bin/time`` figures, its summary, or how far it got."""
    record = {"exit": status, "finished": status == 0, **_time_v(timing)}
    if status == 124:
        record["finished"] = False
        record["note"] = f"did not finish within the {cap} s cap"
    summary = None
    last = None
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("SUMMARY "):
            summary = json.loads(line[len("SUMMARY ") :])
        match = _PROGRESS.match(line) or _NAIVE_PROGRESS.match(line)
        if match:
            last = match
    if summary:
        record.update(summary)
    elif last:  # partial: documents started (pipeline) or mapped (naive) by the cap
        done = int(last["k"])
        record["documents_reached"] = done
        record["at_s"] = float(last["t"])
        record["docs_per_s_so_far"] = round(done / float(last["t"]), 3)
        record["last_progress"] = last.string.strip()
    return record


def _run_one(n: int, seed: int, cap: int, work: Path, naive: bool) -> list[dict]:
    corpus = work / f"corpus-{n}-seed{seed}"
    if not corpus.exists():
        subprocess.run(
            [str(PYTHON), str(BENCH / "corpus.py"), "--n", str(n), "--seed", str(seed),
             "--out", str(corpus)],
            check=True,
        )  # fmt: skip
    common = {
        "n": n,
        "seed": seed,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    records = []
    build = [str(PYTHON), str(BENCH / "build.py"), str(corpus), str(work / f"out-{n}")]
    record = {"route": "pipeline", **common, **_timed(build, cap, work / f"build-{n}.log")}
    if record.get("triples") and record.get("wall_s"):
        record["triples_per_s"] = round(record["triples"] / record["wall_s"], 1)
    records.append(record)
    if naive:
        command = [str(PYTHON), str(BENCH / "naive.py"), str(corpus)]
        nrec = {"route": "naive", **common, **_timed(command, cap, work / f"naive-{n}.log")}
        if nrec.get("triples") and nrec.get("wall_s"):
            nrec["triples_per_s"] = round(nrec["triples"] / nrec["wall_s"], 1)
        if record.get("finished") and nrec.get("finished"):
            nrec["wall_ratio_naive_to_pipeline"] = round(nrec["wall_s"] / record["wall_s"], 2)
        records.append(nrec)
    return records


def main(argv: list[str] | None = None) -> int:
    """Command line: sizes, --full, --seed, --cap, --work, --no-naive."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, help="corpus sizes (default 100 1000)")
    parser.add_argument("--full", action="store_true", help="also N = 10000")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cap", type=int, default=1200, help="seconds per run (default 20 min)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/policygraph-bench"))
    parser.add_argument("--no-naive", action="store_true", help="skip the naive route")
    args = parser.parse_args(argv)
    sizes = args.sizes or [100, 1000] + ([10000] if args.full else [])
    args.work.mkdir(parents=True, exist_ok=True)
    results = BENCH / "results" / f"build-{dt.date.today().isoformat()}.jsonl"
    results.parent.mkdir(exist_ok=True)
    for n in sizes:
        for record in _run_one(n, args.seed, args.cap, args.work, not args.no_naive):
            line = json.dumps(record, ensure_ascii=False)
            print(line, flush=True)
            with results.open("a") as out:
                out.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
