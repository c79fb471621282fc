"""Parsing a plain-text policy document into the document model.

The layout of the genre: a title (possibly wrapped, possibly repeated as a running
title), a date line, a preamble, numbered chapters ("I.", "II."), numbered items
inside them ("1.", "2.", straight through or restarting in each chapter), item bodies
(one line per paragraph), and closing notes such as "(Source: Xinhua)".

The parser works line by line and keeps every line: each non-blank line ends up in
the span of exactly one block (preface, preamble paragraph, chapter or item heading,
paragraph, closing note). It checks the numbering as it goes and rejects what it
cannot structure with an :class:`~policygraph.errors.InputError` naming the line,
rather than guessing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from policygraph.errors import InputError
from policygraph.model import (
    Chapter,
    ClosingNote,
    Document,
    Item,
    Paragraph,
    Span,
    Text,
)
from policygraph.textclean import clean_line, detect_language, join_texts
from policygraph.vocab import organizations

_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_DATE_LINE = re.compile(
    r"^[(（]?\s*(?P<month>[A-Za-z]+)\.?\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4})\s*[)）]?$"
)
_ROMAN_CHAPTER = re.compile(r"^(?P<num>[IVXLC]+)\s*[.．、]\s*(?P<rest>\S.*)$")
_ARABIC_ITEM = re.compile(r"^(?P<num>\d{1,3})\s*[.．、]\s*(?P<rest>\S.*)$")
_SOURCE_NOTE = re.compile(r"^[(（]\s*(?:Source|来源)\s*[:：]\s*(?P<attr>[^)）]+?)\s*[)）]$")
_TITLE_PARTS = re.compile(
    r"^(?P<type>.+?)\s+(?:of|by|from)\s+(?P<issuers>.+?)\s+on\s+(?P<subject>.+)$"
)
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}


@dataclass(frozen=True)
class Line:
    """One line of the source, without its line break."""

    number: int  # from 1
    start: int  # code-point offset of the line in the file
    text: str

    @property
    def blank(self) -> bool:
        return not self.text.strip()

    def span(self) -> Span:
        return span_of([self])


def span_of(lines: list[Line]) -> Span:
    """The span from the first to the last of ``lines`` (consecutive lines of one file)."""
    first, last = lines[0], lines[-1]
    return Span(
        first.start,
        last.start + len(last.text),
        first.number,
        last.number,
        "\n".join(line.text for line in lines),
    )


def roman_to_int(numeral: str) -> int:
    """Value of a Roman numeral (I–CCCXCIX is plenty for chapters)."""
    total = 0
    for char, following in zip(numeral, [*numeral[1:], ""], strict=True):
        value = _ROMAN[char]
        total += -value if following and _ROMAN[following] > value else value
    return total


def read_source(path: Path) -> tuple[str, bytes]:
    """Read a UTF-8 text file, rejecting missing, empty, binary and non-UTF-8 files clearly."""
    if not path.exists():
        raise InputError("no such file or folder", path)
    if not path.is_file():
        raise InputError("not a regular file", path)
    data = path.read_bytes()
    if not data.strip():
        raise InputError("the file is empty", path, 1)
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise InputError(
            "this is a binary file, not plain text (it contains NUL bytes)", path, line
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at byte offset {exc.start}); "
            "convert the file to UTF-8",
            path,
            line,
        ) from None
    return text, data


def split_lines(text: str) -> list[Line]:
    """Split into lines, keeping each line's offset; any of \\n, \\r\\n, \\r ends a line."""
    lines = []
    offset = 0
    for number, raw in enumerate(text.splitlines(keepends=True), start=1):
        content = raw.rstrip("\r\n")
        lines.append(Line(number, offset, content))
        offset += len(raw)
    return lines


