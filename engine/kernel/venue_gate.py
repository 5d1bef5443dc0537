"""Which inputs the compiled kernel does not run yet: trading phases under the
pre-trade stage.

The compiled kernel runs every rule of MATCHING_RULES.md and of VENUE_RULES.md:
stops and their cascades, icebergs, GTD and DAY orders, time (CLOCK), trading
phases and call auctions (SET_PHASE); its pre-trade stage runs the venue's orders
too (a held stop's open order and worst price: risk_checks.hpp, held to
risk/pretrade.py by tests/kernel/test_risk_differential.py). With the stage on, a
SET_PHASE is the one input it does not run yet: the stage's rules for a call
phase's waiting orders and an auction's trades are the reference kernel's only.
Rather than answer it wrongly, the compiled kernel stops its batch before it
(BATCH_UNSUPPORTED, raised as ``VenueRulesNotCompiled``). This module says the
same in Python, for the core (which drops a SET_PHASE before it is journalled)
and for the differential tests (which compare the kernels on a stream up to its
first such input).

>>> import numpy as np
>>> from ringmatch.engine.records import layout as L
>>> records = np.zeros(3, L.INPUT_DTYPE)
>>> records["kind"] = L.NEW
>>> records[1]["order_type"] = 3  # STOP
>>> records[2]["kind"] = L.SET_PHASE
>>> first_venue_input(records) is None
True
>>> first_venue_input(records, staged=True)
2
>>> describe(records[2])
'a SET_PHASE'
"""

from __future__ import annotations

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.inputs import owners


def is_venue_input(record: np.void, staged: bool = False) -> bool:
    """Whether the owner record ``record`` is an input the compiled kernel stops at:
    with the pre-trade stage on (``staged``), a SET_PHASE; nothing without it."""
    return staged and int(record["kind"]) == L.SET_PHASE


def first_venue_input(records: np.ndarray, staged: bool = False) -> int | None:
    """The index of the first owner record of such an input (``inputs.owners``' walk,
    which is the compiled kernel's up to there: a text's owner takes its records, a
    kind it does not know is one record), None if there is none."""
    for i in owners(records).tolist():
        if is_venue_input(records[i], staged):
            return int(i)
    return None


def describe(record: np.void) -> str:
    """What makes ``record`` a venue input, for an error message."""
    kind = int(record["kind"])
    if kind == L.SET_PHASE:
        return "a SET_PHASE"
    return f"an input of kind {kind}"
