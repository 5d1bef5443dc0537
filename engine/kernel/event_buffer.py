"""What the kernel (compiled or reference) raises besides ValueError and TypeError."""

from __future__ import annotations


class EventBufferTooSmall(ValueError):
    """Even an empty event buffer of ``capacity`` records has no room for the next
    input's worst case (``need`` records): give a larger one."""

    def __init__(self, need: int, capacity: int) -> None:
        super().__init__(
            f"the event buffer holds {capacity} records; the next input may need {need}"
        )
        self.need = need
        self.capacity = capacity
