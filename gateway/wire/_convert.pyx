# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
# distutils: language = c++
"""Wire messages <-> records, compiled: a batch per call, no Python object per order or report.

Versions 2 and 3 (the session's, an argument of each call): version 3's
NewOrder and Replace are longer and may be two records (the request and its
TERMS record), and its reports have the venue's exec types.

The same two functions as wire_reference.py (the executable spec: its docstring
lists the choices the two share, tests/gateway/test_wire_differential.py holds
them to each other byte for byte). The arrays are taken as raw pointers with
their dtype checked once per call, as the kernel's extension does (a typed
memoryview over a structured dtype costs microseconds to set up); the byte
buffers through the buffer protocol. Every load from the wire is a memcpy of
its width: messages sit back to back at any alignment. Little-endian only, as
the kernel (engine/kernel/records.h).

The GIL stays held: a batch takes microseconds, and the worker that calls this
is one thread.
"""

from cpython.buffer cimport PyBUF_SIMPLE, PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset
from libcpp.vector cimport vector

cimport numpy as cnp

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.layout import EVENT_DTYPE, INPUT_DTYPE
from ringmatch.engine.schema.enums import CancelReason, OrderType
from ringmatch.gateway.wire import wire_layout as W
from ringmatch.gateway.wire.wire_layout import REJECT_DTYPE

cnp.import_array()


cdef extern from "records.h" namespace "rm":
    cdef cppclass InputRecord:
        uint8_t kind, side, order_type, tif, stp, flags, reason, spare
        uint32_t account, symbol
        uint64_t order_id, client_order_id
        int64_t price, qty, ts_ns
        uint64_t seq

    cdef cppclass EventRecord:
        uint8_t kind, side, order_type, tif, reason, command, flags, name_len
        uint32_t account, symbol
        uint64_t seq, order_id, client_order_id
        int64_t price, qty, leaves, cum
        uint64_t trade_id


# wire_layout.REJECT_DTYPE, field for field (natural alignment gives its offsets).
cdef struct RejectEntry:
    uint64_t offset
    uint64_t client_order_id
    uint64_t value
    uint32_t index
    uint8_t type
    uint8_t field
    uint8_t reason
    uint8_t pad

# The two reports (wire_spec.md, "Server to client"); natural alignment gives the offsets.
cdef struct ExecutionReport:
    uint16_t length
    uint8_t type
    uint8_t version
    uint8_t exec_type
    uint8_t side
    uint8_t reason
    uint8_t request
    uint32_t symbol
    uint32_t reserved
    uint64_t seq
    uint64_t order_id
    uint64_t client_order_id
    int64_t price
    int64_t last_price
    int64_t last_qty
    int64_t cum_qty
    int64_t leaves_qty
    uint64_t trade_id

# layout.TERMS_DTYPE: the record after a NEW or REPLACE flagged TERMS.
cdef struct TermsRecord:
    uint8_t zero
    uint8_t present
    uint8_t spare[6]
    int64_t trigger_price
    int64_t display_qty
    int64_t expire_ts
    uint64_t reserved[4]

cdef struct MassCancelDone:
    uint16_t length
    uint8_t type
    uint8_t version
    uint32_t symbol
    uint64_t seq
    uint64_t count
    uint8_t reason
    uint8_t reserved[7]


