"""The venue's commands and events as records (layout v2), and back.

The reference kernel takes venue streams as records (NEW and REPLACE with their
TERMS record, SET_PHASE, CLOCK) and must give, decoded, exactly the pure engine's
events; every venue event must survive records both ways; every input must
survive the packer and the decoder; and a reader whose batch ends inside a venue
input or event must keep the rest for its next batch.
"""

from __future__ import annotations

import os
import random

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.records import layout as L
from ringmatch.engine.records import stream
from ringmatch.engine.records.convert import Encoder, decode_events, encode_events
from ringmatch.engine.records.inputs import InputPacker, decode_inputs, owners
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import Clock, NewOrder, Replace, SetPhase
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce, TradingPhase
from ringmatch.engine.schema.events import Event
from tests.engine.venue_strategies import VenueCommand, random_venue_stream, venue_streams

EXAMPLES = int(os.environ.get("RINGMATCH_MODEL_EXAMPLES", "150"))


def engine_events(stream_: list[VenueCommand]) -> list[Event]:
    engine = MatchingEngine()
    out: list[Event] = []
    for seq, c in enumerate(stream_, 1):
        out += engine.process(c, seq)
    return out


def kernel_events(stream_: list[VenueCommand]) -> tuple[list[Event], np.ndarray]:
    records = Encoder().encode(stream_, first_seq=1)
    events = ReferenceKernel().process(records)
    return decode_events(events, Directory()), events


def assert_kernel_is_the_engine(stream_: list[VenueCommand]) -> None:
    got, _ = kernel_events(stream_)
    assert got == engine_events(stream_)
    # And every Event survives records both ways (as a stand-in kernel writes them).
    assert decode_events(encode_events(got, Directory()), Directory()) == got


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(venue_streams())
def test_the_reference_kernel_on_venue_records_is_the_pure_engine(
    stream_: list[VenueCommand],
) -> None:
    assert_kernel_is_the_engine(stream_)


@pytest.mark.parametrize("seed", [1, 2])
def test_a_long_venue_stream_through_records_is_the_pure_engine(seed: int) -> None:
    assert_kernel_is_the_engine(random_venue_stream(random.Random(seed), 1500))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(venue_streams())
def test_venue_inputs_survive_the_packer_and_the_decoder(stream_: list[VenueCommand]) -> None:
    directory = Directory()
    packer = InputPacker(directory)
    packer.start()
    for seq, c in enumerate(stream_, 1):
        packer.add(c, seq)
    packed = packer.records().copy()
    encoded = Encoder().encode(stream_, first_seq=1)
    assert packed.tobytes() == encoded.tobytes()
    got = decode_inputs(packed, Directory())
    want = [
        (seq, _as_recorded(c))
        for seq, c in enumerate(stream_, 1)
        # A SET_PHASE to no phase at all has no record code: it decodes as nothing
        # (the kernel answers it UNKNOWN_PHASE, as the engine does).
        if not (isinstance(c, SetPhase) and c.phase not in L.PHASE_CODE)
    ]
    assert got == want


def _as_recorded(c: VenueCommand) -> VenueCommand:
    """A record has no "no price" for a limit: a LIMIT or STOP_LIMIT without one (which
    the engine rejects INVALID_PRICE, as it does price 0) is recorded at price 0."""
    if isinstance(c, NewOrder) and c.price is None and c.order_type in PRICED:
        return msgspec.structs.replace(c, price=0)
    if isinstance(c, SetPhase) and c.reference_price == 0:  # a record's 0 is none
        return msgspec.structs.replace(c, reference_price=None)
    return c


PRICED = (OrderType.LIMIT, OrderType.STOP_LIMIT)


def _stop_and_iceberg() -> list[VenueCommand]:
    return [
        NewOrder(1, "a", "S", Side.SELL, OrderType.LIMIT, 100, 5, display_qty=2, ts_ns=1),
        NewOrder(2, "b", "S", Side.BUY, OrderType.STOP, None, 3, trigger_price=100, ts_ns=2),
        NewOrder(
            3,
            "c",
            "S",
            Side.BUY,
            OrderType.LIMIT,
            100,
            1,
            tif=TimeInForce.GTD,
            expire_ts=50,
            ts_ns=3,
        ),
        Replace(2, "b", None, 4, 4, 0, 101),
        SetPhase("S", TradingPhase.HALTED, 5),
        Clock(60),
    ]


