"""The Chinese layout: 一、 chapters, （一） items, a document number, a signature.

As the State Council and its General Office publish them: the title (wrapped over
lines), the document number (国发〔2018〕42号), the addressees (各省、…：), the
preamble, chapters 一、二、…, items （一）（二）… (straight through or restarting in
each chapter) whose heading ends in 。 with the body on the same line or below,
un-numbered paragraphs inside items, a closing paragraph, the signature (issuing
body, then the date 2018年12月21日) and notes such as （此件公开发布）. Regulations in
第一章 / 第一条 form are read the same way, articles being items without headings.

Patterns are matched on a simplified-character view of the text of the same length,
so documents in traditional characters parse alike while the graph keeps the text as
published. Half-width and full-width brackets and colons are both accepted.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from policygraph.model import Chapter, ClosingNote, Document, Item, Paragraph, Span, Text
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
_DATE = re.compile(r"^(?P<year>\d{4})\s*年\s*(?P<month>\d{1,2})\s*月\s*(?P<day>\d{1,2})\s*日$")
_ADDRESSEES = re.compile(r"^[^。；]{2,200}[:：]$")
_NOTE = re.compile(r"^[（(][^（）()]{1,40}[）)]$")
_TITLE_TYPES = re.compile(
    r"的?(?P<type>指导意见|实施意见|若干意见|意见|通知|决定|规划|方案|计划|办法|规定|条例|细则|纲要)$"
)
_HEADING_END = re.compile(r"[。：:]")
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


def _simplified(text: str) -> str:
    """A simplified-character view of ``text`` with the same length, for pattern matching."""
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a dependency
        return text
    converter = opencc.OpenCC("t2s")
    view = converter.convert(text)
    if len(view) == len(text):
        return view
    return "".join(c if len(s := converter.convert(c)) != 1 else s for c in text)


class ChineseParser(LayoutParser):
    """One parse of one Chinese document."""

    language = "zh"

    def __init__(self, path, text, data):  # type: ignore[no-untyped-def]
        super().__init__(path, text, data)
        view = _simplified(text)
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

    def parse_header(self) -> tuple[int, Text, str | None, str | None, int]:
        """Title lines, document number and addressees: (first, title, number, addressees, next)."""
        content = [i for i, line in enumerate(self.lines) if not line.blank]
        first = content[0]
        index = first
        title_lines: list[Line] = []
        number = None
        addressees = None
        while index < len(self.lines):
            line = self.lines[index]
            simple = self.simple(line)
            if line.blank:
                if title_lines:
                    index += 1
                    continue
            elif self.numbered(line):
                break
            elif _DOC_NUMBER.match(simple) and title_lines and number is None:
                number = line.text.strip()
            elif _ADDRESSEES.match(simple) and title_lines:
                addressees = self.clean(line).value
                index += 1
                break
            elif number is None and len(simple) <= 40 and not re.search(r"[。；，]", simple):
                title_lines.append(line)
            else:
                break
            index += 1
        if not title_lines:
            raise self.fail(
                "expected a title at the top of the document (a short line without 。)",
                self.lines[first].number,
            )
        title = join_texts([self.clean(line) for line in title_lines], self.language)
        return first, title, number, addressees, index

    # -- the body ---------------------------------------------------------------------------

    def parse(self) -> Document:
        first, title, doc_number, addressees, index = self.parse_header()
        preface = span_of(self.lines[first:index])
        while preface.end_line > preface.start_line and self.lines[preface.end_line - 1].blank:
            preface = span_of(self.lines[first : preface.end_line - 1])
        preamble: list[Paragraph] = []
        preamble_lines: list[Line] = []
        chapters: list[Chapter] = []
        chapter: Chapter | None = None
        item: Item | None = None
        styles: dict[str, tuple[str, int]] = {}
        body_lines = [line for line in self.lines[index:] if not line.blank]
        tail_start = self.find_tail(body_lines)
        for line in body_lines[:tail_start]:
            numbered = self.numbered(line)
            if numbered is None:
                paragraph = Paragraph(self.clean(line), line.span())
                if item is not None:
                    item.paragraphs.append(paragraph)
                elif chapter is not None:
                    chapter.paragraphs.append(paragraph)
                else:
                    preamble.append(paragraph)
                    preamble_lines.append(line)
                continue
            seen = styles.setdefault(numbered.kind, (numbered.style, line.number))
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
                self.check_chapter_number(chapters, chapter)
                chapters.append(chapter)
                item = None
            else:
                if chapter is None:
                    raise self.fail(
                        f"numbered item {numbered.number} stands before any chapter "
                        "(chapters are numbered 一、二、… or 第一章)",
                        line.number,
                    )
                item = self.item(line, numbered)
                chapter.items.append(item)
        if not chapters:
            raise self.fail(
                "no chapters found: expected headings numbered 一、二、… (or 第一章) "
                "after the preamble",
                body_lines[0].number if body_lines else self.lines[-1].number,
            )
        closing, date, signers = self.parse_tail(body_lines[tail_start:], chapters)
        numbering = self.check_item_numbers(chapters)
        issuers, doc_type, subject = self.title_parts(title.value)
        for signer in signers:
            if signer[0] not in [ident for ident, _ in issuers]:
                issuers.append(signer)
        if date is None:
            raise self.fail(
                "no date found: expected a signature date such as 2018年12月21日 after the body",
                self.lines[-1].number,
            )
        return self.new_document(
            title=title,
            preface=preface,
            date=date,
            issuers=issuers,
            doc_id=self.document_id(doc_number, date, subject or title.value),
            doc_type=doc_type,
            doc_number=doc_number,
            addressees=addressees,
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

    def item(self, line: Line, numbered: _Numbered) -> Item:
        """An item: heading up to the first 。 (or ：), body after it on the same line."""
        text = line.text
        rest = text[numbered.rest_start :].rstrip()
        cut = _HEADING_END.search(self.view[line.number][numbered.rest_start :])
        # Articles (第一条) have no heading of their own: the whole line is their text.
        heading_end = len(rest) if numbered.style == "第一条" or cut is None else cut.start()
        heading_line = Line(line.number, line.start, text[: numbered.rest_start + heading_end])
        heading = self.clean(heading_line, numbered.rest_start)
        body_start = numbered.rest_start + heading_end + 1
        item = Item(
            number=numbered.number, ordinal=numbered.ordinal, heading=heading, span=line.span()
        )
        body = text[body_start:].strip()
        if heading_end < len(rest) and body:
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
        for index in range(len(lines) - 1, 0, -1):
            if _DATE.match(self.simple(lines[index])):
                signer = index - 1
                while (
                    signer > 0
                    and self.is_signer(lines[signer])
                    and self.is_signer(lines[signer - 1])
                ):
                    signer -= 1
                return signer if self.is_signer(lines[signer]) else index
        return len(lines)

    def is_signer(self, line: Line) -> bool:
        simple = self.simple(line)
        return (
            bool(self.find_issuers(simple))
            and len(simple) <= 30
            and not re.search(r"[。，；]", simple)
        )

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
                try:
                    date = dt.date(int(m["year"]), int(m["month"]), int(m["day"]))
                except ValueError as exc:
                    raise self.fail(f"impossible date {simple!r}: {exc}", line.number) from None
                signature.append(line)
                texts = [self.clean(s) for s in signature]
                block = span_of(self.lines[signature[0].number - 1 : line.number])
                closing.append(ClosingNote("signature", join_texts(texts, "en"), block))
            elif date is None and self.is_signer(line):
                signers.extend(self.find_issuers(line.text.strip()))
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
        """
        last = chapters[-1].items[-1] if chapters and chapters[-1].items else None
        if last is None or not last.paragraphs:
            return []
        own = last.body.value if last.body is not None else last.heading.value
        if not re.search(r"负责[^（）()]*[）)]\s*$", _simplified(own)):
            return []
        moved = [ClosingNote("paragraph", p.text, p.span) for p in last.paragraphs]
        last.paragraphs = []
        return moved

    def title_parts(self, title: str) -> tuple[list[tuple[str, str]], str | None, str | None]:
        """Issuers before 关于, the document type at the end, the subject between."""
        simple = _simplified(title)
        about = simple.find("关于")
        head = title[:about] if about > 0 else ""
        issuers = self.find_issuers(head) if head else []
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
            m = _DOC_NUMBER.match(_simplified(doc_number))
            if m:
                prefix = "".join(lazy_pinyin(m["prefix"]))
                return f"{slugify(prefix)}-{m['year']}-{m['seq']}"
        syllables = lazy_pinyin(_simplified(subject))
        return f"{date.isoformat()}-{slugify(' '.join(syllables), max_words=8)}"
