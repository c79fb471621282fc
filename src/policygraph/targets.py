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
        r"^(?:(?:by|in|until)\s+(?:the\s+end\s+of\s+)?\d{4},?\s*"
        r"|and\s+|while\s+|with\s+|of\s+which\s+|the\s+)+",
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


Bounds = tuple[int, int]  # start and end of a piece of a clause


def _tokens(clause: str, part: Bounds, language: str) -> list[Bounds]:
    """The characters (Chinese) or words (English) of a part of a clause."""
    unit = r"\S" if language == "zh" else r"\S+"
    return [
        (part[0] + m.start(), part[0] + m.end()) for m in re.finditer(unit, clause[slice(*part)])
    ]


def _distribute(clause: str, indicator: Bounds, count: int, language: str) -> list[list[Bounds]]:
    """Expand "花生种植、收获机械化率" into one indicator per listed element.

    The listed elements share what stands before the first (花生) and after the last
    (机械化率). Each element is as wide as the middle ones of a longer list, or, of two,
    as a two-character word (Chinese) or one word (English): "rates of peanut planting
    and harvesting" gives "rates of peanut planting" and "rates of peanut harvesting".
    Each indicator is returned as the pieces of ``clause`` it is made of (shared head,
    element, shared tail), so that it can be cut from the text as published.
    """
    start, end = indicator
    cuts = [
        start,
        *(
            p
            for m in re.finditer(_LIST_SEPARATOR[language], clause[start:end])
            for p in (start + m.start(), start + m.end())
        ),
        end,
    ]
    parts = [
        _strip(clause, (a, b))
        for a, b in zip(cuts[::2], cuts[1::2], strict=True)
        if clause[a:b].strip()
    ]
    if len(parts) != count or count < 2:
        return [[indicator]] * count
    tokens = [_tokens(clause, part, language) for part in parts]
    default = 2 if language == "zh" else 1
    width = min(len(t) for t in tokens[1:-1]) if count > 2 else min(default, len(tokens[-1]))
    first, last = tokens[0], tokens[-1]
    split = max(len(first) - width, 0)
    head_end = first[split][0] if split else first[0][0]
    middles = [(head_end, first[-1][1]), *parts[1:-1], (last[0][0], last[width - 1][1])]
    head, tail = (first[0][0], head_end), (last[width - 1][1], parts[-1][1])
    return [[head, element, tail] for element in middles]


def _strip(text: str, bounds: Bounds, chars: str | None = None) -> Bounds:
    """``bounds`` narrowed past leading and trailing ``chars`` (whitespace by default)."""
    start, end = bounds
    piece = text[start:end]
    stripped = piece.lstrip(chars)
    start += len(piece) - len(stripped)
    return start, start + len(stripped.rstrip(chars))


def _indicator(clause: str, end: int, language: str, begin: int = 0) -> Bounds:
    """Where the indicator stands in ``clause`` between ``begin`` and ``end``.

    Without the year phrase and connectives; ``begin`` is the end of the previous target
    in the same clause ("… will reach 85 percent and the tap water rate will reach …").
    """
    bounds = _strip(clause, (begin, end))
    previous = None
    while previous != bounds:
        previous = bounds
        start, stop = bounds
        if m := _LEADING[language].match(clause[start:stop]):
            start += m.end()
        if m := _TRAILING[language].search(clause, start, stop):
            stop = m.start()
        bounds = _strip(clause, (start, max(start, stop)))
    return _strip(clause, bounds, " ，,、")


def _script_view(text: str, language: str) -> str:
    """Chinese text in simplified characters (offset for offset), as the labels are written."""
    if language != "zh":
        return text
    from policygraph.parse_zh import simplified

    return simplified(text)


def _comparison(match: re.Match[str], language: str) -> str:
    """The comparison a match states: the last word before the number, unless one follows it."""
    _, before, after_labels, _ = _patterns(language)
    # In a chain ("reach about", "stabilise at around") the last word qualifies.
    words = re.findall(_alternation(before), match.group("cmp"), re.IGNORECASE)
    comparison = _lookup(words[-1], comparisons(), language)
    if match.group("after"):
        comparison = after_labels.get(match.group("after").strip(), comparison)
    return comparison


def _clause_targets(original: str, clause: str, offset: int, language: str) -> list[Target]:
    """The targets of one clause, found in its matching view ``clause``, named from ``original``.

    ``offset`` is where the clause starts in the source file.
    """
    pattern, _, _, unit_labels = _patterns(language)
    targets: list[Target] = []
    previous_end = 0
    for m in pattern.finditer(clause):
        values = _split_values(m.group("values"), unit_labels, language)
        if not values or all(unit is None for _, unit in values):
            continue
        comparison = _comparison(m, language)
        indicator = _indicator(clause, m.start(), language, previous_end)
        region_start = _strip(clause, (previous_end, m.start()))[0]
        previous_end = m.end()
        end = offset + m.end()
        if indicator[0] == indicator[1]:  # a count: "推出100项具有较大知名度的体育精品赛事"
            indicator = _strip(clause, (m.end(), len(clause)), " ，,。")
            end = offset + len(clause.rstrip())
        separator = _LIST_SEPARATOR[language]
        # "分别达到65%和55%", "reach 65% and 55% respectively": one value per element.
        if _says(clause, _EACH[language], language) and len(values) > 1:
            pieces = _distribute(clause, indicator, len(values), language)
        elif _says(clause[: m.start() + 1], _BOTH[language], language):
            listed = len(re.split(separator, clause[indicator[0] : indicator[1]]))
            pieces = _distribute(clause, indicator, listed, language)
            values = values * len(pieces) if len(values) == 1 else values
        else:
            pieces = [[indicator]] * len(values)
        last_unit = next((u for _, u in reversed(values) if u), None)
        start = offset + region_start
        for segments, (number, unit) in zip(pieces, values, strict=False):
            name = "".join(original[a:b] for a, b in segments) or original.strip()
            targets.append(Target(name, comparison, number, unit or last_unit or "", start, end))
    return targets


def _says(text: str, words: tuple[str, ...], language: str) -> bool:
    """Whether ``text`` contains one of ``words`` (as a whole word in English: not "reach")."""
    if language == "zh":
        return any(word in text for word in words)
    return any(re.search(rf"\b{re.escape(word)}\b", text, re.IGNORECASE) for word in words)


def find_targets(span: Span, language: str) -> list[Target]:
    """Every quantified target in the sentence ``span``, with offsets into the source.

    Chinese text is matched in simplified characters, so a document in traditional
    characters states the same targets; indicators are cut from the text as published.
    """
    text = span.text
    view = _script_view(text, language)
    targets: list[Target] = []
    for c_start, c_end in _clauses(view):
        targets.extend(
            _clause_targets(
                text[c_start:c_end], view[c_start:c_end], span.start + c_start, language
            )
        )
    return targets


def _lookup(word: str, concepts: tuple[Concept, ...], language: str) -> str:
    for concept in concepts:
        if any(label.lower() == word.lower() for label in concept.labels.get(language, ())):
            return concept.iri
    raise KeyError(word)
