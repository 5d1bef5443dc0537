"""The compiled kernel's dump() and load() (engine/kernel/kernel_dump.cpp).

A stream is split at a random input: kernel A runs the first part and is
dumped, kernel B loads that dump, and both run the rest. If the dump holds
the whole state, no record can tell them apart: the same event bytes, the
same books and counters, and at the end the same dump. Then the dump as
untrusted bytes: cut short or garbled, load raises ValueError, never crashes,
and a kernel whose load failed is still fresh.
"""

from __future__ import annotations

import itertools
import random
from typing import Any

import crc32c
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.schema.commands import SetPhase
from tests.engine.input_strategies import core_input_streams
from tests.engine.venue_strategies import random_venue_stream, venue_streams
from tests.kernel.differential import assert_same_events, compiled, examples
from tests.kernel.record_streams import owners, record_streams
from tests.kernel.test_differential import cuts_of, encoded
from tests.kernel.test_venue_differential import encoded as venue_encoded


def run(kernel: Any, batch: np.ndarray) -> tuple[np.ndarray | None, str | None]:
    """The batch's events, or the ValueError's text (a seq out of order)."""
    try:
        return kernel.process(batch), None
    except ValueError as refused:
        return None, str(refused)


def assert_same_kernels(a: Any, b: Any) -> None:
    assert (a.last_seq, a.trade_id, a.resting_orders) == (b.last_seq, b.trade_id, b.resting_orders)
    assert (a.symbols_defined, a.accounts_defined) == (b.symbols_defined, b.accounts_defined)
    for symbol in range(a.symbols_defined + 2):
        assert a.l3(symbol).tobytes() == b.l3(symbol).tobytes(), f"l3({symbol})"


def split_run(records: np.ndarray, split: int, cuts: list[int]) -> None:
    a = compiled()
    _, error = run(a, records[:split])
    if error is not None:
        return  # a seq out of order before the split: nothing after it is defined
    b = compiled()
    b.load(a.dump())
    assert_same_kernels(a, b)
    assert b.dump() == a.dump()
    bounds = sorted({split, *(c for c in cuts if c > split), len(records)})
    for lo, hi in itertools.pairwise(bounds):
        got_a, error_a = run(a, records[lo:hi])
        got_b, error_b = run(b, records[lo:hi])
        assert error_a == error_b
        if got_a is not None and got_b is not None:
            assert_same_events(got_b, got_a)
        assert_same_kernels(a, b)
    assert b.dump() == a.dump()


def split_of(draw: st.DrawFn, records: np.ndarray) -> int:
    return draw(st.sampled_from([*owners(records), len(records)]))


@settings(max_examples=examples(100), deadline=None)
@given(st.data())
def test_a_loaded_kernel_runs_record_streams_as_the_one_dumped(data: st.DataObject) -> None:
    records = data.draw(record_streams(max_inputs=80))
    split_run(records, split_of(data.draw, records), cuts_of(data.draw, records))


@settings(max_examples=examples(30), deadline=None)
@given(st.data())
def test_a_loaded_kernel_runs_core_streams_as_the_one_dumped(data: st.DataObject) -> None:
    records = encoded(data.draw(core_input_streams()))
    split_run(records, split_of(data.draw, records), cuts_of(data.draw, records))


@settings(max_examples=examples(60), deadline=None)
@given(st.data())
def test_a_loaded_kernel_runs_venue_streams_as_the_one_dumped(data: st.DataObject) -> None:
    # Held stops in release order, icebergs' slices and hidden parts and their
    # queue places after refreshes, GTD expiries, the time, the last prices; the
    # phases, crossed call books, waiting market orders, the reference prices and
    # the indicative last published (the next one is published only if it moved).
    records = venue_encoded(data.draw(venue_streams(max_size=100, phase_percent=20)))
    split_run(records, split_of(data.draw, records), cuts_of(data.draw, records))


def test_a_version_2_dump_still_loads() -> None:
    # Written before the phases: version 3 without its last section (36 bytes a
    # symbol), every book CONTINUOUS. A stream without a phase move makes one.
    stream = [c for c in random_venue_stream(random.Random(7), 300) if type(c) is not SetPhase]
    a = compiled()
    a.process(venue_encoded(stream))
    assert a.resting_orders > 0
    v3 = a.dump()
    assert int.from_bytes(v3[4:8], "little") == 3
    v2 = v3[:4] + (2).to_bytes(4, "little") + v3[8 : -4 - 36 * a.symbols_defined]
    b = compiled()
    b.load(sealed(v2))
    assert b.dump() == v3


