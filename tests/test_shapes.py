"""The SHACL shapes catch real defects, each with its own message.

The bundled build conforms. Every other test takes that graph, breaks it in exactly
one way — the kinds of damage a parser bug or a hand edit leaves — and expects the
matching result: the focus node, the path, the shape and words of its message. The
defective nodes are found in the graph by what the source document says (item 5 is
"Promote the quality upgrading of consumer goods", the items are numbered straight
through), never by position. A coverage test makes sure no shape goes untested, and
the last tests run ``policygraph validate`` as users do, on every output format, on a
broken graph and on files with syntax errors.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, SH, SKOS

from policygraph.shacl import (
    ValidationReport,
    ValidationResult,
    load_rdf,
    shapes_graph,
    validate_graph,
)
from tests.conftest import BUNDLED, PINNED_EPOCH, REPO

PG = Namespace("https://w3id.org/policygraph/ontology#")
PGSH = Namespace("https://w3id.org/policygraph/shapes#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
OA = Namespace("http://www.w3.org/ns/oa#")
THEME_SCHEME = URIRef("https://w3id.org/policygraph/theme/scheme")
ELSEWHERE = URIRef("https://example.org/not-a-theme")
ITEM_TYPES = (PG.Measure, PG.GeneralProvision)

# --- finding nodes by what the source says -------------------------------------------


def the_policy(g: Graph) -> URIRef:
    (policy,) = g.subjects(RDF.type, PG.Policy)
    return policy


def chapter(g: Graph, ordinal: int) -> URIRef:
    found = [s for s in g.subjects(PG.ordinal, Literal(ordinal)) if (s, RDF.type, PG.Chapter) in g]
    assert len(found) == 1, f"chapter {ordinal}: {found}"
    return found[0]


def item(g: Graph, ordinal: int) -> URIRef:
    found = [
        s
        for s in g.subjects(PG.ordinal, Literal(ordinal))
        if any((s, RDF.type, t) in g for t in ITEM_TYPES)
    ]
    assert len(found) == 1, f"item {ordinal}: {found}"
    return found[0]


def items_of(g: Graph, parent: URIRef) -> list[URIRef]:
    kids = [s for s in g.subjects(ELI.is_part_of, parent) if (s, PG.ordinal, None) in g]
    return sorted(kids, key=lambda s: g.value(s, PG.ordinal).toPython())


def objective(g: Graph) -> URIRef:
    """The first objective of "Main Objectives" (item 3)."""
    return min(g.objects(item(g, 3), PG.hasObjective), key=str)


def repair_of(g: Graph, original: str) -> URIRef:
    (repair,) = g.subjects(PG.originalText, Literal(original))
    return repair


def organization(g: Graph) -> URIRef:
    return min(g.objects(the_policy(g), ELI.passed_by), key=str)


def span(g: Graph, node: URIRef) -> URIRef:
    return g.value(node, PG.span)


def source(g: Graph) -> URIRef:
    return g.value(the_policy(g), PG.sourceText)


def themed_measure(g: Graph) -> URIRef:
    """Item 5, "Promote the quality upgrading of consumer goods": a measure with a theme."""
    node = item(g, 5)
    assert (node, RDF.type, PG.Measure) in g and (node, PG.theme, None) in g
    return node


def paragraph(g: Graph) -> URIRef:
    """The body paragraph of item 3."""
    (para,) = g.subjects(ELI.is_part_of, item(g, 3))
    return para


# --- breaking the graph --------------------------------------------------------------


def drop(g: Graph, node: URIRef, predicate: URIRef) -> None:
    assert (node, predicate, None) in g, f"nothing to drop: {node} {predicate}"
    g.remove((node, predicate, None))


def replace(g: Graph, node: URIRef, predicate: URIRef, value: object) -> None:
    drop(g, node, predicate)
    g.add((node, predicate, value))  # type: ignore[arg-type]


def untag(g: Graph, node: URIRef, predicate: URIRef) -> None:
    """Strip the language tag from one of the node's texts."""
    text = next(o for o in g.objects(node, predicate) if isinstance(o, Literal) and o.language)
    g.remove((node, predicate, text))
    g.add((node, predicate, Literal(str(text))))


def remove_resource(g: Graph, node: URIRef) -> None:
    """A resource gone from the graph: every triple it is the subject or object of."""
    g.remove((node, None, None))
    g.remove((None, None, node))


def move(g: Graph, node: URIRef, new_parent: URIRef) -> None:
    """Re-attach a part to another parent, consistently in both directions."""
    old_parent = g.value(node, ELI.is_part_of)
    g.remove((old_parent, ELI.has_part, node))
    replace(g, node, ELI.is_part_of, new_parent)
    g.add((new_parent, ELI.has_part, node))


def renumber_per_chapter(g: Graph) -> None:
    """Number items from 1 in each chapter, as documents with per-chapter numbering do."""
    replace(g, the_policy(g), PG.itemNumbering, PG.PerChapterNumbering)
    for chapter_node in list(g.subjects(RDF.type, PG.Chapter)):
        for number, node in enumerate(items_of(g, chapter_node), start=1):
            replace(g, node, PG.ordinal, Literal(number))


@dataclass(frozen=True)
class Defect:
    """One way to break the graph, and the result that must report it."""

    name: str
    shape: str  # local name in the shapes namespace
    words: str  # must occur in the result's message (and in the shape's sh:message)
    path: str | None  # the result path as the report prints it
    breaks: Callable[[Graph], URIRef]  # breaks the graph, returns the expected focus node
    severity: str = "Violation"
    detail: str = ""  # more words the message must contain, once its variables are filled in


