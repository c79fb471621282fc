"""The dataset description: DCAT and VoID, so catalogues and crawlers can find the dumps.

Written after the dumps, because it states their sizes, and from the data itself, so
the counts it gives (triples, entities per class) are true of what was written.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

from rdflib import RDF, XSD, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, VOID

from policygraph import __version__
from policygraph.graph import PG, PREFIXES
from policygraph.iris import Iris

LICENSE = URIRef("https://creativecommons.org/publicdomain/zero/1.0/")
MEDIA_TYPES = {
    ".ttl": "text/turtle",
    ".nt": "application/n-triples",
    ".nq": "application/n-quads",
    ".trig": "application/trig",
    ".jsonld": "application/ld+json",
}
IANA = Namespace("https://www.iana.org/assignments/media-types/")


def _vocabularies(graph: Graph) -> list[str]:
    """Namespaces of the predicates and classes the data uses."""
    namespaces = set()
    for _, p, o in graph:
        terms = [p, o] if p == RDF.type else [p]
        for term in terms:
            iri = str(term)
            cut = max(iri.rfind("#"), iri.rfind("/"))
            namespaces.add(iri[: cut + 1])
    return sorted(namespaces)


def describe(
    data: Graph,
    iris: Iris,
    dumps: list[Path],
    issued: dt.datetime,
    examples: list[str],
    documents: int,
) -> Graph:
    """A DCAT/VoID description of the dataset in ``data``, published as ``dumps``."""
    g = Graph()
    g.bind("dcat", DCAT)
    g.bind("void", VOID)
    g.bind("dcterms", DCTERMS)
    g.bind("foaf", FOAF)
    g.bind("pg", PG)
    dataset = URIRef(iris.dataset())
    g.add((dataset, RDF.type, DCAT.Dataset))
    g.add((dataset, RDF.type, VOID.Dataset))
    g.add(
        (
            dataset,
            DCTERMS.title,
            Literal("policygraph knowledge graph of policy documents", lang="en"),
        )
    )
    g.add(
        (
            dataset,
            DCTERMS.description,
            Literal(
                f"{documents} government policy document(s) as linked data: structure, measures, "
                "objectives with target years, themes, and the source span of every part.",
                lang="en",
            ),
        )
    )
    g.add((dataset, DCTERMS.license, LICENSE))
    g.add((dataset, DCTERMS.issued, Literal(issued.date().isoformat(), datatype=XSD.date)))
    g.add((dataset, DCTERMS.modified, Literal(issued.isoformat(), datatype=XSD.dateTime)))
    g.add((dataset, DCTERMS.creator, Literal(f"policygraph {__version__}")))
    g.add((dataset, VOID.uriSpace, Literal(iris.base)))
    g.add((dataset, VOID.triples, Literal(len(data))))
    g.add((dataset, VOID.distinctSubjects, Literal(len(set(data.subjects())))))
    g.add((dataset, VOID.feature, URIRef("http://www.w3.org/ns/formats/Turtle")))
    for example in examples:
        g.add((dataset, VOID.exampleResource, URIRef(example)))
    for vocabulary in _vocabularies(data):
        g.add((dataset, VOID.vocabulary, URIRef(vocabulary)))
    classes = Counter(o for o in data.objects(None, RDF.type))
    for cls, count in sorted(classes.items()):
        local = str(cls).rsplit("#", 1)[-1].rsplit("/", 1)[-1]
        prefix = next((k for k, v in PREFIXES.items() if str(cls).startswith(v)), "ns")
        partition = URIRef(f"{iris.dataset()}/class/{prefix}-{local}")
        g.add((dataset, VOID.classPartition, partition))
        g.add((partition, VOID["class"], cls))
        g.add((partition, VOID.entities, Literal(count)))
    for path in sorted(dumps):
        url = URIRef(iris.dump(path.name))
        media = MEDIA_TYPES[path.suffix]
        distribution = URIRef(f"{iris.dataset()}/distribution/{path.suffix.lstrip('.')}")
        g.add((dataset, VOID.dataDump, url))
        g.add((dataset, DCAT.distribution, distribution))
        g.add((distribution, RDF.type, DCAT.Distribution))
        g.add((distribution, DCTERMS.title, Literal(f"Dump as {media}", lang="en")))
        g.add((distribution, DCAT.downloadURL, url))
        g.add((distribution, DCAT.mediaType, IANA[media]))
        g.add((distribution, DCTERMS.format, Literal(media)))
        g.add(
            (
                distribution,
                DCAT.byteSize,
                Literal(path.stat().st_size, datatype=XSD.nonNegativeInteger),
            )
        )
        g.add((distribution, DCTERMS.license, LICENSE))
    return g
