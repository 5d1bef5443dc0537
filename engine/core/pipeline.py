"""The pipeline, wired in one place: rings, sequencer, journal, core logic, event ring.

Two halves, because two processes build them:

* ``create_rings`` runs in the supervisor (``ringmatch serve``, or a test): it
  owns the shared memory. When any child dies, serve stops the whole server
  (it restarts nothing itself: a service manager brings serve back, and the
  new run makes new rings after removing the old run's);
* ``build_core`` runs in the core process, stage by stage (numbered below),
  and ``run_core`` turns the loop until SIGTERM. ``main`` is that process (it
  prints ``ready last_seq=N`` once it runs): ``serve`` starts it as ``python -m
  ringmatch.child core CONFIG.json``, which hands it the wiring's pre-trade stages;
  ``python -m ringmatch.engine.core.pipeline CONFIG.json`` runs a core that knows
  none (a journal that names one is refused, naming it).

Exit status of the core process: 0 stopped cleanly; 2 bad usage or a
``skip_seqs`` entry that names no failed input; 3 (core.EXIT_HALTED) an input
could not be applied, live (halted) or in recovery (refused to start: the
error names the seq and says how to skip it); 4 (core.EXIT_JOURNAL_FAILED) a
journal write or sync failed; 1 anything else (a traceback).

docs/PIPELINE.md draws the topology and states the contract.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Literal

import msgspec

from ringmatch.engine.core.journal_run import JournalRun, kernel_name
from ringmatch.engine.core.loop import EXIT_HALTED, Core, CoreHalted
from ringmatch.engine.core.pretrade_hook import StageResolver, UnknownStage, no_stages
from ringmatch.engine.core.recovery import SkipRefused, run_recovery
from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.core.schedule import Schedule, SymbolSchedule
from ringmatch.engine.core.sequence import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_KEY,
    LocalSequence,
    RedisBlockSequence,
    SequenceAllocator,
    SequenceUnavailable,
)
from ringmatch.engine.core.stage_chain import InputFailed
from ringmatch.engine.core.staged_kernel import StagedKernel
from ringmatch.engine.journal.datadir_lock import DEFAULT_WAIT_S, DataDirLock, DataDirLocked
from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.kernel.api import Kernel
from ringmatch.engine.process import lifeline
from ringmatch.engine.process.child_config import EXIT_USAGE, config_from_argv
from ringmatch.engine.process.placement import pin, settle
from ringmatch.engine.records import layout
from ringmatch.engine.records.names import BadName, write_directory
from ringmatch.engine.rings.codec import EVENT_SLOT, INPUT_SLOT
from ringmatch.engine.rings.event_ring import EventRing, EventRingSpec
from ringmatch.engine.rings.fan_in import FanIn
from ringmatch.engine.rings.local_ring import LocalRing
from ringmatch.engine.rings.shm import cleanup_stale, remove_run
from ringmatch.engine.rings.spsc_ring import RingSpec, SpscRing
from ringmatch.engine.rings.wait import wait_strategy
from ringmatch.engine.schema.commands import Input, SkipInput, StageChain
from ringmatch.engine.schema.enums import TradingPhase

log = logging.getLogger("ringmatch.core")

# The rings carry the records, one a slot (the rings restate the sizes: they rank
# beside the records and cannot import them).
assert INPUT_SLOT == layout.INPUT_SIZE and EVENT_SLOT == layout.EVENT_SIZE


class CoreConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the core process needs (JSON for ``python -m ringmatch.child core``)."""

    data_dir: str
    input_rings: list[str]  # segment names of the gateway workers' rings, in worker order
    event_ring: str  # segment name of the event ring (the core is its writer)
    control_ring: str | None = None  # admin / risk -> core
    fsync: str = (
        "every-batch"  # ringmatch.engine.journal.fsync_policy: every-batch, never, "every 5ms"
    )
    # fsync every-batch: sync each batch on a thread while the next is matched, its
    # events held until the sync returns (ringmatch.engine.journal.group_commit).
    overlap_sync: bool = False
    snapshot_every: int = 0  # sequenced inputs between snapshots; 0: only on demand
    snapshot_on_exit: bool = True
    max_batch: int = 1024  # inputs taken from each ring per turn
    redis_url: str | None = None  # sequence IDs from Redis blocks instead of a local counter
    redis_key: str = DEFAULT_KEY
    redis_block: int = DEFAULT_BLOCK_SIZE
    pretrade: str | None = None  # "module:factory", a callable returning a PreTradeStage
    # The data directory's lock (ringmatch.engine.journal.datadir_lock): a descriptor the supervisor
    # took it through and passed down, or None to take it here, waiting up to
    # lock_wait s for a holder.
    lock_fd: int | None = None
    lock_wait: float = DEFAULT_WAIT_S
    supervisor_pid: int | None = None
    # Journalled inputs not to apply (``serve --skip-seq``): each must be the seq of
    # an input that fails in recovery (or one the journal already skips).
    skip_seqs: list[int] = []
    # The configured names: each one the recovered directory lacks gets an id, its
    # DEFINE journalled before ``ready``; the directory file then holds them all.
    symbols: list[str] = []
    accounts: list[str] = []
    # How the core waits on its rings when idle (ringmatch.engine.rings.wait.wait_strategy)
    # and the CPUs it is pinned to ([] : anywhere).
    wait: str = "block"
    spin_us: int = 50
    cpus: list[int] = []
    # Each scheduled symbol's trading day (ringmatch.engine.core.schedule): (symbol, IANA
    # time zone, [(HH:MM[:SS], phase)]). The core sends its transitions as SetPhase.
    schedules: list[tuple[str, str, list[tuple[str, str]]]] = []
    reference_prices: dict[str, int] = {}  # per scheduled symbol: its SetPhases carry it
    # Whose time the batches carry (V-TIME-1): "core", the core's clock when it
    # sequences them (live), or "inputs", each record's ts_ns as its producer gave it
    # (a replay or a test that drives time itself; no Clock inputs are made).
    time_source: Literal["core", "inputs"] = "core"


