"""SHACL validation compiled into SPARQL and run by pyoxigraph, all focus nodes at once.

Why: pySHACL checks every constraint for every focus node in Python over rdflib, which
costs about a second per document, and a build validates every document. Here the
shapes graph (``shapes/*.ttl``, read at run time) is compiled once per process into
SPARQL, and a document is validated by loading its triples next to the reference graph
(vocabularies and ontology, loaded once per process) in an in-memory pyoxigraph store
and running the queries over both, each query for all focus nodes at once:

* for each constraint, a query whose rows are its results (focus node, value node);
* for each shape with targets, a *detector*: one query that returns, for each focus node
  with any failing constraint, which constraints fail. pyoxigraph parses every query
  anew and a run costs a fixed fraction of a millisecond, so one detector per shape
  replaces the queries of its dozen constraints, which run only when it flags them;
* SPARQL-based constraints run as they are written, the focus nodes joined into them.

The reference graph holds focus nodes too (its labels, themes, mappings), validated with
every document as pySHACL does; their results come from one validation of the reference
alone wherever the document cannot change them (see ``_Engine``).

What it reports is what pySHACL reports — ``policygraph.shacl.validate_graph_pyshacl``
is the reference, and the tests compare the two on every defect they build: the same
focus nodes, paths, values, messages (``sh:message``, with ``{?var}`` filled in for
SPARQL constraints as pySHACL fills it, or pySHACL's own words where a shape has no
message), severities, shapes, places in the source and conformance. Where SPARQL and
pySHACL's rdflib semantics could part (well-formed literals, comparing values of
different types, Python regular expressions), a cheap SPARQL test accepts the common
case and a Python function called from the query decides the rest as pySHACL does.

Only the SHACL features that the shapes use are compiled (see ``_PARAMETERS``); any
other raises :class:`UnsupportedShapeError` when the shapes are compiled, so a new shape
is never silently ignored.

Two limits, both about typed literals, neither met by the graphs the pipeline builds:

* pyoxigraph stores numbers, dates and booleans in canonical form: ``"0.90"^^xsd:decimal``
  is kept as ``"0.9"``. Results still show the document's own form (it is looked up
  when a result names it), but two spellings of one value under the same subject and
  predicate count as one value, and ``sh:pattern``/``sh:minLength`` see the canonical
  spelling of such literals.
* pyoxigraph would turn a derived integer (``"5"^^xsd:positiveInteger``) into an
  ``xsd:integer``, which would hide it from ``sh:datatype``; such literals are stored
  under a private datatype instead, so SHACL sees their own datatype, but the SPARQL of
  a SPARQL-based constraint does not compare them as numbers.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD, BNode, Graph, Literal, URIRef, Variable
from rdflib.collection import Collection
from rdflib.namespace import OWL, SH
from rdflib.term import Identifier

from policygraph.shacl import (
    ValidationReport,
    ValidationResult,
    _ill_typed_literals_quiet,
    _path_text,
    _reading_order,
    _reference_graph,
    _short,
    _where,
    shapes_graph,
)

if TYPE_CHECKING:
    from policygraph.buildcache import BuildCache

#: Severities that pySHACL (with allow_warnings) reports without non-conformance.
_ALLOWED = {SH.Warning, SH.Info}

#: The IRIs of the Python functions that queries call, and of the private datatypes.
_FN = "urn:policygraph:shacl:function:"
_ENCODED = "urn:policygraph:shacl:literal:"

_XSD_NS = str(XSD)
#: XSD datatypes whose literals pyoxigraph keeps under their own datatype. Any other XSD
#: datatype (the derived integers, xsd:dateTimeStamp) would come back retyped, so its
#: literals are stored under a private datatype (see the module docstring).
_KEPT_XSD = {
    _XSD_NS + name
    for name in (
        "string", "boolean", "decimal", "integer", "double", "float", "date", "time",
        "dateTime", "duration", "dayTimeDuration", "yearMonthDuration", "gYear", "gMonth",
        "gDay", "gYearMonth", "gMonthDay", "anyURI", "normalizedString", "token", "language",
        "Name", "NCName", "NMTOKEN", "ID", "QName", "hexBinary", "base64Binary",
    )
}  # fmt: skip
_NUMERIC = {XSD.integer, XSD.decimal, XSD.double, XSD.float}

#: Shape predicates in the SHACL namespace that constrain nothing, or that the compiler
#: reads as targets and paths; every other sh: predicate on a shape must be a parameter
#: below, or the shapes are refused.
_SHAPE_KEYWORDS = {
    SH.name, SH.description, SH.order, SH.group, SH.message, SH.severity,
    SH.deactivated, SH.path, SH.targetClass, SH.targetSubjectsOf, SH.target, SH.flags,
}  # fmt: skip
_PARAMETERS = {
    SH.minCount, SH.maxCount, SH.datatype, SH["class"], SH.nodeKind, SH.minInclusive,
    SH.maxInclusive, SH.pattern, SH.minLength, SH.lessThan, SH.lessThanOrEquals, SH["in"],
    SH.hasValue, SH.equals, SH.node, SH["or"], SH.property, SH.sparql,
}  # fmt: skip
#: sh: predicates allowed on the nodes that are not shapes: SPARQL targets and
#: constraints, prefix declarations, and paths (``_Compiler.path`` refuses other forms).
_OTHER_KEYWORDS = {
    SH.select, SH.prefixes, SH.declare, SH.prefix, SH.namespace, SH.message, SH.deactivated,
    SH.inversePath, SH.alternativePath,
}  # fmt: skip
_NODE_KINDS = {
    SH.IRI: "isIRI({v})",
    SH.BlankNode: "isBlank({v})",
    SH.Literal: "isLiteral({v})",
    SH.BlankNodeOrIRI: "(isBlank({v}) || isIRI({v}))",
    SH.BlankNodeOrLiteral: "(isBlank({v}) || isLiteral({v}))",
    SH.IRIOrLiteral: "(isIRI({v}) || isLiteral({v}))",
}


class UnsupportedShapeError(ValueError):
    """A shape uses a SHACL feature that the compiler does not translate."""


# --- terms ---------------------------------------------------------------------------


def _to_ox(term: Identifier) -> Any:
    """An rdflib term as a pyoxigraph term, with retyped datatypes kept private."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        datatype = term.datatype
        return ox.Literal(str(term), datatype=_ox_datatype(str(datatype) if datatype else None))
    raise TypeError(f"not an RDF term: {term!r}")


@lru_cache(maxsize=256)
def _ox_datatype(datatype: str | None) -> ox.NamedNode:
    if datatype is None:
        return ox.NamedNode(str(XSD.string))
    if datatype.startswith(_XSD_NS) and datatype not in _KEPT_XSD:
        return ox.NamedNode(_ENCODED + datatype)
    return ox.NamedNode(datatype)


def _kept(term: Any) -> Any:
    """A pyoxigraph term from the caller, with a retyped datatype made private."""
    if isinstance(term, ox.Literal) and term.language is None:
        datatype = term.datatype.value
        if datatype.startswith(_XSD_NS) and datatype not in _KEPT_XSD:
            return ox.Literal(term.value, datatype=_ox_datatype(datatype))
    return term


def _from_ox(term: Any) -> Identifier:
    """A pyoxigraph term as rdflib's; a plain string literal has no datatype, as rdflib's."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        if term.value.startswith(_BNODE_MARK):
            return BNode(bytes.fromhex(term.value[len(_BNODE_MARK) :]).decode())
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        return _literal_from_ox(term.value, term.language, term.datatype.value)
    raise TypeError(f"not an RDF term: {term!r}")


@lru_cache(maxsize=4096)
def _literal_from_ox(value: str, language: str | None, datatype: str) -> Literal:
    if language:
        return Literal(value, lang=language)
    if datatype.startswith(_ENCODED):
        datatype = datatype[len(_ENCODED) :]
    if datatype == str(XSD.string):
        return Literal(value)
    with _ill_typed_literals_quiet():  # an ill-typed literal is a result, not a log line
        return Literal(value, datatype=URIRef(datatype))


def _sparql(term: Identifier) -> str:
    """A constant of the shapes graph in SPARQL syntax."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        text = str(term).replace("\\", "\\\\").replace('"', '\\"')
        text = text.replace("\n", "\\n").replace("\r", "\\r")
        if term.language:
            return f'"{text}"@{term.language}'
        datatype = str(term.datatype) if term.datatype else None
        return f'"{text}"^^<{_ox_datatype(datatype).value}>'
    raise UnsupportedShapeError(f"a blank node ({term}) cannot be a constant of a constraint")


_TRUE = ox.Literal("true", datatype=ox.NamedNode(str(XSD.boolean)))
_FALSE = ox.Literal("false", datatype=ox.NamedNode(str(XSD.boolean)))


# --- what a branch of the query reports ----------------------------------------------


