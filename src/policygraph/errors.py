"""Errors that users can act on.

Every error a user can cause carries the file and, where known, the line, so the CLI
can print one clear line and exit with a documented code instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path

#: Exit codes, as pySHACL documents them: 0 conforms, 1 does not conform, 2 error.
EXIT_OK = 0
EXIT_NONCONFORMANT = 1
EXIT_ERROR = 2


class PolicyGraphError(Exception):
    """A problem with the user's input or environment; never a bug in policygraph."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        return f"{where}{self.message}"


class InputError(PolicyGraphError):
    """A source document that cannot be read or has no structure policygraph understands."""


class NonConformanceError(PolicyGraphError):
    """A graph that does not conform to the SHACL shapes; carries the readable report."""

    exit_code = EXIT_NONCONFORMANT

    def __init__(self, message: str, report_text: str, path: str | Path | None = None):
        super().__init__(message, path)
        self.report_text = report_text
