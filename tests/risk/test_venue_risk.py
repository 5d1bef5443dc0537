"""Pre-trade and post-trade risk with the venue's order types (VENUE_RULES.md).

A held stop is an open order: it counts toward max_open_orders and toward the
worst-case position as if it filled; a STOP_LIMIT is checked at its limit price, a
STOP (no price) at the far edge of the price band from the reference. An auction's
executions move positions and last prices as any trade does.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import Encoder, decode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import Cancel, NewOrder, SetPhase
from ringmatch.engine.schema.enums import OrderType, RejectReason, Side, TimeInForce, TradingPhase
from ringmatch.engine.schema.events import AuctionTrade, Event, Rejected, as_trade
from ringmatch.risk.limits import RiskConfig
from ringmatch.risk.monitor import RiskMonitor
from ringmatch.risk.pretrade import PreTradeRisk
from tests.risk.driver import Driver

R = RejectReason
BUY, SELL = Side.BUY, Side.SELL
STOP, STOP_LIMIT, LIMIT = OrderType.STOP, OrderType.STOP_LIMIT, OrderType.LIMIT


def reason(events: list[Event]) -> RejectReason | None:
    return events[0].reason if events and isinstance(events[0], Rejected) else None


def stop(oid: int, side: Side, trigger: int, qty: int, account: str = "a") -> NewOrder:
    return NewOrder(oid, account, "S", side, STOP, None, qty, trigger_price=trigger)


def stop_limit(oid: int, side: Side, trigger: int, price: int, qty: int) -> NewOrder:
    return NewOrder(oid, "a", "S", side, STOP_LIMIT, price, qty, trigger_price=trigger)


def limit(oid: int, side: Side, price: int, qty: int, account: str = "a", **kw: object) -> NewOrder:
    return NewOrder(oid, account, "S", side, LIMIT, price, qty, **kw)  # type: ignore[arg-type]


def traded_at(d: Driver, price: int) -> None:
    """A last trade at ``price`` between two other accounts."""
    d.send(limit(900 + d.seq, SELL, price, 1, "mm"))
    d.send(limit(900 + d.seq, BUY, price, 1, "mm2"))


@given(cap=st.integers(1, 6))
def test_held_stops_count_toward_max_open_orders(cap: int) -> None:
    d = Driver(PreTradeRisk(RiskConfig(max_open_orders=cap)))
    traded_at(d, 100)
    for oid in range(1, cap + 1):
        assert reason(d.send(stop(oid, BUY, 110 + oid, 1))) is None
    assert d.stage.open_orders("a") == cap
    assert reason(d.send(stop(50, BUY, 120, 1))) is R.RISK_MAX_OPEN_ORDERS
    assert reason(d.send(limit(51, BUY, 90, 1, tif=TimeInForce.DAY))) is R.RISK_MAX_OPEN_ORDERS
    d.send(Cancel(1, "a"))
    assert d.stage.open_orders("a") == cap - 1
    assert reason(d.send(limit(52, BUY, 90, 1, tif=TimeInForce.GTD, expire_ts=10**18))) is None


def test_a_held_stop_counts_in_the_worst_case_position() -> None:
    d = Driver(PreTradeRisk(RiskConfig(max_position=10)))
    traded_at(d, 100)
    assert reason(d.send(stop(1, BUY, 105, 6))) is None
    assert reason(d.send(stop_limit(2, BUY, 106, 107, 5))) is R.RISK_MAX_POSITION
    assert reason(d.send(stop_limit(3, BUY, 106, 107, 4))) is None


def test_a_stop_limit_is_checked_at_its_limit_price() -> None:
    d = Driver(PreTradeRisk(RiskConfig(max_notional=1000, price_band_ticks=5)))
    traded_at(d, 100)
    assert reason(d.send(stop_limit(1, BUY, 102, 106, 1))) is R.RISK_PRICE_BAND
    assert reason(d.send(stop_limit(2, BUY, 102, 104, 10))) is R.RISK_MAX_NOTIONAL
    assert reason(d.send(stop_limit(3, BUY, 102, 100, 10))) is None


@given(band=st.integers(0, 20), qty=st.integers(1, 20))
def test_a_stop_market_is_checked_at_the_far_edge_of_the_band(band: int, qty: int) -> None:
    cap = 1500
    d = Driver(PreTradeRisk(RiskConfig(max_notional=cap, price_band_ticks=band)))
    traded_at(d, 100)
    worst_buy, worst_sell = 100 + band, 100 - band
    got = reason(d.send(stop(1, BUY, 101, qty)))
    assert (got is R.RISK_MAX_NOTIONAL) == (worst_buy * qty > cap)
    got = reason(d.send(stop(2, SELL, 99, qty)))
    assert (got is R.RISK_MAX_NOTIONAL) == (worst_sell * qty > cap)


def test_a_stop_market_with_no_reference_is_checked_at_its_trigger() -> None:
    d = Driver(PreTradeRisk(RiskConfig(max_notional=1000)))
    assert reason(d.send(stop(1, BUY, 101, 10))) is R.RISK_MAX_NOTIONAL
    assert reason(d.send(stop(2, BUY, 100, 10))) is None


def test_an_uncross_moves_positions_and_last_prices() -> None:
    d = Driver()
    d.send(SetPhase("S", TradingPhase.OPENING_AUCTION))
    d.send(limit(1, BUY, 101, 5, "a"))
    d.send(limit(2, SELL, 99, 3, "b"))
    events = d.send(SetPhase("S", TradingPhase.CONTINUOUS))
    auction = [e for e in events if isinstance(e, AuctionTrade)]
    # Volume 3 at any of 99..101, the same surplus, no reference: the lower price (V-AUC-2).
    assert [(e.price, e.qty, e.buy_account, e.sell_account) for e in auction] == [(99, 3, "a", "b")]
    assert d.stage.exposure("a", "S") == (3, 2, 0)
    assert d.stage.exposure("b", "S") == (-3, 0, 0)
    assert d.stage.last_price("S") == 99
    monitor = RiskMonitor(RiskConfig(), lambda *_: None)
    monitor.on_events(events)
    assert monitor.book.get("a", "S").qty == 3
    assert monitor.book.get("b", "S").qty == -3
    assert monitor.book.last["S"] == 99


def test_as_trade_puts_the_seller_as_taker() -> None:
    t = AuctionTrade(7, 1, "S", 100, 2, 11, 12, "a", "b", 3, 0)
    trade = as_trade(t)
    assert (trade.maker_account, trade.taker_account, trade.taker_side) == ("a", "b", SELL)
    assert (trade.maker_order_id, trade.taker_order_id) == (11, 12)
    assert (trade.maker_leaves, trade.taker_leaves) == (3, 0)


def test_auction_trade_records_move_positions_as_their_events_do() -> None:
    """The records path (trade_records) pairs an uncross's two records as a trade's."""
    stream = [
        SetPhase("S", TradingPhase.OPENING_AUCTION),
        limit(1, BUY, 101, 5, "a"),
        limit(2, SELL, 99, 3, "b"),
        limit(3, SELL, 100, 4, "c"),
        SetPhase("S", TradingPhase.CONTINUOUS),
    ]
    records = ReferenceKernel().process(Encoder().encode(stream, first_seq=1))
    assert (records["kind"] == L.AUCTION_TRADE).sum() == 4
    by_events = RiskMonitor(RiskConfig(), lambda *_: None)
    by_events.on_events(decode_events(records, Directory()))
    by_records = RiskMonitor(RiskConfig(), lambda *_: None)
    # Cut the batch between an uncross's two records: the buyer's waits for the seller's.
    cut = int(np.flatnonzero(records["kind"] == L.AUCTION_TRADE)[0]) + 1
    directory = Directory()
    by_records.on_records(records[:cut], directory)
    by_records.on_records(records[cut:], directory)
    for account in ("a", "b", "c"):
        got, want = by_records.book.get(account, "S"), by_events.book.get(account, "S")
        assert (got.qty, got.cost) == (want.qty, want.cost)
    assert by_records.book.last == by_events.book.last == {"S": 100}
