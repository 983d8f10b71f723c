"""Random streams keyed by what they describe, so two scenarios can share the same leads.

Every random quantity gets its own numpy ``Generator`` spawned from the run's seed and a
stable key (a tuple of strings). Asking for ``("lead", "fit", "web_form")`` in scenario A
and in scenario B gives the same numbers, whatever else either simulation draws in
between: that is what makes common random numbers (paired A/B comparisons) work.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["Streams"]


def _key_words(key: tuple[str, ...]) -> tuple[int, ...]:
    digest = hashlib.sha256("\x1f".join(key).encode()).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


class Streams:
    """A factory of independent generators for one replication (one seed)."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)

    def generator(self, *key: str) -> np.random.Generator:
        seq = np.random.SeedSequence(entropy=self.seed, spawn_key=_key_words(key))
        return np.random.Generator(np.random.PCG64(seq))
