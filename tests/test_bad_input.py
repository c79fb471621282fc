"""Bad input, through the command line: one clear line naming the file and line, exit
code 2, no traceback — and the previous build left exactly as it was."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BUNDLED, PINNED_EPOCH, REPO

DATA = Path(__file__).parent / "data" / "en"

# A small valid document in the layout; each case below breaks one thing in it.
VALID = """\
Notice of the State Council on Improving Flood Warning in Small River Basins
(April 2, 2022)

Floods in small river basins rise fast and leave little time to warn people.

I. General Requirements
1. Guiding Thought
2. Main Objectives
By 2025, every county in a flood-prone basin will run a warning system.

II. Main Tasks
3. Build automatic rain gauges in upstream villages
4. Send warnings by text message and loudspeaker
5. Train village flood wardens

III. Safeguards
6. Increase funding for warning systems
7. Check the systems before every flood season

(Source: Xinhua)
"""


def env() -> dict[str, str]:
    return {**os.environ, "SOURCE_DATE_EPOCH": PINNED_EPOCH}


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policygraph", *args],
        cwd=cwd,
        env=env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def line_number(text: str, line: str, occurrence: int = 1) -> int:
    """The 1-based number of the ``occurrence``-th line equal to ``line``."""
    numbers = [n for n, found in enumerate(text.split("\n"), start=1) if found == line]
    return numbers[occurrence - 1]


def replace_line(text: str, old: str, new: str) -> str:
    lines = text.split("\n")
    assert lines.count(old) == 1, old
    lines[lines.index(old)] = new
    return "\n".join(lines)


def assert_one_line_error(result, path: Path | str, line: int | None) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    # Progress lines ("build [ 5.0s] documents: …") may come first in a log; the error is one line.
    lines = [line for line in result.stderr.splitlines() if not line.startswith("build [")]
    assert len(lines) == 1, result.stderr
    message = lines[0]
    assert str(path) in message
    if line is not None:
        assert f"{path}:{line}:" in message, message
    return message


def test_the_valid_document_builds(tmp_path):
    source = tmp_path / "valid.txt"
    source.write_text(VALID, encoding="utf-8")
    result = run("build", str(source), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "3 chapters, 7 items" in result.stdout


def _bad_documents() -> dict[str, tuple[bytes, int]]:
    """name → (file content, the line the error must name), computed from the text."""
    cases: dict[str, tuple[bytes, int]] = {}
    cases["empty"] = (b"", 1)
    cases["only-blank-lines"] = (b"\n  \n\t\n", 1)
    binary = VALID.replace("Train village flood wardens", "Train \x00\x01\x02 wardens")
    cases["binary"] = (binary.encode(), line_number(binary, "5. Train \x00\x01\x02 wardens"))
    latin = VALID.replace("Send warnings", "Send café warnings")
    cases["latin-1"] = (
        latin.encode("latin-1"),
        line_number(latin, "4. Send café warnings by text message and loudspeaker"),
    )
    prose = "Flood warnings matter.\n\nThey save lives in small river basins, as everyone knows.\n"
    cases["no-structure"] = (prose.encode(), 1)
    no_date = VALID.replace("(April 2, 2022)\n", "")
    cases["no-date-line"] = (no_date.encode(), line_number(no_date, "I. General Requirements"))
    skip = replace_line(VALID, "III. Safeguards", "IV. Safeguards")
    cases["chapter-skips"] = (skip.encode(), line_number(skip, "IV. Safeguards"))
    repeat = replace_line(VALID, "III. Safeguards", "II. Safeguards")
    cases["chapter-repeats"] = (repeat.encode(), line_number(repeat, "II. Safeguards"))
    old = "4. Send warnings by text message and loudspeaker"
    item_skip = replace_line(VALID, old, old.replace("4.", "9."))
    cases["item-skips"] = (item_skip.encode(), line_number(item_skip, old.replace("4.", "9.")))
    item_repeat = replace_line(VALID, old, old.replace("4.", "3."))
    cases["item-repeats"] = (
        item_repeat.encode(),
        line_number(item_repeat, old.replace("4.", "3.")),
    )
    early = replace_line(
        VALID,
        "Floods in small river basins rise fast and leave little time to warn people.",
        "1. Floods in small river basins rise fast.",
    )
    cases["item-before-chapter"] = (
        early.encode(),
        line_number(early, "1. Floods in small river basins rise fast."),
    )
    date = VALID.replace("(April 2, 2022)", "(April 31, 2022)")
    cases["impossible-date"] = (date.encode(), line_number(date, "(April 31, 2022)"))
    after = VALID + "\nIV. Afterthoughts\n"
    cases["text-after-source-note"] = (after.encode(), line_number(after, "IV. Afterthoughts"))
    return cases


BAD = _bad_documents()


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_document_gives_one_line_naming_file_and_line(tmp_path, name):
    content, line = BAD[name]
    source = tmp_path / f"{name}.txt"
    source.write_bytes(content)
    out = tmp_path / "out"
    result = run("build", str(source), "--out", str(out))
    assert_one_line_error(result, source, line)
    assert not out.exists()


def test_a_bad_document_among_good_ones_is_named(tmp_path):
    for path in DATA.glob("*.txt"):
        (tmp_path / path.name).write_bytes(path.read_bytes())
    content, line = BAD["item-skips"]
    bad = tmp_path / "zz-bad.txt"
    bad.write_bytes(content)
    result = run("build", str(tmp_path), "--out", str(tmp_path / "out"))
    assert_one_line_error(result, bad, line)


def test_missing_path(tmp_path):
    missing = tmp_path / "no-such-file.txt"
    result = run("build", str(missing), "--out", str(tmp_path / "out"))
    assert_one_line_error(result, missing, None)


def test_folder_without_text_files(tmp_path):
    folder = tmp_path / "empty-folder"
    folder.mkdir()
    (folder / "notes.md").write_text("# not a policy\n")
    result = run("build", str(folder), "--out", str(tmp_path / "out"))
    assert_one_line_error(result, folder, None)


# -- the previous build survives ---------------------------------------------------------------


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def strays(out: Path) -> list[str]:
    """Temporary folders of a build left beside its output."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


