"""Telling general provisions from measures, by the provision-kind scheme.

A chapter whose heading carries a label of a provision kind marked ``pg:framesChapter``
(e.g. "General Requirements", 总体要求) frames the policy: its items are general
provisions — guiding thought, principles, objectives — not measures. Each such item
gets the kind its heading names, where it names one. Everything else is a measure.
"""

from __future__ import annotations

from policygraph.labelmatch import find_labels
from policygraph.model import Document
from policygraph.vocab import provision_kinds


def classify(document: Document) -> None:
    """Mark chapters of general requirements and the kinds of their items, in place."""
    kinds = provision_kinds()
    framing = tuple(k for k in kinds if "framesChapter" in k.flags)
    item_kinds = tuple(k for k in kinds if "framesChapter" not in k.flags)
    for chapter in document.chapters:
        chapter.frames_policy = bool(find_labels(chapter.heading.value, framing, document.language))
        for item in chapter.items:
            item.is_general = chapter.frames_policy
            if not item.is_general:
                continue
            matches = find_labels(item.heading.value, item_kinds, document.language)
            if matches:
                longest = max(matches, key=lambda m: m.end - m.start)
                item.provision_kind = longest.concept.iri
