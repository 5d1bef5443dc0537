"""The journalled stage chain: the core names its pre-trade stage in the journal
(StageChain), and recovery, replay and snapshots follow the journal, not today's
configuration. A journal without one (written before it existed) has no stage."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from ringmatch.engine.core import snapshot
from ringmatch.engine.core.journal_run import write_snapshot
from ringmatch.engine.core.loop import Core
from ringmatch.engine.core.pipeline import PipelineRings, build_core, create_rings
from ringmatch.engine.core.recovery import load_snapshot, recover_core, run_recovery
from ringmatch.engine.core.sequence import LocalSequence
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.log import JournalReader, JournalWriter
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.names import read_directory
from ringmatch.engine.replay import journal_replay
from ringmatch.engine.rings.event_ring import EventRing, EventRingSpec
from ringmatch.engine.rings.fan_in import FanIn
from ringmatch.engine.rings.spsc_ring import RingSpec, SpscRing
from ringmatch.engine.schema.commands import (
    Input,
    KillSwitch,
    NewOrder,
    SetRiskLimits,
    SkipInput,
    StageChain,
)
from ringmatch.engine.schema.enums import OrderType, RejectReason, Side
from ringmatch.engine.schema.events import Accepted, Event, Rejected, event_to_dict
from ringmatch.stages import resolve
from tests.engine.marker_stage import SPEC, MarkerStage
from tests.engine.ring_records import put


def order(client: int, qty: int = 5, account: str = "a") -> NewOrder:
    return NewOrder(
        0, account, "X", Side.BUY, OrderType.LIMIT, 100 - client, qty, client_order_id=client
    )


@pytest.fixture
def rings() -> Iterator[PipelineRings]:
    r = create_rings("t" + uuid.uuid4().hex[:10], 1, [True], input_capacity=64)
    yield r
    r.close()


def run(
    rings: PipelineRings, data: Path, pretrade: str | None, orders: list[NewOrder]
) -> list[Event]:
    """One run of the core (this process, real rings): the orders in one batch; its events."""
    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    config = rings.core_config(str(data), pretrade=pretrade, symbols=["X"], accounts=["a"])
    core = build_core(config, resolve=resolve)
    names = read_directory(data)  # the file the core wrote: the writers' names
    try:
        put(gateway, orders, names)
        assert core.step(timeout=5.0) == len(orders)
        core.drain()  # the batch's events wait for its sync (overlapped fsync)
        return decode_events(reader.get_array(L.EVENT_DTYPE, timeout=0), names)
    finally:
        core.close()
        gateway.close()
        reader.close()


def replayed_events(data: Path, tmp: Path) -> list[object]:
    out = tmp / "replayed.jsonl"
    args = argparse.Namespace(
        file=str(data), trades_out=None, book_out=None, events_out=str(out), speed=None
    )
    assert journal_replay.run(args, resolve) == 0
    return [msgspec.json.decode(line) for line in out.read_bytes().splitlines()]


def test_recovery_and_replay_follow_the_journalled_chain_as_the_configuration_changes(
    rings: PipelineRings, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    live = run(rings, data, SPEC, [order(1, qty=11), order(2)])
    assert [type(e) for e in live] == [Rejected, Accepted]  # the stage ran
    # Configured without a stage now: recovery still runs the journal's (the rejected
    # order stays rejected), then the core journals the change and runs without one.
    live += run(rings, data, None, [order(3, qty=11)])
    assert isinstance(live[-1], Accepted)
    live += run(rings, data, SPEC, [order(4, qty=11)])
    assert isinstance(live[-1], Rejected) and live[-1].reason is RejectReason.RISK_MAX_QTY
    chains = [(s, i.pretrade) for s, i in JournalReader(data) if isinstance(i, StageChain)]
    assert chains == [(1, SPEC), (4, None), (6, SPEC)]
    logic, last = recover_core(data, resolve=resolve)
    assert last == 7 and logic.chain == SPEC and isinstance(logic.pretrade, MarkerStage)
    assert {o.order_id for o in logic.engine.l3("X")} == {3, 5}
    # The replay of the journal is the live event stream, event for event.
    assert replayed_events(data, tmp_path) == [event_to_dict(e) for e in live]
    # A snapshot names the stage, and recovery from it runs the same one.
    recovered = run_recovery(data, resolve=resolve).run
    write_snapshot(data, recovered.kernel, recovered.directory)
    from_snapshot = load_snapshot(data, resolve=resolve)
    assert from_snapshot is not None and from_snapshot.chain == SPEC
    assert isinstance(from_snapshot.pretrade, MarkerStage)


def journal_of(data: Path, records: list[tuple[int, Input]]) -> None:
    with JournalWriter(data) as writer:
        for record in records:
            writer.append_batch([record])


def test_a_stage_chain_in_the_middle_of_a_batch_switches_the_stage_there(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as writer:
        writer.append_batch(
            [(1, order(1, qty=11)), (2, StageChain(SPEC)), (3, order(3, qty=11)), (4, order(4))]
        )
    logic, _ = recover_core(tmp_path, resolve=resolve)  # recovery's fast loop, until the switch
    assert {o.order_id for o in logic.engine.l3("X")} == {1, 4}


def test_the_stage_resolver_is_the_callers(tmp_path: Path) -> None:
    journal_of(tmp_path, [(1, StageChain("no.such.module:Stage")), (2, order(2, qty=11))])
    made: list[MarkerStage] = []

    def resolve(spec: str) -> type[MarkerStage]:
        assert spec == "no.such.module:Stage"
        made.append(MarkerStage())
        return MarkerStage

    logic, _ = recover_core(tmp_path, resolve=resolve)
    assert made and isinstance(logic.pretrade, MarkerStage)
    assert logic.engine.l3("X") == []  # rejected by the stage the resolver gave


def test_a_journal_without_a_stage_chain_runs_without_a_stage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Journals written before StageChain existed replay as they always did."""
    limits = msgspec.msgpack.encode({"max_order_qty": 1})
    journal_of(tmp_path, [(1, SetRiskLimits(limits, 7)), (2, order(2, qty=11))])
    events = replayed_events(tmp_path, tmp_path)
    assert [e["type"] for e in events] == ["accepted"]
    # Shown readably, not as raw msgpack.
    assert "SetRiskLimits(limits={'max_order_qty': 1}, ts_ns=7) ignored" in caplog.text
    assert repr(SetRiskLimits(b"\xc1\xc1")) == (
        "SetRiskLimits(limits=<2 bytes, not msgpack>, ts_ns=0)"
    )


