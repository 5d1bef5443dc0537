"""Inputs as records on the hot path, and records back as inputs for the readers.

``InputPacker`` is the core's: it packs each input Struct into the next 64
bytes of one reused buffer with a precompiled ``struct`` (no per-record numpy
array, unlike ``convert.Encoder``), and a name it has not seen gets its
DEFINE record first, so the journal frame and the kernel's input hold the
definition before the input that introduced it. ``decode_inputs`` is the
other way, for the readers of the journal that still want Structs: it walks
the records (an owner, then its text), learning names from the DEFINEs.

``owners`` finds which records are inputs and which are text: a vectorised
answer when no record could own text, a walk otherwise.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any, Final

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import BadName, Directory, Names
from ringmatch.engine.schema.commands import (
    Cancel,
    Clock,
    Input,
    KillSwitch,
    MassCancel,
    NewOrder,
    Replace,
    SessionClosed,
    SessionOpened,
    SetPhase,
    SetRiskLimits,
    SkipInput,
    StageChain,
    WorkerStarted,
)
from ringmatch.engine.schema.enums import OrderType

RECORD: Final = struct.Struct("<BBBBBBBxIIQQqqqQ")
"""One input record, field for field as layout.INPUT_DTYPE (64 bytes)."""
assert RECORD.size == L.INPUT_SIZE

SEQ_OFFSET: Final = 56
WITH_TEXT_KINDS: Final = np.array(sorted(L.WITH_TEXT), np.uint8)


def kind_table(kinds: Iterable[int]) -> np.ndarray:
    """A 256-entry table, True at ``kinds``: ``table[records["kind"]].any()`` tests a
    batch for any of them in one gather (np.isin costs ~20 us a call on a small batch,
    most of a one-order turn of the core)."""
    table = np.zeros(256, bool)
    table[list(kinds)] = True
    return table


HAS_TEXT: Final = kind_table(L.WITH_TEXT)
MAY_HAVE_TERMS: Final = kind_table({L.NEW, L.REPLACE})
SEQUENCED: Final = kind_table(set(L.INPUT_KINDS) - L.DEFINES)
CORE_KINDS: Final = frozenset({L.STAGE_CHAIN, L.SKIP_INPUT})
DEFINE_KINDS: Final = frozenset({L.DEFINE_SYMBOL, L.DEFINE_ACCOUNT})

NO_PRICE: Final = frozenset(
    {L.ORDER_TYPE_CODE[OrderType.MARKET], L.ORDER_TYPE_CODE[OrderType.STOP]}
)
"""Order types whose price 0 on a record is no price (None)."""


def _by_id(codes: dict[Any, int]) -> dict[int, int]:
    # An Enum member hashes in Python (hash of its name): keyed by id(), a member's code
    # is an int lookup, ~4x faster, and members are singletons.
    return {id(member): code for member, code in codes.items()}


_SIDE, _OTYPE, _TIF, _STP = (
    _by_id(L.SIDE_CODE),
    _by_id(L.ORDER_TYPE_CODE),
    _by_id(L.TIF_CODE),
    _by_id(L.STP_CODE),
)
_TIF[id(None)] = 0
_PHASE = _by_id(L.PHASE_CODE)
TERMS_RECORD: Final = struct.Struct("<xB6xqqq32x")
"""One TERMS record, as layout.TERMS_DTYPE: present, trigger_price, display_qty, expire_ts."""
assert TERMS_RECORD.size == L.INPUT_SIZE


def terms_of(trigger: int | None, display: int | None, expire: int | None) -> tuple[int, ...]:
    """TERMS_RECORD's fields for the venue's fields of an order (None: not set)."""
    present = (
        (0 if trigger is None else L.HAS_TRIGGER)
        | (0 if display is None else L.HAS_DISPLAY)
        | (0 if expire is None else L.HAS_EXPIRE)
    )
    return present, trigger or 0, display or 0, expire or 0


class InputPacker:
    """Packs inputs into a reused record buffer, defining new names as it goes.

    ``start()`` empties the buffer; ``add(input, seq)`` appends its record(s)
    (DEFINE records first for names new to ``directory``); ``records()`` is a
    view of what was added, valid until the next ``start``. ``flags`` says
    what the batch holds (``DEFINES``, ``CORE_INPUTS``) for the journal frame's header.
    """

    __slots__ = ("_arr", "_bytes", "_keep", "_n", "_pack", "directory", "flags")

    DEFINES: Final = 1
    CORE_INPUTS: Final = 2

    def __init__(self, directory: Directory, capacity: int = 4096) -> None:
        self.directory = directory
        self._arr = np.zeros(max(capacity, 16), L.INPUT_DTYPE)
        self._bytes = self._arr.view(np.uint8).data  # what struct packs into
        self._n = 0
        self._keep = 0  # where a failed add cuts back to: after any DEFINE it wrote
        self.flags = 0
        self._pack: dict[type, Callable[[Input, int], None]] = {
            NewOrder: self._new,  # type: ignore[dict-item]
            Cancel: self._cancel,  # type: ignore[dict-item]
            Replace: self._replace,  # type: ignore[dict-item]
            MassCancel: self._mass_cancel,  # type: ignore[dict-item]
            KillSwitch: self._kill_switch,  # type: ignore[dict-item]
            SetRiskLimits: self._set_risk_limits,  # type: ignore[dict-item]
            SessionOpened: self._session,  # type: ignore[dict-item]
            SessionClosed: self._session,  # type: ignore[dict-item]
            WorkerStarted: self._worker_started,  # type: ignore[dict-item]
            StageChain: self._stage_chain,  # type: ignore[dict-item]
            SkipInput: self._skip_input,  # type: ignore[dict-item]
            SetPhase: self._set_phase,  # type: ignore[dict-item]
            Clock: self._clock,  # type: ignore[dict-item]
        }

    def start(self) -> None:
        self._n = 0
        self.flags = 0

    def __len__(self) -> int:
        return self._n

    def records(self) -> np.ndarray:
        return self._arr[: self._n]

    def add(self, inp: Input, seq: int) -> None:
        """Append ``inp``'s record(s) stamped ``seq``. On a value a record cannot hold
        (struct.error, OverflowError) nothing of the input is left in the buffer but
        the DEFINEs of its new names, which the directory holds from now on."""
        self._keep = self._n
        try:
            self._pack[type(inp)](inp, seq)
        except (struct.error, OverflowError):
            self._n = self._keep
            raise

    # -- room and names ------------------------------------------------------------

    def _room(self, records: int) -> int:
        """The offset (bytes) of ``records`` more records, growing the buffer if needed."""
        n = self._n
        if n + records > len(self._arr):
            grown = np.zeros(max(2 * len(self._arr), n + records), L.INPUT_DTYPE)
            grown_bytes = grown.view(np.uint8).data
            # Byte for byte: a field-wise copy would drop the padding byte, text in a
            # continuation record.
            grown_bytes[: n * L.INPUT_SIZE] = self._bytes[: n * L.INPUT_SIZE]
            self._arr, self._bytes = grown, grown_bytes
        self._n = n + records
        return n * L.INPUT_SIZE

    def _text(self, at: int, text: bytes) -> None:
        """``text`` into the continuation records from byte ``at`` (zero-padded)."""
        n = L.continuation_records(len(text))
        self._bytes[at : at + n * L.INPUT_SIZE] = bytes(n * L.INPUT_SIZE)
        self._bytes[at : at + len(text)] = text

    def _id(self, names: Names, name: str | None, kind: int) -> int:
        """The id of ``name``, defining it first if new; 0 for a name that cannot be one."""
        if not name:
            return 0
        ident = names.get(name)
        if ident:
            return ident
        try:
            ident = names.add(name)
        except BadName:
            return 0  # the kernel answers the input as naming nothing (UNKNOWN_*)
        raw = name.encode()
        at = self._room(1 + L.continuation_records(len(raw)))
        account, symbol = (0, ident) if kind == L.DEFINE_SYMBOL else (ident, 0)
        RECORD.pack_into(
            self._bytes, at, kind, 0, 0, 0, 0, 0, 0, account, symbol, 0, 0, 0, len(raw), 0, 0
        )
        self._text(at + L.INPUT_SIZE, raw)
        self.flags |= self.DEFINES
        self._keep = self._n
        return ident

    def _account(self, name: str | None) -> int:
        return self._id(self.directory.accounts, name, L.DEFINE_ACCOUNT)

    def _symbol(self, name: str | None) -> int:
        return self._id(self.directory.symbols, name, L.DEFINE_SYMBOL)

    def _one(self, *fields: int) -> None:
        at = self._room(1)  # first: it may grow the buffer
        RECORD.pack_into(self._bytes, at, *fields)

    def _with_text(
        self, kind: int, flags: int, account: int, text: bytes, ts: int, seq: int
    ) -> None:
        at = self._room(1 + L.continuation_records(len(text)))
        RECORD.pack_into(
            self._bytes, at, kind, 0, 0, 0, 0, flags, 0, account, 0, 0, 0, 0, len(text), ts, seq
        )
        self._text(at + L.INPUT_SIZE, text)

    # -- one packer per input type ---------------------------------------------------

    def _terms(self, trigger: int | None, display: int | None, expire: int | None) -> None:
        at = self._room(1)
        TERMS_RECORD.pack_into(self._bytes, at, *terms_of(trigger, display, expire))

    def _new(self, c: NewOrder, seq: int) -> None:
        d = self.directory
        account = d.accounts._ids.get(c.account) or self._account(c.account)
        symbol = d.symbols._ids.get(c.symbol) or self._symbol(c.symbol)
        # One test for the plain order: the venue's three fields are all None.
        terms = not (c.trigger_price is None and c.display_qty is None and c.expire_ts is None)
        self._one(
            L.NEW,
            _SIDE.get(id(c.side), 0),
            _OTYPE.get(id(c.order_type), 0),
            _TIF.get(id(c.tif), 0),
            _STP.get(id(c.stp), 0),
            (L.POST_ONLY if c.post_only else 0) | (L.TERMS if terms else 0),
            0,
            account,
            symbol,
            c.order_id,
            c.client_order_id,
            0 if c.price is None else c.price,
            c.qty,
            c.ts_ns,
            seq,
        )
        if terms:
            self._terms(c.trigger_price, c.display_qty, c.expire_ts)

    def _cancel(self, c: Cancel, seq: int) -> None:
        account = self.directory.accounts._ids.get(c.account) or self._account(c.account)
        self._one(
            L.CANCEL,
            0,
            0,
            0,
            0,
            0,
            0,
            account,
            0,
            c.order_id,
            c.client_order_id,
            0,
            0,
            c.ts_ns,
            seq,
        )

    def _replace(self, c: Replace, seq: int) -> None:
        account = self._account(c.account)
        terms = c.trigger_price is not None
        flags = (L.KEEP_PRICE if c.price is None else 0) | (L.TERMS if terms else 0)
        self._one(
            L.REPLACE,
            0,
            0,
            0,
            0,
            flags,
            0,
            account,
            0,
            c.order_id,
            c.client_order_id,
            0 if c.price is None else c.price,
            c.qty,
            c.ts_ns,
            seq,
        )
        if terms:
            self._terms(c.trigger_price, None, None)

    def _mass_cancel(self, c: MassCancel, seq: int) -> None:
        account = self._account(c.account)
        symbol = self._symbol(c.symbol)
        reason = L.CANCEL_REASON_CODE.get(c.reason, 0)
        self._one(L.MASS_CANCEL, 0, 0, 0, 0, 0, reason, account, symbol, 0, 0, 0, 0, c.ts_ns, seq)

    def _kill_switch(self, c: KillSwitch, seq: int) -> None:
        account = self._account(c.account)
        flags = (L.ON if c.on else 0) | (L.CANCEL_ORDERS if c.cancel_orders else 0)
        self._with_text(L.KILL_SWITCH, flags, account, c.why.encode(), c.ts_ns, seq)

    def _set_risk_limits(self, c: SetRiskLimits, seq: int) -> None:
        self._with_text(L.SET_RISK_LIMITS, 0, 0, c.payload, c.ts_ns, seq)

    def _session(self, c: SessionOpened | SessionClosed, seq: int) -> None:
        account = self._account(c.account)
        opened = type(c) is SessionOpened
        kind = L.SESSION_OPENED if opened else L.SESSION_CLOSED
        flags = L.CANCEL_ON_DISCONNECT if opened and c.cancel_on_disconnect else 0  # type: ignore[union-attr]
        self._one(kind, 0, 0, 0, 0, flags, 0, account, 0, c.session, c.worker, 0, 0, c.ts_ns, seq)

    def _worker_started(self, c: WorkerStarted, seq: int) -> None:
        self._one(L.WORKER_STARTED, 0, 0, 0, 0, 0, 0, 0, 0, 0, c.worker, 0, c.workers, c.ts_ns, seq)

    def _stage_chain(self, c: StageChain, seq: int) -> None:
        self.flags |= self.CORE_INPUTS
        if c.pretrade is None:
            self._one(L.STAGE_CHAIN, 0, 0, 0, 0, L.NO_STAGE, 0, 0, 0, 0, 0, 0, 0, c.ts_ns, seq)
        else:
            self._with_text(L.STAGE_CHAIN, 0, 0, c.pretrade.encode(), c.ts_ns, seq)

    def _skip_input(self, c: SkipInput, seq: int) -> None:
        self.flags |= self.CORE_INPUTS
        self._one(L.SKIP_INPUT, 0, 0, 0, 0, 0, 0, 0, 0, c.seq, 0, 0, 0, c.ts_ns, seq)

    def _set_phase(self, c: SetPhase, seq: int) -> None:
        symbol = self._symbol(c.symbol)
        phase = _PHASE.get(id(c.phase), 0)
        ref = c.reference_price or 0  # 0: none (a price <= 0 is the engine's to reject)
        self._one(L.SET_PHASE, 0, 0, 0, 0, 0, phase, 0, symbol, 0, 0, ref, 0, c.ts_ns, seq)

    def _clock(self, c: Clock, seq: int) -> None:
        self._one(L.CLOCK, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, c.ts_ns, seq)


def owners(records: np.ndarray) -> np.ndarray:
    """The indices of the records that are inputs or DEFINEs (not text, not TERMS), in order."""
    kinds = records["kind"]
    flags = records["flags"]
    if not HAS_TEXT[kinds].any() and not (MAY_HAVE_TERMS[kinds] & (flags & L.TERMS != 0)).any():
        return np.arange(len(records))
    out: list[int] = []
    qtys = records["qty"]
    i, n = 0, len(records)
    while i < n:
        out.append(i)
        i += 1 + max(0, L.followers(int(kinds[i]), int(flags[i]), int(qtys[i])))
    return np.array(out, np.intp)


def terms_at(records: np.ndarray, owner: int) -> tuple[int | None, int | None, int | None]:
    """(trigger_price, display_qty, expire_ts) of the NEW or REPLACE at ``owner`` (None:
    not set, or no TERMS record after it)."""
    if not int(records[owner]["flags"]) & L.TERMS or owner + 1 >= len(records):
        return None, None, None
    t = records[owner + 1 : owner + 2].view(L.TERMS_DTYPE)[0]
    present = int(t["present"])
    return (
        int(t["trigger_price"]) if present & L.HAS_TRIGGER else None,
        int(t["display_qty"]) if present & L.HAS_DISPLAY else None,
        int(t["expire_ts"]) if present & L.HAS_EXPIRE else None,
    )


def text_of(records: np.ndarray, owner: int) -> bytes:
    """The text owned by the record at ``owner`` (its ``qty`` bytes after it)."""
    qty = int(records[owner]["qty"])
    if not 0 <= qty <= L.MAX_TEXT:
        return b""
    n = L.continuation_records(qty)
    return records[owner + 1 : owner + 1 + n].tobytes()[:qty]


def learn_defines(records: np.ndarray, directory: Directory) -> None:
    """Take the names the DEFINE records in ``records`` introduce (the next id only)."""
    for i in owners(records).tolist():
        kind = int(records[i]["kind"])
        if kind in DEFINE_KINDS:
            _define(records, i, kind, directory)


def _define(records: np.ndarray, i: int, kind: int, directory: Directory) -> None:
    name = text_of(records, i).decode(errors="replace")
    if not 1 <= len(name.encode()) <= L.MAX_NAME:
        return
    if kind == L.DEFINE_SYMBOL:
        names, ident = directory.symbols, int(records[i]["symbol"])
    else:
        names, ident = directory.accounts, int(records[i]["account"])
    if ident == len(names) + 1 and not names.get(name):
        names.add(name)


def decode_inputs(records: np.ndarray, directory: Directory) -> list[tuple[int, Input]]:
    """The ``(seq, input)`` pairs the records stand for; DEFINEs teach ``directory``.

    Names are the directory's (``#<id>`` for an id it lacks). A record of an
    unknown kind or with codes outside the tables decodes as nothing: the
    kernel answers those, not the Struct readers.
    """
    out: list[tuple[int, Input]] = []
    acct = directory.accounts.name
    sym = directory.symbols.name
    rows = records.tolist()
    for i in owners(records).tolist():
        (kind, side, otype, tif, stp, flags, reason, _spare, a, s, oid, cl, price, qty, ts, seq) = (
            rows[i]
        )
        inp: Input | None = None
        if kind == L.NEW:
            if side in L.SIDE_OF and otype in L.ORDER_TYPE_OF and stp in L.STP_OF:
                inp = NewOrder(
                    oid,
                    acct(a),
                    sym(s) if s else "",
                    L.SIDE_OF[side],
                    L.ORDER_TYPE_OF[otype],
                    None if price == 0 and otype in NO_PRICE else price,
                    qty,
                    L.TIF_OF.get(tif),
                    bool(flags & L.POST_ONLY),
                    L.STP_OF[stp],
                    ts,
                    cl,
                    *terms_at(records, i),
                )
        elif kind == L.CANCEL:
            inp = Cancel(oid, acct(a), ts, cl)
        elif kind == L.REPLACE:
            new_price = None if flags & L.KEEP_PRICE else price
            inp = Replace(oid, acct(a), new_price, qty, ts, cl, terms_at(records, i)[0])
        elif kind == L.MASS_CANCEL:
            if reason in L.CANCEL_REASON_OF:
                inp = MassCancel(acct(a), sym(s) if s else None, L.CANCEL_REASON_OF[reason], ts)
        elif kind == L.KILL_SWITCH:
            why = text_of(records, i).decode(errors="replace")
            inp = KillSwitch(
                acct(a) if a else None, bool(flags & L.ON), bool(flags & L.CANCEL_ORDERS), why, ts
            )
        elif kind == L.SET_RISK_LIMITS:
            inp = SetRiskLimits(text_of(records, i), ts)
        elif kind == L.SESSION_OPENED:
            inp = SessionOpened(acct(a), cl, oid, bool(flags & L.CANCEL_ON_DISCONNECT), ts)
        elif kind == L.SESSION_CLOSED:
            inp = SessionClosed(acct(a), cl, oid, ts)
        elif kind == L.WORKER_STARTED:
            inp = WorkerStarted(cl, qty, ts)
        elif kind == L.STAGE_CHAIN:
            spec = None if flags & L.NO_STAGE else text_of(records, i).decode(errors="replace")
            inp = StageChain(spec, ts)
        elif kind == L.SKIP_INPUT:
            inp = SkipInput(oid, ts)
        elif kind == L.SET_PHASE:
            if reason in L.PHASE_OF:
                inp = SetPhase(sym(s) if s else "", L.PHASE_OF[reason], ts, price or None)
        elif kind == L.CLOCK:
            inp = Clock(ts)
        elif kind in DEFINE_KINDS:
            _define(records, i, kind, directory)
        if inp is not None:
            out.append((seq, inp))
    return out


def seqs_of(records: np.ndarray) -> np.ndarray:
    """The seqs of the sequenced inputs among ``records`` (DEFINEs and text left out)."""
    return sequenced_owners(records)[1]


def sequenced_owners(records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices, seqs) of the sequenced inputs among ``records``."""
    at = owners(records)
    kinds = records["kind"][at]
    at = at[SEQUENCED[kinds]]
    return at, records["seq"][at]


