"""The wire conversion on bytes written out by hand from the spec's tables (wire_spec.md).

These pin the reference (and, run through both, the compiled conversion) to
the spec itself, where the differential test only holds the two to each other.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from ringmatch.engine.records import layout as L
from ringmatch.gateway.wire import wire_choice, wire_reference
from ringmatch.gateway.wire.reject_text import describe_rejects

MODULES = [pytest.param(wire_reference, id="reference")]
if (compiled := wire_choice.compiled_module()) is not None:
    MODULES.append(pytest.param(compiled, id="compiled"))
every_module = pytest.mark.parametrize("conv", MODULES)


def wire(text: str) -> bytes:
    """Hex bytes, '#' comments and whitespace ignored."""
    return bytes.fromhex("".join(line.split("#")[0] for line in text.splitlines()))


NEW_ORDER = wire("""
    28 00                     # length 40
    02 02                     # type NewOrder, version 2
    02 01 03 04               # side SELL, order_type LIMIT, tif FOK, stp DECREMENT
    02 00 00 00               # symbol: wire id 2
    01 00 00 00               # flags post_only, reserved
    2a 00 00 00 00 00 00 00   # client_order_id 42
    e8 03 00 00 00 00 00 00   # price 1000
    05 00 00 00 00 00 00 00   # qty 5
""")
MARKET_ORDER = wire("""
    28 00 02 02   01 02 02 00   01 00 00 00   00 00 00 00   # BUY MARKET IOC, wire symbol 1
    2b 00 00 00 00 00 00 00   00 00 00 00 00 00 00 00       # client_order_id 43, price 0: none
    ff ff ff ff ff ff ff 7f                                 # qty 2^63 - 1
""")
CANCEL = wire("10 00 03 02   00 00 00 00   2a 00 00 00 00 00 00 00")  # client_order_id 42
REPLACE = wire("""
    20 00 04 02   00 00 00 00   2a 00 00 00 00 00 00 00   # client_order_id 42
    f4 01 00 00 00 00 00 00   07 00 00 00 00 00 00 00     # price 500, qty 7
