"""`funnelsim whatif`: what it checks before any server starts, and what it hands Voilà.

The app itself, served and driven in a browser, is tested in tests/browser/test_whatif_app.py.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from funnelsim.commands.whatif import app_notebook, unusable_address, voila_command

ROOT = Path(__file__).resolve().parents[2]


def _whatif(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "funnelsim", "whatif", *args], capture_output=True, text=True,
                          timeout=60, cwd=cwd)


def test_a_port_in_use_is_one_line_and_exit_2_not_a_server_on_another_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert unusable_address("127.0.0.1", port) == f"port {port} on 127.0.0.1 is in use; choose another with --port"
        done = _whatif("--port", str(port), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"funnelsim: error: port {port} on 127.0.0.1 is in use; choose another with --port"


@pytest.mark.parametrize("args, says", [
    (["--port", "0"], "'0' is not a port number (1-65535)"),
    (["--port", "http"], "'http' is not a port number"),
    (["--host", "nosuch.invalid"], "--host 'nosuch.invalid' is not an address of this machine"),
    (["--replications", "0"], "replications: must be at least 1, got 0"),
    (["--months", "abc"], "--months: invalid float value: 'abc'"),
])
def test_a_bad_option_is_one_line_and_exit_2(args: list[str], says: str, tmp_path: Path) -> None:
    done = _whatif(*args, cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("funnelsim: error:") and says in lines[0], done.stderr


def test_the_app_notebook_has_the_parameters_injected_as_papermill_does(tmp_path: Path) -> None:
    scenario = str(ROOT / "scenarios" / "more_reps.yaml")
    path = app_notebook(tmp_path, {"scenario": scenario, "replications": 2, "months": 0.5, "seed": 7})
    assert path == tmp_path / "what_if.ipynb"
    nb = nbformat.read(path, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert f"scenario = {scenario!r}" in injected[0].source or f'scenario = "{scenario}"' in injected[0].source
    assert "replications = 2" in injected[0].source and "seed = 7" in injected[0].source
    # the parameter check still runs after the injected values, as under papermill
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code.index(injected[0].source) < next(i for i, s in enumerate(code) if "check_parameters" in s)


def test_voila_is_asked_to_hide_code_and_tracebacks_and_to_keep_its_port(tmp_path: Path) -> None:
    command = voila_command(tmp_path / "what_if.ipynb", port=9123, host="127.0.0.1")
    assert command[:3] == [sys.executable, "-m", "voila"]
    for flag in ("--port=9123", "--Voila.ip=127.0.0.1", "--strip_sources=True", "--show_tracebacks=False",
                 "--Voila.open_browser=False", "--Voila.port_retries=0",
                 "--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_interval=60",
                 "--MappingKernelManager.cull_connected=False"):
        assert flag in command
    quick = voila_command(tmp_path / "what_if.ipynb", port=9123, host="127.0.0.1", idle_minutes=0.1)
    assert "--MappingKernelManager.cull_idle_timeout=6" in quick and "--MappingKernelManager.cull_interval=6" in quick
