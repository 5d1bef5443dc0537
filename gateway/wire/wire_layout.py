"""The numbers of the binary wire format, versions 2 and 3, that the record conversion needs.

docs/PROTOCOL.md is the format: every message starts with a 4-byte header (u16
length including the header, u8 type, u8 version), all integers
little-endian. The numbers are the protocol's own (gateway/protocol: wire.py's
layouts, messages.py's tags, codes.py's exec types), named here as the
conversion uses them: the four order-entry requests it turns into input
records, the two reports it makes from event records, their sizes and offsets;
and the codes of a reject entry (REJECT_DTYPE) -- what a bad request leaves
instead of a record. ``reject_text`` turns an entry into the MessageReject
texts. ``_convert.pyx`` holds C copies of these and checks them at import.
Version 3 differs in NewOrder and Replace (longer, with the venue's fields),
in the codes NewOrder takes, and in the exec types a report may have.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from ringmatch.gateway.protocol import wire as P
from ringmatch.gateway.protocol.codes import EXEC_TYPE_CODES
from ringmatch.gateway.protocol.connection import DEFAULT_MAX_FRAME
from ringmatch.gateway.protocol.messages import (
    PROTOCOL_VERSION as _VERSION,
)
from ringmatch.gateway.protocol.messages import (
    PROTOCOL_VERSIONS as _VERSIONS,
)
from ringmatch.gateway.protocol.messages import (
    VENUE_VERSION as _VENUE_VERSION,
)
from ringmatch.gateway.protocol.messages import (
    Cancel,
    ExecType,
    ExecutionReport,
    MassCancel,
    MassCancelDone,
    NewOrder,
    Replace,
)

PROTOCOL_VERSION: Final = _VERSION
VENUE_VERSION: Final = _VENUE_VERSION
PROTOCOL_VERSIONS: Final = _VERSIONS
HEADER_SIZE: Final = P.HEADER_SIZE
MAX_FRAME: Final = DEFAULT_MAX_FRAME
"""session.max_frame's default: a message longer than this is fatal (never a u16's)."""

# -- client to server: the requests that become input records ------------------------------

NEW_ORDER: Final = P.TYPE_OF[NewOrder]
CANCEL: Final = P.TYPE_OF[Cancel]
REPLACE: Final = P.TYPE_OF[Replace]
MASS_CANCEL: Final = P.TYPE_OF[MassCancel]
REQUEST_SIZE: Final = {
    NEW_ORDER: P.NEW_ORDER.size,
    CANCEL: P.CANCEL.size,
    REPLACE: P.REPLACE.size,
    MASS_CANCEL: P.MASS_CANCEL.size,
}
"""The exact length of each fixed-size request, header included (version 2)."""
REQUEST_SIZE_V3: Final = {
    **REQUEST_SIZE,
    NEW_ORDER: P.NEW_ORDER_V3.size,
    REPLACE: P.REPLACE_V3.size,
}
REQUEST_SIZES: Final = {PROTOCOL_VERSION: REQUEST_SIZE, VENUE_VERSION: REQUEST_SIZE_V3}
"""Each version's REQUEST_SIZE."""
REQUEST_NAME: Final = {
    NEW_ORDER: NewOrder.__name__,
    CANCEL: Cancel.__name__,
    REPLACE: Replace.__name__,
    MASS_CANCEL: MassCancel.__name__,
}
CLIENT_ORDER_ID_AT: Final = {
    NEW_ORDER: P.CLIENT_ORDER_ID_AT[NewOrder],
    CANCEL: P.CLIENT_ORDER_ID_AT[Cancel],
    REPLACE: P.CLIENT_ORDER_ID_AT[Replace],
}
"""Where each request holds its client_order_id (MassCancel has none)."""
RESERVED_BYTES: Final = {NEW_ORDER: (13, 14, 15), CANCEL: (4, 5, 6, 7), REPLACE: (4, 5, 6, 7)}
RESERVED_BYTES_V3: Final = {**RESERVED_BYTES, REPLACE: (5, 6, 7)}  # byte 4: Replace's flags
NEW_ORDER_POST_ONLY: Final = P.FLAG_POST_ONLY  # bit 0 of NewOrder.flags
NEW_ORDER_FLAGS: Final = NEW_ORDER_POST_ONLY
"""Every NewOrder.flags bit there is: any other set is the reject (F_FLAGS)."""
REPLACE_KEEP_PRICE: Final = P.FLAG_KEEP_PRICE  # bit 0 of a v3 Replace's flags (byte 4)
REPLACE_FLAGS: Final = REPLACE_KEEP_PRICE
"""Every v3 Replace.flags bit there is."""
KNOWN_FLAGS: Final = {NEW_ORDER: NEW_ORDER_FLAGS, REPLACE: REPLACE_FLAGS}
NEW_ORDER_V3_TERMS_AT: Final = 40
"""A v3 NewOrder's trigger_price, display_qty, expire_ts: three i64 from here."""
REPLACE_V3_TRIGGER_AT: Final = 32

