"""The journal: round trips, torn tails, corruption, the snapshot seam, the policies,
and ``replay --format journal``."""

from __future__ import annotations

import csv
import random
import re
import warnings
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.cli import main
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core.journal_run import KernelBooks, start_run, write_snapshot
from ringmatch.engine.core.recovery import TornTailWarning, recover
from ringmatch.engine.journal.files import OS_FILES, AppendFile
from ringmatch.engine.journal.format import HEADER_SIZE, segment_name
from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import (
    JournalCorrupt,
    JournalError,
    JournalReader,
    JournalWriter,
    Record,
    list_segments,
)
from ringmatch.engine.records import layout
from ringmatch.engine.replay.order_csv import COLUMNS, command_to_row
from ringmatch.engine.schema.commands import Cancel, Command, MassCancel, NewOrder, Replace
from ringmatch.engine.schema.enums import OrderType, Side, StpMode
from tests.engine.faulty_fs import FaultyFiles
from tests.engine.strategies import journalable, random_stream

I64 = st.integers(-(2**63), 2**63 - 1)
U64 = st.integers(0, 2**64 - 1)
TEXT = st.text(min_size=1, max_size=12)  # a name: 1 to 64 bytes of UTF-8


def _fits_a_record(c: NewOrder) -> bool:
    # A record's price 0 is "no price" for a market order or a stop, and 0 for a limit
    # order or a stop-limit.
    unpriced = c.order_type in (OrderType.MARKET, OrderType.STOP)
    return not (c.price is None and not unpriced) and not (c.price == 0 and unpriced)


# Every input a record can hold (the journal stores records): ids are u64, names 1..64 bytes.
commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(
        NewOrder,
        U64,
        TEXT,
        TEXT,
        st.sampled_from(Side),
        st.sampled_from(list(layout.ORDER_TYPE_CODE)),
        st.none() | I64,
        I64,
        st.none() | st.sampled_from(list(layout.TIF_CODE)),
        st.booleans(),
        st.sampled_from(StpMode),
        I64,
        U64,
    ).filter(_fits_a_record),
    st.builds(Cancel, U64, TEXT, I64, U64),
    st.builds(Replace, U64, TEXT, I64, I64, I64, U64),
)


def numbered(batches: list[list[Command]], first: int = 1) -> list[list[Record]]:
    out, seq = [], first
    for batch in batches:
        out.append([(seq + i, c) for i, c in enumerate(batch)])
        seq += len(batch)
    return out


def write(data_dir: Path, batches: list[list[Record]], **kwargs: object) -> None:
    with JournalWriter(data_dir, **kwargs) as writer:  # type: ignore[arg-type]
        for batch in batches:
            writer.append_batch(batch)


def journal_of(data_dir: Path, n: int = 200, batch: int = 10, **kwargs: object) -> list[Record]:
    cmds = journalable(random_stream(random.Random(5), n))
    batches = numbered([cmds[i : i + batch] for i in range(0, n, batch)])
    write(data_dir, batches, **kwargs)
    return [r for b in batches for r in b]


# -- round trip ------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    batches=st.lists(st.lists(commands, min_size=1, max_size=20), min_size=1, max_size=12),
    segment_bytes=st.sampled_from([1, 300, 1 << 20]),
    policy=st.sampled_from([FsyncPolicy.every_batch(), FsyncPolicy.never()]),
)
def test_round_trip(batches: list[list[Command]], segment_bytes: int, policy: FsyncPolicy) -> None:
    fs = FaultyFiles()  # in memory: fast, and no fsync of a real disk per example
    records = numbered(batches)
    with JournalWriter("/j", fsync=policy, segment_bytes=segment_bytes, files=fs) as writer:
        for batch in records:
            writer.append_batch(batch)
    reader = JournalReader("/j", files=fs)
    assert list(reader.batches()) == records
    assert reader.last_seq == records[-1][-1][0]
    assert reader.torn_tail is None


