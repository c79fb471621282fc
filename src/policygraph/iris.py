"""Minting IRIs: stable, readable, derived from the document's identity and numbering.

Data IRIs are slash IRIs under a base the publisher sets. A resource's IRI comes
from its document's id and its printed numbering — ``…/policy/2017-…/chp_2/item_4`` —
never from its position in a file or a counter, so rebuilding, or adding documents,
renames nothing. Items sit under their chapter, so numbering that restarts in each
chapter still gives unique IRIs (the naming follows Akoma Ntoso's ``chp_``/``item_``
element ids). Vocabulary IRIs (ontology, themes) are fixed and not under the base.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from policygraph.errors import PolicyGraphError

DEFAULT_BASE = "https://w3id.org/policygraph/id/"
ONTOLOGY = "https://w3id.org/policygraph/ontology#"


def normalise_base(base: str | None) -> str:
    """Check a base IRI and make it end with a slash."""
    base = base or DEFAULT_BASE
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s<>\"{}|\\^`]+$", base):
        raise PolicyGraphError(f"--base-iri {base!r} is not an absolute http(s) IRI")
    return base if base.endswith("/") else base + "/"


class Iris:
    """The IRIs of one dataset, under one base."""

    def __init__(self, base: str | None = None):
        self.base = normalise_base(base)

    def policy(self, doc_id: str) -> str:
        return f"{self.base}policy/{doc_id}"

    def graph(self, doc_id: str) -> str:
        """The named graph holding one document's triples."""
        return f"{self.base}graph/{doc_id}"

    def vocabulary_graph(self) -> str:
        return f"{self.base}graph/vocabularies"

    def shared_graph(self) -> str:
        """The named graph describing, once, what several documents mention (organisations)."""
        return f"{self.base}graph/shared"

    def source(self, doc_id: str) -> str:
        return f"{self.base}source/{doc_id}"

    def organization(self, org_id: str) -> str:
        return f"{self.base}org/{org_id}"

    def dataset(self) -> str:
        return f"{self.base}dataset"

    def dump(self, file_name: str) -> str:
        return f"{self.base}dumps/{file_name}"

    @staticmethod
    def part(parent: str, kind: str, number: int | str) -> str:
        """A numbered part under ``parent``: ``{parent}/{kind}_{number}``."""
        return f"{parent}/{kind}_{number}"

    @staticmethod
    def child(parent: str, name: str) -> str:
        """A singular part or record under ``parent``: ``{parent}/{name}``."""
        return f"{parent}/{name}"

    def local_test(self, doc_id: str) -> Callable[[object], bool]:
        """A test for terms minted for document ``doc_id`` (its policy, parts, source, graph).

        Such resources are described by that document alone; anything else (an
        organisation, a theme) may be described by several documents.
        """
        roots = (self.policy(doc_id), self.source(doc_id), self.graph(doc_id))
        prefixes = tuple(f"{root}/" for root in roots)

        def is_local(term: object) -> bool:
            value = getattr(term, "value", None)
            if not isinstance(value, str) or type(term).__name__ == "Literal":
                return False
            if type(term).__name__ == "BlankNode":
                return True  # blank nodes never leave the graph they are in
            return value in roots or value.startswith(prefixes)

        return is_local
