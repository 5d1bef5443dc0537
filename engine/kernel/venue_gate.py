"""Which inputs the compiled kernel does not run yet: those of the venue rules.

The compiled kernel runs every rule of MATCHING_RULES.md; the venue rules of
VENUE_RULES.md (stops, icebergs, DAY and GTD expiry, trading phases, call
auctions) run in the reference kernel only, for now. Rather than answer such
an input wrongly, the compiled kernel stops its batch before it
(BATCH_UNSUPPORTED, raised as ``VenueRulesNotCompiled``). This module says
the same in Python, for the core (which refuses them before they are
journalled) and for the differential tests (which compare the kernels on a
stream up to its first such input).

>>> import numpy as np
>>> from ringmatch.engine.records import layout as L
>>> records = np.zeros(2, L.INPUT_DTYPE)
>>> records["kind"] = L.NEW
>>> records[1]["order_type"] = 3  # STOP
>>> first_venue_input(records)
1
>>> describe(records[1])
'a NEW with order_type STOP'
"""

from __future__ import annotations

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.inputs import owners
from ringmatch.engine.schema.enums import OrderType, TimeInForce

_VENUE_TYPES = (L.ORDER_TYPE_CODE[OrderType.STOP], L.ORDER_TYPE_CODE[OrderType.STOP_LIMIT])
_VENUE_TIFS = (L.TIF_CODE[TimeInForce.DAY], L.TIF_CODE[TimeInForce.GTD])


def is_venue_input(record: np.void) -> bool:
    """Whether the owner record ``record`` is an input of the venue rules (kernel.cpp's
    venue_input: its codes outside every table stay INVALID_FIELD's)."""
    kind = int(record["kind"])
    if kind == L.NEW:
        return (
            int(record["order_type"]) in _VENUE_TYPES
            or int(record["tif"]) in _VENUE_TIFS
            or int(record["flags"]) & L.TERMS != 0
        )
    if kind == L.REPLACE:
        return int(record["flags"]) & (L.TERMS | L.KEEP_PRICE) != 0
    return kind in (L.SET_PHASE, L.CLOCK)


def first_venue_input(records: np.ndarray) -> int | None:
    """The index of the first owner record of a venue input (``inputs.owners``' walk,
    which is the compiled kernel's up to there: a text's owner takes its records, a
    kind it does not know is one record), None if there is none."""
    for i in owners(records).tolist():
        if is_venue_input(records[i]):
            return int(i)
    return None


def describe(record: np.void) -> str:
    """What makes ``record`` a venue input, for an error message."""
    kind = int(record["kind"])
    if kind == L.SET_PHASE:
        return "a SET_PHASE"
    if kind == L.CLOCK:
        return "a CLOCK"
    name = "NEW" if kind == L.NEW else "REPLACE"
    order_type, tif, flags = int(record["order_type"]), int(record["tif"]), int(record["flags"])
    if kind == L.NEW and order_type in _VENUE_TYPES:
        return f"a NEW with order_type {L.ORDER_TYPE_OF[order_type].name}"
    if kind == L.NEW and tif in _VENUE_TIFS:
        return f"a NEW with tif {L.TIF_OF[tif].name}"
    if flags & L.TERMS:
        return f"a {name} with terms (a trigger price, a display quantity or an expiry)"
    return "a REPLACE that keeps its price"