def test_segments_are_named_by_their_first_seq(tmp_path: Path) -> None:
    records = journal_of(tmp_path, n=100, batch=10, segment_bytes=500)
    segments = list_segments(OS_FILES, str(tmp_path))
    assert len(segments) > 2
    firsts = [first for first, _ in segments]
    assert firsts[0] == 1
    starts_of_batches = {r[0] for r in records[::10]}
    assert set(firsts) <= starts_of_batches
    assert [Path(p).name for _, p in segments] == [segment_name(f) for f in firsts]


def test_writer_continues_an_existing_journal(tmp_path: Path) -> None:
    records = journal_of(tmp_path, n=50)
    with JournalWriter(tmp_path) as writer:
        assert writer.last_seq == 50
        writer.append_batch([(51, records[0][1])])
    assert list(JournalReader(tmp_path)) == [*records, (51, records[0][1])]


def test_writer_takes_a_gap_but_refuses_a_repeat_or_a_step_back(tmp_path: Path) -> None:
    cmd = journalable(random_stream(random.Random(1), 1))[0]
    with JournalWriter(tmp_path) as writer:
        writer.append_batch([(1, cmd), (2, cmd)])
        with pytest.raises(ValueError, match="record 1 of the batch has seq 4, not above seq 5"):
            writer.append_batch([(5, cmd), (4, cmd)])
        with pytest.raises(ValueError, match="record 0 of the batch has seq 2, not above seq 2"):
            writer.append_batch([(2, cmd)])
        writer.append_batch([(7, cmd), (9, cmd)])  # a refused batch wrote nothing; gaps are fine
        writer.append_batch([(10_000, cmd)])
    assert [s for s, _ in JournalReader(tmp_path)] == [1, 2, 7, 9, 10_000]
    assert [s for s, _ in JournalReader(tmp_path, after_seq=8)] == [9, 10_000]


def test_recover_rebuilds_the_engine(tmp_path: Path) -> None:
    records = journal_of(tmp_path, n=300, batch=7, segment_bytes=2000)
    engine, last_seq = recover(tmp_path)
    clean = MatchingEngine()
    clean.process_batch([c for _, c in records])
    assert last_seq == engine.last_seq == 300
    assert engine.symbols() == clean.symbols()
    for symbol in clean.symbols():
        assert engine.l3(symbol) == clean.l3(symbol)


def test_recover_of_an_empty_directory(tmp_path: Path) -> None:
    engine, last_seq = recover(tmp_path)
    assert last_seq == engine.last_seq == 0


# -- the snapshot seam -----------------------------------------------------------------


@pytest.mark.parametrize("after", [0, 1, 9, 10, 11, 137, 199, 200])
def test_reader_starts_after_a_given_seq(tmp_path: Path, after: int) -> None:
    records = journal_of(tmp_path, n=200, batch=10, segment_bytes=400)
    reader = JournalReader(tmp_path, after_seq=after)
    assert list(reader) == records[after:]
    assert reader.last_seq == 200


def test_recover_continues_from_a_snapshot(tmp_path: Path) -> None:
    records = journal_of(tmp_path, n=120)
    at_70 = start_run(tmp_path, snapshot=False)  # stands in for the live core at seq 70
    at_70.feed(upto_seq=70)
    write_snapshot(tmp_path, at_70.kernel, at_70.directory)
    run = start_run(tmp_path)
    assert run.last_seq == 70  # the snapshot's: only the journal after it is fed
    assert run.feed() == 120
    engine, last_seq = recover(tmp_path)
    clean = MatchingEngine()
    clean.process_batch([c for _, c in records])
    assert last_seq == 120
    for symbol in clean.symbols():
        assert engine.l3(symbol) == clean.l3(symbol)
    assert KernelBooks(run.kernel, run.directory).l3("AAA") == clean.l3("AAA")


