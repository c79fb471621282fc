"""The published files: every format parses, the formats agree, builds are reproducible.

Expected values come from outside the code under test: the formats' own specs
(media types, namespace IRIs), independent parsers (rdflib, pyoxigraph, raptor's
``rapper``, Jena's ``riot``), counts recomputed here by SPARQL or by counting lines,
and the file sizes on disk.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import RDF, XSD, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import DCAT, DCTERMS, ORG, PROV, VOID

from tests.conftest import PINNED_EPOCH, REPO, SOURCES
from tests.support import peers

STEM = "policygraph"
TRIPLE_DUMPS = (f"{STEM}.ttl", f"{STEM}.nt", f"{STEM}.jsonld")
QUAD_DUMPS = (f"{STEM}.nq", f"{STEM}.trig")
DUMPS = TRIPLE_DUMPS + QUAD_DUMPS
ENTAILED = f"{STEM}-entailed.nt"  # the triples the ontology's alignments entail
DESCRIPTION = "void.ttl"
RDF_FILES = (*DUMPS, DESCRIPTION)
CONTEXT = REPO / "ontology" / "context.jsonld"

RDFLIB_FORMAT = {
    ".ttl": "turtle",
    ".nt": "nt",
    ".nq": "nquads",
    ".trig": "trig",
    ".jsonld": "json-ld",
}
OX_FORMAT = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
    ".trig": ox.RdfFormat.TRIG,
    ".jsonld": ox.RdfFormat.JSON_LD,
}
# Registered media types (IANA), one per dump format.
MEDIA_TYPES = {
    ".ttl": "text/turtle",
    ".nt": "application/n-triples",
    ".nq": "application/n-quads",
    ".trig": "application/trig",
    ".jsonld": "application/ld+json",
}
# Namespaces as their publishers publish them (see shared/DESIGN.md).
PG = Namespace("https://w3id.org/policygraph/ontology#")
EXPECTED_PREFIXES = {
    "pg": str(PG),
    "eli": "http://data.europa.eu/eli/ontology#",
    "dcterms": "http://purl.org/dc/terms/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
ELI = EXPECTED_PREFIXES["eli"]
# What may change when only the build time changes.
TIME_PREDICATES = {
    PROV.generatedAtTime,
    PROV.startedAtTime,
    PROV.endedAtTime,
    PROV.atTime,
    DCTERMS.issued,
    DCTERMS.modified,
    DCTERMS.created,
}
STALE = "build/ is out of date: run `make build` and commit"


# -- helpers --------------------------------------------------------------------------


def parse_rdflib(path: Path) -> Graph | Dataset:
    """A file parsed by rdflib: a Dataset for quad formats, a Graph otherwise."""
    fmt = RDFLIB_FORMAT[path.suffix]
    if path.name in QUAD_DUMPS:
        return Dataset().parse(path, format=fmt)
    return Graph().parse(path, format=fmt)


def count(parsed: Graph | Dataset) -> int:
    """Triples in a graph; quads, over all graphs, in a dataset."""
    if isinstance(parsed, Dataset):
        return sum(1 for _ in parsed.quads((None, None, None, None)))
    return len(parsed)


def named_graphs(dataset: Dataset) -> dict[str, Graph]:
    """The non-empty named graphs of a dataset, by name."""
    graphs = {}
    for graph in dataset.graphs():
        if graph.identifier != DATASET_DEFAULT_GRAPH_ID and len(graph):
            graphs[str(graph.identifier)] = graph
    return graphs


def union_of(dataset: Dataset) -> Graph:
    merged = Graph()
    for s, p, o, _ in dataset.quads((None, None, None, None)):
        merged.add((s, p, o))
    return merged


def split_times(graph: Graph) -> tuple[Graph, set]:
    """The graph less its time stamps, and the time-stamp triples removed."""
    kept, removed = Graph(), set()
    for triple in graph:
        if triple[1] in TIME_PREDICATES:
            removed.add(triple)
        else:
            kept.add(triple)
    return kept, removed


def as_graphs(parsed: Graph | Dataset) -> dict[str, Graph]:
    """A triple file as one unnamed graph; a quad file as its named graphs."""
    if isinstance(parsed, Dataset):
        return named_graphs(parsed)
    return {"": parsed}


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@contextmanager
def source_date_epoch(epoch: int | str) -> Iterator[None]:
    """Pin the build time, restoring the environment afterwards."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def build_at(sources: list[Path], out: Path, epoch: int | str) -> Path:
    from policygraph.pipeline import build

    with source_date_epoch(epoch):
        build(sources, out=out)
    return out


