"""Objectives: every sentence of a provision that states objectives, with its target year.

The sentences of a general provision whose kind yields objectives ("Main Objectives",
主要目标) each state one objective. A year phrase ("By 2020", "到2020年") sets the
target year for its sentence and for the sentences after it in the same provision,
until another year phrase; this is how such paragraphs are written ("By 2020, … .
Noticeable progress will be made … .").

Sentences are cut from the raw source line and cleaned one by one, so each objective
keeps its exact span in the source.
"""

from __future__ import annotations

import re

from policygraph.model import Document, Item, Objective, Span
from policygraph.targets import find_targets
from policygraph.textclean import clean_line
from policygraph.vocab import provision_kinds

_SENTENCE_END = {
    "en": re.compile(r"(?<=[.!?;])\s+(?=[\"'“(]?[A-Z0-9])"),
    "zh": re.compile(r"(?<=[。；！？])"),
}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_YEAR = {
    "en": re.compile(
        r"\b(?:by|in|until|before|through|to)\s+(?:the\s+end\s+of\s+)?(?P<year>(?:19|20)\d{2})\b",
        re.IGNORECASE,
    ),
    "zh": re.compile(r"(?:到|至|于)?(?P<year>(?:19|20)\d{2})年(?:底|末|前)?"),
}


def sentences(text: str, start: int, line: int, language: str) -> list[Span]:
    """Cut source text (starting at offset ``start`` on line ``line``) into sentence spans.

    The text may run over several lines (a paragraph wrapped by hand); each sentence
    gets the lines it stands on.
    """
    spans = []
    pos = 0
    boundaries = [m.start() for m in _SENTENCE_END[language].finditer(text)]
    for cut in [*boundaries, len(text)]:
        piece = text[pos:cut]
        lead = len(piece) - len(piece.lstrip())
        piece = piece.strip()
        if piece:
            first = line + _line_breaks(text[: pos + lead])
            last = first + _line_breaks(piece)
            begin = start + pos + lead
            spans.append(Span(begin, begin + len(piece), first, last, piece))
        pos = cut
    return spans


def _line_breaks(text: str) -> int:
    return len(_LINE_BREAK.findall(text))


def target_year(sentence: str, language: str) -> int | None:
    """The year a sentence sets as its target, if it names one."""
    match = _YEAR[language].search(sentence)
    return int(match.group("year")) if match else None


def _item_sentences(item: Item, language: str) -> list[Span]:
    blocks = [item.body_span] if item.body_span is not None else []
    blocks.extend(paragraph.span for paragraph in item.paragraphs)
    return [
        s for span in blocks for s in sentences(span.text, span.start, span.start_line, language)
    ]


def _target_objectives(sentence: Span, year: int | None, language: str) -> list[Objective]:
    """One objective per quantified target in the sentence, each with its clause's span."""
    found = []
    for target in find_targets(sentence, language):
        offset = target.start - sentence.start
        text = sentence.text[offset : offset + target.end - target.start]
        span = Span(target.start, target.end, sentence.start_line, sentence.end_line, text)
        found.append(
            Objective(
                clean_line(text, target.start, language),
                span,
                year,
                indicator=target.indicator,
                comparison=target.comparison,
                value=target.value,
                unit=target.unit,
            )
        )
    return found


def extract_objectives(document: Document) -> None:
    """Fill ``item.objectives``, in place.

    In a provision whose kind yields objectives, every sentence states objectives:
    one per quantified target it sets, or one for the whole sentence if it sets none.
    In any other item, a sentence states an objective when it sets a quantified
    target for a year (its own year phrase, or the last one before it in the item).
    """
    yielding = {k.iri for k in provision_kinds() if "yieldsObjectives" in k.flags}
    language = document.language
    for item in document.items():
        states_objectives = item.provision_kind in yielding
        year: int | None = None
        for span in _item_sentences(item, language):
            year = target_year(span.text, language) or year
            quantified = _target_objectives(span, year, language)
            if quantified and (states_objectives or year is not None):
                item.objectives.extend(quantified)
            elif states_objectives:
                statement = clean_line(span.text, span.start, language)
                item.objectives.append(Objective(statement, span, year))
