"""Throw-away Virtuoso server for tests and benchmarks.

``VirtuosoServer`` copies the Debian ``virtuoso.ini``, moves every database
file into a private temp folder, binds both ports to 127.0.0.1 on free ports
and starts ``virtuoso-t +foreground`` in its own process group.  Nothing under
/var/lib/virtuoso-opensource-7 is touched, so several instances (and a system
server) can run side by side.

Findings on this machine (Debian 7.2.5.1+dfsg1-0.3, server 07.20.3229),
established by trying rather than from the manual:

* Startup of a fresh database takes 3.8-4.3 s until ``/sparql`` answers.  A
  taken port is only noticed after database initialisation ("Failed to start
  listening ... Address already in use", exit), so a retry costs ~4 s.  The
  packaged ini would also auto-install the Conductor VAD from
  ``VADInstallDir`` on first start, costing ~2-3 s more; we point
  ``VADInstallDir`` at an empty folder unless ``install_conductor=True``.
* The packaged ini does not parse with strict ``configparser``: keys
  ``PrefixResultNames`` and ``IndexTreeMaps`` appear twice in [Parameters]
  (the last one, ``IndexTreeMaps = 64``, is kept) and values carry trailing
  ``; comments``.  ``strict=False`` plus ``inline_comment_prefixes`` works.
* In ``+foreground`` mode the server echoes its log to stdout, so
  console.log duplicates virtuoso.log; console.log still matters because it
  catches failures that happen before the log file is opened.
* ``/sparql-graph-crud-auth`` accepts GSP PUT/POST/DELETE with HTTP *digest*
  auth (realm "SPARQL", qop=auth, MD5) as dba/dba; urllib's
  ``HTTPDigestAuthHandler`` handles it.  Basic auth and no auth get 401; the
  anonymous ``/sparql-graph-crud`` answers 403 to PUT.  Both the standard
  ``graph=`` and Virtuoso's legacy ``graph-uri=`` parameter work.
* PUT answers 201 when the graph is new and 200 when replacing it (empty
  body); POST appends (200); DELETE answers 200.
* The Content-Type header is effectively ignored: the body is sniffed.
  text/turtle, application/x-turtle, application/n-triples, text/plain,
  application/rdf+xml, even a made-up type all loaded Turtle, N-Triples and
  RDF/XML bodies correctly.  We still send the right type.
* PUT is not atomic: a body with a syntax error answers 500 (Virtuoso error
  37000 / SP029 with the line number) *after* the old graph content has
  already been cleared, leaving the graph empty.
* Duplicate triples in a file are stored once (set semantics, like rdflib).
* The anonymous ``/sparql`` returns COUNT in the obsolete SPARQL-JSON form
  ``{"type": "typed-literal", "datatype": xsd:integer, "value": "3"}``
  (not ``"literal"``), so read ``["value"]`` and do not test ``type``.  Its
  default graph is the union of all graphs, which already holds ~2,500
  system triples (virtrdf#, service description), so always count inside
  ``GRAPH <iri>``.  Anonymous SPARQL Update is refused (HTTP 500, SR186 "No
  permission"); use ``auth_sparql_url`` or GSP for writes.
* ``isql-vt ... exec="shutdown;"`` checkpoints and exits with status 0 in
  well under a second for a small database; isql itself exits 0.  isql also
  exits 0 on SQL errors (only a bad login gives a non-zero status), so
  ``isql()`` looks for ``*** Error`` in the output.
"""

from __future__ import annotations

import atexit
import configparser
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

SYSTEM_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")
VIRTUOSO_BIN = "virtuoso-t"
ISQL_BIN = "isql-vt"
DBA_USER = "dba"
DBA_PASSWORD = "dba"

# Sized for test graphs: 4000 buffers x 8 KiB = 32 MiB of page cache instead of
# the packaged 80 MiB, and 256 MiB instead of 2 GiB per query.  The SPARQL
# limits are raised so result sets are never silently truncated at 10,000
# rows and big benchmark queries are not refused by the cost estimator.
# Benchmarks override single keys through ``settings=``.
DEFAULT_SETTINGS: dict[str, dict[str, str]] = {
    "Parameters": {
        "NumberOfBuffers": "4000",
        "MaxDirtyBuffers": "3000",
        "MaxQueryMem": "256M",
    },
    "SPARQL": {
        "ResultSetMaxRows": "1000000",
        "MaxQueryExecutionTime": "300",
        "MaxQueryCostEstimationTime": "0",
    },
}

