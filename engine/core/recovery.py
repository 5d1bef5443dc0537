"""Recovery: rebuild the core's state from the journal, then carry on the sequence.

    logic, last_seq = recover_core(data_dir)            # snapshot + journal, torn tail cut
    writer = JournalWriter(data_dir, start_after=last_seq)
    seqs = LocalSequence(start_after=writer.seq_floor)   # or Redis with floor=seq_floor

Replay goes through ringmatch.engine.core.stage_chain (client order ids, pre-trade, matching),
the same code the live core runs, so the registry and the books come back as
they were. The pre-trade stage is the one the journal names (StageChain
inputs, resolved by ``resolve``), not the one configured now. ``recover`` is
the engine-only form.

A torn tail (a crash during a write nobody was told was durable) is reported
as a TornTailWarning naming the file and offset, then cut off, so the writer
can append after the last whole batch. Damage to synced data raises
JournalCorrupt (see ringmatch.engine.journal.format) and the start stops there.

Snapshots plug in here: without a ``logic`` given, recovery starts from the
newest valid snapshot in the data directory (ringmatch.engine.core.snapshot), and only the
journal after its ``last_seq`` is replayed.

Inputs that cannot be applied (docs/PIPELINE.md, "Halts"): if processing a
journalled input raises, recovery stops before it with InputFailed naming the
seq and the input, and the core refuses to start. Seqs the journal skips
(SkipInput records) are found before the replay starts (``journalled_skips``)
and stepped over. ``run_recovery`` also takes the operator's ``--skip-seq``
seqs; see there.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Collection
from typing import NamedTuple, Protocol

import msgspec

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core import snapshot
from ringmatch.engine.core.client_ids import ClientIds
from ringmatch.engine.core.pretrade_hook import StageResolver, make_stage, no_stages
from ringmatch.engine.core.sessions import SessionTable
from ringmatch.engine.core.stage_chain import CoreLogic, InputFailed, StatefulStage
from ringmatch.engine.journal.files import OS_FILES, FileLayer
from ringmatch.engine.journal.log import JournalReader, records_containing
from ringmatch.engine.schema.commands import Input, SkipInput

__all__ = [
    "InputFailed",
    "Recovery",
    "SkipRefused",
    "TornTailWarning",
    "journalled_skips",
    "load_snapshot",
    "recover",
    "recover_core",
    "replay_into",
    "run_recovery",
    "start_logic",
    "write_snapshot",
]

_SKIP_MARKER = msgspec.msgpack.encode(SkipInput.__struct_config__.tag)
"""How a SkipInput's tag reads in a journal frame: the look-ahead searches for it."""


class TornTailWarning(UserWarning):
    """Recovery found and cut off a torn journal tail."""


class SkipRefused(Exception):
    """An operator's ``--skip-seq`` that names no input that failed."""


class Replayable(Protocol):
    """What recovery replays into: the core's logic, an engine, or a test's recorder."""

    @property
    def last_seq(self) -> int: ...

    def process(self, cmd: Input, seq: int) -> object: ...


def journalled_skips(
    data_dir: str | os.PathLike[str], *, files: FileLayer = OS_FILES, after_seq: int = 0
) -> frozenset[int]:
    """The seqs after ``after_seq`` that SkipInput records in the journal name.

    A SkipInput is journalled after the input it names but acts before it, so
    every replay must know them before it starts. Looking ahead costs a read
    of the journal's bytes, not a decode (ringmatch.engine.journal.log.records_containing).
    """
    return frozenset(
        inp.seq
        for _, inp in records_containing(data_dir, _SKIP_MARKER, files=files)
        if type(inp) is SkipInput and inp.seq > after_seq
    )


def replay_into(
    engine: Replayable,
    data_dir: str | os.PathLike[str],
    *,
    files: FileLayer = OS_FILES,
    cut_torn_tail: bool = True,
) -> int:
    """Feed every journalled input after ``engine.last_seq`` to ``engine``; the last seq.

    A CoreLogic steps over its ``skipped`` seqs and raises InputFailed for an
    input that cannot be applied (the torn tail is then left for the next try).
    """
    reader = JournalReader(data_dir, files=files, after_seq=engine.last_seq)
    if isinstance(engine, CoreLogic):
        for batch in reader.batches():
            engine.replay_batch(batch)
    else:
        process = engine.process
        for batch in reader.batches():
            for seq, cmd in batch:
                process(cmd, seq)
    torn = reader.torn_tail
    if torn is not None:
        action = "cutting it off" if cut_torn_tail else "leaving it in place"
        warnings.warn(TornTailWarning(f"{torn.describe()}; {action}"), stacklevel=2)
        if cut_torn_tail:
            files.truncate(torn.path, torn.offset)
    return reader.last_seq


def recover(
    data_dir: str | os.PathLike[str],
    *,
    files: FileLayer = OS_FILES,
    engine: MatchingEngine | None = None,
) -> tuple[MatchingEngine, int]:
    """A MatchingEngine rebuilt from the journal (after ``engine``'s state if given)."""
    start = None if engine is None else CoreLogic(engine)
    logic, last_seq = recover_core(data_dir, files=files, logic=start)
    return logic.engine, last_seq


def recover_core(
    data_dir: str | os.PathLike[str],
    *,
    files: FileLayer = OS_FILES,
    logic: CoreLogic | None = None,
    resolve: StageResolver = no_stages,
) -> tuple[CoreLogic, int]:
    """The core's logic rebuilt: the newest valid snapshot (unless ``logic`` is
    given), then the journal after it; and the last seq journalled."""
    done = run_recovery(data_dir, files=files, logic=logic, resolve=resolve)
    return done.logic, done.last_seq


