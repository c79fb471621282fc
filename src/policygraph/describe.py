"""The dataset description: DCAT and VoID, so catalogues and crawlers can find the dumps.

Written after the dumps, because it states their sizes, and from the data itself, so
the counts it gives (triples, entities per class) are true of what was written.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from rdflib import OWL, RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, VOID

from policygraph import __version__
from policygraph.graph import PREFIXES, xsd_datetime
from policygraph.iris import Iris

LICENSE = URIRef("https://creativecommons.org/publicdomain/zero/1.0/")
IANA = Namespace("https://www.iana.org/assignments/media-types/")
FORMATS = Namespace("http://www.w3.org/ns/formats/")
GZIP = IANA["application/gzip"]


class DumpFormat(NamedTuple):
    """How a dump's file extension is described: IANA media type, W3C format name, label."""

    media_type: str
    w3c_format: str
    label: str


DUMP_FORMATS = {
    ".ttl": DumpFormat("text/turtle", "Turtle", "Turtle"),
    ".nt": DumpFormat("application/n-triples", "N-Triples", "N-Triples"),
    ".nq": DumpFormat("application/n-quads", "N-Quads", "N-Quads"),
    ".trig": DumpFormat("application/trig", "TriG", "TriG"),
    ".jsonld": DumpFormat("application/ld+json", "JSON-LD", "JSON-LD"),
}
MEDIA_TYPES = {suffix: fmt.media_type for suffix, fmt in DUMP_FORMATS.items()}
# Prefixes the description itself uses, on top of the data's (for void:vocabulary).
_OWN_PREFIXES = {"dcat": str(DCAT), "void": str(VOID), "owl": str(OWL)}


def prefixes() -> dict[str, str]:
    """The prefixes to write the description with: the data's and DCAT/VoID's."""
    return {**PREFIXES, **_OWN_PREFIXES}


def namespace_of(iri: str) -> str:
    """The namespace part of a vocabulary term: up to its last ``#`` or ``/``."""
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1]


@dataclass
class DatasetStats:
    """The VoID statistics of a dataset, gathered while it was written (never re-read)."""

    triples: int
    distinct_subjects: int
    distinct_objects: int
    properties: int
    classes: Counter[str]  # class IRI -> number of its instances
    vocabularies: set[str]  # namespaces of the predicates and classes used


def _new_graph() -> Graph:
    """An empty graph bound only to our prefixes (not rdflib's long default list)."""
    g = Graph(bind_namespaces="none")
    for prefix, namespace in prefixes().items():
        g.bind(prefix, namespace)
    return g


def _partition_iri(iris: Iris, cls: URIRef) -> URIRef:
    """A readable, stable IRI for the class partition of ``cls``: ``…/class/pg-Measure``."""
    iri = str(cls)
    local = iri[len(namespace_of(iri)) :]
    prefix = next((k for k, v in sorted(PREFIXES.items()) if namespace_of(iri) == v), "ns")
    return URIRef(f"{iris.dataset()}/class/{prefix}-{local}")


def _add_statistics(g: Graph, dataset: URIRef, stats: DatasetStats, iris: Iris) -> None:
    """VoID counts: triples, distinct subjects and objects, and entities per class."""
    g.add((dataset, VOID.triples, Literal(stats.triples)))
    g.add((dataset, VOID.distinctSubjects, Literal(stats.distinct_subjects)))
    g.add((dataset, VOID.distinctObjects, Literal(stats.distinct_objects)))
    g.add((dataset, VOID.properties, Literal(stats.properties)))
    g.add((dataset, VOID.classes, Literal(len(stats.classes))))
    for iri, count in sorted(stats.classes.items()):
        cls = URIRef(iri)
        partition = _partition_iri(iris, cls)
        g.add((dataset, VOID.classPartition, partition))
        g.add((partition, VOID["class"], cls))
        g.add((partition, VOID.entities, Literal(count)))