def _policy(change: Callable[[Graph, URIRef], None]) -> Callable[[Graph], URIRef]:
    def breaks(g: Graph) -> URIRef:
        node = the_policy(g)
        change(g, node)
        return node

    return breaks


def _on(
    find: Callable[[Graph], URIRef], change: Callable[[Graph, URIRef], None]
) -> Callable[[Graph], URIRef]:
    def breaks(g: Graph) -> URIRef:
        node = find(g)
        change(g, node)
        return node

    return breaks


def _duplicate_item_number(g: Graph) -> URIRef:
    node = item(g, 5)
    replace(g, node, PG.ordinal, Literal(4))
    return node


def _duplicate_item_number_across_chapters(g: Graph) -> URIRef:
    # Items are numbered straight through: item 12 opens chapter III, item 11 closes II.
    node = item(g, 12)
    assert g.value(node, ELI.is_part_of) != g.value(item(g, 11), ELI.is_part_of)
    replace(g, node, PG.ordinal, Literal(11))
    return node


def _duplicate_item_number_in_chapter(g: Graph) -> URIRef:
    renumber_per_chapter(g)
    second = items_of(g, chapter(g, 2))[1]
    replace(g, second, PG.ordinal, Literal(1))
    return second


def _gap_after_removed_item(g: Graph) -> URIRef:
    remove_resource(g, item(g, 5))
    return item(g, 6)


def _numbering_not_from_one(g: Graph) -> URIRef:
    remove_resource(g, item(g, 1))
    return item(g, 2)


def _gap_in_chapter(g: Graph) -> URIRef:
    renumber_per_chapter(g)
    kids = items_of(g, chapter(g, 3))
    remove_resource(g, kids[0])
    return kids[1]


def _duplicate_chapter_number(g: Graph) -> URIRef:
    node = chapter(g, 3)
    replace(g, node, PG.ordinal, Literal(2))
    return node


def _gap_in_chapter_numbers(g: Graph) -> URIRef:
    node = chapter(g, 6)
    replace(g, node, PG.ordinal, Literal(7))
    return node


def _item_outside_chapter(g: Graph) -> URIRef:
    node = item(g, 7)
    move(g, node, the_policy(g))
    return node


def _chapter_inside_chapter(g: Graph) -> URIRef:
    node = chapter(g, 2)
    move(g, node, chapter(g, 1))
    return node


def _one_way_part_of(g: Graph) -> URIRef:
    node = item(g, 7)
    g.remove((g.value(node, ELI.is_part_of), ELI.has_part, node))
    return node


def _no_parent(g: Graph) -> URIRef:
    node = paragraph(g)
    g.remove((None, ELI.has_part, node))
    drop(g, node, ELI.is_part_of)
    return node


def _issuer_not_an_organisation(g: Graph, policy: URIRef) -> None:
    g.add((policy, ELI.passed_by, ELSEWHERE))


def _theme_outside_scheme(g: Graph) -> URIRef:
    node = themed_measure(g)
    g.add((node, PG.theme, ELSEWHERE))
    _cover_parts_themes(g)
    return node


def _theme_from_another_scheme(g: Graph) -> URIRef:
    # A provision kind is a SKOS concept too, but of another scheme.
    kind = g.value(item(g, 1), PG.provisionKind)
    assert (kind, SKOS.inScheme, THEME_SCHEME) not in g
    node = themed_measure(g)
    g.add((node, PG.theme, kind))
    _cover_parts_themes(g)
    return node


def _theme_on_a_chapter(g: Graph) -> URIRef:
    """A chapter carries a theme that the policy covers (a measure of it carries it too)."""
    node = chapter(g, 1)
    g.add((node, PG.theme, g.value(themed_measure(g), PG.theme)))
    return node


def _measure_without_theme(g: Graph) -> URIRef:
    node = themed_measure(g)
    drop(g, node, PG.theme)
    _cover_parts_themes(g)
    return node


def _cover_parts_themes(g: Graph) -> None:
    """Make the policy cover exactly what its parts now carry, as a build would."""
    policy = the_policy(g)
    g.remove((policy, PG.coversTheme, None))
    for theme in set(g.objects(None, PG.theme)):
        g.add((policy, PG.coversTheme, theme))


def _uncovered_theme(g: Graph) -> URIRef:
    """A part carries a theme that the policy does not say it covers."""
    policy = the_policy(g)
    theme = g.value(themed_measure(g), PG.theme)
    g.remove((policy, PG.coversTheme, theme))
    return policy


def _covered_theme_no_part_carries(g: Graph) -> URIRef:
    """The policy covers a theme of the scheme that none of its parts carries."""
    policy = the_policy(g)
    carried = set(g.objects(None, PG.theme))
    spare = next(t for t in sorted(g.subjects(SKOS.inScheme, None)) if t not in carried)
    g.add((policy, PG.coversTheme, spare))
    return policy


def _theme_match(g: Graph) -> URIRef:
    return g.value(themed_measure(g), PG.themeMatch)


def _objective_without_item(g: Graph) -> URIRef:
    node = objective(g)
    g.remove((None, PG.hasObjective, node))
    drop(g, node, PG.objectiveOf)
    return node


def _objective_unlisted(g: Graph) -> URIRef:
    node = objective(g)
    g.remove((None, PG.hasObjective, node))
    return node


def _swap(first: URIRef, second: URIRef) -> Callable[[Graph, URIRef], None]:
    def change(g: Graph, node: URIRef) -> None:
        a, b = g.value(node, first), g.value(node, second)
        replace(g, node, first, b)
        replace(g, node, second, a)

    return change


