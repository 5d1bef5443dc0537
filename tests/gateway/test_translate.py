"""Requests to commands (checks that name the field), events to reports (both sides, cum/leaves)."""

from __future__ import annotations

import pytest

from ringmatch.engine.schema import commands as core
from ringmatch.engine.schema.enums import (
    CancelReason,
    OrderType,
    Side,
    TimeInForce,
)
from ringmatch.gateway.protocol.messages import (
    Cancel,
    MassCancel,
    MessageReject,
    NewOrder,
    Replace,
)
from ringmatch.gateway.server.translate import to_command

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
