"""Hypothesis strategies for the wire conversion's tests: message streams and event arrays.

Every field is drawn over its valid range and past it (bad codes, zero and
negative numbers, client ids of 2^63 and up, unknown symbols, non-zero
reserved bytes, wrong versions and lengths), with other message types and
truncated tails among the requests, so a stream exercises each reject and
each reason to stop.
"""

from __future__ import annotations

import struct
from typing import TypeVar

import numpy as np
from hypothesis import strategies as st

from ringmatch.engine.records import layout as L

T = TypeVar("T")


def mostly(valid: st.SearchStrategy[T], anything: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """``valid`` nine times in ten, so that a stream has good requests among the bad."""
    return st.integers(0, 9).flatmap(lambda k: valid if k else anything)


CLIENT_ORDER_ID = mostly(
    st.integers(1, 2**63 - 1), st.one_of(st.just(0), st.integers(2**63, 2**64 - 1))
)
NUMBER = mostly(
    st.one_of(st.integers(1, 2**63 - 1), st.integers(1, 1000)),
    st.one_of(st.just(0), st.integers(-(2**63), -1)),
)
VERSION = mostly(st.just(2), st.integers(0, 255))
VERSION_3 = mostly(st.just(3), st.integers(0, 255))
VENUE_NUMBER = mostly(
    st.one_of(st.just(0), st.just(0), st.integers(1, 2**63 - 1), st.integers(1, 1000)),
    st.integers(-(2**63), -1),
)
"""A v3 venue field: 0 (none) or a value, or past it (negative)."""


def code(valid: list[int]) -> st.SearchStrategy[int]:
    return mostly(st.sampled_from(valid), st.integers(0, 255))


def reserved(n: int) -> st.SearchStrategy[bytes]:
    return mostly(st.just(bytes(n)), st.binary(min_size=n, max_size=n))


SYMBOL = mostly(st.integers(0, 8), st.integers(0, 2**32 - 1))


@st.composite
def new_order(draw: st.DrawFn) -> bytes:
    return struct.pack(
        "<HBBBBBBIB3sQqq",
        40,
        2,
        draw(VERSION),
        draw(code([1, 2])),
        draw(code([1, 2])),
        draw(code([0, 1, 2, 3])),
        draw(code([0, 1, 2, 3, 4])),
        draw(SYMBOL),
        draw(st.integers(0, 255)),
        draw(reserved(3)),
        draw(CLIENT_ORDER_ID),
        draw(NUMBER),
        draw(NUMBER),
    )


@st.composite
def new_order_v3(draw: st.DrawFn) -> bytes:
    """A version-3 NewOrder: every order type and tif, then the venue's three fields."""
    return struct.pack(
        "<HBBBBBBIB3sQqqqqq",
        64,
        2,
        draw(VERSION_3),
        draw(code([1, 2])),
        draw(code([1, 2, 3, 4])),
        draw(code([0, 1, 2, 3, 4, 5])),
        draw(code([0, 1, 2, 3, 4])),
        draw(SYMBOL),
        draw(st.integers(0, 255)),
        draw(reserved(3)),
        draw(CLIENT_ORDER_ID),
        draw(mostly(st.one_of(NUMBER, st.just(0)), NUMBER)),
        draw(NUMBER),
        draw(VENUE_NUMBER),
        draw(VENUE_NUMBER),
        draw(VENUE_NUMBER),
    )


@st.composite
def cancel(draw: st.DrawFn, version: st.SearchStrategy[int] = VERSION) -> bytes:
    return struct.pack("<HBB4sQ", 16, 3, draw(version), draw(reserved(4)), draw(CLIENT_ORDER_ID))


@st.composite
def replace(draw: st.DrawFn) -> bytes:
    return struct.pack(
        "<HBB4sQqq",
        32,
        4,
        draw(VERSION),
        draw(reserved(4)),
        draw(CLIENT_ORDER_ID),
        draw(NUMBER),
        draw(NUMBER),
    )


@st.composite
def replace_v3(draw: st.DrawFn) -> bytes:
    """A version-3 Replace: flags (keep_price) at byte 4, trigger_price after qty."""
    keep = draw(mostly(st.sampled_from([0, 1]), st.integers(0, 255)))
    price = draw(mostly(st.just(0), NUMBER) if keep == 1 else NUMBER)
    return struct.pack(
        "<HBBB3sQqqq",
        40,
        4,
        draw(VERSION_3),
        keep,
        draw(reserved(3)),
        draw(CLIENT_ORDER_ID),
        price,
        draw(NUMBER),
        draw(VENUE_NUMBER),
    )


@st.composite
def mass_cancel(draw: st.DrawFn, version: st.SearchStrategy[int] = VERSION) -> bytes:
    return struct.pack("<HBBI", 8, 5, draw(version), draw(SYMBOL))


@st.composite
def relength(draw: st.DrawFn, message: bytes) -> bytes:
    """The message cut or padded to another length, its header saying so."""
    length = draw(st.integers(4, 80))
    body = (message + draw(st.binary(min_size=80, max_size=80)))[:length]
    return struct.pack("<H", length) + body[2:]


@st.composite
def other(draw: st.DrawFn) -> bytes:
    """A message of another type (Logon, Heartbeat, ... or none): the Python path's."""
    kind = draw(st.integers(0, 255).filter(lambda k: not 2 <= k <= 5))
    body = draw(st.binary(max_size=20))
    return struct.pack("<HBB", 4 + len(body), kind, draw(VERSION)) + body


@st.composite
def insane(draw: st.DrawFn) -> bytes:
    """A header whose length is below 4: fatal, never the conversion's."""
    return struct.pack("<HBB", draw(st.integers(0, 3)), draw(st.integers(2, 5)), 2)


REQUEST = st.one_of(new_order(), cancel(), replace(), mass_cancel())
REQUEST_V3 = st.one_of(
    new_order_v3(), cancel(VERSION_3), replace_v3(), mass_cancel(VERSION_3), new_order()
)
"""A version-3 session's requests (and a v2 NewOrder now and then: a wrong length)."""
REQUESTS = {2: REQUEST, 3: REQUEST_V3}


@st.composite
def message(draw: st.DrawFn, version: int = 2) -> bytes:
    choice = draw(st.integers(0, 39))
    if choice == 0:
        return draw(other())
    if choice == 1:
        return draw(insane())
    if choice <= 4:
        return draw(relength(draw(REQUESTS[version])))
    return draw(REQUESTS[version])


@st.composite
def stream(draw: st.DrawFn, version: int = 2) -> bytes:
    """Messages of a ``version`` session back to back, the last one perhaps cut short."""
    data = b"".join(draw(st.lists(message(version), max_size=12)))
    if data and draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


@st.composite
def symbol_ids(draw: st.DrawFn) -> np.ndarray:
    """wire symbol id -> record symbol id; some map to 0 (unknown)."""
    ids = draw(st.lists(st.integers(0, 4), max_size=8))
    return np.array(ids, np.uint32)


@st.composite
def events(draw: st.DrawFn) -> np.ndarray:
    """EVENT_DTYPE records, every byte drawn, kind, account, leaves and reason biased."""
    n = draw(st.integers(0, 16))
    raw = bytearray(draw(st.binary(min_size=80 * n, max_size=80 * n)))
    out = np.frombuffer(raw, L.EVENT_DTYPE)
    for i in range(n):
        # Every kind, the venue's (ORDER_TERMS .. INDICATIVE) included.
        out["kind"][i] = draw(mostly(st.integers(1, 14), st.integers(0, 255)))
        out["account"][i] = draw(st.one_of(st.integers(0, 9), st.integers(0, 2**32 - 1)))
        if draw(st.booleans()):
            out["leaves"][i] = 0
        if draw(st.booleans()):
            out["reason"][i] = draw(st.sampled_from([5, 7, 1]))
        if draw(st.booleans()):
            out["symbol"][i] = draw(st.integers(0, 6))
    return out


@st.composite
def slot_of_account(draw: st.DrawFn) -> np.ndarray:
    return np.array(draw(st.lists(st.integers(-1, 4), max_size=10)), np.int32)


@st.composite
def wire_symbol(draw: st.DrawFn) -> np.ndarray:
    return np.array(draw(st.lists(st.integers(0, 2**32 - 1), max_size=6)), np.uint32)