def test_a_journal_that_starts_too_late_is_refused(tmp_path: Path) -> None:
    cmds = journalable(random_stream(random.Random(1), 5))
    write(tmp_path, numbered([cmds], first=11), start_after=10)
    with pytest.raises(JournalCorrupt, match=r"starts at seq 11: seqs 6\.\. are missing"):
        list(JournalReader(tmp_path, after_seq=5))
    assert [s for s, _ in JournalReader(tmp_path, after_seq=10)] == [11, 12, 13, 14, 15]


def test_a_journal_that_ends_before_the_start_is_refused(tmp_path: Path) -> None:
    journal_of(tmp_path, n=20)
    with pytest.raises(JournalError, match="ends at seq 20, before the starting point 25"):
        list(JournalReader(tmp_path, after_seq=25))


# -- torn tails and corruption ---------------------------------------------------------


def only_segment(data_dir: Path) -> Path:
    (path,) = data_dir.glob("*.journal")
    return path


def frame_offsets(path: Path) -> list[int]:
    """Where each frame starts, walking the length fields."""
    data = path.read_bytes()
    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        pos += HEADER_SIZE + int.from_bytes(data[pos + 8 : pos + 12], "little")
    return offsets


@pytest.mark.parametrize("cut", [1, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + 5, -1])
def test_torn_last_frame_is_cut_off_with_a_warning(tmp_path: Path, cut: int) -> None:
    records = journal_of(tmp_path, n=50)
    path = only_segment(tmp_path)
    last = frame_offsets(path)[-1]
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(last + cut if cut > 0 else size + cut)
    with pytest.warns(TornTailWarning, match=rf"{path.name}: offset {last}: torn journal tail"):
        _, last_seq = recover(tmp_path)
    assert last_seq == 40
    assert path.stat().st_size == last  # cut off, so the writer can carry on after it
    assert list(JournalReader(tmp_path)) == records[:40]
    with JournalWriter(tmp_path) as writer:
        writer.append_batch(records[40:41])
    assert list(JournalReader(tmp_path)) == records[:41]


@pytest.mark.parametrize("garbage", [b"\x00" * 100, b"RMJ1" + bytes(range(200)), b"x"])
def test_garbage_after_the_last_frame_is_cut_off(tmp_path: Path, garbage: bytes) -> None:
    records = journal_of(tmp_path, n=50)
    path = only_segment(tmp_path)
    size = path.stat().st_size
    with open(path, "ab") as f:
        f.write(garbage)
    with pytest.warns(TornTailWarning, match=rf"offset {size}: torn journal tail"):
        _, last_seq = recover(tmp_path)
    assert last_seq == 50
    assert path.stat().st_size == size
    assert list(JournalReader(tmp_path)) == records


def test_the_writer_will_not_append_after_a_torn_tail(tmp_path: Path) -> None:
    journal_of(tmp_path, n=20)
    with open(only_segment(tmp_path), "ab") as f:
        f.write(b"torn")
    with pytest.raises(JournalError, match="run recover"):
        JournalWriter(tmp_path)


@pytest.mark.parametrize("where", ["magic", "length", "body"])
def test_a_corrupt_middle_frame_stops_the_start(tmp_path: Path, where: str) -> None:
    journal_of(tmp_path, n=50)
    path = only_segment(tmp_path)
    bad = frame_offsets(path)[2]
    data = bytearray(path.read_bytes())
    index = {"magic": bad, "length": bad + 9, "body": bad + HEADER_SIZE + 3}[where]
    data[index] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupt, match=rf"{path}: offset {bad}: bad frame") as caught:
        recover(tmp_path)
    assert (caught.value.path, caught.value.offset) == (str(path), bad)
    assert path.read_bytes() == data  # nothing was cut off


