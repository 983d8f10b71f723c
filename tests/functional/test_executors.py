"""Serial, local pool and Dask executors give identical results; bad Dask addresses are clear errors."""

from __future__ import annotations

import math
import os
import socket
from collections.abc import Iterator

import pandas as pd
import pytest

from funnelsim.errors import FunnelsimError, InputError
from funnelsim.experiments.executors import (
    DASK_ADDRESS_ENV,
    DaskExecutor,
    PoolExecutor,
    SerialExecutor,
    make_executor,
)
from funnelsim.experiments.compare import compare
from funnelsim.experiments.replicate import replicate
from funnelsim.scenario import Scenario, load_scenario


@pytest.fixture(scope="module")
def dask_address() -> Iterator[str]:
    """A real distributed.LocalCluster on loopback (threads in this process, so it starts fast)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1",
                      dashboard_address=None) as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def pair(scenarios_dir) -> tuple[Scenario, Scenario]:
    return (load_scenario(scenarios_dir / "baseline.yaml", ["months=0.5"]),
            load_scenario(scenarios_dir / "five_minute_sla.yaml", ["months=0.5"]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pool_keeps_input_order_and_reports_every_result() -> None:
    seen: list[int] = []
    with PoolExecutor(workers=2) as pool:
        out = pool.map(math.sqrt, [16.0, 1.0, 9.0, 4.0, 25.0], on_result=lambda i, r: seen.append(i))
        again = pool.map(abs, [-1, -2])  # the pool is reused until closed
    assert out == [4.0, 1.0, 3.0, 2.0, 5.0] and again == [1, 2]
    assert sorted(seen) == [0, 1, 2, 3, 4]
    assert SerialExecutor().map(math.sqrt, [9.0]) == [3.0]


def test_serial_pool_and_dask_give_identical_results(pair, dask_address: str) -> None:
    base, variant = pair
    with SerialExecutor() as ex:
        reference = compare(base, variant, replications=3, seed=9, executor=ex)
    with PoolExecutor(workers=2) as ex:
        pooled = compare(base, variant, replications=3, seed=9, executor=ex)
    with DaskExecutor(dask_address) as ex:
        assert ex.workers == 2
        distributed = compare(base, variant, replications=3, seed=9, executor=ex)
    for other in (pooled, distributed):
        pd.testing.assert_frame_equal(other.runs, reference.runs)
        pd.testing.assert_frame_equal(other.table, reference.table)


def test_environment_variable_selects_dask(pair, dask_address: str, monkeypatch) -> None:
    monkeypatch.setenv(DASK_ADDRESS_ENV, dask_address)
    with make_executor() as ex:
        assert isinstance(ex, DaskExecutor) and ex.address == dask_address
        runs = replicate(pair[0], replications=2, seed=1, executor=ex)
    assert runs.equals(replicate(pair[0], replications=2, seed=1, executor=SerialExecutor()))
    monkeypatch.delenv(DASK_ADDRESS_ENV)
    assert isinstance(make_executor(), PoolExecutor)


def test_a_dying_worker_is_a_clear_error_not_a_hang() -> None:
    with PoolExecutor(workers=2) as pool:
        with pytest.raises(FunnelsimError, match="stopped unexpectedly"):
            pool.map(os._exit, [3, 3])


def test_make_executor_kinds(monkeypatch) -> None:
    monkeypatch.delenv(DASK_ADDRESS_ENV, raising=False)
    assert isinstance(make_executor("serial"), SerialExecutor)
    assert isinstance(make_executor(workers=1), SerialExecutor)
    assert make_executor("pool", workers=3).workers == 3
    with pytest.raises(InputError, match="unknown kind 'mpi'"):
        make_executor("mpi")
    with pytest.raises(InputError, match=DASK_ADDRESS_ENV):
        make_executor("dask")
    with pytest.raises(InputError, match="at least 1"):
        PoolExecutor(workers=0)


def test_unreachable_dask_scheduler_names_the_address() -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(InputError) as info:
        DaskExecutor(address, timeout=1.0)
    text = str(info.value)
    assert text == f"--dask: cannot reach the Dask scheduler at {address} (Connection refused)"
    assert "\n" not in text


def test_a_server_that_is_not_a_dask_scheduler_fails_within_the_timeout() -> None:
    with socket.socket() as server:  # accepts connections (kernel backlog) but never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(InputError, match=f"cannot reach the Dask scheduler at {address}: no answer within 1 s"):
            DaskExecutor(address, timeout=1.0)


@pytest.mark.parametrize("address", ["", "not an address", "tcp://host-without-port"])
def test_malformed_dask_addresses(address: str) -> None:
    with pytest.raises(InputError, match="scheduler address"):
        DaskExecutor(address, timeout=1.0)
