"""Guards at the edge of the file system: what funnelsim reads, and where it may write.

Reading: every input file (scenario, ``extends`` target, sweep, CRM export, score model)
goes through :func:`open_regular`, which accepts a regular file only — never a folder, a
FIFO, a device such as ``/dev/zero`` or a socket — follows symbolic links but reports a
loop as one line, and refuses a file above its size limit (:mod:`funnelsim.limits`)
before reading a byte. Reading stops at the limit even if the file grows meanwhile.

Writing: :func:`check_output_file` and :func:`check_output_folder` make sure a
destination can be written *before* the work that produces it (a simulation, a notebook),
by creating a probe file where the output will go. Every ``OSError`` becomes an
:class:`~funnelsim.errors.OutputError` naming the path.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

from .errors import InputError, OutputError
from .limits import check, limit

__all__ = ["open_regular", "read_regular", "read_text", "check_output_file", "check_output_folder",
           "describe_os_error", "file_kind"]


def describe_os_error(exc: OSError) -> str:
    """The reason of an OSError in words, without the path (the caller names it)."""
    if exc.errno == errno.ELOOP:
        return "a loop of symbolic links"
    if exc.errno == errno.ENAMETOOLONG:
        return "the name is too long for the file system"
    if exc.errno == errno.EISDIR:
        return "is a folder, not a file"
    if exc.errno == errno.ENOTDIR:
        return "part of the path is a file, not a folder"
    if exc.errno in (errno.EROFS,):
        return "the file system is read-only"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno == errno.ENOENT:
        return "file not found"
    text = exc.strerror or str(exc) or type(exc).__name__
    return text.splitlines()[0] if text else type(exc).__name__


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: str | Path, limit_name: str, source: str | None = None,
                 error: type[InputError] = InputError) -> BinaryIO:
    """Open `path` for reading if it is a regular file within limit `limit_name`; else one clear error."""
    source = source if source is not None else str(path)
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL byte
        if isinstance(exc, FileNotFoundError):
            raise error(source, None, "file not found") from None
        reason = describe_os_error(exc) if isinstance(exc, OSError) else "not a usable path (NUL byte)"
        raise error(source, None, f"cannot read: {reason}") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(source, None, f"cannot read: {file_kind(info.st_mode)}, not a regular file")
    check(limit_name, info.st_size, source, None, "file size", error)
    try:  # O_NONBLOCK: if the path was swapped for a FIFO since the stat, opening does not block
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(source, None, f"cannot read: {describe_os_error(exc)}") from None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            raise error(source, None, f"cannot read: {file_kind(opened.st_mode)}, not a regular file")
        check(limit_name, opened.st_size, source, None, "file size", error)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | Path, limit_name: str, source: str | None = None,
                 error: type[InputError] = InputError) -> bytes:
    """The bytes of a regular file, never more than the limit (even if the file grows while read)."""
    source = source if source is not None else str(path)
    cap = int(limit(limit_name))
    with open_regular(path, limit_name, source, error) as handle:
        try:
            data = handle.read(cap + 1)
        except OSError as exc:
            raise error(source, None, f"cannot read: {describe_os_error(exc)}") from None
    check(limit_name, len(data), source, None, "file size", error)
    return data


def read_text(path: str | Path, limit_name: str, source: str | None = None,
              error: type[InputError] = InputError) -> str:
    """A regular file's UTF-8 text (a byte-order mark is dropped)."""
    source = source if source is not None else str(path)
    data = read_regular(path, limit_name, source, error)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(source, None, f"not UTF-8 text (byte {exc.start + 1})") from None


def _probe(folder: Path, option: str, shown: Path) -> None:
    try:
        fd, name = tempfile.mkstemp(prefix=".funnelsim-probe.", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        reason = "the folder does not accept new files" if exc.errno == errno.ENOENT else describe_os_error(exc)
        raise OutputError(option, None, f"{shown}: cannot write there: {reason}") from None


def _make_folder(folder: Path, option: str, shown: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(option, None, f"{folder} exists and is not a folder") from None
    except (OSError, ValueError) as exc:
        reason = describe_os_error(exc) if isinstance(exc, OSError) else "not a usable path (NUL byte)"
        raise OutputError(option, None, f"{shown}: cannot create the folder {folder}: {reason}") from None
    if not folder.is_dir():
        raise OutputError(option, None, f"{folder} is not a folder")


def check_output_file(path: str | Path, option: str) -> Path:
    """Check that a file can be written at `path` (its folder is created); before the work that makes it."""
    path = Path(path)
    if "\x00" in str(path):
        raise OutputError(option, None, f"{path}: not a usable path (NUL byte)")
    if not path.name or path.name in (".", ".."):
        raise OutputError(option, None, f"{path}: needs a file name")
    if len(os.fsencode(path.name)) > 255:
        raise OutputError(option, None, f"{path}: the file name is longer than 255 bytes")
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise OutputError(option, None, f"{path}: {describe_os_error(exc)}") from None
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(option, None, f"{path} is a folder; give a file name such as {path / 'out'}")
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise OutputError(option, None, f"{path}: is {file_kind(info.st_mode)}; give a regular file to write")
    try:
        max_name = os.pathconf(path.parent if str(path.parent) else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        max_name = 255
    if len(os.fsencode(path.name)) > max_name:
        raise OutputError(option, None, f"{path}: the file name is longer than {max_name} bytes")
    folder = path.parent
    _make_folder(folder, option, path)
    _probe(folder, option, path)
    return path


def check_output_folder(path: str | Path, option: str) -> Path:
    """Check that `path` is (or can become) a folder funnelsim may write into."""
    path = Path(path)
    if "\x00" in str(path):
        raise OutputError(option, None, f"{path}: not a usable path (NUL byte)")
    try:
        max_name = os.pathconf(path.parent if str(path.parent) else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        max_name = 255
    if any(len(os.fsencode(part)) > max_name for part in path.parts):
        raise OutputError(option, None, f"{path}: a folder name is longer than {max_name} bytes")
    _make_folder(path, option, path)
    _probe(path, option, path)
    return path