def _set(predicate: URIRef, value: object) -> Callable[[Graph, URIRef], None]:
    return lambda g, node: replace(g, node, predicate, value)


def _drop(predicate: URIRef) -> Callable[[Graph, URIRef], None]:
    return lambda g, node: drop(g, node, predicate)


def _untag(predicate: URIRef) -> Callable[[Graph, URIRef], None]:
    return lambda g, node: untag(g, node, predicate)


def _add(predicate: URIRef, value: object) -> Callable[[Graph, URIRef], None]:
    return lambda g, node: g.add((node, predicate, value))  # type: ignore[arg-type]


def _repair(g: Graph) -> URIRef:
    return repair_of(g, "Brea k")


def _span(g: Graph) -> URIRef:
    return span(g, item(g, 5))


SDG = Namespace("http://metadata.un.org/sdg/")
PROV = Namespace("http://www.w3.org/ns/prov#")
THEME_MAPPING_PATH = (
    "(skos:exactMatch|skos:closeMatch|skos:broadMatch|skos:narrowMatch|skos:relatedMatch)"
)


def _innovation_measure(g: Graph) -> URIRef:
    """Item 14, "Vitalize innovation of quality": linked to SDG target 9.5."""
    return item(g, 14)


def _sdg_record(g: Graph) -> URIRef:
    return URIRef(f"{item(g, 14)}/sdg/9.5")


SDG_DEFECTS = [
    Defect("theme mapped to an unknown SDG target", "ThemeMappingTarget",
           "shipped in vocab/sdg.ttl", THEME_MAPPING_PATH,
           lambda g: _added(g, URIRef("https://w3id.org/policygraph/theme/innovation"),
                            SKOS.closeMatch, SDG["9.99"])),
    Defect("derived target that is a goal", "DerivedSdgTarget", "target shipped",
           "pg:derivedSdgTarget", _on(_innovation_measure, _set(PG.derivedSdgTarget, SDG["9"]))),
    Defect("derived goal that is a target", "DerivedSdgGoal", "goal shipped", "pg:derivedSdgGoal",
           _on(_innovation_measure, _add(PG.derivedSdgGoal, SDG["9.5"]))),
    Defect("derived link without record", "DerivedSdgRecorded", "needs its record", None,
           _on(_innovation_measure, _drop(PG.sdgLink))),
    Defect("record whose measure does not state the link", "SdgLinkShape", "must state the link",
           "pg:linkedSdg", _on(_sdg_record, lambda g, node: g.remove(
               (item(g, 14), PG.derivedSdgTarget, None)))),
    Defect("record of no measure", "SdgLinkMeasure", "exactly one measure", "^pg:sdgLink",
           _on(_sdg_record, lambda g, node: g.remove((None, PG.sdgLink, node)))),
    Defect("record without goal or target", "SdgLinkSdg", "exactly one goal or target",
           "pg:linkedSdg", _on(_sdg_record, _drop(PG.linkedSdg))),
    Defect("record without theme", "SdgLinkTheme", "theme it rests on", "pg:viaTheme",
           _on(_sdg_record, _drop(PG.viaTheme))),
    Defect("record resting on a relatedMatch", "SdgLinkPredicate", "too weak",
           "pg:mappingPredicate", _on(_sdg_record, _set(PG.mappingPredicate, SKOS.relatedMatch))),
    Defect("record with confidence above 1", "SdgLinkConfidence", "from 0 to 1", "pg:confidence",
           _on(_sdg_record, _set(PG.confidence, Literal("1.5", datatype=XSD.decimal)))),
    Defect("record without mapping set", "SdgLinkSource", "mapping set", "prov:wasDerivedFrom",
           _on(_sdg_record, _drop(PROV.wasDerivedFrom))),
    Defect("record without method", "SdgLinkMethod", "derivation method", "pg:derivation",
           _on(_sdg_record, _drop(PG.derivation))),
]  # fmt: skip


def _added(g: Graph, node: URIRef, predicate: URIRef, value: object) -> URIRef:
    g.add((node, predicate, value))  # type: ignore[arg-type]
    return node


def _similarity_record(g: Graph) -> URIRef:
    """A complete similarity link from item 4 to item 5, added: the bundled build has none."""
    source, target = item(g, 4), item(g, 5)
    record = URIRef(f"{source}/similar/defect")
    g.add((source, PG.similarity, record))
    g.add((source, PG.similarTo, target))
    g.add((record, RDF.type, PG.SimilarityLink))
    g.add((record, PG.similarMeasure, target))
    g.add((record, PG.method, PG.ThemeAndTextSimilarity))
    g.add((record, PG.score, Literal("0.5", datatype=XSD.decimal)))
    return record


def _unnamed_cited_document(g: Graph) -> URIRef:
    node = URIRef(str(the_policy(g)).rsplit("/policy/", 1)[0] + "/cited/guofa-2017-5")
    g.add((the_policy(g), ELI.cites, node))
    g.add((node, RDF.type, PG.CitedDocument))
    return node