def body_iris(turtle: str) -> list[str]:
    """The ``<IRI>`` tokens outside prefix lines and string literals of a Turtle/TriG text."""
    body = "\n".join(line for line in turtle.splitlines() if not line.startswith("@prefix"))
    body = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', body)
    return re.findall(r"<([^<>\"\s]*)>", body)


def declared_prefixes(turtle: str) -> list[tuple[str, str]]:
    return re.findall(r"^@prefix ([A-Za-z][\w.-]*|): <([^>]*)> \.$", turtle, re.M)


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def parsed(build_dir: Path) -> dict[str, Graph | Dataset]:
    """Every RDF file of the session's build, parsed once by rdflib."""
    return {name: parse_rdflib(build_dir / name) for name in RDF_FILES}


@pytest.fixture(scope="module")
def description(parsed: dict[str, Graph | Dataset]) -> Graph:
    return parsed[DESCRIPTION]  # type: ignore[return-value]


@pytest.fixture(scope="module")
def dataset_iri(description: Graph) -> URIRef:
    found = set(description.subjects(RDF.type, DCAT.Dataset)) & set(
        description.subjects(RDF.type, VOID.Dataset)
    )
    assert len(found) == 1, f"expected one dcat:Dataset that is also a void:Dataset: {found}"
    return found.pop()  # type: ignore[return-value]


@pytest.fixture(scope="module")
def store(build_dir: Path) -> ox.Store:
    """The N-Triples dump in pyoxigraph, for counting by SPARQL."""
    store = ox.Store()
    store.load(path=str(build_dir / f"{STEM}.nt"), format=ox.RdfFormat.N_TRIPLES)
    return store


@pytest.fixture(scope="module")
def riot_report(build_dir: Path) -> dict[str, int]:
    """What riot counts in every RDF file (two JVM runs for all of them)."""
    peers.require(peers.riot_missing())
    counts = peers.riot_counts([build_dir / name for name in RDF_FILES])
    return {path.name: n for path, n in counts.items()}