class _Parser:
    """One parse of one file; holds the state of the line-by-line walk."""

    def __init__(self, path: Path, text: str, data: bytes):
        self.path = path
        self.text = text
        self.data = data
        self.lines = split_lines(text)
        self.language = detect_language(text)

    def fail(self, message: str, line: int | None) -> InputError:
        return InputError(message, self.path, line)

    def clean(self, line: Line, start_in_line: int = 0) -> Text:
        return clean_line(line.text[start_in_line:], line.start + start_in_line, self.language)

    # -- the header -------------------------------------------------------------------------

    def structural(self, line: Line) -> bool:
        stripped = line.text.strip()
        return bool(_ROMAN_CHAPTER.match(stripped) or _ARABIC_ITEM.match(stripped))

    def parse_header(self) -> tuple[Span, Text, dt.date, int]:
        """Find the preface: title block(s) and the date line. Returns the index after it."""
        content = [i for i, line in enumerate(self.lines) if not line.blank]
        first = content[0]
        for index in content:
            line = self.lines[index]
            if self.structural(line):
                raise self.fail(
                    "expected a title and a date line such as '(September 5, 2017)' before the "
                    "first numbered chapter or item",
                    line.number,
                )
            match = _DATE_LINE.match(line.text.strip())
            if match and match.group("month").lower() in _MONTHS:
                date = self.parse_date(match, line)
                break
        else:
            raise self.fail(
                "no recognisable structure: expected a title, a date line such as "
                "'(September 5, 2017)', and chapters numbered I., II., …",
                self.lines[first].number,
            )
        date_index = index
        if date_index == first:
            raise self.fail("the date line has no title above it", self.lines[first].number)
        # The title is the block of lines right above the date line; earlier blocks are
        # running titles or headers, kept in the preface span.
        title_lines: list[Line] = []
        for line in reversed(self.lines[first:date_index]):
            if line.blank:
                if title_lines:
                    break
                continue
            title_lines.insert(0, line)
        title = join_texts([self.clean(line) for line in title_lines], self.language)
        preface = span_of(self.lines[first : date_index + 1])
        return preface, title, date, date_index + 1

    def parse_date(self, match: re.Match[str], line: Line) -> dt.date:
        try:
            return dt.date(
                int(match.group("year")),
                _MONTHS[match.group("month").lower()],
                int(match.group("day")),
            )
        except ValueError as exc:
            raise self.fail(f"impossible date {line.text.strip()!r}: {exc}", line.number) from None

    # -- the body ---------------------------------------------------------------------------

    def parse(self) -> Document:
        preface, title, date, index = self.parse_header()
        preamble: list[Paragraph] = []
        preamble_lines: list[Line] = []
        chapters: list[Chapter] = []
        closing: list[ClosingNote] = []
        chapter: Chapter | None = None
        item: Item | None = None
        for line in self.lines[index:]:
            if line.blank:
                continue
            stripped = line.text.strip()
            indent = len(line.text) - len(line.text.lstrip())
            if m := _SOURCE_NOTE.match(stripped):
                closing.append(
                    ClosingNote("source", self.clean(line), line.span(), m.group("attr").strip())
                )
                continue
            if closing:
                raise self.fail(
                    "text after the closing source note; closing notes must end the document",
                    line.number,
                )
            if m := _ROMAN_CHAPTER.match(stripped):
                number = m.group("num")
                chapter = Chapter(
                    number=number,
                    ordinal=roman_to_int(number),
                    heading=self.clean(line, indent + m.start("rest")),
                    span=line.span(),
                )
                self.check_chapter_number(chapters, chapter, line)
                chapters.append(chapter)
                item = None
                continue
            if m := _ARABIC_ITEM.match(stripped):
                if chapter is None:
                    raise self.fail(
                        f"numbered item {m.group('num')}. stands before any chapter "
                        "(chapters are numbered I., II., …)",
                        line.number,
                    )
                number = m.group("num")
                item = Item(
                    number=number,
                    ordinal=int(number),
                    heading=self.clean(line, indent + m.start("rest")),
                    span=line.span(),
                )
                chapter.items.append(item)
                continue
            paragraph = Paragraph(self.clean(line), line.span())
            if item is not None:
                item.paragraphs.append(paragraph)
            elif chapter is not None:
                chapter.paragraphs.append(paragraph)
            else:
                preamble.append(paragraph)
                preamble_lines.append(line)
        if not chapters:
            raise self.fail(
                "no chapters found: expected headings numbered I., II., … after the preamble",
                self.lines[index - 1].number,
            )
        numbering = self.check_item_numbers(chapters)
        issuers, doc_type, subject = self.title_parts(title.value)
        return Document(
            path=self.path,
            sha256=hashlib.sha256(self.data).hexdigest(),
            byte_size=len(self.data),
            language=self.language,
            title=title,
            preface=preface,
            date=date,
            issuers=issuers,
            doc_id=document_id(date, subject or title.value),
            doc_type=doc_type,
            preamble=preamble,
            preamble_span=(
                span_of(self.lines[preamble_lines[0].number - 1 : preamble_lines[-1].number])
                if preamble_lines
                else None
            ),
            chapters=chapters,
            closing=closing,
            numbering=numbering,
            line_count=len(self.lines),
        )

    def check_chapter_number(self, chapters: list[Chapter], chapter: Chapter, line: Line) -> None:
        expected = len(chapters) + 1
        if chapter.ordinal == expected:
            return
        if chapter.ordinal < expected:
            problem = f"repeats chapter number {chapter.number}"
        else:
            previous = chapters[-1].number if chapters else "(none)"
            problem = f"skips from chapter {previous} to {chapter.number}"
        raise self.fail(f"chapter numbering {problem}", line.number)

    def check_item_numbers(self, chapters: list[Chapter]) -> str:
        """Items run straight through the document, or restart at 1 in every chapter."""
        with_items = [c for c in chapters if c.items]
        restarts = len(with_items) > 1 and with_items[1].items[0].ordinal == 1
        numbering = "per-chapter" if restarts else "continuous"
        expected = 1
        for chapter in with_items:
            if restarts:
                expected = 1
            for item in chapter.items:
                if item.ordinal != expected:
                    if item.ordinal < expected:
                        problem = f"repeats item number {item.number} (expected {expected})"
                    else:
                        problem = f"skips from item {expected - 1} to {item.number}"
                    raise self.fail(f"item numbering {problem}", item.span.start_line)
                expected += 1
        return numbering

    def title_parts(self, title: str) -> tuple[list[tuple[str, str]], str | None, str | None]:
        """Issuers, document type and subject from a title like '<Type> of <Issuers> on <Subject>'.

        Issuers are matched against the known organisations; where none is known, the
        names between "of" and "on" are taken as written and given ids of their own.
        """
        match = _TITLE_PARTS.match(title)
        head = match.group("issuers") if match else title
        found = find_organizations(head, self.language)
        if not found and match:
            found = [
                (slugify(part), part.strip())
                for part in re.split(r",\s*|\s+and\s+", match.group("issuers"))
                if slugify(part)
            ]
        if match:
            return found, match.group("type"), match.group("subject")
        return found, None, None


