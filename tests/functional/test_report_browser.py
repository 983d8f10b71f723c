"""The leadership report renders in a real browser: headless Chromium loads it from a file URL.

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
JSON messages separated by NUL bytes on file descriptors 3 and 4), so the test needs no
package beyond the standard library. It records every console error, uncaught exception
and failed load, reads the page height and each image's natural size, and takes a
full-page screenshot.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from funnelsim.cli import main
from funnelsim.present.ab_report import SECTIONS

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--remote-debugging-pipe",
)
WIDTH = 1200


class DevToolsPipe:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, user_data_dir: Path) -> None:
        low_r, self._to_chrome = os.pipe()
        self._from_chrome, low_w = os.pipe()
        # chromium reads commands on fd 3 and writes replies on fd 4; bash moves the child's pipe ends there
        # (from fds of 10 and above, so they can never be 3 or 4 themselves)
        to_chrome_r, from_chrome_w = fcntl.fcntl(low_r, fcntl.F_DUPFD, 10), fcntl.fcntl(low_w, fcntl.F_DUPFD, 10)
        os.close(low_r)
        os.close(low_w)
        redirect = f'exec "$0" "$@" 3<&{to_chrome_r} 4>&{from_chrome_w} {to_chrome_r}<&- {from_chrome_w}>&-'
        self.proc = subprocess.Popen(
            ["/bin/bash", "-c", redirect, str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}",
             f"--window-size={WIDTH},900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(to_chrome_r, from_chrome_w))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._buffer = b""
        self.events: list[dict[str, Any]] = []

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("chromium did not answer in time")
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 60.0) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60.0) -> dict[str, Any]:
        for index, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            event = self._read_message(deadline)
            if event.get("method") == method:
                return event
            self.events.append(event)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass

    def close(self) -> None:
        try:
            os.write(self._to_chrome, json.dumps({"id": 0, "method": "Browser.close"}).encode() + b"\0")
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait(timeout=10)
        finally:
            os.close(self._to_chrome)
            os.close(self._from_chrome)


def load_in_chromium(url: str, workdir: Path) -> dict[str, Any]:
    """Open `url`, wait for load, return page facts, problems seen and the screenshot path."""
    browser = DevToolsPipe(workdir / "profile")
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Page.navigate", {"url": url}, session=session)
        browser.wait_for("Page.loadEventFired", timeout=60)
        browser.drain(0.5)
        facts = json.loads(browser.send("Runtime.evaluate", {"returnByValue": True, "expression": """
            JSON.stringify({
              height: document.documentElement.scrollHeight,
              width: document.documentElement.scrollWidth,
              title: document.title,
              headings: [...document.querySelectorAll('h2')].map(h => h.textContent.trim()),
              images: [...document.images].map(i => ({complete: i.complete, naturalWidth: i.naturalWidth,
                                                      naturalHeight: i.naturalHeight, alt: i.alt})),
              text: document.body.innerText.slice(0, 600),
            })"""}, session=session)["result"]["value"])
        browser.send("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": int(facts["height"]),
                                                            "deviceScaleFactor": 1, "mobile": False},
                     session=session)
        shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                            session=session)
        screenshot = workdir / "report.png"
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        browser.drain(0.3)
    finally:
        browser.close()
    problems = []
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            problems.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            problems.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            problems.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.loadingFailed":
            problems.append(f"failed load: {params.get('errorText')}")
    requests = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    return {**facts, "problems": problems, "requests": requests, "screenshot": screenshot}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    assert CHROMIUM.is_file(), "needs Debian's chromium (.ci/run installs it: apt-get install -y chromium)"
    workdir = tmp_path_factory.mktemp("browser")
    report = workdir / "report with space.html"
    # the command leadership's analysts run, on small settings (one process, no result store)
    assert main(["report", str(ROOT / "scenarios" / "baseline.yaml"), str(ROOT / "scenarios" / "five_minute_sla.yaml"),
                 "-o", str(report), "--replications", "3", "--months", "1", "--workers", "1", "--no-store",
                 "--quiet"]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert report.stat().st_mode & 0o777 == 0o666 & ~umask  # like any file the user creates, not 0600
    facts = load_in_chromium(report.resolve().as_uri(), workdir)
    keep = os.environ.get("FUNNELSIM_KEEP_SCREENSHOT")
    if keep:  # for a human look: FUNNELSIM_KEEP_SCREENSHOT=/tmp/report.png pytest tests/functional/...
        shutil.copy(facts["screenshot"], keep)
    return facts


def test_report_loads_without_console_errors_or_network(rendered: dict[str, Any]) -> None:
    assert rendered["problems"] == []
    # self-contained: the only request is the report file itself (images are data URIs)
    assert all(url.startswith(("file://", "data:")) for url in rendered["requests"]), rendered["requests"]
    assert rendered["title"] == "five_minute_sla vs baseline"


def test_every_image_loaded(rendered: dict[str, Any]) -> None:
    images = rendered["images"]
    assert len(images) >= 5  # verdict, funnel, leaks, speed-to-lead, money
    for image in images:
        assert image["complete"], image["alt"]
        assert image["naturalWidth"] > 300 and image["naturalHeight"] > 100, image


def test_page_is_a_long_report_with_every_section(rendered: dict[str, Any]) -> None:
    assert [h for h in rendered["headings"] if h in dict(SECTIONS).values()] == [h for _, h in SECTIONS]
    # five charts of 300-800 px plus tables: a real report, not an error page
    assert 4000 < rendered["height"] < 40000
    assert rendered["width"] <= 1300  # nothing overflows sideways
    assert "Following up within 5 minutes instead of 1 hour" in rendered["text"]


def test_screenshot_is_the_full_page(rendered: dict[str, Any]) -> None:
    data = rendered["screenshot"].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width == WIDTH
    assert abs(height - rendered["height"]) <= 2
