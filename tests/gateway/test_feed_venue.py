"""The feed on the venue's streams (docs/ORDER_TYPES.md): what a venue shows.

Held stops are invisible until triggered, an iceberg shows its slice, DAY and GTD
orders rest until they expire, an uncross prints, and the phase and the indicative
uncross reach every subscriber. Generated venue streams (tests/engine/venue_strategies)
through the pure engine: every subscriber's book is the engine's depth after every
batch, its phase the engine's, its indicative the engine's. Through the reference
kernel's records: ``on_records`` publishes what ``on_events`` does, before and after
the first venue record hands its orders over.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import Encoder, decode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.stream import whole_events
from ringmatch.engine.schema.commands import NewOrder, SetPhase
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce, TradingPhase
from ringmatch.gateway.feed.client import SubscriberBook
from ringmatch.gateway.feed.marketdata import MarketData
from ringmatch.gateway.feed.protocol import IndicativeUpdate, Phase, TradePrint
from tests.engine.venue_strategies import venue_streams
from tests.risk.test_record_batch import random_batches

SYMBOLS = ("AAA", "BBB")  # venue_strategies' symbols
DEPTHS = (1, 3)


def subscribers(md: MarketData) -> dict[tuple[str, int], SubscriberBook]:
    subs = {}
    for symbol in SYMBOLS:
        for levels in DEPTHS:
            book = subs[symbol, levels] = SubscriberBook(symbol, levels)
            assert book.on_message(md.snapshot(symbol, levels)) is None
    return subs


@settings(max_examples=80, deadline=None)
@given(cmds=venue_streams(), batch=st.integers(1, 6), late=st.integers(0, 60))
def test_every_subscriber_sees_the_engine_s_depth_phase_and_indicative(
    cmds: list[object], batch: int, late: int
) -> None:
    eng = MatchingEngine()
    md = MarketData()
    subs = subscribers(md)
    for i in range(0, len(cmds), batch):
        if i <= late < i + batch:
            subs = subscribers(md)  # joining part-way: the snapshot carries phase and all
        for key, msgs in md.on_events(eng.process_batch(cmds[i : i + batch])).items():  # type: ignore[arg-type]
            for msg in msgs:
                assert subs[key].on_message(msg) is None  # never a gap
        for (symbol, levels), book in subs.items():
            if symbol not in eng.symbols():
                continue
            depth = eng.depth(symbol, levels)
            assert book.depth() == (depth.bids, depth.asks), (symbol, levels, i)
            assert book.phase == eng.phase(symbol).value
            ind = eng.indicative(symbol)
            want = None
            if ind is not None:
                side = None if ind.imbalance_side is None else ind.imbalance_side.value
                want = (ind.price, ind.volume, side, ind.imbalance_qty)
            assert book.indicative == want, (symbol, i)


def records_of(cmds: list[object]) -> np.ndarray:
    inputs = Encoder(Directory()).encode(cmds, first_seq=1)  # type: ignore[arg-type]
    return ReferenceKernel().process(inputs)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_on_records_publishes_what_on_events_does_across_the_hand_over(
    data: st.DataObject,
) -> None:
    old, new = MarketData(), MarketData()
    old_names, new_names = Directory(), Directory()
    for md in (old, new):
        for s in SYMBOLS:
            for n in DEPTHS:
                md.channel(s, n)
    # A continuous start (on_records' numpy path), then the venue's stream.
    plain = [
        NewOrder(i, "acct1", "AAA", Side.BUY if i % 2 else Side.SELL, OrderType.LIMIT, 100, 3)
        for i in range(1, 5)
    ]
    cmds = [*plain, *data.draw(venue_streams())]
    events = records_of(cmds)
    pending = np.zeros(0, L.EVENT_DTYPE)
    for batch in random_batches(data.draw, events):
        got = new.on_records(batch, new_names)
        joined = np.concatenate([pending, batch], dtype=L.EVENT_DTYPE)
        cut = whole_events(joined)
        want = old.on_events(decode_events(joined[:cut], old_names))
        pending = joined[cut:]
        assert got == want
        for key in old.channels:
            assert new.snapshot(*key) == old.snapshot(*key)


def test_a_held_stop_is_invisible_an_iceberg_shows_its_slice_and_an_uncross_prints() -> None:
    eng, md = MatchingEngine(), MarketData()
    subs = subscribers(md)
    cmds: list[object] = [
        NewOrder(1, "a", "AAA", Side.SELL, OrderType.LIMIT, 100, 10, display_qty=4),
        NewOrder(2, "b", "AAA", Side.BUY, OrderType.STOP, None, 5, trigger_price=101),
        NewOrder(3, "c", "AAA", Side.BUY, OrderType.LIMIT, 99, 3, TimeInForce.GTD, expire_ts=50),
        NewOrder(4, "d", "AAA", Side.BUY, OrderType.LIMIT, 100, 6, ts_ns=5),
        SetPhase("AAA", TradingPhase.CLOSING_AUCTION, 70),
        NewOrder(5, "e", "AAA", Side.BUY, OrderType.LIMIT, 100, 2, TimeInForce.DAY, ts_ns=71),
        SetPhase("AAA", TradingPhase.CLOSED, 80),
    ]
    seen: list[object] = []
    for cmd in cmds:
        for (symbol, levels), msgs in md.on_events(eng.process_batch([cmd])).items():  # type: ignore[list-item]
            for msg in msgs:
                assert subs[symbol, levels].on_message(msg) is None
                if levels == 3:
                    seen.append(msg)
        if cmd is cmds[2]:
            # The iceberg shows 4 of its 10, the stop nothing, the GTD bid its 3.
            assert subs["AAA", 3].depth() == ([(99, 3)], [(100, 4)])
    prints = [(m.price, m.qty, m.taker_side) for m in seen if isinstance(m, TradePrint)]
    assert prints == [(100, 4, "BUY"), (100, 2, "BUY"), (100, 2, "SELL")]
    phases = [(m.phase, m.previous) for m in seen if isinstance(m, Phase)]
    assert phases == [("CLOSING_AUCTION", "CONTINUOUS"), ("CLOSED", "CLOSING_AUCTION")]
    assert [m.price for m in seen if isinstance(m, IndicativeUpdate)] == [None, 100]
    book = subs["AAA", 3]
    # The GTD bid expired at the first input past 50; the iceberg's next slice shows 2.
    assert (book.depth(), book.phase, book.indicative) == (([], [(100, 2)]), "CLOSED", None)


def test_a_stop_released_by_an_input_meets_its_remainder_as_a_resting_iceberg() -> None:
    # The iceberg buys 1, which triggers the held sell stop; its remainder rests (a
    # slice of 5, 1 hidden) before the released stop matches, so the stop takes 4 of
    # that slice: 1 shows, not the 2 the order has left. (The feed once rested an
    # input's remainder only after the whole input, and showed 2.)
    eng, md = MatchingEngine(), MarketData()
    subs = subscribers(md)
    cmds: list[object] = [
        NewOrder(1, "a", "AAA", Side.SELL, OrderType.LIMIT, 98, 1),
        NewOrder(2, "a", "AAA", Side.SELL, OrderType.STOP, None, 4, trigger_price=99),
        NewOrder(3, "b", "AAA", Side.BUY, OrderType.LIMIT, 98, 7, display_qty=5),
    ]
    for cmd in cmds:
        for key, msgs in md.on_events(eng.process_batch([cmd])).items():  # type: ignore[list-item]
            for msg in msgs:
                assert subs[key].on_message(msg) is None
    assert eng.depth("AAA", 3).bids == [(98, 1)]
    assert subs["AAA", 3].depth() == ([(98, 1)], [])
