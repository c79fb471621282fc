"""The English layout: Roman-numeral chapters, Arabic-numbered items, a date line.

As in the English translations of Chinese central documents: the title (possibly
wrapped, possibly repeated above as a running title), a date line such as
"(September 5, 2017)", the preamble, chapters "I.", "II.", items "1.", "2.", bodies
one line per paragraph, and a closing "(Source: …)" note.
"""

from __future__ import annotations

import datetime as dt
import re

from policygraph.model import Chapter, ClosingNote, Document, Item, Paragraph, Span, Text
from policygraph.parse import LayoutParser, document_id, slugify
from policygraph.sourcetext import Line, span_of
from policygraph.textclean import join_texts

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
                self.check_chapter_number(chapters, chapter)
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

    def title_parts(self, title: str) -> tuple[list[tuple[str, str]], str | None, str | None]:
        """Issuers, document type and subject from a title like '<Type> of <Issuers> on <Subject>'.

        Issuers are matched against the known organisations; where none is known, the
        names between "of" and "on" are taken as written and given ids of their own.
        """
        match = _TITLE_PARTS.match(title)
        head = match.group("issuers") if match else title
        found = self.find_issuers(head)
        if not found and match:
            found = [
                (slugify(part), part.strip())
                for part in re.split(r",\s*|\s+and\s+", match.group("issuers"))
                if slugify(part)
            ]
        if match:
            return found, match.group("type"), match.group("subject")
        return found, None, None
