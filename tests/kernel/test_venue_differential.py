"""The compiled kernel against the reference on the venue's streams (VENUE_RULES.md).

Streams of stops and their cascades, icebergs, GTD and DAY orders, trading phases
and call auctions (with configured reference prices, waiting market orders,
closing auctions that trigger stops, DAY orders expiring at the close), clocks and
rising (now and then falling) timestamps, with cancels and replaces of live orders
(held stops and waiting orders included), mass cancels and a trickle of invalid
values, from the venue model tests' generator (tests/engine/venue_strategies.py),
encoded to records as the core journals them and cut into random batches: both
kernels must agree on every event byte and every book after every batch, and the
compiled kernel runs every stream whole (none of these inputs is one it stops at).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import Encoder
from ringmatch.engine.records.names import Directory
from tests.engine.venue_strategies import ACCOUNTS, SYMBOLS, VenueCommand, venue_streams
from tests.kernel.differential import examples, run_batches
from tests.kernel.record_streams import owners


def encoded(stream: list[VenueCommand]) -> np.ndarray:
    directory = Directory(sorted(SYMBOLS), sorted(ACCOUNTS))
    body = Encoder(directory).encode(stream, first_seq=1)
    return np.concatenate([directory.define_records(), body], dtype=L.INPUT_DTYPE)


def run(data: st.DataObject, stream: list[VenueCommand]) -> None:
    records = encoded(stream)
    starts = owners(records)
    cuts = data.draw(st.lists(st.sampled_from(starts), max_size=6)) if starts else []
    run_batches(records, cuts)


@settings(max_examples=examples(200), deadline=None)
@given(st.data())
def test_venue_streams_give_the_same_events_and_books(data: st.DataObject) -> None:
    run(data, data.draw(venue_streams(max_size=120)))


@settings(max_examples=examples(100), deadline=None)
@given(st.data())
def test_streams_mostly_in_call_phases_give_the_same_auctions(data: st.DataObject) -> None:
    # A phase move every fifth command, mostly into call phases: call books that
    # cross, indicatives after every change, uncrosses with icebergs and waiting
    # market orders, and closes that expire DAY orders and cancel released stops.
    run(data, data.draw(venue_streams(max_size=120, phase_percent=20)))
