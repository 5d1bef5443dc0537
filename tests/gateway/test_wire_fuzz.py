"""Arbitrary bytes never crash the compiled wire conversion, and it reads the same as the reference.

Every buffer is handed over as a numpy array of exactly its length (its own
allocation), so that under AddressSanitizer a read past the end is an error.
To run it so: build gateway/wire/_convert.pyx with -O1 -g -fsanitize=address
-fno-omit-frame-pointer (link -fsanitize=address), put that .so in place of the
optimised one, and run this module with PYTHONMALLOC=malloc,
ASAN_OPTIONS=detect_leaks=0 and LD_PRELOAD="$(gcc -print-file-name=libasan.so)
$(gcc -print-file-name=libstdc++.so)", as .ci/asan-kernel does for the kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.records import layout as L
from ringmatch.gateway.wire import wire_choice, wire_reference

compiled = wire_choice.compiled_module()
pytestmark = pytest.mark.skipif(compiled is None, reason="the wire conversion was not compiled")


def exact(data: bytes) -> np.ndarray:
    """``data`` in an allocation of its own, no byte more."""
    return np.frombuffer(data, np.uint8).copy()


def both_read(data: bytes, symbol_ids: np.ndarray, room: int) -> None:
    assert compiled is not None
    out = np.zeros(room, L.INPUT_DTYPE)
    consumed, count, rejects = compiled.orders_to_inputs(exact(data), 3, symbol_ids, 5, out)
    assert 0 <= consumed <= len(data) and 0 <= count <= room
    want_out = np.zeros(room, L.INPUT_DTYPE)
    want = wire_reference.orders_to_inputs(data, 3, symbol_ids, 5, want_out)
    assert (consumed, count) == want[:2]
    assert rejects.tobytes() == want[2].tobytes()
    assert out.tobytes() == want_out.tobytes()


@settings(max_examples=500, deadline=None)
@given(
    data=st.binary(max_size=400),
    symbol_ids=st.lists(st.integers(0, 2**32 - 1), max_size=4),
    room=st.integers(0, 20),
)
def test_arbitrary_bytes(data: bytes, symbol_ids: list[int], room: int) -> None:
    both_read(data, np.array(symbol_ids, np.uint32), room)


def test_random_headers_of_request_types() -> None:
    # Random bytes under headers of the four request types with lengths near theirs:
    # the paths past the header, at every length, cut anywhere.
    rng = np.random.default_rng(13)
    symbol_ids = np.array([0, 1, 2], np.uint32)
    for _ in range(3000):
        parts = []
        for _ in range(int(rng.integers(1, 6))):
            kind = int(rng.choice([2, 3, 4, 5, 6, 2, 2]))
            length = int(rng.choice([4, 8, 16, 32, 40, int(rng.integers(0, 64))]))
            body = rng.integers(0, 256, max(length - 4, 0), np.uint8).tobytes()
            if rng.random() < 0.7:
                body = bytes(len(body))[: len(body) // 2] + body[len(body) // 2 :]
            parts.append(length.to_bytes(2, "little") + bytes([kind, 2]) + body)
        data = b"".join(parts)
        data = data[: int(rng.integers(0, len(data) + 1))]
        both_read(data, symbol_ids, int(rng.integers(0, 8)))


@settings(max_examples=300, deadline=None)
@given(
    raw=st.binary(max_size=80 * 12).map(lambda b: b[: len(b) - len(b) % 80]),
    slots=st.lists(st.integers(-5, 6), max_size=12),
    wire_symbol=st.lists(st.integers(0, 2**32 - 1), max_size=5),
)
def test_arbitrary_event_bytes(raw: bytes, slots: list[int], wire_symbol: list[int]) -> None:
    assert compiled is not None
    events = np.frombuffer(bytearray(raw), L.EVENT_DTYPE)
    slot_of_account = np.array(slots, np.int32)
    wire = np.array(wire_symbol, np.uint32)
    out = np.zeros(88 * len(events), np.uint8)
    want = np.zeros(88 * len(events), np.uint8)
    got = compiled.events_to_reports(events, slot_of_account, wire, out)
    assert got == wire_reference.events_to_reports(events, slot_of_account, wire, want)
    assert out.tobytes() == want.tobytes()


def test_bad_arguments_are_refused_naming_them() -> None:
    assert compiled is not None
    records = np.zeros(4, L.INPUT_DTYPE)
    ids = np.zeros(2, np.uint32)
    with pytest.raises(TypeError, match="out must have dtype"):
        compiled.orders_to_inputs(b"", 1, ids, 0, np.zeros(4, L.EVENT_DTYPE))
    with pytest.raises(TypeError, match=r"symbol_ids must be .* uint32"):
        compiled.orders_to_inputs(b"", 1, ids.astype(np.int64), 0, records)
    with pytest.raises(ValueError, match="out must be writable"):
        frozen = records.copy()
        frozen.flags.writeable = False
        compiled.orders_to_inputs(b"", 1, ids, 0, frozen)
    with pytest.raises(OverflowError):
        compiled.orders_to_inputs(b"", 2**32, ids, 0, records)
    events = np.zeros(2, L.EVENT_DTYPE)
    with pytest.raises(TypeError, match=r"slot_of_account must be .* int32"):
        compiled.events_to_reports(events, ids, ids, bytearray(200))
    with pytest.raises(TypeError, match="events must have dtype"):
        compiled.events_to_reports(records, ids.view(np.int32), ids, bytearray(200))
    with pytest.raises(BufferError):
        compiled.events_to_reports(events, ids.view(np.int32), ids, b"read-only")
