"""How alike two measures are: shared themes and shared wording, as one score.

Pure computation over plain data (no RDF), so the formula can be tested by itself
and the linking stage only maps its result. The score of measures *a* and *b* is

    score = THEME_WEIGHT · jaccard(themes(a), themes(b)) + TEXT_WEIGHT · cosine(a, b)

where ``jaccard`` is |shared themes| / |all themes of either| (0 when neither has a
theme) and ``cosine`` is the cosine of the TF-IDF vectors of the measures' character
n-grams (n = 2 and 3) over the measures of the whole build. Character n-grams need
no word segmentation, so the same formula serves Chinese and English text; the
inverse document frequency keeps boilerplate that every measure shares ("加强", "the")
from counting. Scores are rounded to ``DECIMALS`` places before anything compares
them, so the ranking, and the output, never depend on floating-point summation order.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

THEME_WEIGHT = Decimal("0.5")
TEXT_WEIGHT = Decimal("0.5")
NGRAM_SIZES = (2, 3)
DECIMALS = Decimal("0.001")
TOP_K = 3
THRESHOLD = Decimal("0.3")

# Anything that is not a letter or a digit separates n-grams: punctuation carries no meaning.
_SEPARATOR = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class MeasureText:
    """What the score reads of one measure: its IRI, its policy, its themes and its words."""

    iri: str
    policy: str
    themes: frozenset[str]
    text: str


@dataclass(frozen=True)
class Similarity:
    """One measure ranked close to another, with the parts of its score."""

    source: str
    target: str
    score: Decimal
    theme_score: Decimal
    text_score: Decimal
    shared_themes: tuple[str, ...]


def ngrams(text: str) -> Counter[str]:
    """The character n-grams of a text, counted, within runs of letters and digits.

    Text is NFKC-normalised and lower-cased first, so full-width and half-width forms,
    and capitals, count as the same characters.
    """
    grams: Counter[str] = Counter()
    for run in _SEPARATOR.split(unicodedata.normalize("NFKC", text).lower()):
        for size in NGRAM_SIZES:
            grams.update(run[i : i + size] for i in range(len(run) - size + 1))
    return grams


def tfidf_vectors(texts: list[str]) -> list[dict[str, float]]:
    """Unit-length TF-IDF vectors: sublinear term frequency, smoothed idf.

    weight(g, d) = (1 + ln tf) · (1 + ln((1 + N) / (1 + df(g)))), then divided by the
    vector's length, so a cosine is a plain dot product.
    """
    counts = [ngrams(text) for text in texts]
    frequency: Counter[str] = Counter(g for grams in counts for g in grams)
    total = len(texts)
    vectors = []
    for grams in counts:
        vector = {
            g: (1 + math.log(tf)) * (1 + math.log((1 + total) / (1 + frequency[g])))
            for g, tf in sorted(grams.items())
        }
        length = math.sqrt(sum(w * w for w in vector.values()))
        vectors.append({g: w / length for g, w in vector.items()} if length else {})
    return vectors


def _cosines(vectors: list[dict[str, float]]) -> dict[tuple[int, int], float]:
    """Dot products of every pair of vectors that share an n-gram (i < j), by inverted index."""
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for index, vector in enumerate(vectors):
        for gram, weight in vector.items():
            postings[gram].append((index, weight))
    sums: dict[tuple[int, int], float] = defaultdict(float)
    for gram in sorted(postings):
        entries = postings[gram]
        for a in range(len(entries)):
            i, wi = entries[a]
            for j, wj in entries[a + 1 :]:
                sums[(i, j)] += wi * wj
    return sums


def _round(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(DECIMALS, rounding=ROUND_HALF_EVEN)


def jaccard(a: frozenset[str], b: frozenset[str]) -> Decimal:
    """Shared over all themes; 0 when neither measure has a theme."""
    union = a | b
    return _round(len(a & b) / len(union)) if union else Decimal(0)


def similar_measures(
    measures: Iterable[MeasureText], top_k: int = TOP_K, threshold: Decimal = THRESHOLD
) -> list[Similarity]:
    """For each measure, its ``top_k`` closest measures of OTHER policies scoring ≥ ``threshold``.

    Ties are broken by the other measure's IRI, so the choice is deterministic. The
    result is sorted by source IRI, then by falling score.
    """
    items = sorted(measures, key=lambda m: m.iri)
    vectors = tfidf_vectors([m.text for m in items])
    cosines = _cosines(vectors)
    candidates: dict[int, list[Similarity]] = defaultdict(list)
    for i, a in enumerate(items):
        for j in range(i + 1, len(items)):
            b = items[j]
            if a.policy == b.policy:
                continue
            text_score = _round(min(cosines.get((i, j), 0.0), 1.0))
            theme_score = jaccard(a.themes, b.themes)
            score = _round(THEME_WEIGHT * theme_score + TEXT_WEIGHT * text_score)
            if score < threshold:
                continue
            shared = tuple(sorted(a.themes & b.themes))
            candidates[i].append(Similarity(a.iri, b.iri, score, theme_score, text_score, shared))
            candidates[j].append(Similarity(b.iri, a.iri, score, theme_score, text_score, shared))
    chosen: list[Similarity] = []
    for i in sorted(candidates):
        ranked = sorted(candidates[i], key=lambda s: (-s.score, s.target))
        chosen.extend(ranked[:top_k])
    return chosen
