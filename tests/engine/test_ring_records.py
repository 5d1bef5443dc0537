"""Records on the rings: the core's directory file, whole inputs and whole events out of
any cut of a ring's batch, what the core does with bad records, and the gateway's link
refusing a name without an id."""

from __future__ import annotations

import asyncio
import os
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.benchmarks.workload import standard_workload
from ringmatch.engine.core.pipeline import PipelineRings, create_rings
from ringmatch.engine.core.sequence import LocalSequence
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.log import JournalReader
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import decode_events, encode_events
from ringmatch.engine.records.inputs import decode_inputs
from ringmatch.engine.records.names import (
    DIRECTORY_FILE,
    Directory,
    DirectoryFileError,
    directory_path,
    read_directory,
    write_directory,
)
from ringmatch.engine.records.stream import EventCarry, input_spans
from ringmatch.engine.records.writer import RecordWriter, UnknownName
from ringmatch.engine.schema.commands import (
    Cancel,
    Input,
    KillSwitch,
    MassCancel,
    NewOrder,
    SetRiskLimits,
)
from ringmatch.engine.schema.enums import CommandKind, OrderType, RejectReason, Side
from ringmatch.engine.schema.events import Accepted, Cancelled, Event, MassCancelled, Rejected
from ringmatch.gateway.server.ring_link import RingLink
from tests.engine.ring_records import records
from tests.engine.test_core_loop import NAMES, make_core, put, take

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda n: len(n.encode()) <= L.MAX_NAME
)


# -- the directory file ------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    symbols=st.lists(names, unique=True, max_size=20),
    accounts=st.lists(names, unique=True, max_size=20),
)
def test_the_directory_file_round_trips(symbols: list[str], accounts: list[str]) -> None:
    with TemporaryDir() as data:
        path = write_directory(data, Directory(symbols, accounts))
        assert path == directory_path(data) and os.path.basename(path) == DIRECTORY_FILE
        back = read_directory(data)
        assert back.symbols.names() == symbols and back.accounts.names() == accounts
        assert [back.symbols.get(s) for s in symbols] == list(range(1, len(symbols) + 1))
        assert os.listdir(data) == [DIRECTORY_FILE]  # no temporary file left


def test_a_failed_rewrite_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_directory(tmp_path, Directory(["AAA"], ["alice"]))

    def crash(src: str, dst: str) -> None:
        raise OSError("test: the machine died before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="before the rename"):
        write_directory(tmp_path, Directory(["AAA", "BBB"], ["alice", "bob"]))
    monkeypatch.undo()
    old = read_directory(tmp_path)  # the rename is the only change a reader can see
    assert old.symbols.names() == ["AAA"] and old.accounts.names() == ["alice"]
    write_directory(tmp_path, Directory(["AAA", "BBB"], ["alice", "bob"]))
    assert read_directory(tmp_path).symbols.names() == ["AAA", "BBB"]


def test_a_missing_or_damaged_directory_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="before it says ready"):
        read_directory(tmp_path)
    path = Path(write_directory(tmp_path, Directory(["AAA", "BBB"], ["alice"])))
    data = bytearray(path.read_bytes())
    path.write_bytes(data[:-1])
    with pytest.raises(DirectoryFileError, match="whole number of 64-byte records"):
        read_directory(tmp_path)
    data[2 * L.INPUT_SIZE + 8 + 4] = 3  # the second DEFINE_SYMBOL says id 3, not 2
    path.write_bytes(data)
    with pytest.raises(DirectoryFileError, match="record 2: id 3, not the next one"):
        read_directory(tmp_path)
    data[0] = L.NEW
    path.write_bytes(data)
    with pytest.raises(DirectoryFileError, match="record 0: kind 1, not a DEFINE"):
        read_directory(tmp_path)


class TemporaryDir:
    def __enter__(self) -> str:
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        return self._dir.name

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


# -- whole inputs and whole events out of any cut -----------------------------------------------

DIRECTORY = Directory(["X", "Y"], ["a", "b"])

inputs = st.one_of(
    st.builds(
        lambda client, qty: NewOrder(
            0, "a", "X", Side.BUY, OrderType.LIMIT, 100, qty, client_order_id=client
        ),
        st.integers(1, 99),
        st.integers(1, 9),
    ),
    st.builds(lambda client: Cancel(0, "b", client_order_id=client), st.integers(1, 99)),
    st.builds(lambda why: KillSwitch("a", True, why=why), st.text(max_size=300)),
    st.builds(lambda raw: SetRiskLimits(raw), st.binary(max_size=200)),
)


