"""The pipeline, wired in one place: rings, sequencer, journal, core logic, event ring.

Two halves, because two processes build them:

* ``create_rings`` runs in the supervisor (``ringmatch serve``, or a test): it
  owns the shared memory, so the rings outlive a crash of the core, and a
  restarted core attaches to the same rings and carries on;
* ``build_core`` runs in the core process, stage by stage (numbered below),
  and ``run_core`` turns the loop until SIGTERM. ``python -m engine.pipeline
  CONFIG.json`` is that process (it prints ``ready last_seq=N`` once it runs).

docs/PIPELINE.md draws the topology and states the contract.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

import msgspec

from engine import lifeline
from engine.codec import EVENT_SLOT, INPUT_SLOT
from engine.core import Core
from engine.datadir_lock import DEFAULT_WAIT_S, DataDirLock, DataDirLocked
from engine.event_ring import EventRing, EventRingSpec
from engine.fan_in import FanIn
from engine.fsync_policy import FsyncPolicy
from engine.journal import JournalWriter
from engine.journal_recovery import recover_core
from engine.pretrade import PreTradeStage
from engine.process_config import config_from_argv
from engine.ring import RingSpec, SpscRing
from engine.sequence import (
    DEFAULT_BLOCK_SIZE,
    DEFAULT_KEY,
    LocalSequence,
    RedisBlockSequence,
    SequenceAllocator,
)
from engine.shm import cleanup_stale, remove_run

log = logging.getLogger("ringmatch.core")


class CoreConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the core process needs (JSON for ``python -m engine.pipeline``)."""

    data_dir: str
    input_rings: list[str]  # segment names of the gateway workers' rings, in worker order
    event_ring: str  # segment name of the event ring (the core is its writer)
    control_ring: str | None = None  # admin / risk -> core
    fsync: str = "every-batch"  # engine.fsync_policy: every-batch, never, "every 5ms"
    snapshot_every: int = 0  # sequenced inputs between snapshots; 0: only on demand
    snapshot_on_exit: bool = True
    max_batch: int = 1024  # inputs taken from each ring per turn
    redis_url: str | None = None  # sequence IDs from Redis blocks instead of a local counter
    redis_key: str = DEFAULT_KEY
    redis_block: int = DEFAULT_BLOCK_SIZE
    pretrade: str | None = None  # "module:factory", a callable returning a PreTradeStage
    # The data directory's lock (engine.datadir_lock): a descriptor the supervisor
    # took it through and passed down, or None to take it here, waiting up to
    # lock_wait s for a holder.
    lock_fd: int | None = None
    lock_wait: float = DEFAULT_WAIT_S
    supervisor_pid: int | None = None


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


def build_core(config: CoreConfig, *, wake_fd: int | None = None) -> Core:
    """The core, stage by stage; recovery runs here, before the first input is taken."""
    os.makedirs(config.data_dir, exist_ok=True)
    # 1. Input rings: one per gateway worker, then the control ring, all in one FanIn.
    names = list(config.input_rings)
    control_index = None
    if config.control_ring is not None:
        control_index = len(names)
        names.append(config.control_ring)
    rings: list[SpscRing] = []
    with ExitStack() as undo:  # on a failed start, close what was opened
        for name in names:
            ring = SpscRing.attach(RingSpec(name))
            undo.callback(ring.close)
            rings.append(ring)
            if ring.slot_size > INPUT_SLOT:
                raise ValueError(
                    f"input ring {name}: {ring.slot_size}-byte slots, over the "
                    f"{INPUT_SLOT} bytes the event ring's slots are sized for"
                )
        events_ring = EventRing.attach(EventRingSpec(config.event_ring))
        undo.callback(events_ring.close)
        if events_ring.slot_size < EVENT_SLOT:
            raise ValueError(
                f"event ring {config.event_ring}: {events_ring.slot_size}-byte slots, "
                f"under the {EVENT_SLOT} bytes an event may need"
            )

        # 2. Core logic, recovered: newest valid snapshot, then the journal after it,
        #    through the same stage chain (client ids -> pre-trade -> matching) as live.
        pretrade = _load_pretrade(config.pretrade)
        logic, last_seq = recover_core(config.data_dir, pretrade)

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
        sources = FanIn(rings, wake_fd=wake_fd)
        undo.pop_all()

    # 6. The run loop.
    log.info("recovered to seq %d; sequencing after %d", last_seq, floor)
    return Core(
        sources,
        sequence,
        journal,
        logic,
        events_ring,
        config.data_dir,
        control_ring=control_index,
        max_batch=config.max_batch,
        snapshot_every=config.snapshot_every,
        snapshot_on_exit=config.snapshot_on_exit,
    )


def run_core(config: CoreConfig, ready: Callable[[int], None] | None = None) -> int:
    """Build the core and run it until SIGTERM/SIGINT; the exit status."""
    # 0. The data directory is ours before anything in it is read or written
    #    (recovery may cut a torn tail): one core per directory, for its whole life.
    lock = lock_data_dir(config)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    try:
        core = build_core(config, wake_fd=wake_r)
        # Everything built so far lives until exit: keep the collector off it.
        gc.collect()
        gc.freeze()
        if ready is not None:
            ready(core.logic.last_seq)
        return core.run(wake_fd_w=wake_w)
    finally:
        os.close(wake_r)
        os.close(wake_w)
        lock.release()


def lock_data_dir(config: CoreConfig) -> DataDirLock:
    """The data directory's lock: adopted from the supervisor, or taken (bounded wait)."""
    if config.lock_fd is not None:
        return DataDirLock.adopt(config.data_dir, config.lock_fd, parent=config.supervisor_pid)
    return DataDirLock.acquire(
        config.data_dir, wait=config.lock_wait, say=lambda text: log.warning("%s", text)
    )


def _load_pretrade(spec: str | None) -> PreTradeStage | None:
    if spec is None:
        return None
    module_name, _, factory = spec.partition(":")
    if not factory:
        raise ValueError(f"pretrade {spec!r}: expected module:factory")
    stage: PreTradeStage = getattr(importlib.import_module(module_name), factory)()
    return stage


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m engine.pipeline CONFIG.json``: the core process.

    Exit status 1, having changed nothing, when another core holds the data directory.
    """
    lifeline.attach()  # started by serve: never outlive it
    config = config_from_argv(argv, "engine.pipeline", CoreConfig)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s core %(levelname)s %(message)s"
    )

    def ready(last_seq: int) -> None:
        print(f"ready last_seq={last_seq}", flush=True)

    try:
        return run_core(config, ready)
    except DataDirLocked as exc:
        print(f"ringmatch core: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
