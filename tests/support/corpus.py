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
