"""MarketData.on_records against on_events: the same messages per batch, books and orders.

Event records come from random command streams run through the reference kernel
(tests/risk/test_record_batch.py ``event_records``); both readers get the same
batches, cut at random (``on_events`` the decoded records of each), and must
publish the same messages on every channel, batch by batch, and hold the same
books and the same orders, through a rebuild (reset, load, resync) too.
"""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import Command, NewOrder, Replace
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.feed.book_records import OrderTable
from ringmatch.gateway.feed.marketdata import MarketData
from tests.engine.strategies import SYMBOLS, command_streams, random_stream
from tests.risk.test_record_batch import event_records, random_batches

DEPTHS = (1, 2, 10)


def books(md: MarketData) -> dict[str, object]:
    return {
        s: (sorted(b.bids.items()), sorted(b.asks.items()), b.last_price)
        for s, b in md.books.items()
        if b.bids or b.asks or b.last_price is not None
    }


def old_orders(md: MarketData) -> dict[int, tuple[object, ...]]:
    return {oid: (o.symbol, o.buy, o.price, o.qty, o.resting) for oid, o in md._orders.items()}


def new_orders(md: MarketData) -> dict[int, tuple[object, ...]]:
    t = md._table
    live = np.flatnonzero(t.live[: t.n])
    names = md._symbol_names
    return {
        int(t.ids[r]): (
            names[t.sym[r]],
            bool(t.buy[r]),
            int(t.price[r]),
            int(t.qty[r]),
            bool(t.resting[r]),
        )
        for r in live
    }


class Pair:
    """The old reader and the new on the same batches."""

    def __init__(self) -> None:
        self.old, self.new = MarketData(), MarketData()
        self.old_names, self.new_names = Directory(), Directory()
        self.pending = np.zeros(0, L.EVENT_DTYPE)
        for md in (self.old, self.new):
            for s in SYMBOLS:
                for n in DEPTHS:
                    md.channel(s, n)

    def batch(self, batch: np.ndarray) -> None:
        got = self.new.on_records(batch, self.new_names)
        joined = np.concatenate([self.pending, batch], dtype=L.EVENT_DTYPE)
        cut = len(joined)  # the new reader keeps a trailing maker record for the next batch
        if cut and joined["kind"][-1] == L.TRADE and not joined["flags"][-1] & L.TAKER:
            cut -= 1
        want = self.old.on_events(decode_events(joined[:cut], self.old_names))
        self.pending = joined[cut:]
        assert got == want
        self.check()

    def check(self) -> None:
        assert books(self.new) == books(self.old)
        assert new_orders(self.new) == old_orders(self.old)
        for key in self.old.channels:
            assert self.new.snapshot(*key) == self.old.snapshot(*key)

    def rebuild(self) -> None:
        """As gateway/feed/source.py does: reset, load each book's resting orders, resync."""
        resting: dict[str, list[tuple[int, Side, int, int]]] = {}
        for oid, o in self.old._orders.items():
            if o.resting:
                side = Side.BUY if o.buy else Side.SELL
                resting.setdefault(o.symbol, []).append((oid, side, o.price, o.qty))
        out = []
        for md in (self.old, self.new):
            md.reset()
            for symbol, orders in sorted(resting.items()):
                md.load(symbol, orders)
            out.append(md.resync())
        assert out[0] == out[1]
        self.check()


@st.composite
def runs(draw: st.DrawFn) -> tuple[list[np.ndarray], int]:
    events = event_records(draw(command_streams(120)))
    batches = random_batches(draw, events)
    return batches, draw(st.integers(-1, len(batches)))


@settings(max_examples=150, deadline=None)
@given(runs())
def test_batches_of_records_publish_what_the_events_publish(
    run: tuple[list[np.ndarray], int],
) -> None:
    batches, rebuild_after = run
    pair = Pair()
    for i, batch in enumerate(batches):
        pair.batch(batch)
        if i == rebuild_after:
            pair.rebuild()


def test_replaces_trades_and_cancels_in_one_batch() -> None:
    lim, buy, sell = OrderType.LIMIT, Side.BUY, Side.SELL
    cmds: list[Command] = [
        NewOrder(1, "a", "AAA", sell, lim, 101, 5),
        NewOrder(2, "b", "AAA", sell, lim, 102, 5),
        NewOrder(3, "c", "AAA", buy, lim, 101, 7),  # takes 5 at 101, rests 2 at 101
        Replace(2, "b", 101, 4),  # crosses: trades 2 with order 3
        Replace(3, "c", 100, 9),  # gone by now: rejected
        NewOrder(4, "c", "AAA", buy, lim, 100, 3),
    ]
    events = event_records(cmds)
    assert (events["kind"] == L.REPLACED).any()
    for cut in range(len(events) + 1):
        pair = Pair()
        pair.batch(events[:cut])
        pair.batch(events[cut:])


def test_long_seeded_stream_in_random_batches() -> None:
    rng = random.Random(7)
    events = event_records(random_stream(rng, 3000))
    pair = Pair()
    start = 0
    while start < len(events):
        end = start + rng.randint(1, 120)
        pair.batch(events[start:end])
        start = end
        if rng.random() < 0.02:
            pair.rebuild()


def test_order_table_appends_merges_and_compacts() -> None:
    rng = random.Random(3)
    table, model = OrderTable(), {}
    for _ in range(300):
        ids = np.array(sorted(rng.sample(range(5000), rng.randint(0, 40))), np.uint64)
        if rng.random() < 0.5:
            ids = ids + np.uint64(5000 + max(model, default=0))  # above all: appended
        qty = np.array([rng.randint(1, 9) for _ in ids], np.int64)
        n = len(ids)
        table.upsert(ids, np.zeros(n, np.int64), np.ones(n, bool), qty, qty, np.ones(n, bool))
        model.update(zip(ids.tolist(), qty.tolist(), strict=True))
        gone = np.array(rng.sample(sorted(model), min(len(model), rng.randint(0, 30))), np.uint64)
        table.kill(table.find(gone))
        for oid in gone.tolist():
            del model[oid]
        rows = table.find(np.array(sorted(model), np.uint64))
        assert (rows >= 0).all() and len(table) == len(model)
        assert table.qty[rows].tolist() == [model[k] for k in sorted(model)]
        assert (table.find(gone) == -1).all()


def test_records_of_another_dtype_are_refused() -> None:
    try:
        MarketData().on_records(np.zeros(2, L.INPUT_DTYPE), Directory())
    except TypeError as exc:
        assert "records: dtype must be EVENT_DTYPE" in str(exc)
    else:
        raise AssertionError("no TypeError")
