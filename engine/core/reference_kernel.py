"""The reference kernel: the pure-Python engine behind the compiled kernel's interface.

It takes the same input records and writes the same event records, byte for
byte, as ``ringmatch.engine.kernel`` (the differential tests hold them to it),
by running the executable specification itself: each record becomes the
Struct it stands for (``ringmatch.engine.schema.commands``), the stage chain
(``stage_chain.CoreLogic``: client ids, sessions, matching) applies it, and
each Event becomes its record(s). It is the fallback where no compiler built
the kernel, and ``RINGMATCH_PURE=1`` picks it.

Inside, an account id k is the name ``a00000k`` and a symbol id the name
``s0000k``, so that the stage chain's orders by name (the accounts a
WorkerStarted disconnects are taken in name order) are orders by id, which is
what the kernel uses. The real names are the NAME events' business.

What the engine does not keep and the records carry, each order's client
order id and cumulative quantity, is kept here per live order, from its
Accepted to the record that leaves it 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall
from ringmatch.engine.records import layout as L
from ringmatch.engine.schema.commands import (
    Cancel,
    Input,
    KillSwitch,
    MassCancel,
    NewOrder,
    Replace,
    SessionClosed,
    SessionOpened,
    SetRiskLimits,
    SkipInput,
    WorkerStarted,
)
from ringmatch.engine.schema.enums import CommandKind, OrderType, RejectReason, Side
from ringmatch.engine.schema.events import (
    Accepted,
    Cancelled,
    Event,
    MassCancelled,
    Reduced,
    Rejected,
    Replaced,
    Trade,
)

ORDER_KINDS = {
    L.NEW: CommandKind.NEW,
    L.CANCEL: CommandKind.CANCEL,
    L.REPLACE: CommandKind.REPLACE,
    L.MASS_CANCEL: CommandKind.MASS_CANCEL,
}
MARKET_CODE = L.ORDER_TYPE_CODE[OrderType.MARKET]
SEQUENCED = frozenset(range(L.NEW, L.SKIP_INPUT + 1))
OPPOSITE = {Side.BUY: L.SIDE_CODE[Side.SELL], Side.SELL: L.SIDE_CODE[Side.BUY]}

Row = tuple[Any, ...]  # one record as ``ndarray.tolist()`` gives it (ints; a NAME's bytes)


def account_name(ident: int) -> str:
    return f"a{ident:08d}"


def symbol_name(ident: int) -> str:
    return f"s{ident:05d}" if ident else ""


class ReferenceKernel:
    """Input records in, event records out, through the pure engine."""

    def __init__(self) -> None:
        self.logic = CoreLogic()
        self.symbols_defined = 0
        self.accounts_defined = 0
        self._orders: dict[int, list[int]] = {}  # live order id -> [client order id, cum]

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
        events = self._run(inputs, 0, len(inputs))[1]
        return _records(events)

    def process_into(self, inputs: np.ndarray, events: np.ndarray) -> tuple[int, int]:
        """Run ``inputs`` into ``events``; (inputs consumed, events written).

        Stops before an input when the room left is under a bound on what it
        can emit (``_need``); EventBufferTooSmall if even the whole buffer is.
        Where it stops is the implementation's choice: the events, drained
        call after call, are the contract.
        """
        _check(inputs, L.INPUT_DTYPE, "inputs")
        _check(events, L.EVENT_DTYPE, "events")
        written = 0
        i = 0
        n = len(inputs)
        while i < n:
            need = self._need(int(inputs[i]["kind"]), int(inputs[i]["symbol"]))
            room = len(events) - written
            if room < need:
                if written or i:
                    break
                raise EventBufferTooSmall(need, len(events))
            i, out = self._run(inputs, i, i + 1)
            recs = _records(out)
            events[written : written + len(recs)] = recs
            written += len(recs)
        return i, written

    def _need(self, kind: int, symbol: int) -> int:
        """At most how many records one input of ``kind`` can emit now."""
        if kind == L.NEW or kind == L.REPLACE:
            # Two trade records per maker it can meet, plus Accepted/Replaced and a
            # final Cancelled; a replace's maker is in its own symbol, which the
            # record does not name: count every symbol's.
            book = self.logic.engine._books.get(symbol_name(symbol)) if kind == L.NEW else None
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

    def l3(self, symbol: int) -> np.ndarray:
        rows = self.logic.engine.l3(symbol_name(symbol))
        out = np.zeros(len(rows), L.BOOK_DTYPE)
        for k, o in enumerate(rows):
            client, cum = self._orders[o.order_id]
            out[k] = (
                L.SIDE_CODE[o.side],
                int(o.account[1:]),
                o.price,
                o.order_id,
                o.qty,
                client,
                cum,
            )
        return out

    # -- records -> Structs -> events -------------------------------------------------------

    def _run(self, inputs: np.ndarray, start: int, stop: int) -> tuple[int, list[Row]]:
        """Apply the inputs that start in [start, stop) with their texts; (next index, events)."""
        rows: list[Row] = inputs[start:stop].tolist()
        out: list[Row] = []
        i = start
        n = len(inputs)
        while i < stop:
            row = rows[i - start]
            kind, qty = row[0], row[13]
            text = b""
            texts = 0
            if kind in L.WITH_TEXT and 0 <= qty <= L.MAX_TEXT:
                texts = min(L.continuation_records(qty), n - i - 1)
                text = inputs[i + 1 : i + 1 + texts].tobytes()[:qty]
            self._one(row, text, kind in L.WITH_TEXT and not 0 <= qty <= L.MAX_TEXT, out, i)
            i += 1 + texts
        return i, out

    def _one(self, row: Row, text: bytes, bad_text: bool, out: list[Row], index: int) -> None:
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
                self.symbols_defined = symbol
                out.append(_name_event(L.NAME_SYMBOL, 0, symbol, text))
            else:
                if account != self.accounts_defined + 1 or account > L.MAX_ACCOUNTS:
                    return
                self.accounts_defined = account
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
            if why is not None:
                logic.skip(seq)
                out.append(_rejected(seq, command, oid, account, why, client))
                return
        inp: Input | None = None
        a = account_name(account)
        if kind == L.NEW:
            inp = NewOrder(
                oid,
                a,
                symbol_name(symbol),
                L.SIDE_OF[side],
                L.ORDER_TYPE_OF[otype],
                None if price == 0 and otype == MARKET_CODE else price,
                qty,
                L.TIF_OF.get(tif),
                bool(flags),
                L.STP_OF[stp],
                ts,
                client,
            )
        elif kind == L.CANCEL:
            inp = Cancel(oid, a, ts, client)
        elif kind == L.REPLACE:
            inp = Replace(oid, a, price, qty, ts, client)
        elif kind == L.MASS_CANCEL:
            inp = MassCancel(a, symbol_name(symbol) or None, L.CANCEL_REASON_OF[reason], ts)
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
        # STAGE_CHAIN: the kernel's stage is set by the wiring (no stage yet): its seq only.
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
                or not 1 <= otype <= 2
                or not 0 <= tif <= 3
                or not 0 <= stp <= 4
                or flags & ~L.POST_ONLY
            ):
                return RejectReason.INVALID_FIELD
        elif kind == L.MASS_CANCEL and not 1 <= reason < len(L.CANCEL_REASON):
            return RejectReason.INVALID_FIELD
        return None

    # -- Events -> records ----------------------------------------------------------------

    def _event(self, e: Event, out: list[Row]) -> None:
        orders = self._orders
        t = type(e)
        if t is Trade:
            assert isinstance(e, Trade)
            sym = int(e.symbol[1:])
            for oid, account, side, leaves, taker in (
                (e.maker_order_id, e.maker_account, OPPOSITE[e.taker_side], e.maker_leaves, 0),
                (e.taker_order_id, e.taker_account, L.SIDE_CODE[e.taker_side], e.taker_leaves, 1),
            ):
                live = orders[oid]
                live[1] += e.qty
                out.append(
                    _row(
                        L.TRADE,
                        side=side,
                        flags=L.TAKER if taker else 0,
                        account=int(account[1:]),
                        symbol=sym,
                        seq=e.seq,
                        order_id=oid,
                        client_order_id=live[0],
                        price=e.price,
                        qty=e.qty,
                        leaves=leaves,
                        cum=live[1],
                        trade_id=e.trade_id,
                    )
                )
                if not leaves:
                    del orders[oid]
        elif t is Accepted:
            assert isinstance(e, Accepted)
            orders[e.order_id] = [e.client_order_id, 0]
            out.append(
                _row(
                    L.ACCEPTED,
                    side=L.SIDE_CODE[e.side],
                    order_type=L.ORDER_TYPE_CODE[e.order_type],
                    tif=L.TIF_CODE[e.tif],
                    account=int(e.account[1:]),
                    symbol=int(e.symbol[1:]),
                    seq=e.seq,
                    order_id=e.order_id,
                    client_order_id=e.client_order_id,
                    price=e.price or 0,
                    qty=e.qty,
                    leaves=e.qty,
                )
            )
        elif t is Cancelled or t is Reduced:
            assert isinstance(e, Cancelled | Reduced)
            live = orders[e.order_id]
            leaves = e.leaves if isinstance(e, Reduced) else 0
            out.append(
                _row(
                    L.CANCELLED if t is Cancelled else L.REDUCED,
                    side=L.SIDE_CODE[e.side],
                    reason=L.CANCEL_REASON_CODE[e.reason],
                    account=int(e.account[1:]),
                    symbol=int(e.symbol[1:]),
                    seq=e.seq,
                    order_id=e.order_id,
                    client_order_id=live[0],
                    price=e.price or 0,
                    qty=e.qty,
                    leaves=leaves,
                    cum=live[1],
                )
            )
            if not leaves:
                del orders[e.order_id]
        elif t is Rejected:
            assert isinstance(e, Rejected)
            out.append(
                _rejected(
                    e.seq, e.command, e.order_id, int(e.account[1:]), e.reason, e.client_order_id
                )
            )
        elif t is Replaced:
            assert isinstance(e, Replaced)
            live = orders[e.order_id]
            out.append(
                _row(
                    L.REPLACED,
                    side=L.SIDE_CODE[e.side],
                    flags=L.PRIORITY_KEPT if e.priority_kept else 0,
                    account=int(e.account[1:]),
                    symbol=int(e.symbol[1:]),
                    seq=e.seq,
                    order_id=e.order_id,
                    client_order_id=live[0],
                    price=e.price,
                    qty=e.qty,
                    leaves=e.qty,
                    cum=live[1],
                )
            )
        elif t is MassCancelled:
            assert isinstance(e, MassCancelled)
            out.append(
                _row(
                    L.MASS_CANCELLED,
                    reason=L.CANCEL_REASON_CODE[e.reason],
                    account=int(e.account[1:]),
                    symbol=int(e.symbol[1:]) if e.symbol else 0,
                    seq=e.seq,
                    qty=e.count,
                )
            )
        else:
            raise TypeError(f"not an event: {e!r}")


# -- event rows ----------------------------------------------------------------------------

EVENT_FIELDS = L.EVENT_DTYPE.names
assert EVENT_FIELDS is not None
ROW_FIELDS = EVENT_FIELDS[:-1]  # every field but ``name``, which overlays seq ... trade_id


def _row(kind: int, **fields: int) -> Row:
    return (kind, *(fields.get(name, 0) for name in ROW_FIELDS[1:]))


def _rejected(
    seq: int, command: CommandKind, oid: int, account: int, reason: RejectReason, client: int
) -> Row:
    return _row(
        L.REJECTED,
        command=L.COMMAND_CODE[command],
        reason=L.REJECT_REASON_CODE[reason],
        account=account,
        seq=seq,
        order_id=oid,
        client_order_id=client,
    )


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


def _records(rows: Sequence[Row]) -> np.ndarray:
    out = np.zeros(len(rows), L.EVENT_DTYPE)
    plain = out[list(ROW_FIELDS)]
    names = out.view(NAME_DTYPE)
    for k, row in enumerate(rows):
        if row[0] == L.NAME:
            _, flag, account, symbol, name = row
            names[k] = (L.NAME, flag, len(name), account, symbol, name)
        else:
            plain[k] = row
    return out


def _check(array: np.ndarray, dtype: np.dtype, what: str) -> None:
    if array.dtype != dtype or not array.flags.c_contiguous:
        raise TypeError(f"{what}: a C-contiguous array of {dtype} is needed, not {array.dtype}")
