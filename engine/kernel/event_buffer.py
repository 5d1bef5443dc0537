"""What the kernel (compiled or reference) raises besides ValueError and TypeError."""

from __future__ import annotations

import numpy as np


class EventBufferTooSmall(ValueError):
    """Even an empty event buffer of ``capacity`` records has no room for the next
    input's worst case (``need`` records): give a larger one."""

    def __init__(self, need: int, capacity: int) -> None:
        super().__init__(
            f"the event buffer holds {capacity} records; the next input may need {need}"
        )
        self.need = need
        self.capacity = capacity


class VenueRulesNotCompiled(Exception):
    """The compiled kernel met an input of the venue rules it does not run yet (with
    the pre-trade stage on, a SET_PHASE: engine.kernel.venue_gate): it stopped before
    record ``index`` (seq ``seq``) with nothing of it applied, the inputs before it
    applied and their ``written`` event records written. The reference kernel
    (RINGMATCH_PURE=1) runs them."""

    hint = (
        "the compiled kernel does not run trading phases with the pre-trade stage on "
        "yet (docs/ORDER_TYPES.md); run with RINGMATCH_PURE=1, the reference kernel"
    )

    def __init__(self, index: int, seq: int, what: str, written: int = 0) -> None:
        super().__init__(f"record {index} (seq {seq}), {what}: {self.hint}")
        self.index = index
        self.seq = seq
        self.what = what
        self.written = written
        self.events_before: np.ndarray | None = None  # a caller's: the events before it
