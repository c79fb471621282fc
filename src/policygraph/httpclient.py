"""A small HTTP client for graph stores: keep-alive, Basic and Digest auth, plain errors.

Why not urllib: its digest handler answers every request's 401 challenge afresh, so each
chunk of a load would be sent twice, and after a wrong password it retries up to five
times. Graph stores (Virtuoso's ``-auth`` endpoints use Digest) accept a nonce for many
requests, so this client remembers the last challenge and authenticates up front, with
a counted nonce (RFC 7616). Only the very first request of a session may travel twice.

Every failure a user can cause — a host that does not answer, a refused password, a
dropped connection — becomes an :class:`HttpError` with one readable line. Statuses
other than 401 are returned, not raised: callers decide what 404 or 405 means.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import re
import secrets
import socket
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from policygraph import __version__
from policygraph.credentials import NETRC_VARIABLE, PASSWORD_VARIABLE, USER_VARIABLE, Credentials
from policygraph.errors import PolicyGraphError

USER_AGENT = f"policygraph/{__version__}"

# Errors that mean a kept-alive connection was closed by the server while idle; the
# request is then repeated once on a fresh connection.
_STALE_CONNECTION = (
    http.client.RemoteDisconnected,
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
)
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_AUTH_ITEM = re.compile(
    rf'\s*,?\s*(?P<key>{_TOKEN})(?:\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|[^,\s]*))?'
)
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


class HttpError(PolicyGraphError):
    """A request that could not be completed; the message is one line for users."""


class AuthenticationError(HttpError):
    """The server wants credentials we do not have, or refused the ones we sent."""


@dataclass
class Response:
    """What the server answered; the body is read completely."""

    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text_excerpt(self, limit: int = 200) -> str:
        """The body as one short line: servers explain failures there (Virtuoso does)."""
        text = self.body.decode("utf-8", errors="replace")
        text = re.sub(r"<[^>]+>", " ", text)  # HTML error pages
        text = " ".join(text.split())
        return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Challenge:
    """One ``WWW-Authenticate`` challenge: its scheme and parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)


def parse_challenges(values: list[str]) -> list[Challenge]:
    """Split ``WWW-Authenticate`` header values into challenges (RFC 7235 §4.1).

    A bare token starts a new challenge; ``key=value`` pairs belong to the current one.
    Several challenges may share one header line, separated by commas.
    """
    found: list[Challenge] = []
    for value in values:
        for match in _AUTH_ITEM.finditer(value):
            key, raw = match.group("key"), match.group("value")
            if raw is None:
                found.append(Challenge(key.lower()))
            elif found:
                if raw.startswith('"'):
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                found[-1].params[key.lower()] = raw
    return found


