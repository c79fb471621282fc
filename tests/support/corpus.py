"""A benchmark corpus for tests: ``bench/corpus.py`` run into a folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def write_corpus(folder: Path, documents: int, seed: int) -> Path:
    """``documents`` English and Chinese documents from ``seed``, written into ``folder``."""
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "corpus.py"), "--n", str(documents),
         "--seed", str(seed), "--out", str(folder)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return folder


def folder_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of a build folder by name, for comparing two builds byte for byte."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
