"""Finding the labels of SKOS concepts in text: the one matching rule all classifiers share.

English labels match case-insensitively as whole words, also in the plural (+s/+es)
and with hyphens and spaces treated alike; Chinese labels match as substrings. Where
matches overlap, the longer one wins, so "quality infrastructure" is not also read
as a bare "infrastructure".

A vocabulary has hundreds of labels and a build thousands of texts, so running every
label's pattern over every text dominated the build. Each label is therefore indexed
under *triggers*: tokens of which every text the label's pattern matches has one (see
:func:`_triggers` and :func:`_tokens`). A text runs only the patterns of the labels
its tokens trigger, in vocabulary order. A trigger only skips patterns that cannot
match, so the matches are exactly those of running every pattern.
"""

from __future__ import annotations

import re
import string
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


_WORD_SEPARATOR = re.compile(r"[\s\-]+")
_ASCII_TOKEN = re.compile(r"[a-z0-9]+")
_LOWER_ASCII = {ord(c): c.lower() for c in string.ascii_uppercase}


def _words(label: str) -> list[str]:
    return [w for w in _WORD_SEPARATOR.split(label.strip()) if w]


@cache
def _pattern(label: str, language: str) -> re.Pattern[str]:
    if language == "zh":
        return re.compile(re.escape(label))
    body = r"[\s\-]+".join(re.escape(w) for w in _words(label))
    return re.compile(rf"(?<![\w\-]){body}(?:s|es)?(?![\w\-])", re.IGNORECASE)


@cache
def _ascii_twin(char: str) -> str:
    """The ASCII letter or digit a non-ASCII character equals under ``re.IGNORECASE``.

    A few do (Kelvin sign K for k, long s ſ for s, dotless ı and dotted İ for i; all
    letters, so ``\\w``); asking ``re`` itself, rather than listing them, keeps the
    tokens true to the patterns they stand in for. Any other character is its own.
    """
    for twin in string.ascii_lowercase + string.digits:
        if re.fullmatch(twin, char, re.IGNORECASE):
            return twin
    return char


def _tokens(view: str, language: str) -> set[str]:
    """What triggers are looked up by: for Chinese the characters of the text; for English
    its maximal runs of ASCII letters and digits once folded, i.e. ASCII letters in lower
    case and each non-ASCII character replaced by its :func:`_ascii_twin`.
    """
    if language == "zh":
        return set(view)
    if view.isascii():
        folded = view.lower()
    else:
        table = {ord(c): _ascii_twin(c) for c in set(view) if not c.isascii()}
        folded = view.translate(_LOWER_ASCII | table)
    return set(_ASCII_TOKEN.findall(folded))


def _triggers(label: str, language: str) -> tuple[str, ...]:
    """Tokens one of which every text matching the label has; () when none is known.

    A Chinese label is a substring of the text, so its first character is a token of it.
    An English match holds each word of the label letter for letter up to case, each
    word bounded by the match's edges — after a character that is not ``\\w`` or ``-``,
    before one such, or after ``s``/``es`` (the plural) — or by the spaces and hyphens
    between words. None of those bounds folds to an ASCII letter or digit, and the
    word's own letters fold to the word in lower case, so a word made of ASCII letters
    and digits stands in the text's tokens as itself, +s or +es. The longest such word
    (the least common, as a rule) is taken; a label with none is searched in every text.
    """
    if language == "zh":
        return (label[0],) if label else ()
    words = [w.lower() for w in _words(label) if w.isascii() and w.isalnum()]
    if not words:
        return ()
    word = max(words, key=len)
    return (word, word + "s", word + "es")


@dataclass(frozen=True)
class _Label:
    """One label of one concept, ready to search for."""

    concept: Concept
    label: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class _Index:
    """A vocabulary's labels in one language, in vocabulary order, with their triggers."""

    labels: tuple[_Label, ...]
    by_trigger: dict[str, tuple[int, ...]]
    always: frozenset[int]  # labels without a trigger

    def candidates(self, tokens: set[str]) -> list[_Label]:
        """The labels a text with ``tokens`` may match, in vocabulary order."""
        found = set(self.always)
        for token in tokens:
            found.update(self.by_trigger.get(token, ()))
        return [self.labels[i] for i in sorted(found)]


@cache
def _build_index(concepts: tuple[Concept, ...], language: str) -> _Index:
    labels: list[_Label] = []
    by_trigger: dict[str, list[int]] = {}
    always: set[int] = set()
    for concept in concepts:
        for label in concept.labels.get(language, ()):
            triggers = _triggers(label, language)
            for trigger in triggers:
                by_trigger.setdefault(trigger, []).append(len(labels))
            if not triggers:
                always.add(len(labels))
            labels.append(_Label(concept, label, _pattern(label, language)))
    return _Index(
        tuple(labels), {t: tuple(ids) for t, ids in by_trigger.items()}, frozenset(always)
    )


# The vocabularies are cached tuples, passed again and again: found by identity first,
# since hashing a tuple of concepts by value costs as much as a search of a short text.
_BY_IDENTITY: dict[tuple[int, str], tuple[tuple[Concept, ...], _Index]] = {}


def _index(concepts: tuple[Concept, ...], language: str) -> _Index:
    known = _BY_IDENTITY.get((id(concepts), language))
    if known is not None and known[0] is concepts:
        return known[1]
    index = _build_index(concepts, language)
    if len(_BY_IDENTITY) >= 64:  # tuples built per call (classify's) must not pile up
        _BY_IDENTITY.clear()
    _BY_IDENTITY[(id(concepts), language)] = (concepts, index)
    return index


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
    for entry in _index(concepts, language).candidates(_tokens(view, language)):
        for m in entry.pattern.finditer(view):
            candidates.append(
                LabelMatch(
                    entry.concept,
                    entry.label,
                    language,
                    m.start(),
                    m.end(),
                    text[m.start() : m.end()],
                )
            )
    chosen: list[LabelMatch] = []
    for match in sorted(candidates, key=lambda c: (-(c.end - c.start), c.start, c.concept.iri)):
        if all(match.end <= other.start or match.start >= other.end for other in chosen):
            chosen.append(match)
    return sorted(chosen, key=lambda c: c.start)
