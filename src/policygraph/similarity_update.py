"""Updating the similarity search after an edit, instead of running it again.

At corpus scale the search (:mod:`policygraph.similarity`) takes minutes, and an edit to
one measure's text used to run all of it, because the inverse document frequencies are
corpus wide. They read counts in buckets (:func:`similarity.bucketed`), so an edit seldom
changes any other measure's vector, and the ranked lists can be updated:

1. The measures whose vector changed are the edited, added and re-themed ones, and every
   measure holding an n-gram whose count moved to another bucket (rare). Counts are kept
   exactly, n-gram by n-gram, so that a bucket's move is seen when it happens.
2. A source is *rescored* (scored against every measure) when it changed, or when its
   list held a changed or removed measure: what came next in its list is not known.
3. Every other source keeps its list, merged with its scores against the changed
   measures. That is exact: the measures it was not scored against kept their scores,
   and the best k of a set are the best k of (its old best k, and the new members).
   Scores are symmetric, so scoring the rescored sources against everything gives
   those scores too.

A pair's score is the formula's, rounded as the full search rounds it: the dot product
in floating point, and summed term by term in the formula's order when a rounding tie is
within the error bound. So the lists equal a fresh search's, which the tests check.

An update reads documents, not measures: each comes with a digest of its measures, and
only the documents whose digests are new are unpacked (at 10,000 documents, unpacking
them all took seconds). So the state keeps what the update reads of the others: each
measure's IRI, policy, theme set, digest, and its n-grams' counts besides their weights,
so that a measure whose vector must be made again needs no text.

The state lives in the build cache folder (``search/``): the vectors of the last full
search (the *base*, numpy files, read as memory maps, row by row and n-gram by n-gram,
so that rescoring a source reads only the entries of its own n-grams), the vectors
computed since (the *overlay*), the exact counts, those columns and the ranked lists.
It is written to a new name and renamed, so a killed build leaves the last good state.
When the number of measures moves to another bucket, or too many vectors changed, the
full search runs again and makes a new base.
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import math
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from pathlib import Path

import numpy as np

from policygraph.similarity import (
    THRESHOLD,
    TOP_K,
    LinkScores,
    MeasureText,
    Ranked,
    _bit_count,
    _ranges,
    _Search,
    _thousandths,
    bucketed,
    exact_dot,
    exact_thousandths,
    inverse_frequencies,
    keyed,
    rank,
    rounded_bound,
    score_table,
    theme_score,
    weigh,
)

#: A fresh search instead, once this many vectors differ from the base's...
MOST_CHANGED = 20000
#: ... or when one update would rescore more than one source in this many (each costs
#: a pass over every vector; as many as this make about as much work as a search).
RESCORED_SHARE = 200
#: Sources scored against every measure at once (a dense block of their scores).
BLOCK = 64
_STATE = "state.pickle"
_VECTOR_ARRAYS = ("keys", "indptr", "ids", "tf", "weights")
_BASE_ARRAYS = (*_VECTOR_ARRAYS, "posting_ptr", "posting_row", "posting_weight")
#: The postings are written this many runs of n-grams at a time, so that making them
#: holds an eighth of the entries' copies at once (the full search's peak is near).
_POSTING_RUNS = 8
_VERSION = 4

Vector = tuple[np.ndarray, np.ndarray, np.ndarray]  # n-gram keys (ascending), counts, weights


@dataclass(frozen=True)
class Document:
    """One document as the search reads it: a digest of its measures (IRI, policy, themes
    and text), and the measures themselves, fetched only when the digest is new."""

    digest: bytes
    measures: Callable[[], Sequence[MeasureText]]


@dataclass
class Outcome:
    """The ranked lists, and how they were found."""

    ranked: Ranked
    searched: bool  # True: the full search ran; False: the last lists were updated
    iris: list[str]  # the measures', sorted
    identities: np.ndarray  # uint8 (measures, 16): a digest of each measure's IRI and themes


@dataclass
class _State:
    tag: str  # what decides the lists besides the measures (code, k, threshold)
    base: str  # the folder of the base vectors
    documents: dict[bytes, tuple[int, tuple[str, ...]]]  # digest: (how many, their IRIs)
    iris: list[str]  # sorted
    digests: list[bytes]  # of each measure's policy, themes and text
    identities: np.ndarray  # see Outcome
    policies: list[str]
    policy: np.ndarray  # int64: each measure's index in ``policies``
    sets: list[frozenset[str]]
    group: np.ndarray  # int64: each measure's theme set, an index in ``sets``
    base_row: np.ndarray  # int64: each measure's row of the base, -1: in the overlay
    overlay: dict[str, Vector]
    counts: np.ndarray  # int64: measures now holding each base n-gram
    extra: dict[int, int]  # the same for n-grams the base lacks
    total: int
    target: np.ndarray
    text: np.ndarray
    score: np.ndarray  # int64: the combined score of each match, thousandths


@dataclass
class _Base:
    """The vectors of the last full search, row by row (``indptr``, ``ids`` into
    ``keys``, ``tf``, ``weights``), and the same entries n-gram by n-gram (the
    *postings*: ``posting_ptr`` by n-gram id, ``posting_row``, ``posting_weight``), so
    that scoring one source reads only the entries of the n-grams it holds."""

    keys: np.ndarray
    indptr: np.ndarray
    ids: np.ndarray
    tf: np.ndarray
    weights: np.ndarray
    posting_ptr: np.ndarray | None = None
    posting_row: np.ndarray | None = None
    posting_weight: np.ndarray | None = None

    @cached_property
    def entry_row(self) -> np.ndarray:
        """The row of each entry."""
        lengths = np.diff(self.indptr)
        return np.repeat(np.arange(lengths.size, dtype=np.int32), lengths)

    def vector(self, row: int) -> Vector:
        lo, hi = int(self.indptr[row]), int(self.indptr[row + 1])
        return self.keys[self.ids[lo:hi]], self.tf[lo:hi], self.weights[lo:hi]

    def postings(self, grams: np.ndarray) -> np.ndarray:
        """The indices, in the postings, of the entries of n-gram ids ``grams``."""
        assert self.posting_ptr is not None
        return _ranges(self.posting_ptr[grams], self.posting_ptr[grams + 1])


def ranked_lists(
    documents: Sequence[Document],
    folder: Path | None,
    tag: str = "",
    top_k: int = TOP_K,
    threshold: Decimal = THRESHOLD,
    jobs: int = 1,
) -> Outcome:
    """The similarity lists of the measures of ``documents``: updated from the state in
    ``folder`` when it allows, else searched in full; the state is then saved for the
    next build. ``tag`` names the code that ranks (a state made by other code is not
    used). An update fetches the measures of the documents whose digests are new only."""
    tag = f"{tag}\0{top_k}\0{threshold}"
    loaded = _load(folder, tag) if folder is not None and top_k > 0 else None
    if loaded is not None:
        update = _Update(*loaded, documents, top_k, threshold)
        if update.run():
            if folder is not None:
                _save_state(folder, update.state)
            state = update.state
            return Outcome(update.ranked, False, state.iris, state.identities)
    opened = [(d.digest, list(d.measures())) for d in documents]
    items = sorted((m for _, measures in opened for m in measures), key=lambda m: m.iri)
    iris, identities = [m.iri for m in items], _identities(items)
    if not items or top_k <= 0:
        empty = np.zeros((len(items), max(top_k, 0)), dtype=np.int64)
        return Outcome(Ranked(items, empty - 1, empty), True, iris, identities)
    ranked, vectors, rows = rank(items, top_k, threshold, jobs)
    if folder is not None:
        base_row = np.empty(len(items), dtype=np.int64)
        base_row[rows] = np.arange(len(items))
        base = _Base(vectors.keys, vectors.indptr, vectors.ids, vectors.tf, vectors.weights)
        policies: dict[str, int] = {}
        sets: dict[frozenset[str], int] = {}
        held: dict[bytes, tuple[int, tuple[str, ...]]] = {}
        for digest, measures in opened:
            count, _ = held.get(digest, (0, ()))
            held[digest] = (count + 1, tuple(m.iri for m in measures))
        state = _State(
            tag,
            "",
            held,
            iris,
            [_digest(m) for m in items],
            identities,
            [],
            np.array([policies.setdefault(m.policy, len(policies)) for m in items], np.int64),
            [],
            np.array([sets.setdefault(m.themes, len(sets)) for m in items], np.int64),
            base_row,
            {},
            vectors.counts,
            {},
            len(items),
            ranked.target,
            ranked.text,
            _list_scores(ranked),
        )
        state.policies, state.sets = list(policies), list(sets)
        _save(folder, state, base)
    return Outcome(ranked, True, iris, identities)


def documents_of(measures: Sequence[MeasureText]) -> list[Document]:
    """Measures grouped into documents by policy, as a build groups them (for callers
    that hold measures, not documents)."""
    by_policy: dict[str, list[MeasureText]] = {}
    for measure in measures:
        by_policy.setdefault(measure.policy, []).append(measure)
    found = []
    for listed in by_policy.values():
        digest = hashlib.blake2b(b"".join(_digest(m) + m.iri.encode() for m in listed))
        found.append(Document(digest.digest(), lambda listed=listed: listed))
    return found


def _identities(items: Sequence[MeasureText]) -> np.ndarray:
    found = np.empty((len(items), 16), dtype=np.uint8)
    for i, item in enumerate(items):
        found[i] = np.frombuffer(_identity(item), np.uint8)
    return found


def _identity(item: MeasureText) -> bytes:
    """16 bytes that change when a measure's IRI or themes do: all a link reads of its
    two measures besides the rounded cosine."""
    named = "\0".join([item.iri, *sorted(item.themes)]).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(named, digest_size=16).digest()


class _Items(Sequence[MeasureText]):
    """The measures of an update, made on demand from the state's columns (without
    their texts: links read only IRIs, policies and themes)."""

    def __init__(self, state: _State):
        self.state = state

    def __len__(self) -> int:
        return len(self.state.iris)

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        state = self.state
        policy, themes = state.policies[state.policy[i]], state.sets[state.group[i]]
        return MeasureText(state.iris[i], policy, themes, "")


def _list_scores(ranked: Ranked) -> np.ndarray:
    """The combined score (thousandths) of each match of the lists; -1 for an empty slot."""
    score = np.full(ranked.target.shape, -1, dtype=np.int64)
    scores, items = LinkScores(), ranked.items
    for a, slot in zip(*np.nonzero(ranked.target >= 0), strict=True):
        b, text = ranked.target[a, slot], int(ranked.text[a, slot])
        score[a, slot] = _thousandths(scores.parts(items[a].themes, items[b].themes, text)[0])
    return score


def _digest(measure: MeasureText) -> bytes:
    parts = (measure.policy, "\x1f".join(sorted(measure.themes)), measure.text)
    return hashlib.blake2b(
        "\0".join(parts).encode("utf-8", "surrogatepass"), digest_size=16
    ).digest()


class _Update:
    """One update of the lists to new measures (see the module's docstring)."""

    def __init__(
        self,
        state: _State,
        base: _Base,
        documents: Sequence[Document],
        top_k: int,
        threshold: Decimal,
    ):
        self.old, self.base, self.documents = state, base, documents
        # scores are whole thousandths: at least the threshold is at least its ceiling
        self.k, self.threshold = top_k, math.ceil(threshold.scaleb(3))
        self.changed: list[int] = []
        self.texts: dict[int, str] = {}  # the edited and added measures' texts
        self.held: dict[bytes, tuple[int, tuple[str, ...]]] = {}  # documents, for the state
        self.removed: set[str] = set()  # IRIs of the measures of documents gone or changed
        self.ranked: Ranked
        self.state: _State
        # f(J, k/1000) for each Jaccard index J met, and J's row
        self.rows: dict[Decimal, int] = {}
        self.tables = np.zeros((0, 1001), dtype=np.int64)

    # -- which measures and vectors changed ----------------------------------------------

    def _measures(self) -> list[MeasureText] | None:
        """The measures of the documents whose digests are new (None: IRIs repeat, so
        search as the search does); the documents' record for the next state."""
        old = self.old.documents
        now: dict[bytes, list[Document]] = {}
        for document in self.documents:
            now.setdefault(document.digest, []).append(document)
        fresh: list[MeasureText] = []
        for digest, listed in now.items():
            count, iris = old.get(digest, (0, ()))
            if count != len(listed):
                measures = list(listed[0].measures())
                if measures and len(listed) > 1:
                    return None  # the same measures twice
                iris = tuple(m.iri for m in measures)
                fresh += measures
                self.removed |= set(old.get(digest, (0, ()))[1])
            self.held[digest] = (len(listed), iris)
        for digest, (_, iris) in old.items():
            if digest not in now:
                self.removed |= set(iris)
        return fresh

    def run(self) -> bool:
        """Update the lists; False when a fresh search is the way (the caller runs it)."""
        old = self.old
        fresh = self._measures()
        if fresh is None:
            return False
        self.where = where = {iri: j for j, iri in enumerate(old.iris)}
        by_iri = {m.iri: m for m in fresh}
        if len(by_iri) != len(fresh) or any(
            iri in where and iri not in self.removed for iri in by_iri
        ):
            return False  # one IRI twice: search as the search does
        gone = self.removed - by_iri.keys()
        added = sorted(by_iri.keys() - where.keys())
        kept = [iri for iri in old.iris if iri not in gone] if gone else old.iris
        iris = sorted(kept + added) if added else list(kept)
        n = len(iris)
        if bucketed(n) != bucketed(old.total):
            return False
        if gone or added:
            self.old_of_new = np.array([where.get(iri, -1) for iri in iris], dtype=np.int64)
        else:  # the same measures: the same order
            self.old_of_new = np.arange(n, dtype=np.int64)
        self.new_of_old = np.full(len(old.iris), -1, dtype=np.int64)
        known = self.old_of_new >= 0
        self.new_of_old[self.old_of_new[known]] = np.flatnonzero(known)
        self._columns(iris, by_iri)
        edited = sorted(self.texts)
        stale = np.array(
            [where[iri] for iri in gone] + [int(self.old_of_new[i]) for i in edited],
            dtype=np.int64,
        )
        stale = stale[stale >= 0]
        if not edited and not stale.size:
            self._keep()
            return True
        counts, extra = old.counts.copy(), dict(old.extra)
        touched: dict[int, int] = {}  # key -> count before
        for j in stale.tolist():
            self._count(self._old_vector(j)[0], -1, counts, extra, touched)
        for keys in self._keys(edited):
            self._count(keys, 1, counts, extra, touched)
        moved = [
            key
            for key, before in touched.items()
            if bucketed(before) != bucketed(self._count_of(key, counts, extra))
        ]
        self.counts, self.extra = counts, extra
        changed = set(edited) | self._holders(np.array(sorted(moved), dtype=np.int64))
        overlay_left = sum(
            1 for iri in old.overlay if iri in where and self.new_of_old[where[iri]] >= 0
        )
        if len(changed) + overlay_left > MOST_CHANGED:
            return False
        self.changed = sorted(changed)
        self.vectors = self._vectors(self.changed)
        # sources whose lists held a changed or removed measure
        bad = np.zeros(len(old.iris) + 1, dtype=bool)
        bad[stale] = True
        held = self.old_of_new[self.changed]
        bad[held[held >= 0]] = True
        listed = old.target >= 0
        hit = (listed & bad[np.where(listed, old.target, len(old.iris))]).any(axis=1)
        rescored = set(self.new_of_old[np.flatnonzero(hit)].tolist()) - {-1}
        self.rescored = sorted(rescored | changed)
        if len(self.rescored) > max(BLOCK, n // RESCORED_SHARE):
            return False
        self._rank()
        return True

    def _columns(self, iris: list[str], fresh: dict[str, MeasureText]) -> None:
        """Each measure's digest, identity, policy and theme set, in the new order: the
        old state's, but for the measures of new documents; those whose digest differs
        (or that are new) are the edited ones, whose texts are kept."""
        old, take = self.old, np.maximum(self.old_of_new, 0)
        self.iris = iris
        self.digests = [old.digests[j] for j in take.tolist()]
        self.identities = old.identities[take]
        self.policy, self.group = old.policy[take], old.group[take]
        self.policies, self.sets = list(old.policies), list(old.sets)
        policies = {p: i for i, p in enumerate(self.policies)}
        sets = {t: i for i, t in enumerate(self.sets)}
        for iri, measure in fresh.items():
            i, digest = bisect.bisect_left(iris, iri), _digest(measure)
            if self.old_of_new[i] >= 0 and self.digests[i] == digest:
                continue  # in a changed document, but as it was
            self.texts[i], self.digests[i] = measure.text, digest
            self.identities[i] = np.frombuffer(_identity(measure), np.uint8)
            self.policy[i] = policies.setdefault(measure.policy, len(policies))
            self.group[i] = sets.setdefault(measure.themes, len(sets))
        self.policies, self.sets = list(policies), list(sets)

    def _keep(self) -> None:
        """Nothing changed: the lists as they are (in the new indices, the same here)."""
        self.counts, self.extra, self.changed = self.old.counts, self.old.extra, []
        self.vectors = {}
        self.rescored = []
        self._rank()

    def _old_vector(self, j: int) -> Vector:
        row = int(self.old.base_row[j])
        return self.base.vector(row) if row >= 0 else self.old.overlay[self.old.iris[j]]

    def _keys(self, rows: list[int]) -> list[np.ndarray]:
        """The distinct n-gram keys of these measures' texts."""
        found, keys, _ = keyed([self.texts[i] for i in rows])
        ends = np.searchsorted(found, np.arange(1, len(rows) + 1))
        return np.split(keys, ends[:-1])

    def _count(
        self,
        keys: np.ndarray,
        step: int,
        counts: np.ndarray,
        extra: dict[int, int],
        touched: dict[int, int],
    ) -> None:
        for key in keys.tolist():
            if key not in touched:
                touched[key] = self._count_of(key, counts, extra)
            at = self._base_id(key)
            if at >= 0:
                counts[at] += step
            else:
                extra[key] = extra.get(key, 0) + step

    def _base_id(self, key: int) -> int:
        keys = self.base.keys
        at = int(np.searchsorted(keys, key))
        return at if at < keys.size and int(keys[at]) == key else -1

    def _count_of(self, key: int, counts: np.ndarray, extra: dict[int, int]) -> int:
        at = self._base_id(key)
        return int(counts[at]) if at >= 0 else extra.get(key, 0)

    def _holders(self, moved: np.ndarray) -> set[int]:
        """The measures (new indices) holding an n-gram whose bucket moved."""
        if not moved.size:
            return set()
        found: set[int] = set()
        keys = self.base.keys
        at = np.minimum(np.searchsorted(keys, moved), max(keys.size - 1, 0))
        in_base = at[keys[at] == moved] if keys.size else at[:0]
        if in_base.size:
            rows = np.unique(self.base.posting_row[self.base.postings(in_base)])
            owner = np.full(self.base.indptr.size - 1, -1, dtype=np.int64)
            live = np.flatnonzero(self.old.base_row >= 0)
            owner[self.old.base_row[live]] = self.new_of_old[live]
            found |= set(owner[rows].tolist()) - {-1}
        for iri, (held, _, _) in self.old.overlay.items():
            if np.isin(held, moved).any():
                found.add(int(self.new_of_old[self.where[iri]]))
        return found - {-1}

    def _vectors(self, rows: list[int]) -> dict[int, Vector]:
        """The changed measures' vectors, from the exact counts, as the full search makes
        them: the n-grams of an edited measure's text, or those a holder had."""
        if not rows:
            return {}
        edited = [i for i in rows if i in self.texts]
        found, keys, tf = keyed([self.texts[i] for i in edited])
        ends = np.searchsorted(found, np.arange(1, len(edited) + 1))
        spans = np.split(np.arange(keys.size), ends[:-1]) if edited else []
        parts = dict(zip(edited, spans, strict=True))
        grams, counts, row = [], [], []
        for r, i in enumerate(rows):
            if i in parts:
                held = (keys[parts[i]], tf[parts[i]])
            else:
                held = self._old_vector(int(self.old_of_new[i]))[:2]
            grams.append(held[0])
            counts.append(held[1])
            row.append(np.full(held[0].size, r, dtype=np.int64))
        keys, tf = np.concatenate(grams), np.concatenate(counts).astype(np.int64)
        frequency = np.array(
            [self._count_of(key, self.counts, self.extra) for key in keys.tolist()],
            dtype=np.int64,
        )
        idf = inverse_frequencies(frequency, len(self.iris))
        indptr, weights = weigh(np.concatenate(row), tf, idf, len(rows))
        return {
            i: tuple(x[indptr[r] : indptr[r + 1]] for x in (keys, tf.astype(np.int32), weights))
            for r, i in enumerate(rows)
        }

    # -- scores ---------------------------------------------------------------------------

    def _vector(self, i: int) -> Vector:
        """Measure i's vector now."""
        if i in self.vectors:
            return self.vectors[i]
        return self._old_vector(int(self.old_of_new[i]))

    def _row(self, theme: Decimal) -> int:
        """The row of ``tables`` (f(J, k/1000), k = 0 … 1000) for Jaccard index ``theme``."""
        if theme not in self.rows:
            self.rows[theme] = len(self.rows)
            self.tables = np.vstack((self.tables, score_table(theme)))
        return self.rows[theme]

    def _rank(self) -> None:
        """The new lists: rescored sources in full, the others merged with the changed."""
        old, n, k = self.old, len(self.iris), self.k
        target = np.full((n, k), -1, dtype=np.int64)
        text = np.zeros((n, k), dtype=np.int64)
        listed = np.full((n, k), -1, dtype=np.int64)  # the matches' scores
        keep = self.old_of_new >= 0
        remapped = np.where(old.target >= 0, self.new_of_old[np.maximum(old.target, 0)], -1)
        target[keep] = remapped[self.old_of_new[keep]]
        text[keep] = old.text[self.old_of_new[keep]]
        listed[keep] = old.score[self.old_of_new[keep]]
        rescored = np.array(self.rescored, dtype=np.int64)
        changed = np.zeros(n, dtype=bool)
        changed[self.changed] = True
        open_to = np.ones(n, dtype=bool)  # the sources not rescored
        open_to[rescored] = False
        offers: dict[int, list[tuple[int, int, int]]] = {}
        self._layout()
        for lo in range(0, rescored.size, BLOCK):
            block = rescored[lo : lo + BLOCK]
            texts = self._texts(block)
            for x, row in zip(block.tolist(), texts, strict=True):
                score = self._scores(x, row)
                fit = (score >= self.threshold) & (self.policy != self.policy[x])
                fit[x] = False
                chosen = np.flatnonzero(fit)
                order = chosen[np.lexsort((chosen, -score[chosen]))[:k]]
                target[x], text[x], listed[x] = -1, 0, -1
                target[x, : order.size] = order
                text[x, : order.size] = row[order]
                listed[x, : order.size] = score[order]
                if changed[x]:  # offer x to the sources not rescored whose lists it enters
                    b = np.flatnonzero(fit & open_to)
                    last, least = target[b, -1], listed[b, -1]
                    enters = (last < 0) | (score[b] > least) | ((score[b] == least) & (x < last))
                    for source in b[enters].tolist():
                        offers.setdefault(source, []).append(
                            (int(score[source]), x, int(row[source]))
                        )
        for b, offered in offers.items():
            held = [
                (int(s), int(t), int(c))
                for s, t, c in zip(listed[b], target[b], text[b], strict=True)
                if t >= 0
            ]
            best = sorted(held + offered, key=lambda e: (-e[0], e[1]))[:k]
            target[b], text[b], listed[b] = -1, 0, -1
            for slot, (s, t, c) in enumerate(best):
                target[b, slot], text[b, slot], listed[b, slot] = t, c, s
        self.state = self._next(target, text, listed)
        self.ranked = Ranked(_Items(self.state), target, text)

    def _layout(self) -> None:
        """What scoring reads of the theme sets (as bit masks), and where each measure's
        vector is (the base's row, or computed since)."""
        bit = {t: b for b, t in enumerate(sorted({t for s in self.sets for t in s}))}
        self.masks = np.zeros((len(self.sets), max(1, (len(bit) + 63) // 64)), dtype=np.uint64)
        for g, themes in enumerate(self.sets):
            for t in themes:
                self.masks[g, bit[t] // 64] |= np.uint64(1 << (bit[t] % 64))
        self.sizes = np.array([len(s) for s in self.sets], dtype=np.int64)
        row = np.full(len(self.iris), -1, dtype=np.int64)
        keep = self.old_of_new >= 0
        row[keep] = self.old.base_row[self.old_of_new[keep]]
        row[list(self.vectors)] = -1
        # by base row: the measure whose vector it is now; n (counted apart) for none
        self.counted = np.full(self.base.indptr.size - 1, len(self.iris), dtype=np.int64)
        self.counted[row[row >= 0]] = np.flatnonzero(row >= 0)
        self.side = np.flatnonzero(row < 0)  # measures whose vector is not the base's

    def _scores(self, x: int, text: np.ndarray) -> np.ndarray:
        """Source x's score against every measure, from its rounded cosines."""
        g = int(self.group[x])
        shared = _bit_count(self.masks & self.masks[g]).sum(axis=1)
        union = self.sizes + self.sizes[g] - shared
        index = np.zeros(len(self.sets), dtype=np.int64)
        for pair in set(zip(shared.tolist(), union.tolist(), strict=True)):
            at = (shared == pair[0]) & (union == pair[1])
            index[at] = self._row(theme_score(*pair))
        return self.tables[index[self.group], text]

    def _texts(self, block: np.ndarray) -> list[np.ndarray]:
        """The rounded cosines (thousandths) of each source of ``block`` with every
        measure: in floating point, and in the formula's order where a rounding tie is
        within the error bound."""
        n, base = len(self.iris), self.base
        vectors = [self._vector(x) for x in block.tolist()]
        union = np.unique(np.concatenate([keys for keys, _, _ in vectors]))
        dense = np.zeros((block.size, union.size + 1), dtype=np.float64)
        for r, (keys, _, weights) in enumerate(vectors):
            dense[r, np.searchsorted(union, keys)] = weights
        dots = np.zeros((block.size, n), dtype=np.float64)
        if base.keys.size:  # the measures whose vector is the base's
            for r, (keys, _, weights) in enumerate(vectors):
                dots[r] += self._base_dots(keys, weights)
        if self.side.size:  # the others: the overlay and the changed
            held = [self._vector(i) for i in self.side.tolist()]
            keys = np.concatenate([h[0] for h in held])
            weights = np.concatenate([h[2] for h in held])
            who = np.repeat(self.side, [h[0].size for h in held])
            at = np.minimum(np.searchsorted(union, keys), max(union.size - 1, 0))
            columns = np.where(union[at] == keys, at, union.size) if union.size else at
            for r in range(block.size):
                dots[r] += np.bincount(who, dense[r, columns] * weights, minlength=n)
        texts = []
        for r, (keys, _, weights) in enumerate(vectors):
            epsilon = _Search.epsilon(int(keys.size))
            high = rounded_bound(dots[r], epsilon, 1)
            low = rounded_bound(dots[r], epsilon, -1)
            for i in np.flatnonzero(low != high).tolist():  # a rounding tie within reach
                other_keys, _, other_weights = self._vector(i)
                high[i] = exact_thousandths(exact_dot(keys, weights, other_keys, other_weights))
            texts.append(high)
        return texts

    def _base_dots(self, keys: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """One source's dot products with every measure whose vector is the base's, read
        from the postings of the n-grams it holds. Common n-grams are held by half the
        measures, so this still reads millions of entries, but a quarter of what a pass
        over a block's n-grams read; each n-gram's entries are one slice of the files."""
        base, n = self.base, len(self.iris)
        assert base.posting_ptr is not None and base.posting_row is not None
        assert base.posting_weight is not None
        at = np.minimum(np.searchsorted(base.keys, keys), base.keys.size - 1)
        found = np.flatnonzero(base.keys[at] == keys)
        if not found.size:
            return np.zeros(n, dtype=np.float64)
        starts = base.posting_ptr[at[found]].tolist()
        ends = base.posting_ptr[at[found] + 1].tolist()
        spans = list(zip(starts, ends, weights[found].tolist(), strict=True))
        rows = np.concatenate([base.posting_row[lo:hi] for lo, hi, _ in spans])
        products = np.concatenate([base.posting_weight[lo:hi] * w for lo, hi, w in spans])
        return np.bincount(self.counted[rows], products, minlength=n + 1)[:n]

    def _next(self, target: np.ndarray, text: np.ndarray, score: np.ndarray) -> _State:
        old = self.old
        base_row = np.full(len(self.iris), -1, dtype=np.int64)
        keep = self.old_of_new >= 0
        base_row[keep] = old.base_row[self.old_of_new[keep]]
        base_row[self.changed] = -1
        overlay = {}
        for i in np.flatnonzero(base_row < 0).tolist():
            overlay[self.iris[i]] = self._vector(i)
        return _State(
            old.tag,
            old.base,
            self.held,
            self.iris,
            self.digests,
            self.identities,
            self.policies,
            self.policy,
            self.sets,
            self.group,
            base_row,
            overlay,
            self.counts,
            {key: c for key, c in self.extra.items() if c},
            len(self.iris),
            target,
            text,
            score,
        )


# -- the state on disk --------------------------------------------------------------------


def _load(folder: Path, tag: str) -> tuple[_State, _Base] | None:
    try:
        with (folder / _STATE).open("rb") as handle:
            version, state = pickle.load(handle)
        if version != _VERSION or not isinstance(state, _State) or state.tag != tag:
            return None
        where = folder / state.base
        arrays = {name: np.load(where / f"{name}.npy", mmap_mode="r") for name in _BASE_ARRAYS}
    except Exception:  # no state, or one this code cannot read: search afresh
        return None
    return state, _Base(**arrays)


def _save(folder: Path, state: _State, base: _Base) -> None:
    """A new base and the state naming it; older bases are then removed."""
    folder.mkdir(parents=True, exist_ok=True)
    made = Path(tempfile.mkdtemp(dir=folder, prefix="base-"))
    for name in _VECTOR_ARRAYS:
        np.save(made / f"{name}.npy", np.ascontiguousarray(getattr(base, name)))
    _save_postings(made, base)
    state.base = made.name
    _save_state(folder, state)
    for other in folder.glob("base-*"):
        if other.name != made.name:
            shutil.rmtree(other, ignore_errors=True)


def _save_postings(folder: Path, base: _Base) -> None:
    """The base's entries n-gram by n-gram, in row order within each (see ``_Base``).

    Made a run of n-grams at a time, straight into the files, so that no full copy of
    the entries is held besides the vectors."""
    counts = np.bincount(base.ids, minlength=base.keys.size)
    ptr = np.zeros(base.keys.size + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    np.save(folder / "posting_ptr.npy", ptr)
    total = int(ptr[-1])
    rows = np.lib.format.open_memmap(folder / "posting_row.npy", "w+", np.int32, (total,))
    weights = np.lib.format.open_memmap(folder / "posting_weight.npy", "w+", np.float64, (total,))
    cuts = np.searchsorted(ptr, np.linspace(0, total, _POSTING_RUNS + 1)[1:-1])
    for lo, hi in zip([0, *cuts.tolist()], [*cuts.tolist(), base.keys.size], strict=True):
        if lo >= hi:
            continue
        held = np.flatnonzero((base.ids >= lo) & (base.ids < hi))
        held = held[np.argsort(base.ids[held], kind="stable")]  # by n-gram, rows in order
        rows[ptr[lo] : ptr[hi]] = base.entry_row[held]
        weights[ptr[lo] : ptr[hi]] = base.weights[held]
    rows.flush()
    weights.flush()
    del rows, weights


def _save_state(folder: Path, state: _State) -> None:
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-state-")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            pickle.dump((_VERSION, state), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, folder / _STATE)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
