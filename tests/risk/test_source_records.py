"""The risk event source hands large batches over as records, small ones as Events:
the service ends in the same state, and the source's mark in the same place, either way."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.records.names import Directory
from ringmatch.risk.event_source import RECORDS_FROM, RiskEventSource
from ringmatch.risk.limits import RiskConfig
from ringmatch.risk.service import RiskService
from tests.engine.strategies import random_stream
from tests.risk.test_record_batch import event_records, full_state, whole_trades


def run(batches: list[np.ndarray], records_too: bool) -> tuple[Any, int, tuple[int, int]]:
    sent: list[object] = []
    service = RiskService(None, sent.append)
    service.monitor.set_config(RiskConfig(kill_position=40))
    directory = Directory()
    source = RiskEventSource(
        None,  # type: ignore[arg-type]  # never read: batches go straight to on_records
        0,
        service.on_events,
        None,
        directory=directory,
        deliver_records=(lambda r: service.on_records(r, directory)) if records_too else None,
    )
    source.skip_upto = 0
    for batch in batches:
        source.on_records(batch)
    return (full_state(service.monitor), sent), service.seq, (source.mark_seq, source.mark_count)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mean=st.sampled_from([8, RECORDS_FROM, 3 * RECORDS_FROM]))
def test_records_and_events_leave_the_same_positions_and_mark(seed: int, mean: int) -> None:
    events = event_records(random_stream(random.Random(seed), 1500))
    batches = whole_trades(events, random.Random(seed), mean)
    assert any(len(b) >= RECORDS_FROM for b in batches) or mean < RECORDS_FROM
    assert run(batches, records_too=True) == run(batches, records_too=False)
