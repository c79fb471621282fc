"""Reading source files and addressing their lines and character offsets.

Offsets are counted in Unicode code points from the start of the decoded file (a
UTF-8 byte-order mark is not counted), lines from 1; these are the coordinates every
span in the graph uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from policygraph.errors import InputError
from policygraph.model import Span


@dataclass(frozen=True)
class Line:
    """One line of the source, without its line break."""

    number: int  # from 1
    start: int  # code-point offset of the line in the file
    text: str
    ending: str = ""  # the line break that ends it ("\n", "\r\n", "\r" or "" at the end)

    @property
    def blank(self) -> bool:
        return not self.text.strip()

    def span(self) -> Span:
        return span_of([self])


def span_of(lines: list[Line], skip: int = 0) -> Span:
    """The span from the first to the last of ``lines`` (consecutive lines of one file).

    ``skip`` leaves out that many characters (and any whitespace after them) at the
    start of the first line, for text that shares a line with a heading. The span's
    text is the source's own, line breaks as written, so that it equals the file's
    text between the span's offsets whatever the line-break convention.
    """
    first, last = lines[0], lines[-1]
    text = "".join(line.text + line.ending for line in lines[:-1]) + last.text
    skip += len(text[skip:]) - len(text[skip:].lstrip())
    start_line = first.number + len(_LINE_BREAK.findall(text[:skip]))
    end = last.start + len(last.text)
    return Span(first.start + skip, end, start_line, last.number, text[skip:])


def read_source(path: Path) -> tuple[str, bytes]:
    """Read a UTF-8 text file, rejecting missing, empty, binary and non-UTF-8 files clearly."""
    if not path.exists():
        raise InputError("no such file or folder", path)
    if not path.is_file():
        raise InputError("not a regular file", path)
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("this file is UTF-16 text; convert it to UTF-8", path, 1)
    if b"\x00" in data:
        raise InputError(
            "this is a binary file, not plain text (it contains NUL bytes)",
            path,
            _line_at(data, data.index(b"\x00")),
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not valid UTF-8 (byte 0x{data[exc.start]:02x} at byte offset {exc.start}); "
            "convert the file to UTF-8",
            path,
            _line_at(data, exc.start),
        ) from None
    if not text.strip():
        raise InputError("the file is empty (it holds no text)", path, 1)
    return text, data


def _line_at(data: bytes, position: int) -> int:
    """The number of the line holding byte ``position``, counted as :func:`split_lines` does."""
    return len(_LINE_BREAK.findall(data[:position].decode("latin-1"))) + 1


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[Line]:
    """Split into lines, keeping each line's offset; any of \\n, \\r\\n, \\r ends a line.

    Only these count, as in editors and ``wc -l``: a form feed or U+2028 inside a line
    (which :meth:`str.splitlines` would treat as a break) must not shift line numbers.
    """
    lines = []
    start = 0
    for match in _LINE_BREAK.finditer(text):
        lines.append(Line(len(lines) + 1, start, text[start : match.start()], match.group()))
        start = match.end()
    if start < len(text):
        lines.append(Line(len(lines) + 1, start, text[start:]))
    return lines
