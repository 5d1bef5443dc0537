# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
# distutils: language = c++
"""The compiled kernel's Python face: one call per batch of records.

The arrays are taken as raw pointers (dtype, C-contiguity and writability
checked once per call), not typed memoryviews: over structured dtypes a
memoryview costs 1.3-2.6 us per call to set up, a pointer 0.1-0.2 us.

The GIL stays held during a call. The kernel has one writer and a batch runs
for microseconds; releasing the GIL would let another thread call into the
same kernel mid-batch (it has no lock of its own), and would buy nothing.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libcpp.string cimport string

cimport numpy as cnp

import numpy as np

from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall
from ringmatch.engine.records.layout import BOOK_DTYPE, EVENT_DTYPE, INPUT_DTYPE, LIMITS_DTYPE
from ringmatch.engine.schema.views import BBO

cnp.import_array()


cdef extern from "records.h" namespace "rm":
    cdef cppclass InputRecord:
        pass
    cdef cppclass EventRecord:
        pass
    cdef cppclass BookRecord:
        pass


cdef extern from "risk_checks.hpp" namespace "rm":
    cdef cppclass LimitRow:
        pass
    const LayoutFigure* LIMIT_ROW_FIGURES
    size_t LIMIT_ROW_FIGURE_COUNT
    cdef struct LayoutFigure:
        const char* name
        long long value
    const LayoutFigure* LAYOUT_FIGURES
    size_t LAYOUT_FIGURE_COUNT


cdef extern from "kernel.hpp" namespace "rm":
    cdef enum:
        BATCH_OK
        BATCH_EVENTS_TOO_SMALL
        BATCH_SEQ_NOT_AFTER
    cdef struct BatchResult:
        size_t consumed
        size_t written
        int status
        size_t need
        uint64_t bad_seq
        uint64_t last_seq
    cdef cppclass CKernel "rm::Kernel":
        CKernel() except +
        BatchResult process(const InputRecord*, size_t, EventRecord*, size_t) except +
        size_t l3_size(uint32_t) const
        void l3(uint32_t, BookRecord*) const
        bint best(uint32_t, uint8_t, int64_t*, uint64_t*, uint64_t*) const
        uint64_t last_seq() const
        uint64_t trade_id() const
        uint32_t symbols_defined() const
        uint32_t accounts_defined() const
        size_t resting_orders() const
        bint next_expiry(int64_t*) const
        void set_risk(bint)
        bint risk_enabled() const
        void set_limits(const LimitRow*, size_t) except +
        # Snapshots (kernel_dump.cpp); std::invalid_argument arrives as ValueError.
        string dump() except +
        void load(const char*, size_t) except +
        string dump_books() except +
        void load_books(const char*, size_t) except +
        string dump_stage() except +
        void load_stage(const char*, size_t) except +


cdef cnp.dtype _INPUT = INPUT_DTYPE
cdef cnp.dtype _EVENT = EVENT_DTYPE
cdef cnp.dtype _LIMITS = LIMITS_DTYPE


cdef inline void _check(cnp.ndarray a, cnp.dtype dtype, bint writable, str what) except *:
    # The dtype object is usually the layout's own: a pointer test; else compare.
    if <void*>cnp.PyArray_DESCR(a) != <void*>dtype and a.dtype != dtype:
        raise TypeError(f"{what} must have dtype {what.upper()}_DTYPE, not {a.dtype}")
    if cnp.PyArray_NDIM(a) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"{what} must be a one-dimensional C-contiguous array")
    if writable and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"{what} must be writable")


def layout() -> dict:
    """Every size, offset and code of records.h by name (the layout test compares them)."""
    out = {
        LAYOUT_FIGURES[i].name.decode(): LAYOUT_FIGURES[i].value
        for i in range(LAYOUT_FIGURE_COUNT)
    }
    for i in range(LIMIT_ROW_FIGURE_COUNT):  # risk_checks.hpp's LimitRow (LIMITS_DTYPE)
        out[LIMIT_ROW_FIGURES[i].name.decode()] = LIMIT_ROW_FIGURES[i].value
    return out


cdef class Kernel:
    """Every book, id table, client id and session; fed batches of input records."""

    cdef CKernel* k

    def __cinit__(self):
        self.k = new CKernel()

    def __dealloc__(self):
        del self.k

    def process_into(self, cnp.ndarray inputs not None, cnp.ndarray events not None):
        """Run ``inputs`` in order, writing event records into ``events``.

        Returns (input records consumed, event records written). Stops before
        an input (with its text records) whose worst case exceeds the room
        left; EventBufferTooSmall if that input's worst case exceeds the whole
        buffer. ValueError at a record whose seq is not after the last, with
        the records before it applied (their events are in ``events``).
        """
        _check(inputs, _INPUT, False, "input")
        _check(events, _EVENT, True, "event")
        cdef size_t n = <size_t>cnp.PyArray_DIM(inputs, 0)
        cdef size_t cap = <size_t>cnp.PyArray_DIM(events, 0)
        cdef BatchResult r = self.k.process(
            <const InputRecord*>cnp.PyArray_DATA(inputs),
            n,
            <EventRecord*>cnp.PyArray_DATA(events),
            cap,
        )
        if r.status == BATCH_OK:
            return r.consumed, r.written
        if r.status == BATCH_EVENTS_TOO_SMALL:
            raise EventBufferTooSmall(r.need, cap)
        raise ValueError(
            f"record {r.consumed}: seq {r.bad_seq} is not after the last sequence"
            f" number {r.last_seq}"
        )

    def process_unstaged(self, cnp.ndarray inputs not None, cnp.ndarray events not None):
        """process_into, or None (nothing run) if a record's kind byte is STAGE_CHAIN or
        SET_RISK_LIMITS: what engine.core.staged_kernel must handle around the kernel.
        A text record may start with such a byte too: its caller then walks owners.
        One call on the orders' path, where a scan from Python cost ~0.4 us a batch."""
        _check(inputs, _INPUT, False, "input")
        cdef const uint8_t* p = <const uint8_t*>cnp.PyArray_DATA(inputs)
        cdef size_t n = <size_t>cnp.PyArray_DIM(inputs, 0)
        cdef size_t size = <size_t>cnp.PyArray_ITEMSIZE(inputs)
        cdef size_t i
        cdef uint8_t kind
        for i in range(n):
            kind = p[i * size]
            if kind == 6 or kind == 10:  # layout.SET_RISK_LIMITS, layout.STAGE_CHAIN
                return None
        return self.process_into(inputs, events)

    def process(self, inputs):
        """Every event record of the batch ``inputs`` (allocates; for tests and tools)."""
        cdef cnp.ndarray ins = inputs
        cdef Py_ssize_t n = len(ins)
        cdef Py_ssize_t start = 0, used = 0
        out = np.empty(2 * n + 64, EVENT_DTYPE)
        while start < n:
            try:
                consumed, written = self.process_into(ins[start:], out[used:])
            except EventBufferTooSmall as small:
                grown = np.empty(used + max(small.need, len(out)), EVENT_DTYPE)
                grown[:used] = out[:used]
                out = grown
                continue
            start += consumed
            used += written
            if start < n and len(out) - used < len(out) // 2:
                grown = np.empty(2 * len(out), EVENT_DTYPE)
                grown[:used] = out[:used]
                out = grown
        return out[:used].copy() if used < len(out) // 2 else out[:used]

    def l3(self, uint32_t symbol):
        """Every resting order of ``symbol`` (BOOK_DTYPE): bids best first, then asks
        best first, queue order within a price. Empty for a symbol not defined."""
        cdef size_t n = self.k.l3_size(symbol)
        cdef cnp.ndarray out = np.zeros(n, BOOK_DTYPE)
        if n:
            self.k.l3(symbol, <BookRecord*>cnp.PyArray_DATA(out))
        return out

    def bbo(self, uint32_t symbol):
        """Best bid and offer of ``symbol``; a missing side has price None and quantity 0."""
        return BBO(*self._best(symbol, 1), *self._best(symbol, 2))

    cdef tuple _best(self, uint32_t symbol, uint8_t side):
        cdef int64_t price = 0
        cdef uint64_t hi = 0, lo = 0
        if not self.k.best(symbol, side, &price, &hi, &lo):
            return None, 0
        return price, (int(hi) << 64) | int(lo)

    def set_risk(self, bint enabled):
        """Switch the pre-trade stage on or off; either way its state starts empty
        (as a stage a StageChain switches in). Off: KILL_SWITCH and SET_RISK_LIMITS
        records use their seq only. The limits table is kept."""
        self.k.set_risk(enabled)

    def set_limits(self, cnp.ndarray table not None):
        """Replace the whole limits table (LIMITS_DTYPE rows; copied)."""
        _check(table, _LIMITS, False, "limits")
        self.k.set_limits(
            <const LimitRow*>cnp.PyArray_DATA(table), <size_t>cnp.PyArray_DIM(table, 0)
        )

    @property
    def risk_enabled(self):
        return self.k.risk_enabled()

    @property
    def last_seq(self):
        return self.k.last_seq()

    @property
    def trade_id(self):
        return self.k.trade_id()

    @property
    def symbols_defined(self):
        return self.k.symbols_defined()

    @property
    def accounts_defined(self):
        return self.k.accounts_defined()

    @property
    def resting_orders(self):
        return self.k.resting_orders()

    def next_expiry(self):
        """When the next GTD order or held stop is due (ns: the core's Clock), None if
        none; its order may be gone already (a Clock then expires nothing)."""
        cdef int64_t ts = 0
        return ts if self.k.next_expiry(&ts) else None

    # -- snapshots (kernel_dump.cpp documents the layout, docs/PIPELINE.md too) ------

    def dump(self):
        """The kernel's whole logical state: b"RKC1", then the layout of kernel_dump.cpp.
        RuntimeError with the pre-trade stage on: layout 1 has no room for its state."""
        return <bytes>self.k.dump()

    def load(self, data):
        """Become the kernel ``data`` (a ``dump()``) was; only a fresh kernel. ValueError,
        naming what is wrong, for a kernel that ran records or data that is not a valid
        dump (the kernel is then still fresh)."""
        cdef const unsigned char[::1] view = data
        cdef size_t n = view.shape[0]
        self.k.load(<const char*>&view[0] if n else NULL, n)

    def dump_books(self):
        """dump() with the pre-trade stage on too: its state is not in it (dump_stage)."""
        return <bytes>self.k.dump_books()

    def load_books(self, data):
        """load() that keeps this kernel's stage, on or off (load_stage sets its state)."""
        cdef const unsigned char[::1] view = data
        cdef size_t n = view.shape[0]
        self.k.load_books(<const char*>&view[0] if n else NULL, n)

    def dump_stage(self):
        """The pre-trade stage's state: b"RKK1", then risk_checks.hpp's layout."""
        return <bytes>self.k.dump_stage()

    def load_stage(self, data):
        """Become the stage ``data`` (a ``dump_stage()``) was; ValueError if it is not one."""
        cdef const unsigned char[::1] view = data
        cdef size_t n = view.shape[0]
        self.k.load_stage(<const char*>&view[0] if n else NULL, n)
