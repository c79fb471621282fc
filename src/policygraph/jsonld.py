"""Compacted JSON-LD written straight from triples, and a writer that streams it to a file.

rdflib's JSON-LD serialiser builds the whole document in memory and compacts it
slowly; at corpus scale (millions of triples) that is the export's bottleneck. This
module does what the JSON-LD 1.1 algorithms do for a flat graph — *Serialize RDF
as JSON-LD* (``fromRdf``) followed by *Compaction* — in one pass per subject:

* the context is processed once into term definitions and the *inverse context*
  (JSON-LD 1.1 API §4.3), so that choosing a key is the spec's *IRI compaction*
  and *term selection* (§6.2, §6.3) for the kind of value at hand: a node
  reference, a language-tagged string, a plain string, or a typed literal;
* values are compacted as in *Value Compaction* (§6.5): a typed literal drops its
  ``@type`` only under a term coerced to that datatype, a language-tagged string
  its ``@language`` only under a term (or default) with that language, an IRI is a
  bare string only under a term coerced to ``@id`` or ``@vocab``;
* lexical forms are kept exactly: typed literals stay strings, except canonical
  ``xsd:boolean`` and ``xsd:integer`` values under a term with no type coercion,
  which become JSON ``true``/``false``/numbers (as ``fromRdf`` with native types
  does, and as rdflib did) because they read back to the very same literal.
  Decimals and doubles never become JSON numbers, which read back as ``xsd:double``
  in another lexical form.

Lists stay as their ``rdf:first``/``rdf:rest`` triples (valid, and no data uses
them); blank nodes are ``"_:label"`` node references; ``@reverse`` terms are never
chosen, since RDF yields no reverse properties. Context features this does not
implement (containers other than ``@set``, scoped contexts, keyword aliases,
``@base``, ``@nest``, directions) are refused when the context is read, rather than
silently producing something the context would read differently.

Output is deterministic: nodes sorted by ``@id``, values by their JSON text, keys
sorted, indent 2 — the same bytes as ``json.dumps(..., indent=2, sort_keys=True,
ensure_ascii=False)`` of the whole document, written a batch at a time.
"""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from json.encoder import encode_basestring  # what json.dumps uses with ensure_ascii=False
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import pyoxigraph as ox

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"
XSD_BOOLEAN = XSD + "boolean"
XSD_INTEGER = XSD + "integer"

# JSON-LD 1.1 API, Create Term Definition: a simple term is a prefix when its IRI
# ends with one of these (RFC 3986 gen-delims).
_GEN_DELIMS = (":", "/", "?", "#", "[", "]", "@")
_TERM_KEYS = frozenset({"@id", "@type", "@language", "@container", "@reverse", "@prefix"})
_IGNORED_KEYS = frozenset({"@protected", "@version"})  # no effect on compaction
_CONTAINERS = ("@set", "@none")  # the only containers supported, in term selection order
_CANONICAL_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]{0,20})\Z")
_SORT_KEY = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode  # today's value order
_CACHE_SIZE = 1 << 16

# Term selection's preferred values (§6.3), by kind of value:
_TYPE_PREFERENCE = ("@id", "@none", "@any")  # @type values and datatypes (no value given)
_REF_PREFERENCE = ("@id", "@vocab", "@none", "@any")  # node references
_VOCAB_REF_PREFERENCE = ("@vocab", "@id", "@none", "@any")  # ... whose IRI is itself a term
_PLAIN_PREFERENCE = ("@null", "@none", "@any")  # strings without a language

# How a node reference is written under the key chosen for it: {"@id": …}, a bare
# compacted IRI, a bare vocabulary-relative IRI (a term where one is defined), or as
# a value of "@type".
_AS_OBJECT, _AS_ID, _AS_VOCAB, _AS_TYPE = 0, 1, 2, 3
# How a literal is written: its bare lexical form, {"@language", "@value"},
# {"@value"}, a JSON boolean or number where that reads back the same, {"@type", "@value"}.
_BARE, _LANGUAGE, _PLAIN, _NATIVE, _TYPED = 0, 1, 2, 3, 4


