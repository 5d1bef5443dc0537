"""The requests of a throttled session (the protocol's Structs) as the core's commands.

``to_command`` checks what the gateway can judge alone (numbers in
range, a configured symbol) and turns a wire request into the shared schema's
command, with ``order_id=0`` and the client's id in ``client_order_id``: the
core assigns engine ids and resolves a Cancel/Replace's client id for the
account. What it cannot judge (a duplicate client id, a market order with a
price...) is the core's to reject, as an event.
"""

from __future__ import annotations

import time

from ringmatch.engine.schema import commands as core
from ringmatch.engine.schema.enums import CancelReason
from ringmatch.gateway.protocol.messages import (
    Cancel,
    MassCancel,
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


VENUE_FIELDS = ("trigger_price", "display_qty", "expire_ts")
"""A version-3 request's venue fields: None when not set, else a number > 0."""


def _venue_fields(
    request: NewOrder | Replace, message: str, fields: tuple[str, ...], client_order_id: int
) -> MessageReject | None:
    for field in fields:
        value = getattr(request, field)
        if value is not None and (reject := _positive(value, message, field, client_order_id)):
            return reject
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
        reject = reject or _venue_fields(request, "NewOrder", VENUE_FIELDS, cid)
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
            request.trigger_price,
            request.display_qty,
            request.expire_ts,
        )
    if type(request) is Cancel:
        cid = request.client_order_id
        reject = _positive(cid, "Cancel", "client_order_id", cid)
        return reject or core.Cancel(0, account, ts_ns, cid)
    if type(request) is Replace:
        cid = request.client_order_id
        reject = (
            _positive(cid, "Replace", "client_order_id", cid)
            or (
                None if request.price is None else _positive(request.price, "Replace", "price", cid)
            )
            or _positive(request.qty, "Replace", "qty", cid)
            or _venue_fields(request, "Replace", ("trigger_price",), cid)
        )
        return reject or core.Replace(
            0, account, request.price, request.qty, ts_ns, cid, request.trigger_price
        )
    assert type(request) is MassCancel
    if request.symbol is not None and request.symbol not in symbols:
        return MessageReject("MassCancel", "symbol", f"unknown symbol {request.symbol!r}")
    return core.MassCancel(account, request.symbol, CancelReason.MASS_CANCEL, ts_ns)
