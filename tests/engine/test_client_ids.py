"""Client order ids: the registry, the core's translation, across recovery and snapshots."""

from __future__ import annotations

import random
from pathlib import Path

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.core.client_ids import ClientIds
from ringmatch.engine.core.recovery import load_snapshot, recover_core
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.schema.commands import Cancel, Input, NewOrder, Replace
from ringmatch.engine.schema.enums import CommandKind, OrderType, RejectReason, Side
from ringmatch.engine.schema.events import Accepted, Cancelled, Event, Rejected, Replaced
from tests.engine.live_kernel import LiveKernel
from tests.engine.strategies import command_streams

NEW, CANCEL, REPLACE = CommandKind.NEW, CommandKind.CANCEL, CommandKind.REPLACE


def buy(client: int, account: str = "a", price: int = 100, qty: int = 5) -> NewOrder:
    return NewOrder(0, account, "X", Side.BUY, OrderType.LIMIT, price, qty, client_order_id=client)


def run_live(logic: CoreLogic, batch: list[Input], first_seq: int) -> tuple[list[Event], list]:
    """As the core does it: admit the whole batch (what the journal stores), then apply."""
    records = [(first_seq + i, logic.admit(first_seq + i, inp)) for i, inp in enumerate(batch)]
    events: list[Event] = []
    for seq, inp in records:
        events += logic.apply(seq, inp)
    return events, records


def test_registry_first_one_wins() -> None:
    ids = ClientIds()
    assert ids.add("a", 7, 100)
    assert not ids.add("a", 7, 200)
    assert ids.add("b", 7, 300)  # unique per account only
    assert (ids.lookup("a", 7), ids.lookup("b", 7), ids.lookup("a", 8)) == (100, 300, 0)
    assert list(ClientIds(ids.entries()).entries()) == [("a", 7, 100), ("b", 7, 300)]


def test_new_gets_its_seq_as_order_id_and_a_duplicate_is_rejected() -> None:
    logic = CoreLogic()
    events, records = run_live(logic, [buy(7), buy(7, price=99), buy(7, account="b")], 10)
    assert [r[1].order_id for r in records] == [10, 0, 12]  # the duplicate stays untranslated
    assert events == [
        Accepted(10, 10, "a", "X", Side.BUY, OrderType.LIMIT, events[0].tif, 100, 5, 7),
        Rejected(11, NEW, 0, "a", RejectReason.DUPLICATE_CLIENT_ORDER_ID, 7),
        Accepted(12, 12, "b", "X", Side.BUY, OrderType.LIMIT, events[0].tif, 100, 5, 7),
    ]
    assert logic.engine.order(11) is None and logic.last_seq == 12


def test_cancel_and_replace_by_client_id_in_the_same_batch() -> None:
    logic = CoreLogic()
    events, records = run_live(
        logic,
        [buy(7), Replace(0, "a", 101, 3, client_order_id=7), Cancel(0, "a", client_order_id=7)],
        1,
    )
    assert [r[1].order_id for r in records] == [1, 1, 1]
    assert isinstance(events[1], Replaced) and events[1].order_id == 1
    assert isinstance(events[2], Cancelled) and events[2].order_id == 1
    # Known but no longer resting: the engine's own answer, with the client id echoed.
    again, _ = run_live(logic, [Cancel(0, "a", client_order_id=7)], 4)
    assert again == [Rejected(4, CANCEL, 1, "a", RejectReason.ORDER_NOT_RESTING, 7)]


def test_unknown_client_ids_and_other_accounts() -> None:
    logic = CoreLogic()
    events, _ = run_live(
        logic,
        [
            buy(7),
            Cancel(0, "b", client_order_id=7),  # b has no order 7: a's is not found
            Replace(0, "a", 100, 1, client_order_id=8),
        ],
        1,
    )
    assert events[1:] == [
        Rejected(2, CANCEL, 0, "b", RejectReason.UNKNOWN_CLIENT_ORDER_ID, 7),
        Rejected(3, REPLACE, 0, "a", RejectReason.UNKNOWN_CLIENT_ORDER_ID, 8),
    ]
    assert logic.engine.order(1) is not None


def test_inputs_with_order_ids_pass_through_but_register() -> None:
    logic = CoreLogic()
    preset = NewOrder(55, "a", "X", Side.SELL, OrderType.LIMIT, 100, 5, client_order_id=9)
    assert logic.admit(1, preset) is preset
    cancel = Cancel(55, "a")
    assert logic.admit(2, cancel) is cancel
    assert logic.admit(3, Cancel(0, "a", client_order_id=9)) == Cancel(55, "a", client_order_id=9)


def gateway_form(inp: Input) -> Input:
    if isinstance(inp, NewOrder | Cancel | Replace) and inp.order_id > 0:
        return msgspec.structs.replace(inp, order_id=0, client_order_id=inp.order_id)
    return inp


@settings(max_examples=60, deadline=None)
@given(command_streams(), st.integers(1, 9), st.randoms(use_true_random=False))
def test_live_two_phase_equals_replay_of_the_journal(cmds, batch, rng: random.Random) -> None:
    """What the core publishes (admit a batch, journal, apply) is what a replay of
    the journalled inputs through process() gives, and the registries agree."""
    inputs = [gateway_form(c) for c in cmds]
    live = CoreLogic()
    journalled = []
    live_events: list[Event] = []
    seq = 0
    for start in range(0, len(inputs), batch):
        seq += rng.randint(1, 3)  # seqs with gaps, as from Redis blocks
        events, records = run_live(live, inputs[start : start + batch], seq)
        seq = records[-1][0] if records else seq
        live_events += events
        journalled += records
    replayed = CoreLogic()
    replay_events = [e for s, inp in journalled for e in replayed.process(inp, s)]
    assert replay_events == live_events
    assert list(replayed.client_ids.entries()) == list(live.client_ids.entries())
    # Recovery's fast loop ends in the same state.
    fast = CoreLogic()
    fast.replay_batch(journalled)
    assert list(fast.client_ids.entries()) == list(live.client_ids.entries())
    assert fast.last_seq == live.last_seq
    for symbol in live.engine.symbols():
        assert fast.engine.l3(symbol) == live.engine.l3(symbol)


def test_registry_survives_recovery_and_snapshots(tmp_path: Path) -> None:
    live_kernel = LiveKernel()
    live = live_kernel.logic
    with JournalWriter(tmp_path) as journal:
        records = [(1, buy(1)), (2, buy(2, price=99))]
        live_kernel.batch(records)  # the journal holds the inputs as they came
        journal.append_batch(records)
        # Recovery from the journal alone.
        recovered, last = recover_core(tmp_path)
        assert last == 2 and list(recovered.client_ids.entries()) == [("a", 1, 1), ("a", 2, 2)]
        live_kernel.snapshot(tmp_path)
        records = [(5, buy(3, price=98))]
        live_kernel.batch(records)
        journal.append_batch(records)
    restored = load_snapshot(tmp_path)
    assert restored is not None and restored.last_seq == 2
    assert list(restored.client_ids.entries()) == [("a", 1, 1), ("a", 2, 2)]
    recovered, last = recover_core(tmp_path)  # snapshot at 2, then seq 5 from the journal
    assert last == 5
    assert list(recovered.client_ids.entries()) == list(live.client_ids.entries())
    # The recovered registry decides as the live one would.
    events, _ = run_live(recovered, [buy(2), Cancel(0, "a", client_order_id=3)], 6)
    assert events[0].reason is RejectReason.DUPLICATE_CLIENT_ORDER_ID  # type: ignore[union-attr]
    assert isinstance(events[1], Cancelled) and events[1].order_id == 5
