"""Themes: linking each measure to the themes whose labels its text names.

The rule is transparent and lives in the data: a measure gets every theme of
``vocab/themes.ttl`` one of whose labels (in the document's language) occurs in the
measure's heading or text, by :mod:`policygraph.labelmatch`. Each link records the
label and the words that matched. A measure no label matches is returned as unplaced,
so the build can report it; it is never dropped.
"""

from __future__ import annotations

from policygraph.labelmatch import find_labels
from policygraph.model import Document, Item, ThemeMatch
from policygraph.vocab import themes


def assign_themes(document: Document) -> list[Item]:
    """Attach theme matches to every measure, in place; return the measures left unplaced."""
    scheme = themes()
    unplaced = []
    for item in document.measures():
        seen: set[str] = set()
        fields = [("heading", item.heading.value), ("text", item.full_text)]
        for field, text in fields:
            for match in find_labels(text, scheme, document.language):
                if match.concept.iri in seen:
                    continue
                seen.add(match.concept.iri)
                item.themes.append(
                    ThemeMatch(match.concept.iri, match.label, document.language, match.text, field)
                )
        if not item.themes:
            unplaced.append(item)
    return unplaced
