"""Would document frequencies counted in buckets let a measure edit skip the full search?

Run: ``python bench/idf_study.py CORPUS --cache-dir DIR [--edits 600] [--seed 7]
[--policies 1500] [--jobs N]``.

Why: the similarity score weighs each n-gram by how many measures of the build hold
it (``similarity.inverse_frequency``). With exact counts, an edit to one measure's
wording changes that count for every n-gram the measure gains or loses, and so the
vectors of every other measure holding one of them; the search then started again
over the whole corpus (about 3 minutes at 10,000 documents). Counted in buckets
instead, a count that moves by one rarely leaves its bucket, so most edits would
change no other measure's vector. This script measured both sides of that trade,
before the build took its counts in buckets (``similarity.bucketed``, the rule "4
leading bits" here); it swaps that function for each rule, "exact" included.

Method:

1. CORPUS is built with ``policygraph``'s own build, reusing the cache in DIR (cold,
   10,000 documents take about 25 minutes), and every measure (IRI, policy, themes,
   text) is read from the documents' cached link features.
2. *Edits.* ``--edits`` one-measure edits are drawn, three kinds in turn: a word
   replaced by one of the language's 3,000 commonest words, a word inserted, a number
   changed. For each edit and each counting rule (exact; buckets of ratio r, exact
   below 16; the count's four leading binary digits) it reports how many *other*
   measures hold an n-gram whose weight changes, summed over those n-grams: an upper
   bound on the vectors that change.
3. *Quality.* The similarity search runs on the measures of the first ``--policies``
   policies (by id) with exact counts and under each rule; it reports the share
   of measures whose ranked list is unchanged, the overlap of the linked pairs and the
   largest change of a kept pair's score.

Prints one JSON line per rule and part.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from policygraph import similarity
from policygraph.buildcache import BuildCache, entry_key
from policygraph.docbuild import BuildSettings
from policygraph.iris import Iris
from policygraph.links import unpacked
from policygraph.pipeline import build, build_time, collect_sources

# a rule: None (exact counts), a float r (geometric buckets of ratio r, exact below
# EXACT_BELOW), or an int b (the count with all but its b leading binary digits cleared)
RATIOS: dict[str, float | int | None] = {
    "exact": None,
    "4 leading bits": 4,
    "2^(1/8)": 2**0.125,
    "2^(1/4)": 2**0.25,
    "2^(1/2)": 2**0.5,
}
EXACT_BELOW = 16
_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = {"en": re.compile(r"[A-Za-z]+"), "zh": re.compile(r"[\u4e00-\u9fff]{2}")}


def _language(text: str) -> str:
    """ "zh" for a text with a Han character, else "en": the corpus writes no other."""
    return "zh" if _HAN.search(text) else "en"


def bucketed(count: int, rule: float | int | None) -> int:
    """The count a bucket stands for under ``rule`` (see ``RATIOS``).

    A geometric bucket stands for its lower bound, EXACT_BELOW·rᵏ rounded down. Clearing
    all but the b leading binary digits needs no floating point, so it would be the same
    on every machine; with b = 4, counts below 16 stay exact and a bucket spans 1/16 to
    1/8 of its counts, about the width of ratio 2^(1/8).
    """
    if rule is None or count < EXACT_BELOW:
        return count
    if isinstance(rule, int):
        return count & ~((1 << max(0, count.bit_length() - rule)) - 1)
    return int(EXACT_BELOW * rule ** math.floor(math.log(count / EXACT_BELOW, rule)))


def read_measures(corpus: Path, cache_dir: Path) -> list[similarity.MeasureText]:
    """Every measure of the corpus, from the link features the build cached (the
    corpus is built first if the cache lacks a document)."""
    settings = BuildSettings(Iris(None).base, build_time(), False)
    cache = BuildCache(cache_dir)
    sources = collect_sources([corpus])
    if not all(cache.has(entry_key(source, settings)) for source in sources):
        with tempfile.TemporaryDirectory(prefix="idf-study-") as out:
            build([corpus], out=out, cache_dir=cache_dir)
    features = []
    for source in sources:
        entry = cache.get(entry_key(source, settings))
        if entry is None:
            sys.exit(f"{source}: not in the cache {cache_dir} after the build")
        features.append(entry.record.links)
    return [measure for document in unpacked(features) for measure in document.measures]


def edited(text: str, kind: int, words: list[str], rng: random.Random) -> str | None:
    """One edit of ``text``: a word replaced (0), a word inserted (1), a number changed (2)."""
    language = _language(text)
    space = " " if language == "en" else ""
    if kind == 2:
        numbers = list(re.finditer(r"\d+", text))
        if not numbers:
            return None
        hit = rng.choice(numbers)
        return text[: hit.start()] + str(int(hit[0]) + 1 + rng.randrange(50)) + text[hit.end() :]
    if kind == 1:
        at = rng.randrange(len(text) + 1)
        return text[:at] + space + rng.choice(words) + space + text[at:]
    found = list(_WORD[language].finditer(text))
    if not found:
        return None
    hit = rng.choice(found)
    return text[: hit.start()] + rng.choice(words) + text[hit.end() :]


def edit_study(measures: list[similarity.MeasureText], edits: int, seed: int) -> None:
    grams = [frozenset(similarity.ngrams(m.text)) for m in measures]
    frequency: Counter[str] = Counter()
    for held in grams:
        frequency.update(held)
    vocabulary: dict[str, Counter[str]] = {"en": Counter(), "zh": Counter()}
    for m in measures:
        language = _language(m.text)
        vocabulary[language].update(_WORD[language].findall(m.text))
    common = {lang: [w for w, _ in c.most_common(3000)] for lang, c in vocabulary.items()}
    rng = random.Random(seed)
    others: dict[str, list[int]] = {name: [] for name in RATIOS}
    kinds: Counter[int] = Counter()
    for trial in range(edits):
        row = rng.randrange(len(measures))
        text = measures[row].text
        new = edited(text, trial % 3, common[_language(text)], rng)
        if new is None:
            continue
        kinds[trial % 3] += 1
        before, after = grams[row], frozenset(similarity.ngrams(new))
        for name, rule in RATIOS.items():
            held = 0
            for gram in before ^ after:
                old = frequency[gram]
                new_count = old + (1 if gram in after else -1)
                if bucketed(old, rule) != bucketed(new_count, rule):
                    held += old - (1 if gram in before else 0)  # measures other than this one
            others[name].append(held)
    for name, counts in others.items():
        ordered = sorted(counts)
        print(json.dumps({
            "part": "edits", "rule": name, "edits": len(counts),
            "kinds": {"replaced": kinds[0], "inserted": kinds[1], "number": kinds[2]},
            "no_other_vector_changes": round(sum(c == 0 for c in counts) / len(counts), 4),
            "at_most_100": round(sum(c <= 100 for c in counts) / len(counts), 4),
            "at_most_1000": round(sum(c <= 1000 for c in counts) / len(counts), 4),
            "median": statistics.median(ordered),
            "p90": ordered[int(0.9 * (len(ordered) - 1))],
            "measures": len(measures),
        }), flush=True)  # fmt: skip


def quality_study(measures: list[similarity.MeasureText], policies: int, jobs: int) -> None:
    kept = set(sorted({m.policy for m in measures})[:policies])
    chosen = [m for m in measures if m.policy in kept]
    built_in = similarity.bucketed
    results = {}
    try:
        for name, rule in RATIOS.items():
            similarity.bucketed = lambda c, r=rule: bucketed(c, r)  # type: ignore[assignment]
            started = time.perf_counter()
            links = similarity.similar_measures(chosen, jobs=jobs)
            seconds = time.perf_counter() - started
            ranked: dict[str, list[tuple[str, float]]] = {}
            for link in links:
                ranked.setdefault(link.source, []).append((link.target, float(link.score)))
            results[name] = (ranked, seconds, len(links))
    finally:
        similarity.bucketed = built_in  # type: ignore[assignment]
    base = results["exact"][0]
    base_pairs = {(s, t) for s, listed in base.items() for t, _ in listed}
    for name, (ranked, seconds, count) in results.items():
        sources = set(base) | set(ranked)
        same = sum([t for t, _ in base.get(s, [])] == [t for t, _ in ranked.get(s, [])]
                   for s in sources)  # fmt: skip
        pairs = {(s, t) for s, listed in ranked.items() for t, _ in listed}
        scores = {(s, t): v for s, listed in ranked.items() for t, v in listed}
        moved = [abs(v - scores[s, t]) for s, ls in base.items() for t, v in ls if (s, t) in scores]
        print(json.dumps({
            "part": "quality", "rule": name, "policies": len(kept), "measures": len(chosen),
            "links": count, "search_s": round(seconds, 1),
            "same_ranked_list": round(same / max(1, len(sources)), 4),
            "pair_overlap": round(len(base_pairs & pairs) / max(1, len(base_pairs | pairs)), 4),
            "largest_score_change": round(max(moved, default=0.0), 4),
        }), flush=True)  # fmt: skip


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--cache-dir", type=Path, required=True)
    parser.add_argument("--edits", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--policies", type=int, default=1500)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    measures = read_measures(args.corpus, args.cache_dir)
    print(json.dumps({"part": "read", "measures": len(measures),
                      "s": round(time.perf_counter() - started, 1),
                      "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}),
          flush=True)  # fmt: skip
    edit_study(measures, args.edits, args.seed)
    quality_study(measures, args.policies, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
