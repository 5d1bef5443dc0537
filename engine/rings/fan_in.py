"""Fan-in: the core's one consumer side of many SPSC rings, and one wait over all of them.

    gateway worker 0 ─▶ ring 0 ─┐
    gateway worker 1 ─▶ ring 1 ─┼─▶ FanIn.poll() ─▶ [(ring index, [records...]), ...]
                                │   (poll_arrays(dtype): [(ring index, record array), ...])
    admin / risk     ─▶ control ┘         │ nothing anywhere: FanIn.wait()

``poll`` drains what each ring has (up to a limit per ring, so a busy worker
cannot starve the others) without waiting. ``wait`` is the rings' own
spin-then-block strategy (ringmatch.engine.rings.wait) stretched over several doorbells: spin
on every ring's cursor, then raise every ring's sleeping flag, fence,
re-check, and block in one ``poll(2)`` on all the doorbells at once. A
producer that publishes rings its ring's doorbell if that flag is up, so
whichever ring gets data first wakes the core. An extra file descriptor (the
core's signal wake-up pipe) can be watched too, so that SIGTERM ends a wait at
once instead of after a time slice.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ringmatch.engine.rings.consumer import RingConsumer
from ringmatch.engine.rings.spsc_layout import CONSUMED, CONSUMER_SLEEPING, PUBLISHED
from ringmatch.engine.rings.spsc_ring import SpscRing
from ringmatch.engine.rings.wait import DEFAULT_WAIT, SpinThenBlock, full_fence

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


class FanIn:
    """Consumes rings ``0..n-1``; this process must be each ring's only consumer.

    It owns the rings it is given: ``close`` closes them too.
    """

    __slots__ = (
        "_bells", "_consumers", "_keep", "_poller", "_wait", "_wakes", "_words", "rings",
    )  # fmt: skip

    def __init__(
        self,
        rings: Sequence[SpscRing],
        wait: SpinThenBlock = DEFAULT_WAIT,
        wake_fd: int | None = None,
    ) -> None:
        self.rings = list(rings)
        self._wait = wait
        self._consumers: list[RingConsumer] = [ring.consumer(wait) for ring in self.rings]
        self._words = [ring.words for ring in self.rings]
        # Our own read ends of the doorbell FIFOs (any opener may read; see rings.wait).
        self._bells = [
            os.open(ring.segment.companion("data"), os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
            for ring in self.rings
        ]
        self._poller = select.poll()
        for fd in self._bells:
            self._poller.register(fd, select.POLLIN)
        # Descriptors that end a wait when readable (drained), besides the rings.
        self._wakes: set[int] = set()
        self._keep: set[int] = set()  # of which its owner reads, not the FanIn
        if wake_fd is not None:
            self.add_wake_fd(wake_fd)

    def add_wake_fd(self, fd: int, drain: bool = True) -> None:
        """Watch ``fd`` too: readable, it ends a wait (returning whether a ring has
        data) and is drained, unless ``drain`` is False (its bytes are its owner's:
        the group commit's answers). The signal pipe; the group commit's pipe."""
        self._poller.register(fd, select.POLLIN)
        self._wakes.add(fd)
        if not drain:
            self._keep.add(fd)

    def poll(self, limit_per_ring: int) -> list[tuple[int, list[bytes]]]:
        """What every ring has now (at most ``limit_per_ring`` each); never waits."""
        out = []
        for index, consumer in enumerate(self._consumers):
            records = consumer.get_many(limit_per_ring, timeout=0)
            if records:
                out.append((index, records))
        return out

    def poll_arrays(
        self, dtype: np.dtype[Any], limit_per_ring: int
    ) -> list[tuple[int, npt.NDArray[Any]]]:
        """``poll`` for rings of fixed-size records: each ring's batch as one array of
        ``dtype`` (ValueError if a record there is not ``dtype.itemsize`` bytes)."""
        out = []
        for index, consumer in enumerate(self._consumers):
            records = consumer.get_array(dtype, limit_per_ring, timeout=0)
            if len(records):
                out.append((index, records))
        return out

    def pending(self) -> bool:
        """Whether any ring has a record we have not taken."""
        # CONSUMED is our own cursor (the consumer stores it after every take).
        return any(w[PUBLISHED] != w[CONSUMED] for w in self._words)

    def wait(self, timeout: float | None) -> bool:
        """Wait until a ring has data (True), or ``timeout`` s pass or the wake fd is
        readable (False). ``None`` waits without end (still woken by the wake fd)."""
        if self.pending():
            return True
        if timeout is not None and timeout <= 0:
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._wait.parks:
            return self._spin(deadline)
        spin_until = time.perf_counter_ns() + self._wait.spin_ns
        while time.perf_counter_ns() < spin_until:
            if self.pending():
                return True
        for words in self._words:
            words[CONSUMER_SLEEPING] = 1
        try:
            while True:
                full_fence()  # the flag stores are visible before we re-read the cursors
                if self.pending():
                    return True
                nap = self._wait.slice_s
                if deadline is not None:
                    nap = min(nap, deadline - time.monotonic())
                    if nap <= 0:
                        return False
                woken = self._poller.poll(math.ceil(nap * 1000))
                for fd, _ in woken:
                    if fd not in self._keep:
                        _drain(fd)
                if any(fd in self._wakes for fd, _ in woken):
                    return self.pending()
        finally:
            for words in self._words:
                words[CONSUMER_SLEEPING] = 0

    def _spin(self, deadline: float | None) -> bool:
        """Busy-spin: no flags raised, so no producer rings; the wake fds are still
        looked at every ``slice_s`` (one non-blocking poll) so SIGTERM ends the wait,
        and on every spin while there is more than the signal pipe (a sync's return
        is on the critical path: a syscall a spin is cheap beside it)."""
        check_ns = 0 if len(self._wakes) > 1 else int(self._wait.slice_s * 1e9)
        next_check = time.perf_counter_ns() + check_ns
        while not self.pending():
            now = time.perf_counter_ns()
            if now < next_check:
                continue
            next_check = now + check_ns
            if deadline is not None and time.monotonic() >= deadline:
                return False
            woken = False
            for fd, _ in self._poller.poll(0):
                if fd not in self._keep:
                    _drain(fd)
                woken = woken or fd in self._wakes
            if woken:
                return self.pending()
        return True

    def watch(self) -> list[int]:
        """For a consumer that waits in an event loop instead of ``wait``: raise every
        ring's sleeping flag for good (each publish then rings its doorbell) and return
        the doorbells' file descriptors, to watch for reading. After a doorbell is
        readable, ``drain_bell(fd)`` then ``poll``: a publish after the poll rings again."""
        for words in self._words:
            words[CONSUMER_SLEEPING] = 1
        full_fence()  # the flags are visible before the caller's first poll
        return list(self._bells)

    @staticmethod
    def drain_bell(fd: int) -> None:
        _drain(fd)

    def close(self) -> None:
        for consumer in self._consumers:
            consumer.close()
        self._consumers = []
        for fd in self._bells:
            os.close(fd)
        self._bells = []
        self._words = []
        for ring in self.rings:
            ring.close()
        self.rings = []


def _drain(fd: int) -> None:
    """Swallow every pending byte (doorbell rings, signal numbers)."""
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 4096):
            pass
