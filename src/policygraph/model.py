"""The document model: what the parser finds in a source text, before any RDF.

Plain dataclasses, so the parser can be tested without rdflib and later stages
(classification, objectives, themes, mapping) read one well-defined structure.
Every element keeps its :class:`Span` in the source, so no line is ever lost and
every statement in the graph can be traced to the characters it came from.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path


@dataclass(frozen=True)
class Span:
    """A contiguous stretch of the source: code-point offsets (end exclusive) and lines (from 1)."""

    start: int
    end: int
    start_line: int
    end_line: int
    text: str


@dataclass(frozen=True)
class Repair:
    """One correction of the published text, justified by a named rule."""

    rule: str  # "split-word", "dash" or "whitespace"
    original: str
    repaired: str
    start: int  # offset of the original text in the source file
    end: int


@dataclass(frozen=True)
class Text:
    """Text as the graph shows it (cleaned and repaired), with the repairs that produced it."""

    value: str
    repairs: tuple[Repair, ...] = ()


@dataclass
class Paragraph:
    """An un-numbered block of text: one or more consecutive non-blank lines."""

    text: Text
    span: Span


@dataclass
class Objective:
    """One stated objective: a sentence of a provision that sets out an intended result."""

    statement: Text
    span: Span
    target_year: int | None = None
    # a quantified target: what is measured, how it compares, to what value, in which unit
    indicator: str | None = None
    comparison: str | None = None  # IRI from vocab/comparisons.ttl
    value: Decimal | None = None
    unit: str | None = None  # IRI from vocab/units.ttl


@dataclass
class ThemeMatch:
    """Why a measure carries a theme: which label of it was found, and where."""

    theme: str  # the theme's IRI
    label: str
    language: str
    matched_text: str
    field: str  # "heading" or "text"


@dataclass
class Item:
    """A numbered item inside a chapter."""

    number: str  # as printed, without its punctuation: "12", "三"
    ordinal: int
    heading: Text
    span: Span  # the heading line (with the body, where it shares that line)
    body: Text | None = None  # body text on the heading's own line, if any
    body_span: Span | None = None  # where that same-line body stands
    paragraphs: list[Paragraph] = field(default_factory=list)
    provision_kind: str | None = None  # IRI of a provision kind: a general provision, not a measure
    is_general: bool = False
    objectives: list[Objective] = field(default_factory=list)
    themes: list[ThemeMatch] = field(default_factory=list)
    agencies: list[tuple[str, str]] = field(default_factory=list)  # (organisation id, as written)
    lead_agency: str | None = None  # organisation id of the lead agency, where one is named

    @property
    def full_text(self) -> str:
        """Heading, same-line body and paragraphs, as one text for matching."""
        parts = [self.heading.value]
        if self.body is not None:
            parts.append(self.body.value)
        parts.extend(p.text.value for p in self.paragraphs)
        return " ".join(parts)


@dataclass
class Chapter:
    """A numbered top-level division."""

    number: str
    ordinal: int
    heading: Text
    span: Span
    paragraphs: list[Paragraph] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    frames_policy: bool = False  # a chapter of general requirements


@dataclass
class ClosingNote:
    """Text after the body: a source attribution, signature or publication note."""

    kind: str  # "source", "signature", "paragraph" or "note"
    text: Text
    span: Span
    attribution: str | None = None


@dataclass
class Document:
    """One parsed source document."""

    path: Path
    sha256: str
    byte_size: int
    language: str  # BCP 47 tag: "en" or "zh"
    title: Text
    preface: Span
    date: dt.date | None
    issuers: list[tuple[str, str]]  # (organisation id, name as written)
    doc_id: str
    doc_type: str | None = None
    doc_number: str | None = None  # as printed, e.g. 国发〔2018〕42号
    addressees: str | None = None
    preamble: list[Paragraph] = field(default_factory=list)
    preamble_span: Span | None = None  # first to last preamble line, blank lines included
    chapters: list[Chapter] = field(default_factory=list)
    closing: list[ClosingNote] = field(default_factory=list)
    numbering: str = "continuous"  # or "per-chapter"
    line_count: int = 0

    def items(self) -> list[Item]:
        """All numbered items, in reading order."""
        return [item for chapter in self.chapters for item in chapter.items]

    def measures(self) -> list[Item]:
        """The items that are measures (not general provisions), in reading order."""
        return [item for item in self.items() if not item.is_general]