""")
MASS_CANCEL_ALL = wire("08 00 05 02   00 00 00 00")  # symbol 0: every symbol
MASS_CANCEL_ONE = wire("08 00 05 02   02 00 00 00")  # wire symbol 2
HEARTBEAT = wire("04 00 06 02")
SYMBOL_IDS = np.array([0, 11, 22], np.uint32)  # wire 1 -> record 11, wire 2 -> record 22
ACCOUNT, TS = 7, 99

# kind side type tif stp flags reason spare account symbol order_id cid price qty ts seq
RECORDS = {
    NEW_ORDER: (L.NEW, 2, 1, 3, 4, L.POST_ONLY, 0, 0, 7, 22, 0, 42, 1000, 5, TS, 0),
    MARKET_ORDER: (L.NEW, 1, 2, 2, 0, 0, 0, 0, 7, 11, 0, 43, 0, 2**63 - 1, TS, 0),
    CANCEL: (L.CANCEL, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 42, 0, 0, TS, 0),
    REPLACE: (L.REPLACE, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 42, 500, 7, TS, 0),
    MASS_CANCEL_ALL: (L.MASS_CANCEL, 0, 0, 0, 0, 0, 7, 0, 7, 0, 0, 0, 0, 0, TS, 0),
    MASS_CANCEL_ONE: (L.MASS_CANCEL, 0, 0, 0, 0, 0, 7, 0, 7, 22, 0, 0, 0, 0, TS, 0),
}


def convert(conv: ModuleType, data: bytes, room: int = 16) -> tuple[int, list[tuple], list]:
    out = np.zeros(room, L.INPUT_DTYPE)
    consumed, count, rejects = conv.orders_to_inputs(data, ACCOUNT, SYMBOL_IDS, TS, out)
    return consumed, out[:count].tolist(), describe_rejects(rejects)


def test_mass_cancel_reason_is_the_mass_cancel_code() -> None:
    assert L.CANCEL_REASON[7] is not None and L.CANCEL_REASON[7].name == "MASS_CANCEL"


@every_module
@pytest.mark.parametrize("message", list(RECORDS), ids=lambda m: m[:4].hex())
def test_each_request_becomes_its_record(conv: ModuleType, message: bytes) -> None:
    assert convert(conv, message) == (len(message), [RECORDS[message]], [])


@every_module
def test_a_stream_stops_at_the_first_message_that_is_not_a_request(conv: ModuleType) -> None:
    requests = NEW_ORDER + CANCEL + REPLACE + MASS_CANCEL_ALL
    consumed, records, rejects = convert(conv, requests + HEARTBEAT + NEW_ORDER)
    assert consumed == len(requests)
    assert records == [RECORDS[m] for m in (NEW_ORDER, CANCEL, REPLACE, MASS_CANCEL_ALL)]
    assert rejects == []


@every_module
@pytest.mark.parametrize(
    "tail",
    [
        NEW_ORDER[:39],  # incomplete: the rest has not arrived
        NEW_ORDER[:3],  # not even a header
        wire("03 00 02 02"),  # length < 4: fatal, the protocol code's
        wire("2a 00 2a 02") + bytes(38),  # unknown type 42
        wire("0a 00 01 02") + bytes(6),  # a Logon
    ],
)
def test_what_stops_it(conv: ModuleType, tail: bytes) -> None:
    assert convert(conv, CANCEL + tail)[:2] == (len(CANCEL), [RECORDS[CANCEL]])


@every_module
def test_a_longer_message_than_max_frame_stops_it(conv: ModuleType) -> None:
    out = np.zeros(4, L.INPUT_DTYPE)
    got = conv.orders_to_inputs(CANCEL + NEW_ORDER, 7, SYMBOL_IDS, TS, out, 39)
    assert got[:2] == (len(CANCEL), 1)


@every_module
def test_a_full_out_stops_it_before_the_next_message(conv: ModuleType) -> None:
    consumed, records, _ = convert(conv, CANCEL + CANCEL + CANCEL, room=2)
    assert (consumed, len(records)) == (32, 2)
    assert convert(conv, CANCEL, room=0)[:2] == (0, [])


def patched(message: bytes, at: int, raw: str) -> bytes:
    new = bytes.fromhex(raw)
    return message[:at] + new + message[at + len(new) :]


REJECTS = [
    # (message, the MessageReject it is: message, field, reason, client_order_id)
    (
        patched(NEW_ORDER, 4, "07"),
        ("NewOrder", "side", "invalid code 7 (valid: 1 BUY, 2 SELL)", 42),
    ),
    (
        patched(NEW_ORDER, 5, "00"),
        ("NewOrder", "order_type", "invalid code 0 (valid: 1 LIMIT, 2 MARKET)", 42),
    ),
    (
        patched(NEW_ORDER, 6, "09"),
        ("NewOrder", "tif", "invalid code 9 (valid: 0 default, 1 GTC, 2 IOC, 3 FOK)", 42),
    ),
    (
        patched(NEW_ORDER, 7, "05"),
        (
            "NewOrder",
            "stp",
            "invalid code 5 (valid: 0 NONE, 1 CANCEL_TAKER, 2 CANCEL_MAKER, "
            "3 CANCEL_BOTH, 4 DECREMENT)",
            42,
        ),
    ),
    (patched(NEW_ORDER, 8, "09"), ("NewOrder", "symbol", "unknown symbol id 9", 42)),
    (patched(NEW_ORDER, 8, "00"), ("NewOrder", "symbol", "unknown symbol id 0", 42)),
    (patched(NEW_ORDER, 14, "80"), ("NewOrder", "reserved", "reserved bytes must be 0", 42)),
    (
        patched(NEW_ORDER, 12, "03"),  # post_only and a bit the spec does not name
        ("NewOrder", "flags", "unknown flag bits 0x02 (known: 0x01)", 42),
    ),
    # Several fields bad: the first in offset order is named, as the protocol's codec does.
    (
        patched(patched(NEW_ORDER, 4, "07"), 13, "01"),
        ("NewOrder", "side", "invalid code 7 (valid: 1 BUY, 2 SELL)", 42),
    ),
    (
        patched(patched(NEW_ORDER, 8, "09"), 16, "0000000000000000"),
        ("NewOrder", "symbol", "unknown symbol id 9", 0),
    ),
    (
        patched(patched(NEW_ORDER, 12, "80"), 14, "01"),
        ("NewOrder", "flags", "unknown flag bits 0x80 (known: 0x01)", 42),
    ),
    (
        patched(patched(NEW_ORDER, 24, "ffffffffffffffff"), 32, "0000000000000000"),
        ("NewOrder", "price", "must be > 0, got -1", 42),
    ),
    (
        patched(NEW_ORDER, 16, "0000000000000000"),
        ("NewOrder", "client_order_id", "must be > 0, got 0", 0),
    ),
    (
        patched(NEW_ORDER, 16, "0000000000000080"),
        ("NewOrder", "client_order_id", "must be below 2^63, got 9223372036854775808", 2**63),
    ),
    (patched(NEW_ORDER, 24, "ffffffffffffffff"), ("NewOrder", "price", "must be > 0, got -1", 42)),
    (patched(NEW_ORDER, 32, "0000000000000000"), ("NewOrder", "qty", "must be > 0, got 0", 42)),
    (
        patched(NEW_ORDER, 3, "03"),
        ("NewOrder", "version", "unsupported version 3 (this end speaks 2)", 42),
    ),
    (
        wire("18 00 02 02") + NEW_ORDER[4:24],
        ("NewOrder", "length", "NewOrder is 40 bytes, got 24", 42),
    ),
    (
        wire("17 00 02 02") + NEW_ORDER[4:23],
        ("NewOrder", "length", "NewOrder is 40 bytes, got 23", 0),
    ),
    (
        patched(CANCEL, 8, "0000000000000000"),
        ("Cancel", "client_order_id", "must be > 0, got 0", 0),
    ),
    (patched(CANCEL, 4, "01"), ("Cancel", "reserved", "reserved bytes must be 0", 42)),
    (CANCEL + bytes(2), None),  # its length is still 16: a Cancel, then two bytes of no header
    (patched(REPLACE, 16, "fbffffffffffffff"), ("Replace", "price", "must be > 0, got -5", 42)),
    (patched(REPLACE, 24, "0000000000000000"), ("Replace", "qty", "must be > 0, got 0", 42)),
    (patched(REPLACE, 16, "0000000000000000"), ("Replace", "price", "must be > 0, got 0", 42)),
    (patched(MASS_CANCEL_ONE, 4, "03"), ("MassCancel", "symbol", "unknown symbol id 3", 0)),
    (
        wire("0c 00 05 02") + bytes(8),
        ("MassCancel", "length", "MassCancel is 8 bytes, got 12", 0),
    ),
]


@every_module
@pytest.mark.parametrize(("message", "reject"), REJECTS, ids=lambda x: "" if x is None else None)
def test_a_bad_request_is_a_reject_and_no_record(
    conv: ModuleType, message: bytes, reject: tuple | None
) -> None:
    # Between two good requests: the bad one is skipped by its length, the stream goes on.
    length = int.from_bytes(message[:2], "little")
    consumed, records, rejects = convert(conv, CANCEL + message[:length] + REPLACE)
    assert consumed == len(CANCEL) + length + len(REPLACE)
    if reject is None:
        assert rejects == [] and len(records) == 3
    else:
        assert rejects == [reject]
        assert records == [RECORDS[CANCEL], RECORDS[REPLACE]]


@every_module
def test_a_reject_entry_says_where(conv: ModuleType) -> None:
    bad = patched(NEW_ORDER, 4, "07")
    out = np.zeros(8, L.INPUT_DTYPE)
    _, _, rejects = conv.orders_to_inputs(CANCEL + CANCEL + bad, 7, SYMBOL_IDS, TS, out)
    (entry,) = rejects.tolist()
    offset, cid, value, index, kind, *_ = entry
    assert (offset, cid, value, index, kind) == (32, 42, 7, 2, 2)


# -- reports -------------------------------------------------------------------------------

SLOT_OF_ACCOUNT = np.array([-1, -1, 0, -1, 1], np.int32)  # accounts 2 and 4 are local
WIRE_SYMBOL = np.array([0, 0, 0, 9], np.uint32)  # record symbol 3 -> wire 9


def event(**fields: int) -> np.ndarray:
    rec = np.zeros(1, L.EVENT_DTYPE)
    for name, value in fields.items():
        rec[name] = value
    return rec


TRADE = event(kind=L.TRADE, side=1, account=2, symbol=3, seq=0x10, order_id=0x20,
              client_order_id=0x30, price=1000, qty=4, leaves=0, cum=10, trade_id=0x77)  # fmt: skip
TRADE_REPORT = wire("""
    58 00 0d 02                 # length 88, ExecutionReport, version 2
    04 01 00 00                 # FILLED, BUY, reason 0, request 0
    09 00 00 00   00 00 00 00   # wire symbol 9, reserved
    10 00 00 00 00 00 00 00     # seq
    20 00 00 00 00 00 00 00     # order_id
    30 00 00 00 00 00 00 00     # client_order_id
    00 00 00 00 00 00 00 00     # price: none on a fill
    e8 03 00 00 00 00 00 00     # last_price 1000
    04 00 00 00 00 00 00 00     # last_qty 4
    0a 00 00 00 00 00 00 00     # cum_qty 10
    00 00 00 00 00 00 00 00     # leaves_qty 0
    77 00 00 00 00 00 00 00     # trade_id
