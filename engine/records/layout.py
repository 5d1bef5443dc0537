"""The byte layout of the hot path's records: one input record, one event record.

Every input the core sequences and every event it emits is a fixed-size
little-endian record: a C struct in the compiled kernel (engine/kernel/records.h
declares the same offsets), a numpy structured dtype here for Python, the tests
and the tools. docs/PIPELINE.md ("Records") documents them byte by byte, per
kind; ``LAYOUT_VERSION`` changes with any change to either layout, and the
journal's frames carry it.

Names never travel in an order: a symbol or an account is a small integer id
(``ringmatch.engine.records.names``). A DEFINE_SYMBOL / DEFINE_ACCOUNT input
introduces an id, its UTF-8 name in the continuation records after it; an
event of kind NAME does the same for the readers of the event ring.

The codes of every enum are fixed here (``SIDE``, ``ORDER_TYPE``...): index
``i`` of a tuple is the member whose code is ``i``, 0 meaning "none" (the
default time in force, no symbol) or invalid where no "none" exists.

Joining record arrays: ``np.concatenate(parts, dtype=INPUT_DTYPE)``. Without
the dtype numpy promotes a structured dtype to its packed form, which moves
fields. Every byte of both layouts is some field's (``spare`` is byte 7 of an
input record) because numpy copies a structured dtype field by field and would
drop a byte no field covers: in a text record, a byte of the text.
"""

from __future__ import annotations

from typing import Final, TypeVar

import numpy as np

from ringmatch.engine.schema.enums import (
    CancelReason,
    CommandKind,
    OrderType,
    RejectReason,
    Side,
    StpMode,
    TimeInForce,
    TradingPhase,
)

T = TypeVar("T")

LAYOUT_VERSION: Final = 2
"""2: the venue's order types (a TERMS record after a NEW or REPLACE, SET_PHASE and
CLOCK inputs, the venue's events). Every v1 stream is a v2 stream: v2 only adds."""
READABLE_LAYOUTS: Final = frozenset({1, LAYOUT_VERSION})
"""The layouts this version reads (a journal or snapshot written by an older one)."""


def join_records(parts: list[np.ndarray], dtype: np.dtype) -> np.ndarray:
    """The records of ``parts`` in one array, every byte kept (padding included)."""
    # frombuffer over a bytearray: writable, and no ``copy()``, which for a dtype with
    # padding copies field by field too.
    return np.frombuffer(bytearray(b"".join(p.tobytes() for p in parts)), dtype)


# -- input records -------------------------------------------------------------------

INPUT_SIZE: Final = 64

INPUT_DTYPE: Final = np.dtype(
    {
        "names": [
            "kind",
            "side",
            "order_type",
            "tif",
            "stp",
            "flags",
            "reason",
            "spare",
            "account",
            "symbol",
            "order_id",
            "client_order_id",
            "price",
            "qty",
            "ts_ns",
            "seq",
        ],
        "formats": [
            "u1",
            "u1",
            "u1",
            "u1",
            "u1",
            "u1",
            "u1",
            "u1",
            "<u4",
            "<u4",
            "<u8",
            "<u8",
            "<i8",
            "<i8",
            "<i8",
            "<u8",
        ],
        "offsets": [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 40, 48, 56],
        "itemsize": INPUT_SIZE,
    }
)
"""One input. Per kind (docs/PIPELINE.md, "Input records"):

* NEW: every field; ``price`` 0 for a market order; ``tif`` 0 for the default;
  ``flags`` POST_ONLY; ``order_id`` 0 to have the core assign it (the seq).
* CANCEL: account, order_id, client_order_id (order_id 0: by client id).
* REPLACE: account, order_id, client_order_id, price, qty.
* MASS_CANCEL: account, symbol (0: every symbol), reason.
* KILL_SWITCH: account (0: the global switch), flags ON and CANCEL_ORDERS;
  ``qty`` bytes of the reason text follow in continuation records.
* SET_RISK_LIMITS: ``qty`` bytes of the risk stage's msgpack payload follow.
* SESSION_OPENED / SESSION_CLOSED: account, ``client_order_id`` the worker,
  ``order_id`` the session; flags CANCEL_ON_DISCONNECT (opened only).
* WORKER_STARTED: ``client_order_id`` the worker, ``qty`` the number of workers.
* STAGE_CHAIN: ``qty`` bytes of the stage's spec follow; flags NO_STAGE for none.
* SKIP_INPUT: ``order_id`` the seq that is never applied.
* DEFINE_SYMBOL / DEFINE_ACCOUNT: ``symbol`` / ``account`` the id, ``qty``
  bytes of its UTF-8 name follow. Not an input of its own: seq 0.
* SET_PHASE: ``symbol``, ``reason`` the phase's code (``PHASE``), ``price`` the
  symbol's reference price from then on (0: none).
* CLOCK: ``ts_ns`` only: time has reached it (the core's, when nothing else came).

The venue's fields of a NEW or a REPLACE (stops, icebergs, GTD expiry) travel in
one TERMS record right after it (``TERMS_DTYPE``), flagged TERMS; a REPLACE with
flag KEEP_PRICE keeps its price (a held STOP has none) and ignores ``price``.

``ts_ns`` is the batch's time (VENUE_RULES.md V-TIME-1: the core stamps it when
it sequences the batch): it drives expiry, never priority; ``seq`` is stamped by
the core's sequencer (0 on a gateway's ring). A continuation
record is 64 raw bytes of its owner's text; ``continuation_records(n)`` of
them follow an owner whose text is n bytes.
"""

