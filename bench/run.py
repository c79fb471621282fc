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
import shutil
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


#: A sentence that bench/corpus.py writes only into the body of a measure.
_MEASURE_TEXT = re.compile(r"(support pilot projects in )(\d+)")


def _corpus(n: int, seed: int, work: Path) -> Path:
    corpus = work / f"corpus-{n}-seed{seed}"
    if not corpus.exists():
        subprocess.run(
            [str(PYTHON), str(BENCH / "corpus.py"), "--n", str(n), "--seed", str(seed),
             "--out", str(corpus)],
            check=True,
        )  # fmt: skip
    return corpus


def _edit(corpus: Path, rule: re.Pattern[str], replace, prefix: str = "") -> tuple[Path, int, str]:
    """Change the first line of the first document (named ``prefix*``) where ``rule`` matches.

    Returns the file, the line number and the original text, to restore it afterwards.
    """
    for path in sorted(corpus.glob(f"{prefix}*.txt")):
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        for number, line in enumerate(lines, start=1):
            if rule.search(line):
                lines[number - 1] = rule.sub(replace, line, count=1)
                path.write_text("\n".join(lines), encoding="utf-8")
                return path, number, text
    raise SystemExit(f"no line matching {rule.pattern} in {corpus}")


def _run_one(n: int, seed: int, cap: int, work: Path, naive: bool, queries: bool) -> list[dict]:
    corpus = _corpus(n, seed, work)
    common = {
        "n": n,
        "seed": seed,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
    }
    out, cache = work / f"out-{n}", work / f"cache-{n}"
    shutil.rmtree(cache, ignore_errors=True)
    build = [str(PYTHON), str(BENCH / "build.py"), str(corpus), str(out), "--cache-dir", str(cache)]
    records = []

    def timed(route: str, command: list[str], log: str, **extra) -> dict:
        record = {"route": route, **common, **extra, **_timed(command, cap, work / log)}
        if record.get("triples") and record.get("wall_s") and route == "pipeline":
            record["triples_per_s"] = round(record["triples"] / record["wall_s"], 1)
        print(json.dumps(record, ensure_ascii=False), flush=True)
        records.append(record)
        return record

    cold = timed("pipeline", build, f"build-{n}.log", cache="cold")
    if cold.get("finished"):
        timed("pipeline-unchanged", build, f"rebuild-{n}.log", cache="warm")
        path, number, original = _edit(
            corpus, re.compile(r"(\d+)%"), lambda m: f"{int(m[1]) % 99 + 1}%"
        )
        try:
            timed("pipeline-one-changed", build, f"rebuild1-{n}.log", changed=path.name)
        finally:
            path.write_text(original, encoding="utf-8")
        # The same, but inside a measure's text: the similarity search runs again.
        path, number, original = _edit(
            corpus, _MEASURE_TEXT, lambda m: f"{m[1]}{int(m[2]) % 99 + 1}"
        )
        try:
            timed(
                "pipeline-one-measure-changed", build, f"rebuild1m-{n}.log",
                changed=f"{path.name}:{number}",
            )  # fmt: skip
        finally:
            path.write_text(original, encoding="utf-8")
        path, number, original = _edit(corpus, re.compile(r"By 20(\d\d)"), r"By 19\1", "en-")
        try:
            planted = timed(
                "pipeline-planted-defect",
                [*build[:3], str(work / f"out-{n}-planted"), *build[4:]],
                f"planted-{n}.log",
                planted=f"{path.name}:{number}",
            )
        finally:
            path.write_text(original, encoding="utf-8")
        planted["found"] = _planted_found(work / f"planted-{n}.log", f"{path.name}:{number}")
        print(json.dumps({"planted_defect_found": planted["found"]}), flush=True)
    if naive:
        command = [str(PYTHON), str(BENCH / "naive.py"), str(corpus)]
        nrec = timed("naive", command, f"naive-{n}.log")
        if cold.get("finished") and nrec.get("finished"):
            nrec["wall_ratio_naive_to_pipeline"] = round(nrec["wall_s"] / cold["wall_s"], 2)
    if queries and cold.get("finished"):
        command = [str(PYTHON), str(BENCH / "queries.py"), str(out)]
        if n <= 1000:
            command.append("--rdflib")
        timed("queries", command, f"queries-{n}.log")
    return records


def _planted_found(log: Path, where: str) -> bool:
    """Whether the build refused the corpus, every violation placed at ``where``."""
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("NONCONFORMING "):
            violations = json.loads(line[len("NONCONFORMING ") :])
            return bool(violations) and all(v.startswith(where + ":") for v in violations)
    return False


def main(argv: list[str] | None = None) -> int:
    """Command line: sizes, --full, --seed, --cap, --work, --naive-sizes, --no-queries."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, help="corpus sizes (default 100 1000)")
    parser.add_argument("--full", action="store_true", help="also N = 10000")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cap", type=int, default=1200, help="seconds per run (default 20 min)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/policygraph-bench"))
    parser.add_argument(
        "--naive-sizes", default="100", help="sizes at which to run the naive route too"
    )
    parser.add_argument("--no-queries", action="store_true", help="skip the query timings")
    args = parser.parse_args(argv)
    sizes = args.sizes or [100, 1000] + ([10000] if args.full else [])
    naive_sizes = {int(x) for x in args.naive_sizes.split(",") if x}
    args.work.mkdir(parents=True, exist_ok=True)
    results = BENCH / "results" / f"build-{dt.date.today().isoformat()}.jsonl"
    results.parent.mkdir(exist_ok=True)
    for n in sizes:
        records = _run_one(n, args.seed, args.cap, args.work, n in naive_sizes, not args.no_queries)
        with results.open("a") as out:
            for record in records:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