# Links between documents (shapes/links-doc-shapes.ttl).
DOC_LINK_DEFECTS = [
    Defect("similarity score above 1", "SimilarityScore", "from 0 to 1", "pg:score",
           _on(_similarity_record, _set(PG.score, Literal("1.5", datatype=XSD.decimal)))),
    Defect("similarity score as a float", "SimilarityScore", "xsd:decimal", "pg:score",
           _on(_similarity_record, _set(PG.score, Literal(0.5)))),
    Defect("similarity link without its measure", "SimilarityTarget", "exactly one other measure",
           "pg:similarMeasure", _on(_similarity_record, _drop(PG.similarMeasure))),
    Defect("similarity link of no measure", "SimilarityOwner", "record of exactly one measure",
           "^pg:similarity",
           _on(_similarity_record, lambda g, node: g.remove((None, PG.similarity, node)))),
    Defect("similarity link with an unknown method", "SimilarityMethod", "pg:SimilarityMethod",
           "pg:method", _on(_similarity_record, _set(PG.method, PG.GuessWork))),
    Defect("cited document without title or number", "CitedDocumentNamed",
           "title or the document number", None, _unnamed_cited_document),
]  # fmt: skip


UNIT = Namespace("https://w3id.org/policygraph/unit/")
ORG = Namespace("http://www.w3.org/ns/org#")
COMPARISON = Namespace("https://w3id.org/policygraph/comparison/")


def _quantified_objective(g: Graph) -> URIRef:
    """Turn the first objective into a well-formed quantified target, then return it."""
    node = objective(g)
    g.add((node, PG.indicator, Literal("supply quality", lang="en")))
    g.add((node, PG.value, Literal("70", datatype=XSD.decimal)))
    g.add((node, PG.unit, UNIT.percent))
    g.add((node, PG.comparison, COMPARISON.reach))
    return node


def _agencies(g: Graph) -> URIRef:
    """Give a measure two responsible agencies, the first of them leading."""
    node = themed_measure(g)
    first, second = sorted(g.subjects(RDF.type, ORG.Organization))[:2]
    g.add((node, ELI.responsibility_of, first))
    g.add((node, ELI.responsibility_of, second))
    g.add((node, PG.leadAgency, first))
    return node


TARGET_AGENCY_DEFECTS = [
    Defect("target year out of range", "TargetYearRange", "plausible year", "pg:targetYear",
           _on(objective, _set(PG.targetYear, Literal("1066", datatype=XSD.gYear)))),
    Defect("target value not a number", "TargetValue", "xsd:decimal", "pg:value",
           _on(_quantified_objective, _set(PG.value, Literal("seventy")))),
    Defect("target without indicator", "TargetIndicator", "indicator", "pg:indicator",
           _on(_quantified_objective, _drop(PG.indicator))),
    Defect("target unit outside the vocabulary", "TargetUnit", "unit vocabulary", "pg:unit",
           _on(_quantified_objective, _set(PG.unit, UNIT.furlong))),
    Defect("target without comparison", "TargetComparison", "exactly one comparison",
           "pg:comparison", _on(_quantified_objective, _drop(PG.comparison))),
    Defect("two lead agencies", "OneLeadAgency", "at most one lead agency", "pg:leadAgency",
           _on(_agencies, lambda g, node: g.add(
               (node, PG.leadAgency, sorted(g.objects(node, ELI.responsibility_of))[1])))),
    Defect("lead agency not responsible", "LeadIsResponsible", "also be among",
           None, _on(_agencies, lambda g, node: g.remove(
               (node, ELI.responsibility_of, g.value(node, PG.leadAgency))))),
    Defect("responsible agency not an organisation", "ResponsibleIsOrganisation",
           "must be an organisation", "eli:responsibility_of",
           _on(_agencies, _add(ELI.responsibility_of, ELSEWHERE))),
]  # fmt: skip


