"""The conversion between wire messages and records in plain Python: the executable spec.

``_convert.pyx`` (compiled) does the same byte for byte, per batch, with no
Python object per order or report; tests/gateway/test_wire_differential.py
holds the two to each other, tests/gateway/test_wire_examples.py holds this
one to hand-written bytes of the spec. Where the two must agree on a choice
the spec leaves open, the choice is made here and written down:

* checks run in the protocol codec's order (gateway/protocol/message_codec.py; docs/PROTOCOL.md,
  "Bad input"), and the first that fails is the reject: the header's version
  (it must be the session's), the length, then the fields in offset order --
  NewOrder: side, order_type, tif, stp, symbol, flags, reserved (lowest byte
  first), client_order_id, price, qty, then in version 3 trigger_price,
  display_qty, expire_ts; Cancel: reserved, client_order_id; Replace:
  reserved, client_order_id, price, qty (version 3: flags, reserved,
  client_order_id, price, qty, trigger_price); MassCancel: symbol;
* NewOrder's price 0 is "no price" for a market order or a STOP, the reject
  for a limit or stop limit one; a negative price is the reject; Replace's
  price must be > 0, except with version 3's keep_price, where it must be 0;
* version 3's venue fields are 0 for none (Replace's trigger_price: unchanged)
  and the reject when negative; any set one makes a TERMS record follow;
* NewOrder.flags bits other than post_only are the reject (field flags), as
  the codec refuses them;
* a full ``out`` stops the batch before the next message, whatever it is.
"""

from __future__ import annotations

import struct
from typing import Final

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import terms_record
from ringmatch.engine.schema.enums import CancelReason, OrderType
from ringmatch.gateway.wire import wire_layout as W

_HEADER: Final = struct.Struct("<HBB")
_NEW_ORDER: Final = struct.Struct("<4xBBBBIB3xQqq")
_NEW_ORDER_TERMS: Final = struct.Struct("<40xqqq")  # v3: trigger_price, display_qty, expire_ts
_CANCEL: Final = struct.Struct("<4xIQ")
_REPLACE: Final = struct.Struct("<4xIQqq")
_REPLACE_V3: Final = struct.Struct("<4xB3xQqqq")  # flags, cid, price, qty, trigger_price
_MASS_CANCEL: Final = struct.Struct("<4xI")
_U64: Final = struct.Struct("<Q")
_EXECUTION_REPORT: Final = struct.Struct("<HBBBBBBIIQQQqqqqqQ")
_MASS_CANCEL_DONE: Final = struct.Struct("<HBBIQQB7x")
_U64_MASK: Final = (1 << 64) - 1
BytesLike = bytes | bytearray | memoryview  # (a uint8 array too, at run time)
_FIELD_OF_CODE: Final = (W.F_SIDE, W.F_ORDER_TYPE, W.F_TIF, W.F_STP)
_TERMS_FIELDS: Final = (W.F_TRIGGER_PRICE, W.F_DISPLAY_QTY, W.F_EXPIRE_TS)
_NEEDS_PRICE: Final = (L.ORDER_TYPE_CODE[OrderType.LIMIT], L.ORDER_TYPE_CODE[OrderType.STOP_LIMIT])

NO_REJECTS: Final = np.zeros(0, W.REJECT_DTYPE)
NO_REJECTS.flags.writeable = False

Reject = tuple[int, int, int]  # (field code, reason code, value)
Record = tuple[int, ...]  # an INPUT_DTYPE record's fields
Terms = tuple[int | None, int | None, int | None]  # trigger, display, expire: None unset


def _check_version(version: int) -> None:
    """A session speaks one of the versions; any other is the caller's bug."""
    if version not in W.PROTOCOL_VERSIONS:
        raise ValueError(f"protocol version {version}: this end speaks {W.PROTOCOL_VERSIONS}")


def _symbol(symbol_ids: np.ndarray, wire_id: int) -> int:
    """The record symbol id of a wire symbol id; 0 where the session knows none."""
    return int(symbol_ids[wire_id]) if wire_id < len(symbol_ids) else 0