@pytest.fixture(scope="module")
def rebuilt_same(built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second build of the same source, same pinned time, into another folder."""
    out = tmp_path_factory.mktemp("again") / "elsewhere"
    sources = [Path(d.path) for d in built.documents]
    return build_at(sources, out, PINNED_EPOCH)


@pytest.fixture(scope="module")
def rebuilt_later(built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build of the same source one day later (same-length time stamps)."""
    out = tmp_path_factory.mktemp("later") / "build"
    sources = [Path(d.path) for d in built.documents]
    return build_at(sources, out, int(PINNED_EPOCH) + 86_400)


# -- every file parses, and the formats agree -----------------------------------------


def test_the_build_writes_every_dump_and_the_description(build_dir: Path):
    written = {p.name for p in build_dir.iterdir()}
    missing = set(RDF_FILES) - written
    assert not missing, f"not written: {sorted(missing)}"


@pytest.mark.parametrize("name", RDF_FILES)
def test_rdflib_and_pyoxigraph_parse_the_same_number_of_statements(
    name: str, build_dir: Path, parsed
):
    path = build_dir / name
    in_oxigraph = sum(1 for _ in ox.parse(path=str(path), format=OX_FORMAT[path.suffix]))
    assert count(parsed[name]) > 0
    assert in_oxigraph == count(parsed[name])


@pytest.mark.parametrize("name", [n for n in TRIPLE_DUMPS if not n.endswith(".nt")])
def test_triple_dumps_are_isomorphic_to_the_n_triples(name: str, parsed):
    assert isomorphic(parsed[name], parsed[f"{STEM}.nt"])


@pytest.mark.parametrize("name", QUAD_DUMPS)
def test_quad_dumps_have_one_graph_per_document_plus_the_vocabularies(name: str, built, parsed):
    dataset = parsed[name]
    default = dataset.graph(DATASET_DEFAULT_GRAPH_ID)
    assert len(default) == 0, "every triple belongs in a named graph"
    graphs = named_graphs(dataset)
    with_policy = {iri: g for iri, g in graphs.items() if (None, RDF.type, PG.Policy) in g}
    assert len(with_policy) == len(built.documents)
    for iri, graph in with_policy.items():
        policies = set(graph.subjects(RDF.type, PG.Policy))
        assert len(policies) == 1, f"graph {iri} holds {len(policies)} policies"
    others = {iri.rsplit("/", 1)[-1]: graphs[iri] for iri in set(graphs) - set(with_policy)}
    assert set(others) == {"vocabularies", "shared"}, f"other graphs: {sorted(others)}"
    concept_scheme = URIRef("http://www.w3.org/2004/02/skos/core#ConceptScheme")
    assert (None, RDF.type, concept_scheme) in others["vocabularies"]
    # what documents say of organisations is said once, in the shared graph, of
    # organisations the documents name, and not again in their own graphs
    described = set(others["shared"].subjects())
    assert described and described <= set(others["shared"].subjects(RDF.type, ORG.Organization))
    assert described <= {o for graph in with_policy.values() for o in graph.objects()}
    for graph in with_policy.values():
        assert not set(graph.subjects()) & described


@pytest.mark.parametrize("name", QUAD_DUMPS)
def test_union_of_the_named_graphs_is_the_turtle(name: str, parsed):
    assert isomorphic(union_of(parsed[name]), parsed[f"{STEM}.ttl"])


def test_n_quads_and_trig_hold_the_same_graphs(parsed):
    nquads, trig = (named_graphs(parsed[name]) for name in QUAD_DUMPS)
    assert set(nquads) == set(trig)
    for iri in nquads:
        assert isomorphic(nquads[iri], trig[iri]), iri


# -- independent parsers --------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in RDF_FILES if not n.endswith(".jsonld")])
def test_rapper_reads_as_many_statements_as_rdflib(name: str, build_dir: Path, parsed):
    peers.require(peers.rapper_missing())
    assert peers.rapper_count(build_dir / name) == count(parsed[name])


@pytest.mark.parametrize("name", RDF_FILES)
def test_riot_reads_as_many_statements_as_rdflib(name: str, riot_report, parsed):
    assert riot_report[name] == count(parsed[name])


def test_the_peers_report_broken_files(tmp_path: Path):
    """The wrappers fail loudly, so a green peer test means the peer really parsed."""
    broken = tmp_path / "broken.nt"
    broken.write_text("<http://example.org/s> <http://example.org/p> <not an iri> .\n")
    if peers.rapper_missing() is None:
        with pytest.raises(peers.PeerError, match=r"broken\.nt"):
            peers.rapper_count(broken)
    if peers.riot_missing() is None:
        with pytest.raises(peers.PeerError, match=r"broken\.nt"):
            peers.riot_count(broken)
    peers.require(peers.rapper_missing() or peers.riot_missing())


@pytest.mark.parametrize("suffix", [".ttl", ".nt"])
def test_line_separators_inside_literals_survive(suffix: str, tmp_path: Path):
    """U+2028 and U+0085 are line breaks to str.splitlines() but plain text in RDF."""
    from policygraph import export
    from policygraph.graph import PREFIXES

    graph = Graph()
    text = "first\u2028second\x85third\nfourth"
    graph.add((URIRef("https://example.org/s"), PG.text, Literal(text, lang="en")))
    path = tmp_path / f"odd{suffix}"
    if suffix == ".ttl":
        export.write_turtle(graph, path, PREFIXES)
    else:
        export.write_ntriples(graph, path)
    assert isomorphic(parse_rdflib(path), graph)


@pytest.mark.parametrize(
    "graph_iri",
    ["https://w3id.org/policygraph/graph/doc", "https://w3id.org/policygraph/theme/block"],
    ids=["graph written whole", "graph written with a prefix"],
)
def test_trig_made_from_turtle_is_what_the_trig_serialiser_writes(graph_iri: str):
    """A document's TriG piece is rewritten from its Turtle piece; it must be the very
    text pyoxigraph's TriG writer gives, blank nodes and odd literals included."""
    from policygraph import export

    triples = list(
        ox.parse(path=str(REPO / "build" / "policygraph.nt"), format=ox.RdfFormat.N_TRIPLES)
    )
    odd = ox.BlankNode("odd")
    triples += [
        ox.Triple(ox.NamedNode("https://example.org/s"), ox.NamedNode(str(PG.text)), odd),
        ox.Triple(
            odd, ox.NamedNode(str(PG.text)), ox.Literal('a\u2028b\x85c\n\td "e"', language="en")
        ),
    ]
    triples = export.sort_ox(triples)
    prefixes = export.used_prefixes(export.corpus_prefixes(), export._iris(triples) | {graph_iri})
    turtle = export.turtle_body(triples, prefixes)
    made = export.trig_from_turtle(turtle, graph_iri, prefixes)
    assert made == export.trig_body(triples, graph_iri, prefixes)
    assert export.trig_from_turtle("", graph_iri, prefixes) == export.trig_body(
        [], graph_iri, prefixes
    )


# -- determinism ----------------------------------------------------------------------


def test_two_builds_with_the_same_time_are_byte_identical(build_dir: Path, rebuilt_same: Path):
    first, second = files_of(build_dir), files_of(rebuilt_same)
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, f"not reproducible: {differing}"


@pytest.mark.parametrize("name", RDF_FILES)
def test_another_build_time_changes_only_the_time_stamps(name: str, parsed, rebuilt_later: Path):
    before = as_graphs(parsed[name])
    after = as_graphs(parse_rdflib(rebuilt_later / name))
    assert sorted(before) == sorted(after)
    changed = False
    for graph_name in before:
        kept_before, times_before = split_times(before[graph_name])
        kept_after, times_after = split_times(after[graph_name])
        assert isomorphic(kept_before, kept_after), f"{name} {graph_name}: more than times differ"
        changed |= times_before != times_after
    assert changed, f"{name}: no time stamp changed with the build time"


# -- the shape of each format ---------------------------------------------------------


def _runs(lines: list[str]) -> list[list[str]]:
    """The lines cut where they stop ascending: the dump's pieces, as assembled."""
    runs: list[list[str]] = [[]]
    for line in lines:
        if runs[-1] and line < runs[-1][-1]:
            runs.append([])
        runs[-1].append(line)
    return runs


@pytest.mark.parametrize("name", [f"{STEM}.nt", f"{STEM}.nq"])
def test_line_based_dumps_are_sorted_runs_without_duplicates(name: str, build_dir: Path):
    """Each piece (a document's own triples, a named graph, the shared tail) is sorted.

    The dumps are assembled from per-document pieces, so the whole file is not one
    sorted run: the N-Triples dump is the document's piece then the tail, the
    N-Quads dump one run per named graph. No line appears twice.
    """
    text = (build_dir / name).read_text(encoding="utf-8")
    assert text.endswith("\n"), f"{name} lacks a final newline"
    lines = text[:-1].split("\n")
    assert len(lines) == len(set(lines))
    runs = _runs(lines)
    if name.endswith(".nq"):
        graphs = [{line.rsplit(" ", 2)[-2] for line in run} for run in runs]
        assert all(len(g) == 1 for g in graphs), "a named graph's lines are not together"
        assert len({next(iter(g)) for g in graphs}) == len(runs)
    else:
        assert len(runs) <= 2


@pytest.mark.parametrize("name", [f"{STEM}.ttl", f"{STEM}.trig"])
def test_turtle_declares_the_vocabulary_prefixes(name: str, build_dir: Path):
    declared = declared_prefixes((build_dir / name).read_text(encoding="utf-8"))
    names = [prefix for prefix, _ in declared]
    assert len(names) == len(set(names)), f"a prefix is declared twice: {names}"
    for prefix, namespace in EXPECTED_PREFIXES.items():
        assert (prefix, namespace) in declared, f"{name} lacks @prefix {prefix}: <{namespace}>"


@pytest.mark.parametrize("name", [f"{STEM}.ttl", f"{STEM}.trig", DESCRIPTION])
def test_turtle_abbreviates_every_iri_of_a_declared_namespace(name: str, build_dir: Path):
    text = (build_dir / name).read_text(encoding="utf-8")
    namespaces = {namespace for _, namespace in declared_prefixes(text)}
    unabbreviated = sorted(
        {iri for iri in body_iris(text) for ns in namespaces if iri.startswith(ns)}
    )
    assert not unabbreviated, f"{name} spells out {unabbreviated[:5]}"


@pytest.mark.parametrize("name", [f"{STEM}.ttl", f"{STEM}.trig", DESCRIPTION])
def test_turtle_declares_only_prefixes_it_uses(name: str, build_dir: Path):
    text = (build_dir / name).read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("@prefix"))
    body = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', body)
    unused = [p for p, _ in declared_prefixes(text) if not re.search(rf"(?<![\w.:-]){p}:", body)]
    assert not unused, f"{name} declares unused prefixes {unused}"


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    assert not duplicates, f"duplicate JSON keys {duplicates} (the last silently wins)"
    return dict(pairs)