class UnsupportedContext(ValueError):
    """The context uses a JSON-LD feature this writer does not implement."""


@dataclass(frozen=True, slots=True)
class TermDefinition:
    """A processed term definition: what compaction needs to know of a term."""

    iri: str
    type: str | None = None  # an expanded datatype IRI, "@id", "@vocab" or "@none"
    language: str | None = None
    has_language: bool = False  # "@language" given, possibly null
    as_set: bool = False  # "@container": "@set"
    reverse: bool = False
    prefix: bool = False  # usable as the prefix of compact IRIs


class Compactor:
    """A processed JSON-LD context that turns triples into compacted node objects.

    Made once per context and reused: it caches key choices per property and kind of
    value, and the compacted forms of frequent IRIs.
    """

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context
        self.vocab: str | None = None
        self.language: str | None = None
        self.terms: dict[str, TermDefinition] = {}
        self._read_keywords(context)
        local = {k: v for k, v in context.items() if not k.startswith("@")}
        for term in local:
            self._define(term, local, set())
        self.prefixes = sorted((t, d.iri) for t, d in self.terms.items() if d.prefix)
        self._width, self._buckets = self._prefix_index()
        self.inverse = self._inverse()
        self._vocab_properties = {d.iri for d in self.terms.values() if d.type == "@vocab"}
        self._reference_plans: dict[ox.NamedNode, tuple[str, bool, int]] = {}
        self._reference_plans_by_iri: dict[tuple[str, bool], tuple[str, bool, int]] = {}
        self._literal_plans: dict[ox.NamedNode, dict[str, tuple[Any, ...]]] = {}
        self.compact_id = lru_cache(maxsize=_CACHE_SIZE)(self._compact_id)
        self.compact_vocab = lru_cache(maxsize=_CACHE_SIZE)(self._compact_vocab)

    # -- reading the context ---------------------------------------------------------

    def _read_keywords(self, context: Mapping[str, Any]) -> None:
        for key, value in context.items():
            if not key.startswith("@") or key in _IGNORED_KEYS:
                continue
            if key == "@vocab" and (value is None or _absolute(value, context)):
                self.vocab = value
            elif key == "@language":
                self.language = value
            else:
                raise UnsupportedContext(f"context keyword {key}: {value!r}")

    def _define(self, term: str, local: dict[str, Any], defining: set[str]) -> None:
        """Create Term Definition (JSON-LD 1.1 API §4.2), for the supported subset."""
        if term in self.terms or local[term] is None:
            return
        if term in defining:
            raise UnsupportedContext(f"cyclic IRI mapping for {term!r}")
        defining.add(term)
        value = local[term]
        simple = isinstance(value, str)
        definition: dict[str, Any] = {"@id": value} if simple else value
        if not isinstance(definition, dict) or set(definition) - _TERM_KEYS - _IGNORED_KEYS:
            raise UnsupportedContext(f"term {term!r}: {value!r}")
        iri = self._term_iri(term, definition, local, defining)
        if iri.startswith("@"):
            raise UnsupportedContext(f"keyword alias {term!r} for {iri}")
        self.terms[term] = TermDefinition(
            iri=iri,
            type=self._term_type(term, definition, local, defining),
            language=definition.get("@language"),
            has_language="@language" in definition,
            as_set=_is_set_container(term, definition.get("@container")),
            reverse="@reverse" in definition,
            prefix=definition.get("@prefix", simple and _prefix_shaped(term, iri)),
        )

    def _term_iri(
        self, term: str, definition: dict[str, Any], local: dict[str, Any], defining: set[str]
    ) -> str:
        given = definition.get("@reverse", definition.get("@id"))
        if isinstance(given, str):
            return self._expand(given, local, defining)
        if ":" in term:
            return self._expand(term, local, defining)
        if self.vocab is not None:
            return self.vocab + term
        raise UnsupportedContext(f"term {term!r} has no IRI")

    def _term_type(
        self, term: str, definition: dict[str, Any], local: dict[str, Any], defining: set[str]
    ) -> str | None:
        kind = definition.get("@type")
        if kind is None or kind in ("@id", "@vocab", "@none"):
            return kind
        if kind.startswith("@"):
            raise UnsupportedContext(f"term {term!r}: @type {kind}")
        return self._expand(kind, local, defining)

    def _expand(self, value: str, local: dict[str, Any], defining: set[str]) -> str:
        """IRI Expansion of a context value (vocab-relative, as for term definitions)."""
        if value.startswith("@"):
            return value
        prefix, colon, suffix = value.partition(":")
        if colon:
            if prefix == "_" or suffix.startswith("//"):
                return value  # a blank node or an absolute IRI
            if prefix in local:
                self._define(prefix, local, defining)
            definition = self.terms.get(prefix)
            return definition.iri + suffix if definition and definition.prefix else value
        if value in local:
            self._define(value, local, defining)
            return self.terms[value].iri
        if self.vocab is not None:
            return self.vocab + value
        raise UnsupportedContext(f"relative IRI {value!r} in the context")

    def _inverse(self) -> dict[str, dict[str, dict[str, dict[str, str]]]]:
        """Inverse Context Creation (§4.3): IRI → container → @type/@language → value → term."""
        default = self.language.lower() if self.language else "@none"
        inverse: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
        for term in sorted(self.terms, key=lambda t: (len(t), t)):  # shortest, then least
            d = self.terms[term]
            container = "@set" if d.as_set else "@none"
            maps = inverse.setdefault(d.iri, {}).setdefault(
                container, {"@type": {}, "@language": {}}
            )
            types, languages = maps["@type"], maps["@language"]
            if d.reverse:
                types.setdefault("@reverse", term)
            elif d.type == "@none":
                languages.setdefault("@any", term)
                types.setdefault("@any", term)
            elif d.type is not None:
                types.setdefault(d.type, term)
            elif d.has_language:
                languages.setdefault(d.language.lower() if d.language else "@null", term)
            else:
                languages.setdefault(default, term)
                languages.setdefault("@none", term)
                types.setdefault("@none", term)
        return inverse

    # -- IRI compaction --------------------------------------------------------------

    def _prefix_index(self) -> tuple[int, dict[str, list[tuple[str, str]]]]:
        """Prefixes bucketed by their namespace's first characters.

        Every namespace an IRI starts with shares the IRI's first ``width``
        characters, so one dictionary look-up finds the few to try.
        """
        width = min((len(ns) for _, ns in self.prefixes), default=0)
        buckets: dict[str, list[tuple[str, str]]] = {}
        for name, namespace in self.prefixes:
            buckets.setdefault(namespace[:width], []).append((name, namespace))
        return width, buckets

    def select_term(self, iri: str, kind: str, preferred: Iterable[str]) -> str | None:
        """Term Selection (§6.3): the first term for the containers and preferred values."""
        containers = self.inverse.get(iri)
        if containers is None:
            return None
        for container in _CONTAINERS:
            candidates = containers.get(container, {}).get(kind)
            if candidates:
                for value in preferred:
                    if value in candidates:
                        return candidates[value]
        return None

    def compact_iri(
        self,
        iri: str,
        *,
        vocab: bool,
        kind: str = "@type",
        preferred: Iterable[str] = _TYPE_PREFERENCE,
        has_value: bool = False,
    ) -> str:
        """IRI Compaction (§6.2): a term, a vocabulary-relative IRI, a compact IRI, or ``iri``."""
        if vocab:
            term = self.select_term(iri, kind, preferred)
            if term is not None:
                return term
            if self.vocab and iri.startswith(self.vocab) and len(iri) > len(self.vocab):
                suffix = iri[len(self.vocab) :]
                if suffix not in self.terms:
                    return suffix
        best: str | None = None
        for name, namespace in self._buckets.get(iri[: self._width], ()):
            if len(iri) > len(namespace) and iri.startswith(namespace):
                candidate = f"{name}:{iri[len(namespace) :]}"
                other = self.terms.get(candidate)
                usable = other is None or (not has_value and other.iri == iri)
                if usable and (best is None or (len(candidate), candidate) < (len(best), best)):
                    best = candidate
        if best is not None:
            return best
        scheme, colon, rest = iri.partition(":")
        defined = self.terms.get(scheme)
        if colon and defined is not None and defined.prefix and not rest.startswith("//"):
            raise ValueError(f"IRI {iri!r} would be read as a compact IRI with prefix {scheme!r}")
        return iri

    def _compact_id(self, iri: str) -> str:
        """An IRI in ``@id`` position: a compact IRI or the IRI itself, never a term."""
        return self.compact_iri(iri, vocab=False)

    def _compact_vocab(self, iri: str) -> str:
        """A class or datatype IRI (``@type`` position): a term where one is defined."""
        return self.compact_iri(iri, vocab=True)

    def reference(self, term: ox.NamedNode | ox.BlankNode) -> str:
        """A subject or object node in ``@id`` form."""
        if type(term) is ox.NamedNode:
            return self.compact_id(term.value)
        if type(term) is ox.BlankNode:
            return "_:" + term.value
        raise TypeError(f"not a node: {term!r}")

    # -- choosing keys ---------------------------------------------------------------
    #
    # A plan says under which key, and in which form, a value goes; it depends only
    # on the predicate and the kind of value, so it is worked out once and cached.

    def _key(self, predicate: str, kind: str, preferred: tuple[str, ...]) -> tuple[str, Any]:
        key = self.compact_iri(
            predicate, vocab=True, kind=kind, preferred=preferred, has_value=True
        )
        return key, self.terms.get(key)

    def _reference_plan(self, predicate: ox.NamedNode, obj: Any) -> tuple[str, bool, int]:
        """(key, always an array, form) for a node reference as the value of ``predicate``."""
        plan = self._reference_plans.get(predicate)
        if plan is not None:
            return plan
        iri = predicate.value
        if iri == RDF_TYPE:
            plan = ("@type", False, _AS_TYPE)
        elif iri in self._vocab_properties:  # the plan depends on the object: not cached here
            return self._reference_plan_for(iri, self._is_term(obj))
        else:
            plan = self._reference_plan_for(iri, False)
        self._reference_plans[predicate] = plan
        return plan

    def _is_term(self, obj: Any) -> bool:
        """Whether an object IRI compacts to a term (IRI Compaction step 4.16.1)."""
        if type(obj) is not ox.NamedNode:
            return False
        compacted = self.compact_vocab(obj.value)
        return compacted in self.terms and self.terms[compacted].iri == obj.value

    def _reference_plan_for(self, iri: str, is_term: bool) -> tuple[str, bool, int]:
        plan = self._reference_plans_by_iri.get((iri, is_term))
        if plan is None:
            preferred = _VOCAB_REF_PREFERENCE if is_term else _REF_PREFERENCE
            key, term = self._key(iri, "@type", preferred)
            form = {"@id": _AS_ID, "@vocab": _AS_VOCAB}.get(term.type if term else None, _AS_OBJECT)
            plan = self._reference_plans_by_iri[iri, is_term] = (
                key,
                bool(term and term.as_set),
                form,
            )
        return plan

    def _literal_plan(self, predicate: ox.NamedNode, suffix: str) -> tuple[Any, ...]:
        """(key, always an array, form, language or datatype) for a literal.

        ``suffix`` is what follows the quoted lexical form in N-Triples: ``@lang``,
        ``^^<datatype>``, or nothing for a plain string.
        """
        plans = self._literal_plans.setdefault(predicate, {})
        plan = plans.get(suffix)
        if plan is None:
            plan = plans[suffix] = self._literal_plan_for(predicate.value, suffix)
        return plan

    def _literal_plan_for(self, predicate: str, suffix: str) -> tuple[Any, ...]:
        if suffix.startswith("@"):
            language = suffix[1:]
            if "--" in language:
                raise ValueError(f"literals with a base direction are not supported: {suffix}")
            key, term = self._key(predicate, "@language", (language.lower(), "@none", "@any"))
            bare = self._language_of(term) == language.lower() and _keeps_shape(term)
            return key, bool(term and term.as_set), _BARE if bare else _LANGUAGE, language
        if not suffix:  # xsd:string
            key, term = self._key(predicate, "@language", _PLAIN_PREFERENCE)
            null_language = term is not None and term.has_language and term.language is None
            bare = _keeps_shape(term) and (self.language is None or null_language)
            return key, bool(term and term.as_set), _BARE if bare else _PLAIN, None
        datatype = suffix[3:-1]  # ^^<...>
        key, term = self._key(predicate, "@type", (datatype, "@none", "@any"))
        as_set = bool(term and term.as_set)
        if term is not None and term.type == datatype:
            return key, as_set, _BARE, None
        native = (term is None or term.type is None) and datatype in (XSD_BOOLEAN, XSD_INTEGER)
        return key, as_set, _NATIVE if native else _TYPED, (datatype, self.compact_vocab(datatype))

    def _language_of(self, term: TermDefinition | None) -> str | None:
        """The language a bare string has under ``term`` (its own, or the default)."""
        language = term.language if term is not None and term.has_language else self.language
        return language.lower() if language else None

    # -- node objects ----------------------------------------------------------------

    def _reference_value(self, obj: Any, form: int) -> Any:
        if type(obj) is ox.NamedNode:
            iri = obj.value
            if form == _AS_ID:
                return self.compact_id(iri)
            if form == _AS_OBJECT:
                return {"@id": self.compact_id(iri)}
            return self.compact_vocab(iri)  # _AS_TYPE, _AS_VOCAB
        reference = self.reference(obj)
        return {"@id": reference} if form == _AS_OBJECT else reference

    def _literal_value(self, lexical: str, form: int, detail: Any) -> Any:
        if form == _LANGUAGE:
            return {"@language": detail, "@value": lexical}
        if form == _PLAIN:
            return {"@value": lexical}
        if form == _NATIVE:
            native = _native(detail[0], lexical)
            if native is not None:
                return native
        return {"@type": detail[1], "@value": lexical}

    def node(self, subject: ox.NamedNode | ox.BlankNode, triples: Iterable[ox.Triple]) -> dict:
        """The compacted node object of ``subject`` from the triples about it.

        The hot loop of the export, hence its shape: one pyoxigraph call per term
        where possible, and cached plans looked up by the predicate term itself.
        For a literal, ``str()`` gives its N-Triples form, whose quoted part is also
        a JSON string (same escapes) and whose suffix (``@lang``, ``^^<datatype>``)
        selects the plan: one call instead of three (value, language, datatype).
        """
        values: dict[str, list[Any]] = {}
        arrays: list[str] = []
        literal_plans, reference_plans = self._literal_plans, self._reference_plans
        for triple in triples:
            predicate, obj = triple.predicate, triple.object
            if type(obj) is ox.Literal:
                text = str(obj)
                end = text.rfind('"')
                plan = literal_plans.get(predicate, {}).get(text[end + 1 :])
                if plan is None:
                    plan = self._literal_plan(predicate, text[end + 1 :])
                key, as_set, form, detail = plan
                lexical = json.loads(text[: end + 1]) if "\\" in text else text[1:end]
                value = lexical if form == _BARE else self._literal_value(lexical, form, detail)
            else:
                key, as_set, form = reference_plans.get(predicate) or self._reference_plan(
                    predicate, obj
                )
                value = self._reference_value(obj, form)
            found = values.get(key)
            if found is None:
                values[key] = [value]
            else:
                found.append(value)
            if as_set:
                arrays.append(key)
        node: dict[str, Any] = {"@id": self.reference(subject)}
        for key, found in values.items():
            if len(found) > 1:
                node[key] = _ordered(found)
            else:
                node[key] = found if key in arrays else found[0]
        return node

    def nodes(self, triples: Iterable[ox.Triple]) -> list[dict]:
        """One node object per subject of ``triples``, sorted by ``@id``."""
        with _gc_paused():
            by_subject: dict[Any, list[ox.Triple]] = {}
            for triple in triples:
                subject = triple.subject
                about = by_subject.get(subject)
                if about is None:
                    by_subject[subject] = [triple]
                else:
                    about.append(triple)
            found = [self.node(subject, about) for subject, about in by_subject.items()]
            found.sort(key=_node_id)
        return found


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building node objects.

    They make no reference cycles, but their many small containers trigger
    collections that walk every live object, the caller's graphs included: pausing
    makes node building about a third faster. The collector is resumed (if it was
    running) however the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _node_id(node: dict) -> str:
    return node["@id"]


