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
from policygraph.textclean import clean_line
from policygraph.vocab import provision_kinds

_SENTENCE_END = {
    "en": re.compile(r"(?<=[.!?;])\s+(?=[\"'“(]?[A-Z0-9])"),
    "zh": re.compile(r"(?<=[。；！？])"),
}
_YEAR = {
    "en": re.compile(
        r"\b(?:by|in|until|before|through|to)\s+(?:the\s+end\s+of\s+)?(?P<year>(?:19|20)\d{2})\b",
        re.IGNORECASE,
    ),
    "zh": re.compile(r"(?:到|至|于)?(?P<year>(?:19|20)\d{2})年(?:底|末|前)?"),
}


def sentences(text: str, start: int, line: int, language: str) -> list[Span]:
    """Cut one line of source text (starting at offset ``start``) into sentence spans."""
    spans = []
    pos = 0
    boundaries = [m.start() for m in _SENTENCE_END[language].finditer(text)]
    for cut in [*boundaries, len(text)]:
        piece = text[pos:cut]
        lead = len(piece) - len(piece.lstrip())
        piece = piece.strip()
        if piece:
            begin = start + pos + lead
            spans.append(Span(begin, begin + len(piece), line, line, piece))
        pos = cut
    return spans


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


def extract_objectives(document: Document) -> None:
    """Fill ``item.objectives`` for the provisions whose kind yields objectives, in place."""
    yielding = {k.iri for k in provision_kinds() if "yieldsObjectives" in k.flags}
    for item in document.items():
        if item.provision_kind not in yielding:
            continue
        year: int | None = None
        for span in _item_sentences(item, document.language):
            year = target_year(span.text, document.language) or year
            statement = clean_line(span.text, span.start, document.language)
            item.objectives.append(Objective(statement, span, year))