""")
ACCEPTED = event(kind=L.ACCEPTED, side=2, order_type=1, tif=1, account=4, symbol=3, seq=0x11,
                 order_id=0x21, client_order_id=0x31, price=500, qty=6, leaves=6)  # fmt: skip
ACCEPTED_REPORT = wire("""
    58 00 0d 02   01 02 00 00   09 00 00 00   00 00 00 00   # ACCEPTED, SELL, wire symbol 9
    11 00 00 00 00 00 00 00   21 00 00 00 00 00 00 00       # seq, order_id
    31 00 00 00 00 00 00 00   f4 01 00 00 00 00 00 00       # client_order_id, price 500
    00 00 00 00 00 00 00 00   00 00 00 00 00 00 00 00       # last_price, last_qty
    00 00 00 00 00 00 00 00   06 00 00 00 00 00 00 00       # cum 0, leaves 6
    00 00 00 00 00 00 00 00                                 # trade_id
""")
REJECTED = event(kind=L.REJECTED, side=1, reason=3, command=2, account=2, symbol=3, seq=0x12,
                 order_id=0x22, client_order_id=0x32, price=7, qty=8, leaves=9, cum=1)  # fmt: skip
REJECTED_REPORT = wire("""
    58 00 0d 02   02 00 03 02   00 00 00 00   00 00 00 00 # REJECTED, 0, INVALID_SYMBOL, CANCEL
    12 00 00 00 00 00 00 00   22 00 00 00 00 00 00 00       # seq, order_id
    32 00 00 00 00 00 00 00                                 # client_order_id
