"""Updating the similarity lists after edits gives what a fresh search gives.

Each test keeps a state folder, edits the measures at random (wording, themes, removed
and added measures), and after every edit compares the updated lists with a search run
from nothing on the same measures, and with the reference that scores every pair.
"""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from policygraph import similarity, similarity_update
from policygraph.similarity import MeasureText, similar_measures
from policygraph.similarity_update import documents_of, ranked_lists
from tests.test_similarity import THEMES, WORDS, corpus, reference


@pytest.fixture(autouse=True)
def _update_whenever_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    """On corpora this small a search costs little, so the update gives way to it after
    a few rescored sources; here it updates whenever it can, to be tested."""
    monkeypatch.setattr(similarity_update, "RESCORED_SHARE", 1)


def _edit(rng: random.Random, measures: list[MeasureText], serial: int) -> list[MeasureText]:
    """One random edit: a measure reworded, re-themed, removed or added, or a few at once."""
    measures = list(measures)
    for _ in range(rng.choice([1, 1, 1, 2, 5])):
        kind = rng.choice(["words", "words", "number", "themes", "remove", "add"])
        at = rng.randrange(len(measures))
        if kind == "words":
            words = rng.choices(WORDS, k=rng.choice([0, 1, 2, 3, 5]))
            measures[at] = replace(measures[at], text=" ".join(words))
        elif kind == "number":
            measures[at] = replace(measures[at], text=f"{measures[at].text} {serial}")
        elif kind == "themes":
            themes = frozenset(rng.sample(THEMES, rng.choice([0, 1, 2, 3])))
            measures[at] = replace(measures[at], themes=themes)
        elif kind == "remove" and len(measures) > 10:
            measures.pop(at)
        else:
            text = " ".join(rng.choices(WORDS, k=3))
            iri = f"https://example.org/m/new-{serial}-{at}"
            measures.append(MeasureText(iri, measures[at].policy, measures[at].themes, text))
    return measures


@pytest.mark.parametrize("seed", range(4))
def test_updated_lists_equal_a_fresh_search_after_each_edit(tmp_path: Path, seed: int):
    rng = random.Random(seed)
    measures = corpus(seed, 120 + 40 * seed)
    first = ranked_lists(documents_of(measures), tmp_path)
    assert first.searched
    updated = 0
    for serial in range(25):
        measures = _edit(rng, measures, serial)
        outcome = ranked_lists(documents_of(measures), tmp_path)
        updated += not outcome.searched
        assert outcome.ranked.links() == similar_measures(measures), serial
    assert updated >= 15, "most edits should update the lists, not search again"


def test_updates_agree_with_scoring_every_pair(tmp_path: Path):
    rng = random.Random(7)
    measures = corpus(7, 90)
    ranked_lists(documents_of(measures), tmp_path)
    for serial in range(10):
        measures = _edit(rng, measures, serial)
        found = ranked_lists(documents_of(measures), tmp_path).ranked.links()
        assert found == reference(measures, 3, similarity.THRESHOLD)


def test_ties_near_a_rounding_edge_are_summed_as_the_formula_sums_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # A huge error bound makes every cosine "near a tie", so each is summed exactly.
    monkeypatch.setattr(similarity._Search, "epsilon", staticmethod(lambda terms: 0.01))
    rng = random.Random(3)
    measures = corpus(3, 80)
    ranked_lists(documents_of(measures), tmp_path)
    for serial in range(6):
        measures = _edit(rng, measures, serial)
        assert ranked_lists(documents_of(measures), tmp_path).ranked.links() == reference(
            measures, 3, similarity.THRESHOLD
        )


def test_other_slots_and_thresholds_keep_their_own_state(tmp_path: Path):
    rng = random.Random(5)
    measures = corpus(5, 100)
    for top_k, threshold in [(1, Decimal("0.6")), (4, Decimal("0.05"))]:
        ranked_lists(documents_of(measures), tmp_path, top_k=top_k, threshold=threshold)
        edited = _edit(rng, measures, 1)
        found = ranked_lists(documents_of(edited), tmp_path, top_k=top_k, threshold=threshold)
        assert found.ranked.links() == similar_measures(edited, top_k, threshold)


def test_too_many_changes_search_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    measures = corpus(2, 100)
    ranked_lists(documents_of(measures), tmp_path)
    monkeypatch.setattr(similarity_update, "MOST_CHANGED", 0)
    edited = [replace(m, text=m.text + " x") for m in measures]
    outcome = ranked_lists(documents_of(edited), tmp_path)
    assert outcome.searched
    assert outcome.ranked.links() == similar_measures(edited)


def test_an_unreadable_state_means_a_fresh_search(tmp_path: Path):
    measures = corpus(4, 60)
    ranked_lists(documents_of(measures), tmp_path)
    (tmp_path / "state.pickle").write_bytes(b"not a state")
    outcome = ranked_lists(documents_of(measures), tmp_path)
    assert outcome.searched
    assert outcome.ranked.links() == similar_measures(measures)
    assert not ranked_lists(
        documents_of(measures), tmp_path
    ).searched  # the state was written again


def test_a_state_whose_vectors_are_gone_means_a_fresh_search(tmp_path: Path):
    measures = corpus(6, 60)
    ranked_lists(documents_of(measures), tmp_path)
    for base in tmp_path.glob("base-*"):
        for file in base.iterdir():
            file.unlink()
    edited = [replace(measures[0], text=measures[0].text + " grid"), *measures[1:]]
    outcome = ranked_lists(documents_of(edited), tmp_path)
    assert outcome.searched
    assert outcome.ranked.links() == similar_measures(edited)
    assert len(list(tmp_path.glob("base-*"))) == 1  # the new search's vectors only
