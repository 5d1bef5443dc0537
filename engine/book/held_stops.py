"""A book's held stops: in release order, and by trigger per side.

VENUE_RULES.md V-STOP-3 releases the stops one input's prints trigger in the
order they were accepted (a replace that moves one puts it at the back). A dict
keeps that order; finding the triggered ones by walking it costs every held stop
on every input that prints. Here each side also keeps its stops sorted by
trigger, so the BUY stops a print range triggers (trigger <= its high) are a
prefix of one list and the SELL stops (trigger >= its low) a suffix of the
other, found by bisection; each entry carries the stop's rank in release order,
which sorts what fired.

>>> from ringmatch.engine.book.book import RestingOrder
>>> from ringmatch.engine.schema.commands import NewOrder
>>> from ringmatch.engine.schema.enums import OrderType, Side
>>> def stop(oid, side, trigger):
...     c = NewOrder(oid, "a", "X", side, OrderType.STOP, None, 1, trigger_price=trigger)
...     return RestingOrder(1, 0, "a", c, trigger=trigger)
>>> held = HeldStops()
>>> for oid, side, trigger in [(1, Side.BUY, 105), (2, Side.SELL, 95), (3, Side.BUY, 101)]:
...     held[oid] = stop(oid, side, trigger)
>>> [o.origin.order_id for o in held.fired(low=99, high=103)]  # a print at 99..103
[3]
>>> [o.origin.order_id for o in held.fired(low=90, high=110)]  # in release order
[1, 2, 3]
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from typing import TYPE_CHECKING

from ringmatch.engine.schema.enums import Side

if TYPE_CHECKING:
    from ringmatch.engine.book.book import RestingOrder

_Key = tuple[int, int, int]  # trigger, rank in release order, order id
_LAST = 1 << 62  # above every rank


def _rank(key: _Key) -> int:
    return key[1]


class HeldStops(dict[int, "RestingOrder"]):
    """order id -> held stop, a dict in release order, with a trigger index per side.

    A dict itself, so that ``in``, ``len``, ``bool`` and ``values()`` cost what a dict's
    do on the paths every command takes; only ``[oid] = order`` and ``del`` are its
    own (no other way of changing it is used).
    """

    __slots__ = ("_buy", "_keys", "_rank", "_sell")

    def __init__(self) -> None:
        super().__init__()
        self._keys: dict[int, _Key] = {}
        self._buy: list[_Key] = []  # ascending trigger
        self._sell: list[_Key] = []
        self._rank = 0

    def __setitem__(self, oid: int, order: RestingOrder) -> None:
        """Hold ``order`` (its ``trigger`` set) at the back of the release order."""
        if oid in self:
            del self[oid]
        super().__setitem__(oid, order)
        self._rank += 1
        key = self._keys[oid] = (order.trigger, self._rank, oid)
        insort(self._buy if order.origin.side is Side.BUY else self._sell, key)

    def __delitem__(self, oid: int) -> None:
        order = self[oid]
        super().__delitem__(oid)
        key = self._keys.pop(oid)
        side = self._buy if order.origin.side is Side.BUY else self._sell
        del side[bisect_left(side, key)]

    def fired(self, low: int, high: int) -> list[RestingOrder]:
        """The stops prints from ``low`` to ``high`` trigger (a BUY's trigger <= high, a
        SELL's >= low), in release order; they stay held until deleted."""
        buy, sell = self._buy, self._sell
        # Most prints trigger nothing: the lowest BUY trigger and the highest SELL one say so.
        b = bisect_right(buy, (high, _LAST, 0)) if buy and buy[0][0] <= high else 0
        s = bisect_left(sell, (low, 0, 0)) if sell and sell[-1][0] >= low else len(sell)
        if not b and s == len(sell):
            return []
        keys = buy[:b] + sell[s:]
        if len(keys) > 1:
            keys.sort(key=_rank)
        return [self[k[2]] for k in keys]
