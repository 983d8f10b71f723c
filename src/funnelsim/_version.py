"""The installed funnelsim version, in a module of its own.

Modules inside the package (the result store, the Dask executor's version check, the CLI)
import ``__version__`` from here rather than from the package root, so that nothing low in
the tree imports ``funnelsim/__init__.py`` back (which would make an import cycle).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("funnelsim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"