def test_the_context_file_has_no_duplicate_terms():
    json.loads(CONTEXT.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicate_keys)


def test_json_ld_carries_the_repository_context(build_dir: Path):
    document = json.loads((build_dir / f"{STEM}.jsonld").read_text(encoding="utf-8"))
    context = json.loads(CONTEXT.read_text(encoding="utf-8"))["@context"]
    assert set(document) == {"@context", "@graph"}
    assert document["@context"] == context
    assert (build_dir / CONTEXT.name).read_bytes() == CONTEXT.read_bytes()


def test_json_ld_keys_are_terms_of_the_context(build_dir: Path):
    document = json.loads((build_dir / f"{STEM}.jsonld").read_text(encoding="utf-8"))
    terms = set(document["@context"])
    keys = {key for node in document["@graph"] for key in node}
    assert not [k for k in keys if "://" in k], "full IRIs as keys"
    not_terms = sorted(k for k in keys if not k.startswith("@") and k not in terms)
    assert not not_terms, f"keys without a term in ontology/context.jsonld: {not_terms}"


def test_json_ld_round_trips_to_the_same_graph(build_dir: Path, parsed):
    text = (build_dir / f"{STEM}.jsonld").read_text(encoding="utf-8")
    again = Graph().parse(data=text, format="json-ld")
    assert isomorphic(again, parsed[f"{STEM}.nt"])