def _check(
    msg: bytes, kind: int, version: int, symbol_ids: np.ndarray, session: int
) -> Reject | None:
    """What is wrong with one complete request ``msg`` (header included), in check order,
    for a session speaking ``session``."""
    if version != session:
        return W.F_VERSION, W.R_VERSION, version
    if len(msg) != W.REQUEST_SIZES[session][kind]:
        return W.F_LENGTH, W.R_LENGTH, len(msg)
    if kind == W.NEW_ORDER:
        return _check_new_order(msg, symbol_ids, session)
    if kind == W.MASS_CANCEL:
        (wire_symbol,) = _MASS_CANCEL.unpack(msg)
        if wire_symbol and not _symbol(symbol_ids, wire_symbol):
            return W.F_SYMBOL, W.R_UNKNOWN_SYMBOL, wire_symbol
        return None
    if kind == W.REPLACE and session >= W.VENUE_VERSION:
        return _check_replace_v3(msg)
    bad = _reserved(msg, kind, W.RESERVED_BYTES) or _client_order_id(msg, kind)
    if bad is None and kind == W.REPLACE:
        _, _, price, qty = _REPLACE.unpack(msg)
        if price <= 0:
            return W.F_PRICE, W.R_NOT_POSITIVE, price & _U64_MASK
        if qty <= 0:
            return W.F_QTY, W.R_NOT_POSITIVE, qty & _U64_MASK
    return bad


def _check_new_order(msg: bytes, symbol_ids: np.ndarray, session: int) -> Reject | None:
    """What is wrong with a NewOrder of the right length and version: fields in offset order
    (a v3 one's venue fields last)."""
    valid = W.VALID_CODES_OF[session]
    for at, field in enumerate(_FIELD_OF_CODE, start=4):
        if msg[at] not in valid[field]:
            return field, W.R_CODE, msg[at]
    _, order_type, _, _, wire_symbol, flags, _, price, qty = _NEW_ORDER.unpack_from(msg)
    if not _symbol(symbol_ids, wire_symbol):
        return W.F_SYMBOL, W.R_UNKNOWN_SYMBOL, wire_symbol
    if flags & ~W.NEW_ORDER_FLAGS:
        return W.F_FLAGS, W.R_UNKNOWN_FLAGS, flags
    bad = _reserved(msg, W.NEW_ORDER, W.RESERVED_BYTES) or _client_order_id(msg, W.NEW_ORDER)
    if bad is not None:
        return bad
    # A limit order (and a stop limit) needs its price; a market order's or a STOP's 0 is
    # "none" (one with a price is the core's to reject), as the protocol's decoder judges.
    if price < 0 or (price == 0 and order_type in _NEEDS_PRICE):
        return W.F_PRICE, W.R_NOT_POSITIVE, price & _U64_MASK
    if qty <= 0:
        return W.F_QTY, W.R_NOT_POSITIVE, qty & _U64_MASK
    if session >= W.VENUE_VERSION:
        for field, value in zip(_TERMS_FIELDS, _NEW_ORDER_TERMS.unpack(msg), strict=True):
            if value < 0:  # 0 is none
                return field, W.R_NEGATIVE, value & _U64_MASK
    return None


def _check_replace_v3(msg: bytes) -> Reject | None:
    """A v3 Replace of the right length and version: flags, reserved, client_order_id,
    price (0 exactly when the flag keeps it), qty, trigger_price (0: unchanged)."""
    flags, _, price, qty, trigger = _REPLACE_V3.unpack(msg)
    if flags & ~W.REPLACE_FLAGS:
        return W.F_FLAGS, W.R_UNKNOWN_FLAGS, flags
    bad = _reserved(msg, W.REPLACE, W.RESERVED_BYTES_V3) or _client_order_id(msg, W.REPLACE)
    if bad is not None:
        return bad
    if flags & W.REPLACE_KEEP_PRICE:
        if price:
            return W.F_PRICE, W.R_NOT_ZERO, price & _U64_MASK
    elif price <= 0:
        return W.F_PRICE, W.R_NOT_POSITIVE, price & _U64_MASK
    if qty <= 0:
        return W.F_QTY, W.R_NOT_POSITIVE, qty & _U64_MASK
    if trigger < 0:
        return W.F_TRIGGER_PRICE, W.R_NEGATIVE, trigger & _U64_MASK
    return None


