"""The journal of records: the frame's bytes, torn tails of record frames on disk, old
(msgpack) journals, and a live core's journal recovering to the live kernel."""

from __future__ import annotations

import random
import struct
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import crc32c
import numpy as np
import pytest

from ringmatch.cli import main
from ringmatch.engine.core.journal_events import journal_events
from ringmatch.engine.core.journal_run import start_run
from ringmatch.engine.core.pipeline import PipelineRings, build_core, create_rings
from ringmatch.engine.core.recovery import TornTailWarning, recover_core, run_recovery
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal import format as fmt
from ringmatch.engine.journal.files import OS_FILES
from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import JournalReader, JournalWriter, list_segments
from ringmatch.engine.journal.v1 import V1FrameEncoder
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import read_directory
from ringmatch.engine.schema.commands import (
    Cancel,
    Input,
    KillSwitch,
    NewOrder,
    Replace,
    SessionClosed,
    SessionOpened,
    WorkerStarted,
)
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.engine.schema.events import Event
from ringmatch.stages import resolve
from tests.engine.marker_stage import SPEC
from tests.engine.ring_records import EventTaker, put
from tests.engine.strategies import journalable, random_stream


def order(client: int, account: str = "a", side: Side = Side.BUY, price: int = 100) -> NewOrder:
    return NewOrder(0, account, "X", side, OrderType.LIMIT, price, 5, client_order_id=client)


# -- the frame, byte by byte -------------------------------------------------------------------


def test_a_frame_is_laid_out_as_documented(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, start_after=6) as writer:
        writer.append_batch([(7, order(1, "alice")), (9, Cancel(0, "alice", client_order_id=1))])
    (path,) = tmp_path.glob("*.journal")
    assert path.name == "00000000000000000007.journal"
    data = path.read_bytes()
    magic, crc, body_len, layout, flags, synced, prev, first, last = struct.unpack_from(
        "<4sIIHHQQQQ", data
    )
    assert (magic, layout, synced, prev, first, last) == (b"RMJ3", L.LAYOUT_VERSION, 0, 6, 7, 9)
    assert flags == fmt.DEFINES and body_len == len(data) - 48 and body_len % 64 == 0
    assert crc == crc32c.crc32c(data[8:])
    records = np.frombuffer(data[48:], L.INPUT_DTYPE)
    # The names first (a DEFINE and its text each), then the two inputs, as they came:
    # the journal holds the cancel by client id, untranslated.
    # (a text record is the raw bytes of its owner's text, zero-padded)
    assert len(records) == 6
    assert records["kind"][[0, 2, 4, 5]].tolist() == [
        L.DEFINE_ACCOUNT,
        L.DEFINE_SYMBOL,
        L.NEW,
        L.CANCEL,
    ]
    assert records[1].tobytes() == b"alice".ljust(64, b"\0")
    assert records[3].tobytes() == b"X".ljust(64, b"\0")
    assert records[4]["seq"] == 7 and records[4]["order_id"] == 0
    assert records[5]["seq"] == 9 and records[5]["order_id"] == 0
    assert records[5]["client_order_id"] == 1


def test_the_frame_in_the_docs_is_the_frame_in_the_code() -> None:
    doc = (Path(fmt.__file__).read_text()).split('"""')[1]
    for line in ('0       4     magic b"RMJ3"', "48      n     body: n / 64 input records"):
        assert line in doc
    assert fmt.HEADER_SIZE == 48