def _absolute(iri: str, context: Mapping[str, Any]) -> bool:
    """Whether ``iri`` is an absolute IRI or blank node, not a compact IRI or a term."""
    prefix, colon, rest = iri.partition(":")
    return bool(colon) and (prefix == "_" or rest.startswith("//") or prefix not in context)


def _is_set_container(term: str, container: Any) -> bool:
    containers = [container] if isinstance(container, str) else container or []
    if containers not in ([], ["@set"]):
        raise UnsupportedContext(f"term {term!r}: @container {container!r}")
    return bool(containers)


def _prefix_shaped(term: str, iri: str) -> bool:
    """Whether a simple term defines a prefix (Create Term Definition, JSON-LD 1.1)."""
    return (
        ":" not in term and "/" not in term and (iri.endswith(_GEN_DELIMS) or iri.startswith("_:"))
    )


def _keeps_shape(term: TermDefinition | None) -> bool:
    """False for ``"@type": "@none"`` terms, whose values are never shortened."""
    return term is None or term.type != "@none"


def _native(datatype: str, lexical: str) -> bool | int | None:
    """The JSON boolean or number that reads back as exactly this literal, if there is one."""
    if datatype == XSD_BOOLEAN and lexical in ("true", "false"):
        return lexical == "true"
    if datatype == XSD_INTEGER and _CANONICAL_INTEGER.match(lexical) and lexical != "-0":
        number = int(lexical)
        if abs(number) < 10**21:  # JSON-LD reads larger numbers as xsd:double
            return number
    return None