cdef enum:
    VERSION = 2
    VENUE_VERSION = 3
    HEADER = 4
    MAX_FRAME = 65536
    # Message types and their exact lengths.
    T_NEW_ORDER = 2
    T_CANCEL = 3
    T_REPLACE = 4
    T_MASS_CANCEL = 5
    NEW_ORDER_SIZE = 40
    CANCEL_SIZE = 16
    REPLACE_SIZE = 32
    MASS_CANCEL_SIZE = 8
    NEW_ORDER_V3_SIZE = 64
    REPLACE_V3_SIZE = 40
    T_EXECUTION_REPORT = 13
    T_MASS_CANCEL_DONE = 15
    EXECUTION_REPORT_SIZE = 88
    MASS_CANCEL_DONE_SIZE = 32
    # Input record kinds and flags (layout.py).
    IN_NEW = 1
    IN_CANCEL = 2
    IN_REPLACE = 3
    IN_MASS_CANCEL = 4
    POST_ONLY = 1
    IN_TERMS = 2
    IN_KEEP_PRICE = 4
    HAS_TRIGGER = 1
    HAS_DISPLAY = 2
    HAS_EXPIRE = 4
    # NewOrder.flags on the wire: post_only, the only bit there is.
    NEW_ORDER_POST_ONLY = 1
    NEW_ORDER_FLAGS = 1
    # A v3 Replace's flags (byte 4): keep_price, the only bit there is.
    REPLACE_KEEP_PRICE = 1
    REPLACE_FLAGS = 1
    # Order type codes whose price 0 is the reject (layout.py): LIMIT, STOP_LIMIT.
    LIMIT = 1
    STOP_LIMIT = 4
    # Event kinds (layout.py).
    EV_ACCEPTED = 1
    EV_REJECTED = 2
    EV_TRADE = 3
    EV_CANCELLED = 4
    EV_REDUCED = 5
    EV_REPLACED = 6
    EV_MASS_CANCELLED = 7
    EV_NAME = 8
    EV_TRIGGERED = 10
    EV_REFRESHED = 11
    EV_AUCTION_TRADE = 12
    EV_LAST = 14  # INDICATIVE: the highest event kind
    # Exec types.
    X_ACCEPTED = 1
    X_REJECTED = 2
    X_PARTIALLY_FILLED = 3
    X_FILLED = 4
    X_CANCELLED = 5
    X_REPLACED = 6
    X_KILLED = 7
    X_REDUCED = 8
    X_TRIGGERED = 9
    X_REFRESHED = 10
    # CANCEL_REASON codes (layout.py: 0 none, then CancelReason in order).
    CANCEL_REASON_KILLED_FOK = 5
    CANCEL_REASON_MASS_CANCEL = 7
    # Reject field and reason codes: wire_layout.py's.
    F_VERSION = 1
    F_LENGTH = 2
    F_RESERVED = 3
    F_SIDE = 4
    F_ORDER_TYPE = 5
    F_TIF = 6
    F_STP = 7
    F_SYMBOL = 8
    F_CLIENT_ORDER_ID = 9
    F_PRICE = 10
    F_QTY = 11
    F_FLAGS = 12
    F_TRIGGER_PRICE = 13
    F_DISPLAY_QTY = 14
    F_EXPIRE_TS = 15
    R_VERSION = 1
    R_LENGTH = 2
    R_RESERVED = 3
    R_CODE = 4
    R_NOT_POSITIVE = 5
    R_TOO_LARGE = 6
    R_UNKNOWN_SYMBOL = 7
    R_UNKNOWN_FLAGS = 8
    R_NEGATIVE = 9
    R_NOT_ZERO = 10

# The constants above are copies (a cdef enum is what the C++ compiler sees): held to
# their sources here, at import, so that they cannot drift apart.
assert (IN_NEW, IN_CANCEL, IN_REPLACE, IN_MASS_CANCEL, POST_ONLY, IN_TERMS, IN_KEEP_PRICE) == (
    L.NEW, L.CANCEL, L.REPLACE, L.MASS_CANCEL, L.POST_ONLY, L.TERMS, L.KEEP_PRICE)
assert (HAS_TRIGGER, HAS_DISPLAY, HAS_EXPIRE) == (L.HAS_TRIGGER, L.HAS_DISPLAY, L.HAS_EXPIRE)
assert (LIMIT, STOP_LIMIT) == (L.ORDER_TYPE_CODE[OrderType.LIMIT],
                               L.ORDER_TYPE_CODE[OrderType.STOP_LIMIT])
assert (EV_ACCEPTED, EV_REJECTED, EV_TRADE, EV_CANCELLED, EV_REDUCED, EV_REPLACED,
        EV_MASS_CANCELLED) == (L.ACCEPTED, L.REJECTED, L.TRADE, L.CANCELLED, L.REDUCED,
                               L.REPLACED, L.MASS_CANCELLED)
assert (EV_NAME, EV_TRIGGERED, EV_REFRESHED, EV_AUCTION_TRADE, EV_LAST) == (
    L.NAME, L.TRIGGERED, L.REFRESHED, L.AUCTION_TRADE, L.INDICATIVE)
assert CANCEL_REASON_KILLED_FOK == L.CANCEL_REASON_CODE[CancelReason.KILLED_FOK]
assert CANCEL_REASON_MASS_CANCEL == L.CANCEL_REASON_CODE[CancelReason.MASS_CANCEL]
assert (X_ACCEPTED, X_REJECTED, X_PARTIALLY_FILLED, X_FILLED, X_CANCELLED, X_REPLACED,
        X_KILLED, X_REDUCED, X_TRIGGERED, X_REFRESHED) == (
    W.ACCEPTED, W.REJECTED, W.PARTIALLY_FILLED, W.FILLED, W.CANCELLED, W.REPLACED, W.KILLED,
    W.REDUCED, W.TRIGGERED, W.REFRESHED)
assert (F_VERSION, F_LENGTH, F_RESERVED, F_SIDE, F_ORDER_TYPE, F_TIF, F_STP, F_SYMBOL,
        F_CLIENT_ORDER_ID, F_PRICE, F_QTY, F_FLAGS, F_TRIGGER_PRICE, F_DISPLAY_QTY,
        F_EXPIRE_TS) == (
    W.F_VERSION, W.F_LENGTH, W.F_RESERVED, W.F_SIDE, W.F_ORDER_TYPE, W.F_TIF, W.F_STP,
    W.F_SYMBOL, W.F_CLIENT_ORDER_ID, W.F_PRICE, W.F_QTY, W.F_FLAGS, W.F_TRIGGER_PRICE,
    W.F_DISPLAY_QTY, W.F_EXPIRE_TS)
