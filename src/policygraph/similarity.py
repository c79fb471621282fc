"""How alike two measures are: shared themes and shared wording, as one score.

Pure computation over plain data (no RDF), so the formula can be tested by itself
and the linking stage only maps its result. The score of measures *a* and *b* is

    score = THEME_WEIGHT · jaccard(themes(a), themes(b)) + TEXT_WEIGHT · cosine(a, b)

where ``jaccard`` is |shared themes| / |all themes of either| (0 when neither has a
theme) and ``cosine`` is the cosine of the TF-IDF vectors of the measures' character
n-grams (n = 2 and 3) over the measures of the whole build. Character n-grams need
no word segmentation, so the same formula serves Chinese and English text; the
inverse document frequency keeps boilerplate that every measure shares ("加强", "the")
from counting. It reads the number of measures, and of measures holding the n-gram, each
counted in buckets (:func:`bucketed`), so that an edit to one measure rarely changes any
other measure's vector and the search can be updated instead of run again
(:mod:`policygraph.similarity_update`). Scores are rounded to ``DECIMALS`` places before
anything compares them, so the ranking, and the output, never depend on floating-point
summation order.

Each measure keeps its ``TOP_K`` best-scoring measures of other policies, scoring at
least ``THRESHOLD``. Scoring every pair is quadratic (a build of 1,000 documents has
some 20,000 measures), so :func:`similar_measures` scores only pairs that could make
a measure's list, and proves the rest could not; see :class:`_Search`. The result is
the same as scoring every pair, to the last digit.
"""

from __future__ import annotations

import math
import operator
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

THEME_WEIGHT = Decimal("0.5")
TEXT_WEIGHT = Decimal("0.5")
NGRAM_SIZES = (2, 3)  # 3 at most: see _gram_keys
DECIMALS = Decimal("0.001")
TOP_K = 3
THRESHOLD = Decimal("0.3")
#: Counts of measures keep this many leading binary digits (see :func:`bucketed`).
LEADING_BITS = 4

# Anything that is not a letter or a digit separates n-grams: punctuation carries no meaning.
_SEPARATOR = re.compile(r"[\W_]+")

# Bounds on floating-point error, far above what they bound (see _Search).
_SLACK = 1e-9  # on a cosine: the bounds for pruning are computed in floating point
_TIE = 1e-6  # on a cosine times 1000: how near a rounding tie counts as on it


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


