"""The reference kernel: the pure-Python engine behind the compiled kernel's interface.

It takes the same input records and writes the same event records, byte for
byte, as ``ringmatch.engine.kernel`` (the differential tests hold them to it),
by running the executable specification itself: each record becomes the
Struct it stands for (``ringmatch.engine.schema.commands``), the stage chain
(``stage_chain.CoreLogic``: client ids, sessions, matching) applies it, and
each Event becomes its record(s). It is the fallback where no compiler built
the kernel, and ``RINGMATCH_PURE=1`` picks it.

Inside, an id is the name its DEFINE record gave it, so that a pre-trade
stage's limits and kill switches, which name accounts, apply; a DEFINE whose
name is not UTF-8 or is taken already gets a name no DEFINE can give (65
bytes). The one order the stage chain takes by name, the accounts a
WorkerStarted disconnects, is taken by id instead (``SessionTable.order``),
as the compiled kernel does.

With ``resolve`` (ringmatch.engine.core.pretrade_hook), the kernel runs the pre-trade
stage the journal names: a STAGE_CHAIN record switches it
(``CoreLogic.switch_stage``), KILL_SWITCH and SET_RISK_LIMITS go to it. That is
the core's kernel whenever a stage is configured or journalled, until the
checks are compiled into the kernel. Without it, a STAGE_CHAIN uses its seq only.

What the engine does not keep and the records carry, each order's client
order id and cumulative quantity, is kept here per live order, from its
Accepted to the record that leaves it 0.

``dump()`` / ``load()``: the kernel's whole state (docs/PIPELINE.md, "Recovery
and snapshots"): ``RKR1``, then the msgpack of ``ReferenceState``: the stage
chain's state as ringmatch.engine.core.snapshot takes it, the names, the live
orders' client ids and cums. An input that raises (a bug: a stage's, or the
engine's) raises ``RecordFailed``, an InputFailed that says how far the
batch got.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec
import numpy as np

from ringmatch.engine.core import snapshot
from ringmatch.engine.core.client_ids import ClientIds
from ringmatch.engine.core.pretrade_hook import StageResolver, make_stage, no_stages
from ringmatch.engine.core.sessions import SessionTable
from ringmatch.engine.core.stage_chain import CoreLogic, InputFailed, StatefulStage
from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall
from ringmatch.engine.records import layout as L
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
from ringmatch.engine.schema.enums import CommandKind, OrderType, RejectReason, Side, TradingPhase
from ringmatch.engine.schema.events import (
    Accepted,
    AuctionTrade,
    Cancelled,
    Event,
    Indicative,
    MassCancelled,
    PhaseChanged,
    Reduced,
    Refreshed,
    Rejected,
    Replaced,
    Trade,
    Triggered,
)

ORDER_KINDS = {
    L.NEW: CommandKind.NEW,
    L.CANCEL: CommandKind.CANCEL,
    L.REPLACE: CommandKind.REPLACE,
    L.MASS_CANCEL: CommandKind.MASS_CANCEL,
}
NO_PRICE = frozenset({L.ORDER_TYPE_CODE[OrderType.MARKET], L.ORDER_TYPE_CODE[OrderType.STOP]})
SEQUENCED = frozenset(L.INPUT_KINDS) - L.DEFINES
NEW_FLAGS = L.POST_ONLY | L.TERMS
NO_TERMS: Final = (None, None, None)
SET_PHASE = CommandKind.SET_PHASE
CONTINUOUS = TradingPhase.CONTINUOUS

Row = tuple[Any, ...]  # one record as ``ndarray.tolist()`` gives it (ints; a NAME's bytes)


DUMP_MAGIC: Final = b"RKR1"
DUMP_VERSION: Final = 1


class ReferenceState(msgspec.Struct, array_like=True):
    """What ``dump`` writes after its magic."""

    version: int
    logic: snapshot.EngineSnapshot  # engine, client ids, sessions, stage spec and state
    symbols: list[str]  # the kernel's names, id 1 first
    accounts: list[str]
    orders: list[tuple[int, int, int]]  # live (order id, client order id, cum)
    stages: bool  # made with a resolve: it runs the stage the journal names


class RecordFailed(InputFailed):
    """The input record at ``index`` of a ``process_into`` raised (a bug, never a
    reject): the ``written`` events before it are the inputs' before it, which
    were applied; the state may be half changed by it."""

    def __init__(self, failed: InputFailed, index: int, written: int) -> None:
        super().__init__(failed.seq, failed.input, failed.cause)
        self.index = index
        self.written = written
        self.events_before: np.ndarray | None = None  # a caller's: every event before it


def unnamed(ident: int) -> str:
    """The name of an id whose DEFINE gave no usable name: 65 bytes, so no DEFINE's."""
    return f"#{ident}".rjust(L.MAX_NAME + 1, "#")


