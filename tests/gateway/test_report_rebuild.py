"""A worker's ReportBook rebuilt from the journal is the one it would have had all along.

The live side is modelled as the core runs it: each batch admitted, journalled,
applied (ringmatch.engine.core.loop.Core.step), with the pre-trade stage the server uses; at
the split point it stops, snapshotting on its way out as the core does, and a
new core recovers (snapshot + journal) and runs the rest. A reference
ReportBook follows every event of both runs: the worker that never restarted.
A book rebuilt from the journal up to the split (after the second run has
journalled past it, as a live core does) must hold the same orders and give
the same reports, byte for byte, for every later event.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.schema.commands import (
    Cancel,
    Command,
    Input,
    KillSwitch,
    MassCancel,
    NewOrder,
    Replace,
    SessionClosed,
    SessionOpened,
    SetRiskLimits,
    StageChain,
)
from ringmatch.engine.schema.enums import OrderType, Side, StpMode
from ringmatch.engine.schema.events import Event
from ringmatch.gateway.protocol.messages import ExecType, ExecutionReport
from ringmatch.gateway.server.translate import Addressed, ReportBook, rebuild_report_book
from ringmatch.risk import limits
from ringmatch.stages import resolve
from tests.engine.live_kernel import LiveKernel
from tests.engine.strategies import ACCOUNTS, command_streams

PRETRADE = "risk"  # the spec serve's core journals

# Tight enough that the stage rejects some of the generated orders (qty 1..10).
LIMITS = SetRiskLimits(limits.encode(limits.RiskConfig(max_order_qty=8, max_open_orders=7)))


def gateway_input(command: Command) -> Input | None:
    """``command`` as a gateway sends it: order_id 0, the row's id as the client id
    (client ids are per account, so a reused id is another order, or a duplicate)."""
    if isinstance(command, NewOrder | Cancel | Replace):
        if command.order_id <= 0:
            return None  # the gateway itself refuses a client id that is not > 0
        fields = {f: getattr(command, f) for f in command.__struct_fields__}
        fields.update(order_id=0, client_order_id=command.order_id)
        return type(command)(**fields)
    return command


@st.composite
def gateway_streams(draw: st.DrawFn) -> tuple[list[list[Input]], int]:
    """Batches of gateway inputs, with risk limits, kill switches and sessions whose
    end cancels their orders mixed in; and the number of batches before the restart."""
    inputs: list[Input] = [LIMITS]
    sessions: dict[str, int] = {}
    for command in draw(command_streams(max_size=120)):
        if (
            isinstance(command, NewOrder)
            and command.stp is not StpMode.NONE
            and draw(st.booleans())
        ):
            # STP that reduces (Reduced events) is otherwise the rarest of the modes' outcomes.
            command = msgspec.structs.replace(command, stp=StpMode.DECREMENT)
        made = gateway_input(command)
        if made is not None:
            inputs.append(made)
        roll = draw(st.integers(0, 99))
        account = draw(st.sampled_from(ACCOUNTS))
        if roll < 1:
            inputs.append(KillSwitch(account, on=True, cancel_orders=draw(st.booleans())))
        elif roll < 4:
            inputs.append(KillSwitch(account, on=False))
        elif roll < 7 and account not in sessions:
            sessions[account] = sid = len(sessions) + 1
            inputs.append(SessionOpened(account, 0, sid, cancel_on_disconnect=True))
        elif roll < 10 and account in sessions:
            inputs.append(SessionClosed(account, 0, sessions.pop(account)))
    batches: list[list[Input]] = []
    while inputs:
        size = draw(st.integers(1, 6))
        batches.append(inputs[:size])
        inputs = inputs[size:]
    split = draw(st.integers(0, len(batches)))
    return batches, split


def run_core(
    live: LiveKernel, journal: JournalWriter, batches: list[list[Input]], seq: int
) -> tuple[list[list[Event]], int]:
    """Each batch as the core runs it: journal the inputs, run them through the kernel;
    its events, and the last seq."""
    published = []
    for batch in batches:
        records = []
        for inp in batch:
            seq += 1
            records.append((seq, inp))
        journal.append_batch(records)
        published.append(live.batch(records))
    return published, seq


def state(book: ReportBook) -> dict[int, tuple[object, ...]]:
    return {
        order_id: (o.account, o.client_order_id, o.symbol, o.side, o.price, o.cum, o.leaves)
        for order_id, o in book.orders.items()
    }


def follow(book: ReportBook, published: list[list[Event]]) -> list[Addressed]:
    out: list[Addressed] = []
    for events in published:
        out += book.reports(events)
    return out


def check_rebuild(
    data: Path, batches: list[list[Input]], split: int
) -> tuple[list[Addressed], list[list[Event]]]:
    """Run the model, assert the rebuilt book is the reference's; the rebuilt book's
    reports after the split, and the events they came from."""
    reference = ReportBook()
    live = LiveKernel(resolve)
    # As the live core does: its first input names its pre-trade stage (StageChain).
    batches = [[StageChain(PRETRADE)], *batches]
    split += 1
    with JournalWriter(data, fsync=FsyncPolicy.never()) as journal:
        before, split_seq = run_core(live, journal, batches[:split], 0)
    live.snapshot(data)  # the core's snapshot on exit
    follow(reference, before)
    at_split = state(reference)

    restarted = LiveKernel.recovered(data, resolve)
    last = restarted.last_seq
    assert last == split_seq
    with JournalWriter(data, fsync=FsyncPolicy.never(), start_after=last) as journal:
        after, _ = run_core(restarted, journal, batches[split:], split_seq)
    expected = follow(reference, after)

    rebuilt = rebuild_report_book(data, split_seq, resolve=resolve)
    assert state(rebuilt) == at_split
    assert rebuilt.seq == split_seq
    got = follow(rebuilt, after)
    assert got == expected
    assert state(rebuilt) == state(reference)
    assert rebuilt.strangers == reference.strangers == 0
    return got, after


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gateway_streams())
def test_a_book_rebuilt_from_the_journal_reports_as_one_that_saw_everything(
    stream: tuple[list[list[Input]], int],
) -> None:
    batches, split = stream
    with tempfile.TemporaryDirectory() as tmp:
        check_rebuild(Path(tmp), batches, split)


def limit(cid: int, account: str, side: Side, price: int, qty: int, stp: StpMode) -> NewOrder:
    return NewOrder(
        0, account, "AAA", side, OrderType.LIMIT, price, qty, stp=stp, client_order_id=cid
    )


def of(reports: list[Addressed], order_id: int) -> list[tuple[object, ...]]:
    return [
        (r.exec_type, r.client_order_id, r.cum_qty, r.leaves_qty)
        for _, r in reports
        if isinstance(r, ExecutionReport) and r.order_id == order_id
    ]


def test_an_order_from_before_the_restart_keeps_its_client_id_and_quantities(
    tmp_path: Path,
) -> None:
    none = StpMode.NONE
    before = [
        # (seq 1 is the StageChain check_rebuild puts first, as the live core does)
        [LIMITS, limit(7, "acct-1", Side.SELL, 100, 8, none)],  # seq 3: acct-1's 7
        [limit(3, "acct-2", Side.BUY, 100, 3, none)],  # fills 3 of it
        [limit(9, "acct-1", Side.SELL, 101, 5, none)],  # seq 5: acct-1's 9 rests
    ]
    after = [
        [limit(4, "acct-1", Side.BUY, 101, 2, StpMode.DECREMENT)],  # meets 7: both lose 2
        [Replace(0, "acct-1", 100, 4, client_order_id=7)],  # 7: 3 left, now 4
        [limit(5, "acct-3", Side.BUY, 100, 1, none)],  # fills 1 of 7
        [Cancel(0, "acct-1", client_order_id=7)],
        [MassCancel("acct-1")],  # cancels 9
    ]
    reports, events = check_rebuild(tmp_path, before + after, len(before))
    assert of(reports, 3) == [
        (ExecType.REDUCED, 7, 3, 3),
        (ExecType.REPLACED, 7, 3, 4),
        (ExecType.PARTIALLY_FILLED, 7, 4, 3),
        (ExecType.CANCELLED, 7, 4, 0),
    ]
    assert of(reports, 5) == [(ExecType.CANCELLED, 9, 0, 0)]
    # A book that knows only the events since the restart (the worker before the
    # rebuild) can name neither order nor count what 7 had filled.
    fresh = ReportBook()
    stale = follow(fresh, events)
    assert of(stale, 3) == [
        (ExecType.REDUCED, 0, 0, 3),
        (ExecType.REPLACED, 0, 0, 4),
        (ExecType.PARTIALLY_FILLED, 0, 1, 3),
        (ExecType.CANCELLED, 0, 0, 0),
    ]
    assert of(stale, 5) == [(ExecType.CANCELLED, 0, 0, 0)]
    assert fresh.strangers == 5
