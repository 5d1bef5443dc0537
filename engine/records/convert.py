"""Commands and events as records, and back: the bridge between the Structs of
``ringmatch.engine.schema`` and the records of ``ringmatch.engine.records.layout``.

For tools, tests and the edges (a replay's outputs, a client's reports): the
hot path never converts, it makes records where the data arrives. ``Encoder``
turns inputs into records, defining each new name as it goes; ``decode_events``
turns event records back into Events through a directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec
import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.inputs import TERMS_RECORD, terms_of
from ringmatch.engine.records.names import Directory, Names, define_record, text_records
from ringmatch.engine.schema.commands import (
    Cancel,
    Clock,
    Command,
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
from ringmatch.engine.schema.enums import OrderType, Side
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

NO_PRICE = frozenset(L.ORDER_TYPE_CODE[t] for t in (OrderType.MARKET, OrderType.STOP))


def terms_record(trigger: int | None, display: int | None, expire: int | None) -> np.ndarray:
    """The TERMS record of an order's venue fields (None: not set)."""
    raw = bytearray(L.INPUT_SIZE)
    TERMS_RECORD.pack_into(raw, 0, *terms_of(trigger, display, expire))
    return np.frombuffer(raw, L.INPUT_DTYPE)


class Encoder:
    """Inputs -> input records; a name seen for the first time gets a DEFINE first."""

    __slots__ = ("directory",)

    def __init__(self, directory: Directory | None = None) -> None:
        self.directory = Directory() if directory is None else directory

    def _ids(
        self, account: str | None, symbol: str | None, out: list[np.ndarray]
    ) -> tuple[int, int]:
        d = self.directory
        a = 0
        if account is not None:
            a = d.accounts.get(account)
            if not a:
                a = d.accounts.add(account)
                out.append(define_record(L.DEFINE_ACCOUNT, a, account))
        s = 0
        if symbol:
            s = d.symbols.get(symbol)
            if not s:
                s = d.symbols.add(symbol)
                out.append(define_record(L.DEFINE_SYMBOL, s, symbol))
        return a, s

    def encode(self, inputs: Iterable[Input], first_seq: int = 0) -> np.ndarray:
        """Records for ``inputs``; ``first_seq`` > 0 stamps seqs from it, else seq 0."""
        out: list[np.ndarray] = []
        seq = first_seq
        for inp in inputs:
            rec = np.zeros(1, L.INPUT_DTYPE)
            r = rec[0]
            text = b""
            terms: np.ndarray | None = None
            if isinstance(inp, NewOrder):
                r["kind"] = L.NEW
                r["account"], r["symbol"] = self._ids(inp.account, inp.symbol, out)
                r["side"] = L.SIDE_CODE[inp.side]
                r["order_type"] = L.ORDER_TYPE_CODE[inp.order_type]
                r["tif"] = 0 if inp.tif is None else L.TIF_CODE[inp.tif]
                r["stp"] = L.STP_CODE[inp.stp]
                r["flags"] = L.POST_ONLY if inp.post_only else 0
                r["order_id"] = inp.order_id
                r["client_order_id"] = inp.client_order_id
                r["price"] = 0 if inp.price is None else inp.price
                r["qty"] = inp.qty
                venue = (inp.trigger_price, inp.display_qty, inp.expire_ts)
                if venue != (None, None, None):
                    r["flags"] |= L.TERMS
                    terms = terms_record(*venue)
            elif isinstance(inp, Cancel | Replace):
                r["kind"] = L.CANCEL if isinstance(inp, Cancel) else L.REPLACE
                r["account"], _ = self._ids(inp.account, None, out)
                r["order_id"] = inp.order_id
                r["client_order_id"] = inp.client_order_id
                if isinstance(inp, Replace):
                    r["price"] = 0 if inp.price is None else inp.price
                    r["qty"] = inp.qty
                    r["flags"] = L.KEEP_PRICE if inp.price is None else 0
                    if inp.trigger_price is not None:
                        r["flags"] |= L.TERMS
                        terms = terms_record(inp.trigger_price, None, None)
            elif isinstance(inp, SetPhase):
                r["kind"] = L.SET_PHASE
                _, r["symbol"] = self._ids(None, inp.symbol, out)
                r["reason"] = L.PHASE_CODE.get(inp.phase, 0)
                r["price"] = inp.reference_price or 0
            elif isinstance(inp, Clock):
                r["kind"] = L.CLOCK
            elif isinstance(inp, MassCancel):
                r["kind"] = L.MASS_CANCEL
                r["account"], r["symbol"] = self._ids(inp.account, inp.symbol, out)
                r["reason"] = L.CANCEL_REASON_CODE[inp.reason]
            elif isinstance(inp, KillSwitch):
                r["kind"] = L.KILL_SWITCH
                r["account"], _ = self._ids(inp.account, None, out)
                r["flags"] = (L.ON if inp.on else 0) | (L.CANCEL_ORDERS if inp.cancel_orders else 0)
                text = inp.why.encode()
            elif isinstance(inp, SetRiskLimits):
                r["kind"] = L.SET_RISK_LIMITS
                text = inp.payload
            elif isinstance(inp, SessionOpened | SessionClosed):
                r["kind"] = L.SESSION_OPENED if isinstance(inp, SessionOpened) else L.SESSION_CLOSED
                r["account"], _ = self._ids(inp.account, None, out)
                r["client_order_id"] = inp.worker
                r["order_id"] = inp.session
                if isinstance(inp, SessionOpened) and inp.cancel_on_disconnect:
                    r["flags"] = L.CANCEL_ON_DISCONNECT
            elif isinstance(inp, WorkerStarted):
                r["kind"] = L.WORKER_STARTED
                r["client_order_id"] = inp.worker
                r["qty"] = inp.workers
            elif isinstance(inp, StageChain):
                r["kind"] = L.STAGE_CHAIN
                if inp.pretrade is None:
                    r["flags"] = L.NO_STAGE
                else:
                    text = inp.pretrade.encode()
            elif isinstance(inp, SkipInput):
                r["kind"] = L.SKIP_INPUT
                r["order_id"] = inp.seq
            else:
                raise TypeError(f"not an input: {inp!r}")
            r["ts_ns"] = inp.ts_ns
            if first_seq:
                r["seq"] = seq
                seq += 1
            out.append(rec)
            if terms is not None:
                out.append(terms)
            if r["kind"] in L.WITH_TEXT:
                r["qty"] = len(text)
                out.append(text_records(text))
        if not out:
            return np.zeros(0, L.INPUT_DTYPE)
        return L.join_records(out, L.INPUT_DTYPE)


