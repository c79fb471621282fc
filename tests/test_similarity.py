"""Similar measures: the pruned search finds exactly what scoring every pair finds.

The reference here scores every pair of measures by the formula of
pg:ThemeAndTextSimilarity written out plainly (TF-IDF over character 2- and 3-grams,
counts of measures rounded down to their four leading binary digits, each dot product
summed over the shared n-grams in string order, Jaccard of themes, both rounded to
three places), then keeps each measure's top k of other policies. The
random corpora are small on purpose and built to be hard on pruning: a few words, so
many near-identical texts, tied scores and ties broken by IRI; few themes, so every
theme relation occurs; empty texts and measures without themes.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from policygraph import similarity
from policygraph.similarity import MeasureText, Similarity, ngrams, similar_measures

WORDS = ["water", "supply", "rural", "grid", "水利", "供水", "农村", "工程", "safety", "a1", "B2"]
THEMES = [f"https://example.org/theme/{i}" for i in range(6)]


def _round(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)


def _grams(text: str) -> Counter[str]:
    folded = unicodedata.normalize("NFKC", text).lower()
    runs = re.split(r"[\W_]+", folded)
    return Counter(r[i : i + n] for r in runs for n in (2, 3) for i in range(len(r) - n + 1))


def _bucket(count: int) -> int:
    """A count rounded down to its four leading binary digits."""
    drop = max(0, count.bit_length() - 4)
    return (count >> drop) << drop


def reference(measures: list[MeasureText], top_k: int, threshold: Decimal) -> list[Similarity]:
    """Every pair scored by the formula; each measure's best ``top_k`` of other policies."""
    items = sorted(measures, key=lambda m: m.iri)
    counts = [_grams(m.text) for m in items]
    df = Counter(g for c in counts for g in c)
    n = len(items)
    vectors = []
    for c in counts:
        raw = {
            g: (1 + math.log(tf)) * (1 + math.log((1 + _bucket(n)) / (1 + _bucket(df[g]))))
            for g, tf in sorted(c.items())
        }
        length = math.sqrt(sum(w * w for w in raw.values()))
        vectors.append({g: w / length for g, w in raw.items()} if length else {})
    ranked: dict[int, list[Similarity]] = {}
    for i, a in enumerate(items):
        for j, b in enumerate(items):
            if a.policy == b.policy:
                continue
            dot = 0.0
            for g in sorted(vectors[i].keys() & vectors[j].keys()):
                lo, hi = min(i, j), max(i, j)
                dot += vectors[lo][g] * vectors[hi][g]
            union = a.themes | b.themes
            theme = _round(len(a.themes & b.themes) / len(union)) if union else Decimal(0)
            text = _round(min(dot, 1.0))
            score = _round(Decimal("0.5") * theme + Decimal("0.5") * text)
            if score >= threshold:
                shared = tuple(sorted(a.themes & b.themes))
                ranked.setdefault(i, []).append(
                    Similarity(a.iri, b.iri, score, theme, text, shared)
                )
    return [
        s
        for i in sorted(ranked)
        for s in sorted(ranked[i], key=lambda s: (-s.score, s.target))[:top_k]
    ]


def corpus(seed: int, size: int) -> list[MeasureText]:
    rng = random.Random(seed)
    measures = []
    for i in range(size):
        words = rng.choices(WORDS, k=rng.choice([0, 1, 2, 3, 3, 4, 6]))
        text = " ".join(words) + rng.choice(["", ".", " 12", "，工程"])
        themes = frozenset(rng.sample(THEMES, rng.choice([0, 1, 1, 2, 2, 3, 4])))
        iri = f"https://example.org/m/{rng.randrange(10**6):06d}-{i}"
        measures.append(MeasureText(iri, f"p{rng.randrange(size // 3 + 1)}", themes, text))
    return measures


@pytest.mark.parametrize("seed", range(6))
def test_the_pruned_search_finds_what_scoring_every_pair_finds(seed: int):
    measures = corpus(seed, 60 + 25 * seed)
    for top_k, threshold in [(3, Decimal("0.3")), (1, Decimal("0.6")), (4, Decimal("0.05"))]:
        expected = reference(measures, top_k, threshold)
        assert expected, "the corpus should have links"
        assert similar_measures(measures, top_k, threshold) == expected


def test_a_threshold_of_zero_keeps_measures_sharing_nothing():
    measures = corpus(11, 40)
    found = similar_measures(measures, 3, Decimal(0))
    assert found == reference(measures, 3, Decimal(0))
    assert any(s.score == 0 for s in found)


def test_sums_near_a_rounding_tie_are_summed_as_the_formula_sums_them(monkeypatch):
    # A huge error bound makes every cosine "near a tie", so each is summed exactly.
    monkeypatch.setattr(similarity._Search, "epsilon", staticmethod(lambda terms: 0.01))
    measures = corpus(3, 80)
    assert similar_measures(measures) == reference(measures, 3, similarity.THRESHOLD)


def test_small_batches_give_the_same_result(monkeypatch):
    measures = corpus(5, 120)
    expected = similar_measures(measures)
    monkeypatch.setattr(similarity._Search, "SOURCES", 7)
    monkeypatch.setattr(similarity._Search, "BATCH", 16)
    monkeypatch.setattr(similarity._Vectors, "CHUNK", 13)
    assert similar_measures(measures) == expected


def test_n_grams_are_keyed_as_the_plain_definition_counts_them():
    texts = [
        "",
        "a",
        "Ab_cd ef-GH",
        "ＡＢＣ１２３ full width",
        "İstanbul ß straße",
        "e\u0301te\u0301 combining",
        "水利工程，供水安全。",
        "x\ud800y lone surrogate",
        "tab\tnew\nline 12_34",
    ]
    rows, keys, counts = similarity._gram_keys(texts)
    for i, text in enumerate(texts):
        mine = rows == i
        found = {
            "".join(
                chr(int(k) >> s & (1 << 21) - 1) for s in (42, 21, 0) if int(k) >> s & (1 << 21) - 1
            ): int(c)
            for k, c in zip(keys[mine], counts[mine], strict=True)
        }
        assert found == dict(ngrams(text)), text


def test_no_measures_or_no_slots_link_nothing():
    assert similar_measures([]) == []
    assert similar_measures(corpus(1, 20), top_k=0) == []


def test_batches_searched_in_two_processes_give_the_same_result(monkeypatch):
    measures = corpus(8, 150)
    expected = reference(measures, 3, similarity.THRESHOLD)
    monkeypatch.setattr(similarity._Search, "SOURCES", 11)  # many batches for the workers
    assert similar_measures(measures, jobs=2) == expected