def _round(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(DECIMALS, rounding=ROUND_HALF_EVEN)


def jaccard(a: frozenset[str], b: frozenset[str]) -> Decimal:
    """Shared over all themes; 0 when neither measure has a theme."""
    return theme_score(len(a & b), len(a | b))


def theme_score(shared: int, union: int) -> Decimal:
    """The Jaccard index of two theme sets from how many themes they share and hold in
    all (the rounded ratio; 0 when neither has a theme)."""
    return _round(shared / union) if union else Decimal(0)


def _combined(theme_score: Decimal, text_score: Decimal) -> Decimal:
    return _round(THEME_WEIGHT * theme_score + TEXT_WEIGHT * text_score)


# -- the TF-IDF vectors ---------------------------------------------------------------------


def bucketed(count: int) -> int:
    """A count with all but its ``LEADING_BITS`` leading binary digits cleared.

    Counts below 2**LEADING_BITS stay exact; above, a bucket spans 1/16 to 1/8 of its
    counts. The weights read counts through this, so that one more or one fewer measure
    holding a common n-gram seldom moves its weight: at 10,000 documents nine edits in
    ten change no other measure's vector, where exact counts changed tens of thousands
    (``bench/idf_study.py``). Integer arithmetic only, so every machine agrees.
    """
    return count & ~((1 << max(0, count.bit_length() - LEADING_BITS)) - 1)


def inverse_frequency(frequency: int, total: int) -> float:
    """The weight of an n-gram found in ``frequency`` of ``total`` measures.

    Smoothed (as if one more measure held every n-gram), so no weight is zero or
    infinite, and at least 1, so an n-gram every measure shares still counts a little.
    Both counts are taken in buckets (:func:`bucketed`). It is the only place the whole
    build enters a measure's vector.
    """
    return 1 + math.log((1 + bucketed(total)) / (1 + bucketed(frequency)))


# A character that may be part of an n-gram: a letter or digit (not "_"), as _SEPARATOR splits.
_GRAM_CHARACTER = re.compile(r"[^\W_]")
_CODE_BITS = 21  # every code point is below 2**21


def _gram_keys(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The n-grams of each text, counted, as :func:`ngrams` finds them, but all at once.

    An n-gram is keyed by its code points, c1·2⁴² + c2·2²¹ + c3 (c3 = 0 for a bigram;
    no n-gram character is U+0000), so keys sort as the n-grams' strings do; no n-gram
    is longer than 3. Returns (text, key, count) for every distinct n-gram of every
    text, by text, then key.
    """
    folded = [unicodedata.normalize("NFKC", text).lower() for text in texts]
    # one string, a NUL after each text: a NUL is no n-gram character, so no n-gram
    # spans two texts
    points = np.frombuffer(
        "\0".join([*folded, ""]).encode("utf-32-le", "surrogatepass"), dtype=np.uint32
    ).astype(np.int64)
    distinct, which = np.unique(points, return_inverse=True)
    usable = np.array([bool(_GRAM_CHARACTER.match(chr(c))) for c in distinct.tolist()])
    word = usable[which] if distinct.size else np.zeros(0, dtype=bool)
    text_of = np.repeat(np.arange(len(texts)), [len(f) + 1 for f in folded])
    keys, text = [], []
    for size in NGRAM_SIZES:  # at most 3 code points make a key
        at = np.flatnonzero(np.all([word[i : word.size - size + 1 + i] for i in range(size)], 0))
        key = np.zeros(at.size, dtype=np.int64)
        for i in range(size):
            key |= points[at + i] << (2 - i) * _CODE_BITS
        keys.append(key)
        text.append(text_of[at])
    keys, text = np.concatenate(keys), np.concatenate(text)
    order = np.lexsort((keys, text))
    keys, text = keys[order], text[order]
    new = np.ones(keys.size, dtype=bool)
    new[1:] = (keys[1:] != keys[:-1]) | (text[1:] != text[:-1])
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, keys.size))
    return text[starts], keys[starts], counts


@dataclass
class _Vectors:
    """The unit-length TF-IDF vectors of all measures, as one sparse matrix by rows.

    weight(g, d) = (1 + ln tf) · idf(df(g), N), divided by the vector's length (see
    :func:`inverse_frequency`). Row ``r`` holds ``ids[indptr[r]:indptr[r + 1]]``
    (n-gram ids, ascending; ids ascend as the n-grams' strings sort) and their
    ``weights``; ``keys[id]`` is the n-gram's key (see :func:`_gram_keys`),
    ``counts[id]`` the number of measures holding it, and ``tf`` each entry's count.
    Every float is computed by the same operations, in the same order, as the plain
    formula over dicts, so the weights are those exact numbers.
    """

    indptr: np.ndarray  # int64, rows + 1
    ids: np.ndarray  # int32
    weights: np.ndarray  # float64
    keys: np.ndarray  # int64, one per distinct n-gram, ascending
    counts: np.ndarray  # int64, measures holding each n-gram
    tf: np.ndarray  # int32, each entry's term count

    # texts whose n-grams are keyed at once
    CHUNK = 20000

    @property
    def grams(self) -> int:
        """Distinct n-grams."""
        return int(self.keys.size)

    @classmethod
    def build(cls, texts: list[str]) -> _Vectors:
        rows, keys, tf = keyed(texts)
        vocabulary, ids = np.unique(keys, return_inverse=True)
        del keys
        df = np.bincount(ids, minlength=vocabulary.size)
        indptr, weights = weigh(rows, tf, inverse_frequencies(df, len(texts))[ids], len(texts))
        ids, df, tf = ids.astype(np.int32), df.astype(np.int64), tf.astype(np.int32)
        return cls(indptr, ids, weights, vocabulary, df, tf)

    def row(self, r: int) -> tuple[np.ndarray, np.ndarray]:
        s, e = int(self.indptr[r]), int(self.indptr[r + 1])
        return self.ids[s:e], self.weights[s:e]

    def exact_cosine(self, a: int, b: int) -> float:
        """The dot product as the formula sums it: over shared n-grams in string order."""
        return exact_dot(*self.row(a), *self.row(b))


def keyed(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(text, key, count) of every distinct n-gram of every text, as :func:`_gram_keys`
    gives them, keyed ``_Vectors.CHUNK`` texts at a time to bound the memory."""
    chunk = _Vectors.CHUNK
    parts = [_gram_keys(texts[i : i + chunk]) for i in range(0, len(texts), chunk)]
    rows = np.concatenate([p[0] + i * chunk for i, p in enumerate(parts)] or [[]])
    keys = np.concatenate([p[1] for p in parts] or [[]]).astype(np.int64)
    tf = np.concatenate([p[2] for p in parts] or [[]]).astype(np.int64)
    return rows.astype(np.int64), keys, tf


def inverse_frequencies(counts: np.ndarray, total: int) -> np.ndarray:
    """:func:`inverse_frequency` of each count, each distinct count computed once."""
    distinct, at = np.unique(counts, return_inverse=True)
    idf = [inverse_frequency(d, total) for d in distinct.tolist()]
    return np.array(idf, dtype=np.float64)[at.reshape(-1)]


def weigh(
    rows: np.ndarray, tf: np.ndarray, idf: np.ndarray, total: int
) -> tuple[np.ndarray, np.ndarray]:
    """The unit vectors of ``total`` rows, from each entry's row (ascending), term count
    and inverse frequency: (indptr, weights)."""
    tf_part = {t: 1 + math.log(t) for t in np.unique(tf).tolist()}
    tf_of = np.zeros(int(tf.max(initial=0)) + 1, dtype=np.float64)
    tf_of[list(tf_part)] = list(tf_part.values())
    raw = tf_of[tf] * idf
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=total)))).astype(np.int64)
    weights = np.empty_like(raw)
    for lo in range(0, total, 4096):  # in slices of rows, to keep the Python floats few
        _normalise(indptr[lo : min(lo + 4096, total) + 1], raw, weights)
    return indptr, weights


def _normalise(starts: np.ndarray, raw: np.ndarray, weights: np.ndarray) -> None:
    """Divide a slice of rows by their lengths, in place."""
    lo, hi = int(starts[0]), int(starts[-1])
    values = raw[lo:hi].tolist()
    lengths = []
    for a, b in zip(starts[:-1].tolist(), starts[1:].tolist(), strict=True):
        row = values[a - lo : b - lo]
        # sum() over the squares in n-gram order: the very summation of the formula
        lengths.append(math.sqrt(sum(map(operator.mul, row, row))))
    divisors = np.repeat(np.array(lengths, dtype=np.float64), np.diff(starts))
    weights[lo:hi] = raw[lo:hi] / divisors


def exact_dot(ids_a: np.ndarray, w_a: np.ndarray, ids_b: np.ndarray, w_b: np.ndarray) -> float:
    """The dot product of two sparse vectors (n-grams ascending as their strings sort,
    by id or by key) as the formula sums it: term by term, over the shared n-grams in
    string order."""
    _, in_a, in_b = np.intersect1d(ids_a, ids_b, assume_unique=True, return_indices=True)
    total = 0.0
    for product in (w_a[in_a] * w_b[in_b]).tolist():
        total += product
    return total


def rounded_bound(near: np.ndarray, epsilon: float, side: int) -> np.ndarray:
    """The thousandths a cosine within ``epsilon`` of ``near`` can round to at most
    (``side`` = 1) or at least (-1), leaning ``_TIE`` further out. Where the two agree,
    that is the formula's rounded cosine; elsewhere see :func:`exact_thousandths`."""
    bound = np.minimum(near + side * epsilon, 1.0) * 1000 + 0.5 + side * _TIE
    return np.floor(bound).astype(np.int64)


