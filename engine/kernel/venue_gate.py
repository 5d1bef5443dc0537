"""Which inputs the compiled kernel does not run yet: trading phases.

The compiled kernel runs every rule of MATCHING_RULES.md and, of VENUE_RULES.md,
stops and their cascades, icebergs, GTD and DAY orders and time (CLOCK), with
its pre-trade stage on or off (the stage's rules for the venue's orders, a held
stop's open order and worst price, are risk_checks.hpp's, held to
risk/pretrade.py by tests/kernel/test_risk_differential.py). Trading phases and
call auctions (SET_PHASE) run in the reference kernel only, for now. Rather than
answer such an input wrongly, the compiled kernel stops its batch before it
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
>>> first_venue_input(records)
2
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
    """Whether the owner record ``record`` is an input the compiled kernel stops at: a
    SET_PHASE. The same with the pre-trade stage on (``staged``): the compiled stage
    runs the venue's orders as PreTradeRisk does."""
    del staged  # the answer is the stage's either way
    return int(record["kind"]) == L.SET_PHASE


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
