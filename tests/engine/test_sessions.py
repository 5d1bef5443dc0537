"""Sessions across workers: the core's session table, cancel-on-disconnect under the
closing input's seq, and the table rebuilt by recovery (journal, snapshot)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.core.pipeline import PipelineRings, create_rings
from ringmatch.engine.core.recovery import load_snapshot, recover_core
from ringmatch.engine.core.sequence import LocalSequence
from ringmatch.engine.core.sessions import SessionTable
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import JournalReader, JournalWriter
from ringmatch.engine.schema.commands import (
    Input,
    NewOrder,
    SessionClosed,
    SessionInput,
    SessionOpened,
    WorkerStarted,
)
from ringmatch.engine.schema.enums import CancelReason, OrderType, Side
from ringmatch.engine.schema.events import Cancelled, Event, MassCancelled
from tests.engine.live_kernel import LiveKernel
from tests.engine.test_core_loop import Dry, make_core, put, take

DISCONNECT = CancelReason.DISCONNECT
ACCOUNTS = ("a", "b", "c")


def order(order_id: int, account: str, price: int = 100) -> NewOrder:
    """A buy that rests (every order here is a buy: nothing ever trades)."""
    return NewOrder(order_id, account, "X", Side.BUY, OrderType.LIMIT, price, 5)


def run(logic: CoreLogic, inputs: list[Input], first_seq: int = 1) -> list[Event]:
    return [e for seq, inp in enumerate(inputs, first_seq) for e in logic.process(inp, seq)]


# -- the table's rules ---------------------------------------------------------------------


def test_last_session_anywhere_cancels_not_the_last_on_one_worker() -> None:
    table = SessionTable()
    assert table.apply(SessionOpened("a", 0, 1, True)) == []
    assert table.apply(SessionOpened("a", 1, 1, True)) == []  # same number, other worker
    assert table.apply(SessionClosed("a", 0, 1)) == []  # worker 0's last, not a's
    assert table.sessions("a") == {(1, 1)}
    assert table.apply(SessionClosed("a", 1, 1)) == ["a"]
    assert table.sessions("a") == frozenset() and table.armed() == []


def test_armed_from_the_first_flagged_logon_until_the_last_session_ends() -> None:
    table = SessionTable()
    table.apply(SessionOpened("a", 0, 1, False))
    table.apply(SessionOpened("a", 0, 2, True))
    table.apply(SessionOpened("a", 1, 3, False))  # a later logon without the flag: still armed
    assert table.apply(SessionClosed("a", 0, 2)) == []
    assert table.apply(SessionClosed("a", 0, 1)) == []
    assert table.apply(SessionClosed("a", 1, 3)) == ["a"]
    # Disarmed with the last session: a new run of sessions without the flag cancels nothing.
    table.apply(SessionOpened("a", 0, 4, False))
    assert table.apply(SessionClosed("a", 0, 4)) == []


def test_closing_an_unknown_session_changes_nothing() -> None:
    table = SessionTable()
    table.apply(SessionOpened("a", 0, 1, True))
    assert table.apply(SessionClosed("a", 0, 2)) == []
    assert table.apply(SessionClosed("b", 0, 1)) == []
    assert table.apply(SessionClosed("a", 0, 1)) == ["a"]
    assert table.apply(SessionClosed("a", 0, 1)) == []  # twice: the second is unknown


def test_worker_started_closes_its_own_past_sessions_and_those_of_workers_gone() -> None:
    table = SessionTable()
    table.apply(SessionOpened("a", 0, 1, True))
    table.apply(SessionOpened("b", 1, 1, True))
    table.apply(SessionOpened("b", 0, 2, False))
    table.apply(SessionOpened("c", 2, 1, True))  # a third worker, in a run that had three
    # Worker 1 of 2 starts: its own sessions and worker 2's are a past run's.
    assert table.apply(WorkerStarted(1, 2)) == ["c"]  # b still has a session on worker 0
    assert table.entries() == [("a", 0, 1), ("b", 0, 2)]
    assert table.apply(WorkerStarted(0, 2)) == ["a", "b"]  # sorted by account
    assert table.entries() == [] and table.armed() == []


def test_a_table_is_rebuilt_from_its_entries() -> None:
    table = SessionTable()
    for inp in (SessionOpened("a", 0, 1, True), SessionOpened("b", 1, 7, False)):
        table.apply(inp)
    assert SessionTable(table.entries(), table.armed()) == table
    with pytest.raises(ValueError, match=r"armed accounts with no live session: \['z'\]"):
        SessionTable([("a", 0, 1)], ["z"])


# -- through the core's logic --------------------------------------------------------------


def test_the_last_close_cancels_under_its_own_seq_with_reason_disconnect() -> None:
    logic = CoreLogic()
    events = run(
        logic,
        [
            WorkerStarted(0, 2),
            WorkerStarted(1, 2),
            SessionOpened("a", 0, 1, True),
            SessionOpened("a", 1, 1, True),
            order(5, "a"),
            order(6, "a", 99),
            SessionClosed("a", 0, 1),  # seq 7: a still has worker 1's session
        ],
    )
    assert [e.seq for e in events] == [5, 6]  # the two Accepted, nothing else
    assert logic.engine.order(5) is not None and logic.engine.order(6) is not None
    last = logic.process(SessionClosed("a", 1, 1, ts_ns=77), 8)
    assert last == [
        Cancelled(8, 5, "a", "X", Side.BUY, 100, 5, DISCONNECT),
        Cancelled(8, 6, "a", "X", Side.BUY, 99, 5, DISCONNECT),
        MassCancelled(8, "a", None, 2, DISCONNECT),
    ]
    assert logic.engine.l3("X") == [] and logic.last_seq == 8


# -- the reference model: recomputed from the whole history at every step --------------------


def live_after(history: list[SessionInput]) -> dict[str, set[tuple[int, int]]]:
    live: dict[str, set[tuple[int, int]]] = {}
    for inp in history:
        if isinstance(inp, SessionOpened):
            live.setdefault(inp.account, set()).add((inp.worker, inp.session))
        elif isinstance(inp, SessionClosed):
            live.get(inp.account, set()).discard((inp.worker, inp.session))
        else:
            for keys in live.values():
                keys -= {k for k in keys if k[0] == inp.worker or k[0] >= inp.workers}
    return live


def expected_cancels(history: list[SessionInput]) -> list[str]:
    """Accounts the last input of ``history`` cancels: it ended their last live session,
    and one of their sessions asked for it since they last had none."""
    before, after = live_after(history[:-1]), live_after(history)
    cancelled = []
    for account in sorted(before):
        if not before[account] or after.get(account):
            continue
        # Walk back while the account kept a live session: was a flagged logon among them?
        armed = False
        for i in range(len(history) - 2, -1, -1):
            inp = history[i]
            if isinstance(inp, SessionOpened) and inp.account == account:
                armed |= inp.cancel_on_disconnect
            if not live_after(history[:i]).get(account):
                break
        if armed:
            cancelled.append(account)
    return cancelled


session_inputs = st.one_of(
    st.builds(
        SessionOpened,
        st.sampled_from(ACCOUNTS),
        st.integers(0, 2),
        st.integers(1, 3),
        st.booleans(),
    ),
    st.builds(SessionClosed, st.sampled_from(ACCOUNTS), st.integers(0, 2), st.integers(1, 3)),
    st.builds(WorkerStarted, st.integers(0, 2), st.integers(1, 3)),
)
steps = st.lists(st.one_of(session_inputs, st.sampled_from(ACCOUNTS)), max_size=40)
"""A session input, or an account name: that account enters a resting order."""


def to_inputs(stream: list[SessionInput | str]) -> list[Input]:
    return [
        order(seq, step, 100 + seq) if isinstance(step, str) else step
        for seq, step in enumerate(stream, 1)
    ]


@settings(max_examples=200, deadline=None)
@given(steps)
def test_cancels_follow_the_model(stream: list[SessionInput | str]) -> None:
    logic = CoreLogic()
    history: list[SessionInput] = []
    resting: dict[str, list[int]] = {a: [] for a in ACCOUNTS}  # entry order
    for seq, inp in enumerate(to_inputs(stream), 1):
        events = logic.process(inp, seq)
        if isinstance(inp, NewOrder):
            resting[inp.account].append(inp.order_id)
            continue
        history.append(inp)  # type: ignore[arg-type]
        expected: list[Event] = []
        for account in expected_cancels(history):
            ids, resting[account] = resting[account], []
            expected += [
                Cancelled(seq, i, account, "X", Side.BUY, 100 + i, 5, DISCONNECT) for i in ids
            ]
            expected.append(MassCancelled(seq, account, None, len(ids), DISCONNECT))
        assert events == expected, f"at seq {seq}: {inp!r}"
    live = live_after(history)
    assert logic.sessions.entries() == sorted((a, w, s) for a, ks in live.items() for w, s in ks)


@settings(max_examples=60, deadline=None)
@given(steps, st.data())
def test_recovery_rebuilds_the_table_from_journal_and_snapshot(
    stream: list[SessionInput | str], data: st.DataObject
) -> None:
    inputs = to_inputs(stream)
    cut = data.draw(st.integers(0, len(inputs)), label="snapshot after")
    crash = data.draw(st.integers(cut, len(inputs)), label="crash after")
    live_kernel = LiveKernel()
    live = live_kernel.logic
    with tempfile.TemporaryDirectory() as tmp:
        with JournalWriter(tmp, fsync=FsyncPolicy.never()) as journal:
            for seq, inp in enumerate(inputs[:crash], 1):
                journal.append_batch([(seq, inp)])
                live_kernel.process(inp, seq)
                if seq == cut:
                    live_kernel.snapshot(tmp)
        recovered, last = recover_core(tmp)
        assert last == crash
        assert recovered.sessions == live.sessions
        if cut:
            from_snapshot = load_snapshot(tmp)
            assert from_snapshot is not None and from_snapshot.last_seq == cut
    # Both go on alike: the same cancels (and books) for the rest of the stream.
    rest = inputs[crash:]
    assert run(recovered, rest, crash + 1) == run(live, rest, crash + 1)
    assert recovered.sessions == live.sessions
    assert recovered.engine.l3("X") == live.engine.l3("X")


# -- the core's loop: whose ring may say what, and never losing a session input ---------------


@pytest.fixture
def rings() -> Iterator[PipelineRings]:
    r = create_rings("s" + uuid.uuid4().hex[:10], 1, [True], input_capacity=64)
    yield r
    r.close()


def test_a_session_input_naming_another_worker_is_dropped(
    rings: PipelineRings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    reader = rings.events.reader(0)
    gateway, control = rings.inputs[0].producer(), rings.control.producer()
    core = make_core(rings, tmp_path, LocalSequence(), snapshot_on_exit=False)
    put(gateway, [SessionOpened("a", 1, 1, True), SessionOpened("a", 0, 1)])
    put(control, [WorkerStarted(0, 1)])
    assert core.step(timeout=5.0) == 3  # taken off the rings, two of them dropped
    assert caplog.text.count("another worker's session input") == 2
    assert core.logic.sessions.entries() == [("a", 0, 1)] and take(reader) == []
    core.close()
    assert [type(i) for _, i in JournalReader(tmp_path)] == [SessionOpened]
    gateway.close()
    control.close()


def test_session_inputs_wait_for_a_seq_and_are_never_rejected(
    rings: PipelineRings, tmp_path: Path
) -> None:
    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    core = make_core(rings, tmp_path, Dry(2), snapshot_on_exit=False)
    opened, closed = SessionOpened("a", 0, 1, True), SessionClosed("a", 0, 1)
    new = NewOrder(0, "a", "X", Side.BUY, OrderType.LIMIT, 100, 5, client_order_id=1)
    put(gateway, [opened, new, closed])
    assert core.step(timeout=5.0) == 3
    assert [e.seq for e in take(reader)] == [2]  # the order's Accepted; the close is held
    core.sequence.left = 1  # type: ignore[attr-defined]
    assert core.step(timeout=0) == 1
    assert take(reader) == [
        Cancelled(3, 2, "a", "X", Side.BUY, 100, 5, DISCONNECT),
        MassCancelled(3, "a", None, 1, DISCONNECT),
    ]
    core.close()
    assert [(s, type(i)) for s, i in JournalReader(tmp_path)] == [
        (1, SessionOpened),
        (2, NewOrder),
        (3, SessionClosed),
    ]
    gateway.close()
