"""Every dashboard page opened in headless Chromium: no console error, every chart drawn.

The site is built from a real small pipeline run (the published warehouse, opened
read-only), so what is checked is what users get; a second site, built from the
hand-made warehouse of test_dashboards.py, has every optional table, so every section
is drawn at least once. Chromium is driven over the DevTools protocol with a minimal
stdlib WebSocket client (no browser-automation package needed). Screenshots go to
tmp_path and, when DEALSCOPE_SCREENSHOTS is set, to that folder too.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from dashboards import build_site
from test_dashboards import make_warehouse

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars", "--remote-debugging-port=0", "--remote-allow-origins=*",
)
VIEWPORT = {"width": 1280, "height": 900}
STARTUP_TIMEOUT_S = 30
RENDER_TIMEOUT_S = 30

# Per chart: is there an SVG, how many traces are visible, how many marks were drawn.
CHART_STATE_JS = """
JSON.stringify(Array.from(document.querySelectorAll('.js-plotly-plot')).map(function (plot) {
  var visible = (plot._fullData || []).filter(function (t) { return t.visible === true; });
  var withData = visible.filter(function (t) {
    return (t.x && t.x.length > 0) || (t.y && t.y.length > 0);
  });
  return {
    id: plot.id,
    title: (plot.layout && plot.layout.title && plot.layout.title.text) || '',
    svg: !!plot.querySelector('.plot-container svg.main-svg'),
    traces_with_data: withData.length,
    marks: plot.querySelectorAll('.cartesianlayer g.trace path, .cartesianlayer g.trace text').length
           + plot.querySelectorAll('.gl-container canvas').length
  };
}))
"""


# --- a minimal WebSocket client (RFC 6455, client side, text frames) -------------------------

class WebSocket:
    def __init__(self, url: str, timeout_s: float = 30) -> None:
        assert url.startswith("ws://"), url
        host_port, _, path = url[len("ws://"):].partition("/")
        host, _, port = host_port.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout_s)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            .encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("WebSocket handshake: connection closed")
            response += chunk
        head, _, self.buffer = response.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"WebSocket handshake refused: {head[:200]!r}")

    def send(self, message: str) -> None:
        payload = message.encode()
        header = bytearray([0x81])  # FIN + text frame
        length = len(payload)
        if length < 126:
            header.append(0x80 | length)
        elif length < 1 << 16:
            header.append(0x80 | 126)
            header += struct.pack(">H", length)
        else:
            header.append(0x80 | 127)
            header += struct.pack(">Q", length)
        mask = os.urandom(4)
        masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
        self.sock.sendall(bytes(header) + mask + masked)

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            chunk = self.sock.recv(max(65536, count - len(self.buffer)))
            if not chunk:
                raise ConnectionError("WebSocket closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive(self) -> str:
        parts: list[bytes] = []
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack(">H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack(">Q", self._read(8))
            payload = self._read(length)  # servers never mask
            if opcode == 0x8:
                raise ConnectionError("WebSocket closed by the browser")
            if opcode in (0x9, 0xA):  # ping / pong: not part of a message
                continue
            parts.append(payload)
            if first & 0x80:
                return b"".join(parts).decode()

    def close(self) -> None:
        self.sock.close()


class DevTools:
    """One page target: commands by id, events kept for inspection."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params: object) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for_event(self, method: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(event["method"] == method for event in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout_s}s")
            self.events.append(json.loads(self.ws.receive()))

    def evaluate(self, expression: str, await_promise: bool = False) -> object:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=await_promise)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors seen so far."""
        found = []
        for event in self.events:
            params = event.get("params", {})
            if event["method"] == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                found.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
            elif event["method"] == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                found.append("console: " + " ".join(str(a.get("value", a.get("description", "")))
                                                    for a in params.get("args", [])))
            elif event["method"] == "Log.entryAdded" and params["entry"].get("level") == "error":
                found.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        return found


def find_chromium() -> str | None:
    return next((path for name in BROWSER_NAMES if (path := shutil.which(name))), None)


@pytest.fixture(scope="module")
def devtools(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    binary = find_chromium()
    if binary is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); the browser test needs it")
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
         f"--window-size={VIEWPORT['width']},{VIEWPORT['height']}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not (port_file.is_file() and port_file.read_text().count("\n") >= 1):
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read().decode(errors="replace") if process.poll() is not None else ""
                pytest.fail(f"Chromium did not start its DevTools endpoint: {stderr[-2000:]}")
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            targets = json.load(response)
        page_target = next(t for t in targets if t["type"] == "page")
        session = DevTools(WebSocket(page_target["webSocketDebuggerUrl"]))
        for domain in ("Runtime.enable", "Log.enable", "Page.enable"):
            session.call(domain)
        session.call("Emulation.setDeviceMetricsOverride", deviceScaleFactor=1, mobile=False, **VIEWPORT)
        yield session
        session.ws.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def open_page(devtools: DevTools, page: Path) -> list[dict]:
    """Navigate, wait for load and for every chart the HTML declares; return the chart states."""
    devtools.events.clear()
    devtools.call("Page.navigate", url=page.resolve().as_uri())
    devtools.wait_for_event("Page.loadEventFired", RENDER_TIMEOUT_S)
    declared = page.read_text(encoding="utf-8").count("Plotly.newPlot(")
    deadline = time.monotonic() + RENDER_TIMEOUT_S
    while True:
        charts = json.loads(devtools.evaluate(CHART_STATE_JS))
        if len(charts) >= declared and all(chart["svg"] for chart in charts):
            return charts
        if time.monotonic() > deadline:
            return charts
        time.sleep(0.2)


def screenshot(devtools: DevTools, page: Path, folders: list[Path]) -> Path:
    height = int(devtools.evaluate("document.documentElement.scrollHeight"))
    shot = devtools.call(
        "Page.captureScreenshot", format="png", captureBeyondViewport=True,
        clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height, "scale": 1},
    )
    png = base64.b64decode(shot["data"])
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{page.parent.name}-{page.stem}.png").write_bytes(png)
    return folders[0] / f"{page.parent.name}-{page.stem}.png"


def screenshot_folders(tmp_path: Path) -> list[Path]:
    extra = os.environ.get("DEALSCOPE_SCREENSHOTS")
    return [tmp_path] + ([Path(extra)] if extra else [])


@pytest.fixture(scope="module")
def pipeline_site(pipeline_run, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    settings, _ = pipeline_run
    out_dir = tmp_path_factory.mktemp("browser") / "pipeline_site"
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return build_site(con, out_dir)


@pytest.fixture(scope="module")
def fixture_site(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("browser-fixture")
    warehouse = make_warehouse(root / "warehouse.duckdb")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return build_site(con, root / "fixture_site")


def assert_page_renders(devtools: DevTools, page: Path, tmp_path: Path) -> None:
    charts = open_page(devtools, page)
    shot = screenshot(devtools, page, screenshot_folders(tmp_path))
    assert shot.stat().st_size > 10_000, "blank screenshot"
    assert devtools.errors() == [], f"{page.name}: console errors"
    declared = page.read_text(encoding="utf-8").count("Plotly.newPlot(")
    assert len(charts) == declared, f"{page.name}: {len(charts)} of {declared} charts on the page"
    empty = [chart["title"] or chart["id"] for chart in charts
             if not (chart["svg"] and chart["traces_with_data"] > 0 and chart["marks"] > 0)]
    assert empty == [], f"{page.name}: empty charts"


@pytest.mark.parametrize("site", ["pipeline_site", "fixture_site"])
@pytest.mark.parametrize("page_index", range(6))
def test_site_pages_render_in_chromium(devtools, site, page_index, request, tmp_path):
    assert_page_renders(devtools, request.getfixturevalue(site)[page_index], tmp_path)


def filter_table(devtools: DevTools, table_id: str, column: str) -> tuple[int, str, list[str]]:
    """Choose the first value of the table's filter drop-down for `column`, as a click would: the
    table's row count, the value chosen and that column's value in each row left visible."""
    select = f'select[data-table="{table_id}"][data-column="{column}"]'
    total = devtools.evaluate(f"document.querySelectorAll('#{table_id} tbody tr').length")
    chosen = devtools.evaluate(f"document.querySelector({json.dumps(select)}).options[1].value")
    visible = devtools.evaluate(f"""
        (function () {{
          var select = document.querySelector({json.dumps(select)});
          select.value = {json.dumps(chosen)};
          select.dispatchEvent(new Event('change'));
          return Array.from(document.querySelectorAll('#{table_id} tbody tr'))
            .filter(function (row) {{ return row.style.display !== 'none'; }})
            .map(function (row) {{ return row.getAttribute('data-{column}'); }});
        }})()
    """)
    return total, chosen, visible


def test_table_filter_hides_rows_without_a_server(devtools, fixture_site):
    page = next(page for page in fixture_site if page.name == "strategic_fit.html")
    open_page(devtools, page)
    total, owner, visible = filter_table(devtools, "in-name-only-table", "owner")
    assert total > len(visible) > 0
    assert set(visible) == {owner}
    counter = devtools.evaluate("document.getElementById('in-name-only-table-count').textContent")
    assert counter == f"{len(visible)} of {total} rows shown"
    assert devtools.errors() == []


def test_dimension_dropdown_switches_the_win_rate_chart(devtools, fixture_site):
    page = next(page for page in fixture_site if page.name == "win_loss.html")
    open_page(devtools, page)
    # What a click on the drop-down's last entry does: Plotly.update with that button's args.
    label, shown = devtools.evaluate("""
        (function () {
          var plot = document.querySelectorAll('.js-plotly-plot')[0];
          var buttons = plot.layout.updatemenus[0].buttons;
          var target = buttons[buttons.length - 1];
          return Plotly.update(plot, target.args[0], target.args[1]).then(function () {
            var labels = [];
            plot._fullData.filter(function (t) { return t.visible === true; })
              .forEach(function (t) { labels = labels.concat(Array.from(t.y)); });
            return [target.label, labels.sort()];
          });
        })()
    """, await_promise=True)
    with duckdb.connect(str(page.parent.parent / "warehouse.duckdb"), read_only=True) as con:
        expected = sorted(value for (value,) in con.execute(
            "SELECT coalesce(value, '(none)') FROM main.win_loss "
            "WHERE replace(dimension, '_', ' ') = ? AND win_rate IS NOT NULL", [label]).fetchall())
    assert label != "segment" and shown == expected
    assert devtools.errors() == []


def test_open_deals_filter_and_brief_render_in_chromium(devtools, pipeline_site, tmp_path):
    page = next(page for page in pipeline_site if page.name == "open_deals.html")
    open_page(devtools, page)
    screenshot(devtools, page, screenshot_folders(tmp_path))
    total, segment, visible = filter_table(devtools, "open-deals-table", "segment")
    assert total > len(visible) > 0 and set(visible) == {segment}
    href = devtools.evaluate("document.querySelector('#open-deals-table tbody a').getAttribute('href')")
    assert devtools.errors() == []
    brief = page.parent / href
    assert brief.exists()
    assert_page_renders(devtools, brief, tmp_path)
    summary = devtools.evaluate("document.querySelectorAll('#brief-summary li').length")
    assert summary >= 4
    back = devtools.evaluate("document.querySelector('nav a').getAttribute('href')")
    assert (brief.parent / back).resolve() == page.resolve()
    assert devtools.errors() == []
