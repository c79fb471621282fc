"""The theme→SDG mapping table, the shipped goals and targets, and the links they imply.

Expected values come from the data files read independently of ``policygraph.sdg`` (the
table with the csv module, the goals and targets with rdflib) and from the bundled
document's item headings, read by hand: item 5 "Promote the quality upgrading of
consumer goods", item 6 "Improve the competitiveness of equipment manufacturing" and
item 7 "Improve the supply levels of raw material" are about kinds of industry, which
the table maps to target 9.2 (closeMatch); item 14 "Vitalize innovation of quality" is
about innovation (closeMatch 9.5); item 25 "Improve the quality-related talent
education and cultivation system" is about talent (closeMatch 4.4).
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import RDF, Graph, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import SKOS

from policygraph.errors import InputError
from tests.conftest import BUNDLED, REPO

PG = Namespace("https://w3id.org/policygraph/ontology#")
SDG = Namespace("http://metadata.un.org/sdg/")
SDGO = Namespace("http://metadata.un.org/sdg/ontology#")
THEME = Namespace("https://w3id.org/policygraph/theme/")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
TABLE = REPO / "vocab" / "theme-sdg.sssom.tsv"
SDG_FILE = REPO / "vocab" / "sdg.ttl"
MAPPING_PREDICATES = {SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.relatedMatch}
DERIVING = {"skos:exactMatch", "skos:closeMatch", "skos:broadMatch"}


# -- the table, read without policygraph ------------------------------------------------


def table_rows() -> list[tuple[int, dict[str, str]]]:
    """The table's rows with their line numbers, read with the csv module."""
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    body = [(n, line) for n, line in enumerate(lines, start=1) if not line.startswith("#")]
    header = body[0][1].split("\t")
    rows = csv.DictReader((line for _, line in body[1:]), fieldnames=header, delimiter="\t")
    return [(n, row) for (n, _), row in zip(body[1:], rows, strict=True)]


def curie_map() -> dict[str, str]:
    lines = TABLE.read_text(encoding="utf-8").splitlines()
    start = lines.index("# curie_map:") + 1
    pairs = {}
    for line in lines[start:]:
        if not line.startswith("#   "):
            break
        prefix, _, iri = line[4:].partition(": ")
        pairs[prefix] = iri
    return pairs


def expand(curie: str) -> URIRef:
    prefix, _, local = curie.partition(":")
    return URIRef(curie_map()[prefix] + local)


@pytest.fixture(scope="module")
def shipped() -> Graph:
    return Graph().parse(SDG_FILE, format="turtle")


def test_the_table_parses_and_matches_what_the_csv_module_reads():
    from policygraph.sdg import read_mappings

    mapping_set = read_mappings()
    rows = table_rows()
    assert len(rows) >= 20
    assert [m.line for m in mapping_set.rows] == [n for n, _ in rows]
    for mapping, (_, row) in zip(mapping_set.rows, rows, strict=True):
        assert mapping.subject == expand(row["subject_id"])
        assert mapping.obj == expand(row["object_id"])
        assert mapping.confidence == float(row["confidence"])
    assert str(mapping_set.iri) == "https://w3id.org/policygraph/mapping/theme-sdg"
    assert mapping_set.metadata["license"].startswith("https://creativecommons.org/")


def test_every_row_names_a_goal_or_target_of_the_shipped_file(shipped: Graph):
    for line, row in table_rows():
        obj = expand(row["object_id"])
        types = set(shipped.objects(obj, RDF.type))
        assert types & {SDGO.Goal, SDGO.Target}, f"line {line}: {obj}"
        assert row["object_label"] == str(shipped.value(obj, SKOS.prefLabel)), f"line {line}"
        assert row["predicate_id"] in {"skos:" + p.fragment for p in MAPPING_PREDICATES}
        assert row["mapping_justification"] == "semapv:ManualMappingCuration"
        assert 0 <= float(row["confidence"]) <= 1


def test_every_row_names_a_theme_of_the_scheme():
    themes = Graph().parse(REPO / "vocab" / "themes.ttl", format="turtle")
    for line, row in table_rows():
        assert (expand(row["subject_id"]), RDF.type, PG.Theme) in themes, f"line {line}"


def test_the_shipped_goals_and_targets_are_shaped_as_the_un_publishes_them(shipped: Graph):
    goals = set(shipped.subjects(RDF.type, SDGO.Goal))
    targets = set(shipped.subjects(RDF.type, SDGO.Target))
    assert goals and targets
    for node in goals | targets:
        code = str(node).removeprefix(str(SDG))
        assert str(shipped.value(node, SKOS.notation)) == code
        label = shipped.value(node, SKOS.prefLabel)
        assert label.language == "en" and not str(label).endswith(".")
    for target in targets:
        goal = shipped.value(target, SDGO.isTargetOf)
        assert goal in goals, target
        assert str(target).removeprefix(str(SDG)).split(".")[0] == str(goal).removeprefix(str(SDG))
    # Official texts, checked against resolution A/RES/70/1 by hand for two of them.
    assert str(shipped.value(SDG["9"], SKOS.prefLabel)) == (
        "Build resilient infrastructure, promote inclusive and sustainable industrialization "
        "and foster innovation"
    )
    assert str(shipped.value(SDG["9.5"], SKOS.prefLabel)).startswith(
        "Enhance scientific research, upgrade the technological capabilities of industrial "
        "sectors in all countries"
    )


