"""Independent RDF parsers the tests check every output with: ``rapper`` and Jena's ``riot``.

Two parsers that share no code with rdflib or pyoxigraph, so a defect that our own
stack writes and reads back consistently (and so hides from round-trip tests) still
shows up. Both come from Debian: ``raptor2-utils`` and ``libapache-jena-java``
(``scripts/install-system-deps`` installs them).

Findings on this machine (Debian 12, Jena 4.5.0, raptor 2.0.15), established by
trying rather than from the manual:

* Debian ships Jena's jars in ``/usr/share/java`` but no ``riot`` launcher; the
  command is the main class ``riotcmd.riot`` in ``jena-cmds.jar``.
* ``java -cp '/usr/share/java/*'`` does not start: that folder holds both
  ``log4j-over-slf4j`` and ``slf4j-log4j12`` and SLF4J refuses the pair. So the
  class path names Jena's jars and their dependencies one by one (``JENA_JARS``),
  with ``slf4j-simple`` as the logging binding so errors reach stderr.
* Debian's jena-core relocates Jena's shaded Xerces classes from
  ``org.apache.jena.ext.xerces`` to the package ``xerces`` but leaves the message
  bundles at the old path. The regular-expression engine then cannot load
  ``xerces/impl/xpath/regex/message.properties`` while building the XSD datatypes,
  and every command dies at start-up with ``ExceptionInInitializerError ... internal
  error``. Copying each ``org/apache/jena/ext/xerces/**.properties`` entry of the
  jar to ``xerces/**`` in a private folder put first on the class path fixes it
  (only the regex bundle is needed to start; the others format datatype error
  messages). Nothing under ``/usr/share`` is changed.
* Jena 4.5 reads JSON-LD with Titanium by default, which needs a ``jakarta.json``
  implementation that Debian does not package (``libjsonp2-java`` is the API only):
  it fails with ``LOADING_DOCUMENT_FAILED``. The JSON-LD 1.0 reader (jsonld-java,
  ``--syntax=JSONLD10``) works once ``httpclient-cache`` and ``jcl-over-slf4j`` are
  on the class path; our JSON-LD uses only 1.0 features and an inline context.
* ``riot --count`` prints ``FILE : Triples = 2,570`` (or ``Quads``) on stderr and
  exits 1 on any error *or warning* (e.g. a literal not valid for its datatype).
* ``rapper -c`` prints ``rapper: Parsing returned N triples`` on stderr, also for
  N-Quads and TriG (where it counts quads); it reports problems as
  ``rapper: Error - …`` / ``rapper: Warning - …`` and cannot read JSON-LD.
* A JVM start costs about 1.5 s here, so ``riot_counts`` parses many files per run.

Usable outside the tests: ``python tests/support/peers.py riot ARGS…`` runs riot
with the class path and resources set up (``scripts/riot`` wraps it).
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

JAVA_DIR = Path(os.environ.get("POLICYGRAPH_JAVA_DIR", "/usr/share/java"))
RIOT_MAIN = "riotcmd.riot"
# Jena's command-line modules and what they load, in Debian's unversioned jar names.
JENA_JARS = (
    "jena-cmds",
    "jena-arq",
    "jena-core",
    "jena-base",
    "jena-iri",
    "dexx.collection",
    "commons-cli",
    "commons-codec",
    "commons-compress",
    "commons-csv",
    "commons-io",
    "commons-lang3",
    "gson",
    "guava",
    "httpclient",
    "httpclient-cache",
    "httpcore",
    "jackson-core",
    "jackson-databind",
    "jackson-annotations",
    "jakarta.json-api",
    "jsonld-java",
    "titanium-json-ld",
    "thrift",
    "protobuf",
    "slf4j-api",
    "slf4j-simple",
    "jcl-over-slf4j",
)
_RELOCATED_FROM = "org/apache/jena/ext/xerces/"
_RELOCATED_TO = "xerces/"
_RELOCATED_PROBE = "xerces/impl/dv/SchemaDVFactory.class"

# rapper's input parser names; JSON-LD has none.
RAPPER_SYNTAX = {
    ".ttl": "turtle",
    ".nt": "ntriples",
    ".nq": "nquads",
    ".trig": "trig",
}
# riot guesses the syntax from the extension, except JSON-LD (see the module docstring).
RIOT_SYNTAX = {".jsonld": "JSONLD10"}

_RAPPER_COUNT = re.compile(r"Parsing returned (\d+) (?:triple|triples)\b")
_RIOT_COUNT = re.compile(r"^(?P<name>\S+) : (?:Triples|Quads) = (?P<count>[\d,]+)\s*$", re.M)


class PeerError(RuntimeError):
    """An independent parser refused a file, or could not be run."""


def in_ci() -> bool:
    """Whether a missing peer must fail the run (CI=true) rather than skip."""
    return os.environ.get("CI") == "true"


# -- rapper ---------------------------------------------------------------------------


def rapper_missing() -> str | None:
    """Why rapper cannot run here, or None when it can."""
    if shutil.which("rapper") is None:
        return "rapper not found; install the Debian package raptor2-utils"
    return None


def rapper_count(path: Path | str, syntax: str | None = None) -> int:
    """The number of triples (quads for N-Quads/TriG) rapper parses from ``path``.

    :param syntax: a rapper input name (``turtle``, ``ntriples``, ``nquads``,
        ``trig``); by default chosen from the file's extension.
    :raises PeerError: when rapper exits non-zero, reports an error or a warning,
        or prints no count.
    """
    path = Path(path)
    syntax = syntax or RAPPER_SYNTAX.get(path.suffix)
    if syntax is None:
        raise PeerError(f"{path}: rapper has no parser for {path.suffix!r} files")
    done = subprocess.run(
        ["rapper", "--input", syntax, "--count", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [
        line for line in done.stderr.splitlines() if re.search(r"\b(Error|Warning)\b", line)
    ]
    found = _RAPPER_COUNT.search(done.stderr)
    if done.returncode != 0 or problems or found is None:
        raise PeerError(
            f"rapper -i {syntax} {path} failed (exit {done.returncode}):\n"
            + (done.stderr.strip() or done.stdout.strip())
        )
    return int(found.group(1))


# -- riot -----------------------------------------------------------------------------


def _jar(name: str) -> Path:
    return JAVA_DIR / f"{name}.jar"


def riot_missing() -> str | None:
    """Why riot cannot run here, or None when it can."""
    if shutil.which("java") is None:
        return "java not found; install the Debian package default-jre-headless"
    missing = [_jar(name).name for name in JENA_JARS if not _jar(name).is_file()]
    if missing:
        return (
            f"Jena jars missing in {JAVA_DIR}: {', '.join(missing)}; "
            "install the Debian package libapache-jena-java"
        )
    return None


def write_xerces_resources(folder: Path) -> Path:
    """Copy jena-core's Xerces message bundles to the package its classes moved to.

    Writes ``xerces/**.properties`` under ``folder`` (which goes first on the class
    path) when jena-core has the relocated classes without their bundles; writes
    nothing for a jar built without the relocation. Returns ``folder``.
    """
    with zipfile.ZipFile(_jar("jena-core")) as jar:
        names = set(jar.namelist())
        if _RELOCATED_PROBE not in names:
            return folder
        for name in sorted(names):
            if not (name.startswith(_RELOCATED_FROM) and name.endswith(".properties")):
                continue
            target_name = _RELOCATED_TO + name[len(_RELOCATED_FROM) :]
            if target_name in names:
                continue
            target = folder / target_name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(jar.read(name))
    return folder


@functools.cache
def _resource_folder() -> Path:
    """A private folder with the Xerces bundles, made once per process, removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="policygraph-jena-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return write_xerces_resources(folder)


def jena_classpath() -> str:
    """The class path for Jena's commands: the resource folder, then the jars."""
    reason = riot_missing()
    if reason:
        raise PeerError(reason)
    entries = [str(_resource_folder())] + [str(_jar(name)) for name in JENA_JARS]
    return os.pathsep.join(entries)


def run_riot(args: Iterable[str]) -> subprocess.CompletedProcess[str]:
    """Run ``riot ARGS`` with Jena's class path; output captured, exit status not checked."""
    command = ["java", "-Dfile.encoding=UTF-8", "-cp", jena_classpath(), RIOT_MAIN, *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def riot_counts(paths: Iterable[Path | str]) -> dict[Path, int]:
    """Triples (quads for N-Quads/TriG) riot parses from each file, one JVM per syntax.

    :raises PeerError: when riot exits non-zero (any error or warning), or a file's
        count is missing from its report.
    """
    groups: dict[str | None, list[Path]] = {}
    for path in paths:
        path = Path(path).resolve()
        groups.setdefault(RIOT_SYNTAX.get(path.suffix), []).append(path)
    counts: dict[Path, int] = {}
    for syntax, files in groups.items():
        options = [f"--syntax={syntax}"] if syntax else []
        done = run_riot(["--count", *options, *map(str, files)])
        report = {
            m["name"]: int(m["count"].replace(",", "")) for m in _RIOT_COUNT.finditer(done.stderr)
        }
        missing = [f for f in files if f.as_uri() not in report]
        if done.returncode != 0 or missing:
            raise PeerError(
                f"riot --count {' '.join(options + [f.name for f in files])} failed "
                f"(exit {done.returncode}):\n" + (done.stderr.strip() or done.stdout.strip())
            )
        counts.update((f, report[f.as_uri()]) for f in files)
    return counts


def riot_count(path: Path | str) -> int:
    """The number of triples (quads for N-Quads/TriG) riot parses from ``path``."""
    return next(iter(riot_counts([path]).values()))


# -- pytest glue ----------------------------------------------------------------------


def require(reason: str | None) -> None:
    """Skip the calling test when a peer is missing (``reason``); fail instead under CI=true."""
    if reason is None:
        return
    import pytest

    if in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def main(argv: list[str]) -> int:
    """``peers.py riot ARGS…``: run riot as Debian would if it shipped the launcher."""
    if not argv or argv[0] != "riot":
        print("usage: peers.py riot [riot options] FILE...", file=sys.stderr)
        return 2
    try:
        command = ["java", "-cp", jena_classpath(), RIOT_MAIN, *argv[1:]]
    except PeerError as error:
        print(f"riot: {error}", file=sys.stderr)
        return 2
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
