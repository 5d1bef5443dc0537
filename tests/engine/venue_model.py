"""A naive reference model of the venue: stops, icebergs, expiry, sessions, auctions.

Written from ../shared/VENUE_RULES.md and docs/EVENTS.md ("The venue's order types
and sessions") alone, never from the engine's code, on top of the plain reference
book (tests/engine/reference_book.py), whose matching walk it reuses. Clarity over
speed: every live order sits in one of three plain lists (resting on the book, held
stops, market orders waiting in a call book), priorities are recomputed by sorting
on each look, and every order carries the stamps its orderings need:

- ``arrival``: its place in its price level's queue (a refresh takes a new one);
- ``live``: when it (last) became live, for mass cancels (a replace that loses
  priority and a release take a new one, a refresh does not);
- ``release``: a held stop's place in the release order (acceptance, or the last
  replace that moved it to the back);
- ``new_seq``: the seq of its NEW (expiry, DAY and AUCTION_UNFILLED order).

Stops triggered by a print leave the held set at that print (into ``_triggered``)
and are released, round by round, once the input's own matching is complete.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    CommandKind,
    OrderType,
    RejectReason,
    Side,
    StpMode,
    TimeInForce,
    TradingPhase,
)
from ringmatch.engine.schema.events import (
    Accepted,
    AuctionTrade,
    Event,
    Indicative,
    MassCancelled,
    PhaseChanged,
    Refreshed,
    Rejected,
    Replaced,
    Trade,
    Triggered,
)
from ringmatch.engine.schema.views import BookOrder, HeldOrder, IndicativeUncross
from tests.engine.reference_book import ReferenceBook, _crosses, _Order

CALL_PHASES = frozenset(
    (
        TradingPhase.PRE_OPEN,
        TradingPhase.OPENING_AUCTION,
        TradingPhase.CLOSING_AUCTION,
        TradingPhase.HALTED,
    )
)
RESTING_TIFS = (TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD)
STOP_TYPES = (OrderType.STOP, OrderType.STOP_LIMIT)
NOTHING = IndicativeUncross(None, 0, None, 0)
EQUAL_DISPLAY_IS_PLAIN = False
"""Decided (docs/ORDER_TYPES.md): an order whose display_qty equals its qty shows all
of it, but keeps its display_qty (V-ICE-5: it cannot be replaced), so a replace to a
larger qty shows display_qty of it. True would read V-ICE-1's "equal to qty is a plain
order" as dropping display_qty altogether."""
POST_ONLY_CHECK_WHEN_KEPT = False
"""Decided (docs/EVENTS.md, REPLACE): only a replace that loses its place (re-enters as
if it had just arrived) is checked for a post-only cross; a cut at the same price,
which can make nothing cross, is not (the two differ only in a call phase, whose book
may be crossed). True would check it first, whatever the priority."""
_FORCE = object()  # "last published" right after entering a call phase: anything differs


@dataclass
class _VOrder(_Order):
    """A live order of the venue. ``qty`` is always the whole order's leaves."""

    trigger_price: int | None = None
    display: int | None = None  # an iceberg's display_qty; None: a plain order
    slice: int = 0  # an iceberg's shown quantity while it rests
    expire_ts: int | None = None
    new_seq: int = 0
    live: int = 0
    release: int = 0

    @property
    def shown(self) -> int:
        return self.qty if self.display is None else self.slice


def _triggers(stop: _VOrder, price: int) -> bool:
    """Does a print at ``price`` trigger the held stop (V-STOP-2)?"""
    assert stop.trigger_price is not None
    if stop.side is Side.BUY:
        return price >= stop.trigger_price
    return price <= stop.trigger_price


def _through(side: Side, trigger: int, last: int | None) -> bool:
    """Is a trigger already through the last price (V-STOP-4)?"""
    if last is None:
        return False
    return trigger <= last if side is Side.BUY else trigger >= last


