"""What a SPARQL request asks for, found by tokenising it — before any engine sees it.

A public endpoint must refuse updates and ``SERVICE`` (the embedded engine would fetch any
URL a ``SERVICE`` clause names, turning the server into a proxy). A substring test is
wrong both ways: ``# no SERVICE here`` or ``"SERVICE"`` are harmless, while
``sErViCe<http://…>`` is not. So the text is split into SPARQL's lexical tokens
(comments, strings, IRIs, variables, prefixed names, language tags, keywords) following
the grammar's terminals, and only bare keyword tokens count. A bare word in SPARQL is
always a keyword (or ``a``/``true``/``false``/a built-in function), so a keyword token
``SERVICE`` can only be the start of a ``ServiceGraphPattern``.

The same token stream tells the query form (SELECT, ASK, CONSTRUCT, DESCRIBE), which
decides the result formats offered, and whether the text is an update.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["QUERY_FORMS", "UPDATE_KEYWORDS", "Inspection", "inspect", "keywords"]

QUERY_FORMS = frozenset({"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"})
# Keywords that only occur in SPARQL 1.1 Update, never in a query.
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)

_PN_CHARS_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff"
    "\u200c-\u200d\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
)
_PN_CHARS = _PN_CHARS_BASE + r"_\-0-9\u00b7\u0300-\u036f\u203f-\u2040"

_TOKEN = re.compile(
    rf"""
      (?P<ws>\s+)
    | (?P<comment>\#[^\n\r]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''
               | \"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
               | '(?:[^'\\\n\r]|\\.)*'
               | "(?:[^"\\\n\r]|\\.)*")
    | (?P<iri><[^<>"{{}}|^`\\\x00-\x20]*>)
    | (?P<var>[?$][{_PN_CHARS}]+)
    | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<bnode>_:[{_PN_CHARS}.]*)
    | (?P<pname>(?:[{_PN_CHARS_BASE}][{_PN_CHARS}.]*)?:(?:[{_PN_CHARS}.:]|%[0-9A-Fa-f]{{2}}|\\.)*)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<number>[0-9][0-9.eE+\-]*)
    | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


def keywords(text: str) -> list[str]:
    """The bare keyword tokens of ``text``, upper-cased, in order.

    >>> keywords('SELECT * { ?service <x> "SERVICE" } # SERVICE')
    ['SELECT']
    """
    found = []
    for match in _TOKEN.finditer(text):
        if match.lastgroup == "word":
            found.append(match.group().upper())
    return found


@dataclass(frozen=True)
class Inspection:
    """What the tokens say about a request text."""

    form: str | None  # SELECT, ASK, CONSTRUCT, DESCRIBE, or None when no form keyword
    is_update: bool
    uses_service: bool


_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _unescape_codepoints(text: str) -> str:
    """Apply SPARQL's ``\\uXXXX`` escapes to the whole text (SPARQL 1.1 §19.2 allows an
    engine to do so before parsing), so an escaped keyword cannot slip past."""

    def replace(match: re.Match[str]) -> str:
        code = int(match.group(1) or match.group(2), 16)
        return chr(code) if code <= 0x10FFFF else match.group()

    return _CODEPOINT.sub(replace, text)


def inspect(text: str) -> Inspection:
    """Classify a SPARQL text: its query form, whether it is an update, whether it uses SERVICE.

    The form is the first query-form keyword; the prologue (BASE, PREFIX) holds no bare
    keywords besides its own, so the first form keyword is the query's. Codepoint escapes
    are judged both applied and not, so ``\\u0053ERVICE`` counts as SERVICE.

    >>> inspect("PREFIX s: <http://e/> SELECT ?x { ?x s:SERVICE ?y }")
    Inspection(form='SELECT', is_update=False, uses_service=False)
    >>> inspect("select * { service <http://e/sparql> { ?s ?p ?o } }").uses_service
    True
    >>> inspect("DELETE WHERE { ?s ?p ?o }").is_update
    True
    """
    words = keywords(text)
    unescaped = _unescape_codepoints(text)
    if unescaped != text:  # judge both readings; either one may be what an engine runs
        words += keywords(unescaped)
    form = next((word for word in words if word in QUERY_FORMS), None)
    return Inspection(
        form=form,
        is_update=any(word in UPDATE_KEYWORDS for word in words),
        uses_service="SERVICE" in words,
    )
