"""A file layer over the real file system whose fdatasyncs wait at a gate the test
opens: for the overlapped group commit's tests (ringmatch.engine.journal.group_commit),
which must see a sync provably still running."""

from __future__ import annotations

import errno
import os
import threading

from ringmatch.engine.journal.files import OS_FILES, AppendFile, Bytes

WAIT_S = 10.0


class GatedFiles:
    """The real file system, each fdatasync held until the test opens the gate once
    for it (``release``); ``durable``: per path, the bytes a returned sync covered
    (the file's size when that sync began). Closing a file while its sync runs, or
    two syncs of one file at once, fails the test."""

    def __init__(self) -> None:
        self.gate = threading.Semaphore(0)
        self.durable: dict[str, int] = {}
        self.syncing: set[str] = set()
        self.fail_next = False
        self.errors: list[str] = []

    def release(self, n: int = 1) -> None:
        self.gate.release(n)

    def open_append(self, path: str) -> AppendFile:
        return _GatedFile(self, path)

    def list_dir(self, path: str) -> list[str]:
        return OS_FILES.list_dir(path)

    def make_dir(self, path: str) -> None:
        OS_FILES.make_dir(path)

    def read(self, path: str) -> bytes:
        return OS_FILES.read(path)

    def truncate(self, path: str, size: int) -> None:
        OS_FILES.truncate(path, size)

    def sync_dir(self, path: str) -> None:
        OS_FILES.sync_dir(path)


class _GatedFile:
    def __init__(self, fs: GatedFiles, path: str) -> None:
        self.fs = fs
        self.path = path
        self.file = OS_FILES.open_append(path)

    def write(self, data: Bytes) -> None:
        self.file.write(data)

    def sync(self) -> None:
        fs = self.fs
        if self.path in fs.syncing:
            fs.errors.append(f"two syncs of {self.path} at once")
        fs.syncing.add(self.path)
        size = os.path.getsize(self.path)
        try:
            if not fs.gate.acquire(timeout=WAIT_S):
                fs.errors.append("a sync waited for a gate the test never opened")
            if fs.fail_next:
                fs.fail_next = False
                raise OSError(errno.EIO, "Input/output error")
            self.file.sync()
            fs.durable[self.path] = max(fs.durable.get(self.path, 0), size)
        finally:
            fs.syncing.discard(self.path)

    def close(self) -> None:
        if self.path in self.fs.syncing:
            self.fs.errors.append(f"{self.path} closed while its sync ran")
        self.file.close()
