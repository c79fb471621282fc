"""The English layout: Roman-numeral chapters, Arabic-numbered items, a date line.

As in the English translations of Chinese central documents: the title (possibly
wrapped, possibly repeated above as a running title), a date line such as
"(September 5, 2017)", the preamble, chapters "I.", "II.", items "1.", "2." (or
"(1)"), bodies one line per paragraph, and a closing "(Source: …)" note.

Two habits of published texts are read as they are meant. A line that starts in
lower case right under a line that does not end a sentence continues it (a heading or
paragraph wrapped by hand), so it joins that block. And an item line whose heading is
a sentence of its own followed by more text ("1. Guiding thought. We will …") has its
body on the same line.
"""

from __future__ import annotations

import datetime as dt
import re

from policygraph.labelmatch import find_labels
from policygraph.model import Chapter, ClosingNote, Document, Item, Paragraph, Span, Text
from policygraph.parse import LayoutParser, document_id, slugify
from policygraph.sourcetext import Line, span_of
from policygraph.textclean import join_texts
from policygraph.vocab import organizations

_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_MONTHS = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_MONTHS |= {name[:3]: number for name, number in _MONTHS.items()} | {"sept": 9}
_DATE_LINE = re.compile(
    r"^[(（]?\s*(?:(?P<month>[A-Za-z]+)\.?\s+(?P<day>\d{1,2}),?"
    r"|(?P<day2>\d{1,2})\s+(?P<month2>[A-Za-z]+)\.?,?)\s+(?P<year>\d{4})\s*[)）]?$"
)
_ROMAN_CHAPTER = re.compile(r"^(?P<num>[IVXLC]+)\s*[.．、]\s*(?P<rest>\S.*)$")
_ARABIC_ITEM = re.compile(
    r"^(?:[(（]\s*(?P<pnum>\d{1,3})\s*[)）]|(?P<num>\d{1,3})\s*[.．、)）])\s*(?P<rest>\S.*)$"
)
_SOURCE_NOTE = re.compile(
    r"^(?P<open>[(（])?\s*(?:Source|来源)\s*[:：]\s*(?P<attr>[^)）]+?)\s*(?(open)[)）])$"
)
_TITLE_PARTS = re.compile(
    r"^(?P<type>.+?)\s+(?:of|by|from)\s+(?P<issuers>.+?)\s+on\s+(?P<subject>.+)$"
)
_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
# A line ends a sentence when its last character (before closing quotes or brackets)
# is one of these; a line that does not may be continued on the next.
_SENTENCE_END = re.compile(r"[.!?;:。！？；：][\"'”’)\]）]*$")
# The end of an item's heading sentence, where body text follows on the same line.
_HEADING_END = re.compile(r"(?<=[A-Za-z)”\"'])[.。]\s+(?=[\"'“(]?[A-Z0-9])")
# Words before a period that do not end a sentence.
_ABBREVIATIONS = frozenset({"no", "nos", "art", "arts", "para", "mr", "mrs", "ms", "dr", "st"})
# A known organisation named as the complement of a longer name ("… Center of the State
# Council") is part of that name, not an issuer of its own.
_COMPLEMENT = re.compile(r"\bof\s+(?:the\s+)?$", re.IGNORECASE)
# Issuers are separated by commas, or by "and" before a new noun phrase ("and the …");
# a bare "and" may be part of a name ("Ministry of Industry and Information Technology").
_ISSUER_SEPARATOR = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+(?=the\s)", re.IGNORECASE)
_LEADING_WORDS = re.compile(r"^(?:(?:and|the)\s+)+", re.IGNORECASE)


def roman_to_int(numeral: str) -> int:
    """Value of a Roman numeral (I–CCCXCIX is plenty for chapters)."""
    total = 0
    for char, following in zip(numeral, [*numeral[1:], ""], strict=True):
        value = _ROMAN[char]
        total += -value if following and _ROMAN[following] > value else value
    return total


