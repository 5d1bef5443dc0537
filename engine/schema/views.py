"""Read-only views of a book: top of book, aggregated depth, every order (L3)."""

from __future__ import annotations

import msgspec

from ringmatch.engine.schema.enums import OrderType, Side


class BBO(msgspec.Struct, frozen=True, gc=False):
    """Best bid and offer; a missing side has price ``None`` and quantity 0."""

    bid_price: int | None
    bid_qty: int
    ask_price: int | None
    ask_qty: int


class Depth(msgspec.Struct, frozen=True):
    """Aggregated levels, best first: ``(price, total quantity)``."""

    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]


class BookOrder(msgspec.Struct, frozen=True, gc=False):
    """One resting order as the L3 view shows it."""

    symbol: str
    side: Side
    price: int
    order_id: int
    account: str
    qty: int  # what shows (an iceberg's slice)
    hidden: int = 0  # an iceberg's quantity behind its slice


class HeldOrder(msgspec.Struct, frozen=True, gc=False):
    """An order that is live but not on the book: a held stop, or a market order
    waiting in a call phase (``order_type`` MARKET, no trigger)."""

    symbol: str
    side: Side
    order_type: OrderType
    trigger_price: int | None
    price: int | None
    order_id: int
    account: str
    qty: int


class IndicativeUncross(msgspec.Struct, frozen=True, gc=False):
    """What an uncross would do now (V-AUC-1): price None when nothing can execute."""

    price: int | None
    volume: int
    imbalance_side: Side | None
    imbalance_qty: int
