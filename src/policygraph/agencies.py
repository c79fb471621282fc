"""Responsible agencies: the notes that close items, as links to organisations.

Chinese documents close many items with a note such as
（工业和信息化部、发展改革委、科技部、农业农村部等负责。列第一位者为牵头单位，下同）:
the agencies responsible, and — when a note states the convention 列第一位者为牵头单位
("the first listed leads"), for that item and, by 下同 ("the same below"), every item
after it — which one leads. A note saying 牵头负责 names its first agency as lead too.

Names are normalised through ``vocab/organizations.ttl`` (short and full forms are
labels of one organisation), so an agency named in two documents is one resource.
A name the file does not know still becomes an organisation, with an id from its
pinyin, and is reported so that the file can be extended.
"""

from __future__ import annotations

import re

from policygraph.model import Document, Item
from policygraph.parse import slugify
from policygraph.vocab import organizations

_NOTE = re.compile(
    r"[（(](?P<names>[^（）()。]+?)(?P<etc>等)?(?P<lead>牵头)?负责(?P<rest>[。，,；;][^（）()]*)?[）)]"
)
_NAME_SEPARATOR = re.compile(r"[、，,]")
_FIRST_LEADS = "列第一位者为牵头单位"
_SAME_BELOW = "下同"


def _texts(item: Item) -> list[str]:
    """The texts of an item in which notes may stand: its body and its paragraphs."""
    texts = [item.body.value] if item.body is not None else []
    return texts + [paragraph.text.value for paragraph in item.paragraphs]


def _simplified(text: str) -> str:
    from policygraph.parse_zh import simplified

    return simplified(text)


def resolve(name: str) -> tuple[str, bool]:
    """The organisation id for an agency name, and whether the vocabulary knows it."""
    simple = _simplified(name)
    for concept in organizations():
        if any(simple == label for labels in concept.labels.values() for label in labels):
            return concept.iri, True
    from pypinyin import lazy_pinyin

    return slugify(" ".join(lazy_pinyin(simple)), max_words=12) or "agency", False


def notes(item: Item) -> list[tuple[list[str], bool, str]]:
    """The responsibility notes of an item, in text order: (names as written, 牵头, rest).

    An item may carry several notes, one after each group of sentences they cover.
    """
    found = []
    for text in _texts(item):
        for match in _NOTE.finditer(_simplified(text)):
            written = text[match.start("names") : match.end("names")]
            names = [n.strip() for n in _NAME_SEPARATOR.split(written) if n.strip()]
            found.append((names, bool(match.group("lead")), match.group("rest") or ""))
    return found


def assign_agencies(document: Document) -> list[str]:
    """Fill ``item.agencies`` and ``item.lead_agency``, in place; return unknown names.

    The agencies of all of an item's notes are its agencies, in order of first mention;
    the lead is the first agency of the first note that names one.
    """
    if document.language != "zh":
        return []
    unknown: list[str] = []
    first_leads = False
    for item in document.items():
        for names, lead_named, rest in notes(item):
            if _FIRST_LEADS in _simplified(rest):
                first_leads = True
            resolved = []
            for name in names:
                ident, known = resolve(name)
                if not known and name not in unknown:
                    unknown.append(name)
                resolved.append(ident)
                if ident not in [i for i, _ in item.agencies]:
                    item.agencies.append((ident, name))
            if resolved and item.lead_agency is None and (first_leads or lead_named):
                item.lead_agency = resolved[0]
            if _FIRST_LEADS in _simplified(rest) and _SAME_BELOW not in _simplified(rest):
                first_leads = False
    return unknown