""") + bytes(48)  # price, last_price, last_qty, cum, leaves, trade_id: all 0
KILLED = event(kind=L.CANCELLED, side=1, reason=5, account=4, symbol=1, seq=0x13, order_id=0x23,
               client_order_id=0x33, price=100, qty=3, leaves=0, cum=2)  # fmt: skip
KILLED_REPORT = wire("""
    58 00 0d 02   07 01 05 00   00 00 00 00   00 00 00 00   # KILLED, BUY, KILLED_FOK; symbol 0
    13 00 00 00 00 00 00 00   23 00 00 00 00 00 00 00       # seq, order_id
    33 00 00 00 00 00 00 00   64 00 00 00 00 00 00 00       # client_order_id, price 100
    00 00 00 00 00 00 00 00   00 00 00 00 00 00 00 00       # last_price, last_qty
    02 00 00 00 00 00 00 00   00 00 00 00 00 00 00 00       # cum 2, leaves 0
    00 00 00 00 00 00 00 00
""")
MASS_CANCELLED = event(kind=L.MASS_CANCELLED, account=2, symbol=0, seq=0x14, qty=3, reason=7)
MASS_CANCEL_DONE = wire("""
    20 00 0f 02   00 00 00 00                               # MassCancelDone, symbol 0: all
    14 00 00 00 00 00 00 00   03 00 00 00 00 00 00 00       # seq, count 3
    07 00 00 00 00 00 00 00                                 # MASS_CANCEL, reserved
