"""Read-only views of a book: top of book, aggregated depth, every order (L3)."""

from __future__ import annotations

import msgspec

from ringmatch.engine.schema.enums import Side


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
    qty: int
