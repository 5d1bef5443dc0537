"""Crash tests: the journal after a crash at every I/O call, and after a real SIGKILL.

The promise under test: after recovery, every batch that was synced (and so,
under the default policy, every acknowledged batch) is there, whole; anything
else is whole or absent, never garbled; and the journal carries on.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core.recovery import TornTailWarning, recover, replay_into
from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import JournalReader, JournalWriter, Record
from ringmatch.engine.schema.commands import Command
from tests.engine.faulty_fs import FaultyFiles, SimulatedCrash
from tests.engine.strategies import journalable, random_stream

DIR = "/data"
REPO = Path(__file__).resolve().parents[2]


class Recorder:
    """Stands in for the engine: keeps what recovery replays."""

    def __init__(self) -> None:
        self.last_seq = 0
        self.records: list[Record] = []

    def process(self, cmd: Command, seq: int) -> object:
        assert seq == self.last_seq + 1
        self.records.append((seq, cmd))
        self.last_seq = seq
        return None


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        self.now += 1_000_000  # every look at the clock is 1 ms later
        return self.now


def make_batches(seed: int, n_batches: int) -> list[list[Record]]:
    rng = random.Random(seed)
    cmds = journalable(random_stream(rng, n_batches * 8))
    batches: list[list[Record]] = []
    seq = 1
    while cmds and len(batches) < n_batches:
        size = rng.randint(1, 12)
        batch, cmds = cmds[:size], cmds[size:]
        batches.append([(seq + i, c) for i, c in enumerate(batch)])
        seq += len(batch)
    return batches


def write_until_crash(
    fs: FaultyFiles, batches: list[list[Record]], policy: FsyncPolicy
) -> tuple[int, int]:
    """Journal the batches; the last seq acknowledged and the last synced at the crash."""
    acked = synced = 0
    writer = None
    try:
        writer = JournalWriter(DIR, fsync=policy, segment_bytes=600, files=fs, clock=FakeClock())
        for batch in batches:
            writer.append_batch(batch)
            acked = writer.last_seq
        writer.close()
    except SimulatedCrash:
        pass
    if writer is not None:
        synced = writer.durable_seq
    return acked, synced


def recover_records(fs: FaultyFiles) -> list[Record]:
    recorder = Recorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TornTailWarning)
        last = replay_into(recorder, DIR, files=fs)
    assert last == recorder.last_seq
    return recorder.records


def check_recovered(got: list[Record], batches: list[list[Record]], synced: int, why: str) -> None:
    written = [r for b in batches for r in b]
    boundaries = {0} | {b[-1][0] for b in batches}
    assert got == written[: len(got)], f"{why}: recovered records differ from those written"
    assert len(got) >= synced, f"{why}: synced seq {synced} lost, recovered up to {len(got)}"
    assert len(got) in boundaries, f"{why}: recovery ends inside a batch, at seq {len(got)}"


POLICIES = [FsyncPolicy.every_batch(), FsyncPolicy.every_ms(3), FsyncPolicy.never()]


@pytest.mark.parametrize("policy", POLICIES, ids=str)
@pytest.mark.parametrize("seed", [1, 2])
def test_crash_at_every_io_call(policy: FsyncPolicy, seed: int) -> None:
    batches = make_batches(seed, 14)
    n = 0
    while True:
        n += 1
        why = f"seed {seed}, policy {policy}, crash at I/O call {n}"
        fs = FaultyFiles(crash_at=n)
        acked, synced = write_until_crash(fs, batches, policy)
        if not fs.crashed:
            break  # the workload finished before call n: every point has been tried
        fs.crash(random.Random(n * 1000 + seed))
        if policy == FsyncPolicy.every_batch():
            assert synced == acked, why  # the promise of the default policy
        got = recover_records(fs)
        check_recovered(got, batches, synced, why)
        # The journal carries on after recovery, and what it then holds reads back.
        with JournalWriter(DIR, fsync=policy, segment_bytes=600, files=fs) as writer:
            assert writer.last_seq == len(got), why
            more = [(len(got) + 1 + i, r[1]) for i, r in enumerate(batches[0])]
            writer.append_batch(more)
        assert list(JournalReader(DIR, files=fs)) == got + more, why
    assert n > 20  # the workload did real I/O: the loop covered many crash points


@pytest.mark.parametrize("seed", [3, 4])
def test_crash_during_recovery(seed: int) -> None:
    """A second crash while recovery cuts off a torn tail leaves it recoverable."""
    batches = make_batches(seed, 10)
    for first in range(4, 40, 3):
        rng = random.Random(first * 7 + seed)
        fs = FaultyFiles(crash_at=first)
        _, synced = write_until_crash(fs, batches, FsyncPolicy.every_ms(3))
        if not fs.crashed:
            break
        fs.crash(rng)
        for second in range(1, 12):  # list, reads of every segment, the cut
            why = f"seed {seed}, crashes at calls {first} then {second} of recovery"
            fs.crash_at, fs.calls = second, 0
            try:
                recover_records(fs)
            except SimulatedCrash:
                fs.crash(rng)
            else:
                fs.crash_at = None
            check_recovered(recover_records(fs), batches, synced, why)


# -- a real process, killed ----------------------------------------------------------

CHILD = """
import random, sys
from ringmatch.engine.journal.log import JournalWriter
from tests.engine.strategies import journalable, random_stream

data_dir, seed, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cmds = journalable(random_stream(random.Random(seed), n))
with JournalWriter(data_dir, segment_bytes=4096) as writer:
    for start in range(0, n, 16):
        writer.append_batch([(start + i + 1, c) for i, c in enumerate(cmds[start:start + 16])])
        print(writer.last_seq, flush=True)  # acknowledged: the batch is synced
    print("done", flush=True)
"""


def test_sigkill_mid_stream_loses_nothing_acknowledged(tmp_path: Path) -> None:
    seed, n = 7, 20_000
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), str(seed), str(n)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    acked = 0
    for line in child.stdout:
        assert line != "done\n", "the child finished before it was killed"
        acked = int(line)
        if acked >= 1600:  # well into the stream, several segments in
            child.send_signal(signal.SIGKILL)
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL

    cmds = journalable(random_stream(random.Random(seed), n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TornTailWarning)  # killed mid-write: allowed
        engine, last_seq = recover(tmp_path)
    assert last_seq >= acked
    assert list(JournalReader(tmp_path)) == [(i + 1, c) for i, c in enumerate(cmds[:last_seq])]

    clean = MatchingEngine()
    clean.process_batch(cmds[:last_seq])
    assert engine.last_seq == clean.last_seq == last_seq
    assert engine.symbols() == clean.symbols()
    for symbol in clean.symbols():
        assert engine.l3(symbol) == clean.l3(symbol), symbol
