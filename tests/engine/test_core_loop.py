"""The core's loop in this process, one turn at a time: control inputs and the
pre-trade stage, sequence IDs running out, bad records, snapshots."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core.loop import Core
from ringmatch.engine.core.pipeline import PipelineRings, create_rings
from ringmatch.engine.core.recovery import recover_core
from ringmatch.engine.core.sequence import LocalSequence, SequenceUnavailable
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.log import JournalReader, JournalWriter
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.rings.event_reader import EventReader
from ringmatch.engine.rings.fan_in import FanIn
from ringmatch.engine.rings.spsc_ring import RingSpec, SpscRing
from ringmatch.engine.schema.commands import (
    Cancel,
    Command,
    ControlCommand,
    KillSwitch,
    MassCancel,
    NewOrder,
    Replace,
    SetRiskLimits,
)
from ringmatch.engine.schema.enums import CancelReason, CommandKind, OrderType, RejectReason, Side
from ringmatch.engine.schema.events import Cancelled, Event, MassCancelled, Rejected
from tests.engine.gated_fs import GatedFiles
from tests.engine.ring_records import EventTaker, records

WAIT_S = 10.0
NAMES = Directory(["X"], ["a", "b"])  # what the core is configured with, in its order


def buy(client: int, account: str = "a", price: int = 100) -> NewOrder:
    return NewOrder(0, account, "X", Side.BUY, OrderType.LIMIT, price, 5, client_order_id=client)


class KillStage:
    """A pre-trade stage: a kill switch per account, max qty 10."""

    def __init__(self) -> None:
        self.killed: set[str] = set()
        self.seen: list[Event] = []

    def check(self, cmd: NewOrder | Replace, engine: MatchingEngine) -> RejectReason | None:
        if cmd.account in self.killed:
            return RejectReason.KILL_SWITCH
        return RejectReason.RISK_MAX_QTY if cmd.qty > 10 else None

    def on_events(self, events: Sequence[Event]) -> None:
        self.seen += events

    def control(self, cmd: ControlCommand, engine: MatchingEngine) -> list[Command]:
        if isinstance(cmd, KillSwitch) and cmd.account is not None and cmd.on:
            self.killed.add(cmd.account)
            return [MassCancel(cmd.account, reason=CancelReason.KILL_SWITCH)]
        return []


def test_kill_switch_cancels_under_its_own_seq_and_replays() -> None:
    stage = KillStage()
    logic = CoreLogic(pretrade=stage)
    inputs = [buy(1), buy(2, price=99), KillSwitch("a", True), buy(3), buy(4, account="b")]
    events = [e for seq, inp in enumerate(inputs, 1) for e in logic.process(inp, seq)]
    at_3 = [e for e in events if e.seq == 3]
    assert [type(e) for e in at_3] == [Cancelled, Cancelled, MassCancelled]
    assert [e for e in events if e.seq == 4] == [
        Rejected(4, CommandKind.NEW, 4, "a", RejectReason.KILL_SWITCH, 3)
    ]
    assert stage.seen == events  # the stage saw every event, its own rejects included
    # The same inputs through a fresh chain: the same events (it is deterministic).
    again = CoreLogic(pretrade=KillStage())
    assert [e for s, i in enumerate(inputs, 1) for e in again.process(i, s)] == events


def test_control_input_without_a_stage_is_logged_and_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logic = CoreLogic()
    assert logic.process(SetRiskLimits(b"{}"), 1) == []
    assert logic.last_seq == 1  # the seq is used all the same
    assert "no pre-trade stage" in caplog.text


# -- the loop ----------------------------------------------------------------------------


class Dry:
    """A sequence allocator that runs dry after ``ids`` IDs, until refilled."""

    def __init__(self, ids: int) -> None:
        self.inner = LocalSequence()
        self.left = ids

    def next(self) -> int:
        if self.left <= 0:
            raise SequenceUnavailable("test: no block")
        self.left -= 1
        return self.inner.next()

    def next_block(self, n: int) -> Sequence[int]:
        if n > self.left:
            raise SequenceUnavailable("test: no block")
        self.left -= n
        return self.inner.next_block(n)

    def close(self) -> None:
        pass


@pytest.fixture
def rings() -> Iterator[PipelineRings]:
    r = create_rings("t" + uuid.uuid4().hex[:10], 1, [True], input_capacity=64)
    yield r
    r.close()


def make_core(
    rings: PipelineRings,
    data: Path,
    sequence: object,
    journal: JournalWriter | None = None,
    **kw: object,
) -> Core:
    sources = FanIn(
        [
            SpscRing.attach(RingSpec(rings.inputs[0].spec.name)),
            SpscRing.attach(RingSpec(rings.control.spec.name)),
        ]
    )
    logic = CoreLogic(pretrade=KillStage())
    core = Core(
        sources,
        sequence,  # type: ignore[arg-type]
        journal or JournalWriter(data),
        logic,
        rings.events,
        str(data),
        control_ring=1,
        **kw,  # type: ignore[arg-type]
    )
    core.define_names(NAMES.symbols.names(), NAMES.accounts.names())
    return core


def put(producer: object, inputs: list[object]) -> None:
    producer.put_array(records(inputs, NAMES))  # type: ignore[attr-defined, arg-type]


def take(reader: EventReader) -> list[Event]:
    """What is on the event ring now, decoded (a batch's records are published at once)."""
    return decode_events(reader.get_array(L.EVENT_DTYPE, timeout=0), NAMES)


def test_unsequenced_inputs_get_seq_0_rejects_and_control_waits(
    rings: PipelineRings, tmp_path: Path
) -> None:
    take = EventTaker(rings.events.reader(0), Directory(["X"], ["a", "b"]))
    gateway, control = rings.inputs[0].producer(), rings.control.producer()
    core = make_core(rings, tmp_path, Dry(1), snapshot_on_exit=False)
    put(gateway, [buy(1), buy(2), Cancel(0, "a", client_order_id=1)])
    put(control, [KillSwitch("a", True)])
    assert core.step(timeout=5.0) == 4
    events = take()
    assert events[:2] == [
        Rejected(0, CommandKind.NEW, 0, "a", RejectReason.SEQUENCE_UNAVAILABLE, 2),
        Rejected(0, CommandKind.CANCEL, 0, "a", RejectReason.SEQUENCE_UNAVAILABLE, 1),
    ]
    assert [type(e).__name__ for e in events[2:]] == ["Accepted"]
    assert events[2].seq == 1
    # The kill switch is held, not dropped: it goes through once IDs come back.
    assert core.step(timeout=0) == 1
    assert take() == []
    core.sequence.left = 10  # type: ignore[attr-defined]
    assert core.step(timeout=0) == 1
    assert [type(e) for e in take()] == [Cancelled, MassCancelled]
    core.close()
    assert [(s, type(i)) for s, i in JournalReader(tmp_path)] == [(1, NewOrder), (2, KillSwitch)]
    gateway.close()
    control.close()


def test_bad_records_and_control_from_a_gateway_are_dropped(
    rings: PipelineRings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    take = EventTaker(rings.events.reader(0), Directory(["X"], ["a", "b"]))
    gateway = rings.inputs[0].producer()
    core = make_core(rings, tmp_path, LocalSequence(), snapshot_on_exit=False)
    junk = np.zeros(1, L.INPUT_DTYPE)
    junk["kind"] = 0xC1
    gateway.put_array(junk)
    put(gateway, [KillSwitch(None, True, why="not from a gateway"), buy(1)])
    assert core.step(timeout=5.0) == 3  # taken off the ring, two of them dropped
    assert [e.seq for e in take()] == [1]
    assert "not an input (kind 193)" in caplog.text
    assert "control input from a gateway" in caplog.text
    core.close()
    gateway.close()


def test_snapshots_every_n_inputs_and_on_demand(rings: PipelineRings, tmp_path: Path) -> None:
    take = EventTaker(rings.events.reader(0), Directory(["X"], ["a", "b"]))
    gateway = rings.inputs[0].producer()
    core = make_core(rings, tmp_path, LocalSequence(), snapshot_every=5, snapshot_on_exit=True)
    put(gateway, [buy(i) for i in range(1, 5)])
    core.step(timeout=5.0)
    assert not list(tmp_path.glob("snapshot-*"))
    put(gateway, [buy(5)])
    core.step(timeout=5.0)
    assert [p.name for p in tmp_path.glob("snapshot-*")] == ["snapshot-00000000000000000005.rms"]
    put(gateway, [buy(6)])
    core.step(timeout=5.0)
    core.snapshot_wanted = True  # what SIGUSR1 does
    assert core.step(timeout=0) == 0  # an idle turn writes it
    assert len(list(tmp_path.glob("snapshot-*"))) == 2
    take()
    core.close()
    logic, last = recover_core(tmp_path)
    assert last == 6 and len(logic.client_ids) == 6
    gateway.close()


def test_overlapped_sync_publishes_each_batch_once_its_sync_returns(
    rings: PipelineRings, tmp_path: Path
) -> None:
    # Every-batch fsync, overlapped: the core matches batch 2 while batch 1 syncs,
    # and no event of either reaches the event ring before its own sync returns.
    fs = GatedFiles()
    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    core = make_core(
        rings, tmp_path, LocalSequence(), JournalWriter(tmp_path, files=fs), overlap_sync=True
    )
    assert core.sync_fd is not None
    try:
        put(gateway, [buy(1)])
        assert core.step(timeout=0) == 1  # the DEFINEs and seq 1: written, sync 1 gated
        assert take(reader) == []
        put(gateway, [buy(2, account="b", price=101)])
        assert core.step(timeout=0) == 1
        assert core.last_seq == 2  # matched...
        assert take(reader) == []  # ...but not published: neither batch is durable
        fs.release()  # sync 1 returns; the wait ends on the commit's pipe, no ring data
        assert core.step(timeout=WAIT_S) == 0
        assert [(type(e).__name__, e.seq) for e in take(reader)] == [("Accepted", 1)]
        fs.release()
        assert core.step(timeout=WAIT_S) == 0
        assert [(type(e).__name__, e.seq) for e in take(reader)] == [("Accepted", 2)]
    finally:
        fs.release(10)
        core.close()
        gateway.close()
    assert fs.errors == []
    assert [s for s, _ in JournalReader(tmp_path)] == [1, 2]
