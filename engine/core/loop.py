"""The core process's run loop: the single writer between the input rings and the event ring.

One turn of the loop (``Core.step``), Disruptor style, on whatever is there::

    1. poll      every input ring (one per gateway worker) and the control ring,
                 a batch of INPUT_DTYPE records from each (FanIn.poll_arrays; block
                 on all doorbells if none); an input whose text has not all arrived
                 waits in the ring's partial buffer for the next turn
    2. check     drop (and log) what no ring may carry, a test of the kind column
    3. sequence  stamp each owner record (not its text records) with the next seq
                 (LocalSequence / Redis blocks), a column assignment
    4. journal   append those records, DEFINEs pending first, as one frame: group
                 commit, synced per the policy
    5. kernel    ``process_into``: client ids, pre-trade (reference kernel), matching
    6. publish   the kernel's event records, as they are, on the event ring: after
                 4, so every ack is journalled

The journal holds the inputs as they came off the rings, before the kernel
translates client order ids: the kernel is deterministic, so recovery, which
feeds it the same records, translates them the same way.

Names: the core assigns the ids (its Directory, recovered). At start it gives
an id to every configured name it lacks (``define_names``) and writes its
directory file (records.names.write_directory) before it says ready, so the
writers of the rings, which load that file, never need to define a name (a
DEFINE on a ring is dropped). The new names' DEFINE records are journalled
with the core's own first inputs (``journal_first``: the StageChain of a first
start) or, when it has none, first in the first batch that gets seqs: in the
journal and on the kernel's input, before any input that uses them.

Inputs the allocator could not sequence (Redis down and the block spent) are
not journalled: a client command gets a REJECTED record (seq 0,
SEQUENCE_UNAVAILABLE) at once, a control or session input is held and tried
again on the next turn. Dropped and logged: a record of no input kind, a
control input (KILL_SWITCH, SET_RISK_LIMITS, SET_PHASE) on a gateway's ring, a
session input on any ring but its own worker's (input ring k is worker k's), and a
kind only the core journals (STAGE_CHAIN, SKIP_INPUT, DEFINE_*): the gateway
validates, getting here is a gateway bug, not a client's. A record of an
input kind with bad fields (a side code of 7) goes to the kernel, which
answers it (INVALID_FIELD, UNKNOWN_SYMBOL...), as in replay. The venue's
orders (stops, icebergs, DAY and GTD orders, a held stop's replace) go to the
kernel like any other, with the compiled kernel's pre-trade stage on too (its
stage checks them as the reference's does).

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
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from types import FrameType

import numpy as np

from ringmatch.engine.core.journal_run import JournalRun, write_snapshot
from ringmatch.engine.core.reference_kernel import RecordFailed, ReferenceKernel
from ringmatch.engine.core.schedule import Schedule
from ringmatch.engine.core.sequence import SequenceAllocator, SequenceUnavailable
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.group_commit import GroupCommit
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.inputs import InputPacker, copy_records, kind_table, owners
from ringmatch.engine.records.names import Directory, new_definitions
from ringmatch.engine.records.stream import input_spans
from ringmatch.engine.rings.errors import RingFull
from ringmatch.engine.rings.event_ring import EventRing
from ringmatch.engine.rings.event_writer import EventWriter
from ringmatch.engine.rings.fan_in import FanIn
from ringmatch.engine.rings.local_ring import LocalRing
from ringmatch.engine.schema.commands import (
    Clock,
    ControlCommand,
    CoreInput,
    Input,
    SessionInput,
    VenueCommand,
)
from ringmatch.engine.schema.enums import RejectReason

log = logging.getLogger("ringmatch.core")

SEQUENCE_UNAVAILABLE = RejectReason.SEQUENCE_UNAVAILABLE
PUBLISH_TIMEOUT = 1.0
"""How long one try to publish waits for a required reader before the loop looks
at its stop flag (and tries again: events are never dropped while running)."""

EXIT_HALTED = 3
"""The core's exit status when an input could not be applied (live, or in recovery)."""
EXIT_JOURNAL_FAILED = 4
"""The core's exit status when a journal write or sync failed."""

