"""A file layer that crashes on cue, after SQLite's test6.c.

It implements ringmatch.engine.journal.files.FileLayer in memory and keeps, per file, what
reads see (the page cache) apart from what is on "disk". Writes go to the
cache and a list of pending writes; ``sync`` puts them on disk. A new file's
name is on disk only after ``sync_dir`` of its directory.

``crash_at=N`` makes the Nth I/O call raise SimulatedCrash (before doing
anything), and every call after it too. ``fail(what, errno, nth)`` makes the
nth coming call of one kind ("write", "sync": how the call's description
starts) raise ``OSError(errno)`` instead, as a full disk (ENOSPC) or a failed
device (EIO) does, without doing anything; the calls after it work (the
journal writer must not make any: it is spent). ``crash(rng)`` then plays the crash:
each pending write, sector by sector, is applied, dropped (a hole, read back as
zeros if a later sector lands) or garbled (random bytes); each file whose name
was never synced survives or vanishes. After it the layer works again, holding
only what a machine would find on restart.
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from ringmatch.engine.journal.files import AppendFile, Bytes

SECTOR = 512
CRASH_MODES = ("apply", "drop", "garble")


class SimulatedCrash(Exception):
    pass


@dataclass
class _File:
    cache: bytearray = field(default_factory=bytearray)
    disk: bytearray = field(default_factory=bytearray)
    pending: list[tuple[int, bytes]] = field(default_factory=list)  # (offset, data)
    name_synced: bool = False

    def flush(self) -> None:
        for offset, data in self.pending:
            _put(self.disk, offset, data)
        self.pending.clear()


def _put(disk: bytearray, offset: int, data: bytes) -> None:
    if len(disk) < offset:
        disk.extend(bytes(offset - len(disk)))  # a hole reads back as zeros
    disk[offset : offset + len(data)] = data


class FaultyFiles:
    def __init__(self, crash_at: int | None = None) -> None:
        self.files: dict[str, _File] = {}
        self.dirs: set[str] = set()
        self.calls = 0
        self.crash_at = crash_at
        self.crashed = False
        self._fail: tuple[str, int, int] | None = None  # (kind, errno, calls of it to go)
        self.failed: list[str] = []  # the calls made to fail

    def fail(self, what: str, errno: int, nth: int = 1) -> None:
        """Make the ``nth`` coming I/O call of kind ``what`` raise OSError(errno)."""
        self._fail = (what, errno, nth)

    def io(self, what: str) -> None:
        """Count one I/O call; raise if this is the one to crash at (or after it)."""
        if self.crashed:
            raise SimulatedCrash(f"I/O after the crash: {what}")
        self.calls += 1
        if self.calls == self.crash_at:
            self.crashed = True
            raise SimulatedCrash(f"crash at I/O call {self.calls}: {what}")
        if self._fail is not None and what.startswith(self._fail[0]):
            kind, code, left = self._fail
            if left > 1:
                self._fail = (kind, code, left - 1)
            else:
                self._fail = None
                self.failed.append(what)
                raise OSError(code, os.strerror(code))

    # -- FileLayer -------------------------------------------------------------

    def list_dir(self, path: str) -> list[str]:
        self.io(f"list {path}")
        return [os.path.basename(p) for p in self.files if os.path.dirname(p) == path]

    def make_dir(self, path: str) -> None:
        self.io(f"mkdir {path}")
        self.dirs.add(path)

    def read(self, path: str) -> bytes:
        self.io(f"read {path}")
        return bytes(self.files[path].cache)

    def open_append(self, path: str) -> AppendFile:
        self.io(f"open {path}")
        if os.path.dirname(path) not in self.dirs:
            raise FileNotFoundError(path)
        self.files.setdefault(path, _File())
        return _FaultyAppend(self, path)

    def truncate(self, path: str, size: int) -> None:
        self.io(f"truncate {path} to {size}")
        f = self.files[path]
        f.flush()  # the real one syncs after cutting
        del f.cache[size:]
        del f.disk[size:]

    def sync_dir(self, path: str) -> None:
        self.io(f"sync dir {path}")
        for p, f in self.files.items():
            if os.path.dirname(p) == path:
                f.name_synced = True

    # -- the crash -------------------------------------------------------------

    def crash(self, rng: random.Random, modes: Sequence[str] = CRASH_MODES) -> None:
        """Lose what a machine crash may lose; afterwards reads see the disk."""
        for path in list(self.files):
            f = self.files[path]
            if not f.name_synced and rng.random() < 0.5:
                del self.files[path]
                continue
            for offset, data in f.pending:
                for start in range(offset - offset % SECTOR, offset + len(data), SECTOR):
                    lo = max(start, offset)
                    hi = min(start + SECTOR, offset + len(data))
                    mode = rng.choice(modes)
                    if mode == "apply":
                        _put(f.disk, lo, data[lo - offset : hi - offset])
                    elif mode == "garble":
                        _put(f.disk, lo, rng.randbytes(hi - lo))
            f.pending.clear()
            f.cache = bytearray(f.disk)
            f.name_synced = True
        self.crashed = False
        self.crash_at = None


class _FaultyAppend:
    def __init__(self, fs: FaultyFiles, path: str) -> None:
        self._fs = fs
        self._path = path

    def write(self, data: Bytes) -> None:
        self._fs.io(f"write {len(data)} bytes to {self._path}")
        f = self._fs.files[self._path]
        f.pending.append((len(f.cache), bytes(data)))
        f.cache += data

    def sync(self) -> None:
        self._fs.io(f"sync {self._path}")
        self._fs.files[self._path].flush()

    def close(self) -> None:
        pass