def test_a_corrupt_frame_in_a_closed_segment_stops_the_start(tmp_path: Path) -> None:
    journal_of(tmp_path, n=100, segment_bytes=300, fsync=FsyncPolicy.never())
    first = list_segments(OS_FILES, str(tmp_path))[0][1]
    data = bytearray(Path(first).read_bytes())
    data[-1] ^= 1  # the last frame of a closed segment
    Path(first).write_bytes(bytes(data))
    with pytest.raises(JournalCorrupt, match="in a closed segment"):
        recover(tmp_path)


def test_a_missing_segment_stops_the_start(tmp_path: Path) -> None:
    journal_of(tmp_path, n=100, segment_bytes=300)
    segments = list_segments(OS_FILES, str(tmp_path))
    Path(segments[1][1]).unlink()
    with pytest.raises(JournalCorrupt, match=f"seq {segments[2][0]} follows seq"):
        recover(tmp_path)


def test_unsynced_frames_after_a_lost_write_are_a_torn_tail(tmp_path: Path) -> None:
    """Under a lax policy the kernel may write a later batch and lose an earlier one:
    nothing vouches for either, so both go, with a warning that counts them."""
    records = journal_of(tmp_path, n=50, fsync=FsyncPolicy.never())
    path = only_segment(tmp_path)
    bad = frame_offsets(path)[2]
    data = bytearray(path.read_bytes())
    data[bad + HEADER_SIZE : bad + HEADER_SIZE + 8] = bytes(8)  # a lost sector reads as zeros
    path.write_bytes(bytes(data))
    with pytest.warns(TornTailWarning, match=rf"offset {bad}: .* and 2 unsynced frame"):
        _, last_seq = recover(tmp_path)
    assert last_seq == 20
    assert list(JournalReader(tmp_path)) == records[:20]


# -- fsync policies --------------------------------------------------------------------


class CountingFiles(FaultyFiles):
    def __init__(self) -> None:
        super().__init__()
        self.syncs = 0
        self.writes = 0

    def io(self, what: str) -> None:
        self.syncs += what.startswith("sync /")
        self.writes += what.startswith("write")
        super().io(what)


def test_policies_parse() -> None:
    assert FsyncPolicy.parse("every-batch") == FsyncPolicy.every_batch()
    assert FsyncPolicy.parse("never") == FsyncPolicy.never()
    assert FsyncPolicy.parse("every 5ms") == FsyncPolicy.parse("5ms") == FsyncPolicy.every_ms(5)
    assert str(FsyncPolicy.every_ms(5)) == "every 5ms"
    with pytest.raises(ValueError, match="unknown fsync policy 'sometimes'"):
        FsyncPolicy.parse("sometimes")
    with pytest.raises(ValueError, match="must be > 0"):
        FsyncPolicy.every_ms(0)


@pytest.mark.parametrize(
    ("policy", "syncs"),
    [(FsyncPolicy.every_batch(), 12), (FsyncPolicy.every_ms(3), 4), (FsyncPolicy.never(), 0)],
    ids=str,
)
def test_one_write_per_batch_and_syncs_by_policy(policy: FsyncPolicy, syncs: int) -> None:
    fs = CountingFiles()
    clock = iter(range(0, 10**12, 1_000_000))  # each look at the clock: 1 ms on
    writer = JournalWriter("/j", fsync=policy, files=fs, clock=lambda: next(clock))
    cmd = journalable(random_stream(random.Random(1), 1))[0]
    for seq in range(1, 13):
        writer.append_batch([(seq, cmd)])
        assert writer.last_seq == seq
        if policy == FsyncPolicy.every_batch():
            assert writer.durable_seq == seq  # the ack may go: it is on disk
    assert (fs.writes, fs.syncs) == (12, syncs)


