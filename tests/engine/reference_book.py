"""A naive reference order book: the test oracle for the matching engine.

Written from MATCHING_RULES.md and docs/EVENTS.md alone, never from the engine's
code, so that the model-based tests compare two independent readings of the
contract. Clarity over speed: every resting order of every symbol sits in one
plain list, priority is recomputed by sorting on each look, and a fill-or-kill
dry run is literally a run on a deep copy of the whole model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from ringmatch.engine.schema.commands import Cancel, Command, MassCancel, NewOrder, Replace
from ringmatch.engine.schema.enums import (
    CancelReason,
    CommandKind,
    OrderType,
    RejectReason,
    Side,
    StpMode,
    TimeInForce,
)
from ringmatch.engine.schema.events import (
    Accepted,
    Cancelled,
    Event,
    MassCancelled,
    Reduced,
    Rejected,
    Replaced,
    Trade,
)
from ringmatch.engine.schema.views import BBO, BookOrder, Depth


@dataclass
class _Order:
    """An order while it is being matched or while it rests."""

    order_id: int
    account: str
    symbol: str
    side: Side
    order_type: OrderType
    price: int | None  # None only for a market order, which never rests
    qty: int  # remaining quantity
    tif: TimeInForce
    post_only: bool
    stp: StpMode
    arrival: int = 0  # when it (last) joined the book: smaller is older


def _crosses(side: Side, price: int, opposite_price: int) -> bool:
    """Would a ``side`` order at ``price`` trade with a resting ``opposite_price``?"""
    return price >= opposite_price if side is Side.BUY else price <= opposite_price


def _view(o: _Order) -> BookOrder:
    assert o.price is not None  # only limit orders rest
    return BookOrder(o.symbol, o.side, o.price, o.order_id, o.account, o.qty)


class ReferenceBook:
    """The whole matching contract, one linear scan at a time."""

    def __init__(self) -> None:
        self._resting: list[_Order] = []
        self._used_ids: set[int] = set()
        self._symbols: set[str] = set()
        self._arrivals = 0
        self._trade_ids = 0
        self.last_seq = 0

    # ----------------------------------------------------------------- input
    def process(self, cmd: Command, seq: int | None = None) -> list[Event]:
        if seq is None:
            seq = self.last_seq + 1
        elif seq <= self.last_seq:
            raise ValueError(f"seq {seq} is not after the last seq {self.last_seq}")
        self.last_seq = seq
        events: list[Event] = []
        if isinstance(cmd, NewOrder):
            self._new(cmd, seq, events)
        elif isinstance(cmd, Cancel):
            self._cancel(cmd, seq, events)
        elif isinstance(cmd, Replace):
            self._replace(cmd, seq, events)
        elif isinstance(cmd, MassCancel):
            self._mass_cancel(cmd, seq, events)
        else:
            raise TypeError(f"not a command: {cmd!r}")
        return events

    def process_batch(self, cmds: list[Command]) -> list[Event]:
        events: list[Event] = []
        for cmd in cmds:
            events.extend(self.process(cmd))
        return events

    # ----------------------------------------------------------------- views
    def symbols(self) -> list[str]:
        return sorted(self._symbols)

    def l3(self, symbol: str) -> list[BookOrder]:
        return [_view(o) for side in (Side.BUY, Side.SELL) for o in self._queue(symbol, side)]

    def depth(self, symbol: str, levels: int) -> Depth:
        n = max(levels, 0)  # not a slice index: -1 must not mean "all but the last"
        return Depth(
            bids=self._levels(symbol, Side.BUY)[:n], asks=self._levels(symbol, Side.SELL)[:n]
        )

    def bbo(self, symbol: str) -> BBO:
        bids = self._levels(symbol, Side.BUY)
        asks = self._levels(symbol, Side.SELL)
        bid_price, bid_qty = bids[0] if bids else (None, 0)
        ask_price, ask_qty = asks[0] if asks else (None, 0)
        return BBO(bid_price, bid_qty, ask_price, ask_qty)

    def order(self, order_id: int) -> BookOrder | None:
        o = self._find(order_id)
        return None if o is None else _view(o)

    # -------------------------------------------------------------- the book
    def _queue(self, symbol: str, side: Side) -> list[_Order]:
        """Resting orders of one side, best price first, then oldest first."""
        orders = [o for o in self._resting if o.symbol == symbol and o.side is side]
        sign = -1 if side is Side.BUY else 1
        return sorted(orders, key=lambda o: (sign * (o.price or 0), o.arrival))

    def _levels(self, symbol: str, side: Side) -> list[tuple[int, int]]:
        levels: list[tuple[int, int]] = []
        for o in self._queue(symbol, side):
            assert o.price is not None
            if levels and levels[-1][0] == o.price:
                levels[-1] = (o.price, levels[-1][1] + o.qty)
            else:
                levels.append((o.price, o.qty))
        return levels

    def _best_opposite(self, symbol: str, side: Side) -> _Order | None:
        opposite = Side.SELL if side is Side.BUY else Side.BUY
        queue = self._queue(symbol, opposite)
        return queue[0] if queue else None

    def _find(self, order_id: int) -> _Order | None:
        for o in self._resting:
            if o.order_id == order_id:
                return o
        return None

    def _rest(self, order: _Order) -> None:
        """Put the order at the back of its price level."""
        self._arrivals += 1
        order.arrival = self._arrivals
        self._resting.append(order)

    # ------------------------------------------------------------------- NEW
    def _new(self, cmd: NewOrder, seq: int, events: list[Event]) -> None:
        reason = self._new_reject_reason(cmd)
        if reason is not None:
            events.append(
                Rejected(
                    seq, CommandKind.NEW, cmd.order_id, cmd.account, reason, cmd.client_order_id
                )
            )
            return
        is_market = cmd.order_type is OrderType.MARKET
        tif = cmd.tif or (TimeInForce.IOC if is_market else TimeInForce.GTC)
        order = _Order(
            cmd.order_id,
            cmd.account,
            cmd.symbol,
            cmd.side,
            cmd.order_type,
            cmd.price,
            cmd.qty,
            tif,
            cmd.post_only,
            cmd.stp,
        )
        self._symbols.add(cmd.symbol)
        events.append(
            Accepted(
                seq,
                order.order_id,
                order.account,
                order.symbol,
                order.side,
                order.order_type,
                tif,
                order.price,
                order.qty,
                cmd.client_order_id,
            )
        )
        if order.post_only and self._would_cross(order):
            events.append(self._cancelled(seq, order, order.qty, CancelReason.POST_ONLY))
            return
        if tif is TimeInForce.FOK and not self._fok_would_fill(order, seq):
            events.append(self._cancelled(seq, order, order.qty, CancelReason.KILLED_FOK))
            return
        self._enter(order, seq, events)

    def _new_reject_reason(self, cmd: NewOrder) -> RejectReason | None:
        if cmd.order_id <= 0:
            return RejectReason.INVALID_ORDER_ID
        if cmd.order_id in self._used_ids:
            return RejectReason.DUPLICATE_ORDER_ID
        self._used_ids.add(cmd.order_id)  # used up from here on, whatever follows
        if not cmd.symbol:
            return RejectReason.INVALID_SYMBOL
        if cmd.qty <= 0:
            return RejectReason.INVALID_QUANTITY
        if cmd.order_type is OrderType.MARKET:
            if cmd.price is not None:
                return RejectReason.MARKET_WITH_PRICE
            if cmd.tif not in (None, TimeInForce.IOC):
                return RejectReason.MARKET_NOT_IOC
            if cmd.post_only:
                return RejectReason.POST_ONLY_NOT_GTC_LIMIT
            return None
        if cmd.price is None or cmd.price <= 0:
            return RejectReason.INVALID_PRICE
        if cmd.post_only and cmd.tif not in (None, TimeInForce.GTC):
            return RejectReason.POST_ONLY_NOT_GTC_LIMIT
        return None

    def _would_cross(self, order: _Order) -> bool:
        best = self._best_opposite(order.symbol, order.side)
        if best is None:
            return False
        assert order.price is not None and best.price is not None
        return _crosses(order.side, order.price, best.price)

    def _fok_would_fill(self, order: _Order, seq: int) -> bool:
        """The dry run: the order as an IOC on a throwaway copy of the whole model."""
        trial = copy.deepcopy(self)
        trial_events: list[Event] = []
        trial._match(copy.copy(order), seq, trial_events)
        traded = sum(e.qty for e in trial_events if isinstance(e, Trade))
        return traded == order.qty

    def _enter(self, order: _Order, seq: int, events: list[Event]) -> None:
        """Match an incoming order, then rest, or cancel, what is left of it."""
        stopped_by_stp = self._match(order, seq, events)
        if stopped_by_stp or order.qty == 0:
            return
        if order.order_type is OrderType.MARKET:
            events.append(self._cancelled(seq, order, order.qty, CancelReason.MARKET_REMAINDER))
        elif order.tif is TimeInForce.GTC:
            self._rest(order)
        else:
            events.append(self._cancelled(seq, order, order.qty, CancelReason.IOC_REMAINDER))

    # -------------------------------------------------------------- matching
    def _match(self, taker: _Order, seq: int, events: list[Event]) -> bool:
        """Trade the incoming order against the book; True if STP cancelled it."""
        while taker.qty > 0:
            maker = self._best_opposite(taker.symbol, taker.side)
            if maker is None:
                return False
            assert maker.price is not None
            if taker.price is not None and not _crosses(taker.side, taker.price, maker.price):
                return False
            if maker.account != taker.account or taker.stp is StpMode.NONE:
                self._trade(taker, maker, seq, events)
            elif self._self_trade(taker, maker, seq, events):
                return True
        return False

    def _trade(self, taker: _Order, maker: _Order, seq: int, events: list[Event]) -> None:
        assert maker.price is not None
        qty = min(taker.qty, maker.qty)
        taker.qty -= qty
        maker.qty -= qty
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
        if maker.qty == 0:
            self._resting.remove(maker)

    def _self_trade(self, taker: _Order, maker: _Order, seq: int, events: list[Event]) -> bool:
        """Apply the taker's STP mode to a meeting with its own account; True: taker gone."""
        mode = taker.stp
        if mode is StpMode.CANCEL_TAKER:
            events.append(self._cancelled(seq, taker, taker.qty, CancelReason.STP))
            taker.qty = 0
            return True
        if mode is StpMode.CANCEL_MAKER:
            events.append(self._cancelled(seq, maker, maker.qty, CancelReason.STP))
            self._resting.remove(maker)
            return False
        if mode is StpMode.CANCEL_BOTH:
            events.append(self._cancelled(seq, maker, maker.qty, CancelReason.STP))
            self._resting.remove(maker)
            events.append(self._cancelled(seq, taker, taker.qty, CancelReason.STP))
            taker.qty = 0
            return True
        assert mode is StpMode.DECREMENT
        d = min(taker.qty, maker.qty)
        maker.qty -= d
        if maker.qty == 0:
            events.append(self._cancelled(seq, maker, d, CancelReason.STP))
            self._resting.remove(maker)
        else:  # it keeps its place: its arrival is untouched
            events.append(self._reduced(seq, maker, d))
        taker.qty -= d
        if taker.qty == 0:
            events.append(self._cancelled(seq, taker, d, CancelReason.STP))
            return True
        events.append(self._reduced(seq, taker, d))
        return False

    # ---------------------------------------------------------------- CANCEL
    def _cancel(self, cmd: Cancel, seq: int, events: list[Event]) -> None:
        order, reason = self._target(cmd.order_id, cmd.account)
        if order is None:
            assert reason is not None
            events.append(
                Rejected(
                    seq, CommandKind.CANCEL, cmd.order_id, cmd.account, reason, cmd.client_order_id
                )
            )
            return
        self._resting.remove(order)
        events.append(self._cancelled(seq, order, order.qty, CancelReason.USER))

    # ----------------------------------------------------------- MASS CANCEL
    def _mass_cancel(self, cmd: MassCancel, seq: int, events: list[Event]) -> None:
        """Every resting order of the account (and symbol), oldest arrival first."""
        doomed = sorted(
            (
                o
                for o in self._resting
                if o.account == cmd.account and cmd.symbol in (None, o.symbol)
            ),
            key=lambda o: o.arrival,
        )
        for o in doomed:
            self._resting.remove(o)
            events.append(self._cancelled(seq, o, o.qty, cmd.reason))
        events.append(MassCancelled(seq, cmd.account, cmd.symbol, len(doomed), cmd.reason))

    def _target(self, order_id: int, account: str) -> tuple[_Order | None, RejectReason | None]:
        """The resting order a CANCEL or REPLACE names, or why there is none for it."""
        if order_id not in self._used_ids:
            return None, RejectReason.UNKNOWN_ORDER
        order = self._find(order_id)
        if order is None:
            return None, RejectReason.ORDER_NOT_RESTING
        if order.account != account:
            return None, RejectReason.NOT_YOUR_ORDER
        return order, None

    # --------------------------------------------------------------- REPLACE
    def _replace(self, cmd: Replace, seq: int, events: list[Event]) -> None:
        order, reason = self._target(cmd.order_id, cmd.account)
        if order is not None:
            reason = self._replace_reject_reason(order, cmd)
        if reason is not None:
            events.append(
                Rejected(
                    seq, CommandKind.REPLACE, cmd.order_id, cmd.account, reason, cmd.client_order_id
                )
            )
            return
        assert order is not None
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
        if keep:
            order.qty = cmd.qty
            return
        self._resting.remove(order)
        order.price = cmd.price
        order.qty = cmd.qty
        self._enter(order, seq, events)

    def _replace_reject_reason(self, order: _Order, cmd: Replace) -> RejectReason | None:
        if cmd.price <= 0:
            return RejectReason.INVALID_PRICE
        if cmd.qty <= 0:
            return RejectReason.INVALID_QUANTITY
        if order.post_only:
            best = self._best_opposite(order.symbol, order.side)
            if best is not None:
                assert best.price is not None
                if _crosses(order.side, cmd.price, best.price):
                    return RejectReason.POST_ONLY_WOULD_CROSS
        return None

    # ---------------------------------------------------------------- events
    @staticmethod
    def _cancelled(seq: int, o: _Order, qty: int, reason: CancelReason) -> Cancelled:
        return Cancelled(seq, o.order_id, o.account, o.symbol, o.side, o.price, qty, reason)

    @staticmethod
    def _reduced(seq: int, o: _Order, qty: int) -> Reduced:
        return Reduced(
            seq, o.order_id, o.account, o.symbol, o.side, o.price, qty, o.qty, CancelReason.STP
        )
