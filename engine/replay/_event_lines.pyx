# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# distutils: language = c++
"""The replay's outputs written from event records, in C++: no Event object per event.

``EventText.json_lines`` gives the bytes that ``decode_events`` + ``event_to_dict`` +
msgspec's ``encode_lines`` give (``--events-out``), and ``trade_rows`` the rows of
TradeWriter (``--trades-out``), for the same records. What the text of a name or a
code is comes from Python, rendered once by the same encoders (``outputs_text``):
here it is only copied, so the escaping rules live in one place.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libcpp.string cimport string
from libcpp.vector cimport vector


# Offsets as in layout.EVENT_DTYPE.
cdef struct EventRecord:
    uint8_t kind
    uint8_t side
    uint8_t order_type
    uint8_t tif
    uint8_t reason
    uint8_t command
    uint8_t flags
    uint8_t name_len
    uint32_t account
    uint32_t symbol
    uint64_t seq
    uint64_t order_id
    uint64_t client_order_id
    int64_t price
    int64_t qty
    int64_t leaves
    int64_t cum
    uint64_t trade_id


assert sizeof(EventRecord) == 80

cdef enum:
    ACCEPTED = 1
    REJECTED = 2
    TRADE = 3
    CANCELLED = 4
    REDUCED = 5
    REPLACED = 6
    MASS_CANCELLED = 7
    NAME = 8
    TAKER = 1
    PRIORITY_KEPT = 2


cdef inline void put_int(string& out, int64_t value) noexcept:
    cdef char digits[24]
    cdef int n = 0
    cdef uint64_t v
    if value < 0:
        out.push_back(b"-")
        v = <uint64_t>(-(value + 1)) + 1
    else:
        v = <uint64_t>value
    while True:
        digits[n] = <char>(48 + v % 10)
        n += 1
        v //= 10
        if v == 0:
            break
    while n:
        n -= 1
        out.push_back(digits[n])


cdef inline void put_uint(string& out, uint64_t v) noexcept:
    cdef char digits[24]
    cdef int n = 0
    while True:
        digits[n] = <char>(48 + v % 10)
        n += 1
        v //= 10
        if v == 0:
            break
    while n:
        n -= 1
        out.push_back(digits[n])


cdef void fill(vector[string]& table, list texts) except *:
    for text in texts:
        table.push_back(<bytes>text)


cdef class EventText:
    """The rendered texts of names and codes, and the writers that copy them."""

    cdef vector[string] account_json, symbol_json, account_csv, symbol_csv
    cdef vector[string] side, side_csv, order_type, tif, command, reject, cancel

    def __cinit__(self, list side, list side_csv, list order_type, list tif, list command,
                  list reject, list cancel):
        """Each list: the text of code i at index i (b"" where no member has that code);
        JSON texts but for ``side_csv``."""
        fill(self.side, side)
        fill(self.side_csv, side_csv)
        fill(self.order_type, order_type)
        fill(self.tif, tif)
        fill(self.command, command)
        fill(self.reject, reject)
        fill(self.cancel, cancel)

    def add_names(self, list account_json, list account_csv, list symbol_json, list symbol_csv):
        """The texts of the next names, in id order (id 1 first; id 0 is never a name)."""
        if self.account_json.empty():
            self.account_json.push_back(b'"#0"')
            self.account_csv.push_back(b"#0")
            self.symbol_json.push_back(b'"#0"')
            self.symbol_csv.push_back(b"#0")
        for text in account_json:
            self.account_json.push_back(text)
        for text in account_csv:
            self.account_csv.push_back(text)
        for text in symbol_json:
            self.symbol_json.push_back(text)
        for text in symbol_csv:
            self.symbol_csv.push_back(text)

    def account_count(self) -> int:
        return max(<Py_ssize_t>self.account_json.size() - 1, 0)

    def symbol_count(self) -> int:
        return max(<Py_ssize_t>self.symbol_json.size() - 1, 0)

    cdef inline void name(self, string& out, vector[string]& names, uint32_t ident, bint json):
        if ident < names.size():
            out.append(names[ident])
            return
        # An id no NAME defined: Names.name's "#<id>".
        if json:
            out.push_back(b'"')
        out.push_back(b"#")
        put_uint(out, ident)
        if json:
            out.push_back(b'"')

    cdef inline void code(self, string& out, vector[string]& table, uint8_t value) except *:
        if value >= table.size() or table[value].empty():
            raise ValueError(f"an event record holds code {value}, which names nothing")
        out.append(table[value])

    cdef inline void price_or_null(self, string& out, int64_t price):
        if price:
            put_int(out, price)
        else:
            out.append(b"null")

    def json_lines(self, uint8_t[::1] events) -> bytes:
        """--events-out's lines for the records (the bytes of an EVENT_DTYPE array)."""
        cdef Py_ssize_t n = events.shape[0] // 80, i
        cdef string out
        cdef const EventRecord* r
        cdef const EventRecord* maker = NULL
        if n == 0:
            return b""
        cdef const EventRecord* records = <const EventRecord*>&events[0]
        out.reserve(n * 160)
        for i in range(n):
            r = records + i
            if r.kind == ACCEPTED:
                out.append(b'{"type":"accepted","seq":')
                put_uint(out, r.seq)
                out.append(b',"order_id":')
                put_uint(out, r.order_id)
                out.append(b',"account":')
                self.name(out, self.account_json, r.account, True)
                out.append(b',"symbol":')
                self.name(out, self.symbol_json, r.symbol, True)
                out.append(b',"side":')
                self.code(out, self.side, r.side)
                out.append(b',"order_type":')
                self.code(out, self.order_type, r.order_type)
                out.append(b',"tif":')
                self.code(out, self.tif, r.tif)
                out.append(b',"price":')
                self.price_or_null(out, r.price)
                out.append(b',"qty":')
                put_int(out, r.qty)
                out.append(b',"client_order_id":')
                put_uint(out, r.client_order_id)
            elif r.kind == REJECTED:
                out.append(b'{"type":"rejected","seq":')
                put_uint(out, r.seq)
                out.append(b',"command":')
                self.code(out, self.command, r.command)
                out.append(b',"order_id":')
                put_uint(out, r.order_id)
                out.append(b',"account":')
                self.name(out, self.account_json, r.account, True)
                out.append(b',"reason":')
                self.code(out, self.reject, r.reason)
                out.append(b',"client_order_id":')
                put_uint(out, r.client_order_id)
            elif r.kind == TRADE:
                if not r.flags & TAKER:
                    maker = r
                    continue
                if maker == NULL:
                    raise ValueError("a taker's trade record without its maker's")
                out.append(b'{"type":"trade","seq":')
                put_uint(out, r.seq)
                out.append(b',"trade_id":')
                put_uint(out, r.trade_id)
                out.append(b',"symbol":')
                self.name(out, self.symbol_json, r.symbol, True)
                out.append(b',"price":')
                put_int(out, r.price)
                out.append(b',"qty":')
                put_int(out, r.qty)
                out.append(b',"maker_order_id":')
                put_uint(out, maker.order_id)
                out.append(b',"taker_order_id":')
                put_uint(out, r.order_id)
                out.append(b',"maker_account":')
                self.name(out, self.account_json, maker.account, True)
                out.append(b',"taker_account":')
                self.name(out, self.account_json, r.account, True)
                out.append(b',"taker_side":')
                self.code(out, self.side, r.side)
                out.append(b',"maker_leaves":')
                put_int(out, maker.leaves)
                out.append(b',"taker_leaves":')
                put_int(out, r.leaves)
                maker = NULL
            elif r.kind == CANCELLED or r.kind == REDUCED:
                out.append(b'{"type":"cancelled","seq":' if r.kind == CANCELLED
                           else b'{"type":"reduced","seq":')
                put_uint(out, r.seq)
                out.append(b',"order_id":')
                put_uint(out, r.order_id)
                out.append(b',"account":')
                self.name(out, self.account_json, r.account, True)
                out.append(b',"symbol":')
                self.name(out, self.symbol_json, r.symbol, True)
                out.append(b',"side":')
                self.code(out, self.side, r.side)
                out.append(b',"price":')
                self.price_or_null(out, r.price)
                out.append(b',"qty":')
                put_int(out, r.qty)
                if r.kind == REDUCED:
                    out.append(b',"leaves":')
                    put_int(out, r.leaves)
                out.append(b',"reason":')
                self.code(out, self.cancel, r.reason)
            elif r.kind == REPLACED:
                out.append(b'{"type":"replaced","seq":')
                put_uint(out, r.seq)
                out.append(b',"order_id":')
                put_uint(out, r.order_id)
                out.append(b',"account":')
                self.name(out, self.account_json, r.account, True)
                out.append(b',"symbol":')
                self.name(out, self.symbol_json, r.symbol, True)
                out.append(b',"side":')
                self.code(out, self.side, r.side)
                out.append(b',"price":')
                put_int(out, r.price)
                out.append(b',"qty":')
                put_int(out, r.qty)
                out.append(b',"priority_kept":true' if r.flags & PRIORITY_KEPT
                           else b',"priority_kept":false')
            elif r.kind == MASS_CANCELLED:
                out.append(b'{"type":"mass_cancelled","seq":')
                put_uint(out, r.seq)
                out.append(b',"account":')
                self.name(out, self.account_json, r.account, True)
                out.append(b',"symbol":')
                if r.symbol:
                    self.name(out, self.symbol_json, r.symbol, True)
                else:
                    out.append(b"null")
                out.append(b',"count":')
                put_int(out, r.qty)
                out.append(b',"reason":')
                self.code(out, self.cancel, r.reason)
            elif r.kind == NAME:
                continue
            else:
                raise ValueError(f"event record of unknown kind {r.kind}")
            out.append(b"}\n")
        return out

    def trade_rows(self, uint8_t[::1] events) -> bytes:
        """--trades-out's rows for the trades among the records (TradeWriter's columns)."""
        cdef Py_ssize_t n = events.shape[0] // 80, i
        cdef string out
        cdef const EventRecord* r
        cdef const EventRecord* maker = NULL
        if n == 0:
            return b""
        cdef const EventRecord* records = <const EventRecord*>&events[0]
        for i in range(n):
            r = records + i
            if r.kind != TRADE:
                continue
            if not r.flags & TAKER:
                maker = r
                continue
            if maker == NULL:
                raise ValueError("a taker's trade record without its maker's")
            put_uint(out, r.trade_id)
            out.push_back(b",")
            self.name(out, self.symbol_csv, r.symbol, False)
            out.push_back(b",")
            put_int(out, r.price)
            out.push_back(b",")
            put_int(out, r.qty)
            out.push_back(b",")
            put_uint(out, maker.order_id)
            out.push_back(b",")
            put_uint(out, r.order_id)
            out.push_back(b",")
            self.name(out, self.account_csv, maker.account, False)
            out.push_back(b",")
            self.name(out, self.account_csv, r.account, False)
            out.push_back(b",")
            self.code(out, self.side_csv, r.side)
            out.push_back(b"\n")
            maker = NULL
        return out