def url_origin(url: str) -> str:
    """``scheme://host:port/path`` without query or user info: safe to print."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def check_url(url: str, option: str) -> str:
    """Refuse URLs we cannot use, naming the option, before anything is sent.

    User info in a URL is refused: it would put a password on the command line.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PolicyGraphError(f"{option} {url!r} is not an http:// or https:// URL")
    if parts.username is not None or parts.password is not None:
        raise PolicyGraphError(
            f"{option} must not carry a user name or password; set {USER_VARIABLE} and "
            f"{PASSWORD_VARIABLE} or use ~/.netrc"
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise PolicyGraphError(f"{option} {url!r} has an invalid port") from None
    return url


class HttpClient:
    """Sends requests over kept-alive connections, authenticating when asked.

    :param credentials: used only when a server answers 401; None means anonymous.
    :param timeout: seconds to wait for a connection or for each read from it.
    """

    def __init__(self, credentials: Credentials | None, timeout: float = 300.0) -> None:
        self.credentials = credentials
        self.timeout = timeout
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self._challenge: Challenge | None = None
        self._nonce_count = 0

    def close(self) -> None:
        """Close every open connection."""
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """Send one request; answer a 401 once with fresh credentials.

        :raises AuthenticationError: when a 401 remains after authenticating.
        :raises HttpError: when the server cannot be reached or drops the connection.
        """
        sent_auth = False
        for attempt in (1, 2):
            header = self._authorization(method, url)
            sent_auth = header is not None
            all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
            if header:
                all_headers["Authorization"] = header
            response = self._send(method, url, body, all_headers)
            if response.status != 401 or self.credentials is None:
                break
            self._learn_challenge(response, url)
            if attempt == 2:
                break
        if response.status == 401:
            raise self._auth_error(url, sent_auth)
        return response

    # -- authentication ----------------------------------------------------

    def _learn_challenge(self, response: Response, url: str) -> None:
        """Remember the strongest challenge we can answer (Digest before Basic)."""
        challenges = parse_challenges(response.headers.get_all("WWW-Authenticate") or [])
        usable = [c for c in challenges if c.scheme == "digest" and _digest_usable(c)]
        usable += [c for c in challenges if c.scheme == "basic"]
        if not usable:
            offered = ", ".join(c.scheme for c in challenges) or "none"
            raise AuthenticationError(
                f"{url_origin(url)} asks for an authentication scheme policygraph does not "
                f"support (offered: {offered}; supported: Basic, Digest)"
            )
        self._challenge = usable[0]
        self._nonce_count = 0

    def _authorization(self, method: str, url: str) -> str | None:
        """The Authorization header for this request, once a challenge is known."""
        if self.credentials is None or self._challenge is None:
            return None
        if self._challenge.scheme == "basic":
            pair = f"{self.credentials.user}:{self.credentials.password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        self._nonce_count += 1
        return digest_authorization(
            self._challenge, self.credentials, method, url, self._nonce_count
        )

    def _auth_error(self, url: str, sent_auth: bool) -> AuthenticationError:
        where = url_origin(url)
        if self.credentials is None or not sent_auth:
            return AuthenticationError(
                f"{where} requires a login (HTTP 401); set {USER_VARIABLE} and "
                f"{PASSWORD_VARIABLE}, or add the host to ~/.netrc (or ${NETRC_VARIABLE})"
            )
        return AuthenticationError(
            f"{where} refused the login of {self.credentials.describe()} (HTTP 401): "
            "wrong user name or password"
        )

    # -- transport ---------------------------------------------------------

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Response:
        """One exchange; a connection closed while idle is reopened once."""
        parts = urlsplit(url)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        key = (parts.scheme, parts.hostname or "", parts.port or _default_port(parts.scheme))
        for fresh in (False, True):
            reused = key in self._connections
            connection = self._connection(key)
            try:
                connection.request(method, target, body=body, headers=headers)
                raw = connection.getresponse()
                data = raw.read()
            except _STALE_CONNECTION as exc:
                self._drop(key)
                if reused and not fresh:
                    continue
                raise HttpError(f"{url_origin(url)}: {_describe(exc)}") from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop(key)
                raise HttpError(f"{url_origin(url)}: {_describe(exc)}") from None
            if raw.will_close:
                self._drop(key)
            return Response(raw.status, raw.reason, raw.headers, data)
        raise AssertionError("unreachable")  # pragma: no cover

    def _connection(self, key: tuple[str, str, int]) -> http.client.HTTPConnection:
        connection = self._connections.get(key)
        if connection is None:
            scheme, host, port = key
            if scheme == "https":
                connection = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
            self._connections[key] = connection
        return connection

    def _drop(self, key: tuple[str, str, int]) -> None:
        connection = self._connections.pop(key, None)
        if connection is not None:
            connection.close()


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _describe(exc: BaseException) -> str:
    """A few words on why a connection failed, for the one-line error."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running, and is the port right?)"
    if isinstance(exc, socket.gaierror):
        return "unknown host name"
    if isinstance(exc, TimeoutError):
        return "no answer before the timeout"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without answering"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return "the connection was dropped by the server"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, http.client.HTTPException):
        return f"broken HTTP answer ({type(exc).__name__})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _digest_usable(challenge: Challenge) -> bool:
    """Digest challenges we can answer: known algorithm, qop absent or 'auth'."""
    algorithm = challenge.params.get("algorithm", "MD5").upper().removesuffix("-SESS")
    qops = _qop_options(challenge)
    return _HASHES.get(algorithm) is not None and (not qops or "auth" in qops)


def _qop_options(challenge: Challenge) -> list[str]:
    return [q.strip() for q in challenge.params.get("qop", "").split(",") if q.strip()]


def digest_authorization(
    challenge: Challenge,
    credentials: Credentials,
    method: str,
    url: str,
    count: int,
    cnonce: str | None = None,
) -> str:
    """The Digest ``Authorization`` value for one request (RFC 7616 §3.4).

    ``cnonce`` is random unless given (tests check the RFC's worked examples).
    """
    params = challenge.params
    algorithm = params.get("algorithm", "MD5")
    base = algorithm.upper().removesuffix("-SESS")
    hash_function = _HASHES[base]

    def digest(text: str) -> str:
        return hash_function(text.encode("utf-8")).hexdigest()

    parts = urlsplit(url)
    uri = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    cnonce = cnonce or secrets.token_hex(8)
    ha1 = digest(f"{credentials.user}:{realm}:{credentials.password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = digest(f"{ha1}:{nonce}:{cnonce}")
    ha2 = digest(f"{method}:{uri}")
    fields = {"username": credentials.user, "realm": realm, "nonce": nonce, "uri": uri}
    if _qop_options(challenge):
        nc = f"{count:08x}"
        fields["response"] = digest(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        unquoted = {"qop": "auth", "nc": nc}
        fields["cnonce"] = cnonce
    else:
        fields["response"] = digest(f"{ha1}:{nonce}:{ha2}")
        unquoted = {}
    if "opaque" in params:
        fields["opaque"] = params["opaque"]
    items = [f'{key}="{_quote(value)}"' for key, value in fields.items()]
    items += [f"{key}={value}" for key, value in unquoted.items()]
    items.append(f"algorithm={algorithm}")
    return "Digest " + ", ".join(items)


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