def test_a_venue_input_cut_by_a_batch_end_waits_for_its_terms() -> None:
    records = Encoder().encode(_stop_and_iceberg(), first_seq=1)
    terms_at = [i for i in owners(records).tolist() if records[i]["flags"] & L.TERMS]
    assert terms_at, "the stream has TERMS records"
    for i in terms_at:
        _, _, whole = stream.input_spans(records[: i + 1])
        assert whole == i, "a NEW or REPLACE without its TERMS is not whole"
        _, ends, whole = stream.input_spans(records[: i + 2])
        assert whole == i + 2 and ends[-1] == i + 2


def test_an_event_batch_never_ends_between_partners() -> None:
    _, events = kernel_events(_stop_and_iceberg())
    kinds = set(events["kind"].tolist())
    assert {L.ORDER_TERMS, L.PHASE_CHANGED}.issubset(kinds)
    partners = 0
    for n in range(1, len(events) + 1):
        whole = stream.whole_events(events[:n])
        last = events[n - 1]
        if whole == n - 1:
            partners += 1
            assert last["kind"] in (L.TRADE, L.ACCEPTED, L.REPLACED, L.AUCTION_TRADE)
            nxt = events[n]
            assert int(nxt["order_id"]) == int(last["order_id"]) or last["kind"] in (
                L.TRADE,
                L.AUCTION_TRADE,
            )
        else:
            assert whole == n
    assert partners >= 3  # the iceberg's ACCEPTED, the stop's, the replaced stop's


def test_a_malformed_terms_record_rejects_its_order_invalid_field() -> None:
    records = Encoder().encode(_stop_and_iceberg()[:2], first_seq=1)
    stop = [i for i in owners(records).tolist() if records[i]["kind"] == L.NEW][1]
    bad = records.copy()
    raw = bad[stop + 1 : stop + 2].view(L.TERMS_DTYPE)
    raw["present"] = 8  # no such field
    events = decode_events(ReferenceKernel().process(bad), Directory())
    assert [type(e).__name__ for e in events][-1] == "Rejected"
    assert events[-1].reason.value == "INVALID_FIELD"  # type: ignore[union-attr]
    # A TERMS record cut off by the batch's end: the same.
    events = decode_events(ReferenceKernel().process(records[: stop + 1]), Directory())
    assert events[-1].reason.value == "INVALID_FIELD"  # type: ignore[union-attr]


def test_a_plain_stream_packs_as_layout_v1_did() -> None:
    """No TERMS, no new kinds: a stream of v1's order types is byte for byte v1's."""
    plain = [
        NewOrder(1, "a", "S", Side.SELL, OrderType.LIMIT, 100, 5),
        NewOrder(2, "b", "S", Side.BUY, OrderType.MARKET, None, 3),
        Replace(1, "a", 101, 4),
    ]
    records = Encoder().encode(plain, first_seq=1)
    assert not (records["flags"] & (L.TERMS | L.KEEP_PRICE)).any()
    kinds = records["kind"][owners(records)].tolist()
    assert kinds == [L.DEFINE_ACCOUNT, L.DEFINE_SYMBOL, L.NEW, L.DEFINE_ACCOUNT, L.NEW, L.REPLACE]


@pytest.mark.parametrize("seed", [3, 4])
def test_a_reference_kernel_dumped_mid_venue_stream_goes_on_as_the_original(seed: int) -> None:
    """Held stops, icebergs, expiries, phases and call books survive dump and load."""
    records = Encoder().encode(random_venue_stream(random.Random(seed), 600), first_seq=1)
    at = owners(records).tolist()
    cut = at[len(at) // 2]
    whole = ReferenceKernel()
    want = whole.process(records)
    first = ReferenceKernel()
    before = first.process(records[:cut])
    second = ReferenceKernel()
    second.load(first.dump())
    after = second.process(records[cut:])
    assert before.tobytes() + after.tobytes() == want.tobytes()
    assert second.dump() == whole.dump()