assert (R_VERSION, R_LENGTH, R_RESERVED, R_CODE, R_NOT_POSITIVE, R_TOO_LARGE,
        R_UNKNOWN_SYMBOL, R_UNKNOWN_FLAGS, R_NEGATIVE, R_NOT_ZERO) == (
    W.R_VERSION, W.R_LENGTH, W.R_RESERVED, W.R_CODE, W.R_NOT_POSITIVE, W.R_TOO_LARGE,
    W.R_UNKNOWN_SYMBOL, W.R_UNKNOWN_FLAGS, W.R_NEGATIVE, W.R_NOT_ZERO)
assert (NEW_ORDER_POST_ONLY, NEW_ORDER_FLAGS) == (W.NEW_ORDER_POST_ONLY, W.NEW_ORDER_FLAGS)
assert (REPLACE_KEEP_PRICE, REPLACE_FLAGS) == (W.REPLACE_KEEP_PRICE, W.REPLACE_FLAGS)
assert {T_NEW_ORDER: NEW_ORDER_V3_SIZE, T_CANCEL: CANCEL_SIZE, T_REPLACE: REPLACE_V3_SIZE,
        T_MASS_CANCEL: MASS_CANCEL_SIZE} == W.REQUEST_SIZE_V3
assert (VERSION, VENUE_VERSION) == W.PROTOCOL_VERSIONS
assert sizeof(TermsRecord) == 64 and L.TERMS_DTYPE.itemsize == 64
assert (T_NEW_ORDER, T_CANCEL, T_REPLACE, T_MASS_CANCEL) == (
    W.NEW_ORDER, W.CANCEL, W.REPLACE, W.MASS_CANCEL)
assert {T_NEW_ORDER: NEW_ORDER_SIZE, T_CANCEL: CANCEL_SIZE, T_REPLACE: REPLACE_SIZE,
        T_MASS_CANCEL: MASS_CANCEL_SIZE} == W.REQUEST_SIZE
assert (VERSION, MAX_FRAME, T_EXECUTION_REPORT, T_MASS_CANCEL_DONE) == (
    W.PROTOCOL_VERSION, W.MAX_FRAME, W.EXECUTION_REPORT, W.MASS_CANCEL_DONE)
assert sizeof(RejectEntry) == 32 and REJECT_DTYPE.itemsize == 32
assert sizeof(ExecutionReport) == EXECUTION_REPORT_SIZE
assert sizeof(MassCancelDone) == MASS_CANCEL_DONE_SIZE
assert sizeof(InputRecord) == 64 and sizeof(EventRecord) == 80

cdef cnp.dtype _INPUT = INPUT_DTYPE
cdef cnp.dtype _EVENT = EVENT_DTYPE
cdef cnp.dtype _REJECT = REJECT_DTYPE
cdef object _NO_REJECTS = np.zeros(0, REJECT_DTYPE)
_NO_REJECTS.flags.writeable = False


cdef inline void _check_records(cnp.ndarray a, cnp.dtype dtype, bint writable, str what) except *:
    # The dtype object is usually the layout's own: a pointer test; else compare.
    if <void*>cnp.PyArray_DESCR(a) != <void*>dtype and a.dtype != dtype:
        raise TypeError(f"{what} must have dtype {dtype}, not {a.dtype}")
    if cnp.PyArray_NDIM(a) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"{what} must be a one-dimensional C-contiguous array")
    if writable and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{what} must be writable")


cdef inline void _check_table(cnp.ndarray a, int type_num, str what, str dtype) except *:
    if (cnp.PyArray_TYPE(a) != type_num or not cnp.PyArray_ISNOTSWAPPED(a)
            or cnp.PyArray_NDIM(a) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(a)):
        raise TypeError(
            f"{what} must be a one-dimensional C-contiguous {dtype} array, not {a.dtype} of {a.ndim} dimension(s)"
        )


cdef inline void _check_version(int version) except *:
    if version != VERSION and version != VENUE_VERSION:
        raise ValueError(f"protocol version {version}: this end speaks {W.PROTOCOL_VERSIONS}")


cdef inline uint16_t _u16(const uint8_t* p) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, p, 2)
    return v


cdef inline uint32_t _u32(const uint8_t* p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)
    return v


cdef inline uint64_t _u64(const uint8_t* p) noexcept nogil:
    cdef uint64_t v
    memcpy(&v, p, 8)
    return v


# -- orders to inputs ---------------------------------------------------------------------

cdef struct Tables:
    const uint32_t* symbol_ids
    uint64_t symbols
    uint32_t account
    int64_t ts_ns


cdef inline uint32_t _symbol(const Tables* t, uint32_t wire_id) noexcept nogil:
    return t.symbol_ids[wire_id] if wire_id < t.symbols else 0