DEFECTS = [
    # A policy without title, date or issuer; a date that is not an xsd:date.
    Defect("policy without title", "PolicyTitle", "title", "dcterms:title",
           _policy(_drop(DCTERMS.title))),
    Defect("policy with two titles", "PolicyTitle", "exactly one title", "dcterms:title",
           _policy(_add(DCTERMS.title, Literal("A second title", lang="en")))),
    Defect("policy without date", "PolicyDate", "exactly one date", "eli:date_document",
           _policy(_drop(ELI.date_document))),
    Defect("date as a plain string", "PolicyDateType", "xsd:date", "eli:date_document",
           _policy(_set(ELI.date_document, Literal("2017-09-05")))),
    Defect("date as a year", "PolicyDateType", "xsd:date", "eli:date_document",
           _policy(_set(ELI.date_document, Literal("2017", datatype=XSD.gYear)))),
    Defect("date that does not exist", "PolicyDateType", "valid xsd:date", "eli:date_document",
           _policy(_set(ELI.date_document, Literal("2017-02-30", datatype=XSD.date)))),
    Defect("policy without issuer", "PolicyIssuer", "issuing body", "eli:passed_by",
           _policy(_drop(ELI.passed_by))),
    Defect("issuer that is no organisation", "PolicyIssuerType", "org:Organization",
           "eli:passed_by", _policy(_issuer_not_an_organisation)),
    Defect("policy without identifier", "PolicyIdentifier", "local identifier", "eli:id_local",
           _policy(_drop(ELI.id_local))),
    Defect("unknown numbering scheme", "PolicyNumbering", "how its items are numbered",
           "pg:itemNumbering", _policy(_set(PG.itemNumbering, PG.Unnumbered))),
    Defect("policy without source", "PolicySource", "source text", "pg:sourceText",
           _policy(_drop(PG.sourceText))),
    Defect("organisation without name", "OrganizationName", "name", "rdfs:label",
           _on(organization, _drop(RDFS.label))),
    # Parts: parent, both directions, order, policy, span, label.
    Defect("part without parent", "PartOf", "exactly one parent", "eli:is_part_of", _no_parent),
    Defect("part-of one way only", "PartOfBothWays", "both ways", "^eli:has_part",
           _one_way_part_of),
    Defect("part without order", "PartOrder", "pg:order", "pg:order",
           _on(paragraph, _drop(PG.order))),
    Defect("part without policy", "PartInPolicy", "pg:inPolicy", "pg:inPolicy",
           _on(paragraph, _drop(PG.inPolicy))),
    Defect("part without span", "PartSpan", "span", "pg:span",
           _on(lambda g: chapter(g, 2), _drop(PG.span))),
    Defect("part without label", "PartLabel", "label", "rdfs:label",
           _on(paragraph, _drop(RDFS.label))),
    # A missing or duplicated number; a gap in the numbering; an item outside any chapter.
    Defect("item without number", "Number", "number as printed", "eli:number",
           _on(lambda g: item(g, 5), _drop(ELI.number))),
    Defect("chapter without number", "Number", "number as printed", "eli:number",
           _on(lambda g: chapter(g, 4), _drop(ELI.number))),
    Defect("item without ordinal", "Ordinal", "ordinal", "pg:ordinal",
           _on(lambda g: item(g, 30), _drop(PG.ordinal))),
    Defect("chapter numbered 0", "Ordinal", "from 1", "pg:ordinal",
           _on(lambda g: chapter(g, 1), _set(PG.ordinal, Literal(0)))),
    Defect("item without heading", "Heading", "heading", "pg:heading",
           _on(lambda g: item(g, 5), _drop(PG.heading))),
    Defect("duplicate item number", "ItemNumberUnique", "Duplicate item number", "pg:ordinal",
           _duplicate_item_number, detail="in the same policy also has number 4"),
    Defect("duplicate item number across chapters", "ItemNumberUnique", "Duplicate item number",
           "pg:ordinal", _duplicate_item_number_across_chapters,
           detail="in the same policy also has number 11"),
    Defect("duplicate item number in a chapter", "ItemNumberUnique", "Duplicate item number",
           "pg:ordinal", _duplicate_item_number_in_chapter,
           detail="in the same chapter also has number 1"),
    Defect("gap where an item was removed", "ItemNumberGap", "Gap in the item numbers",
           "pg:ordinal", _gap_after_removed_item,
           detail="no item 5 before item 6 in the same policy"),
    Defect("items not numbered from 1", "ItemNumberGap", "Gap in the item numbers",
           "pg:ordinal", _numbering_not_from_one, detail="no item 1 before item 2"),
    Defect("gap in a chapter's numbering", "ItemNumberGap", "Gap in the item numbers",
           "pg:ordinal", _gap_in_chapter, detail="no item 1 before item 2 in the same chapter"),
    Defect("duplicate chapter number", "ChapterNumberUnique", "Duplicate chapter number",
           "pg:ordinal", _duplicate_chapter_number, detail="also has number 2"),
    Defect("gap in chapter numbers", "ChapterNumberGap", "Gap in the chapter numbers",
           "pg:ordinal", _gap_in_chapter_numbers, detail="no chapter 6 before chapter 7"),
    Defect("item outside any chapter", "ItemInChapter", "outside any chapter", "eli:is_part_of",
           _item_outside_chapter),
    Defect("chapter inside a chapter", "ChapterInPolicy", "exactly one policy",
           "eli:is_part_of", _chapter_inside_chapter),
    # Objectives.
    Defect("objective without statement", "ObjectiveStatement", "statement", "pg:statement",
           _on(objective, _drop(PG.statement))),
    Defect("objective without item", "ObjectiveOf", "exactly one item", "pg:objectiveOf",
           _objective_without_item),
    Defect("objective not listed by its item", "ObjectiveListed", "both ways",
           "^pg:hasObjective", _objective_unlisted),
    Defect("target year as a string", "ObjectiveTargetYear", "xsd:gYear", "pg:targetYear",
           _on(objective, _set(PG.targetYear, Literal("2020")))),
    Defect("two target years", "ObjectiveTargetYear", "at most one target year",
           "pg:targetYear",
           _on(objective, _add(PG.targetYear, Literal("2025", datatype=XSD.gYear)))),
    Defect("objective without span", "ObjectiveSpan", "span", "pg:span",
           _on(objective, _drop(PG.span))),
    # Themes.
    Defect("theme outside the scheme", "ThemeInScheme", "theme scheme", "pg:theme",
           _theme_outside_scheme),
    Defect("theme from another scheme", "ThemeInScheme", "theme scheme", "pg:theme",
           _theme_from_another_scheme),
    Defect("theme on a chapter", "ThemedMeasureShape", "Only a measure", None,
           _theme_on_a_chapter),
    Defect("measure without theme", "MeasureTheme", "no theme", "pg:theme",
           _measure_without_theme, severity="Warning"),
    Defect("theme of a part the policy does not cover", "CoveredThemeShape", "disagree",
           "pg:coversTheme", _uncovered_theme),
    Defect("covered theme that no part carries", "CoveredThemeShape", "disagree",
           "pg:coversTheme", _covered_theme_no_part_carries),
    Defect("covered theme outside the scheme", "CoveredThemeInScheme", "theme scheme",
           "pg:coversTheme", _policy(lambda g, p: g.add((p, PG.coversTheme, ELSEWHERE)))),
    Defect("theme match outside the scheme", "MatchedTheme", "theme scheme", "pg:matchedTheme",
           _on(_theme_match, _set(PG.matchedTheme, ELSEWHERE))),
    Defect("theme match without label", "MatchedLabel", "label", "pg:matchedLabel",
           _on(_theme_match, _drop(PG.matchedLabel))),
    Defect("theme match without text", "MatchedText", "text", "pg:matchedText",
           _on(_theme_match, _drop(PG.matchedText))),
    # A label without a language tag, whatever the subject.
    Defect("label without language", "LabelLanguage", "language tag", "rdfs:label",
           _on(lambda g: item(g, 5), _untag(RDFS.label))),
    Defect("preferred label without language", "PrefLabelLanguage", "language tag",
           "skos:prefLabel", _on(organization, _untag(SKOS.prefLabel))),
    Defect("theme label without language", "PrefLabelLanguage", "language tag",
           "skos:prefLabel", _on(lambda g: g.value(themed_measure(g), PG.theme),
                                 _untag(SKOS.prefLabel))),
    Defect("alternative label without language", "AltLabelLanguage", "language tag",
           "skos:altLabel", _on(organization, _untag(SKOS.altLabel))),
    Defect("heading without language", "HeadingLanguage", "language tag", "pg:heading",
           _on(lambda g: chapter(g, 3), _untag(PG.heading))),
    Defect("text without language", "TextLanguage", "language tag", "pg:text",
           _on(paragraph, _untag(PG.text))),
    Defect("statement without language", "StatementLanguage", "language tag", "pg:statement",
           _on(objective, _untag(PG.statement))),
    Defect("title without language", "TitleLanguage", "language tag", "dcterms:title",
           _policy(_untag(DCTERMS.title))),
    # Spans in the source.
    Defect("span that ends before it starts", "SpanStart", "less than its end", "oa:start",
           _on(_span, _swap(OA.start, OA.end))),
    Defect("span without end", "SpanEnd", "end offset", "oa:end", _on(_span, _drop(OA.end))),
    Defect("span whose lines run backwards", "SpanStartLine", "not after its end line",
           "pg:startLine", _on(lambda g: span(g, paragraph(g)),
                               _set(PG.startLine, Literal(99, datatype=XSD.positiveInteger)))),
    Defect("span without end line", "SpanEndLine", "end line", "pg:endLine",
           _on(_span, _drop(PG.endLine))),
    Defect("span without quoted text", "SpanExact", "oa:exact", "oa:exact",
           _on(_span, _drop(OA.exact))),
    Defect("span without source", "SpanSource", "source text", "pg:sourceText",
           _on(_span, _drop(PG.sourceText))),
    Defect("source without file name", "SourceFileName", "file name", "pg:fileName",
           _on(source, _drop(PG.fileName))),
    Defect("source with a bad digest", "SourceDigest", "SHA-256", "pg:sha256",
           _on(source, _set(PG.sha256, Literal("not a digest")))),
    # Repairs.
    Defect("repair without original", "RepairOriginal", "original text", "pg:originalText",
           _on(_repair, _drop(PG.originalText))),
    Defect("repair without repaired text", "RepairRepaired", "repaired text", "pg:repairedText",
           _on(_repair, _drop(PG.repairedText))),
    Defect("repair without a known rule", "RepairRule", "rule", "pg:repairRule",
           _on(_repair, _set(PG.repairRule, PG.GuessRule))),
    Defect("repair that ends before it starts", "RepairStart", "less than its end", "oa:start",
           _on(_repair, _swap(OA.start, OA.end))),
    Defect("repair without end", "RepairEnd", "end offset", "oa:end",
           _on(_repair, _drop(OA.end))),
    Defect("repair without source", "RepairSource", "source text", "pg:sourceText",
           _on(_repair, _drop(PG.sourceText))),
    Defect("repair attached to nothing", "RepairOwner", "attached", "^pg:repair",
           _on(_repair, lambda g, node: g.remove((None, PG.repair, node)))),
    # Links to the Sustainable Development Goals (shapes/links-shapes.ttl).
    *SDG_DEFECTS,
    *DOC_LINK_DEFECTS,
    *TARGET_AGENCY_DEFECTS,
]  # fmt: skip


