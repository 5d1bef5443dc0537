"""The core process's run loop: the single writer between the input rings and the event ring.

One turn of the loop (``Core.step``), Disruptor style, on whatever is there::

    1. poll      every input ring (one per gateway worker) and the control ring,
                 a batch of what is available (FanIn; block on all doorbells if none)
    2. sequence  stamp each input with the next seq (LocalSequence / Redis blocks)
    3. records   pack the inputs as input records into one reused buffer, through
                 the core's Directory (a DEFINE before the first input of a new name)
    4. journal   append those records as one frame: group commit, synced per the policy
    5. kernel    ``process_into``: client ids, pre-trade (reference kernel), matching
    6. publish   the event records, as Events, on the event ring: after 4, so every
                 ack is journalled

The journal holds the inputs as they came off the rings, before the kernel
translates client order ids: the kernel is deterministic, so recovery, which
feeds it the same records, translates them the same way.

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
sequenced inputs (a snapshot that cannot be written is logged; the journal
holds everything). docs/PIPELINE.md is the contract; ringmatch.engine.core.pipeline wires it.

Halts (docs/PIPELINE.md, "Halts"): ``step`` raises CoreHalted, and ``run``
reports it on stderr (one line, then a traceback if it is a bug) and returns
its status, without draining, syncing through a failed journal or writing a
snapshot of a state that may be half changed:

* an input whose ``apply`` raises (EXIT_HALTED): the events of the inputs
  before it in its batch are published, none after it, the journal is synced;
* a failed journal write or sync (EXIT_JOURNAL_FAILED): nothing of the batch
  is published.
"""

from __future__ import annotations

import logging
import os
import signal
import struct
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from types import FrameType

from ringmatch.engine.core.journal_run import JournalRun, write_snapshot
from ringmatch.engine.core.reference_kernel import RecordFailed, ReferenceKernel
from ringmatch.engine.core.sequence import SequenceAllocator, SequenceUnavailable
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.inputs import InputPacker
from ringmatch.engine.records.names import Directory
from ringmatch.engine.rings.codec import DecodeError, decode_input, encode_events
from ringmatch.engine.rings.errors import RingFull
from ringmatch.engine.rings.event_ring import EventRing
from ringmatch.engine.rings.event_writer import EventWriter
from ringmatch.engine.rings.fan_in import FanIn
from ringmatch.engine.schema.commands import (
    Cancel,
    ControlCommand,
    CoreInput,
    Input,
    KillSwitch,
    MassCancel,
    NewOrder,
    Replace,
    SessionClosed,
    SessionInput,
    SessionOpened,
    SetRiskLimits,
    SkipInput,
    StageChain,
    WorkerStarted,
)
from ringmatch.engine.schema.enums import CommandKind, RejectReason
from ringmatch.engine.schema.events import Event, Rejected

log = logging.getLogger("ringmatch.core")

SEQUENCE_UNAVAILABLE = RejectReason.SEQUENCE_UNAVAILABLE
INVALID_FIELD = RejectReason.INVALID_FIELD
_KIND = {
    NewOrder: CommandKind.NEW,
    Cancel: CommandKind.CANCEL,
    Replace: CommandKind.REPLACE,
    MassCancel: CommandKind.MASS_CANCEL,
}
PUBLISH_TIMEOUT = 1.0
"""How long one try to publish waits for a required reader before the loop looks
at its stop flag (and tries again: events are never dropped while running)."""

EXIT_HALTED = 3
"""The core's exit status when an input could not be applied (live, or in recovery)."""
EXIT_JOURNAL_FAILED = 4
"""The core's exit status when a journal write or sync failed."""

Held = ControlCommand | SessionInput | CoreInput
"""Inputs that wait for a seq rather than be rejected when none is to be had."""


