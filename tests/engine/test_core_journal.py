"""The journal under the core's seqs: gaps (Redis blocks), control inputs, and the
empty segment a crash can leave behind."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ringmatch.engine.journal.files import OS_FILES
from ringmatch.engine.journal.log import (
    JournalCorrupt,
    JournalError,
    JournalReader,
    JournalWriter,
    list_segments,
)
from ringmatch.engine.schema.commands import KillSwitch, SetRiskLimits
from tests.engine.strategies import journalable, random_stream


def gapped(n: int, seed: int = 1) -> list[list[tuple[int, object]]]:
    """Batches of random inputs (control inputs among them) with seqs that skip."""
    rng = random.Random(seed)
    cmds: list[object] = list(journalable(random_stream(rng, n)))
    cmds[3] = KillSwitch("acct-1", True, why="test")
    cmds[7] = SetRiskLimits(b"\x80")
    batches, seq, i = [], 0, 0
    while i < n:
        size = rng.randint(1, 6)
        batch = []
        for cmd in cmds[i : i + size]:
            seq += rng.choice((1, 1, 2, 500))
            batch.append((seq, cmd))
        batches.append(batch)
        i += size
    return batches


def write(data: Path, batches: list, **kw: object) -> list:
    with JournalWriter(data, segment_bytes=700, **kw) as writer:  # type: ignore[arg-type]
        for batch in batches:
            writer.append_batch(batch)
    return [r for b in batches for r in b]


def test_gapped_seqs_and_control_inputs_round_trip(tmp_path: Path) -> None:
    records = write(tmp_path, gapped(300))
    assert len(list_segments(OS_FILES, str(tmp_path))) > 3
    assert list(JournalReader(tmp_path)) == records
    seqs = [s for s, _ in records]
    for after in (0, seqs[0], seqs[40] - 1, seqs[40], seqs[150] + 1, seqs[-1]):
        reader = JournalReader(tmp_path, after_seq=after)
        assert list(reader) == [r for r in records if r[0] > after], after
        assert reader.last_seq == max(seqs[-1], after)


def test_a_missing_segment_is_found_despite_gaps(tmp_path: Path) -> None:
    write(tmp_path, gapped(300))
    segments = list_segments(OS_FILES, str(tmp_path))
    Path(segments[2][1]).unlink()
    with pytest.raises(JournalCorrupt, match="journalled batches are missing"):
        list(JournalReader(tmp_path))


def test_a_journal_after_a_snapshot_must_reach_back_to_it(tmp_path: Path) -> None:
    batches = gapped(20)
    first = batches[0][0][0]
    write(tmp_path, batches, start_after=first - 1)  # as after a snapshot at first - 1
    assert list(JournalReader(tmp_path, after_seq=first - 1))
    with pytest.raises(JournalCorrupt, match="are missing"):
        list(JournalReader(tmp_path, after_seq=first - 2))


def test_an_empty_last_segment_is_carried_on_above_its_name(tmp_path: Path) -> None:
    """A crash right after a segment file was created leaves it empty, named for a seq
    that was never journalled; the writer goes on in it from seq_floor."""
    records = write(tmp_path, gapped(40))
    last = records[-1][0]
    (tmp_path / f"{last + 100:020d}.journal").write_bytes(b"")
    with JournalWriter(tmp_path, start_after=last) as writer:
        assert writer.last_seq == last and writer.seq_floor == last + 99
        with pytest.raises(ValueError, match=r"below .* the name of the empty segment"):
            writer.append_batch([(last + 50, records[0][1])])
        writer.append_batch([(last + 120, records[0][1])])  # above the name: fine
    assert list(JournalReader(tmp_path)) == [*records, (last + 120, records[0][1])]
    assert list(JournalReader(tmp_path, after_seq=last)) == [(last + 120, records[0][1])]


def test_a_journal_of_the_old_format_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / f"{1:020d}.journal").write_bytes(b"RMJ1" + bytes(40))
    with pytest.raises(JournalError, match="format RMJ1, written by an older version"):
        list(JournalReader(tmp_path))
