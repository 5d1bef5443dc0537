"""A reject entry (wire_layout.REJECT_DTYPE) as the texts of its MessageReject.

The compiled conversion and the reference leave the same codes; the words are
made here only, and they are the protocol codec's own (gateway/protocol/message_codec.py,
tests/gateway/test_wire_agreement.py compares them), so a session reads the same
MessageReject whichever path its bytes took:
``("NewOrder", "side", "invalid code 7 (valid: 1 BUY, 2 SELL)", 12)``.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.gateway.wire import wire_layout as W

FIELD_NAME: Final = {
    W.F_VERSION: "version",
    W.F_LENGTH: "length",
    W.F_RESERVED: "reserved",
    W.F_SIDE: "side",
    W.F_ORDER_TYPE: "order_type",
    W.F_TIF: "tif",
    W.F_STP: "stp",
    W.F_SYMBOL: "symbol",
    W.F_CLIENT_ORDER_ID: "client_order_id",
    W.F_PRICE: "price",
    W.F_QTY: "qty",
    W.F_FLAGS: "flags",
}

_TABLES: Final[dict[int, tuple[object, ...]]] = {
    W.F_SIDE: L.SIDE,
    W.F_ORDER_TYPE: L.ORDER_TYPE,
    W.F_TIF: L.TIF,
    W.F_STP: L.STP,
}


def _valid_list(field: int) -> str:
    """'1 BUY, 2 SELL': the codes a field accepts, with their members' names."""
    table = _TABLES[field]
    words = []
    for code in W.VALID_CODES[field]:
        member = table[code]
        words.append(f"{code} {'default' if member is None else member.name}")  # type: ignore[attr-defined]
    return ", ".join(words)


VALID_LIST: Final = {field: _valid_list(field) for field in _TABLES}


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def reason_text(message_type: int, field: int, reason: int, value: int) -> str:
    """The MessageReject reason for one entry's codes and value."""
    if reason == W.R_VERSION:
        return f"unsupported version {value} (this end speaks {W.PROTOCOL_VERSION})"
    if reason == W.R_LENGTH:
        need = W.REQUEST_SIZE[message_type]
        return f"{W.REQUEST_NAME[message_type]} is {need} bytes, got {value}"
    if reason == W.R_RESERVED:
        return "reserved bytes must be 0"  # the entry's value says which byte, and what
    if reason == W.R_CODE:
        return f"invalid code {value} (valid: {VALID_LIST[field]})"
    if reason == W.R_NOT_POSITIVE:
        return f"must be > 0, got {_signed(value)}"
    if reason == W.R_TOO_LARGE:
        return f"must be below 2^63, got {value}"
    if reason == W.R_UNKNOWN_SYMBOL:
        return f"unknown symbol id {value}"
    if reason == W.R_UNKNOWN_FLAGS:
        known = W.NEW_ORDER_FLAGS
        return f"unknown flag bits {value & ~known:#04x} (known: {known:#04x})"
    raise ValueError(f"reject entry: unknown reason code {reason}")


def describe_reject(entry: np.void) -> tuple[str, str, str, int]:
    """(message name, field, reason, client_order_id): the MessageReject an entry stands for."""
    message_type = int(entry["type"])
    field = int(entry["field"])
    reason = reason_text(message_type, field, int(entry["reason"]), int(entry["value"]))
    return (
        W.REQUEST_NAME[message_type],
        FIELD_NAME[field],
        reason,
        int(entry["client_order_id"]),
    )


def describe_rejects(rejects: np.ndarray) -> list[tuple[str, str, str, int]]:
    """describe_reject for every entry of a REJECT_DTYPE array, in order."""
    return [describe_reject(entry) for entry in rejects]
