"""Between the wire and the core: requests become commands, events become reports.

Inbound, ``to_command`` checks what the gateway can judge alone (numbers in
range, a configured symbol) and turns a wire request into the shared schema's
command, with ``order_id=0`` and the client's id in ``client_order_id``: the
core assigns engine ids and resolves a Cancel/Replace's client id for the
account. What it cannot judge (a duplicate client id, a market order with a
price...) is the core's to reject, as an event.

Outbound, ``ReportBook`` follows every order through the events (the engine id
to the client id and account from Accepted; cumulative and leaves quantity from
Trade, Cancelled, Reduced, Replaced) and makes the execution reports, each
addressed to the account that owns the order: a trade gives two, one per side.
What it knows must cover every order that can still have a report, so a worker
that starts after the core has run (a restart: the event ring is new and
carries only what comes after the core's recovered seq) first rebuilds its
book from the journal up to that seq (``rebuild_report_book``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from ringmatch.engine.core.journal_events import journal_events
from ringmatch.engine.core.journal_run import start_run
from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.schema import commands as core
from ringmatch.engine.schema.enums import CancelReason, Side
from ringmatch.engine.schema.events import (
    Accepted,
    Cancelled,
    MassCancelled,
    Reduced,
    Rejected,
    Replaced,
    Trade,
)
from ringmatch.gateway.protocol.messages import (
    Cancel,
    ExecType,
    ExecutionReport,
    MassCancel,
    MassCancelDone,
    MessageReject,
    NewOrder,
    Replace,
)

INT64_MAX = 2**63 - 1

Request = NewOrder | Cancel | Replace | MassCancel


def _positive(value: int, message: str, field: str, client_order_id: int) -> MessageReject | None:
    if value <= 0:
        return MessageReject(message, field, f"must be > 0, got {value}", client_order_id)
    if value > INT64_MAX:
        return MessageReject(message, field, f"must fit in 64 bits, got {value}", client_order_id)
    return None


def to_command(
    request: Request, account: str, symbols: frozenset[str]
) -> core.Command | MessageReject:
    """The core command for ``request`` from ``account``'s session, or why it cannot be one."""
    ts_ns = time.time_ns()  # for the record only; never affects matching
    if type(request) is NewOrder:
        cid = request.client_order_id
        reject = _positive(cid, "NewOrder", "client_order_id", cid) or _positive(
            request.qty, "NewOrder", "qty", cid
        )
        if reject is None and request.price is not None:
            reject = _positive(request.price, "NewOrder", "price", cid)
        if reject is None and request.symbol not in symbols:
            reject = MessageReject("NewOrder", "symbol", f"unknown symbol {request.symbol!r}", cid)
        if reject is not None:
            return reject
        return core.NewOrder(
            0,
            account,
            request.symbol,
            request.side,
            request.order_type,
            request.price,
            request.qty,
            request.tif,
            request.post_only,
            request.stp,
            ts_ns,
            cid,
        )
    if type(request) is Cancel:
        cid = request.client_order_id
        reject = _positive(cid, "Cancel", "client_order_id", cid)
        return reject or core.Cancel(0, account, ts_ns, cid)
    if type(request) is Replace:
        cid = request.client_order_id
        reject = (
            _positive(cid, "Replace", "client_order_id", cid)
            or _positive(request.price, "Replace", "price", cid)
            or _positive(request.qty, "Replace", "qty", cid)
        )
        return reject or core.Replace(0, account, request.price, request.qty, ts_ns, cid)
    assert type(request) is MassCancel
    if request.symbol is not None and request.symbol not in symbols:
        return MessageReject("MassCancel", "symbol", f"unknown symbol {request.symbol!r}")
    return core.MassCancel(account, request.symbol, CancelReason.MASS_CANCEL, ts_ns)


class OrderState:
    """What a worker knows of one live order (gone once nothing of it is left)."""

    __slots__ = ("account", "client_order_id", "cum", "leaves", "price", "side", "symbol")

    def __init__(
        self,
        account: str,
        client_order_id: int,
        symbol: str,
        side: Side,
        price: int | None,
        leaves: int,
    ) -> None:
        self.account = account
        self.client_order_id = client_order_id
        self.symbol = symbol
        self.side = side
        self.price = price
        self.cum = 0
        self.leaves = leaves


Report = ExecutionReport | MassCancelDone
Addressed = tuple[str, Report]  # (account, report)