def _reserved(msg: bytes, kind: int, reserved: dict[int, tuple[int, ...]]) -> Reject | None:
    """The first reserved byte of ``msg`` that is not zero, as the reject."""
    for at in reserved[kind]:
        if msg[at]:
            return W.F_RESERVED, W.R_RESERVED, at * 256 + msg[at]
    return None


def _client_order_id(msg: bytes, kind: int) -> Reject | None:
    (cid,) = _U64.unpack_from(msg, W.CLIENT_ORDER_ID_AT[kind])
    if cid == 0:
        return W.F_CLIENT_ORDER_ID, W.R_NOT_POSITIVE, 0
    if cid >= 1 << 63:
        return W.F_CLIENT_ORDER_ID, W.R_TOO_LARGE, cid
    return None


def _record(
    msg: bytes, kind: int, account: int, symbol_ids: np.ndarray, ts_ns: int, session: int
) -> tuple[Record, Terms | None]:
    """The INPUT_DTYPE record (as a tuple of its fields) of a request that passed _check,
    and the venue's fields of the TERMS record that follows it (None: no TERMS record)."""
    # kind side order_type tif stp flags reason spare account symbol order_id cid price qty ts seq
    venue = session >= W.VENUE_VERSION
    if kind == W.NEW_ORDER:
        side, order_type, tif, stp, wire_symbol, flags, cid, price, qty = _NEW_ORDER.unpack_from(
            msg
        )
        record_flags = L.POST_ONLY if flags & W.NEW_ORDER_POST_ONLY else 0
        symbol = _symbol(symbol_ids, wire_symbol)
        terms: Terms | None = None
        if venue and any(fields := _NEW_ORDER_TERMS.unpack(msg)):
            terms = (fields[0] or None, fields[1] or None, fields[2] or None)
            record_flags |= L.TERMS
        return (L.NEW, side, order_type, tif, stp, record_flags, 0, 0,
                account, symbol, 0, cid, price, qty, ts_ns, 0), terms  # fmt: skip
    if kind == W.CANCEL:
        _, cid = _CANCEL.unpack(msg)
        return (L.CANCEL, 0, 0, 0, 0, 0, 0, 0, account, 0, 0, cid, 0, 0, ts_ns, 0), None
    if kind == W.REPLACE and venue:
        wire_flags, cid, price, qty, trigger = _REPLACE_V3.unpack(msg)
        flags = (L.KEEP_PRICE if wire_flags & W.REPLACE_KEEP_PRICE else 0) | (
            L.TERMS if trigger else 0
        )
        replace = (L.REPLACE, 0, 0, 0, 0, flags, 0, 0, account, 0, 0, cid, price, qty, ts_ns, 0)
        return replace, ((trigger, None, None) if trigger else None)
    if kind == W.REPLACE:
        _, cid, price, qty = _REPLACE.unpack(msg)
        return (L.REPLACE, 0, 0, 0, 0, 0, 0, 0, account, 0, 0, cid, price, qty, ts_ns, 0), None
    (wire_symbol,) = _MASS_CANCEL.unpack(msg)
    symbol = _symbol(symbol_ids, wire_symbol) if wire_symbol else 0
    reason = L.CANCEL_REASON_CODE[CancelReason.MASS_CANCEL]
    mass_cancel = (L.MASS_CANCEL, 0, 0, 0, 0, 0, reason, 0, account, symbol, 0, 0, 0, 0, ts_ns, 0)
    return mass_cancel, None