def test_a_snapshot_from_before_records_is_passed_over(tmp_path: Path) -> None:
    """An older version's snapshot (RMS1, names without ids): recovery replays the
    journal instead."""
    logic = CoreLogic(resolve=resolve)
    logic.process(order(1), 1)
    journal_of(tmp_path, [(1, order(1))])
    snapshot.write(tmp_path, logic.engine, logic.client_ids, b"stage state", None, None)
    with pytest.warns(snapshot.SnapshotDamaged, match="not a snapshot of this version"):
        assert load_snapshot(tmp_path, resolve=resolve) is None
    with pytest.warns(snapshot.SnapshotDamaged):
        recovered, last = recover_core(tmp_path, resolve=resolve)
    assert last == 1 and len(recovered.engine.l3("X")) == 1


def test_core_inputs_on_a_ring_are_dropped(
    rings: PipelineRings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    config = rings.core_config(str(tmp_path), symbols=["X"], accounts=["a"])
    core = build_core(config, resolve=resolve)
    names = read_directory(tmp_path)
    try:
        put(gateway, [StageChain(SPEC), SkipInput(1), order(1, qty=11)], names)
        assert core.step(timeout=5.0) == 3  # taken off the ring, two of them dropped
        core.drain()  # the batch's events wait for its sync (overlapped fsync)
        events = decode_events(reader.get_array(L.EVENT_DTYPE, timeout=0), names)
        assert [type(e) for e in events] == [Accepted]
    finally:
        core.close()
        gateway.close()
    assert caplog.text.count("dropped an input only the core journals") == 2
    assert [type(i) for _, i in JournalReader(tmp_path)] == [NewOrder]


def test_a_held_stage_chain_goes_first_in_the_first_batch_that_gets_seqs(
    rings: PipelineRings, tmp_path: Path
) -> None:
    """With no seq to be had at start (Redis down), build_core leaves its StageChain to
    the loop, which sequences it before anything else it takes."""
    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    sources = FanIn([SpscRing.attach(RingSpec(rings.inputs[0].spec.name))])
    events_ring = EventRing.attach(EventRingSpec(rings.events.spec.name))
    core = Core(
        sources,
        LocalSequence(),
        JournalWriter(tmp_path),
        CoreLogic(resolve=resolve),
        events_ring,
        str(tmp_path),
        snapshot_on_exit=False,
        held=[StageChain(SPEC)],
    )
    core.define_names(["X"], ["a"])
    try:
        put(gateway, [order(1, qty=11), order(2)], core.directory)
        assert core.step(timeout=5.0) == 3
        events = decode_events(reader.get_array(L.EVENT_DTYPE, timeout=0), core.directory)
        assert [type(e) for e in events] == [Rejected, Accepted]
    finally:
        core.close()
        gateway.close()
    assert [(s, type(i)) for s, i in JournalReader(tmp_path)] == [
        (1, StageChain),
        (2, NewOrder),
        (3, NewOrder),
    ]


def test_another_name_of_the_same_stage_is_no_change_of_stage(
    rings: PipelineRings, tmp_path: Path
) -> None:
    # A journal from before stages had short names says "risk.pretrade:PreTradeRisk";
    # a core configured "risk" must not journal a new chain, which would start risk's
    # stage afresh and forget its kill switches.
    data = tmp_path / "data"
    old_name = "risk.pretrade:PreTradeRisk"
    journal_of(data, [(1, StageChain(old_name)), (2, KillSwitch("a", on=True))])
    live = run(rings, data, "risk", [order(3)])
    assert [type(e) for e in live] == [Rejected] and live[0].reason is RejectReason.KILL_SWITCH
    chains = [i.pretrade for _, i in JournalReader(data) if isinstance(i, StageChain)]
    assert chains == [old_name]