def find_organizations(text: str, language: str) -> list[tuple[str, str]]:
    """Known organisations named in ``text``: (id, words as found), in text order.

    Labels come from ``vocab/organizations.ttl``; overlapping matches go to the longer
    label, so "General Office of the State Council" is not also "State Council".
    """
    candidates = []
    for concept in organizations():
        for label in concept.labels.get(language, ()):
            if language == "zh":
                pattern = re.compile(re.escape(label))
            else:
                pattern = re.compile(rf"(?<!\w){re.escape(label)}(?!\w)", re.IGNORECASE)
            candidates.extend((m.start(), m.end(), concept.iri) for m in pattern.finditer(text))
    found: list[tuple[int, int, str]] = []
    for start, end, ident in sorted(candidates, key=lambda c: (-(c[1] - c[0]), c[0])):
        if all(end <= s or start >= e for s, e, _ in found):
            found.append((start, end, ident))
    ordered: list[tuple[str, str]] = []
    for start, end, ident in sorted(found):
        if ident not in [i for i, _ in ordered]:
            ordered.append((ident, text[start:end]))
    return ordered


def slugify(text: str, max_words: int = 8) -> str:
    """Lower-case ASCII words joined by hyphens, at most ``max_words`` of them."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words[:max_words])


def document_id(date: dt.date, subject: str) -> str:
    """A readable id from the document's identity: its year and subject, never its file name."""
    slug = slugify(subject)
    if not slug:
        raise ValueError("a document id needs a subject with Latin letters or digits")
    return f"{date.year}-{slug}"


def parse_file(path: str | Path) -> Document:
    """Parse one source file; raises :class:`InputError` naming the file and line on bad input."""
    path = Path(path)
    text, data = read_source(path)
    return _Parser(path, text, data).parse()
