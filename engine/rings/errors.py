"""What a ring tells its caller when it cannot do what was asked."""

from __future__ import annotations


class RingFull(TimeoutError):
    """The timeout passed while the ring had no room; ``written`` records went in first.

    The first ``written`` records of the batch are published; the rest were not
    touched, and nothing already in the ring was overwritten.
    """

    def __init__(self, ring: str, written: int, wanted: int) -> None:
        super().__init__(f"ring {ring} full: {written} of {wanted} records written before timeout")
        self.ring = ring
        self.written = written
        self.wanted = wanted


class ReaderCutOff(Exception):
    """An optional event-ring reader fell a whole ring behind and lost records.

    Raised by every read until the reader calls ``rejoin()``; ``lost_from`` is the
    first sequence it did not get.
    """

    def __init__(self, ring: str, reader: int, lost_from: int) -> None:
        super().__init__(
            f"event ring {ring}: optional reader {reader} was overrun by the writer and "
            f"cut off; records from sequence {lost_from} are lost (call rejoin() to resume)"
        )
        self.ring = ring
        self.reader = reader
        self.lost_from = lost_from
