"""Reading source files and addressing their lines and character offsets.

Offsets are counted in Unicode code points from the start of the decoded file (a
UTF-8 byte-order mark is not counted), lines from 1; these are the coordinates every
span in the graph uses.
"""

from __future__ import annotations

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