# -- torn tails on disk ---------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_garbled_unsynced_bytes_are_a_torn_tail_and_every_synced_batch_is_kept(
    tmp_path: Path, seed: int
) -> None:
    """The writer syncs after batch k; everything it wrote later was never promised
    durable. Garbling any of those bytes (a crash mid-write) loses them, and only them."""
    rng = random.Random(seed)
    cmds = journalable(random_stream(rng, 240))
    batches = [[(i + j + 1, c) for j, c in enumerate(cmds[i : i + 12])] for i in range(0, 240, 12)]
    synced_batches = rng.randint(1, len(batches) - 2)
    with JournalWriter(tmp_path, fsync=FsyncPolicy.never()) as writer:
        for n, batch in enumerate(batches, 1):
            writer.append_batch(batch)
            if n == synced_batches:
                writer.sync()
                (path,) = tmp_path.glob("*.journal")
                synced_size = path.stat().st_size
    data = bytearray(path.read_bytes())
    for _ in range(rng.randint(1, 5)):  # a few garbled bytes, all in the unsynced part
        data[rng.randrange(synced_size, len(data))] ^= 1 << rng.randrange(8)
    if rng.random() < 0.5:
        data = data[: rng.randrange(synced_size + 1, len(data))]  # and cut short
    path.write_bytes(bytes(data))
    with pytest.warns(TornTailWarning, match="torn journal tail"):
        logic, last = recover_core(tmp_path)
    kept = [r for b in batches[:synced_batches] for r in b]
    got = list(JournalReader(tmp_path))
    # Every synced batch is there; at most whole unsynced batches before the damage too.
    assert got[: len(kept)] == kept and got == [r for b in batches for r in b][: len(got)]
    assert last == got[-1][0] and logic.last_seq == last
    assert path.stat().st_size <= len(data)  # the tail was cut: the journal ends whole
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert recover_core(tmp_path)[1] == last  # and reads clean from then on


def test_damage_to_synced_bytes_of_a_record_frame_is_corruption(tmp_path: Path) -> None:
    cmds = journalable(random_stream(random.Random(3), 60))
    with JournalWriter(tmp_path) as writer:  # every batch synced
        for i in range(0, 60, 10):
            writer.append_batch([(i + j + 1, c) for j, c in enumerate(cmds[i : i + 10])])
    (path,) = tmp_path.glob("*.journal")
    data = bytearray(path.read_bytes())
    data[fmt.HEADER_SIZE + 70] ^= 0xFF  # inside the first frame's records
    path.write_bytes(bytes(data))
    with pytest.raises(fmt.JournalCorrupt, match="checksum mismatch"):
        recover_core(tmp_path)


# -- journals written before records -------------------------------------------------------


def write_v1_journal(data_dir: Path, batches: list[list[tuple[int, Input]]]) -> None:
    """A data directory as the version before records left it: msgpack frames of the
    inputs the core had translated (order ids filled in), as the old core wrote them."""
    data_dir.mkdir(parents=True, exist_ok=True)
    encoder = V1FrameEncoder()
    logic = CoreLogic()
    out = bytearray()
    prev = 0
    for batch in batches:
        translated = [(seq, logic.admit(seq, inp)) for seq, inp in batch]
        for seq, inp in translated:
            logic.apply(seq, inp)
        out += encoder.encode(translated, len(out), prev)
        prev = batch[-1][0]
    (data_dir / fmt.segment_name(batches[0][0][0])).write_bytes(bytes(out))


def session_stream() -> list[Input]:
    return [
        WorkerStarted(0, 1),
        SessionOpened("alice", 0, 1, True),
        order(1, "alice"),
        order(2, "bob", Side.SELL, 101),
        Replace(0, "alice", 101, 3, client_order_id=1),
        order(3, "bob", Side.SELL, 102),
        Cancel(0, "bob", client_order_id=3),
        order(4, "alice", price=99),
        SessionClosed("alice", 0, 1),  # alice's last session: her orders go
        order(5, "carol", Side.SELL, 90),
    ]