@dataclass(frozen=True)
class _Source:
    """The constraint a branch checks: what its results say, and about what."""

    shape: Identifier
    severity: URIRef
    messages: tuple[Literal, ...]
    path: Identifier | None  # the shape's sh:path (property shapes)
    component: str  # the parameter, e.g. "minCount": picks the default message
    parameters: tuple[Identifier, ...] = ()  # the parameter's values, for the message
    counts: bool = True  # whether a result makes the graph non-conforming
    node_shape: bool = False  # a node shape: its value node is the focus node


@dataclass(frozen=True)
class _Branch:
    """One constraint as SPARQL: a group pattern whose rows are its results."""

    pattern: str
    source: _Source
    focus: str  # the variable of the focus node
    value: str | None = None  # the variable of the value node, if the result names one
    others: tuple[str, ...] = ()  # more variables that tell results apart
    projected: tuple[str, ...] = ()  # a SPARQL constraint's SELECT variables
    extra_messages: tuple[Literal, ...] = ()  # a SPARQL constraint's own sh:message
    query: str = ""  # the whole query of the results (set when compiled at top level)
    condition: str | None = None  # the check as a test of one value node, if it is one
    values: str = ""  # the triple pattern from focus to value node ("" for a node shape)
    count: tuple[str, int] | None = None  # ("min", n) or ("max", n) for sh:minCount/maxCount
    detect: str | None = None  # the condition as the detector tests it (maybe weaker)


@dataclass(frozen=True)
class _Focus:
    """Where focus nodes come from: a pattern binding ``var``, or ``var`` bound outside."""

    var: str
    pattern: str = ""  # empty: ``var`` is bound by an enclosing EXISTS

    @property
    def nested(self) -> bool:
        return not self.pattern


#: The two ways of finding a shape's focus nodes: among all the triples, or only among
#: the subjects of the document's (see ``_Engine``).
_EVERYWHERE, _IN_DOCUMENT = "everywhere", "document"
_DOCUMENT = ox.NamedNode("urn:policygraph:shacl:document")
_REF = ox.NamedNode("urn:policygraph:shacl:reference")


@dataclass
class _TopShape:
    """A shape with targets: one query that flags its failing constraints per focus node,
    and for each constraint the query of its results (run only when it is flagged)."""

    node: Identifier
    local: bool  # its results for a node depend only on triples reachable forward from it
    detectors: dict[str, str | None]  # per focus mode; None: no constraint but SPARQL ones
    checks: dict[str, list[_Branch]]  # per focus mode, in the order of the detector's codes
    sparql: dict[str, list[_Branch]]  # per focus mode: SPARQL constraints, run always
    groups: list[list[int]]  # the checks that each code of the detector stands for
    classes: frozenset[str] = frozenset()  # its target classes, in N-Triples syntax
    predicates: frozenset[str] = frozenset()  # its sh:targetSubjectsOf, in N-Triples syntax
    queried: bool = False  # a SPARQL target: its focus nodes cannot be foreseen
    focus_query: str = ""  # a query for one of its focus nodes anywhere


@dataclass
class CompiledShapes:
    """The shapes as SPARQL queries, and how to read their rows."""

    shapes: list[_TopShape]
    graph: Graph


# --- the compiler --------------------------------------------------------------------


