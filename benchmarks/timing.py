"""Shared by the benchmark scripts: best-of-n CPU and wall time of a call."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

__all__ = ["timed"]


def timed(fn: Callable[[], T], repeat: int) -> tuple[float, float, T]:
    """Best CPU seconds (this process), best wall seconds, and the last result of `repeat` calls."""
    best_cpu, best_wall, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        out = fn()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_cpu, best_wall, out