# -- the dataset description ----------------------------------------------------------


def _one(graph: Graph, subject, predicate):  # type: ignore[no-untyped-def]
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, f"{predicate}: expected one value, got {values}"
    return values[0]


def test_description_has_title_licence_and_the_pinned_issue_date(description, dataset_iri):
    title = _one(description, dataset_iri, DCTERMS.title)
    assert isinstance(title, Literal) and str(title).strip()
    assert isinstance(_one(description, dataset_iri, DCTERMS.license), URIRef)
    issued = _one(description, dataset_iri, DCTERMS.issued)
    pinned = dt.datetime.fromtimestamp(int(PINNED_EPOCH), dt.UTC).date()
    assert issued.datatype == XSD.date
    assert issued.toPython() == pinned


def test_description_counts_the_triples_of_the_n_triples_dump(
    description, dataset_iri, build_dir: Path
):
    lines = (build_dir / f"{STEM}.nt").read_text(encoding="utf-8").split("\n")
    triples = [line for line in lines if line.strip() and not line.startswith("#")]
    assert _one(description, dataset_iri, VOID.triples).toPython() == len(triples)


def test_description_has_one_distribution_per_dump(description, dataset_iri, build_dir: Path):
    distributions = list(description.objects(dataset_iri, DCAT.distribution))
    assert len(distributions) == len(DUMPS) + 1
    urls = set()
    for name in (*DUMPS, ENTAILED):
        path = build_dir / name
        matching = [
            d
            for d in distributions
            if str(_one(description, d, DCAT.downloadURL)).endswith("/" + name)
        ]
        assert len(matching) == 1, f"{name}: {len(matching)} distributions"
        distribution = matching[0]
        assert (distribution, RDF.type, DCAT.Distribution) in description
        media = str(_one(description, distribution, DCAT.mediaType))
        assert media.endswith("/" + MEDIA_TYPES[path.suffix]), f"{name}: {media}"
        size = _one(description, distribution, DCAT.byteSize)
        assert size.toPython() == path.stat().st_size, f"{name}: byteSize"
        urls.add(_one(description, distribution, DCAT.downloadURL))
    assert set(description.objects(dataset_iri, VOID.dataDump)) == urls


