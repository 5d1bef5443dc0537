"""Recovery: rebuild the core's kernel from the journal, then carry on the sequence.

    done = run_recovery(data_dir, skip_seqs, resolve=resolve, configured=spec)
    writer = JournalWriter(data_dir, start_after=done.last_seq)
    seqs = LocalSequence(start_after=writer.seq_floor)   # or Redis with floor=seq_floor

The kernel starts from the newest valid snapshot of its kind (its state and the
directory of names, ringmatch.engine.core.kernel_snapshot), then takes the
journal's input records after it, batch by batch, as they were journalled:
the inputs as they came off the rings, which the kernel translates (client
order ids) exactly as it did live. Which kernel, and which pre-trade stage,
is the journal's (ringmatch.engine.core.journal_run.kernel_for), not today's
configuration's.

A torn tail (a crash during a write nobody was told was durable) is reported
as a TornTailWarning naming the file and offset, then cut off, so the writer
can append after the last whole batch. Damage to synced data raises
JournalCorrupt (see ringmatch.engine.journal.format) and the start stops there.

Inputs that cannot be applied (docs/PIPELINE.md, "Halts"): if the kernel
raises on a journalled input (the reference kernel's RecordFailed, an
InputFailed), recovery stops before it, and the core refuses to start. Seqs
the journal skips (SkipInput records) are found before the replay starts and
stepped over. ``run_recovery`` also takes the operator's ``--skip-seq`` seqs.

``recover_core``, ``load_snapshot`` and ``recover`` give the pure engine's view
(the reference kernel's CoreLogic, with the names of the journal): for tests
and tools that look inside.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Collection
from typing import NamedTuple, Protocol

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core import kernel_snapshot
from ringmatch.engine.core.journal_run import (
    JournalRun,
    KernelFactory,
    look_ahead,
    start_run,
    write_snapshot,
)
from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.core.stage_chain import CoreLogic, InputFailed
from ringmatch.engine.journal.files import OS_FILES, FileLayer
from ringmatch.engine.journal.log import JournalReader
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import Input

__all__ = [
    "InputFailed",
    "Recovery",
    "SkipRefused",
    "TornTailWarning",
    "cut_torn_tail",
    "journalled_skips",
    "load_snapshot",
    "recover",
    "recover_core",
    "replay_into",
    "run_recovery",
    "snapshot_directory",
    "write_snapshot",
]


class TornTailWarning(UserWarning):
    """Recovery found and cut off a torn journal tail."""


class SkipRefused(Exception):
    """An operator's ``--skip-seq`` that names no input that failed."""


class Replayable(Protocol):
    """What ``replay_into`` feeds Structs to (a test's recorder)."""

    @property
    def last_seq(self) -> int: ...

    def process(self, cmd: Input, seq: int) -> object: ...


def journalled_skips(
    data_dir: str | os.PathLike[str], *, files: FileLayer = OS_FILES, after_seq: int = 0
) -> frozenset[int]:
    """The seqs after ``after_seq`` that SkipInput records in the journal name."""
    return frozenset(s for s in look_ahead(data_dir, files=files).skipped if s > after_seq)


def cut_torn_tail(run: JournalRun, *, cut: bool = True) -> None:
    """Warn of the torn tail the last read of ``run`` met, and cut it off (if ``cut``)."""
    torn = run.torn_tail
    if torn is None:
        return
    action = "cutting it off" if cut else "leaving it in place"
    warnings.warn(TornTailWarning(f"{torn.describe()}; {action}"), stacklevel=3)
    if cut:
        run.files.truncate(torn.path, torn.offset)


def replay_into(
    engine: Replayable,
    data_dir: str | os.PathLike[str],
    *,
    files: FileLayer = OS_FILES,
    cut_torn_tail: bool = True,
) -> int:
    """Feed every journalled input after ``engine.last_seq`` to ``engine`` as Structs
    decoded from the records; the last seq. Cuts a torn tail off, with a warning."""
    reader = JournalReader(data_dir, files=files, after_seq=engine.last_seq)
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


class Recovery(NamedTuple):
    run: JournalRun  # the kernel recovered, its directory, the journal's skips
    last_seq: int  # the last seq journalled
    newly_skipped: list[int]  # operator skips taken that the journal does not hold yet


def run_recovery(
    data_dir: str | os.PathLike[str],
    skip_seqs: Collection[int] = (),
    *,
    files: FileLayer = OS_FILES,
    resolve: StageResolver = no_stages,
    configured: str | None = None,
    make: KernelFactory | None = None,
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
    ``skip_seqs`` raises InputFailed. ``configured``: the core's stage spec
    (with one, the reference kernel runs, as it will live).
    """
    wanted = frozenset(skip_seqs)
    taken: set[int] = set()
    while True:
        run = start_run(data_dir, files=files, resolve=resolve, configured=configured, make=make)
        journalled = run.skipped
        start_seq = run.last_seq
        run.skipped = journalled | taken
        try:
            run.feed()
        except InputFailed as failed:
            if failed.seq in wanted and failed.seq not in taken:
                taken.add(failed.seq)
                continue
            raise
        break
    cut_torn_tail(run)
    last_seq = run.last_seq  # a journalled batch ends with a sequenced input: the kernel's
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
    return Recovery(run, last_seq, sorted(taken))


# -- the pure engine's view (tests, tools) -----------------------------------------------


def recover_core(
    data_dir: str | os.PathLike[str],
    *,
    files: FileLayer = OS_FILES,
    resolve: StageResolver = no_stages,
) -> tuple[CoreLogic, int]:
    """The stage chain recovered by the reference kernel (its snapshot, then the journal
    after it), with the journal's names; and the last seq journalled."""
    done = run_recovery(
        data_dir, files=files, resolve=resolve, make=lambda: ReferenceKernel(resolve=resolve)
    )
    kernel = done.run.kernel
    assert isinstance(kernel, ReferenceKernel)
    return kernel.logic, done.last_seq


def recover(
    data_dir: str | os.PathLike[str], *, files: FileLayer = OS_FILES
) -> tuple[MatchingEngine, int]:
    """The MatchingEngine the reference kernel rebuilds from the journal, and its last seq."""
    logic, last_seq = recover_core(data_dir, files=files)
    return logic.engine, last_seq


def load_snapshot(
    data_dir: str | os.PathLike[str], *, resolve: StageResolver = no_stages
) -> CoreLogic | None:
    """The stage chain of the newest valid reference kernel snapshot, or None."""
    for snap in kernel_snapshot.snapshots(data_dir):
        kernel = ReferenceKernel(resolve=resolve)
        try:
            kernel.load(snap.dump)
        except ValueError:
            continue
        return kernel.logic
    return None


def snapshot_directory(data_dir: str | os.PathLike[str]) -> Directory | None:
    """The directory of the newest valid snapshot, or None."""
    for snap in kernel_snapshot.snapshots(data_dir):
        return snap.directory
    return None