class EnglishParser(LayoutParser):
    """One parse of one English document."""

    language = "en"

    def structural(self, line: Line) -> bool:
        stripped = line.text.strip()
        return bool(_ROMAN_CHAPTER.match(stripped) or _ARABIC_ITEM.match(stripped))

    # -- the header -------------------------------------------------------------------------

    def parse_header(self) -> tuple[Span, Text, dt.date, int]:
        """Find the preface: title block(s) and the date line. Returns the index after it."""
        content = [i for i, line in enumerate(self.lines) if not line.blank]
        if not content:
            raise self.fail("the file is empty (it holds no text)", 1)
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
            if match and self.month(match) is not None:
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

    @staticmethod
    def month(match: re.Match[str]) -> int | None:
        """The month a date line names, by full English name or abbreviation."""
        name = (match.group("month") or match.group("month2")).lower()
        return _MONTHS.get(name)

    def parse_date(self, match: re.Match[str], line: Line) -> dt.date:
        day = match.group("day") or match.group("day2")
        try:
            return dt.date(int(match.group("year")), self.month(match) or 0, int(day))
        except ValueError as exc:
            raise self.fail(f"impossible date {line.text.strip()!r}: {exc}", line.number) from None

    # -- blocks: lines with their hand-wrapped continuations ---------------------------------

    def continues(self, previous: Line, line: Line) -> bool:
        """Whether ``line`` continues the block that ``previous`` (the line above) ends."""
        stripped = line.text.strip()
        return (
            stripped[:1].islower()
            and not self.structural(line)
            and not _SENTENCE_END.search(previous.text.rstrip())
        )

    def blocks(self, lines: list[Line]) -> list[list[Line]]:
        """Non-blank lines grouped into blocks: a line with the lines that continue it."""
        blocks: list[list[Line]] = []
        previous: Line | None = None
        for line in lines:
            if line.blank:
                previous = None
                continue
            if previous is not None and self.continues(previous, line):
                blocks[-1].append(line)
            else:
                blocks.append([line])
            previous = line
        return blocks

    def clean_block(self, block: list[Line], skip: int = 0) -> Text:
        """The cleaned text of a block, from ``skip`` characters into its first line."""
        texts = [self.clean(block[0], skip), *(self.clean(line) for line in block[1:])]
        return join_texts([t for t in texts if t.value], self.language)

    # -- the body ---------------------------------------------------------------------------

    def parse(self) -> Document:
        preface, title, date, index = self.parse_header()
        preamble: list[Paragraph] = []
        preamble_lines: list[Line] = []
        chapters: list[Chapter] = []
        closing: list[ClosingNote] = []
        chapter: Chapter | None = None
        item: Item | None = None
        for block in self.blocks(self.lines[index:]):
            line = block[0]
            stripped = line.text.strip()
            indent = len(line.text) - len(line.text.lstrip())
            if len(block) == 1 and (m := _SOURCE_NOTE.match(stripped)):
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
                    heading=self.clean_block(block, indent + m.start("rest")),
                    span=span_of(block),
                )
                self.check_chapter_number(chapters, chapter)
                chapters.append(chapter)
                item = None
                continue
            if m := _ARABIC_ITEM.match(stripped):
                number = m.group("num") or m.group("pnum")
                if chapter is None:
                    raise self.fail(
                        f"numbered item {number} stands before any chapter "
                        "(chapters are numbered I., II., …)",
                        line.number,
                    )
                item = self.item(block, number, indent + m.start("rest"))
                chapter.items.append(item)
                continue
            paragraph = Paragraph(self.clean_block(block), span_of(block))
            if item is not None:
                item.paragraphs.append(paragraph)
            elif chapter is not None:
                chapter.paragraphs.append(paragraph)
            else:
                preamble.append(paragraph)
                preamble_lines.extend(block)
        if not chapters:
            raise self.fail(
                "no chapters found: expected headings numbered I., II., … after the preamble",
                self.lines[index - 1].number,
            )
        numbering = self.check_item_numbers(chapters)
        issuers, doc_type, subject = self.title_parts(title.value)
        return self.new_document(
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
        )

    def item(self, block: list[Line], number: str, rest: int) -> Item:
        """A numbered item: its heading, and the body where it shares the heading's line."""
        line = block[0]
        cut = self.heading_end(line.text, rest)
        if cut is None:
            return Item(number, int(number), self.clean_block(block, rest), span_of(block))
        item = Item(number, int(number), self.clean(line, rest, cut), span_of(block))
        body_start = cut + 1
        item.body = self.clean_block(block, body_start)
        item.body_span = span_of(block, body_start)
        return item

    @staticmethod
    def heading_end(text: str, rest: int) -> int | None:
        """Where a heading sentence ends (the offset of its period), when a body follows it."""
        for m in _HEADING_END.finditer(text, rest):
            word = re.search(r"[A-Za-z]*$", text[rest : m.start()])
            if word and word.group().lower() not in _ABBREVIATIONS and len(word.group()) > 1:
                return m.start()
        return None

    # -- the title --------------------------------------------------------------------------

    def title_parts(self, title: str) -> tuple[list[tuple[str, str]], str | None, str | None]:
        """Issuers, document type and subject from a title like '<Type> of <Issuers> on <Subject>'.

        Issuers are matched against the known organisations; names between "of" and
        "on" that match none are taken as written and given ids of their own.
        """
        match = _TITLE_PARTS.match(title)
        if not match:
            return self.find_issuers(title), None, None
        return (
            self.split_issuers(match.group("issuers")),
            match.group("type"),
            match.group("subject"),
        )

    def split_issuers(self, phrase: str) -> list[tuple[str, str]]:
        """The issuers named in ``phrase``: known organisations, and the other names between."""
        known = [
            m
            for m in find_labels(phrase, organizations(), self.language)
            if not _COMPLEMENT.search(phrase[: m.start])
        ]
        found: list[tuple[str, str]] = []
        position = 0
        for m in [*known, None]:
            between = phrase[position : m.start if m else len(phrase)]
            for part in _ISSUER_SEPARATOR.split(between):
                name = _LEADING_WORDS.sub("", part.strip(" ,;")).strip()
                if re.search(r"[A-Z]", name) and slugify(name):
                    found.append((slugify(name), name))
            if m is not None:
                found.append((m.concept.iri, m.text))
                position = m.end
        unique: dict[str, str] = {}
        for ident, name in found:
            unique.setdefault(ident, name)
        return list(unique.items())
