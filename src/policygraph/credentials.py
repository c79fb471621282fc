"""Credentials for remote SPARQL endpoints and graph stores.

Passwords never travel on the command line, where ``ps`` and shell history would show
them. They come from the environment (``POLICYGRAPH_ENDPOINT_USER`` and
``POLICYGRAPH_ENDPOINT_PASSWORD``) or, failing that, from ``~/.netrc`` (or the file
``NETRC`` names), matched on the endpoint's host name as curl and wget do. The
environment wins so that CI jobs can override a developer's ``.netrc``.
"""

from __future__ import annotations

import netrc
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from policygraph.errors import PolicyGraphError

USER_VARIABLE = "POLICYGRAPH_ENDPOINT_USER"
PASSWORD_VARIABLE = "POLICYGRAPH_ENDPOINT_PASSWORD"
NETRC_VARIABLE = "NETRC"


@dataclass(frozen=True)
class Credentials:
    """A user name and password, and where they were found (for error messages)."""

    user: str
    password: str = field(repr=False)
    source: str

    def describe(self) -> str:
        """Who we tried to log in as, without the password."""
        return f"user {self.user!r} (from {self.source})"


def credentials_for(url: str) -> Credentials | None:
    """The credentials to use for ``url``, or None when none are configured.

    :raises PolicyGraphError: when only one of the two variables is set, or the netrc
        file cannot be parsed — a half-configured login is a mistake worth reporting,
        not a reason to try anonymously.
    """
    from_env = _from_environment()
    if from_env is not None:
        return from_env
    host = urlsplit(url).hostname
    return _from_netrc(host) if host else None


def _from_environment() -> Credentials | None:
    user = os.environ.get(USER_VARIABLE)
    password = os.environ.get(PASSWORD_VARIABLE)
    if user is None and password is None:
        return None
    if not user or password is None:
        missing = PASSWORD_VARIABLE if password is None else USER_VARIABLE
        given = USER_VARIABLE if password is None else PASSWORD_VARIABLE
        raise PolicyGraphError(f"{given} is set but {missing} is not; set both or neither")
    return Credentials(user, password, "environment")


def netrc_path() -> Path:
    """The netrc file consulted: ``$NETRC`` when set, else ``~/.netrc``."""
    configured = os.environ.get(NETRC_VARIABLE)
    return Path(configured).expanduser() if configured else Path.home() / ".netrc"


def _from_netrc(host: str) -> Credentials | None:
    path = netrc_path()
    if not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except netrc.NetrcParseError as exc:
        raise PolicyGraphError(exc.msg, exc.filename or path, exc.lineno) from None
    if entry is None:
        return None
    login, _account, password = entry
    if not login:
        return None
    return Credentials(login, password or "", str(path))