def test_the_rdf_from_the_table_is_what_the_table_says():
    from policygraph.sdg import mapping_graph

    expected = Graph()
    for _, row in table_rows():
        expected.add(
            (expand(row["subject_id"]), expand(row["predicate_id"]), expand(row["object_id"]))
        )
    produced = Graph()
    for triple in mapping_graph():
        if triple[1] in MAPPING_PREDICATES:
            produced.add(triple)
    assert isomorphic(produced, expected)


def test_the_build_publishes_the_mappings_and_the_goals(graph: Graph):
    for _, row in table_rows():
        triple = (expand(row["subject_id"]), expand(row["predicate_id"]), expand(row["object_id"]))
        assert triple in graph
    assert (SDG["9.5"], RDF.type, SDGO.Target) in graph


# -- derived links ----------------------------------------------------------------------


def item(g: Graph, number: int) -> URIRef:
    (node,) = (s for s in g.subjects(ELI.number, None) if str(g.value(s, ELI.number)) == str(number)
               and (s, RDF.type, PG.Measure) in g)  # fmt: skip
    return node


def derived(g: Graph, measure: URIRef) -> set[URIRef]:
    return set(g.objects(measure, PG.derivedSdgTarget)) | set(g.objects(measure, PG.derivedSdgGoal))


def test_measures_get_the_targets_their_headings_imply(graph: Graph):
    expected = {
        5: {SDG["9.2"]},
        6: {SDG["9.2"]},
        7: {SDG["9.2"]},
        14: {SDG["9.5"]},
        25: {SDG["4.4"]},
    }
    for number, sdgs in expected.items():
        assert derived(graph, item(graph, number)) == sdgs, number
    linked = {m for m in graph.subjects(RDF.type, PG.Measure) if derived(graph, m)}
    assert linked == {item(graph, n) for n in expected}


def test_derived_links_follow_the_table_computed_independently(graph: Graph):
    """Each measure's themes, with their broader themes, through the deriving rows."""
    themes = Graph().parse(REPO / "vocab" / "themes.ttl", format="turtle")
    rows = [row for _, row in table_rows() if row["predicate_id"] in DERIVING]
    for measure in graph.subjects(RDF.type, PG.Measure):
        own = set(graph.objects(measure, PG.theme))
        reach = own | {b for t in own for b in themes.transitive_objects(t, SKOS.broader)}
        expected = {expand(r["object_id"]) for r in rows if expand(r["subject_id"]) in reach}
        assert derived(graph, measure) == expected, measure


def test_related_matches_yield_no_links(graph: Graph):
    """Food is mapped only by relatedMatch; the measure on food gets no SDG link."""
    food = [m for m in graph.subjects(PG.theme, THEME.food)]
    assert food
    for measure in food:
        assert not derived(graph, measure) - {SDG["9.2"]}  # a food measure may also be industry


