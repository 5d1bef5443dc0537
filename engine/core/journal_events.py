"""The events of a journal: its inputs run again through the core's own stage chain.

    logic = start_logic(data_dir, snapshot=False)   # the journal's start (True: its snapshot)
    for events in journal_events(data_dir, logic, upto_seq=N):
        ...                                          # one list per journal batch
    logic.last_seq                                   # the last seq run (0: nothing)

The stage chain (ringmatch.engine.core.stage_chain: client order ids, then pre-trade, then
matching) is deterministic, so running the journalled inputs through it again,
with each input's own seq and the same pre-trade stage as the live core (its
limits and kill switches come from the journalled control inputs), gives the
events the core published for them, in the same order, with the same seqs.
That is how a process that starts after the core (a gateway worker, the feed)
learns what happened before it: the event ring is new with each ``serve`` and
carries only what comes after the core's recovered seq (``ready last_seq=N``),
the journal everything up to it.

``upto_seq`` bounds the replay (None: as far as the journal is written now): a
live core keeps appending, and what it appends after N reaches the reader on
the ring. A torn tail is left alone (recovery, not this, cuts it off); damage
raises ringmatch.engine.journal.log.JournalCorrupt.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.log import JournalReader
from ringmatch.engine.schema.events import Event


def journal_events(
    data_dir: str | os.PathLike[str], logic: CoreLogic, upto_seq: int | None = None
) -> Iterator[list[Event]]:
    """The events of every journalled input after ``logic.last_seq`` and up to
    ``upto_seq``, run through ``logic``: one list per journal batch (empty if the
    batch gave none), in seq order. Afterwards ``logic.last_seq`` is the last seq run."""
    process = logic.process
    for batch in JournalReader(data_dir, after_seq=logic.last_seq).batches():
        events: list[Event] = []
        for seq, inp in batch:
            if upto_seq is not None and seq > upto_seq:
                yield events
                return
            events += process(inp, seq)
        yield events