def test_a_journal_of_msgpack_frames_still_recovers_and_goes_on_in_records(
    tmp_path: Path,
) -> None:
    inputs = session_stream()
    old = [list(enumerate(inputs[:6], 1)), list(enumerate(inputs[6:], 7))]
    write_v1_journal(tmp_path, old)
    live = CoreLogic()  # what the old core ran
    live_events = [e for seq, inp in enumerate(inputs, 1) for e in live.process(inp, seq)]
    recovered, last = recover_core(tmp_path)
    assert last == len(inputs) and recovered.last_seq == live.last_seq
    assert recovered.engine.l3("X") == live.engine.l3("X")
    assert list(recovered.client_ids.entries()) == list(live.client_ids.entries())
    assert recovered.sessions == live.sessions
    # Replayed, it gives the events the old core published.
    run = start_run(tmp_path, snapshot=False)
    assert [e for events in journal_events(run) for e in events] == live_events
    # A new core goes on in the same journal, in records; both kinds read as one.
    more = [(11, order(6, "dave")), (12, KillSwitch(None, True))]
    with JournalWriter(tmp_path, start_after=last) as writer:
        writer.append_batch(more)
    seqs = [s for s, _ in JournalReader(tmp_path)]
    assert seqs == list(range(1, 13))
    (segment,) = list_segments(OS_FILES, str(tmp_path))
    data = Path(segment[1]).read_bytes()
    assert data[:4] == b"RMJ2" and b"RMJ3" in data
    recovered, last = recover_core(tmp_path)
    live.process(more[0][1], 11)
    assert last == 12 and recovered.engine.l3("X") == live.engine.l3("X")
    # The names the old frames introduced keep their ids in the new ones.
    reader = JournalReader(tmp_path)
    list(reader)
    assert reader.directory.accounts.names() == ["alice", "bob", "carol", "dave"]


def test_the_checked_in_v1_fixture_recovers() -> None:
    """tests/engine/data/v1-journal: written by the version before records
    (scripts in tests/engine/data/make_v1_journal.py)."""
    data = Path(__file__).parent / "data" / "v1-journal"
    logic, last = recover_core(data, files=OS_FILES)
    live = CoreLogic()
    for seq, inp in enumerate(session_stream(), 1):
        live.process(inp, seq)
    assert last == 10 and logic.engine.l3("X") == live.engine.l3("X")


# -- the live core's journal recovers to the live kernel ----------------------------------


@pytest.fixture
def rings() -> Iterator[PipelineRings]:
    r = create_rings("t" + uuid.uuid4().hex[:10], 1, [True], input_capacity=512)
    yield r
    r.close()


def gateway_stream(rng: random.Random, n: int) -> list[Input]:
    """What a gateway sends: NEWs with order id 0 and client ids, cancels and replaces by
    client id (some unknown, some repeated), sessions of worker 0."""
    out: list[Input] = [WorkerStarted(0, 1)]
    accounts = ["alice", "bob", "carol", "dave"]
    sessions = 0
    clients: dict[str, int] = dict.fromkeys(accounts, 0)
    for _ in range(n):
        account = rng.choice(accounts)
        roll = rng.random()
        if roll < 0.55:
            clients[account] += 1
            client = clients[account] if rng.random() > 0.05 else max(1, clients[account] - 1)
            side = rng.choice([Side.BUY, Side.SELL])
            price = rng.randint(97, 103)
            out.append(
                NewOrder(
                    0,
                    account,
                    rng.choice(["X", "Y"]),
                    side,
                    OrderType.LIMIT,
                    price,
                    rng.randint(1, 9),
                    client_order_id=client,
                )
            )
        elif roll < 0.75:
            out.append(Cancel(0, account, client_order_id=rng.randint(1, clients[account] + 2)))
        elif roll < 0.9:
            client = rng.randint(1, clients[account] + 1)
            out.append(Replace(0, account, rng.randint(97, 103), rng.randint(1, 9), 0, client))
        elif roll < 0.95:
            sessions += 1
            out.append(SessionOpened(account, 0, sessions, rng.random() < 0.5))
        else:
            out.append(SessionClosed(account, 0, rng.randint(1, sessions + 1)))
    return out