# Input kinds.
NEW: Final = 1
CANCEL: Final = 2
REPLACE: Final = 3
MASS_CANCEL: Final = 4
KILL_SWITCH: Final = 5
SET_RISK_LIMITS: Final = 6
SESSION_OPENED: Final = 7
SESSION_CLOSED: Final = 8
WORKER_STARTED: Final = 9
STAGE_CHAIN: Final = 10
SKIP_INPUT: Final = 11
DEFINE_SYMBOL: Final = 12
DEFINE_ACCOUNT: Final = 13
SET_PHASE: Final = 14
CLOCK: Final = 15
INPUT_KINDS: Final = range(NEW, CLOCK + 1)
DEFINES: Final = frozenset({DEFINE_SYMBOL, DEFINE_ACCOUNT})
"""Kinds that are not inputs of their own: no seq."""
WITH_TEXT: Final = frozenset(
    {KILL_SWITCH, SET_RISK_LIMITS, STAGE_CHAIN, DEFINE_SYMBOL, DEFINE_ACCOUNT}
)
"""Kinds whose ``qty`` is the length of the text in the continuation records after them."""

# Input flags.
POST_ONLY: Final = 1  # NEW
ON: Final = 1  # KILL_SWITCH: turn it on (else off)
CANCEL_ORDERS: Final = 2  # KILL_SWITCH: and cancel the resting orders it covers
CANCEL_ON_DISCONNECT: Final = 1  # SESSION_OPENED
NO_STAGE: Final = 1  # STAGE_CHAIN: from here on, no pre-trade stage
TERMS: Final = 2  # NEW, REPLACE: one TERMS record follows
KEEP_PRICE: Final = 4  # REPLACE: the price stays as it is (``price`` is ignored)

MAX_TEXT: Final = 1 << 20
"""The longest text a record may own (bytes): a longer ``qty`` makes the record invalid."""


def continuation_records(text_bytes: int) -> int:
    """How many 64-byte continuation records carry ``text_bytes`` of text."""
    return (text_bytes + INPUT_SIZE - 1) // INPUT_SIZE


def followers(kind: int, flags: int, qty: int) -> int:
    """How many records after an input's own belong to it (its text, its TERMS),
    or -1 for a text length no record may own (past MAX_TEXT): the input is then
    malformed and takes only its own record."""
    if kind in WITH_TEXT:
        return continuation_records(qty) if 0 <= qty <= MAX_TEXT else -1
    if kind in (NEW, REPLACE) and flags & TERMS:
        return 1
    return 0


# -- the TERMS record: the venue's fields of a NEW or a REPLACE ---------------------------

TERMS_DTYPE: Final = np.dtype(
    {
        "names": ["zero", "present", "spare", "trigger_price", "display_qty", "expire_ts",
                  "reserved"],
        "formats": ["u1", "u1", "(6,)u1", "<i8", "<i8", "<i8", "(4,)<u8"],
        "offsets": [0, 1, 2, 8, 16, 24, 32],
        "itemsize": INPUT_SIZE,
    }
)  # fmt: skip
"""The record after a NEW or REPLACE flagged TERMS (view it as this dtype).

Byte 0 is 0, so that a reader that does not know TERMS skips the record as no
kind at all. ``present`` says which fields are set (``HAS_TRIGGER``,
``HAS_DISPLAY``, ``HAS_EXPIRE``): a value is carried as given, even one the
engine rejects (a trigger of 0 is INVALID_TRIGGER_PRICE, not "no trigger").
The spare and reserved bytes are zero.
"""

HAS_TRIGGER: Final = 1
HAS_DISPLAY: Final = 2
HAS_EXPIRE: Final = 4


# -- event records -------------------------------------------------------------------

EVENT_SIZE: Final = 80

