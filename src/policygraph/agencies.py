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
    r"[（(](?P<names>[^（）()。]+?)(?P<etc>等)?(?P<lead>牵头)?负责(?P<rest>[。，,；;][^（）()]*)?[）)]\s*$"
)
_FIRST_LEADS = "列第一位者为牵头单位"
_SAME_BELOW = "下同"


def _last_text(item: Item) -> str:
    if item.paragraphs:
        return item.paragraphs[-1].text.value
    if item.body is not None:
        return item.body.value
    return item.heading.value


def _simplified(text: str) -> str:
    from policygraph.parse_zh import _simplified as simplify

    return simplify(text)


def resolve(name: str) -> tuple[str, bool]:
    """The organisation id for an agency name, and whether the vocabulary knows it."""
    for concept in organizations():
        if any(name == label for labels in concept.labels.values() for label in labels):
            return concept.iri, True
    from pypinyin import lazy_pinyin

    return slugify(" ".join(lazy_pinyin(name)), max_words=12) or "agency", False


def assign_agencies(document: Document) -> list[str]:
    """Fill ``item.agencies`` and ``item.lead_agency``, in place; return unknown names."""
    if document.language != "zh":
        return []
    unknown: list[str] = []
    first_leads = False
    for item in document.items():
        match = _NOTE.search(_simplified(_last_text(item)))
        if match is None:
            continue
        rest = match.group("rest") or ""
        states_convention = _FIRST_LEADS in rest
        if states_convention:
            first_leads = True
        names = [n.strip() for n in re.split(r"[、，,]", match.group("names")) if n.strip()]
        original = _last_text(item)[match.start("names") : match.end("names")]
        written = [n.strip() for n in re.split(r"[、，,]", original) if n.strip()]
        for simple, as_written in zip(names, written, strict=False):
            ident, known = resolve(simple)
            if not known:
                unknown.append(as_written)
            if ident not in [i for i, _ in item.agencies]:
                item.agencies.append((ident, as_written))
        if item.agencies and (first_leads or match.group("lead")):
            item.lead_agency = item.agencies[0][0]
        if states_convention and _SAME_BELOW not in rest:
            first_leads = False
    return unknown