class _Names:
    """One kind of the kernel's names: id <-> the name its DEFINE gave."""

    __slots__ = ("ids", "names")

    def __init__(self, names: Sequence[str] = ()) -> None:
        self.names = ["", *names]  # index = id
        self.ids = {name: i for i, name in enumerate(self.names) if i}

    def define(self, ident: int, raw: bytes) -> None:
        try:
            name = raw.decode()
        except UnicodeDecodeError:
            name = unnamed(ident)
        if name in self.ids:
            name = unnamed(ident)
        self.names.append(name)
        self.ids[name] = ident

    def order(self, name: str) -> tuple[int, str]:
        """Where ``name`` sorts: by id (a name no DEFINE gave, after them all, by name)."""
        return self.ids.get(name, 1 << 32), name

    def name(self, ident: int) -> str:
        names = self.names
        return names[ident] if 0 < ident < len(names) else unnamed(ident)


class ReferenceKernel:
    """Input records in, event records out, through the pure engine."""

    def __init__(self, *, resolve: StageResolver | None = None) -> None:
        self.resolve = resolve
        self.logic = CoreLogic(resolve=no_stages if resolve is None else resolve)
        self._symbols = _Names()
        self._accounts = _Names()
        self.logic.sessions.order = self._accounts.order
        self._orders: dict[int, list[int]] = {}  # live order id -> [client order id, cum]

    @classmethod
    def around(cls, logic: CoreLogic) -> ReferenceKernel:
        """A kernel running a fresh ``logic`` of the caller's (a stage given directly, as
        tests and tools give one), its ``resolve`` for the stages the journal names."""
        if logic.last_seq or logic.engine._books:
            raise ValueError("only a fresh CoreLogic: a kernel's names start empty")
        kernel = cls(resolve=logic.resolve)
        logic.sessions.order = kernel._accounts.order
        kernel.logic = logic
        return kernel

    @property
    def symbols_defined(self) -> int:
        return len(self._symbols.names) - 1

    @property
    def accounts_defined(self) -> int:
        return len(self._accounts.names) - 1

    # -- snapshots ------------------------------------------------------------------------

    def dump(self) -> bytes:
        """The whole state: ``RKR1`` then a ReferenceState (see the module's docstring)."""
        logic = self.logic
        stage = logic.pretrade
        state = stage.dump_state() if isinstance(stage, StatefulStage) else None
        taken = snapshot.take(logic.engine, logic.client_ids, state, logic.sessions, logic.chain)
        body = ReferenceState(
            DUMP_VERSION,
            taken,
            self._symbols.names[1:],
            self._accounts.names[1:],
            [(oid, client, cum) for oid, (client, cum) in self._orders.items()],
            self.resolve is not None,
        )
        return DUMP_MAGIC + msgspec.msgpack.encode(body)

    def load(self, data: bytes) -> None:
        """Become the kernel ``data`` (a ``dump()``) was; ValueError if it is not one this
        kernel can be (another kernel's, a newer version's, a stage without ``resolve``)."""
        if data[:4] != DUMP_MAGIC:
            raise ValueError(f"not a reference kernel's dump (magic {bytes(data[:4])!r})")
        try:
            state = msgspec.msgpack.decode(data[4:], type=ReferenceState)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ValueError(f"a reference kernel's dump that will not decode: {exc}") from exc
        if state.version != DUMP_VERSION:
            raise ValueError(f"reference kernel dump version {state.version}, not {DUMP_VERSION}")
        taken = state.logic
        if taken.stage_chain is not None and self.resolve is None:
            raise ValueError(
                f"the dump runs the pre-trade stage {taken.stage_chain!r}: load it into a "
                "ReferenceKernel made with a resolve"
            )
        resolve = no_stages if self.resolve is None else self.resolve
        stage = make_stage(taken.stage_chain, resolve)
        if isinstance(stage, StatefulStage) and taken.pretrade is not None:
            stage.load_state(taken.pretrade)
        self._symbols = _Names(state.symbols)
        self._accounts = _Names(state.accounts)
        sessions = SessionTable(taken.sessions, taken.armed)
        sessions.order = self._accounts.order
        self.logic = CoreLogic(
            snapshot.restore(taken),
            ClientIds(taken.client_ids),
            stage,
            sessions,
            chain=taken.stage_chain,
            resolve=resolve,
        )
        self._orders = {oid: [client, cum] for oid, client, cum in state.orders}

    # -- the kernel's interface ------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        return self.logic.last_seq

    @property
    def trade_id(self) -> int:
        return self.logic.engine._trade_id

    @property
    def resting_orders(self) -> int:
        return len(self.logic.engine._orders)

    def process(self, inputs: np.ndarray) -> np.ndarray:
        """Every event of ``inputs``, in a new array."""
        _check(inputs, L.INPUT_DTYPE, "inputs")
        rows: list[Row] = inputs.tolist()
        out: list[Row] = []
        i = 0
        while i < len(rows):
            i = self._step(rows, inputs, i, out)
        return _records(out)

    def process_into(self, inputs: np.ndarray, events: np.ndarray) -> tuple[int, int]:
        """Run ``inputs`` into ``events``; (inputs consumed, events written).

        Stops before an input when the room left is under a bound on what it
        can emit (``_need``); EventBufferTooSmall if even the whole buffer is.
        Where it stops is the implementation's choice: the events, drained
        call after call, are the contract. The event rows of the whole call are
        written into ``events`` at its end (one array, not one per input).
        """
        _check(inputs, L.INPUT_DTYPE, "inputs")
        _check(events, L.EVENT_DTYPE, "events")
        rows: list[Row] = inputs.tolist()  # one conversion for the batch
        out: list[Row] = []
        cap = len(events)
        i = 0
        n = len(rows)
        try:
            while i < n:
                row = rows[i]
                need = self._need(row[0], row[9])
                if cap - len(out) < need:
                    if out or i:
                        break
                    raise EventBufferTooSmall(need, cap)
                i = self._step(rows, inputs, i, out)
        except InputFailed as failed:
            raise RecordFailed(failed, i, _write(events, out)) from failed.cause
        return i, _write(events, out)

    def _step(self, rows: list[Row], inputs: np.ndarray, i: int, out: list[Row]) -> int:
        """Apply the input at ``i`` with its text; the index of the next one."""
        row = rows[i]
        kind, qty = row[0], row[13]
        if kind not in L.WITH_TEXT:
            if row[5] & L.TERMS and (kind == L.NEW or kind == L.REPLACE):
                # Its TERMS record is part of it; one cut off by the batch's end is
                # missing, which makes the input malformed (as a text cut short).
                terms = _terms(inputs, i + 1) if i + 1 < len(rows) else None
                self._one(row, b"", False, out, i, terms)
                return i + 2 if i + 1 < len(rows) else i + 1
            self._one(row, b"", False, out, i)
            return i + 1
        if not 0 <= qty <= L.MAX_TEXT:
            self._one(row, b"", True, out, i)
            return i + 1
        texts = min(L.continuation_records(qty), len(rows) - i - 1)
        text = inputs[i + 1 : i + 1 + texts].tobytes()[:qty]
        self._one(row, text, False, out, i)
        return i + 1 + texts

    def _need(self, kind: int, symbol: int) -> int:
        """At most how many records one input of ``kind`` can emit now."""
        engine = self.logic.engine
        if (
            engine._expiries
            or any(
                b.stops or b.waiting or b.day_orders or b.phase is not CONTINUOUS
                for b in engine._books.values()
            )
            or any(o.hidden for o in engine._orders.values())
        ):
            return self._venue_need()
        if kind == L.NEW or kind == L.REPLACE:
            # Two trade records per maker it can meet, plus Accepted/Replaced and a
            # final Cancelled; a replace's maker is in its own symbol, which the
            # record does not name: count every symbol's.
            book = (
                self.logic.engine._books.get(self._symbols.name(symbol)) if kind == L.NEW else None
            )
            if book is None:
                makers = self.resting_orders
            else:
                makers = sum(map(len, book.bids.levels.values())) + sum(
                    map(len, book.asks.levels.values())
                )
            return 2 * makers + 3
        if kind == L.CANCEL:
            return 1
        # A mass cancel, a disconnect, a kill switch: every order, and a MassCancelled
        # per account.
        return self.resting_orders + self.accounts_defined + 1

    def next_expiry(self) -> int | None:
        """When the next GTD order or held stop is due (the core's Clock), None if none."""
        return self.logic.engine.next_expiry()

    def phase(self, symbol: int) -> int:
        """Symbol id ``symbol``'s trading phase, as its layout.PHASE code (CONTINUOUS for
        a symbol nothing has moved, and for an id not defined)."""
        name = self._symbols.name(symbol) if 0 < symbol <= self.symbols_defined else ""
        return L.PHASE_CODE[self.logic.engine.phase(name) if name else CONTINUOUS]

    def _venue_need(self) -> int:
        """A bound for any input once the venue's state is in play: expiries run first,
        stops release in rounds and an iceberg can refresh once per slice. Each slice of
        a live order (an iceberg's ceil(leaves / display), any other's 1) and each held
        stop can give at most four records (two for a trade, a refresh, a cancel; a
        release's TRIGGERED, ACCEPTED, ORDER_TERMS, CANCELLED), plus a book's
        PHASE_CHANGED and INDICATIVE, and the input's own ACCEPTED, ORDER_TERMS and
        last CANCELLED."""
        units = 0
        for o in self.logic.engine._orders.values():
            display = o.origin.display_qty
            units += -(-o.leaves // display) if o.hidden and display else 1
        return 4 * (units + 2) + 2 * len(self.logic.engine._books) + 8

    def l3(self, symbol: int) -> np.ndarray:
        if not 0 < symbol <= self.symbols_defined:
            return np.zeros(0, L.BOOK_DTYPE)
        rows = self.logic.engine.l3(self._symbols.name(symbol))
        account_ids = self._accounts.ids
        out = np.zeros(len(rows), L.BOOK_DTYPE)
        for k, o in enumerate(rows):
            client, cum = self._orders[o.order_id]
            out[k] = (
                L.SIDE_CODE[o.side],
                account_ids[o.account],
                o.price,
                o.order_id,
                o.qty,
                client,
                cum,
            )
        return out

    # -- records -> Structs -> events -------------------------------------------------------

    def _one(
        self,
        row: Row,
        text: bytes,
        bad_text: bool,
        out: list[Row],
        index: int,
        terms: tuple[int | None, int | None, int | None] | None = NO_TERMS,
    ) -> None:
        """One input; ``terms`` its TERMS record's fields, None for a malformed one."""
        (
            kind,
            side,
            otype,
            tif,
            stp,
            flags,
            reason,
            _spare,
            account,
            symbol,
            oid,
            client,
            price,
            qty,
            ts,
            seq,
        ) = row
        if kind == L.DEFINE_SYMBOL or kind == L.DEFINE_ACCOUNT:
            if bad_text or not 1 <= len(text) <= L.MAX_NAME:
                return
            if kind == L.DEFINE_SYMBOL:
                if symbol != self.symbols_defined + 1 or symbol > L.MAX_SYMBOLS:
                    return
                self._symbols.define(symbol, text)
                out.append(_name_event(L.NAME_SYMBOL, 0, symbol, text))
            else:
                if account != self.accounts_defined + 1 or account > L.MAX_ACCOUNTS:
                    return
                self._accounts.define(account, text)
                out.append(_name_event(L.NAME_ACCOUNT, account, 0, text))
            return
        if kind not in SEQUENCED:
            return  # an unknown kind: not an input at all
        logic = self.logic
        if not seq > logic.last_seq:
            raise ValueError(
                f"record {index}: seq {seq} is not after the last sequence number {logic.last_seq}"
            )
        known_account = 0 < account <= self.accounts_defined
        command = ORDER_KINDS.get(kind)
        if command is not None:
            why = self._malformed(kind, known_account, side, otype, tif, stp, flags, reason, symbol)
            if why is None and terms is None:
                why = RejectReason.INVALID_FIELD
            elif why is None and kind == L.REPLACE and terms and terms[1:] != (None, None):
                why = RejectReason.INVALID_FIELD  # a replace changes only a trigger
            if why is not None:
                logic.skip(seq)
                out.append(_rejected(seq, command, oid, account, why, client))
                return
        inp: Input | None = None
        a = self._accounts.name(account)
        assert terms is not None
        if kind == L.NEW:
            inp = NewOrder(
                oid,
                a,
                self._symbols.name(symbol) if symbol else "",
                L.SIDE_OF[side],
                L.ORDER_TYPE_OF[otype],
                None if price == 0 and otype in NO_PRICE else price,
                qty,
                L.TIF_OF.get(tif),
                bool(flags & L.POST_ONLY),
                L.STP_OF[stp],
                ts,
                client,
                *terms,
            )
        elif kind == L.CANCEL:
            inp = Cancel(oid, a, ts, client)
        elif kind == L.REPLACE:
            new_price = None if flags & L.KEEP_PRICE else price
            inp = Replace(oid, a, new_price, qty, ts, client, terms[0])
        elif kind == L.SET_PHASE:
            if symbol > self.symbols_defined:
                logic.skip(seq)
                out.append(_rejected(seq, SET_PHASE, 0, 0, RejectReason.UNKNOWN_SYMBOL, 0))
                return
            # An unknown code reaches the engine as itself, which rejects it UNKNOWN_PHASE.
            phase: Any = L.PHASE_OF.get(reason, reason)
            inp = SetPhase(self._symbols.name(symbol) if symbol else "", phase, ts, price or None)
        elif kind == L.CLOCK:
            inp = Clock(ts)
        elif kind == L.MASS_CANCEL:
            inp = MassCancel(
                a, self._symbols.name(symbol) if symbol else None, L.CANCEL_REASON_OF[reason], ts
            )
        elif bad_text:
            pass
        elif kind == L.KILL_SWITCH:
            if account == 0 or known_account:
                inp = KillSwitch(
                    a if account else None,
                    bool(flags & L.ON),
                    bool(flags & L.CANCEL_ORDERS),
                    text.decode(errors="replace"),
                    ts,
                )
        elif kind == L.SET_RISK_LIMITS:
            inp = SetRiskLimits(text, ts)
        elif kind == L.SESSION_OPENED:
            if known_account:
                inp = SessionOpened(a, client, oid, bool(flags & L.CANCEL_ON_DISCONNECT), ts)
        elif kind == L.SESSION_CLOSED:
            if known_account:
                inp = SessionClosed(a, client, oid, ts)
        elif kind == L.WORKER_STARTED:
            inp = WorkerStarted(client, qty, ts)
        elif kind == L.SKIP_INPUT:
            inp = SkipInput(oid, ts)
        elif kind == L.STAGE_CHAIN and self.resolve is not None:
            inp = StageChain(None if flags & L.NO_STAGE else text.decode(errors="replace"), ts)
        # STAGE_CHAIN without a resolve: no stage to switch, its seq only.
        if inp is None:
            logic.skip(seq)
            return
        for event in logic.process(inp, seq):
            self._event(event, out)

    def _malformed(
        self,
        kind: int,
        known_account: bool,
        side: int,
        otype: int,
        tif: int,
        stp: int,
        flags: int,
        reason: int,
        symbol: int,
    ) -> RejectReason | None:
        """The record checks of docs/PIPELINE.md ("What a record that is not well formed does")."""
        if not known_account:
            return RejectReason.UNKNOWN_ACCOUNT
        if (kind == L.NEW or kind == L.MASS_CANCEL) and symbol > self.symbols_defined:
            return RejectReason.UNKNOWN_SYMBOL
        if kind == L.NEW:
            if (
                not 1 <= side <= 2
                or not 1 <= otype < len(L.ORDER_TYPE)
                or not 0 <= tif < len(L.TIF)
                or not 0 <= stp <= 4
                or flags & ~NEW_FLAGS
            ):
                return RejectReason.INVALID_FIELD
        elif kind == L.MASS_CANCEL and not 1 <= reason < len(L.CANCEL_REASON):
            return RejectReason.INVALID_FIELD
        return None

    # -- Events -> records ----------------------------------------------------------------

    def _event(self, e: Event, out: list[Row]) -> None:
        # Rows positionally, in ROW_FIELDS' order (kind, side, order_type, tif, reason,
        # command, flags, name_len, account, symbol, seq, order_id, client_order_id,
        # price, qty, leaves, cum, trade_id): this runs per event.
        orders = self._orders
        aid = self._accounts.ids.__getitem__
        sid = self._symbols.ids.__getitem__
        t = type(e)
        if t is Trade:
            assert isinstance(e, Trade)
            sym, seq, price, qty, trade = sid(e.symbol), e.seq, e.price, e.qty, e.trade_id
            taker_side = _SIDE[id(e.taker_side)]
            maker = orders[e.maker_order_id]
            maker[1] += qty
            out.append(
                (
                    L.TRADE, 3 - taker_side, 0, 0, 0, 0, 0, 0, aid(e.maker_account), sym, seq,
                    e.maker_order_id, maker[0], price, qty, e.maker_leaves, maker[1], trade,
                )
            )  # fmt: skip
            if not e.maker_leaves:
                del orders[e.maker_order_id]
            taker = orders[e.taker_order_id]
            taker[1] += qty
            out.append(
                (
                    L.TRADE, taker_side, 0, 0, 0, 0, L.TAKER, 0, aid(e.taker_account), sym, seq,
                    e.taker_order_id, taker[0], price, qty, e.taker_leaves, taker[1], trade,
                )
            )  # fmt: skip
            if not e.taker_leaves:
                del orders[e.taker_order_id]
        elif t is Accepted:
            assert isinstance(e, Accepted)
            orders[e.order_id] = [e.client_order_id, 0]
            terms = not (e.trigger_price is None and e.display_qty is None and e.expire_ts is None)
            account, symbol = aid(e.account), sid(e.symbol)
            out.append(
                (
                    L.ACCEPTED, _SIDE[id(e.side)], _OTYPE[id(e.order_type)], _TIF[id(e.tif)],
                    0, 0, L.WITH_TERMS if terms else 0, 0, account, symbol, e.seq, e.order_id,
                    e.client_order_id, e.price or 0, e.qty, e.qty, 0, 0,
                )
            )  # fmt: skip
            if terms:
                out.append(
                    (
                        L.ORDER_TERMS, 0, 0, 0, 0, 0, 0, 0, account, symbol, e.seq, e.order_id,
                        e.client_order_id, e.trigger_price or 0, e.display_qty or 0,
                        e.expire_ts or 0, 0, 0,
                    )
                )  # fmt: skip
        elif t is Cancelled or t is Reduced:
            assert isinstance(e, Cancelled | Reduced)
            live = orders[e.order_id]
            leaves = e.leaves if isinstance(e, Reduced) else 0
            out.append(
                (
                    L.CANCELLED if t is Cancelled else L.REDUCED, _SIDE[id(e.side)], 0, 0,
                    _CANCEL[id(e.reason)], 0, 0, 0, aid(e.account), sid(e.symbol), e.seq,
                    e.order_id, live[0], e.price or 0, e.qty, leaves, live[1], 0,
                )
            )  # fmt: skip
            if not leaves:
                del orders[e.order_id]
        elif t is Rejected:
            assert isinstance(e, Rejected)
            account = aid(e.account) if e.account else 0  # a SET_PHASE's: no account
            out.append(
                _rejected(e.seq, e.command, e.order_id, account, e.reason, e.client_order_id)
            )
        elif t is Replaced:
            assert isinstance(e, Replaced)
            live = orders[e.order_id]
            account, symbol = aid(e.account), sid(e.symbol)
            flags = (L.PRIORITY_KEPT if e.priority_kept else 0) | (
                0 if e.trigger_price is None else L.WITH_TERMS
            )
            out.append(
                (
                    L.REPLACED, _SIDE[id(e.side)], 0, 0, 0, 0, flags, 0, account, symbol,
                    e.seq, e.order_id, live[0], e.price or 0, e.qty, e.qty, live[1], 0,
                )
            )  # fmt: skip
            if e.trigger_price is not None:
                out.append(
                    (
                        L.ORDER_TERMS, 0, 0, 0, 0, 0, 0, 0, account, symbol, e.seq, e.order_id,
                        live[0], e.trigger_price, 0, 0, 0, 0,
                    )
                )  # fmt: skip
        elif t is MassCancelled:
            assert isinstance(e, MassCancelled)
            out.append(
                (
                    L.MASS_CANCELLED, 0, 0, 0, _CANCEL[id(e.reason)], 0, 0, 0, aid(e.account),
                    sid(e.symbol) if e.symbol else 0, e.seq, 0, 0, 0, e.count, 0, 0, 0,
                )
            )  # fmt: skip
        elif t is Triggered:
            assert isinstance(e, Triggered)
            live = orders[e.order_id]
            out.append(
                (
                    L.TRIGGERED, _SIDE[id(e.side)], _OTYPE[id(e.order_type)], _TIF[id(e.tif)],
                    0, 0, 0, 0, aid(e.account), sid(e.symbol), e.seq, e.order_id, live[0],
                    e.price or 0, e.qty, e.qty, live[1], e.trigger_price,
                )
            )  # fmt: skip
        elif t is Refreshed:
            assert isinstance(e, Refreshed)
            live = orders[e.order_id]
            out.append(
                (
                    L.REFRESHED, _SIDE[id(e.side)], 0, 0, 0, 0, 0, 0, aid(e.account),
                    sid(e.symbol), e.seq, e.order_id, live[0], e.price, e.shown, e.leaves,
                    live[1], 0,
                )
            )  # fmt: skip
        elif t is AuctionTrade:
            assert isinstance(e, AuctionTrade)
            sym, seq, price, qty, trade = sid(e.symbol), e.seq, e.price, e.qty, e.trade_id
            for side, oid, owner, leaves in (
                (L.SIDE_CODE[BUY], e.buy_order_id, e.buy_account, e.buy_leaves),
                (L.SIDE_CODE[SELL], e.sell_order_id, e.sell_account, e.sell_leaves),
            ):
                live = orders[oid]
                live[1] += qty
                out.append(
                    (
                        L.AUCTION_TRADE, side, 0, 0, 0, 0, 0, 0, aid(owner), sym, seq, oid,
                        live[0], price, qty, leaves, live[1], trade,
                    )
                )  # fmt: skip
                if not leaves:
                    del orders[oid]
        elif t is PhaseChanged:
            assert isinstance(e, PhaseChanged)
            out.append(
                (
                    L.PHASE_CHANGED, 0, 0, 0, L.PHASE_CODE[e.phase], 0, 0, 0, 0, sid(e.symbol),
                    e.seq, 0, 0, 0, L.PHASE_CODE[e.previous], 0, 0, 0,
                )
            )  # fmt: skip
        elif t is Indicative:
            assert isinstance(e, Indicative)
            side = 0 if e.imbalance_side is None else L.SIDE_CODE[e.imbalance_side]
            out.append(
                (
                    L.INDICATIVE, side, 0, 0, 0, 0, 0, 0, 0, sid(e.symbol), e.seq, 0, 0,
                    e.price or 0, e.volume, e.imbalance_qty, 0, 0,
                )
            )  # fmt: skip
        else:
            raise TypeError(f"not an event: {e!r}")


def _terms(inputs: np.ndarray, at: int) -> tuple[int | None, int | None, int | None] | None:
    """The fields of the TERMS record at ``at`` (None: not set), or None if the record
    is not a well-formed one (byte 0, a presence bit or a spare byte not zero)."""
    raw = inputs[at : at + 1].view(L.TERMS_DTYPE)[0]
    present = int(raw["present"])
    if raw["zero"] or present & ~ALL_TERMS or raw["spare"].any() or raw["reserved"].any():
        return None
    return (
        int(raw["trigger_price"]) if present & L.HAS_TRIGGER else None,
        int(raw["display_qty"]) if present & L.HAS_DISPLAY else None,
        int(raw["expire_ts"]) if present & L.HAS_EXPIRE else None,
    )


ALL_TERMS = L.HAS_TRIGGER | L.HAS_DISPLAY | L.HAS_EXPIRE
BUY, SELL = Side.BUY, Side.SELL


# -- event rows ----------------------------------------------------------------------------

EVENT_FIELDS = L.EVENT_DTYPE.names
assert EVENT_FIELDS is not None
ROW_FIELDS = EVENT_FIELDS[:-1]  # every field but ``name``, which overlays seq ... trade_id


def _rejected(
    seq: int, command: CommandKind, oid: int, account: int, reason: RejectReason, client: int
) -> Row:
    return (
        L.REJECTED, 0, 0, 0, _REJECT[id(reason)], _COMMAND[id(command)], 0, 0, account, 0,
        seq, oid, client, 0, 0, 0, 0, 0,
    )  # fmt: skip


def _by_id(codes: dict[Any, int]) -> dict[int, int]:
    # An Enum member hashes in Python (its name's hash): by id() a code is an int lookup.
    return {id(member): code for member, code in codes.items()}


_SIDE = _by_id(L.SIDE_CODE)
_OTYPE = _by_id(L.ORDER_TYPE_CODE)
_TIF = _by_id(L.TIF_CODE)
_CANCEL = _by_id(L.CANCEL_REASON_CODE)
_REJECT = _by_id(L.REJECT_REASON_CODE)
_COMMAND = _by_id(L.COMMAND_CODE)


def _name_event(flag: int, account: int, symbol: int, name: bytes) -> Row:
    # The name overlays seq ... trade_id: a row of its own layout, filled by _records.
    return (L.NAME, flag, account, symbol, name)


NAME_DTYPE = np.dtype(
    {
        "names": ["kind", "flags", "name_len", "account", "symbol", "name"],
        "formats": ["u1", "u1", "u1", "<u4", "<u4", "S64"],
        "offsets": [0, 6, 7, 8, 12, 16],
        "itemsize": L.EVENT_SIZE,
    }
)


_EVENT_FIELDS = L.EVENT_DTYPE.fields
assert _EVENT_FIELDS is not None
PLAIN_DTYPE = np.dtype(
    {
        "names": list(ROW_FIELDS),
        "formats": [_EVENT_FIELDS[f][0] for f in ROW_FIELDS],
        "offsets": [int(_EVENT_FIELDS[f][1]) for f in ROW_FIELDS],
        "itemsize": L.EVENT_SIZE,
    }
)
"""The event layout without ``name`` (which overlays seq ... trade_id): what a row fills."""


def _records(rows: Sequence[Row]) -> np.ndarray:
    if not any(row[0] == L.NAME for row in rows):
        # One conversion for every row (the common case: no NAME among them).
        return np.array(rows, PLAIN_DTYPE).view(L.EVENT_DTYPE)
    out = np.zeros(len(rows), L.EVENT_DTYPE)
    plain = out.view(PLAIN_DTYPE)
    names = out.view(NAME_DTYPE)
    for k, row in enumerate(rows):
        if row[0] == L.NAME:
            _, flag, account, symbol, name = row
            names[k] = (L.NAME, flag, len(name), account, symbol, name)
        else:
            plain[k] = row
    return out


def _write(events: np.ndarray, rows: Sequence[Row]) -> int:
    """``rows`` into the front of ``events``, byte for byte; how many."""
    if rows:
        records = _records(rows)
        events.view(np.uint8)[: records.nbytes] = records.view(np.uint8).reshape(-1)
    return len(rows)


def _check(array: np.ndarray, dtype: np.dtype, what: str) -> None:
    if array.dtype != dtype or not array.flags.c_contiguous:
        raise TypeError(f"{what}: a C-contiguous array of {dtype} is needed, not {array.dtype}")
