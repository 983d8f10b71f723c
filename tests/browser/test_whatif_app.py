"""`funnelsim whatif` in a real browser: the Voilà app shows the panel without code, follows a lever, and
gives a visitor no way to run code of their own in its kernel."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from _panel import CHOICE, UPDATE_SECONDS, check_agree, check_no_maths, move_lever, reset, wait_for_panel
from _servers import PYTHON, Console, Offline, browser, free_port, page, server  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]
#: the one outside resource the page may ask for: Voilà's lab template links Font Awesome from jsDelivr
#: (the icons themselves come with Voilà's own bundle, so the panel looks the same when it is unreachable)
ALLOWED_OUTSIDE = "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app as a user starts it (a short horizon, so the test is quick), served until the module ends."""
    folder = tmp_path_factory.mktemp("whatif-app")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    command = [PYTHON, "-m", "funnelsim", "whatif", str(ROOT / "scenarios" / "baseline.yaml"), "--port", str(port),
               "--replications", "2", "--months", "0.5"]
    with server(command, url, folder / "voila.log", cwd=folder):
        yield url


def test_the_app_shows_the_panel_without_code_and_it_follows_a_lever(app: str, page: Any) -> None:
    console, outside = Console(page), Offline(page)
    page.goto(app, timeout=90_000)
    before = wait_for_panel(page, timeout=90)
    check_agree(before)
    assert "$" in before["text"], "the money figures should be shown in dollars"
    # every lever shows its setting: "no cap" and "never" are choices, not a blank box
    shown = page.evaluate("() => Object.fromEntries([...document.querySelectorAll('.widget-dropdown')].map("
                          "d => [d.querySelector('label').textContent, d.querySelector('select').selectedOptions[0]"
                          "?.textContent.replace(/\\u00a0/g, ' ') ?? '']))")  # ipywidgets writes labels with no-break spaces
    assert shown["Lead cap per rep"] == "no cap" and shown["Reclaim untouched after"] == "never", shown
    # code hidden: no code cell's input or editor (the notebook's words, its markdown, are shown), no source
    assert page.locator(".jp-CodeCell .jp-InputArea, .jp-InputArea-editor, .cm-editor").count() == 0, "shows code"
    assert "check_parameters" not in page.content() and "WhatIfPanel(" not in page.content(), "notebook code leaks"
    after, seconds = move_lever(page, before)
    assert after["names"][1] == "5-min SLA", after["names"]
    assert seconds < UPDATE_SECONDS
    check_agree(after)
    back = reset(page, after)  # every lever back: the same leads give the very figures of the first draw
    check_agree(back)
    assert back["cells"] == before["cells"], f"reset did not give the baseline's figures back: {back['cells']}"
    check_no_maths(page)
    assert console.errors == [], f"console errors: {console.errors}"
    assert all(url.startswith(ALLOWED_OUTSIDE) for url in outside.urls), f"asks the internet for {outside.urls}"


def _message(msg_type: str, content: dict[str, Any], session: str) -> str:
    """A kernel message in jupyter_server's JSON websocket protocol (as a front-end of one's own sends it)."""
    header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session, "username": "visitor",
              "version": "5.3", "date": datetime.now(timezone.utc).isoformat()}
    return json.dumps({"header": header, "parent_header": {}, "metadata": {}, "content": content, "channel": "shell",
                       "buffers": []})


async def _try_to_run_code(kernel_ws: str, code: str, seconds: float) -> list[str]:
    """Connect to the app's kernel as a visitor with a websocket client of their own and ask it to run `code`.

    The kernel info request comes first, so a reply shows that the connection reaches the kernel.
    Returns the types of the messages received within `seconds`.
    """
    from tornado.websocket import websocket_connect

    session = uuid.uuid4().hex
    ws = await websocket_connect(f"{kernel_ws.split('?')[0]}?session_id={session}")
    try:
        await ws.write_message(_message("kernel_info_request", {}, session))
        await ws.write_message(_message("execute_request", {
            "code": code, "silent": False, "store_history": True, "user_expressions": {}, "allow_stdin": False,
            "stop_on_error": True}, session))
        seen: list[str] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                raw = await asyncio.wait_for(ws.read_message(), timeout=left)
            except asyncio.TimeoutError:
                break
            if raw is None:
                break
            if isinstance(raw, str):
                seen.append(json.loads(raw)["header"]["msg_type"])
        return seen
    finally:
        ws.close()


