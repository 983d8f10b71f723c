"""The browser tests' servers stop when a test ends, even when it fails: the server and every process
it started (a kernel, say) are gone."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from _servers import free_port, server

#: a server that starts a child of its own (as JupyterLab and Voilà start kernels) and then serves
_SERVER_WITH_A_CHILD = """
import subprocess, sys, http.server, functools
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(sys.argv[2], "w").write(str(child.pid))
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) is not running
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_a_failing_test_still_stops_the_server_and_its_children(tmp_path: Path) -> None:
    port, child_file = free_port(), tmp_path / "child.pid"
    command = [sys.executable, "-c", _SERVER_WITH_A_CHILD, str(port), str(child_file)]
    with pytest.raises(RuntimeError, match="the test failed"):
        with server(command, f"http://127.0.0.1:{port}/", tmp_path / "server.log", cwd=tmp_path) as proc:
            pids = [proc.pid, int(child_file.read_text())]
            assert all(_alive(pid) for pid in pids)
            raise RuntimeError("the test failed")
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in pids), "a server process outlived its test"


def test_a_server_that_dies_before_serving_is_a_clear_failure_with_its_log(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import sys; print('cannot start: no such scenario'); sys.exit(3)"]
    with pytest.raises(AssertionError, match=r"exited with 3 before serving[\s\S]*cannot start: no such scenario"):
        with server(command, f"http://127.0.0.1:{free_port()}/", tmp_path / "server.log", cwd=tmp_path):
            pass
