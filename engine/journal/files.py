"""The journal's file layer: the only way the journal touches the disk.

The writer and reader call these few operations and nothing else, so that the
crash tests can put a layer in between that keeps unsynced writes in memory
and, at a simulated crash, applies, drops or garbles each of them
(tests/engine/faulty_fs.py, after SQLite's test6.c).
"""

from __future__ import annotations

import os
from typing import Protocol

Bytes = bytes | bytearray | memoryview


class AppendFile(Protocol):
    """A file open for appending."""

    def write(self, data: Bytes) -> None:
        """Append all of ``data`` (or raise)."""

    def sync(self) -> None:
        """Return once everything written so far is on stable storage."""

    def close(self) -> None: ...


class FileLayer(Protocol):
    def list_dir(self, path: str) -> list[str]:
        """The names in a directory."""

    def make_dir(self, path: str) -> None:
        """Create the directory (and parents) if missing."""

    def read(self, path: str) -> bytes:
        """The whole content of a file."""

    def open_append(self, path: str) -> AppendFile:
        """Open for appending, creating the file if missing."""

    def truncate(self, path: str, size: int) -> None:
        """Cut the file to ``size`` bytes, durably (synced before returning)."""

    def sync_dir(self, path: str) -> None:
        """Make the directory's entries (a file just created) durable."""


class OsAppendFile:
    __slots__ = ("_fd",)

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, data: Bytes) -> None:
        view = memoryview(data)
        while view:
            # os.write may write less than asked (a signal, a full pipe): loop on the rest
            n = os.write(self._fd, view)
            view = view[n:]

    def sync(self) -> None:
        # fdatasync is enough for an append: it also flushes the size change that
        # reading the new bytes back depends on, and skips the mtime update.
        _datasync(self._fd)

    def fileno(self) -> int:
        """The descriptor (a GroupCommit's compiled sync loop syncs it directly)."""
        return self._fd

    def close(self) -> None:
        os.close(self._fd)


class OsSegmentReader:
    """One file open for reads at given offsets (the look-ahead's header walk)."""

    __slots__ = ("_fd", "size")

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        self.size = os.fstat(self._fd).st_size

    def read_at(self, offset: int, size: int) -> bytes:
        return os.pread(self._fd, size, offset)

    def close(self) -> None:
        os.close(self._fd)


class OsFileLayer:
    """The real file system. Besides the FileLayer's operations, ``open_segment``: a
    file read piece by piece, which the look-ahead uses where a layer has it."""

    def open_segment(self, path: str) -> OsSegmentReader:
        return OsSegmentReader(path)

    def list_dir(self, path: str) -> list[str]:
        return os.listdir(path)

    def make_dir(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def read(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def open_append(self, path: str) -> AppendFile:
        return OsAppendFile(path)

    def truncate(self, path: str, size: int) -> None:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)

    def sync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _datasync(fd: int) -> None:
    if hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:  # macOS has no fdatasync
        os.fsync(fd)


OS_FILES: FileLayer = OsFileLayer()