@settings(max_examples=100, deadline=None)
@given(st.lists(inputs, max_size=12), st.data())
def test_input_spans_find_the_whole_inputs_of_any_cut(
    stream: list[Input], data: st.DataObject
) -> None:
    out = records(stream, DIRECTORY)
    cut = data.draw(st.integers(0, len(out)))
    starts, ends, whole = input_spans(out[:cut])
    # The reference: each input's own records, one after the other.
    spans, at = [], 0
    for inp in stream:
        n = len(records([inp], DIRECTORY))
        spans.append((at, at + n))
        at += n
    expected = [s for s in spans if s[1] <= cut]
    assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == expected
    assert whole == (expected[-1][1] if expected else 0)
    # What the cut left out completes with the rest: the same inputs, decoded.
    rest = np.concatenate([out[whole:cut], out[cut:]], dtype=L.INPUT_DTYPE)
    got = decode_inputs(out[:whole], DIRECTORY) + decode_inputs(rest, DIRECTORY)
    assert [i for _, i in got] == stream


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 400), st.lists(st.integers(1, 40), min_size=1, max_size=30))
def test_events_read_in_any_batches_decode_as_the_whole(seed: int, sizes: list[int]) -> None:
    logic = CoreLogic()
    events: list[Event] = []
    for seq, cmd in enumerate(standard_workload(60, seed=seed), 1):
        events += logic.process(cmd, seq)
    directory = Directory()
    out = encode_events(events, directory)
    assert decode_events(out, Directory()) == events  # NAME records first teach a reader
    carry, reader, got, at = EventCarry(), Directory(), [], 0
    while at < len(out):
        n = sizes[len(got) % len(sizes)]
        got += decode_events(carry.take(out[at : at + n]), reader)
        at += n
    assert got == events


# -- the core and bad records ------------------------------------------------------------------


@pytest.fixture
def rings() -> Iterator[PipelineRings]:
    r = create_rings("t" + uuid.uuid4().hex[:10], 1, [True], input_capacity=64)
    yield r
    r.close()


