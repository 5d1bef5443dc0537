"""Records are the commands and events they stand for: the reference kernel
(records in, records out) against the stage chain run on the Structs.

The reference kernel runs the pure engine itself, so what this holds is the
bridge: encoding (names to ids, DEFINE records), the record checks, the
client ids and cumulative quantities the records add, and decoding back.
"""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings

from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import Encoder, decode_events
from ringmatch.engine.records.names import BadName, Directory
from ringmatch.engine.schema.commands import Cancel, Input, NewOrder
from ringmatch.engine.schema.enums import OrderType, RejectReason, Side
from tests.engine.input_strategies import core_input_streams
from tests.engine.strategies import ACCOUNTS, SYMBOLS


def sorted_directory() -> Directory:
    # Ids in name order: the stage chain takes disconnected accounts in name
    # order, the kernel in id order; with both the same, the streams compare.
    return Directory(sorted(SYMBOLS), sorted(ACCOUNTS))


def as_dicts(events: list[object]) -> list[dict[str, object]]:
    return [{"type": type(e).__name__, **msgspec.structs.asdict(e)} for e in events]  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(core_input_streams())
def test_records_give_the_events_and_books_of_the_commands(stream: list[Input]) -> None:
    # A record's price 0 is a market order's "no price": a market order with a price of
    # 0 (MARKET_WITH_PRICE from the stage chain) is not one a record can stand for.
    stream = [
        msgspec.structs.replace(c, price=None)
        if isinstance(c, NewOrder) and c.order_type is OrderType.MARKET and c.price == 0
        else c
        for c in stream
    ]
    directory = sorted_directory()
    encoder = Encoder(directory)
    records = np.concatenate(
        [directory.define_records(), encoder.encode(stream, first_seq=1)], dtype=L.INPUT_DTYPE
    )
    kernel = ReferenceKernel()
    events = kernel.process(records)
    assert events.dtype == L.EVENT_DTYPE
    readers_names = Directory()
    got = decode_events(events, readers_names)
    assert readers_names.symbols.names() == directory.symbols.names()

    logic = CoreLogic()
    want = [e for seq, inp in enumerate(stream, 1) for e in logic.process(inp, seq)]
    assert as_dicts(got) == as_dicts(want)
    assert kernel.last_seq == logic.last_seq == len(stream)
    for ident, symbol in enumerate(directory.symbols.names(), 1):
        book = kernel.l3(ident)
        expected = logic.engine.l3(symbol)
        assert [(int(r["order_id"]), int(r["qty"]), int(r["price"])) for r in book] == [
            (o.order_id, o.qty, o.price) for o in expected
        ]
        assert [directory.accounts.name(int(a)) for a in book["account"]] == [
            o.account for o in expected
        ]


def fill_stream() -> list[Input]:
    return [
        NewOrder(1, "alice", "AAPL", Side.SELL, OrderType.LIMIT, 101, 10, client_order_id=7),
        NewOrder(2, "bob", "AAPL", Side.BUY, OrderType.LIMIT, 101, 4, client_order_id=9),
        NewOrder(3, "bob", "AAPL", Side.BUY, OrderType.LIMIT, 101, 4),
        Cancel(1, "alice"),
    ]


def test_every_record_about_an_order_carries_its_client_id_and_cumulative_quantity() -> None:
    records = Encoder().encode(fill_stream(), first_seq=1)
    events = ReferenceKernel().process(records)
    real = events[events["kind"] != L.NAME]
    rows = [
        (
            int(r["kind"]),
            int(r["order_id"]),
            int(r["client_order_id"]),
            int(r["leaves"]),
            int(r["cum"]),
        )
        for r in real
    ]
    assert rows == [
        (L.ACCEPTED, 1, 7, 10, 0),
        (L.ACCEPTED, 2, 9, 4, 0),
        (L.TRADE, 1, 7, 6, 4),  # the maker's record first, to alice
        (L.TRADE, 2, 9, 0, 4),  # then the taker's, to bob
        (L.ACCEPTED, 3, 0, 4, 0),
        (L.TRADE, 1, 7, 2, 8),
        (L.TRADE, 3, 0, 0, 4),
        (L.CANCELLED, 1, 7, 0, 8),
    ]
    trades = real[real["kind"] == L.TRADE]
    assert list(trades["flags"]) == [0, L.TAKER, 0, L.TAKER]
    assert len(set(trades["trade_id"][:2])) == 1


def test_a_record_naming_an_undefined_account_or_symbol_or_code_changes_nothing() -> None:
    directory = Directory(["AAPL"], ["alice"])
    ok = Encoder(directory).encode(
        [NewOrder(1, "alice", "AAPL", Side.BUY, OrderType.LIMIT, 100, 5)], first_seq=4
    )
    bad = np.repeat(ok, 4)
    bad[0]["account"] = 2  # never defined
    bad[1]["symbol"] = 2
    bad[2]["side"] = 3
    bad[3]["tif"] = 9
    bad["seq"] = [1, 2, 3, 5]
    kernel = ReferenceKernel()
    kernel.process(directory.define_records())
    events = kernel.process(np.concatenate([bad[:3], ok, bad[3:]], dtype=L.INPUT_DTYPE))
    reasons = [L.REJECT_REASON_OF.get(int(r["reason"])) for r in events]
    assert reasons == [
        RejectReason.UNKNOWN_ACCOUNT,
        RejectReason.UNKNOWN_SYMBOL,
        RejectReason.INVALID_FIELD,
        None,  # the good one is Accepted: the bad records before it did not use its id
        RejectReason.INVALID_FIELD,
    ]
    assert list(events["kind"]) == [L.REJECTED] * 3 + [L.ACCEPTED, L.REJECTED]
    assert kernel.last_seq == 5


def test_an_input_out_of_seq_order_is_refused_naming_the_record() -> None:
    records = Encoder().encode(fill_stream(), first_seq=1)
    records[-1]["seq"] = 2
    with pytest.raises(
        ValueError, match=r"record \d+: seq 2 is not after the last sequence number 3"
    ):
        ReferenceKernel().process(records)


def test_events_drain_through_a_small_buffer_call_after_call() -> None:
    records = Encoder().encode(fill_stream(), first_seq=1)
    whole = ReferenceKernel().process(records)
    kernel = ReferenceKernel()
    buffer = np.zeros(6, L.EVENT_DTYPE)
    parts = []
    at = 0
    while at < len(records):
        consumed, written = kernel.process_into(records[at:], buffer)
        assert consumed
        parts.append(buffer[:written].copy())
        at += consumed
    assert np.concatenate(parts, dtype=L.EVENT_DTYPE).tobytes() == whole.tobytes()
    kernel = ReferenceKernel()
    kernel.process(records[:-3])  # everything up to bob's second order
    with pytest.raises(EventBufferTooSmall, match="holds 2 records; the next input may need"):
        kernel.process_into(records[-3:], np.zeros(2, L.EVENT_DTYPE))


def test_a_name_must_fit_a_record() -> None:
    with pytest.raises(BadName, match="1 to 64 bytes"):
        Directory(["x" * 65])
    with pytest.raises(BadName):
        Directory([""])