class CoreHalted(Exception):
    """The core stopped on a failure: ``status`` to exit with, ``str()`` the one-line
    report, ``detail`` a traceback when the cause is a bug ("" otherwise)."""

    def __init__(self, message: str, status: int, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail

    def report(self) -> str:
        """What the process prints on stderr."""
        return f"ringmatch core: {self}\n{self.detail}".rstrip("\n") + "\n"


class Core:
    """The run loop. ``control_ring`` is the FanIn index of the control ring (or None).
    ``run``: the kernel recovery built (or a fresh CoreLogic, run by the reference kernel).

    It owns what it is given: ``close`` closes the sources' rings, the event ring
    (as its writer), the journal and the allocator.
    """

    def __init__(
        self,
        sources: FanIn,
        sequence: SequenceAllocator,
        journal: JournalWriter,
        run: JournalRun | CoreLogic,
        event_ring: EventRing,
        data_dir: str,
        *,
        control_ring: int | None = None,
        max_batch: int = 1024,
        snapshot_every: int = 0,
        snapshot_on_exit: bool = True,
        held: Iterable[Held] = (),
    ) -> None:
        self.sources = sources
        self.sequence = sequence
        self.journal = journal
        if isinstance(run, CoreLogic):  # a fresh one of the caller's (tests, tools)
            run = JournalRun(ReferenceKernel.around(run), Directory(), data_dir)
        # The kernel, recovered, and the directory of its records' names.
        self.kernel_run = run
        self.packer = InputPacker(run.directory, capacity=4 * max_batch)
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
        self.halted: CoreHalted | None = None
        self._since_snapshot = 0
        # Control, session and core inputs waiting for a seq: never dropped, never
        # rejected; they go first in the next batch.
        self._held: list[Held] = list(held)

    # -- one turn -------------------------------------------------------------------

    def step(self, timeout: float | None = 0.0) -> int:
        """Run one batch (waiting up to ``timeout`` s for one); how many inputs it took."""
        polled = self.sources.poll(self.max_batch)
        if not polled and not self._held:
            try:
                self.journal.sync_if_due()  # the idle path of a timed fsync policy
            except Exception as exc:
                raise self._journal_halt(exc, None) from exc
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
        batch, unsequenced = self._pack(inputs, self._sequence(len(inputs)))
        packed = self.packer.records()
        try:
            if batch:  # returns once journalled: acks may go
                self.journal.append_records(
                    packed, first_seq=batch[0][0], last_seq=batch[-1][0], flags=self.packer.flags
                )
        except Exception as exc:
            raise self._journal_halt(exc, batch) from exc
        events = unsequenced
        if len(packed):
            try:
                out = self.kernel_run.process(packed)
            except RecordFailed as failed:
                before = failed.events_before
                assert before is not None
                events += decode_events(before, self.kernel_run.directory)
                cause = failed.cause
                assert isinstance(cause, Exception)
                raise self._apply_halt(cause, failed.seq, failed.input, events, batch) from cause
            events += decode_events(out, self.kernel_run.directory)
        self._publish(events)
        self.sequenced += len(batch)
        self._since_snapshot += len(batch)
        if self.snapshot_wanted or (
            self.snapshot_every and self._since_snapshot >= self.snapshot_every
        ):
            self.snapshot()
        return taken

    def _pack(
        self, inputs: list[Input], seqs: Sequence[int | None]
    ) -> tuple[list[tuple[int, Input]], list[Event]]:
        """Pack the sequenced inputs as records (``packer``); (seq, input) of each packed,
        and the answers of client commands that got no seq or fit no record."""
        packer = self.packer
        packer.start()
        add = packer.add
        batch: list[tuple[int, Input]] = []
        unsequenced: list[Event] = []
        for inp, seq in zip(inputs, seqs, strict=True):
            if seq is not None:
                try:
                    add(inp, seq)
                except (struct.error, OverflowError) as exc:
                    # A value no record holds (an id past 64 bits): the gateway should
                    # have refused it. Its seq is used up, unjournalled: a gap.
                    log.error("seq %d: %r fits no input record (%s): refused", seq, inp, exc)
                    if isinstance(inp, NewOrder | Cancel | Replace | MassCancel):
                        unsequenced.append(_unsequenced_reject(inp, INVALID_FIELD))
                    continue
                batch.append((seq, inp))
            elif isinstance(inp, NewOrder | Cancel | Replace | MassCancel):
                unsequenced.append(_unsequenced_reject(inp, SEQUENCE_UNAVAILABLE))
            else:
                self._held.append(inp)
        return batch, unsequenced

    def journal_first(self, own: list[Input]) -> list[Input]:
        """Journal and run the core's own first inputs (before ``ready``), as a batch of
        their own; those left to hold (no seq yet), or raise SequenceUnavailable."""
        seqs = self.sequence.next_block(len(own))
        batch, _ = self._pack(own, seqs)
        try:
            self.journal.append_records(
                self.packer.records(),
                first_seq=batch[0][0],
                last_seq=batch[-1][0],
                flags=self.packer.flags,
            )
        except Exception as exc:
            raise CoreHalted(
                f"{self.journal.failure or repr(exc)}: halted at start, nothing was acknowledged",
                EXIT_JOURNAL_FAILED,
            ) from exc
        self.kernel_run.process(self.packer.records())  # a StageChain, a SkipInput: no events
        return []

    def hold(self, inputs: Iterable[Input]) -> None:
        """Inputs to go first in the next batch that gets seqs."""
        self._held += [i for i in inputs if isinstance(i, Held)]

    @property
    def last_seq(self) -> int:
        return self.kernel_run.kernel.last_seq

    @property
    def logic(self) -> CoreLogic:
        """The reference kernel's stage chain (tests look inside; a compiled kernel has none)."""
        kernel = self.kernel_run.kernel
        if not isinstance(kernel, ReferenceKernel):
            raise AttributeError("the compiled kernel has no CoreLogic to look into")
        return kernel.logic

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
            if isinstance(inp, StageChain | SkipInput):
                log.error("input ring %d: dropped an input only the core journals: %r", index, inp)
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

    # -- halts ----------------------------------------------------------------------

    def _apply_halt(
        self,
        exc: Exception,
        seq: int,
        inp: Input,
        events: list[Event],
        batch: list[tuple[int, Input]],
    ) -> CoreHalted:
        """The input at ``seq`` raised in ``apply``: publish the events of the inputs
        before it (journalled, and what recovery rebuilds up to it), none after,
        sync the journal; the halt to raise."""
        self.stopping = True  # the publish gives up on a reader that does not read
        self._publish(events)
        after = sum(1 for s, _ in batch if s > seq)
        before = len(batch) - after - 1
        synced = "the journal is synced"
        try:
            self.journal.sync()
        except Exception as sync_exc:
            synced = f"syncing the journal failed too: {self.journal.failure or sync_exc!r}"
        self.halted = CoreHalted(
            f"halted at seq {seq}: {inp!r} could not be applied: {type(exc).__name__}: {exc}; "
            f"the events of the {before} input(s) before it in its batch were published, none "
            f"of it or the {after} after it; {synced}. Recovery stops before seq {seq} and the "
            f"core refuses to start until it is run with --skip-seq {seq} "
            f"(ringmatch serve --skip-seq {seq})",
            EXIT_HALTED,
            "".join(traceback.format_exception(exc)),
        )
        return self.halted

    def _journal_halt(self, exc: Exception, batch: list[tuple[int, Input]] | None) -> CoreHalted:
        """A journal write or sync failed: nothing of ``batch`` is published; the halt.

        Under a timed or no fsync policy, inputs acknowledged before the failure
        may not be on stable storage: said so (``batch`` None: the idle path's sync).
        """
        self.stopping = True
        journal = self.journal
        failure = journal.failure
        detail = ""
        if failure is None:  # not an I/O error: a bug (a seq out of order)
            failure = f"journal append failed: {type(exc).__name__}: {exc}"
            detail = "".join(traceback.format_exception(exc))
        what = (
            "nothing of the failed batch was acknowledged"
            if batch
            else "on syncing what was already acknowledged"
        )
        acked = self.last_seq  # every input applied before the failed batch was published
        if journal.durable_seq < acked:
            what += (
                f"; under the fsync policy {journal.policy} the inputs after seq "
                f"{journal.durable_seq} (to seq {acked}) were acknowledged before they were "
                "synced, and may not be on stable storage"
            )
        self.halted = CoreHalted(f"{failure}: halted, {what}", EXIT_JOURNAL_FAILED, detail)
        return self.halted

    def snapshot(self) -> str | None:
        """Write a snapshot of the core's state now (between batches); its path, or
        None if it could not be written (logged: the journal holds everything)."""
        self.snapshot_wanted = False
        self._since_snapshot = 0
        started = time.perf_counter()
        try:
            path = write_snapshot(self.data_dir, self.kernel_run.kernel, self.kernel_run.directory)
        except OSError as exc:
            log.error("snapshot at seq %d not written: %s", self.last_seq, exc)
            return None
        log.info(
            "snapshot at seq %d: %s (%.3f s)",
            self.last_seq,
            path,
            time.perf_counter() - started,
        )
        return path

    # -- the process ----------------------------------------------------------------

    def run(self, wake_fd_w: int | None = None, ready: Callable[[int], None] | None = None) -> int:
        """Turn until SIGTERM/SIGINT (or ``stopping``), then drain and close; the exit status.

        ``wake_fd_w``: the write end of the pipe whose read end the FanIn watches;
        signals are written to it so that they end a wait at once. ``ready(last_seq)``
        is called once the signal handlers are in place: a SIGTERM sent as soon as
        the core says it is ready is then a clean stop, never the default death.
        """
        previous = self._install_signals(wake_fd_w)
        status = 0
        try:
            if ready is not None:
                ready(self.last_seq)
            while not self.stopping:
                self.step(timeout=None)
            self._drain()
        except CoreHalted as halt:
            sys.stderr.write(halt.report())
            sys.stderr.flush()
            status = halt.status
        finally:
            self._restore_signals(previous)
        try:
            self.close()
        except CoreHalted as halt:  # the last sync failed: said like any journal failure
            sys.stderr.write(halt.report())
            sys.stderr.flush()
            status = halt.status
        return status

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
            self.last_seq,
            self.sequenced,
        )

    def close(self) -> None:
        """Close the journal (synced, unless it failed), snapshot if configured (not
        after a halt: the state may be half changed), release the rings.

        Raises CoreHalted (exit 4) if the journal's last sync fails: under a timed
        or no fsync policy, acknowledged inputs may then not be on stable storage.
        """
        failed: CoreHalted | None = None
        try:
            self.journal.close()
        except OSError as exc:
            failed = self._journal_halt(exc, None)
        if self.snapshot_on_exit and self.sequenced and self.halted is None:
            self.snapshot()
        self.sequence.close()
        self.events.close()
        self.event_ring.close()
        self.sources.close()
        if failed is not None:
            raise failed

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


def _unsequenced_reject(
    inp: NewOrder | Cancel | Replace | MassCancel, reason: RejectReason
) -> Rejected:
    """The answer to a client command never journalled (no seq, or no record holds
    it): seq 0."""
    order_id = 0 if isinstance(inp, MassCancel) else inp.order_id
    client = 0 if isinstance(inp, MassCancel) else inp.client_order_id
    return Rejected(0, _KIND[type(inp)], order_id, inp.account, reason, client)