class _Compiler:
    """Walks the shapes graph and writes one SPARQL branch per constraint."""

    def __init__(self, shapes: Graph) -> None:
        self.g = shapes
        self.counter = itertools.count()
        self.prefixes: dict[str, str] = {}
        self.inverse = False
        self.parsed: dict[str, Any] = {}
        self.shapes = self._find_shapes()
        self._check_vocabulary()

    # shapes and the features they use

    def _find_shapes(self) -> set[Identifier]:
        g = self.g
        found = set(g.subjects(RDF.type, SH.NodeShape)) | set(
            g.subjects(RDF.type, SH.PropertyShape)
        )
        for predicate in (SH.targetClass, SH.targetSubjectsOf, SH.target, SH.path, *_PARAMETERS):
            found |= set(g.subjects(predicate, None))
        found |= set(g.objects(None, SH.property)) | set(g.objects(None, SH.node))
        for members in g.objects(None, SH["or"]):
            found |= set(Collection(g, members))
        for shape in found:
            classes = set(g.objects(shape, RDF.type))
            if classes & {RDFS.Class, OWL.Class}:
                raise UnsupportedShapeError(f"{shape}: implicit class targets are not compiled")
        return found

    def _check_vocabulary(self) -> None:
        """Refuse any sh: term that is not compiled, wherever it is used."""
        known = _SHAPE_KEYWORDS | _PARAMETERS | _OTHER_KEYWORDS
        for subject, predicate, _ in self.g:
            if not str(predicate).startswith(str(SH)):
                continue
            allowed = _SHAPE_KEYWORDS | _PARAMETERS if subject in self.shapes else known
            if predicate not in allowed:
                raise UnsupportedShapeError(f"{subject}: {predicate} is not compiled")
        for node in self.g.subjects(RDF.type, None):
            for kind in self.g.objects(node, RDF.type):
                if str(kind).startswith(str(SH)) and kind not in {
                    SH.NodeShape, SH.PropertyShape, SH.SPARQLTarget, SH.SPARQLConstraint,
                }:  # fmt: skip
                    raise UnsupportedShapeError(f"{node}: {kind} is not compiled")

    def fresh(self, stem: str = "v") -> str:
        return f"_{stem}{next(self.counter)}"

    # the queries

    def compile(self) -> CompiledShapes:
        shapes = [
            self._top_shape(shape)
            for shape in sorted(self.shapes, key=str)
            if self._has_targets(shape) and not self._deactivated(shape)
        ]
        return CompiledShapes(shapes, self.g)

    def _top_shape(self, shape: Identifier) -> _TopShape:
        """A shape with targets, compiled for each way of finding its focus nodes."""
        self.inverse = False  # set by any inverse path met while compiling the shape
        tests = self.shape(shape, _Focus("this"), counts=True, stack=(), sparql="skip")
        codes = _detector_codes(tests)
        detectors, checks, sparql = {}, {}, {}
        for mode in (_EVERYWHERE, _IN_DOCUMENT):
            focus = self._targets(shape, mode)
            branches = self.shape(shape, focus, counts=True, stack=(), sparql="compile")
            checks[mode] = [self._with_query(b) for b in branches if not b.projected]
            sparql[mode] = [self._with_query(b) for b in branches if b.projected]
            if len(checks[mode]) != len(tests):  # the codes number the checks
                raise RuntimeError(f"{shape}: the detector and the checks do not match")
            detectors[mode] = self._detector(focus, list(codes)) if codes else None
        return _TopShape(
            shape,
            local=not self.inverse
            and (shape, SH.target, None) not in self.g
            and not sparql[_EVERYWHERE],
            detectors=detectors,
            checks=checks,
            sparql=sparql,
            groups=list(codes.values()),
            classes=frozenset(f"<{c}>" for c in self.g.objects(shape, SH.targetClass)),
            predicates=frozenset(f"<{p}>" for p in self.g.objects(shape, SH.targetSubjectsOf)),
            queried=(shape, SH.target, None) in self.g,
            focus_query=(
                f"{self._prologue()}SELECT ?this WHERE "
                f"{{ {self._targets(shape, _EVERYWHERE).pattern} }} LIMIT 1"
            ),
        )

    def _detector(self, focus: _Focus, codes: list[str]) -> str:
        """One row per focus node with failing checks, and the codes of the checks."""
        return (
            f"{self._prologue()}SELECT ?this ?_codes WHERE {{ {focus.pattern} "
            f'BIND(CONCAT({", ".join(codes)}) AS ?_codes) FILTER(?_codes != "") }}'
        )

    def _with_query(self, branch: _Branch) -> _Branch:
        if branch.projected:  # a SPARQL constraint: its own SELECT, rows kept as they are
            query = f"{self._prologue()}{branch.pattern.strip()[1:-1]}"
        else:
            names = (branch.focus, branch.value, *branch.others)
            keep = " ".join(f"?{v}" for v in dict.fromkeys(names) if v)
            query = f"{self._prologue()}SELECT DISTINCT {keep} WHERE {{ {branch.pattern} }}"
        return replace(branch, query=query)

    # targets

    def _has_targets(self, shape: Identifier) -> bool:
        return any(
            (shape, p, None) in self.g for p in (SH.targetClass, SH.targetSubjectsOf, SH.target)
        )

    def _targets(self, shape: Identifier, mode: str) -> _Focus:
        """The focus nodes of a shape with targets: a DISTINCT subquery binding ?this.

        In the document mode, only nodes whose typing or targeted triple is in the
        document graph (SPARQL targets are always run on everything).
        """
        doc = mode == _IN_DOCUMENT
        parts = []
        for cls in sorted(self.g.objects(shape, SH.targetClass)):
            if doc:
                kind = self.fresh("t")
                parts.append(
                    f"GRAPH <{_DOCUMENT.value}> {{ ?this a ?{kind} }} "
                    f"?{kind} <{RDFS.subClassOf}>* {_sparql(cls)} ."
                )
            else:
                parts.append(f"?this a/<{RDFS.subClassOf}>* {_sparql(cls)} .")
        for predicate in sorted(self.g.objects(shape, SH.targetSubjectsOf)):
            triple = f"?this {_sparql(predicate)} ?{self.fresh('o')} ."
            parts.append(f"GRAPH <{_DOCUMENT.value}> {{ {triple} }}" if doc else triple)
        for target in sorted(self.g.objects(shape, SH.target)):
            parts.append(self._sparql_target(shape, target))
        union = " UNION ".join(f"{{ {part} }}" for part in parts)
        return _Focus("this", f"{{ SELECT DISTINCT ?this WHERE {{ {union} }} }}")

    def _sparql_target(self, shape: Identifier, target: Identifier) -> str:
        if (target, RDF.type, SH.SPARQLTarget) not in self.g:
            raise UnsupportedShapeError(f"{shape}: only SPARQL targets are compiled")
        text = self._select_text(target)
        if "this" not in self._variables(target, text):
            raise UnsupportedShapeError(f"{shape}: a SPARQL target must select ?this")
        if re.search(r"\b(SERVICE|GRAPH)\b", text, flags=re.I):
            raise UnsupportedShapeError(f"{shape}: SERVICE and GRAPH are not compiled")
        return f"{{ {_strip_prologue(text)} }}"

    # one shape, for given focus nodes

    def shape(
        self,
        shape: Identifier,
        focus: _Focus,
        counts: bool,
        stack: tuple[Identifier, ...],
        sparql: str = "refuse",
    ) -> list[_Branch]:
        """The branches of a shape's constraints (and of its property shapes).

        ``sparql`` says what to do with SPARQL constraints: compile them (top level),
        skip them (the detector, which runs them apart), or refuse them (nested).
        """
        if self._deactivated(shape):
            return []
        if shape in stack:
            raise UnsupportedShapeError(f"{shape}: recursive shapes are not compiled")
        stack = (*stack, shape)
        severity = self.g.value(shape, SH.severity) or SH.Violation
        counts = counts and severity not in _ALLOWED
        path = self.g.value(shape, SH.path)
        values = _Values.of(self, focus, path)
        branches = []
        for parameter in sorted(set(self.g.predicates(shape, None)) & _PARAMETERS):
            source = _Source(
                shape=shape,
                severity=severity,  # type: ignore[arg-type]
                messages=tuple(sorted(self.g.objects(shape, SH.message))),  # type: ignore[arg-type]
                path=path,
                component=str(parameter).rsplit("#", 1)[-1],
                parameters=tuple(sorted(self.g.objects(shape, parameter))),
                counts=counts,
                node_shape=path is None,
            )
            branches += self._constraint(parameter, source, values, counts, stack, sparql)
        return branches

    def _deactivated(self, shape: Identifier) -> bool:
        flag = self.g.value(shape, SH.deactivated)
        return isinstance(flag, Literal) and bool(flag.value)

    def _constraint(
        self,
        parameter: URIRef,
        source: _Source,
        values: _Values,
        counts: bool,
        stack: tuple[Identifier, ...],
        sparql: str,
    ) -> list[_Branch]:
        if parameter == SH.property:
            return [
                branch
                for member in source.parameters
                for branch in self.shape(member, values.as_focus(self), counts, stack, sparql)
            ]
        if parameter == SH.sparql:
            if sparql == "skip":
                return []
            if sparql == "refuse":
                raise UnsupportedShapeError(f"{source.shape}: nested SPARQL constraints")
            return [
                self._sparql_constraint(source, values, node)
                for node in source.parameters
                if not self._deactivated(node)
            ]
        make = _COMPONENTS[parameter]
        triple = values.values_of(values.var) if values.path is not None else ""
        count = None
        if parameter in {SH.minCount, SH.maxCount}:
            count = ("min" if parameter == SH.minCount else "max", _count_literal(source))
        return [
            _Branch(made[0], source, values.focus.var, made[1], made[2], condition=made[3],
                    values=triple, count=count, detect=made[4] if len(made) > 4 else made[3])
            for made in make(self, source, values, stack)
        ]  # fmt: skip

    # SPARQL constraints

    def _sparql_constraint(self, source: _Source, values: _Values, node: Identifier) -> _Branch:
        shape = source.shape
        if values.focus.nested or values.focus.var != "this":
            raise UnsupportedShapeError(
                f"{shape}: SPARQL constraints are compiled at top level only"
            )
        if (node, SH.ask, None) in self.g:
            raise UnsupportedShapeError(f"{shape}: ASK constraints are not compiled")
        text = self._select_text(node)
        if source.path is not None:
            path = self.path(source.path)
            text = re.sub(r"([\s{}()])[\$\?]PATH", lambda m: m.group(1) + path, text)
        _check_constraint(shape, self._parse(node, text))
        spliced = _splice(_strip_prologue(text), values.focus.pattern)
        messages = tuple(sorted(self.g.objects(node, SH.message)))
        return _Branch(
            pattern=f"{{ {spliced} }}",
            source=source,
            focus="this",
            projected=self._variables(node, text),
            extra_messages=messages,  # type: ignore[arg-type]
        )

    def _select_text(self, node: Identifier) -> str:
        """The text of ``sh:select``, its prefixes (as pySHACL collects them) made global."""
        selects = list(self.g.objects(node, SH.select))
        if len(selects) != 1 or not isinstance(selects[0], Literal):
            raise UnsupportedShapeError(f"{node}: needs exactly one sh:select")
        for prefix, namespace in self._declared_prefixes(node).items():
            self._add_prefix(node, prefix, namespace)
        text = str(selects[0])
        for prefix, namespace in _PROLOGUE.findall(text):
            self._add_prefix(node, prefix, namespace)
        if re.search(r"^\s*BASE\b", text, flags=re.I | re.M):
            raise UnsupportedShapeError(f"{node}: BASE is not compiled")
        return text

    def _add_prefix(self, node: Identifier, prefix: str, namespace: str) -> None:
        if self.prefixes.setdefault(prefix, namespace) != namespace:
            raise UnsupportedShapeError(
                f"{node}: prefix {prefix}: means {namespace} here and "
                f"{self.prefixes[prefix]} elsewhere; the query has one prologue"
            )

    def _declared_prefixes(self, node: Identifier) -> dict[str, str]:
        """pySHACL's prefixes for a SPARQL node: rdf, rdfs, owl, then the declared ones."""
        g = self.g
        prefixes = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL)}
        ontologies = set(g.subjects(RDF.type, OWL.Ontology))
        everywhere = {d for o in ontologies for d in g.objects(o, SH.declare)}
        for value in g.objects(node, SH.prefixes):
            own = set(g.objects(value, SH.declare))
            declares = own if own and value in ontologies else everywhere | own
            found: dict[str, str] = {}
            for declare in declares:
                prefix = str(g.value(declare, SH.prefix))
                namespace = str(g.value(declare, SH.namespace))
                if found.setdefault(prefix, namespace) != namespace:
                    raise UnsupportedShapeError(f"{node}: prefix {prefix}: declared twice")
            prefixes.update(found)
        return prefixes

    def _prologue(self) -> str:
        return "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in sorted(self.prefixes.items()))

    def _variables(self, node: Identifier, text: str) -> tuple[str, ...]:
        """The SELECT variables of a query, in order (pyoxigraph parses it, on no data)."""
        try:
            solutions = ox.Store().query(self._prologue() + _strip_prologue(text))
        except SyntaxError as exc:
            raise UnsupportedShapeError(f"{node}: cannot parse sh:select: {exc}") from None
        if not isinstance(solutions, ox.QuerySolutions):
            raise UnsupportedShapeError(f"{node}: sh:select must be a SELECT query")
        return tuple(v.value for v in solutions.variables)

    def _parse(self, node: Identifier, text: str) -> Any:
        """rdflib's parse tree of a query, whose groups show where $this is bound."""
        if text not in self.parsed:
            self.parsed[text] = self._parse_now(node, text)
        return self.parsed[text]

    def _parse_now(self, node: Identifier, text: str) -> Any:
        from rdflib.plugins.sparql.parser import parseQuery

        try:
            return parseQuery(self._prologue() + _strip_prologue(text))[1]
        except Exception as exc:  # rdflib raises many kinds for bad SPARQL
            raise UnsupportedShapeError(f"{node}: cannot parse sh:select: {exc}") from None

    # paths

    def path(self, path: Identifier) -> str:
        """A SHACL path in SPARQL property path syntax (the forms the shapes use)."""
        if isinstance(path, URIRef):
            return f"<{path}>"
        inverse = self.g.value(path, SH.inversePath)
        if inverse is not None:
            self.inverse = True  # the shape reads triples pointing at its focus nodes
            return f"^({self.path(inverse)})"
        alternatives = self.g.value(path, SH.alternativePath)
        if alternatives is not None:
            members = [self.path(m) for m in Collection(self.g, alternatives)]  # type: ignore[arg-type]
            if not members:
                raise UnsupportedShapeError(f"{path}: an empty sh:alternativePath")
            return "(" + "|".join(members) + ")"
        raise UnsupportedShapeError(f"{path}: this kind of sh:path is not compiled")

    def violations(
        self, shape: Identifier, var: str, flavour: str, stack: tuple[Identifier, ...]
    ) -> list[str]:
        """Patterns, one per constraint, that match when ``?var`` does not conform to ``shape``.

        pySHACL decides conformance two ways: for sh:node any result fails, for sh:or
        only results whose severity is not allowed (and a shape of allowed severity
        always conforms).
        """
        branches = self.shape(shape, _Focus(var), counts=True, stack=stack)
        if flavour == "or":
            branches = [b for b in branches if b.source.counts]
        return [b.pattern for b in branches]


