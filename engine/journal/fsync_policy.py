"""When the journal forces its writes to stable storage.

Three policies, by how much a machine crash (power loss, kernel panic) may take
with it; a process crash (SIGKILL) loses nothing under any of them, because
every batch is handed to the kernel before ``append_batch`` returns:

* ``every-batch`` (the default): one fsync per batch, before its acks leave.
  A machine crash loses nothing acknowledged.
* ``every 5ms`` (any number of ms): a batch is synced when at least that long
  has passed since the last sync; the core's idle path calls
  ``JournalWriter.sync_if_due`` so a quiet stream is synced too. A machine
  crash may lose the acknowledged inputs of that window.
* ``never``: the kernel writes back when it likes. A machine crash may lose any
  acknowledged input it has not written back.
"""

from __future__ import annotations

import re

import msgspec

_INTERVAL = re.compile(r"(?:every\s*)?(\d+)\s*ms")


class FsyncPolicy(msgspec.Struct, frozen=True):
    """``interval_ns`` is 0 for every batch, ``None`` for never."""

    interval_ns: int | None = 0

    @classmethod
    def every_batch(cls) -> FsyncPolicy:
        return cls(0)

    @classmethod
    def every_ms(cls, ms: int) -> FsyncPolicy:
        if ms <= 0:
            raise ValueError(f"fsync interval must be > 0 ms, got {ms}")
        return cls(ms * 1_000_000)

    @classmethod
    def never(cls) -> FsyncPolicy:
        return cls(None)

    @classmethod
    def parse(cls, text: str) -> FsyncPolicy:
        """``every-batch``, ``never``, or ``every 5ms`` / ``5ms``."""
        t = text.strip().lower()
        if t in ("every-batch", "batch"):
            return cls.every_batch()
        if t == "never":
            return cls.never()
        m = _INTERVAL.fullmatch(t)
        if m is None:
            raise ValueError(
                f"unknown fsync policy {text!r}: expected every-batch, never or 'every Nms'"
            )
        return cls.every_ms(int(m.group(1)))

    def due(self, now_ns: int, last_sync_ns: int) -> bool:
        """Should the journal sync now, given when it last did?"""
        if self.interval_ns is None:
            return False
        return now_ns - last_sync_ns >= self.interval_ns

    def __str__(self) -> str:
        if self.interval_ns is None:
            return "never"
        if self.interval_ns == 0:
            return "every-batch"
        return f"every {self.interval_ns // 1_000_000}ms"
