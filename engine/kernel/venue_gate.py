"""Which inputs the compiled kernel does not run yet: the venue's orders and
trading phases under the pre-trade stage.

The compiled kernel runs every rule of MATCHING_RULES.md and of VENUE_RULES.md:
stops and their cascades, icebergs, GTD and DAY orders, time (CLOCK), trading
phases and call auctions (SET_PHASE). The pre-trade stage's rules for the venue's
orders (a held stop's open order and worst price, a call phase's waiting orders
and auction trades) run in the reference kernel only, for now: with the stage on,
a NEW of the venue's, a REPLACE with terms and a SET_PHASE stop it. Rather than
answer such an input wrongly, the compiled kernel stops its batch before it
(BATCH_UNSUPPORTED, raised as ``VenueRulesNotCompiled``). This module says the same
in Python, for the core (which refuses them before they are journalled) and for the
differential tests (which compare the kernels on a stream up to its first such
input).

>>> import numpy as np
>>> from ringmatch.engine.records import layout as L
>>> records = np.zeros(3, L.INPUT_DTYPE)
>>> records["kind"] = L.NEW
>>> records[1]["order_type"] = 3  # STOP
>>> records[2]["kind"] = L.SET_PHASE
>>> first_venue_input(records) is None
True
>>> first_venue_input(records, staged=True)
1
>>> describe(records[2])
'a SET_PHASE'
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


def is_venue_input(record: np.void, staged: bool = False) -> bool:
    """Whether the owner record ``record`` is an input the compiled kernel stops at:
    with the pre-trade stage on (``staged``), a SET_PHASE, a NEW of the venue's
    (kernel.cpp's venue_fields_ok: its codes outside every table stay INVALID_FIELD's)
    and a REPLACE with terms or without a price."""
    kind = int(record["kind"])
    if not staged:
        return False
    if kind == L.SET_PHASE:
        return True
    if kind == L.NEW:
        return (
            int(record["order_type"]) in _VENUE_TYPES
            or int(record["tif"]) in _VENUE_TIFS
            or int(record["flags"]) & L.TERMS != 0
        )
    if kind == L.REPLACE:
        return int(record["flags"]) & (L.TERMS | L.KEEP_PRICE) != 0
    return False


def first_venue_input(records: np.ndarray, staged: bool = False) -> int | None:
    """The index of the first owner record of such an input (``inputs.owners``' walk,
    which is the compiled kernel's up to there: a text's owner takes its records, a
    kind it does not know is one record), None if there is none."""
    for i in owners(records).tolist():
        if is_venue_input(records[i], staged):
            return int(i)
    return None


def venue_orders(records: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Which owner records at ``starts`` are a NEW of the venue's or a REPLACE with terms
    or without a price: what the compiled kernel stops at with the stage on (a mask)."""
    owner = records[starts]
    kinds, flags = owner["kind"], owner["flags"]
    new = (kinds == L.NEW) & (
        np.isin(owner["order_type"], _VENUE_TYPES)
        | np.isin(owner["tif"], _VENUE_TIFS)
        | (flags & L.TERMS != 0)
    )
    replace = (kinds == L.REPLACE) & (flags & (L.TERMS | L.KEEP_PRICE) != 0)
    mask: np.ndarray = new | replace
    return mask


def describe(record: np.void) -> str:
    """What makes ``record`` a venue input, for an error message."""
    kind = int(record["kind"])
    if kind == L.SET_PHASE:
        return "a SET_PHASE"
    name = "NEW" if kind == L.NEW else "REPLACE"
    order_type, tif, flags = int(record["order_type"]), int(record["tif"]), int(record["flags"])
    if kind == L.NEW and order_type in _VENUE_TYPES:
        return f"a NEW with order_type {L.ORDER_TYPE_OF[order_type].name}"
    if kind == L.NEW and tif in _VENUE_TIFS:
        return f"a NEW with tif {L.TIF_OF[tif].name}"
    if flags & L.TERMS:
        return f"a {name} with terms (a trigger price, a display quantity or an expiry)"
    return "a REPLACE that keeps its price"
