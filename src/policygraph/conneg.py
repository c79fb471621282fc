"""HTTP content negotiation: which representation a client gets for its ``Accept`` header.

Follows RFC 9110 §12.5.1: each media range carries a weight (``q``, default 1, ``q=0``
means "not acceptable"); when several ranges match an offered type, the most specific one
decides its weight (``text/turtle;charset=utf-8`` > ``text/turtle`` > ``text/*`` > ``*/*``).
Among the offered types with the highest weight the server's own order breaks the tie, so
the order of ``offers`` is the server's preference. Malformed ranges are ignored rather
than failing the request, as browsers and crawlers send odd headers.

Aliases let a client that names a near-synonym (``application/json`` for JSON-LD,
``application/x-turtle`` for Turtle) still be served; the response always carries the
canonical type of what it contains.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["MediaRange", "negotiate", "parse_accept"]


@dataclass(frozen=True)
class MediaRange:
    """One entry of an ``Accept`` header."""

    type: str
    subtype: str
    params: tuple[tuple[str, str], ...]
    q: float

    def specificity(self) -> int:
        """How specific the range is: */* 0, type/* 1, type/subtype 2, with parameters 3."""
        if self.type == "*":
            return 0
        if self.subtype == "*":
            return 1
        return 3 if self.params else 2

    def matches(self, media_type: str) -> bool:
        """Whether this range covers ``media_type`` (parameters of the range are ignored
        except ``charset``, which our text types always satisfy as UTF-8)."""
        main, _, sub = media_type.partition("/")
        if self.type != "*" and self.type != main:
            return False
        if self.subtype != "*" and self.subtype != sub:
            return False
        charset = dict(self.params).get("charset")
        return charset is None or charset in ("utf-8", "utf8", "*")


def _split_params(text: str) -> list[str]:
    """Split on ';' outside double quotes (profile="a;b" is one parameter)."""
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == ";" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _parse_range(item: str) -> MediaRange | None:
    """One comma-separated entry, or None when it is not a media range."""
    pieces = _split_params(item)
    full = pieces[0].strip().lower()
    main, slash, sub = full.partition("/")
    if not slash or not main or not sub or (main == "*" and sub != "*"):
        return None
    q = 1.0
    params: list[tuple[str, str]] = []
    for piece in pieces[1:]:
        name, eq, value = piece.strip().partition("=")
        name = name.strip().lower()
        value = value.strip().strip('"')
        if not eq:
            continue
        if name == "q":
            try:
                q = float(value)
            except ValueError:
                return None
            q = min(max(q, 0.0), 1.0)
            break  # parameters after q are accept-extensions, not media-type parameters
        params.append((name, value.lower() if name == "charset" else value))
    return MediaRange(main, sub, tuple(params), q)


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header; a missing or empty header means ``*/*``."""
    if not header or not header.strip():
        return [MediaRange("*", "*", (), 1.0)]
    ranges = []
    for item in header.split(","):
        if item.strip():
            parsed = _parse_range(item)
            if parsed is not None:
                ranges.append(parsed)
    return ranges


def _weight(ranges: Sequence[MediaRange], media_type: str) -> float:
    """The q of the most specific range matching ``media_type`` (0 when none matches)."""
    best: MediaRange | None = None
    for candidate in ranges:
        if candidate.matches(media_type) and (
            best is None or candidate.specificity() > best.specificity()
        ):
            best = candidate
    return best.q if best is not None else 0.0


def negotiate(
    header: str | None,
    offers: Sequence[str],
    aliases: Mapping[str, str] | None = None,
) -> str | None:
    """The offered media type the client prefers, or None when nothing is acceptable.

    :param header: the request's ``Accept`` header (None when absent).
    :param offers: canonical media types the server can produce, in its order of preference.
    :param aliases: extra names for an offer (``{"application/json": "application/ld+json"}``);
        a client naming an alias is weighted as if it named the canonical type, unless it
        names the canonical type itself, more specifically.
    :returns: one of ``offers``.

    >>> negotiate("text/turtle;q=0.5, application/ld+json;q=0.9",
    ...           ["text/turtle", "application/ld+json"])
    'application/ld+json'
    >>> negotiate("image/png", ["text/turtle"]) is None
    True
    """
    ranges = parse_accept(header)
    synonyms: dict[str, list[str]] = {offer: [offer] for offer in offers}
    for alias, canonical in (aliases or {}).items():
        if canonical in synonyms:
            synonyms[canonical].append(alias)
    best_offer, best_q = None, 0.0
    for offer in offers:
        direct = _weight(ranges, offer)
        exact = [r for r in ranges if r.specificity() >= 2 and r.matches(offer)]
        q = direct
        if not exact:  # an alias counts only when the canonical type is not named itself
            named = [
                r.q
                for alias in synonyms[offer][1:]
                for r in ranges
                if r.specificity() >= 2 and r.matches(alias)
            ]
            if named:
                q = max(named)
        if q > best_q:
            best_offer, best_q = offer, q
    return best_offer
