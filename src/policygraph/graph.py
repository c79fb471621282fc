"""Mapping the document model to RDF, with the ontology's terms and the IRI scheme.

One function per kind of resource; each adds its triples to one rdflib graph that
holds exactly one document (plus the organisations it names), so the build can
validate, count and publish documents independently. Provenance is part of the
mapping: every resource with text gets its span in the source, every repair is a
resource of its own, and the policy links to its source file (with SHA-256) and to
the build activity (tool version, time).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from policygraph import __version__
from policygraph.iris import ONTOLOGY, Iris
from policygraph.model import (
    Chapter,
    ClosingNote,
    Document,
    Item,
    Objective,
    Paragraph,
    Repair,
    Span,
    Text,
)
from policygraph.vocab import organization_identifiers, organizations

PG = Namespace(ONTOLOGY)
ELI = Namespace("http://data.europa.eu/eli/ontology#")
OA = Namespace("http://www.w3.org/ns/oa#")
ORG = Namespace("http://www.w3.org/ns/org#")
SCHEMA = Namespace("http://schema.org/")
LANGUAGES = Namespace("http://id.loc.gov/vocabulary/iso639-1/")

PREFIXES = {
    "pg": str(PG),
    "eli": str(ELI),
    "dcterms": str(DCTERMS),
    "skos": str(SKOS),
    "prov": str(PROV),
    "oa": str(OA),
    "org": str(ORG),
    "schema": str(SCHEMA),
    "rdfs": str(RDFS),
    "rdf": str(RDF),
    "xsd": str(XSD),
    "theme": "https://w3id.org/policygraph/theme/",
    "pk": "https://w3id.org/policygraph/provision-kind/",
    "uom": "https://w3id.org/policygraph/unit/",
    "cmp": "https://w3id.org/policygraph/comparison/",
    "sdg": "http://metadata.un.org/sdg/",
    "sdgo": "http://metadata.un.org/sdg/ontology#",
}

_RULES = {"split-word": PG.SplitWordRule, "dash": PG.DashRule, "whitespace": PG.WhitespaceRule}
_NUMBERING = {"continuous": PG.ContinuousNumbering, "per-chapter": PG.PerChapterNumbering}
_CLOSING_TYPES = {"source": PG.SourceNote, "signature": PG.Signature}
_LABEL_LENGTH = 80


def xsd_datetime(moment: dt.datetime) -> str:
    """A UTC time in the canonical xsd:dateTime form ("…Z"), which every store keeps as is.

    Make the literal with ``normalize=False``: rdflib would rewrite "Z" as "+00:00".
    """
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def xsd_decimal(value: Decimal) -> str:
    """The canonical xsd:decimal form ("70", "1.2"): stores such as Oxigraph rewrite others."""
    return format(value.normalize(), "f")


def _short(text: str) -> str:
    """A label-sized form of a long text."""
    return text if len(text) <= _LABEL_LENGTH else text[: _LABEL_LENGTH - 1].rstrip() + "…"


class _Mapper:
    def __init__(self, document: Document, iris: Iris, built_at: dt.datetime):
        self.doc = document
        self.iris = iris
        self.built_at = built_at
        self.lang = document.language
        # A plain triple store: a document graph has no named graphs, and rdflib's
        # default store pays for context bookkeeping on every add (~20 % of this stage).
        self.graph = Graph(store="SimpleMemory")
        for prefix, namespace in PREFIXES.items():
            self.graph.bind(prefix, namespace)
        self.policy = URIRef(iris.policy(document.doc_id))
        self.source = URIRef(iris.source(document.doc_id))

    def add(self, subject: URIRef, *pairs: tuple[URIRef, object]) -> None:
        for predicate, obj in pairs:
            self.graph.add((subject, predicate, obj))  # type: ignore[arg-type]

    def text(self, value: str) -> Literal:
        return Literal(value, lang=self.lang)

    # -- provenance ---------------------------------------------------------------------

    def span(self, subject: URIRef, span: Span) -> None:
        node = URIRef(Iris.child(str(subject), "span"))
        self.add(subject, (PG.span, node))
        self.add(
            node,
            (RDF.type, PG.TextSpan),
            (OA.start, Literal(span.start)),
            (OA.end, Literal(span.end)),
            (PG.startLine, Literal(span.start_line)),
            (PG.endLine, Literal(span.end_line)),
            (OA.exact, Literal(span.text)),
            (PG.sourceText, self.source),
        )

    def repairs(self, subject: URIRef, texts: Iterable[Text]) -> None:
        all_repairs: list[Repair] = sorted(
            {r for t in texts for r in t.repairs}, key=lambda r: (r.start, r.end)
        )
        for number, repair in enumerate(all_repairs, start=1):
            node = URIRef(Iris.part(str(subject), "repair", number))
            self.add(subject, (PG.repair, node))
            self.add(
                node,
                (RDF.type, PG.Repair),
                (RDFS.label, Literal(f"{repair.original} → {repair.repaired}", lang=self.lang)),
                (PG.repairRule, _RULES[repair.rule]),
                (PG.originalText, Literal(repair.original)),
                (PG.repairedText, Literal(repair.repaired)),
                (OA.start, Literal(repair.start)),
                (OA.end, Literal(repair.end)),
                (PG.sourceText, self.source),
            )

    def provenance(self) -> None:
        doc = self.doc
        self.add(
            self.source,
            (RDF.type, PG.SourceText),
            (RDFS.label, Literal(f"source text {doc.path.name}", lang="en")),
            (PG.fileName, Literal(doc.path.name)),
            (PG.sha256, Literal(doc.sha256)),
            (PG.byteSize, Literal(doc.byte_size)),
            (DCTERMS.format, URIRef("https://www.iana.org/assignments/media-types/text/plain")),
        )
        activity = URIRef(Iris.child(str(self.policy), "build"))
        self.add(
            activity,
            (RDF.type, PROV.Activity),
            (RDFS.label, Literal(f"policygraph {__version__} build", lang="en")),
            (PROV.used, self.source),
            (
                PROV.endedAtTime,
                Literal(xsd_datetime(self.built_at), datatype=XSD.dateTime, normalize=False),
            ),
            (PG.softwareVersion, Literal(__version__)),
        )
        self.add(
            self.policy,
            (PG.sourceText, self.source),
            (PROV.wasGeneratedBy, activity),
            (
                PROV.generatedAtTime,
                Literal(xsd_datetime(self.built_at), datatype=XSD.dateTime, normalize=False),
            ),
        )

    # -- structure ----------------------------------------------------------------------

    def part_of(self, subject: URIRef, parent: URIRef, order: int) -> None:
        self.add(
            subject,
            (ELI.is_part_of, parent),
            (PG.inPolicy, self.policy),
            (PG.order, Literal(order)),
        )
        self.add(parent, (ELI.has_part, subject))

    def policy_node(self) -> None:
        doc = self.doc
        self.add(
            self.policy,
            (RDF.type, PG.Policy),
            (RDFS.label, self.text(doc.title.value)),
            (DCTERMS.title, self.text(doc.title.value)),
            (ELI.id_local, Literal(doc.doc_id)),
            (DCTERMS.language, LANGUAGES[doc.language]),
            (PG.itemNumbering, _NUMBERING[doc.numbering]),
        )
        if doc.date is not None:
            self.add(
                self.policy, (ELI.date_document, Literal(doc.date.isoformat(), datatype=XSD.date))
            )
        if doc.doc_type:
            self.add(self.policy, (DCTERMS.type, self.text(doc.doc_type)))
        if doc.doc_number:
            self.add(self.policy, (PG.documentNumber, Literal(doc.doc_number)))
        if doc.addressees:
            self.add(self.policy, (PG.addressees, self.text(doc.addressees)))
        self.repairs(self.policy, [doc.title])
        for org_id, written in doc.issuers:
            org = URIRef(self.iris.organization(org_id))
            self.add(self.policy, (ELI.passed_by, org))
            self.organization(org, org_id, written)

    def organization(self, node: URIRef, org_id: str, written: str) -> None:
        known = {c.iri: c for c in organizations()}.get(org_id)
        self.add(node, (RDF.type, ORG.Organization))
        if known is None:
            self.add(node, (RDFS.label, self.text(written)), (SKOS.prefLabel, self.text(written)))
            return
        for lang, labels in sorted(known.labels.items()):
            self.add(node, (RDFS.label, Literal(labels[0], lang=lang)))
            self.add(node, (SKOS.prefLabel, Literal(labels[0], lang=lang)))
            for alt in labels[1:]:
                self.add(node, (SKOS.altLabel, Literal(alt, lang=lang)))
        for other in organization_identifiers().get(org_id, ()):  # verified, with sources
            self.add(node, (SCHEMA.sameAs, URIRef(other)))

    def block(
        self, node: URIRef, rdf_type: URIRef, label: str, text: Text | None, span: Span
    ) -> None:
        """The triples every text-bearing part shares: type, label, text, span, repairs."""
        self.add(node, (RDF.type, rdf_type), (RDFS.label, self.text(_short(label))))
        if text is not None:
            self.add(node, (PG.text, self.text(text.value)))
            self.repairs(node, [text])
        self.span(node, span)

    def paragraphs(self, parent: URIRef, paragraphs: list[Paragraph], first_order: int) -> None:
        for number, paragraph in enumerate(paragraphs, start=1):
            node = URIRef(Iris.part(str(parent), "para", number))
            self.block(node, PG.Paragraph, paragraph.text.value, paragraph.text, paragraph.span)
            self.part_of(node, parent, first_order + number - 1)

    def chapter(self, chapter: Chapter, order: int) -> None:
        node = URIRef(Iris.part(str(self.policy), "chp", chapter.ordinal))
        self.block(
            node, PG.Chapter, f"{chapter.number}. {chapter.heading.value}", None, chapter.span
        )
        self.add(
            node,
            (ELI.number, Literal(chapter.number)),
            (PG.ordinal, Literal(chapter.ordinal)),
            (PG.heading, self.text(chapter.heading.value)),
        )
        self.repairs(node, [chapter.heading])
        self.part_of(node, self.policy, order)
        self.paragraphs(node, chapter.paragraphs, 1)
        for position, item in enumerate(chapter.items, start=len(chapter.paragraphs) + 1):
            self.item(item, node, position)

    def item(self, item: Item, chapter: URIRef, order: int) -> None:
        node = URIRef(Iris.part(str(chapter), "item", item.ordinal))
        rdf_type = PG.GeneralProvision if item.is_general else PG.Measure
        self.block(node, rdf_type, f"{item.number}. {item.heading.value}", None, item.span)
        self.add(
            node,
            (ELI.number, Literal(item.number)),
            (PG.ordinal, Literal(item.ordinal)),
            (PG.heading, self.text(item.heading.value)),
        )
        if item.body is not None:
            self.add(node, (PG.text, self.text(item.body.value)))
        self.repairs(node, [item.heading, *([item.body] if item.body else [])])
        self.part_of(node, chapter, order)
        if item.provision_kind:
            self.add(node, (PG.provisionKind, URIRef(item.provision_kind)))
        self.paragraphs(node, item.paragraphs, 1)
        for org_id, written in item.agencies:
            org = URIRef(self.iris.organization(org_id))
            self.add(node, (ELI.responsibility_of, org))
            self.organization(org, org_id, written)
        if item.lead_agency:
            self.add(node, (PG.leadAgency, URIRef(self.iris.organization(item.lead_agency))))
        for number, objective in enumerate(item.objectives, start=1):
            self.objective(objective, node, number)
        for match in item.themes:
            theme = URIRef(match.theme)
            record = URIRef(Iris.child(str(node), f"theme-match/{match.theme.rsplit('/', 1)[-1]}"))
            self.add(node, (PG.theme, theme), (PG.themeMatch, record))
            self.add(
                record,
                (RDF.type, PG.ThemeMatch),
                (PG.matchedTheme, theme),
                (PG.matchedLabel, Literal(match.label, lang=match.language)),
                (PG.matchedText, Literal(match.matched_text)),
            )

    def objective(self, objective: Objective, item: URIRef, number: int) -> None:
        node = URIRef(Iris.part(str(item), "obj", number))
        self.add(
            node,
            (RDF.type, PG.Objective),
            (RDFS.label, self.text(_short(objective.statement.value))),
            (PG.statement, self.text(objective.statement.value)),
            (PG.objectiveOf, item),
            (PG.inPolicy, self.policy),
            (PG.order, Literal(number)),
        )
        self.add(item, (PG.hasObjective, node))
        if objective.target_year is not None:
            self.add(node, (PG.targetYear, Literal(str(objective.target_year), datatype=XSD.gYear)))
        if objective.value is not None:
            self.add(
                node,
                (PG.indicator, self.text(objective.indicator or objective.statement.value)),
                (PG.value, Literal(xsd_decimal(objective.value), datatype=XSD.decimal)),
            )
            if objective.comparison:
                self.add(node, (PG.comparison, URIRef(objective.comparison)))
            if objective.unit:
                self.add(node, (PG.unit, URIRef(objective.unit)))
        self.repairs(node, [objective.statement])
        self.span(node, objective.span)

    def closing_note(self, note: ClosingNote, number: int, order: int) -> None:
        node = URIRef(Iris.part(str(self.policy), "note", number))
        rdf_type = _CLOSING_TYPES.get(note.kind, PG.ClosingNote)
        self.block(node, rdf_type, note.text.value, note.text, note.span)
        if note.attribution:
            self.add(node, (PG.attribution, Literal(note.attribution)))
        self.part_of(node, self.policy, order)

    def map(self) -> Graph:
        doc = self.doc
        self.policy_node()
        self.provenance()
        order = 1
        preface = URIRef(Iris.child(str(self.policy), "preface"))
        self.block(preface, PG.Preface, doc.title.value, None, doc.preface)
        self.part_of(preface, self.policy, order)
        if doc.preamble:
            order += 1
            preamble = URIRef(Iris.child(str(self.policy), "preamble"))
            assert doc.preamble_span is not None
            self.block(preamble, PG.Preamble, doc.preamble[0].text.value, None, doc.preamble_span)
            self.part_of(preamble, self.policy, order)
            self.paragraphs(preamble, doc.preamble, 1)
        for chapter in doc.chapters:
            order += 1
            self.chapter(chapter, order)
        for number, note in enumerate(doc.closing, start=1):
            order += 1
            self.closing_note(note, number, order)
        self.covered_themes()
        return self.graph

    def covered_themes(self) -> None:
        """The policy's themes as a whole: each theme any of its parts carries, once.

        Derived from the parts' own ``pg:theme`` links (the shapes check that the two
        agree), so comparing policies by theme reads a few links per policy instead
        of every measure of the corpus.
        """
        for theme in sorted(set(self.graph.objects(None, PG.theme)), key=str):
            self.add(self.policy, (PG.coversTheme, theme))


def document_graph(document: Document, iris: Iris, built_at: dt.datetime) -> Graph:
    """The RDF graph of one parsed, classified and themed document."""
    return _Mapper(document, iris, built_at).map()
