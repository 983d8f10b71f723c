"""``funnelsim whatif [SCENARIO]``: the what-if panel as a web app, served by Voilà.

For people who never open a notebook: Voilà runs ``notebooks/what_if.ipynb`` in a kernel of
its own and serves only what the notebook shows — the panel and the table below it, never
its code. The scenario (and the other parameters) are checked first, exactly as the notebook
checks them, so a missing or broken scenario is one line and exit code 2 before any server
starts. The notebook is then copied, with the parameters injected as papermill would
inject them, into a temporary folder that is the only folder Voilà serves; it is removed
when the server stops (Ctrl-C).

What the app exposes (``docs/LIMITS.md``): the page has no code and no traceback, and Voilà
refuses the browser's requests to execute code (only the widgets' messages reach the
kernel), but the kernel is the user's own Python process; serve it on localhost (the
default) or behind access control, never openly on a shared network.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from .notebook_params import ParameterError, check_given, notebook_path
from .options import positive_float


__all__ = ["register", "run", "voila_command", "app_notebook", "port_number", "unusable_address"]

NOTEBOOK = "what_if"
DEFAULT_SCENARIO = notebook_path(NOTEBOOK).parent.parent / "scenarios" / "baseline.yaml"
#: minutes a visitor's kernel lives on with no page connected (a closed tab, a lost connection)
DEFAULT_IDLE_MINUTES = 10.0


def port_number(text: str) -> int:
    """A TCP port a server can listen on, 1-65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "whatif", help="serve the what-if panel as a web app (Voilà: no code shown)",
        description="Serve the what-if panel (notebooks/what_if.ipynb) as a web app with Voilà: the levers, the "
                    "table and the charts, without the notebook's code. Listens on 127.0.0.1 unless --host says "
                    "otherwise; Ctrl-C stops it.")
    p.add_argument("scenario", nargs="?", type=Path, default=None,
                   help="the baseline scenario the levers start from (default: the bundled baseline)")
    p.add_argument("--port", type=port_number, default=8866, help="port to listen on (default 8866)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1, this machine only; see docs/LIMITS.md)")
    p.add_argument("--replications", type=int, default=3, help="replications per update, at least 1 (default 3)")
    p.add_argument("--months", type=float, default=1.0, help="simulated months of leads per replication (default 1)")
    p.add_argument("--seed", type=int, default=0, help="root random seed (default 0)")
    p.add_argument("--idle-minutes", type=positive_float, default=DEFAULT_IDLE_MINUTES,
                   help="shut down a visitor's kernel once no page has been connected to it for this many minutes "
                        f"(default {DEFAULT_IDLE_MINUTES:g}; each page load starts a kernel of its own)")
    p.add_argument("--open", action="store_true", help="open the app in a web browser")
    p.set_defaults(handler=run)


def app_notebook(folder: Path, parameters: dict[str, object]) -> Path:
    """``what_if.ipynb`` with `parameters` injected as papermill injects them, written into `folder`."""
    import nbformat
    from papermill.parameterize import parameterize_notebook

    source = notebook_path(NOTEBOOK)
    nb = nbformat.read(source, as_version=4)
    nb.metadata.setdefault("papermill", {})  # where papermill records the parameters it injected
    nb = parameterize_notebook(nb, parameters)
    target = folder / source.name
    nbformat.write(nb, target)
    return target


def voila_command(notebook: Path, *, port: int, host: str, open_browser: bool = False,
                  idle_minutes: float = DEFAULT_IDLE_MINUTES) -> list[str]:
    """The Voilà command line serving `notebook`: sources stripped, no tracebacks, no token in the URL,
    and a kernel no page is connected to shut down after `idle_minutes` (jupyter_server's culling)."""
    idle = max(1, round(60 * idle_minutes))
    return [
        sys.executable, "-m", "voila", str(notebook),
        f"--port={port}", f"--Voila.ip={host}",
        "--strip_sources=True", "--show_tracebacks=False", "--theme=light",
        "--Voila.open_browser=" + ("True" if open_browser else "False"),
        "--Voila.port_retries=0",  # the port asked for, or none: never a different one than the URL printed
        f"--MappingKernelManager.cull_idle_timeout={idle}", f"--MappingKernelManager.cull_interval={min(60, idle)}",
        "--MappingKernelManager.cull_connected=False",  # a page left open keeps its kernel
    ]


def unusable_address(host: str, port: int) -> str | None:
    """Why the app could not listen on `host`:`port` (None: it can): checked before any server starts."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        return f"--host {host!r} is not an address of this machine ({exc})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use; choose another with --port"
            return f"cannot listen on {host}:{port} ({exc.strerror or exc})"
    return None


def run(args: argparse.Namespace) -> int:
    scenario = (args.scenario or DEFAULT_SCENARIO).resolve()
    given = {"scenario": str(scenario), "replications": args.replications, "months": args.months,
             "seed": args.seed}
    try:
        parameters = check_given(NOTEBOOK, given)
    except ParameterError as exc:
        for line in exc.lines():
            print(f"funnelsim: error: {line.replace(f'{NOTEBOOK}.ipynb: ', '', 1)}", file=sys.stderr)
        return exc.exit_code
    if shutil.which("voila", path=os.path.dirname(sys.executable)) is None:
        try:
            import voila  # noqa: F401
        except ImportError:
            print("funnelsim: error: Voilà is not installed (pip install voila)", file=sys.stderr)
            return 2
    problem = unusable_address(args.host, args.port)
    if problem is not None:
        print(f"funnelsim: error: {problem}", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="funnelsim-whatif-"))
    previous = signal.signal(signal.SIGTERM, _raise_stop)  # a service manager's stop: the same as Ctrl-C
    try:
        notebook = app_notebook(folder, parameters)
        print(f"Serving the what-if panel for {scenario} on http://{args.host}:{args.port}/ (Ctrl-C stops it)",
              file=sys.stderr)
        proc = subprocess.Popen(voila_command(notebook, port=args.port, host=args.host, open_browser=args.open,
                                              idle_minutes=args.idle_minutes), cwd=folder)
        try:
            return proc.wait()
        except (KeyboardInterrupt, _Stop):
            _stop_server(proc)
            return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(folder, ignore_errors=True)


class _Stop(Exception):
    """SIGTERM arrived: stop Voilà and its kernels, remove the app's folder, exit."""


def _raise_stop(signum: int, frame: object) -> None:
    raise _Stop()


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to Voilà, which shuts its kernels down; SIGKILL if it has not stopped within 15 s."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second stop signal does not cut this short
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