def decode_events(events: np.ndarray, directory: Directory) -> list[Event]:
    """The Events that event records stand for (NAME records teach ``directory``).

    A Trade's two records become one Trade, an AuctionTrade's likewise; an ACCEPTED
    or REPLACED flagged WITH_TERMS takes its venue fields from the ORDER_TERMS after it.
    """
    out: list[Event] = []
    acct = directory.accounts.name
    sym = directory.symbols.name
    maker: tuple[int, ...] | None = None
    buyer: tuple[int, ...] | None = None
    for rec in events.tolist():
        (
            kind,
            side,
            otype,
            tif,
            reason,
            command,
            flags,
            name_len,
            a,
            s,
            seq,
            oid,
            cl,
            price,
            qty,
            leaves,
            _cum,
            trade_id,
            name,
        ) = rec
        if kind == L.NAME:
            text = name[:name_len].decode(errors="replace")
            if flags & L.NAME_SYMBOL and s == len(directory.symbols) + 1:
                directory.symbols.add(text)
            elif flags & L.NAME_ACCOUNT and a == len(directory.accounts) + 1:
                directory.accounts.add(text)
        elif kind == L.ACCEPTED:
            out.append(
                Accepted(
                    seq,
                    oid,
                    acct(a),
                    sym(s),
                    L.SIDE_OF[side],
                    L.ORDER_TYPE_OF[otype],
                    L.TIF_OF[tif],
                    price or None,
                    qty,
                    cl,
                )
            )
        elif kind == L.ORDER_TERMS:
            last = out[-1] if out else None
            assert isinstance(last, Accepted | Replaced) and last.order_id == oid, (
                "an ORDER_TERMS record not after its order's ACCEPTED or REPLACED"
            )
            if isinstance(last, Accepted):
                out[-1] = msgspec.structs.replace(
                    last, trigger_price=price or None, display_qty=qty or None,
                    expire_ts=leaves or None,
                )  # fmt: skip
            else:
                out[-1] = msgspec.structs.replace(last, trigger_price=price or None)
        elif kind == L.REJECTED:
            out.append(
                Rejected(seq, L.COMMAND_OF[command], oid, acct(a) if a else "",
                         L.REJECT_REASON_OF[reason], cl)
            )  # fmt: skip
        elif kind == L.TRADE:
            if not flags & L.TAKER:
                maker = rec
                continue
            assert maker is not None, "a taker's trade record without its maker's"
            m_account, m_oid, m_leaves = maker[8], maker[11], maker[15]
            out.append(
                Trade(
                    seq,
                    trade_id,
                    sym(s),
                    price,
                    qty,
                    m_oid,
                    oid,
                    acct(m_account),
                    acct(a),
                    L.SIDE_OF[side],
                    m_leaves,
                    leaves,
                )
            )
            maker = None
        elif kind == L.AUCTION_TRADE:
            if L.SIDE_OF.get(side) is Side.BUY:
                buyer = rec
                continue
            assert buyer is not None, "a seller's auction trade record without its buyer's"
            out.append(
                AuctionTrade(seq, trade_id, sym(s), price, qty, buyer[11], oid, acct(buyer[8]),
                             acct(a), buyer[15], leaves)
            )  # fmt: skip
            buyer = None
        elif kind == L.CANCELLED:
            out.append(
                Cancelled(
                    seq,
                    oid,
                    acct(a),
                    sym(s),
                    L.SIDE_OF[side],
                    price or None,
                    qty,
                    L.CANCEL_REASON_OF[reason],
                )
            )
        elif kind == L.REDUCED:
            out.append(
                Reduced(
                    seq,
                    oid,
                    acct(a),
                    sym(s),
                    L.SIDE_OF[side],
                    price or None,
                    qty,
                    leaves,
                    L.CANCEL_REASON_OF[reason],
                )
            )
        elif kind == L.REPLACED:
            out.append(
                Replaced(
                    seq,
                    oid,
                    acct(a),
                    sym(s),
                    L.SIDE_OF[side],
                    price or None,
                    qty,
                    bool(flags & L.PRIORITY_KEPT),
                )
            )
        elif kind == L.MASS_CANCELLED:
            out.append(
                MassCancelled(seq, acct(a), sym(s) if s else None, qty, L.CANCEL_REASON_OF[reason])
            )
        elif kind == L.TRIGGERED:
            out.append(
                Triggered(seq, oid, acct(a), sym(s), L.SIDE_OF[side], trade_id,
                          L.ORDER_TYPE_OF[otype], L.TIF_OF[tif], price or None, qty)
            )  # fmt: skip
        elif kind == L.REFRESHED:
            out.append(Refreshed(seq, oid, acct(a), sym(s), L.SIDE_OF[side], price, qty, leaves))
        elif kind == L.PHASE_CHANGED:
            out.append(PhaseChanged(seq, sym(s), L.PHASE_OF[reason], L.PHASE_OF[qty]))
        elif kind == L.INDICATIVE:
            out.append(Indicative(seq, sym(s), price or None, qty, L.SIDE_OF.get(side), leaves))
        else:
            raise ValueError(f"event record of unknown kind {kind}")
    return out