def score_table(theme: Decimal) -> np.ndarray:
    """The combined score (thousandths) for Jaccard index ``theme`` and each rounded
    cosine k/1000, k = 0 … 1000."""
    scores = [_thousandths(_combined(theme, Decimal(k).scaleb(-3))) for k in range(1001)]
    return np.array(scores, dtype=np.int64)


def exact_thousandths(cosine: float) -> int:
    """A cosine summed as the formula sums it, rounded as the formula rounds it."""
    return _thousandths(_round(min(cosine, 1.0)))


# -- the search -----------------------------------------------------------------------------


class _Top:
    """The best matches so far of some sources: ``k`` slots each, by falling score, then
    target IRI rank. Scores are whole thousandths (they are rounded to three places)."""

    def __init__(self, sources: int, k: int, threshold: int, rows: int):
        self.k, self.threshold, self.rows = k, threshold, rows
        self.score = np.full((sources, k), -1, dtype=np.int64)
        self.rank = np.full((sources, k), -1, dtype=np.int64)
        self.row = np.full((sources, k), -1, dtype=np.int64)
        self.text = np.zeros((sources, k), dtype=np.int64)

    def floor(self) -> np.ndarray:
        """Per source, the score a match needs to enter (it may enter at it, by rank)."""
        return np.where(self.row[:, -1] >= 0, self.score[:, -1], self.threshold)

    def merge(
        self,
        source: np.ndarray,
        score: np.ndarray,
        rank: np.ndarray,
        row: np.ndarray,
        text: np.ndarray,
    ) -> None:
        """Add candidate matches; keep each source's best ``k``.

        A pair already held may come again (a seed found it first): it is held once.
        """
        held_source, held_slot = np.nonzero(self.row >= 0)
        keep = score >= self.threshold
        if held_source.size:
            held = held_source * self.rows + self.row[held_source, held_slot]
            keep &= ~np.isin(source * self.rows + row, held)
        if not keep.any():
            return
        source = np.concatenate((held_source, source[keep]))
        score = np.concatenate((self.score[held_source, held_slot], score[keep]))
        rank = np.concatenate((self.rank[held_source, held_slot], rank[keep]))
        row = np.concatenate((self.row[held_source, held_slot], row[keep]))
        text = np.concatenate((self.text[held_source, held_slot], text[keep]))
        order = np.lexsort((rank, -score, source))
        source = source[order]
        slot = np.arange(source.size) - np.searchsorted(source, source)
        chosen = slot < self.k
        at = (source[chosen], slot[chosen])
        self.row[:] = -1
        self.score[at] = score[order][chosen]
        self.rank[at] = rank[order][chosen]
        self.row[at] = row[order][chosen]
        self.text[at] = text[order][chosen]


