"""Who runs the group commit's fdatasyncs: a thread that never holds the GIL, or its
reference, a plain Python thread.

    ThreadSyncer  a Python thread calls ``SyncTarget.sync()`` (any file layer: the
                  tests' gated and faulty ones too). It needs the GIL to start each
                  sync and to say it returned, so while the core's thread runs
                  Python both wait up to the switch interval (lowered here to 50 µs).
    NogilSyncer   the compiled loop (engine/journal/_sync_loop.pyx) on a thread of
                  its own, reading requests from a pipe and answering on another,
                  all in C: the sync starts the moment it is asked for. For the real
                  file system only (it syncs a descriptor).

Both: ``start(target)`` with none in flight, ``poll(block)`` -> (returned, error),
``done_fd`` readable once one has returned, ``close()``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import struct
import sys
import threading
from typing import Protocol

from ringmatch.engine.journal.files import OsFileLayer
from ringmatch.engine.journal.log import JournalWriter, SyncTarget

try:
    from ringmatch.engine.journal import _sync_loop
except ImportError:  # not built (no Cython here): the thread syncer does it all
    _sync_loop = None  # type: ignore[assignment]

SWITCH_INTERVAL_S = 50e-6
"""The interpreter's switch interval under a ThreadSyncer (sys.setswitchinterval)."""

_REQUEST = struct.Struct("=qq")  # the file's descriptor (-1: stop), the directory's or -1
_ANSWER = struct.Struct("=q")  # 0, or the errno of the failed sync


class Syncer(Protocol):
    @property
    def done_fd(self) -> int: ...

    def start(self, target: SyncTarget) -> None: ...

    def poll(self, block: bool) -> tuple[bool, BaseException | None]: ...

    def close(self) -> None: ...


class ThreadSyncer:
    __slots__ = ("_done", "_error", "_r", "_requests", "_thread", "_w")

    def __init__(self) -> None:
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._requests: queue.SimpleQueue[SyncTarget | None] = queue.SimpleQueue()
        self._done = threading.Event()
        self._error: BaseException | None = None
        if sys.getswitchinterval() > SWITCH_INTERVAL_S:
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._thread = threading.Thread(target=self._run, name="journal-sync", daemon=True)
        self._thread.start()

    @property
    def done_fd(self) -> int:
        return self._r

    def start(self, target: SyncTarget) -> None:
        self._done.clear()
        self._error = None
        self._requests.put(target)

    def poll(self, block: bool) -> tuple[bool, BaseException | None]:
        if not (self._done.is_set() or (block and self._done.wait())):
            return False, None
        with contextlib.suppress(BlockingIOError):
            os.read(self._r, 4096)
        return True, self._error

    def _run(self) -> None:
        while True:
            target = self._requests.get()
            if target is None:
                return
            try:
                target.sync()
            except BaseException as exc:  # handed to the core's thread
                self._error = exc
            self._done.set()
            with contextlib.suppress(BlockingIOError):
                os.write(self._w, b"\0")

    def close(self) -> None:
        self._requests.put(None)
        self._thread.join()
        os.close(self._r)
        os.close(self._w)


class NogilSyncer:
    __slots__ = ("_answers_r", "_answers_w", "_dir_fd", "_requests_r", "_requests_w", "_thread")

    def __init__(self) -> None:
        assert _sync_loop is not None
        self._requests_r, self._requests_w = os.pipe2(os.O_CLOEXEC)
        self._answers_r, self._answers_w = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(self._answers_r, False)
        self._dir_fd = -1
        self._thread = threading.Thread(
            target=_sync_loop.run,
            args=(self._requests_r, self._answers_w),
            name="journal-sync",
            daemon=True,
        )
        self._thread.start()

    @property
    def done_fd(self) -> int:
        return self._answers_r

    def start(self, target: SyncTarget) -> None:
        fileno = target.file.fileno()  # type: ignore[attr-defined]
        self._dir_fd = os.open(target.dir, os.O_RDONLY | os.O_CLOEXEC) if target.dir_dirty else -1
        os.write(self._requests_w, _REQUEST.pack(fileno, self._dir_fd))

    def poll(self, block: bool) -> tuple[bool, BaseException | None]:
        if block:
            select.select([self._answers_r], [], [])
        try:
            answer = os.read(self._answers_r, _ANSWER.size)  # written whole: under PIPE_BUF
        except BlockingIOError:
            return False, None
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1
        (err,) = _ANSWER.unpack(answer)
        return True, (OSError(err, os.strerror(err)) if err else None)

    def close(self) -> None:
        os.write(self._requests_w, _REQUEST.pack(-1, -1))
        self._thread.join()
        for fd in (self._requests_r, self._requests_w, self._answers_r, self._answers_w):
            os.close(fd)
        if self._dir_fd >= 0:
            os.close(self._dir_fd)


SYNCERS = ("nogil", "thread")


def syncer_for(writer: JournalWriter, name: str | None = None) -> Syncer:
    """``name`` (one of SYNCERS), or the best there is: the compiled loop on the real
    file system where it is built, the Python thread elsewhere."""
    if name is None:
        name = (
            "nogil"
            if _sync_loop is not None and isinstance(writer.files, OsFileLayer)
            else "thread"
        )
    if name == "nogil":
        if _sync_loop is None:
            raise RuntimeError(
                "the compiled sync loop (engine/journal/_sync_loop.pyx) is not built"
            )
        return NogilSyncer()
    if name == "thread":
        return ThreadSyncer()
    raise ValueError(f"unknown syncer {name!r}: expected one of {', '.join(SYNCERS)}")