def _ordered(values: list[Any]) -> list[Any]:
    """Values without duplicates, sorted by their JSON text (as the rdflib route sorted them)."""
    if len(values) == 1:
        return values
    keyed = {_SORT_KEY(value): value for value in values}
    return [keyed[key] for key in sorted(keyed)]


@lru_cache(maxsize=8)
def _compactor_for(context_json: str) -> Compactor:
    return Compactor(json.loads(context_json))


def compactor(context: Mapping[str, Any] | Compactor) -> Compactor:
    """The processed form of ``context``, made once per distinct context."""
    if isinstance(context, Compactor):
        return context
    return _compactor_for(json.dumps(context, sort_keys=True))


def node_objects(
    triples: Iterable[ox.Triple], context: Mapping[str, Any] | Compactor
) -> list[dict]:
    """Compacted JSON-LD node objects for ``triples``: one per subject, sorted by ``@id``.

    ``context`` is the value of ``@context`` (a map of terms), as ``load_context()``
    returns it, or a ``Compactor`` made from one.
    """
    return compactor(context).nodes(triples)


# -- writing -------------------------------------------------------------------------


def dumps(value: Any, indent: str = "") -> str:
    """``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)``, faster.

    The standard library falls back to its pure-Python encoder whenever ``indent``
    is given; this writes the same text for the JSON that node objects hold.
    ``indent`` is the indentation of the line the value starts on.
    """
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is dict:
        if not value:
            return "{}"
        inner = indent + "  "
        items = [
            inner
            + encode_basestring(k)
            + ": "
            + (encode_basestring(v) if type(v) is str else dumps(v, inner))
            for k, v in sorted(value.items())
        ]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if kind is list:
        if not value:
            return "[]"
        inner = indent + "  "
        items = [
            inner + (encode_basestring(v) if type(v) is str else dumps(v, inner)) for v in value
        ]
        return "[\n" + ",\n".join(items) + "\n" + indent + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    return _dumps_other(value, indent)