@dataclass(frozen=True)
class _Values:
    """The value nodes of a shape: the focus node itself, or the focus node's path values."""

    focus: _Focus
    var: str
    path: str | None  # SPARQL path; None for a node shape

    @classmethod
    def of(cls, compiler: _Compiler, focus: _Focus, path: Identifier | None) -> _Values:
        if path is None:
            return cls(focus, focus.var, None)
        return cls(focus, compiler.fresh(), compiler.path(path))

    def pattern(self) -> str:
        """Focus and value nodes, one row per pair (maybe repeated: alternative paths)."""
        if self.path is None:
            return self.focus.pattern
        return f"{self.focus.pattern} ?{self.focus.var} {self.path} ?{self.var} ."

    def as_focus(self, compiler: _Compiler) -> _Focus:
        """The value nodes as the focus nodes of a property shape."""
        if self.path is None:
            return self.focus
        if self.focus.nested:
            raise UnsupportedShapeError("sh:property on a nested property shape is not compiled")
        return _Focus(self.var, f"{{ SELECT DISTINCT ?{self.var} WHERE {{ {self.pattern()} }} }}")

    def values_of(self, var: str) -> str:
        """The path from the focus node to ``?var`` (a triple pattern)."""
        return f"?{self.focus.var} {self.path} ?{var} ."


# --- the constraint components -------------------------------------------------------
# Each returns one (pattern, value variable, other variables, condition) per check: the
# pattern's rows are the focus nodes (and value nodes) that violate it, one result per
# distinct row of the focus, value and other variables. A check that is a test of each
# value node on its own also gives it as a condition on the value variable, so that the
# detector can test all such checks of a property shape in one pass over its values.

_Made = list[tuple[str, str | None, tuple[str, ...], str | None]]


def _on_values(
    values: _Values, condition: str, others: tuple[str, ...] = (), detect: str | None = None
) -> _Made:
    """A check of each value node: its results, and the condition (``detect``: a weaker
    one, true whenever the condition is, for the detector, which is only a filter)."""
    pattern = f"{values.pattern()} FILTER({condition})"
    return [(pattern, values.var, others, condition, detect or condition)]  # type: ignore[list-item]


def _need_path(source: _Source, values: _Values) -> str:
    if values.path is None:
        raise UnsupportedShapeError(f"{source.shape}: sh:{source.component} needs a sh:path")
    return values.path


def _count_literal(source: _Source) -> int:
    (value,) = source.parameters
    if not (isinstance(value, Literal) and isinstance(value.value, int) and value.value >= 0):
        raise UnsupportedShapeError(f"{source.shape}: sh:{source.component} must be a count")
    return value.value


def _distinct_values(c: _Compiler, values: _Values, n: int, besides: str = "") -> str:
    """``n`` pairwise different values of the focus node's path (all unlike ``besides``)."""
    names = [c.fresh() for _ in range(n)]
    triples = " ".join(values.values_of(name) for name in names)
    pairs = list(itertools.combinations(names, 2))
    pairs += [(name, besides) for name in names] if besides else []
    checks = [f"!sameTerm(?{a}, ?{b})" for a, b in pairs]
    return triples + (f" FILTER({' && '.join(checks)})" if checks else "")


