"""Cleaning and repairing published text, recording every change.

Published policy texts carry defects: words split by a stray space ("Brea k"), dash
variants inside words ("high–end"), doubled or odd spaces. Each is repaired only by a
general rule that can justify it, and each repair is returned with the original text
and its offsets in the source, so the graph can say exactly what was changed and why.

The split-word rule uses word frequencies (the ``wordfreq`` package) as its lexicon:
two fragments are joined when the joined form is a common word that is far more
probable than the two fragments read as separate words, and at least one fragment is
itself rare or a stray letter. "Brea k" and "Ma ke" are joined; "to day", "any one",
"can not" and "be cause" are left alone.
"""

from __future__ import annotations

import re
from functools import cache

from policygraph.model import Repair, Text

#: A joined word must be at least this common (Zipf scale: 3 = once per million words).
MIN_JOINED_ZIPF = 3.0
#: log10 of how much more probable the joined word must be than the two-word reading.
MIN_LIKELIHOOD_MARGIN = 3.0
#: A fragment below this Zipf frequency counts as rare, i.e. unlikely to be a word there.
RARE_FRAGMENT_ZIPF = 4.0
#: Single letters that are words by themselves in English.
ENGLISH_ONE_LETTER_WORDS = frozenset({"a", "i", "o"})

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_CJK_GAP = re.compile(rf"(?<=[{_CJK}])[ \t\u00a0\u3000]+(?=[{_CJK}])")
_ODD_SPACE = re.compile(
    r"[ \t\u00a0\u2002-\u200a\u202f\u3000]{2,}|[\t\u00a0\u2002-\u200a\u202f\u3000]"
)
_DASH_IN_WORD = re.compile(
    r"(?<=[A-Za-z])[\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d](?=[A-Za-z])"
)
# A word and the lower-case word after it. The lookahead lets pairs overlap ("to brea k"
# tries "to brea" and "brea k"): a consumed match would hide the second pair. Fragments
# glued to digits, dots, slashes and the like ("if_ppp.h is", "4.b e") are parts of
# names and numbers, not of words.
_WORD_PAIR = re.compile(r"(?<![\w'\-.@/])([A-Za-z]+)(?=([ \u00a0]+)([a-z]+)(?![\w'\-@/]|\.\w))")

# A line break inside a text (a paragraph wrapped by hand) is layout, like the
# indentation of a line: it reads as a space (nothing in Chinese) and is no repair.
_LINE_BREAK = re.compile(r"[ \t\u00a0\u3000]*(?:\r\n|\r|\n)[ \t\u00a0\u3000]*")

RULES = ("layout", "split-word", "dash", "whitespace")


@cache
def _zipf(word: str, language: str) -> float:
    from wordfreq import zipf_frequency

    return zipf_frequency(word, language)


def _is_rare(fragment: str, language: str) -> bool:
    lower = fragment.lower()
    if len(lower) == 1:
        return lower not in ENGLISH_ONE_LETTER_WORDS
    return _zipf(lower, language) < RARE_FRAGMENT_ZIPF


def should_join(left: str, right: str, language: str = "en") -> bool:
    """Whether ``left right`` is one word split by a stray space (see the module docstring)."""
    joined = _zipf((left + right).lower(), language)
    if joined < MIN_JOINED_ZIPF:
        return False
    if not (_is_rare(left, language) or _is_rare(right, language)):
        return False
    # Zipf values are log10 of frequency per 10**9 words; compare log-probabilities.
    as_two_words = _zipf(left.lower(), language) + _zipf(right.lower(), language) - 9.0
    return joined - as_two_words >= MIN_LIKELIHOOD_MARGIN


def _edits(line: str, language: str) -> list[tuple[int, int, str, str]]:
    """Non-overlapping edits (start, end, replacement, rule) within one stripped line."""
    edits: list[tuple[int, int, str, str]] = []
    if language == "en":
        for m in _WORD_PAIR.finditer(line):
            left, right = m.group(1), m.group(3)
            if should_join(left, right, language):
                end = m.end(1) + len(m.group(2)) + len(right)
                edits.append((m.start(), end, left + right, "split-word"))
        edits.extend((m.start(), m.end(), "-", "dash") for m in _DASH_IN_WORD.finditer(line))
    joiner = "" if language == "zh" else " "
    edits.extend((m.start(), m.end(), joiner, "layout") for m in _LINE_BREAK.finditer(line))
    edits.extend((m.start(), m.end(), "", "whitespace") for m in _CJK_GAP.finditer(line))
    edits.extend((m.start(), m.end(), " ", "whitespace") for m in _ODD_SPACE.finditer(line))
    chosen: list[tuple[int, int, str, str]] = []
    for edit in sorted(edits, key=lambda e: (e[0], RULES.index(e[3]))):
        if chosen and edit[0] < chosen[-1][1]:
            continue
        chosen.append(edit)
    return chosen


def clean_line(line: str, offset: int, language: str) -> Text:
    """Clean one source line that starts at ``offset`` in its file.

    Leading and trailing whitespace is dropped silently (it is layout, not text); every
    other change is returned as a :class:`Repair` with offsets into the source file.
    """
    stripped = line.strip()
    base = offset + (len(line) - len(line.lstrip()))
    pieces: list[str] = []
    repairs: list[Repair] = []
    pos = 0
    for start, end, replacement, rule in _edits(stripped, language):
        pieces.append(stripped[pos:start])
        pieces.append(replacement)
        original = stripped[start:end]
        if rule != "layout" and original != replacement:
            repairs.append(Repair(rule, original, replacement, base + start, base + end))
        pos = end
    pieces.append(stripped[pos:])
    return Text("".join(pieces), tuple(repairs))


def join_texts(texts: list[Text], language: str) -> Text:
    """Join the cleaned lines of one paragraph: with a space in English, directly in Chinese."""
    separator = "" if language == "zh" else " "
    value = separator.join(t.value for t in texts)
    repairs = tuple(r for t in texts for r in t.repairs)
    return Text(value, repairs)


def detect_language(text: str) -> str:
    """``zh`` when CJK characters make up a fair share of the letters, else ``en``."""
    cjk = len(re.findall(rf"[{_CJK}]", text))
    latin = len(re.findall(r"[A-Za-z]", text))
    return "zh" if cjk and cjk >= 0.2 * (cjk + latin) else "en"
