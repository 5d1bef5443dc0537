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

    def dump(self) -> bytes:
        """The kernel's whole state, for a snapshot (docs/PIPELINE.md, "Recovery and
        snapshots"): its first 4 bytes name the kernel's dump format, the same for
        every dump of one kind of kernel (a fresh kernel's included)."""
        ...

    def load(self, data: bytes) -> None:
        """On a fresh kernel: become the kernel that ``dump()``-ed ``data``, so that
        every later input gives the same events as it would have there. ValueError
        (the kernel unchanged) for a dump it cannot take: another format or version."""
        ...
