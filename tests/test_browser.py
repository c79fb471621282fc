"""A real browser reads the site: open a measure, click through to its theme, take a picture.

Debian's ``chromium`` runs headless and is driven over the Chrome DevTools Protocol
(``websocket-client``) against the static site served from loopback by the standard
library's HTTP server. The click is a real mouse event at the link's position, so the
test fails if the link is hidden, covered or not a link. Without chromium the test is
skipped on a laptop and fails under CI=true.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import struct
import subprocess
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import SKOS

from policygraph import html
from policygraph.site import build_base, write_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PG = Namespace("https://w3id.org/policygraph/ontology#")
ELI = Namespace("http://data.europa.eu/eli/ontology#")
WIDTH, HEIGHT = 1200, 900


def _require(available: bool, message: str) -> None:
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {message}", pytrace=False)
    pytest.skip(message)


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(build_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The static site of the session's build, served on a free loopback port."""
    site = tmp_path_factory.mktemp("browser-site") / "site"
    write_site(build_dir, site)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class DevTools:
    """A minimal Chrome DevTools Protocol client: commands, and waiting for events."""

    def __init__(self, url: str):
        import websocket

        self.socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                assert "error" not in message, message
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, message in enumerate(self.events):
                if message.get("method") == event:
                    return self.events.pop(i)
            self.socket.settimeout(max(0.1, deadline - time.monotonic()))
            self.events.append(json.loads(self.socket.recv()))
        raise TimeoutError(event)

    def evaluate(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in answer, answer
        return answer["result"].get("value")

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def close(self) -> None:
        self.socket.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    """Headless chromium with a private profile, driven over the DevTools Protocol."""
    _require(Path(CHROMIUM).is_file(), f"{CHROMIUM} not found; install Debian's chromium")
    try:
        import websocket  # noqa: F401
    except ImportError:
        _require(False, "websocket-client is not installed (pip install -e '.[test]')")
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [
            CHROMIUM,
            *("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"),
            *("--disable-background-networking", "--disable-component-update", "--disable-sync"),
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--window-size={WIDTH},{HEIGHT}",
            "--hide-scrollbars",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            assert process.poll() is None, f"chromium exited with {process.returncode}"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as answer:
            targets = json.load(answer)
        page = next(t for t in targets if t["type"] == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        tools.call("Page.enable")
        tools.call(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )
        yield tools
        tools.close()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header, after checking it is a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def png_pixels(data: bytes) -> bytes:
    """The decompressed image data of a PNG (all IDAT chunks)."""
    position, chunks = 8, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        if kind == b"IDAT":
            chunks.append(data[position + 8 : position + 8 + length])
        position += 12 + length
    return zlib.decompress(b"".join(chunks))


def screenshot(browser: DevTools, path: Path) -> bytes:
    data = base64.b64decode(browser.call("Page.captureScreenshot", format="png")["data"])
    path.write_bytes(data)
    return data


def test_measure_page_links_to_its_theme_and_back(
    browser: DevTools, site_url: str, build_dir: Path, graph: Graph, tmp_path: Path
) -> None:
    base = build_base(build_dir)
    # A measure with a theme, read from the build's Turtle dump (item 17: brands).
    measure = next(
        s
        for s in graph.subjects(ELI.number, Literal("17"))
        if next(graph.objects(s, PG.theme), None) is not None
    )
    themes = {html.local_path(str(t), base) for t in graph.objects(measure, PG.theme)}
    measure_path = html.local_path(str(measure), base)

    browser.open(site_url + measure_path)
    heading = browser.evaluate("document.querySelector('h1').textContent")
    assert heading == str(
        graph.value(measure, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))
    )
    links = browser.evaluate(
        "Array.from(document.querySelectorAll('section[aria-labelledby=themes] a'))"
        ".map(a => a.getAttribute('href'))"
    )
    assert set(links) == themes
    shot = tmp_path / "measure.png"
    screenshot(browser, shot)

    # Click the first theme link with a real mouse event at its place on the page.
    box = browser.evaluate(
        "(() => { const a = document.querySelector('section[aria-labelledby=themes] a');"
        " a.scrollIntoView({block: 'center'}); const r = a.getBoundingClientRect();"
        " return {x: r.x + r.width / 2, y: r.y + r.height / 2, href: a.getAttribute('href')}; })()"
    )
    browser.events.clear()
    for kind in ("mousePressed", "mouseReleased"):
        browser.call(
            "Input.dispatchMouseEvent",
            type=kind,
            x=box["x"],
            y=box["y"],
            button="left",
            clickCount=1,
        )
    browser.wait_for("Page.loadEventFired")
    location = browser.evaluate("location.pathname")
    assert location.rstrip("/") == box["href"]  # a static host adds the folder's slash

    theme = next(
        t for t in graph.objects(measure, PG.theme) if html.local_path(str(t), base) == box["href"]
    )
    labels = {str(label) for label in graph.objects(theme, SKOS.prefLabel)}
    assert browser.evaluate("document.querySelector('h1').textContent") in labels
    listed = browser.evaluate(
        "Array.from(document.querySelectorAll('section[aria-labelledby=incoming] a'))"
        ".map(a => a.getAttribute('href'))"
    )
    assert measure_path in listed

    shot = tmp_path / "theme.png"
    data = screenshot(browser, shot)
    assert png_size(data) == (WIDTH, HEIGHT)
    pixels = png_pixels(data)
    assert len(set(pixels)) > 16, "the screenshot is blank"
    keep = os.environ.get("POLICYGRAPH_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for name in ("measure.png", "theme.png"):
            shutil.copyfile(tmp_path / name, Path(keep) / name)


def test_home_page_picture_renders(browser: DevTools, site_url: str, tmp_path: Path) -> None:
    """The home page's SVG is drawn: its boxes have a size on screen and are links."""
    browser.open(site_url + "/")
    boxes = browser.evaluate(
        "Array.from(document.querySelectorAll('figure.structure svg a.box rect'))"
        ".map(r => { const b = r.getBoundingClientRect(); return [b.width, b.height]; })"
    )
    assert len(boxes) == 30
    assert all(w > 10 and h > 10 for w, h in boxes)
    data = screenshot(browser, tmp_path / "home.png")
    assert png_size(data) == (WIDTH, HEIGHT)
    keep = os.environ.get("POLICYGRAPH_SCREENSHOTS")
    if keep:
        shutil.copyfile(tmp_path / "home.png", Path(keep) / "home.png")