Held = ControlCommand | SessionInput | CoreInput | VenueCommand


def next_expiry(kernel: object) -> int | None:
    """When the kernel's next GTD order or held stop expires (ns), None if none or if
    the kernel keeps no expiries (one of the caller's without the venue's types)."""
    get = getattr(kernel, "next_expiry", None)
    return None if get is None else get()


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
        local_inputs: Sequence[LocalRing] = (),
        overlap_sync: bool = False,
        schedule: Schedule | None = None,
        clock: Callable[[], int] = time.time_ns,
        stamp_time: bool = True,
    ) -> None:
        self.sources = sources
        # In-process input rings (the compact topology's worker): input rings 0..m-1,
        # the FanIn's rings m.. after them (``control_ring`` counts them too).
        self.local_inputs = list(local_inputs)
        # Called with each batch of events right after it goes on the event ring (the
        # compact topology's worker, which reads no ring): same records, same order.
        self.in_process_readers: list[Callable[[np.ndarray], None]] = []
        self.sequence = sequence
        self.journal = journal
        # Every-batch fsync, overlapped: each batch's events wait on a GroupCommit
        # (its sync on a thread while the core matches) instead of an inline sync.
        self.commit: GroupCommit | None = None
        if overlap_sync and journal.policy.interval_ns == 0:
            self.commit = GroupCommit(journal, self._publish)
            sources.add_wake_fd(self.commit.done_fd, drain=False)
            log.info("fsync every batch, overlapped: syncs on a %s", self.commit.syncer)
        if isinstance(run, CoreLogic):  # a fresh one of the caller's (tests, tools)
            run = JournalRun(ReferenceKernel.around(run), Directory(), data_dir)
        # The kernel, recovered, and the directory of its records' names.
        self.kernel_run = run
        # Records of the core's own inputs (StageChain, SkipInput): the only Structs it packs.
        self.packer = InputPacker(run.directory, capacity=16)
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
        self.records_taken = 0  # records the last turn took off the rings
        self.halted: CoreHalted | None = None
        self._since_snapshot = 0
        # Control, session and core inputs waiting for a seq (records, each a whole
        # input): never dropped, never rejected; they go first in the next batch.
        self._held: list[np.ndarray] = []
        self._held_flags = 0
        # Per input ring: the start of an input whose text has not all arrived yet.
        self._partial: dict[int, np.ndarray] = {}
        # DEFINE records not journalled yet: first in the next batch that gets seqs.
        self._defines = np.zeros(0, L.INPUT_DTYPE)
        # Time (VENUE_RULES.md V-TIME-1): each batch's inputs carry the time the core
        # took when it sequenced them, never below the last batch's; while idle, a
        # Clock input goes in when the next expiry or scheduled transition is due.
        self.clock = clock
        self.schedule = schedule
        self.stamp_time = stamp_time  # False: the inputs' own ts_ns, and no Clock
        self.last_ts = 0
        self.hold(held)

    # -- names ----------------------------------------------------------------------

    @property
    def directory(self) -> Directory:
        return self.kernel_run.directory

    def define_names(self, symbols: Iterable[str], accounts: Iterable[str]) -> int:
        """Give every name the directory lacks an id (BadName for one that cannot have
        one); their DEFINEs go first in the next journalled batch. How many are new."""
        new = new_definitions(self.directory, symbols, accounts)
        if len(new):
            self._defines = L.join_records([self._defines, new], L.INPUT_DTYPE)
        return len(owners(new))

    @property
    def defines_pending(self) -> bool:
        return bool(len(self._defines))

    # -- one turn -------------------------------------------------------------------

    def step(self, timeout: float | None = 0.0) -> int:
        """Run one batch (waiting up to ``timeout`` s for one); how many inputs it took
        (off the rings, dropped ones included, and held ones)."""
        if self.commit is not None:
            self.release_synced()
        polled = self._poll()
        self.records_taken = 0
        self._time_inputs(bool(polled))
        if not polled and not self._held:
            try:  # the idle path of a timed fsync policy (a GroupCommit syncs its own)
                if self.commit is None:
                    self.journal.sync_if_due()
            except Exception as exc:
                raise self._journal_halt(exc, None) from exc
            if self.snapshot_wanted:
                self.snapshot()
            if timeout != 0:
                timeout = self._until_due(timeout)
                if self.sources.wait(timeout):
                    polled = self._poll()
                self._time_inputs(bool(polled))
            if not polled and not self._held:
                if self.commit is not None:
                    self.release_synced()  # the wait may have ended for a sync's return
                return 0
        self.records_taken = sum(len(records) for _, records in polled)
        parts, flags = self._held, self._held_flags
        taken = sum(len(input_spans(p)[0]) for p in parts)
        self._held, self._held_flags = [], 0
        for index, records in polled:
            taken += self._take(index, records, parts)
        if not parts:
            return taken
        batch = parts[0] if len(parts) == 1 else np.concatenate(parts, dtype=L.INPUT_DTYPE)
        starts, ends, _ = input_spans(batch)
        seqs = self._sequence(len(starts))
        got = len(seqs) if not seqs or seqs[-1] is not None else seqs.index(None)
        unsequenced = self._unsequenced(batch, starts[got:], ends[got:])
        if got < len(starts):
            batch = batch[: starts[got]]
        stamped = np.zeros(0, np.uint64)
        if got:
            at = starts[:got]
            if isinstance(seqs, range):
                stamped = np.arange(seqs.start, seqs.start + got, dtype=np.uint64)
            else:
                stamped = np.array(seqs[:got], np.uint64)
            batch["seq"][at] = stamped
            if self.stamp_time:
                batch["ts_ns"][at] = self.now()
            first, last = int(stamped[0]), int(stamped[-1])
            if len(self._defines):
                batch = L.join_records([self._defines, batch], L.INPUT_DTYPE)
                flags |= InputPacker.DEFINES
            try:  # returns once journalled (synced, unless a GroupCommit syncs it)
                if self.commit is None:
                    self.journal.append_records(batch, first_seq=first, last_seq=last, flags=flags)
                else:
                    self.commit.write(batch, first_seq=first, last_seq=last, flags=flags)
            except Exception as exc:
                raise self._journal_halt(exc, got) from exc
            self._defines = self._defines[:0]
        events = unsequenced
        if got:
            try:
                out = self.kernel_run.process(batch)
            except RecordFailed as failed:
                before = failed.events_before
                assert before is not None
                cause = failed.cause
                assert isinstance(cause, Exception)
                events = _join_events(events, before)
                raise self._apply_halt(cause, failed.seq, failed.input, events, stamped) from cause
            events = _join_events(events, out)
        self._hand_out(events)
        self.sequenced += got
        self._since_snapshot += got
        if self.snapshot_wanted or (
            self.snapshot_every and self._since_snapshot >= self.snapshot_every
        ):
            self.snapshot()
        return taken

    # -- time ------------------------------------------------------------------------

    def now(self) -> int:
        """The core's time for the batch it sequences: the clock, never going back."""
        now = self.clock()
        if now > self.last_ts:
            self.last_ts = now
        return self.last_ts

    def _due(self) -> int | None:
        """When the next expiry or scheduled transition is due (ns), None if none."""
        expiry = next_expiry(self.kernel_run.kernel)
        transition = self.schedule.next_due() if self.schedule else None
        if expiry is None:
            return transition
        return expiry if transition is None else min(expiry, transition)

    def _time_inputs(self, busy: bool) -> None:
        """Hold the scheduled transitions that are due, and, when no input came this
        turn (``busy``: some did, and their time runs the expiries), a Clock for an
        expiry due: time enters the kernel only through inputs."""
        due = self._due()
        if due is None or due > self.clock():
            return
        now = self.now()
        if self.schedule:
            moves = self.schedule.due(now)
            self.hold(self.schedule.set_phase(symbol, phase, now) for symbol, phase in moves)
        expiry = next_expiry(self.kernel_run.kernel)
        if self.stamp_time and expiry is not None and expiry <= now and not busy and not self._held:
            self.hold([Clock(now)])

    def _until_due(self, timeout: float | None) -> float | None:
        """``timeout``, cut short to wake when the next expiry or transition is due."""
        due = self._due()
        if due is None:
            return timeout
        wait = max(due - self.clock(), 0) / 1e9
        return wait if timeout is None else min(timeout, wait)

    def _poll(self) -> list[tuple[int, np.ndarray]]:
        """A batch from every input ring that has one: in-process ones first."""
        polled: list[tuple[int, np.ndarray]] = []
        limit = self.max_batch
        for index, ring in enumerate(self.local_inputs):
            if ring.pending:
                records = ring.take(limit)
                assert records is not None
                polled.append((index, records))
        if not self.local_inputs:
            return self.sources.poll_arrays(L.INPUT_DTYPE, limit)
        if not self.sources.pending():  # the control ring, nearly always empty: ~1 us, not ~10
            return polled
        shared = self.sources.poll_arrays(L.INPUT_DTYPE, limit)
        offset = len(self.local_inputs)
        polled += [(index + offset, records) for index, records in shared]
        return polled

    def _take(self, index: int, records: np.ndarray, out: list[np.ndarray]) -> int:
        """The whole inputs of ring ``index``'s batch that the core takes, onto ``out``
        (the start of an unfinished one kept for the next turn); how many inputs the
        batch held. Drops (logged) what no ring may carry (module docstring)."""
        partial = self._partial.pop(index, None)
        if partial is not None:
            records = np.concatenate([partial, records], dtype=L.INPUT_DTYPE)
        starts, ends, whole = input_spans(records)
        if whole < len(records):
            self._partial[index] = records[whole:]
            records = records[:whole]
        if not len(starts):
            return 0
        held = len(starts)  # what the batch held, whatever is dropped below
        kinds = records["kind"][starts]
        if _CLIENT_KINDS[kinds].all():  # the common case, any ring may carry them
            out.append(records)
            return held
        control = index == self.control_ring
        not_input = (kinds == 0) | (kinds > L.CLOCK)
        core_only = ((kinds >= L.STAGE_CHAIN) & (kinds <= L.DEFINE_ACCOUNT)) | (kinds == L.CLOCK)
        session = (kinds >= L.SESSION_OPENED) & (kinds <= L.WORKER_STARTED)
        if control:
            foreign = session
            gateway_control = np.zeros(len(kinds), bool)
        else:
            foreign = session & (records["client_order_id"][starts] != index)
            gateway_control = (
                (kinds == L.KILL_SWITCH) | (kinds == L.SET_RISK_LIMITS) | (kinds == L.SET_PHASE)
            )
        drop = not_input | core_only | foreign | gateway_control
        if drop.any():
            for i in np.flatnonzero(drop).tolist():
                rec = records[starts[i] : ends[i]]
                if not_input[i]:
                    why = f"a record that is not an input (kind {int(kinds[i])})"
                elif core_only[i]:
                    why = "an input only the core journals"
                elif gateway_control[i]:
                    why = "a control input from a gateway"
                else:
                    why = "another worker's session input"
                log.error("input ring %d: dropped %s: %s", index, why, _describe(rec))
            records = records[np.repeat(~drop, ends - starts)]
        if len(records):
            out.append(records)
        return held

    def _unsequenced(self, batch: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """The inputs at ``starts`` got no seq: client commands their REJECTED records
        (seq 0, never journalled), the others held for the next turn."""
        if not len(starts):
            return _NO_EVENTS
        kinds = batch["kind"][starts]
        client = kinds <= L.MASS_CANCEL
        for s, e in zip(starts[~client].tolist(), ends[~client].tolist(), strict=True):
            self._held.append(batch[s:e])
            if int(batch["kind"][s]) >= L.STAGE_CHAIN:
                self._held_flags |= InputPacker.CORE_INPUTS
        if not client.any():
            return _NO_EVENTS
        rec = batch[starts[client]]
        return reject_records(rec, SEQUENCE_UNAVAILABLE)

    def journal_first(self, own: list[Input]) -> list[Input]:
        """Journal and run the core's own first inputs (before ``ready``), as a batch of
        their own, after any DEFINEs pending (``define_names``); those left to hold
        (none), or raise SequenceUnavailable. With no input of its own the DEFINEs
        wait for the first batch (a journal frame holds at least one sequenced input,
        and a seq of its own would shift every seq after it)."""
        if not own:
            return []
        seqs = self.sequence.next_block(len(own))
        packer = self.packer
        packer.start()
        for inp, seq in zip(own, seqs, strict=True):
            packer.add(inp, seq)
        records = L.join_records([self._defines, packer.records()], L.INPUT_DTYPE)
        flags = packer.flags | (InputPacker.DEFINES if len(self._defines) else 0)
        try:
            self.journal.append_records(records, first_seq=seqs[0], last_seq=seqs[-1], flags=flags)
        except Exception as exc:
            raise CoreHalted(
                f"{self.journal.failure or repr(exc)}: halted at start, nothing was acknowledged",
                EXIT_JOURNAL_FAILED,
            ) from exc
        self._defines = self._defines[:0]
        # A StageChain, a SkipInput, the DEFINEs' NAME events: nothing to publish (the
        # readers load the directory file).
        self.kernel_run.process(records)
        return []

    def hold(self, inputs: Iterable[Input]) -> None:
        """Inputs to go first in the next batch that gets seqs."""
        packer = self.packer
        for inp in inputs:
            if not isinstance(inp, Held):
                continue
            packer.start()
            packer.add(inp, 0)
            self._held.append(copy_records(packer.records()))
            self._held_flags |= packer.flags

    @property
    def last_seq(self) -> int:
        return self.kernel_run.kernel.last_seq

    @property
    def sync_fd(self) -> int | None:
        """Readable when an overlapped sync has returned (call ``release_synced``);
        None without a GroupCommit."""
        return None if self.commit is None else self.commit.done_fd

    def release_synced(self, wait: bool = False) -> None:
        """Publish the events a returned sync made durable (``wait``: all of them,
        waiting for the syncs); CoreHalted if a sync failed."""
        assert self.commit is not None
        try:
            self.commit.settle(wait)
        except OSError as exc:
            raise self._journal_halt(exc, None, held=True) from exc

    @property
    def logic(self) -> CoreLogic:
        """The reference kernel's stage chain (tests look inside; a compiled kernel has none)."""
        kernel = self.kernel_run.kernel
        if not isinstance(kernel, ReferenceKernel):
            raise AttributeError("the compiled kernel has no CoreLogic to look into")
        return kernel.logic

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

    def _hand_out(self, events: np.ndarray) -> None:
        """A turn's events to the event ring: now, or once a sync covers its batch."""
        if self.commit is None:
            self._publish(events)
        else:  # out once a sync covers the batch: now if one just returned
            self.commit.hold(events)
            self.release_synced()

    def _publish(self, records: np.ndarray) -> None:
        if len(records):
            for reader in self.in_process_readers:
                reader(records)
        while len(records):
            try:
                self.events.put_array(records, timeout=PUBLISH_TIMEOUT)
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
        events: np.ndarray,
        seqs: np.ndarray,
    ) -> CoreHalted:
        """The input at ``seq`` raised in ``apply``: publish the events of the inputs
        before it (journalled, and what recovery rebuilds up to it), none after,
        sync the journal; the halt to raise."""
        self.stopping = True  # the publish gives up on a reader that does not read
        synced_first = ""
        if self.commit is None:
            self._publish(events)
        else:  # after the syncs of everything before it, as always
            self.commit.hold(events)
            try:
                self.commit.settle(wait=True)
            except OSError as sync_exc:
                synced_first = f" (not published: syncing the journal failed: {sync_exc})"
        after = int((seqs > seq).sum())
        before = len(seqs) - after - 1
        synced = "the journal is synced"
        try:
            self.journal.sync()
        except Exception as sync_exc:
            synced = f"syncing the journal failed too: {self.journal.failure or sync_exc!r}"
        self.halted = CoreHalted(
            f"halted at seq {seq}: {inp!r} could not be applied: {type(exc).__name__}: {exc}; "
            f"the events of the {before} input(s) before it in its batch were published"
            f"{synced_first}, none "
            f"of it or the {after} after it; {synced}. Recovery stops before seq {seq} and the "
            f"core refuses to start until it is run with --skip-seq {seq} "
            f"(ringmatch serve --skip-seq {seq})",
            EXIT_HALTED,
            "".join(traceback.format_exception(exc)),
        )
        return self.halted

    def _journal_halt(self, exc: Exception, batch: int | None, held: bool = False) -> CoreHalted:
        """A journal write or sync failed: nothing of the batch (``batch`` inputs) is
        published; the halt.

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
        if held:  # an overlapped sync: its batches' events were waiting for it
            what = "nothing the failed sync was to make durable was acknowledged"
        elif batch:
            what = "nothing of the failed batch was acknowledged"
        else:
            what = "on syncing what was already acknowledged"
        # Every input applied before the failed batch was published; overlapped, only
        # what a sync covered was.
        acked = self.last_seq if self.commit is None else journal.durable_seq
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
        if self.commit is not None:
            # Never a snapshot above the durable journal: a machine crash would leave
            # a state with inputs the journal lost, and their seqs given out again.
            self.release_synced(wait=True)
        if len(self._defines):
            # Names the kernel has not run yet: a snapshot's directory would hold ids
            # its kernel lacks, and recovery from it would never define them.
            log.warning("snapshot put off: DEFINEs wait for a seq to be journalled with")
            return None
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
            self.drain()
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

    def drain(self) -> None:
        """Take what the rings hold now, and no more than a ring's worth from each."""
        budget = sum(ring.capacity for ring in self.sources.rings)
        budget += sum(ring.pending for ring in self.local_inputs)
        while budget > 0:
            taken = self.step(timeout=0)
            # A turn may take only the start of a long text input: no input, but progress.
            if not taken and not self.records_taken:
                break
            budget -= max(taken, self.records_taken)
        if self.commit is not None:
            self.release_synced(wait=True)  # what was taken is acknowledged before the stop
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
        if self.commit is not None:
            if self.halted is None:
                try:
                    self.release_synced(wait=True)
                except CoreHalted as halt:
                    failed = halt
            self.commit.close()  # after a halt what it holds is never published
            self.commit = None
        try:
            self.journal.close()  # a spent writer only closes its file
        except OSError as exc:
            failed = failed or self._journal_halt(exc, None)
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