def orders_to_inputs(
    data: BytesLike,
    account: int,
    symbol_ids: np.ndarray,
    ts_ns: int,
    out: np.ndarray,
    max_frame: int = W.MAX_FRAME,
    version: int = W.PROTOCOL_VERSION,
) -> tuple[int, int, np.ndarray]:
    """The requests at the start of ``data`` as records in ``out``: (consumed, count, rejects).

    Reads back-to-back messages while each is a complete NewOrder, Cancel,
    Replace or MassCancel and ``out`` has room; a good one becomes record
    ``out[count]`` for ``account``, a bad one an entry of ``rejects``
    (wire_layout.REJECT_DTYPE; reject_text words it) and no record. It stops at
    a message of any other type, an incomplete one, or one whose length is < 4
    or > ``max_frame``: ``consumed`` is the bytes before it, the Python
    protocol code's to read (or to wait for).

    ``version`` is the session's (its messages' header must say it). In version 3
    a good NewOrder or Replace with any venue field set is two records, the
    request's flagged TERMS and its TERMS record; when ``out`` has room for one
    only, the batch stops before it (``count`` then is ``len(out) - 1``).
    """
    _check_version(version)
    raw = memoryview(data).cast("B")
    size = len(raw)
    pos = count = index = 0
    found: list[tuple[int, ...]] = []
    while count < len(out) and size - pos >= W.HEADER_SIZE:
        length, kind, header_version = _HEADER.unpack_from(raw, pos)
        if length < W.HEADER_SIZE or length > max_frame or size - pos < length:
            break
        if kind not in W.REQUEST_SIZE:
            break
        msg = bytes(raw[pos : pos + length])
        bad = _check(msg, kind, header_version, symbol_ids, version)
        if bad is None:
            record, terms = _record(msg, kind, account, symbol_ids, ts_ns, version)
            if terms is not None and count + 2 > len(out):
                break  # no room for its TERMS record: the next batch's
            out[count] = record
            count += 1
            if terms is not None:
                out[count] = terms_record(*terms)[0]  # the engine's own packing
                count += 1
        else:
            at = W.CLIENT_ORDER_ID_AT.get(kind)
            cid = _U64.unpack_from(msg, at)[0] if at is not None and length >= at + 8 else 0
            field, reason, value = bad
            found.append((pos, cid, value, index, kind, field, reason, 0))
        pos += length
        index += 1
    rejects = np.array(found, W.REJECT_DTYPE) if found else NO_REJECTS
    return pos, count, rejects


# -- events to reports -----------------------------------------------------------------------

_KILLED_FOK: Final = L.CANCEL_REASON_CODE[CancelReason.KILLED_FOK]
_FILLS: Final = (L.TRADE, L.AUCTION_TRADE)  # an auction's fill is a fill, to both its owners


def _report(event: np.void, wire_symbol: np.ndarray, version: int) -> bytes:
    """The wire report of one event record (ExecutionReport or MassCancelDone)."""
    kind = int(event["kind"])
    sym = int(event["symbol"])
    symbol = int(wire_symbol[sym]) if sym < len(wire_symbol) else 0
    seq = int(event["seq"])
    if kind == L.MASS_CANCELLED:
        count = int(event["qty"]) & _U64_MASK
        return _MASS_CANCEL_DONE.pack(W.MASS_CANCEL_DONE_SIZE, W.MASS_CANCEL_DONE,
                                      version, symbol, seq, count,
                                      int(event["reason"]))  # fmt: skip
    side, reason, request = int(event["side"]), 0, 0
    price, last_price, last_qty, trade_id = int(event["price"]), 0, 0, 0
    cum, leaves = int(event["cum"]), int(event["leaves"])
    if kind == L.ACCEPTED:
        exec_type, leaves, cum = W.ACCEPTED, int(event["qty"]), 0
    elif kind in _FILLS:
        exec_type = W.FILLED if leaves == 0 else W.PARTIALLY_FILLED
        price, last_price, last_qty = 0, int(event["price"]), int(event["qty"])
        trade_id = int(event["trade_id"])
    elif kind == L.CANCELLED:
        reason = int(event["reason"])
        exec_type = W.KILLED if reason == _KILLED_FOK else W.CANCELLED
        leaves = 0
    elif kind == L.REDUCED:
        exec_type, reason = W.REDUCED, int(event["reason"])
    elif kind == L.REPLACED:
        exec_type, leaves = W.REPLACED, int(event["qty"])
    elif kind == L.TRIGGERED:
        exec_type = W.TRIGGERED  # price: as released (0: a STOP, now a market order)
    elif kind == L.REFRESHED:
        exec_type = W.REFRESHED
    else:
        assert kind == L.REJECTED
        exec_type, reason, request = W.REJECTED, int(event["reason"]), int(event["command"])
        side = symbol = price = cum = leaves = 0
    return _EXECUTION_REPORT.pack(
        W.EXECUTION_REPORT_SIZE, W.EXECUTION_REPORT, version,
        exec_type, side, reason, request, symbol, 0,
        seq, int(event["order_id"]), int(event["client_order_id"]),
        price, last_price, last_qty, cum, leaves, trade_id,
    )  # fmt: skip


