"""The compiled kernel against the reference kernel, on streams of every input.

Two sources of streams: the core's Structs encoded to records
(``core_input_streams``: the pure engine's own model-test mix, plus client
ids and sessions), and records drawn field by field (``record_streams``:
malformed fields, undefined ids, texts, far prices, huge quantities). Each
is cut into random batches; both kernels must agree after every batch.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import Encoder
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import Input
from tests.engine.input_strategies import core_input_streams
from tests.engine.strategies import ACCOUNTS, SYMBOLS
from tests.kernel.differential import (
    assert_same_events,
    compiled,
    drain,
    examples,
    run_batches,
)
from tests.kernel.record_streams import owners, record_streams


def encoded(stream: list[Input]) -> np.ndarray:
    # Ids in name order, as the reference's names sort (its note on WorkerStarted).
    directory = Directory(sorted(SYMBOLS), sorted(ACCOUNTS))
    body = Encoder(directory).encode(stream, first_seq=1)
    return np.concatenate([directory.define_records(), body], dtype=L.INPUT_DTYPE)


def cuts_of(draw: st.DrawFn, records: np.ndarray) -> list[int]:
    """Batch boundaries between inputs (an owner and its text stay together)."""
    starts = owners(records)
    return draw(st.lists(st.sampled_from(starts), max_size=6)) if starts else []


@settings(max_examples=examples(120), deadline=None)
@given(st.data())
def test_core_streams_give_the_same_events_and_books(data: st.DataObject) -> None:
    records = encoded(data.draw(core_input_streams()))
    run_batches(records, cuts_of(data.draw, records))


@settings(max_examples=examples(250), deadline=None)
@given(st.data())
def test_record_streams_give_the_same_events_and_books(data: st.DataObject) -> None:
    records = data.draw(record_streams())
    run_batches(records, cuts_of(data.draw, records))


@settings(max_examples=examples(80), deadline=None)
@given(record_streams(), st.integers(1, 40))
def test_events_drained_through_a_small_buffer_are_the_whole_batch(
    records: np.ndarray, room: int
) -> None:
    reference = ReferenceKernel()
    try:
        want = reference.process(records)
    except ValueError:
        return  # a seq out of order: test_record_streams covers the refusal
    assert_same_events(drain(compiled(), records, room), want)
