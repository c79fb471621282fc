"""Sustainable Development Goals: the theme→SDG mapping table, and the links it implies.

The alignment is data, kept as an SSSOM-style table (``vocab/theme-sdg.sssom.tsv``):
each row maps a theme to a goal or target of the UN SDG linked data with a SKOS
mapping predicate, a justification and a confidence. The goals and targets themselves,
with their official texts, are shipped in ``vocab/sdg.ttl``. This module reads the
table (every row checked against both files, a bad row reported by file and line),
turns it into RDF for the vocabularies graph, and derives, for each measure, the goals
and targets its themes imply.

Only rows whose predicate says the theme and the SDG text cover (nearly) the same
ground, or the SDG text contains the theme — ``exactMatch``, ``closeMatch``,
``broadMatch`` — yield derived links. A ``relatedMatch`` says only that the two
overlap, which is too weak to claim that a measure serves that goal or target.
Derived links are marked as such: a property of their own (``pg:derivedSdgTarget``,
``pg:derivedSdgGoal``) and a record per measure and goal or target that names the
themes, the mapping predicates, the confidence, the mapping set and the method.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, PROV, SKOS

from policygraph.errors import InputError
from policygraph.iris import ONTOLOGY, Iris
from policygraph.resources import data_dir

PG = Namespace(ONTOLOGY)
SDG = Namespace("http://metadata.un.org/sdg/")
SDGO = Namespace("http://metadata.un.org/sdg/ontology#")
THEME = "https://w3id.org/policygraph/theme/"

MAPPING_FILE = "theme-sdg.sssom.tsv"
SDG_FILE = "sdg.ttl"

COLUMNS = (
    "subject_id",
    "subject_label",
    "predicate_id",
    "object_id",
    "object_label",
    "mapping_justification",
    "confidence",
    "comment",
)
PREDICATES = {
    "skos:exactMatch": SKOS.exactMatch,
    "skos:closeMatch": SKOS.closeMatch,
    "skos:broadMatch": SKOS.broadMatch,
    "skos:relatedMatch": SKOS.relatedMatch,
}
#: The predicates strong enough to link a measure to the goal or target of a row.
DERIVING = frozenset({SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch})
#: The method by which measure→SDG links are derived (an individual of the ontology).
METHOD = PG.ThemeSdgMappingDerivation


@dataclass(frozen=True)
class Mapping:
    """One row of the table, with the line it stands on."""

    subject: URIRef
    subject_label: str
    predicate: URIRef
    obj: URIRef
    object_label: str
    justification: str
    confidence: float
    comment: str
    line: int

    @property
    def code(self) -> str:
        """The SDG code of the object: ``9.5`` for a target, ``9`` for a goal."""
        return str(self.obj)[len(str(SDG)) :]


@dataclass
class MappingSet:
    """The table: its metadata (the ``#`` header) and its rows."""

    path: Path
    metadata: dict[str, str]
    curie_map: dict[str, str]
    rows: list[Mapping] = field(default_factory=list)

    @property
    def iri(self) -> URIRef:
        return URIRef(self.metadata["mapping_set_id"])


# -- reading the table ------------------------------------------------------------------


def _header(lines: list[str], path: Path) -> tuple[dict[str, str], dict[str, str], int]:
    """The ``#`` header: flat ``key: value`` pairs, and the nested ``curie_map``.

    A value may go on over indented lines (a long comment). Returns the metadata, the
    curie map and the number of header lines.
    """
    metadata: dict[str, str] = {}
    curie_map: dict[str, str] = {}
    key = None
    count = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.startswith("#"):
            break
        count = number
        text = raw[1:].rstrip()
        if not text.strip():
            continue
        if text.startswith("   ") and key is not None and key != "curie_map":
            metadata[key] += " " + text.strip()
            continue
        name, sep, value = text.strip().partition(":")
        if not sep:
            raise InputError("a header line must read 'key: value'", path, number)
        if text.startswith("  ") and key == "curie_map":
            curie_map[name.strip()] = value.strip()
            continue
        key = name.strip()
        metadata[key] = value.strip()
    for required in ("mapping_set_id", "license", "mapping_date"):
        if not metadata.get(required):
            raise InputError(f"the header has no {required}", path, 1)
    return metadata, curie_map, count


def _expand(curie: str, curie_map: dict[str, str], path: Path, line: int) -> URIRef:
    prefix, sep, local = curie.partition(":")
    if not sep or prefix not in curie_map or not local:
        raise InputError(f"{curie!r} is not a CURIE with a prefix of the curie_map", path, line)
    return URIRef(curie_map[prefix] + local)


def _confidence(value: str, path: Path, line: int) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        raise InputError(f"confidence {value!r} is not a number from 0 to 1", path, line)
    return number


def _row(cells: list[str], mapping_set: MappingSet, line: int, known: Graph) -> Mapping:
    path, curies = mapping_set.path, mapping_set.curie_map
    if len(cells) != len(COLUMNS):
        raise InputError(f"{len(cells)} columns where {len(COLUMNS)} are expected", path, line)
    row = dict(zip(COLUMNS, cells, strict=True))
    subject = _expand(row["subject_id"], curies, path, line)
    if (subject, RDF.type, PG.Theme) not in known:
        raise InputError(f"{row['subject_id']} is not a theme of vocab/themes.ttl", path, line)
    if row["predicate_id"] not in PREDICATES:
        allowed = ", ".join(sorted(PREDICATES))
        raise InputError(f"predicate {row['predicate_id']!r} is not one of {allowed}", path, line)
    obj = _expand(row["object_id"], curies, path, line)
    if not str(obj).startswith(str(SDG)) or not _is_goal_or_target(known, obj):
        raise InputError(
            f"{row['object_id']} is not a goal or target of vocab/{SDG_FILE}", path, line
        )
    return Mapping(
        subject=subject,
        subject_label=row["subject_label"],
        predicate=PREDICATES[row["predicate_id"]],
        obj=obj,
        object_label=row["object_label"],
        justification=row["mapping_justification"],
        confidence=_confidence(row["confidence"], path, line),
        comment=row["comment"],
        line=line,
    )


def _is_goal_or_target(graph: Graph, node: URIRef) -> bool:
    return (node, RDF.type, SDGO.Goal) in graph or (node, RDF.type, SDGO.Target) in graph


def _known_terms(themes: Path, sdgs: Path) -> Graph:
    """The themes and the SDG subset, which every row must refer to."""
    graph = Graph()
    graph.parse(themes, format="turtle")
    graph.parse(sdgs, format="turtle")
    return graph


def read_mappings(
    path: Path | None = None, themes: Path | None = None, sdgs: Path | None = None
) -> MappingSet:
    """Read and check the mapping table; a bad row raises :class:`InputError` with its line."""
    path = path or data_dir("vocab") / MAPPING_FILE
    known = _known_terms(
        themes or data_dir("vocab") / "themes.ttl", sdgs or data_dir("vocab") / SDG_FILE
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    metadata, curie_map, skip = _header(lines, path)
    mapping_set = MappingSet(path, metadata, curie_map)
    if skip >= len(lines) or tuple(lines[skip].split("\t")) != COLUMNS:
        raise InputError(f"the column header must be: {' '.join(COLUMNS)}", path, skip + 1)
    seen: dict[tuple[URIRef, URIRef], int] = {}
    for number in range(skip + 2, len(lines) + 1):
        text = lines[number - 1]
        if not text.strip():
            continue
        row = _row(text.split("\t"), mapping_set, number, known)
        pair = (row.subject, row.obj)
        if pair in seen:
            raise InputError(f"same subject and object as line {seen[pair]}", path, number)
        seen[pair] = number
        mapping_set.rows.append(row)
    return mapping_set


@cache
def mappings() -> MappingSet:
    """The bundled mapping table, read and checked once."""
    return read_mappings()


# -- the table as RDF -------------------------------------------------------------------


def mapping_triples(mapping_set: MappingSet) -> Graph:
    """What the table says, as RDF: ``theme skos:xMatch sdg``, and the set's metadata."""
    graph = Graph()
    graph.bind("sdg", SDG)
    for row in mapping_set.rows:
        graph.add((row.subject, row.predicate, row.obj))
    meta = mapping_set.metadata
    node = mapping_set.iri
    graph.add((node, RDF.type, PG.MappingSet))
    title = meta.get("mapping_set_title") or mapping_set.path.name
    graph.add((node, RDFS.label, Literal(title, lang="en")))
    graph.add((node, DCTERMS.license, URIRef(meta["license"])))
    graph.add((node, DCTERMS.issued, Literal(meta["mapping_date"], datatype=XSD.date)))
    if meta.get("mapping_set_version"):
        graph.add((node, PG.mappingSetVersion, Literal(meta["mapping_set_version"])))
    graph.add((node, PG.mappingCount, Literal(len(mapping_set.rows))))
    return graph


@cache
def mapping_graph() -> Graph:
    """The bundled table as RDF, for the vocabularies graph."""
    return mapping_triples(mappings())


def sdg_graph() -> Graph:
    """The shipped goals and targets (``vocab/sdg.ttl``)."""
    return Graph().parse(data_dir("vocab") / SDG_FILE, format="turtle")


# -- derived links ----------------------------------------------------------------------


@dataclass
class LinkCounts:
    """What the derivation found, for the build summary."""

    measures: set[str] = field(default_factory=set)
    targets: set[str] = field(default_factory=set)
    goals: set[str] = field(default_factory=set)
    rows: set[int] = field(default_factory=set)

    def text(self) -> str:
        """One line for the build summary."""
        return (
            f"SDG links: {len(self.measures)} measures → {len(self.targets)} SDG targets "
            f"and {len(self.goals)} goals via {len(self.rows)} theme mappings"
        )

    def extend(self, other: LinkCounts) -> None:
        self.measures |= other.measures
        self.targets |= other.targets
        self.goals |= other.goals
        self.rows |= other.rows


def _by_theme(rows: Iterable[Mapping]) -> dict[URIRef, list[Mapping]]:
    grouped: dict[URIRef, list[Mapping]] = {}
    for row in rows:
        if row.predicate in DERIVING:
            grouped.setdefault(row.subject, []).append(row)
    return grouped


@cache
def _broader_themes() -> dict[URIRef, frozenset[URIRef]]:
    """Each theme's broader themes, transitively (``vocab/themes.ttl``)."""
    graph = Graph().parse(data_dir("vocab") / "themes.ttl", format="turtle")
    direct: dict[URIRef, set[URIRef]] = {}
    for narrower, broader in graph.subject_objects(SKOS.broader):
        direct.setdefault(narrower, set()).add(broader)  # type: ignore[arg-type]
    closed: dict[URIRef, frozenset[URIRef]] = {}
    for theme in direct:
        seen: set[URIRef] = set()
        todo = list(direct[theme])
        while todo:
            term = todo.pop()
            if term not in seen:
                seen.add(term)
                todo.extend(direct.get(term, ()))
        closed[theme] = frozenset(seen)
    return closed


def add_sdg_links(graph: Graph, mapping_set: MappingSet | None = None) -> LinkCounts:
    """Add to a document's graph the SDG links its measures' themes imply; count them.

    A measure's themes count with their broader themes: a measure on equipment
    manufacturing is a measure on industry, and so serves what industry closely maps
    to. One record per measure and goal or target, at ``{measure}/sdg/{code}``: when
    several themes lead to the same goal or target, the record names each mapped theme
    and predicate, and carries the highest confidence.
    """
    mapping_set = mapping_set or mappings()
    by_theme = _by_theme(mapping_set.rows)
    broader = _broader_themes()
    counts = LinkCounts()
    measures = sorted(set(graph.subjects(RDF.type, PG.Measure)), key=str)
    for measure in measures:
        themes: set[URIRef] = set()
        for theme in graph.objects(measure, PG.theme):
            themes.add(theme)  # type: ignore[arg-type]
            themes |= broader.get(theme, frozenset())  # type: ignore[call-overload]
        found: dict[URIRef, list[Mapping]] = {}
        for theme in sorted(themes):
            for row in by_theme.get(theme, []):
                found.setdefault(row.obj, []).append(row)
        for obj, rows in sorted(found.items()):
            _record(graph, measure, obj, rows, mapping_set.iri)
            counts.measures.add(str(measure))
            counts.rows |= {row.line for row in rows}
            (counts.targets if "." in rows[0].code else counts.goals).add(str(obj))
    return counts


def _record(
    graph: Graph, measure: URIRef, obj: URIRef, rows: list[Mapping], source: URIRef
) -> None:
    code = rows[0].code
    is_target = "." in code
    record = URIRef(Iris.child(str(measure), f"sdg/{code}"))
    graph.add((measure, PG.derivedSdgTarget if is_target else PG.derivedSdgGoal, obj))
    graph.add((measure, PG.sdgLink, record))
    kind = "target" if is_target else "goal"
    themes = ", ".join(sorted({row.subject_label for row in rows}))
    for triple in (
        (RDF.type, PG.SdgLink),
        (RDFS.label, Literal(f"SDG {kind} {code} via {themes}", lang="en")),
        (PG.linkedSdg, obj),
        (PG.confidence, Literal(f"{max(r.confidence for r in rows):.2f}", datatype=XSD.decimal)),
        (PROV.wasDerivedFrom, source),
        (PG.derivation, METHOD),
    ):
        graph.add((record, *triple))
    for row in rows:
        graph.add((record, PG.viaTheme, row.subject))
        graph.add((record, PG.mappingPredicate, row.predicate))
