"""Every enum code of the wire in one place: code <-> the value the Python API uses.

The codes are the records' (ringmatch.engine.records.layout: index = code), so
a report's byte can be copied from an event record unchanged; EXEC_TYPE and the
RiskQuery op are the wire's own. A ``Codes`` table decodes a u8 with one tuple
index (256 entries: any byte is an index) and encodes with one dict lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from ringmatch.engine.records import layout
from ringmatch.engine.schema.enums import CommandKind, OrderType, TimeInForce
from ringmatch.gateway.protocol.messages import RISK_OPS, ExecType

INVALID: Final = object()
"""A ``Codes.of`` entry for a code that means nothing."""


class Codes:
    """One field's code table: ``of[code]`` the value (INVALID if none), ``code[value]``."""

    __slots__ = ("code", "field", "of", "valid")

    def __init__(self, field: str, values: Sequence[Any], zero: str | None = None) -> None:
        """``values[i]`` is code i's value (None: no such code, except code 0 when ``zero``
        names what 0 means there: then 0 is valid and decodes to None)."""
        self.field = field
        of: list[Any] = [INVALID] * 256
        self.code: dict[Any, int] = {}
        labels = []
        for code, value in enumerate(values):
            if value is None and not (code == 0 and zero is not None):
                continue
            of[code] = value
            self.code[value] = code
            labels.append(f"{code} {zero if value is None else _label(value)}")
        self.of: tuple[Any, ...] = tuple(of)
        self.valid = ", ".join(labels)

    def reason(self, code: int) -> str:
        return f"invalid code {code} (valid: {self.valid})"


def _label(value: Any) -> str:
    return str(getattr(value, "name", value)) or "none"


EXEC_TYPE_CODES: Final = (
    None,
    ExecType.ACCEPTED,
    ExecType.REJECTED,
    ExecType.PARTIALLY_FILLED,
    ExecType.FILLED,
    ExecType.CANCELLED,
    ExecType.REPLACED,
    ExecType.KILLED,
    ExecType.REDUCED,
    ExecType.TRIGGERED,
    ExecType.REFRESHED,
)
"""Every exec type's code, version 3's included (index = code)."""
V2_EXEC_TYPES: Final = EXEC_TYPE_CODES.index(ExecType.REDUCED) + 1
"""How many of EXEC_TYPE_CODES version 2 knows: the ones before TRIGGERED."""

SIDE = Codes("side", layout.SIDE)
SIDE_OR_NONE = Codes("side", layout.SIDE, zero="none")  # a report's: 0 when unknown
# Protocol version 2 carries the continuous book's order types and tifs only: the
# venue's (STOP, STOP_LIMIT, DAY, GTD) need fields no v2 message has (trigger_price,
# display_qty, expire_ts), so their codes are invalid there rather than read without them.
# Version 3 has the fields, and so every code of the records' tables.
ORDER_TYPE = Codes("order_type", layout.ORDER_TYPE[: layout.ORDER_TYPE_CODE[OrderType.MARKET] + 1])
TIF = Codes("tif", layout.TIF[: layout.TIF_CODE[TimeInForce.FOK] + 1], zero="default")
ORDER_TYPE_V3 = Codes("order_type", layout.ORDER_TYPE)
TIF_V3 = Codes("tif", layout.TIF, zero="default")
STP = Codes("stp", layout.STP)
# A v2 session is never sent an exec type it does not know (docs/PROTOCOL.md, "Version 3").
EXEC_TYPE = Codes("exec_type", EXEC_TYPE_CODES[:V2_EXEC_TYPES])
EXEC_TYPE_V3 = Codes("exec_type", EXEC_TYPE_CODES)
RISK_OP = Codes("op", (None, *RISK_OPS))

# The string-valued fields of reports: the enum's value, "" for code 0.
REJECT_REASON = Codes("reason", ["", *(r.value for r in layout.REJECT_REASON[1:] if r)])
CANCEL_REASON = Codes("reason", ["", *(r.value for r in layout.CANCEL_REASON[1:] if r)])
NO_REASON = Codes("reason", [""])
# What a client's request can be (a SET_PHASE is an admin's, never a session's).
REQUEST = Codes(
    "request", ["", *(c.value for c in layout.COMMAND[1:] if c and c is not CommandKind.SET_PHASE)]
)
NO_REQUEST = Codes("request", [""])

REASON_OF_EXEC: Final = {
    e: REJECT_REASON
    if e is ExecType.REJECTED
    else CANCEL_REASON
    if e in (ExecType.CANCELLED, ExecType.KILLED, ExecType.REDUCED)
    else NO_REASON
    for e in ExecType
}
"""Which table an ExecutionReport's ``reason`` byte is read with, by its exec_type."""
REQUEST_OF_EXEC: Final = {e: REQUEST if e is ExecType.REJECTED else NO_REQUEST for e in ExecType}