# --- the tests -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def conforming(graph: Graph) -> ValidationReport:
    return validate_graph(graph)


def copy_of(graph: Graph) -> Graph:
    copy = Graph()
    for prefix, namespace in graph.namespaces():
        copy.bind(prefix, namespace)
    copy += graph
    return copy


def test_the_bundled_build_conforms(conforming: ValidationReport):
    assert conforming.conforms, conforming.text()
    assert conforming.results == []
    assert conforming.text() == "Conforms."


def test_the_finders_agree_with_the_source(graph: Graph):
    """The breakages below lean on these facts, read from the source by hand."""
    assert graph.value(item(graph, 30), ELI.number) == Literal("30")
    assert str(graph.value(item(graph, 5), PG.heading)) == (
        "Promote the quality upgrading of consumer goods"
    )
    assert graph.value(the_policy(graph), PG.itemNumbering) == PG.ContinuousNumbering
    assert len(list(graph.subjects(RDF.type, PG.Chapter))) == 6
    assert len(items_of(graph, chapter(graph, 1))) == 3


def _matching(report: ValidationReport, defect: Defect, focus: URIRef) -> list[ValidationResult]:
    return [
        r
        for r in report.results
        if r.shape == str(PGSH[defect.shape])
        and r.focus == str(focus)
        and r.path == defect.path
        and defect.words in r.message
        and defect.detail in r.message
        and r.severity == defect.severity
    ]


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_each_defect_is_reported(graph: Graph, defect: Defect):
    broken = copy_of(graph)
    focus = defect.breaks(broken)
    report = validate_graph(broken)
    if defect.severity == "Violation":
        assert not report.conforms
    else:
        assert report.conforms, "a warning must not make the graph non-conforming"
    assert _matching(report, defect, focus), report.text()


