"""Pre-trade checks: each rejects exactly above its limit, never at it."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.benchmarks.workload import standard_workload
from ringmatch.engine.schema.commands import Cancel, KillSwitch, NewOrder, Replace, SetRiskLimits
from ringmatch.engine.schema.enums import CancelReason, OrderType, RejectReason, Side, TimeInForce
from ringmatch.engine.schema.events import (
    Accepted,
    Cancelled,
    Event,
    MassCancelled,
    Rejected,
    Replaced,
)
from ringmatch.risk import limits
from ringmatch.risk.limits import AccountLimits, RiskConfig
from ringmatch.risk.pretrade import PreTradeRisk
from tests.risk.driver import Driver

BUY, SELL = Side.BUY, Side.SELL
LIMIT, MARKET = OrderType.LIMIT, OrderType.MARKET
R = RejectReason


def reason(events: list[Event]) -> RejectReason | None:
    rejects = [e for e in events if isinstance(e, Rejected)]
    return rejects[0].reason if rejects else None


class Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> int:
        self.n += 1
        return self.n


def new(oid: int, side: Side, price: int | None, qty: int, account: str = "a", **kw: object):
    kind = MARKET if price is None else LIMIT
    return NewOrder(oid, account, "X", side, kind, price, qty, **kw)  # type: ignore[arg-type]


def trade_at(d: Driver, ids: Ids, price: int) -> None:
    """Make ``price`` the last trade price of X (between two accounts outside the tests)."""
    d.send(new(ids(), SELL, price, 1, "mm1"))
    evs = d.send(new(ids(), BUY, price, 1, "mm2"))
    assert any(type(e).__name__ == "Trade" for e in evs)


@given(limit=st.integers(1, 1000), qty=st.integers(1, 2000))
def test_max_order_qty(limit: int, qty: int) -> None:
    d = Driver(PreTradeRisk(RiskConfig(max_order_qty=limit)))
    got = reason(d.send(new(1, BUY, 100, qty)))
    assert got == (R.RISK_MAX_QTY if qty > limit else None)


@given(limit=st.integers(1, 10**6), price=st.integers(1, 2000), qty=st.integers(1, 1000))
def test_max_notional(limit: int, price: int, qty: int) -> None:
    d = Driver(PreTradeRisk(RiskConfig(max_notional=limit)))
    got = reason(d.send(new(1, BUY, price, qty)))
    assert got == (R.RISK_MAX_NOTIONAL if price * qty > limit else None)


@given(limit=st.integers(1, 10**6), ref=st.integers(1, 2000), qty=st.integers(1, 1000))
def test_market_order_notional_at_the_reference_price(limit: int, ref: int, qty: int) -> None:
    d = Driver(PreTradeRisk(RiskConfig(max_notional=limit)))
    ids = Ids()
    assert reason(d.send(new(ids(), BUY, None, qty))) is None  # no reference: unchecked
    d.stage.set_config(RiskConfig())
    trade_at(d, ids, ref)
    d.stage.set_config(RiskConfig(max_notional=limit))
    got = reason(d.send(new(ids(), BUY, None, qty)))
    assert got == (R.RISK_MAX_NOTIONAL if ref * qty > limit else None)


@given(band=st.integers(0, 50), ref=st.integers(100, 1000), off=st.integers(-99, 99))
def test_price_band_in_ticks_around_the_last_trade(band: int, ref: int, off: int) -> None:
    d = Driver()
    ids = Ids()
    trade_at(d, ids, ref)
    d.stage.set_config(RiskConfig(price_band_ticks=band))
    got = reason(d.send(new(ids(), BUY if off < 0 else SELL, ref + off, 1)))
    assert got == (R.RISK_PRICE_BAND if abs(off) > band else None)


@given(bps=st.integers(0, 2000), ref=st.integers(100, 20_000), off=st.integers(-99, 99))
def test_price_band_in_basis_points(bps: int, ref: int, off: int) -> None:
    d = Driver()
    ids = Ids()
    trade_at(d, ids, ref)
    d.stage.set_config(RiskConfig(price_band_bps=bps))
    got = reason(d.send(new(ids(), BUY if off < 0 else SELL, ref + off, 1)))
    # |off| / ref > bps / 10_000, in integers
    assert got == (R.RISK_PRICE_BAND if abs(off) * 10_000 > bps * ref else None)


def test_price_band_falls_back_to_the_mid_then_to_no_check() -> None:
    d = Driver(PreTradeRisk(RiskConfig(price_band_ticks=1)))
    assert reason(d.send(new(1, BUY, 100, 1, "mm"))) is None  # no reference at all
    assert reason(d.send(new(2, SELL, 102, 1, "mm"))) is None  # one side only: no mid yet
    assert reason(d.send(new(3, SELL, 103, 1, "mm"))) is R.RISK_PRICE_BAND  # mid 101
    assert reason(d.send(new(4, SELL, 101, 1, "mm"))) is None  # 0 ticks from mid 101
    # mid 100.5 now: 99 and 102 are 1.5 ticks away, 100 is inside
    assert reason(d.send(new(5, BUY, 99, 1))) is R.RISK_PRICE_BAND
    assert reason(d.send(new(6, SELL, 102, 1))) is R.RISK_PRICE_BAND
    assert reason(d.send(new(7, BUY, 100, 1))) is None


@given(limit=st.integers(1, 12))
def test_max_open_orders(limit: int) -> None:
    d = Driver(PreTradeRisk(RiskConfig(max_open_orders=limit)))
    for oid in range(1, limit + 1):
        assert reason(d.send(new(oid, BUY, 100 - oid % 5, 1))) is None
    assert reason(d.send(new(100, BUY, 90, 1))) is R.RISK_MAX_OPEN_ORDERS
    # an order that cannot rest does not count; another account is not affected
    ioc = new(101, SELL, 200, 1, tif=TimeInForce.IOC)
    assert reason(d.send(ioc)) is None
    assert reason(d.send(new(102, BUY, 90, 1, "b"))) is None
    d.send(Cancel(1, "a"))
    assert reason(d.send(new(103, BUY, 90, 1))) is None


@given(
    limit=st.integers(1, 500),
    buys=st.lists(st.integers(1, 50), max_size=5),
    sells=st.lists(st.integers(1, 50), max_size=5),
    filled=st.integers(0, 50),
    side=st.sampled_from([BUY, SELL]),
)
def test_max_position_counts_resting_orders_as_filled(
    limit: int, buys: list[int], sells: list[int], filled: int, side: Side
) -> None:
    d = Driver()
    ids = Ids()
    if filled:  # a position of +filled for "a": it buys from mm
        d.send(new(ids(), SELL, 100, filled, "mm"))
        d.send(new(ids(), BUY, 100, filled))
    for q in buys:
        d.send(new(ids(), BUY, 90, q))
    for q in sells:
        d.send(new(ids(), SELL, 110, q))
    d.stage.set_config(RiskConfig(max_position=limit))
    worst = filled + sum(buys) if side is BUY else sum(sells) - filled
    room = limit - worst
    price = 90 if side is BUY else 110
    if room >= 1:
        assert reason(d.send(new(ids(), side, price, room))) is None  # exactly at the limit
        d.send(Cancel(ids.n, "a"))
    assert reason(d.send(new(ids(), side, price, max(room, 0) + 1))) is R.RISK_MAX_POSITION


def test_limits_per_account_and_symbol_override_the_defaults() -> None:
    config = RiskConfig(
        max_order_qty=10,
        accounts=[
            AccountLimits(account="big", max_order_qty=100),
            AccountLimits(account="big", symbol="X", max_order_qty=50),
        ],
    )
    d = Driver(PreTradeRisk(config))
    assert reason(d.send(new(1, BUY, 100, 11))) is R.RISK_MAX_QTY
    assert reason(d.send(new(2, BUY, 100, 50, "big"))) is None
    assert reason(d.send(new(3, BUY, 100, 51, "big"))) is R.RISK_MAX_QTY
    y = NewOrder(4, "big", "Y", BUY, LIMIT, 100, 100)
    assert reason(d.send(y)) is None


def test_replace_is_checked_with_its_new_price_and_quantity() -> None:
    d = Driver()
    ids = Ids()
    trade_at(d, ids, 100)
    d.stage.set_config(RiskConfig(max_order_qty=10, price_band_ticks=5, max_position=20))
    d.send(new(50, BUY, 98, 10))
    assert reason(d.send(Replace(50, "a", 98, 11))) is R.RISK_MAX_QTY
    assert reason(d.send(Replace(50, "a", 94, 10))) is R.RISK_PRICE_BAND
    d.send(new(51, BUY, 97, 10))
    # 20 resting: growing either order breaks the worst case, shrinking does not
    d.stage.set_config(RiskConfig(max_position=20))
    assert reason(d.send(Replace(50, "a", 98, 11))) is R.RISK_MAX_POSITION
    evs = d.send(Replace(50, "a", 98, 5))
    assert any(isinstance(e, Replaced) for e in evs)
    assert reason(d.send(Replace(50, "a", 98, 10))) is None
    # someone else's order or an unknown one is left to matching's own reject
    assert reason(d.send(Replace(50, "b", 98, 99))) is R.NOT_YOUR_ORDER


def test_kill_switch_per_account() -> None:
    d = Driver()
    d.send(new(1, BUY, 100, 5))
    d.send(new(2, BUY, 99, 5))
    d.send(new(3, BUY, 99, 5, "b"))
    evs = d.send(KillSwitch("a", on=True, cancel_orders=True, why="test"))
    assert [(type(e), getattr(e, "order_id", None)) for e in evs] == [
        (Cancelled, 1),
        (Cancelled, 2),
        (MassCancelled, None),
    ]
    assert all(e.reason is CancelReason.KILL_SWITCH for e in evs)  # type: ignore[union-attr]
    assert reason(d.send(new(4, BUY, 100, 1))) is R.KILL_SWITCH
    assert reason(d.send(new(5, BUY, 100, 1, "b"))) is None
    d.send(KillSwitch("a", on=False))
    assert reason(d.send(new(6, BUY, 100, 1))) is None


def test_kill_switch_still_lets_cancels_through_and_can_leave_orders() -> None:
    d = Driver()
    d.send(new(1, BUY, 100, 5))
    d.send(new(2, BUY, 99, 5))
    assert d.send(KillSwitch("a", on=True, cancel_orders=False)) == []
    assert reason(d.send(Replace(1, "a", 100, 1))) is R.KILL_SWITCH
    evs = d.send(Cancel(1, "a"))
    assert [type(e) for e in evs] == [Cancelled]
    assert d.engine.order(2) is not None


def test_global_kill_switch_cancels_every_account() -> None:
    d = Driver()
    d.send(new(1, BUY, 100, 5, "b"))
    d.send(new(2, BUY, 99, 5, "a"))
    d.send(new(3, BUY, 99, 5, "b"))
    evs = d.send(KillSwitch(None, on=True))
    assert [e.account for e in evs if isinstance(e, MassCancelled)] == ["a", "b"]
    assert d.engine.l3("X") == []
    assert reason(d.send(new(4, BUY, 100, 1, "c"))) is R.KILL_SWITCH
    d.send(KillSwitch(None, on=False))
    assert reason(d.send(new(5, BUY, 100, 1, "c"))) is None


def test_set_risk_limits_applies_and_a_bad_payload_keeps_the_old_ones() -> None:
    d = Driver()
    d.send(SetRiskLimits(limits.encode(RiskConfig(max_order_qty=5))))
    assert reason(d.send(new(1, BUY, 100, 6))) is R.RISK_MAX_QTY
    d.send(SetRiskLimits(b"\xc1not msgpack"))
    assert reason(d.send(new(2, BUY, 100, 6))) is R.RISK_MAX_QTY
    d.send(SetRiskLimits(limits.encode(RiskConfig())))
    assert reason(d.send(new(3, BUY, 100, 6))) is None


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10**6))
def test_open_orders_and_exposure_follow_the_book(seed: int) -> None:
    """The stage's view, built from events alone, matches the engine's book."""
    d = Driver()
    stage = d.stage
    accepted: set[int] = set()
    for cmd in standard_workload(600, seed):
        for e in d.send(cmd):
            if isinstance(e, Accepted):
                accepted.add(e.order_id)
    books = [o for s in d.engine.symbols() for o in d.engine.l3(s)]
    counts = Counter(o.account for o in books)
    for account in {o.account for o in books} | {"acct000"}:
        assert stage.open_orders(account) == counts[account]
        for symbol in d.engine.symbols():
            _, ob, os_ = stage.exposure(account, symbol)
            mine = [o for o in books if o.account == account and o.symbol == symbol]
            assert ob == sum(o.qty for o in mine if o.side is BUY)
            assert os_ == sum(o.qty for o in mine if o.side is SELL)


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 10**6), cut=st.integers(1, 399))
def test_snapshot_state_then_replay_decides_like_the_live_stage(seed: int, cut: int) -> None:
    """Through the core's own stage chain: dump at ``cut``, load, and carry on identically."""
    from ringmatch.engine.core.snapshot import restore, take
    from ringmatch.engine.core.stage_chain import CoreLogic, StatefulStage

    config = RiskConfig(max_order_qty=90, max_open_orders=20, max_position=150)
    cmds = standard_workload(400, seed)
    live = CoreLogic(pretrade=PreTradeRisk(config))
    assert isinstance(live.pretrade, StatefulStage)
    for seq, cmd in enumerate(cmds[:cut], 1):
        live.process(cmd, seq)
    stage = PreTradeRisk()
    stage.load_state(live.pretrade.dump_state())
    resumed = CoreLogic(engine=restore(take(live.engine)), pretrade=stage)
    for seq, cmd in enumerate(cmds[cut:], cut + 1):
        assert resumed.process(cmd, seq) == live.process(cmd, seq)