@dataclass
class _Postings:
    """Row entries by key (an n-gram, say): for ``keys[i]``, ``entries[start[i]:start[i + 1]]``,
    ascending."""

    keys: np.ndarray  # int64, ascending
    start: np.ndarray  # int64
    entries: np.ndarray  # int32 or int64

    @classmethod
    def of(cls, keys: np.ndarray, entries: np.ndarray) -> _Postings:
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        start = np.flatnonzero(np.append(True, keys[1:] != keys[:-1]))
        return cls(keys[start], np.append(start, keys.size).astype(np.int64), entries[order])

    @classmethod
    def join(cls, parts: list[_Postings]) -> _Postings:
        """Postings of keys ascending from part to part, as one."""
        offsets = np.cumsum([0] + [p.entries.size for p in parts])
        starts = [p.start[:-1] + o for p, o in zip(parts, offsets[:-1], strict=True)]
        return cls(
            np.concatenate([np.zeros(0, np.int64)] + [p.keys for p in parts]),
            np.append(np.concatenate([np.zeros(0, np.int64), *starts]), offsets[-1]),
            np.concatenate([np.zeros(0, np.int32)] + [p.entries for p in parts]),
        )

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each key's entries lie in ``entries``: (starts, ends); empty if absent."""
        if not self.keys.size:
            return np.zeros(keys.size, np.int64), np.zeros(keys.size, np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        found = self.keys[at] == keys
        return np.where(found, self.start[at], 0), np.where(found, self.start[at + 1], 0)


# The passes over a source's targets, by falling Jaccard: its own group (J = 1); the
# groups sharing a theme for which f(J, 0) reaches the threshold (any cosine may do);
# the other groups sharing a theme; the groups sharing none (J = 0).
_OWN, _ANY, _NEAR, _FAR = range(4)


class _Search:
    """Each measure's top-k, scoring only pairs that could enter it; the rest are bounded.

    For a source *a* whose list has entry score *t* (the threshold, or the k-th best
    score once it holds k), a target *b* can enter only if ``score(a, b) ≥ t``. The
    score is a rounded function f(J, T) of the rounded Jaccard J and the rounded
    cosine T, non-decreasing in both.

    1. **Theme bound.** J depends only on the two theme sets. Targets are searched in
       passes by falling J (``_OWN`` … ``_FAR``), each from the entry scores the last
       left. J_max is the largest Jaccard a's theme set can have with a target of the
       pass (from the sizes of theme sets); none scores more than f(J_max, T).
    2. **Text bound.** So entering needs a rounded cosine of at least k_min, the least
       k with f(J_max, k/1000) ≥ t (if none, a skips the pass), hence a cosine of at
       least c = (k_min − ½)/1000. J_max is taken per size of the target's theme set
       (J ≤ s/(|a| + |b| − s) with s ≤ min(|a|, |b|) shared), so each size has its c.
       Visit a's n-grams by falling weight: a target having none of the first r has
       cosine Σ_{g not visited} a_g·b_g ≤ B_r = min(‖a_rest‖·‖b‖, Σ_{g not visited}
       a_g·max_b b_g), where ‖b‖ = 1 (weights are positive). So only targets having one
       of a's n-grams visited while B_r ≥ c (the *prefix*) can enter; an index finds
       them: by n-gram and row (the own group is a range of rows), or by theme, set size
       and n-gram (a target under the first of a's themes it shares). Of those, one
       whose products over the prefix sum to P, its own weights there squaring to Q,
       has cosine ≤ P + min(Σ_{g not visited} a_g·max_b b_g, ‖a_rest‖·√(1 − Q)), and
       is dropped when that is below the c of its own J. The rest are scored, best
       bound first, so that the entry scores rise as early as they can.
       Where k_min = 0 (any cosine will do), the lists are first seeded from each
       source's ``SEED`` heaviest n-grams, which raises t; where k_min stays 0, every
       target of the pass is scored, cosine 0 (no shared n-gram) included.
    3. **Exact scores.** numpy sums a dot product in its own order, so the sum may differ
       from the formula's (over shared n-grams in string order) by at most
       ε = 2·γ_n·Σ a_g·b_g ≤ 4·n·u/(1 − n·u) for n terms, unit vectors and unit
       roundoff u. Rounding to thousandths is monotone; when x − ε and x + ε round alike
       (no rounding tie within reach), that is the rounded exact cosine. Otherwise the
       cosine is summed as the formula sums it.

    Every bound only over-estimates, with ``_SLACK`` to spare for its own rounding, so
    no pair the formula keeps is skipped, and every kept pair has the formula's score.
    Memory: the sparse matrix by rows, its entries again by n-gram (overall, and under
    each theme of their row), and for ``SOURCES`` sources at a time a dense block of
    their vectors and the candidate pairs from at most ``BATCH`` postings at once:
    nothing over all pairs.
    """

    SOURCES = 256
    BATCH = 1 << 19
    SEED = 2

    def __init__(self, items: list[MeasureText], k: int, threshold: Decimal):
        # scores are whole thousandths: at least the threshold is at least its ceiling
        self.k, self.threshold = k, math.ceil(threshold.scaleb(3))
        n = len(items)
        sets = sorted({item.themes for item in items}, key=sorted)
        number = {s: i for i, s in enumerate(sets)}
        # items come sorted by IRI; rows go group by group, by IRI within a group
        order = sorted(range(n), key=lambda i: (number[items[i].themes], i))
        self.items = [items[i] for i in order]
        self.rank = np.array(order, dtype=np.int64)  # IRI rank of each row
        self.group = np.array([number[m.themes] for m in self.items], dtype=np.int64)
        counts = np.bincount(self.group, minlength=len(sets))
        self.group_start = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
        policies: dict[str, int] = {}
        self.policy = np.array(
            [policies.setdefault(m.policy, len(policies)) for m in self.items], dtype=np.int64
        )
        self.themes: list[Decimal] = []  # the Jaccards met, by index
        self.tables = np.zeros((0, 1001), dtype=np.int64)  # f(J, k/1000), by Jaccard index
        self.least = np.zeros((0, 1002), dtype=np.int64)  # least k scoring ≥ floor, by index
        self._theme_sets(sets)
        self._jaccards()
        self.vectors = v = _Vectors.build([m.text for m in self.items])
        self.entry_row = np.repeat(np.arange(n, dtype=np.int32), np.diff(v.indptr))
        # scratch: an n-gram's column in a batch's dense block, else the zero column
        self.local = np.full(v.grams, -1, dtype=np.int64)
        self.max_weight = np.zeros(v.grams, dtype=np.float64)
        np.maximum.at(self.max_weight, v.ids, v.weights)
        # every entry by n-gram, then by row: key n-gram × entries + entry, ascending, so
        # that one search finds an n-gram's entries, or those in a range of rows
        self.entries = v.ids.size
        self.column_key = np.sort(v.ids.astype(np.int64) * self.entries + np.arange(self.entries))
        # every entry again under each theme of its row, keyed theme × row's set size × n-gram
        # (one theme at a time, to sort small arrays)
        parts = []
        for theme in range(self.theme_rows.keys.size):
            listed = slice(self.theme_rows.start[theme], self.theme_rows.start[theme + 1])
            rows = self.theme_rows.entries[listed]
            lengths = np.diff(v.indptr)[rows]
            entries = _ranges(v.indptr[rows], v.indptr[rows] + lengths).astype(np.int32)
            under = np.repeat(self.theme_rows.keys[theme] * self.sizes + self.size[rows], lengths)
            parts.append(_Postings.of(under * v.grams + v.ids[entries], entries))
        self.by_theme = _Postings.join(parts)

    def _theme_sets(self, sets: list[frozenset[str]]) -> None:
        """Theme sets as bit masks by row; each row's themes; the rows having each theme."""
        bit = {t: i for i, t in enumerate(sorted({t for s in sets for t in s}))}
        words = max(1, (len(bit) + 63) // 64)
        masks = np.zeros((len(sets), words), dtype=np.uint64)
        for g, theme_set in enumerate(sets):
            for t in theme_set:
                masks[g, bit[t] // 64] |= np.uint64(1 << (bit[t] % 64))
        # the bits below each theme's: a row shares no earlier theme with a source
        below = np.zeros((len(bit), words), dtype=np.uint64)
        for b in range(len(bit)):
            for lower in range(b):
                below[b, lower // 64] |= np.uint64(1 << (lower % 64))
        # one word (at most 64 themes, as a rule): plain numbers, cheaper to combine
        self.mask = masks[self.group][:, 0] if words == 1 else masks[self.group]
        self.below = below[:, 0] if words == 1 else below
        per_group = [sorted(bit[t] for t in s) for s in sets]
        self.size = np.array([len(s) for s in per_group], dtype=np.int64)[self.group]
        self.row_themes_start = np.concatenate(([0], np.cumsum(self.size))).astype(np.int64)
        self.row_themes = np.array(
            [b for g in self.group.tolist() for b in per_group[g]], dtype=np.int64
        )
        group_theme = [(b, g) for g, bits in enumerate(per_group) for b in bits]
        theme = np.array([b for b, _ in group_theme], dtype=np.int64)
        group = np.array([g for _, g in group_theme], dtype=np.int64)
        lengths = self.group_start[group + 1] - self.group_start[group]
        rows = _ranges(self.group_start[group], self.group_start[group + 1])
        self.theme_rows = _Postings.of(np.repeat(theme, lengths), rows)

    def _jaccards(self) -> None:
        """Jaccard indices by (shared, either) theme counts; J_max by pass and set size."""
        most = int(self.size.max(initial=0))
        self.jaccard = np.zeros((most + 1, 2 * most + 1), dtype=np.int64)
        self.jaccard[0, :] = self.theme_index(Decimal(0))
        for union in range(1, 2 * most + 1):
            for shared in range(1, min(most, union) + 1):
                self.jaccard[shared, union] = self.theme_index(_round(shared / union))
        self.sizes = most + 1
        # by pass, a's set size and b's: the largest J a target can have (-1: none can)
        self.loosest_by_size = np.full((4, most + 1, most + 1), -1, dtype=np.int64)
        self.loosest_by_size[_FAR] = self.theme_index(Decimal(0))
        self.fewest = np.full((4, most + 1), most + 1, dtype=np.int64)  # themes shared, at least
        for size in range(1, most + 1):
            self.loosest_by_size[_OWN, size, size] = self.theme_index(_round(1.0))
            for other in range(1, most + 1):
                for shared in range(1, min(size, other) + 1):
                    if shared == size == other:
                        continue  # the same set: the own group
                    index = int(self.jaccard[shared, size + other - shared])
                    kind = _ANY if self.tables[index, 0] >= self.threshold else _NEAR
                    held = self.loosest_by_size[kind, size, other]
                    if held < 0 or self.themes[index] > self.themes[held]:
                        self.loosest_by_size[kind, size, other] = index
                    self.fewest[kind, size] = min(self.fewest[kind, size], shared)
        # by pass and a's set size, over all sizes of b
        self.loosest = np.full((4, most + 1), -1, dtype=np.int64)
        for kind in range(4):
            for size in range(most + 1):
                indices = [i for i in self.loosest_by_size[kind, size].tolist() if i >= 0]
                if indices:
                    self.loosest[kind, size] = max(indices, key=self.themes.__getitem__)

    # -- scores ----------------------------------------------------------------------------

    def theme_index(self, theme: Decimal) -> int:
        """The index of a Jaccard in ``tables`` (f(J, k/1000), k = 0 … 1000) and ``least``
        (for each floor 0 … 1001, the least k with f(J, k/1000) ≥ floor; 1001: none)."""
        if theme not in self.themes:
            table = score_table(theme)
            self.themes.append(theme)
            self.tables = np.vstack((self.tables, table))
            self.least = np.vstack((self.least, np.searchsorted(table, np.arange(1002))))
        return self.themes.index(theme)

    def least_text(self, theme: np.ndarray, floor: np.ndarray) -> np.ndarray:
        """The least rounded cosine (thousandths) that scores ≥ ``floor``; 1001: none."""
        return np.where(theme >= 0, self.least[theme, np.clip(floor, 0, 1001)], 1001)

    def relation(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For row pairs: the Jaccard index of their theme sets, and the pass of ``b``
        as a target of ``a``."""
        shared = self.shared(a, b)
        theme = self.jaccard[shared, self.size[a] + self.size[b] - shared]
        kind = np.where(self.tables[theme, 0] >= self.threshold, _ANY, _NEAR)
        kind = np.where(shared == 0, _FAR, kind)
        kind = np.where((shared > 0) & (self.group[a] == self.group[b]), _OWN, kind)
        return theme, kind

    def shared(self, a: np.ndarray, b: np.ndarray, below: np.ndarray | None = None) -> np.ndarray:
        """How many themes rows ``a`` and ``b`` share (only those before bits ``below``)."""
        common = self.mask[a] & self.mask[b]
        if below is not None:
            common &= self.below[below]
        counts = _bit_count(common)
        return counts if counts.ndim == 1 else counts.sum(axis=1, dtype=np.int64)

    @staticmethod
    def epsilon(terms: int) -> float:
        """How far a sum of ``terms`` products of unit vectors may be from another order's."""
        u = 2.0**-53
        return 4 * terms * u / (1 - terms * u) + _SLACK

    def tops(self, jobs: int = 1) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """The best matches of every row, ``SOURCES`` at a time: (first row, their
        target rows, their rounded cosines), in row order.

        Batches are independent, so with ``jobs`` > 1 they are searched in that many
        forked processes, which inherit the index instead of receiving a copy.
        """
        starts = range(0, len(self.items), self.SOURCES)
        if jobs <= 1 or len(starts) < 2:
            yield from map(self.batch, starts)
            return
        from policygraph.workers import can_fork, forked_pool

        if not can_fork():
            yield from map(self.batch, starts)
            return
        _FORKED["search"] = self
        try:
            with forked_pool(min(jobs, len(starts))) as pool:
                yield from pool.imap(_forked_batch, starts)
        finally:
            _FORKED.clear()

    def batch(self, lo: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Search the batch of sources starting at row ``lo``."""
        batch = _Batch(self, np.arange(lo, min(lo + self.SOURCES, len(self.items))))
        for kind in (_OWN, _ANY, _NEAR, _FAR):
            batch.search(kind)
        return lo, batch.top.row, batch.top.text


# The search a forked worker inherits from the process that started it.
_FORKED: dict[str, _Search] = {}


def _forked_batch(lo: int) -> tuple[int, np.ndarray, np.ndarray]:
    return _FORKED["search"].batch(lo)


class _Batch:
    """Some source rows, searched together (see :class:`_Search`)."""

    def __init__(self, search: _Search, rows: np.ndarray):
        self.s, self.rows = search, rows
        self.top = _Top(rows.size, search.k, search.threshold, len(search.items))
        v = search.vectors
        starts, ends = v.indptr[rows], v.indptr[rows + 1]
        entries = _ranges(starts, ends)
        source = np.repeat(np.arange(rows.size), ends - starts)
        # the sources' vectors as a dense block over their own n-grams (a last column of
        # zeros for every other n-gram)
        self.grams, local = np.unique(v.ids[entries], return_inverse=True)
        self.dense = np.zeros((rows.size, self.grams.size + 1), dtype=np.float64)
        self.weights = v.weights[entries]
        self.dense[source, local] = self.weights
        # each source's n-grams by falling weight, with the bound B before each
        order = np.lexsort((-self.weights, source))
        self.visit_source = source[order]
        self.visit_gram = v.ids[entries][order].astype(np.int64)
        self.visit_weight = weights = self.weights[order]
        self.length = ends - starts
        ends_at = np.cumsum(self.length)
        self.first = ends_at - self.length  # each source's first visit entry
        self.norm_rest = np.sqrt(_suffix_sums(weights * weights, ends_at))
        self.most_rest = _suffix_sums(weights * search.max_weight[self.visit_gram], ends_at)
        self.bound = np.minimum(self.norm_rest, self.most_rest)

    def least(self, kind: int) -> np.ndarray:
        """Per source, the least rounded cosine that may enter from this pass; 1001: none."""
        s = self.s
        return s.least_text(s.loosest[kind, s.size[self.rows]], self.top.floor())

    def search(self, kind: int) -> None:
        """Offer the sources every target of a pass that could enter their lists."""
        least = self.least(kind)
        done = np.zeros(self.rows.size, dtype=bool)  # sources whose every target is scored
        if (least == 0).any():
            # Any cosine would do: seed the lists from each source's heaviest n-grams,
            # which raises their entry scores; score every target where it did not.
            seed = np.flatnonzero((least == 0)[self.visit_source])
            seed = seed[seed - self.first[self.visit_source[seed]] < self.s.SEED]
            self._candidates(seed, None, None, kind)
            done = self.least(kind) == 0
            if done.any():
                self._everything(np.flatnonzero(done), kind)
        s = self.s
        if kind == _FAR:  # one cutoff for all targets: J = 0
            loosest = s.loosest[kind, s.size[self.rows]][:, None]
        else:  # by the size of the target's theme set, which bounds its J
            loosest = s.loosest_by_size[kind, s.size[self.rows]]
        least = s.least_text(loosest, self.top.floor()[:, None])
        cutoff = np.where((least > 0) & (least <= 1000), (least - 0.5) / 1000, np.inf)
        cutoff[done] = np.inf
        if np.isinf(cutoff).all():
            return
        # the prefixes: entries visited while the bound on what is left reaches the cutoff
        visits, size = np.nonzero(self.bound[:, None] + _SLACK >= cutoff[self.visit_source])
        counts = np.bincount(
            self.visit_source[visits] * cutoff.shape[1] + size, minlength=cutoff.size
        ).reshape(cutoff.shape)
        # after each prefix: ‖a_rest‖ and Σ a_g·max_b b_g over the rest
        after = np.zeros((2, *cutoff.shape), dtype=np.float64)
        rest = counts < self.length[:, None]
        next_visit = (self.first[:, None] + counts)[rest]
        after[0][rest] = self.norm_rest[next_visit]
        after[1][rest] = self.most_rest[next_visit]
        self._candidates(visits, size, after, kind)

    def _lookups(
        self, visits: np.ndarray, size: np.ndarray | None, kind: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The postings to expand for visit entries (with targets' set sizes; None: every
        size a target may have): (visit, theme or -1, start, end), grouped by source."""
        s = self.s
        if kind in (_FAR, _OWN):  # all rows, or the rows of the source's own group
            base = self.visit_gram[visits] * s.entries
            if kind == _FAR:
                low, high = base, base + s.entries
            else:
                group = s.group[self.rows[self.visit_source[visits]]]
                indptr, start = s.vectors.indptr, s.group_start
                low, high = base + indptr[start[group]], base + indptr[start[group + 1]]
            starts = np.searchsorted(s.column_key, low)
            return visits, np.full(visits.size, -1), starts, np.searchsorted(s.column_key, high)
        if size is None:
            possible = s.loosest_by_size[kind, s.size[self.rows[self.visit_source[visits]]]] >= 0
            at, size = np.nonzero(possible)
            visits = visits[at]
        # Under the source's themes: a target sharing at least ``fewest`` of them has
        # one of the first size − fewest + 1, and is looked up under the first it has.
        rows = self.rows[self.visit_source[visits]]
        own = s.size[rows]
        count = np.maximum(own - s.fewest[kind, own] + 1, 0)
        visit = np.repeat(visits, count)
        first = s.row_themes_start[rows]
        theme = s.row_themes[_ranges(first, first + count)]
        under = theme * s.sizes + np.repeat(size, count)
        starts, ends = s.by_theme.find(under * s.vectors.grams + self.visit_gram[visit])
        return visit, theme, starts, ends

    def _candidates(
        self, visits: np.ndarray, size: np.ndarray | None, after: np.ndarray | None, kind: int
    ) -> None:
        """Score the targets of a pass having an n-gram of ``visits`` whose products
        over those could still reach the source's cutoff (``after``: B after the
        prefix, by source and target set size; None when seeding: all are scored).
        Sources go whole, ``BATCH`` postings at a time."""
        if not visits.size:
            return
        visit, theme, starts, ends = self._lookups(visits, size, kind)
        for part in _whole(self.visit_source[visit], ends - starts, self.s.BATCH):
            found = _ranges(starts[part], ends[part])
            if kind in (_FAR, _OWN):
                entries = self.s.column_key[found] % self.s.entries
            else:
                entries = self.s.by_theme.entries[found]
            spread = ends[part] - starts[part]
            self._pairs(
                np.repeat(visit[part], spread), np.repeat(theme[part], spread), entries, after, kind
            )

    def _pairs(
        self,
        visit: np.ndarray,
        theme_bit: np.ndarray,
        entries: np.ndarray,
        after: np.ndarray | None,
        kind: int,
    ) -> None:
        """Candidate pairs from expanded postings, each (visit entry, matrix entry);
        scored best bound first, so that entry scores rise before the weaker come up.

        A pair whose products over a's prefix sum to P, with b's weights there squaring
        to Q, has cosine ≤ P + min(Σ_{g after} a_g·max b_g, ‖a_rest‖·√(1 − Q)).
        """
        s, n = self.s, len(self.s.items)
        source = self.visit_source[visit]
        keep = self._targets(self.rows[source], s.entry_row[entries], theme_bit, kind)
        pairs, inverse = np.unique(
            source[keep] * n + s.entry_row[entries[keep]], return_inverse=True
        )
        source, row = pairs // n, pairs % n
        theme, relation = s.relation(self.rows[source], row)
        chosen = relation == kind
        if after is None:
            self._score(source[chosen], row[chosen], theme[chosen])
            return
        weight = s.vectors.weights[entries[keep]]
        product = self.visit_weight[visit[keep]] * weight
        partial = np.bincount(inverse, weights=product, minlength=pairs.size)
        squares = np.bincount(inverse, weights=weight * weight, minlength=pairs.size)
        column = s.size[row] if after.shape[2] > 1 else 0
        b_rest = np.sqrt(np.maximum(1.0 - squares, 0.0) + _SLACK)
        bound = partial + np.minimum(after[1][source, column], after[0][source, column] * b_rest)
        bound += 2 * _SLACK
        order = np.flatnonzero(chosen & (bound >= self._cutoff(theme, source)))
        order = order[np.argsort(-bound[order], kind="stable")]
        if not order.size:
            return
        lowest = self._cutoff(theme[order], source[order]).min()  # cutoffs only rise
        step = max(1, s.BATCH // 64)
        for lo in range(0, order.size, step):
            part = order[lo : lo + step]
            if bound[part[0]] < lowest:
                break  # no bound from here on reaches any cutoff
            part = part[bound[part] >= self._cutoff(theme[part], source[part])]
            self._score(source[part], row[part], theme[part])

    def _cutoff(self, theme: np.ndarray, source: np.ndarray) -> np.ndarray:
        """The least cosine with which a pair of this Jaccard could enter its source's
        list now (∞ if none)."""
        least = self.s.least_text(theme, self.top.floor()[source])
        return np.where(least <= 1000, (least - 0.5) / 1000, np.inf)

    def _targets(
        self, a: np.ndarray, row: np.ndarray, theme_bit: np.ndarray, kind: int
    ) -> np.ndarray:
        """Which rows are targets of the pass for sources ``a``, each found once: of
        another policy, in the pass's relation to a, and (when found under a theme)
        sharing none of a's themes before it."""
        s = self.s
        keep = s.policy[row] != s.policy[a]
        if kind == _OWN:
            return keep & (s.group[row] == s.group[a])
        if kind == _FAR:
            return keep & (s.shared(a, row) == 0)
        keep &= s.relation(a, row)[1] == kind
        if (theme_bit >= 0).any():
            keep &= s.shared(a, row, theme_bit) == 0
        return keep

    def _everything(self, sources: np.ndarray, kind: int) -> None:
        """Score every target of the pass for ``sources``, ``BATCH`` candidates at a time."""
        s = self.s
        a = self.rows[sources]
        if kind == _OWN:
            starts, ends = s.group_start[s.group[a]], s.group_start[s.group[a] + 1]
            listed = np.arange(len(s.items))
        elif kind == _FAR:  # only when the threshold is 0 or less
            starts = np.zeros(sources.size, dtype=np.int64)
            ends = np.full(sources.size, len(s.items), dtype=np.int64)
            listed = np.arange(len(s.items))
        else:
            # a target shares at least ``fewest`` of a's themes: it has one of any
            # size − fewest + 1 of them (its first ones, say)
            count = np.maximum(s.size[a] - s.fewest[kind, s.size[a]] + 1, 0)
            first = s.row_themes_start[a]
            starts, ends = s.theme_rows.find(s.row_themes[_ranges(first, first + count)])
            sources = np.repeat(sources, count)
            listed = s.theme_rows.entries
        # whole sources at a time: rows found under several themes are made one
        for part in _whole(sources, ends - starts, s.BATCH):
            rows = listed[_ranges(starts[part], ends[part])]
            source = np.repeat(sources[part], ends[part] - starts[part])
            keep = self._targets(self.rows[source], rows, np.full(rows.size, -1), kind)
            pairs = np.unique(source[keep] * len(s.items) + rows[keep])
            source, row = pairs // len(s.items), pairs % len(s.items)
            theme, relation = s.relation(self.rows[source], row)
            chosen = relation == kind
            self._score(source[chosen], row[chosen], theme[chosen])

    def _score(self, source: np.ndarray, row: np.ndarray, theme: np.ndarray) -> None:
        """Score candidate pairs (source index, target row) and merge them into the top,
        as many at once as have ``BATCH`` target entries in all."""
        v = self.s.vectors
        ends = np.cumsum(v.indptr[row + 1] - v.indptr[row])
        start = 0
        while start < row.size:
            base = int(ends[start - 1]) if start else 0
            stop = max(int(np.searchsorted(ends, base + self.s.BATCH, side="right")), start + 1)
            part = slice(start, stop)
            self._score_part(source[part], row[part], theme[part])
            start = stop

    def _score_part(self, source: np.ndarray, row: np.ndarray, theme: np.ndarray) -> None:
        s, v = self.s, self.s.vectors
        starts, ends = v.indptr[row], v.indptr[row + 1]
        entries = _ranges(starts, ends)
        pair = np.repeat(np.arange(source.size), ends - starts)
        s.local[self.grams] = np.arange(self.grams.size)
        column = s.local[v.ids[entries]]
        s.local[self.grams] = -1
        column[column < 0] = self.grams.size
        products = self.dense[source[pair], column] * v.weights[entries]
        near = np.bincount(pair, weights=products, minlength=source.size)
        epsilon = s.epsilon(int((ends - starts).max(initial=0)))
        high = rounded_bound(near, epsilon, 1)
        hopeful = s.tables[theme, high] >= self.top.floor()[source]
        source, row, near, high, theme = (x[hopeful] for x in (source, row, near, high, theme))
        low = rounded_bound(near, epsilon, -1)
        for i in np.flatnonzero(low != high).tolist():  # a rounding tie within reach
            exact = v.exact_cosine(int(self.rows[source[i]]), int(row[i]))
            high[i] = exact_thousandths(exact)
        self.top.merge(source, s.tables[theme, high], s.rank[row], row, high)


def _suffix_sums(values: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """For each position, the sum of the values from it to the end of its segment.

    Summed segment by segment from the end, so each is non-increasing along its segment
    (adding a non-negative float never lowers a sum): a bound that only falls.
    """
    out = np.empty_like(values)
    start = 0
    for end in ends.tolist():
        out[start:end] = np.cumsum(values[start:end][::-1])[::-1]
        start = end
    return out


def _bit_count(words: np.ndarray) -> np.ndarray:
    """Set bits of each 64-bit word (numpy 2 counts them itself; 1.26 by the bit trick)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words).astype(np.int64)
    x = words - ((words >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return ((x * np.uint64(0x0101010101010101)) >> np.uint64(56)).astype(np.int64)


def _whole(sources: np.ndarray, sizes: np.ndarray, budget: int) -> Iterator[slice]:
    """Slices of runs of equal ``sources`` (sorted) whose ``sizes`` add up to at most
    ``budget``, with one run at least: each source's items all in one slice."""
    ends = np.cumsum(sizes)
    last = np.flatnonzero(np.append(sources[1:] != sources[:-1], True))  # of each run
    start = 0
    while start < sources.size:
        base = int(ends[start - 1]) if start else 0
        runs = last[last >= start]
        fit = runs[ends[runs] - base <= budget]
        stop = int(fit[-1] if fit.size else runs[0]) + 1
        yield slice(start, stop)
        start = stop


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenation of ``range(s, e)`` for each pair, as one array."""
    lengths = ends - starts
    total = int(lengths.sum())
    return np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)


def _thousandths(score: Decimal) -> int:
    return int(score.scaleb(3))


@dataclass
class Ranked:
    """Each measure's best matches, for ``items`` sorted by IRI: ``target[i]`` holds the
    indices of item i's matches (-1: an empty slot) and ``text[i]`` their rounded cosines
    in thousandths, best first."""

    items: Sequence[MeasureText]
    target: np.ndarray  # int64, (items, k)
    text: np.ndarray  # int64, (items, k)

    def links(self, sources: np.ndarray | None = None) -> list[Similarity]:
        """The matches as links, by source IRI, then by falling score (of ``sources``,
        item indices in order; None: all)."""
        made = LinkScores()
        items = self.items
        found = []
        if sources is None:
            sources = np.flatnonzero(self.target[:, 0] >= 0)
        for source, targets, texts in zip(
            sources.tolist(),
            self.target[sources].tolist(),
            self.text[sources].tolist(),
            strict=True,
        ):
            a = items[source]
            found += [
                made.link(a, items[b], t) for b, t in zip(targets, texts, strict=True) if b >= 0
            ]
        return found


def rank(
    items: list[MeasureText], top_k: int = TOP_K, threshold: Decimal = THRESHOLD, jobs: int = 1
) -> tuple[Ranked, _Vectors, np.ndarray]:
    """The search over ``items`` (sorted by IRI): the ranked lists, the vectors it scored
    and, for each of their rows, the row's item index."""
    search = _Search(items, top_k, threshold)
    target = np.full((len(items), top_k), -1, dtype=np.int64)
    text = np.zeros((len(items), top_k), dtype=np.int64)
    for first, rows, texts in search.tops(jobs):
        at = search.rank[first : first + rows.shape[0]]
        target[at] = np.where(rows >= 0, search.rank[np.maximum(rows, 0)], -1)
        text[at] = texts
    return Ranked(items, target, text), search.vectors, search.rank


def similar_measures(
    measures: Iterable[MeasureText],
    top_k: int = TOP_K,
    threshold: Decimal = THRESHOLD,
    jobs: int = 1,
) -> list[Similarity]:
    """For each measure, its ``top_k`` closest measures of OTHER policies scoring ≥ ``threshold``.

    Ties are broken by the other measure's IRI, so the choice is deterministic. The
    result is sorted by source IRI, then by falling score; it does not depend on
    ``jobs``, the number of processes searching.
    """
    items = sorted(measures, key=lambda m: m.iri)
    if not items or top_k <= 0:
        return []
    return rank(items, top_k, threshold, jobs)[0].links()


class LinkScores:
    """A match's scores, each theme score and combined score computed once: a build has
    hundreds of thousands of links but few distinct Jaccard indices."""

    def __init__(self) -> None:
        self.themes: dict[tuple[int, int], Decimal] = {}
        self.texts = [Decimal(k).scaleb(-3) for k in range(1001)]
        self.scores: dict[tuple[Decimal, int], Decimal] = {}

    def parts(
        self, a: frozenset[str], b: frozenset[str], text: int
    ) -> tuple[Decimal, Decimal, frozenset[str]]:
        """For theme sets ``a`` and ``b`` and a rounded cosine in thousandths: the
        combined score, the theme score and the shared themes."""
        shared = a & b
        sizes = (len(shared), len(a) + len(b) - len(shared))
        theme = self.themes.get(sizes)
        if theme is None:
            theme = self.themes[sizes] = theme_score(*sizes)
        score = self.scores.get((theme, text))
        if score is None:
            score = self.scores[theme, text] = _combined(theme, self.texts[text])
        return score, theme, shared

    def link(self, a: MeasureText, b: MeasureText, text: int) -> Similarity:
        score, theme, shared = self.parts(a.themes, b.themes, text)
        return Similarity(a.iri, b.iri, score, theme, self.texts[text], tuple(sorted(shared)))