# Every file of both databases has to move into our folder, otherwise two
# servers (or the system one) would fight over the same /var/lib files.
_DB_SECTIONS = ("Database", "TempDatabase")
_SPARQL_JSON = "application/sparql-results+json"
_MEDIA_TYPES = {
    ".ttl": "text/turtle",
    ".nt": "application/n-triples",
    ".rdf": "application/rdf+xml",
}
_BAD_IRI_CHARS = re.compile(r'[\s<>"{}|^`\\]')


class VirtuosoError(RuntimeError):
    """The server could not be started or a request failed."""


class VirtuosoHTTPError(VirtuosoError):
    """An HTTP endpoint answered with an error status; keeps code and body."""

    def __init__(self, status: int, url: str, body: str) -> None:
        super().__init__(f"HTTP {status} from {url}: {body[:2000]}")
        self.status = status
        self.body = body


class _ExitedDuringStartup(VirtuosoError):
    """virtuoso-t died before answering, e.g. because a port was taken."""


def free_port() -> int:
    """Ask the kernel for an unused loopback TCP port.

    Someone may grab it before Virtuoso binds it; ``start`` retries then.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def virtuoso_available() -> bool:
    """True when both binaries and the packaged ini are installed."""
    binaries = (shutil.which(VIRTUOSO_BIN), shutil.which(ISQL_BIN))
    return all(binaries) and SYSTEM_INI.is_file()


def read_ini(path: Path) -> configparser.ConfigParser:
    """Parse a virtuoso.ini despite duplicate keys and trailing comments.

    Keys keep their case so the written copy stays readable next to the
    original when debugging.
    """
    parser = configparser.ConfigParser(
        strict=False, interpolation=None, inline_comment_prefixes=(";",)
    )
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    with path.open(encoding="utf-8") as handle:
        parser.read_file(handle)
    return parser


class VirtuosoServer:
    """A private Virtuoso on loopback ports whose data vanishes on stop.

    Use as a context manager, or call ``start()``/``stop()``; ``stop`` is
    idempotent and also registered with ``atexit`` as a safety net.
    """

    user = DBA_USER
    password = DBA_PASSWORD

    def __init__(
        self,
        *,
        startup_timeout: float = 60.0,
        settings: Mapping[str, Mapping[str, str]] | None = None,
        install_conductor: bool = False,
        keep_folder: bool = False,
        base_ini: Path = SYSTEM_INI,
    ) -> None:
        self.startup_timeout = startup_timeout
        self.settings = _overlay(DEFAULT_SETTINGS, settings or {})
        self.install_conductor = install_conductor
        self.keep_folder = keep_folder
        self.base_ini = base_ini
        self.folder: Path | None = None
        self.isql_port = 0
        self.http_port = 0
        self.startup_seconds = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        self._console: IO[bytes] | None = None

    # -- lifecycle -------------------------------------------------------

    def __enter__(self) -> VirtuosoServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, attempts: int = 3) -> None:
        """Create the folder, launch virtuoso-t, wait until /sparql answers.

        On any failure (including Ctrl-C) the process and folder are removed
        so a broken start leaves nothing behind.
        """
        if self._process is not None:
            raise VirtuosoError("server already started")
        self.folder = Path(tempfile.mkdtemp(prefix="virtuoso-test-"))
        began = time.monotonic()
        try:
            self._start_with_retries(attempts)
        except BaseException:
            self._kill()
            self._remove_folder()
            raise
        self.startup_seconds = time.monotonic() - began
        atexit.register(self.stop)

    def stop(self) -> None:
        """Shut down politely (checkpoint), force it if needed, drop files."""
        atexit.unregister(self.stop)
        if self._process is not None:
            self._shutdown_via_isql()
            self._kill()
        self._remove_folder()

    def _start_with_retries(self, attempts: int) -> None:
        """Relaunch with fresh ports and a blank folder after an early exit."""
        for attempt in range(1, attempts + 1):
            self._launch()
            try:
                self._wait_until_ready()
                return
            except _ExitedDuringStartup:
                if attempt == attempts:
                    raise
                self._kill()
                self._reset_folder()

    def _launch(self) -> None:
        """Write an ini with new ports and spawn the server."""
        folder = self._require_folder()
        self.isql_port, self.http_port = free_port(), free_port()
        ini_path = folder / "virtuoso.ini"
        self._write_ini(ini_path)
        self._console = open(folder / "console.log", "ab")  # noqa: SIM115
        self._process = subprocess.Popen(
            [VIRTUOSO_BIN, "+foreground", "+configfile", str(ini_path)],
            cwd=folder,
            stdin=subprocess.DEVNULL,
            stdout=self._console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group, immune to Ctrl-C
        )

    def _write_ini(self, target: Path) -> None:
        """Copy the packaged ini with our files, ports and limits."""
        ini = read_ini(self.base_ini)
        self._relocate_database_files(ini)
        self._bind_ports(ini)
        self._set_directories(ini)
        for section, values in self.settings.items():
            if not ini.has_section(section):
                ini.add_section(section)
            ini[section].update(values)
        with target.open("w", encoding="utf-8") as handle:
            ini.write(handle)

    def _relocate_database_files(self, ini: configparser.ConfigParser) -> None:
        folder = self._require_folder()
        for section in _DB_SECTIONS:
            for key, value in ini[section].items():
                if value.startswith("/"):
                    ini[section][key] = str(folder / Path(value).name)

    def _bind_ports(self, ini: configparser.ConfigParser) -> None:
        """Loopback only: test servers with dba/dba must not be reachable."""
        ini["Parameters"]["ServerPort"] = f"127.0.0.1:{self.isql_port}"
        ini["HTTPServer"]["ServerPort"] = f"127.0.0.1:{self.http_port}"
        if ini.has_section("URIQA"):  # host used when minting local IRIs
            ini["URIQA"]["DefaultHost"] = f"127.0.0.1:{self.http_port}"

    def _set_directories(self, ini: configparser.ConfigParser) -> None:
        """Let ld_dir/file_to_string read our folder; skip the VAD install."""
        folder = self._require_folder()
        params = ini["Parameters"]
        params["DirsAllowed"] = f"{params.get('DirsAllowed', '.')}, {folder}"
        if not self.install_conductor:
            empty = folder / "no-vad"
            empty.mkdir(exist_ok=True)
            params["VADInstallDir"] = f"{empty}/"

    def _wait_until_ready(self) -> None:
        """Poll /sparql until it answers, the process dies or time runs out."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise _ExitedDuringStartup(self._failure("virtuoso-t exited"))
            if self._sparql_answers():
                return
            time.sleep(0.25)
        limit = f"/sparql not answering after {self.startup_timeout:.0f} s"
        raise VirtuosoError(self._failure(limit))

    def _sparql_answers(self) -> bool:
        """One trivial ASK; refused connections and HTTP errors mean 'not yet'."""
        try:
            self._post_sparql("ASK {}", timeout=2.0)
        except (OSError, http.client.HTTPException, VirtuosoError):
            return False
        return True

    def _failure(self, reason: str) -> str:
        """Error text carrying the log tails so CI failures explain themselves."""
        folder = self._require_folder()
        log, console = folder / "virtuoso.log", folder / "console.log"
        text = f"{reason} (isql port {self.isql_port}, http port {self.http_port})"
        text += f"\n--- {log} ---\n{_tail(log)}"
        if _tail(console) != _tail(log):
            text += f"\n--- {console} ---\n{_tail(console)}"
        return text

    def _shutdown_via_isql(self, timeout: float = 30.0) -> None:
        """``shutdown;`` checkpoints and exits; fall through to kill on hang."""
        if not self.running:
            return
        try:
            self._run_isql("shutdown;", timeout=timeout, check=False)
            assert self._process is not None
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass

    def _kill(self) -> None:
        """SIGTERM, then SIGKILL, the process group; always reap the child."""
        process, self._process = self._process, None
        if process is not None:
            for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                if process.poll() is not None:
                    break
                _signal_group(process.pid, sig)
                try:
                    process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    continue
        if self._console is not None:
            self._console.close()
            self._console = None

    def _reset_folder(self) -> None:
        """Empty the folder so a retry starts from a blank database."""
        folder = self._require_folder()
        shutil.rmtree(folder)
        folder.mkdir()

    def _remove_folder(self) -> None:
        if self.folder is not None and not self.keep_folder:
            shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def _require_folder(self) -> Path:
        if self.folder is None:
            raise VirtuosoError("server is not started")
        return self.folder

    # -- endpoints -------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def sparql_url(self) -> str:
        """Anonymous endpoint: queries only, updates are refused."""
        return f"{self.base_url}/sparql"

    @property
    def auth_sparql_url(self) -> str:
        """Digest-protected endpoint that accepts SPARQL Update as dba."""
        return f"{self.base_url}/sparql-auth"

    @property
    def gsp_url(self) -> str:
        """Digest-protected SPARQL 1.1 Graph Store Protocol endpoint."""
        return f"{self.base_url}/sparql-graph-crud-auth"

    # -- helpers ---------------------------------------------------------

    def isql(self, sql: str, timeout: float = 300.0) -> str:
        """Run SQL as dba through isql-vt and return its output.

        Raises on ``*** Error`` because isql exits 0 even when SQL fails.
        """
        return self._run_isql(sql, timeout=timeout, check=True)

    def _run_isql(self, sql: str, *, timeout: float, check: bool) -> str:
        address = f"127.0.0.1:{self.isql_port}"
        command = [ISQL_BIN, address, self.user, self.password, f"exec={sql}"]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        output = result.stdout + result.stderr
        if check and (result.returncode != 0 or "*** Error" in output):
            raise VirtuosoError(f"isql exit {result.returncode}:\n{output}")
        return output

    def put_graph(
        self,
        graph_iri: str,
        path: Path | str,
        *,
        content_type: str | None = None,
        password: str | None = None,
        timeout: float = 300.0,
    ) -> int:
        """Replace ``graph_iri`` with the file's triples (GSP PUT, digest).

        Returns 201 (created) or 200 (replaced).  ``password`` exists so
        tests can prove auth is enforced.  The body is sent twice (digest
        challenge first), so bulk loads are better done with isql ld_dir
        from ``folder``, which is in DirsAllowed.
        """
        path = Path(path)
        media = content_type or _MEDIA_TYPES.get(path.suffix, "text/turtle")
        query = urllib.parse.urlencode({"graph": _checked_iri(graph_iri)})
        request = urllib.request.Request(
            f"{self.gsp_url}?{query}",
            data=path.read_bytes(),
            method="PUT",
            headers={"Content-Type": media},
        )
        opener = self._digest_opener(self.password if password is None else password)
        with _http_errors(request.full_url), opener.open(request, timeout=timeout) as response:
            return int(response.status)

    def _digest_opener(self, password: str) -> urllib.request.OpenerDirector:
        """Opener that answers the digest challenge and bypasses proxies."""
        manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        manager.add_password(None, self.base_url, self.user, password)
        return urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPDigestAuthHandler(manager),
        )

    def select(self, query: str, timeout: float = 300.0) -> list[dict[str, Any]]:
        """Run a SELECT on the anonymous endpoint; return the JSON bindings.

        Each row maps a variable to its SPARQL-JSON term, e.g.
        ``{"n": {"type": "typed-literal", "datatype": ..., "value": "3"}}``.
        """
        body = json.loads(self._post_sparql(query, timeout=timeout))
        bindings: list[dict[str, Any]] = body["results"]["bindings"]
        return bindings

    def count_triples(self, graph_iri: str) -> int:
        """Triples stored in one named graph (never the system-filled union)."""
        iri = _checked_iri(graph_iri)
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{iri}> {{ ?s ?p ?o }} }}")
        return int(rows[0]["n"]["value"])

    def _post_sparql(self, query: str, timeout: float) -> str:
        """POST a form-encoded query (no URL length limit), no proxies."""
        request = urllib.request.Request(
            self.sparql_url,
            data=urllib.parse.urlencode({"query": query}).encode("utf-8"),
            headers={
                "Accept": _SPARQL_JSON,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with _http_errors(self.sparql_url), opener.open(request, timeout=timeout) as response:
            return str(response.read().decode("utf-8"))


@contextlib.contextmanager
def _http_errors(url: str) -> Iterator[None]:
    """Turn urllib's HTTPError into VirtuosoHTTPError with the server's text.

    Virtuoso explains failures (syntax errors, permissions) in the response
    body, which urllib's own message leaves out.
    """
    try:
        yield
    except urllib.error.HTTPError as error:
        body = error.read().decode("utf-8", errors="replace") if error.fp else ""
        raise VirtuosoHTTPError(error.code, url, body) from error


def _overlay(
    base: Mapping[str, Mapping[str, str]], extra: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """Merge per section so callers override single keys, not sections."""
    merged = {section: dict(values) for section, values in base.items()}
    for section, values in extra.items():
        merged.setdefault(section, {}).update(values)
    return merged


def _checked_iri(iri: str) -> str:
    """Refuse IRIs that would break out of ``<...>`` in a query."""
    if not iri or _BAD_IRI_CHARS.search(iri):
        raise ValueError(f"not a usable graph IRI: {iri!r}")
    return iri


def _tail(path: Path, lines: int = 40) -> str:
    """Last lines of a log file, or a marker when it was never written."""
    if not path.is_file():
        return "<missing>"
    text = path.read_text(encoding="utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the server's process group; it may already be gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