def test_per_chapter_numbering_is_checked_within_chapters(graph: Graph):
    """Numbers that restart in each chapter conform when the policy says so, and only then."""
    renumbered = copy_of(graph)
    renumber_per_chapter(renumbered)
    assert validate_graph(renumbered).conforms

    replace(renumbered, the_policy(renumbered), PG.itemNumbering, PG.ContinuousNumbering)
    report = validate_graph(renumbered)
    assert not report.conforms
    duplicates = {r.focus for r in report.results if r.shape == str(PGSH.ItemNumberUnique)}
    # Every chapter but the first restarts at 1, so the first items of all chapters clash.
    assert {str(items_of(renumbered, chapter(renumbered, n))[0]) for n in range(1, 7)} <= duplicates


def test_results_of_nested_shapes_stay_details(graph: Graph):
    """A theme outside the scheme is one result, at the measure, not one more at the theme.

    (The policy, which covers that theme too, has a result of its own, for pg:coversTheme.)
    """
    broken = copy_of(graph)
    focus = _theme_outside_scheme(broken)
    report = validate_graph(broken)
    assert [(r.focus, r.path, r.value) for r in report.results] == [
        (str(the_policy(broken)), "pg:coversTheme", f"<{ELSEWHERE}>"),
        (str(focus), "pg:theme", f"<{ELSEWHERE}>"),
    ]
    assert f"(value: <{ELSEWHERE}>)" in report.text()


def test_a_warning_is_shown_but_the_graph_conforms(graph: Graph):
    broken = copy_of(graph)
    focus = _measure_without_theme(broken)
    report = validate_graph(broken)
    assert report.conforms
    assert report.violations == [] and len(report.warnings) == 1
    text = report.text()
    assert text.splitlines()[0] == "Conforms, with 1 warning."
    assert f"Warning: <{focus}> pg:theme: " in text


def test_each_result_names_its_place_in_the_source(graph: Graph):
    """Report lines read "file:line: Violation: <focus> path: message"."""
    broken = copy_of(graph)
    focus = _duplicate_item_number(broken)
    report = validate_graph(broken)
    line = _source_line_of_item(5)
    expected = f"{BUNDLED.name}:{line}: Violation: <{focus}> pg:ordinal: Duplicate item number: "
    assert any(str(r).startswith(expected) for r in report.results), report.text()


def test_results_come_in_the_order_of_the_source(graph: Graph):
    broken = copy_of(graph)
    _duplicate_item_number(broken)  # items 4, 5 and 6
    drop(broken, chapter(broken, 1), PG.heading)  # chapter I, above them
    report = validate_graph(broken)
    lines = [int(r.where.rpartition(":")[2]) for r in report.results]
    assert lines == sorted(lines) and len(set(lines)) == 4, report.text()


def test_resources_without_a_span_are_placed_by_their_owner(graph: Graph):
    broken = copy_of(graph)
    repair = repair_of(broken, "Ma ke")
    drop(broken, repair, PG.originalText)
    replace(broken, the_policy(broken), ELI.date_document, Literal("5 September 2017"))
    report = validate_graph(broken)
    where = {r.focus: r.where for r in report.results}
    # The repair sits in item 17's heading; the policy has no line, only its file.
    assert where[str(repair)] == f"{BUNDLED.name}:{_source_line_of_item(17)}"
    assert where[str(the_policy(broken))] == BUNDLED.name


def _source_line_of_item(number: int) -> int:
    """The line of item ``number`` in the bundled source, read from the text itself."""
    lines = BUNDLED.read_text(encoding="utf-8").splitlines()
    (line,) = [n for n, text in enumerate(lines, start=1) if text.startswith(f"{number}. ")]
    return line


# --- the shapes file itself ----------------------------------------------------------

CONSTRAINT_PARAMETERS = {
    SH.minCount, SH.maxCount, SH.datatype, SH["class"], SH["in"], SH.pattern, SH.hasValue,
    SH.node, SH.lessThan, SH.lessThanOrEquals, SH.equals, SH.minInclusive, SH.minLength,
    SH.select,
}  # fmt: skip


def _constraint_holders(shapes: Graph) -> set:
    """Shapes and SPARQL constraints that carry constraint parameters (not SPARQL targets)."""
    targets = set(shapes.subjects(RDF.type, SH.SPARQLTarget))
    return {s for p in CONSTRAINT_PARAMETERS for s in shapes.subjects(p, None)} - targets


def test_every_constraint_has_an_english_message():
    shapes = shapes_graph()
    holders = _constraint_holders(shapes)
    assert len(holders) > 40
    for holder in holders:
        messages = list(shapes.objects(holder, SH.message))
        assert messages, f"no sh:message on {holder}"
        assert all(m.language == "en" and len(str(m)) > 20 for m in messages), holder


def test_every_shape_has_a_name_and_a_comment():
    shapes = shapes_graph()
    for shape in shapes.subjects(RDF.type, SH.NodeShape):
        assert shapes.value(shape, RDFS.label) is not None, shape
        assert shapes.value(shape, RDFS.comment) is not None, shape
    for shape in shapes.subjects(RDF.type, SH.PropertyShape):
        assert shapes.value(shape, SH.name) is not None, shape


def _reported_shapes(shapes: Graph) -> set[URIRef]:
    """Shapes whose results reach the report: all but those only used through sh:node."""
    nested = set(shapes.objects(None, SH.node))
    named = {s for s in _constraint_holders(shapes) if isinstance(s, URIRef)}
    sparql = {s for s in shapes.subjects(SH.sparql, None)}
    return (named | sparql) - nested