cdef inline bint _reserved(const uint8_t* m, int first, int last, RejectEntry* bad) noexcept nogil:
    """True if every byte first..last is zero; else the first non-zero one is the reject."""
    cdef int at
    for at in range(first, last + 1):
        if m[at]:
            bad.field = F_RESERVED
            bad.reason = R_RESERVED
            bad.value = <uint64_t>at * 256 + m[at]
            return False
    return True


cdef inline bint _bad(RejectEntry* bad, uint8_t field, uint8_t reason, uint64_t value) noexcept nogil:
    bad.field = field
    bad.reason = reason
    bad.value = value
    return False


cdef inline bint _client_order_id(uint64_t cid, RejectEntry* bad) noexcept nogil:
    if cid == 0:
        return _bad(bad, F_CLIENT_ORDER_ID, R_NOT_POSITIVE, 0)
    if cid >> 63:
        return _bad(bad, F_CLIENT_ORDER_ID, R_TOO_LARGE, cid)
    return True


cdef inline bint _check_new_order(
    const uint8_t* m, const Tables* t, uint8_t max_type, uint8_t max_tif, RejectEntry* bad
) noexcept nogil:
    # The v2 block's fields in offset order, as the protocol's codec checks them
    # (wire_reference.py); ``max_type`` and ``max_tif`` are the version's highest codes.
    cdef uint8_t side = m[4], order_type = m[5], tif = m[6], stp = m[7], flags = m[12]
    if <uint8_t>(side - 1) > 1:
        return _bad(bad, F_SIDE, R_CODE, side)
    if <uint8_t>(order_type - 1) > max_type - 1:
        return _bad(bad, F_ORDER_TYPE, R_CODE, order_type)
    if tif > max_tif:
        return _bad(bad, F_TIF, R_CODE, tif)
    if stp > 4:
        return _bad(bad, F_STP, R_CODE, stp)
    cdef uint32_t wire_symbol = _u32(m + 8)
    if _symbol(t, wire_symbol) == 0:
        return _bad(bad, F_SYMBOL, R_UNKNOWN_SYMBOL, wire_symbol)
    if flags & ~NEW_ORDER_FLAGS:
        return _bad(bad, F_FLAGS, R_UNKNOWN_FLAGS, flags)
    if m[13] | m[14] | m[15]:
        return _reserved(m, 13, 15, bad)
    if not _client_order_id(_u64(m + 16), bad):
        return False
    cdef int64_t price = <int64_t>_u64(m + 24)
    cdef int64_t qty = <int64_t>_u64(m + 32)
    # A limit order (and a stop limit) needs its price; a market order's or a STOP's 0 is
    # "none" (one with a price is the core's to reject), as the protocol's decoder judges.
    if price < 0 or (price == 0 and (order_type == LIMIT or order_type == STOP_LIMIT)):
        return _bad(bad, F_PRICE, R_NOT_POSITIVE, <uint64_t>price)
    if qty <= 0:
        return _bad(bad, F_QTY, R_NOT_POSITIVE, <uint64_t>qty)
    return True


cdef inline void _write_new_order(const uint8_t* m, const Tables* t, InputRecord* r) noexcept nogil:
    memset(r, 0, sizeof(InputRecord))
    r.kind = IN_NEW
    r.side = m[4]
    r.order_type = m[5]
    r.tif = m[6]
    r.stp = m[7]
    r.flags = POST_ONLY if m[12] & NEW_ORDER_POST_ONLY else 0
    r.account = t.account
    r.symbol = _symbol(t, _u32(m + 8))
    r.client_order_id = _u64(m + 16)
    r.price = <int64_t>_u64(m + 24)
    r.qty = <int64_t>_u64(m + 32)
    r.ts_ns = t.ts_ns


cdef inline bint _new_order(const uint8_t* m, const Tables* t, InputRecord* r, RejectEntry* bad) noexcept nogil:
    if not _check_new_order(m, t, 2, 3, bad):
        return False
    _write_new_order(m, t, r)
    return True


cdef inline void _write_terms(
    InputRecord* r, int64_t trigger, int64_t display, int64_t expire
) noexcept nogil:
    """The TERMS record of the venue's fields (0: not set), as inputs.terms_of packs it."""
    cdef TermsRecord* terms = <TermsRecord*>r
    memset(terms, 0, sizeof(TermsRecord))
    terms.present = ((HAS_TRIGGER if trigger else 0) | (HAS_DISPLAY if display else 0)
                     | (HAS_EXPIRE if expire else 0))
    terms.trigger_price = trigger
    terms.display_qty = display
    terms.expire_ts = expire