class Recovery(NamedTuple):
    logic: CoreLogic
    last_seq: int  # the last seq journalled
    newly_skipped: list[int]  # operator skips taken that the journal does not hold yet


def run_recovery(
    data_dir: str | os.PathLike[str],
    skip_seqs: Collection[int] = (),
    *,
    files: FileLayer = OS_FILES,
    logic: CoreLogic | None = None,
    resolve: StageResolver = no_stages,
) -> Recovery:
    """Recovery as the core runs it, with the operator's ``skip_seqs`` (``--skip-seq``).

    A skip is taken only for an input that fails: when the input at a seq in
    ``skip_seqs`` raises, recovery starts again from its starting point (the
    snapshot, or the journal's start) with that seq skipped, because the failed
    attempt may have half changed the state, which must not be gone on from.
    (Skipping the seqs from the start instead would skip an input that applies
    fine, and was perhaps acknowledged, on the operator's word.) The core then
    journals a SkipInput for each seq in ``newly_skipped``, after which every
    replay skips it without being told. A seq the journal already skips is
    fine (a repeated flag); one at or before the snapshot recovery starts from
    is ignored with a warning (its outcome is in the snapshot); any other seq
    that did not fail raises SkipRefused. An input that fails and is not in
    ``skip_seqs`` raises InputFailed.
    """
    wanted = frozenset(skip_seqs)
    taken: set[int] = set()
    while True:
        if logic is None:
            current = start_logic(data_dir, files=files, resolve=resolve)
        else:
            current = logic
            found = journalled_skips(data_dir, files=files, after_seq=current.last_seq)
            current.skipped = current.skipped | found
        journalled = current.skipped
        start_seq = current.last_seq
        current.skipped = journalled | taken
        try:
            last_seq = replay_into(current, data_dir, files=files)
        except InputFailed as failed:
            if failed.seq in wanted and failed.seq not in taken and logic is None:
                taken.add(failed.seq)
                continue
            raise
        break
    for seq in sorted(wanted - taken - journalled):
        if seq <= start_seq:
            warnings.warn(
                f"--skip-seq {seq} ignored: recovery starts from the snapshot at seq "
                f"{start_seq}, which already holds what that input did",
                stacklevel=2,
            )
            continue
        raise SkipRefused(
            f"--skip-seq {seq}: no journalled input at seq {seq} failed in recovery (it was "
            f"applied without error, or the journal, which ends at seq {last_seq}, holds no "
            f"such seq): nothing to skip. --skip-seq is only for the input that halted the "
            f"core; start without it"
        )
    return Recovery(current, last_seq, sorted(taken))


def start_logic(
    data_dir: str | os.PathLike[str],
    *,
    files: FileLayer = OS_FILES,
    resolve: StageResolver = no_stages,
    snapshot: bool = True,
    upto: int | None = None,
) -> CoreLogic:
    """Where a replay of the journal starts: the newest valid snapshot (if
    ``snapshot``, and if it is at or before ``upto`` when given), else the
    journal's start; with the seqs the journal skips after it in ``skipped``.
    Every reader that replays the journal (recovery, ``replay --format
    journal``, the feed's and risk's rebuilds) starts here, so all skip alike."""
    logic = load_snapshot(data_dir, resolve=resolve) if snapshot else None
    if logic is None or (upto is not None and logic.last_seq > upto):
        logic = CoreLogic(resolve=resolve)
    logic.skipped = journalled_skips(data_dir, files=files, after_seq=logic.last_seq)
    return logic


def load_snapshot(
    data_dir: str | os.PathLike[str], *, resolve: StageResolver = no_stages
) -> CoreLogic | None:
    """The core's logic as of the newest valid snapshot, or None if there is none.

    Its pre-trade stage is the one the snapshot names (made by ``resolve``),
    with the state it saved.
    """
    found = snapshot.load_latest_snapshot(data_dir)
    if found is None:
        return None
    snap, engine = found
    if snap.stage_chain is None and snap.pretrade is not None:
        # Written before snapshots named their stage: the journal before it names
        # none either, so a replay of the journal would run without one. Refused,
        # so that recovery agrees with every replay of the same journal.
        warnings.warn(
            snapshot.SnapshotDamaged(
                f"the snapshot at seq {snap.last_seq} holds a pre-trade stage's state but "
                "does not name the stage (written by an older version); replaying the "
                "journal from its start instead"
            ),
            stacklevel=2,
        )
        return None
    stage = make_stage(snap.stage_chain, resolve)
    if isinstance(stage, StatefulStage) and snap.pretrade is not None:
        stage.load_state(snap.pretrade)
    sessions = SessionTable(snap.sessions, snap.armed)
    return CoreLogic(
        engine, ClientIds(snap.client_ids), stage, sessions, chain=snap.stage_chain, resolve=resolve
    )


def write_snapshot(data_dir: str | os.PathLike[str], logic: CoreLogic) -> str:
    """Snapshot the core's logic (engine, registry, pre-trade stage and its state,
    sessions) durably; the path."""
    stage = logic.pretrade
    state = stage.dump_state() if isinstance(stage, StatefulStage) else None
    return str(
        snapshot.write(data_dir, logic.engine, logic.client_ids, state, logic.sessions, logic.chain)
    )