def test_a_visitor_cannot_run_code_in_the_apps_kernel(app: str, page: Any, tmp_path: Path) -> None:
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    Offline(page)
    page.goto(app, timeout=90_000)
    wait_for_panel(page, timeout=90)
    kernel_ws = next(url for url in sockets if "/api/kernels/" in url and url.split("?")[0].endswith("/channels"))
    marker = tmp_path / "ran.txt"
    code = f"open({str(marker)!r}, 'w').write('code ran')"
    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API holds this thread's event loop
        seen = thread.submit(asyncio.run, _try_to_run_code(kernel_ws, code, seconds=5)).result(timeout=60)
    assert "kernel_info_reply" in seen, f"the test's client never reached the kernel: {seen}"
    assert "execute_reply" not in seen and "execute_input" not in seen, seen
    assert not marker.exists(), "a visitor's execute_request ran code in the app's kernel"


def test_a_missing_scenario_is_one_line_and_exit_2_before_any_server(tmp_path: Path) -> None:
    done = subprocess.run([PYTHON, "-m", "funnelsim", "whatif", str(tmp_path / "nope.yaml"), "--port",
                           str(free_port())], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope.yaml" in lines[0] and lines[0].startswith("funnelsim: error:"), done.stderr


def _descendants(pid: int) -> list[tuple[int, str]]:
    """Every process `pid` started, and theirs: (pid, command line)."""
    out: list[tuple[int, str]] = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return out
    for child in map(int, children):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        out += [(child, command), *_descendants(child)]
    return out


def _kernels(pid: int) -> list[int]:
    return [p for p, command in _descendants(pid) if "ipykernel_launcher" in command]


def _wait_until(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


def test_a_visitors_kernel_lives_while_the_page_is_open_and_stops_after_it_closes(
        browser: Any, tmp_path: Path) -> None:
    port = free_port()
    command = [PYTHON, "-m", "funnelsim", "whatif", "--port", str(port), "--replications", "1", "--months", "0.25",
               "--idle-minutes", "0.1"]  # 6 s without a page
    with server(command, f"http://127.0.0.1:{port}/", tmp_path / "voila.log", cwd=tmp_path) as app:
        probe = set(_kernels(app.pid))  # the server check's own request was a page load: it has a kernel too
        context = browser.new_context()
        visitor = context.new_page()
        Offline(visitor)
        visitor.goto(f"http://127.0.0.1:{port}/", timeout=90_000)
        wait_for_panel(visitor, timeout=90)
        mine = set(_kernels(app.pid)) - probe
        assert len(mine) == 1, f"the page should have one kernel of its own: {_descendants(app.pid)}"
        time.sleep(15)  # well past the idle time, with the page open: its kernel stays
        assert mine <= set(_kernels(app.pid)), "the kernel of an open page was shut down"
        assert not probe & set(_kernels(app.pid)), "the server check's kernel (no page connected) lived on"
        context.close()
        assert _wait_until(lambda: not mine & set(_kernels(app.pid)), 30), "a closed page's kernel lived on"


def test_a_stop_signal_stops_voila_and_its_kernels_and_removes_the_apps_folder(browser: Any, tmp_path: Path) -> None:
    port = free_port()
    command = [PYTHON, "-m", "funnelsim", "whatif", "--port", str(port), "--replications", "1", "--months", "0.25"]
    with server(command, f"http://127.0.0.1:{port}/", tmp_path / "voila.log", cwd=tmp_path) as app:
        context = browser.new_context()
        visitor = context.new_page()
        Offline(visitor)
        visitor.goto(f"http://127.0.0.1:{port}/", timeout=90_000)
        wait_for_panel(visitor, timeout=90)
        started = _descendants(app.pid)
        folders = {Path(c.split()[3]).parent for _, c in started if " -m voila " in c}
        assert _kernels(app.pid) and len(folders) == 1 and all(f.is_dir() for f in folders), started
        context.close()
        app.send_signal(signal.SIGTERM)  # to funnelsim alone, as a service manager stops it
        assert app.wait(timeout=30) == 0
        assert _wait_until(lambda: not any(_alive(pid) for pid, _ in started), 10), "Voilà or a kernel lived on"
        assert not any(f.exists() for f in folders), "the app's temporary folder was left behind"


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()
    except OSError:
        return False
