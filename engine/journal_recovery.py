"""Recovery: rebuild the core's state from the journal, then carry on the sequence.

    logic, last_seq = recover_core(data_dir, pretrade)  # snapshot + journal, torn tail cut
    writer = JournalWriter(data_dir, start_after=last_seq)
    seqs = LocalSequence(start_after=writer.seq_floor)   # or Redis with floor=seq_floor

Replay goes through engine.core_logic (client order ids, pre-trade, matching),
the same code the live core runs, so the registry and the books come back as
they were. ``recover`` is the engine-only form (no pre-trade stage).

A torn tail (a crash during a write nobody was told was durable) is reported
as a TornTailWarning naming the file and offset, then cut off, so the writer
can append after the last whole batch. Damage to synced data raises
JournalCorrupt (see engine.journal_format) and the start stops there.

Snapshots plug in here: without an ``engine`` given, recovery starts from the
newest valid snapshot in the data directory (engine.snapshot), and only the
journal after its ``last_seq`` is replayed.
"""

from __future__ import annotations

import os
import warnings
from typing import Protocol

from engine import snapshot
from engine.client_ids import ClientIds
from engine.commands import Input
from engine.core_logic import CoreLogic, StatefulStage
from engine.journal import JournalReader
from engine.journal_fs import OS_FILES, FileLayer
from engine.matching import MatchingEngine
from engine.pretrade import PreTradeStage
from engine.sessions import SessionTable


class TornTailWarning(UserWarning):
    """Recovery found and cut off a torn journal tail."""


class Replayable(Protocol):
    """What recovery replays into: the core's logic, an engine, or a test's recorder."""

    @property
    def last_seq(self) -> int: ...

    def process(self, cmd: Input, seq: int) -> object: ...


def replay_into(
    engine: Replayable,
    data_dir: str | os.PathLike[str],
    *,
    files: FileLayer = OS_FILES,
    cut_torn_tail: bool = True,
) -> int:
    """Feed every journalled input after ``engine.last_seq`` to ``engine``; the last seq."""
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
    pretrade: PreTradeStage | None = None,
    *,
    files: FileLayer = OS_FILES,
    logic: CoreLogic | None = None,
) -> tuple[CoreLogic, int]:
    """The core's logic rebuilt: the newest valid snapshot (unless ``logic`` is
    given), then the journal after it; and the last seq journalled."""
    if logic is None:
        logic = load_snapshot(data_dir, pretrade) or CoreLogic(pretrade=pretrade)
    last_seq = replay_into(logic, data_dir, files=files)
    return logic, last_seq


def load_snapshot(
    data_dir: str | os.PathLike[str], pretrade: PreTradeStage | None = None
) -> CoreLogic | None:
    """The core's logic as of the newest valid snapshot, or None if there is none."""
    found = snapshot.load_latest_snapshot(data_dir)
    if found is None:
        return None
    snap, engine = found
    if isinstance(pretrade, StatefulStage) and snap.pretrade is not None:
        pretrade.load_state(snap.pretrade)
    sessions = SessionTable(snap.sessions, snap.armed)
    return CoreLogic(engine, ClientIds(snap.client_ids), pretrade, sessions)


def write_snapshot(data_dir: str | os.PathLike[str], logic: CoreLogic) -> str:
    """Snapshot the core's logic (engine, registry, pre-trade state, sessions) durably;
    the path."""
    stage = logic.pretrade
    state = stage.dump_state() if isinstance(stage, StatefulStage) else None
    return str(snapshot.write(data_dir, logic.engine, logic.client_ids, state, logic.sessions))
