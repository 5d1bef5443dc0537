"""The order book of one symbol: two sides of price levels, queues within a level.

Layout, chosen for CPython speed (benchmarks/bench_core.py measures it):

* A side keeps its levels in a dict ``key -> Level`` and the keys in a sorted
  list whose *last* element is the best price, so the best level is
  ``keys[-1]`` (O(1)) and emptying it is ``keys.pop()`` (O(1)). The key of a
  price is the price itself for bids and ``-price`` for asks: one code path
  serves both sides, "better" always means "larger key", and an incoming order
  crosses exactly when ``best_key >= limit_key``.
* A ``Level`` is a dict ``order_id -> RestingOrder`` (insertion order is time
  priority; delete by id is O(1)) that also keeps the level's total quantity so
  depth views never sum a queue.
* A ``RestingOrder`` is a mutable ``gc=False`` Struct: built in C (much faster
  than a Python ``__init__``) and never tracked by the cycle collector, which is
  safe because it only refers to scalars and to its (immutable) NewOrder. It
  holds only what changes (qty, price) or what the match loop reads on every
  maker (account); the rest stays on the NewOrder it came from, since every
  field a Struct is built with costs time on each insert.
"""

from __future__ import annotations

from bisect import bisect_left, insort

import msgspec

from ringmatch.engine.book.held_stops import HeldStops
from ringmatch.engine.schema.commands import NewOrder
from ringmatch.engine.schema.enums import Side, TradingPhase

CONTINUOUS = TradingPhase.CONTINUOUS


class RestingOrder(msgspec.Struct, gc=False):
    qty: int  # remaining (an iceberg: its shown slice)
    price: int  # may change by a replace (0: a STOP or a waiting market order)
    account: str
    origin: NewOrder  # id, symbol, side, STP mode, post-only, display_qty, tif
    hidden: int = 0  # an iceberg's quantity behind its slice
    trigger: int = 0  # a held stop's trigger price; 0 once it is released or for any other
    new_seq: int = 0  # its NEW's seq (V-TIME-3, V-EXP-2); 0: a plain order (the fast paths')

    @property
    def leaves(self) -> int:
        return self.qty + self.hidden


class Level(dict[int, RestingOrder]):
    """The queue at one price: order id -> order, oldest first, plus its total."""

    __slots__ = ("hidden", "qty")

    def __init__(self) -> None:
        super().__init__()
        self.qty = 0  # shown
        self.hidden = 0  # icebergs' hidden quantity


class BookSide:
    """One side of a book. ``sign`` turns a price into a key (1 bids, -1 asks)."""

    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.keys: list[int] = []
        self.levels: dict[int, Level] = {}

    def add(self, order: RestingOrder) -> None:
        """Queue ``order`` at the back of its price level."""
        key = self.sign * order.price
        level = self.levels.get(key)
        if level is None:
            level = self.levels[key] = Level()
            keys = self.keys
            # New levels mostly appear at or near the touch: check the end first.
            if not keys or key > keys[-1]:
                keys.append(key)
            else:
                insort(keys, key)
        level[order.origin.order_id] = order
        level.qty += order.qty
        level.hidden += order.hidden

    def remove(self, order: RestingOrder) -> None:
        """Take ``order`` out of its level, dropping the level if it empties."""
        key = self.sign * order.price
        level = self.levels[key]
        del level[order.origin.order_id]
        level.qty -= order.qty
        level.hidden -= order.hidden
        if not level:
            self.drop_level(key)

    def drop_level(self, key: int) -> None:
        del self.levels[key]
        keys = self.keys
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def best(self) -> tuple[int, int] | None:
        """``(price, total qty)`` of the best level, or None if the side is empty."""
        if not self.keys:
            return None
        key = self.keys[-1]
        return self.sign * key, self.levels[key].qty

    def depth(self, levels: int) -> list[tuple[int, int]]:
        sign, all_levels, keys = self.sign, self.levels, self.keys
        n = len(keys)
        return [
            (sign * keys[i], all_levels[keys[i]].qty)
            for i in range(n - 1, max(n - levels, 0) - 1, -1)
        ]

    def orders(self) -> list[RestingOrder]:
        """Every order, best price first, queue order within a price."""
        levels = self.levels
        return [order for key in reversed(self.keys) for order in levels[key].values()]


class OrderBook:
    """Both sides of one symbol's book, and its venue state (VENUE_RULES.md)."""

    __slots__ = (
        "asks",
        "bids",
        "day_orders",
        "indicative",
        "last_price",
        "phase",
        "stops",
        "symbol",
        "waiting",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.bids = BookSide(1)
        self.asks = BookSide(-1)
        self.phase = CONTINUOUS
        self.last_price: int | None = None  # the last trade's price (V-STOP-4, V-AUC-2)
        # Held stops in release order (V-STOP-3): a replace that moves one re-inserts it;
        # by trigger too, so a print finds the ones it triggers by bisection.
        self.stops = HeldStops()
        # Market orders waiting in a call phase (V-SES-2), in seq order.
        self.waiting: dict[int, RestingOrder] = {}
        # Live DAY orders (resting or held), in seq order of their NEW (V-EXP-2).
        self.day_orders: dict[int, RestingOrder] = {}
        self.indicative: tuple[int | None, int, Side | None, int] | None = None

    def side(self, side: Side) -> BookSide:
        return self.bids if side is Side.BUY else self.asks