REPORTING_KINDS: Final = {
    W.PROTOCOL_VERSION: frozenset({*range(L.ACCEPTED, L.MASS_CANCELLED + 1), L.AUCTION_TRADE}),
    W.VENUE_VERSION: frozenset(
        {*range(L.ACCEPTED, L.MASS_CANCELLED + 1), L.AUCTION_TRADE, L.TRIGGERED, L.REFRESHED}
    ),
}
"""Per version, the event kinds that give the owner a report. Version 2 has no exec type
for a stop's release or an iceberg's refresh, so its sessions get none for them (their
fills and cancels come as ever); ORDER_TERMS (what the owner sent), PHASE_CHANGED and
INDICATIVE (the feed's) give no report in either."""
SEQUENCED_KINDS: Final = frozenset(L.EVENT_KINDS) - {L.NAME}
"""The event kinds whose seq counts for ``max_seq`` (what a Sync waits for): all but NAME."""


def events_to_reports(
    events: np.ndarray,
    slot_of_account: np.ndarray,
    wire_symbol: np.ndarray,
    out: BytesLike,
    version: int = W.PROTOCOL_VERSION,
) -> tuple[list[tuple[int, int, int]], int, int]:
    """The wire reports of ``events`` into ``out``, grouped per slot: (spans, nbytes, max_seq).

    An event goes to the slot ``slot_of_account[event.account]`` (none if -1 or
    past the array's end); ``wire_symbol[record symbol]`` is the symbol id the
    wire says (0 past its end). Each slot's reports are back to back in event
    order; ``spans`` lists (slot, offset, length) per slot that got any, in the
    order of each slot's first report. ``max_seq`` is the highest seq of every
    event but NAME, other slots' included (what a Sync answers), 0 if none.
    ``version`` is the sessions': the reports' header version, and which events
    give one (``REPORTING_KINDS``).
    Raises ValueError, writing nothing, if ``out`` holds fewer than ``nbytes``.
    """
    _check_version(version)
    per_slot: dict[int, list[bytes]] = {}  # insertion order: first report
    max_seq = 0
    accounts = len(slot_of_account)
    reporting = REPORTING_KINDS[version]
    for event in events:
        kind = int(event["kind"])
        if kind not in SEQUENCED_KINDS:
            continue
        max_seq = max(max_seq, int(event["seq"]))
        if kind not in reporting:
            continue
        account = int(event["account"])
        slot = int(slot_of_account[account]) if account < accounts else -1
        if slot >= 0:
            per_slot.setdefault(slot, []).append(_report(event, wire_symbol, version))
    view = memoryview(out).cast("B")
    nbytes = sum(len(r) for reports in per_slot.values() for r in reports)
    if nbytes > len(view):
        raise ValueError(f"out holds {len(view)} bytes, the reports need {nbytes}")
    spans = []
    offset = 0
    for slot, reports in per_slot.items():
        chunk = b"".join(reports)
        view[offset : offset + len(chunk)] = chunk
        spans.append((slot, offset, len(chunk)))
        offset += len(chunk)
    return spans, nbytes, max_seq


def events_to_slot_bytes(
    events: np.ndarray,
    slot_of_account: np.ndarray,
    wire_symbol: np.ndarray,
    version: int = W.PROTOCOL_VERSION,
) -> tuple[list[tuple[int, bytes]], int]:
    """events_to_reports with each slot's run in a bytes object of its own: ([(slot, bytes)],
    max_seq), slots in the order of their first report.

    What a transport can be handed and keep: nothing of it is ever written again.
    """
    out = bytearray(W.EXECUTION_REPORT_SIZE * len(events))
    spans, _, max_seq = events_to_reports(events, slot_of_account, wire_symbol, out, version)
    return [(slot, bytes(out[at : at + size])) for slot, at, size in spans], max_seq