def test_each_derived_link_has_its_record(graph: Graph):
    mapping_set = URIRef("https://w3id.org/policygraph/mapping/theme-sdg")
    measure = item(graph, 14)
    record = URIRef(f"{measure}/sdg/9.5")
    assert (measure, PG.sdgLink, record) in graph
    assert (record, RDF.type, PG.SdgLink) in graph
    assert graph.value(record, PG.linkedSdg) == SDG["9.5"]
    assert set(graph.objects(record, PG.viaTheme)) == {
        THEME.innovation,
        THEME["science-technology"],
    }
    assert set(graph.objects(record, PG.mappingPredicate)) == {SKOS.closeMatch}
    confidences = [float(r["confidence"]) for _, r in table_rows() if r["object_id"] == "sdg:9.5"]
    assert float(graph.value(record, PG.confidence)) == max(confidences)
    assert graph.value(record, URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")) == mapping_set
    assert graph.value(record, PG.derivation) == PG.ThemeSdgMappingDerivation
    assert (mapping_set, RDF.type, PG.MappingSet) in graph


def test_the_build_reports_the_links(built):
    counts = built.sdg_links
    assert len(counts.measures) == 5
    assert counts.targets == {str(SDG["9.2"]), str(SDG["9.5"]), str(SDG["4.4"])}
    assert counts.goals == set()
    assert "5 measures → 3 SDG targets" in counts.text()


# -- a broken table ---------------------------------------------------------------------


@pytest.fixture
def data_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A private copy of the data folders that the code reads instead of the repository's."""
    from policygraph import resources

    root = tmp_path / "data"
    for name in ("ontology", "shapes", "vocab", "queries", "sources"):
        shutil.copytree(REPO / name, root / name)
    _clear_caches()
    monkeypatch.setattr(resources, "data_root", lambda: root)
    yield root
    monkeypatch.undo()
    _clear_caches()


def _clear_caches() -> None:
    from policygraph import sdg, shacl, vocab

    for function in (sdg.mappings, sdg.mapping_graph, sdg._broader_themes, vocab.themes,
                     shacl.vocabulary_graph, shacl._reference_graph, shacl.shapes_graph,
                     shacl.ontology_graph):  # fmt: skip
        function.cache_clear()


def _break_row(root: Path, old: str, new: str) -> int:
    """Change the first row of the copied table that holds ``old``; return its line."""
    table = root / "vocab" / TABLE.name
    lines = table.read_text(encoding="utf-8").split("\n")
    number = next(
        n for n, line in enumerate(lines, start=1) if old in line and not line.startswith("#")
    )
    lines[number - 1] = lines[number - 1].replace(old, new, 1)
    table.write_text("\n".join(lines), encoding="utf-8")
    return number


def test_an_unknown_target_fails_the_build_naming_file_and_line(data_copy: Path, tmp_path: Path):
    from policygraph.cli import main
    from policygraph.pipeline import build

    line = _break_row(data_copy, "\tsdg:9.5\t", "\tsdg:9.99\t")
    with pytest.raises(InputError) as caught:
        build([BUNDLED], out=tmp_path / "out")
    assert caught.value.path == str(data_copy / "vocab" / TABLE.name)
    assert caught.value.line == line
    assert "sdg:9.99 is not a goal or target of vocab/sdg.ttl" in str(caught.value)
    assert not (tmp_path / "out").exists()
    result = CliRunner().invoke(main, ["build", str(BUNDLED), "-o", str(tmp_path / "cli")])
    assert result.exit_code == 2
    assert f"{TABLE.name}:{line}: sdg:9.99 is not a goal or target" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("skos:closeMatch", "skos:sameAs", "is not one of"),
        ("theme:innovation", "theme:no-such-theme", "is not a theme"),
        ("\t0.6\t", "\t1.6\t", "is not a number from 0 to 1"),
        ("\tsdg:9.5\t", "\tunknown:9.5\t", "is not a CURIE"),
    ],
)
def test_other_bad_rows_are_named_by_line(data_copy: Path, old: str, new: str, words: str):
    from policygraph.sdg import read_mappings

    line = _break_row(data_copy, old, new)
    with pytest.raises(InputError) as caught:
        read_mappings(data_copy / "vocab" / TABLE.name)
    assert caught.value.line == line and words in caught.value.message, str(caught.value)


# -- shapes -----------------------------------------------------------------------------


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    copy += graph
    return copy


def test_shapes_catch_a_mapping_to_an_unknown_target(graph: Graph):
    from policygraph.shacl import validate_graph

    broken = _copy(graph)
    broken.add((THEME.innovation, SKOS.closeMatch, SDG["9.99"]))
    report = validate_graph(broken)
    assert not report.conforms
    assert [(r.focus, r.value) for r in report.results] == [
        (str(THEME.innovation), f"<{SDG['9.99']}>")
    ]
    assert "shipped in vocab/sdg.ttl" in report.results[0].message


def test_shapes_catch_a_mapping_to_another_dataset(graph: Graph):
    from policygraph.shacl import validate_graph

    broken = _copy(graph)
    broken.add((THEME.education, SKOS.exactMatch, URIRef("https://example.org/education")))
    report = validate_graph(broken)
    assert [r.focus for r in report.results] == [str(THEME.education)]


def test_shapes_catch_an_incomplete_record(graph: Graph):
    from policygraph.shacl import validate_graph

    broken = _copy(graph)
    record = URIRef(f"{item(broken, 14)}/sdg/9.5")
    broken.remove((record, PG.derivation, None))
    broken.add((record, PG.mappingPredicate, SKOS.relatedMatch))
    report = validate_graph(broken)
    shapes = sorted(r.shape.rsplit("#", 1)[1] for r in report.results)
    assert shapes == ["SdgLinkMethod", "SdgLinkPredicate"], report.text()


def test_the_named_query_lists_the_links(build_dir: Path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "policygraph", "query", "sdg-links", "-d", str(build_dir),
         "-f", "csv"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(result.stdout.splitlines()))
    found = {(int(r["item"]), r["code"]) for r in rows}
    assert found == {(5, "9.2"), (6, "9.2"), (7, "9.2"), (14, "9.5"), (25, "4.4")}
    assert {r["via"] for r in rows if r["item"] == "14"} == {
        str(THEME.innovation),
        str(THEME["science-technology"]),
    }