def _dumps_other(value: Any, indent: str) -> str:
    """``dumps`` of what node objects do not hold: null, floats, subclasses, tuples."""
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, dict):
        return dumps(dict(value), indent)
    if isinstance(value, list | tuple):
        return dumps(list(value), indent)
    return json.dumps(value, ensure_ascii=False)


class JsonLdWriter:
    """Writes ``{"@context": …, "@graph": [ … ]}`` a batch of node objects at a time.

    Use as a context manager; the document is completed when the block ends without
    an exception (after one, the file is closed unfinished, so a failed export never
    looks complete). Nodes are written in the order given: each batch from
    ``node_objects`` is sorted, and batches are not merged, so a deterministic file
    needs batches in a deterministic order and each subject in one batch only.
    ``graph(name)`` opens a named graph, ``{"@id": name, "@graph": [ … ]}``, whose
    nodes are the batches written inside it.
    """

    def __init__(self, path: Path | str, context: Mapping[str, Any]) -> None:
        self.path = Path(path)
        self.context = context
        self.compactor = compactor(context)
        self._file: IO[str] | None = None
        self._levels: list[bool] = []  # for each open array: has it an item yet?

    def __enter__(self) -> JsonLdWriter:
        self._file = self.path.open("w", encoding="utf-8", newline="\n")
        self._file.write('{\n  "@context": ' + dumps(self.context, "  ") + ',\n  "@graph": [')
        self._levels = [False]
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._file is not None
        try:
            if exc_type is None:
                self._close_array()
                self._file.write("\n}\n")
        finally:
            self._file.close()
            self._file = None

    @property
    def _indent(self) -> str:
        """The indentation of an item of the innermost open array."""
        return "  " * (2 * len(self._levels))

    def _start_item(self) -> None:
        assert self._file is not None, "use JsonLdWriter as a context manager"
        self._file.write(",\n" if self._levels[-1] else "\n")
        self._levels[-1] = True

    def _close_array(self) -> None:
        assert self._file is not None
        had_items = self._levels.pop()
        self._file.write("\n" + "  " * (2 * len(self._levels) + 1) + "]" if had_items else "]")

    def write(self, nodes: Iterable[dict]) -> None:
        """Append node objects to the innermost open ``@graph``."""
        indent = self._indent
        for node in nodes:
            self._start_item()
            self._file.write(indent + dumps(node, indent))  # type: ignore[union-attr]

    def write_triples(self, triples: Iterable[ox.Triple]) -> None:
        """Append the node objects of ``triples`` (one batch: sorted by ``@id``)."""
        self.write(self.compactor.nodes(triples))

    @contextmanager
    def graph(self, name: str) -> Iterator[JsonLdWriter]:
        """A named graph: ``{"@graph": [ <nodes written inside> ], "@id": name}``."""
        if len(self._levels) > 1:
            raise ValueError("named graphs do not nest")
        indent = self._indent
        self._start_item()
        self._file.write(indent + "{\n" + indent + '  "@graph": [')  # type: ignore[union-attr]
        self._levels.append(False)
        yield self
        self._close_array()
        reference = encode_basestring(self.compactor.compact_id(name))
        self._file.write(f',\n{indent}  "@id": {reference}\n{indent}}}')  # type: ignore[union-attr]
