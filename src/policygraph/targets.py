"""Quantified targets: indicator, comparison, value and unit, read from a sentence.

"全国农机总动力超过10亿千瓦，其中灌排机械动力达到1.2亿千瓦" states two targets:
total power exceeds 10 (亿千瓦), irrigation power reaches 1.2 (亿千瓦). A target is a
clause (text between ，；。 outside brackets) holding a comparison word, a number and
a unit, all recognised by the labels of ``vocab/comparisons.ttl`` and
``vocab/units.ttl``. The indicator is what the clause says before the comparison
(without the year phrase and connectives such as 其中), or, for counts such as
"推出100项…赛事", what it names after the unit.

Lists give one target each with the right indicator: "花生种植、收获机械化率分别达到
65%和55%" is 花生种植机械化率 65% and 花生收获机械化率 55%; with 均 ("both") every
indicator gets the same value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from policygraph.model import Span
from policygraph.vocab import Concept, load_scheme

_NUMBER = r"\d+(?:[.,]\d+)*"
_CLAUSE_END = re.compile(r"[，；。,;：:]|(?<=[a-z%])\.\s")
_LEADING = {
    "zh": re.compile(
        r"^(?:(?:到|至|于)?\d{4}年(?:底|末|前)?[，,]?|其中|并|使|力争|实现|确保|全面|基本)+"
    ),
    "en": re.compile(
        r"^(?:(?:by|in|until)\s+(?:the\s+end\s+of\s+)?\d{4},?\s*|and\s+|while\s+|with\s+|of\s+which\s+)+",
        re.IGNORECASE,
    ),
}
_TRAILING = {
    "zh": re.compile(r"(?:分别|均|总体|都|将|要|稳步|持续|逐步|进一步|有望)+$"),
    "en": re.compile(
        r"\s*(?:\b(?:will|should|shall|is|are|to|be|respectively|each|both|expected)\b\s*)+$",
        re.IGNORECASE,
    ),
}
_EACH = {"zh": ("分别",), "en": ("respectively",)}
_BOTH = {"zh": ("均", "都"), "en": ("each", "both", "all")}
_LIST_SEPARATOR = {"zh": r"[、和及与]", "en": r",\s*(?:and\s+)?|\s+and\s+"}


@dataclass(frozen=True)
class Target:
    """One quantified target found in a clause."""

    indicator: str
    comparison: str  # IRI of a comparison concept
    value: Decimal
    unit: str  # IRI of a unit concept
    start: int  # offsets in the source file of the clause stating it
    end: int


@cache
def units() -> tuple[Concept, ...]:
    return load_scheme("units.ttl", "Unit")


@cache
def comparisons() -> tuple[Concept, ...]:
    return load_scheme("comparisons.ttl", "Comparison")


def _alternation(labels: dict[str, str]) -> str:
    return "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))


@cache
def _patterns(
    language: str,
) -> tuple[re.Pattern[str], dict[str, str], dict[str, str], dict[str, str]]:
    before = {label: c.iri for c in comparisons() for label in c.labels.get(language, ())}
    after = {
        label: c.iri
        for c in comparisons()
        for label in c.extra.get("afterLabel", {}).get(language, ())
    }
    unit_labels = {label: u.iri for u in units() for label in u.labels.get(language, ())}
    space = r"\s*" if language == "zh" else r"\s+"
    boundary = "" if language == "zh" else r"\b"
    value = rf"{_NUMBER}(?:\s*(?:{_alternation(unit_labels)}))?"
    pattern = re.compile(
        rf"{boundary}(?P<cmp>(?:{_alternation(before)})(?:{space}(?:{_alternation(before)}))*){space}"
        rf"(?P<values>{value}(?:(?:{_LIST_SEPARATOR[language]}){value})*)"
        rf"(?P<after>\s*(?:{_alternation(after)}))?",
        re.IGNORECASE if language == "en" else 0,
    )
    return pattern, before, after, unit_labels


def _clauses(text: str) -> list[tuple[int, int]]:
    """(start, end) of the clauses of ``text``, cutting at punctuation outside brackets."""
    spans, start, depth = [], 0, 0
    for index, char in enumerate(text):
        if char in "（([":
            depth += 1
        elif char in "）)]":
            depth = max(depth - 1, 0)
        elif (
            depth == 0
            and _CLAUSE_END.match(text, index)
            and not (char in ".," and index + 1 < len(text) and text[index + 1].isdigit())
        ):
            spans.append((start, index))
            start = index + 1
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _split_values(
    values: str, unit_labels: dict[str, str], language: str
) -> list[tuple[Decimal, str | None]]:
    found = []
    unit_alt = _alternation(unit_labels)
    for m in re.finditer(
        rf"({_NUMBER})\s*({unit_alt})?", values, re.IGNORECASE if language == "en" else 0
    ):
        number = Decimal(m.group(1).replace(",", ""))
        unit = m.group(2)
        found.append((number, unit_labels.get(unit) if unit else None))
    return found


def _distribute(indicator: str, count: int, language: str) -> list[str]:
    """Expand "花生种植、收获机械化率" into one indicator per listed element."""
    parts = [p for p in re.split(_LIST_SEPARATOR[language], indicator) if p.strip()]
    if len(parts) != count or count < 2:
        return [indicator] * count
    if language == "en":
        return [p.strip() for p in parts]
    width = min(len(p) for p in parts[1:-1]) if count > 2 else min(2, len(parts[-1]))
    head = parts[0][:-width] if len(parts[0]) > width else ""
    tail = parts[-1][width:]
    middles = [parts[0][len(head) :], *parts[1:-1], parts[-1][:width]]
    return [f"{head}{element}{tail}" for element in middles]


def _indicator(clause: str, end: int, language: str) -> str:
    text = clause[:end].strip()
    previous = None
    while previous != text:
        previous = text
        text = _LEADING[language].sub("", text).strip()
        text = _TRAILING[language].sub("", text).strip()
    return text.strip(" ，,、")


def find_targets(span: Span, language: str) -> list[Target]:
    """Every quantified target in the sentence ``span``, with offsets into the source."""
    pattern, _, after_labels, unit_labels = _patterns(language)
    text = span.text
    targets: list[Target] = []
    for c_start, c_end in _clauses(text):
        clause = text[c_start:c_end]
        for m in pattern.finditer(clause):
            values = _split_values(m.group("values"), unit_labels, language)
            if not values or all(unit is None for _, unit in values):
                continue
            # In a chain ("reach about", "stabilise at around") the last word qualifies.
            words_found = re.findall(_alternation(_patterns(language)[1]), m.group("cmp"), re.I)
            comparison = _lookup(words_found[-1], comparisons(), language)
            if m.group("after"):
                comparison = after_labels.get(m.group("after").strip(), comparison)
            indicator = _indicator(clause, m.start(), language)
            end = span.start + c_start + m.end()
            if not indicator:  # a count: "推出100项具有较大知名度的体育精品赛事"
                indicator = clause[m.end() :].strip(" ，,。")
                end = span.start + c_start + len(clause.rstrip())
            words = clause[: m.start()] + m.group("cmp")
            if any(w in words for w in _EACH[language]) and len(values) > 1:
                indicators = _distribute(indicator, len(values), language)
            elif any(w in clause[: m.start() + 1] for w in _BOTH[language]):
                indicators = _distribute(
                    indicator, len(re.split(_LIST_SEPARATOR[language], indicator)), language
                )
                values = values * len(indicators) if len(values) == 1 else values
            else:
                indicators = [indicator] * len(values)
            last_unit = next((u for _, u in reversed(values) if u), None)
            lead = len(clause) - len(clause.lstrip())
            start = span.start + c_start + lead
            for name, (number, unit) in zip(indicators, values, strict=False):
                targets.append(
                    Target(
                        name or clause.strip(),
                        comparison,
                        number,
                        unit or last_unit or "",
                        start,
                        end,
                    )
                )
    return targets


def _lookup(word: str, concepts: tuple[Concept, ...], language: str) -> str:
    for concept in concepts:
        if any(label.lower() == word.lower() for label in concept.labels.get(language, ())):
            return concept.iri
    raise KeyError(word)