""")
FOREIGN = event(kind=L.ACCEPTED, account=3, seq=0x40)  # another worker's session
NAME = event(kind=L.NAME, flags=L.NAME_ACCOUNT, account=2, name_len=1)


@every_module
def test_events_become_reports_grouped_per_slot(conv: ModuleType) -> None:
    events = L.join_records(
        [TRADE, ACCEPTED, FOREIGN, NAME, REJECTED, KILLED, MASS_CANCELLED], L.EVENT_DTYPE
    )
    out = bytearray(88 * len(events))
    spans, nbytes, max_seq = conv.events_to_reports(events, SLOT_OF_ACCOUNT, WIRE_SYMBOL, out)
    slot0 = TRADE_REPORT + REJECTED_REPORT + MASS_CANCEL_DONE
    slot1 = ACCEPTED_REPORT + KILLED_REPORT
    assert spans == [(0, 0, len(slot0)), (1, len(slot0), len(slot1))]
    assert nbytes == len(slot0) + len(slot1)
    assert bytes(out[:nbytes]) == slot0 + slot1
    assert max_seq == 0x40  # the foreign event's: the highest the worker has seen
    assert conv.events_to_slot_bytes(events, SLOT_OF_ACCOUNT, WIRE_SYMBOL) == (
        [(0, slot0), (1, slot1)],
        0x40,
    )


@every_module
@pytest.mark.parametrize(
    ("fields", "exec_type", "leaves"),
    [
        ({"kind": L.TRADE, "leaves": 2}, 3, 2),  # PARTIALLY_FILLED
        ({"kind": L.CANCELLED, "reason": 1, "leaves": 5}, 5, 0),  # CANCELLED, leaves 0
        ({"kind": L.REDUCED, "reason": 4, "leaves": 5}, 8, 5),  # REDUCED
        ({"kind": L.REPLACED, "qty": 9, "leaves": 1}, 6, 9),  # REPLACED: leaves = qty
    ],
)
def test_exec_types(conv: ModuleType, fields: dict[str, int], exec_type: int, leaves: int) -> None:
    out = bytearray(88)
    conv.events_to_reports(event(account=4, **fields), SLOT_OF_ACCOUNT, WIRE_SYMBOL, out)
    assert out[4] == exec_type
    assert int.from_bytes(out[72:80], "little") == leaves


@every_module
def test_no_reports_for_names_foreigners_or_accounts_past_the_table(conv: ModuleType) -> None:
    events = L.join_records([FOREIGN, NAME, event(kind=L.ACCEPTED, account=99)], L.EVENT_DTYPE)
    got = conv.events_to_reports(events, SLOT_OF_ACCOUNT, WIRE_SYMBOL, bytearray())
    assert got == ([], 0, 0x40)


def test_the_choice_is_the_compiled_module_unless_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    assert wire_choice.conversion(pure=True) is wire_reference
    monkeypatch.setenv("RINGMATCH_PURE", "1")
    assert not wire_choice.is_compiled(wire_choice.conversion())
    monkeypatch.delenv("RINGMATCH_PURE")
    chosen = wire_choice.conversion()
    assert wire_choice.is_compiled(chosen) == (compiled is not None)
    for name in ("orders_to_inputs", "events_to_reports", "events_to_slot_bytes"):
        assert callable(getattr(chosen, name))


# -- version 3 -----------------------------------------------------------------------------

STOP_LIMIT_GTD = wire("""
    40 00 02 03   02 04 05 00   02 00 00 00   00 00 00 00   # v3: SELL STOP_LIMIT GTD, wire 2
    2c 00 00 00 00 00 00 00   e8 03 00 00 00 00 00 00       # client_order_id 44, price 1000
    05 00 00 00 00 00 00 00   e9 03 00 00 00 00 00 00       # qty 5, trigger_price 1001
    00 00 00 00 00 00 00 00   00 ca 9a 3b 00 00 00 00       # display_qty none, expire_ts 1e9
