"""What the rings' ends do, for tests: inputs packed as records through the core's
names, event records read and decoded back.

The core gives names their ids (``Core.define_names``, at start from the
configuration); a writer packs through a directory with the same names
(``RecordWriter``: a name without an id is an error, never defined here).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.stream import EventCarry
from ringmatch.engine.records.writer import RecordWriter
from ringmatch.engine.rings.event_reader import EventReader
from ringmatch.engine.schema.commands import Input
from ringmatch.engine.schema.events import Event


def records(inputs: Iterable[Input], directory: Directory) -> np.ndarray:
    """The input records of ``inputs`` (seq 0), as a gateway or the risk process writes them."""
    writer = RecordWriter(directory)
    writer.start()
    for inp in inputs:
        writer.add(inp)
    return L.join_records([writer.records()], L.INPUT_DTYPE)


class EventTaker:
    """Reads an event ring reader's records and decodes them, as a worker does."""

    def __init__(self, reader: EventReader, directory: Directory) -> None:
        self.reader = reader
        self.directory = directory
        self._carry = EventCarry()

    def records(self, timeout: float = 0.0) -> np.ndarray:
        return self._carry.take(self.reader.get_array(L.EVENT_DTYPE, timeout=timeout))

    def __call__(self, timeout: float = 0.0) -> list[Event]:
        return decode_events(self.records(timeout), self.directory)


def put(
    producer: object, inputs: Iterable[Input], directory: Directory, timeout: float = 5.0
) -> None:
    """Write ``inputs`` on a ring as records (a RingProducer's ``put_array``)."""
    producer.put_array(records(inputs, directory), timeout=timeout)  # type: ignore[attr-defined]


def stream_names(*extra_symbols: str, extra_accounts: Iterable[str] = ()) -> dict[str, list[str]]:
    """CoreConfig options naming tests.engine.strategies' symbols and accounts (and more)."""
    from tests.engine.strategies import ACCOUNTS, SYMBOLS

    return {
        "symbols": [*SYMBOLS, *extra_symbols],
        "accounts": [*ACCOUNTS, *extra_accounts],
    }
