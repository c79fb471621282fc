"""Finding the labels of SKOS concepts in text: the one matching rule all classifiers share.

English labels match case-insensitively as whole words, also in the plural (+s/+es)
and with hyphens and spaces treated alike; Chinese labels match as substrings. Where
matches overlap, the longer one wins, so "quality infrastructure" is not also read
as a bare "infrastructure".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from policygraph.vocab import Concept


@dataclass(frozen=True)
class LabelMatch:
    """One occurrence of a concept's label in a text."""

    concept: Concept
    label: str
    language: str
    start: int
    end: int
    text: str  # the words as they stand in the text


@cache
def _pattern(label: str, language: str) -> re.Pattern[str]:
    if language == "zh":
        return re.compile(re.escape(label))
    words = [re.escape(w) for w in re.split(r"[\s\-]+", label.strip()) if w]
    body = r"[\s\-]+".join(words)
    return re.compile(rf"(?<![\w\-]){body}(?:s|es)?(?![\w\-])", re.IGNORECASE)


def _script_view(text: str, language: str) -> str:
    """Chinese text in simplified characters, offset for offset, as the labels are written."""
    if language != "zh":
        return text
    from policygraph.parse_zh import simplified

    return simplified(text)


def find_labels(text: str, concepts: tuple[Concept, ...], language: str) -> list[LabelMatch]:
    """Non-overlapping label matches in ``text``, in text order (longest match wins overlaps)."""
    candidates = []
    view = _script_view(text, language)
    for concept in concepts:
        for label in concept.labels.get(language, ()):
            for m in _pattern(label, language).finditer(view):
                candidates.append(
                    LabelMatch(
                        concept, label, language, m.start(), m.end(), text[m.start() : m.end()]
                    )
                )
    chosen: list[LabelMatch] = []
    for match in sorted(candidates, key=lambda c: (-(c.end - c.start), c.start, c.concept.iri)):
        if all(match.end <= other.start or match.start >= other.end for other in chosen):
            chosen.append(match)
    return sorted(chosen, key=lambda c: c.start)
