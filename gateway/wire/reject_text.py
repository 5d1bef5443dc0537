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
    W.F_TRIGGER_PRICE: "trigger_price",
    W.F_DISPLAY_QTY: "display_qty",
    W.F_EXPIRE_TS: "expire_ts",
}

_TABLES: Final[dict[int, tuple[object, ...]]] = {
    W.F_SIDE: L.SIDE,
    W.F_ORDER_TYPE: L.ORDER_TYPE,
    W.F_TIF: L.TIF,
    W.F_STP: L.STP,
}


def _valid_list(field: int, version: int) -> str:
    """'1 BUY, 2 SELL': the codes a field accepts in ``version``, with their members' names."""
    table = _TABLES[field]
    words = []
    for code in W.VALID_CODES_OF[version][field]:
        member = table[code]
        words.append(f"{code} {'default' if member is None else member.name}")  # type: ignore[attr-defined]
    return ", ".join(words)


VALID_LIST: Final = {
    version: {field: _valid_list(field, version) for field in _TABLES}
    for version in W.PROTOCOL_VERSIONS
}


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def reason_text(
    message_type: int, field: int, reason: int, value: int, version: int = W.PROTOCOL_VERSION
) -> str:
    """The MessageReject reason for one entry's codes and value, in a ``version`` session."""
    if reason == W.R_VERSION:
        return f"unsupported version {value} (this end speaks {version})"
    if reason == W.R_LENGTH:
        need = W.REQUEST_SIZES[version][message_type]
        return f"{W.REQUEST_NAME[message_type]} is {need} bytes, got {value}"
    if reason == W.R_RESERVED:
        return "reserved bytes must be 0"  # the entry's value says which byte, and what
    if reason == W.R_CODE:
        return f"invalid code {value} (valid: {VALID_LIST[version][field]})"
    if reason == W.R_NOT_POSITIVE:
        return f"must be > 0, got {_signed(value)}"
    if reason == W.R_TOO_LARGE:
        return f"must be below 2^63, got {value}"
    if reason == W.R_UNKNOWN_SYMBOL:
        return f"unknown symbol id {value}"
    if reason == W.R_UNKNOWN_FLAGS:
        known = W.KNOWN_FLAGS[message_type]
        return f"unknown flag bits {value & ~known:#04x} (known: {known:#04x})"
    if reason == W.R_NEGATIVE:
        zero = "unchanged" if message_type == W.REPLACE else "none"
        return f"must be >= 0 (0: {zero}), got {_signed(value)}"
    if reason == W.R_NOT_ZERO:
        return f"must be 0 with flag keep_price, got {_signed(value)}"
    raise ValueError(f"reject entry: unknown reason code {reason}")


def describe_reject(entry: np.void, version: int = W.PROTOCOL_VERSION) -> tuple[str, str, str, int]:
    """(message name, field, reason, client_order_id): the MessageReject an entry of a
    ``version`` session stands for."""
    message_type = int(entry["type"])
    field = int(entry["field"])
    reason = reason_text(message_type, field, int(entry["reason"]), int(entry["value"]), version)
    return (
        W.REQUEST_NAME[message_type],
        FIELD_NAME[field],
        reason,
        int(entry["client_order_id"]),
    )


def describe_rejects(
    rejects: np.ndarray, version: int = W.PROTOCOL_VERSION
) -> list[tuple[str, str, str, int]]:
    """describe_reject for every entry of a REJECT_DTYPE array, in order."""
    return [describe_reject(entry, version) for entry in rejects]