class VenueModel(ReferenceBook):
    """The venue's whole contract, one linear scan at a time."""

    def __init__(self, reference_prices: dict[str, int] | None = None) -> None:
        super().__init__()
        self._resting: list[_VOrder] = []  # type: ignore[assignment]
        self._held: list[_VOrder] = []
        self._waiting: list[_VOrder] = []
        self._triggered: list[_VOrder] = []  # left the held set, not yet released
        self._phases: dict[str, TradingPhase] = {}
        self._published: dict[str, object] = {}  # symbol in a call phase -> last Indicative
        self._last: dict[str, int] = {}  # last trade price per symbol
        self._references: dict[str, int] = dict(reference_prices or {})
        self._stamps = 0
        self._now = 0
        self._touched: list[str] = []

    def set_reference_price(self, symbol: str, price: int) -> None:
        self._references[symbol] = price

    # ----------------------------------------------------------------- input
    def process(self, cmd, seq: int | None = None) -> list[Event]:  # type: ignore[override]
        if seq is None:
            seq = self.last_seq + 1
        elif seq <= self.last_seq:
            raise ValueError(f"seq {seq} is not after the last seq {self.last_seq}")
        self.last_seq = seq
        events: list[Event] = []
        if cmd.ts_ns > self._now:  # V-TIME-2: never backwards
            self._now = cmd.ts_ns
            self._expire(seq, events)
        self._touched = []
        if isinstance(cmd, NewOrder):
            self._new(cmd, seq, events)
        elif isinstance(cmd, Cancel):
            self._cancel(cmd, seq, events)
        elif isinstance(cmd, Replace):
            self._replace(cmd, seq, events)
        elif isinstance(cmd, MassCancel):
            self._mass_cancel(cmd, seq, events)
        elif isinstance(cmd, SetPhase):
            self._set_phase(cmd, seq, events)
        elif isinstance(cmd, Clock):
            pass  # only the expiries above
        else:
            raise TypeError(f"not a command: {cmd!r}")
        self._cascade(seq, events)
        self._publish(seq, events, self._touched)
        return events

    # ----------------------------------------------------------------- views
    @property
    def now(self) -> int:
        return self._now

    def phase(self, symbol: str) -> TradingPhase:
        return self._phases.get(symbol, TradingPhase.CONTINUOUS)

    def indicative(self, symbol: str) -> IndicativeUncross | None:
        if self.phase(symbol) not in CALL_PHASES:
            return None
        last = self._published.get(symbol)
        return last if isinstance(last, IndicativeUncross) else None

    def held(self, symbol: str) -> list[HeldOrder]:
        stops = sorted((o for o in self._held if o.symbol == symbol), key=lambda o: o.release)
        markets = sorted((o for o in self._waiting if o.symbol == symbol), key=lambda o: o.new_seq)
        return [
            HeldOrder(
                o.symbol,
                o.side,
                o.order_type,
                o.trigger_price,
                o.price,
                o.order_id,
                o.account,
                o.qty,
            )
            for o in (*stops, *markets)
        ]

    def l3(self, symbol: str) -> list[BookOrder]:
        return [
            BookOrder(o.symbol, o.side, o.price, o.order_id, o.account, o.shown, o.qty - o.shown)
            for side in (Side.BUY, Side.SELL)
            for o in self._queue(symbol, side)
            if o.price is not None
        ]

    def order(self, order_id: int) -> BookOrder | None:
        for o in self._resting:
            if o.order_id == order_id:
                assert o.price is not None
                return BookOrder(
                    o.symbol, o.side, o.price, o.order_id, o.account, o.shown, o.qty - o.shown
                )
        return None

    def _levels(self, symbol: str, side: Side) -> list[tuple[int, int]]:
        """Only the displayed quantity is in depth (V-ICE-2)."""
        levels: list[tuple[int, int]] = []
        for o in self._queue(symbol, side):
            assert o.price is not None
            if levels and levels[-1][0] == o.price:
                levels[-1] = (o.price, levels[-1][1] + o.shown)
            else:
                levels.append((o.price, o.shown))
        return levels

    # --------------------------------------------------------------- helpers
    def _stamp(self) -> int:
        self._stamps += 1
        return self._stamps

    def _touch(self, symbol: str) -> None:
        if symbol not in self._touched:
            self._touched.append(symbol)

    def _live_orders(self) -> list[_VOrder]:
        return [*self._resting, *self._held, *self._waiting]

    def _find(self, order_id: int) -> _VOrder | None:  # type: ignore[override]
        for o in self._live_orders():
            if o.order_id == order_id:
                return o
        return None

    def _remove(self, o: _VOrder) -> None:
        for pool in (self._resting, self._held, self._waiting):
            if o in pool:
                pool.remove(o)
                return
        raise AssertionError(f"not live: {o!r}")

    def _rest(self, order: _VOrder) -> None:  # type: ignore[override]
        """Put the order at the back of its price level, showing its first slice."""
        order.arrival = self._stamp()
        order.live = self._stamp()
        if order.display is not None:
            order.slice = min(order.display, order.qty)
        self._resting.append(order)

    def _refresh(self, o: _VOrder, seq: int, events: list[Event]) -> None:
        """A new slice at the back of its level (V-ICE-2), if the slice is gone."""
        if o.display is None or o.slice > 0 or o.qty == 0:
            return
        assert o.price is not None
        o.slice = min(o.display, o.qty)
        o.arrival = self._stamp()
        events.append(
            Refreshed(seq, o.order_id, o.account, o.symbol, o.side, o.price, o.slice, o.qty)
        )

    def _print(self, symbol: str, price: int) -> None:
        """A trade printed: the last price moves, held stops it triggers leave the held set."""
        self._last[symbol] = price
        for stop in list(self._held):
            if stop.symbol == symbol and _triggers(stop, price):
                self._held.remove(stop)
                self._triggered.append(stop)

    def _reference(self, symbol: str) -> int | None:
        return self._last.get(symbol, self._references.get(symbol))

    # ------------------------------------------------------------- expiries
    def _expire(self, seq: int, events: list[Event]) -> None:
        """V-TIME-3: every GTD order or stop due, in (expire_ts, seq of its NEW) order."""
        due = sorted(
            (
                o
                for o in self._live_orders()
                if o.tif is TimeInForce.GTD and o.expire_ts is not None and o.expire_ts <= self._now
            ),
            key=lambda o: (o.expire_ts, o.new_seq),
        )
        touched: list[str] = []
        for o in due:
            self._remove(o)
            events.append(self._cancelled(seq, o, o.qty, CancelReason.EXPIRED))
            if o.symbol not in touched:
                touched.append(o.symbol)
        self._publish(seq, events, touched)

    # ------------------------------------------------------------ indicative
    def _indicative_now(self, symbol: str) -> tuple[IndicativeUncross, int, int]:
        """The uncross (V-AUC-1) and its buy and sell volumes at its price."""
        limits = [o for o in self._resting if o.symbol == symbol]
        markets = [o for o in self._waiting if o.symbol == symbol]
        ref = self._reference(symbol)
        if limits:
            prices = [o.price for o in limits if o.price is not None]
            candidates = list(range(min(prices), max(prices) + 1))
        elif markets and ref is not None:
            candidates = [ref]
        else:
            candidates = []
        best: tuple[tuple[int, int, int, int], int, int, int] | None = None
        for p in candidates:
            buy = sum(o.qty for o in markets if o.side is Side.BUY) + sum(
                o.qty for o in limits if o.side is Side.BUY and o.price is not None and o.price >= p
            )
            sell = sum(o.qty for o in markets if o.side is Side.SELL) + sum(
                o.qty
                for o in limits
                if o.side is Side.SELL and o.price is not None and o.price <= p
            )
            executable = min(buy, sell)
            key = (-executable, abs(buy - sell), 0 if ref is None else abs(p - ref), p)
            if best is None or key < best[0]:
                best = (key, p, buy, sell)
        if best is None or best[0][0] == 0:
            return NOTHING, 0, 0
        _, p, buy, sell = best
        side = Side.BUY if buy > sell else Side.SELL if sell > buy else None
        return IndicativeUncross(p, min(buy, sell), side, abs(buy - sell)), buy, sell

    def _publish(self, seq: int, events: list[Event], symbols: list[str]) -> None:
        """V-AUC-4: an Indicative for each call-phase symbol whose uncross changed."""
        for symbol in symbols:
            if self.phase(symbol) not in CALL_PHASES:
                continue
            ind, _, _ = self._indicative_now(symbol)
            if self._published.get(symbol, _FORCE) != ind:
                self._published[symbol] = ind
                events.append(
                    Indicative(
                        seq, symbol, ind.price, ind.volume, ind.imbalance_side, ind.imbalance_qty
                    )
                )

    # ------------------------------------------------------------------- NEW
    def _new(self, cmd: NewOrder, seq: int, events: list[Event]) -> None:  # type: ignore[override]
        reason = self._new_reject_reason(cmd)
        if reason is not None:
            events.append(
                Rejected(
                    seq, CommandKind.NEW, cmd.order_id, cmd.account, reason, cmd.client_order_id
                )
            )
            return
        kind = cmd.order_type
        tif = cmd.tif or (TimeInForce.IOC if kind is OrderType.MARKET else TimeInForce.GTC)
        display = cmd.display_qty
        if EQUAL_DISPLAY_IS_PLAIN and display is not None and display >= cmd.qty:
            display = None  # equal to qty: a plain order (V-ICE-1)
        order = _VOrder(
            cmd.order_id,
            cmd.account,
            cmd.symbol,
            cmd.side,
            kind,
            cmd.price,
            cmd.qty,
            tif,
            cmd.post_only,
            cmd.stp,
            trigger_price=cmd.trigger_price,
            display=display,
            expire_ts=cmd.expire_ts,
            new_seq=seq,
        )
        self._symbols.add(cmd.symbol)
        self._touch(cmd.symbol)
        events.append(
            Accepted(
                seq,
                order.order_id,
                order.account,
                order.symbol,
                order.side,
                kind,
                tif,
                order.price,
                order.qty,
                cmd.client_order_id,
                cmd.trigger_price,
                cmd.display_qty,
                cmd.expire_ts,
            )
        )
        if kind in STOP_TYPES:
            order.release = self._stamp()
            order.live = self._stamp()
            self._held.append(order)
            return
        self._arrive(order, seq, events)

    def _arrive(self, order: _VOrder, seq: int, events: list[Event]) -> None:
        """A limit or market order after its Accepted (or its Triggered)."""
        if order.post_only and self._would_cross(order):
            events.append(self._cancelled(seq, order, order.qty, CancelReason.POST_ONLY))
            return
        if self.phase(order.symbol) in CALL_PHASES:
            if order.order_type is OrderType.MARKET:
                order.live = self._stamp()
                self._waiting.append(order)
            else:
                self._rest(order)
            return
        if order.tif is TimeInForce.FOK and not self._fok_would_fill(order, seq):
            events.append(self._cancelled(seq, order, order.qty, CancelReason.KILLED_FOK))
            return
        self._enter(order, seq, events)

    def _new_reject_reason(self, cmd: NewOrder) -> RejectReason | None:  # type: ignore[override]
        if cmd.order_id <= 0:
            return RejectReason.INVALID_ORDER_ID
        if cmd.order_id in self._used_ids:
            return RejectReason.DUPLICATE_ORDER_ID
        self._used_ids.add(cmd.order_id)  # used up from here on, whatever follows
        if not cmd.symbol:
            return RejectReason.INVALID_SYMBOL
        if cmd.qty <= 0:
            return RejectReason.INVALID_QUANTITY
        kind, tif = cmd.order_type, cmd.tif
        if kind is OrderType.MARKET:
            if cmd.price is not None:
                return RejectReason.MARKET_WITH_PRICE
            if tif not in (None, TimeInForce.IOC):
                return RejectReason.MARKET_NOT_IOC
            if cmd.post_only:
                return RejectReason.POST_ONLY_NOT_GTC_LIMIT
        elif kind is OrderType.LIMIT:
            if cmd.price is None or cmd.price <= 0:
                return RejectReason.INVALID_PRICE
            if cmd.post_only and tif not in (None, *RESTING_TIFS):
                return RejectReason.POST_ONLY_NOT_GTC_LIMIT
        elif kind is OrderType.STOP:
            if cmd.price is not None:
                return RejectReason.MARKET_WITH_PRICE
            if tif in (TimeInForce.IOC, TimeInForce.FOK):
                return RejectReason.STOP_NOT_HELD_TIF
            if cmd.post_only:
                return RejectReason.POST_ONLY_NOT_GTC_LIMIT
        else:
            assert kind is OrderType.STOP_LIMIT
            if cmd.price is None or cmd.price <= 0:
                return RejectReason.INVALID_PRICE
            if cmd.post_only:
                return RejectReason.POST_ONLY_NOT_GTC_LIMIT
        if kind in STOP_TYPES:
            if cmd.trigger_price is None or cmd.trigger_price <= 0:
                return RejectReason.INVALID_TRIGGER_PRICE
        elif cmd.trigger_price is not None:
            return RejectReason.INVALID_TRIGGER_PRICE
        if cmd.display_qty is not None:
            if kind is not OrderType.LIMIT or tif not in (None, *RESTING_TIFS):
                return RejectReason.BAD_DISPLAY_QTY
            if not 1 <= cmd.display_qty <= cmd.qty:
                return RejectReason.BAD_DISPLAY_QTY
        if tif is TimeInForce.GTD:
            if cmd.expire_ts is None or cmd.expire_ts <= 0:
                return RejectReason.INVALID_EXPIRE_TS
            if cmd.expire_ts <= self._now:
                return RejectReason.EXPIRE_TS_PASSED
        elif cmd.expire_ts is not None:
            return RejectReason.INVALID_EXPIRE_TS
        phase = self.phase(cmd.symbol)
        if phase is TradingPhase.CLOSED:
            return RejectReason.MARKET_CLOSED
        if (
            phase in CALL_PHASES
            and kind is OrderType.LIMIT
            and tif in (TimeInForce.IOC, TimeInForce.FOK)
        ):
            return RejectReason.NOT_IN_CALL_PHASE
        if kind in STOP_TYPES:
            assert cmd.trigger_price is not None
            if _through(cmd.side, cmd.trigger_price, self._last.get(cmd.symbol)):
                return RejectReason.STOP_WOULD_TRIGGER
        return None

    def _enter(self, order: _VOrder, seq: int, events: list[Event]) -> None:  # type: ignore[override]
        """Match an incoming order (CONTINUOUS), then rest, or cancel, what is left of it."""
        stopped_by_stp = self._match(order, seq, events)
        if stopped_by_stp or order.qty == 0:
            return
        if order.order_type is OrderType.MARKET:
            events.append(self._cancelled(seq, order, order.qty, CancelReason.MARKET_REMAINDER))
        elif order.tif in RESTING_TIFS:
            self._rest(order)
        else:
            events.append(self._cancelled(seq, order, order.qty, CancelReason.IOC_REMAINDER))

    # -------------------------------------------------------------- matching
    def _trade(self, taker: _VOrder, maker: _VOrder, seq: int, events: list[Event]) -> None:  # type: ignore[override]
        """One trade with the maker's displayed slice; a refresh if the slice is used up."""
        assert maker.price is not None
        qty = min(taker.qty, maker.shown)
        taker.qty -= qty
        maker.qty -= qty
        if maker.display is not None:
            maker.slice -= qty
        self._trade_ids += 1
        events.append(
            Trade(
                seq,
                self._trade_ids,
                taker.symbol,
                maker.price,
                qty,
                maker.order_id,
                taker.order_id,
                maker.account,
                taker.account,
                taker.side,
                maker.qty,
                taker.qty,
            )
        )
        self._print(taker.symbol, maker.price)
        if maker.qty == 0:
            self._resting.remove(maker)
        else:
            self._refresh(maker, seq, events)

    def _self_trade(self, taker: _VOrder, maker: _VOrder, seq: int, events: list[Event]) -> bool:  # type: ignore[override]
        """STP meets the displayed slice only (V-ICE-4); cancels take the whole iceberg."""
        if taker.stp is not StpMode.DECREMENT:
            return super()._self_trade(taker, maker, seq, events)
        d = min(taker.qty, maker.shown)
        maker.qty -= d
        if maker.display is not None:
            maker.slice -= d
        if maker.qty == 0:
            events.append(self._cancelled(seq, maker, d, CancelReason.STP))
            self._resting.remove(maker)
        else:  # it keeps its place, unless its slice is gone
            events.append(self._reduced(seq, maker, d))
            self._refresh(maker, seq, events)
        taker.qty -= d
        if taker.qty == 0:
            events.append(self._cancelled(seq, taker, d, CancelReason.STP))
            return True
        events.append(self._reduced(seq, taker, d))
        return False

    # ------------------------------------------------------------ stop cascade
    def _cascade(self, seq: int, events: list[Event]) -> None:
        """V-STOP-3: release the triggered stops in rounds, each in release order."""
        while self._triggered:
            round_ = sorted(self._triggered, key=lambda o: o.release)
            self._triggered = []
            for stop in round_:
                self._release(stop, seq, events)

    def _release(self, stop: _VOrder, seq: int, events: list[Event]) -> None:
        assert stop.trigger_price is not None
        if stop.order_type is OrderType.STOP:
            stop.order_type, stop.tif, stop.price = OrderType.MARKET, TimeInForce.IOC, None
        else:
            stop.order_type = OrderType.LIMIT
        self._touch(stop.symbol)
        events.append(
            Triggered(
                seq,
                stop.order_id,
                stop.account,
                stop.symbol,
                stop.side,
                stop.trigger_price,
                stop.order_type,
                stop.tif,
                stop.price,
                stop.qty,
            )
        )
        stop.live = self._stamp()
        if self.phase(stop.symbol) is TradingPhase.CLOSED:
            events.append(self._cancelled(seq, stop, stop.qty, CancelReason.MARKET_CLOSED))
            return
        self._arrive(stop, seq, events)

    # ---------------------------------------------------------------- CANCEL
    def _cancel(self, cmd: Cancel, seq: int, events: list[Event]) -> None:  # type: ignore[override]
        order, reason = self._target(cmd.order_id, cmd.account)
        if order is None:
            assert reason is not None
            events.append(
                Rejected(
                    seq, CommandKind.CANCEL, cmd.order_id, cmd.account, reason, cmd.client_order_id
                )
            )
            return
        assert isinstance(order, _VOrder)
        self._remove(order)
        self._touch(order.symbol)
        events.append(self._cancelled(seq, order, order.qty, CancelReason.USER))

    # ----------------------------------------------------------- MASS CANCEL
    def _mass_cancel(self, cmd: MassCancel, seq: int, events: list[Event]) -> None:
        """Every live order of the account (and symbol), in the order they became live."""
        doomed = sorted(
            (
                o
                for o in self._live_orders()
                if o.account == cmd.account and cmd.symbol in (None, o.symbol)
            ),
            key=lambda o: o.live,
        )
        for o in doomed:
            self._remove(o)
            self._touch(o.symbol)
            events.append(self._cancelled(seq, o, o.qty, cmd.reason))
        events.append(MassCancelled(seq, cmd.account, cmd.symbol, len(doomed), cmd.reason))

    # --------------------------------------------------------------- REPLACE
    def _replace(self, cmd: Replace, seq: int, events: list[Event]) -> None:  # type: ignore[override]
        order, reason = self._target(cmd.order_id, cmd.account)
        if order is not None:
            assert isinstance(order, _VOrder)
            reason = self._replace_reject_reason(order, cmd)
        if reason is not None:
            events.append(
                Rejected(
                    seq, CommandKind.REPLACE, cmd.order_id, cmd.account, reason, cmd.client_order_id
                )
            )
            return
        assert isinstance(order, _VOrder)
        self._touch(order.symbol)
        if order in self._held:
            self._replace_stop(order, cmd, seq, events)
            return
        keep = cmd.price == order.price and cmd.qty <= order.qty
        events.append(
            Replaced(
                seq,
                order.order_id,
                order.account,
                order.symbol,
                order.side,
                cmd.price,
                cmd.qty,
                keep,
            )
        )
        if keep:  # a cut comes out of the hidden part first (V-ICE-5)
            order.qty = cmd.qty
            order.slice = min(order.slice, cmd.qty)
            return
        self._resting.remove(order)
        order.price = cmd.price
        order.qty = cmd.qty
        if self.phase(order.symbol) in CALL_PHASES:
            self._rest(order)  # never matches in a call phase
        else:
            self._enter(order, seq, events)

    def _replace_stop(self, stop: _VOrder, cmd: Replace, seq: int, events: list[Event]) -> None:
        trigger = stop.trigger_price if cmd.trigger_price is None else cmd.trigger_price
        keep = trigger == stop.trigger_price and cmd.price == stop.price and cmd.qty <= stop.qty
        events.append(
            Replaced(
                seq,
                stop.order_id,
                stop.account,
                stop.symbol,
                stop.side,
                cmd.price,
                cmd.qty,
                keep,
                trigger,
            )
        )
        stop.trigger_price, stop.price, stop.qty = trigger, cmd.price, cmd.qty
        if not keep:
            stop.release = self._stamp()
            stop.live = self._stamp()

    def _replace_reject_reason(self, order: _VOrder, cmd: Replace) -> RejectReason | None:  # type: ignore[override]
        if self.phase(order.symbol) is TradingPhase.CLOSED:
            return RejectReason.MARKET_CLOSED
        if order in self._waiting:
            return RejectReason.MARKET_NOT_REPLACEABLE
        if order in self._held:
            if order.order_type is OrderType.STOP:
                if cmd.price is not None:
                    return RejectReason.MARKET_WITH_PRICE
            elif cmd.price is None or cmd.price <= 0:
                return RejectReason.INVALID_PRICE
            if cmd.qty <= 0:
                return RejectReason.INVALID_QUANTITY
            if cmd.trigger_price is not None:
                if cmd.trigger_price <= 0:
                    return RejectReason.INVALID_TRIGGER_PRICE
                if _through(order.side, cmd.trigger_price, self._last.get(order.symbol)):
                    return RejectReason.STOP_WOULD_TRIGGER
            return None
        if cmd.price is None or cmd.price <= 0:
            return RejectReason.INVALID_PRICE
        if cmd.qty <= 0:
            return RejectReason.INVALID_QUANTITY
        kept = cmd.price == order.price and cmd.qty <= order.qty
        if order.post_only and (POST_ONLY_CHECK_WHEN_KEPT or not kept):
            best = self._best_opposite(order.symbol, order.side)
            if best is not None:
                assert best.price is not None
                if _crosses(order.side, cmd.price, best.price):
                    return RejectReason.POST_ONLY_WOULD_CROSS
        return None

    # -------------------------------------------------------------- SESSIONS
    def _set_phase(self, cmd: SetPhase, seq: int, events: list[Event]) -> None:
        phase, symbol = cmd.phase, cmd.symbol
        if not isinstance(phase, TradingPhase):
            events.append(Rejected(seq, CommandKind.SET_PHASE, 0, "", RejectReason.UNKNOWN_PHASE))
            return
        # The configured reference (V-AUC-2) may ride on a SetPhase: set before the move.
        if cmd.reference_price:  # None or 0: none
            if cmd.reference_price < 0:
                events.append(
                    Rejected(seq, CommandKind.SET_PHASE, 0, "", RejectReason.INVALID_PRICE)
                )
                return
            self._references[symbol] = cmd.reference_price
        previous = self.phase(symbol)
        if phase is previous:
            return
        self._phases[symbol] = phase
        self._touch(symbol)
        events.append(PhaseChanged(seq, symbol, phase, previous))
        if phase is TradingPhase.CONTINUOUS or (
            previous is TradingPhase.CLOSING_AUCTION and phase is TradingPhase.CLOSED
        ):
            self._uncross(symbol, seq, events)
        if previous in CALL_PHASES and phase not in CALL_PHASES:
            unfilled = sorted((o for o in self._waiting if o.symbol == symbol), key=_by_new)
            for o in unfilled:
                self._waiting.remove(o)
                events.append(self._cancelled(seq, o, o.qty, CancelReason.AUCTION_UNFILLED))
        if phase is TradingPhase.CLOSED:
            day = sorted(
                (
                    o
                    for o in (*self._resting, *self._held)
                    if o.symbol == symbol and o.tif is TimeInForce.DAY
                ),
                key=_by_new,
            )
            for o in day:
                self._remove(o)
                events.append(self._cancelled(seq, o, o.qty, CancelReason.EXPIRED))
        if phase in CALL_PHASES:
            self._published[symbol] = _FORCE  # entering a call phase always publishes
        else:
            self._published.pop(symbol, None)

    def _uncross(self, symbol: str, seq: int, events: list[Event]) -> None:
        """V-AUC-3: all at one price, market orders first, then price-time, slice by slice."""
        ind, _, _ = self._indicative_now(symbol)
        if ind.price is None:
            return
        price = ind.price
        while True:
            buy = self._auction_front(symbol, Side.BUY, price)
            sell = self._auction_front(symbol, Side.SELL, price)
            if buy is None or sell is None:
                break
            qty = min(buy.shown, sell.shown)  # a waiting market order shows all of it
            for o in (buy, sell):
                o.qty -= qty
                if o.display is not None:
                    o.slice -= qty
            self._trade_ids += 1
            events.append(
                AuctionTrade(
                    seq,
                    self._trade_ids,
                    symbol,
                    price,
                    qty,
                    buy.order_id,
                    sell.order_id,
                    buy.account,
                    sell.account,
                    buy.qty,
                    sell.qty,
                )
            )
            self._print(symbol, price)
            for o in (buy, sell):
                if o.qty == 0:
                    self._remove(o)
                else:
                    self._refresh(o, seq, events)

    def _auction_front(self, symbol: str, side: Side, price: int) -> _VOrder | None:
        markets = sorted(
            (o for o in self._waiting if o.symbol == symbol and o.side is side), key=_by_new
        )
        if markets:
            return markets[0]
        queue = self._queue(symbol, side)
        if queue:
            o = queue[0]
            assert o.price is not None
            if _crosses(side, o.price, price):
                return o  # type: ignore[return-value]
        return None


def _by_new(o: _VOrder) -> int:
    return o.new_seq
