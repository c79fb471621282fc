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

The state lives in the build cache folder (``search/``): the vectors of the last full
search (the *base*, numpy files, read as memory maps), the vectors computed since (the
*overlay*), the exact counts and the ranked lists. It is written to a new name and
renamed, so a killed build leaves the last good state. When the number of measures
moves to another bucket, or too many vectors changed, the full search runs again and
makes a new base.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from policygraph.similarity import (
    _TIE,
    THRESHOLD,
    TOP_K,
    LinkScores,
    MeasureText,
    Ranked,
    _bit_count,
    _combined,
    _round,
    _Search,
    _thousandths,
    bucketed,
    inverse_frequencies,
    keyed,
    rank,
    sequential_dot,
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
_BASE_ARRAYS = ("keys", "indptr", "ids", "weights")
_VERSION = 2

Vector = tuple[np.ndarray, np.ndarray]  # n-gram keys, ascending, and their weights


@dataclass
class Outcome:
    """The ranked lists, and how they were found."""

    ranked: Ranked
    searched: bool  # True: the full search ran; False: the last lists were updated
    changed: int  # vectors computed (updated) or measures searched


@dataclass
class _State:
    tag: str  # what decides the lists besides the measures (code, k, threshold)
    base: str  # the folder of the base vectors
    iris: list[str]  # sorted
    digests: list[bytes]  # of each measure's policy, themes and text
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
    keys: np.ndarray
    indptr: np.ndarray
    ids: np.ndarray
    weights: np.ndarray

    def entry_row(self) -> np.ndarray:
        """The row of each entry."""
        if not hasattr(self, "_entry_row"):
            lengths = np.diff(self.indptr)
            self._entry_row = np.repeat(np.arange(lengths.size, dtype=np.int32), lengths)
        return self._entry_row

    def vector(self, row: int) -> Vector:
        lo, hi = int(self.indptr[row]), int(self.indptr[row + 1])
        return self.keys[self.ids[lo:hi]], self.weights[lo:hi]


def ranked_lists(
    measures: list[MeasureText],
    folder: Path | None,
    tag: str = "",
    top_k: int = TOP_K,
    threshold: Decimal = THRESHOLD,
    jobs: int = 1,
) -> Outcome:
    """The similarity lists of ``measures``: updated from the state in ``folder`` when
    it allows, else searched in full; the state is then saved for the next build.
    ``tag`` names the code that ranks (a state made by other code is not used)."""
    items = sorted(measures, key=lambda m: m.iri)
    tag = f"{tag}\0{top_k}\0{threshold}"
    digests = [_digest(m) for m in items]
    loaded = _load(folder, tag) if folder is not None and items and top_k > 0 else None
    if loaded is not None:
        state, base = loaded
        update = _Update(state, base, items, digests, top_k, threshold)
        if update.run():
            if folder is not None:
                _save_state(folder, update.state)
            return Outcome(update.ranked, False, len(update.changed))
    if not items or top_k <= 0:
        empty = np.zeros((len(items), max(top_k, 0)), dtype=np.int64)
        return Outcome(Ranked(items, empty - 1, empty), True, len(items))
    ranked, vectors, rows = rank(items, top_k, threshold, jobs)
    if folder is not None:
        base_row = np.empty(len(items), dtype=np.int64)
        base_row[rows] = np.arange(len(items))
        base = _Base(vectors.keys, vectors.indptr, vectors.ids, vectors.weights)
        state = _State(
            tag,
            "",
            [m.iri for m in items],
            digests,
            base_row,
            {},
            vectors.counts,
            {},
            len(items),
            ranked.target,
            ranked.text,
            _list_scores(ranked),
        )
        _save(folder, state, base)
    return Outcome(ranked, True, len(items))


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
        items: list[MeasureText],
        digests: list[bytes],
        top_k: int,
        threshold: Decimal,
    ):
        self.old, self.base, self.items, self.digests = state, base, items, digests
        # scores are whole thousandths: at least the threshold is at least its ceiling
        self.k, self.threshold = top_k, math.ceil(threshold.scaleb(3))
        self.changed: list[int] = []
        self.ranked: Ranked
        self.state: _State
        # f(J, k/1000) for each Jaccard index J met, and J's row
        self.rows: dict[Decimal, int] = {}
        self.tables = np.zeros((0, 1001), dtype=np.int64)

    # -- which vectors changed ------------------------------------------------------------

    def run(self) -> bool:
        """Update the lists; False when a fresh search is the way (the caller runs it)."""
        old, n = self.old, len(self.items)
        if bucketed(n) != bucketed(old.total):
            return False
        if any(a.iri == b.iri for a, b in zip(self.items, self.items[1:], strict=False)):
            return False  # one IRI twice: the lists are by IRI, so search as it searches
        self.where = where = {iri: j for j, iri in enumerate(old.iris)}
        self.new_of_old = np.full(len(old.iris), -1, dtype=np.int64)
        self.old_of_new = np.full(n, -1, dtype=np.int64)
        edited = []
        for i, (item, digest) in enumerate(zip(self.items, self.digests, strict=True)):
            j = where.get(item.iri)
            if j is not None:
                self.new_of_old[j], self.old_of_new[i] = i, j
            if j is None or old.digests[j] != digest:
                edited.append(i)
        gone = np.flatnonzero(self.new_of_old < 0)  # removed measures
        stale = np.concatenate((gone, self.old_of_new[edited])).astype(np.int64)
        stale = stale[stale >= 0]
        if not edited and not gone.size:
            self._keep()
            return True
        counts, extra = old.counts.copy(), dict(old.extra)
        touched: dict[int, int] = {}  # key -> count before
        for j in stale.tolist():
            self._count(self._old_vector(j)[0], -1, counts, extra, touched)
        new_keys = self._keys(edited)
        for keys in new_keys:
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
        kept = old.target >= 0
        hit = (kept & bad[np.where(kept, old.target, len(old.iris))]).any(axis=1)
        rescored = set(self.new_of_old[np.flatnonzero(hit)].tolist()) - {-1}
        self.rescored = sorted(rescored | changed)
        if len(self.rescored) > max(BLOCK, n // RESCORED_SHARE):
            return False
        self._rank()
        return True

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
        found, keys, _ = keyed([self.items[i].text for i in rows])
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
            entries = np.flatnonzero(np.isin(self.base.ids, in_base))
            rows = np.unique(self.base.entry_row()[entries])
            owner = np.full(self.base.indptr.size - 1, -1, dtype=np.int64)
            live = np.flatnonzero(self.old.base_row >= 0)
            owner[self.old.base_row[live]] = self.new_of_old[live]
            found |= set(owner[rows].tolist()) - {-1}
        for iri, (held, _) in self.old.overlay.items():
            if np.isin(held, moved).any():
                found.add(int(self.new_of_old[self.where[iri]]))
        return found - {-1}

    def _vectors(self, rows: list[int]) -> dict[int, Vector]:
        """The changed measures' vectors, from the exact counts, as the full search makes
        them."""
        if not rows:
            return {}
        found, keys, tf = keyed([self.items[i].text for i in rows])
        counts = np.array(
            [self._count_of(key, self.counts, self.extra) for key in keys.tolist()],
            dtype=np.int64,
        )
        indptr, weights = weigh(found, tf, inverse_frequencies(counts, len(self.items)), len(rows))
        return {
            i: (keys[indptr[r] : indptr[r + 1]], weights[indptr[r] : indptr[r + 1]])
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
            table = [_thousandths(_combined(theme, Decimal(k).scaleb(-3))) for k in range(1001)]
            self.rows[theme] = len(self.rows)
            self.tables = np.vstack((self.tables, np.array(table, dtype=np.int64)))
        return self.rows[theme]

    def _rank(self) -> None:
        """The new lists: rescored sources in full, the others merged with the changed."""
        old, n, k = self.old, len(self.items), self.k
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
        self.ranked = Ranked(self.items, target, text)
        self.state = self._next(target, text, listed)

    def _layout(self) -> None:
        """What scoring reads of every measure: its theme set, its policy, and where its
        vector is (the base's row, or computed since)."""
        sets: dict[frozenset[str], int] = {}
        self.group = np.array(
            [sets.setdefault(m.themes, len(sets)) for m in self.items], dtype=np.int64
        )
        self.sets = list(sets)
        bit = {t: b for b, t in enumerate(sorted({t for s in self.sets for t in s}))}
        self.masks = np.zeros((len(self.sets), max(1, (len(bit) + 63) // 64)), dtype=np.uint64)
        for g, themes in enumerate(self.sets):
            for t in themes:
                self.masks[g, bit[t] // 64] |= np.uint64(1 << (bit[t] % 64))
        self.sizes = np.array([len(s) for s in self.sets], dtype=np.int64)
        policies: dict[str, int] = {}
        self.policy = np.array(
            [policies.setdefault(m.policy, len(policies)) for m in self.items], dtype=np.int64
        )
        row = np.full(len(self.items), -1, dtype=np.int64)
        keep = self.old_of_new >= 0
        row[keep] = self.old.base_row[self.old_of_new[keep]]
        row[list(self.vectors)] = -1
        self.owner = np.full(self.base.indptr.size - 1, -1, dtype=np.int64)  # by base row
        self.owner[row[row >= 0]] = np.flatnonzero(row >= 0)
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
        n, base = len(self.items), self.base
        vectors = [self._vector(x) for x in block.tolist()]
        union = np.unique(np.concatenate([keys for keys, _ in vectors]))
        dense = np.zeros((block.size, union.size + 1), dtype=np.float64)
        for r, (keys, weights) in enumerate(vectors):
            dense[r, np.searchsorted(union, keys)] = weights
        dots = np.zeros((block.size, n), dtype=np.float64)
        if base.keys.size and union.size:  # the measures whose vector is the base's
            at = np.minimum(np.searchsorted(base.keys, union), base.keys.size - 1)
            found = base.keys[at] == union
            column = np.full(base.keys.size, -1, dtype=np.int64)
            column[at[found]] = np.flatnonzero(found)
            entries = np.flatnonzero(column[base.ids] >= 0)
            who = self.owner[base.entry_row()[entries]]
            entries, who = entries[who >= 0], who[who >= 0]
            columns, weights = column[base.ids[entries]], base.weights[entries]
            for r in range(block.size):
                dots[r] += np.bincount(who, dense[r, columns] * weights, minlength=n)
        if self.side.size:  # the others: the overlay and the changed
            held = [self._vector(i) for i in self.side.tolist()]
            keys = np.concatenate([h[0] for h in held])
            weights = np.concatenate([h[1] for h in held])
            who = np.repeat(self.side, [h[0].size for h in held])
            at = np.minimum(np.searchsorted(union, keys), max(union.size - 1, 0))
            columns = np.where(union[at] == keys, at, union.size) if union.size else at
            for r in range(block.size):
                dots[r] += np.bincount(who, dense[r, columns] * weights, minlength=n)
        texts = []
        for r, (keys, weights) in enumerate(vectors):
            epsilon = _Search.epsilon(int(keys.size))
            near = dots[r]
            high = np.floor(np.minimum(near + epsilon, 1.0) * 1000 + 0.5 + _TIE).astype(np.int64)
            low = np.floor(np.minimum(near - epsilon, 1.0) * 1000 + 0.5 - _TIE).astype(np.int64)
            for i in np.flatnonzero(low != high).tolist():
                other_keys, other_weights = self._vector(i)
                _, in_a, in_b = np.intersect1d(
                    keys, other_keys, assume_unique=True, return_indices=True
                )
                exact = sequential_dot(weights[in_a], other_weights[in_b])
                high[i] = _thousandths(_round(min(exact, 1.0)))
            texts.append(high)
        return texts

    def _next(self, target: np.ndarray, text: np.ndarray, score: np.ndarray) -> _State:
        old = self.old
        base_row = np.full(len(self.items), -1, dtype=np.int64)
        keep = self.old_of_new >= 0
        base_row[keep] = old.base_row[self.old_of_new[keep]]
        base_row[self.changed] = -1
        overlay = {}
        for i in np.flatnonzero(base_row < 0).tolist():
            overlay[self.items[i].iri] = self._vector(i)
        return _State(
            old.tag,
            old.base,
            [m.iri for m in self.items],
            self.digests,
            base_row,
            overlay,
            self.counts,
            {key: c for key, c in self.extra.items() if c},
            len(self.items),
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
    for name in _BASE_ARRAYS:
        np.save(made / f"{name}.npy", np.ascontiguousarray(getattr(base, name)))
    state.base = made.name
    _save_state(folder, state)
    for other in folder.glob("base-*"):
        if other.name != made.name:
            shutil.rmtree(other, ignore_errors=True)


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