cdef inline int _new_order_v3(
    const uint8_t* m, const Tables* t, InputRecord* r, Py_ssize_t room, RejectEntry* bad
) noexcept nogil:
    """Records written (1, or 2 with a TERMS record), 0 for a reject, -1 for no room."""
    if not _check_new_order(m, t, 4, 5, bad):
        return 0
    cdef int64_t trigger = <int64_t>_u64(m + 40)
    cdef int64_t display = <int64_t>_u64(m + 48)
    cdef int64_t expire = <int64_t>_u64(m + 56)
    if trigger < 0:  # 0 is none, as for price
        return _bad(bad, F_TRIGGER_PRICE, R_NEGATIVE, <uint64_t>trigger)
    if display < 0:
        return _bad(bad, F_DISPLAY_QTY, R_NEGATIVE, <uint64_t>display)
    if expire < 0:
        return _bad(bad, F_EXPIRE_TS, R_NEGATIVE, <uint64_t>expire)
    cdef bint terms = trigger != 0 or display != 0 or expire != 0
    if terms and room < 2:
        return -1
    _write_new_order(m, t, r)
    if not terms:
        return 1
    r.flags |= IN_TERMS
    _write_terms(r + 1, trigger, display, expire)
    return 2


cdef inline bint _cancel(const uint8_t* m, const Tables* t, InputRecord* r, RejectEntry* bad) noexcept nogil:
    if _u32(m + 4):
        return _reserved(m, 4, 7, bad)
    cdef uint64_t cid = _u64(m + 8)
    if not _client_order_id(cid, bad):
        return False
    memset(r, 0, sizeof(InputRecord))
    r.kind = IN_CANCEL
    r.account = t.account
    r.client_order_id = cid
    r.ts_ns = t.ts_ns
    return True


cdef inline bint _replace(const uint8_t* m, const Tables* t, InputRecord* r, RejectEntry* bad) noexcept nogil:
    if _u32(m + 4):
        return _reserved(m, 4, 7, bad)
    cdef uint64_t cid = _u64(m + 8)
    if not _client_order_id(cid, bad):
        return False
    cdef int64_t price = <int64_t>_u64(m + 16)
    cdef int64_t qty = <int64_t>_u64(m + 24)
    if price <= 0:
        return _bad(bad, F_PRICE, R_NOT_POSITIVE, <uint64_t>price)
    if qty <= 0:
        return _bad(bad, F_QTY, R_NOT_POSITIVE, <uint64_t>qty)
    memset(r, 0, sizeof(InputRecord))
    r.kind = IN_REPLACE
    r.account = t.account
    r.client_order_id = cid
    r.price = price
    r.qty = qty
    r.ts_ns = t.ts_ns
    return True


cdef inline int _replace_v3(
    const uint8_t* m, const Tables* t, InputRecord* r, Py_ssize_t room, RejectEntry* bad
) noexcept nogil:
    """As _new_order_v3: records written, 0 for a reject, -1 for no room. Byte 4 is flags."""
    cdef uint8_t flags = m[4]
    if flags & ~REPLACE_FLAGS:
        return _bad(bad, F_FLAGS, R_UNKNOWN_FLAGS, flags)
    if m[5] | m[6] | m[7]:
        return _reserved(m, 5, 7, bad)
    cdef uint64_t cid = _u64(m + 8)
    if not _client_order_id(cid, bad):
        return 0
    cdef int64_t price = <int64_t>_u64(m + 16)
    cdef int64_t qty = <int64_t>_u64(m + 24)
    cdef int64_t trigger = <int64_t>_u64(m + 32)
    cdef bint keep_price = flags & REPLACE_KEEP_PRICE
    if keep_price and price != 0:
        return _bad(bad, F_PRICE, R_NOT_ZERO, <uint64_t>price)
    if not keep_price and price <= 0:
        return _bad(bad, F_PRICE, R_NOT_POSITIVE, <uint64_t>price)
    if qty <= 0:
        return _bad(bad, F_QTY, R_NOT_POSITIVE, <uint64_t>qty)
    if trigger < 0:  # 0 is unchanged
        return _bad(bad, F_TRIGGER_PRICE, R_NEGATIVE, <uint64_t>trigger)
    if trigger and room < 2:
        return -1
    memset(r, 0, sizeof(InputRecord))
    r.kind = IN_REPLACE
    r.flags = (IN_KEEP_PRICE if keep_price else 0) | (IN_TERMS if trigger else 0)
    r.account = t.account
    r.client_order_id = cid
    r.price = price
    r.qty = qty
    r.ts_ns = t.ts_ns
    if not trigger:
        return 1
    _write_terms(r + 1, trigger, 0, 0)
    return 2


cdef inline bint _mass_cancel(const uint8_t* m, const Tables* t, InputRecord* r, RejectEntry* bad) noexcept nogil:
    cdef uint32_t wire_symbol = _u32(m + 4)
    cdef uint32_t symbol = 0
    if wire_symbol:
        symbol = _symbol(t, wire_symbol)
        if symbol == 0:
            return _bad(bad, F_SYMBOL, R_UNKNOWN_SYMBOL, wire_symbol)
    memset(r, 0, sizeof(InputRecord))
    r.kind = IN_MASS_CANCEL
    r.account = t.account
    r.symbol = symbol
    r.reason = CANCEL_REASON_MASS_CANCEL
    r.ts_ns = t.ts_ns
    return True


