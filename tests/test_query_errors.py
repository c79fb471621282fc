"""Everything that can go wrong with a query is one clear line and exit code 2.

Each case runs the real command in a subprocess and checks: exit code 2, exactly one
line on stderr starting with ``policygraph:``, no traceback. Remote failures (timeout,
401, 5xx, a non-SPARQL answer) come from a small HTTP server in this process.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.test_queries import POLICY_ID, policygraph

SLOW_SECONDS = 5.0
STUB_USER, STUB_PASSWORD = "reader", "s3cret"
RESULTS = {
    "head": {"vars": ["n"]},
    "results": {"bindings": [{"n": {"type": "literal", "value": "ok"}}]},
}


class StubEndpoint(BaseHTTPRequestHandler):
    """Answers by path: slow, down (503), boom (500), basic (auth), html, bearer."""

    received: list[dict[str, str]] = []  # noqa: RUF012  (shared with the tests on purpose)

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        self.received.append(
            {"path": self.path, "type": self.headers.get("Content-Type", ""), "body": body}
        )
        path = self.path.split("?", 1)[0]
        if path == "/slow":
            time.sleep(SLOW_SECONDS)
            self.answer(200, "application/sparql-results+json", json.dumps(RESULTS))
        elif path == "/down":
            page = "<html><head><title>503</title></head><body><h1>Down for maintenance</h1>"
            self.answer(503, "text/html", page + "</body></html>")
        elif path == "/boom":
            self.answer(500, "text/plain", "\nInternal error: out of memory\nat line 1\n")
        elif path == "/basic":
            self.basic()
        elif path == "/bearer":
            self.answer(401, "text/plain", "token needed", {"WWW-Authenticate": 'Bearer realm="x"'})
        else:
            self.answer(200, "text/html", "<html><body>Welcome</body></html>")

    def basic(self) -> None:
        token = base64.b64encode(f"{STUB_USER}:{STUB_PASSWORD}".encode()).decode()
        if self.headers.get("Authorization") == f"Basic {token}":
            self.answer(200, "application/sparql-results+json", json.dumps(RESULTS))
        else:
            self.answer(401, "text/plain", "no", {"WWW-Authenticate": 'Basic realm="stub"'})

    def answer(self, status: int, media: str, text: str, headers: dict | None = None) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def stub() -> Iterator[str]:
    """The base URL of the stub endpoint, on a free loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubEndpoint)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def one_line_error(done, *fragments: str) -> str:
    """Exit code 2, one line on stderr naming the problem, no traceback."""
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("policygraph: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert done.stdout == ""
    return lines[0]


# -- the query itself ---------------------------------------------------------------


def test_a_syntax_error_in_a_file_names_file_line_and_column(build_dir, tmp_path):
    broken = tmp_path / "broken.rq"
    broken.write_text(
        "# question: How many measures?\n"
        "PREFIX pg: <https://w3id.org/policygraph/ontology#>\n"
        "SELECT (COUNT(?m) AS ?n)\n"
        "WHERE {\n"
        "  ?m a pg:Measure ?x .\n"
        "}\n",
        encoding="utf-8",
    )
    done = policygraph("query", str(broken), "--data", str(build_dir))
    line = one_line_error(done, f"{broken}:5:", "SPARQL syntax error")
    column = int(line.split(f"{broken}:5:", 1)[1].split(":", 1)[0])
    assert 3 <= column <= len("  ?m a pg:Measure ?x .") + 1


def test_a_syntax_error_in_a_query_string_names_line_and_column(build_dir):
    done = policygraph("query", "SELECT ?s WHERE {\n ?s ?p }", "--data", str(build_dir))
    one_line_error(done, "<query>:2:", "SPARQL syntax error")


def test_an_undeclared_prefix_is_named_where_it_is_used(build_dir):
    text = "SELECT ?m WHERE {\n  ?m a pg:Measure .\n}"
    done = policygraph("query", text, "--data", str(build_dir))
    one_line_error(done, "<query>:2:8:", "prefix pg: is not declared")


def test_a_broken_query_is_caught_before_it_reaches_an_endpoint(clean_env, stub):
    StubEndpoint.received.clear()
    done = policygraph(
        "query", "SELECT ?s WHERE { ?s ?p }", "--endpoint", f"{stub}/basic", env=clean_env
    )
    one_line_error(done, "<query>:1:", "SPARQL syntax error")
    assert StubEndpoint.received == []


def test_an_unknown_name_lists_the_named_queries(build_dir):
    done = policygraph("query", "objectivs", "--data", str(build_dir))
    line = one_line_error(done, "unknown query 'objectivs'")
    for name in ("objectives", "toc", "theme-measures", "repairs"):
        assert name in line


def test_a_missing_query_file_is_named(build_dir, tmp_path):
    done = policygraph("query", str(tmp_path / "nope.rq"), "--data", str(build_dir))
    one_line_error(done, "nope.rq: no such query file")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["theme-measures", "--param", 'theme=x" } ; DROP ALL ; #'], "is not a usable IRI"),
        (["measure", "--param", "item=thirteen"], "--param item='thirteen': expected a whole"),
        (["objectives-by-year", "--param", "year=soon"], "expected a year"),
        (["search", "--param", "txt=quality"], "--param txt: search has no such parameter"),
        (["search", "--param", "text"], "expected NAME=VALUE"),
        (["toc", "--format", "ttl"], "--format ttl does not fit a SELECT query"),
        (["measure", "--format", "csv"], "--format csv does not fit a CONSTRUCT query"),
        (["toc", "--graph", "not an iri"], "--graph"),
    ],
)
def test_bad_parameters_and_formats_are_one_line(build_dir, args, fragment):
    one_line_error(policygraph("query", *args, "--data", str(build_dir)), fragment)


