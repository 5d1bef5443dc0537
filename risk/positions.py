"""Positions, average open price and realised P&L per account and symbol, from trades.

Average-cost accounting, exact (``Fraction``: prices are integer ticks, but an
average of them is not): a fill on the side of the position (or from flat)
adds its ``price x qty`` to the open cost; a fill against it realises
``qty x (price - average)`` (reversed for a short) on the quantity it closes,
and any excess opens a new position at the fill's price. A trade between two
orders of the same account changes neither its position nor its P&L.

Everything here is in ticks (prices) and ticks x lots (P&L). ``in_price``
turns such a value into a decimal in the symbol's currency, multiplying by its
``tick_size`` exactly and rounding half-even only at the end, for display.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from ringmatch.engine.schema.enums import Side
from ringmatch.engine.schema.events import Trade

BUY = Side.BUY


class Position:
    __slots__ = ("cost", "qty", "realised")

    def __init__(self) -> None:
        self.qty = 0  # signed: long > 0, short < 0
        self.cost = Fraction(0)  # open cost of |qty|: average open price x |qty|
        self.realised = Fraction(0)

    @property
    def avg_price(self) -> Fraction | None:
        return None if self.qty == 0 else self.cost / abs(self.qty)

    def fill(self, buy: bool, price: int, qty: int) -> None:
        held = self.qty
        if held == 0 or (held > 0) == buy:
            self.cost += price * qty
            self.qty = held + qty if buy else held - qty
            return
        closing = min(qty, abs(held))
        avg = self.cost / abs(held)
        per_lot = price - avg if held > 0 else avg - price
        self.realised += closing * per_lot
        self.cost -= avg * closing
        held = held + closing if buy else held - closing
        rest = qty - closing
        if rest:  # the fill went through flat: the rest opens at its price
            self.cost = Fraction(price * rest)
            held = rest if buy else -rest
        self.qty = held

    def unrealised(self, mark: int) -> Fraction:
        """P&L of the open quantity marked at ``mark``."""
        if self.qty == 0:
            return Fraction(0)
        return self.qty * mark - (self.cost if self.qty > 0 else -self.cost)


def tick_places(tick: Decimal) -> int:
    """Decimal places of a tick size: 2 for 0.01, 1 for 0.5, 0 for 1 or 5."""
    exponent = tick.normalize().as_tuple().exponent
    assert isinstance(exponent, int), f"tick size {tick} is not finite"
    return max(0, -exponent)


def in_price(ticks: Fraction | int, tick: Decimal, places: int) -> Decimal:
    """``ticks`` x ``tick`` (exact), rounded half-even to ``places`` decimals."""
    exact = Fraction(ticks) * Fraction(tick)
    return Decimal(round(exact * 10**places)).scaleb(-places)


class PositionBook:
    """Every account's positions; ``on_trade`` returns the accounts it changed."""

    __slots__ = ("last", "positions")

    def __init__(self) -> None:
        self.positions: dict[str, dict[str, Position]] = {}
        self.last: dict[str, int] = {}  # symbol -> last trade price

    def get(self, account: str, symbol: str) -> Position:
        mine = self.positions.setdefault(account, {})
        pos = mine.get(symbol)
        if pos is None:
            pos = mine[symbol] = Position()
        return pos

    def on_trade(self, t: Trade) -> tuple[str, ...]:
        self.last[t.symbol] = t.price
        if t.maker_account == t.taker_account:
            return ()
        taker_buys = t.taker_side is BUY
        self.get(t.taker_account, t.symbol).fill(taker_buys, t.price, t.qty)
        self.get(t.maker_account, t.symbol).fill(not taker_buys, t.price, t.qty)
        return (t.maker_account, t.taker_account)

    def pnl(self, account: str) -> Fraction:
        """Realised plus unrealised (marked at each symbol's last trade) P&L of ``account``."""
        total = Fraction(0)
        for symbol, pos in self.positions.get(account, {}).items():
            total += pos.realised
            if pos.qty:
                total += pos.unrealised(self.last[symbol])
        return total

    def holders(self, symbol: str) -> list[str]:
        """Accounts with an open position in ``symbol``, sorted."""
        return sorted(
            a for a, mine in self.positions.items() if (p := mine.get(symbol)) and p.qty != 0
        )
