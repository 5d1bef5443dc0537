"""The core process's run loop: the single writer between the input rings and the event ring.

One turn of the loop (``Core.step``), Disruptor style, on whatever is there::

    1. poll      every input ring (one per gateway worker) and the control ring,
                 a batch of what is available (FanIn; block on all doorbells if none)
    2. sequence  stamp each input with the next seq (LocalSequence / Redis blocks)
    3. admit     translate client order ids (core_logic.admit)
    4. journal   append the batch as one frame: group commit, synced per the policy
    5. apply     client-id rejects, pre-trade, matching (core_logic.apply)
    6. publish   the events on the event ring: after 4, so every ack is journalled

Inputs the allocator could not sequence (Redis down and the block spent) are
not journalled: a client command gets ``Rejected(seq=0, SEQUENCE_UNAVAILABLE)``
at once, a control or session input is held and tried again on the next turn.
A record that does not decode, a control input on a gateway's ring, or a
session input on any ring but its own worker's (input ring k is worker k's)
is logged and dropped (the gateway validates; getting here is a gateway bug,
not a client's).

Signals (installed by ``run``): SIGTERM and SIGINT stop taking new input,
drain what the rings hold, close the journal (synced) and, if configured,
write a snapshot; ``run`` then returns 0. SIGUSR1 writes a snapshot at the end
of the current turn. Snapshots are also written every ``snapshot_every``
sequenced inputs. docs/PIPELINE.md is the contract; engine.pipeline wires it.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Sequence
from types import FrameType

from engine.codec import DecodeError, decode_input, encode_events
from engine.commands import (
    Cancel,
    ControlCommand,
    Input,
    KillSwitch,
    MassCancel,
    NewOrder,
    Replace,
    SessionClosed,
    SessionInput,
    SessionOpened,
    SetRiskLimits,
    WorkerStarted,
)
from engine.core_logic import CoreLogic
from engine.enums import CommandKind, RejectReason
from engine.event_ring import EventRing
from engine.event_writer import EventWriter
from engine.events import Event, Rejected
from engine.fan_in import FanIn
from engine.journal import JournalWriter
from engine.journal_recovery import write_snapshot
from engine.ring_errors import RingFull
from engine.sequence import SequenceAllocator, SequenceUnavailable

log = logging.getLogger("ringmatch.core")

SEQUENCE_UNAVAILABLE = RejectReason.SEQUENCE_UNAVAILABLE
_KIND = {
    NewOrder: CommandKind.NEW,
    Cancel: CommandKind.CANCEL,
    Replace: CommandKind.REPLACE,
    MassCancel: CommandKind.MASS_CANCEL,
}
PUBLISH_TIMEOUT = 1.0
"""How long one try to publish waits for a required reader before the loop looks
at its stop flag (and tries again: events are never dropped while running)."""


class Core:
    """The run loop. ``control_ring`` is the FanIn index of the control ring (or None).

    It owns what it is given: ``close`` closes the sources' rings, the event ring
    (as its writer), the journal and the allocator.
    """

    def __init__(
        self,
        sources: FanIn,
        sequence: SequenceAllocator,
        journal: JournalWriter,
        logic: CoreLogic,
        event_ring: EventRing,
        data_dir: str,
        *,
        control_ring: int | None = None,
        max_batch: int = 1024,
        snapshot_every: int = 0,
        snapshot_on_exit: bool = True,
    ) -> None:
        self.sources = sources
        self.sequence = sequence
        self.journal = journal
        self.logic = logic
        self.event_ring = event_ring
        self.events: EventWriter = event_ring.writer()
        self.data_dir = data_dir
        self.control_ring = control_ring
        self.max_batch = max_batch
        self.snapshot_every = snapshot_every
        self.snapshot_on_exit = snapshot_on_exit
        self.stopping = False
        self.snapshot_wanted = False
        self.sequenced = 0  # inputs sequenced since start (for the log and the tests)
        self._since_snapshot = 0
        # Control and session inputs waiting for a seq: never dropped, never rejected.
        self._held: list[ControlCommand | SessionInput] = []

    # -- one turn -------------------------------------------------------------------

    def step(self, timeout: float | None = 0.0) -> int:
        """Run one batch (waiting up to ``timeout`` s for one); how many inputs it took."""
        polled = self.sources.poll(self.max_batch)
        if not polled and not self._held:
            self.journal.sync_if_due()  # the idle path of a timed fsync policy
            if self.snapshot_wanted:
                self.snapshot()
            if timeout != 0 and self.sources.wait(timeout):
                polled = self.sources.poll(self.max_batch)
            if not polled:
                return 0
        inputs: list[Input] = list(self._held)
        self._held = []
        for index, records in polled:
            self._decode(index, records, inputs)
        taken = len(inputs)
        seqs = self._sequence(len(inputs))
        admit = self.logic.admit
        records_out: list[tuple[int, Input]] = []
        unsequenced: list[Event] = []
        for inp, seq in zip(inputs, seqs, strict=True):
            if seq is not None:
                records_out.append((seq, admit(seq, inp)))
            elif isinstance(
                inp, KillSwitch | SetRiskLimits | SessionOpened | SessionClosed | WorkerStarted
            ):
                self._held.append(inp)
            else:
                unsequenced.append(_unsequenced_reject(inp))
        self.journal.append_batch(records_out)  # returns once journalled: acks may go
        apply = self.logic.apply
        events = unsequenced
        for seq, inp in records_out:
            events += apply(seq, inp)
        self._publish(events)
        self.sequenced += len(records_out)
        self._since_snapshot += len(records_out)
        if self.snapshot_wanted or (
            self.snapshot_every and self._since_snapshot >= self.snapshot_every
        ):
            self.snapshot()
        return taken

    def _decode(self, index: int, records: list[bytes], out: list[Input]) -> None:
        control = index == self.control_ring
        for record in records:
            try:
                inp = decode_input(record)
            except DecodeError as exc:
                log.error("input ring %d: dropped a record that is not an input: %s", index, exc)
                continue
            if not control and isinstance(inp, KillSwitch | SetRiskLimits):
                log.error("input ring %d: dropped a control input from a gateway: %r", index, inp)
                continue
            if isinstance(inp, SessionOpened | SessionClosed | WorkerStarted) and (
                control or inp.worker != index
            ):
                # The session table trusts a worker's number: only its own ring may name it.
                log.error("input ring %d: dropped another worker's session input: %r", index, inp)
                continue
            out.append(inp)

    def _sequence(self, n: int) -> Sequence[int | None]:
        """``n`` seqs, or None for each input past the point where the allocator ran dry."""
        try:
            return self.sequence.next_block(n)
        except (SequenceUnavailable, ValueError):
            pass  # all-or-none failed (or n > a Redis block): take them one by one
        seqs: list[int | None] = []
        for _ in range(n):
            try:
                seqs.append(self.sequence.next())
            except SequenceUnavailable as exc:
                log.error("%d input(s) not sequenced: %s", n - len(seqs), exc)
                seqs += [None] * (n - len(seqs))
                break
        return seqs

    def _publish(self, events: list[Event]) -> None:
        records = encode_events(events)
        while records:
            try:
                self.events.put_many(records, timeout=PUBLISH_TIMEOUT)
                return
            except RingFull as full:
                records = records[full.written :]
                if self.stopping:
                    log.error(
                        "stopping with %d event(s) unpublished: a required event-ring reader "
                        "is not reading (the inputs are journalled; replay regenerates them)",
                        len(records),
                    )
                    return
                log.warning(
                    "event ring full for %.1f s: a required reader is behind", PUBLISH_TIMEOUT
                )

    def snapshot(self) -> str:
        """Write a snapshot of the core's state now (between batches); its path."""
        self.snapshot_wanted = False
        self._since_snapshot = 0
        started = time.perf_counter()
        path = write_snapshot(self.data_dir, self.logic)
        log.info(
            "snapshot at seq %d: %s (%.3f s)",
            self.logic.last_seq,
            path,
            time.perf_counter() - started,
        )
        return path

    # -- the process ----------------------------------------------------------------

    def run(self, wake_fd_w: int | None = None) -> int:
        """Turn until SIGTERM/SIGINT (or ``stopping``), then drain and close; the exit status.

        ``wake_fd_w``: the write end of the pipe whose read end the FanIn watches;
        signals are written to it so that they end a wait at once.
        """
        previous = self._install_signals(wake_fd_w)
        try:
            while not self.stopping:
                self.step(timeout=None)
            self._drain()
        finally:
            self._restore_signals(previous)
        self.close()
        return 0

    def _drain(self) -> None:
        """Take what the rings hold now, and no more than a ring's worth from each."""
        budget = sum(ring.capacity for ring in self.sources.rings)
        while budget > 0:
            taken = self.step(timeout=0)
            if not taken:
                break
            budget -= taken
        log.info(
            "drained; last seq %d, %d input(s) sequenced this run",
            self.logic.last_seq,
            self.sequenced,
        )

    def close(self) -> None:
        """Close the journal (synced), snapshot if configured, release the rings."""
        self.journal.close()
        if self.snapshot_on_exit and self.sequenced:
            self.snapshot()
        self.sequence.close()
        self.events.close()
        self.event_ring.close()
        self.sources.close()

    def _install_signals(self, wake_fd_w: int | None) -> dict[int, object]:
        def stop(signum: int, frame: FrameType | None) -> None:
            self.stopping = True

        def want_snapshot(signum: int, frame: FrameType | None) -> None:
            self.snapshot_wanted = True

        previous: dict[int, object] = {}
        for signum, handler in (
            (signal.SIGTERM, stop),
            (signal.SIGINT, stop),
            (signal.SIGUSR1, want_snapshot),
        ):
            previous[signum] = signal.signal(signum, handler)
        if wake_fd_w is not None:
            os.set_blocking(wake_fd_w, False)
            previous[-1] = signal.set_wakeup_fd(wake_fd_w, warn_on_full_buffer=False)
        return previous

    def _restore_signals(self, previous: dict[int, object]) -> None:
        for signum, handler in previous.items():
            if signum == -1:
                assert isinstance(handler, int)
                signal.set_wakeup_fd(handler)
            else:
                signal.signal(signum, handler)  # type: ignore[arg-type]


def _unsequenced_reject(inp: NewOrder | Cancel | Replace | MassCancel) -> Rejected:
    """The answer to a client command that got no seq: seq 0, never journalled."""
    order_id = 0 if isinstance(inp, MassCancel) else inp.order_id
    client = 0 if isinstance(inp, MassCancel) else inp.client_order_id
    return Rejected(0, _KIND[type(inp)], order_id, inp.account, SEQUENCE_UNAVAILABLE, client)
