"""The numbers of the binary wire format, version 2, that the record conversion needs.

/work/wire_spec.md (docs/PROTOCOL.md once it lands) is the format: every message
starts with a 4-byte header (u16 length including the header, u8 type, u8
version), all integers little-endian. Here: the four order-entry requests the
conversion turns into input records, the two reports it makes from event
records, their sizes and offsets, and the codes of a reject entry (REJECT_DTYPE)
-- what a bad request leaves instead of a record. ``reject_text`` turns an entry
into the MessageReject texts.
"""

from __future__ import annotations

from typing import Final

import numpy as np

PROTOCOL_VERSION: Final = 2
HEADER_SIZE: Final = 4
MAX_FRAME: Final = 65_536
"""session.max_frame's default: a message longer than this is fatal (never a u16's)."""

# -- client to server: the requests that become input records ------------------------------

NEW_ORDER: Final = 2
CANCEL: Final = 3
REPLACE: Final = 4
MASS_CANCEL: Final = 5
REQUEST_SIZE: Final = {NEW_ORDER: 40, CANCEL: 16, REPLACE: 32, MASS_CANCEL: 8}
"""The exact length of each fixed-size request, header included."""
REQUEST_NAME: Final = {
    NEW_ORDER: "NewOrder",
    CANCEL: "Cancel",
    REPLACE: "Replace",
    MASS_CANCEL: "MassCancel",
}
CLIENT_ORDER_ID_AT: Final = {NEW_ORDER: 16, CANCEL: 8, REPLACE: 8}
"""Where each request holds its client_order_id (MassCancel has none)."""
RESERVED_BYTES: Final = {NEW_ORDER: (13, 14, 15), CANCEL: (4, 5, 6, 7), REPLACE: (4, 5, 6, 7)}
NEW_ORDER_POST_ONLY: Final = 1  # bit 0 of NewOrder.flags
NEW_ORDER_FLAGS: Final = NEW_ORDER_POST_ONLY
"""Every NewOrder.flags bit there is: any other set is the reject (F_FLAGS)."""

# -- server to client: the reports made from event records ---------------------------------

EXECUTION_REPORT: Final = 13
EXECUTION_REPORT_SIZE: Final = 88
MASS_CANCEL_DONE: Final = 15
MASS_CANCEL_DONE_SIZE: Final = 32

# ExecutionReport.exec_type
ACCEPTED: Final = 1
REJECTED: Final = 2
PARTIALLY_FILLED: Final = 3
FILLED: Final = 4
CANCELLED: Final = 5
REPLACED: Final = 6
KILLED: Final = 7
REDUCED: Final = 8

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

# Reason codes (reject_text.reason_text writes them out).
R_VERSION: Final = 1  # value: the version
R_LENGTH: Final = 2  # value: the length
R_RESERVED: Final = 3  # value: offset * 256 + byte
R_CODE: Final = 4  # value: the code
R_NOT_POSITIVE: Final = 5  # value: the number (int64 bits)
R_TOO_LARGE: Final = 6  # value: the client_order_id (>= 2^63)
R_UNKNOWN_SYMBOL: Final = 7  # value: the wire symbol id
R_UNKNOWN_FLAGS: Final = 8  # value: the flags byte

VALID_CODES: Final = {
    F_SIDE: range(1, 3),
    F_ORDER_TYPE: range(1, 3),
    F_TIF: range(4),
    F_STP: range(5),
}
"""The codes each enum field accepts (index into its engine/records/layout.py table)."""
