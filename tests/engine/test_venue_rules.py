"""One test (or a few) per rule of VENUE_RULES.md, each named for the rule it pins.

The contract is ``../shared/VENUE_RULES.md`` (V-TIME-1 to V-AUC-4); the exact event
order is docs/EVENTS.md, "The venue's order types and sessions". Every test drives
the pure matching engine with hand-built inputs and asserts the exact events (type
and every field) and the views that result.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ringmatch.engine.book.matching import MatchingEngine
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
    Cancelled,
    Event,
    Indicative,
    MassCancelled,
    PhaseChanged,
    Reduced,
    Refreshed,
    Rejected,
    Replaced,
    Trade,
    Triggered,
)
from ringmatch.engine.schema.views import (
    BBO,
    BookOrder,
    Depth,
    HeldOrder,
    IndicativeUncross,
)
from tests.conftest import need

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
STOP, STOP_LIMIT = OrderType.STOP, OrderType.STOP_LIMIT
GTC, IOC, FOK = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK
DAY, GTD = TimeInForce.DAY, TimeInForce.GTD
PRE_OPEN = TradingPhase.PRE_OPEN
OPENING_AUCTION = TradingPhase.OPENING_AUCTION
CONTINUOUS = TradingPhase.CONTINUOUS
CLOSING_AUCTION = TradingPhase.CLOSING_AUCTION
CLOSED = TradingPhase.CLOSED
HALTED = TradingPhase.HALTED
CALL_PHASES = (PRE_OPEN, OPENING_AUCTION, CLOSING_AUCTION, HALTED)
NEW, CANCEL, REPLACE = CommandKind.NEW, CommandKind.CANCEL, CommandKind.REPLACE
R = RejectReason
C = CancelReason
SYM = "S"
SAME: Any = object()  # "the order's own value" in the helpers below

VENUE_RULES = Path(__file__).resolve().parents[2].parent / "shared" / "VENUE_RULES.md"


# ------------------------------------------------------------------ inputs
def lim(
    order_id: int,
    account: str,
    side: Side,
    price: int,
    qty: int,
    *,
    tif: TimeInForce | None = None,
    post_only: bool = False,
    stp: StpMode = StpMode.NONE,
    ts: int = 0,
    display: int | None = None,
    expire: int | None = None,
    symbol: str = SYM,
) -> NewOrder:
    return NewOrder(
        order_id,
        account,
        symbol,
        side,
        LIMIT,
        price,
        qty,
        tif,
        post_only,
        stp,
        ts,
        display_qty=display,
        expire_ts=expire,
    )


def mkt(order_id: int, account: str, side: Side, qty: int, **kw: Any) -> NewOrder:
    return NewOrder(order_id, account, kw.pop("symbol", SYM), side, MARKET, None, qty, **kw)


def stop(
    order_id: int,
    account: str,
    side: Side,
    trigger: int,
    qty: int,
    *,
    tif: TimeInForce | None = None,
    stp: StpMode = StpMode.NONE,
    ts: int = 0,
    expire: int | None = None,
) -> NewOrder:
    return NewOrder(
        order_id,
        account,
        SYM,
        side,
        STOP,
        None,
        qty,
        tif,
        stp=stp,
        ts_ns=ts,
        trigger_price=trigger,
        expire_ts=expire,
    )


def stop_limit(
    order_id: int,
    account: str,
    side: Side,
    trigger: int,
    price: int,
    qty: int,
    *,
    tif: TimeInForce | None = None,
    stp: StpMode = StpMode.NONE,
    ts: int = 0,
    expire: int | None = None,
) -> NewOrder:
    return NewOrder(
        order_id,
        account,
        SYM,
        side,
        STOP_LIMIT,
        price,
        qty,
        tif,
        stp=stp,
        ts_ns=ts,
        trigger_price=trigger,
        expire_ts=expire,
    )


def phase_to(phase: Any, ts: int = 0, symbol: str = SYM) -> SetPhase:
    return SetPhase(symbol, phase, ts)


# ------------------------------------------------------------------ events
def acc(cmd: NewOrder, seq: int) -> Accepted:
    tif = cmd.tif or (IOC if cmd.order_type is MARKET else GTC)
    return Accepted(
        seq,
        cmd.order_id,
        cmd.account,
        cmd.symbol,
        cmd.side,
        cmd.order_type,
        tif,
        cmd.price,
        cmd.qty,
        cmd.client_order_id,
        cmd.trigger_price,
        cmd.display_qty,
        cmd.expire_ts,
    )


def rej(seq: int, kind: CommandKind, cmd: NewOrder | Cancel | Replace, reason: R) -> Rejected:
    return Rejected(seq, kind, cmd.order_id, cmd.account, reason, cmd.client_order_id)


def trade(
    seq: int,
    trade_id: int,
    maker: NewOrder,
    taker: NewOrder,
    price: int,
    qty: int,
    maker_leaves: int,
    taker_leaves: int,
) -> Trade:
    return Trade(
        seq,
        trade_id,
        taker.symbol,
        price,
        qty,
        maker.order_id,
        taker.order_id,
        maker.account,
        taker.account,
        taker.side,
        maker_leaves,
        taker_leaves,
    )


def cxl(seq: int, o: NewOrder, qty: int, reason: C, price: Any = SAME) -> Cancelled:
    price = o.price if price is SAME else price
    return Cancelled(seq, o.order_id, o.account, o.symbol, o.side, price, qty, reason)


def reduced(seq: int, o: NewOrder, qty: int, leaves: int) -> Reduced:
    return Reduced(seq, o.order_id, o.account, o.symbol, o.side, o.price, qty, leaves, C.STP)


def replaced(
    seq: int, o: NewOrder, price: int | None, qty: int, kept: bool, trigger: int | None = None
) -> Replaced:
    return Replaced(seq, o.order_id, o.account, o.symbol, o.side, price, qty, kept, trigger)


def triggered(
    seq: int, o: NewOrder, *, qty: Any = SAME, trigger: Any = SAME, price: Any = SAME
) -> Triggered:
    """What a held stop is released as (V-STOP-1): MARKET IOC, or LIMIT with its tif."""
    if o.order_type is STOP:
        kind, tif = MARKET, IOC
    else:
        kind, tif = LIMIT, o.tif or GTC
    return Triggered(
        seq,
        o.order_id,
        o.account,
        o.symbol,
        o.side,
        o.trigger_price if trigger is SAME else trigger,
        kind,
        tif,
        o.price if price is SAME else price,
        o.qty if qty is SAME else qty,
    )


def refreshed(seq: int, o: NewOrder, shown: int, leaves: int) -> Refreshed:
    assert o.price is not None
    return Refreshed(seq, o.order_id, o.account, o.symbol, o.side, o.price, shown, leaves)


def auction(
    seq: int,
    trade_id: int,
    buy: NewOrder,
    sell: NewOrder,
    price: int,
    qty: int,
    buy_leaves: int,
    sell_leaves: int,
) -> AuctionTrade:
    return AuctionTrade(
        seq,
        trade_id,
        buy.symbol,
        price,
        qty,
        buy.order_id,
        sell.order_id,
        buy.account,
        sell.account,
        buy_leaves,
        sell_leaves,
    )


def changed(seq: int, phase: TradingPhase, previous: TradingPhase) -> PhaseChanged:
    return PhaseChanged(seq, SYM, phase, previous)


def ind(
    seq: int, price: int | None, volume: int, side: Side | None = None, imbalance: int = 0
) -> Indicative:
    return Indicative(seq, SYM, price, volume, side, imbalance)


NOTHING = IndicativeUncross(None, 0, None, 0)


# ------------------------------------------------------------------- views
def book_order(o: NewOrder, qty: int, hidden: int = 0, price: Any = SAME) -> BookOrder:
    price = o.price if price is SAME else price
    return BookOrder(o.symbol, o.side, price, o.order_id, o.account, qty, hidden)


def held(o: NewOrder, qty: Any = SAME, trigger: Any = SAME, price: Any = SAME) -> HeldOrder:
    return HeldOrder(
        o.symbol,
        o.side,
        o.order_type,
        o.trigger_price if trigger is SAME else trigger,
        o.price if price is SAME else price,
        o.order_id,
        o.account,
        o.qty if qty is SAME else qty,
    )


def bids(eng: MatchingEngine, symbol: str = SYM) -> list[BookOrder]:
    return [o for o in eng.l3(symbol) if o.side is BUY]


def asks(eng: MatchingEngine, symbol: str = SYM) -> list[BookOrder]:
    return [o for o in eng.l3(symbol) if o.side is SELL]


# ----------------------------------------------------------------- driving
def step(eng: MatchingEngine, cmd: Any) -> tuple[int, list[Event]]:
    """Process one input; return its seq and its events."""
    events = eng.process(cmd)
    return eng.last_seq, events


def run(eng: MatchingEngine, *cmds: Any) -> list[Event]:
    """Process inputs one by one; return the events of the last."""
    events: list[Event] = []
    for cmd in cmds:
        events = eng.process(cmd)
    return events


def prime(
    eng: MatchingEngine, price: int, symbol: str = SYM, ids: tuple[int, int] = (901, 902)
) -> int:
    """One trade of 1 at ``price`` between two bystanders, leaving the book as it was."""
    sell = lim(ids[0], "x", SELL, price, 1, symbol=symbol)
    buy = lim(ids[1], "y", BUY, price, 1, symbol=symbol)
    run(eng, sell)
    seq, events = step(eng, buy)
    assert [type(e) for e in events] == [Accepted, Trade]
    assert events[1].price == price  # type: ignore[union-attr]
    return seq


# ==================================================================== V-TIME
def test_V_TIME_1_timestamps_never_affect_priority() -> None:
    eng = MatchingEngine()
    s1 = lim(1, "a", SELL, 100, 1, ts=9_000)
    s2 = lim(2, "b", SELL, 100, 1, ts=1_000)
    b = lim(3, "c", BUY, 100, 1, ts=5_000)
    run(eng, s1, s2)
    s, ev = step(eng, b)
    assert ev == [acc(b, s), trade(s, 1, s1, b, 100, 1, 0, 0)]
    assert eng.l3(SYM) == [book_order(s2, 1)]
    assert eng.now == 9_000


def test_V_TIME_1_there_is_no_time_until_an_input_carries_one() -> None:
    eng = MatchingEngine()
    assert eng.now == 0
    run(eng, lim(1, "a", SELL, 100, 1))
    assert eng.now == 0
    assert run(eng, Clock(500)) == []
    assert eng.now == 500


def test_V_TIME_1_a_clock_input_only_runs_the_expiries_due() -> None:
    eng = MatchingEngine()
    g = lim(1, "a", SELL, 100, 4, tif=GTD, expire=1_000, ts=100)
    run(eng, g)
    assert run(eng, Clock(999)) == []
    assert eng.now == 999
    assert eng.l3(SYM) == [book_order(g, 4)]
    s, ev = step(eng, Clock(1_000))
    assert ev == [cxl(s, g, 4, C.EXPIRED)]
    assert eng.l3(SYM) == []
    assert run(eng, Clock(2_000)) == []


def _expiry_stream() -> list[Any]:
    return [
        lim(1, "a", SELL, 101, 3, tif=GTD, expire=300, ts=10),
        lim(2, "b", BUY, 99, 2, tif=GTD, expire=200, ts=20),
        stop(3, "c", BUY, 105, 1, tif=GTD, expire=250, ts=30),
        lim(4, "d", BUY, 101, 1, ts=220),
        Clock(400),
    ]


def test_V_TIME_1_replay_reproduces_every_expiry() -> None:
    one = MatchingEngine()
    each = [e for cmd in _expiry_stream() for e in one.process(cmd)]
    two = MatchingEngine()
    batch = two.process_batch(_expiry_stream())
    assert each == batch
    g1, g2, st, b, _ = _expiry_stream()
    assert batch == [
        acc(g1, 1),
        acc(g2, 2),
        acc(st, 3),
        cxl(4, g2, 2, C.EXPIRED),
        acc(b, 4),
        trade(4, 1, g1, b, 101, 1, 2, 0),
        cxl(5, st, 1, C.EXPIRED),
        cxl(5, g1, 2, C.EXPIRED),
    ]
    assert one.l3(SYM) == two.l3(SYM) == []
    assert one.now == two.now == 400


def test_V_TIME_2_time_never_goes_backwards() -> None:
    eng = MatchingEngine()
    run(eng, Clock(1_000))
    g = lim(1, "a", SELL, 100, 2, tif=GTD, expire=1_500, ts=500)
    s, ev = step(eng, g)
    assert ev == [acc(g, s)]
    assert eng.now == 1_000
    run(eng, lim(2, "b", SELL, 101, 1, ts=0))
    assert eng.now == 1_000
    assert run(eng, Clock(1_200)) == []
    assert run(eng, Clock(900)) == []
    assert eng.now == 1_200
    s, ev = step(eng, Clock(1_500))
    assert ev == [cxl(s, g, 2, C.EXPIRED)]


def test_V_TIME_2_an_earlier_ts_does_not_let_a_passed_expire_ts_in() -> None:
    # The engine's time stays 1000, so an expire_ts of 800 has passed (EVENTS.md: "<= the time").
    eng = MatchingEngine()
    run(eng, Clock(1_000))
    g = lim(1, "a", SELL, 100, 2, tif=GTD, expire=800, ts=500)
    s, ev = step(eng, g)
    assert ev == [rej(s, NEW, g, R.EXPIRE_TS_PASSED)]
    assert eng.l3(SYM) == []


def test_V_TIME_3_expiries_in_expire_ts_then_seq_order_under_the_inputs_seq() -> None:
    eng = MatchingEngine()
    a = lim(1, "a", SELL, 105, 1, tif=GTD, expire=300, ts=10)
    b = lim(2, "b", BUY, 95, 2, tif=GTD, expire=200, ts=10)
    c = stop(3, "c", SELL, 90, 3, tif=GTD, expire=200, ts=10)
    d = lim(4, "d", SELL, 106, 4, tif=GTD, expire=200, ts=10)
    keep = lim(5, "e", SELL, 107, 1, tif=GTD, expire=301, ts=10)
    run(eng, a, b, c, d, keep)
    s, ev = step(eng, Clock(300))
    assert ev == [
        cxl(s, b, 2, C.EXPIRED),
        cxl(s, c, 3, C.EXPIRED),
        cxl(s, d, 4, C.EXPIRED),
        cxl(s, a, 1, C.EXPIRED),
    ]
    assert eng.l3(SYM) == [book_order(keep, 1)]
    assert eng.held(SYM) == []


def test_V_TIME_3_a_replace_does_not_change_the_expiry_order() -> None:
    eng = MatchingEngine()
    a = lim(1, "a", SELL, 105, 1, tif=GTD, expire=200, ts=10)
    b = lim(2, "b", SELL, 105, 1, tif=GTD, expire=200, ts=10)
    run(eng, a, b)
    s, ev = step(eng, Replace(1, "a", 106, 2, ts_ns=20))
    assert ev == [replaced(s, a, 106, 2, False)]
    s, ev = step(eng, Clock(200))
    assert ev == [cxl(s, a, 2, C.EXPIRED, price=106), cxl(s, b, 1, C.EXPIRED)]


def test_V_TIME_3_expiry_runs_before_the_input_of_the_batch() -> None:
    eng = MatchingEngine()
    g = lim(1, "a", SELL, 100, 5, tif=GTD, expire=100, ts=10)
    run(eng, g)
    b = lim(2, "b", BUY, 100, 3, ts=100)
    s, ev = step(eng, b)
    assert ev == [cxl(s, g, 5, C.EXPIRED), acc(b, s)]
    assert eng.l3(SYM) == [book_order(b, 3)]


def test_V_TIME_3_expiry_cancels_the_whole_leaves() -> None:
    eng = MatchingEngine()
    g = lim(1, "a", SELL, 100, 10, tif=GTD, expire=100, display=3, ts=10)
    run(eng, g, lim(2, "b", BUY, 100, 4, ts=20))
    assert asks(eng) == [book_order(g, 2, 4)]
    s, ev = step(eng, Clock(100))
    assert ev == [cxl(s, g, 6, C.EXPIRED)]
    assert eng.l3(SYM) == []


# ==================================================================== V-STOP
def test_V_STOP_1_a_held_stop_is_off_the_book() -> None:
    eng = MatchingEngine()
    st = stop_limit(1, "a", SELL, 90, 100, 5)  # no trade yet: any trigger is accepted
    s, ev = step(eng, st)
    assert ev == [acc(st, s)]
    assert eng.l3(SYM) == []
    assert eng.depth(SYM, 5) == Depth([], [])
    assert eng.bbo(SYM) == BBO(None, 0, None, 0)
    assert eng.held(SYM) == [held(st)]
    b = lim(2, "b", BUY, 100, 5)
    s, ev = step(eng, b)
    assert ev == [acc(b, s)]  # not matched against the held sell
    assert eng.l3(SYM) == [book_order(b, 5)]
    assert eng.held(SYM) == [held(st)]


def test_V_STOP_1_a_held_stop_is_never_an_stp_counterparty() -> None:
    eng = MatchingEngine()
    st = stop_limit(1, "a", SELL, 90, 100, 5)
    m = lim(2, "m", SELL, 101, 2)
    b = lim(3, "a", BUY, 101, 2, stp=StpMode.CANCEL_BOTH)
    run(eng, st, m)
    s, ev = step(eng, b)
    assert ev == [acc(b, s), trade(s, 1, m, b, 101, 2, 0, 0)]
    assert eng.held(SYM) == [held(st)]


def test_V_STOP_1_entry_checks_of_the_stop_fields() -> None:
    eng = MatchingEngine()
    cases = [
        (NewOrder(1, "a", SYM, BUY, STOP, 100, 1, trigger_price=105), R.MARKET_WITH_PRICE),
        (NewOrder(2, "a", SYM, BUY, STOP_LIMIT, None, 1, trigger_price=105), R.INVALID_PRICE),
        (NewOrder(3, "a", SYM, BUY, STOP, None, 1), R.INVALID_TRIGGER_PRICE),
        (NewOrder(4, "a", SYM, BUY, STOP, None, 1, trigger_price=0), R.INVALID_TRIGGER_PRICE),
        (NewOrder(5, "a", SYM, BUY, STOP_LIMIT, 9, 1, trigger_price=-1), R.INVALID_TRIGGER_PRICE),
        (NewOrder(6, "a", SYM, BUY, LIMIT, 100, 1, trigger_price=105), R.INVALID_TRIGGER_PRICE),
        (NewOrder(7, "a", SYM, BUY, MARKET, None, 1, trigger_price=105), R.INVALID_TRIGGER_PRICE),
        (
            NewOrder(8, "a", SYM, BUY, STOP, None, 1, post_only=True, trigger_price=105),
            R.POST_ONLY_NOT_GTC_LIMIT,
        ),
    ]
    for cmd, reason in cases:
        s, ev = step(eng, cmd)
        assert ev == [rej(s, NEW, cmd, reason)], cmd
    assert eng.held(SYM) == []
    assert eng.l3(SYM) == []


def test_V_STOP_1_a_stop_is_released_as_a_market_ioc_order() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    st = stop(10, "a", BUY, 102, 3)
    m1 = lim(11, "m", SELL, 102, 2)
    m2 = lim(12, "m", SELL, 104, 2)
    t = lim(13, "t", BUY, 102, 2)
    s, ev = step(eng, st)
    assert ev == [acc(st, s)]  # tif resolved GTC, price None, trigger 102
    assert ev[0].tif is GTC  # type: ignore[union-attr]
    run(eng, m1, m2)
    s, ev = step(eng, t)
    assert ev == [
        acc(t, s),
        trade(s, 2, m1, t, 102, 2, 0, 0),
        triggered(s, st),
        trade(s, 3, m2, st, 104, 2, 0, 1),
        cxl(s, st, 1, C.MARKET_REMAINDER),
    ]
    assert ev[2].order_type is MARKET and ev[2].tif is IOC  # type: ignore[union-attr]
    assert eng.held(SYM) == []
    assert eng.l3(SYM) == []


def test_V_STOP_1_a_stop_limit_is_released_as_a_limit_with_its_price_and_tif() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    st = stop_limit(10, "a", BUY, 102, 103, 5, tif=DAY)
    m1 = lim(11, "m", SELL, 102, 1)
    m2 = lim(12, "m", SELL, 103, 2)
    m3 = lim(13, "m", SELL, 104, 2)
    t = lim(14, "t", BUY, 102, 1)
    run(eng, st, m1, m2, m3)
    s, ev = step(eng, t)
    assert ev == [
        acc(t, s),
        trade(s, 2, m1, t, 102, 1, 0, 0),
        triggered(s, st),
        trade(s, 3, m2, st, 103, 2, 0, 3),
    ]
    assert ev[2].order_type is LIMIT and ev[2].tif is DAY  # type: ignore[union-attr]
    assert bids(eng) == [book_order(st, 3)]
    assert asks(eng) == [book_order(m3, 2)]
    assert eng.held(SYM) == []


def test_V_STOP_2_quotes_do_not_trigger_a_print_at_the_trigger_does() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    bs = stop(10, "a", BUY, 101, 1)
    ss = stop(11, "a", SELL, 99, 1)
    q1 = lim(12, "m", SELL, 101, 1)
    q2 = lim(13, "m", BUY, 99, 1)
    for cmd in (bs, ss, q1, q2):
        s, ev = step(eng, cmd)
        assert ev == [acc(cmd, s)]
    assert eng.held(SYM) == [held(bs), held(ss)]
    t = lim(14, "t", BUY, 101, 1)
    s, ev = step(eng, t)
    assert ev == [
        acc(t, s),
        trade(s, 2, q1, t, 101, 1, 0, 0),
        triggered(s, bs),
        cxl(s, bs, 1, C.MARKET_REMAINDER),
    ]
    assert eng.held(SYM) == [held(ss)]
    u = lim(15, "u", SELL, 99, 1)
    s, ev = step(eng, u)
    assert ev == [
        acc(u, s),
        trade(s, 3, q2, u, 99, 1, 0, 0),
        triggered(s, ss),
        cxl(s, ss, 1, C.MARKET_REMAINDER),
    ]
    assert eng.held(SYM) == []


def test_V_STOP_2_every_print_counts_and_a_triggered_stop_stays_triggered() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    st = stop(10, "a", BUY, 102, 1)
    d = lim(11, "d", SELL, 110, 1)
    b1 = lim(12, "b", BUY, 103, 1)
    b2 = lim(13, "b", BUY, 99, 1)
    c = lim(14, "c", SELL, 99, 2)
    run(eng, st, d, b1, b2)
    s, ev = step(eng, c)
    # Prints 103 (through the trigger) then 99 (back below it): the stop is released.
    assert ev == [
        acc(c, s),
        trade(s, 2, b1, c, 103, 1, 0, 1),
        trade(s, 3, b2, c, 99, 1, 0, 0),
        triggered(s, st),
        trade(s, 4, d, st, 110, 1, 0, 0),
    ]


def test_V_STOP_2_a_sell_stop_triggers_at_or_below_whoever_traded() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    ss = stop(10, "a", SELL, 98, 2)
    m1 = lim(11, "m", BUY, 98, 1)
    m2 = lim(12, "m", BUY, 97, 5)
    t = lim(13, "a", SELL, 98, 1)  # the stop's own account prints the trigger
    run(eng, ss, m1, m2)
    s, ev = step(eng, t)
    assert ev == [
        acc(t, s),
        trade(s, 2, m1, t, 98, 1, 0, 0),
        triggered(s, ss),
        trade(s, 3, m2, ss, 97, 2, 3, 0),
    ]


def test_V_STOP_2_auction_prints_trigger_stops() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    st = stop(10, "a", BUY, 101, 2)
    run(eng, st)
    s, ev = step(eng, phase_to(HALTED))
    assert ev == [changed(s, HALTED, CONTINUOUS), ind(s, None, 0)]
    b = lim(11, "b", BUY, 101, 3)
    sl = lim(12, "c", SELL, 101, 3)
    m = lim(13, "m", SELL, 105, 5)
    run(eng, b, sl, m)
    s, ev = step(eng, phase_to(CONTINUOUS))
    assert ev == [
        changed(s, CONTINUOUS, HALTED),
        auction(s, 2, b, sl, 101, 3, 0, 0),
        triggered(s, st),
        trade(s, 3, m, st, 105, 2, 3, 0),
    ]
    assert eng.held(SYM) == []
    assert asks(eng) == [book_order(m, 3)]


def test_V_STOP_3_stops_release_in_rounds_in_seq_order() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    a = stop(10, "a", BUY, 104, 1)
    b = stop(11, "b", BUY, 102, 1)
    c = stop(12, "c", BUY, 101, 1)
    m1 = lim(13, "m", SELL, 101, 1)
    m2 = lim(14, "m", SELL, 102, 1)
    m3 = lim(15, "m", SELL, 104, 1)
    m4 = lim(16, "m", SELL, 105, 1)
    t = lim(17, "t", BUY, 102, 2)
    run(eng, a, b, c, m1, m2, m3, m4)
    assert eng.held(SYM) == [held(a), held(b), held(c)]
    s, ev = step(eng, t)
    # Round 1: b and c (triggered by t's prints 101 and 102), in seq order, not
    # trigger order; b's print 104 triggers a, which waits for round 2 although
    # it is older than c. Every event carries t's seq.
    assert ev == [
        acc(t, s),
        trade(s, 2, m1, t, 101, 1, 0, 1),
        trade(s, 3, m2, t, 102, 1, 0, 0),
        triggered(s, b),
        trade(s, 4, m3, b, 104, 1, 0, 0),
        triggered(s, c),
        trade(s, 5, m4, c, 105, 1, 0, 0),
        triggered(s, a),
        cxl(s, a, 1, C.MARKET_REMAINDER),
    ]
    assert eng.held(SYM) == []
    assert eng.l3(SYM) == []


def test_V_STOP_3_a_released_stop_applies_its_own_stp_mode() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    st = stop(10, "a", BUY, 101, 3, stp=StpMode.CANCEL_MAKER)
    own = lim(11, "a", SELL, 102, 2)
    m = lim(12, "m", SELL, 103, 5)
    m0 = lim(13, "m", SELL, 101, 1)
    t = lim(14, "t", BUY, 101, 1)
    run(eng, st, own, m, m0)
    s, ev = step(eng, t)
    assert ev == [
        acc(t, s),
        trade(s, 2, m0, t, 101, 1, 0, 0),
        triggered(s, st),
        cxl(s, own, 2, C.STP),
        trade(s, 3, m, st, 103, 3, 2, 0),
    ]


def test_V_STOP_3_a_stop_of_another_symbol_is_not_triggered() -> None:
    eng = MatchingEngine()
    st = stop(1, "a", BUY, 101, 1)
    run(eng, st)
    prime(eng, 150, symbol="T")
    assert eng.held(SYM) == [held(st)]


def test_V_STOP_4_a_stop_through_the_last_price_is_rejected() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    cases = [
        (stop(1, "a", BUY, 100, 1), False),
        (stop(2, "a", BUY, 99, 1), False),
        (stop(3, "a", BUY, 101, 1), True),
        (stop(4, "a", SELL, 100, 1), False),
        (stop(5, "a", SELL, 101, 1), False),
        (stop(6, "a", SELL, 99, 1), True),
        (stop_limit(7, "a", BUY, 100, 105, 1), False),
        (stop_limit(8, "a", SELL, 100, 95, 1), False),
        (stop_limit(9, "a", SELL, 99, 95, 1), True),
    ]
    for cmd, ok in cases:
        s, ev = step(eng, cmd)
        assert ev == ([acc(cmd, s)] if ok else [rej(s, NEW, cmd, R.STOP_WOULD_TRIGGER)]), cmd
    assert [h.order_id for h in eng.held(SYM)] == [3, 6, 9]


def test_V_STOP_4_with_no_trade_yet_in_the_symbol_any_trigger_is_accepted() -> None:
    eng = MatchingEngine()
    prime(eng, 100, symbol="T")  # another symbol's trade sets no last price here
    b = stop(1, "a", BUY, 1, 1)
    sl = stop(2, "a", SELL, 1_000_000, 1)
    for cmd in (b, sl):
        s, ev = step(eng, cmd)
        assert ev == [acc(cmd, s)]
    assert eng.held(SYM) == [held(b), held(sl)]


def test_V_STOP_5_a_stop_is_held_gtc_day_or_gtd_never_ioc_or_fok() -> None:
    eng = MatchingEngine()
    ioc = stop(1, "a", BUY, 105, 1, tif=IOC)
    fok = stop(2, "a", BUY, 105, 1, tif=FOK)
    gtc = stop(3, "a", BUY, 105, 1)
    day = stop(4, "a", BUY, 105, 1, tif=DAY)
    gtd = stop(5, "a", BUY, 105, 1, tif=GTD, expire=1_000)
    for cmd in (ioc, fok):
        s, ev = step(eng, cmd)
        assert ev == [rej(s, NEW, cmd, R.STOP_NOT_HELD_TIF)]
    for cmd in (gtc, day, gtd):
        s, ev = step(eng, cmd)
        assert ev == [acc(cmd, s)]
    assert eng.held(SYM) == [held(gtc), held(day), held(gtd)]
    s, ev = step(eng, Clock(1_000))
    assert ev == [cxl(s, gtd, 1, C.EXPIRED)]
    assert eng.held(SYM) == [held(gtc), held(day)]


def _stop_limit_release(tif: TimeInForce) -> tuple[MatchingEngine, NewOrder, list[NewOrder]]:
    eng = MatchingEngine()
    prime(eng, 100)
    st = stop_limit(10, "a", BUY, 101, 102, 5, tif=tif)
    makers = [lim(11, "m", SELL, 101, 1), lim(12, "m", SELL, 102, 2), lim(13, "m", SELL, 103, 5)]
    s, ev = step(eng, st)
    assert ev == [acc(st, s)]
    run(eng, *makers)
    assert eng.held(SYM) == [held(st)]
    return eng, st, makers


def test_V_STOP_5_a_stop_limit_ioc_is_held_then_released_as_ioc() -> None:
    eng, st, (m1, m2, m3) = _stop_limit_release(IOC)
    t = lim(14, "t", BUY, 101, 1)
    s, ev = step(eng, t)
    assert ev == [
        acc(t, s),
        trade(s, 2, m1, t, 101, 1, 0, 0),
        triggered(s, st),
        trade(s, 3, m2, st, 102, 2, 0, 3),
        cxl(s, st, 3, C.IOC_REMAINDER),
    ]
    assert eng.l3(SYM) == [book_order(m3, 5)]


def test_V_STOP_5_a_stop_limit_fok_is_held_then_released_as_fok() -> None:
    eng, st, (m1, m2, m3) = _stop_limit_release(FOK)
    t = lim(14, "t", BUY, 101, 1)
    s, ev = step(eng, t)
    assert ev == [
        acc(t, s),
        trade(s, 2, m1, t, 101, 1, 0, 0),
        triggered(s, st),
        cxl(s, st, 5, C.KILLED_FOK),
    ]
    assert eng.l3(SYM) == [book_order(m2, 2), book_order(m3, 5)]


def test_V_STOP_5_a_stop_limit_gtd_expires_while_held() -> None:
    eng = MatchingEngine()
    st = stop_limit(1, "a", SELL, 95, 90, 2, tif=GTD, expire=500, ts=100)
    s, ev = step(eng, st)
    assert ev == [acc(st, s)]
    assert run(eng, Clock(499)) == []
    s, ev = step(eng, Clock(500))
    assert ev == [cxl(s, st, 2, C.EXPIRED)]
    assert eng.held(SYM) == []


def test_V_STOP_5_the_limit_price_is_not_checked_against_the_trigger() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    st = stop_limit(10, "a", BUY, 105, 90, 4)  # a buy limit far below its trigger
    s, ev = step(eng, st)
    assert ev == [acc(st, s)]
    m = lim(11, "m", SELL, 105, 1)
    t = lim(12, "t", BUY, 105, 1)
    run(eng, m)
    s, ev = step(eng, t)
    assert ev == [acc(t, s), trade(s, 2, m, t, 105, 1, 0, 0), triggered(s, st)]
    assert bids(eng) == [book_order(st, 4)]


def test_V_STOP_6_cancel_works_on_held_stops() -> None:
    eng = MatchingEngine()
    st = stop(1, "a", BUY, 105, 3)
    run(eng, st)
    s, ev = step(eng, Cancel(1, "b"))
    assert ev == [rej(s, CANCEL, Cancel(1, "b"), R.NOT_YOUR_ORDER)]
    assert eng.held(SYM) == [held(st)]
    s, ev = step(eng, Cancel(1, "a"))
    assert ev == [cxl(s, st, 3, C.USER)]
    assert eng.held(SYM) == []
    s, ev = step(eng, Cancel(1, "a"))
    assert ev == [rej(s, CANCEL, Cancel(1, "a"), R.ORDER_NOT_RESTING)]


def test_V_STOP_6_replace_moves_a_stop_back_unless_only_its_quantity_is_cut() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    a = stop_limit(10, "a", BUY, 103, 110, 2)
    b = stop_limit(11, "b", BUY, 103, 110, 2)
    run(eng, a, b)

    def order() -> list[int]:
        return [h.order_id for h in eng.held(SYM)]

    # A new trigger: a goes to the back.
    s, ev = step(eng, Replace(10, "a", 110, 2, trigger_price=102))
    assert ev == [replaced(s, a, 110, 2, False, 102)]
    assert order() == [11, 10]
    # A quantity cut: b keeps its place.
    s, ev = step(eng, Replace(11, "b", 110, 1))
    assert ev == [replaced(s, b, 110, 1, True, 103)]
    assert order() == [11, 10]
    # A new limit: b goes to the back.
    s, ev = step(eng, Replace(11, "b", 111, 1))
    assert ev == [replaced(s, b, 111, 1, False, 103)]
    assert order() == [10, 11]
    # More quantity: a goes to the back.
    s, ev = step(eng, Replace(10, "a", 110, 3))
    assert ev == [replaced(s, a, 110, 3, False, 102)]
    assert order() == [11, 10]
    # The same trigger, limit and quantity named again: kept.
    s, ev = step(eng, Replace(11, "b", 111, 1, trigger_price=103))
    assert ev == [replaced(s, b, 111, 1, True, 103)]
    assert eng.held(SYM) == [
        HeldOrder(SYM, BUY, STOP_LIMIT, 103, 111, 11, "b", 1),
        HeldOrder(SYM, BUY, STOP_LIMIT, 102, 110, 10, "a", 3),
    ]
    # Both trigger on one print: released in that order.
    m = lim(12, "m", SELL, 103, 1)
    m2 = lim(13, "m", SELL, 104, 10)
    t = lim(14, "t", BUY, 103, 1)
    run(eng, m, m2)
    s, ev = step(eng, t)
    assert ev == [
        acc(t, s),
        trade(s, 2, m, t, 103, 1, 0, 0),
        Triggered(s, 11, "b", SYM, BUY, 103, LIMIT, GTC, 111, 1),
        trade(s, 3, m2, b, 104, 1, 9, 0),
        Triggered(s, 10, "a", SYM, BUY, 102, LIMIT, GTC, 110, 3),
        trade(s, 4, m2, a, 104, 3, 6, 0),
    ]


def test_V_STOP_6_a_new_trigger_through_the_last_price_is_rejected() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    st = stop(10, "a", SELL, 95, 2)
    run(eng, st)
    for trigger in (100, 101):
        cmd = Replace(10, "a", None, 2, trigger_price=trigger)
        s, ev = step(eng, cmd)
        assert ev == [rej(s, REPLACE, cmd, R.STOP_WOULD_TRIGGER)]
        assert eng.held(SYM) == [held(st)]
    s, ev = step(eng, Replace(10, "a", None, 5, trigger_price=96))
    assert ev == [replaced(s, st, None, 5, False, 96)]
    assert eng.held(SYM) == [held(st, qty=5, trigger=96)]


def test_V_STOP_6_replace_checks_of_a_held_stop_and_a_stops_price_stays_empty() -> None:
    eng = MatchingEngine()
    st = stop(1, "a", BUY, 105, 2)
    sl = stop_limit(2, "a", BUY, 105, 106, 2)
    run(eng, st, sl)
    cases = [
        (Replace(1, "a", 100, 2), R.MARKET_WITH_PRICE),
        (Replace(2, "a", None, 2), R.INVALID_PRICE),
        (Replace(2, "a", 0, 2), R.INVALID_PRICE),
        (Replace(1, "a", None, 0), R.INVALID_QUANTITY),
        (Replace(1, "a", None, 2, trigger_price=0), R.INVALID_TRIGGER_PRICE),
        (Replace(1, "b", None, 2), R.NOT_YOUR_ORDER),
    ]
    for cmd, reason in cases:
        s, ev = step(eng, cmd)
        assert ev == [rej(s, REPLACE, cmd, reason)], cmd
    assert eng.held(SYM) == [held(st), held(sl)]
    s, ev = step(eng, Replace(1, "a", None, 1))
    assert ev == [replaced(s, st, None, 1, True, 105)]
    assert eng.held(SYM) == [held(st, qty=1), held(sl)]


def test_V_STOP_6_mass_cancel_takes_held_stops_in_the_order_they_became_live() -> None:
    eng = MatchingEngine()
    st = stop(1, "a", BUY, 105, 2)
    r = lim(2, "a", SELL, 110, 3)
    other = lim(3, "b", SELL, 111, 1)
    st2 = stop_limit(4, "a", SELL, 90, 89, 1)
    run(eng, st, r, other, st2)
    s, ev = step(eng, MassCancel("a"))
    assert ev == [
        cxl(s, st, 2, C.MASS_CANCEL),
        cxl(s, r, 3, C.MASS_CANCEL),
        cxl(s, st2, 1, C.MASS_CANCEL),
        MassCancelled(s, "a", None, 3, C.MASS_CANCEL),
    ]
    assert eng.held(SYM) == []
    assert eng.l3(SYM) == [book_order(other, 1)]


def test_V_STOP_7_stops_may_be_entered_in_call_phases() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    s, ev = step(eng, phase_to(PRE_OPEN))
    assert ev == [changed(s, PRE_OPEN, CONTINUOUS), ind(s, None, 0)]
    st = stop(10, "a", BUY, 101, 2)
    sl = stop_limit(11, "a", SELL, 99, 98, 2, tif=DAY)
    for cmd in (st, sl):
        s, ev = step(eng, cmd)
        assert ev == [acc(cmd, s)]  # held: the indicative does not change
    assert eng.held(SYM) == [held(st), held(sl)]
    assert eng.l3(SYM) == []
    assert eng.indicative(SYM) == NOTHING


def test_V_STOP_7_stops_triggered_by_a_closing_uncross_are_cancelled_market_closed() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    st = stop(10, "a", BUY, 101, 2)
    sl = stop_limit(11, "a", BUY, 101, 102, 3, tif=DAY)
    d = lim(12, "d", BUY, 90, 1, tif=DAY)
    run(eng, st, sl, d)
    s, ev = step(eng, phase_to(CLOSING_AUCTION))
    assert ev == [changed(s, CLOSING_AUCTION, CONTINUOUS), ind(s, None, 0)]
    b = lim(13, "b", BUY, 101, 3)
    c = lim(14, "c", SELL, 101, 3)
    run(eng, b, c)
    assert eng.indicative(SYM) == IndicativeUncross(101, 3, None, 0)
    s, ev = step(eng, phase_to(CLOSED))
    # The DAY stop-limit left the held set at the uncross: released into CLOSED,
    # not expired; the DAY limit order expires first (step 4 before step 5).
    assert ev == [
        changed(s, CLOSED, CLOSING_AUCTION),
        auction(s, 2, b, c, 101, 3, 0, 0),
        cxl(s, d, 1, C.EXPIRED),
        triggered(s, st),
        cxl(s, st, 2, C.MARKET_CLOSED),
        triggered(s, sl),
        cxl(s, sl, 3, C.MARKET_CLOSED),
    ]
    assert eng.held(SYM) == []
    assert eng.l3(SYM) == []
    assert eng.indicative(SYM) is None


# ===================================================================== V-ICE
def test_V_ICE_1_display_qty_on_a_resting_limit_order() -> None:
    eng = MatchingEngine()
    gtc = lim(1, "a", SELL, 100, 10, display=3)
    day = lim(2, "a", SELL, 101, 5, tif=DAY, display=1)
    gtd = lim(3, "a", SELL, 102, 4, tif=GTD, expire=10**12, display=4)  # = qty: a plain order
    for cmd in (gtc, day, gtd):
        s, ev = step(eng, cmd)
        assert ev == [acc(cmd, s)]
    assert asks(eng) == [book_order(gtc, 3, 7), book_order(day, 1, 4), book_order(gtd, 4, 0)]


@pytest.mark.parametrize(
    "cmd",
    [
        lim(1, "a", BUY, 100, 10, tif=IOC, display=3),
        lim(1, "a", BUY, 100, 10, tif=FOK, display=3),
        NewOrder(1, "a", SYM, BUY, MARKET, None, 10, display_qty=3),
        NewOrder(1, "a", SYM, BUY, STOP, None, 10, trigger_price=105, display_qty=3),
        NewOrder(1, "a", SYM, BUY, STOP_LIMIT, 106, 10, trigger_price=105, display_qty=3),
        lim(1, "a", BUY, 100, 10, display=0),
        lim(1, "a", BUY, 100, 10, display=-1),
        lim(1, "a", BUY, 100, 10, display=11),
    ],
    ids=["ioc", "fok", "market", "stop", "stop_limit", "zero", "negative", "above_qty"],
)
def test_V_ICE_1_a_bad_display_qty_is_rejected(cmd: NewOrder) -> None:
    eng = MatchingEngine()
    s, ev = step(eng, cmd)
    assert ev == [rej(s, NEW, cmd, R.BAD_DISPLAY_QTY)]
    assert eng.l3(SYM) == []
    assert eng.held(SYM) == []


def test_V_ICE_2_only_the_slice_shows_and_matches_then_refreshes_to_the_back() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 10, display=3)
    p = lim(2, "b", SELL, 100, 2)
    run(eng, ice, p)
    assert eng.depth(SYM, 5) == Depth([], [(100, 5)])
    assert eng.bbo(SYM) == BBO(None, 0, 100, 5)
    t = lim(3, "c", BUY, 100, 5)
    s, ev = step(eng, t)
    assert ev == [
        acc(t, s),
        trade(s, 1, ice, t, 100, 3, 7, 2),
        refreshed(s, ice, 3, 7),
        trade(s, 2, p, t, 100, 2, 0, 0),
    ]
    assert asks(eng) == [book_order(ice, 3, 4)]


def test_V_ICE_2_a_taker_running_out_with_the_slice_still_refreshes_it() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 10, display=3)
    p = lim(2, "b", SELL, 100, 2)
    t = lim(3, "c", BUY, 100, 3)
    run(eng, ice, p)
    s, ev = step(eng, t)
    assert ev == [acc(t, s), trade(s, 1, ice, t, 100, 3, 7, 0), refreshed(s, ice, 3, 7)]
    assert asks(eng) == [book_order(p, 2), book_order(ice, 3, 4)]
    assert eng.depth(SYM, 5) == Depth([], [(100, 5)])


def test_V_ICE_2_matching_goes_on_through_refreshed_slices() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 7, display=3)
    t = lim(2, "c", BUY, 101, 8)
    run(eng, ice)
    s, ev = step(eng, t)
    assert ev == [
        acc(t, s),
        trade(s, 1, ice, t, 100, 3, 4, 5),
        refreshed(s, ice, 3, 4),
        trade(s, 2, ice, t, 100, 3, 1, 2),
        refreshed(s, ice, 1, 1),  # the last slice: min(display_qty, leaves)
        trade(s, 3, ice, t, 100, 1, 0, 1),
    ]
    assert asks(eng) == []
    assert bids(eng) == [book_order(t, 1)]


def test_V_ICE_3_an_incoming_iceberg_trades_its_whole_quantity() -> None:
    eng = MatchingEngine()
    m = lim(1, "m", SELL, 100, 5)
    ice = lim(2, "a", BUY, 100, 8, display=2)
    run(eng, m)
    s, ev = step(eng, ice)
    assert ev == [acc(ice, s), trade(s, 1, m, ice, 100, 5, 0, 3)]
    assert bids(eng) == [book_order(ice, 2, 1)]
    assert eng.depth(SYM, 5) == Depth([(100, 2)], [])


def test_V_ICE_3_a_fok_dry_run_counts_hidden_quantity_reached_by_refreshes() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 7, display=3)
    run(eng, ice)
    big = lim(2, "b", BUY, 100, 8, tif=FOK)
    s, ev = step(eng, big)
    assert ev == [acc(big, s), cxl(s, big, 8, C.KILLED_FOK)]
    assert asks(eng) == [book_order(ice, 3, 4)]
    fok = lim(3, "b", BUY, 100, 7, tif=FOK)
    s, ev = step(eng, fok)
    assert ev == [
        acc(fok, s),
        trade(s, 1, ice, fok, 100, 3, 4, 4),
        refreshed(s, ice, 3, 4),
        trade(s, 2, ice, fok, 100, 3, 1, 1),
        refreshed(s, ice, 1, 1),
        trade(s, 3, ice, fok, 100, 1, 0, 0),
    ]
    assert eng.l3(SYM) == []


def test_V_ICE_3_a_fok_dry_run_follows_refreshes_to_the_back() -> None:
    # Queue at 100: ice's slice of 2, then b's own order, then ice's next slices.
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 6, display=2)
    own = lim(2, "b", SELL, 100, 2)
    run(eng, ice, own)
    whole = lim(3, "b", BUY, 100, 6, tif=FOK, stp=StpMode.CANCEL_TAKER)
    s, ev = step(eng, whole)
    assert ev == [acc(whole, s), cxl(s, whole, 6, C.KILLED_FOK)]  # STP stops it after 2
    first = lim(4, "b", BUY, 100, 2, tif=FOK, stp=StpMode.CANCEL_TAKER)
    s, ev = step(eng, first)
    assert ev == [acc(first, s), trade(s, 1, ice, first, 100, 2, 4, 0), refreshed(s, ice, 2, 4)]
    assert asks(eng) == [book_order(own, 2), book_order(ice, 2, 2)]


def test_V_ICE_4_decrement_meets_only_the_slice_and_refreshes_it() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 10, display=3)
    t = lim(2, "a", BUY, 100, 5, stp=StpMode.DECREMENT)
    run(eng, ice)
    s, ev = step(eng, t)
    assert ev == [
        acc(t, s),
        reduced(s, ice, 3, 7),
        refreshed(s, ice, 3, 7),
        reduced(s, t, 3, 2),
        reduced(s, ice, 2, 5),
        cxl(s, t, 2, C.STP),
    ]
    assert asks(eng) == [book_order(ice, 1, 4)]
    assert bids(eng) == []


def test_V_ICE_4_decrement_emptying_the_last_slice_cancels_the_iceberg() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 4, display=3)
    run(eng, ice, lim(2, "c", BUY, 100, 3))
    assert asks(eng) == [book_order(ice, 1, 0)]
    t = lim(3, "a", BUY, 100, 2, stp=StpMode.DECREMENT)
    s, ev = step(eng, t)
    assert ev == [acc(t, s), cxl(s, ice, 1, C.STP), reduced(s, t, 1, 1)]
    assert asks(eng) == []
    assert bids(eng) == [book_order(t, 1)]


def test_V_ICE_4_cancel_maker_cancels_the_whole_iceberg() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 10, display=3)
    p = lim(2, "b", SELL, 100, 2)
    t = lim(3, "a", BUY, 100, 4, stp=StpMode.CANCEL_MAKER)
    run(eng, ice, p)
    s, ev = step(eng, t)
    assert ev == [acc(t, s), cxl(s, ice, 10, C.STP), trade(s, 1, p, t, 100, 2, 0, 2)]
    assert asks(eng) == []
    assert bids(eng) == [book_order(t, 2)]


def test_V_ICE_4_cancel_both_cancels_the_whole_iceberg() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 10, display=3)
    p = lim(2, "b", SELL, 100, 2)
    t = lim(3, "a", BUY, 100, 4, stp=StpMode.CANCEL_BOTH)
    run(eng, ice, p)
    s, ev = step(eng, t)
    assert ev == [acc(t, s), cxl(s, ice, 10, C.STP), cxl(s, t, 4, C.STP)]
    assert eng.l3(SYM) == [book_order(p, 2)]


def test_V_ICE_4_stp_meets_the_slice_where_it_stands_in_the_queue() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 6, display=2)
    p = lim(2, "b", SELL, 100, 2)
    run(eng, ice, p, lim(3, "c", BUY, 100, 2))  # ice's first slice fills: it goes behind p
    assert asks(eng) == [book_order(p, 2), book_order(ice, 2, 2)]
    t = lim(4, "a", BUY, 100, 3, stp=StpMode.CANCEL_TAKER)
    s, ev = step(eng, t)
    assert ev == [acc(t, s), trade(s, 2, p, t, 100, 2, 0, 1), cxl(s, t, 1, C.STP)]
    assert asks(eng) == [book_order(ice, 2, 2)]


def test_V_ICE_5_a_cut_keeps_its_place_and_comes_out_of_the_hidden_part() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 10, display=3)
    p = lim(2, "b", SELL, 100, 1)
    run(eng, ice, p)
    s, ev = step(eng, Replace(1, "a", 100, 8))
    assert ev == [replaced(s, ice, 100, 8, True)]
    assert asks(eng) == [book_order(ice, 3, 5), book_order(p, 1)]
    s, ev = step(eng, Replace(1, "a", 100, 2))
    assert ev == [replaced(s, ice, 100, 2, True)]
    assert asks(eng) == [book_order(ice, 2, 0), book_order(p, 1)]


def test_V_ICE_5_more_quantity_goes_to_the_back_with_the_same_display_qty() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 10, display=3)
    p = lim(2, "b", SELL, 100, 1)
    run(eng, ice, p)
    s, ev = step(eng, Replace(1, "a", 100, 12))
    assert ev == [replaced(s, ice, 100, 12, False)]
    assert asks(eng) == [book_order(p, 1), book_order(ice, 3, 9)]


def test_V_ICE_5_owner_reports_carry_the_whole_leaves_the_feed_only_the_slice() -> None:
    eng = MatchingEngine()
    ice = lim(1, "a", SELL, 100, 10, display=3)
    t = lim(2, "b", BUY, 100, 1)
    run(eng, ice)
    s, ev = step(eng, t)
    assert ev == [acc(t, s), trade(s, 1, ice, t, 100, 1, 9, 0)]  # no refresh: 2 still show
    assert eng.depth(SYM, 5) == Depth([], [(100, 2)])
    assert eng.bbo(SYM) == BBO(None, 0, 100, 2)
    assert asks(eng) == [book_order(ice, 2, 7)]
    s, ev = step(eng, Cancel(1, "a"))
    assert ev == [cxl(s, ice, 9, C.USER)]


# ===================================================================== V-EXP
def test_V_EXP_1_gtd_needs_an_expire_ts_after_the_batch_time() -> None:
    eng = MatchingEngine()
    run(eng, Clock(1_000))
    cases = [
        (lim(1, "a", BUY, 100, 1, tif=GTD), R.INVALID_EXPIRE_TS),
        (lim(2, "a", BUY, 100, 1, tif=GTD, expire=0), R.INVALID_EXPIRE_TS),
        (lim(3, "a", BUY, 100, 1, expire=5_000), R.INVALID_EXPIRE_TS),
        (lim(4, "a", BUY, 100, 1, tif=DAY, expire=5_000), R.INVALID_EXPIRE_TS),
        (lim(5, "a", BUY, 100, 1, tif=GTD, expire=999), R.EXPIRE_TS_PASSED),
        (lim(6, "a", BUY, 100, 1, tif=GTD, expire=1_000), R.EXPIRE_TS_PASSED),
        (lim(7, "a", BUY, 100, 1, tif=GTD, expire=1_500, ts=1_500), R.EXPIRE_TS_PASSED),
    ]
    for cmd, reason in cases:
        s, ev = step(eng, cmd)
        assert ev == [rej(s, NEW, cmd, reason)], cmd
    ok = lim(8, "a", BUY, 100, 1, tif=GTD, expire=1_501, ts=1_500)
    s, ev = step(eng, ok)
    assert ev == [acc(ok, s)]
    assert eng.l3(SYM) == [book_order(ok, 1)]
    s, ev = step(eng, Clock(1_501))
    assert ev == [cxl(s, ok, 1, C.EXPIRED)]


def test_V_EXP_1_with_no_time_given_yet_no_expire_ts_has_passed() -> None:
    eng = MatchingEngine()
    g = lim(1, "a", BUY, 100, 1, tif=GTD, expire=1)
    s, ev = step(eng, g)
    assert ev == [acc(g, s)]
    assert eng.now == 0
    t = lim(2, "b", SELL, 101, 1, ts=5)
    s, ev = step(eng, t)
    assert ev == [cxl(s, g, 1, C.EXPIRED), acc(t, s)]


def test_V_EXP_2_day_orders_resting_or_held_expire_on_close_in_seq_order() -> None:
    eng = MatchingEngine()
    d1 = lim(1, "a", BUY, 99, 2, tif=DAY)
    ds = stop(2, "b", BUY, 150, 1, tif=DAY)
    g = lim(3, "c", BUY, 98, 1)
    d2 = lim(4, "d", SELL, 105, 3, tif=DAY, display=1)
    d3 = lim(5, "e", SELL, 106, 1, tif=DAY)
    run(eng, d1, ds, g, d2, d3)
    s, ev = step(eng, Replace(1, "a", 100, 2))  # moves it, not its NEW's seq
    assert ev == [replaced(s, d1, 100, 2, False)]
    s, ev = step(eng, phase_to(CLOSED))
    assert ev == [
        changed(s, CLOSED, CONTINUOUS),
        cxl(s, d1, 2, C.EXPIRED, price=100),
        cxl(s, ds, 1, C.EXPIRED),
        cxl(s, d2, 3, C.EXPIRED),
        cxl(s, d3, 1, C.EXPIRED),
    ]
    assert eng.l3(SYM) == [book_order(g, 1)]
    assert eng.held(SYM) == []


def test_V_EXP_2_day_orders_expire_after_the_closing_uncross() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(CLOSING_AUCTION))
    b = lim(1, "a", BUY, 100, 5, tif=DAY)
    sl = lim(2, "b", SELL, 100, 3, tif=DAY)
    run(eng, b, sl)
    s, ev = step(eng, phase_to(CLOSED))
    assert ev == [
        changed(s, CLOSED, CLOSING_AUCTION),
        auction(s, 1, b, sl, 100, 3, 2, 0),
        cxl(s, b, 2, C.EXPIRED),
    ]
    assert eng.l3(SYM) == []


def test_V_EXP_2_post_only_is_allowed_with_day_and_gtd() -> None:
    eng = MatchingEngine()
    day = lim(1, "a", BUY, 99, 1, tif=DAY, post_only=True)
    gtd = lim(2, "a", BUY, 98, 1, tif=GTD, expire=10**15, post_only=True)
    m = lim(3, "b", SELL, 101, 1)
    for cmd in (day, gtd, m):
        s, ev = step(eng, cmd)
        assert ev == [acc(cmd, s)]
    cross = lim(4, "a", BUY, 101, 2, tif=DAY, post_only=True)
    s, ev = step(eng, cross)
    assert ev == [acc(cross, s), cxl(s, cross, 2, C.POST_ONLY)]
    ioc = lim(5, "a", BUY, 90, 1, tif=IOC, post_only=True)
    s, ev = step(eng, ioc)
    assert ev == [rej(s, NEW, ioc, R.POST_ONLY_NOT_GTC_LIMIT)]
    assert bids(eng) == [book_order(day, 1), book_order(gtd, 1)]


# ===================================================================== V-SES
def test_V_SES_1_a_symbol_without_transitions_is_continuous() -> None:
    eng = MatchingEngine()
    assert eng.phase(SYM) is CONTINUOUS
    sl = lim(1, "a", SELL, 100, 1)
    b = lim(2, "b", BUY, 100, 1)
    run(eng, sl)
    s, ev = step(eng, b)
    assert ev == [acc(b, s), trade(s, 1, sl, b, 100, 1, 0, 0)]
    assert run(eng, phase_to(CONTINUOUS)) == []
    assert eng.phase(SYM) is CONTINUOUS
    assert eng.indicative(SYM) is None


def test_V_SES_1_any_transition_is_allowed_and_a_repeat_emits_nothing() -> None:
    eng = MatchingEngine()
    previous = CONTINUOUS
    path = [PRE_OPEN, CLOSED, HALTED, OPENING_AUCTION, CLOSING_AUCTION, CONTINUOUS, CLOSED]
    path += [PRE_OPEN, CONTINUOUS, HALTED, CLOSED, CONTINUOUS]
    for phase in path:
        s, ev = step(eng, phase_to(phase))
        expected: list[Event] = [changed(s, phase, previous)]
        if phase in CALL_PHASES:
            expected.append(ind(s, None, 0))
        assert ev == expected, (previous, phase)
        assert eng.phase(SYM) is phase
        assert run(eng, phase_to(phase)) == []
        assert eng.phase(SYM) is phase
        previous = phase


def test_V_SES_1_an_unknown_phase_is_rejected() -> None:
    eng = MatchingEngine()
    s, ev = step(eng, phase_to("LUNCH"))
    assert len(ev) == 1
    assert isinstance(ev[0], Rejected)
    assert (ev[0].seq, ev[0].command, ev[0].reason) == (s, CommandKind.SET_PHASE, R.UNKNOWN_PHASE)
    assert eng.phase(SYM) is CONTINUOUS


def test_V_SES_1_phases_are_per_symbol() -> None:
    eng = MatchingEngine()
    s, ev = step(eng, phase_to(PRE_OPEN, symbol="T"))
    assert ev == [
        PhaseChanged(s, "T", PRE_OPEN, CONTINUOUS),
        Indicative(s, "T", None, 0, None, 0),
    ]
    assert eng.phase("T") is PRE_OPEN
    assert eng.phase(SYM) is CONTINUOUS
    sl = lim(1, "a", SELL, 100, 1)
    b = lim(2, "b", BUY, 100, 1)
    run(eng, sl)
    s, ev = step(eng, b)
    assert ev == [acc(b, s), trade(s, 1, sl, b, 100, 1, 0, 0)]


@pytest.mark.parametrize("phase", CALL_PHASES, ids=lambda p: p.name)
def test_V_SES_2_in_a_call_phase_orders_rest_and_nothing_matches(phase: TradingPhase) -> None:
    eng = MatchingEngine()
    s, ev = step(eng, phase_to(phase))
    assert ev == [changed(s, phase, CONTINUOUS), ind(s, None, 0)]
    sl = lim(1, "a", SELL, 100, 5)
    b = lim(2, "b", BUY, 101, 3)
    s, ev = step(eng, sl)
    assert ev == [acc(sl, s)]
    s, ev = step(eng, b)
    assert ev == [acc(b, s), ind(s, 100, 3, SELL, 2)]
    assert asks(eng) == [book_order(sl, 5)]
    assert bids(eng) == [book_order(b, 3)]
    assert eng.indicative(SYM) == IndicativeUncross(100, 3, SELL, 2)
    s, ev = step(eng, Cancel(2, "b"))
    assert ev == [cxl(s, b, 3, C.USER), ind(s, None, 0)]
    assert eng.indicative(SYM) == NOTHING


@pytest.mark.parametrize("phase", CALL_PHASES, ids=lambda p: p.name)
def test_V_SES_2_limit_ioc_and_fok_are_rejected_in_call_phases(phase: TradingPhase) -> None:
    eng = MatchingEngine()
    run(eng, phase_to(phase), lim(1, "a", SELL, 100, 5))
    for cmd in (lim(2, "b", BUY, 100, 5, tif=IOC), lim(3, "b", BUY, 100, 5, tif=FOK)):
        s, ev = step(eng, cmd)
        assert ev == [rej(s, NEW, cmd, R.NOT_IN_CALL_PHASE)]
    assert bids(eng) == []


def test_V_SES_2_market_orders_wait_in_the_call_book() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(PRE_OPEN))
    mb = mkt(1, "a", BUY, 3)
    s, ev = step(eng, mb)
    assert ev == [acc(mb, s)]  # nothing executable yet: the indicative is unchanged
    assert eng.held(SYM) == [HeldOrder(SYM, BUY, MARKET, None, None, 1, "a", 3)]
    assert eng.l3(SYM) == []
    sl = lim(2, "b", SELL, 100, 2)
    s, ev = step(eng, sl)
    assert ev == [acc(sl, s), ind(s, 100, 2, BUY, 1)]
    cmd = Replace(1, "a", 100, 2)
    s, ev = step(eng, cmd)
    assert ev == [rej(s, REPLACE, cmd, R.MARKET_NOT_REPLACEABLE)]
    assert eng.held(SYM) == [held(mb)]
    s, ev = step(eng, Cancel(1, "a"))
    assert ev == [cxl(s, mb, 3, C.USER), ind(s, None, 0)]
    assert eng.held(SYM) == []


def test_V_SES_2_post_only_is_checked_against_the_best_opposite_limit_order() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(PRE_OPEN))
    ms = mkt(1, "a", SELL, 2)
    po = lim(2, "b", BUY, 101, 3, post_only=True)
    sl = lim(3, "c", SELL, 102, 1)
    po2 = lim(4, "d", BUY, 102, 1, post_only=True)
    s, ev = step(eng, ms)
    assert ev == [acc(ms, s)]
    s, ev = step(eng, po)  # a waiting market sell is no price to cross
    assert ev == [acc(po, s), ind(s, 101, 2, BUY, 1)]
    s, ev = step(eng, sl)
    assert ev == [acc(sl, s)]
    s, ev = step(eng, po2)
    assert ev == [acc(po2, s), cxl(s, po2, 1, C.POST_ONLY)]
    assert bids(eng) == [book_order(po, 3)]


def test_V_SES_2_a_replace_in_a_call_phase_never_matches() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(PRE_OPEN))
    sl = lim(1, "a", SELL, 102, 5)
    b = lim(2, "b", BUY, 100, 5)
    run(eng, sl, b)
    s, ev = step(eng, Replace(2, "b", 103, 5))
    assert ev == [replaced(s, b, 103, 5, False), ind(s, 102, 5, None, 0)]
    assert asks(eng) == [book_order(sl, 5)]
    assert bids(eng) == [book_order(b, 5, price=103)]
    po = lim(3, "c", SELL, 104, 1, post_only=True)
    s, ev = step(eng, po)
    assert ev == [acc(po, s)]
    cmd = Replace(3, "c", 103, 1)
    s, ev = step(eng, cmd)
    assert ev == [rej(s, REPLACE, cmd, R.POST_ONLY_WOULD_CROSS)]


@pytest.mark.parametrize("phase", [PRE_OPEN, OPENING_AUCTION, HALTED], ids=lambda p: p.name)
def test_V_SES_3_entering_continuous_uncrosses(phase: TradingPhase) -> None:
    eng = MatchingEngine()
    run(eng, phase_to(phase))
    b = lim(1, "a", BUY, 101, 3)
    sl = lim(2, "b", SELL, 100, 2)
    run(eng, b, sl)
    s, ev = step(eng, phase_to(CONTINUOUS))
    assert ev == [changed(s, CONTINUOUS, phase), auction(s, 1, b, sl, 100, 2, 1, 0)]
    assert eng.l3(SYM) == [book_order(b, 1)]
    assert eng.indicative(SYM) is None


def test_V_SES_3_a_closing_uncross_then_unfilled_market_orders_are_cancelled() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(CLOSING_AUCTION))
    m1 = mkt(1, "a", BUY, 5)
    m2 = mkt(2, "b", BUY, 2)
    sl = lim(3, "c", SELL, 100, 3)
    run(eng, m1, m2, sl)
    s, ev = step(eng, phase_to(CLOSED))
    assert ev == [
        changed(s, CLOSED, CLOSING_AUCTION),
        auction(s, 1, m1, sl, 100, 3, 2, 0),
        cxl(s, m1, 2, C.AUCTION_UNFILLED),
        cxl(s, m2, 2, C.AUCTION_UNFILLED),
    ]
    assert eng.held(SYM) == []
    assert eng.l3(SYM) == []


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (PRE_OPEN, OPENING_AUCTION),
        (OPENING_AUCTION, HALTED),
        (CLOSING_AUCTION, HALTED),
        (HALTED, CLOSING_AUCTION),
        (PRE_OPEN, CLOSED),
        (HALTED, CLOSED),
    ],
    ids=lambda p: p.name,
)
def test_V_SES_3_no_other_transition_uncrosses(start: TradingPhase, to: TradingPhase) -> None:
    eng = MatchingEngine()
    run(eng, phase_to(start))
    b = lim(1, "a", BUY, 101, 3)
    sl = lim(2, "b", SELL, 100, 2)
    run(eng, b, sl)
    s, ev = step(eng, phase_to(to))
    expected: list[Event] = [changed(s, to, start)]
    if to in CALL_PHASES:
        expected.append(ind(s, 100, 2, BUY, 1))
    assert ev == expected
    assert bids(eng) == [book_order(b, 3)]
    assert asks(eng) == [book_order(sl, 2)]


def test_V_SES_3_market_orders_wait_until_the_symbol_leaves_the_call_phases() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(PRE_OPEN))
    m = mkt(1, "a", BUY, 2)
    run(eng, m)
    s, ev = step(eng, phase_to(OPENING_AUCTION))
    assert ev == [changed(s, OPENING_AUCTION, PRE_OPEN), ind(s, None, 0)]
    assert eng.held(SYM) == [held(m)]
    s, ev = step(eng, phase_to(CONTINUOUS))
    assert ev == [changed(s, CONTINUOUS, OPENING_AUCTION), cxl(s, m, 2, C.AUCTION_UNFILLED)]
    assert eng.held(SYM) == []


def test_V_SES_4_in_closed_new_orders_and_replaces_are_rejected_cancels_accepted() -> None:
    eng = MatchingEngine()
    r = lim(1, "a", BUY, 99, 2)
    st = stop(2, "a", BUY, 105, 1)
    run(eng, r, st)
    s, ev = step(eng, phase_to(CLOSED))
    assert ev == [changed(s, CLOSED, CONTINUOUS)]
    news = [
        lim(3, "b", SELL, 99, 1),
        mkt(4, "b", SELL, 1),
        stop(5, "b", SELL, 90, 1),
        lim(6, "b", SELL, 120, 1, tif=DAY),
    ]
    for cmd in news:
        s, ev = step(eng, cmd)
        assert ev == [rej(s, NEW, cmd, R.MARKET_CLOSED)], cmd
    again = lim(3, "b", SELL, 99, 1)  # a NEW rejected MARKET_CLOSED used its id up
    s, ev = step(eng, again)
    assert ev == [rej(s, NEW, again, R.DUPLICATE_ORDER_ID)]
    bad = lim(7, "b", SELL, 99, 0)  # the earlier checks come first
    s, ev = step(eng, bad)
    assert ev == [rej(s, NEW, bad, R.INVALID_QUANTITY)]
    for cmd in (Replace(1, "a", 99, 1), Replace(2, "a", None, 1)):
        s, ev = step(eng, cmd)
        assert ev == [rej(s, REPLACE, cmd, R.MARKET_CLOSED)], cmd
    assert eng.l3(SYM) == [book_order(r, 2)]
    assert eng.held(SYM) == [held(st)]
    s, ev = step(eng, Cancel(1, "a"))
    assert ev == [cxl(s, r, 2, C.USER)]
    s, ev = step(eng, Cancel(2, "a"))
    assert ev == [cxl(s, st, 1, C.USER)]
    assert eng.l3(SYM) == []
    assert eng.held(SYM) == []


# ===================================================================== V-AUC
def test_V_AUC_1_the_uncross_price_maximises_executable_volume() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(PRE_OPEN))
    b1 = lim(1, "a", BUY, 102, 6)
    b2 = lim(2, "b", BUY, 101, 4)
    s1 = lim(3, "c", SELL, 100, 3)
    s2 = lim(4, "d", SELL, 101, 4)
    assert run(eng, b1)[1:] == []
    assert run(eng, b2)[1:] == []
    # 100: 10/3, 101: 10/3, 102: 6/3: volume 3 everywhere, smallest imbalance at 102.
    s, ev = step(eng, s1)
    assert ev == [acc(s1, s), ind(s, 102, 3, BUY, 3)]
    # 100: 10/3 -> 3, 101: 10/7 -> 7, 102: 6/7 -> 6.
    s, ev = step(eng, s2)
    assert ev == [acc(s2, s), ind(s, 101, 7, BUY, 3)]
    s, ev = step(eng, phase_to(CONTINUOUS))
    assert ev == [
        changed(s, CONTINUOUS, PRE_OPEN),
        auction(s, 1, b1, s1, 101, 3, 3, 0),
        auction(s, 2, b1, s2, 101, 3, 0, 1),
        auction(s, 3, b2, s2, 101, 1, 3, 0),
    ]
    assert eng.l3(SYM) == [book_order(b2, 3)]


def test_V_AUC_1_ties_go_to_the_smallest_imbalance_before_the_reference() -> None:
    eng = MatchingEngine(reference_prices={SYM: 101})
    run(eng, phase_to(PRE_OPEN))
    b = lim(1, "a", BUY, 101, 5)
    s1 = lim(2, "b", SELL, 100, 5)
    s2 = lim(3, "c", SELL, 101, 2)
    run(eng, b)
    s, ev = step(eng, s1)  # 100 and 101 both 5 with no imbalance: the reference decides
    assert ev == [acc(s1, s), ind(s, 101, 5, None, 0)]
    s, ev = step(eng, s2)  # 101 now has a surplus of 2: 100 wins despite the reference
    assert ev == [acc(s2, s), ind(s, 100, 5, None, 0)]


@pytest.mark.parametrize(
    ("reference", "price"), [(None, 100), (101, 101), (102, 102), (90, 100), (200, 102)]
)
def test_V_AUC_1_then_the_price_closest_to_the_reference_then_the_lower(
    reference: int | None, price: int
) -> None:
    eng = MatchingEngine(reference_prices=None if reference is None else {SYM: reference})
    run(eng, phase_to(PRE_OPEN))
    b = lim(1, "a", BUY, 102, 5)
    sl = lim(2, "b", SELL, 100, 5)
    run(eng, b)
    s, ev = step(eng, sl)
    assert ev == [acc(sl, s), ind(s, price, 5, None, 0)]
    s, ev = step(eng, phase_to(CONTINUOUS))
    assert ev == [changed(s, CONTINUOUS, PRE_OPEN), auction(s, 1, b, sl, price, 5, 0, 0)]


def test_V_AUC_1_with_market_orders_only_the_reference_price() -> None:
    eng = MatchingEngine(reference_prices={SYM: 100})
    run(eng, phase_to(PRE_OPEN))
    mb = mkt(1, "a", BUY, 3)
    ms = mkt(2, "b", SELL, 2)
    run(eng, mb)
    s, ev = step(eng, ms)
    assert ev == [acc(ms, s), ind(s, 100, 2, BUY, 1)]
    s, ev = step(eng, phase_to(CONTINUOUS))
    assert ev == [
        changed(s, CONTINUOUS, PRE_OPEN),
        auction(s, 1, mb, ms, 100, 2, 1, 0),
        cxl(s, mb, 1, C.AUCTION_UNFILLED),
    ]
    assert eng.held(SYM) == []


def test_V_AUC_2_the_last_trade_is_the_reference_over_the_configured_one() -> None:
    eng = MatchingEngine(reference_prices={SYM: 100})
    prime(eng, 105)
    run(eng, phase_to(PRE_OPEN))
    b = lim(1, "a", BUY, 106, 5)
    sl = lim(2, "b", SELL, 104, 5)
    run(eng, b)
    s, ev = step(eng, sl)
    assert ev == [acc(sl, s), ind(s, 105, 5, None, 0)]


def test_V_AUC_2_the_configured_reference_without_a_trade_in_the_symbol() -> None:
    eng = MatchingEngine(reference_prices={SYM: 104})
    prime(eng, 105, symbol="T")  # another symbol's trade is not this one's reference
    run(eng, phase_to(PRE_OPEN))
    b = lim(1, "a", BUY, 106, 5)
    sl = lim(2, "b", SELL, 104, 5)
    run(eng, b)
    s, ev = step(eng, sl)
    assert ev == [acc(sl, s), ind(s, 104, 5, None, 0)]


def test_V_AUC_2_a_set_phase_configures_the_reference_before_its_own_uncross() -> None:
    # The reference of the configuration, journalled: a scheduled SetPhase carries it.
    eng = MatchingEngine()
    run(eng, SetPhase(SYM, PRE_OPEN, 0, reference_price=104))
    b = lim(1, "a", BUY, 106, 5)
    sl = lim(2, "b", SELL, 102, 5)
    run(eng, b)
    s, ev = step(eng, sl)
    assert ev == [acc(sl, s), ind(s, 104, 5, None, 0)]
    # A later one moves it, and counts for the uncross of its own move.
    s, ev = step(eng, SetPhase(SYM, CONTINUOUS, 0, reference_price=103))
    assert ev == [changed(s, CONTINUOUS, PRE_OPEN), auction(s, 1, b, sl, 103, 5, 0, 0)]


def test_V_AUC_2_a_negative_reference_price_is_rejected_and_changes_nothing() -> None:
    eng = MatchingEngine(reference_prices={SYM: 104})
    for bad in (-1, -5):
        s, ev = step(eng, SetPhase(SYM, PRE_OPEN, 0, reference_price=bad))
        assert ev == [Rejected(s, CommandKind.SET_PHASE, 0, "", R.INVALID_PRICE)]
    assert eng.phase(SYM) is CONTINUOUS
    run(eng, SetPhase(SYM, HALTED, 0, reference_price=0))  # 0 is none: 104 stays
    run(eng, phase_to(CONTINUOUS))
    run(eng, phase_to(PRE_OPEN))
    b = lim(1, "a", BUY, 106, 5)
    sl = lim(2, "b", SELL, 102, 5)
    run(eng, b)
    s, ev = step(eng, sl)
    assert ev == [acc(sl, s), ind(s, 104, 5, None, 0)]  # still the configured 104


def test_V_AUC_2_with_no_reference_the_tie_break_is_skipped() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(PRE_OPEN))
    b = lim(1, "a", BUY, 106, 5)
    sl = lim(2, "b", SELL, 104, 5)
    run(eng, b)
    s, ev = step(eng, sl)
    assert ev == [acc(sl, s), ind(s, 104, 5, None, 0)]


def test_V_AUC_2_an_auction_print_becomes_the_reference() -> None:
    eng = MatchingEngine(reference_prices={SYM: 100})
    run(eng, phase_to(PRE_OPEN))
    b = lim(1, "a", BUY, 102, 1)
    sl = lim(2, "b", SELL, 102, 1)
    run(eng, b, sl)
    s, ev = step(eng, phase_to(CONTINUOUS))
    assert ev == [changed(s, CONTINUOUS, PRE_OPEN), auction(s, 1, b, sl, 102, 1, 0, 0)]
    run(eng, phase_to(HALTED))
    b2 = lim(3, "c", BUY, 103, 5)
    s2 = lim(4, "d", SELL, 101, 5)
    run(eng, b2)
    s, ev = step(eng, s2)
    assert ev == [acc(s2, s), ind(s, 102, 5, None, 0)]


def test_V_AUC_3_market_orders_first_then_price_time_priority() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(PRE_OPEN))
    s1 = lim(1, "a", SELL, 100, 3)
    s2 = lim(2, "b", SELL, 99, 2)
    ms = mkt(3, "c", SELL, 1)
    b1 = lim(4, "d", BUY, 101, 2)
    b2 = lim(5, "e", BUY, 101, 2)
    mb = mkt(6, "f", BUY, 2)
    run(eng, s1, s2, ms, b1, b2, mb)
    assert eng.indicative(SYM) == IndicativeUncross(100, 6, None, 0)
    s, ev = step(eng, phase_to(CONTINUOUS))
    assert ev == [
        changed(s, CONTINUOUS, PRE_OPEN),
        auction(s, 1, mb, ms, 100, 1, 1, 0),
        auction(s, 2, mb, s2, 100, 1, 0, 1),
        auction(s, 3, b1, s2, 100, 1, 1, 0),
        auction(s, 4, b1, s1, 100, 1, 0, 2),
        auction(s, 5, b2, s1, 100, 2, 0, 0),
    ]
    assert eng.l3(SYM) == []
    assert eng.held(SYM) == []


def test_V_AUC_3_icebergs_take_part_with_their_whole_leaves_slice_by_slice() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(PRE_OPEN))
    ice = lim(1, "a", SELL, 100, 6, display=2)
    p = lim(2, "b", SELL, 100, 3)
    b = lim(3, "c", BUY, 100, 7)
    run(eng, ice, p)
    assert eng.depth(SYM, 5) == Depth([], [(100, 5)])
    s, ev = step(eng, b)
    assert ev == [acc(b, s), ind(s, 100, 7, SELL, 2)]  # hidden quantity counts
    s, ev = step(eng, phase_to(CONTINUOUS))
    assert ev == [
        changed(s, CONTINUOUS, PRE_OPEN),
        auction(s, 1, b, ice, 100, 2, 5, 4),
        refreshed(s, ice, 2, 4),
        auction(s, 2, b, p, 100, 3, 2, 0),
        auction(s, 3, b, ice, 100, 2, 0, 2),
        refreshed(s, ice, 2, 2),
    ]
    assert eng.l3(SYM) == [book_order(ice, 2, 0)]


def test_V_AUC_3_stp_is_not_applied_in_an_uncross() -> None:
    eng = MatchingEngine()
    prime(eng, 100)
    run(eng, phase_to(PRE_OPEN))
    b = lim(1, "a", BUY, 100, 2, stp=StpMode.CANCEL_BOTH)
    sl = lim(2, "a", SELL, 100, 2, stp=StpMode.CANCEL_BOTH)
    run(eng, b, sl)
    s, ev = step(eng, phase_to(CONTINUOUS))
    # Trade ids are engine-wide: the continuous trade was 1.
    assert ev == [changed(s, CONTINUOUS, PRE_OPEN), auction(s, 2, b, sl, 100, 2, 0, 0)]


def test_V_AUC_3_if_nothing_can_execute_the_uncross_does_nothing() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(PRE_OPEN))
    b = lim(1, "a", BUY, 99, 1)
    sl = lim(2, "b", SELL, 101, 1)
    run(eng, b, sl)
    assert eng.indicative(SYM) == NOTHING
    s, ev = step(eng, phase_to(CONTINUOUS))
    assert ev == [changed(s, CONTINUOUS, PRE_OPEN)]
    assert bids(eng) == [book_order(b, 1)]
    assert asks(eng) == [book_order(sl, 1)]


def test_V_AUC_4_indicative_on_entering_and_after_each_input_that_changes_it() -> None:
    eng = MatchingEngine()
    b0 = lim(1, "a", BUY, 101, 5)
    s0 = lim(2, "b", SELL, 102, 5)
    run(eng, b0, s0)
    assert eng.indicative(SYM) is None
    s, ev = step(eng, phase_to(PRE_OPEN))
    assert ev == [changed(s, PRE_OPEN, CONTINUOUS), ind(s, None, 0)]
    assert eng.indicative(SYM) == NOTHING
    s1 = lim(3, "c", SELL, 100, 5)
    s, ev = step(eng, s1)
    assert ev == [acc(s1, s), ind(s, 100, 5, None, 0)]
    for cmd in (lim(4, "d", SELL, 110, 1), lim(5, "e", BUY, 90, 1)):
        s, ev = step(eng, cmd)
        assert ev == [acc(cmd, s)]  # the uncross is unchanged: nothing published
    ioc = lim(6, "f", BUY, 110, 1, tif=IOC)
    s, ev = step(eng, ioc)
    assert ev == [rej(s, NEW, ioc, R.NOT_IN_CALL_PHASE)]
    s, ev = step(eng, Replace(3, "c", 100, 4))
    assert ev == [replaced(s, s1, 100, 4, True), ind(s, 100, 4, BUY, 1)]
    assert eng.indicative(SYM) == IndicativeUncross(100, 4, BUY, 1)
    s, ev = step(eng, phase_to(OPENING_AUCTION))  # entering a call phase always publishes
    assert ev == [changed(s, OPENING_AUCTION, PRE_OPEN), ind(s, 100, 4, BUY, 1)]
    s, ev = step(eng, phase_to(CONTINUOUS))
    assert ev == [changed(s, CONTINUOUS, OPENING_AUCTION), auction(s, 1, b0, s1, 100, 4, 1, 0)]
    assert eng.indicative(SYM) is None


def test_V_AUC_4_an_expiry_in_a_call_phase_publishes_the_changed_indicative() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(PRE_OPEN, ts=10))
    b = lim(1, "a", BUY, 100, 2, ts=10)
    g = lim(2, "b", SELL, 100, 2, tif=GTD, expire=500, ts=10)
    run(eng, b)
    s, ev = step(eng, g)
    assert ev == [acc(g, s), ind(s, 100, 2, None, 0)]
    s, ev = step(eng, Clock(500))
    assert ev == [cxl(s, g, 2, C.EXPIRED), ind(s, None, 0)]
    assert eng.indicative(SYM) == NOTHING


def test_V_AUC_4_a_mass_cancel_publishes_after_its_events() -> None:
    eng = MatchingEngine()
    run(eng, phase_to(PRE_OPEN))
    m = mkt(1, "a", BUY, 2)
    st = stop(2, "a", SELL, 90, 1)
    r = lim(3, "a", BUY, 99, 1)
    o = lim(4, "b", SELL, 99, 3)
    run(eng, m, st, r)
    s, ev = step(eng, o)
    assert ev == [acc(o, s), ind(s, 99, 3, None, 0)]
    s, ev = step(eng, MassCancel("a"))
    assert ev == [
        cxl(s, m, 2, C.MASS_CANCEL),
        cxl(s, st, 1, C.MASS_CANCEL),
        cxl(s, r, 1, C.MASS_CANCEL),
        MassCancelled(s, "a", None, 3, C.MASS_CANCEL),
        ind(s, None, 0),
    ]
    assert eng.held(SYM) == []
    assert eng.l3(SYM) == [book_order(o, 3)]


# ================================================================ the index
def _rule_of(name: str) -> str | None:
    match = re.match(r"test_(V_[A-Z]+_\d+)_", name)
    return match.group(1).replace("_", "-") if match else None


def test_every_venue_rule_has_a_test() -> None:
    need(
        VENUE_RULES.is_file(),
        f"the venue contract is not at {VENUE_RULES} (a clone without ../shared/)",
    )
    rules = re.findall(r"\*\*(V-[A-Z]+-\d+)\*\*", VENUE_RULES.read_text(encoding="utf-8"))
    assert rules, f"no **V-XXX-N** rule found in {VENUE_RULES}"
    tests = [name for name, obj in globals().items() if name.startswith("test_") and callable(obj)]
    tested = {_rule_of(name) for name in tests} - {None}
    missing = [rule for rule in rules if rule not in tested]
    assert not missing, f"rules of VENUE_RULES.md without a test here: {missing}"
    unknown = sorted(str(rule) for rule in tested - set(rules))
    assert not unknown, f"tests named for rules VENUE_RULES.md does not have: {unknown}"
