"""Random command streams for the model-based tests, from hypothesis or a seeded Random.

One generator, two sources of choices: ``command_streams()`` draws through
hypothesis (so failures shrink and print), ``random_stream(rng, n)`` through a
``random.Random`` (for long seeded runs). The mix is tuned so books cross often:
few symbols, few accounts, prices in a five-tick band, small quantities, every
order type, time in force, post-only flag and STP mode, and a steady trickle of
invalid fields, duplicate ids and cancels/replaces of live, dead, unknown and
other accounts' orders.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Protocol, TypeVar

import msgspec
from hypothesis import strategies as st

from ringmatch.engine.schema.commands import Cancel, Command, MassCancel, NewOrder, Replace
from ringmatch.engine.schema.enums import CancelReason, OrderType, Side, StpMode, TimeInForce
from ringmatch.engine.schema.views import BookOrder
from tests.engine.reference_book import ReferenceBook

SYMBOLS = ("AAA", "BBB")
ACCOUNTS = ("acct-1", "acct-2", "acct-3")
PRICES = (99, 100, 101, 102)
BAD_PRICES = (0, -1)
BAD_QTYS = (0, -1)
TIFS = (None, TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK)
STP_MODES = tuple(StpMode)
MASS_CANCEL_REASONS = (CancelReason.MASS_CANCEL, CancelReason.DISCONNECT, CancelReason.KILL_SWITCH)

T = TypeVar("T")


class Chooser(Protocol):
    """Where the generator's random choices come from."""

    def integer(self, lo: int, hi: int) -> int: ...

    def pick(self, options: Sequence[T]) -> T: ...

    def chance(self, percent: int) -> bool: ...


class RandomChooser:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self._rng.randint(lo, hi)

    def pick(self, options: Sequence[T]) -> T:
        return options[self._rng.randrange(len(options))]

    def chance(self, percent: int) -> bool:
        return self._rng.randrange(100) < percent


class HypothesisChooser:
    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self._draw(st.integers(lo, hi))

    def pick(self, options: Sequence[T]) -> T:
        return self._draw(st.sampled_from(options))

    def chance(self, percent: int) -> bool:
        # Shrinks towards False: the rare branch disappears from minimal examples.
        return self._draw(st.integers(0, 99)) >= 100 - percent