def test_sync_if_due_syncs_a_quiet_journal() -> None:
    fs = CountingFiles()
    now = [0]
    writer = JournalWriter("/j", fsync=FsyncPolicy.every_ms(5), files=fs, clock=lambda: now[0])
    cmd = journalable(random_stream(random.Random(1), 1))[0]
    writer.append_batch([(1, cmd)])
    assert (fs.syncs, writer.durable_seq) == (0, 0)
    now[0] = 4_000_000
    writer.sync_if_due()
    assert fs.syncs == 0
    now[0] = 5_000_000
    writer.sync_if_due()
    assert (fs.syncs, writer.durable_seq) == (1, 1)
    writer.sync_if_due()
    assert fs.syncs == 1  # nothing new to sync


class FailingFile:
    def write(self, data: object) -> None:
        raise OSError(5, "Input/output error")

    def sync(self) -> None: ...

    def close(self) -> None: ...


def test_a_failed_write_spends_the_writer() -> None:
    fs = FaultyFiles()

    def open_failing(path: str) -> AppendFile:
        FaultyFiles.open_append(fs, path)
        return FailingFile()

    fs.open_append = open_failing  # type: ignore[method-assign]
    writer = JournalWriter("/j", files=fs)
    cmd = journalable(random_stream(random.Random(1), 1))[0]
    with pytest.raises(OSError, match="Input/output error"):
        writer.append_batch([(1, cmd)])
    failure = r"journal write failed: /j/00000000000000000001\.journal: \[Errno 5\] Input/output"
    assert writer.failure is not None and re.match(failure, writer.failure)
    with pytest.raises(JournalError, match=f"failed earlier: {failure}"):
        writer.append_batch([(1, cmd)])


# -- replay --format journal -----------------------------------------------------------


def test_replay_of_a_journal_matches_the_csv_replay(tmp_path: Path) -> None:
    # The order file has no row for a mass cancel and no column for a client order
    # id: leave those out of this stream.
    cmds = [
        msgspec.structs.replace(c, client_order_id=0)
        for c in journalable(random_stream(random.Random(11), 3000))
        if not isinstance(c, MassCancel)
    ]
    orders = tmp_path / "orders.csv"
    with open(orders, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS)
        out.writerows(command_to_row(c) for c in cmds)
    data_dir = tmp_path / "journal"
    write(data_dir, numbered([cmds[i : i + 64] for i in range(0, len(cmds), 64)]))

    outputs = {}
    for fmt, source in (("csv", orders), ("journal", data_dir)):
        names = [tmp_path / f"{fmt}.{kind}" for kind in ("trades", "book", "events")]
        argv = ["replay", str(source), "--format", fmt]
        argv += ["--trades-out", str(names[0]), "--book-out", str(names[1])]
        argv += ["--events-out", str(names[2])]
        assert main(argv) == 0
        outputs[fmt] = [p.read_bytes() for p in names]
    assert outputs["journal"] == outputs["csv"]
    assert outputs["csv"][0].count(b"\n") > 100  # the stream really trades


def test_replay_of_a_corrupt_journal_stops_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_of(tmp_path, n=50)
    path = only_segment(tmp_path)
    data = bytearray(path.read_bytes())
    data[frame_offsets(path)[1] + HEADER_SIZE] ^= 1
    path.write_bytes(bytes(data))
    book = tmp_path / "book.csv"
    assert main(["replay", str(tmp_path), "--format", "journal", "--book-out", str(book)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: offset {frame_offsets(path)[1]}: bad frame" in err
    assert "stopped after seq 0" in err  # a segment is checked whole before any of it runs
    assert book.read_text().startswith("symbol,")  # the book of what ran is still written


def test_replay_leaves_a_torn_tail_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal_of(tmp_path, n=50)
    path = only_segment(tmp_path)
    with open(path, "ab") as f:
        f.write(b"torn")
    size = path.stat().st_size
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # replay reports on stderr, never warns
        assert main(["replay", str(tmp_path), "--format", "journal"]) == 0
    err = capsys.readouterr().err
    assert "torn journal tail" in err and "read        50 inputs" in err
    assert path.stat().st_size == size
