"""Parsing a plain-text policy document into the document model.

The genre has one shape in every language: a preface (title, possibly wrapped or
repeated; date line or document number), a preamble, numbered chapters, numbered
items inside them (straight through or restarting in each chapter), item bodies one
line per paragraph, and closing notes. Each language's layout is a subclass of
:class:`LayoutParser` that recognises its own numbering and date forms; what they
share — cleaning, numbering checks, document ids — lives here.

Every non-blank line ends up in the span of exactly one block, so nothing is lost.
What cannot be structured is rejected with an :class:`~policygraph.errors.InputError`
naming the file and line, never guessed at.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path

from policygraph.errors import InputError
from policygraph.labelmatch import find_labels
from policygraph.model import Chapter, Document, Text
from policygraph.sourcetext import Line, read_source, split_lines
from policygraph.textclean import clean_line, detect_language
from policygraph.vocab import organizations


class LayoutParser:
    """The part of a parse that does not depend on the document's language."""

    language = "en"

    def __init__(self, path: Path, text: str, data: bytes):
        self.path = path
        self.text = text
        self.data = data
        self.lines = split_lines(text)

    def fail(self, message: str, line: int | None) -> InputError:
        return InputError(message, self.path, line)

    def clean(self, line: Line, start_in_line: int = 0, end_in_line: int | None = None) -> Text:
        """The cleaned text of ``line`` from ``start_in_line`` to ``end_in_line``, with repairs."""
        piece = line.text[start_in_line:end_in_line]
        return clean_line(piece, line.start + start_in_line, self.language)

    def parse(self) -> Document:
        raise NotImplementedError

    def new_document(self, **fields: object) -> Document:
        """A document with the file-level facts every layout records."""
        return Document(
            path=self.path,
            sha256=hashlib.sha256(self.data).hexdigest(),
            byte_size=len(self.data),
            language=self.language,
            line_count=len(self.lines),
            **fields,  # type: ignore[arg-type]
        )

    def check_chapter_number(self, chapters: list[Chapter], chapter: Chapter) -> None:
        """Chapters are numbered 1, 2, 3, … without gaps or repeats."""
        expected = len(chapters) + 1
        if chapter.ordinal == expected:
            return
        if chapter.ordinal < expected:
            problem = f"repeats chapter number {chapter.number}"
        else:
            previous = chapters[-1].number if chapters else "(none)"
            problem = f"skips from chapter {previous} to {chapter.number}"
        raise self.fail(f"chapter numbering {problem}", chapter.span.start_line)

    def check_item_numbers(self, chapters: list[Chapter]) -> str:
        """Items run straight through the document, or restart at 1 in every chapter.

        Returns ``"continuous"`` or ``"per-chapter"``; raises on a gap or a repeat.
        """
        with_items = [c for c in chapters if c.items]
        restarts = len(with_items) > 1 and with_items[1].items[0].ordinal == 1
        expected = 1
        for chapter in with_items:
            if restarts:
                expected = 1
            for item in chapter.items:
                if item.ordinal != expected:
                    if item.ordinal < expected:
                        problem = f"repeats item number {item.number} (expected {expected})"
                    elif expected == 1:
                        problem = f"starts at {item.number} (expected 1)"
                    else:
                        problem = f"skips from item {expected - 1} to {item.number}"
                    raise self.fail(f"item numbering {problem}", item.span.start_line)
                expected += 1
        return "per-chapter" if restarts else "continuous"

    def find_issuers(self, text: str) -> list[tuple[str, str]]:
        """Known organisations named in ``text``: (id, words as found), in text order."""
        found: list[tuple[str, str]] = []
        for match in find_labels(text, organizations(), self.language):
            if match.concept.iri not in [ident for ident, _ in found]:
                found.append((match.concept.iri, match.text))
        return found


def slugify(text: str, max_words: int = 8) -> str:
    """Lower-case ASCII words joined by hyphens, at most ``max_words`` of them."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words[:max_words])


def document_id(date: dt.date, subject: str) -> str:
    """A readable id from the document's identity (year and subject), never its file name."""
    slug = slugify(subject)
    return f"{date.year}-{slug}" if slug else str(date.isoformat())


def parser_for(path: Path, text: str, data: bytes) -> LayoutParser:
    """The layout parser for the document's language."""
    from policygraph.parse_en import EnglishParser
    from policygraph.parse_zh import ChineseParser

    layouts: dict[str, type[LayoutParser]] = {"en": EnglishParser, "zh": ChineseParser}
    language = detect_language(text)
    if language not in layouts:
        raise InputError(f"no parser yet for documents in language {language!r}", path, 1)
    return layouts[language](path, text, data)


def parse_file(path: str | Path) -> Document:
    """Parse one source file; raises :class:`InputError` naming the file and line on bad input."""
    path = Path(path)
    text, data = read_source(path)
    return parser_for(path, text, data).parse()