EVENT_DTYPE: Final = np.dtype(
    {
        "names": [
            "kind",
            "side",
            "order_type",
            "tif",
            "reason",
            "command",
            "flags",
            "name_len",
            "account",
            "symbol",
            "seq",
            "order_id",
            "client_order_id",
            "price",
            "qty",
            "leaves",
            "cum",
            "trade_id",
            "name",
        ],
        "formats": [
            "u1",
            "u1",
            "u1",
            "u1",
            "u1",
            "u1",
            "u1",
            "u1",
            "<u4",
            "<u4",
            "<u8",
            "<u8",
            "<u8",
            "<i8",
            "<i8",
            "<i8",
            "<i8",
            "<u8",
            "S64",
        ],
        "offsets": [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 40, 48, 56, 64, 72, 16],
        "itemsize": EVENT_SIZE,
    }
)
"""One event, addressed to one account (``account``): a worker routes by that
field alone. Per kind (docs/PIPELINE.md, "Event records"):

* ACCEPTED: side, order_type, tif (resolved), symbol, order_id,
  client_order_id, price (0: market), qty, leaves = qty, cum = 0.
* REJECTED: command, reason, order_id, client_order_id.
* TRADE: two records per execution, the maker's then the taker's (flags
  TAKER), each with its own account, side, order_id, client_order_id, leaves
  and cum; symbol, price, qty and trade_id the same in both.
* CANCELLED / REDUCED: side, symbol, order_id, client_order_id, price (0: a
  market order), qty (what left), leaves (0 for CANCELLED), cum, reason.
* REPLACED: side, symbol, order_id, client_order_id, price, qty = leaves,
  cum, flags PRIORITY_KEPT.
* MASS_CANCELLED: symbol (0: every symbol), qty = the count, reason.
* NAME: flags NAME_ACCOUNT or NAME_SYMBOL, the id in ``account`` or
  ``symbol``, ``name_len`` bytes of UTF-8 in ``name`` (over bytes 16-79).

The venue's (layout v2):

* ORDER_TERMS: right after an ACCEPTED or a REPLACED (flagged WITH_TERMS) whose
  order has any of the venue's fields, the same account, symbol, order_id, client_order_id:
  ``price`` its trigger price, ``qty`` its display quantity, ``leaves`` its
  expire_ts, each 0 where the order has none (a set one is never 0).
* TRIGGERED: a held stop released: account, symbol, side, order_id,
  client_order_id, order_type and tif as released (MARKET IOC or LIMIT),
  price (0: market), qty, leaves = qty, cum, ``trade_id`` the trigger price.
* REFRESHED: an iceberg's new slice: account, symbol, side, order_id,
  client_order_id, price, qty = the slice shown, leaves, cum.
* AUCTION_TRADE: two records per execution of an uncross, the buyer's then the
  seller's, each with its own account, side, order_id, client_order_id, leaves
  and cum; symbol, price, qty and trade_id the same in both.
* PHASE_CHANGED: symbol, ``reason`` the new phase's code, ``qty`` the previous
  one's (``PHASE``); account 0.
* INDICATIVE: symbol, price (0: no uncross price), ``qty`` the executable
  volume, ``side`` the imbalance's (0: none), ``leaves`` the imbalance; account 0.
"""

# Event kinds.
ACCEPTED: Final = 1
REJECTED: Final = 2
TRADE: Final = 3
CANCELLED: Final = 4
REDUCED: Final = 5
REPLACED: Final = 6
MASS_CANCELLED: Final = 7
NAME: Final = 8
ORDER_TERMS: Final = 9
TRIGGERED: Final = 10
REFRESHED: Final = 11
AUCTION_TRADE: Final = 12
PHASE_CHANGED: Final = 13
INDICATIVE: Final = 14
EVENT_KINDS: Final = range(ACCEPTED, INDICATIVE + 1)

# Event flags.
TAKER: Final = 1  # TRADE: this record is the incoming order's side
PRIORITY_KEPT: Final = 2  # REPLACED
NAME_ACCOUNT: Final = 4  # NAME
NAME_SYMBOL: Final = 8  # NAME
WITH_TERMS: Final = 16  # ACCEPTED, REPLACED: an ORDER_TERMS record follows

MAX_NAME: Final = 64
"""The longest symbol or account name, in UTF-8 bytes (what a NAME event holds)."""

# -- codes of the enums ----------------------------------------------------------------
# Index = code. None at 0 where 0 is "none"/invalid.