class ReportBook:
    """Turns the core's events into execution reports, tracking every live order.

    ``seq``: every event up to it has been followed. ``strangers`` counts the
    reports made for an order it never saw accepted (so without its client id
    or cumulative quantity): none once the book is rebuilt from the journal at
    start (``rebuild_report_book``), which a worker does after a restart.
    """

    __slots__ = ("orders", "seq", "strangers")

    def __init__(self) -> None:
        self.orders: dict[int, OrderState] = {}
        self.seq = 0
        self.strangers = 0

    def reports(self, events: Iterable[object]) -> list[Addressed]:
        """Every report the events give, in event order, with the account each belongs to."""
        out: list[Addressed] = []
        orders = self.orders
        event: object = None
        for event in events:
            kind = type(event)
            if kind is Trade:
                assert isinstance(event, Trade)
                self._fill(out, event, event.maker_order_id, event.maker_leaves)
                self._fill(out, event, event.taker_order_id, event.taker_leaves)
            elif kind is Accepted:
                assert isinstance(event, Accepted)
                orders[event.order_id] = OrderState(
                    event.account,
                    event.client_order_id or event.order_id,
                    event.symbol,
                    event.side,
                    event.price,
                    event.qty,
                )
                out.append(
                    (
                        event.account,
                        _report(
                            event.seq, ExecType.ACCEPTED, event.order_id, orders[event.order_id]
                        ),
                    )
                )
            elif kind is Cancelled:
                assert isinstance(event, Cancelled)
                state = orders.pop(event.order_id, None) or self._stranger(event)
                state.leaves = 0
                exec_type = (
                    ExecType.KILLED
                    if event.reason is CancelReason.KILLED_FOK
                    else ExecType.CANCELLED
                )
                out.append(
                    (
                        state.account,
                        _report(
                            event.seq, exec_type, event.order_id, state, reason=event.reason.value
                        ),
                    )
                )
            elif kind is Rejected:
                assert isinstance(event, Rejected)
                known = orders.get(event.order_id) if event.order_id else None
                cid = event.client_order_id or (known.client_order_id if known else 0)
                out.append(
                    (
                        event.account,
                        ExecutionReport(
                            event.seq,
                            ExecType.REJECTED,
                            event.order_id,
                            cid,
                            known.symbol if known else "",
                            known.side if known else None,
                            known.price if known else None,
                            None,
                            0,
                            known.cum if known else 0,
                            known.leaves if known else 0,
                            0,
                            event.reason.value,
                            event.command.value,
                        ),
                    )
                )
            elif kind is Replaced:
                assert isinstance(event, Replaced)
                state = orders.get(event.order_id) or self._stranger(event)
                state.price, state.leaves = event.price, event.qty
                out.append(
                    (state.account, _report(event.seq, ExecType.REPLACED, event.order_id, state))
                )
            elif kind is Reduced:
                assert isinstance(event, Reduced)
                state = orders.get(event.order_id) or self._stranger(event)
                state.leaves = event.leaves
                out.append(
                    (
                        state.account,
                        _report(
                            event.seq,
                            ExecType.REDUCED,
                            event.order_id,
                            state,
                            reason=event.reason.value,
                        ),
                    )
                )
            elif kind is MassCancelled:
                assert isinstance(event, MassCancelled)
                out.append(
                    (
                        event.account,
                        MassCancelDone(event.seq, event.symbol, event.count, event.reason.value),
                    )
                )
        last = getattr(event, "seq", 0)  # the last event's; 0 if there was none
        if last > self.seq:
            self.seq = last
        return out

    def _fill(self, out: list[Addressed], trade: Trade, order_id: int, leaves: int) -> None:
        state = self.orders.get(order_id)
        if state is None:  # never seen accepted: report what we can
            self.strangers += 1
            is_maker = order_id == trade.maker_order_id
            account = trade.maker_account if is_maker else trade.taker_account
            side = trade.taker_side
            if is_maker:
                side = Side.SELL if side is Side.BUY else Side.BUY
            state = OrderState(account, 0, trade.symbol, side, None, leaves)
        state.cum += trade.qty
        state.leaves = leaves
        if not leaves:
            self.orders.pop(order_id, None)
        out.append(
            (
                state.account,
                ExecutionReport(
                    trade.seq,
                    ExecType.FILLED if not leaves else ExecType.PARTIALLY_FILLED,
                    order_id,
                    state.client_order_id,
                    state.symbol,
                    state.side,
                    state.price,
                    trade.price,
                    trade.qty,
                    state.cum,
                    leaves,
                    trade.trade_id,
                ),
            )
        )

    def _stranger(self, event: Cancelled | Replaced | Reduced) -> OrderState:
        """An order this book never saw accepted: its id is all we have."""
        self.strangers += 1
        return OrderState(event.account, 0, event.symbol, event.side, event.price, 0)


def rebuild_report_book(
    data_dir: str | os.PathLike[str],
    upto_seq: int,
    resolve: StageResolver = no_stages,
) -> ReportBook:
    """The ReportBook of a worker that had followed every event of the journalled
    inputs up to ``upto_seq`` (the core's recovered seq): every live order's client
    id, account, symbol, side, price, cumulative and leaves quantity.

    The whole journal runs through a fresh kernel of the kind the core ran
    (ringmatch.engine.core.journal_events), from its first input, switching pre-trade stage where
    the journal does (``resolve`` finds a stage by its journalled name) and
    stepping over the seqs it skips, so the same rejects; the journal is never
    pruned. Its ``seq`` is the last seq run: ``upto_seq``, unless the journal ends
    before it.
    """
    book = ReportBook()
    run = start_run(data_dir, resolve=resolve, snapshot=False)
    follow = book.reports
    for events in journal_events(run, upto_seq):
        follow(events)
    book.seq = max(book.seq, run.last_seq)
    return book


def _report(
    seq: int, exec_type: ExecType, order_id: int, state: OrderState, reason: str = ""
) -> ExecutionReport:
    return ExecutionReport(
        seq,
        exec_type,
        order_id,
        state.client_order_id,
        state.symbol,
        state.side,
        state.price,
        None,
        0,
        state.cum,
        state.leaves,
        0,
        reason,
    )
