"""Venue requests a server cannot run: refused at the gateway when the core's kernel is compiled.

A server's core runs the pre-trade risk stage (ringmatch.supervisor's PRETRADE),
and on the compiled kernel that stage does not check the venue's orders yet: the
kernel stops at a NEW of the venue's (a stop, an iceberg, a DAY or GTD order) or
a REPLACE with terms (engine/kernel/venue_gate.py, ``staged``). The core would
refuse such an input before its journal (REJECTED INVALID_FIELD); a version-3
session hears why here instead: the request is answered with a MessageReject
naming its first venue field in offset order and why, and the session goes on. A
version-2 session cannot send one (its codes and layouts have no room for it), so
its requests are never looked at here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from ringmatch.engine import build_info
from ringmatch.engine.kernel.venue_gate import describe, is_venue_input
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.inputs import owners, terms_at
from ringmatch.engine.schema.enums import OrderType, TimeInForce
from ringmatch.gateway.protocol.messages import MessageReject

_VENUE_TYPES = (L.ORDER_TYPE_CODE[OrderType.STOP], L.ORDER_TYPE_CODE[OrderType.STOP_LIMIT])
_VENUE_TIFS = (L.TIF_CODE[TimeInForce.DAY], L.TIF_CODE[TimeInForce.GTD])
WHY = (
    "this server's compiled kernel does not run the pre-trade stage's rules for the "
    "venue's orders yet (docs/ORDER_TYPES.md); a server on the reference kernel "
    "(RINGMATCH_PURE=1) does"
)


VenueGate = Callable[[np.void], bool]
"""Whether the core's kernel stops at the input whose owner record this is."""

STAGED: VenueGate = partial(is_venue_input, staged=True)
"""What the compiled kernel stops at with its pre-trade stage on, as a server runs it."""


def core_venue_gate() -> VenueGate | None:
    """What the core this gateway feeds cannot run: venue_gate's test with the stage on
    where its kernel is the compiled one (the worker's process picks its kernel as the
    core's does), None where it runs every venue rule (the reference kernel)."""
    return STAGED if build_info.compiled() else None


def refuse_venue(
    records: np.ndarray, gate: VenueGate = STAGED
) -> tuple[np.ndarray, list[MessageReject]]:
    """``records`` (a session's requests) without the inputs ``gate`` stops at, each
    with its TERMS record, and a MessageReject per such input, in order. ``records``
    itself when it holds none."""
    own = owners(records).tolist()
    venue = [i for i in own if gate(records[i])]
    if not venue:
        return records, []
    keep = np.ones(len(records), bool)
    ends = dict(zip(own, [*own[1:], len(records)], strict=True))
    for i in venue:
        keep[i : ends[i]] = False
    return records[keep], [_reject(records, i) for i in venue]


def _reject(records: np.ndarray, owner: int) -> MessageReject:
    record = records[owner]
    kind = int(record["kind"])
    message = "NewOrder" if kind == L.NEW else "Replace"
    return MessageReject(
        message,
        _first_venue_field(records, owner),
        f"{describe(record)}: {WHY}",
        int(record["client_order_id"]),
    )


def _first_venue_field(records: np.ndarray, owner: int) -> str:
    """The wire field that makes the request at ``owner`` a venue one, the first in
    offset order (a v3 Replace's flags, byte 4, come before its trigger_price)."""
    record = records[owner]
    if int(record["kind"]) == L.NEW:
        if int(record["order_type"]) in _VENUE_TYPES:
            return "order_type"
        if int(record["tif"]) in _VENUE_TIFS:
            return "tif"
    elif int(record["flags"]) & L.KEEP_PRICE:
        return "flags"
    names = ("trigger_price", "display_qty", "expire_ts")
    return next(n for n, v in zip(names, terms_at(records, owner), strict=True) if v is not None)