""")
ICEBERG = wire("""
    40 00 02 03   01 01 00 00   01 00 00 00   00 00 00 00   # v3: BUY LIMIT, wire symbol 1
    2d 00 00 00 00 00 00 00   64 00 00 00 00 00 00 00       # client_order_id 45, price 100
    0a 00 00 00 00 00 00 00   00 00 00 00 00 00 00 00       # qty 10, no trigger
    02 00 00 00 00 00 00 00   00 00 00 00 00 00 00 00       # display_qty 2, no expiry
""")
PLAIN_V3 = patched(ICEBERG, 48, "0000000000000000")  # no venue field: one record
KEEP_PRICE = wire("""
    28 00 04 03   01 00 00 00   2c 00 00 00 00 00 00 00     # v3 Replace: keep_price, cid 44
    00 00 00 00 00 00 00 00   04 00 00 00 00 00 00 00       # price 0 (kept), qty 4
    e7 03 00 00 00 00 00 00                                 # trigger_price 999
""")
# kind side type tif stp flags reason spare account symbol order_id cid price qty ts seq
RECORDS_V3 = {
    STOP_LIMIT_GTD: [
        (L.NEW, 2, 4, 5, 0, L.TERMS, 0, 0, 7, 22, 0, 44, 1000, 5, TS, 0),
        # the TERMS record, read as an input record: present (byte 1) trigger|expire;
        # trigger_price at 8 (account, symbol), display_qty at 16, expire_ts at 24
        (0, L.HAS_TRIGGER | L.HAS_EXPIRE, 0, 0, 0, 0, 0, 0, 1001, 0, 0, 10**9, 0, 0, 0, 0),
    ],
    ICEBERG: [
        (L.NEW, 1, 1, 0, 0, L.TERMS, 0, 0, 7, 11, 0, 45, 100, 10, TS, 0),
        (0, L.HAS_DISPLAY, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0),
    ],
    PLAIN_V3: [(L.NEW, 1, 1, 0, 0, 0, 0, 0, 7, 11, 0, 45, 100, 10, TS, 0)],
    KEEP_PRICE: [
        (L.REPLACE, 0, 0, 0, 0, L.KEEP_PRICE | L.TERMS, 0, 0, 7, 0, 0, 44, 0, 4, TS, 0),
        (0, L.HAS_TRIGGER, 0, 0, 0, 0, 0, 0, 999, 0, 0, 0, 0, 0, 0, 0),
    ],
}


def convert_v3(conv: ModuleType, data: bytes, room: int = 16) -> tuple[int, list[tuple], list]:
    out = np.zeros(room, L.INPUT_DTYPE)
    consumed, count, rejects = conv.orders_to_inputs(data, ACCOUNT, SYMBOL_IDS, TS, out, 65_536, 3)
    return consumed, out[:count].tolist(), describe_rejects(rejects, 3)


@every_module
@pytest.mark.parametrize("message", list(RECORDS_V3), ids=lambda m: m[4:8].hex())
def test_each_v3_request_becomes_its_records(conv: ModuleType, message: bytes) -> None:
    assert convert_v3(conv, message) == (len(message), RECORDS_V3[message], [])


def _v3_reject(message: bytes, name: str, field: str, reason: str) -> tuple[bytes, tuple]:
    cid = int.from_bytes(message[16:24] if name == "NewOrder" else message[8:16], "little")
    return message, (name, field, reason, cid)


NEG = "ffffffffffffffff"  # -1
CUT_STOP = wire("28 00 02 03") + STOP_LIMIT_GTD[4:40]  # a v2-sized NewOrder in a v3 session


@every_module
@pytest.mark.parametrize(
    ("message", "reject"),
    [
        _v3_reject(CUT_STOP, "NewOrder", "length", "NewOrder is 64 bytes, got 40"),
        _v3_reject(
            patched(STOP_LIMIT_GTD, 3, "02"),
            "NewOrder", "version", "unsupported version 2 (this end speaks 3)",
        ),
        _v3_reject(
            patched(STOP_LIMIT_GTD, 5, "05"),
            "NewOrder", "order_type",
            "invalid code 5 (valid: 1 LIMIT, 2 MARKET, 3 STOP, 4 STOP_LIMIT)",
        ),
        _v3_reject(
            patched(STOP_LIMIT_GTD, 6, "06"),
            "NewOrder", "tif",
            "invalid code 6 (valid: 0 default, 1 GTC, 2 IOC, 3 FOK, 4 DAY, 5 GTD)",
        ),
        _v3_reject(
            patched(STOP_LIMIT_GTD, 24, "0000000000000000"),
            "NewOrder", "price", "must be > 0, got 0",  # a stop limit needs its price
        ),
        _v3_reject(
            patched(STOP_LIMIT_GTD, 40, NEG),
            "NewOrder", "trigger_price", "must be >= 0 (0: none), got -1",
        ),
        _v3_reject(
            patched(ICEBERG, 48, NEG), "NewOrder", "display_qty", "must be >= 0 (0: none), got -1"
        ),
        _v3_reject(
            patched(STOP_LIMIT_GTD, 56, NEG),
            "NewOrder", "expire_ts", "must be >= 0 (0: none), got -1",
        ),
        _v3_reject(
            patched(KEEP_PRICE, 4, "02"),
            "Replace", "flags", "unknown flag bits 0x02 (known: 0x01)",
        ),
        _v3_reject(patched(KEEP_PRICE, 5, "01"), "Replace", "reserved", "reserved bytes must be 0"),
        _v3_reject(
            patched(KEEP_PRICE, 16, "0500000000000000"),
            "Replace", "price", "must be 0 with flag keep_price, got 5",
        ),
        _v3_reject(patched(KEEP_PRICE, 4, "00"), "Replace", "price", "must be > 0, got 0"),
        _v3_reject(
            patched(KEEP_PRICE, 32, NEG),
            "Replace", "trigger_price", "must be >= 0 (0: unchanged), got -1",
        ),
    ],
)  # fmt: skip
def test_a_bad_v3_request_is_named_as_the_codec_names_it(
    conv: ModuleType, message: bytes, reject: tuple[str, str, str, int]
) -> None:
    assert convert_v3(conv, message) == (len(message), [], [reject])


@every_module
def test_a_v2_message_is_refused_in_a_v3_session_and_a_v3_one_in_a_v2_session(
    conv: ModuleType,
) -> None:
    assert convert_v3(conv, NEW_ORDER)[2] == [
        ("NewOrder", "version", "unsupported version 2 (this end speaks 3)", 42)
    ]
    assert convert(conv, ICEBERG)[2] == [
        ("NewOrder", "version", "unsupported version 3 (this end speaks 2)", 45)
    ]


AUCTION = {"kind": L.AUCTION_TRADE, "symbol": 3, "seq": 0x50, "price": 1000, "qty": 4}
AUCTION_BUY = event(**AUCTION, side=1, account=2, order_id=0x60, client_order_id=0x70,
                    leaves=0, cum=4, trade_id=0x99)  # fmt: skip
AUCTION_SELL = event(**AUCTION, side=2, account=4, order_id=0x61, client_order_id=0x71,
                     leaves=3, cum=4, trade_id=0x99)  # fmt: skip
TRIGGERED = event(kind=L.TRIGGERED, side=1, order_type=2, tif=2, account=2, symbol=3,
                  seq=0x51, order_id=0x62, client_order_id=0x72, price=0, qty=5, leaves=5,
                  cum=0, trade_id=1001)  # fmt: skip
TRIGGERED_REPORT = wire("""
    58 00 0d 03   09 01 00 00   09 00 00 00   00 00 00 00   # v3: TRIGGERED, BUY, wire 9
    51 00 00 00 00 00 00 00   62 00 00 00 00 00 00 00       # seq, order_id
    72 00 00 00 00 00 00 00   00 00 00 00 00 00 00 00       # client_order_id, price 0: market
    00 00 00 00 00 00 00 00   00 00 00 00 00 00 00 00       # last_price, last_qty
    00 00 00 00 00 00 00 00   05 00 00 00 00 00 00 00       # cum 0, leaves 5
    00 00 00 00 00 00 00 00                                 # trade_id 0 (not a trade)
