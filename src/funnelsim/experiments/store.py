"""A result store: the KPIs of every replication ever run, as Parquet files on disk.

One file per replication, keyed by the scenario's content hash, the seed and the
funnelsim version: ``ROOT/v<version>-<code>/<scenario hash>/<seed>.parquet``, with two
columns (``kpi``, ``value``) and the key in the file's metadata. ``<code>`` is a digest of
the package's source files, so a model edited without a version bump (as happens during
development) never reuses results of the code before the edit. A rerun of a comparison or a
sweep reads what is there and simulates only what is missing. Files are written
atomically (:mod:`funnelsim.atomic`): a run killed mid-write leaves at most a ``.tmp``
file, which is never read; a file that cannot be read is treated as missing and rewritten.

A new funnelsim version (or changed code) starts an empty folder, so results of an older
model are never mixed with a newer one.
"""

from __future__ import annotations

from pathlib import Path

import hashlib

import pandas as pd

from .._version import __version__
from ..atomic import write_parquet

__all__ = ["ResultStore", "package_version", "code_digest"]


def package_version() -> str:
    """The installed funnelsim version (also what Dask workers report)."""
    return __version__


def code_digest() -> str:
    """A short digest of every Python source file of the installed package."""
    package = Path(__file__).resolve().parents[1]  # funnelsim/, not just funnelsim/experiments/
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:10]


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-+" else "_" for c in text)


class ResultStore:
    """KPIs of replications keyed by (scenario hash, seed, package version and code digest)."""

    def __init__(self, root: str | Path, version: str | None = None, code: str | None = None) -> None:
        self.root = Path(root)
        self.version = version or package_version()
        self.code = code or code_digest()

    def __repr__(self) -> str:
        return f"ResultStore({str(self.root)!r}, version={self.version!r}, code={self.code!r})"

    @property
    def folder(self) -> Path:
        return self.root / f"v{_safe(self.version)}-{_safe(self.code)}"

    def path(self, scenario_hash: str, seed: int) -> Path:
        return self.folder / _safe(scenario_hash) / f"{int(seed)}.parquet"

    def __contains__(self, key: tuple[str, int]) -> bool:
        return self.get(*key) is not None

    def get(self, scenario_hash: str, seed: int) -> dict[str, float] | None:
        """The stored KPIs of one replication, or None if absent or unreadable."""
        path = self.path(scenario_hash, seed)
        if not path.is_file():
            return None
        try:
            frame = pd.read_parquet(path)
            return {str(k): float(v) for k, v in zip(frame["kpi"], frame["value"])}
        except Exception:  # a damaged file is never trusted: the replication runs again
            return None

    def put(self, scenario_hash: str, seed: int, kpis: dict[str, float], scenario_name: str = "") -> Path:
        """Store one replication's KPIs (atomically; an existing entry is replaced)."""
        frame = pd.DataFrame({"kpi": list(kpis), "value": [float(v) for v in kpis.values()]})
        meta = {"scenario": scenario_name, "scenario_hash": scenario_hash, "seed": str(int(seed)),
                "version": self.version, "code": self.code}
        return write_parquet(self.path(scenario_hash, seed), frame, meta)

    def keys(self) -> list[tuple[str, int]]:
        """Every (scenario hash, seed) stored for this version."""
        if not self.folder.is_dir():
            return []
        out = []
        for path in sorted(self.folder.glob("*/*.parquet")):
            if path.stem.isdigit():
                out.append((path.parent.name, int(path.stem)))
        return out

    def __len__(self) -> int:
        return len(self.keys())

    def frame(self) -> pd.DataFrame:
        """Everything stored for this version as one tidy table (scenario_hash, seed, kpi, value)."""
        rows = []
        for scenario_hash, seed in self.keys():
            stored = self.get(scenario_hash, seed)
            for kpi, value in (stored or {}).items():
                rows.append((scenario_hash, seed, kpi, value))
        return pd.DataFrame(rows, columns=["scenario_hash", "seed", "kpi", "value"])