def encode_commands(
    cmds: Sequence[Command], directory: Directory | None = None, first_seq: int = 1
) -> np.ndarray:
    """Records for a list of engine commands, a column at a time (benchmarks, tools).

    Every name the commands use is defined up front, in first-seen order, so the
    stream is DEFINE records first and then one record per command with seqs
    from ``first_seq``: the same matching as ``Encoder.encode``, whose DEFINEs
    come just before the first use (the NAME events come earlier here).
    """
    directory = Directory() if directory is None else directory
    if any(map(_has_terms, cmds)):
        # A TERMS record after some commands: not one record per command.
        return Encoder(directory).encode(cmds, first_seq)
    before = (len(directory.symbols), len(directory.accounts))
    n = len(cmds)
    kind = np.zeros(n, np.uint8)
    account = np.zeros(n, np.uint32)
    symbol = np.zeros(n, np.uint32)
    side = np.zeros(n, np.uint8)
    otype = np.zeros(n, np.uint8)
    tif = np.zeros(n, np.uint8)
    stp = np.zeros(n, np.uint8)
    flags = np.zeros(n, np.uint8)
    reason = np.zeros(n, np.uint8)
    order_id = np.zeros(n, np.uint64)
    client = np.zeros(n, np.uint64)
    price = np.zeros(n, np.int64)
    qty = np.zeros(n, np.int64)
    ts = np.zeros(n, np.int64)
    accounts, symbols = directory.accounts, directory.symbols

    def account_id(name: str) -> int:
        return accounts.get(name) or accounts.add(name)

    def symbol_id(name: str | None) -> int:
        if not name:
            return 0
        return symbols.get(name) or symbols.add(name)

    for i, c in enumerate(cmds):
        account[i] = account_id(c.account)
        ts[i] = c.ts_ns
        t = type(c)
        if t is NewOrder:
            assert isinstance(c, NewOrder)
            kind[i] = L.NEW
            symbol[i] = symbol_id(c.symbol)
            side[i] = L.SIDE_CODE[c.side]
            otype[i] = L.ORDER_TYPE_CODE[c.order_type]
            tif[i] = 0 if c.tif is None else L.TIF_CODE[c.tif]
            stp[i] = L.STP_CODE[c.stp]
            flags[i] = L.POST_ONLY if c.post_only else 0
            order_id[i] = c.order_id
            client[i] = c.client_order_id
            price[i] = 0 if c.price is None else c.price
            qty[i] = c.qty
        elif t is Cancel or t is Replace:
            assert isinstance(c, Cancel | Replace)
            kind[i] = L.CANCEL if t is Cancel else L.REPLACE
            order_id[i] = c.order_id
            client[i] = c.client_order_id
            if isinstance(c, Replace):
                assert c.price is not None  # a venue stream went to Encoder above
                price[i] = c.price
                qty[i] = c.qty
        elif t is MassCancel:
            assert isinstance(c, MassCancel)
            kind[i] = L.MASS_CANCEL
            symbol[i] = symbol_id(c.symbol)
            reason[i] = L.CANCEL_REASON_CODE[c.reason]
        else:
            raise TypeError(f"not an engine command: {c!r}")
    defines = [
        define_record(L.DEFINE_SYMBOL, i, name)
        for i, name in enumerate(symbols.names()[before[0] :], before[0] + 1)
    ] + [
        define_record(L.DEFINE_ACCOUNT, i, name)
        for i, name in enumerate(accounts.names()[before[1] :], before[1] + 1)
    ]
    body = np.zeros(n, L.INPUT_DTYPE)
    for field, column in (
        ("kind", kind), ("side", side), ("order_type", otype), ("tif", tif), ("stp", stp),
        ("flags", flags), ("reason", reason), ("account", account), ("symbol", symbol),
        ("order_id", order_id), ("client_order_id", client), ("price", price), ("qty", qty),
        ("ts_ns", ts),
    ):  # fmt: skip
        body[field] = column
    body["seq"] = np.arange(first_seq, first_seq + n, dtype=np.uint64)
    return np.concatenate([*defines, body], dtype=L.INPUT_DTYPE)


