"""Waiting on a ring without burning a core: spin briefly, then sleep on a doorbell.

The sleeper and the waker follow the classic flag protocol:

    sleeper: sleeping = 1; FENCE; re-check the cursor; block on the doorbell
    waker:   publish the cursor; FENCE; if sleeping: ring the doorbell

Either the sleeper sees the new cursor, or the waker sees the flag: never neither.
Both FENCEs matter. x86-TSO keeps stores in order and loads in order, but lets a
load pass an earlier store to another address (the store buffer), which is exactly
the store-flag/load-cursor and store-cursor/load-flag pair here. ``full_fence`` is
an uncontended ``threading.Lock`` acquire/release: CPython implements it with glibc
``sem_trywait``/``sem_post``, i.e. ``lock cmpxchg``/``lock xadd``, and a locked
instruction is a full barrier on x86 (~0.1-0.2 us from Python). That is an
implementation detail, not a language promise; so a sleeper also wakes on its own
every ``slice_s`` and re-checks, which bounds the cost of a missed ring if the
reasoning ever fails (another CPU, another Python) to one slice, never a hang.

The doorbell is a named pipe (FIFO) in /dev/shm beside the ring's segment rather
than an eventfd: any process can open it by name (spawn, subprocess or unrelated),
with no file descriptor passing, and ``cleanup_stale`` removes it with the segment.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

_FENCE = threading.Lock()


def full_fence() -> None:
    """A StoreLoad barrier for this process's earlier stores (see the module doc)."""
    _FENCE.acquire()
    _FENCE.release()


class Doorbell:
    """A FIFO one side rings and the other blocks on; each process opens it read-write."""

    __slots__ = ("_fd", "_poll", "path")

    def __init__(self, path: Path) -> None:
        self.path = path
        # O_RDWR on a FIFO never blocks on Linux and means every opener also holds a
        # read end: a ring never fails with EPIPE because the sleeper is not there yet.
        try:
            self._fd: int | None = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise FileNotFoundError(f"doorbell {path} does not exist") from None
        if not stat.S_ISFIFO(os.fstat(self._fd).st_mode):
            os.close(self._fd)
            raise ValueError(f"doorbell {path} is not a FIFO")
        self._poll = select.poll()
        self._poll.register(self._fd, select.POLLIN)

    @classmethod
    def create(cls, path: Path) -> Doorbell:
        """Make the FIFO, replacing a leftover of the same name."""
        try:
            os.mkfifo(path, 0o600)
        except FileExistsError:
            path.unlink()
            os.mkfifo(path, 0o600)
        return cls(path)

    def ring(self) -> None:
        assert self._fd is not None, f"doorbell {self.path} is closed"
        # BlockingIOError: the pipe is full of earlier rings, the sleeper will wake anyway.
        with contextlib.suppress(BlockingIOError):
            os.write(self._fd, b"\x01")

    def wait(self, timeout_s: float) -> None:
        """Block until rung or ``timeout_s`` passes; swallow every pending ring."""
        assert self._fd is not None, f"doorbell {self.path} is closed"
        if self._poll.poll(math.ceil(timeout_s * 1000)):
            try:
                while os.read(self._fd, 4096):
                    pass
            except BlockingIOError:
                pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class SpinThenBlock:
    """The wait strategy: spin for ``spin_ns``, then sleep on a doorbell.

    ``spin_ns=0`` sleeps at once (lowest CPU); a large value approaches busy-spin
    (lowest latency, one core gone). ``slice_s`` is the safety-net re-check period.
    """

    __slots__ = ("slice_s", "spin_ns")

    parks: ClassVar[bool] = True
    """Whether the strategy ever sleeps on a doorbell (``FanIn.wait`` asks)."""

    def __init__(self, spin_ns: int = 50_000, slice_s: float = 0.25) -> None:
        if spin_ns < 0 or slice_s <= 0:
            raise ValueError(f"SpinThenBlock(spin_ns={spin_ns}, slice_s={slice_s}): bad value")
        self.spin_ns = spin_ns
        self.slice_s = slice_s

    def wait(
        self,
        ready: Callable[[], bool],
        flags: memoryview,
        flag: int,
        bell: Doorbell,
        timeout: float | None,
    ) -> bool:
        """Wait until ``ready()``; False if ``timeout`` seconds pass first.

        ``flags[flag]`` is our sleeping flag in shared memory, read by the waker.
        """
        if ready():
            return True
        if timeout is not None and timeout <= 0:
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        spin_until = time.perf_counter_ns() + self.spin_ns
        while time.perf_counter_ns() < spin_until:
            if ready():
                return True
        flags[flag] = 1
        try:
            while True:
                full_fence()  # the flag store is visible before we re-read the cursor
                if ready():
                    return True
                nap = self.slice_s
                if deadline is not None:
                    nap = min(nap, deadline - time.monotonic())
                    if nap <= 0:
                        return False
                bell.wait(nap)
        finally:
            flags[flag] = 0


def wake(flags: memoryview, flag: int, bell: Doorbell) -> None:
    """The waker's half: call right after publishing a cursor."""
    full_fence()  # the cursor store is visible before we read the sleeper's flag
    if flags[flag]:
        bell.ring()


class BusySpin(SpinThenBlock):
    """Spin on the cursor until ready or timed out; never sleeps, never raises a flag.

    Lowest wake-up latency for one whole core. The sleeping flag stays 0, so a
    waker never rings our doorbell (it saves the write, too). With no doorbell to
    sleep on, ``slice_s`` is how often a ``FanIn`` also looks at its wake fd.
    A subclass so it goes wherever a ``SpinThenBlock`` is accepted.
    """

    __slots__ = ()

    parks: ClassVar[bool] = False

    def __init__(self, slice_s: float = 0.001) -> None:
        super().__init__(spin_ns=0, slice_s=slice_s)

    def wait(
        self,
        ready: Callable[[], bool],
        flags: memoryview,
        flag: int,
        bell: Doorbell,
        timeout: float | None,
    ) -> bool:
        """Like ``SpinThenBlock.wait``; ``flags``/``bell`` are left untouched."""
        if ready():
            return True
        if timeout is None:
            while not ready():
                pass
            return True
        deadline = time.monotonic() + timeout
        while not ready():
            if time.monotonic() >= deadline:
                return False
        return True


WAITS = ("block", "spin-then-block", "busy-spin")


def wait_strategy(name: str, spin_us: int) -> SpinThenBlock:
    """The strategy ``[server] wait`` names: ``block`` (sleep at once), ``spin-then-block``
    (spin ``spin_us`` first) or ``busy-spin`` (never sleep; ``spin_us`` unused)."""
    if name == "block":
        return SpinThenBlock(spin_ns=0)
    if name == "spin-then-block":
        return SpinThenBlock(spin_ns=spin_us * 1000)
    if name == "busy-spin":
        return BusySpin()
    raise ValueError(f"wait strategy {name!r}: expected one of {', '.join(WAITS)}")


DEFAULT_WAIT = SpinThenBlock()
