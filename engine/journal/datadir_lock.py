"""One core per data directory: an exclusive ``flock`` on ``DATA_DIR/LOCK``.

The lock is taken before anything else in the directory is read or written and
held for the core's whole life. The kernel drops a flock when the last file
descriptor of its open file description closes, which happens however its
holders die: there is never a stale lock to clean up, and nothing to guess
from a pid. ``serve`` takes it before it starts any child and hands the locked
descriptor to its core (``pass_fds``): the two then share one lock, so the
directory stays locked while a killed supervisor's core is still draining. A
bare core takes it itself.

The file holds a line naming the holder (``pid 123 (core of serve pid 120),
since 2026-12-01T22:40:00Z``), for the message a second server prints while it
waits. That line is information only: the flock is the lock.

A reader that must not change anything (``replay --format journal``) never
takes the lock; ``holder()`` tells it whether the directory is live.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime

LOCK_NAME = "LOCK"
DEFAULT_WAIT_S = 10.0
_POLL_S = 0.05


class DataDirLocked(Exception):
    """Another live process holds the directory's lock."""

    def __init__(self, data_dir: str, holder: str, waited: float) -> None:
        super().__init__(
            f"data directory {data_dir} is in use by {holder or 'another process'} "
            f"(waited {waited:g} s for its lock): not starting, nothing was changed"
        )
        self.data_dir = data_dir
        self.holder = holder


def lock_path(data_dir: str | os.PathLike[str]) -> str:
    return os.path.join(os.fspath(data_dir), LOCK_NAME)


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 512, 0).decode(errors="replace").strip()
    except OSError:
        return ""


def _try_lock(fd: int, how: int) -> bool:
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


class DataDirLock:
    """A held lock on a data directory; ``fd`` is its descriptor (to hand to a child)."""

    __slots__ = ("data_dir", "fd", "waited")

    def __init__(self, data_dir: str, fd: int) -> None:
        self.data_dir = data_dir
        self.fd = fd
        # Whether another holder had it when we asked: a server stopping, whose
        # other processes may still be on their way out.
        self.waited = False

    @classmethod
    def acquire(
        cls,
        data_dir: str | os.PathLike[str],
        *,
        wait: float = DEFAULT_WAIT_S,
        say: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> DataDirLock:
        """Lock ``data_dir`` (created if missing), waiting up to ``wait`` s for a holder.

        Raises DataDirLocked naming the holder when the wait runs out. ``say`` is
        told once whose lock it is waiting for.
        """
        path = os.fspath(data_dir)
        os.makedirs(path, exist_ok=True)
        fd = os.open(lock_path(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            started = clock()
            told = held = False
            while not _try_lock(fd, fcntl.LOCK_EX):
                held = True
                waited = clock() - started
                if waited >= wait:
                    raise DataDirLocked(path, _read_holder(fd), wait)
                if not told and say is not None:
                    who = _read_holder(fd) or "another process"
                    say(
                        f"data directory {path} is locked by {who}: waiting up to {wait:g} s "
                        "for it (a stopped server's core may still be draining)"
                    )
                    told = True
                time.sleep(_POLL_S)  # flock has no timed wait; polling is its only bound
        except BaseException:
            os.close(fd)
            raise
        lock = cls(path, fd)
        lock.waited = held
        lock.describe_holder(os.getpid())
        return lock

    @classmethod
    def adopt(cls, data_dir: str | os.PathLike[str], fd: int, *, parent: int | None) -> DataDirLock:
        """Take over the lock a parent took and passed down as ``fd``.

        Checks that ``fd`` really is that directory's lock file and that it is
        held through it (flock on a descriptor that already holds the lock
        succeeds at once; on any other it would fail), then names us as holder.
        """
        path = os.fspath(data_dir)
        mine, theirs = os.fstat(fd), os.stat(lock_path(path))
        if (mine.st_dev, mine.st_ino) != (theirs.st_dev, theirs.st_ino):
            raise ValueError(f"descriptor {fd} is not the lock file of {path}")
        if not _try_lock(fd, fcntl.LOCK_EX):
            raise DataDirLocked(path, _read_holder(fd), 0.0)
        os.set_inheritable(fd, False)
        lock = cls(path, fd)
        lock.describe_holder(os.getpid(), parent)
        return lock

    def describe_holder(self, pid: int, parent: int | None = None) -> None:
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        who = f"pid {pid}" + (f" (core of serve pid {parent})" if parent else "")
        line = f"{who}, since {since}\n".encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, line, 0)

    def release(self) -> None:
        """Close our descriptor (the lock goes once no other holder keeps it). Idempotent."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def holder(data_dir: str | os.PathLike[str]) -> str | None:
    """Who holds ``data_dir``'s lock now (its line), or None if nobody does.

    Never creates or changes anything: a directory without a LOCK file is not live.
    """
    try:
        fd = os.open(lock_path(data_dir), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        if _try_lock(fd, fcntl.LOCK_SH):
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        return _read_holder(fd) or "another process"
    finally:
        os.close(fd)