def _min_count(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    _need_path(source, values)
    n = _count_literal(source)
    if n == 0:
        return []
    if n > 4:
        raise UnsupportedShapeError(f"{source.shape}: sh:minCount above 4 is not compiled")
    pattern = f"{values.focus.pattern} FILTER NOT EXISTS {{ {_distinct_values(c, values, n)} }}"
    return [(pattern, None, (), None)]


def _max_count(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    _need_path(source, values)
    n = _count_literal(source)
    if n > 3:
        raise UnsupportedShapeError(f"{source.shape}: sh:maxCount above 3 is not compiled")
    pattern = f"{values.focus.pattern} {_distinct_values(c, values, n + 1)}"
    # Some value has n others: the same test, as a condition on each value.
    condition = f"EXISTS {{ {_distinct_values(c, values, n, besides=values.var)} }}"
    return [(pattern, None, (), condition)]


def _checked(values: _Values, fast: str | None, call: str) -> _Made:
    """Value nodes that the SPARQL test ``fast`` cannot accept and the function rejects.

    IF, unlike &&, leaves the function uncalled when the test accepts: a call costs
    microseconds, the test nanoseconds. COALESCE turns an error (say, the datatype of
    an IRI) into "not accepted", to be decided by the function.
    """
    if not fast:
        return _on_values(values, f"!{call}")
    return _on_values(
        values, f"IF(COALESCE({fast}, false), false, !{call})", detect=f"!COALESCE({fast}, false)"
    )


def _datatype(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    (datatype,) = source.parameters
    v = f"?{values.var}"
    fast = None
    if datatype == RDF.langString:
        fast = f'(isLiteral({v}) && lang({v}) != "")'
    elif datatype == XSD.string or datatype in _NUMERIC:
        test = "isLiteral" if datatype == XSD.string else "isNumeric"
        fast = f"({test}({v}) && datatype({v}) = <{datatype}>)"
    return _checked(values, fast, f"<{_FN}datatype>({v}, {_sparql(datatype)})")


def _class(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    v = f"?{values.var}"
    return [
        made
        for cls in source.parameters
        for made in _on_values(
            values, f"NOT EXISTS {{ {v} a/<{RDFS.subClassOf}>* {_sparql(cls)} }}"
        )
    ]


def _node_kind(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    (kind,) = source.parameters
    if kind not in _NODE_KINDS:
        raise UnsupportedShapeError(f"{source.shape}: unknown sh:nodeKind {kind}")
    return _on_values(values, "!" + _NODE_KINDS[kind].format(v=f"?{values.var}"))  # type: ignore[index]


def _range(op: str, sparql_op: str) -> Callable[..., _Made]:
    def make(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
        made: _Made = []
        v = f"?{values.var}"
        for bound in source.parameters:
            fast = None
            if isinstance(bound, Literal) and bound.datatype in _NUMERIC:
                fast = f"(isNumeric({v}) && {v} {sparql_op} {_sparql(bound)})"
            call = f'<{_FN}range>({v}, {_sparql(bound)}, "{op}")'
            made += _checked(values, fast, call)
        return made

    return make


def _pattern(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    flags = c.g.value(source.shape, SH.flags)
    flag_text = _sparql(Literal(str(flags.value) if isinstance(flags, Literal) else ""))
    made: _Made = []
    for pattern in source.parameters:
        if not isinstance(pattern, Literal):
            raise UnsupportedShapeError(f"{source.shape}: sh:pattern must be a literal")
        re.compile(str(pattern))  # a bad expression fails here, not per document
        call = f"<{_FN}pattern>(?{values.var}, {_sparql(Literal(str(pattern)))}, {flag_text})"
        made += _checked(values, None, call)
    return made


def _min_length(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    (length,) = source.parameters
    if not (isinstance(length, Literal) and isinstance(length.value, int)):
        raise UnsupportedShapeError(f"{source.shape}: sh:minLength must be an integer")
    v = f"?{values.var}"
    fast = (
        f'(isLiteral({v}) && (datatype({v}) = <{XSD.string}> || lang({v}) != "")'
        f" && STRLEN({v}) >= {length.value})"
    )
    return _checked(values, fast, f"<{_FN}minLength>({v}, {length.value})")


def _pair(op: str, sparql_op: str) -> Callable[..., _Made]:
    def make(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
        _need_path(source, values)
        made: _Made = []
        v = f"?{values.var}"
        for other_predicate in source.parameters:
            o = f"?{c.fresh('o')}"
            other = f"?{values.focus.var} {_sparql(other_predicate)} {o} ."
            test = (
                f"IF(COALESCE(isNumeric({v}) && isNumeric({o}) && {v} {sparql_op} {o}, false),"
                f' false, !<{_FN}pair>({v}, {o}, "{op}"))'
            )
            pattern = f"{values.pattern()} {other} FILTER({test})"
            condition = f"EXISTS {{ {other} FILTER({test}) }}"
            made.append((pattern, values.var, (o[1:],), condition))  # a result per pair
        return made

    return make


def _in(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    (members,) = source.parameters
    v = f"?{values.var}"
    same = [f"sameTerm({v}, {_sparql(m)})" for m in Collection(c.g, members)]  # type: ignore[arg-type]
    return _on_values(values, f"!({' || '.join(same) or 'false'})")


def _has_value(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    f = f"?{values.focus.var}"
    made: _Made = []
    for x in source.parameters:
        if values.path is None:
            test = f"FILTER(!sameTerm({f}, {_sparql(x)}))"
        else:
            test = f"FILTER NOT EXISTS {{ {f} {values.path} {_sparql(x)} }}"
        made.append((f"{values.focus.pattern} {test}", None, (), None))
    return made


def _equals(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    f, v = f"?{values.focus.var}", f"?{values.var}"
    _need_path(source, values)
    made: _Made = []
    for other in source.parameters:
        other_path = _sparql(other)
        only_path = f"{{ {values.pattern()} FILTER NOT EXISTS {{ {f} {other_path} {v} }} }}"
        only_other = (
            f"{{ {values.focus.pattern} {f} {other_path} {v} "
            f"FILTER NOT EXISTS {{ {f} {values.path} {v} }} }}"
        )
        made.append((f"{only_path} UNION {only_other}", values.var, (), None))
    return made


def _node(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    made: _Made = []
    for shape in source.parameters:
        failing = c.violations(shape, values.var, "node", stack)
        if failing:
            union = " UNION ".join(f"{{ {p} }}" for p in failing)
            made += _on_values(values, f"EXISTS {{ {union} }}")
    return made


def _or(c: _Compiler, source: _Source, values: _Values, stack: tuple) -> _Made:
    made: _Made = []
    for members in source.parameters:
        exists = []
        for member in Collection(c.g, members):  # type: ignore[arg-type]
            failing = c.violations(member, values.var, "or", stack)
            if not failing:  # a member that always conforms: the sh:or never fails
                break
            exists.append("EXISTS { " + " UNION ".join(f"{{ {p} }}" for p in failing) + " }")
        else:
            if exists:
                made += _on_values(values, " && ".join(exists))
    return made


_COMPONENTS: dict[URIRef, Callable[..., _Made]] = {
    SH.minCount: _min_count,
    SH.maxCount: _max_count,
    SH.datatype: _datatype,
    SH["class"]: _class,
    SH.nodeKind: _node_kind,
    SH.minInclusive: _range("minInclusive", ">="),
    SH.maxInclusive: _range("maxInclusive", "<="),
    SH.pattern: _pattern,
    SH.minLength: _min_length,
    SH.lessThan: _pair("lessThan", "<"),
    SH.lessThanOrEquals: _pair("lessThanOrEquals", "<="),
    SH["in"]: _in,
    SH.hasValue: _has_value,
    SH.equals: _equals,
    SH.node: _node,
    SH["or"]: _or,
}


def _detector_codes(tests: list[_Branch]) -> dict[str, list[int]]:
    """The detector's tests, each an IF giving a code, and the checks each code stands for.

    Checks that test value nodes one by one share one pass over the values of their
    property shape; when the shape also asks for exactly one value, the pass looks for
    one good value and no other, so that three checks cost two look-ups. Any other
    check is an EXISTS of its own.
    """
    singles: dict[str, list[int]] = {}
    groups: dict[str, _Group] = {}
    for number, test in enumerate(tests):
        if test.values and test.count in {("min", 1), ("max", 1)}:
            groups.setdefault(test.values, _Group()).add(number, test)
        elif test.condition is None:
            singles[f"EXISTS {{ {test.pattern} }}"] = [number]
        else:
            groups.setdefault(test.values, _Group()).add(number, test)
    codes = {}
    for key, members in singles.items():
        codes[f'IF({key}, "{len(codes)} ", "")'] = members
    for values, group in groups.items():
        for test, members in group.tests(values):
            codes[f'IF({test}, "{len(codes)} ", "")'] = members
    return codes


@dataclass
class _Group:
    """The checks of one property shape that the detector tests in one pass."""

    members: list[int] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    minimum: int | None = None  # its sh:minCount 1, as a check number
    maximum: int | None = None  # its sh:maxCount 1
    maximum_condition: str = ""

    def add(self, number: int, test: _Branch) -> None:
        if test.count == ("min", 1):
            self.minimum = number
        elif test.count == ("max", 1):
            self.maximum, self.maximum_condition = number, test.detect or ""
        else:
            self.members.append(number)
            self.conditions.append(test.detect or "false")

    def tests(self, values: str) -> list[tuple[str, list[int]]]:
        bad = " || ".join(f"({c})" for c in self.conditions)
        if not values:  # a node shape: its value node is the focus node
            return [(f"({bad})", self.members)]
        if self.minimum is not None and self.maximum is not None:
            var = values.rsplit("?", 1)[1].rstrip(" .")
            other = values.replace(f"?{var}", "?_w")
            good = f"FILTER(!({bad})) " if bad else ""
            unique = f"FILTER NOT EXISTS {{ {other} FILTER(!sameTerm(?{var}, ?_w)) }}"
            checks = [self.minimum, self.maximum, *self.members]
            return [(f"NOT EXISTS {{ {values} {good}{unique} }}", checks)]
        found = []
        if self.minimum is not None:
            found.append((f"NOT EXISTS {{ {values} }}", [self.minimum]))
        conditions, members = list(self.conditions), list(self.members)
        if self.maximum is not None:
            conditions.append(self.maximum_condition)
            members.append(self.maximum)
        if conditions:
            either = " || ".join(f"({c})" for c in conditions)
            found.append((f"EXISTS {{ {values} FILTER({either}) }}", members))
        return found


# --- SPARQL text of the shapes -------------------------------------------------------

_PROLOGUE = re.compile(r"^\s*PREFIX\s+([\w.-]*):\s*<([^>]*)>", flags=re.I | re.M)


def _strip_prologue(text: str) -> str:
    """The query without its own PREFIX lines (they go to the query's one prologue)."""
    while True:
        match = _PROLOGUE.match(text)
        if not match:
            return text
        text = text[match.end() :]


def _splice(text: str, focus_pattern: str) -> str:
    """The query with the focus nodes joined first into its WHERE clause.

    Run once over all focus nodes, the query then returns for each what pySHACL gets
    by running it once per focus node with ``$this`` pre-bound.
    """
    quote = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#":
            index = text.find("\n", index)
            if index < 0:
                break
        elif char == "{":
            return f"{text[: index + 1]} {focus_pattern} {text[index + 1 :]}"
        index += 1
    raise UnsupportedShapeError(f"no WHERE clause in {text!r}")


def _walk(node: Any) -> Iterator[Any]:
    """Every node of an rdflib algebra or parse tree, depth first."""
    yield node
    if isinstance(node, Mapping):
        for child in node.values():
            yield from _walk(child)
    elif isinstance(node, list | tuple):
        for child in node:
            yield from _walk(child)


_REFUSED = {
    "MinusGraphPattern": "MINUS",
    "ServiceGraphPattern": "SERVICE",
    "GraphGraphPattern": "GRAPH",
    "InlineData": "VALUES",
    "ValuesClause": "VALUES",
    "SubSelect": "a subquery",
    "GroupClause": "GROUP BY",
    "HavingClause": "HAVING",
    "LimitOffsetClauses": "LIMIT or OFFSET",
}
_EXISTS = {"Builtin_EXISTS", "Builtin_NOTEXISTS"}
_THIS = Variable("this")


def _check_constraint(shape: Identifier, tree: Any) -> None:
    """Refuse what would make one query for all focus nodes differ from one per node.

    pySHACL runs a SPARQL constraint once per focus node with $this pre-bound; here it
    runs once, with the focus nodes joined first into its WHERE clause. The two agree
    unless the query aggregates, limits, nests queries, or uses $this in a FILTER or
    BIND of a group that does not itself bind it (groups are evaluated inside out, so
    there $this would have no value yet).
    """
    for node in _walk(tree):
        name = getattr(node, "name", None)
        if name in _REFUSED or (name or "").startswith("Aggregate_"):
            what = _REFUSED.get(name, "aggregates")  # type: ignore[arg-type]
            raise UnsupportedShapeError(f"{shape}: {what} in a SPARQL constraint is not compiled")
    for projected in tree.get("projection") or []:
        if str(projected.get("evar", "")) == "this":
            raise UnsupportedShapeError(f"{shape}: a SPARQL constraint must not bind $this")
        if str(projected.get("var", projected.get("evar", ""))) == "failure":
            raise UnsupportedShapeError(f"{shape}: ?failure is not compiled")
    _check_group(shape, tree["where"], this_bound=True)


def _check_group(shape: Identifier, group: Any, this_bound: bool) -> None:
    parts = list(group.get("part") or [])
    this_bound = this_bound or any(
        part.name == "TriplesBlock" and _mentions_this(part) for part in parts
    )
    for part in parts:
        if part.name in {"Filter", "Bind"}:
            if part.name == "Bind" and part["var"] == _THIS:
                raise UnsupportedShapeError(f"{shape}: a SPARQL constraint must not bind $this")
            if not this_bound and _mentions_this(part["expr"]):
                raise UnsupportedShapeError(f"{shape}: $this in a group that does not bind it")
            for node in _walk(part["expr"]):
                if getattr(node, "name", None) in _EXISTS:
                    _check_group(shape, node["graph"], this_bound)
        elif part.name == "OptionalGraphPattern":  # its FILTERs see the enclosing group
            _check_group(shape, part["graph"], this_bound)
        elif part.name == "GroupOrUnionGraphPattern":
            for member in part["graph"]:
                _check_group(shape, member, this_bound=False)


def _mentions_this(node: Any) -> bool:
    return any(x == _THIS for x in _walk(node) if isinstance(x, Variable))


# --- the functions that queries call -------------------------------------------------


class _Functions:
    """pySHACL's own tests of a value, for the cases that SPARQL cannot settle alike.

    A query cannot raise from a function, so a failure is kept and raised after it.
    """

    def __init__(self) -> None:
        self.errors: list[Exception] = []
        names = {
            "datatype": _datatype_ok,
            "range": _range_ok,
            "pattern": _pattern_ok,
            "minLength": _min_length_ok,
            "pair": _pair_ok,
        }
        self.table = {ox.NamedNode(_FN + n): self._wrap(f) for n, f in names.items()}

    def _wrap(self, function: Callable[..., bool]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            try:
                return _TRUE if function(*(_from_ox(a) for a in args)) else _FALSE
            except Exception as exc:
                self.errors.append(exc)
                return _FALSE

        return call


def _datatype_ok(v: Identifier, rule: URIRef) -> bool:
    """pySHACL's DatatypeConstraintComponent, for one value node."""
    if not isinstance(v, Literal):
        return False
    if v.datatype == rule:
        return getattr(v, "ill_typed", None) is not True and _has_python_type(v, rule)
    if rule == RDFS.Literal:
        return True
    if rule == RDFS.Datatype and v.datatype:
        return True
    if v.datatype is None and v.language is None and rule == XSD.string:
        return _has_python_type(v, rule)
    if rule == RDF.langString and v.language:
        return _has_python_type(v, rule)
    return False


def _has_python_type(v: Literal, rule: URIRef) -> bool:
    from datetime import date, datetime, time
    from decimal import Decimal

    expected = {
        XSD.string: (str, bytes),
        RDF.langString: (str, bytes),
        XSD.integer: int,
        XSD.float: float,
        XSD.decimal: Decimal,
        XSD.boolean: bool,
        XSD.date: date,
        XSD.time: time,
        XSD.dateTime: datetime,
    }.get(rule)
    return expected is None or isinstance(v.value, expected)  # type: ignore[arg-type]


def _range_ok(v: Identifier, bound: Literal, op: Literal) -> bool:
    """pySHACL's Min/MaxInclusiveConstraintComponent, for one value node."""
    from pyshacl.rdfutil.compare import compare_literal

    if not isinstance(v, Literal):
        return False
    if isinstance(bound.value, str) != isinstance(v.value, str):
        return False
    try:
        order = compare_literal(v, bound)
    except (TypeError, NotImplementedError):
        return False
    return order >= 0 if str(op) == "minInclusive" else order <= 0


@lru_cache(maxsize=256)
def _compiled_pattern(pattern: str, flags: str) -> re.Pattern[str]:
    re_flags = (re.I if "i" in flags.lower() else 0) | (re.M if "m" in flags.lower() else 0)
    return re.compile(pattern, re_flags)


def _string_of(v: Identifier) -> str:
    """pySHACL's string form of a value node (StringBasedConstraintBase)."""
    if (
        isinstance(v, Literal)
        and v.value is not None
        and v.datatype in (None, RDF.langString, XSD.string)
    ):
        return str(v.value)
    return str(v)


def _pattern_ok(v: Identifier, pattern: Literal, flags: Literal) -> bool:
    if isinstance(v, BNode):
        return False
    return _compiled_pattern(str(pattern), str(flags)).search(_string_of(v)) is not None


def _min_length_ok(v: Identifier, length: Literal) -> bool:
    if int(length) == 0:
        return True
    return not isinstance(v, BNode) and len(_string_of(v)) >= int(length)


def _pair_ok(v: Identifier, other: Identifier, op: Literal) -> bool:
    """pySHACL's LessThan(OrEquals)ConstraintComponent, for one pair of values."""
    if isinstance(v, BNode) or isinstance(other, BNode):
        raise ValueError(f"Cannot use sh:{op} to compare a BlankNode.")
    left: Any = v.value if isinstance(v, Literal) and isinstance(v.value, str) else v
    right: Any = (
        other.value if isinstance(other, Literal) and isinstance(other.value, str) else other
    )
    left = str(left) if isinstance(left, URIRef) else left
    right = str(right) if isinstance(right, URIRef) else right
    if isinstance(left, str) != isinstance(right, str):
        return False
    return bool(left < right) if str(op) == "lessThan" else bool(left <= right)


# --- running the query ---------------------------------------------------------------


_COMPILED: list[CompiledShapes] = []  # this process's, once compiled or given


def compiled_shapes() -> CompiledShapes:
    """The shapes of ``shapes/``, compiled once per process (or as :func:`keep_compiled`
    found them)."""
    if not _COMPILED:
        _COMPILED.append(compile_shapes(shapes_graph()))
    return _COMPILED[0]


def keep_compiled(cache: BuildCache) -> None:
    """Take the compiled shapes from ``cache``, or compile them and keep them there.

    Compiling takes about half a second (parsing the shapes and their SPARQL), in every
    process that validates. A rebuild after one edit validates a document or a few
    chunks of links, so that half second would be on its critical path; read from the
    cache it takes milliseconds. Called before workers are forked, so they inherit them.
    """
    if not _COMPILED:
        _COMPILED.append(cache.kept("compiled shapes", compiled_shapes))


def compile_shapes(shapes: Graph) -> CompiledShapes:
    """Compile a shapes graph; raises UnsupportedShapeError for what is not compiled."""
    return _Compiler(shapes).compile()


class _Engine:
    """A store holding the reference graph, into which each document is loaded in turn.

    The reference graph (vocabularies and ontology) holds focus nodes too: every theme
    and label is validated with each document, as pySHACL does. But a shape that only
    reads triples reachable forward from its focus node (no inverse path, no SPARQL)
    gives a reference node the same results whatever the document adds, as long as the
    document says nothing about reference nodes (no triple whose subject is one): then
    those results are taken from one validation of the reference graph alone, and only
    the document's own subjects are checked against such shapes. A document that does
    describe reference nodes is validated in full.
    """

    #: Documents validated in one store before it is made anew. pyoxigraph's in-memory
    #: store keeps what was removed, and every query steps over it: after a thousand
    #: documents a query is a hundred times slower. A new store costs a few ms.
    DOCUMENTS_PER_STORE = 8

    def __init__(self, reference: Graph) -> None:
        quads = [ox.Quad(*map(_node_to_ox, triple), _REF) for triple in reference]  # type: ignore[misc]
        self.reference_quads = quads
        self._new_store()
        self.nodes = {str(q.subject) for q in quads} | {
            str(q.object) for q in quads if not isinstance(q.object, ox.Literal)
        }  # in N-Triples syntax, as the subjects of a document's lines are compared
        self.reference = reference
        self.functions = _Functions()
        self.lock = threading.Lock()
        self.baselines: dict[int, list[tuple[_Branch, dict]]] = {}
        self.reference_focus: dict[Identifier, bool] = {}  # whether the reference has any
        self.superclasses = _superclasses(reference)

    def _new_store(self) -> None:
        self.store = ox.Store()
        self.store.extend(self.reference_quads)
        self.documents = 0

    def run(self, compiled: CompiledShapes, ntriples: str, explain: Callable) -> ValidationReport:
        """Load the document, run the queries, read their rows; the store is left as found."""
        with self.lock:
            if self.documents >= self.DOCUMENTS_PER_STORE:
                self._new_store()
            self.documents += 1
            baseline = self._baseline(compiled)  # before the document is loaded
            document = _Summary(ntriples)
            about_reference = self._load(ntriples, document)
            try:
                found = [] if about_reference else list(baseline)
                for shape in compiled.shapes:
                    if not about_reference and not self._may_have_focus(shape, document):
                        continue
                    mode = _EVERYWHERE if about_reference or not shape.local else _IN_DOCUMENT
                    found += self._evaluate(shape, mode)
                return explain(found, _StoreFacts(self.store, [_DOCUMENT, _REF]))
            finally:
                self.store.remove_graph(_DOCUMENT)

    def _may_have_focus(self, shape: _TopShape, document: _Summary) -> bool:
        """Whether a shape can have focus nodes: a cheap test that spares a query.

        Only asked of a document that says nothing about reference nodes, whose focus
        nodes are then the reference's own and the document's subjects: a class or a
        predicate of the shape's targets must appear in the document's triples (a
        document that declares subclasses is never spared).
        """
        if shape.queried or self.reference_focus.get(shape.node, True):
            return True
        if shape.predicates & document.predicates or document.subclasses:
            return True
        return any(self.superclasses.get(c, {c}) & shape.classes for c in document.classes)

    def _load(self, ntriples: str, document: _Summary) -> bool:
        """Load the document's triples; whether it says anything about reference nodes.

        Parsed by pyoxigraph from N-Triples, the document never passes through Python
        term by term. Triples that the reference graph holds already are dropped: they
        change nothing, and the reference would count them twice.
        """
        self.store.load(ntriples, format=ox.RdfFormat.N_TRIPLES, to_graph=_DOCUMENT, lenient=True)
        if document.subjects.isdisjoint(self.nodes):
            return False
        self.store.update(_DROP_KNOWN)
        left = self.store.query(
            f"SELECT DISTINCT ?s WHERE {{ GRAPH <{_DOCUMENT.value}> {{ ?s ?p ?o }} }}"
        )
        return any(str(row[0]) in self.nodes for row in left)  # type: ignore[index, union-attr]

    def _baseline(self, compiled: CompiledShapes) -> list[tuple[_Branch, dict]]:
        """The results of the shapes that only look forward, on the reference alone."""
        key = id(compiled)
        if key not in self.baselines:
            self.store.remove_graph(_DOCUMENT)
            self.baselines[key] = [
                found
                for shape in compiled.shapes
                if shape.local
                for found in self._evaluate(shape, _EVERYWHERE)
            ]
            for shape in compiled.shapes:
                focus = shape.focus_query
                self.reference_focus[shape.node] = bool(focus and self._query(focus))
        return self.baselines[key]

    def _evaluate(self, shape: _TopShape, mode: str) -> list[tuple[_Branch, dict]]:
        """The rows of a shape's results: its detector first, then the flagged constraints."""
        found = []
        detector = shape.detectors[mode]
        if detector is not None:
            flagged = set()
            for row in self._query(detector):
                flagged.update(int(code) for code in row["_codes"].value.split())
            numbers = {n for code in flagged for n in shape.groups[code]}
            for number in sorted(numbers):
                branch = shape.checks[mode][number]
                found += [(branch, row) for row in self._query(branch.query)]
        for branch in shape.sparql[mode]:
            found += [(branch, row) for row in self._query(branch.query)]
        return found

    def _query(self, query: str) -> list[dict]:
        """The rows of a SELECT over the document and the reference graph."""
        self.functions.errors.clear()
        solutions = self.store.query(  # the store holds the document and the reference only
            query, use_default_graph_as_union=True, custom_functions=self.functions.table
        )
        names = [v.value for v in solutions.variables]  # type: ignore[union-attr]
        rows = [dict(zip(names, solution, strict=True)) for solution in solutions]  # type: ignore[call-overload]
        if self.functions.errors:
            raise self.functions.errors[0]
        return rows


class _Summary:
    """What a document's N-Triples show at a glance: subjects, predicates, classes."""

    _TYPE = f"<{RDF.type}>"
    _SUBCLASS = f"<{RDFS.subClassOf}>"

    def __init__(self, ntriples: str) -> None:
        self.subjects: set[str] = set()
        self.predicates: set[str] = set()
        self.classes: set[str] = set()
        for line in ntriples.splitlines():
            subject, predicate, rest = line.split(" ", 2)
            self.subjects.add(subject)
            self.predicates.add(predicate)
            if predicate == self._TYPE:
                self.classes.add(rest[:-2])
        self.subclasses = self._SUBCLASS in self.predicates


def _superclasses(reference: Graph) -> dict[str, set[str]]:
    """Each class of the reference graph with all its superclasses, itself included."""
    found: dict[str, set[str]] = {}
    for cls in set(reference.subjects(RDFS.subClassOf, None)):
        found[f"<{cls}>"] = {f"<{c}>" for c in reference.transitive_objects(cls, RDFS.subClassOf)}
    return found


_DROP_KNOWN = (
    f"DELETE {{ GRAPH <{_DOCUMENT.value}> {{ ?s ?p ?o }} }} "
    f"WHERE {{ GRAPH <{_DOCUMENT.value}> {{ ?s ?p ?o }} GRAPH <{_REF.value}> {{ ?s ?p ?o }} }}"
)


@cache
def _engine() -> _Engine:
    return _Engine(_reference_graph())


# --- rows into results ---------------------------------------------------------------


class _StoreFacts:
    """Look-ups in the document and the reference graph, for finding a place in the source."""

    def __init__(self, store: ox.Store, graphs: list[ox.NamedNode]) -> None:
        self.store = store
        self.graphs = graphs

    def object(self, node: Any, predicate: URIRef) -> Any:
        if isinstance(node, ox.Literal):
            return None
        for graph in self.graphs:
            for quad in self.store.quads_for_pattern(node, _named(predicate), None, graph):
                return quad.object
        return None

    def subject(self, predicate: URIRef, node: Any) -> Any:
        for graph in self.graphs:
            for quad in self.store.quads_for_pattern(None, _named(predicate), node, graph):
                return quad.subject
        return None

    def is_iri(self, node: Any) -> bool:
        return isinstance(node, ox.NamedNode)

    def text(self, node: Any) -> str:
        return str(_from_ox(node))

    def triples_about(self, node: Any) -> Iterator[tuple[Any, Any, Any]]:
        for graph in self.graphs:
            for quad in self.store.quads_for_pattern(node, None, None, graph):
                yield quad.subject, quad.predicate, quad.object


@lru_cache(maxsize=64)
def _named(predicate: URIRef) -> ox.NamedNode:
    return ox.NamedNode(str(predicate))


@dataclass
class _Explainer:
    """Turns the query's rows into ValidationResults as pySHACL's report reads."""

    compiled: CompiledShapes
    prefixes: Callable[[], Iterable[tuple[str, Any]]]  # the document's prefixes
    originals: Callable[[Any, Any], Literal | None]  # a literal as the document spells it
    names: Graph = field(init=False)  # made when there is a result to write
    facts: _StoreFacts = field(init=False)  # the store, for placing a focus node

    def __call__(self, found: list[tuple[_Branch, Any]], facts: _StoreFacts) -> ValidationReport:
        if not found:
            return ValidationReport(True, [])
        self.names = self._names()
        self.facts = facts
        results: list[ValidationResult] = []
        conforms = True
        seen: set[tuple] = set()
        for branch, row in found:
            for result in self._results(branch, row, seen):
                results.append(result)
                conforms = conforms and not branch.source.counts
        results.sort(key=_full_order)
        return ValidationReport(conforms, results)

    def _names(self) -> Graph:
        """A graph that only names things, bound like the graph pySHACL reports on."""
        names = Graph()
        for prefix, namespace in self.prefixes():
            names.bind(prefix, namespace)
        for prefix, namespace in self.compiled.graph.namespaces():
            names.bind(prefix, namespace, override=False)
        names.bind("sh", SH, override=False, replace=False)
        return names

    def _term(self, term: Any, near: Any = None) -> Identifier:
        if isinstance(term, ox.Literal):
            original = self.originals(term, near)
            if original is not None:
                return original
        return _from_ox(term)

    def _results(self, branch: _Branch, row: dict, seen: set[tuple]) -> Iterator[ValidationResult]:
        focus = row[branch.focus]
        if branch.projected:
            yield from self._sparql_results(branch, row, seen)
            return
        value = row.get(branch.value) if branch.value else None
        yield self._result(branch.source, focus, value, branch.source.messages, None)

    def _sparql_results(
        self, branch: _Branch, row: Any, seen: set[tuple]
    ) -> Iterator[ValidationResult]:
        """As pySHACL's SPARQLBasedConstraint: ?this ?path ?value, the rest fill messages."""
        bound = {name: row[name] for name in branch.projected if row.get(name) is not None}
        this, path, value = (bound.pop(name, None) for name in ("this", "path", "value"))
        if this is None and path is None and value is None:
            return
        key = (branch, this, path, value, tuple(sorted(bound.items(), key=lambda kv: kv[0])))
        if key in seen:
            return
        seen.add(key)
        source = branch.source
        if value is None and source.node_shape:
            value = this
        fill = {name: self._term(term, this) for name, term in bound.items()}
        for name, term in (("this", this), ("path", path), ("value", value)):
            if term is not None:
                fill[name] = self._term(term, this)
        messages = [m for m in branch.extra_messages if m not in source.messages]
        texts = {_filled(str(m), fill) for m in [*messages, *source.messages]}
        yield self._result(source, this, value, tuple(Literal(t) for t in texts), path)

    def _result(
        self, source: _Source, focus: Any, value: Any, messages: tuple, path: Any
    ) -> ValidationResult:
        focus_term = _from_ox(focus)
        value_term = self._term(value, focus) if value is not None else None
        if not messages and source.component != "sparql":
            messages = (Literal(_default_message(self, source, focus_term, value_term)),)
        texts = sorted({(str(m), getattr(m, "language", None)) for m in messages})
        path_node = _from_ox(path) if path is not None else source.path
        return ValidationResult(
            focus=str(focus_term),
            path=_path_text(self.compiled.graph, self.names, path_node),
            message="; ".join(t for t, _ in texts) or "constraint violated",
            severity=str(source.severity).rsplit("#", 1)[-1],
            shape=str(source.shape) if isinstance(source.shape, URIRef) else None,
            where=_where(self.facts, focus),
            value=_short(self.names, value_term),
        )

    def stringify(self, term: Identifier) -> str:
        """pySHACL's words for a data term (its default messages use them)."""
        from pyshacl.rdfutil import stringify_node

        graph = self.names
        if isinstance(term, BNode):
            graph = Graph(namespace_manager=self.names.namespace_manager)
            self._add_closure(graph, _to_ox(term))
        try:
            return stringify_node(graph, term)
        except (LookupError, ValueError):
            return str(term)

    def _add_closure(self, graph: Graph, node: Any, depth: int = 0) -> None:
        for s, p, o in self.facts.triples_about(node):
            graph.add((_from_ox(s), _from_ox(p), self._term(o, s)))
            if isinstance(o, ox.BlankNode) and depth < 12:
                self._add_closure(graph, o, depth + 1)


def _filled(message: str, fill: dict[str, Identifier]) -> str:
    """pySHACL's filling of {?var} and {$var} in a SPARQL constraint's message."""
    for name, term in fill.items():
        message = re.sub(f"{{[?$]{name}}}", str(term), message)
    return message


def _full_order(result: ValidationResult) -> tuple:
    return (*_reading_order(result), result.value or "", result.shape or "")


_DETAILS = "See details for more information."


def _default_message(
    explainer: _Explainer, source: _Source, focus: Identifier, value: Identifier | None
) -> str:
    """pySHACL's words for a constraint whose shape has no sh:message."""
    from pyshacl.rdfutil import stringify_node

    sg = explainer.compiled.graph
    shape_words = [stringify_node(sg, p) for p in source.parameters]
    data = explainer.stringify
    path = stringify_node(sg, source.path) if source.path is not None else None
    on = f"{data(focus)}->{path}" if path else data(focus)
    component = source.component
    first = source.parameters[0] if source.parameters else None
    several = len(source.parameters) > 1
    if component in {"minCount", "maxCount"}:
        word = "Less" if component == "minCount" else "More"
        return f"{word} than {first.value} values on {on}"  # type: ignore[union-attr]
    if component == "class":
        return (
            f"Value class is not in classes ({', '.join(shape_words)})"
            if several
            else f"Value does not have class {shape_words[0]}"
        )
    if component == "datatype":
        return f"Value is not Literal with datatype {shape_words[0]}"
    if component == "nodeKind":
        return f"Value is not of Node Kind {shape_words[0]}"
    if component in {"minInclusive", "maxInclusive"}:
        op = ">=" if component == "minInclusive" else "<="
        return (
            f"Value is not {op} in ({', '.join(shape_words)})"
            if several
            else f"Value is not {op} {shape_words[0]}"
        )
    if component == "pattern":
        patterns = [str(p) for p in source.parameters]
        return (
            "Value does not match every pattern in ('{}')".format("', '".join(patterns))
            if several
            else f"Value does not match pattern '{patterns[0]}'"
        )
    if component == "minLength":
        return f"String length not >= {data(first)}"  # type: ignore[arg-type]
    if component in {"lessThan", "lessThanOrEquals", "equals"}:
        op = {"lessThan": "<=", "lessThanOrEquals": "<", "equals": "!="}[component]
        return f"Value of {data(focus)}->{', '.join(shape_words)} {op} {data(value)}"  # type: ignore[arg-type]
    if component == "in":
        members = [stringify_node(sg, m) for m in Collection(sg, first)]  # type: ignore[arg-type]
        return f"Value {data(value)} not in list {members}"  # type: ignore[arg-type]
    if component == "hasValue":
        if path:
            return f"Node {on} does not contain a value in the set: {shape_words}"
        return f"Node {data(focus)} value is not a in the set of values: {shape_words}"
    if component == "node":
        if several:
            every = "', '".join(shape_words)
            return f"Value must conform to every Shape in ('{every}'). {_DETAILS}"
        return (
            f"Value does not conform to Shape {shape_words[0]}. See details for more information."
        )
    if component == "or":
        lists = [
            " , ".join(stringify_node(sg, m) for m in Collection(sg, p)) for p in source.parameters
        ]  # type: ignore[arg-type]
        text = " and ".join(f"({t})" for t in lists) if several else lists[0]
        return f"Node {data(value)} must conform to one or more shapes in {text}"  # type: ignore[arg-type]
    return "constraint violated"


# --- entry points --------------------------------------------------------------------

_SAFE_BNODE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(?<!\.)$")


def validate_triples(
    triples: Iterable[Any], prefixes: Mapping[str, str] | None = None
) -> ValidationReport:
    """Validate one document given as pyoxigraph triples.

    ``prefixes`` are the document's, for writing results as pySHACL would over a graph
    with them bound (``pg:ordinal``); the shapes' prefixes are always bound.
    """
    triples = triples if isinstance(triples, list) else list(triples)
    text = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode()
    explain = _Explainer(
        compiled_shapes(),
        prefixes=lambda: (prefixes or {}).items(),
        originals=lambda literal, near: _original_in_triples(triples, literal, near),
    )
    return _engine().run(compiled_shapes(), _private_datatypes(text), explain)


def validate_rdflib(data: Graph, compiled: CompiledShapes | None = None) -> ValidationReport:
    """Validate one document given as an rdflib graph.

    rdflib accepts terms that pyoxigraph refuses (an IRI with a space in it, say): a
    graph holding one is validated by pySHACL instead, with the same report.
    """
    compiled = compiled or compiled_shapes()
    text = _ntriples(_triples(data))
    explain = _Explainer(
        compiled,
        prefixes=data.namespaces,
        originals=lambda literal, near: _original_in_graph(data, literal, near),
    )
    try:
        return _engine().run(compiled, _private_datatypes(text), explain)
    except SyntaxError:
        from policygraph.shacl import validate_graph_pyshacl

        return validate_graph_pyshacl(data, compiled.graph)


_LINE_DATATYPE = re.compile(r"\^\^<(http://www\.w3\.org/2001/XMLSchema#[^<>\"\s]*)> \.$", re.M)


def _private_datatypes(ntriples: str) -> str:
    """N-Triples with the datatypes that pyoxigraph would change made private."""

    def private(match: re.Match[str]) -> str:
        return f"^^<{_ox_datatype(match.group(1)).value}> ."

    return _LINE_DATATYPE.sub(private, ntriples)


_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"})


def _ntriples(triples: Iterable[tuple[Identifier, Identifier, Identifier]]) -> str:
    """Triples as N-Triples; an IRI or blank node is written once however often it recurs."""
    written: dict[Identifier, str] = {}

    def nt(term: Identifier) -> str:
        if isinstance(term, Literal):
            return _nt(term)
        text = written.get(term)
        if text is None:
            text = written[term] = _nt(term)
        return text

    return "".join(f"{nt(s)} {nt(p)} {nt(o)} .\n" for s, p, o in triples)


def _nt(term: Identifier) -> str:
    """An rdflib term in N-Triples syntax, for pyoxigraph to parse."""
    if isinstance(term, URIRef):
        return f"<{term}>"
    if isinstance(term, Literal):
        text = str(term).translate(_ESCAPES)
        if term.language:
            return f'"{text}"@{term.language}'
        return f'"{text}"^^<{term.datatype}>' if term.datatype else f'"{text}"'
    return str(_node_to_ox(term))  # a blank node, its label made safe


def _triples(graph: Graph) -> Iterable[tuple[Identifier, Identifier, Identifier]]:
    """The triples of a graph; from rdflib's memory store's index when it has one.

    Iterating a graph through rdflib's API works out each triple's contexts, which
    costs more than the whole validation; the index holds the same triples.
    """
    index = getattr(graph.store, "_Memory__spo", None)
    if type(graph) is Graph and isinstance(index, dict):
        return [(s, p, o) for s, po in index.items() for p, os in po.items() for o in os]
    return graph


def _node_to_ox(term: Identifier) -> Any:
    if isinstance(term, BNode) and not _SAFE_BNODE.match(term):
        return ox.BlankNode(_BNODE_MARK + str(term).encode().hex())
    return _to_ox(term)


_BNODE_MARK = "pgshaclhex"


def _original_in_triples(triples: list[Any], literal: Any, near: Any) -> Literal | None:
    """The literal as the document spells it, found among its triples (``near``'s first)."""
    ordered = [t.object for t in triples if t.subject == near] + [t.object for t in triples]
    for candidate in ordered:
        if isinstance(candidate, ox.Literal) and _canonical(_kept(candidate)) == literal:
            return _from_ox(candidate)  # type: ignore[return-value]
    return None


def _original_in_graph(data: Graph, literal: Any, near: Any) -> Literal | None:
    subject = _from_ox(near) if near is not None else None
    nearby = data.objects(subject, None) if isinstance(subject, URIRef | BNode) else ()
    for candidate in itertools.chain(nearby, data.objects(None, None)):
        if isinstance(candidate, Literal) and _canonical(_to_ox(candidate)) == literal:
            return candidate
    return None


@lru_cache(maxsize=4096)
def _canonical(literal: Any) -> Any:
    """The literal as pyoxigraph stores it (numbers, dates and booleans canonical)."""
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("urn:s"), ox.NamedNode("urn:p"), literal))
    return next(iter(store)).object