@pytest.fixture(scope="module")
def previous_build(tmp_path_factory) -> Path:
    """A good build, made once; tests copy it before letting a build fail over it."""
    out = tmp_path_factory.mktemp("previous") / "build"
    result = run("build", str(BUNDLED), "--out", str(out))
    assert result.returncode == 0, result.stderr
    return out


def copy_build(previous: Path, site: Path) -> Path:
    out = site / "build"
    out.mkdir(parents=True)
    for name, data in snapshot(previous).items():
        (out / name).write_bytes(data)
    return out


@pytest.mark.parametrize("name", ["binary", "chapter-skips", "item-repeats", "no-structure"])
def test_failed_build_leaves_the_previous_output_untouched(tmp_path, previous_build, name):
    out = copy_build(previous_build, tmp_path / "site")
    before = snapshot(out)
    content, line = BAD[name]
    source = tmp_path / f"{name}.txt"
    source.write_bytes(content)
    result = run("build", str(BUNDLED), str(source), "--out", str(out))
    assert_one_line_error(result, source, line)
    assert snapshot(out) == before
    assert strays(out) == []


def many_documents(folder: Path, count: int) -> None:
    """``count`` valid documents with distinct titles (and so distinct ids)."""
    folder.mkdir()
    templates = [p.read_text(encoding="utf-8") for p in sorted(DATA.glob("*.txt"))]
    for number in range(count):
        text = templates[number % len(templates)]
        # Every template's title has "on" before its subject; number the subject.
        text = re.sub(r"(\s)on ", rf"\1on Phase {number} of ", text, count=1)
        (folder / f"doc-{number:03d}.txt").write_text(text, encoding="utf-8")


def interrupt(process: subprocess.Popen, ready, sig: int = signal.SIGINT) -> tuple[int, str]:
    """Send ``sig`` once ``ready()`` holds (the build is under way); return code and stderr."""
    deadline = time.monotonic() + 300
    while not ready():
        assert process.poll() is None, "the build ended before it could be interrupted"
        assert time.monotonic() < deadline, "the build never got under way"
        time.sleep(0.05)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


def start_build(sources: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "policygraph", "build", str(sources), "--out", str(out)],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_interrupted_build_leaves_the_previous_output_untouched(tmp_path, previous_build):
    out = copy_build(previous_build, tmp_path / "site")
    before = snapshot(out)
    sources = tmp_path / "many"
    many_documents(sources, 200)
    process = start_build(sources, out)
    started = time.monotonic()
    # Long enough for Python and the CLI to start; far shorter than 200 documents take.
    code, stderr = interrupt(process, lambda: time.monotonic() - started > 3)
    assert code != 0
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    assert snapshot(out) == before
    assert strays(out) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_build_interrupted_while_writing_leaves_the_previous_output_untouched(
    tmp_path, previous_build, sig
):
    out = copy_build(previous_build, tmp_path / "site")
    before = snapshot(out)
    sources = tmp_path / "many"
    many_documents(sources, 10)
    process = start_build(sources, out)
    # The staging folder beside the output appears when the build starts writing.
    writing = lambda: any(s.startswith(".build.new-") for s in strays(out))  # noqa: E731
    code, stderr = interrupt(process, writing, sig)
    assert code != 0
    assert "Traceback" not in stderr
    assert snapshot(out) == before
    assert strays(out) == []