def test_data_that_is_missing_or_unreadable_is_named(tmp_path):
    one_line_error(policygraph("query", "toc", cwd=tmp_path), "build/: no build to query")
    missing = tmp_path / "missing.nq"
    one_line_error(policygraph("query", "toc", "--data", str(missing)), "missing.nq: no such")
    garbage = tmp_path / "garbage.ttl"
    garbage.write_text("this is not turtle\n", encoding="utf-8")
    one_line_error(policygraph("query", "toc", "--data", str(garbage)), "garbage.ttl: not valid")


def test_data_and_endpoint_exclude_each_other(build_dir):
    done = policygraph("query", "toc", "--data", str(build_dir), "--endpoint", "http://x/sparql")
    one_line_error(done, "--data and --endpoint")


# -- the endpoint -------------------------------------------------------------------


def test_an_unreachable_endpoint(clean_env):
    done = policygraph("query", "toc", "--endpoint", "http://127.0.0.1:9/sparql", env=clean_env)
    one_line_error(done, "cannot reach http://127.0.0.1:9/sparql", "connection refused")


def test_an_endpoint_that_is_not_a_url(clean_env):
    done = policygraph("query", "toc", "--endpoint", "localhost:8890/sparql", env=clean_env)
    one_line_error(done, "is not an http(s) URL")


def test_a_slow_endpoint_times_out(clean_env, stub):
    started = time.monotonic()
    done = policygraph(
        "query", "toc", "--endpoint", f"{stub}/slow", "--timeout", "0.5", env=clean_env
    )
    one_line_error(done, f"{stub}/slow did not answer within 0.5 s")
    assert time.monotonic() - started < SLOW_SECONDS + 5


def test_a_server_error_is_one_line_with_the_servers_reason(clean_env, stub):
    done = policygraph("query", "toc", "--endpoint", f"{stub}/down", env=clean_env)
    one_line_error(done, "HTTP 503 Service Unavailable", "Down for maintenance")
    done = policygraph("query", "toc", "--endpoint", f"{stub}/boom", env=clean_env)
    one_line_error(done, "HTTP 500 Internal Server Error", "Internal error: out of memory")


def test_an_answer_that_is_not_sparql_results(clean_env, stub):
    done = policygraph("query", "toc", "--endpoint", f"{stub}/welcome", env=clean_env)
    one_line_error(done, "answered with text/html, not SPARQL JSON results")


def test_401_without_credentials_says_where_to_put_them(clean_env, stub):
    done = policygraph("query", "toc", "--endpoint", f"{stub}/basic", env=clean_env)
    one_line_error(done, "HTTP 401", "POLICYGRAPH_ENDPOINT_USER", "~/.netrc")


def test_401_with_wrong_credentials_names_the_user_not_the_password(clean_env, stub):
    env = {
        **clean_env,
        "POLICYGRAPH_ENDPOINT_USER": STUB_USER,
        "POLICYGRAPH_ENDPOINT_PASSWORD": "wrong-password",
    }
    done = policygraph("query", "toc", "--endpoint", f"{stub}/basic", env=env)
    line = one_line_error(done, "HTTP 401", STUB_USER)
    assert "wrong-password" not in line


def test_an_auth_scheme_we_cannot_answer(clean_env, stub):
    env = {**clean_env, "POLICYGRAPH_ENDPOINT_USER": "u", "POLICYGRAPH_ENDPOINT_PASSWORD": "p"}
    one_line_error(policygraph("query", "toc", "--endpoint", f"{stub}/bearer", env=env), "Bearer")


def test_half_configured_credentials_are_an_error(clean_env, stub):
    env = {**clean_env, "POLICYGRAPH_ENDPOINT_USER": STUB_USER}
    one_line_error(policygraph("query", "toc", "--endpoint", f"{stub}/basic", env=env), "PASSWORD")


# -- what does reach the endpoint ---------------------------------------------------


def test_basic_credentials_from_the_environment_and_a_post(clean_env, stub):
    StubEndpoint.received.clear()
    env = {
        **clean_env,
        "POLICYGRAPH_ENDPOINT_USER": STUB_USER,
        "POLICYGRAPH_ENDPOINT_PASSWORD": STUB_PASSWORD,
    }
    done = policygraph(
        "query", "toc", "--endpoint", f"{stub}/basic", "--param", f"policy={POLICY_ID}",
        "--format", "csv", env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["n", "ok"]
    sent = StubEndpoint.received[-1]
    assert sent["type"] == "application/x-www-form-urlencoded"
    query = urllib.parse.parse_qs(sent["body"])["query"][0]
    assert f'VALUES (?policy) {{ ("{POLICY_ID}") }}' in query


def test_basic_credentials_from_netrc(clean_env, stub):
    netrc = Path(clean_env["HOME"]) / ".netrc"
    netrc.write_text(f"machine 127.0.0.1 login {STUB_USER} password {STUB_PASSWORD}\n")
    netrc.chmod(0o600)
    done = policygraph("query", "toc", "--endpoint", f"{stub}/basic", env=clean_env)
    assert done.returncode == 0, done.stderr
    assert "ok" in done.stdout