class StartRefused(Exception):
    """The core will not start (recovery met an input it cannot apply, or a bad
    ``skip_seqs``): ``str()`` says why and what to do, ``status`` is the exit status."""

    def __init__(self, message: str, status: int, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


@dataclass
class PipelineRings:
    """The supervisor's rings (it owns and unlinks them)."""

    inputs: list[SpscRing]
    control: SpscRing
    events: EventRing

    def core_config(self, data_dir: str, **options: object) -> CoreConfig:
        return CoreConfig(
            data_dir=data_dir,
            input_rings=[r.spec.name for r in self.inputs],
            control_ring=self.control.spec.name,
            event_ring=self.events.spec.name,
            **options,  # type: ignore[arg-type]
        )

    def close(self) -> None:
        for ring in (*self.inputs, self.control):
            ring.close()
        self.events.close()


def create_rings(
    prefix: str,
    workers: int,
    event_readers: Sequence[bool],
    *,
    input_capacity: int = 4096,
    event_capacity: int = 16384,
    owned: bool = False,
) -> PipelineRings:
    """One input ring per gateway worker, the control ring, the event ring.

    ``event_readers[k]``: whether event reader k is required (gates the core:
    gateway workers) or optional (risk, market data; cut off if it lags).
    Leftovers of a dead run with the same prefix are removed first: those of
    dead pids, or with ``owned`` (the caller holds the data directory's lock,
    which the prefix is named after) every one of them.
    """
    if owned:
        remove_run(prefix)
    else:
        cleanup_stale(prefix)
    inputs = [SpscRing.create(prefix, f"in{k}", input_capacity, INPUT_SLOT) for k in range(workers)]
    control = SpscRing.create(prefix, "control", 1024, INPUT_SLOT)
    events = EventRing.create(prefix, "events", event_capacity, EVENT_SLOT, event_readers)
    return PipelineRings(inputs, control, events)


def build_core(
    config: CoreConfig,
    *,
    wake_fd: int | None = None,
    resolve: StageResolver = no_stages,
    local_inputs: Sequence[LocalRing] = (),
) -> Core:
    """The core, stage by stage; recovery runs here, before the first input is taken.

    StartRefused if recovery meets an input it cannot apply (or ``skip_seqs`` is
    wrong); CoreHalted if the journal cannot be written at start. ``resolve``
    finds a pre-trade stage's factory from its spec (ringmatch.engine.core.pretrade_hook).
    """
    os.makedirs(config.data_dir, exist_ok=True)
    # 1. Input rings: one per gateway worker, then the control ring, all in one FanIn.
    #    In-process rings (``local_inputs``: the compact topology's worker) come first:
    #    input ring k is worker k's, whichever kind it is.
    names = list(config.input_rings)
    control_index = None
    if config.control_ring is not None:
        control_index = len(local_inputs) + len(names)
        names.append(config.control_ring)
    rings: list[SpscRing] = []
    with ExitStack() as undo:  # on a failed start, close what was opened
        for name in names:
            ring = SpscRing.attach(RingSpec(name))
            undo.callback(ring.close)
            rings.append(ring)
            if ring.slot_size < INPUT_SLOT:
                raise ValueError(
                    f"input ring {name}: {ring.slot_size}-byte slots, under the "
                    f"{INPUT_SLOT} bytes of an input record"
                )
        events_ring = EventRing.attach(EventRingSpec(config.event_ring))
        undo.callback(events_ring.close)
        if events_ring.slot_size < EVENT_SLOT:
            raise ValueError(
                f"event ring {config.event_ring}: {events_ring.slot_size}-byte slots, "
                f"under the {EVENT_SLOT} bytes of an event record"
            )

        # 2. The kernel, recovered: newest valid snapshot, then the journal's records
        #    after it, through the kernel the journal calls for (journal_run.kernel_for:
        #    the compiled kernel, with its own stage when the journal or the
        #    configuration names PreTradeRisk; the reference kernel for any other
        #    stage), as live. The configured stage's name is resolved first, so that an unknown
        #    one stops the start before anything names it in the journal.
        if config.pretrade is not None:
            resolve(config.pretrade)
        run, last_seq, newly_skipped = _recover(config, resolve)

        # 3. Journal: carries on after the last whole batch (recovery cut any torn tail).
        journal = JournalWriter(
            config.data_dir, fsync=FsyncPolicy.parse(config.fsync), start_after=last_seq
        )
        undo.callback(journal.close)

        # 4. Sequencer: continues above everything journalled (and above any seq a
        #    crashed run named a segment after: JournalWriter.seq_floor).
        floor = journal.seq_floor
        sequence: SequenceAllocator
        if config.redis_url is None:
            sequence = LocalSequence(start_after=floor)
        else:
            redis_seq = RedisBlockSequence.from_url(
                config.redis_url, config.redis_key, block_size=config.redis_block, floor=floor
            )
            undo.callback(redis_seq.close)
            if not redis_seq.wait_block(5.0):
                log.warning(
                    "no sequence block from %s yet: inputs are rejected until one comes",
                    redis_seq.url,
                )
            sequence = redis_seq

        # 5. Fan-in over the input rings; the event ring is written by the core alone.
        #    The schedule: each symbol's next transition after now.
        schedule = _schedule(config)
        sources = FanIn(rings, wait_strategy(config.wait, config.spin_us), wake_fd=wake_fd)
        core = Core(
            sources,
            sequence,
            journal,
            run,
            events_ring,
            config.data_dir,
            control_ring=control_index,
            max_batch=config.max_batch,
            snapshot_every=config.snapshot_every,
            snapshot_on_exit=config.snapshot_on_exit,
            local_inputs=local_inputs,
            overlap_sync=config.overlap_sync,
            schedule=schedule,
            stamp_time=config.time_source == "core",
        )

        # 6. The core's own inputs, first in this run: a SkipInput for each seq the
        #    operator's skip_seqs skipped, and a StageChain if the configured stage is
        #    not the one the journal last named. Journalled before ``ready``, so that
        #    risk and the feed, which rebuild from the journal up to the ready seq,
        #    see the skips. With them, the DEFINEs of the configured names the
        #    directory lacks; then the directory file, which the rings' writers and
        #    the event ring's readers load (they start once the core is ready).
        try:
            core.define_names(config.symbols, config.accounts)
        except BadName as exc:
            raise StartRefused(f"cannot start: a configured {exc}", EXIT_USAGE) from exc
        _journal_core_inputs(config, core, newly_skipped)
        write_directory(config.data_dir, core.directory)
        undo.pop_all()

    # 7. The run loop.
    log.info(
        "recovered to seq %d; sequencing after %d; kernel: %s",
        last_seq,
        floor,
        kernel_name(run.kernel),
    )
    return core


def _schedule(config: CoreConfig) -> Schedule | None:
    """The configured schedule, or None; StartRefused for a schedule that cannot be
    used (the configuration's checks name the key; these are the core's)."""
    if not config.schedules:
        return None
    parsed = []
    for symbol, timezone, entries in config.schedules:
        try:
            parsed.append(SymbolSchedule.parse(symbol, timezone, entries))
        except ValueError as exc:
            raise StartRefused(f"cannot start: [[symbols]] {symbol!r}: {exc}", EXIT_USAGE) from exc
    return Schedule(parsed, time.time_ns(), config.reference_prices)


def _recover(config: CoreConfig, resolve: StageResolver) -> tuple[JournalRun, int, list[int]]:
    try:
        run, last_seq, newly_skipped = run_recovery(
            config.data_dir, config.skip_seqs, resolve=resolve, configured=config.pretrade
        )
    except InputFailed as failed:
        raise StartRefused(
            f"cannot start: recovery stopped before seq {failed.seq}: {failed.input!r} could "
            f"not be applied ({type(failed.cause).__name__}: {failed.cause}). It is the input "
            f"that halted the core. To start without it, run with --skip-seq {failed.seq} "
            f"(ringmatch serve --skip-seq {failed.seq}): the core then journals that the seq "
            f"is skipped, and recovery and replay skip it from then on",
            EXIT_HALTED,
            "".join(traceback.format_exception(failed.cause)),
        ) from failed
    except SkipRefused as refused:
        raise StartRefused(f"cannot start: {refused}", EXIT_USAGE) from refused
    for seq in newly_skipped:
        log.warning("seq %d skipped, as --skip-seq asked: it is journalled as skipped", seq)
    return run, last_seq, newly_skipped


def kernel_chain(kernel: Kernel) -> str | None:
    """The stage spec the kernel runs (the compiled kernel without its stage runs none)."""
    if isinstance(kernel, StagedKernel):
        return kernel.chain
    return kernel.logic.chain if isinstance(kernel, ReferenceKernel) else None


def _journal_core_inputs(config: CoreConfig, core: Core, newly_skipped: list[int]) -> None:
    """Journal and run the core's own first inputs; those without a seq yet are held."""
    now = time.time_ns()
    own: list[Input] = [SkipInput(seq, now) for seq in newly_skipped]
    own += _scheduled_phases(core, now)
    kernel = core.kernel_run.kernel
    resolve = kernel.resolve if isinstance(kernel, ReferenceKernel | StagedKernel) else None
    if not _same_stage(config.pretrade, kernel_chain(kernel), resolve or no_stages):
        own.append(StageChain(config.pretrade, now))
    if not own:
        return  # any DEFINEs pending go first in the first batch
    try:
        core.journal_first(own)
    except (SequenceUnavailable, ValueError) as exc:
        if newly_skipped:
            # Recovery already stepped over these seqs: running on without saying so in
            # the journal would leave every later replay to fail where this one skipped.
            raise StartRefused(
                f"cannot start: no sequence number to journal the skip of seq(s) "
                f"{newly_skipped} with ({exc}); try again once the sequencer is back",
                1,
            ) from exc
        # A StageChain only: held, it goes first in the first batch that gets seqs
        # (after the DEFINEs pending, which wait for that batch too).
        core.hold(own)


def _scheduled_phases(core: Core, now: int) -> list[Input]:
    """At start, each scheduled symbol goes to the phase its schedule says for now
    (a symbol already in it is left alone, and so is a HALTED one: a halt outlives
    a restart, and is lifted by an admin command)."""
    if not core.schedule:
        return []
    kernel = core.kernel_run.kernel
    ids = core.directory.symbols
    out: list[Input] = []
    for symbol, phase in core.schedule.phases_at(now):
        current = layout.PHASE_OF.get(kernel.phase(ids.get(symbol)))  # type: ignore[attr-defined]
        if current is not phase and current is not TradingPhase.HALTED:
            out.append(core.schedule.set_phase(symbol, phase, now))
    return out


def run_core(
    config: CoreConfig,
    ready: Callable[[int], None] | None = None,
    resolve: StageResolver = no_stages,
) -> int:
    """Build the core and run it until SIGTERM/SIGINT; the exit status."""
    # 0. The data directory is ours before anything in it is read or written
    #    (recovery may cut a torn tail): one core per directory, for its whole life.
    lock = lock_data_dir(config)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    try:
        core = build_core(config, wake_fd=wake_r, resolve=resolve)
        pin(config.cpus, "core")
        settle()  # everything built so far lives until exit: keep the collector off it
        return core.run(wake_fd_w=wake_w, ready=ready)
    finally:
        os.close(wake_r)
        os.close(wake_w)
        lock.release()


def _same_stage(spec: str | None, chain: str | None, resolve: StageResolver) -> bool:
    """Whether ``spec`` names the stage the journal's ``chain`` names: one name, or two
    names of one factory (a journal from before stages had short names says
    "risk.pretrade:PreTradeRisk" for "risk"). Journalling a new StageChain for an alias
    would start the stage afresh and lose its kill switches and open orders."""
    if spec == chain:
        return True
    if spec is None or chain is None:
        return False
    try:
        return resolve(spec) is resolve(chain)
    except UnknownStage:
        return False


def lock_data_dir(config: CoreConfig) -> DataDirLock:
    """The data directory's lock: adopted from the supervisor, or taken (bounded wait)."""
    if config.lock_fd is not None:
        return DataDirLock.adopt(config.data_dir, config.lock_fd, parent=config.supervisor_pid)
    return DataDirLock.acquire(
        config.data_dir, wait=config.lock_wait, say=lambda text: log.warning("%s", text)
    )


def main(argv: Sequence[str] | None = None, resolve: StageResolver = no_stages) -> int:
    """``python -m ringmatch.engine.core.pipeline CONFIG.json``: the core process.

    ``resolve`` finds the pre-trade stage the configuration or the journal names:
    ``serve`` starts its core through ``python -m ringmatch.child core``, which
    passes the wiring's (ringmatch.stages). Exit status 1, having changed
    nothing, when another core holds the data directory.
    """
    lifeline.attach()  # started by serve: never outlive it
    config = config_from_argv(argv, "ringmatch.engine.core.pipeline", CoreConfig)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s core %(levelname)s %(message)s"
    )

    def ready(last_seq: int) -> None:
        print(f"ready last_seq={last_seq}", flush=True)

    try:
        return run_core(config, ready, resolve)
    except DataDirLocked as exc:
        print(f"ringmatch core: {exc}", file=sys.stderr, flush=True)
        return 1
    except UnknownStage as exc:
        print(f"ringmatch core: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    except (StartRefused, CoreHalted) as stopped:
        detail = stopped.detail.rstrip("\n")
        print(f"ringmatch core: {stopped}" + (f"\n{detail}" if detail else ""), file=sys.stderr)
        return stopped.status


if __name__ == "__main__":
    sys.exit(main())
