"""Arbitrary bytes as input records: the kernel never crashes and agrees with the reference.

Streams of plausible records are mutated byte by byte and mixed with records
of random bytes; every input kind's seq is then stamped increasing (else the
seq rule would stop nearly every stream at its first record), and batches
are cut anywhere, through an owner's text too.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.records import layout as L
from tests.kernel.differential import examples, run_batches
from tests.kernel.record_streams import owners, record_streams

SEQUENCED = range(L.NEW, L.SKIP_INPUT + 1)


@st.composite
def fuzzed_records(draw: st.DrawFn) -> np.ndarray:
    raw = bytearray(draw(record_streams(max_inputs=25)).tobytes())
    for _ in range(draw(st.integers(0, 12))):
        raw[draw(st.integers(0, len(raw) - 1))] = draw(st.integers(0, 255))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(raw) // L.INPUT_SIZE)) * L.INPUT_SIZE
        junk = draw(st.binary(min_size=L.INPUT_SIZE, max_size=L.INPUT_SIZE))
        raw[at:at] = junk
    records = np.frombuffer(bytes(raw), L.INPUT_DTYPE).copy()
    seq = 0
    for i in owners(records):
        if records[i]["kind"] in SEQUENCED and draw(st.integers(0, 99)) != 0:
            seq += 1
            records[i]["seq"] = seq
    return records


@settings(max_examples=examples(200), deadline=None)
@given(fuzzed_records(), st.lists(st.integers(0, 200), max_size=4))
def test_arbitrary_records_never_crash_and_agree_with_the_reference(
    records: np.ndarray, cuts: list[int]
) -> None:
    run_batches(records, [c for c in cuts if c < len(records)])


@settings(max_examples=examples(60), deadline=None)
@given(st.binary(max_size=L.INPUT_SIZE * 40).map(lambda b: b[: len(b) // 64 * 64]))
def test_raw_bytes_never_crash(raw: bytes) -> None:
    records = np.frombuffer(raw, L.INPUT_DTYPE).copy()
    run_batches(records, [])
