"""Generated venue streams (VENUE_RULES.md) for the model-based and snapshot tests.

Two symbols, three accounts, prices in a five-tick band so that orders cross, every
order type and time in force, icebergs, post-only, STP modes, cancels and replaces
of live ids (held stops and waiting market orders included), mass cancels, phase
transitions among all phases, Clock inputs and rising timestamps, and a trickle of
invalid values.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

from ringmatch.engine.schema.commands import (
    Cancel,
    Clock,
    MassCancel,
    NewOrder,
    Replace,
    SetPhase,
)
from ringmatch.engine.schema.enums import (
    CancelReason,
    OrderType,
    Side,
    StpMode,
    TimeInForce,
    TradingPhase,
)
from tests.engine.strategies import Chooser, HypothesisChooser, RandomChooser
from tests.engine.venue_model import VenueModel

SYMBOLS = ("AAA", "BBB")
ACCOUNTS = ("acct-1", "acct-2", "acct-3")
PRICES = (98, 99, 100, 101, 102)
REFERENCE_PRICES = {"AAA": 100}  # BBB has none until it trades (V-AUC-2)
PHASES = tuple(TradingPhase)
UNKNOWN_PHASE = "LUNCH_BREAK"  # no member of TradingPhase
MASS_CANCEL_REASONS = (CancelReason.MASS_CANCEL, CancelReason.DISCONNECT, CancelReason.KILL_SWITCH)

VenueCommand = NewOrder | Cancel | Replace | MassCancel | SetPhase | Clock
"""Any input of a venue stream."""


class VenueStreamGenerator:
    """One plausible venue command at a time, steered by a scout model (no oracle here)."""

    def __init__(self, choose: Chooser, phase_percent: int = 10) -> None:
        self._c = choose
        # How often a command moves a phase; above the default, the moves are
        # mostly into call phases, so that call books build up and uncross.
        self._phase_percent = phase_percent
        self._scout = VenueModel(REFERENCE_PRICES)
        self._next_id = 1
        self._ids: list[int] = []
        self._owner: dict[int, str] = {}
        self._ts = 0

    def command(self) -> VenueCommand:
        cmd = self._command()
        self._scout.process(cmd)
        return cmd

    # ----------------------------------------------------------------- mix
    def _command(self) -> VenueCommand:
        roll = self._c.integer(0, 99)
        if roll < 52 or not self._ids:
            return self._new()
        if roll < 62:
            order_id, account = self._target()
            return Cancel(order_id, account, ts_ns=self._tick())
        if roll < 76:
            return self._replace()
        if roll < 79:
            account = self._c.pick(ACCOUNTS)
            symbol = self._c.pick((None, *SYMBOLS))
            return MassCancel(account, symbol, self._c.pick(MASS_CANCEL_REASONS), self._tick())
        if roll < 79 + self._phase_percent:
            symbol = self._c.pick(SYMBOLS)
            phase: Any = self._c.pick(PHASES)
            if self._c.chance(40 if self._phase_percent <= 10 else 15):
                phase = TradingPhase.CONTINUOUS  # most of the time is spent trading
            elif self._c.chance(3):
                phase = UNKNOWN_PHASE
            reference = None
            if self._c.chance(15):  # a configured reference price, now and then a bad one
                reference = self._c.pick((98, 100, 102, 0, -1)) if self._c.chance(10) else 100
                reference = self._c.integer(96, 104) if reference == 100 else reference
            return SetPhase(symbol, phase, self._tick(), reference)
        return Clock(self._tick(big=True))

    def _tick(self, big: bool = False) -> int:
        """Mostly rising time; sometimes none (0) or a step back (V-TIME-2)."""
        c = self._c
        if c.chance(5):
            return 0
        if c.chance(4):
            return max(0, self._ts - c.integer(1, 30))
        self._ts += c.integer(0, 40 if big else 10)
        return self._ts

    def _price(self) -> int:
        return self._c.pick((0, -1)) if self._c.chance(3) else self._c.pick(PRICES)

    def _unwanted_price(self) -> int:
        """A price on an order that takes none (MARKET, STOP), which the engine rejects:
        never 0, which a record cannot tell from no price (layout.NO_PRICE)."""
        return -1 if self._c.chance(3) else self._c.pick(PRICES)

    def _qty(self) -> int:
        return self._c.pick((0, -1)) if self._c.chance(2) else self._c.integer(1, 8)

    def _new_id(self) -> int:
        c = self._c
        if self._ids and c.chance(3):
            return c.pick(self._ids)  # a duplicate
        if c.chance(1):
            return 0
        order_id = self._next_id
        self._next_id += 1
        self._ids.append(order_id)
        return order_id

    # ----------------------------------------------------------------- NEW
    def _new(self) -> NewOrder:
        c = self._c
        order_id = self._new_id()
        account = c.pick(ACCOUNTS)
        self._owner.setdefault(order_id, account)
        symbol = "" if c.chance(1) else c.pick(SYMBOLS)
        side = c.pick((Side.BUY, Side.SELL))
        qty = self._qty()
        roll = c.integer(0, 99)
        price: int | None
        trigger: int | None = None
        display: int | None = None
        if roll < 55:
            kind = OrderType.LIMIT
            price = None if c.chance(2) else self._price()
            tif = c.pick((None, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD))
            if c.chance(15):
                tif = c.pick((TimeInForce.IOC, TimeInForce.FOK))
            if c.chance(22):
                display = c.integer(1, max(1, qty))
                if c.chance(15):
                    display = c.pick((0, qty + 1))
        elif roll < 67:
            kind = OrderType.MARKET
            price = self._unwanted_price() if c.chance(4) else None
            tif = c.pick((None, TimeInForce.IOC)) if not c.chance(5) else c.pick(tuple(TimeInForce))
        else:
            kind = c.pick((OrderType.STOP, OrderType.STOP_LIMIT))
            if kind is OrderType.STOP:
                price = self._unwanted_price() if c.chance(4) else None
                tif = c.pick((None, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD))
                if c.chance(6):
                    tif = c.pick((TimeInForce.IOC, TimeInForce.FOK))
            else:
                price = None if c.chance(2) else self._price()
                tif = c.pick((None, *TimeInForce))
            trigger = self._trigger(symbol, side)
        if kind not in (OrderType.STOP, OrderType.STOP_LIMIT) and c.chance(2):
            trigger = c.pick(PRICES)  # a trigger on an order that takes none
        if kind is not OrderType.LIMIT and c.chance(2):
            display = 1  # an iceberg of a type that cannot be one
        expire_ts: int | None = None
        if tif is TimeInForce.GTD:
            if not c.chance(4):
                expire_ts = max(1, self._ts) + c.integer(-5, 80)
        elif c.chance(2):
            expire_ts = self._ts + 50
        return NewOrder(
            order_id,
            account,
            symbol,
            side,
            kind,
            price,
            qty,
            tif,
            c.chance(12 if kind is OrderType.LIMIT else 2),
            c.pick(tuple(StpMode)) if c.chance(50) else StpMode.NONE,
            self._tick(),
            0,
            trigger,
            display,
            expire_ts,
        )

    def _trigger(self, symbol: str, side: Side) -> int | None:
        """Mostly a trigger a tick or two beyond the last price (so that it is held)."""
        c = self._c
        if c.chance(4):
            return c.pick((None, 0))
        last = self._scout._last.get(symbol)
        if last is None or c.chance(10):
            return c.pick((97, *PRICES, 103))
        step = 0 if c.chance(10) else c.integer(1, 3)  # 0: at the last price, rejected
        return last + step if side is Side.BUY else last - step

    # --------------------------------------------------- CANCEL and REPLACE
    def _live(self) -> list[tuple[int, Any]]:
        out: list[tuple[int, Any]] = []
        for symbol in SYMBOLS:
            out.extend((o.order_id, o) for o in self._scout.l3(symbol))
            out.extend((o.order_id, o) for o in self._scout.held(symbol))
        return out

    def _target(self) -> tuple[int, str]:
        c = self._c
        live = self._live()
        if live and c.chance(75):
            order_id = c.pick(live)[0]
        elif c.chance(10):
            order_id = c.pick((self._next_id + 1000, 0))
        else:
            order_id = c.pick(self._ids)
        owner = self._owner.get(order_id)
        account = c.pick(ACCOUNTS) if owner is None or c.chance(6) else owner
        return order_id, account

    def _replace(self) -> Replace:
        c = self._c
        order_id, account = self._target()
        live = dict(self._live())
        o = live.get(order_id)
        price: int | None = self._price()
        qty = self._qty()
        trigger: int | None = None
        kind = getattr(o, "order_type", OrderType.LIMIT)
        if o is not None and kind in (OrderType.STOP, OrderType.STOP_LIMIT):
            price = o.price if c.chance(50) else price
            if kind is OrderType.STOP:
                price = None if not c.chance(8) else c.pick(PRICES)
            elif c.chance(5):
                price = None
            qty = c.integer(max(1, o.qty - 2), o.qty + 2) if c.chance(60) else qty
            if c.chance(50):
                trigger = self._trigger(o.symbol, o.side) if not c.chance(10) else -1
                if trigger is None:
                    trigger = o.trigger_price
        elif o is not None and kind is OrderType.MARKET:
            price = None
        elif o is not None and c.chance(60):
            price = o.price
            total = o.qty + o.hidden
            qty = c.integer(max(1, total - 3), total + 2)
            bbo = self._scout.bbo(o.symbol)
            opposite = bbo.ask_price if o.side is Side.BUY else bbo.bid_price
            if opposite is not None and c.chance(35):
                price = opposite
        return Replace(order_id, account, price, qty, self._tick(), 0, trigger)


@st.composite
def venue_streams(
    draw: st.DrawFn, max_size: int = 70, phase_percent: int = 10
) -> list[VenueCommand]:
    gen = VenueStreamGenerator(HypothesisChooser(draw), phase_percent)
    n = draw(st.integers(1, max_size))
    return [gen.command() for _ in range(n)]


def random_venue_stream(rng: random.Random, n: int, phase_percent: int = 10) -> list[VenueCommand]:
    gen = VenueStreamGenerator(RandomChooser(rng), phase_percent)
    return [gen.command() for _ in range(n)]