def copy_records(records: np.ndarray) -> np.ndarray:
    """A writable copy, byte for byte (``ndarray.copy()`` drops the padding byte)."""
    return np.frombuffer(bytearray(records.tobytes()), L.INPUT_DTYPE)


def inputs_after(records: np.ndarray, seq: int) -> np.ndarray:
    """``records`` without the inputs at or before ``seq`` (and their text); the DEFINEs
    among those stay, since inputs after ``seq`` may use the names (a kernel that has
    them already ignores a DEFINE of an id that is not its next one)."""
    at, seqs = sequenced_owners(records)
    k = int(np.searchsorted(seqs, seq, side="right"))
    if k == 0:
        return records
    cut = int(at[k]) if k < len(at) else len(records)
    own = owners(records[:cut])
    kinds = records["kind"][own]
    keep: list[np.ndarray] = []
    ends = [*own.tolist()[1:], cut]
    for i, kind, end in zip(own.tolist(), kinds.tolist(), ends, strict=True):
        if kind in DEFINE_KINDS:
            keep.append(records[i:end])
    keep.append(records[cut:])
    return L.join_records(keep, L.INPUT_DTYPE)


def inputs_upto(records: np.ndarray, seq: int) -> np.ndarray:
    """The records before the first input after ``seq`` (a view)."""
    at, seqs = sequenced_owners(records)
    k = int(np.searchsorted(seqs, seq, side="right"))
    return records if k == len(at) else records[: int(at[k])]
