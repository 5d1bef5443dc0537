"""Input record streams for the kernel's differential tests, drawn field by field.

``tests/engine/input_strategies.py`` makes the core's Structs (encoded by
``Encoder``, so every record is well formed); this makes the records
themselves, so the tests also reach what only records can say: codes outside
their tables, undefined ids, DEFINEs mid-stream and out of turn, texts of any
length, unknown kinds, u64 ids above 2^63, and prices and quantities anywhere
in int64 (far outside a ladder's window, at its limits, where a sum would
overflow). Every choice shrinks towards the plain case: a valid limit order
near the touch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st

from ringmatch.engine.records import layout as L

INT64_MAX = (1 << 63) - 1
INT64_MIN = -(1 << 63)
U64_MAX = (1 << 64) - 1
# Where a stream's prices sit: the far ones put the ladder's window at the edges
# of int64 (a window never reaches past them) and at 1.
BASES = (10_000, 100, 3, 1 << 40, INT64_MAX - 10)
# Away from the touch: beyond a 4096-tick window, and much further.
FAR = (5_000, -5_000, 1 << 20, -(1 << 20), 1 << 50)
BAD_PRICES = (0, -1, INT64_MIN, INT64_MAX)
HUGE_QTYS = (1 << 62, INT64_MAX, (1 << 62) + 1)
BAD_QTYS = (0, -1, INT64_MIN)
WORKERS = 3
# The codes only the venue rules give a meaning, drawn rarely (a venue code here comes
# without the TERMS record it needs, mostly): the venue rules have their own streams
# (tests/kernel/test_venue_differential.py; with the stage on, test_risk_differential.py).
VENUE_PERCENT = 1
VENUE_CODES = (("order_type", (3, 4)), ("tif", (4, 5)), ("flags", (2, 3)))


@dataclass
class _State:
    """What the drawing knows of the stream so far, to aim cancels at real orders."""

    symbols: int = 0
    accounts: int = 0
    seq: int = 0
    next_id: int = 1
    base: int = 10_000
    orders: list[tuple[int, int, int]] = field(default_factory=list)  # (id, account, client)
    records: list[np.ndarray] = field(default_factory=list)


def _chance(draw: st.DrawFn, percent: int) -> bool:
    return draw(st.integers(0, 99)) >= 100 - percent


def _text(head: np.ndarray, text: bytes) -> list[np.ndarray]:
    head["qty"] = len(text)
    n = L.continuation_records(len(text))
    buf = bytearray(n * L.INPUT_SIZE)
    buf[: len(text)] = text
    return [head, np.frombuffer(bytes(buf), L.INPUT_DTYPE).copy()]


def _define(draw: st.DrawFn, s: _State, kind: int, good: bool = True) -> None:
    rec = np.zeros(1, L.INPUT_DTYPE)
    rec["kind"] = kind
    count = s.symbols if kind == L.DEFINE_SYMBOL else s.accounts
    ident = count + 1
    # Zero-padded, so that name order is id order (the risk stage's global kill
    # switch takes accounts by name, the kernel by id).
    name = (f"s{ident:05d}" if kind == L.DEFINE_SYMBOL else f"a{ident:08d}").encode()
    if not good:  # out of turn, or a name that cannot be
        ident = draw(st.sampled_from((count, count + 2, 0, count + 1)))
        name = draw(st.sampled_from((name, b"", b"x" * 65, b"\xff\x00" * 32)))
    rec["symbol" if kind == L.DEFINE_SYMBOL else "account"] = ident
    if draw(st.integers(0, 99)) < 3:
        rec["seq"] = draw(st.integers(0, U64_MAX))  # a DEFINE's seq is never read
    if ident == count + 1 and 1 <= len(name) <= L.MAX_NAME:
        if kind == L.DEFINE_SYMBOL and ident <= L.MAX_SYMBOLS:
            s.symbols += 1
        elif kind == L.DEFINE_ACCOUNT:
            s.accounts += 1
    s.records += _text(rec, name)


def _account(draw: st.DrawFn, s: _State) -> int:
    if _chance(draw, 4):
        return draw(st.sampled_from((0, s.accounts + 1, 1 << 31)))
    return draw(st.integers(1, max(1, s.accounts)))


def _price(draw: st.DrawFn, s: _State) -> int:
    roll = draw(st.integers(0, 99))
    if roll < 4:
        return draw(st.sampled_from(BAD_PRICES))
    away = draw(st.sampled_from(FAR)) if roll < 12 else draw(st.integers(-3, 3))
    price = s.base + away
    return max(1, min(INT64_MAX, price))


def _qty(draw: st.DrawFn) -> int:
    roll = draw(st.integers(0, 99))
    if roll < 4:
        return draw(st.sampled_from(BAD_QTYS))
    if roll < 8:
        return draw(st.sampled_from(HUGE_QTYS))
    return draw(st.integers(1, 10))


def _new(draw: st.DrawFn, s: _State, r: np.ndarray) -> None:
    r["kind"] = L.NEW
    r["account"] = account = _account(draw, s)
    r["symbol"] = (
        draw(st.sampled_from((0, s.symbols + 1)))
        if _chance(draw, 3)
        else draw(st.integers(1, max(1, s.symbols)))
    )
    r["side"] = draw(st.sampled_from((0, 3))) if _chance(draw, 2) else draw(st.integers(1, 2))
    market = _chance(draw, 12)
    r["order_type"] = draw(st.sampled_from((0, 5))) if _chance(draw, 2) else (2 if market else 1)
    r["tif"] = draw(st.sampled_from((0, 1, 2, 3, 6))) if _chance(draw, 30) else (2 if market else 0)
    r["stp"] = draw(st.integers(0, 5)) if _chance(draw, 50) else 0
    r["flags"] = draw(st.sampled_from((1, 8, 9))) if _chance(draw, 10) else 0
    if _chance(draw, VENUE_PERCENT):  # a venue code (the compiled kernel refuses it)
        field, codes = draw(st.sampled_from(VENUE_CODES))
        r[field] = draw(st.sampled_from(codes))
    r["price"] = draw(st.sampled_from((0, 0, s.base))) if market else _price(draw, s)
    r["qty"] = _qty(draw)
    roll = draw(st.integers(0, 99))
    client = draw(st.integers(1, 5)) if _chance(draw, 25) else 0
    if roll < 3:
        oid = draw(st.sampled_from((0, 1 << 63, U64_MAX)))
    elif roll < 6 and s.orders:
        oid = draw(st.sampled_from(s.orders))[0]  # a duplicate
    elif roll < 20 and client:
        oid = 0  # a gateway's NEW: the core gives it its seq
    else:
        oid = s.next_id
        s.next_id += draw(st.sampled_from((1, 1, 1, 1000, 1 << 33)))
    r["order_id"] = oid
    r["client_order_id"] = client
    s.orders.append((oid or s.seq, account, client))


def _target(draw: st.DrawFn, s: _State, r: np.ndarray) -> None:
    """The order a CANCEL or REPLACE names: by id or client id, its owner's mostly."""
    if s.orders and not _chance(draw, 10):
        oid, account, client = draw(st.sampled_from(s.orders))
        if client and _chance(draw, 40):
            oid = 0
        elif _chance(draw, 70):
            client = 0
        if _chance(draw, 8):
            account = _account(draw, s)
    else:
        oid = draw(st.sampled_from((0, s.next_id + 7, U64_MAX)))
        account = _account(draw, s)
        client = draw(st.integers(0, 5))
    r["order_id"], r["account"], r["client_order_id"] = oid, account, client


