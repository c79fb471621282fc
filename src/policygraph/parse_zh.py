"""The Chinese layout: 一、 chapters, （一） items, a document number, a signature.

As the State Council and its General Office publish them: the title (wrapped over
lines), the document number (国发〔2018〕42号), the addressees (各省、…：), the
preamble, chapters 一、二、…, items （一）（二）… (straight through or restarting in
each chapter) whose heading ends in 。 with the body on the same line or below,
un-numbered paragraphs inside items, a closing paragraph, the signature (issuing
body, then the date 2018年12月21日 or 二〇一八年十二月二十一日) and notes such as
（此件公开发布）. Regulations in 第一章 / 第一条 form are read the same way, articles
being items whose designation (第一条) stands for a heading; their date and issuer may
come from a promulgation note under the title. A cover notice (…关于印发…的通知),
signed and dated before the first chapter, is read as the preamble of the document
it issues. Lines numbered in a lower style inside an item (（一） in an article, 1. in
an item （一）) enumerate within it; the same style directly under a chapter is mixed
numbering, and is rejected.

Patterns are matched on a simplified-character view of the text of the same length,
so documents in traditional characters parse alike while the graph keeps the text as
published. Half-width and full-width brackets and colons are both accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, lru_cache

from policygraph.model import Chapter, ClosingNote, Document, Item, Paragraph, Span
from policygraph.parse import LayoutParser, slugify
from policygraph.sourcetext import Line, span_of
from policygraph.textclean import join_texts

_NUM = "零〇一二三四五六七八九十百两"
_CHAPTER = re.compile(rf"^(?P<num>[{_NUM}]+)\s*[、.．]\s*(?P<rest>\S.*)$")
_CHAPTER_ZHANG = re.compile(rf"^第(?P<num>[{_NUM}\d]+)章\s*(?P<rest>\S.*)$")
_ITEM = re.compile(rf"^[（(]\s*(?P<num>[{_NUM}]+)\s*[）)]\s*(?P<rest>\S.*)$")
_ITEM_TIAO = re.compile(rf"^第(?P<num>[{_NUM}\d]+)条\s*(?P<rest>\S.*)$")
_ARABIC_ITEM = re.compile(r"^(?P<num>\d{1,3})\s*[.．、]\s*(?P<rest>\S.*)$")
_DOC_NUMBER = re.compile(
    r"^(?P<prefix>[\u4e00-\u9fff]{1,12})[〔\[［(（](?P<year>\d{4})[〕\]］)）](?P<seq>\d+)号$"
)
# Dates in digits (2018年12月21日) or in Chinese numerals (二〇一八年十二月二十一日).
_YEAR_DIGITS = "[0-9〇零一二三四五六七八九]{4}"
_DAY_DIGITS = "[0-9]{1,2}|[一二三四五六七八九十]{1,3}"
_DATE = re.compile(
    rf"^(?P<year>{_YEAR_DIGITS})\s*年\s*(?P<month>{_DAY_DIGITS})\s*月"
    rf"\s*(?P<day>{_DAY_DIGITS})\s*日$"
)
_ADDRESSEES = re.compile(r"^[^。；]{2,200}[:：]$")
# Notes after the signature: （此件公开发布）, and distribution lines (抄送：…).
_NOTE = re.compile(r"^(?:[（(][^（）()]{1,40}[）)]|(?:抄送|印发|发送)\s*[:：].*)$")
_TITLE_TYPES = re.compile(
    r"的?(?P<type>指导意见|实施意见|若干意见|意见|通知|决定|规划|方案|计划|办法|规定|条例|细则|纲要)$"
)
_HEADING_END = re.compile(r"[。：:]")
# A promulgation note under a regulation's title: （2019年4月20日国务院令第713号公布 …）.
_HEADER_NOTE = re.compile(
    r"^[（(][^（）()]*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日[^（）()]*[）)]$"
)
_DATE_IN_TEXT = re.compile(
    r"(?P<year>\d{4})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日"
)
# Who promulgated a regulation, in its note: …日中华人民共和国国务院令第713号公布
_DECREE = re.compile(r"日\s*(?P<who>[\u4e00-\u9fff]+?)令第")
_SECTION = re.compile(rf"^第[{_NUM}\d]+节")
# Item numbering styles from the highest level down: a line numbered in a lower style
# inside an item (（一） under 第一条, 1. under （一）) is an enumerated paragraph of it.
_ITEM_LEVELS = ("第一条", "（一）", "1.")
# A closing paragraph addresses those who implement the document: 各地区、各部门要…
_EXHORTATION = re.compile(r"^各(?:地区|地方|级|省|有关部门|部门|单位)[^。]*?要")
# How the names of issuing bodies end: 人民政府, 国务院, 工业和信息化部, 办公厅, 委员会, …
_ORG_NAME_END = re.compile(r"(?:政府|院|部|委|局|厅|办公室|委员会|署|行|会|中心|办)$")
_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}


def chinese_to_int(numeral: str) -> int:
    """Value of a Chinese numeral as used in numbering (一 … 九十九, 一百…), or of digits."""
    if numeral.isdigit():
        return int(numeral)
    total, current = 0, 0
    for char in numeral:
        if char == "百":
            total += (current or 1) * 100
            current = 0
        elif char == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = _DIGITS[char]
    return total + current


@dataclass(frozen=True)
class _Numbered:
    """A numbered heading line: which pattern, the number, and where the rest starts."""

    kind: str  # "chapter" or "item"
    style: str  # the numbering style, to catch mixed schemes
    number: str
    ordinal: int
    rest_start: int  # offset of the text after the number, within the line


@dataclass
class _Header:
    """What the lines above the body say, and where the body begins."""

    first: int  # index of the first non-blank line
    index: int  # index of the first line after the header
    title_lines: list[Line] = field(default_factory=list)
    number: str | None = None  # the document number as printed
    date: dt.date | None = None  # from a promulgation note under the title
    addressees: str | None = None
    issuers: list[tuple[str, str]] = field(default_factory=list)  # who made the decree


@dataclass
class _Body:
    """The parts of the body found so far, and which chapter and item are open."""

    preamble: list[Paragraph] = field(default_factory=list)
    preamble_lines: list[Line] = field(default_factory=list)
    chapters: list[Chapter] = field(default_factory=list)
    chapter: Chapter | None = None
    item: Item | None = None
    styles: dict[str, tuple[str, int]] = field(default_factory=dict)  # kind: (style, line)


@cache
def _converter() -> Callable[[str], str]:
    """OpenCC's traditional-to-simplified conversion (building it costs a fifth of a second)."""
    import opencc

    return opencc.OpenCC("t2s").convert