def test_every_shape_is_exercised_by_a_defect():
    shapes = shapes_graph()
    tested = {PGSH[d.shape] for d in DEFECTS}
    untested = _reported_shapes(shapes) - tested
    assert not untested, f"shapes without a test: {sorted(untested)}"
    for nested in set(shapes.objects(None, SH.node)):
        users = {PGSH[d.shape] for d in DEFECTS} & set(shapes.subjects(SH.node, nested))
        assert users, f"{nested} is used by no tested shape"
    assert tested <= set(shapes.subjects()), "a defect names a shape that does not exist"


@pytest.mark.parametrize("defect", DEFECTS, ids=lambda d: d.name)
def test_each_defect_expects_words_of_its_shapes_message(defect: Defect):
    """So a defect cannot pass on another shape's message."""
    shapes = shapes_graph()
    shape = PGSH[defect.shape]
    constraints = [shape, *shapes.objects(shape, SH.sparql)]
    messages = [str(m) for c in constraints for m in shapes.objects(c, SH.message)]
    assert any(defect.words in m for m in messages), messages


# --- the command ---------------------------------------------------------------------


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "policygraph", *args],
        cwd=REPO,
        env={**os.environ, "SOURCE_DATE_EPOCH": PINNED_EPOCH},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_validate_accepts_every_output_format(build_dir: Path):
    dumps = sorted(build_dir.glob("policygraph.*"))
    assert {p.suffix for p in dumps} >= {".ttl", ".nt", ".nq", ".trig", ".jsonld"}
    result = run("validate", *map(str, dumps))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "Conforms."


@pytest.mark.parametrize("suffix", [".ttl", ".nt", ".nq", ".trig", ".jsonld"])
def test_every_format_loads_the_whole_graph(build_dir: Path, graph: Graph, suffix: str):
    loaded = load_rdf(build_dir / f"policygraph{suffix}")
    assert len(loaded) == len(graph)


def test_validate_reports_a_broken_graph_with_exit_1(graph: Graph, tmp_path: Path):
    broken = copy_of(graph)
    focus = _duplicate_item_number(broken)
    drop(broken, the_policy(broken), ELI.date_document)
    path = tmp_path / "broken.nt"
    broken.serialize(path, format="nt", encoding="utf-8")
    result = run("validate", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Does not conform: ")
    line = _source_line_of_item(5)
    assert any(
        text.strip().startswith(f"{BUNDLED.name}:{line}: Violation: <{focus}> pg:ordinal: ")
        for text in lines
    ), result.stdout
    assert any("eli:date_document: A policy needs exactly one date" in t for t in lines)
    assert "Traceback" not in result.stderr


# A file with one syntax error each, and the line it is on.
SYNTAX_ERRORS = {
    "unterminated.ttl": (
        '@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b "open .\n',
        3,
    ),
    "missing-object.nt": (
        "<http://a.example/s> <http://a.example/p> <http://a.example/o> .\n"
        "<http://a.example/s> <http://a.example/p> .\n",
        2,
    ),
    "bad-graph.trig": (
        "<http://a.example/g> {\n<http://a.example/s> <http://a.example/p> .\n}\n",
        2,
    ),
    "bad.nq": ("<http://a.example/s> <http://a.example/p> <http://a.example/o> <g> <h> .\n", 1),
    "bad.jsonld": ('{\n  "@id": "http://a.example/s",\n  "http://a.example/p": [1,,2]\n}\n', 3),
}


@pytest.mark.parametrize("name", sorted(SYNTAX_ERRORS))
def test_validate_reports_a_syntax_error_with_file_and_line(tmp_path: Path, name: str):
    text, line = SYNTAX_ERRORS[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = run("validate", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert message.startswith(f"policygraph: {path}:{line}: "), message
    assert "syntax error" in message
    assert "Traceback" not in message


def test_validate_reports_an_ill_typed_literal_without_a_traceback(tmp_path: Path):
    path = tmp_path / "bad-date.ttl"
    path.write_text(
        "@prefix pg: <https://w3id.org/policygraph/ontology#> .\n"
        "@prefix eli: <http://data.europa.eu/eli/ontology#> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
        '<https://example.org/p> a pg:Policy ; eli:date_document "2017-02-30"^^xsd:date .\n',
        encoding="utf-8",
    )
    result = run("validate", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "valid xsd:date" in result.stdout
    assert "Traceback" not in result.stderr and result.stderr == ""


@pytest.mark.parametrize(
    ("name", "words"),
    [("missing.ttl", "no such file"), ("graph.csv", "unknown RDF format")],
)
def test_validate_refuses_what_it_cannot_read(tmp_path: Path, name: str, words: str):
    path = tmp_path / name
    if name.endswith(".csv"):
        path.write_text("a,b\n", encoding="utf-8")
    result = run("validate", str(path))
    assert result.returncode == 2
    assert result.stderr.startswith(f"policygraph: {path}: ") and words in result.stderr


def test_an_empty_graph_conforms_and_a_blank_subject_is_reported_plainly():
    """Nothing to check is not a defect; a blank-node focus has no place in the source."""
    assert validate_graph(Graph()).conforms
    g = Graph()
    node = BNode()
    g.add((node, RDFS.label, Literal("no language")))
    report = validate_graph(g)
    assert not report.conforms
    (result,) = report.results
    assert result.where is None and result.shape == str(PGSH.LabelLanguage)
    assert re.match(r"Violation: <[^>]+> rdfs:label: A label", str(result))