def _text_input(draw: st.DrawFn, s: _State, rec: np.ndarray) -> list[np.ndarray]:
    r = rec[0]
    r["kind"] = draw(st.sampled_from((L.KILL_SWITCH, L.SET_RISK_LIMITS, L.STAGE_CHAIN)))
    r["account"] = draw(st.integers(0, s.accounts + 1))
    r["flags"] = draw(st.integers(0, 3))
    if _chance(draw, 15):
        r["qty"] = draw(st.sampled_from((-1, L.MAX_TEXT + 1, INT64_MIN)))
        return [rec]
    return _text(rec, draw(st.binary(max_size=150)))


def _input(draw: st.DrawFn, s: _State) -> None:
    roll = draw(st.integers(0, 99))
    if roll >= 97:
        _define(
            draw, s, draw(st.sampled_from((L.DEFINE_SYMBOL, L.DEFINE_ACCOUNT))), _chance(draw, 50)
        )
        return
    rec = np.zeros(1, L.INPUT_DTYPE)
    r = rec[0]
    out = [rec]
    if roll < 96:  # a sequenced input: its seq first, a gateway's NEW takes it as its id
        s.seq += draw(st.sampled_from((1, 1, 1, 2, 1 << 40)))
        r["seq"] = s.seq
        r["ts_ns"] = draw(st.integers(INT64_MIN, INT64_MAX)) if _chance(draw, 5) else 0
    if roll < 50:
        _new(draw, s, r)
    elif roll < 66:
        r["kind"] = L.CANCEL
        _target(draw, s, r)
    elif roll < 80:
        r["kind"] = L.REPLACE
        _target(draw, s, r)
        r["price"] = _price(draw, s)
        r["qty"] = _qty(draw)
    elif roll < 84:
        r["kind"] = L.MASS_CANCEL
        r["account"] = _account(draw, s)
        r["symbol"] = draw(st.integers(0, s.symbols + 1))
        r["reason"] = draw(st.integers(0, 10)) if _chance(draw, 20) else draw(st.integers(7, 9))
        if _chance(draw, 10):  # fields a MASS_CANCEL does not read
            r["order_id"], r["client_order_id"] = draw(st.integers(0, 9)), draw(st.integers(0, 9))
    elif roll < 92:
        r["kind"] = draw(st.sampled_from((L.SESSION_OPENED, L.SESSION_CLOSED, L.WORKER_STARTED)))
        r["account"] = _account(draw, s)
        r["client_order_id"] = draw(st.integers(0, WORKERS))
        r["order_id"] = draw(st.integers(1, 3))
        r["flags"] = draw(st.integers(0, 1))
        r["qty"] = draw(st.sampled_from((WORKERS, WORKERS, 1, 0, -1)))
    elif roll < 95:
        out = _text_input(draw, s, rec)
    elif roll < 96:
        r["kind"] = L.SKIP_INPUT
        r["order_id"] = draw(st.integers(0, s.seq + 5))
    else:
        r["kind"] = draw(st.sampled_from((0, 16, 255)))  # no kind: skipped, no seq
    s.records += out


@st.composite
def record_streams(draw: st.DrawFn, max_inputs: int = 60) -> np.ndarray:
    """DEFINEs of a few symbols and accounts, then a mix of every input kind."""
    s = _State(base=draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        _define(draw, s, L.DEFINE_SYMBOL)
    for _ in range(draw(st.integers(1, 4))):
        _define(draw, s, L.DEFINE_ACCOUNT)
    for _ in range(draw(st.integers(1, max_inputs))):
        _input(draw, s)
    return np.concatenate(s.records, dtype=L.INPUT_DTYPE)


def owners(records: np.ndarray) -> list[int]:
    """The index of every record that starts an input (its text records skipped)."""
    out = []
    i = 0
    kinds, qtys = records["kind"].tolist(), records["qty"].tolist()
    while i < len(records):
        out.append(i)
        texts = 0
        if kinds[i] in L.WITH_TEXT and 0 <= qtys[i] <= L.MAX_TEXT:
            texts = L.continuation_records(qtys[i])
        i += 1 + texts
    return out
