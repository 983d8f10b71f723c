"""Where replications run: serially, in a local process pool, or on a Dask cluster.

One small interface, three implementations, identical results for the same seeds. An
executor is a context manager with one method, :meth:`Executor.map`, which applies a
function to every item and returns the results in input order. The function must be a
module-level function of the package (e.g. ``funnelsim.experiments.replicate.run_task``), never one
defined in a notebook: process-pool and Dask workers import it by name.

    >>> with make_executor("serial") as ex:  # "pool" and "dask" are used the same way
    ...     ex.map(abs, [-2, 1, -3])
    [2, 1, 3]
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from ..errors import FunnelsimError, InputError

__all__ = [
    "Executor",
    "SerialExecutor",
    "PoolExecutor",
    "DaskExecutor",
    "make_executor",
    "owned_executor",
    "available_cores",
    "DASK_ADDRESS_ENV",
    "EXECUTOR_KINDS",
]

T = TypeVar("T")
R = TypeVar("R")

#: environment variable naming a Dask scheduler; used when no executor kind is given
DASK_ADDRESS_ENV = "FUNNELSIM_DASK_ADDRESS"
EXECUTOR_KINDS = ("serial", "pool", "dask")

OnResult = Callable[[int, Any], None]


def available_cores() -> int:
    """Cores this process may use (respects CPU affinity where the OS reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


class Executor:
    """Apply a package-level function to items; results come back in input order.

    ``on_result(index, result)`` is called in the calling process as each result
    arrives (in completion order): progress bars and the result store hook in there, so a
    run killed halfway keeps what it finished.
    """

    name = "executor"

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, on_result: OnResult | None = None) -> list[R]:
        raise NotImplementedError

    @property
    def workers(self) -> int:
        return 1

    def close(self) -> None:
        """Release workers and connections (idempotent)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(workers={self.workers})"


class SerialExecutor(Executor):
    """Everything in this process, one item after another (the reference for results)."""

    name = "serial"

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, on_result: OnResult | None = None) -> list[R]:
        out: list[R] = []
        for index, item in enumerate(items):
            result = fn(item)
            if on_result is not None:
                on_result(index, result)
            out.append(result)
        return out


def _pool_context() -> multiprocessing.context.BaseContext:
    # never 'fork': forking a Jupyter kernel or a threaded process is unsafe
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods and sys.platform != "darwin"
                                       else "spawn")


class PoolExecutor(Executor):
    """A local process pool (``concurrent.futures``, 'forkserver' or 'spawn' start).

    ``workers=None`` uses every available core. The pool starts on first use and is
    reused until :meth:`close`; one item (or one worker) runs in this process instead.
    """

    name = "pool"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise InputError("workers", None, f"must be a whole number of at least 1, got {workers!r}")
        self._workers = workers or available_cores()
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=_pool_context(),
                                             initializer=exit_with_parent, initargs=(os.getpid(),))
        return self._pool

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, on_result: OnResult | None = None) -> list[R]:
        items = list(items)
        if len(items) <= 1 or self._workers == 1:
            return SerialExecutor().map(fn, items, on_result=on_result)
        pool = self._ensure_pool()
        try:
            futures: dict[Future, int] = {pool.submit(fn, item): index for index, item in enumerate(items)}
            return _collect(futures, len(items), on_result)
        except BrokenProcessPool:
            self.close()
            raise FunnelsimError("a worker of the local process pool stopped unexpectedly (killed, out of memory, "
                                 "or a script without `if __name__ == \"__main__\":`); try --workers 1") from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def exit_with_parent(parent: int) -> None:
    """Pool worker initializer: the worker exits as soon as the process that made the pool dies.

    A watchdog thread waits on the parent (a pidfd on Linux: woken by the kernel when the
    parent ends; elsewhere a twice-a-second check), so a ``kill -9`` of a sweep leaves no
    worker behind — and with the workers gone, the forkserver and the resource tracker
    end too.
    """
    threading.Thread(target=_watch, args=(parent,), name="funnelsim-parent-watchdog", daemon=True).start()


def _watch(parent: int) -> None:
    try:
        handle = os.pidfd_open(parent)
    except (AttributeError, OSError):  # not Linux >= 5.3, or the parent is already gone
        handle = None
    if handle is not None:
        select.select([handle], [], [])  # readable once the parent has ended
    else:
        while _alive(parent):
            time.sleep(0.5)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _collect(futures: dict[Any, int], n: int, on_result: OnResult | None) -> list:
    out: list[Any] = [None] * n
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=futures.__getitem__):
                index = futures[future]
                out[index] = future.result()
                if on_result is not None:
                    on_result(index, out[index])
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    return out


class DaskExecutor(Executor):
    """Run items on an existing Dask distributed cluster (``tcp://host:8786``).

    Workers must have the same funnelsim version installed; that is checked on
    connection. An unreachable scheduler is an :class:`InputError` naming the address.
    ``address`` may also be a ``distributed.Client`` you already hold (not closed here).
    """

    name = "dask"

    def __init__(self, address: Any, *, timeout: float = 5.0, source: str = "--dask") -> None:
        from distributed import Client

        self.source = source
        if isinstance(address, Client):
            self._client, self._own, self.address = address, False, str(address.scheduler.address)
        else:
            if not isinstance(address, str) or not address.strip():
                raise InputError(source, None, f"needs a scheduler address such as tcp://host:8786, got {address!r}")
            self.address = address.strip()
            _probe(self.address, timeout, source)
            try:
                self._client = Client(self.address, timeout=timeout, set_as_default=False)
            except Exception as exc:  # OSError, TimeoutError, ValueError for malformed addresses
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise InputError(source, None, f"cannot reach the Dask scheduler at {self.address} "
                                 f"within {timeout:g} s ({reason[:160]})") from None
            self._own = True
        self._check_versions()

    def _check_versions(self) -> None:
        from .._version import __version__
        from .store import package_version

        try:
            versions = self._client.run(package_version)
        except Exception as exc:
            self.close()
            raise InputError(self.source, None, f"Dask workers at {self.address} cannot run funnelsim "
                             f"({type(exc).__name__}: {str(exc)[:120]}); install it on every worker") from None
        wrong = sorted({v for v in versions.values() if v != __version__})
        if wrong:
            self.close()
            raise InputError(self.source, None, f"Dask workers at {self.address} run funnelsim {wrong[0]}, "
                             f"this process runs {__version__}; results would not match")

    @property
    def workers(self) -> int:
        info = self._client.scheduler_info()
        return max(1, sum(int(w.get("nthreads", 1)) for w in info.get("workers", {}).values()))

    def map(self, fn: Callable[[T], R], items: Sequence[T], *, on_result: OnResult | None = None) -> list[R]:
        from distributed import as_completed

        items = list(items)
        if not items:
            return []
        futures = self._client.map(fn, items, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(items)
        try:
            for future in as_completed(futures, loop=self._client.loop):
                i = index[future.key]
                out[i] = future.result()
                if on_result is not None:
                    on_result(i, out[i])
        except BaseException:
            self._client.cancel(futures)
            raise
        return out

    def close(self) -> None:
        if self._own and self._client is not None:
            self._client.close()
            self._client = None  # type: ignore[assignment]


def _probe(address: str, timeout: float, source: str) -> None:
    """Ask the address who it is, with a hard deadline, before handing it to a Dask client.

    A closed port fails at once; a silent host or a server that is not a Dask scheduler
    (e.g. the dashboard port) fails after `timeout` instead of hanging. Runs in its own
    thread so it also works where an event loop is already running (Jupyter).
    """
    rest = address[len("tcp://"):] if address.startswith("tcp://") else address
    if "://" not in rest:
        host, sep, port = rest.rpartition(":")
        if not sep or not port.isdigit() or not host.strip("[]"):
            raise InputError(source, None, f"{address!r} is not a scheduler address such as tcp://host:8786")
        try:  # Dask retries a refused connection until its timeout; a plain socket says so at once
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
        except OSError as exc:
            reason = exc.strerror or ("timed out" if isinstance(exc, TimeoutError) else type(exc).__name__)
            raise InputError(source, None, f"cannot reach the Dask scheduler at {address} ({reason})") from None
    with ThreadPoolExecutor(max_workers=1) as thread:
        job = thread.submit(asyncio.run, asyncio.wait_for(_identity(address, timeout), timeout))
        try:
            info = job.result()
        except (asyncio.TimeoutError, TimeoutError):
            raise InputError(source, None, f"cannot reach the Dask scheduler at {address}: "
                             f"no answer within {timeout:g} s") from None
        except Exception as exc:  # refused, unknown host, bad protocol, garbage from a non-Dask server
            reason = getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
            raise InputError(source, None, f"cannot reach the Dask scheduler at {address} ({reason[:160]})") from None
    if not isinstance(info, dict) or info.get("type") != "Scheduler":
        raise InputError(source, None, f"{address} answered, but it is not a Dask scheduler")


async def _identity(address: str, timeout: float) -> Any:
    from distributed.comm import connect

    comm = await connect(address, timeout=timeout)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


def make_executor(kind: str | None = None, dask_address: str | None = None, workers: int | None = None) -> Executor:
    """The executor a user asked for.

    ``kind`` is ``"serial"``, ``"pool"`` or ``"dask"``. Without a kind: Dask when an
    address is given (argument, else the ``FUNNELSIM_DASK_ADDRESS`` environment
    variable), serial when ``workers == 1``, otherwise a local pool on every core.
    """
    env_address = os.environ.get(DASK_ADDRESS_ENV, "").strip() or None
    if kind is not None and kind not in EXECUTOR_KINDS:
        raise InputError("executor", None, f"unknown kind {kind!r}; use one of {', '.join(EXECUTOR_KINDS)}")
    if kind == "dask" or (kind is None and (dask_address or env_address)):
        address = dask_address or env_address
        if not address:
            raise InputError("--dask", None, f"no scheduler address: pass one or set {DASK_ADDRESS_ENV}")
        return DaskExecutor(address, source="--dask" if dask_address else DASK_ADDRESS_ENV)
    if kind == "serial" or (kind is None and workers == 1):
        return SerialExecutor()
    return PoolExecutor(workers)


class owned_executor:  # noqa: N801 - used like a function in `with` statements
    """An executor given by the caller (left open) or a default one made here (closed on exit)."""

    def __init__(self, executor: Executor | None) -> None:
        self.given = executor
        self.made: Executor | None = None

    def __enter__(self) -> Executor:
        if self.given is not None:
            return self.given
        self.made = make_executor()
        return self.made

    def __exit__(self, *exc: object) -> None:
        if self.made is not None:
            self.made.close()
