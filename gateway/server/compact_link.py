"""The compact topology's link: the core in the worker's own process, run by its event loop.

    worker ──submit_records──▶ LocalRing ──core.step (this turn)──▶ journal, kernel
                                                                     │ (after the append)
    worker.on_events ◀──────────── Core.in_process_readers ◀─────────┤
    risk, the feed  ◀──────────── the event ring (shared memory) ◀───┘

With one gateway worker, the worker's loop and the core share a process: the
worker reads its sockets, gathers the turn's records into one batch (Worker's
``_flush``, once per loop turn), and ``submit_records`` runs the core's turn on
it at once: sequence, journal append (synced per the policy), kernel, then the
events, to the worker's sessions in this very turn and onto the event ring for
risk and the feed. The core is still the single writer, the journal and the
ack rule are the core's own (ringmatch.engine.core.loop); only the two
cross-process wake-ups per order (worker to core, core to worker) are gone.

Under fsync "batch", overlapped (ringmatch.engine.journal.group_commit), a turn
leaves its events held while the batch syncs on the commit's thread; the loop
watches the commit's ``sync_fd`` and releases them (to the sessions and the
event ring) when the sync returns, reading more sockets meanwhile.

The loop also runs the core's turn when the control ring's doorbell rings (risk's
kill switches and limits; the ring's sleeping flag stays up, so every publish
rings), and on a timer (``IDLE_S``): the idle work of a turn (a timed fsync
policy's sync, a snapshot asked for by SIGUSR1, inputs held for a seq).

A core that halts (``CoreHalted``: an input that cannot be applied, a failed
journal write) takes no more input; ``on_halt`` is told, once, so that the
process stops and exits with the halt's status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

from ringmatch.engine.core.loop import Core, CoreHalted
from ringmatch.engine.records.names import Directory
from ringmatch.engine.rings.local_ring import LocalRing
from ringmatch.gateway.config import Config
from ringmatch.gateway.server.core_link import OnEvents, configured_names

IDLE_S = 0.005
"""How often the loop gives the core an idle turn: within the "interval" fsync
policy's 5 ms, and a Python call 200 times a second costs nothing."""


class CompactLink:
    """``core``: built with ``ring`` as its input ring 0 (ringmatch.engine.core.pipeline
    ``build_core(local_inputs=[ring])``)."""

    def __init__(self, core: Core, ring: LocalRing) -> None:
        assert ring in core.local_inputs, "the core must read the ring the link writes"
        self.core = core
        self.ring = ring
        self.halted: CoreHalted | None = None
        self.on_halt: Callable[[CoreHalted], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._watched: list[int] = []
        self._idle: asyncio.TimerHandle | None = None

    def names(self, config: Config) -> Directory:
        """The core's directory; every configured name has an id there (defined at start)."""
        return configured_names(self.core.directory, config)

    def start(self, loop: asyncio.AbstractEventLoop, on_events: OnEvents) -> None:
        self._loop = loop
        self.core.in_process_readers.append(on_events)
        self._watched = self.core.sources.watch()
        for fd in self._watched:
            loop.add_reader(fd, self._rung, fd)
        sync_fd = self.core.sync_fd
        if sync_fd is not None:
            loop.add_reader(sync_fd, self._synced)
            self._watched.append(sync_fd)
        self._idle = loop.call_later(IDLE_S, self._idle_turn)
        loop.call_soon(self.turn)  # anything published on the control ring before we watched

    def submit_records(self, records: np.ndarray) -> None:
        """The turn's records: the core runs them now (events out before this returns)."""
        if self.halted is not None:
            return  # a halted core takes nothing; the process is stopping
        self.ring.put_array(records)
        self.turn()

    def turn(self) -> None:
        """Run the core until its input rings are empty (each turn takes a batch a ring)."""
        if self.halted is not None:
            return
        core = self.core
        try:
            core.step(0)
            while self.ring.pending or core.sources.pending():
                core.step(0)
        except CoreHalted as halt:
            self._halt(halt)

    def _synced(self) -> None:
        if self.halted is not None:
            return
        try:
            self.core.release_synced()
        except CoreHalted as halt:
            self._halt(halt)

    def _rung(self, fd: int) -> None:
        self.core.sources.drain_bell(fd)
        self.turn()

    def _idle_turn(self) -> None:
        assert self._loop is not None
        self.turn()
        if self.halted is None:
            self._idle = self._loop.call_later(IDLE_S, self._idle_turn)

    def _halt(self, halt: CoreHalted) -> None:
        self.halted = halt
        if self.on_halt is not None:
            self.on_halt(halt)

    def close(self) -> None:
        """Stop watching; the core drains what its rings hold (``drain``), unless halted."""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._loop is not None:
            for fd in self._watched:
                self._loop.remove_reader(fd)
        self._watched = []
        self.core.in_process_readers.clear()
        if self.halted is None:
            try:
                self.core.drain()
            except CoreHalted as halt:
                self._halt(halt)
