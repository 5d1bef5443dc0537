"""The market-data books: snapshot plus incrementals equal the engine's depth, gaps heal."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import Command, NewOrder
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.feed.client import SubscriberBook
from ringmatch.gateway.feed.marketdata import MarketData
from ringmatch.gateway.feed.protocol import (
    FeedProtocol,
    Levels,
    ServerMessage,
    Snapshot,
    Top,
    frame,
)
from tests.engine.strategies import SYMBOLS, command_streams

DEPTHS = (1, 2, 10)


@settings(max_examples=60, deadline=None)
@given(cmds=command_streams(), late=st.integers(0, 80), batch=st.integers(1, 8))
def test_snapshot_plus_incrementals_equal_the_engine_depth(
    cmds: list[Command], late: int, batch: int
) -> None:
    """After every batch of ``batch`` commands (as the ring delivers them), every
    subscriber's book is the engine's depth at its levels.

    Subscribers join at the start and (``late``) part-way through, from a snapshot.
    """
    eng = MatchingEngine()
    md = MarketData()
    subs: dict[tuple[str, int], SubscriberBook] = {}

    def join() -> None:
        for symbol in SYMBOLS:
            for levels in DEPTHS:
                book = subs[symbol, levels] = SubscriberBook(symbol, levels)
                assert book.on_message(md.snapshot(symbol, levels)) is None

    join()
    for i in range(0, len(cmds), batch):
        if i <= late < i + batch:
            join()
        for key, msgs in md.on_events(eng.process_batch(cmds[i : i + batch])).items():
            for msg in msgs:
                assert subs[key].on_message(msg) is None  # never a gap
        for (symbol, levels), book in subs.items():
            depth = eng.depth(symbol, levels)
            assert book.depth() == (depth.bids, depth.asks), (symbol, levels, i)
            bbo = eng.bbo(symbol)
            assert book.top == (bbo.bid_price, bbo.bid_qty, bbo.ask_price, bbo.ask_qty)


def test_a_gap_is_detected_and_healed_by_a_fresh_snapshot() -> None:
    eng = MatchingEngine()
    md = MarketData()
    book = SubscriberBook("X", 5)
    book.on_message(md.snapshot("X", 5))
    msgs = []
    for oid in range(1, 6):
        cmd = NewOrder(oid, "a", "X", Side.BUY, OrderType.LIMIT, 100 - oid, 1)
        msgs += md.on_events(eng.process(cmd))["X", 5]
    assert book.on_message(msgs[0]) is None
    request = book.on_message(msgs[2])  # msgs[1] lost
    assert request is not None and request.symbol == "X" and book.gaps == 1
    for m in msgs[3:]:
        assert book.on_message(m) is None  # dropped while waiting
    assert book.stale
    book.on_message(md.snapshot(request.symbol, 5))
    depth = eng.depth("X", 5)
    assert book.depth() == (depth.bids, depth.asks) and not book.stale
    cmd = NewOrder(9, "a", "X", Side.SELL, OrderType.LIMIT, 200, 1)
    for m in md.on_events(eng.process(cmd))["X", 5]:
        assert book.on_message(m) is None
    assert book.asks == {200: 1}


def test_messages_frame_and_parse_whole_and_byte_by_byte() -> None:
    msgs: list[ServerMessage] = [
        Snapshot("X", 3, 5, [(100, 2)], [], None),
        Levels("X", 4, [(100, 0)], [(101, 7)]),
        Top("X", 5, None, 0, 101, 7),
    ]
    data = b"".join(frame(m) for m in msgs)
    whole = FeedProtocol(ServerMessage)  # type: ignore[arg-type]
    whole.receive_data(data)
    assert [whole.next_message() for _ in msgs] == msgs
    assert whole.next_message() is None
    slow = FeedProtocol(ServerMessage)  # type: ignore[arg-type]
    got = []
    for b in data:
        slow.receive_data(bytes([b]))
        m = slow.next_message()
        if m is not None:
            got.append(m)
    assert got == msgs