def test_a_version_1_dump_still_loads() -> None:
    # Written before the venue's state (48-byte orders in entry order, nothing after
    # the sessions): two resting orders of account 1 in symbol 1, ids 1 and 2.
    def order(oid: int, side: int, price: int) -> bytes:
        return (
            oid.to_bytes(8, "little") + bytes(8) + price.to_bytes(8, "little")
            + (5).to_bytes(8, "little") + bytes(8) + (1).to_bytes(4, "little")
            + (1).to_bytes(2, "little") + bytes([side, 0])
        )  # fmt: skip

    header = b"RKC1" + (1).to_bytes(4, "little") + (2).to_bytes(8, "little") + bytes(8)
    header += (1).to_bytes(4, "little") * 2 + (2).to_bytes(8, "little")
    header += (1).to_bytes(8, "little") + bytes(16)
    body = header + order(1, 1, 99) + order(2, 2, 101)
    body += (1).to_bytes(8, "little") + (2).to_bytes(8, "little")  # used ids 1..2
    k = compiled()
    k.load(sealed(body))
    assert (k.last_seq, k.resting_orders) == (2, 2)
    assert k.l3(1)["price"].tolist() == [99, 101]
    again = compiled()
    again.load(k.dump())  # written as version 3
    assert again.dump() == k.dump()


def test_a_fresh_kernels_dump_loads() -> None:
    fresh = compiled().dump()
    assert fresh[:4] == b"RKC1"
    assert int.from_bytes(fresh[4:8], "little") == 3
    b = compiled()
    b.load(fresh)
    assert b.dump() == fresh


def a_dump(records: np.ndarray) -> bytes:
    a = compiled()
    run(a, records)
    dump: bytes = a.dump()
    return dump


def test_only_a_fresh_kernel_loads() -> None:
    a = compiled()
    dump = a.dump()
    run(a, encoded([]))  # the DEFINEs: no longer fresh
    with pytest.raises(ValueError, match="not fresh"):
        a.load(dump)


def test_not_a_compiled_kernels_dump() -> None:
    for data in (b"", b"RKC", b"RKR1" + bytes(60), b"RKC1\x02" + bytes(59)):
        with pytest.raises(ValueError, match="not a valid compiled kernel dump"):
            compiled().load(data)


def loads_or_refuses(data: bytes, good: bytes) -> None:
    """ValueError, or a state that dumps and loads again; a refusal leaves it fresh."""
    k = compiled()
    try:
        k.load(data)
    except ValueError:
        k.load(good)  # still fresh
        assert k.dump() == good
        return
    again = compiled()
    again.load(k.dump())
    assert again.dump() == k.dump()


def sealed(body: bytes) -> bytes:
    """``body`` with the checksum load wants: to reach the checks behind it."""
    return body + crc32c.crc32c(body).to_bytes(4, "little")


@settings(max_examples=examples(25), deadline=None)
@given(record_streams(max_inputs=80), st.data())
def test_a_cut_dump_is_refused(records: np.ndarray, data: st.DataObject) -> None:
    dump = a_dump(records)
    cut = data.draw(st.integers(0, len(dump) - 1))
    with pytest.raises(ValueError, match="not a valid compiled kernel dump"):
        compiled().load(dump[:cut])
    body = dump[:-4]
    if cut >= 8:  # past the magic and version: the state's own checks refuse it
        with pytest.raises(ValueError, match="not a valid compiled kernel dump"):
            compiled().load(sealed(body[: min(cut, len(body) - 1)]))
    with pytest.raises(ValueError, match="past its end"):
        compiled().load(sealed(body + bytes(data.draw(st.integers(1, 30)))))


@settings(max_examples=examples(50), deadline=None)
@given(record_streams(max_inputs=80), st.data())
def test_a_garbled_dump_is_refused(records: np.ndarray, data: st.DataObject) -> None:
    dump = a_dump(records)
    garbled = bytearray(dump)
    at = data.draw(st.integers(0, len(dump) - 1))
    garbled[at] ^= data.draw(st.integers(1, 255))
    with pytest.raises(ValueError, match="not a valid compiled kernel dump"):
        compiled().load(bytes(garbled))
    compiled().load(dump)


@settings(max_examples=examples(50), deadline=None)
@given(record_streams(max_inputs=80), st.data())
def test_garbled_orders_are_refused_or_are_a_state(
    records: np.ndarray, data: st.DataObject
) -> None:
    # The orders' bytes, checksummed again: every field's check, and the book's.
    dump = a_dump(records)
    resting = int.from_bytes(dump[32:40], "little")
    if resting == 0:
        return
    garbled = bytearray(dump[:-4])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(64, 64 + 48 * resting - 1))
        garbled[at] = data.draw(st.integers(0, 255))
    loads_or_refuses(sealed(bytes(garbled)), dump)


@settings(max_examples=examples(30), deadline=None)
@given(st.binary(max_size=300))
def test_random_state_bytes_never_crash(tail: bytes) -> None:
    # last_seq 1000: a random range count may ask for at most that many ids.
    head = b"RKC1" + (1).to_bytes(4, "little") + (1000).to_bytes(8, "little")
    loads_or_refuses(sealed(head + tail), compiled().dump())


def test_no_dump_with_the_pretrade_stage_on() -> None:
    # Layout 1 holds no stage state: refusing beats a snapshot that loses it.
    k = compiled()
    k.set_risk(True)
    with pytest.raises(RuntimeError, match="pre-trade stage"):
        k.dump()
    with pytest.raises(ValueError, match="pre-trade stage"):
        k.load(compiled().dump())
