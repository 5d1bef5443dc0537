"""Call auctions: the uncross price of a call book and its execution (VENUE_RULES.md V-AUC).

Pure functions of one symbol's book, called by the matching engine. The price
(V-AUC-1) is the candidate that maximises executable volume, then has the
smallest imbalance, then lies closest to the reference price, then is lower.
Every tick between the lowest and the highest limit price is a candidate, but
buy and sell volume only change at limit prices: between two neighbouring
limit prices both are constant, so each gap is represented by its one best
tick (the one closest to the reference, else its lowest). That makes the
search linear in the number of price levels, not in the width of the range.
"""

from __future__ import annotations

from collections import deque

from ringmatch.engine.book.book import BookSide, OrderBook, RestingOrder
from ringmatch.engine.schema.enums import Side
from ringmatch.engine.schema.views import IndicativeUncross

NOTHING = IndicativeUncross(None, 0, None, 0)


def _level_totals(side: BookSide) -> dict[int, int]:
    """price -> whole leaves (hidden included) of the side's limit orders."""
    return {side.sign * key: level.qty + level.hidden for key, level in side.levels.items()}


def uncross_price(book: OrderBook, reference: int | None) -> IndicativeUncross:
    """The uncross ``book`` would run now, or NOTHING if no volume can execute."""
    market_buy = sum(o.qty for o in book.waiting.values() if o.origin.side is Side.BUY)
    market_sell = sum(o.qty for o in book.waiting.values() if o.origin.side is Side.SELL)
    bids = _level_totals(book.bids)
    asks = _level_totals(book.asks)
    prices = sorted(set(bids) | set(asks))
    if not prices:
        if reference is None or not market_buy or not market_sell:
            return NOTHING
        volume = min(market_buy, market_sell)
        surplus = market_buy - market_sell
        return _result(reference, volume, surplus)
    # Buy volume at p: market buys + bids priced >= p; sell volume: market sells + asks <= p.
    buy_at: dict[int, int] = {}
    running = market_buy
    for p in reversed(prices):
        running += bids.get(p, 0)
        buy_at[p] = running
    sell_at: dict[int, int] = {}
    running = market_sell
    for p in prices:
        running += asks.get(p, 0)
        sell_at[p] = running
    candidates: list[tuple[int, int, int]] = []  # (price, buy volume, sell volume)
    for i, p in enumerate(prices):
        candidates.append((p, buy_at[p], sell_at[p]))
        if i + 1 < len(prices) and prices[i + 1] - p >= 2:
            low, high = p + 1, prices[i + 1] - 1
            q = low if reference is None else min(max(reference, low), high)
            candidates.append((q, buy_at[prices[i + 1]], sell_at[p]))

    def rank(c: tuple[int, int, int]) -> tuple[int, int, int, int]:
        p, b, s = c
        distance = 0 if reference is None else abs(p - reference)
        return (-min(b, s), abs(b - s), distance, p)

    price, buy, sell = min(candidates, key=rank)
    volume = min(buy, sell)
    if not volume:
        return NOTHING
    return _result(price, volume, buy - sell)


def _result(price: int, volume: int, surplus: int) -> IndicativeUncross:
    if surplus > 0:
        return IndicativeUncross(price, volume, Side.BUY, surplus)
    if surplus < 0:
        return IndicativeUncross(price, volume, Side.SELL, -surplus)
    return IndicativeUncross(price, volume, None, 0)


class AuctionQueue:
    """One side's orders that execute at the uncross price, in allocation order (V-AUC-3).

    Market orders first (seq order), then limit orders best price first, queue
    order within a price. ``head`` is the order to allocate next; the engine
    trades it, and calls ``done`` once its quantity (an iceberg: its slice) is
    used up, or ``requeue`` when an iceberg's refreshed slice went to the back
    of its level, where this queue meets it again.
    """

    __slots__ = ("_keys", "_level", "_markets", "_own")

    def __init__(self, book: OrderBook, side: Side, price: int) -> None:
        self._markets = deque(o for o in book.waiting.values() if o.origin.side is side)
        own = book.bids if side is Side.BUY else book.asks
        self._own = own
        limit_key = own.sign * price
        self._keys = deque(k for k in reversed(own.keys) if k >= limit_key)
        self._level: deque[RestingOrder] = deque()

    def head(self) -> RestingOrder | None:
        if self._markets:
            return self._markets[0]
        while not self._level:
            if not self._keys:
                return None
            self._level = deque(self._own.levels[self._keys.popleft()].values())
        return self._level[0]

    def done(self) -> None:
        """The head is used up: step past it."""
        if self._markets:
            self._markets.popleft()
        else:
            self._level.popleft()

    def requeue(self) -> None:
        """The head (an iceberg) shows a new slice at the back of its level."""
        self._level.append(self._level.popleft())
