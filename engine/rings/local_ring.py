"""An in-process input ring: the compact topology's link from its gateway worker to the core.

    ring = LocalRing()
    ring.put_array(records)      # the worker, after reading its sockets (a whole batch)
    ring.take(limit)             # the core's turn, on the same thread: up to ``limit`` records

With one worker, the worker's event loop runs the core's turns itself
(ringmatch.compact_process), so there is no other thread to hand records to:
the shared-memory ring's cursors, fences and doorbell would buy nothing. The
records are the same INPUT_DTYPE records an SpscRing carries, taken in the
order they were put, an array at a time (the core's per-ring batch limit
applies, as on a shared ring). Not thread-safe: one thread puts and takes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


class LocalRing:
    __slots__ = ("_parts", "pending")

    def __init__(self) -> None:
        self._parts: list[npt.NDArray[Any]] = []
        self.pending = 0  # records put and not yet taken

    def put_array(self, records: npt.NDArray[Any]) -> None:
        """Queue ``records`` (they become the ring's: the caller must not reuse them)."""
        if len(records):
            self._parts.append(records)
            self.pending += len(records)

    def take(self, limit: int) -> npt.NDArray[Any] | None:
        """Up to ``limit`` records, oldest first, as one array; None if there are none."""
        parts = self._parts
        if not parts:
            return None
        if len(parts) == 1 and len(parts[0]) <= limit:
            out = parts.pop()
        else:
            taken: list[npt.NDArray[Any]] = []
            room = limit
            while parts and room:
                head = parts[0]
                if len(head) <= room:
                    taken.append(parts.pop(0))
                    room -= len(head)
                else:
                    taken.append(head[:room])
                    parts[0] = head[room:]
                    room = 0
            out = taken[0] if len(taken) == 1 else np.concatenate(taken)
        self.pending -= len(out)
        return out
