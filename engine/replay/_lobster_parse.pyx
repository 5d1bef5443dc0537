# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# distutils: language = c++
"""A LOBSTER message file's plain rows, parsed into columns in one C pass.

``parse_messages`` takes only text it reads exactly as lobster.read_messages'
numpy pass does: six fields a line, ``time`` as at most 5 digits with at most
nine decimals (so the nanoseconds are exact, as rounding the double gives), the
other five as an optional minus and at most 18 digits, "\\n" line ends. At
anything else (a blank line, "\\r", "1e5", " 7", a field too many) it returns -1
and read_messages reads the file as before, naming what is wrong.
"""

from cpython.bytes cimport PyBytes_AS_STRING
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memset
from libcpp.vector cimport vector

cdef int64_t[10] SCALE = [1000000000, 100000000, 10000000, 1000000, 100000, 10000, 1000, 100, 10, 1]


cdef inline const unsigned char* whole(const unsigned char* p, int64_t* out) noexcept nogil:
    """A whole number at ``p``, up to the first byte that is not a digit; the byte after
    it, or NULL if it is not an optional "-" and 1 to 18 digits (never more in LOBSTER:
    a longer one is read_messages' to judge). The text ends in a NUL (bytes do), so
    the digit test alone stops every loop."""
    cdef bint negative = p[0] == 45  # "-"
    cdef uint64_t value = 0, digit
    cdef const unsigned char* start
    if negative:
        p += 1
    start = p
    while True:
        digit = <uint64_t>p[0] - 48
        if digit > 9:
            break
        value = value * 10 + digit  # unsigned: a long number wraps, defined, and is refused
        p += 1
    if p == start or p - start > 18:  # 18 digits cannot overflow
        return NULL
    out[0] = -<int64_t>value if negative else <int64_t>value
    return p


cdef inline const unsigned char* field(const unsigned char* p, int64_t* out) noexcept nogil:
    """"," then a whole number (NULL if not)."""
    if p == NULL or p[0] != 44:  # ","
        return NULL
    return whole(p + 1, out)


def parse_messages(
    bytes data,
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
    cdef Py_ssize_t n = len(data)
    cdef Py_ssize_t capacity = min(ts_ns.shape[0], kind.shape[0], order_id.shape[0],
                                   size.shape[0], price.shape[0], direction.shape[0])
    if n == 0 or capacity == 0:
        return -1
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(data)
    cdef Py_ssize_t rows
    with nogil:
        rows = parse_rows(p, p + n, &ts_ns[0], &kind[0], &order_id[0], &size[0], &price[0],
                          &direction[0], capacity)
    return rows


cdef Py_ssize_t parse_rows(
    const unsigned char* p, const unsigned char* end, int64_t* ts_ns, int64_t* kind,
    int64_t* order_id, int64_t* size, int64_t* price, int64_t* direction,
    Py_ssize_t capacity,
) noexcept nogil:
    """parse_messages' loop; ``end[0]`` is the NUL after the text."""
    cdef Py_ssize_t row = 0
    cdef const unsigned char* start
    cdef uint64_t seconds, fraction, digit
    while p < end:
        if row >= capacity:
            return -1
        # time: seconds (at most 5 digits: a day has 86,400 s), then up to 9 decimals:
        # within those, rounding the double (read_messages) gives these nanoseconds
        seconds = 0
        start = p
        while True:
            digit = <uint64_t>p[0] - 48
            if digit > 9:
                break
            seconds = seconds * 10 + digit
            p += 1
        if p == start or p - start > 5:
            return -1
        fraction = 0
        if p[0] == 46:  # "."
            p += 1
            start = p
            while True:
                digit = <uint64_t>p[0] - 48
                if digit > 9:
                    break
                fraction = fraction * 10 + digit
                p += 1
            # Past nanoseconds the double's rounding decides: read_messages' to judge.
            if p == start or p - start > 9:
                return -1
            fraction *= SCALE[p - start]
        ts_ns[row] = <int64_t>(seconds * 1000000000 + fraction)
        p = field(p, &kind[row])
        p = field(p, &order_id[row])
        p = field(p, &size[row])
        p = field(p, &price[row])
        p = field(p, &direction[row])
        if p == NULL:
            return -1
        if p < end:
            if p[0] != 10:  # "\n"
                return -1
            p += 1
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
