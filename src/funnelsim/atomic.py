"""Atomic writes: a file is either complete or absent, never half-written.

Each writer writes to a temporary file in the target's folder, flushes it to disk and
renames it over the target (``os.replace`` is atomic on POSIX and Windows). A run killed
mid-write leaves at most a ``.tmp`` file that no reader trusts.

A folder of outputs (``run --out``, ``sweep --out``) is written the same way as a whole:
:func:`atomic_folder` fills a temporary sibling folder and renames it into place, so a
folder never mixes the files of two runs.

Any ``OSError`` while writing (a read-only or full disk, a path under a regular file, a
name too long) becomes one :class:`~funnelsim.errors.OutputError` naming the target.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Collection
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from .errors import OutputError
from .safe_io import describe_os_error

__all__ = ["atomic_path", "atomic_folder", "check_folder_target", "write_text", "write_json", "write_parquet"]


def _output_error(target: Path, exc: OSError, option: str | None = None) -> OutputError:
    if option:
        return OutputError(option, None, f"{target}: cannot write: {describe_os_error(exc)}")
    return OutputError(str(target), None, f"cannot write: {describe_os_error(exc)}")


@contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; on success it replaces `target` atomically."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:60]}.", suffix=".tmp", dir=target.parent)
        os.close(fd)
    except FileExistsError:
        raise OutputError(str(target), None, f"cannot write: {target.parent} exists and is not a folder") from None
    except OSError as exc:
        raise _output_error(target, exc) from None
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp_path, target)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        raise _output_error(target, exc) from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def check_folder_target(target: str | Path, option: str, ours: Collection[str]) -> Path:
    """Before the work: `target` may be replaced as a whole if it is absent, empty or holds only `ours`.

    A folder holding anything else (the user's files) is never replaced. The folder it
    will live in must exist or be creatable, and writable.
    """
    from .safe_io import check_output_folder

    target = Path(target)
    if not target.name or target.name in (".", ".."):
        target = target.resolve()
    try:
        exists = target.exists() or target.is_symlink()
    except (OSError, ValueError) as exc:
        raise OutputError(option, None, f"{target}: not a usable path") from None
    if exists:
        if target.is_symlink() or not target.is_dir():
            raise OutputError(option, None, f"{target}: exists and is not a folder")
        try:
            names = [p.name for p in target.iterdir()]
        except OSError as exc:
            raise _output_error(target, exc, option) from None
        foreign = sorted(n for n in names if n not in ours and not (n.startswith(".") and n.endswith(".tmp")))
        if foreign:
            raise OutputError(option, None, f"{target}: holds other files ({foreign[0]!r}...); funnelsim replaces "
                                                   "the folder as a whole, so give a new or empty folder")
    check_output_folder(target.parent, option)
    return target


@contextmanager
def atomic_folder(target: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it takes the place of `target` as a whole.

    An earlier `target` is moved aside and removed after the rename, so a reader sees the
    old folder, or (for an instant) none, or the new one, never a mix. A run killed before
    the end leaves `target` as it was and at most a hidden ``.tmp`` sibling.
    """
    target = Path(target)
    if not target.name or target.name in (".", ".."):
        target = target.resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name[:60]}.", suffix=".tmp", dir=target.parent))
    except FileExistsError:
        raise OutputError(str(target), None, f"cannot write: {target.parent} exists and is not a folder") from None
    except OSError as exc:
        raise _output_error(target, exc) from None
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual permissions
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name[:60]}.old.", suffix=".tmp", dir=target.parent))
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _output_error(target, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(target: str | Path, text: str) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_json(target: str | Path, data: Any) -> Path:
    return write_text(target, json.dumps(data, indent=2, sort_keys=True, default=_default) + "\n")


def _default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_parquet(target: str | Path, frame: pd.DataFrame, metadata: dict[str, str] | None = None) -> Path:
    """Write a DataFrame as Parquet with string key/value metadata in the file's schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({f"funnelsim.{k}".encode(): str(v).encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(merged)
    with atomic_path(target) as tmp:
        pq.write_table(table, tmp)
    return Path(target)