cdef Py_ssize_t _convert_orders(
    const uint8_t* data,
    Py_ssize_t size,
    Py_ssize_t max_frame,
    const Tables* t,
    InputRecord* out,
    Py_ssize_t capacity,
    uint8_t version,
    vector[RejectEntry]* rejects,
    Py_ssize_t* count_out,
) except -1:
    """The loop of orders_to_inputs: returns the bytes consumed, sets the records written."""
    cdef Py_ssize_t pos = 0, count = 0
    cdef uint32_t index = 0
    cdef const uint8_t* m
    cdef uint32_t length
    cdef uint8_t kind
    cdef int written
    cdef RejectEntry bad
    cdef bint venue = version >= VENUE_VERSION
    cdef uint32_t new_order_size = NEW_ORDER_V3_SIZE if venue else NEW_ORDER_SIZE
    cdef uint32_t replace_size = REPLACE_V3_SIZE if venue else REPLACE_SIZE
    while count < capacity and size - pos >= HEADER:
        m = data + pos
        length = _u16(m)
        kind = m[2]
        if length < HEADER or length > max_frame or size - pos < length:
            break
        # Fast path: a well-formed header of the type's exact length, in the session's version.
        if kind == T_NEW_ORDER and length == new_order_size and m[3] == version:
            if venue:
                written = _new_order_v3(m, t, out + count, capacity - count, &bad)
            else:
                written = _new_order(m, t, out + count, &bad)
        elif kind == T_CANCEL and length == CANCEL_SIZE and m[3] == version:
            written = _cancel(m, t, out + count, &bad)
        elif kind == T_REPLACE and length == replace_size and m[3] == version:
            if venue:
                written = _replace_v3(m, t, out + count, capacity - count, &bad)
            else:
                written = _replace(m, t, out + count, &bad)
        elif kind == T_MASS_CANCEL and length == MASS_CANCEL_SIZE and m[3] == version:
            written = _mass_cancel(m, t, out + count, &bad)
        elif T_NEW_ORDER <= kind <= T_MASS_CANCEL:
            written = 0
            if m[3] != version:
                _bad(&bad, F_VERSION, R_VERSION, m[3])
            else:
                _bad(&bad, F_LENGTH, R_LENGTH, length)
        else:
            break  # not a request of ours: the Python protocol code's
        if written < 0:
            break  # a request and its TERMS record, with room for one: the next batch's
        if written:
            count += written
        else:
            bad.offset = <uint64_t>pos
            bad.index = index
            bad.type = kind
            bad.pad = 0
            bad.client_order_id = _readable_client_order_id(m, kind, length)
            rejects.push_back(bad)
        pos += length
        index += 1
    count_out[0] = count
    return pos


cdef inline uint64_t _readable_client_order_id(const uint8_t* m, uint8_t kind, uint32_t length) noexcept nogil:
    """The client_order_id of a request long enough to hold one, else 0."""
    if kind == T_NEW_ORDER and length >= 24:
        return _u64(m + 16)
    if (kind == T_CANCEL or kind == T_REPLACE) and length >= 16:
        return _u64(m + 8)
    return 0


def orders_to_inputs(
    data,
    uint32_t account,
    cnp.ndarray symbol_ids not None,
    int64_t ts_ns,
    cnp.ndarray out not None,
    Py_ssize_t max_frame=MAX_FRAME,
    int version=VERSION,
):
    """wire_reference.orders_to_inputs, compiled: (consumed, count, rejects)."""
    _check_version(version)
    _check_records(out, _INPUT, True, "out")
    _check_table(symbol_ids, cnp.NPY_UINT32, "symbol_ids", "uint32")
    cdef Tables t
    t.symbol_ids = <const uint32_t*>cnp.PyArray_DATA(symbol_ids)
    t.symbols = <uint64_t>cnp.PyArray_DIM(symbol_ids, 0)
    t.account = account
    t.ts_ns = ts_ns
    cdef vector[RejectEntry] rejects
    cdef Py_ssize_t consumed, count = 0
    cdef Py_buffer buf
    PyObject_GetBuffer(data, &buf, PyBUF_SIMPLE)
    try:
        consumed = _convert_orders(
            <const uint8_t*>buf.buf,
            buf.len,
            max_frame,
            &t,
            <InputRecord*>cnp.PyArray_DATA(out),
            cnp.PyArray_DIM(out, 0),
            <uint8_t>version,
            &rejects,
            &count,
        )
    finally:
        PyBuffer_Release(&buf)
    if rejects.empty():
        return consumed, count, _NO_REJECTS
    cdef cnp.ndarray found = np.empty(rejects.size(), REJECT_DTYPE)
    memcpy(cnp.PyArray_DATA(found), rejects.data(), rejects.size() * sizeof(RejectEntry))
    return consumed, count, found