# -- server to client: the reports made from event records ---------------------------------

EXECUTION_REPORT: Final = P.TYPE_OF[ExecutionReport]
EXECUTION_REPORT_SIZE: Final = P.EXECUTION_REPORT.size
MASS_CANCEL_DONE: Final = P.TYPE_OF[MassCancelDone]
MASS_CANCEL_DONE_SIZE: Final = P.MASS_CANCEL_DONE.size

# ExecutionReport.exec_type
ACCEPTED: Final = EXEC_TYPE_CODES.index(ExecType.ACCEPTED)
REJECTED: Final = EXEC_TYPE_CODES.index(ExecType.REJECTED)
PARTIALLY_FILLED: Final = EXEC_TYPE_CODES.index(ExecType.PARTIALLY_FILLED)
FILLED: Final = EXEC_TYPE_CODES.index(ExecType.FILLED)
CANCELLED: Final = EXEC_TYPE_CODES.index(ExecType.CANCELLED)
REPLACED: Final = EXEC_TYPE_CODES.index(ExecType.REPLACED)
KILLED: Final = EXEC_TYPE_CODES.index(ExecType.KILLED)
REDUCED: Final = EXEC_TYPE_CODES.index(ExecType.REDUCED)
TRIGGERED: Final = EXEC_TYPE_CODES.index(ExecType.TRIGGERED)  # version 3 only
REFRESHED: Final = EXEC_TYPE_CODES.index(ExecType.REFRESHED)  # version 3 only

# -- reject entries --------------------------------------------------------------------------

REJECT_DTYPE: Final = np.dtype(
    {
        "names": ["offset", "client_order_id", "value", "index", "type", "field", "reason", "pad"],
        "formats": ["<u8", "<u8", "<u8", "<u4", "u1", "u1", "u1", "u1"],
        "offsets": [0, 8, 16, 24, 28, 29, 30, 31],
        "itemsize": 32,
    }
)
"""One bad request: no record was written for it.

``offset`` its first byte in the buffer, ``index`` its position among the
messages of the buffer (from 0), ``type`` its message type, ``field`` and
``reason`` the codes below, ``client_order_id`` 0 unless the message is long
enough to hold one, ``value`` what was wrong as a u64 (a price or qty: the
int64's bits; a reserved byte: offset * 256 + the byte; the length; the version;
the code; the wire symbol id; the flags byte).
"""

# Field codes (reject_text.FIELD_NAME names them).
F_VERSION: Final = 1
F_LENGTH: Final = 2
F_RESERVED: Final = 3
F_SIDE: Final = 4
F_ORDER_TYPE: Final = 5
F_TIF: Final = 6
F_STP: Final = 7
F_SYMBOL: Final = 8
F_CLIENT_ORDER_ID: Final = 9
F_PRICE: Final = 10
F_QTY: Final = 11
F_FLAGS: Final = 12
F_TRIGGER_PRICE: Final = 13
F_DISPLAY_QTY: Final = 14
F_EXPIRE_TS: Final = 15

# Reason codes (reject_text.reason_text writes them out).
R_VERSION: Final = 1  # value: the version
R_LENGTH: Final = 2  # value: the length
R_RESERVED: Final = 3  # value: offset * 256 + byte
R_CODE: Final = 4  # value: the code
R_NOT_POSITIVE: Final = 5  # value: the number (int64 bits)
R_TOO_LARGE: Final = 6  # value: the client_order_id (>= 2^63)
R_UNKNOWN_SYMBOL: Final = 7  # value: the wire symbol id
R_UNKNOWN_FLAGS: Final = 8  # value: the flags byte
R_NEGATIVE: Final = 9  # value: the number (int64 bits); 0 is none (or "unchanged")
R_NOT_ZERO: Final = 10  # value: a kept price's price (int64 bits), which must be 0

VALID_CODES: Final = {
    F_SIDE: range(1, 3),
    F_ORDER_TYPE: range(1, 3),
    F_TIF: range(4),
    F_STP: range(5),
}
"""The codes each enum field accepts (index into its engine/records/layout.py table)."""
VALID_CODES_V3: Final = {**VALID_CODES, F_ORDER_TYPE: range(1, 5), F_TIF: range(6)}
"""Version 3's: every order type and tif of the records' tables."""
VALID_CODES_OF: Final = {PROTOCOL_VERSION: VALID_CODES, VENUE_VERSION: VALID_CODES_V3}
