"""What every kernel offers, compiled (``ringmatch.engine.kernel._kernel``) or reference
(``ringmatch.engine.core.reference_kernel``): the interface the core, the replays,
the benchmarks and the differential tests are written against."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Kernel(Protocol):
    """Input records in, event records out (docs/PIPELINE.md, "Records")."""

    @property
    def last_seq(self) -> int: ...

    @property
    def trade_id(self) -> int: ...

    @property
    def resting_orders(self) -> int: ...

    def process_into(self, inputs: np.ndarray, events: np.ndarray) -> tuple[int, int]:
        """Run ``inputs`` in order, writing into ``events``: (inputs consumed, events written).

        It may stop before an input when ``events`` has no room for that
        input's worst case (call again with the rest); EventBufferTooSmall if
        even the whole buffer has none. ValueError, at the first input whose
        seq is not after the last, with the inputs before it applied.
        """
        ...

    def process(self, inputs: np.ndarray) -> np.ndarray:
        """Every event of ``inputs``, in a new array."""
        ...

    def l3(self, symbol: int) -> np.ndarray:
        """The resting orders of symbol id ``symbol`` (layout.BOOK_DTYPE)."""
        ...
