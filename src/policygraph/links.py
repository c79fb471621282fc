"""Linking the documents of one build to each other: citations and similar measures.

This stage runs after every document has been parsed and mapped, because a link
needs both ends. It reads the documents' own graphs (titles, document numbers,
texts, themes), so it depends on what the graph says, not on how the parser got
there, and it writes a graph of its own, published as the named graph
``{base}graph/links``. What it needs of a graph is read as soon as the graph is made
(:func:`link_features`: a small, picklable record), so a build need not keep every
document's graph until the end; :func:`link_from_features` then links them all.

Citations. A text names another document by its title — in 《》 in Chinese, in
quotation marks in English — or by its document number (国发〔2018〕42号). The
citing policy and the citing part (paragraph, item, heading) both get ``eli:cites``
to the cited document: the policy of the build it names, matched by normalised title
or by number, or else a ``pg:CitedDocument`` carrying the cited title and number,
so what is cited but missing shows. Its IRI is derived from the number
(``{base}cited/guofa-2017-5``) or, without one, from the title (a slug plus a short
hash of the normalised title): stable across builds, never a counter. A number
printed right after a title (《…》（国发〔2017〕5号）) names the same document, and
teaches which number a title has, for mentions elsewhere of the title alone. A
document's own title or number is no citation.

Similar measures. See :mod:`policygraph.similarity` for the score; each link is a
``pg:SimilarityLink`` record ``{measure}/similar/{other}`` with the score, its two
parts, the method and the shared themes, plus a direct ``pg:similarTo``.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import pickle
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from rdflib import RDF, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS
from rdflib.term import Node

from policygraph.graph import ELI, PG, PREFIXES
from policygraph.iris import Iris
from policygraph.parse import slugify
from policygraph.parse_zh import _DOC_NUMBER
from policygraph.similarity import MeasureText, Similarity, similar_measures

METHOD = PG.ThemeAndTextSimilarity

# A document number anywhere in a text; the prefix may not start with a word that
# merely leads up to it (根据国发〔…〕 → 国发). Each hit is checked against the
# parser's own pattern for a document number, so both agree on what one is.
_LEAD_IN = "的和与及按照据依见于由至将对在为是即经"
_NUMBER_IN_TEXT = re.compile(
    rf"(?<![^{_LEAD_IN}\W\d])(?P<number>(?:(?![{_LEAD_IN}])[\u4e00-\u9fff]){{1,8}}"
    r"[〔\[［(（]\d{4}[〕\]］)）]\d+号)"
)
_BOOK_TITLE = re.compile(r"《(?P<title>[^《》\n]{2,120})》")
_QUOTED = re.compile(r"“(?P<curly>[^“”\n]{3,200})”|\"(?P<straight>[^\"\n]{3,200})\"")
# An English quotation names a document when it is titled like one.
_EN_DOCUMENT_WORD = re.compile(
    r"\b(?:Opinions?|Plans?|Notice|Circular|Decisions?|Law|Regulations?|Measures|"
    r"Guidelines?|Programme|Program|Outline|Strategy|Provisions|Rules|Action|Initiative)\b"
)
# A number in brackets right after a title: 《…》（国发〔2017〕5号）.
_NUMBER_AFTER = re.compile(r"\s*[（(]\s*$")


@dataclass(frozen=True)
class Mention:
    """One naming of a document in a text: by title, number or both."""

    title: str | None
    number: str | None


@dataclass(frozen=True)
class Known:
    """A policy of the build, as a citation can name it."""

    iri: URIRef
    title: str
    number: str | None


@dataclass
class LinkSummary:
    """What the linking stage found, for the build report."""

    citations: int = 0  # distinct (citing policy, cited document) pairs
    in_corpus: int = 0
    missing: int = 0
    similar: int = 0

    def text(self) -> str:
        return (
            f"links: {self.citations} citations ({self.in_corpus} to documents in the corpus, "
            f"{self.missing} to documents not in it), {self.similar} similar-measure links"
        )


def normalise_title(title: str) -> str:
    """A title for comparison: NFKC, lower case, letters and digits only."""
    return "".join(c for c in unicodedata.normalize("NFKC", title).lower() if c.isalnum())


def normalise_number(number: str) -> tuple[str, str, str] | None:
    """(prefix, year, sequence) of a document number, or None if it is none."""
    m = _DOC_NUMBER.match(unicodedata.normalize("NFKC", number).replace(" ", ""))
    if m is None:
        m = _DOC_NUMBER.match(number.strip())
    return (m["prefix"], m["year"], m["seq"]) if m else None


def cited_iri(iris: Iris, mention: Mention) -> URIRef:
    """The stable IRI of a cited document not in the build: from its number, else its title."""
    if mention.number and (parts := normalise_number(mention.number)):
        from pypinyin import lazy_pinyin

        prefix = slugify("".join(lazy_pinyin(parts[0]))) or "doc"
        return URIRef(f"{iris.base}cited/{prefix}-{parts[1]}-{parts[2]}")
    assert mention.title is not None
    from pypinyin import lazy_pinyin

    key = normalise_title(mention.title)
    slug = slugify(" ".join(lazy_pinyin(mention.title)), max_words=8) or "title"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
    return URIRef(f"{iris.base}cited/{slug}-{digest}")


# -- finding mentions ---------------------------------------------------------------


def _titles(text: str, english: bool) -> list[tuple[str, int]]:
    """Titles named in a text, with where each ends; quoted ones only in English text."""
    found = [(m["title"].strip(), m.end()) for m in _BOOK_TITLE.finditer(text)]
    if english:
        for m in _QUOTED.finditer(text):
            quoted = (m["curly"] or m["straight"]).strip().rstrip(",.;:")
            if quoted[:1].isupper() and _EN_DOCUMENT_WORD.search(quoted):
                found.append((quoted, m.end()))
    return found


def mentions(text: str, english: bool) -> list[Mention]:
    """Every document a text names, in reading order; a number just after a title joins it."""
    numbers = [
        (m.start("number"), m.end("number"), m["number"]) for m in _NUMBER_IN_TEXT.finditer(text)
    ]
    numbers = [n for n in numbers if normalise_number(n[2])]
    found: list[tuple[int, Mention]] = []
    joined: set[int] = set()
    for title, end in _titles(text, english):
        number = None
        for start, _, written in numbers:
            if start >= end and _NUMBER_AFTER.fullmatch(text[end:start] + " ") is not None:
                number = written
                joined.add(start)
                break
        found.append((end, Mention(title, number)))
    found += [
        (start, Mention(None, written)) for start, _, written in numbers if start not in joined
    ]
    return [mention for _, mention in sorted(found, key=lambda f: f[0])]


# -- reading the documents' graphs ----------------------------------------------------


@dataclass(frozen=True)
class PolicyLinks:
    """What citations need of one policy: how it is named, and what its texts name.

    ``mentions`` are (citing part, mention) in the order the stage reads them (parts by
    IRI, mentions in reading order), the policy's own title and number left out.
    """

    iri: str
    title: str
    number: str | None
    language: str | None  # of the title, given to cited titles
    mentions: tuple[tuple[str, Mention], ...]


@dataclass(frozen=True)
class DocumentLinks:
    """All the linking stage reads of one document's graph: small, plain and picklable.

    The stage needs every document at once; holding these instead of the graphs lets a
    build extract them as each document is mapped (in a worker, say) and drop the graph.
    """

    policies: tuple[PolicyLinks, ...]
    measures: tuple[MeasureText, ...]
    # Digests of what citations and the similarity search read of this document, made
    # with it (in a worker): a rebuild learns whether either must run again from ten
    # thousand digests instead of every measure's text.
    policies_digest: bytes = field(init=False, repr=False, compare=False)
    measures_digest: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        policies = (
            (p.iri, p.title, p.number, p.language, *(v for m in p.mentions for v in _flat(m)))
            for p in self.policies
        )
        measures = (
            (m.iri, m.policy, str(len(m.themes)), *sorted(m.themes), m.text) for m in self.measures
        )
        object.__setattr__(self, "policies_digest", _digest(policies))
        object.__setattr__(self, "measures_digest", _digest(measures))


def _flat(mention: tuple[str, Mention]) -> tuple[str, str | None, str | None]:
    part, named = mention
    return part, named.title, named.number


def _digest(records: Iterable[Iterable[str | None]]) -> bytes:
    """A hash of records of strings, each length-prefixed so no two lists collide; None
    is written as a NUL, which no text of a document holds."""
    digest = hashlib.sha256()
    for record in records:
        for value in record:
            data = ("\0" if value is None else value).encode("utf-8")
            digest.update(len(data).to_bytes(8, "big") + data)
        digest.update(b"\n")
    return digest.digest()


@dataclass(frozen=True)
class PackedLinks:
    """A document's link features as a build keeps them: the two digests at hand, the
    features themselves pickled, unpacked only when citations or the search must run.

    A rebuild after one change reads ten thousand records; the measures' texts in them
    took a third of the time to unpickle, and most rebuilds need only the digests.
    """

    policies_digest: bytes
    measures_digest: bytes
    data: bytes

    @classmethod
    def pack(cls, links: DocumentLinks) -> PackedLinks:
        data = pickle.dumps(links, protocol=pickle.HIGHEST_PROTOCOL)
        return cls(links.policies_digest, links.measures_digest, data)

    def unpack(self) -> DocumentLinks:
        links: DocumentLinks = pickle.loads(self.data)
        return links


def unpacked(features: Iterable[DocumentLinks | PackedLinks]) -> list[DocumentLinks]:
    """The features themselves, whether packed or not."""
    return [f.unpack() if isinstance(f, PackedLinks) else f for f in features]


def link_features(graph: Graph, iris: Iris | None = None) -> DocumentLinks:
    """What one document's graph contributes to the links of a build.

    The graph holds full IRIs, so nothing read here depends on the build's ``iris``;
    the parameter is there for callers that pass them alongside the graph.
    """
    return DocumentLinks(
        tuple(_policy_links(graph, policy) for policy in graph.subjects(RDF.type, PG.Policy)),
        tuple(_measures(graph)),
    )


def _policy_links(graph: Graph, policy: URIRef) -> PolicyLinks:
    number = graph.value(policy, PG.documentNumber)
    title = graph.value(policy, DCTERMS.title)
    # A falsy literal (an empty number, say) names nothing, as no literal at all.
    own = Known(policy, str(title or ""), str(number) if number else None)
    lang = title.language if isinstance(title, Literal) else None
    english = (lang or "").startswith("en")
    found = [
        (str(part), mention)
        for part, text in _citing_texts(graph, policy)
        for mention in mentions(text, english)
        if not _is_own(mention, own)
    ]
    return PolicyLinks(str(policy), own.title, own.number, lang, tuple(found))


def _citing_texts(graph: Graph, policy: URIRef) -> list[tuple[URIRef, str]]:
    """(part, text) for every text of a policy that may cite, the title under its preface."""
    texts = []
    for preface in graph.subjects(RDF.type, PG.Preface):
        if (preface, PG.inPolicy, policy) in graph:
            texts.append((preface, str(graph.value(policy, DCTERMS.title) or "")))
    for predicate in (PG.heading, PG.text):
        for part, value in graph.subject_objects(predicate):
            if (part, PG.inPolicy, policy) in graph and (part, RDF.type, PG.Objective) not in graph:
                texts.append((part, str(value)))
    return sorted(texts)


# -- citations -------------------------------------------------------------------------


class _Citations:
    def __init__(self, iris: Iris, known: list[Known]):
        self.iris = iris
        self.by_number = {}
        for k in known:
            if k.number and (parts := normalise_number(k.number)):
                self.by_number[parts] = k.iri
        self.by_title = {normalise_title(k.title): k.iri for k in known if k.title}
        self.numbers_of_titles: dict[str, str] = {}
        self.graph = Graph()
        for prefix, namespace in PREFIXES.items():
            self.graph.bind(prefix, namespace)
        self.pairs: set[tuple[URIRef, URIRef]] = set()
        self.missing: set[URIRef] = set()

    def learn(self, mention: Mention) -> None:
        """A title printed with its number: remember the number for the title alone."""
        if mention.title and mention.number:
            self.numbers_of_titles.setdefault(normalise_title(mention.title), mention.number)

    def resolve(self, mention: Mention) -> tuple[URIRef, bool]:
        """The cited document, and whether it is a policy of this build."""
        number = mention.number
        if number is None and mention.title:
            number = self.numbers_of_titles.get(normalise_title(mention.title))
        if number and (parts := normalise_number(number)) and parts in self.by_number:
            return self.by_number[parts], True
        if mention.title and (iri := self.by_title.get(normalise_title(mention.title))):
            return iri, True
        return cited_iri(self.iris, Mention(mention.title, number)), False

    def add(self, policy: URIRef, part: URIRef, mention: Mention, lang: str | None) -> None:
        target, in_corpus = self.resolve(mention)
        if target == policy:
            return
        self.graph.add((policy, ELI.cites, target))
        self.graph.add((part, ELI.cites, target))
        self.pairs.add((policy, target))
        if in_corpus:
            return
        self.missing.add(target)
        self.graph.add((target, RDF.type, PG.CitedDocument))
        if mention.title:
            self.graph.add((target, DCTERMS.title, Literal(mention.title, lang=lang)))
        number = mention.number
        if number is None and mention.title:
            number = self.numbers_of_titles.get(normalise_title(mention.title))
        if number:
            self.graph.add((target, PG.documentNumber, Literal(number)))


def _is_own(mention: Mention, own: Known) -> bool:
    """Whether a mention names the citing document itself (its title block, say)."""
    same_number = bool(mention.number and own.number) and normalise_number(
        mention.number or ""
    ) == normalise_number(own.number or "")
    same_title = bool(mention.title) and normalise_title(mention.title or "") == normalise_title(
        own.title
    )
    return same_number or same_title


def _cite(policies: list[PolicyLinks], iris: Iris) -> _Citations:
    """Citations of every policy; all titles printed with a number are learnt first."""
    citations = _Citations(iris, [Known(URIRef(p.iri), p.title, p.number) for p in policies])
    for policy in policies:
        for _, mention in policy.mentions:
            citations.learn(mention)
    for policy in policies:
        for part, mention in policy.mentions:
            citations.add(URIRef(policy.iri), URIRef(part), mention, policy.language)
    return citations


# -- similar measures -------------------------------------------------------------------


def _measures(graph: Graph) -> list[MeasureText]:
    found = []
    for measure in graph.subjects(RDF.type, PG.Measure):
        words = [str(graph.value(measure, PG.heading) or "")]
        words += [str(t) for t in graph.objects(measure, PG.text)]
        paragraphs = sorted(
            (int(graph.value(p, PG.order) or 0), str(graph.value(p, PG.text) or ""))
            for p in graph.subjects(ELI.is_part_of, measure)
            if (p, RDF.type, PG.Paragraph) in graph
        )
        words += [text for _, text in paragraphs]
        found.append(
            MeasureText(
                iri=str(measure),
                policy=str(graph.value(measure, PG.inPolicy)),
                themes=frozenset(str(t) for t in graph.objects(measure, PG.theme)),
                text=" ".join(words),
            )
        )
    return found


def _readable(iris: Iris, measure: str) -> str:
    """The other measure's place, as one path segment: guofa-2018-42.chp_2.item_3."""
    under = f"{iris.base}policy/"
    if measure.startswith(under) and "." not in measure[len(under) :]:
        return measure[len(under) :].replace("/", ".")
    return hashlib.sha256(measure.encode("utf-8")).hexdigest()[:16]


