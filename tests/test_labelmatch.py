"""Label matching: the indexed search finds exactly what running every label's pattern finds.

The reference below is the matching rule written out plainly: every label of every
concept compiled to its pattern and run over the whole text, then the longest match
kept where matches overlap. The texts mix the vocabulary's own labels, changed in case,
spacing and hyphenation, with characters that ``re`` matches to ASCII letters when case
is ignored (Kelvin sign, long s, dotted and dotless i), plurals, underscores and
punctuation, so that a filter that skipped a label it should not would show.
"""

from __future__ import annotations

import functools
import random
import re

import pytest

from policygraph.labelmatch import find_labels
from policygraph.vocab import Concept, organizations, provision_kinds, themes

ODD = ["K", "\u212a", "ſ", "ı", "İ", "_", "-", " ", "\u00a0", "s", "es", "S", "、", "“", ".", "9"]


@functools.cache
def pattern(label: str, language: str) -> re.Pattern[str]:
    if language == "zh":
        return re.compile(re.escape(label))
    words = [re.escape(w) for w in re.split(r"[\s\-]+", label.strip()) if w]
    body = r"[\s\-]+".join(words)
    return re.compile(rf"(?<![\w\-]){body}(?:s|es)?(?![\w\-])", re.IGNORECASE)


def reference(text: str, concepts: tuple[Concept, ...], language: str) -> list[tuple]:
    from policygraph.labelmatch import _script_view

    view = _script_view(text, language)
    found = []
    for concept in concepts:
        for label in concept.labels.get(language, ()):
            for m in pattern(label, language).finditer(view):
                found.append((concept, label, m.start(), m.end()))
    chosen: list[tuple] = []
    for match in sorted(found, key=lambda c: (-(c[3] - c[2]), c[2], c[0].iri)):
        if all(match[3] <= other[2] or match[2] >= other[3] for other in chosen):
            chosen.append(match)
    return [
        (c.iri, label, start, end, text[start:end])
        for c, label, start, end in sorted(chosen, key=lambda c: c[2])
    ]


def mangle(label: str, rng: random.Random) -> str:
    label = "".join(rng.choice([c, c.upper(), c.lower()]) for c in label)
    if rng.random() < 0.3:
        label = label.replace(" ", rng.choice(["-", "  ", "\u00a0", " - "]))
    if rng.random() < 0.3:
        label = label.replace("s", "ſ").replace("k", "\u212a").replace("i", rng.choice("ıİ"))
    return label


@pytest.mark.parametrize("language", ["en", "zh"])
def test_indexed_search_finds_what_every_pattern_finds(language: str):
    rng = random.Random(7)
    schemes = [themes(), organizations(), provision_kinds()]
    compared = 0
    for _ in range(300):
        scheme = rng.choice(schemes)
        labels = [label for c in scheme for label in c.labels.get(language, ())]
        parts = []
        for _ in range(rng.randint(1, 6)):
            if rng.random() < 0.5:
                parts.append(mangle(rng.choice(labels), rng))
            else:
                parts.append("".join(rng.choices(ODD, k=rng.randint(0, 3))))
        text = "".join(parts)
        found = [
            (m.concept.iri, m.label, m.start, m.end, m.text)
            for m in find_labels(text, scheme, language)
        ]
        assert found == reference(text, scheme, language), text
        compared += len(found)
    assert compared > 50  # the texts do name labels


def test_labels_without_an_ascii_word_are_still_found():
    concept = Concept("x:1", "1", {"en": ("Ære", "Kelvin", "R&D", "e.g. pilot")})
    text = "ære, KELVINS, r&d and E.G.  pilots; \u212aelvin"
    expected = reference(text, (concept,), "en")
    assert [m.label for m in find_labels(text, (concept,), "en")] == [e[1] for e in expected]
    assert len(expected) == 5
