# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# distutils: language = c++
"""The order file's common rows, parsed straight into input records.

``OrderParser.parse`` reads whole lines of an order file (engine/replay/order_csv.py
defines the format) from a bytes buffer and writes their records
(engine/records/layout.py, INPUT_DTYPE) into a preallocated array: no Python
object per row. It takes only the rows it can read exactly as parse_row +
convert.Encoder would: plain ASCII, no quote, the header's number of fields
(16, or 12 in a file of the first kind: ``fields``) with the venue columns
empty, every number plain digits that fit in 64 bits, every word one of the
continuous book's (LIMIT, MARKET; GTC, IOC, FOK). At any other row it
stops and says so; the caller hands that row to the Python parser, which reads
it (quoted fields, negative numbers...) or raises the file error the format
prescribes, and tells this parser about the names it defined (``add_name``).

Names get ids here, from 1 in first-seen order (as names.Directory does): a
row that names something new is preceded by its DEFINE_ACCOUNT / DEFINE_SYMBOL
record and the text record holding the name, the account's first. Input
records get consecutive seqs from ``next_seq``: a replay is its own sequencer.
"""

from cython.operator cimport dereference as deref
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memchr, memcmp, memcpy, memset
from libcpp.string cimport string
from libcpp.unordered_map cimport unordered_map
from libcpp.vector cimport vector


# Offsets as in layout.INPUT_DTYPE: natural alignment gives them, with one pad byte.
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


cdef enum:
    RECORD_SIZE = 64
    NEW = 1
    CANCEL = 2
    REPLACE = 3
    DEFINE_SYMBOL = 12
    DEFINE_ACCOUNT = 13
    POST_ONLY = 1
    MAX_NAME = 64
    FIELDS = 16  # the most: order_csv.COLUMNS; a file of the first kind has 12
    FIELDS_V1 = 12
    # The most records one row can take: a DEFINE and its text for the account and
    # for the symbol, the input itself, and its TERMS record (a venue row, which
    # the Python parser reads; the caller's buffer is sized by this figure too).
    ROW_RECORDS = 6

# What stopped parse().
STOP_END = 0  # every whole line of the buffer was read
STOP_FULL = 1  # the record array has no room for another row, or max_rows were read
STOP_SLOW = 2  # the row at the returned position is the Python parser's

MAX_SYMBOLS = 65_535
MAX_ACCOUNTS = (1 << 24) - 1
cdef uint64_t INT64_MAX = 9223372036854775807ULL


assert sizeof(InputRecord) == RECORD_SIZE


cdef inline bint plain_integer(const uint8_t* p, Py_ssize_t n, int64_t* out) noexcept nogil:
    """Digits only (no sign), 1 or more, at most INT64_MAX: as parse_row's fast path."""
    cdef uint64_t value = 0
    cdef uint64_t digit
    cdef Py_ssize_t i
    if n == 0:
        return False
    for i in range(n):
        digit = <uint64_t>p[i] - 48
        if digit > 9:
            return False
        if value > (INT64_MAX - digit) // 10:
            return False
        value = value * 10 + digit
    out[0] = <int64_t>value
    return True


cdef inline bint same(const uint8_t* p, Py_ssize_t n, const char* word, Py_ssize_t size) noexcept nogil:
    return n == size and memcmp(p, word, size) == 0


