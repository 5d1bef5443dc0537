"""Why a kernel batch stopped short: pure Python, so callers need not import the extension.

(Not ``errors.py``: engine/rings has that module name, and one name is one thing.)
"""

from __future__ import annotations


class EventBufferTooSmall(Exception):
    """The next input may cause more events than the whole event buffer holds.

    Nothing was applied. ``need`` is that input's worst case: call again with a
    buffer of at least ``need`` records.
    """

    def __init__(self, need: int, capacity: int) -> None:
        super().__init__(
            f"the next input may cause {need} event records; the buffer holds {capacity}"
        )
        self.need = need
        self.capacity = capacity


class BatchStopped(ValueError):
    """Record ``index`` of the batch cannot be applied: a caller's bug, never a reject.

    The records before it were applied and wrote ``written`` event records into
    the buffer; the record itself and the rest were not.
    """

    def __init__(self, message: str, index: int, written: int) -> None:
        super().__init__(message)
        self.index = index
        self.written = written
