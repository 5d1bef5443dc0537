"""The compiled wire conversion against its pure-Python reference, byte for byte.

Streams of good and bad requests among other messages (tests/gateway/wire_streams.py)
through both orders_to_inputs, and event arrays drawn field by field through
both events_to_reports: every record byte, every reject, every report byte,
every span and seq the same. ``out`` starts as the same garbage in both, so a
byte one writes and the other leaves shows too.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.records import layout as L
from ringmatch.gateway.wire import wire_choice, wire_reference
from tests.gateway import wire_streams as S

compiled = wire_choice.compiled_module()
pytestmark = pytest.mark.skipif(compiled is None, reason="the wire conversion was not compiled")
EXAMPLES = settings(max_examples=400, deadline=None)
VERSIONS = pytest.mark.parametrize("version", [2, 3])


def garbage_records(n: int, seed: int) -> np.ndarray:
    raw = bytearray(np.random.default_rng(seed).integers(0, 256, n * L.INPUT_SIZE, np.uint8))
    return np.frombuffer(raw, L.INPUT_DTYPE)


@VERSIONS
@EXAMPLES
@given(
    data=st.data(),
    symbol_ids=S.symbol_ids(),
    account=st.integers(0, 2**32 - 1),
    ts_ns=st.integers(-(2**63), 2**63 - 1),
    room=st.integers(0, 14),
    max_frame=st.sampled_from([65536, 65536, 64, 40, 16, 8]),
    seed=st.integers(0, 2**32),
)
def test_orders_to_inputs_same_in_both(
    version: int,
    data: st.DataObject,
    symbol_ids: np.ndarray,
    account: int,
    ts_ns: int,
    room: int,
    max_frame: int,
    seed: int,
) -> None:
    # Version 3: a NEW or REPLACE with the venue's fields is two records, the TERMS one
    # after it; a room of one left for it stops both before it.
    assert compiled is not None
    stream = data.draw(S.stream(version))
    mine, theirs = garbage_records(room, seed), garbage_records(room, seed)
    args = (stream, account, symbol_ids, ts_ns)
    got = compiled.orders_to_inputs(*args, mine, max_frame, version)
    want = wire_reference.orders_to_inputs(*args, theirs, max_frame, version)
    assert got[:2] == want[:2]
    assert got[2].dtype == want[2].dtype
    assert got[2].tobytes() == want[2].tobytes()
    assert mine.tobytes() == theirs.tobytes()


@EXAMPLES
@given(
    data=S.stream(),
    symbol_ids=S.symbol_ids(),
    cut=st.integers(0, 64),
)
def test_any_bytes_like_buffer_reads_the_same(
    data: bytes, symbol_ids: np.ndarray, cut: int
) -> None:
    # A bytearray, a memoryview slice and a uint8 array are the worker's buffers.
    assert compiled is not None
    want = wire_reference.orders_to_inputs(
        data[cut:], 7, symbol_ids, 1, np.zeros(16, L.INPUT_DTYPE)
    )
    for buffer in (bytearray(data), memoryview(data)[cut:], np.frombuffer(data, np.uint8)):
        out = np.zeros(16, L.INPUT_DTYPE)
        view = buffer if isinstance(buffer, memoryview) else memoryview(buffer)[cut:]
        got = compiled.orders_to_inputs(view, 7, symbol_ids, 1, out)
        assert got[:2] == want[:2]
        assert got[2].tobytes() == want[2].tobytes()


@VERSIONS
@EXAMPLES
@given(
    events=S.events(),
    slot_of_account=S.slot_of_account(),
    wire_symbol=S.wire_symbol(),
    spare=st.integers(0, 100),
    seed=st.integers(0, 2**32),
)
def test_events_to_reports_same_in_both(
    version: int,
    events: np.ndarray,
    slot_of_account: np.ndarray,
    wire_symbol: np.ndarray,
    spare: int,
    seed: int,
) -> None:
    assert compiled is not None
    size = 88 * len(events) + spare
    fill = np.random.default_rng(seed).integers(0, 256, size, np.uint8).tobytes()
    mine, theirs = bytearray(fill), bytearray(fill)
    got = compiled.events_to_reports(events, slot_of_account, wire_symbol, mine, version)
    want = wire_reference.events_to_reports(events, slot_of_account, wire_symbol, theirs, version)
    assert got == want
    assert mine == theirs


@EXAMPLES
@given(events=S.events(), slot_of_account=S.slot_of_account(), wire_symbol=S.wire_symbol())
def test_an_out_too_small_is_refused_by_both_writing_nothing(
    events: np.ndarray, slot_of_account: np.ndarray, wire_symbol: np.ndarray
) -> None:
    assert compiled is not None
    _, need, _ = wire_reference.events_to_reports(
        events, slot_of_account, wire_symbol, bytearray(88 * len(events))
    )
    if need == 0:
        return
    for module in (compiled, wire_reference):
        out = bytearray(b"\xee" * (need - 1))
        with pytest.raises(ValueError, match=f"the reports need {need}"):
            module.events_to_reports(events, slot_of_account, wire_symbol, out)
        assert out == b"\xee" * (need - 1)


@VERSIONS
@EXAMPLES
@given(events=S.events(), slot_of_account=S.slot_of_account(), wire_symbol=S.wire_symbol())
def test_events_to_slot_bytes_same_in_both_and_as_the_spans(
    version: int, events: np.ndarray, slot_of_account: np.ndarray, wire_symbol: np.ndarray
) -> None:
    assert compiled is not None
    args = (events, slot_of_account, wire_symbol)
    got = compiled.events_to_slot_bytes(*args, version)
    assert got == wire_reference.events_to_slot_bytes(*args, version)
    out = bytearray(88 * len(events))
    spans, _, max_seq = compiled.events_to_reports(*args, out, version)
    assert got == ([(slot, bytes(out[at : at + n])) for slot, at, n in spans], max_seq)