def test_garbled_records_get_the_kernels_answers_and_the_rest_goes_on(
    rings: PipelineRings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    core = make_core(rings, tmp_path, LocalSequence(), snapshot_on_exit=False)
    good = NewOrder(0, "a", "X", Side.BUY, OrderType.LIMIT, 100, 5, client_order_id=9)
    bad = records([good] * 4, NAMES)
    bad["client_order_id"] = [1, 2, 3, 4]
    bad["side"][0] = 9  # no such side
    bad["order_type"][1] = 7  # no such order type
    bad["symbol"][2] = 99  # an id the core never defined
    bad["account"][3] = 42
    not_a_kind = np.zeros(1, L.INPUT_DTYPE)
    not_a_kind["kind"] = 200
    gateway.put_array(np.concatenate([bad, not_a_kind], dtype=L.INPUT_DTYPE))
    put(gateway, [good])
    assert core.step(timeout=5.0) == 6
    events = take(reader)
    reasons = [e.reason for e in events if isinstance(e, Rejected)]
    assert reasons == [
        RejectReason.INVALID_FIELD,
        RejectReason.INVALID_FIELD,
        RejectReason.UNKNOWN_SYMBOL,
        RejectReason.UNKNOWN_ACCOUNT,
    ]
    assert [type(e) for e in events] == [Rejected] * 4 + [Accepted]
    assert events[-1].client_order_id == 9 and events[-1].seq == 5
    assert "not an input (kind 200)" in caplog.text
    core.close()
    gateway.close()


def test_a_text_input_cut_by_the_batch_limit_waits_for_the_rest(
    rings: PipelineRings, tmp_path: Path
) -> None:
    reader = rings.events.reader(0)
    gateway, control = rings.inputs[0].producer(), rings.control.producer()
    core = make_core(rings, tmp_path, LocalSequence(), snapshot_on_exit=False, max_batch=4)
    put(gateway, [NewOrder(0, "a", "X", Side.BUY, OrderType.LIMIT, 100, 5, client_order_id=1)])
    why = "r" * 500  # its record and eight continuation records: three turns of four
    put(control, [KillSwitch("a", True, why=why)])
    took = [core.step(timeout=0) for _ in range(4)]
    assert took == [1, 0, 1, 0]  # the order; the kill switch once its text is all there
    assert core.records_taken == 0
    events = take(reader)
    assert [type(e) for e in events] == [Accepted, Cancelled, MassCancelled]
    core.close()
    journalled = [i for _, i in JournalReader(tmp_path)]
    # As it came, but for the time the core stamped on its batch (V-TIME-1).
    assert journalled[-1] == KillSwitch("a", True, why=why, ts_ns=journalled[-1].ts_ns)
    assert journalled[-1].ts_ns > 0
    gateway.close()
    control.close()


def test_unsequenced_client_commands_get_reject_records_made_by_the_core(
    rings: PipelineRings, tmp_path: Path
) -> None:
    from tests.engine.test_core_loop import Dry

    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    core = make_core(rings, tmp_path, Dry(0), snapshot_on_exit=False)
    put(gateway, [Cancel(7, "a", client_order_id=3), MassCancel("b", "X")])
    assert core.step(timeout=5.0) == 2
    assert take(reader) == [
        Rejected(0, CommandKind.CANCEL, 7, "a", RejectReason.SEQUENCE_UNAVAILABLE, 3),
        Rejected(0, CommandKind.MASS_CANCEL, 0, "b", RejectReason.SEQUENCE_UNAVAILABLE, 0),
    ]
    core.close()
    gateway.close()


# -- a writer meets a name without an id ------------------------------------------------------


def test_a_record_writer_refuses_a_name_without_an_id() -> None:
    writer = RecordWriter(Directory(["X"], ["a"]))
    writer.start()
    writer.add(NewOrder(0, "a", "X", Side.BUY, OrderType.LIMIT, 100, 5))
    with pytest.raises(UnknownName, match="symbol 'NOPE' has no id"):
        writer.add(NewOrder(0, "a", "NOPE", Side.BUY, OrderType.LIMIT, 100, 5))
    with pytest.raises(UnknownName, match="account 'zed'"):
        writer.add(Cancel(1, "zed"))
    with pytest.raises(struct.error):  # a value no record holds
        writer.add(Cancel(1 << 64, "a"))
    assert len(writer.records()) == 1  # nothing of the refused inputs


def test_the_ring_link_refuses_a_directory_without_a_configured_name(
    rings: PipelineRings,
) -> None:
    from ringmatch.gateway.config import Account, Config, Symbol

    link = RingLink(rings.inputs[0].spec.name, rings.events.spec.name, 0, Directory(["X"], ["a"]))
    try:
        assert link.names(Config(accounts=[Account("a", "t")], symbols=[Symbol("X")]))
        with pytest.raises(ValueError, match="no id for 'NOPE'"):
            link.names(Config(accounts=[Account("a", "t")], symbols=[Symbol("NOPE")]))
    finally:
        link.close()


def test_the_ring_link_puts_records_on_the_ring_in_order(rings: PipelineRings) -> None:
    names = Directory(["X"], ["a"])
    link = RingLink(rings.inputs[0].spec.name, rings.events.spec.name, 0, names)
    consumer = rings.inputs[0].consumer()
    sent = records([Cancel(0, "a", client_order_id=k) for k in range(1, 101)], names)

    async def main() -> None:
        link.start(asyncio.get_running_loop(), lambda events: None)
        link.submit_records(sent)  # 100 records, the ring holds 64: the rest waits

    asyncio.run(main())
    got = consumer.get_array(L.INPUT_DTYPE, timeout=0)
    link.close()  # pushes the backlog as the ring drains
    got = L.join_records([got, consumer.get_array(L.INPUT_DTYPE, timeout=1)], L.INPUT_DTYPE)
    assert got.tobytes() == sent.tobytes()
    consumer.close()


def test_try_put_array_writes_what_fits_and_poll_arrays_reads_it(rings: PipelineRings) -> None:
    from ringmatch.engine.rings.fan_in import FanIn
    from ringmatch.engine.rings.spsc_ring import RingSpec, SpscRing

    producer = rings.inputs[0].producer()
    sources = FanIn([SpscRing.attach(RingSpec(rings.inputs[0].spec.name))])
    batch = records(
        [Cancel(0, "a", client_order_id=k) for k in range(1, 101)], NAMES
    )  # 100 records, the ring holds 64
    assert producer.try_put_array(batch) == 64
    assert producer.try_put_array(batch[64:]) == 0  # full: never waits
    ((index, got),) = sources.poll_arrays(L.INPUT_DTYPE, 50)
    assert index == 0 and got.tobytes() == batch[:50].tobytes()
    assert producer.try_put_array(batch[64:]) == 36
    got = np.concatenate(
        [a for _, a in sources.poll_arrays(L.INPUT_DTYPE, 100)], dtype=L.INPUT_DTYPE
    )
    assert got.tobytes() == batch[50:].tobytes()
    producer.close()
    sources.close()