@pytest.mark.parametrize("pretrade", [None, SPEC])
def test_a_live_cores_journal_recovers_to_its_kernel_and_replays_its_events(
    rings: PipelineRings, tmp_path: Path, pretrade: str | None
) -> None:
    data = tmp_path / "data"
    inputs = gateway_stream(random.Random(11), 600)
    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    config = rings.core_config(
        str(data),
        pretrade=pretrade,
        snapshot_on_exit=False,
        symbols=["X", "Y"],
        accounts=["alice", "bob", "carol", "dave"],
    )
    core = build_core(config, resolve=resolve)
    names = read_directory(data)
    take = EventTaker(reader, names)
    published: list[Event] = []
    try:
        for i in range(0, len(inputs), 37):  # batches of many sizes
            put(gateway, inputs[i : i + 37], names)
            while core.step(timeout=0.2):
                published += take()
            if i == 37 * 8:
                core.snapshot()  # a snapshot mid-run: recovery starts from it
        core.drain()  # events of batches whose sync is still in flight (overlapped fsync)
        published += take()
        live_dump = core.kernel_run.kernel.dump()  # type: ignore[attr-defined]
        live_last = core.last_seq
    finally:
        core.close()
        gateway.close()
        reader.close()
    done = run_recovery(data, resolve=resolve, configured=pretrade)
    assert done.last_seq == live_last
    assert done.run.kernel.dump() == live_dump  # type: ignore[attr-defined]
    # The journal from its start, through a fresh kernel, is the live event stream.
    run = start_run(data, snapshot=False, resolve=resolve)
    assert [e for events in journal_events(run) for e in events] == published
    assert run.kernel.dump() == live_dump  # type: ignore[attr-defined]


def test_journal_convert_writes_an_old_journal_in_record_frames(tmp_path: Path) -> None:
    src = Path(__file__).parent / "data" / "v1-journal"
    dst = tmp_path / "converted"
    assert main(["journal", "convert", str(src), str(dst)]) == 0
    (segment,) = dst.glob("*.journal")
    assert segment.read_bytes()[:4] == b"RMJ3" and b"RMJ2" not in segment.read_bytes()
    assert list(JournalReader(dst)) == list(JournalReader(src))
    old, last = recover_core(src)
    new, new_last = recover_core(dst)
    assert new_last == last == 10 and new.engine.l3("X") == old.engine.l3("X")
    assert new.sessions == old.sessions
    assert main(["journal", "convert", str(src), str(dst)]) == 2  # never over a journal


def test_the_look_ahead_finds_core_inputs_in_closed_segments_by_their_headers(
    tmp_path: Path,
) -> None:
    from ringmatch.engine.core.journal_run import look_ahead
    from ringmatch.engine.schema.commands import SkipInput, StageChain

    inputs: list[Input] = [order(k, f"acct{k}") for k in range(1, 30)]
    inputs[4] = SkipInput(3)
    inputs[9] = StageChain(SPEC)
    inputs[20] = StageChain(None)
    with JournalWriter(tmp_path, segment_bytes=400) as writer:
        for seq, inp in enumerate(inputs, 1):
            writer.append_batch([(seq, inp)])
    assert len(list(tmp_path.glob("*.journal"))) > 5
    assert look_ahead(tmp_path) == (True, frozenset({3}))
    # The same through a layer that has no header walk (reads every segment whole).
    from tests.engine.faulty_fs import FaultyFiles

    fs = FaultyFiles()
    with JournalWriter("/j", segment_bytes=400, files=fs) as writer:
        for seq, inp in enumerate(inputs, 1):
            writer.append_batch([(seq, inp)])
    assert look_ahead("/j", files=fs) == (True, frozenset({3}))
    # Damage in a closed segment: the look-ahead says so as the reader would.
    first = sorted(tmp_path.glob("*.journal"))[0]
    data = bytearray(first.read_bytes())
    data[fmt.HEADER_SIZE + 3] ^= 1
    first.write_bytes(bytes(data))
    later = sorted(tmp_path.glob("*.journal"))[2]
    raw = bytearray(later.read_bytes())
    raw[-1] ^= 1  # a frame with core inputs? no matter: the reader reports the damage
    later.write_bytes(bytes(raw))
    with pytest.raises(fmt.JournalCorrupt):
        list(JournalReader(tmp_path))