def _add_distribution(
    g: Graph, dataset: URIRef, iris: Iris, name: str, files: Sequence[Path]
) -> None:
    """One dump as a dcat:Distribution, each of its files a void:dataDump, with real sizes.

    ``name`` is what the dump is called as one file (``policygraph.nt``); ``files`` are
    that one file, or the parts a large build splits it into, in order. VoID lists every
    part as a ``void:dataDump`` of the dataset; DCAT gives the distribution a
    ``dcat:downloadURL`` per part and their total ``dcat:byteSize``. A gzip dump
    (``policygraph.nt.gz``) has the media type of what it holds and ``dcat:compressFormat``
    gzip, as DCAT 2 describes compressed distributions.
    """
    whole = Path(name)
    compressed = whole.suffix == ".gz"
    inner = Path(whole.stem) if compressed else whole
    fmt = DUMP_FORMATS[inner.suffix]
    key = inner.suffix.lstrip(".")
    if "-" in inner.stem:  # a dump beside the data, such as policygraph-entailed.nt
        key = f"{inner.stem.split('-', 1)[1]}-{key}"
    if compressed:
        key += "-gz"
    distribution = URIRef(f"{iris.dataset()}/distribution/{key}")
    if compressed:
        g.add((distribution, DCAT.compressFormat, GZIP))
    g.add((dataset, VOID.feature, FORMATS[fmt.w3c_format]))
    g.add((dataset, DCAT.distribution, distribution))
    g.add((distribution, RDF.type, DCAT.Distribution))
    title = name if len(files) == 1 else f"{name} in {len(files)} parts"
    g.add((distribution, DCTERMS.title, Literal(f"{title} ({fmt.label})", lang="en")))
    for path in files:
        url = URIRef(iris.dump(path.name))
        g.add((dataset, VOID.dataDump, url))
        g.add((distribution, DCAT.downloadURL, url))
    g.add((distribution, DCAT.mediaType, IANA[fmt.media_type]))
    size = sum(path.stat().st_size for path in files)
    g.add((distribution, DCAT.byteSize, Literal(size, datatype=XSD.nonNegativeInteger)))
    g.add((distribution, DCTERMS.license, LICENSE))


def describe(
    stats: DatasetStats,
    iris: Iris,
    dumps: Mapping[str, Sequence[Path]],
    issued: dt.datetime,
    examples: list[str],
    documents: int,
) -> Graph:
    """A DCAT/VoID description of the dataset counted in ``stats``, published as ``dumps``
    (each dump's name as one file, and the files that hold it).

    ``issued`` is the build time (pinned by SOURCE_DATE_EPOCH for reproducible
    builds); ``examples`` are IRIs of typical resources (the policies).
    """
    g = _new_graph()
    dataset = URIRef(iris.dataset())
    g.add((dataset, RDF.type, DCAT.Dataset))
    g.add((dataset, RDF.type, VOID.Dataset))
    title = "policygraph knowledge graph of policy documents"
    g.add((dataset, DCTERMS.title, Literal(title, lang="en")))
    description = (
        f"{documents} government policy document(s) as linked data: structure, measures, "
        "objectives with target years, themes, and the source span of every part."
    )
    g.add((dataset, DCTERMS.description, Literal(description, lang="en")))
    g.add((dataset, DCTERMS.license, LICENSE))
    g.add((dataset, DCTERMS.issued, Literal(issued.date().isoformat(), datatype=XSD.date)))
    g.add(
        (
            dataset,
            DCTERMS.modified,
            Literal(xsd_datetime(issued), datatype=XSD.dateTime, normalize=False),
        )
    )
    g.add((dataset, DCTERMS.creator, Literal(f"policygraph {__version__}")))
    g.add((dataset, VOID.uriSpace, Literal(iris.base)))
    for example in examples:
        g.add((dataset, VOID.exampleResource, URIRef(example)))
    for vocabulary in sorted(stats.vocabularies):
        g.add((dataset, VOID.vocabulary, URIRef(vocabulary)))
    _add_statistics(g, dataset, stats, iris)
    for name in sorted(dumps):
        _add_distribution(g, dataset, iris, name, dumps[name])
    return g
