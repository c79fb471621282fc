"""Rebuild after edits inside measures' texts, one at a time, on a warm cache.

Run: ``python bench/edits.py CORPUS OUT --cache-dir DIR [--runs 10] [--seed 1]``
after a build of CORPUS into OUT with the same cache (``bench/build.py``).

Why: ``bench/run`` times one such edit, the same one every time. An edit inside a
measure's text is the case the similarity search cannot take from the cache, so its
time depends on what the edit does to the n-gram counts (``similarity.bucketed``):
this script draws ``--runs`` edits and times the rebuild after each.

Method: each run picks a document at random (seeded), changes the number in the first
sentence that ``bench/corpus.py`` writes only inside a measure's text ("support pilot
projects in N regions") and runs ``bench/build.py`` under ``/usr/bin/time -v``. The edits
accumulate, so each rebuild has exactly one changed document; every edited file is
restored at the end. ``--numbers new`` (the default) draws another number of 2 to 99,
as the corpus writes them; ``--numbers serial`` writes 1000, 1001, … — n-grams such as
"100" that few measures hold, whose exact counts (below 16) move with every edit, so
each edit also changes the vectors of the measures the earlier edits made. One JSON line per run
(``bench/run.py``'s record: wall time, peak RSS, the build's summary, with the
similarity search's route: "updated", "searched" or "cached") goes to stdout and to
``bench/results/edits-<date>.jsonl``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
from pathlib import Path

from run import _MEASURE_TEXT, BENCH, PYTHON, _timed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cap", type=int, default=1200, help="seconds per run")
    parser.add_argument("--numbers", choices=("new", "serial"), default="new")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    documents = sorted(args.corpus.glob("*.txt"))
    results = BENCH / "results" / f"edits-{dt.date.today().isoformat()}.jsonl"
    build = [str(PYTHON), str(BENCH / "build.py"), str(args.corpus), str(args.out)]
    build += ["--cache-dir", str(args.cache_dir)]
    originals: dict[Path, str] = {}
    try:
        for run in range(args.runs):
            serial = 1000 + run if args.numbers == "serial" else None
            path, line = _edit(rng, documents, originals, serial)
            log = args.cache_dir.parent / f"edit-{run}.log"
            record = {
                "route": "pipeline-measure-edit",
                "run": run,
                "numbers": args.numbers,
                "changed": f"{path.name}:{line}",
            }
            record |= _timed(build, args.cap, log)
            print(json.dumps(record, ensure_ascii=False), flush=True)
            with results.open("a") as out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        for path, text in originals.items():
            path.write_text(text, encoding="utf-8")
    return 0


def _edit(
    rng: random.Random, documents: list[Path], originals: dict[Path, str], serial: int | None
) -> tuple[Path, int]:
    """Change one measure's number in a random document (to ``serial``, or to another of
    2 to 99); keep the document's first text to restore it."""
    while True:
        path = rng.choice(documents)
        text = path.read_text(encoding="utf-8")
        lines = text.split("\n")
        for at, line in enumerate(lines):
            found = _MEASURE_TEXT.search(line)
            if found:
                originals.setdefault(path, text)
                number = serial or rng.choice([n for n in range(2, 100) if n != int(found[2])])
                lines[at] = _MEASURE_TEXT.sub(lambda m, n=number: f"{m[1]}{n}", line, count=1)
                path.write_text("\n".join(lines), encoding="utf-8")
                return path, at + 1


if __name__ == "__main__":
    sys.exit(main())