@lru_cache(maxsize=4096)
def simplified(text: str) -> str:
    """A simplified-character view of ``text`` with the same length, for pattern matching.

    Offsets in the view are offsets in ``text``, so what a pattern finds in the view is
    cut from the text as published. Where a phrase converts to a different length, the
    text is converted character by character instead.
    """
    convert = _converter()
    view = convert(text)
    if len(view) == len(text):
        return view
    return "".join(s if len(s := convert(c)) == 1 else c for c in text)


class ChineseParser(LayoutParser):
    """One parse of one Chinese document."""

    language = "zh"

    def __init__(self, path, text, data):  # type: ignore[no-untyped-def]
        super().__init__(path, text, data)
        view = simplified(text)
        # Set when a cover notice issues the document (see :meth:`read_cover`).
        self.cover_date: dt.date | None = None
        self.cover_signers: list[tuple[str, str]] = []
        self.view = {
            line.number: view[line.start : line.start + len(line.text)] for line in self.lines
        }

    def simple(self, line: Line) -> str:
        """The simplified view of a line, stripped."""
        return self.view[line.number].strip()

    def numbered(self, line: Line) -> _Numbered | None:
        text = self.view[line.number]
        indent = len(text) - len(text.lstrip())
        stripped = text.strip()
        for kind, style, pattern in (
            ("chapter", "一、", _CHAPTER),
            ("chapter", "第一章", _CHAPTER_ZHANG),
            ("item", "（一）", _ITEM),
            ("item", "第一条", _ITEM_TIAO),
            ("item", "1.", _ARABIC_ITEM),
        ):
            if m := pattern.match(stripped):
                number = line.text.strip()[m.start("num") : m.end("num")]
                return _Numbered(
                    kind, style, number, chinese_to_int(m.group("num")), indent + m.start("rest")
                )
        return None

    # -- the header -------------------------------------------------------------------------

    def parse_header(self) -> _Header:
        """Title lines, document number, a promulgation note and the addressees."""
        content = [i for i, line in enumerate(self.lines) if not line.blank]
        header = _Header(first=content[0], index=content[0])
        while header.index < len(self.lines):
            line = self.lines[header.index]
            if not self.header_line(line, header):
                break
            header.index += 1
            if header.addressees is not None:
                break
        if not header.title_lines:
            raise self.fail(
                "expected a title at the top of the document (a short line without 。)",
                self.lines[header.first].number,
            )
        return header

    def header_line(self, line: Line, header: _Header) -> bool:
        """Take ``line`` into the header if it belongs there; False where the body begins."""
        simple = self.simple(line)
        if line.blank:
            return bool(header.title_lines)
        if self.numbered(line):
            return False
        if _DOC_NUMBER.match(simple) and header.number is None:
            # The number stands under the title, or above it in some layouts.
            header.number = line.text.strip()
        elif header.title_lines and header.date is None and _HEADER_NOTE.match(simple):
            header.date = self.date(_DATE_IN_TEXT.search(simple), line)
            if decree := _DECREE.search(simple):
                words = line.text.strip()[decree.start("who") : decree.end("who")]
                header.issuers = self.organisations_in(words)
        elif _ADDRESSEES.match(simple) and header.title_lines:
            # The colon introduces the body; it is not part of the addressees.
            header.addressees = self.clean(line).value.rstrip("：:").rstrip()
        elif (
            (header.number is None or not header.title_lines)
            and header.date is None
            and len(simple) <= 40
            and not re.search(r"[。；，]", simple)
        ):
            header.title_lines.append(line)
        else:
            return False
        return True

    def date(self, match: re.Match[str] | None, line: Line) -> dt.date | None:
        """The date a match of a date pattern names, checked."""
        if match is None:
            return None
        year = "".join(str(chinese_to_int(c)) for c in match["year"])
        try:
            return dt.date(int(year), chinese_to_int(match["month"]), chinese_to_int(match["day"]))
        except ValueError as exc:
            raise self.fail(f"impossible date {match.group()!r}: {exc}", line.number) from None

    # -- the body ---------------------------------------------------------------------------

    def parse(self) -> Document:
        header = self.parse_header()
        title = join_texts([self.clean(line) for line in header.title_lines], self.language)
        first, index = header.first, header.index
        preface = span_of(self.lines[first:index])
        while preface.end_line > preface.start_line and self.lines[preface.end_line - 1].blank:
            preface = span_of(self.lines[first : preface.end_line - 1])
        body = _Body()
        body_lines = [line for line in self.lines[index:] if not line.blank]
        tail_start = self.find_tail(body_lines)
        for line in body_lines[:tail_start]:
            self.body_line(line, body)
        chapters = body.chapters
        if not chapters:
            raise self.fail(
                "no chapters found: expected headings numbered 一、二、… (or 第一章) "
                "after the preamble",
                body_lines[0].number if body_lines else self.lines[-1].number,
            )
        closing, date, signers = self.parse_tail(body_lines[tail_start:], chapters)
        numbering = self.check_item_numbers(chapters)
        date = date or header.date or self.cover_date
        if date is None:
            raise self.fail(
                "no date found: expected a signature date such as 2018年12月21日 after the body "
                "(or a promulgation note with the date under the title)",
                self.lines[-1].number,
            )
        issuers, doc_type, subject = self.title_parts(title.value)
        self.add_issuers(issuers, [*signers, *header.issuers, *self.cover_signers], closing)
        preamble_lines = body.preamble_lines
        return self.new_document(
            title=title,
            preface=preface,
            date=date,
            issuers=issuers,
            doc_id=self.document_id(header.number, date, subject or title.value),
            doc_type=doc_type,
            doc_number=header.number,
            addressees=header.addressees,
            preamble=body.preamble,
            preamble_span=(
                span_of(self.lines[preamble_lines[0].number - 1 : preamble_lines[-1].number])
                if preamble_lines
                else None
            ),
            chapters=chapters,
            closing=closing,
            numbering=numbering,
        )

    def add_issuers(
        self,
        issuers: list[tuple[str, str]],
        more: list[tuple[str, str]],
        closing: list[ClosingNote],
    ) -> None:
        """Add the signers (and decree makers) to the title's issuers; there must be one."""
        for signer in more:
            if signer[0] not in [ident for ident, _ in issuers]:
                issuers.append(signer)
        if not issuers:
            raise self.fail(
                "no issuing body found: expected it before 关于 in the title, "
                "in the signature above the date, or in a promulgation note",
                next(
                    (n.span.end_line for n in closing if n.kind == "signature"),
                    self.lines[0].number,
                ),
            )

    def body_line(self, line: Line, body: _Body) -> None:
        """Place one line of the body: a chapter, an item, or a paragraph of what is open."""
        numbered = self.numbered(line)
        if numbered is not None and numbered.kind == "item" and self.enumerates(numbered, body):
            numbered = None
        if numbered is None:
            if _SECTION.match(self.simple(line)):
                raise self.fail(
                    "sections (第一节) inside chapters are not supported; "
                    "expected chapters (第一章) holding articles (第一条)",
                    line.number,
                )
            paragraph = Paragraph(self.clean(line), line.span())
            if body.item is not None:
                body.item.paragraphs.append(paragraph)
            elif body.chapter is not None:
                body.chapter.paragraphs.append(paragraph)
            else:
                body.preamble.append(paragraph)
                body.preamble_lines.append(line)
            return
        seen = body.styles.setdefault(numbered.kind, (numbered.style, line.number))
        if seen[0] != numbered.style:
            raise self.fail(
                f"mixed numbering: {numbered.kind} numbered {numbered.style!r} style here, "
                f"but {seen[0]!r} style at line {seen[1]}",
                line.number,
            )
        if numbered.kind == "chapter":
            chapter = Chapter(
                number=numbered.number,
                ordinal=numbered.ordinal,
                heading=self.clean(line, numbered.rest_start),
                span=line.span(),
            )
            self.check_chapter_number(body.chapters, chapter)
            body.chapters.append(chapter)
            body.chapter, body.item = chapter, None
            return
        if body.chapter is None:
            raise self.fail(
                f"numbered item {numbered.number} stands before any chapter "
                "(chapters are numbered 一、二、… or 第一章)",
                line.number,
            )
        body.item = self.item(line, numbered)
        body.chapter.items.append(body.item)

    def enumerates(self, numbered: _Numbered, body: _Body) -> bool:
        """Whether an item-numbered line is an enumeration inside the open item.

        It is when it is numbered in a lower style than the document's items
        (（一） inside an article 第一条, 1. inside an item （一）) and an item is open.
        """
        seen = body.styles.get("item")
        if seen is None or body.item is None or seen[0] == numbered.style:
            return False
        return _ITEM_LEVELS.index(numbered.style) > _ITEM_LEVELS.index(seen[0])

    def item(self, line: Line, numbered: _Numbered) -> Item:
        """An item: heading up to the first 。 (or ：), body after it on the same line.

        Articles (第一条) have no heading of their own: their designation as printed
        stands for it, and all their text is body, so targets and notes in it are read.
        """
        text = line.text
        rest = text[numbered.rest_start :].rstrip()
        if numbered.style == "第一条":
            indent = len(text) - len(text.lstrip())
            heading = self.clean(line, indent, numbered.rest_start)
            body_start = numbered.rest_start
        else:
            cut = _HEADING_END.search(self.view[line.number][numbered.rest_start :])
            heading_end = len(rest) if cut is None else cut.start()
            heading = self.clean(line, numbered.rest_start, numbered.rest_start + heading_end)
            body_start = numbered.rest_start + heading_end + 1
        item = Item(
            number=numbered.number, ordinal=numbered.ordinal, heading=heading, span=line.span()
        )
        body = text[body_start:].strip()
        if body:
            lead = len(text[body_start:]) - len(text[body_start:].lstrip())
            start = line.start + body_start + lead
            item.body = self.clean(line, body_start)
            item.body_span = Span(start, start + len(body), line.number, line.number, body)
        return item

    # -- the tail: closing paragraphs, signature, notes --------------------------------------

    def find_tail(self, lines: list[Line]) -> int:
        """Index of the first line after the body proper: the signature block and notes.

        The signature is an issuer line followed by a date line; what follows are notes.
        Closing paragraphs before the signature are found later, in :meth:`parse_tail`.
        """
        first_chapter = next(
            (i for i, line in enumerate(lines) if self.is_chapter(line)), len(lines)
        )
        for index in range(len(lines) - 1, 0, -1):
            if m := _DATE.match(self.simple(lines[index])):
                if index < first_chapter:
                    self.read_cover(lines[:index], self.date(m, lines[index]))
                    return len(lines)
                signer = index - 1
                while (
                    signer > 0
                    and self.is_signer(lines[signer])
                    and self.is_signer(lines[signer - 1])
                ):
                    signer -= 1
                return signer if self.is_signer(lines[signer]) else index
        return len(lines)

    def is_chapter(self, line: Line) -> bool:
        numbered = self.numbered(line)
        return numbered is not None and numbered.kind == "chapter"

    def read_cover(self, above: list[Line], date: dt.date | None) -> None:
        """A cover notice that issues the document below it: its signers and date.

        Its lines (text, signature, notes) and the title of the document it issues
        stand before the first chapter and are read as the preamble.
        """
        self.cover_date = date
        upwards = list(reversed(above))
        count = next((i for i, s in enumerate(upwards) if not self.is_signer(s)), len(upwards))
        for line in upwards[:count]:
            self.cover_signers[:0] = self.organisations_in(line.text.strip())

    def is_signer(self, line: Line) -> bool:
        """A short line naming an organisation, known or by the form of its name."""
        simple = self.simple(line)
        return (
            len(simple) <= 30
            and not re.search(r"[。，；：:（）()]", simple)
            and self.numbered(line) is None
            and (bool(self.find_issuers(simple)) or bool(_ORG_NAME_END.search(simple)))
        )

    def organisations_in(self, text: str) -> list[tuple[str, str]]:
        """The organisations a title head or signature names: known ones, and the rest.

        What is left between known names (separated by 、, spaces or commas) names
        organisations the vocabulary does not know; they get ids of their own.
        """
        from policygraph.agencies import resolve

        found = self.find_issuers(text)
        rest = text
        for _, words in found:
            rest = rest.replace(words, "、")
        for name in re.split(r"[、，,\s]+", rest):
            if _ORG_NAME_END.search(simplified(name)):
                ident = resolve(name)[0]
                if ident not in [i for i, _ in found]:
                    found.append((ident, name))
        return found

    def parse_tail(
        self, lines: list[Line], chapters: list[Chapter]
    ) -> tuple[list[ClosingNote], dt.date | None, list[tuple[str, str]]]:
        """Closing paragraphs, the signature block (signers and date) and notes."""
        closing: list[ClosingNote] = self.closing_paragraphs(chapters)
        date = None
        signers: list[tuple[str, str]] = []
        signature: list[Line] = []
        for line in lines:
            simple = self.simple(line)
            if date is None and (m := _DATE.match(simple)):
                date = self.date(m, line)
                signature.append(line)
                texts = [self.clean(s) for s in signature]
                block = span_of(self.lines[signature[0].number - 1 : line.number])
                closing.append(ClosingNote("signature", join_texts(texts, "en"), block))
            elif date is None and self.is_signer(line):
                signers.extend(self.organisations_in(line.text.strip()))
                signature.append(line)
            elif _NOTE.match(simple):
                closing.append(ClosingNote("note", self.clean(line), line.span()))
            else:
                raise self.fail(
                    "unexpected text after the signature; expected notes such as （此件公开发布）",
                    line.number,
                )
        return closing, date, signers

    def closing_paragraphs(self, chapters: list[Chapter]) -> list[ClosingNote]:
        """Move trailing paragraphs of the last item out of it when they close the document.

        They do when the last item's own text ends with a responsibility note
        (（…负责）): such a note closes an item, so what follows belongs to the document.
        They do too from the first trailing paragraph that turns to those who implement
        the document (各地区、各部门要…), when the item keeps text of its own before it.
        """
        last = chapters[-1].items[-1] if chapters and chapters[-1].items else None
        if last is None or not last.paragraphs:
            return []
        own = last.body.value if last.body is not None else last.heading.value
        if re.search(r"负责[^（）()]*[）)]\s*$", simplified(own)):
            cut = 0
        else:
            starts = [
                index
                for index, paragraph in enumerate(last.paragraphs)
                if _EXHORTATION.match(simplified(paragraph.text.value))
                and (index > 0 or last.body is not None)
            ]
            if not starts:
                return []
            cut = starts[0]
        moved = [ClosingNote("paragraph", p.text, p.span) for p in last.paragraphs[cut:]]
        last.paragraphs = last.paragraphs[:cut]
        return moved

    def title_parts(self, title: str) -> tuple[list[tuple[str, str]], str | None, str | None]:
        """Issuers before 关于, the document type at the end, the subject between."""
        simple = simplified(title)
        about = simple.find("关于")
        head = title[:about] if about > 0 else ""
        issuers = self.organisations_in(head) if head else []
        kind = _TITLE_TYPES.search(simple)
        doc_type = title[kind.start("type") :] if kind else None
        start = about + 2 if about >= 0 else 0
        end = kind.start() if kind else len(title)
        subject = title[start:end] or None
        return issuers, doc_type, subject

    def document_id(self, doc_number: str | None, date: dt.date, subject: str) -> str:
        """From the document number where there is one (国办发〔2018〕121号 → guobanfa-2018-121)."""
        from pypinyin import lazy_pinyin

        if doc_number:
            m = _DOC_NUMBER.match(simplified(doc_number))
            if m:
                prefix = "".join(lazy_pinyin(m["prefix"]))
                return f"{slugify(prefix)}-{m['year']}-{m['seq']}"
        syllables = lazy_pinyin(simplified(subject))
        return f"{date.isoformat()}-{slugify(' '.join(syllables), max_words=8)}"
