"""The engine against the venue model: random venue streams, event for event.

Streams over two symbols and three accounts, prices in a five-tick band, with every
order type (LIMIT, MARKET, STOP, STOP_LIMIT), every time in force (DAY and GTD with
their expire_ts included), icebergs, post-only, STP modes, cancels and replaces of
live orders (held stops and waiting market orders included), mass cancels, session
transitions among all phases, Clock inputs and rising timestamps, and a trickle of
invalid values. After every command the two must agree on the events and on every
view: L3 (shown and hidden), depth, BBO, held orders, phase, indicative and time.

The model alone is also held to a few invariants of the contract.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from ringmatch.engine.schema.commands import (
    NewOrder,
    SetPhase,
)
from ringmatch.engine.schema.enums import (
    CancelReason,
    OrderType,
    Side,
    TimeInForce,
    TradingPhase,
)
from ringmatch.engine.schema.events import (
    AuctionTrade,
    Event,
    Indicative,
    PhaseChanged,
    Refreshed,
    Trade,
    Triggered,
)
from tests.engine.venue_model import CALL_PHASES, VenueModel
from tests.engine.venue_strategies import (
    REFERENCE_PRICES,
    SYMBOLS,
    VenueCommand,
    random_venue_stream,
    venue_streams,
)

EXAMPLES = int(os.environ.get("RINGMATCH_MODEL_EXAMPLES", "150"))


# ---------------------------------------------------------------------- views
def views(book: Any, symbol: str) -> tuple[Any, ...]:
    """Everything a reader can see of one symbol, as plain data."""
    depth = book.depth(symbol, 1000)
    return (
        ("l3", [tuple(_fields(o)) for o in book.l3(symbol)]),
        ("held", [tuple(_fields(o)) for o in book.held(symbol)]),
        ("phase", book.phase(symbol)),
        ("indicative", None if (i := book.indicative(symbol)) is None else tuple(_fields(i))),
        ("bbo", tuple(_fields(book.bbo(symbol)))),
        ("depth", (list(map(tuple, depth.bids)), list(map(tuple, depth.asks)))),
    )


def _fields(view: Any) -> list[Any]:
    return [getattr(view, name) for name in view.__struct_fields__]


def show(stream: list[VenueCommand], upto: int) -> str:
    return "\n".join(f"  #{i} {cmd!r}" for i, cmd in enumerate(stream[: upto + 1]))


def engine_under_test() -> Any:
    from ringmatch.engine.book.matching import MatchingEngine

    return MatchingEngine(dict(REFERENCE_PRICES))


def assert_same_run(stream: list[VenueCommand], engine: Any, model: VenueModel) -> None:
    for i, cmd in enumerate(stream):
        want = model.process(cmd)
        got = engine.process(cmd)
        if got != want:
            pytest.fail(
                f"events differ at command #{i} {cmd!r}\n"
                f"engine: {got!r}\nmodel:  {want!r}\nstream so far:\n{show(stream, i)}"
            )
        for symbol in SYMBOLS:
            if views(engine, symbol) != views(model, symbol):
                pytest.fail(
                    f"views of {symbol!r} differ after command #{i}\n"
                    f"engine: {views(engine, symbol)!r}\n"
                    f"model:  {views(model, symbol)!r}\nstream:\n{show(stream, i)}"
                )
        assert engine.now == model.now, f"time differs after #{i}:\n{show(stream, i)}"
    assert engine.last_seq == model.last_seq == len(stream)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stream=venue_streams())
def test_engine_and_venue_model_agree_on_random_streams(stream: list[VenueCommand]) -> None:
    assert_same_run(stream, engine_under_test(), VenueModel(REFERENCE_PRICES))


@pytest.mark.parametrize("seed", (1, 2))
def test_engine_and_venue_model_agree_on_a_long_seeded_stream(seed: int) -> None:
    assert_same_run(
        random_venue_stream(random.Random(seed), 1500),
        engine_under_test(),
        VenueModel(REFERENCE_PRICES),
    )


# ------------------------------------------------------- the model on its own
def check_invariants(model: VenueModel, cmd: VenueCommand, events: list[Event]) -> None:
    for symbol in SYMBOLS:
        phase = model.phase(symbol)
        book = model.l3(symbol)
        for o in book:
            assert o.qty > 0 and o.hidden >= 0
        for h in model.held(symbol):
            assert h.qty > 0
            if h.order_type is OrderType.MARKET:
                assert phase in CALL_PHASES  # market orders wait only in a call book
            else:  # a held stop is never already through the last price
                last = model._last.get(symbol)
                assert h.trigger_price is not None
                if last is not None:
                    assert (
                        (h.trigger_price > last) if h.side is Side.BUY else (h.trigger_price < last)
                    )
        if phase is TradingPhase.CONTINUOUS:
            bbo = model.bbo(symbol)
            if bbo.bid_price is not None and bbo.ask_price is not None:
                assert bbo.bid_price < bbo.ask_price, f"crossed in CONTINUOUS after {cmd!r}"
        if phase in CALL_PHASES:  # the published indicative is always the current one
            assert model.indicative(symbol) == model._indicative_now(symbol)[0]
        else:
            assert model.indicative(symbol) is None
    seq = model.last_seq
    assert all(e.seq == seq for e in events)
    trade_ids = [e.trade_id for e in events if isinstance(e, Trade | AuctionTrade)]
    assert trade_ids == sorted(trade_ids) and len(set(trade_ids)) == len(trade_ids)
    for e in events:
        if isinstance(e, Refreshed):
            assert 0 < e.shown <= e.leaves
        if isinstance(e, AuctionTrade):
            assert e.qty > 0
        if isinstance(e, Triggered):
            assert e.order_type in (OrderType.MARKET, OrderType.LIMIT)
        if isinstance(e, Indicative):
            assert (e.price is None) == (e.volume == 0)
    entered = isinstance(cmd, SetPhase) and any(isinstance(e, PhaseChanged) for e in events)
    if entered and cmd.phase in CALL_PHASES:  # type: ignore[union-attr]
        assert isinstance(events[-1], Indicative)  # entering a call phase publishes


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stream=venue_streams())
def test_the_venue_model_keeps_its_invariants(stream: list[VenueCommand]) -> None:
    model = VenueModel(REFERENCE_PRICES)
    for cmd in stream:
        check_invariants(model, cmd, model.process(cmd))


def test_the_venue_streams_exercise_every_outcome() -> None:
    """Guard against a generator that silently stopped producing the hard cases."""
    model = VenueModel(REFERENCE_PRICES)
    seen: set[str] = set()
    for cmd in random_venue_stream(random.Random(8), 4000):  # a seed that reaches them all
        for event in model.process(cmd):
            tag = type(event).__struct_config__.tag
            reason = getattr(event, "reason", None)
            seen.add(f"{tag}:{reason.value}" if reason is not None else str(tag))
            if isinstance(event, Triggered):
                seen.add(f"triggered:{event.order_type.value}")
    expected = {
        "accepted",
        "trade",
        "auction_trade",
        "refreshed",
        "indicative",
        "phase_changed",
        "triggered:MARKET",
        "triggered:LIMIT",
        "reduced:STP",
        *(
            f"cancelled:{r.value}"
            for r in (
                CancelReason.USER,
                CancelReason.EXPIRED,
                CancelReason.AUCTION_UNFILLED,
                CancelReason.MARKET_CLOSED,
                CancelReason.MARKET_REMAINDER,
                CancelReason.IOC_REMAINDER,
                CancelReason.KILLED_FOK,
                CancelReason.POST_ONLY,
                CancelReason.STP,
                CancelReason.MASS_CANCEL,
            )
        ),
        *(
            f"rejected:{r}"
            for r in (
                "INVALID_TRIGGER_PRICE",
                "STOP_NOT_HELD_TIF",
                "STOP_WOULD_TRIGGER",
                "BAD_DISPLAY_QTY",
                "INVALID_EXPIRE_TS",
                "EXPIRE_TS_PASSED",
                "NOT_IN_CALL_PHASE",
                "MARKET_CLOSED",
                "MARKET_NOT_REPLACEABLE",
                "UNKNOWN_PHASE",
                "MARKET_WITH_PRICE",
                "POST_ONLY_WOULD_CROSS",
            )
        ),
    }
    assert expected - seen == set()


# ------------------------------------------------- a few hand-checked stories
def _run(model: VenueModel, *cmds: VenueCommand) -> list[list[Event]]:
    return [model.process(cmd) for cmd in cmds]


def test_model_iceberg_refreshes_to_the_back_and_keeps_matching() -> None:
    m = VenueModel()
    sell = OrderType.LIMIT
    out = _run(
        m,
        NewOrder(1, "a", "X", Side.SELL, sell, 100, 5, display_qty=2),
        NewOrder(2, "b", "X", Side.SELL, sell, 100, 1),
        NewOrder(3, "c", "X", Side.BUY, sell, 100, 4),
    )
    kinds = [type(e).__name__ for e in out[2]]
    assert kinds == ["Accepted", "Trade", "Refreshed", "Trade", "Trade"]
    assert [(e.maker_order_id, e.qty, e.maker_leaves) for e in out[2] if isinstance(e, Trade)] == [
        (1, 2, 3),
        (2, 1, 0),
        (1, 1, 2),
    ]
    assert [(o.order_id, o.qty, o.hidden) for o in m.l3("X")] == [(1, 1, 1)]


def test_model_stop_cascade_runs_in_rounds() -> None:
    m = VenueModel()
    L, S = OrderType.LIMIT, OrderType.STOP
    _run(
        m,
        NewOrder(1, "a", "X", Side.SELL, L, 100, 1),
        NewOrder(2, "a", "X", Side.SELL, L, 101, 1),
        NewOrder(3, "a", "X", Side.SELL, L, 102, 1),
        NewOrder(4, "b", "X", Side.BUY, S, None, 1, trigger_price=101),  # round 2
        NewOrder(5, "b", "X", Side.BUY, S, None, 1, trigger_price=100),  # round 1
    )
    out = m.process(NewOrder(6, "c", "X", Side.BUY, L, 100, 1))
    released = [e.order_id for e in out if isinstance(e, Triggered)]
    assert released == [5, 4]
    assert [e.price for e in out if isinstance(e, Trade)] == [100, 101, 102]


def test_model_closing_uncross_then_day_expiry_then_stops_market_closed() -> None:
    m = VenueModel()
    L = OrderType.LIMIT
    out = _run(
        m,
        SetPhase("X", TradingPhase.CLOSING_AUCTION),
        NewOrder(1, "a", "X", Side.SELL, L, 100, 2, TimeInForce.DAY),
        NewOrder(2, "b", "X", Side.BUY, L, 101, 1),
        NewOrder(
            3, "c", "X", Side.SELL, OrderType.STOP, None, 1, TimeInForce.DAY, trigger_price=100
        ),
        SetPhase("X", TradingPhase.CLOSED),
    )
    kinds = [(type(e).__name__, getattr(e, "reason", None)) for e in out[-1]]
    assert kinds == [
        ("PhaseChanged", None),
        ("AuctionTrade", None),
        ("Cancelled", CancelReason.EXPIRED),  # what is left of 1 (DAY)
        ("Triggered", None),  # 3 left the held set at the uncross: no DAY expiry for it
        ("Cancelled", CancelReason.MARKET_CLOSED),
    ]
    assert isinstance(out[0][-1], Indicative) and out[0][-1].price is None


def test_model_gtd_expiry_runs_before_the_input_and_carries_its_seq() -> None:
    m = VenueModel()
    L = OrderType.LIMIT
    _run(
        m,
        NewOrder(1, "a", "X", Side.SELL, L, 100, 2, TimeInForce.GTD, ts_ns=10, expire_ts=50),
        NewOrder(2, "a", "X", Side.SELL, L, 100, 2, TimeInForce.GTD, ts_ns=10, expire_ts=40),
    )
    out = m.process(NewOrder(3, "b", "X", Side.BUY, L, 100, 1, ts_ns=60))
    assert [(type(e).__name__, e.order_id, e.seq) for e in out[:2]] == [
        ("Cancelled", 2, 3),
        ("Cancelled", 1, 3),
    ]
    assert type(out[2]).__name__ == "Accepted" and len(out) == 3  # nothing left to trade
    assert [o.order_id for o in m.l3("X")] == [3]
