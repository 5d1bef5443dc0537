"""Events: what the core did. Every event carries ``seq``, the sequence number
of the input that caused it. The order in which one command's events appear is
part of the contract (docs/EVENTS.md).

Like the commands, events are ``array_like`` and ``gc=False`` Structs.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ringmatch.engine.schema.enums import (
    CancelReason,
    CommandKind,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
    TradingPhase,
)


class Accepted(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="accepted"):
    """A NEW passed validation; ``tif`` is resolved (GTC or IOC when none was given)."""

    seq: int
    order_id: int
    account: str
    symbol: str
    side: Side
    order_type: OrderType
    tif: TimeInForce
    price: int | None
    qty: int
    client_order_id: int = 0
    trigger_price: int | None = None
    display_qty: int | None = None
    expire_ts: int | None = None


class Rejected(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="rejected"):
    """A command that changed nothing (except that a NEW with a fresh id uses it up)."""

    seq: int
    command: CommandKind
    order_id: int
    account: str
    reason: RejectReason
    client_order_id: int = 0


class Trade(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="trade"):
    """One execution, at the maker's price. ``*_leaves``: what each has left after it."""

    seq: int
    trade_id: int
    symbol: str
    price: int
    qty: int
    maker_order_id: int
    taker_order_id: int
    maker_account: str
    taker_account: str
    taker_side: Side
    maker_leaves: int
    taker_leaves: int


class Cancelled(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="cancelled"):
    """``qty`` left the order without trading and the order is gone (leaves 0)."""

    seq: int
    order_id: int
    account: str
    symbol: str
    side: Side
    price: int | None
    qty: int
    reason: CancelReason


class Reduced(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="reduced"):
    """STP DECREMENT took ``qty`` off an order that lives on with ``leaves``."""

    seq: int
    order_id: int
    account: str
    symbol: str
    side: Side
    price: int | None
    qty: int
    leaves: int
    reason: CancelReason


class Replaced(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="replaced"):
    """A resting order (or a held stop) now has ``price`` and remaining ``qty``.

    ``qty`` is the whole order's, hidden part included; ``trigger_price`` is a
    held stop's (None for an order on the book); ``price`` is None for a STOP.
    """

    seq: int
    order_id: int
    account: str
    symbol: str
    side: Side
    price: int | None
    qty: int
    priority_kept: bool
    trigger_price: int | None = None


class MassCancelled(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="mass_cancelled"):
    """A MassCancel is done: ``count`` orders were cancelled (each its own Cancelled first)."""

    seq: int
    account: str
    symbol: str | None
    count: int
    reason: CancelReason


class Triggered(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="triggered"):
    """A held stop is released (V-STOP-3): its taker events follow at once.

    ``order_type`` and ``tif`` are what it now is (MARKET IOC for a STOP, LIMIT
    with its own tif for a STOP_LIMIT); ``price`` its limit (None for a STOP).
    """

    seq: int
    order_id: int
    account: str
    symbol: str
    side: Side
    trigger_price: int
    order_type: OrderType
    tif: TimeInForce
    price: int | None
    qty: int


class Refreshed(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="refreshed"):
    """An iceberg shows a new slice of ``shown`` at the back of its level (V-ICE-2).

    ``leaves`` is the whole order's; the feed shows ``shown`` only.
    """

    seq: int
    order_id: int
    account: str
    symbol: str
    side: Side
    price: int
    shown: int
    leaves: int


class AuctionTrade(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="auction_trade"):
    """One execution of an uncross (V-AUC-3): no maker or taker, a buy and a sell."""

    seq: int
    trade_id: int
    symbol: str
    price: int
    qty: int
    buy_order_id: int
    sell_order_id: int
    buy_account: str
    sell_account: str
    buy_leaves: int
    sell_leaves: int


def as_trade(t: AuctionTrade) -> Trade:
    """An uncross's execution as a Trade, for the readers that only count fills
    (positions, P&L, last prices): the seller stands as the taker, the buyer as the
    maker, as their event records pair them (layout.AUCTION_TRADE)."""
    return Trade(t.seq, t.trade_id, t.symbol, t.price, t.qty, t.buy_order_id,
                 t.sell_order_id, t.buy_account, t.sell_account, Side.SELL, t.buy_leaves,
                 t.sell_leaves)  # fmt: skip


class PhaseChanged(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="phase_changed"):
    """``symbol`` moved from ``previous`` to ``phase`` (V-SES-1)."""

    seq: int
    symbol: str
    phase: TradingPhase
    previous: TradingPhase


class Indicative(msgspec.Struct, frozen=True, array_like=True, gc=False, tag="indicative"):
    """The uncross a call phase would give now (V-AUC-4); ``price`` None: nothing executable."""

    seq: int
    symbol: str
    price: int | None
    volume: int
    imbalance_side: Side | None
    imbalance_qty: int


Event = (
    Accepted
    | Rejected
    | Trade
    | Cancelled
    | Reduced
    | Replaced
    | MassCancelled
    | Triggered
    | Refreshed
    | AuctionTrade
    | PhaseChanged
    | Indicative
)


_VENUE_FIELDS = frozenset(("trigger_price", "display_qty", "expire_ts"))
"""Fields the venue's order types added to Accepted and Replaced: written only when set,
so that a stream of plain limit and market orders reads exactly as before they existed."""


def event_to_dict(event: Event) -> dict[str, Any]:
    """A readable mapping of an event, with its tag under ``"type"`` (for JSON lines)."""
    out: dict[str, Any] = {"type": type(event).__struct_config__.tag}
    fields = msgspec.structs.asdict(event)
    for name in _VENUE_FIELDS.intersection(fields):
        if fields[name] is None:
            del fields[name]
    out.update(msgspec.to_builtins(fields))
    return out