def _has_terms(c: Input) -> bool:
    """Does ``c`` take a TERMS record (or is it not one record per command)?"""
    t = type(c)
    if t is NewOrder:
        assert isinstance(c, NewOrder)
        return not (c.trigger_price is None and c.display_qty is None and c.expire_ts is None)
    if t is Replace:
        assert isinstance(c, Replace)
        return c.price is None or c.trigger_price is not None
    return t is SetPhase or t is Clock


def encode_events(events: Iterable[Event], directory: Directory) -> np.ndarray:
    """Event records for ``events``, the inverse of ``decode_events`` (tests and tools
    that stand in for the kernel): a name ``directory`` lacks is added, its NAME
    record first, as the kernel announces a DEFINE. A Trade is two records, the
    maker's then the taker's; fields no Event carries (a trade's client ids and
    cums) are 0."""
    rows: list[np.ndarray] = []

    def ident(names: Names, name: str | None, flag: int) -> int:
        if not name:
            return 0
        got = names.get(name)
        if got:
            return got
        got = names.add(name)
        rec = np.zeros(1, L.EVENT_DTYPE)
        raw = name.encode()
        rec["kind"], rec["flags"], rec["name_len"] = L.NAME, flag, len(raw)
        rec["symbol" if flag == L.NAME_SYMBOL else "account"] = got
        rec["name"] = raw
        rows.append(rec)
        return got

    def acct(name: str | None) -> int:
        return ident(directory.accounts, name, L.NAME_ACCOUNT)

    def sym(name: str | None) -> int:
        return ident(directory.symbols, name, L.NAME_SYMBOL)

    for ev in events:
        rec = np.zeros(1, L.EVENT_DTYPE)
        r = rec[0]
        r["seq"] = ev.seq
        if isinstance(ev, Trade):
            maker = np.zeros(1, L.EVENT_DTYPE)
            m = maker[0]
            s = sym(ev.symbol)
            for x, account, oid, leaves, side, taker in (
                (m, ev.maker_account, ev.maker_order_id, ev.maker_leaves, _other(ev.taker_side), 0),
                (r, ev.taker_account, ev.taker_order_id, ev.taker_leaves, ev.taker_side, L.TAKER),
            ):
                x["kind"], x["seq"], x["flags"] = L.TRADE, ev.seq, taker
                x["account"], x["symbol"], x["order_id"] = acct(account), s, oid
                x["side"], x["price"], x["qty"] = L.SIDE_CODE[side], ev.price, ev.qty
                x["leaves"], x["trade_id"] = leaves, ev.trade_id
            rows += [maker, rec]
            continue
        if isinstance(ev, AuctionTrade):
            seller = np.zeros(1, L.EVENT_DTYPE)
            s = sym(ev.symbol)
            for x, account, oid, leaves, side in (
                (r, ev.buy_account, ev.buy_order_id, ev.buy_leaves, Side.BUY),
                (seller[0], ev.sell_account, ev.sell_order_id, ev.sell_leaves, Side.SELL),
            ):
                x["kind"], x["seq"], x["side"] = L.AUCTION_TRADE, ev.seq, L.SIDE_CODE[side]
                x["account"], x["symbol"], x["order_id"] = acct(account), s, oid
                x["price"], x["qty"], x["leaves"] = ev.price, ev.qty, leaves
                x["trade_id"] = ev.trade_id
            rows += [rec, seller]
            continue
        terms: np.ndarray | None = None
        if isinstance(ev, Accepted):
            r["kind"], r["account"], r["symbol"] = L.ACCEPTED, acct(ev.account), sym(ev.symbol)
            r["side"], r["order_type"] = L.SIDE_CODE[ev.side], L.ORDER_TYPE_CODE[ev.order_type]
            r["tif"], r["order_id"], r["client_order_id"] = (
                L.TIF_CODE[ev.tif],
                ev.order_id,
                ev.client_order_id,
            )
            r["price"], r["qty"], r["leaves"] = ev.price or 0, ev.qty, ev.qty
            if (ev.trigger_price, ev.display_qty, ev.expire_ts) != (None, None, None):
                r["flags"] = L.WITH_TERMS
                terms = _order_terms(r, ev.trigger_price, ev.display_qty, ev.expire_ts)
        elif isinstance(ev, Rejected):
            r["kind"], r["command"] = L.REJECTED, L.COMMAND_CODE[ev.command]
            r["reason"], r["account"] = L.REJECT_REASON_CODE[ev.reason], acct(ev.account)
            r["order_id"], r["client_order_id"] = ev.order_id, ev.client_order_id
        elif isinstance(ev, Cancelled | Reduced):
            r["kind"] = L.CANCELLED if isinstance(ev, Cancelled) else L.REDUCED
            r["account"], r["symbol"] = acct(ev.account), sym(ev.symbol)
            r["side"], r["order_id"] = L.SIDE_CODE[ev.side], ev.order_id
            r["price"], r["qty"] = ev.price or 0, ev.qty
            r["leaves"] = ev.leaves if isinstance(ev, Reduced) else 0
            r["reason"] = L.CANCEL_REASON_CODE[ev.reason]
        elif isinstance(ev, Replaced):
            r["kind"], r["account"], r["symbol"] = L.REPLACED, acct(ev.account), sym(ev.symbol)
            r["side"], r["order_id"] = L.SIDE_CODE[ev.side], ev.order_id
            r["price"], r["qty"], r["leaves"] = ev.price or 0, ev.qty, ev.qty
            r["flags"] = L.PRIORITY_KEPT if ev.priority_kept else 0
            if ev.trigger_price is not None:
                r["flags"] |= L.WITH_TERMS
                terms = _order_terms(r, ev.trigger_price, None, None)
        elif isinstance(ev, MassCancelled):
            r["kind"], r["account"], r["symbol"] = (
                L.MASS_CANCELLED,
                acct(ev.account),
                sym(ev.symbol),
            )
            r["qty"], r["reason"] = ev.count, L.CANCEL_REASON_CODE[ev.reason]
        elif isinstance(ev, Triggered):
            r["kind"], r["account"], r["symbol"] = L.TRIGGERED, acct(ev.account), sym(ev.symbol)
            r["side"], r["order_type"] = L.SIDE_CODE[ev.side], L.ORDER_TYPE_CODE[ev.order_type]
            r["tif"], r["order_id"], r["trade_id"] = (
                L.TIF_CODE[ev.tif],
                ev.order_id,
                ev.trigger_price,
            )
            r["price"], r["qty"], r["leaves"] = ev.price or 0, ev.qty, ev.qty
        elif isinstance(ev, Refreshed):
            r["kind"], r["account"], r["symbol"] = L.REFRESHED, acct(ev.account), sym(ev.symbol)
            r["side"], r["order_id"], r["price"] = L.SIDE_CODE[ev.side], ev.order_id, ev.price
            r["qty"], r["leaves"] = ev.shown, ev.leaves
        elif isinstance(ev, PhaseChanged):
            r["kind"], r["symbol"] = L.PHASE_CHANGED, sym(ev.symbol)
            r["reason"], r["qty"] = L.PHASE_CODE[ev.phase], L.PHASE_CODE[ev.previous]
        elif isinstance(ev, Indicative):
            r["kind"], r["symbol"], r["price"] = L.INDICATIVE, sym(ev.symbol), ev.price or 0
            r["side"] = 0 if ev.imbalance_side is None else L.SIDE_CODE[ev.imbalance_side]
            r["qty"], r["leaves"] = ev.volume, ev.imbalance_qty
        else:
            raise TypeError(f"not an event: {ev!r}")
        rows.append(rec)
        if terms is not None:
            rows.append(terms)
    if not rows:
        return np.zeros(0, L.EVENT_DTYPE)
    return L.join_records(rows, L.EVENT_DTYPE)


def _order_terms(
    owner: np.void, trigger: int | None, display: int | None, expire: int | None
) -> np.ndarray:
    """The ORDER_TERMS record after ``owner`` (an ACCEPTED or REPLACED record)."""
    rec = np.zeros(1, L.EVENT_DTYPE)
    t = rec[0]
    t["kind"], t["seq"], t["account"], t["symbol"] = (
        L.ORDER_TERMS, owner["seq"], owner["account"], owner["symbol"],
    )  # fmt: skip
    t["order_id"], t["client_order_id"] = owner["order_id"], owner["client_order_id"]
    t["price"], t["qty"], t["leaves"] = trigger or 0, display or 0, expire or 0
    return rec


def _other(side: Side) -> Side:
    return Side.SELL if side is Side.BUY else Side.BUY
