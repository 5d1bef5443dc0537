"""The batching put loop shared by both ring writers (SPSC producer, event-ring writer).

A writer keeps ``head`` (next sequence to write) and a cached ``gate`` (how far
the reader(s) it must not overrun have got); room is ``capacity - (head - gate)``.
The gate is re-read from shared memory only when the cache says there is not
enough room, so a writer that stays ahead of its readers mostly touches only its
own cache line.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ringmatch.engine.rings.errors import RingFull
from ringmatch.engine.rings.slots import SlotArray, check_records
from ringmatch.engine.rings.wait import Doorbell, SpinThenBlock

if TYPE_CHECKING:
    import numpy.typing as npt


class Publisher:
    """Subclasses provide ``_has_space`` (refresh ``_gate``) and ``_commit`` (publish)."""

    __slots__ = (
        "_bell_space",
        "_gate",
        "_head",
        "_sleeping",
        "_thread",
        "_wait",
        "_words",
        "name",
        "slots",
    )

    def __init__(
        self,
        name: str,
        slots: SlotArray,
        words: memoryview,
        head: int,
        sleeping: int,
        bell_space: Doorbell,
        wait: SpinThenBlock,
    ) -> None:
        self.name = name
        self.slots = slots
        self._words = words
        self._head = head
        self._gate = head - slots.capacity  # "full" until _has_space reads the readers
        self._sleeping = sleeping  # our sleeping flag's word, read by the readers
        self._bell_space = bell_space
        self._wait = wait
        self._thread = threading.get_ident()

    def _has_space(self) -> bool:
        raise NotImplementedError

    def _claim(self, end: int) -> None:
        """Called before a batch's payload is written (the event ring marks it)."""

    def _commit(self, end: int) -> None:
        raise NotImplementedError

    def _free(self) -> int:
        return self.slots.capacity - (self._head - self._gate)

    def _put(
        self,
        batch: Any,
        write: Callable[[int, Any], None],
        timeout: float | None,
        wait: bool,
    ) -> int:
        assert threading.get_ident() == self._thread, f"ring {self.name}: one writer thread"
        deadline = None if timeout is None else time.monotonic() + timeout
        done, wanted = 0, len(batch)
        while done < wanted:
            if self._free() < wanted - done:
                self._has_space()
            if not self._free():
                if not wait:
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if not self._wait.wait(
                    self._has_space, self._words, self._sleeping, self._bell_space, left
                ):
                    raise RingFull(self.name, done, wanted)
            count = min(self._free(), wanted - done)
            end = self._head + count
            self._claim(end)
            write(self._head, batch[done : done + count] if count < wanted else batch)
            self._head = end
            self._commit(end)
            done += count
        return done

    def put_many(self, records: Sequence[bytes], timeout: float | None = None) -> None:
        """Publish all records in order, waiting for room; ``RingFull`` after ``timeout`` s."""
        check_records(records, self.slots.slot_size)
        self._put(records, self.slots.write, timeout, wait=True)

    def try_put_many(self, records: Sequence[bytes]) -> int:
        """Publish as many leading records as fit now, never waiting; return how many."""
        check_records(records, self.slots.slot_size)
        return self._put(records, self.slots.write, None, wait=False)

    def put(self, record: bytes, timeout: float | None = None) -> None:
        self.put_many((record,), timeout)

    def put_array(self, records: npt.NDArray[Any], timeout: float | None = None) -> None:
        """``put_many`` for fixed-size records held in a 1-D numpy array (one copy per run)."""
        self.slots.check_array(records)
        self._put(records, self.slots.write_array, timeout, wait=True)

    def try_put_array(self, records: npt.NDArray[Any]) -> int:
        """``try_put_many`` for a record array: as many leading items as fit now, never
        waiting; how many."""
        self.slots.check_array(records)
        return self._put(records, self.slots.write_array, None, wait=False)