class StreamGenerator:
    """Builds one plausible command at a time.

    It runs what it builds through a scout reference model so that cancels and
    replaces can aim at orders that really rest (most of them would otherwise
    hit long-dead ids); the scout only steers the mix, it is no oracle here.
    """

    def __init__(self, choose: Chooser) -> None:
        self._c = choose
        self._scout = ReferenceBook()
        self._next_id = 1
        self._owner: dict[int, str] = {}  # id -> account of the first NEW with it
        self._ids: list[int] = []  # in the order they were handed out

    def command(self) -> Command:
        cmd = self._command()
        self._scout.process(cmd)
        return cmd

    def _command(self) -> Command:
        roll = self._c.integer(0, 9)
        if roll < 6 or not self._ids:
            return self._new()
        if roll < 8:
            order_id, account, _ = self._target()
            if self._c.chance(5):
                symbol = self._c.pick((None, *SYMBOLS))
                reason = self._c.pick(MASS_CANCEL_REASONS)
                return MassCancel(account, symbol, reason, ts_ns=self._ts())
            client_id = self._client_id() if order_id > 0 else 0
            return Cancel(order_id, account, ts_ns=self._ts(), client_order_id=client_id)
        return self._replace()

    def _client_id(self) -> int:
        # Carried, never interpreted by the engine: echoed in Accepted and Rejected.
        return self._c.integer(1, 9) if self._c.chance(20) else 0

    def _new(self) -> NewOrder:
        c = self._c
        order_id = self._new_id()
        account = c.pick(ACCOUNTS)
        self._owner.setdefault(order_id, account)
        symbol = "" if c.chance(2) else c.pick(SYMBOLS)
        side = c.pick((Side.BUY, Side.SELL))
        if c.chance(12):
            order_type = OrderType.MARKET
            price = self._price() if c.chance(5) else None
            tif = c.pick(TIFS) if c.chance(10) else c.pick((None, TimeInForce.IOC))
        else:
            order_type = OrderType.LIMIT
            price = None if c.chance(2) else self._price()
            tif = c.pick(TIFS) if c.chance(35) else c.pick((None, TimeInForce.GTC))
        post_only = c.chance(12)
        stp = c.pick(STP_MODES) if c.chance(60) else StpMode.NONE
        return NewOrder(
            order_id,
            account,
            symbol,
            side,
            order_type,
            price,
            self._qty(),
            tif,
            post_only,
            stp,
            self._ts(),
            # order_id 0 with a client id is how a gateway asks the core for an id;
            # raw streams leave that to the core's own tests.
            self._client_id() if order_id > 0 else 0,
        )

    def _new_id(self) -> int:
        c = self._c
        if self._ids and c.chance(4):
            return c.pick(self._ids)  # a duplicate
        if c.chance(2):
            return c.pick((0, -1))
        order_id = self._next_id
        self._next_id += 1
        self._ids.append(order_id)
        return order_id

    def _replace(self) -> Replace:
        c = self._c
        order_id, account, resting = self._target()
        price, qty = self._price(), self._qty()
        if resting is not None and c.chance(60):
            # Same price: keep priority (same or smaller qty) or lose it (larger).
            price = resting.price
            qty = c.integer(max(1, resting.qty - 3), resting.qty + 2)
            bbo = self._scout.bbo(resting.symbol)
            opposite = bbo.ask_price if resting.side is Side.BUY else bbo.bid_price
            if opposite is not None and c.chance(35):
                price = opposite  # crosses: trades, or is refused if post-only
        client_id = self._client_id() if order_id > 0 else 0
        return Replace(order_id, account, price, qty, ts_ns=self._ts(), client_order_id=client_id)

    def _target(self) -> tuple[int, str, BookOrder | None]:
        """An id for a CANCEL or REPLACE, its owner mostly, and what rests of it."""
        c = self._c
        live = [o for symbol in SYMBOLS for o in self._scout.l3(symbol)]
        if live and c.chance(70):
            resting = c.pick(live)
            order_id = resting.order_id
        elif c.chance(10):
            order_id = c.pick((self._next_id + 1000, 0, -1))  # never used
        else:
            order_id = c.pick(self._ids)  # any: often no longer resting
        owner = self._owner.get(order_id)
        account = c.pick(ACCOUNTS) if owner is None or c.chance(8) else owner
        return order_id, account, self._scout.order(order_id)

    def _price(self) -> int:
        return self._c.pick(BAD_PRICES) if self._c.chance(3) else self._c.pick(PRICES)

    def _qty(self) -> int:
        return self._c.pick(BAD_QTYS) if self._c.chance(3) else self._c.integer(1, 10)

    def _ts(self) -> int:
        # Arbitrary and unordered: timestamps must never affect matching.
        return self._c.integer(0, 2**40)


@st.composite
def command_streams(draw: st.DrawFn, max_size: int = 80) -> list[Command]:
    gen = StreamGenerator(HypothesisChooser(draw))
    n = draw(st.integers(1, max_size))
    return [gen.command() for _ in range(n)]


def random_stream(rng: random.Random, n: int) -> list[Command]:
    gen = StreamGenerator(RandomChooser(rng))
    return [gen.command() for _ in range(n)]


NEVER_USED_ID = 2**62
"""Stands in for a negative order id in a stream the journal holds (``journalable``)."""


def journalable(cmds: list[Command]) -> list[Command]:
    """The stream as the journal can hold it: its records carry u64 ids, so the negative
    ids the generator aims at the engine (no gateway sends one) become an id never used;
    and a record's price 0 is a limit order's price 0 and a market order's no price."""
    out: list[Command] = []
    for c in cmds:
        if not isinstance(c, MassCancel) and c.order_id < 0:
            c = msgspec.structs.replace(c, order_id=NEVER_USED_ID)
        if isinstance(c, NewOrder):
            if c.price is None and c.order_type is OrderType.LIMIT:
                c = msgspec.structs.replace(c, price=0)
            elif c.price == 0 and c.order_type is OrderType.MARKET:
                c = msgspec.structs.replace(c, price=None)
        out.append(c)
    return out
