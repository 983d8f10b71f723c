"""Browser tests (servers, and the fixtures `browser` and `page` a test module imports; no conftest.py, whose name
would clash with tests/conftest.py): real servers (JupyterLab, the Voilà app) driven by Playwright in Debian's headless Chromium.

Each server is started once per test module on 127.0.0.1 and a free port, in its own process
group, from a temporary folder (nothing in the repository is written), and killed with its
whole group when the module ends, passed or failed. Every wait is bounded. Playwright's own
browser downloads are not used: it drives ``/usr/bin/chromium`` (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


CHROMIUM = Path("/usr/bin/chromium")
#: the longest a server may take to answer its first request
SERVER_START_SECONDS = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def server(command: Sequence[str], url: str, log: Path, *, cwd: Path, env: dict[str, str] | None = None,
           timeout: float = SERVER_START_SECONDS) -> Iterator[subprocess.Popen[bytes]]:
    """Start `command` in a new process group, wait (bounded) until `url` answers, kill the group on exit."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(list(command), cwd=cwd, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"{command[0]} exited with {proc.returncode} before serving {url}:\n{_tail(log)}")
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status < 500:
                        break
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{' '.join(command[:4])}… did not answer {url} within {timeout:.0f} s:\n"
                                     f"{_tail(log)}")
            time.sleep(0.25)
        yield proc
    finally:
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (server, kernels), SIGKILL whatever is left after 10 s."""
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        proc.wait()
        return
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        # the leader is gone; its kernels may linger a moment in the group
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=5)


class Console:
    """The page's console errors and uncaught exceptions."""

    def __init__(self, page: Any, ignore: Sequence[str] = ()) -> None:
        self.errors: list[str] = []
        self.ignore = tuple(ignore)
        page.on("console", lambda m: self._add(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self._add(f"uncaught: {e}"))

    def _add(self, text: str) -> None:
        if not any(pattern in text for pattern in self.ignore):
            self.errors.append(text)


class Offline:
    """What the page asks of hosts other than this machine: recorded, and answered empty.

    The tests run on a closed network, where a request to the internet fails with a console error
    ("net::ERR_NAME_NOT_RESOLVED") that says nothing about the app. Each such request is answered
    with an empty 200 instead, as a reachable host would answer, and kept in :attr:`urls` so that a
    test can say exactly which outside resources the page may ask for.
    """

    def __init__(self, page: Any) -> None:
        self.urls: list[str] = []
        page.route(lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")),
                   self._answer)

    def _answer(self, route: Any) -> None:
        self.urls.append(route.request.url)
        kind = "text/css" if route.request.resource_type == "stylesheet" else "text/plain"
        route.fulfill(status=200, body="", content_type=kind)


PYTHON = sys.executable


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (.ci/run installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, timeout=60_000,
                                      args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()



@contextmanager
def jupyterlab(folder: Path) -> Iterator[str]:
    """JupyterLab serving `folder` on 127.0.0.1 and a free port (no token; settings and workspaces in
    `folder`'s sibling, so a user's own JupyterLab setup plays no part); its URL until the block ends."""
    port = free_port()
    state = folder.parent / f"{folder.name}-jupyter"
    env = {"JUPYTER_CONFIG_DIR": str(state / "config"), "JUPYTERLAB_SETTINGS_DIR": str(state / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(state / "workspaces"), "IPYTHONDIR": str(state / "ipython")}
    command = [PYTHON, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
               f"--ServerApp.root_dir={folder}", "--ServerApp.allow_root=True",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    url = f"http://127.0.0.1:{port}/"
    with server(command, url + "api/status", state.with_suffix(".log"), cwd=folder, env=env):
        yield url


def run_all_cells(page: Any, seconds: float = 90) -> None:
    """Run > Run All Cells, as a user does, once the notebook's kernel is up (the status bar names it, Idle);
    fails unless a cell starts running within `seconds`."""
    ready = ("() => { const bar = document.querySelector('#jp-main-statusbar');"
             " return !!bar && /Python 3 \\(ipykernel\\)\\s*\\|\\s*Idle/.test(bar.innerText); }")
    try:
        page.wait_for_function(ready, timeout=seconds * 1000)
    except Exception as exc:  # playwright's TimeoutError
        bar = page.locator("#jp-main-statusbar").inner_text() if page.locator("#jp-main-statusbar").count() else ""
        raise AssertionError(f"the notebook's kernel was not ready within {seconds:.0f} s; status bar: {bar!r}") from exc
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    wait_showing(page, page.locator(".jp-InputPrompt", has_text=re.compile(r"\[(\*|\d+)\]")).first, seconds,
                 "a running or run cell after Run All Cells")


def wait_showing(page: Any, locator: Any, seconds: float, what: str) -> None:
    """Wait (bounded) for `locator`; on time-out fail saying `what` was awaited and what the page shows."""
    try:
        locator.wait_for(timeout=seconds * 1000)
    except Exception as exc:  # playwright's TimeoutError
        shown = " ".join(page.inner_text("body").split())
        raise AssertionError(f"{what} did not appear within {seconds:.0f} s; the page ends: …{shown[-2500:]}") from exc