# -- events to reports --------------------------------------------------------------------

cdef inline int _report_size(uint8_t kind, uint8_t version) noexcept nogil:
    """The bytes of the report an event of ``kind`` gives a ``version`` session (0: none):
    wire_reference.REPORTING_KINDS."""
    if kind == EV_MASS_CANCELLED:
        return MASS_CANCEL_DONE_SIZE
    if EV_ACCEPTED <= kind <= EV_REPLACED or kind == EV_AUCTION_TRADE:
        return EXECUTION_REPORT_SIZE
    if version >= VENUE_VERSION and (kind == EV_TRIGGERED or kind == EV_REFRESHED):
        return EXECUTION_REPORT_SIZE
    return 0


cdef inline void _execution_report(
    const EventRecord* e, const uint32_t* wire_symbol, uint64_t symbols, uint8_t version,
    uint8_t* dst
) noexcept nogil:
    cdef ExecutionReport x
    memset(&x, 0, sizeof(x))
    x.length = EXECUTION_REPORT_SIZE
    x.type = T_EXECUTION_REPORT
    x.version = version
    x.seq = e.seq
    x.order_id = e.order_id
    x.client_order_id = e.client_order_id
    cdef uint8_t kind = e.kind
    if kind == EV_REJECTED:
        x.exec_type = X_REJECTED
        x.reason = e.reason
        x.request = e.command
    else:
        x.side = e.side
        x.symbol = wire_symbol[e.symbol] if e.symbol < symbols else 0
        x.cum_qty = e.cum
        if kind == EV_TRADE or kind == EV_AUCTION_TRADE:  # an auction's fill is a fill
            x.exec_type = X_FILLED if e.leaves == 0 else X_PARTIALLY_FILLED
            x.last_price = e.price
            x.last_qty = e.qty
            x.leaves_qty = e.leaves
            x.trade_id = e.trade_id
        else:
            x.price = e.price
            if kind == EV_ACCEPTED:
                x.exec_type = X_ACCEPTED
                x.leaves_qty = e.qty
                x.cum_qty = 0
            elif kind == EV_CANCELLED:
                x.exec_type = X_KILLED if e.reason == CANCEL_REASON_KILLED_FOK else X_CANCELLED
                x.reason = e.reason
            elif kind == EV_REDUCED:
                x.exec_type = X_REDUCED
                x.reason = e.reason
                x.leaves_qty = e.leaves
            elif kind == EV_TRIGGERED or kind == EV_REFRESHED:  # version 3's only
                x.exec_type = X_TRIGGERED if kind == EV_TRIGGERED else X_REFRESHED
                x.leaves_qty = e.leaves
            else:  # EV_REPLACED
                x.exec_type = X_REPLACED
                x.leaves_qty = e.qty
    memcpy(dst, &x, EXECUTION_REPORT_SIZE)


cdef inline void _mass_cancel_done(
    const EventRecord* e, const uint32_t* wire_symbol, uint64_t symbols, uint8_t version,
    uint8_t* dst
) noexcept nogil:
    cdef MassCancelDone x
    memset(&x, 0, sizeof(x))
    x.length = MASS_CANCEL_DONE_SIZE
    x.type = T_MASS_CANCEL_DONE
    x.version = version
    x.symbol = wire_symbol[e.symbol] if e.symbol < symbols else 0
    x.seq = e.seq
    x.count = <uint64_t>e.qty
    x.reason = e.reason
    memcpy(dst, &x, MASS_CANCEL_DONE_SIZE)


cdef int _plan(
    cnp.ndarray events,
    cnp.ndarray slot_of_account,
    vector[int32_t]* slot_of_event,
    vector[int64_t]* run,
    vector[int32_t]* touched,
    uint64_t* max_seq,
    uint8_t version,
) except -1:
    """The first pass: each event's slot (-1: no report), each slot's bytes, the slots in
    the order of their first report, the highest seq. Reads only kind, account and seq."""
    cdef const EventRecord* ev = <const EventRecord*>cnp.PyArray_DATA(events)
    cdef Py_ssize_t i, n = cnp.PyArray_DIM(events, 0)
    cdef const int32_t* slots = <const int32_t*>cnp.PyArray_DATA(slot_of_account)
    cdef uint64_t accounts = <uint64_t>cnp.PyArray_DIM(slot_of_account, 0)
    cdef const EventRecord* e
    cdef uint8_t kind
    cdef int32_t slot
    cdef int size
    slot_of_event.assign(n, -1)
    for i in range(n):
        e = ev + i
        kind = e.kind
        if <uint8_t>(kind - EV_ACCEPTED) > EV_LAST - EV_ACCEPTED or kind == EV_NAME:
            continue  # NAME, or no event: no report and no seq
        if e.seq > max_seq[0]:
            max_seq[0] = e.seq
        size = _report_size(kind, version)
        if size == 0 or e.account >= accounts:
            continue
        slot = slots[e.account]
        if slot < 0:
            continue
        slot_of_event[0][i] = slot
        if <size_t>slot >= run.size():
            run.resize(slot + 1, -1)
        if run[0][slot] < 0:
            run[0][slot] = 0
            touched.push_back(slot)
        run[0][slot] += size
    return 0


