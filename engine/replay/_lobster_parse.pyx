# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# distutils: language = c++
"""A LOBSTER message file's plain rows, parsed into columns in one C pass.

``parse_messages`` takes only text it reads exactly as lobster.read_messages'
numpy pass does: six fields a line, ``time`` as digits with at most nine
decimals (so the nanoseconds are exact, as rounding the double gives), the
other five as an optional minus and digits that fit in 64 bits, "\\n" line
ends. At anything else (a blank line, "\\r", "1e5", " 7", a field too many) it
returns -1 and read_messages reads the file as before, naming what is wrong.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memset
from libcpp.vector cimport vector

cdef int64_t[10] SCALE = [1000000000, 100000000, 10000000, 1000000, 100000, 10000, 1000, 100, 10, 1]


cdef inline Py_ssize_t whole(
    const unsigned char* p, Py_ssize_t i, Py_ssize_t n, int64_t* out
) noexcept nogil:
    """A whole number from ``p[i]`` up to a "," or the line's end; the index after it,
    or -1 if it is not an optional "-" and 1 to 18 digits (never more in LOBSTER:
    a longer one is read_messages' to judge)."""
    cdef bint negative = False
    cdef uint64_t value = 0, digit
    cdef Py_ssize_t start
    if i < n and p[i] == 45:  # "-"
        negative = True
        i += 1
    start = i
    while i < n:
        digit = <uint64_t>p[i] - 48
        if digit > 9:
            break
        value = value * 10 + digit  # unsigned: a long number wraps, defined, and is refused
        i += 1
    if i == start or i - start > 18:  # 18 digits cannot overflow: no check per digit
        return -1
    out[0] = -<int64_t>value if negative else <int64_t>value
    return i


def parse_messages(
    const unsigned char[::1] data,
    int64_t[::1] ts_ns,
    int64_t[::1] kind,
    int64_t[::1] order_id,
    int64_t[::1] size,
    int64_t[::1] price,
    int64_t[::1] direction,
) -> int:
    """Rows of ``data`` into the columns (each room for every line: len(data) // 12 + 1
    will do, a row being 12 bytes at least); the row count, or -1 if any line is not
    plain."""
    if data.shape[0] == 0:
        return -1
    cdef int64_t* columns[6]
    columns[0] = &ts_ns[0]
    columns[1] = &kind[0]
    columns[2] = &order_id[0]
    columns[3] = &size[0]
    columns[4] = &price[0]
    columns[5] = &direction[0]
    cdef Py_ssize_t capacity = min(ts_ns.shape[0], kind.shape[0], order_id.shape[0],
                                   size.shape[0], price.shape[0], direction.shape[0])
    cdef Py_ssize_t rows
    with nogil:
        rows = parse_rows(&data[0], data.shape[0], columns, capacity)
    return rows


cdef Py_ssize_t parse_rows(
    const unsigned char* p, Py_ssize_t n, int64_t** columns, Py_ssize_t capacity
) noexcept nogil:
    cdef Py_ssize_t i = 0, row = 0, start, digits
    cdef int64_t seconds, fraction
    cdef int column
    while i < n:
        if row >= capacity:
            return -1
        # time: seconds, then up to 9 decimals
        seconds = 0
        start = i
        while i < n and <uint64_t>p[i] - 48 <= 9:
            if i - start >= 6:
                return -1  # a day has 86,400 s: more digits are not a LOBSTER time
            seconds = seconds * 10 + (p[i] - 48)
            i += 1
        if i == start:
            return -1
        fraction = 0
        if i < n and p[i] == 46:  # "."
            i += 1
            start = i
            while i < n and <uint64_t>p[i] - 48 <= 9:
                if i - start >= 9:
                    return -1  # past nanoseconds the double's rounding decides
                fraction = fraction * 10 + (p[i] - 48)
                i += 1
            digits = i - start
            if digits == 0:
                return -1
            fraction *= SCALE[digits]
        columns[0][row] = seconds * 1000000000 + fraction
        for column in range(1, 6):
            if i >= n or p[i] != 44:  # ","
                return -1
            i = whole(p, i + 1, n, &columns[column][row])
            if i < 0:
                return -1
        if i < n:
            if p[i] != 10:  # "\n"
                return -1
            i += 1
        row += 1
    return row


# -- messages -> input records --------------------------------------------------------------

# Offsets as in layout.INPUT_DTYPE (the order parser declares the same struct).
cdef struct InputRecord:
    uint8_t kind
    uint8_t side
    uint8_t order_type
    uint8_t tif
    uint8_t stp
    uint8_t flags
    uint8_t reason
    uint8_t pad
    uint32_t account
    uint32_t symbol
    uint64_t order_id
    uint64_t client_order_id
    int64_t price
    int64_t qty
    int64_t ts_ns
    uint64_t seq


assert sizeof(InputRecord) == 64


cdef int64_t EMPTY = -9223372036854775807 - 1  # no LOBSTER order id is negative


cdef class IdSet:
    """A set of order ids: open addressing, linear probing. std::unordered_set allocates a
    node per id and was most of the translation's time (130 ns a message, now ~20)."""

    cdef vector[int64_t] slots
    cdef uint64_t mask
    cdef Py_ssize_t count

    def __cinit__(self):
        self.slots.assign(1 << 16, EMPTY)
        self.mask = (1 << 16) - 1
        self.count = 0

    cdef inline uint64_t _home(self, int64_t key) noexcept nogil:
        # Fibonacci hashing: the ids' high bits spread over the table.
        return ((<uint64_t>key * 11400714819323198485ULL) >> 20) & self.mask

    cdef inline bint contains(self, int64_t key) noexcept nogil:
        cdef uint64_t at = self._home(key)
        while self.slots[at] != EMPTY:
            if self.slots[at] == key:
                return True
            at = (at + 1) & self.mask
        return False

    cdef inline void add(self, int64_t key) noexcept:
        cdef uint64_t at = self._home(key)
        while self.slots[at] != EMPTY:
            if self.slots[at] == key:
                return
            at = (at + 1) & self.mask
        self.slots[at] = key
        self.count += 1
        if <uint64_t>self.count * 2 > self.mask:
            self._grow()

    cdef void _grow(self) noexcept:
        cdef vector[int64_t] old = self.slots
        cdef int64_t key
        self.slots.assign(old.size() * 2, EMPTY)
        self.mask = old.size() * 2 - 1
        self.count = 0
        for key in old:
            if key != EMPTY:
                self.add(key)


cdef class MessageTranslator:
    """LOBSTER messages -> the input records of an unseeded replay, in one pass.

    The rules of lobster_replay.LobsterReplay.run without an orderbook: type 1 a
    GTC limit order; 4 an IOC from the other side at the execution's price and
    size, with the next replay id; 3 a cancel of an order the file submitted
    earlier, or, for one it never did, an orphan whose size is short; 5, 6 and 7
    nothing. A type 2 needs the order's remaining size from the book: translate()
    stops before it and the caller handles it. Keeps the ids submitted so far.
    """

    cdef IdSet submitted
    cdef public uint64_t next_seq
    cdef public uint64_t last_replay_id
    cdef public int64_t orphans
    cdef public int64_t short
    cdef uint32_t account
    cdef uint32_t symbol

    def __cinit__(self, uint32_t account, uint32_t symbol, uint64_t last_replay_id):
        self.account = account
        self.symbol = symbol
        self.last_replay_id = last_replay_id
        self.next_seq = 1
        self.submitted = IdSet()

    def was_submitted(self, int64_t order_id) -> bool:
        """Did a type 1 of the messages translated so far submit ``order_id``?"""
        return self.submitted.contains(order_id)

    def translate(
        self,
        const int64_t[::1] ts_ns,
        const int64_t[::1] kind,
        const int64_t[::1] order_id,
        const int64_t[::1] size,
        const int64_t[::1] price,
        const int64_t[::1] direction,
        Py_ssize_t start,
        uint8_t[::1] out,
    ) -> tuple:
        """Messages from ``start`` into the records of ``out`` (the bytes of an
        INPUT_DTYPE array), seqs stamped: (the next message, records written). It
        stops before a type 2 (the returned index is that message) or when ``out``
        is full."""
        cdef Py_ssize_t n = min(ts_ns.shape[0], kind.shape[0], order_id.shape[0],
                                size.shape[0], price.shape[0], direction.shape[0])
        cdef Py_ssize_t capacity = out.shape[0] // 64, written = 0, i = start
        cdef InputRecord* r
        cdef int64_t k
        cdef bint buy
        if capacity == 0:
            return i, 0
        cdef InputRecord* records = <InputRecord*>&out[0]
        while i < n and written < capacity:
            k = kind[i]
            if k == 2:
                break
            buy = direction[i] == 1
            if k == 1 or k == 4:
                r = records + written
                memset(r, 0, 64)
                r.kind = 1  # NEW
                r.order_type = 1  # LIMIT
                r.account = self.account
                r.symbol = self.symbol
                r.price = price[i]
                r.qty = size[i]
                r.ts_ns = ts_ns[i]
                r.seq = self.next_seq
                self.next_seq += 1
                written += 1
                if k == 1:
                    r.side = 1 if buy else 2
                    r.order_id = <uint64_t>order_id[i]
                    self.submitted.add(order_id[i])
                else:
                    # The direction is the resting order's side: the taker is the other.
                    r.side = 2 if buy else 1
                    r.tif = 2  # IOC
                    self.last_replay_id += 1
                    r.order_id = self.last_replay_id
                    if not self.submitted.contains(order_id[i]):
                        self.orphans += 1
            elif k == 3:
                if self.submitted.contains(order_id[i]):
                    r = records + written
                    memset(r, 0, 64)
                    r.kind = 2  # CANCEL
                    r.account = self.account
                    r.order_id = <uint64_t>order_id[i]
                    r.ts_ns = ts_ns[i]
                    r.seq = self.next_seq
                    self.next_seq += 1
                    written += 1
                else:  # an orphan, and no synthetic liquidity to take it from
                    self.orphans += 1
                    self.short += size[i]
            i += 1
        return i, written