def similarity_statements(iris: Iris, link: Similarity) -> Iterator[tuple[str, str, str | Decimal]]:
    """The statements of one similarity link, its record and the direct shortcut, as
    plain values: IRIs as strings, scores as decimals (``xsd:decimal`` literals).

    The one description of a record's shape; :func:`_similarity` makes rdflib terms of
    it, :mod:`policygraph.linkdump` pyoxigraph terms.
    """
    record = Iris.child(link.source, f"similar/{_readable(iris, link.target)}")
    yield link.source, _SIMILAR_TO, link.target
    yield link.source, _SIMILARITY, record
    yield record, _RDF_TYPE, _SIMILARITY_LINK
    yield record, _SIMILAR_MEASURE, link.target
    yield record, _METHOD, str(METHOD)
    yield record, _SCORE, link.score
    yield record, _THEME_SCORE, link.theme_score
    yield record, _TEXT_SCORE, link.text_score
    for theme in link.shared_themes:
        yield record, _SHARED_THEME, theme


_RDF_TYPE, _METHOD = str(RDF.type), str(PG.method)
_SIMILAR_TO, _SIMILARITY, _SIMILAR_MEASURE = map(
    str, (PG.similarTo, PG.similarity, PG.similarMeasure)
)
_SCORE, _THEME_SCORE, _TEXT_SCORE, _SHARED_THEME = map(
    str, (PG.score, PG.themeScore, PG.textScore, PG.sharedTheme)
)
_SIMILARITY_LINK = str(PG.SimilarityLink)