cdef inline int side_code(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    if same(p, n, b"BUY", 3):
        return 1
    if same(p, n, b"SELL", 4):
        return 2
    return -1


cdef inline int type_code(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    if same(p, n, b"LIMIT", 5):
        return 1
    if same(p, n, b"MARKET", 6):
        return 2
    return -1


cdef inline int tif_code(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    if n == 0:
        return 0
    if same(p, n, b"GTC", 3):
        return 1
    if same(p, n, b"IOC", 3):
        return 2
    if same(p, n, b"FOK", 3):
        return 3
    return -1


cdef inline int post_only_flag(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    if n == 0 or same(p, n, b"0", 1):
        return 0
    if same(p, n, b"1", 1):
        return POST_ONLY
    return -1


cdef inline int stp_code(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    if n == 0 or same(p, n, b"NONE", 4):
        return 0
    if same(p, n, b"CANCEL_TAKER", 12):
        return 1
    if same(p, n, b"CANCEL_MAKER", 12):
        return 2
    if same(p, n, b"CANCEL_BOTH", 11):
        return 3
    if same(p, n, b"DECREMENT", 9):
        return 4
    return -1


cdef struct CachedName:
    uint32_t ident
    uint32_t size
    uint8_t text[64]


cdef enum:
    CACHE_SLOTS = 1024  # a power of two


cdef inline uint32_t fnv1a(const uint8_t* p, Py_ssize_t n) noexcept nogil:
    cdef uint32_t h = 2166136261u
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * 16777619u
    return h


cdef class NameTable:
    """One kind of name: UTF-8 bytes -> id, ids from 1 in the order of definition.

    A direct-mapped cache of recent names sits in front of the map: a hit is a hash of
    a few bytes and a memcmp, where the map would build a std::string and hash it
    again (a fifth of the parser's time before the cache).
    """

    cdef unordered_map[string, uint32_t] ids
    cdef vector[string] names
    cdef uint32_t limit
    cdef CachedName cache[CACHE_SLOTS]

    def __cinit__(self, uint32_t limit):
        self.limit = limit
        memset(self.cache, 0, sizeof(self.cache))

    cdef inline uint32_t find(self, const uint8_t* p, Py_ssize_t n):
        """The id of the name, 0 if it has none yet."""
        cdef CachedName* slot = &self.cache[fnv1a(p, n) & (CACHE_SLOTS - 1)]
        if slot.ident and slot.size == n and memcmp(slot.text, p, n) == 0:
            return slot.ident
        cdef unordered_map[string, uint32_t].iterator it = self.ids.find(
            string(<const char*>p, n)
        )
        if it == self.ids.end():
            return 0
        self._remember(slot, p, n, deref(it).second)
        return deref(it).second

    cdef inline void _remember(self, CachedName* slot, const uint8_t* p, Py_ssize_t n,
                               uint32_t ident) noexcept:
        slot.ident = ident
        slot.size = <uint32_t>n
        memcpy(slot.text, p, n)

    cdef inline bint has_room(self):
        return self.names.size() < self.limit

    cdef uint32_t define(self, const uint8_t* p, Py_ssize_t n):
        """The next id for a name of at most MAX_NAME bytes that has none yet."""
        cdef string key = string(<const char*>p, n)
        self.names.push_back(key)
        cdef uint32_t ident = <uint32_t>self.names.size()
        self.ids[key] = ident
        if n <= MAX_NAME:
            self._remember(&self.cache[fnv1a(p, n) & (CACHE_SLOTS - 1)], p, n, ident)
        return ident


cdef class OrderParser:
    """Order-file lines -> input records, with the name tables and the seq counter."""

    cdef NameTable symbols
    cdef NameTable accounts
    cdef public uint64_t next_seq
    cdef Py_ssize_t fields

    def __cinit__(self, uint64_t first_seq=1, Py_ssize_t fields=FIELDS):
        if fields != FIELDS and fields != FIELDS_V1:
            raise ValueError(f"an order file has {FIELDS} or {FIELDS_V1} fields, not {fields}")
        self.symbols = NameTable(MAX_SYMBOLS)
        self.accounts = NameTable(MAX_ACCOUNTS)
        self.next_seq = first_seq
        self.fields = fields

    # -- the names, for the Python side ------------------------------------------------

    def symbol_count(self) -> int:
        return self.symbols.names.size()

    def account_count(self) -> int:
        return self.accounts.names.size()

    def symbol_names(self, Py_ssize_t start=0) -> list:
        """The symbol names from id ``start + 1`` on, in id order (UTF-8 decoded)."""
        return [self.symbols.names[i].decode("utf-8") for i in range(start, self.symbols.names.size())]

    def account_names(self, Py_ssize_t start=0) -> list:
        return [self.accounts.names[i].decode("utf-8") for i in range(start, self.accounts.names.size())]

    def add_symbol(self, str name) -> int:
        """Define ``name`` as the next symbol id (the Python parser defined it)."""
        cdef bytes raw = name.encode("utf-8")
        return self.symbols.define(<const uint8_t*>raw, len(raw))

    def add_account(self, str name) -> int:
        cdef bytes raw = name.encode("utf-8")
        return self.accounts.define(<const uint8_t*>raw, len(raw))

    # -- parsing -------------------------------------------------------------------------

    def parse(
        self,
        const uint8_t[::1] data,
        Py_ssize_t pos,
        bint final,
        uint8_t[::1] out,
        Py_ssize_t written,
        Py_ssize_t max_rows,
    ) -> tuple:
        """Parse whole lines of ``data`` from byte ``pos`` into the records of ``out``
        (the bytes of an INPUT_DTYPE array) from record ``written``.

        ``final``: ``data`` ends the file, so a last line without a line end is
        whole. Returns (pos, written, rows, lines, stop): where it stopped, the
        records written so far, the data rows and the lines it read, and why
        (STOP_END, STOP_FULL, or STOP_SLOW: the row at ``pos`` is the Python parser's).
        """
        cdef const uint8_t* base = &data[0] if data.shape[0] else NULL
        cdef Py_ssize_t n = data.shape[0]
        cdef Py_ssize_t capacity = out.shape[0] // RECORD_SIZE
        cdef InputRecord* records = <InputRecord*>&out[0] if capacity else NULL
        cdef Py_ssize_t rows = 0, lines = 0, end, after, took
        cdef const uint8_t* newline
        cdef int stop = STOP_END
        while True:
            if rows >= max_rows or capacity - written < ROW_RECORDS:
                stop = STOP_FULL
                break
            if pos >= n:
                break
            newline = <const uint8_t*>memchr(base + pos, b"\n", n - pos)
            if newline != NULL:
                end = newline - base
                after = end + 1
            elif final:
                end = n
                after = n
            else:
                break  # a partial line: the caller brings the rest
            # "\r\n" ends a line as "\n" does; any other "\r" is the slow path's.
            if end > pos and base[end - 1] == 13:
                end -= 1
            if end == pos:  # a blank line
                lines += 1
                pos = after
                continue
            took = self._row(base + pos, end - pos, records + written)
            if took < 0:
                stop = STOP_SLOW
                break
            written += took
            rows += 1
            lines += 1
            pos = after
        return pos, written, rows, lines, stop

    cdef Py_ssize_t _row(self, const uint8_t* line, Py_ssize_t size, InputRecord* out):
        """One line's records (returns how many), or -1 to leave it to Python."""
        cdef Py_ssize_t start[FIELDS]
        cdef Py_ssize_t length[FIELDS]
        cdef Py_ssize_t i, field = 0, field_start = 0
        cdef uint8_t c
        # Split on commas; any quote, control or non-ASCII byte is the slow path's.
        for i in range(size):
            c = line[i]
            if c == 44:  # ","
                if field == self.fields - 1:
                    return -1  # too many fields
                start[field] = field_start
                length[field] = i - field_start
                field += 1
                field_start = i + 1
            elif c < 32 or c >= 127 or c == 34:
                return -1
        if field != self.fields - 1:
            return -1
        start[field] = field_start
        length[field] = size - field_start
        # The venue's columns (trigger_price, display_qty, expire_ts, phase): a row
        # that uses one is the Python parser's.
        for i in range(FIELDS_V1, self.fields):
            if length[i]:
                return -1

        cdef int64_t ts_ns, order_id, price = 0, qty = 0
        cdef const uint8_t* f
        if not plain_integer(line + start[0], length[0], &ts_ns):
            return -1
        if not plain_integer(line + start[2], length[2], &order_id):
            return -1
        cdef const uint8_t* account = line + start[3]
        cdef Py_ssize_t account_len = length[3]
        if account_len == 0 or account_len > MAX_NAME:
            return -1
        f = line + start[1]
        cdef Py_ssize_t action = length[1]
        cdef int kind
        cdef int side = 0, order_type = 0, tif = 0, stp = 0, flags = 0
        cdef const uint8_t* symbol = NULL
        cdef Py_ssize_t symbol_len = 0
        if same(f, action, b"NEW", 3):
            kind = NEW
            symbol = line + start[4]
            symbol_len = length[4]
            if symbol_len > MAX_NAME:
                return -1
            side = side_code(line + start[5], length[5])
            order_type = type_code(line + start[6], length[6])
            tif = tif_code(line + start[7], length[7])
            if side < 0 or order_type < 0 or tif < 0:
                return -1
            if length[8] and not plain_integer(line + start[8], length[8], &price):
                return -1
            if not plain_integer(line + start[9], length[9], &qty):
                return -1
            flags = post_only_flag(line + start[10], length[10])
            stp = stp_code(line + start[11], length[11])
            if flags < 0 or stp < 0:
                return -1
        elif same(f, action, b"CANCEL", 6):
            kind = CANCEL
        elif same(f, action, b"REPLACE", 7):
            kind = REPLACE
            if not plain_integer(line + start[8], length[8], &price):
                return -1
            if not plain_integer(line + start[9], length[9], &qty):
                return -1
        else:
            return -1

        # Ids: look both up before defining either, so that a row left to Python
        # has defined nothing.
        cdef uint32_t account_id = self.accounts.find(account, account_len)
        cdef uint32_t symbol_id = 0
        if account_id == 0 and not self.accounts.has_room():
            return -1
        if symbol_len:
            symbol_id = self.symbols.find(symbol, symbol_len)
            if symbol_id == 0 and not self.symbols.has_room():
                return -1
        cdef Py_ssize_t took = 0
        if account_id == 0:
            account_id = self.accounts.define(account, account_len)
            define(out, DEFINE_ACCOUNT, account_id, account, account_len)
            took += 2
        if symbol_len and symbol_id == 0:
            symbol_id = self.symbols.define(symbol, symbol_len)
            define(out + took, DEFINE_SYMBOL, symbol_id, symbol, symbol_len)
            took += 2

        cdef InputRecord* r = out + took
        memset(r, 0, RECORD_SIZE)
        r.kind = kind
        r.side = side
        r.order_type = order_type
        r.tif = tif
        r.stp = stp
        r.flags = flags
        r.account = account_id
        r.symbol = symbol_id
        r.order_id = <uint64_t>order_id
        r.price = price
        r.qty = qty
        r.ts_ns = ts_ns
        r.seq = self.next_seq
        self.next_seq += 1
        return took + 1


cdef inline void define(
    InputRecord* out, uint8_t kind, uint32_t ident, const uint8_t* name, Py_ssize_t size
) noexcept nogil:
    """A DEFINE record (seq 0) and the one text record that holds a name of <= 64 bytes."""
    memset(out, 0, 2 * RECORD_SIZE)
    out.kind = kind
    if kind == DEFINE_SYMBOL:
        out.symbol = ident
    else:
        out.account = ident
    out.qty = size
    memcpy(<uint8_t*>(out + 1), name, size)
