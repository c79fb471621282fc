"""Session-wide Virtuoso fixture.

Usage, either of:

* in the root ``tests/conftest.py`` (pytest only honours ``pytest_plugins``
  in the rootdir conftest)::

      pytest_plugins = ["tests.support.fixtures"]

* or explicitly in a test module (or a conftest)::

      from tests.support.fixtures import virtuoso  # noqa: F401

One server is shared per session because a fresh Virtuoso takes ~4 s to
start; tests should therefore use their own graph IRIs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.virtuoso import VIRTUOSO_BIN, VirtuosoServer, virtuoso_available


@pytest.fixture(scope="session")
def virtuoso() -> Iterator[VirtuosoServer]:
    """A started private Virtuoso, stopped and deleted after the session.

    Without Virtuoso installed the tests skip on laptops but fail on CI
    (CI=true), so a broken CI image cannot turn the suite silently green.
    """
    if not virtuoso_available():
        message = (
            f"{VIRTUOSO_BIN}/isql-vt or /etc/virtuoso-opensource-7/virtuoso.ini "
            "not found; install the Debian package virtuoso-opensource"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}", pytrace=False)
        pytest.skip(message)
    with VirtuosoServer() as server:
        yield server