cdef void _write(
    cnp.ndarray events,
    const vector[int32_t]& slot_of_event,
    uint8_t** cursor,
    cnp.ndarray wire_symbol,
    uint8_t version,
) noexcept:
    """The second pass: each event's report at its slot's cursor, which moves on."""
    cdef const EventRecord* ev = <const EventRecord*>cnp.PyArray_DATA(events)
    cdef const uint32_t* wire = <const uint32_t*>cnp.PyArray_DATA(wire_symbol)
    cdef uint64_t symbols = <uint64_t>cnp.PyArray_DIM(wire_symbol, 0)
    cdef size_t i
    cdef int32_t slot
    for i in range(slot_of_event.size()):
        slot = slot_of_event[i]
        if slot < 0:
            continue
        if ev[i].kind == EV_MASS_CANCELLED:
            _mass_cancel_done(ev + i, wire, symbols, version, cursor[slot])
            cursor[slot] += MASS_CANCEL_DONE_SIZE
        else:
            _execution_report(ev + i, wire, symbols, version, cursor[slot])
            cursor[slot] += EXECUTION_REPORT_SIZE


cdef inline void _check_event_args(
    cnp.ndarray events, cnp.ndarray slot_of_account, cnp.ndarray wire_symbol
) except *:
    _check_records(events, _EVENT, False, "events")
    _check_table(slot_of_account, cnp.NPY_INT32, "slot_of_account", "int32")
    _check_table(wire_symbol, cnp.NPY_UINT32, "wire_symbol", "uint32")


def events_to_reports(
    cnp.ndarray events not None,
    cnp.ndarray slot_of_account not None,
    cnp.ndarray wire_symbol not None,
    out,
    int version=VERSION,
):
    """wire_reference.events_to_reports, compiled: (spans, nbytes, max_seq)."""
    _check_event_args(events, slot_of_account, wire_symbol)
    _check_version(version)
    cdef vector[int32_t] slot_of_event
    cdef vector[int64_t] run  # per slot: its bytes; -1 untouched
    cdef vector[int32_t] touched  # slots in the order of their first report
    cdef uint64_t max_seq = 0
    _plan(events, slot_of_account, &slot_of_event, &run, &touched, &max_seq, <uint8_t>version)
    cdef Py_buffer buf
    PyObject_GetBuffer(out, &buf, PyBUF_SIMPLE | PyBUF_WRITABLE)
    cdef uint8_t* base = <uint8_t*>buf.buf
    cdef vector[uint8_t*] cursor
    cdef list spans = []
    cdef Py_ssize_t offset = 0
    cdef size_t j
    cdef int32_t slot
    try:
        cursor.resize(run.size(), NULL)
        for j in range(touched.size()):
            slot = touched[j]
            spans.append((slot, offset, run[slot]))
            offset += run[slot]
        if offset > buf.len:
            raise ValueError(f"out holds {buf.len} bytes, the reports need {offset}")
        offset = 0
        for j in range(touched.size()):
            slot = touched[j]
            cursor[slot] = base + offset
            offset += run[slot]
        _write(events, slot_of_event, cursor.data(), wire_symbol, <uint8_t>version)
    finally:
        PyBuffer_Release(&buf)
    return spans, offset, max_seq


def events_to_slot_bytes(
    cnp.ndarray events not None,
    cnp.ndarray slot_of_account not None,
    cnp.ndarray wire_symbol not None,
    int version=VERSION,
):
    """wire_reference.events_to_slot_bytes, compiled: ([(slot, bytes)], max_seq).

    Each slot's reports are written straight into a new bytes object of its
    exact size: no buffer to reuse, nothing to copy.
    """
    _check_event_args(events, slot_of_account, wire_symbol)
    _check_version(version)
    cdef vector[int32_t] slot_of_event
    cdef vector[int64_t] run
    cdef vector[int32_t] touched
    cdef uint64_t max_seq = 0
    _plan(events, slot_of_account, &slot_of_event, &run, &touched, &max_seq, <uint8_t>version)
    cdef vector[uint8_t*] cursor
    cursor.resize(run.size(), NULL)
    cdef list out = []
    cdef bytes chunk
    cdef size_t j
    cdef int32_t slot
    for j in range(touched.size()):
        slot = touched[j]
        chunk = PyBytes_FromStringAndSize(NULL, run[slot])
        cursor[slot] = <uint8_t*>PyBytes_AS_STRING(chunk)
        out.append((slot, chunk))
    _write(events, slot_of_event, cursor.data(), wire_symbol, <uint8_t>version)
    return out, max_seq