SIDE: Final[tuple[Side | None, ...]] = (None, Side.BUY, Side.SELL)
ORDER_TYPE: Final[tuple[OrderType | None, ...]] = (
    None,
    OrderType.LIMIT,
    OrderType.MARKET,
    OrderType.STOP,
    OrderType.STOP_LIMIT,
)
TIF: Final[tuple[TimeInForce | None, ...]] = (
    None,
    TimeInForce.GTC,
    TimeInForce.IOC,
    TimeInForce.FOK,
    TimeInForce.DAY,
    TimeInForce.GTD,
)
PHASE: Final[tuple[TradingPhase | None, ...]] = (None, *TradingPhase)
STP: Final[tuple[StpMode | None, ...]] = (
    StpMode.NONE,
    StpMode.CANCEL_TAKER,
    StpMode.CANCEL_MAKER,
    StpMode.CANCEL_BOTH,
    StpMode.DECREMENT,
)
COMMAND: Final[tuple[CommandKind | None, ...]] = (
    None,
    CommandKind.NEW,
    CommandKind.CANCEL,
    CommandKind.REPLACE,
    CommandKind.MASS_CANCEL,
    CommandKind.SET_PHASE,
)
REJECT_REASON: Final[tuple[RejectReason | None, ...]] = (None, *RejectReason)
CANCEL_REASON: Final[tuple[CancelReason | None, ...]] = (None, *CancelReason)


def code_of(table: tuple[T | None, ...]) -> dict[T, int]:
    """The inverse of a code table: member -> code."""
    return {member: code for code, member in enumerate(table) if member is not None}


def member_of(table: tuple[T | None, ...]) -> dict[int, T]:
    """A code table without its "none": code -> member."""
    return {code: member for code, member in enumerate(table) if member is not None}


SIDE_CODE: Final = code_of(SIDE)
ORDER_TYPE_CODE: Final = code_of(ORDER_TYPE)
TIF_CODE: Final = code_of(TIF)
STP_CODE: Final = code_of(STP)
COMMAND_CODE: Final = code_of(COMMAND)
REJECT_REASON_CODE: Final = code_of(REJECT_REASON)
CANCEL_REASON_CODE: Final = code_of(CANCEL_REASON)
PHASE_CODE: Final = code_of(PHASE)
SIDE_OF: Final = member_of(SIDE)
ORDER_TYPE_OF: Final = member_of(ORDER_TYPE)
TIF_OF: Final = member_of(TIF)
STP_OF: Final = member_of(STP)
COMMAND_OF: Final = member_of(COMMAND)
REJECT_REASON_OF: Final = member_of(REJECT_REASON)
CANCEL_REASON_OF: Final = member_of(CANCEL_REASON)
PHASE_OF: Final = member_of(PHASE)

# -- limits of the ids -------------------------------------------------------------------

MAX_SYMBOLS: Final = 65_535
"""Symbol ids run 1..MAX_SYMBOLS; a DEFINE_SYMBOL past it defines nothing."""
MAX_ACCOUNTS: Final = (1 << 24) - 1
"""Account ids run 1..MAX_ACCOUNTS; a DEFINE_ACCOUNT past it defines nothing."""

# -- the L3 view of a book (tests and tools) -----------------------------------------------

BOOK_DTYPE: Final = np.dtype(
    {
        "names": ["side", "account", "price", "order_id", "qty", "client_order_id", "cum"],
        "formats": ["u1", "<u4", "<i8", "<u8", "<i8", "<u8", "<i8"],
        "offsets": [0, 4, 8, 16, 24, 32, 40],
        "itemsize": 48,
    }
)
"""One resting order of ``l3(symbol)``: bids best first, then asks best first, queue order."""

# -- pre-trade limits as data (Kernel.set_limits) -----------------------------------------

NO_LIMIT: Final = -1
"""A LIMITS_DTYPE limit that is not set (any negative value reads as this)."""

LIMIT_NAMES: Final = (
    "max_order_qty",
    "max_notional",
    "price_band_ticks",
    "price_band_bps",
    "max_open_orders",
    "max_position",
)
"""The pre-trade limits of risk/limits.py's LimitSet, in its (and the checks') order."""

LIMITS_DTYPE: Final = np.dtype(
    {
        "names": ["account", "symbol", *LIMIT_NAMES],
        "formats": ["<u4", "<u4", "<i8", "<i8", "<i8", "<i8", "<i8", "<i8"],
        "offsets": [0, 4, 8, 16, 24, 32, 40, 48],
        "itemsize": 56,
    }
)
"""One row of the compiled kernel's pre-trade limits (engine/kernel/risk_checks.hpp LimitRow).

``account`` 0 is every account, ``symbol`` 0 every symbol; each limit is
inclusive, NO_LIMIT (-1) where the row sets none. The kernel resolves a key
for an account x symbol as RiskConfig.resolve does, most specific row wins:
(0, 0) the defaults, then (0, symbol), then (account, 0), then (account,
symbol); within one (account, symbol) a later row wins. risk/kernel_limits.py
builds the table from a RiskConfig.
"""
