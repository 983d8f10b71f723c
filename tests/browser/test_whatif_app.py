"""`funnelsim whatif` in a real browser: the Voilà app shows the panel without code, and it responds to a lever."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from _panel import CHOICE, UPDATE_SECONDS, check_agree, check_no_maths, move_lever, wait_for_panel
from _servers import PYTHON, Console, browser, free_port, page, server  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.mark.xfail(run=False, strict=True, reason=(
    "not yet green: under Voila 0.5.13 (JupyterLab 4.2.5 core) the ipywidgets 8 front-end built for JupyterLab 4.6 "
    "fails to create the Image views ('Could not create a view for model id …'), so the charts and their legend "
    "never appear, and the page logs net::ERR_NAME_NOT_RESOLVED for an external resource; see the branch report"))
def test_the_app_shows_the_panel_without_code_and_it_follows_a_lever(app: str, page) -> None:
    console = Console(page)
    page.goto(app, timeout=90_000)
    before = wait_for_panel(page, timeout=90)
    check_agree(before)
    assert "$" in before["text"], "the money figures should be shown in dollars"
    # code hidden: no input area, no source of the notebook in the page
    assert page.locator(".jp-InputArea, .jp-CodeMirrorEditor, .cm-editor").count() == 0, "the app shows code"
    assert "check_parameters" not in page.content() and "WhatIfPanel(" not in page.content(), "notebook code leaks"
    after, seconds = move_lever(page, before)
    assert "5-min" in after["names"][1] or CHOICE in after["names"][1], after["names"]
    assert seconds < UPDATE_SECONDS
    check_agree(after)
    check_no_maths(page)
    assert console.errors == [], f"console errors: {console.errors}"


def test_a_missing_scenario_is_one_line_and_exit_2_before_any_server(tmp_path: Path) -> None:
    done = subprocess.run([PYTHON, "-m", "funnelsim", "whatif", str(tmp_path / "nope.yaml"), "--port",
                           str(free_port())], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "nope.yaml" in lines[0] and lines[0].startswith("funnelsim: error:"), done.stderr
