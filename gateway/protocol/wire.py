"""The wire's byte layouts: the header, each message's fixed block, its var fields.

Versions 2 and 3 differ in two layouts only: version 3's NewOrder and Replace
carry the venue's fields after version 2's (``LAYOUTS_V3``).

Every message is a 4-byte header (u16 length of the whole message, u8 type,
u8 version), a fixed block, then, for some types, var fields (u16 n, n bytes).
All little-endian; docs/PROTOCOL.md is the byte-exact contract, and its tables
are checked against these. Each layout is one precompiled ``struct.Struct``
covering the header too, so a fixed message is one ``unpack_from`` /
``pack_into`` (ringmatch.gateway.protocol.message_codec does that); the numpy dtypes
are the same layouts for code that handles records in bulk.
"""

from __future__ import annotations

import struct
from typing import Final

import numpy as np

from ringmatch.gateway.protocol.messages import (
    CLIENT_TYPES,
    SERVER_TYPES,
    Cancel,
    ExecutionReport,
    Heartbeat,
    Logon,
    LogonAccepted,
    LogonRejected,
    Logout,
    MassCancel,
    MassCancelDone,
    MessageReject,
    NewOrder,
    Replace,
    RiskQuery,
    RiskState,
    SymbolDirectory,
    Sync,
    Synced,
)

HEADER: Final = struct.Struct("<HBB")  # length (whole message), type, version
HEADER_SIZE: Final = 4
MAX_LENGTH: Final = 0xFFFF  # what the u16 length can say

# --- the layouts (offsets from the message's first byte; "x"-free: reserved bytes are read,
# since they must be zero) ---------------------------------------------------------------------

LOGON: Final = struct.Struct("<HBB HBB")  # protocol_version, flags, reserved | account, token
NEW_ORDER: Final = struct.Struct("<HBB BBBB I BBH Q q q")  # 40
CANCEL: Final = struct.Struct("<HBB I Q")  # 16: reserved, client_order_id
REPLACE: Final = struct.Struct("<HBB I Q q q")  # 32: reserved, client_order_id, price, qty
MASS_CANCEL: Final = struct.Struct("<HBB I")  # 8: symbol
# Version 3: NewOrder's v2 block, then trigger_price, display_qty, expire_ts (0: none).
NEW_ORDER_V3: Final = struct.Struct("<HBB BBBB I BBH Q q q q q q")  # 64
# Version 3: flags (v2's reserved byte 4), reserved, client_order_id, price, qty, trigger_price.
REPLACE_V3: Final = struct.Struct("<HBB BBH Q q q q")  # 40
BARE: Final = struct.Struct("<HBB")  # 4: Heartbeat; Logout and LogonRejected | reason
SYNC: Final = struct.Struct("<HBB I Q")  # 16: reserved, seq (Synced too)
RISK_QUERY: Final = struct.Struct("<HBB BBH Q")  # op, flags, reserved, request_id | account, why
LOGON_ACCEPTED: Final = struct.Struct("<HBB I Q d d I I")  # worker .. reserved | account
SYMBOL_DIRECTORY: Final = struct.Struct("<HBB I")  # symbol id | name
EXECUTION_REPORT: Final = struct.Struct("<HBB BBBB I I Q Q Q q q q q q Q")  # 88
MESSAGE_REJECT: Final = struct.Struct("<HBB I Q")  # reserved, cid | message, field, reason
MASS_CANCEL_DONE: Final = struct.Struct("<HBB I Q Q BBH I")  # 32: symbol, seq, count, reason
RISK_STATE: Final = struct.Struct("<HBB BBH Q")  # ok, reserved, request_id | error, state

FLAG_POST_ONLY: Final = 1  # NewOrder
FLAG_KEEP_PRICE: Final = 1  # Replace, version 3: the price stays (a held STOP has none)
FLAG_CANCEL_ON_DISCONNECT: Final = 1  # Logon
FLAG_ON, FLAG_CANCEL_ORDERS, FLAG_ACCOUNT_GIVEN = 1, 2, 4  # RiskQuery

LAYOUTS: Final[dict[type, struct.Struct]] = {
    Logon: LOGON,
    NewOrder: NEW_ORDER,
    Cancel: CANCEL,
    Replace: REPLACE,
    MassCancel: MASS_CANCEL,
    Heartbeat: BARE,
    Logout: BARE,
    Sync: SYNC,
    RiskQuery: RISK_QUERY,
    LogonAccepted: LOGON_ACCEPTED,
    SymbolDirectory: SYMBOL_DIRECTORY,
    LogonRejected: BARE,
    ExecutionReport: EXECUTION_REPORT,
    MessageReject: MESSAGE_REJECT,
    MassCancelDone: MASS_CANCEL_DONE,
    Synced: SYNC,
    RiskState: RISK_STATE,
}
"""Each message type's fixed block (header included), version 2."""
LAYOUTS_V3: Final[dict[type, struct.Struct]] = {
    **LAYOUTS,
    NewOrder: NEW_ORDER_V3,
    Replace: REPLACE_V3,
}
"""Each message type's fixed block, version 3."""
LAYOUTS_OF_VERSION: Final = {2: LAYOUTS, 3: LAYOUTS_V3}

VAR_FIELDS: Final[dict[type, tuple[str, ...]]] = {
    Logon: ("account", "token"),
    Logout: ("reason",),
    RiskQuery: ("account", "why"),
    LogonAccepted: ("account",),
    SymbolDirectory: ("name",),
    LogonRejected: ("reason",),
    MessageReject: ("message", "field", "reason"),
    RiskState: ("error", "state"),
}
"""The var fields after the fixed block, in wire order; a type not here is fixed-size."""

TYPE_OF: Final[dict[type, int]] = {
    kind: tag for tag, kind in {**CLIENT_TYPES, **SERVER_TYPES}.items()
}
"""Each message type's code in the header (the Struct's tag)."""
CLIENT_ORDER_ID_AT: Final[dict[type, int]] = {NewOrder: 16, Cancel: 8, Replace: 8}
"""Where a request carries its client order id (a MessageReject echoes it)."""


def _record(fields: str, size: int) -> np.dtype:
    """A numpy record of ``"name:format@offset ..."`` (the layouts' own notation)."""
    names, formats, offsets = [], [], []
    for spec in fields.split():
        name, rest = spec.split(":")
        fmt, offset = rest.split("@")
        names.append(name)
        formats.append(fmt)
        offsets.append(int(offset))
    return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": size})


_HEAD = "length:<u2@0 type:u1@2 version:u1@3 "
NEW_ORDER_DTYPE: Final = _record(
    _HEAD + "side:u1@4 order_type:u1@5 tif:u1@6 stp:u1@7 symbol:<u4@8 flags:u1@12 "
    "reserved:u1@13 reserved2:<u2@14 client_order_id:<u8@16 price:<i8@24 qty:<i8@32",
    40,
)
"""NewOrder as a numpy record: a batch of orders is an array's ``tobytes()`` (every byte a
field's, so nothing is lost when numpy copies field by field)."""

EXECUTION_REPORT_DTYPE: Final = _record(
    _HEAD + "exec_type:u1@4 side:u1@5 reason:u1@6 request:u1@7 symbol:<u4@8 reserved:<u4@12 "
    "seq:<u8@16 order_id:<u8@24 client_order_id:<u8@32 price:<i8@40 last_price:<i8@48 "
    "last_qty:<i8@56 cum_qty:<i8@64 leaves_qty:<i8@72 trade_id:<u8@80",
    88,
)
"""ExecutionReport as a numpy record (what a compiled report path writes)."""
