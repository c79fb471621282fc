"""Where the project's data files live.

The ontology, shapes, vocabularies, queries and bundled sources are data files at the
top of the repository; code reads them and never restates them. In a source checkout
(or an editable install) they are found beside ``src/``; a wheel carries copies under
``policygraph/_data``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    """The folder holding ``ontology/``, ``shapes/``, ``vocab/``, ``queries/``, ``sources/``."""
    checkout = _PACKAGE_DIR.parent.parent
    if (checkout / "ontology").is_dir() and (checkout / "shapes").is_dir():
        return checkout
    bundled = _PACKAGE_DIR / "_data"
    if bundled.is_dir():
        return bundled
    raise FileNotFoundError("policygraph's data files (ontology/, shapes/, vocab/) are missing")


def data_dir(name: str) -> Path:
    """One of the data folders: ``ontology``, ``shapes``, ``vocab``, ``queries``, ``sources``."""
    return data_root() / name


def data_files(name: str, pattern: str) -> list[Path]:
    """The files of a data folder matching ``pattern``, sorted so every run reads them alike."""
    return sorted(data_dir(name).glob(pattern))
