"""Same sequenced inputs, byte-identical events: what replay and recovery rely on."""

from __future__ import annotations

import itertools
import random

import msgspec
import pytest

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import Command, NewOrder
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.engine.schema.events import Event
from tests.engine.strategies import SYMBOLS, random_stream

SEEDS = (11, 12)


def encoded(events: list[Event]) -> bytes:
    return msgspec.msgpack.encode(events)


def run_one_by_one(stream: list[Command]) -> tuple[bytes, MatchingEngine]:
    eng = MatchingEngine()
    events: list[Event] = []
    for cmd in stream:
        events.extend(eng.process(cmd))
    return encoded(events), eng


def books(eng: MatchingEngine) -> bytes:
    return msgspec.msgpack.encode([eng.l3(s) for s in eng.symbols()])


@pytest.mark.parametrize("seed", SEEDS)
def test_same_input_twice_gives_byte_identical_events_and_books(seed: int) -> None:
    stream = random_stream(random.Random(seed), 2000)
    first, eng1 = run_one_by_one(stream)
    second, eng2 = run_one_by_one(stream)
    assert first == second
    assert books(eng1) == books(eng2)
    assert eng1.symbols() == eng2.symbols()
    assert len(first) > 10_000  # a stream that did something


@pytest.mark.parametrize("seed", SEEDS)
def test_process_batch_emits_the_same_bytes_as_one_by_one(seed: int) -> None:
    stream = random_stream(random.Random(seed), 2000)
    one_by_one, eng1 = run_one_by_one(stream)
    eng2 = MatchingEngine()
    assert encoded(eng2.process_batch(stream)) == one_by_one
    assert eng2.last_seq == eng1.last_seq == len(stream)
    assert books(eng1) == books(eng2)


def test_batches_split_anywhere_give_the_same_bytes() -> None:
    stream = random_stream(random.Random(SEEDS[0]), 1000)
    whole, _ = run_one_by_one(stream)
    eng = MatchingEngine()
    events: list[Event] = []
    cuts = [0, 1, 2, 250, 251, 700, 1000]
    for lo, hi in itertools.pairwise(cuts):
        events.extend(eng.process_batch(stream[lo:hi]))
    assert encoded(events) == whole


def test_decoded_events_round_trip_to_the_same_bytes() -> None:
    stream = random_stream(random.Random(SEEDS[0]), 500)
    raw, _ = run_one_by_one(stream)
    decoded = msgspec.msgpack.decode(raw, type=list[Event])
    assert encoded(decoded) == raw


def sell(order_id: int, price: int = 100, qty: int = 1) -> NewOrder:
    return NewOrder(order_id, "a", SYMBOLS[0], Side.SELL, OrderType.LIMIT, price, qty)


def test_explicit_seqs_are_stamped_on_every_event() -> None:
    eng = MatchingEngine()
    assert eng.last_seq == 0
    assert {e.seq for e in eng.process(sell(1), seq=10)} == {10}
    assert eng.last_seq == 10
    buy = NewOrder(2, "b", SYMBOLS[0], Side.BUY, OrderType.LIMIT, 100, 3)
    events = eng.process(buy, seq=42)
    assert len(events) == 2  # accepted, trade (the remainder rests)
    assert {e.seq for e in events} == {42}
    assert eng.last_seq == 42


def test_without_seq_the_next_number_follows_the_last_explicit_one() -> None:
    eng = MatchingEngine()
    eng.process(sell(1), seq=7)
    assert {e.seq for e in eng.process(sell(2))} == {8}
    assert eng.last_seq == 8
    events = eng.process_batch([sell(3), sell(4), sell(5)])
    assert [e.seq for e in events] == [9, 10, 11]
    assert eng.last_seq == 11


@pytest.mark.parametrize("seq", [5, 4, 0, -1])
def test_seq_not_after_the_last_is_refused_and_changes_nothing(seq: int) -> None:
    eng = MatchingEngine()
    eng.process(sell(1), seq=5)
    with pytest.raises(ValueError, match="seq"):
        eng.process(sell(2, price=101), seq=seq)
    assert eng.last_seq == 5
    assert [o.order_id for o in eng.l3(SYMBOLS[0])] == [1]
    # The refused command did not use up its id.
    assert eng.process(sell(2, price=101))[0].seq == 6
    assert [o.order_id for o in eng.l3(SYMBOLS[0])] == [1, 2]
