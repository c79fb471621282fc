"""The HTML pages: labels, links both ways, source text, JSON-LD, the home page's picture.

Expected values come from outside the code under test: the source document read here
line by line (item 17 and its split word "Ma ke", chapter III holding items 12–18,
the date and the two issuers, three objectives for 2020), the build's Turtle dump read
with rdflib (which resources link where), the ontology file read with rdflib, and the
query files' own comment lines. Pages are parsed with html5lib (HTML5 parse errors)
and the standard library's HTML parser; their JSON-LD with rdflib.
"""

from __future__ import annotations

import html as htmllib
import re
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

import html5lib
import pyoxigraph as ox
import pytest
from rdflib import RDF, RDFS, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic

from policygraph import html
from policygraph.site import build_base, load_build
from tests.conftest import BUNDLED, REPO

PG = Namespace("https://w3id.org/policygraph/ontology#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
SCHEMA = Namespace("http://schema.org/")
SOURCE_LINES = BUNDLED.read_text(encoding="utf-8").splitlines()


class Page(HTMLParser):
    """A page, parsed: its links (with the section they stand in), scripts and ids."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.text = text
        self.links: list[tuple[str, str, str]] = []  # (href, text, section id)
        self.scripts: dict[str, str] = {}
        self.ids: list[str] = []
        self.alternates: dict[str, str] = {}
        self.pre: list[str] = []
        self._sections: list[str] = []
        self._stack: list[str] = []
        self._href: str | None = None
        self._buffer: list[str] = []
        self._script: str | None = None
        self._in_pre = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {k: v or "" for k, v in attrs}
        if "id" in attr:
            self.ids.append(attr["id"])
        if tag == "section":
            self._sections.append(attr.get("aria-labelledby", ""))
        if tag == "a" and "href" in attr:
            self._href, self._buffer = attr["href"], []
        if tag == "script" and attr.get("type") == "application/ld+json":
            self._script, self._buffer = attr.get("id", ""), []
        if tag == "link" and attr.get("rel") == "alternate":
            self.alternates[attr["type"]] = attr["href"]
        if tag == "pre":
            self._in_pre, self._buffer = True, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "section" and self._sections:
            self._sections.pop()
        if tag == "a" and self._href is not None:
            section = self._sections[-1] if self._sections else ""
            self.links.append((self._href, "".join(self._buffer).strip(), section))
            self._href = None
        if tag == "script" and self._script is not None:
            self.scripts[self._script] = "".join(self._buffer)
            self._script = None
        if tag == "pre" and self._in_pre:
            self.pre.append("".join(self._buffer))
            self._in_pre = False

    def handle_data(self, data: str) -> None:
        if self._href is not None or self._script is not None or self._in_pre:
            self._buffer.append(data)

    def hrefs(self, section: str | None = None) -> list[str]:
        return [h for h, _, s in self.links if section is None or s == section]


def parse_page(text: str) -> Page:
    """Parse a page, failing on any HTML5 parse error or duplicate id."""
    parser = html5lib.HTMLParser(strict=False)
    parser.parse(text)
    assert parser.errors == [], parser.errors[:5]
    assert text.startswith("<!DOCTYPE html>")
    page = Page(text)
    duplicates = {i for i in page.ids if page.ids.count(i) > 1}
    assert not duplicates, duplicates
    return page


@pytest.fixture(scope="module")
def store(build_dir: Path) -> html.QuadIndex:
    return load_build(build_dir)


@pytest.fixture(scope="module")
def base(build_dir: Path) -> str:
    return build_base(build_dir)


def item(graph: Graph, number: str) -> URIRef:
    """The item printed with ``number``, found in the build's Turtle dump."""
    found = [
        s for s in graph.subjects(ELI.number, Literal(number)) if (s, PG.ordinal, None) in graph
    ]
    found = [s for s in found if (s, PG.heading, None) in graph and (s, PG.order, None) in graph]
    items = [
        s
        for s in found
        if (s, RDF.type, PG.Measure) in graph or (s, RDF.type, PG.GeneralProvision) in graph
    ]
    assert len(items) == 1, items
    return items[0]


def source_line(prefix: str) -> tuple[int, str]:
    """The line of the source document that starts with ``prefix``, numbered from 1."""
    hits = [(n, line) for n, line in enumerate(SOURCE_LINES, 1) if line.startswith(prefix)]
    assert len(hits) == 1, hits
    return hits[0]


def description(graph: Graph, iri: URIRef) -> Graph:
    """What the build says about a resource, read with rdflib from the Turtle dump."""
    found = Graph()
    for triple in graph.triples((iri, None, None)):
        found.add(triple)
    return found


# ---------------------------------------------------------------------------
# Paths


def test_local_paths_map_the_base_and_the_vocabularies() -> None:
    base = "https://example.org/data/"
    assert html.local_path(base + "policy/p/chp_2/item_4", base) == "/id/policy/p/chp_2/item_4"
    assert html.local_path("https://w3id.org/policygraph/theme/brands", base) == "/theme/brands"
    assert html.local_path(str(PG.Measure), base) == "/ontology#Measure"
    assert html.local_path("https://w3id.org/policygraph/ontology", base) == "/ontology"
    assert html.local_path(base + "dumps/policygraph.ttl", base) == "/dumps/policygraph.ttl"
    assert html.local_path(base + "dataset", base) == "/.well-known/void"
    assert html.local_path("http://schema.org/Legislation", base) == "http://schema.org/Legislation"
    # The default base sits under the vocabulary root; data IRIs still go to /id/.
    default = "https://w3id.org/policygraph/id/"
    assert html.local_path(default + "org/state-council", default) == "/id/org/state-council"


@pytest.mark.parametrize(
    "iri",
    [
        "https://example.org/data/policy/p/chp_2/item_4",
        "https://w3id.org/policygraph/theme/brands",
        "https://w3id.org/policygraph/unit/percent",
    ],
)
def test_resource_iri_inverts_local_path(iri: str) -> None:
    base = "https://example.org/data/"
    assert html.resource_iri(html.local_path(iri, base), base) == iri


@pytest.mark.parametrize("path", ["/", "/sparql", "/dumps/policygraph.ttl", "/.well-known/void"])
def test_paths_that_are_not_resources(path: str) -> None:
    assert html.resource_iri(path, "https://example.org/data/") is None


# ---------------------------------------------------------------------------
# Resource pages


def test_measure_page(store: html.QuadSource, base: str, graph: Graph) -> None:
    line_number, line = source_line("17. ")
    assert "Ma ke" in line  # the split word the parser repairs
    measure = item(graph, "17")
    page = parse_page(html.resource_page(store, str(measure), base))
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", page.text, re.S)
    assert heading and htmllib.unescape(heading.group(1)) == line.replace("Ma ke", "Make")

    # Up: its chapter and policy (breadcrumbs), with the chapter's repaired heading.
    chapter = graph.value(measure, ELI.is_part_of)
    policy = graph.value(measure, PG.inPolicy)
    crumbs = dict((h, t) for h, t, _ in page.links if h in {html.local_path(str(chapter), base)})
    assert crumbs[html.local_path(str(chapter), base)] == source_line("III. ")[1].replace(
        "Brea k", "Break"
    )
    assert html.local_path(str(policy), base) in page.hrefs()

    # Across: its themes, as the graph has them.
    themes = {html.local_path(str(t), base) for t in graph.objects(measure, PG.theme)}
    assert themes and themes <= set(page.hrefs("themes"))

    # Its span of the source text, verbatim, with the line number.
    assert line in page.pre
    assert f"line {line_number}" in page.text
    assert "Ma ke" in page.text and "split word" in page.text

    # Machine-readable copies: alternates and JSON-LD that parses into its description.
    path = html.local_path(str(measure), base)
    assert page.alternates["text/turtle"] == f"{path}?format=ttl"
    assert page.alternates["application/ld+json"] == f"{path}?format=jsonld"
    parsed = Graph().parse(data=page.scripts["description"], format="json-ld")
    assert isomorphic(parsed, description(graph, measure))
    schema = Graph().parse(data=page.scripts["schema-org"], format="json-ld")
    assert (measure, RDF.type, SCHEMA.Legislation) in schema
    assert (measure, SCHEMA.isPartOf, chapter) in schema
    assert (measure, SCHEMA.name, None) in schema


def test_chapter_page_lists_its_items_in_order(
    store: html.QuadSource, base: str, graph: Graph
) -> None:
    # Chapter III holds the lines from "12. " to "18. " of the source.
    first, _ = source_line("12. ")
    last, _ = source_line("18. ")
    numbers = [SOURCE_LINES[n - 1].split(".")[0] for n in range(first, last + 1)]
    chapter = graph.value(item(graph, "12"), ELI.is_part_of)
    page = parse_page(html.resource_page(store, str(chapter), base))
    expected = [html.local_path(str(item(graph, n)), base) for n in numbers]
    assert [h for h in page.hrefs("parts") if h in expected] == expected
    # And each item links back up to the chapter.
    for number in numbers:
        item_page = Page(html.resource_page(store, str(item(graph, number)), base))
        assert html.local_path(str(chapter), base) in item_page.hrefs()


def test_theme_page_lists_its_measures_with_their_policy(
    store: html.QuadSource, base: str, graph: Graph
) -> None:
    measure = item(graph, "17")
    policy = graph.value(measure, PG.inPolicy)
    for theme in graph.objects(measure, PG.theme):
        page = parse_page(html.resource_page(store, str(theme), base))
        listed = page.hrefs("incoming")
        measures = set(graph.subjects(PG.theme, theme))
        assert {html.local_path(str(m), base) for m in measures} <= set(listed)
        assert html.local_path(str(policy), base) in listed
        label = graph.value(theme, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel"))
        assert f">{htmllib.escape(str(label), quote=False)}</h1>" in page.text


def test_policy_page(store: html.QuadSource, base: str, graph: Graph) -> None:
    policies = list(graph.subjects(RDF.type, PG.Policy))
    assert len(policies) == 1
    policy = policies[0]
    page = parse_page(html.resource_page(store, str(policy), base))
    assert SOURCE_LINES[0] in page.text  # the title, as the first line prints it
    chapters = sorted(
        (c for c in graph.objects(policy, ELI.has_part) if (c, RDF.type, PG.Chapter) in graph),
        key=lambda c: int(graph.value(c, PG.ordinal)),
    )
    assert len(chapters) == 6
    expected = [html.local_path(str(c), base) for c in chapters]
    assert [h for h in page.hrefs("parts") if h in expected] == expected
    schema = Graph().parse(data=page.scripts["schema-org"], format="json-ld")
    assert (policy, RDF.type, SCHEMA.Legislation) in schema
    assert str(schema.value(policy, SCHEMA.legislationDate)) == "2017-09-05"
    assert len(set(schema.objects(policy, SCHEMA.legislationPassedBy))) == 2


def test_organisation_page_lists_the_policies_it_issued(
    store: html.QuadSource, base: str, graph: Graph
) -> None:
    policy = next(graph.subjects(RDF.type, PG.Policy))
    issuers = list(graph.objects(policy, ELI.passed_by))
    assert len(issuers) == 2
    for org in issuers:
        page = parse_page(html.resource_page(store, str(org), base))
        assert html.local_path(str(policy), base) in page.hrefs("incoming")


def test_item_page_shows_its_objectives(store: html.QuadSource, base: str, graph: Graph) -> None:
    _, body = source_line("By 2020")
    sentences = re.split(r"(?<=\.)\s+", body.strip())
    assert len(sentences) == 3
    page = parse_page(html.resource_page(store, str(item(graph, "3")), base))
    section = page.text.split('id="objectives"', 1)[1].split("</section>", 1)[0]
    for sentence in sentences:
        assert htmllib.escape(sentence, quote=False) in section
    assert section.count("<td>2020</td>") == 3


def test_every_resource_has_a_page(store: html.QuadSource, base: str, graph: Graph) -> None:
    """Every subject of the build renders, and names itself in the JSON-LD."""
    subjects = {s for s in graph.subjects() if isinstance(s, URIRef)}
    for subject in subjects:
        page = html.resource_page(store, str(subject), base)
        assert page is not None, subject
        parsed = Graph().parse(data=Page(page).scripts["description"], format="json-ld")
        assert isomorphic(parsed, description(graph, subject)), subject


def test_unknown_resource_has_no_page(store: html.QuadSource, base: str) -> None:
    assert html.resource_page(store, base + "policy/no-such-policy", base) is None


def test_text_is_escaped_everywhere() -> None:
    """A hostile label stays text: in the heading, the table and the JSON-LD."""
    base = "https://example.org/data/"
    evil = 'A</script><script>alert("x")</script> & <b>bold</b>'
    store = ox.Store()
    node = ox.NamedNode(base + "policy/p")
    store.add(ox.Quad(node, ox.NamedNode(str(RDF.type)), ox.NamedNode(str(PG.Policy))))
    store.add(ox.Quad(node, ox.NamedNode(str(RDFS.label)), ox.Literal(evil, language="en")))
    page = parse_page(html.resource_page(store, node.value, base))
    assert "<script>alert" not in page.text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page.text
    assert set(page.scripts) == {"schema-org", "description"}
    parsed = Graph().parse(data=page.scripts["description"], format="json-ld")
    assert (URIRef(node.value), RDFS.label, Literal(evil, lang="en")) in parsed


# ---------------------------------------------------------------------------
# Home page


def test_home_page_has_contents_and_a_picture(
    store: html.QuadSource, base: str, graph: Graph
) -> None:
    page = parse_page(html.home_page(store, base, dumps=["policygraph.ttl"]))
    svg = re.search(r"<svg\b.*?</svg>", page.text, re.S)
    assert svg, "no inline SVG"
    boxes = re.findall(r'<a href="([^"]+)" class="box (\w+)">', svg.group(0))
    # 30 numbered items: 1–3 are general provisions, the other 27 measures.
    numbered = [line for line in SOURCE_LINES if re.match(r"\d+\. ", line)]
    assert len(boxes) == len(numbered) == 30
    kinds = [kind for _, kind in boxes]
    assert kinds.count("general") == 3 and kinds.count("measure") == 27
    expected = [html.local_path(str(item(graph, str(n))), base) for n in range(1, 31)]
    assert [href for href, _ in boxes] == expected
    # The table of contents lists the items in the same order, with their labels.
    toc = [h for h in page.hrefs() if h in expected]
    assert toc[: len(expected)] == expected
    for line in numbered:
        repaired = line.replace("Ma ke", "Make")
        assert f">{htmllib.escape(repaired, quote=False)}</a>" in page.text
    assert "/dumps/policygraph.ttl" in page.hrefs()
    assert html.VOID_PATH in page.hrefs()


# ---------------------------------------------------------------------------
# Query page


def questions() -> dict[str, str]:
    """Each query file's question, read here from its comment lines."""
    found = {}
    for path in sorted((REPO / "queries").glob("*.rq")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("# question:"):
                found[path.stem] = line.split(":", 1)[1].strip()
    return found


def test_query_page_lists_every_canned_query(store: html.QuadSource, base: str) -> None:
    asked = questions()
    assert asked, "queries/ has no questions"
    page = parse_page(html.query_page(store, base, None, {}, None))
    for name, question in asked.items():
        assert f"{html.QUERY_PATH}?{html.QUERY_FIELD}={name}" in page.hrefs()
        assert htmllib.escape(question, quote=False) in page.text


def test_query_page_form_and_result(store: html.QuadSource, base: str) -> None:
    with_param = next(q for q in html.canned_queries() if q.parameters)
    param = with_param.parameters[0]
    hostile = '"><script>alert(1)</script>'
    result = "<table><tr><td>answer</td></tr></table>"
    text = html.query_page(store, base, with_param.name, {param.name: hostile}, result)
    page = parse_page(text)
    assert f'<form method="get" action="{html.QUERY_PATH}"' in text
    assert f'name="{html.QUERY_FIELD}" value="{with_param.name}"' in text
    assert f'name="{param.name}"' in text
    assert "<script>alert" not in text and "&#34;&gt;&lt;script&gt;" in text
    assert result in text
    assert htmllib.escape(with_param.question, quote=False) in page.text


def test_query_page_names_an_unknown_query(store: html.QuadSource, base: str) -> None:
    text = html.query_page(store, base, "no-such-query", {}, None)
    parse_page(text)
    assert "no canned query named <code>no-such-query</code>" in text


def test_query_headers_are_parsed() -> None:
    text = (
        "# question: Which measures address a theme?\n"
        "# param: theme iri(https://w3id.org/policygraph/theme/) default=standard upgrading"
        " — the theme, e.g. standards\n"
        "# param: policy string — the policy's local id; every policy when not given\n"
        "#\n# A comment after the header.\nSELECT * WHERE { ?s ?p ?o }\n"
    )
    query = html.parse_query_header("x", text)
    assert query.question == "Which measures address a theme?"
    assert [(p.name, p.kind, p.default) for p in query.parameters] == [
        ("theme", "iri(https://w3id.org/policygraph/theme/)", "standard upgrading"),
        ("policy", "string", None),
    ]
    assert query.parameters[1].description.startswith("the policy's local id")


# ---------------------------------------------------------------------------
# Ontology documentation


def test_ontology_page_documents_every_term() -> None:
    ontology = Graph().parse(REPO / "ontology" / "policygraph.ttl", format="turtle")
    text = html.ontology_page()
    parser = html5lib.HTMLParser(strict=False)
    parser.parse(text)
    assert parser.errors == [], parser.errors[:5]
    page = Page(text)
    # Every term the file defines: classes, properties and individuals.
    terms = sorted({s for s in ontology.subjects(RDF.type, None) if str(s).startswith(str(PG))})
    assert {PG.Measure, PG.theme, PG.SplitWordRule} <= set(terms)
    assert len(terms) > 20
    for term in terms:
        name = str(term)[len(str(PG)) :]
        assert name in page.ids, f"no anchor for /ontology#{name}"
        label = ontology.value(term, RDFS.label)
        assert htmllib.escape(str(label), quote=False) in text


def test_long_lists_of_links_are_cut_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    base = "https://example.org/data/"
    store = ox.Store()
    theme = ox.NamedNode("https://w3id.org/policygraph/theme/t")
    store.add(ox.Quad(theme, ox.NamedNode(str(RDFS.label)), ox.Literal("T")))
    for n in range(3):
        store.add(ox.Quad(ox.NamedNode(f"{base}m{n}"), ox.NamedNode(str(PG.theme)), theme))
    monkeypatch.setattr(html, "MAX_INCOMING", 2)
    page = parse_page(html.resource_page(store, theme.value, base))
    listed = [h for h in page.hrefs("incoming") if not h.startswith(html.SPARQL_PATH)]
    assert listed == ["/id/m0", "/id/m1"]  # the first by IRI
    assert "The first 2 of 3" in page.text
    # ... and links the query that lists them all, which does
    (everything,) = [h for h in page.hrefs() if h.startswith(html.SPARQL_PATH + "?")]
    fields = urllib.parse.parse_qs(urllib.parse.urlsplit(everything).query)
    assert fields["format"] == ["csv"]
    answer = [row["resource"].value for row in store.query(fields["query"][0])]
    assert answer == [f"{base}m{n}" for n in range(3)]
    static = parse_page(html.resource_page(store, theme.value, base, static=True))
    assert not [h for h in static.hrefs() if h.startswith(html.SPARQL_PATH + "?")]
    assert htmllib.escape(fields["query"][0], quote=False) in static.text


def test_server_store_and_site_index_render_the_same_page(
    store: html.QuadIndex, base: str, build_dir: Path, graph: Graph
) -> None:
    """``serve`` reads a pyoxigraph Store, ``site`` the parsed quads: same page for a measure."""
    served = ox.Store()
    served.load(path=str(build_dir / "policygraph.nq"), format=ox.RdfFormat.N_QUADS)
    measure = str(item(graph, "17"))
    assert html.resource_page(served, measure, base) == html.resource_page(store, measure, base)
    assert html.home_page(served, base) == html.home_page(store, base)
    node = ox.NamedNode(measure)
    assert len(store.quads_for_pattern(node)) == len(
        list(served.quads_for_pattern(node, None, None))
    )
