"""The worker's real link to the core: its own input ring in, the event ring out.

Input records (ringmatch.engine.records.layout, 64 bytes, written by the worker
through the core's directory: the file the core writes before it is ready,
ringmatch.engine.records.names.read_directory) go onto the ring as they are;
event records come off it as they are, an array per drain, for the worker to
route by their account field. Writes never block: the worker is also a
required reader of the event ring, so a worker that waited for room in its
input ring while the core waited for it to read events would deadlock. What
does not fit waits in a backlog, pushed again after each drain of events (the
core makes room as it publishes) and on a short timer; while the backlog is
over ``BACKLOG_LIMIT`` the worker stops reading its sessions (``on_congested``).

Events come out through the event loop, not a thread: the worker is a required
event-ring reader, and the
ring's doorbell (a FIFO) is registered with ``loop.add_reader``::

    drain     take everything published (get_array, never waiting)
    arm       raise our sleeping flag; FENCE; re-check the cursor (data: drain again)
    sleep     the loop polls the doorbell with everything else; the core rings it
              after publishing if the flag is up; on wake: clear the flag, drain

That is the ring's own sleep protocol (ringmatch.engine.rings.wait) with epoll in place of
``poll(2)``, so an event costs one wake-up of the loop; a reader thread handing
batches over with ``call_soon_threadsafe`` would cost two (its doorbell, then
the loop's self-pipe) and fight the loop for the GIL while spinning.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory, read_directory
from ringmatch.engine.rings.event_layout import SLEEPING, reader_word
from ringmatch.engine.rings.event_ring import EventRing, EventRingSpec
from ringmatch.engine.rings.spsc_ring import RingSpec, SpscRing
from ringmatch.engine.rings.wait import SpinThenBlock, full_fence
from ringmatch.gateway.config import Config
from ringmatch.gateway.server.core_link import OnEvents, configured_names

DRAIN_LIMIT = 4096  # records per get_many, so one burst cannot hold the loop for long
BACKLOG_LIMIT = 16384  # records waiting for room before the sessions stop being read
RETRY_S = 0.002


class RingLink:
    """``directory``: the core's names, or the data directory whose directory file
    holds them (None: no names, so ``names`` refuses any configuration that has some)."""

    def __init__(
        self,
        input_ring: str,
        event_ring: str,
        reader: int,
        directory: Directory | str | None = None,
    ) -> None:
        if directory is None:
            directory = Directory()
        elif isinstance(directory, str):
            directory = read_directory(directory)
        self.directory = directory
        self._input = SpscRing.attach(RingSpec(input_ring))
        self._producer = self._input.producer()
        self._events = EventRing.attach(EventRingSpec(event_ring))
        self._reader = self._events.reader(reader, SpinThenBlock(spin_ns=0))
        self._flag = reader_word(reader, SLEEPING)
        bell = self._events.segment.companion(f"data-{reader}")
        self._bell_fd = os.open(bell, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_events: OnEvents | None = None
        self._backlog: list[np.ndarray] = []  # record arrays not yet on the ring, in order
        self._backlogged = 0  # records in the backlog
        self._retry: asyncio.TimerHandle | None = None
        self.on_congested: Callable[[bool], None] | None = None
        self.congested = False

    def start(self, loop: asyncio.AbstractEventLoop, on_events: OnEvents) -> None:
        self._loop, self._on_events = loop, on_events
        loop.add_reader(self._bell_fd, self._rung)
        loop.call_soon(self._drain)

    def names(self, config: Config) -> Directory:
        """The core's directory; every configured name has an id there (the core defined
        them at start), else the core is not this configuration's: said so."""
        return configured_names(self.directory, config)

    def submit_records(self, records: np.ndarray) -> None:
        """Put ``records`` (INPUT_DTYPE, seq 0) on the ring, after any backlog; the link
        keeps what does not fit, so the array becomes the link's: not reused by the caller."""
        if len(records):
            if not self._backlog:  # the common case: straight onto the ring
                written = self._producer.try_put_array(records)
                records = records[written:]
            if len(records):
                self._backlog.append(records)
                self._backlogged += len(records)
        self._push()

    def _push(self) -> None:
        backlog = self._backlog
        while backlog:
            written = self._producer.try_put_array(backlog[0])
            self._backlogged -= written
            if written < len(backlog[0]):
                backlog[0] = backlog[0][written:]
                break
            del backlog[0]
        if backlog and self._retry is None and self._loop is not None:
            # A fallback only: every drain of events pushes too, and a full ring means a
            # busy core, whose events come soon; polling faster only burns the cores.
            self._retry = self._loop.call_later(RETRY_S, self._retried)
        congested = self._backlogged > BACKLOG_LIMIT
        if congested is not self.congested:
            self.congested = congested
            if self.on_congested is not None:
                self.on_congested(congested)

    def _retried(self) -> None:
        self._retry = None
        self._push()

    def _rung(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._bell_fd, 4096):
                pass
        self._drain()

    def _drain(self) -> None:
        on_events = self._on_events
        if on_events is None:
            return
        words, flag, reader = self._events.words, self._flag, self._reader

        def get_many(limit: int, timeout: float) -> np.ndarray:
            return reader.get_array(L.EVENT_DTYPE, limit, timeout)

        words[flag] = 0
        records = get_many(DRAIN_LIMIT, 0)
        while True:
            if len(records):
                on_events(records)
                if self._backlog:
                    self._push()
                if len(records) == DRAIN_LIMIT:  # more, likely: let the sessions have a turn
                    assert self._loop is not None
                    self._loop.call_soon(self._drain)
                    return
            words[flag] = 1
            full_fence()  # the flag is visible before we re-read the cursor
            records = get_many(DRAIN_LIMIT, 0)
            if not len(records):
                return  # asleep: the core rings the doorbell after its next publish
            words[flag] = 0

    def close(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
        for part in self._backlog:  # shutting down: the core still takes input, give it time
            self._producer.put_array(part, timeout=5.0)
        self._backlog = []
        if self._loop is not None and self._on_events is not None:
            self._loop.remove_reader(self._bell_fd)
        self._on_events = None
        self._events.words[self._flag] = 0
        os.close(self._bell_fd)
        self._producer.close()
        self._reader.close()
        self._input.close()
        self._events.close()