@functools.cache
def _decimal_written(text: str) -> Literal:
    """A score as a literal; scores have three decimals, so there are few to make.

    Made once per written form: 0 and 0.000 are equal decimals but distinct literals.
    """
    return Literal(Decimal(text), datatype=XSD.decimal)


def _similarity(iris: Iris, link: Similarity) -> Iterator[tuple[URIRef, URIRef, Node]]:
    """:func:`similarity_statements` as rdflib terms."""
    for s, p, o in similarity_statements(iris, link):
        value = _decimal_written(str(o)) if isinstance(o, Decimal) else URIRef(o)
        yield URIRef(s), URIRef(p), value


# -- the stage -----------------------------------------------------------------------------


def link_documents(graphs: list[Graph], iris: Iris) -> tuple[Graph, LinkSummary]:
    """The links between the documents of a build, and their counts."""
    return link_from_features([link_features(graph) for graph in graphs], iris)


def link_from_features(documents: Iterable[DocumentLinks], iris: Iris) -> tuple[Graph, LinkSummary]:
    """The links between documents, from what :func:`link_features` read of each."""
    statements, summary = link_statements(documents, iris)
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    for statement in statements:
        graph.add(statement)
    return graph, summary


def link_statements(
    documents: Iterable[DocumentLinks], iris: Iris
) -> tuple[Iterator[tuple[URIRef, URIRef, Node]], LinkSummary]:
    """The statements of the links between documents (each once), made as they are read,
    and their counts.

    The statements are those of :func:`link_from_features`'s graph, for callers that
    want them all in one process (tests, the naive benchmark). A build does not: it
    takes the citations from :func:`cite_documents` and has the similarity links,
    millions in a large corpus, written in chunks by :mod:`policygraph.linkdump`.
    """
    documents = list(documents)
    citations, summary = cite_documents(documents, iris)
    links = similar_measures(m for d in documents for m in d.measures)
    summary.similar = len(links)
    statements = itertools.chain(citations, (t for link in links for t in _similarity(iris, link)))
    return statements, summary


def cite_documents(documents: Iterable[DocumentLinks], iris: Iris) -> tuple[Graph, LinkSummary]:
    """The citations between documents (a small graph: a few statements per mention),
    with their counts; ``similar`` is left at 0 for the caller to fill."""
    # Sorted by IRI (stably, should two documents claim one IRI): the order citations
    # are read in decides which number a title printed with several is known by.
    policies = sorted((p for d in documents for p in d.policies), key=lambda p: p.iri)
    citations = _cite(policies, iris)
    in_corpus = sum(1 for _, target in citations.pairs if target not in citations.missing)
    summary = LinkSummary(
        citations=len(citations.pairs),
        in_corpus=in_corpus,
        missing=len(citations.pairs) - in_corpus,
        similar=0,
    )
    return citations.graph, summary