""")
REFRESHED = event(kind=L.REFRESHED, side=2, account=4, symbol=3, seq=0x52, order_id=0x63,
                  client_order_id=0x73, price=700, qty=2, leaves=6, cum=4)  # fmt: skip
PHASE = event(kind=L.PHASE_CHANGED, account=0, symbol=3, seq=0x53, reason=3, qty=2)
TERMS = event(kind=L.ORDER_TERMS, account=2, symbol=3, seq=0x54, order_id=0x62, price=1001)


@every_module
@pytest.mark.parametrize("version", [2, 3])
def test_an_auction_fill_is_a_fill_for_both_owners(conv: ModuleType, version: int) -> None:
    events = L.join_records([AUCTION_BUY, AUCTION_SELL], L.EVENT_DTYPE)
    chunks, max_seq = conv.events_to_slot_bytes(events, SLOT_OF_ACCOUNT, WIRE_SYMBOL, version)
    assert max_seq == 0x50
    (slot0, buy), (slot1, sell) = chunks
    assert (slot0, slot1) == (0, 1)
    buy_fill = patched(TRADE_REPORT, 16, "5000000000000000600000000000000070")
    buy_fill = patched(patched(buy_fill, 64, "04"), 80, "99")  # cum 4, trade 0x99
    assert buy == patched(buy_fill, 3, f"{version:02x}")
    assert sell[3:8] == bytes([version, 3, 2, 0, 0])  # PARTIALLY_FILLED, SELL
    assert sell[80:88] == buy[80:88]  # the same trade_id on both sides


@every_module
def test_venue_events_give_v3_reports_and_a_v2_session_only_codes_it_knows(
    conv: ModuleType,
) -> None:
    events = L.join_records([TRIGGERED, REFRESHED, PHASE, TERMS], L.EVENT_DTYPE)
    v3, max_seq = conv.events_to_slot_bytes(events, SLOT_OF_ACCOUNT, WIRE_SYMBOL, 3)
    assert max_seq == 0x54  # every venue event counts for a Sync
    assert v3[0] == (0, TRIGGERED_REPORT)
    assert v3[1][0] == 1 and v3[1][1][3:5] == bytes([3, 10])  # REFRESHED
    assert int.from_bytes(v3[1][1][72:80], "little") == 6  # the whole order's leaves
    assert len(v3) == 2  # no report for a phase change or an order's terms
    assert conv.events_to_slot_bytes(events, SLOT_OF_ACCOUNT, WIRE_SYMBOL, 2) == ([], 0x54)


@every_module
def test_a_version_no_session_speaks_is_refused_by_both(conv: ModuleType) -> None:
    with pytest.raises(ValueError, match="protocol version 4"):
        conv.orders_to_inputs(ICEBERG, ACCOUNT, SYMBOL_IDS, TS, np.zeros(2, L.INPUT_DTYPE), 64, 4)
    with pytest.raises(ValueError, match="protocol version 4"):
        conv.events_to_reports(TRIGGERED, SLOT_OF_ACCOUNT, WIRE_SYMBOL, bytearray(88), 4)
