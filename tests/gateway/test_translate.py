"""Requests to commands (checks that name the field), events to reports (both sides, cum/leaves)."""

from __future__ import annotations

import pytest

from ringmatch.engine.schema import commands as core
from ringmatch.engine.schema.enums import (
    CancelReason,
    CommandKind,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
)
from ringmatch.engine.schema.events import (
    Accepted,
    Cancelled,
    MassCancelled,
    Reduced,
    Rejected,
    Replaced,
    Trade,
)
from ringmatch.gateway.protocol.messages import (
    Cancel,
    ExecType,
    ExecutionReport,
    MassCancel,
    MassCancelDone,
    MessageReject,
    NewOrder,
    Replace,
)
from ringmatch.gateway.server.translate import ReportBook, to_command

SYMBOLS = frozenset({"AAPL"})


def test_a_new_order_becomes_the_cores_command_with_order_id_zero() -> None:
    wire = NewOrder(9, "AAPL", Side.SELL, OrderType.LIMIT, 101, 3, TimeInForce.IOC, False)
    command = to_command(wire, "alice", SYMBOLS)
    assert isinstance(command, core.NewOrder)
    assert (command.order_id, command.client_order_id, command.account) == (0, 9, "alice")
    assert (command.symbol, command.side, command.price, command.qty, command.tif) == (
        "AAPL",
        Side.SELL,
        101,
        3,
        TimeInForce.IOC,
    )
    cancel = to_command(Cancel(9), "alice", SYMBOLS)
    assert isinstance(cancel, core.Cancel) and (cancel.order_id, cancel.client_order_id) == (0, 9)
    replace = to_command(Replace(9, 5, 6), "bob", SYMBOLS)
    assert isinstance(replace, core.Replace)
    assert (replace.account, replace.client_order_id, replace.price, replace.qty) == (
        "bob",
        9,
        5,
        6,
    )
    mass = to_command(MassCancel("AAPL"), "bob", SYMBOLS)
    assert mass == core.MassCancel("bob", "AAPL", CancelReason.MASS_CANCEL, mass.ts_ns)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (NewOrder(1, "AAPL", Side.BUY, OrderType.LIMIT, 0, 1), "price"),
        (NewOrder(1, "AAPL", Side.BUY, OrderType.LIMIT, 1, -1), "qty"),
        (NewOrder(0, "AAPL", Side.BUY, OrderType.LIMIT, 1, 1), "client_order_id"),
        (NewOrder(1, "ZZZ", Side.BUY, OrderType.LIMIT, 1, 1), "symbol"),
        (NewOrder(1, "AAPL", Side.BUY, OrderType.LIMIT, 2**63, 1), "price"),
        (Cancel(-4), "client_order_id"),
        (Replace(3, 1, 0), "qty"),
        (Replace(3, 0, 1), "price"),
        (MassCancel("ZZZ"), "symbol"),
    ],
)
def test_out_of_range_fields_are_named(request_: object, field: str) -> None:
    reject = to_command(request_, "alice", SYMBOLS)  # type: ignore[arg-type]
    assert isinstance(reject, MessageReject)
    assert reject.field == field and reject.message == type(request_).__name__


def test_a_market_order_price_is_left_to_the_core() -> None:
    # Business rules (a market order with a price) are the core's, reported as events.
    command = to_command(NewOrder(1, "AAPL", Side.BUY, OrderType.MARKET, 5, 1), "a", SYMBOLS)
    assert isinstance(command, core.NewOrder)


def report(account: str, message: object) -> tuple[str, object]:
    return (account, message)


def test_reports_follow_an_order_through_its_life_for_each_side() -> None:
    book = ReportBook()
    buy = Side.BUY
    out = book.reports(
        [
            Accepted(
                1, 101, "alice", "AAPL", Side.SELL, OrderType.LIMIT, TimeInForce.GTC, 100, 10, 7
            ),
            Accepted(2, 102, "bob", "AAPL", buy, OrderType.LIMIT, TimeInForce.GTC, 100, 4, 8),
            Trade(2, 1, "AAPL", 100, 4, 101, 102, "alice", "bob", buy, 6, 0),
            Replaced(3, 101, "alice", "AAPL", Side.SELL, 101, 5, False),
            Reduced(4, 101, "alice", "AAPL", Side.SELL, 101, 2, 3, CancelReason.STP),
            Cancelled(5, 101, "alice", "AAPL", Side.SELL, 101, 3, CancelReason.USER),
            Rejected(6, CommandKind.CANCEL, 101, "alice", RejectReason.ORDER_NOT_RESTING, 7),
            Rejected(7, CommandKind.NEW, 0, "bob", RejectReason.DUPLICATE_CLIENT_ORDER_ID, 8),
            MassCancelled(8, "bob", None, 0, CancelReason.DISCONNECT),
        ]
    )
    summary = [
        (account, m.exec_type.value, m.client_order_id, m.cum_qty, m.leaves_qty)
        for account, m in out
        if isinstance(m, ExecutionReport)
    ]
    assert summary == [
        ("alice", "ACCEPTED", 7, 0, 10),
        ("bob", "ACCEPTED", 8, 0, 4),
        ("alice", "PARTIALLY_FILLED", 7, 4, 6),  # the maker
        ("bob", "FILLED", 8, 4, 0),  # the taker
        ("alice", "REPLACED", 7, 4, 5),
        ("alice", "REDUCED", 7, 4, 3),
        ("alice", "CANCELLED", 7, 4, 0),
        ("alice", "REJECTED", 7, 0, 0),
        ("bob", "REJECTED", 8, 0, 0),
    ]
    fills = [m for _, m in out if isinstance(m, ExecutionReport) and m.trade_id]
    assert [(m.last_price, m.last_qty, m.trade_id) for m in fills] == [(100, 4, 1)] * 2
    rejected = [m for _, m in out if isinstance(m, ExecutionReport) and m.reason][-2:]
    assert [(m.reason, m.request) for m in rejected] == [
        ("ORDER_NOT_RESTING", "CANCEL"),
        ("DUPLICATE_CLIENT_ORDER_ID", "NEW"),
    ]
    assert out[-1] == ("bob", MassCancelDone(8, None, 0, "DISCONNECT"))
    assert book.orders == {}  # nothing live is left behind


def test_a_killed_fok_is_reported_killed() -> None:
    book = ReportBook()
    out = book.reports(
        [
            Accepted(1, 5, "a", "AAPL", Side.BUY, OrderType.LIMIT, TimeInForce.FOK, 9, 3, 2),
            Cancelled(1, 5, "a", "AAPL", Side.BUY, 9, 3, CancelReason.KILLED_FOK),
        ]
    )
    last = out[-1][1]
    assert isinstance(last, ExecutionReport)
    assert (last.exec_type, last.reason) == (ExecType.KILLED, "KILLED_FOK")