def test_description_names_the_policy_as_example(description, dataset_iri, store):
    policies = {row["p"].value for row in store.query(f"SELECT ?p WHERE {{ ?p a <{PG.Policy}> }}")}
    assert policies
    examples = {str(o) for o in description.objects(dataset_iri, VOID.exampleResource)}
    assert policies <= examples


def test_description_lists_the_vocabularies(description, dataset_iri):
    vocabularies = {str(o) for o in description.objects(dataset_iri, VOID.vocabulary)}
    assert {ELI, str(PG)} <= vocabularies


def test_class_partitions_count_what_the_dump_holds(description, dataset_iri, store):
    query = "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c } GROUP BY ?c"
    expected = {row["c"].value: int(row["n"].value) for row in store.query(query)}
    stated = {}
    for partition in description.objects(dataset_iri, VOID.classPartition):
        cls = str(_one(description, partition, VOID["class"]))
        stated[cls] = _one(description, partition, VOID.entities).toPython()
    assert stated == expected


# -- the committed build --------------------------------------------------------------


def recorded_epoch(folder: Path) -> int:
    """The build time recorded in ``folder/void.ttl`` (dcterms:modified), in epoch seconds."""
    graph = Graph().parse(folder / DESCRIPTION, format="turtle")
    stamps = {
        o.toPython()
        for s in graph.subjects(RDF.type, DCAT.Dataset)
        for o in graph.objects(s, DCTERMS.modified)
    }
    assert len(stamps) == 1, f"{STALE} (void.ttl records {len(stamps)} build times)"
    stamp = stamps.pop()
    assert isinstance(stamp, dt.datetime) and stamp.tzinfo, f"{STALE} (bad time {stamp!r})"
    return int(stamp.timestamp())


def test_committed_build_is_up_to_date(tmp_path: Path):
    committed = REPO / "build"
    assert (committed / DESCRIPTION).is_file(), f"{STALE} (no build/{DESCRIPTION})"
    fresh = build_at([SOURCES], tmp_path / "build", recorded_epoch(committed))
    old, new = files_of(committed), files_of(fresh)
    assert sorted(old) == sorted(new), f"{STALE} (files differ: {sorted(set(old) ^ set(new))})"
    differing = sorted(name for name in new if old[name] != new[name])
    assert not differing, f"{STALE} (content differs: {differing})"