_NO_EVENTS: np.ndarray = np.zeros(0, L.EVENT_DTYPE)
_CLIENT_KINDS = kind_table([L.NEW, L.CANCEL, L.REPLACE, L.MASS_CANCEL])


def reject_records(inputs: np.ndarray, reason: RejectReason) -> np.ndarray:
    """REJECTED event records (seq 0) answering the client commands ``inputs`` (owner
    records of kinds NEW..MASS_CANCEL) with ``reason``: never journalled, so no seq."""
    out = np.zeros(len(inputs), L.EVENT_DTYPE)
    kinds = inputs["kind"]
    out["kind"] = L.REJECTED
    out["command"] = kinds  # NEW..MASS_CANCEL are COMMAND's codes 1..4 too
    out["reason"] = L.REJECT_REASON_CODE[reason]
    out["account"] = inputs["account"]
    mass = kinds == L.MASS_CANCEL
    out["order_id"] = np.where(mass, 0, inputs["order_id"])
    out["client_order_id"] = np.where(mass, 0, inputs["client_order_id"])
    return out


def _join_events(first: np.ndarray, then: np.ndarray) -> np.ndarray:
    if not len(first):
        return then
    return L.join_records([first, then], L.EVENT_DTYPE)


def _describe(records: np.ndarray) -> str:
    """One input's records, for a log line: the raw fields of its owner."""
    names = L.INPUT_DTYPE.names
    assert names is not None
    fields = ", ".join(f"{n}={v}" for n, v in zip(names, records[0].tolist(), strict=True) if v)
    text = f" (+{len(records) - 1} text records)" if len(records) > 1 else ""
    return f"record({fields}){text}"
