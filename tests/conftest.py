"""Shared fixtures: one build of the bundled document per test session, and servers.

The build is made once, into a temporary folder, with the time pinned through
SOURCE_DATE_EPOCH, so tests that read it see the same bytes as any rebuild.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.support.fixtures"]

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "sources"
BUNDLED = SOURCES / "quality-improving-action-2017.txt"
PINNED_EPOCH = "1800000000"


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory):
    """A build cache of this test session's own, in place of the user's
    ``~/.cache/policygraph`` (``$XDG_CACHE_HOME``), for builds here and in the CLI
    processes tests start.

    Builds without ``--cache-dir`` use that cache, and a test that interrupts a build of
    200 documents after 3 s failed once an earlier run had cached those documents: the
    build was over before the interrupt. Every session now starts as a fresh machine
    does, and leaves the user's cache alone.
    """
    folder = tmp_path_factory.mktemp("xdg-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(folder))
    yield folder
    patch.undo()


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory):
    """The bundled document built into a temporary folder (a BuildResult)."""
    from policygraph.pipeline import build

    out = tmp_path_factory.mktemp("build") / "build"
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = PINNED_EPOCH
    try:
        return build([BUNDLED], out=out)
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


@pytest.fixture(scope="session")
def build_dir(built) -> Path:
    """The folder of the session's build."""
    return Path(built.out)


@pytest.fixture(scope="session")
def graph(build_dir: Path):
    """The session's build as one rdflib graph (from the Turtle dump)."""
    from rdflib import Graph

    return Graph().parse(build_dir / "policygraph.ttl", format="turtle")


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no endpoint credentials and a HOME without a .netrc.

    Subprocess tests of remote endpoints pass it, so a developer's own credentials or
    proxy settings never reach the local test servers.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("POLICYGRAPH_ENDPOINT_") and k != "NETRC"
    }
    env["HOME"] = str(tmp_path)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env
