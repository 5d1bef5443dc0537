"""The compiled kernel against the reference on the venue's streams (VENUE_RULES.md).

Streams of stops and their cascades, icebergs, GTD and DAY orders, clocks and
rising (now and then falling) timestamps, with cancels and replaces of live
orders (held stops included), mass cancels and a trickle of invalid values,
from the venue model tests' generator (tests/engine/venue_strategies.py),
encoded to records as the core journals them and cut into random batches: both
kernels must agree on every event byte and every book after every batch. The
kernel does not run trading phases yet (engine.kernel.venue_gate): a stream
with a SET_PHASE is compared up to it, and the phase-free streams are what
the kernel runs whole.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import Encoder
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import SetPhase
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
def test_venue_streams_without_phases_give_the_same_events_and_books(
    data: st.DataObject,
) -> None:
    stream = [c for c in data.draw(venue_streams(max_size=120)) if type(c) is not SetPhase]
    run(data, stream)


@settings(max_examples=examples(60), deadline=None)
@given(st.data())
def test_venue_streams_agree_up_to_their_first_phase_change(data: st.DataObject) -> None:
    run(data, data.draw(venue_streams()))
