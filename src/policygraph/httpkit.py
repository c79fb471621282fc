"""The few HTTP pieces the server needs on top of WSGI: responses, request fields, a cache.

Kept framework-free on purpose: the server's contract (status codes, headers, negotiated
types) is small and spelled out here, and the WSGI application runs under any WSGI
server — ``waitress`` in ``policygraph serve``, or called in-process by tests.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

__all__ = [
    "LRUCache",
    "Response",
    "TooLarge",
    "content_type",
    "origin",
    "query_fields",
    "read_body",
    "text_response",
]

# Types whose text needs a charset parameter; the others fix UTF-8 in their own spec
# (JSON, N-Triples) or declare it inside (XML).
_CHARSET_TYPES = ("text/",)


def content_type(media_type: str) -> str:
    """The Content-Type header value: ``text/*`` types say ``charset=utf-8``."""
    if media_type.startswith(_CHARSET_TYPES) and "charset" not in media_type:
        return f"{media_type}; charset=utf-8"
    return media_type


@dataclass(frozen=True)
class Response:
    """A complete response; ``file`` streams a file from disk instead of ``body``."""

    status: int
    body: bytes = b""
    media_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    file: Path | None = None
    etag: str | None = field(default=None)

    def with_headers(self, *extra: tuple[str, str]) -> Response:
        return replace(self, headers=self.headers + tuple(extra))

    def with_etag(self) -> Response:
        """The same response with a strong ETag of its body (for caching and 304s)."""
        digest = hashlib.blake2b(self.body, digest_size=12).hexdigest()
        return replace(self, etag=f'"{digest}"')

    @property
    def status_line(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"

    def header_list(self, length: int) -> list[tuple[str, str]]:
        """All headers for start_response, Content-Type and Content-Length included."""
        headers = list(self.headers)
        if self.media_type:
            headers.append(("Content-Type", content_type(self.media_type)))
        if self.etag:
            headers.append(("ETag", self.etag))
        headers.append(("Content-Length", str(length)))
        return headers


def text_response(status: int, message: str, *headers: tuple[str, str]) -> Response:
    """A plain-text answer: one or a few lines that say what happened and what to do."""
    text = message if message.endswith("\n") else message + "\n"
    return Response(status, text.encode("utf-8"), "text/plain", tuple(headers))


def query_fields(text: str) -> dict[str, list[str]]:
    """Fields of a query string or urlencoded form; repeated fields keep every value."""
    return parse_qs(text, keep_blank_values=True, max_num_fields=1000)


class TooLarge(Exception):
    """A request body over the limit."""


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise TooLarge()
    stream = environ.get("wsgi.input")
    if stream is None or length <= 0:
        return b""
    return stream.read(length)


def origin(environ: dict[str, Any]) -> str:
    """``scheme://host[:port]`` as the client addressed the server."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ.get("SERVER_NAME", "localhost")
        port = environ.get("SERVER_PORT", "")
        default = "443" if scheme == "https" else "80"
        if port and port != default:
            host = f"{host}:{port}"
    return f"{scheme}://{host}"


class LRUCache:
    """A thread-safe least-recently-used cache bounded by the bytes of what it holds.

    The build does not change while it is served, so a rendered response stays right
    for as long as the server runs; the bound only keeps memory in check.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Response, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Response | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, response: Response) -> None:
        size = len(response.body) + 256
        if size > self.max_bytes // 8:  # one huge result must not flush everything else
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (response, size)
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    def __len__(self) -> int:
        return len(self._items)
