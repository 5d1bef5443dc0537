"""Recovery: rebuild the core's state from the journal, then carry on the sequence.

    engine, last_seq = recover(data_dir)          # replay, cut off a torn tail
    writer = JournalWriter(data_dir)              # continues at last_seq + 1

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
from engine.commands import Command
from engine.journal import JournalReader
from engine.journal_fs import OS_FILES, FileLayer
from engine.matching import MatchingEngine


class TornTailWarning(UserWarning):
    """Recovery found and cut off a torn journal tail."""


class Replayable(Protocol):
    """What recovery replays into: the MatchingEngine, or a test's recorder."""

    last_seq: int

    def process(self, cmd: Command, seq: int) -> object: ...


def replay_into(
    engine: Replayable,
    data_dir: str | os.PathLike[str],
    *,
    files: FileLayer = OS_FILES,
    cut_torn_tail: bool = True,
) -> int:
    """Feed every journalled input after ``engine.last_seq`` to ``engine``; the last seq."""
    reader = JournalReader(data_dir, files=files, after_seq=engine.last_seq)
    process = engine.process
    for batch in reader.batches():
        for seq, cmd in batch:
            process(cmd, seq=seq)
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
    if engine is None:
        engine = snapshot.load_latest(data_dir) or MatchingEngine()
    eng = engine
    last_seq = replay_into(eng, data_dir, files=files)
    return eng, last_seq
