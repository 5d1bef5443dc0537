"""The events of a journal: its input records run again through the kernel the core ran.

    run = start_run(data_dir, snapshot=False)        # the journal's start (True: its snapshot)
    for events in journal_events(run, upto_seq=N):
        ...                                          # one list of Events per journal batch
    run.last_seq                                     # the last seq run (0: nothing)

The kernel is deterministic, so running the journalled input records through
it again, with each input's own seq and the same pre-trade stage as the live
core (ringmatch.engine.core.journal_run.kernel_for; its limits and kill
switches come from the journalled control inputs), gives the events the core
published for them, in the same order, with the same seqs. That is how a
process that starts after the core (a gateway worker, the feed) learns what
happened before it: the event ring is new with each ``serve`` and carries
only what comes after the core's recovered seq (``ready last_seq=N``), the
journal everything up to it. The event records become Events through the
run's directory, which the journal's DEFINE records and the kernel's NAME
events keep up to date.

``upto_seq`` bounds the replay (None: as far as the journal is written now): a
live core keeps appending, and what it appends after N reaches the reader on
the ring. A torn tail is left alone (recovery, not this, cuts it off); damage
raises ringmatch.engine.journal.log.JournalCorrupt.
"""

from __future__ import annotations

from collections.abc import Iterator

from ringmatch.engine.core.journal_run import JournalRun
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.schema.events import Event


def journal_events(run: JournalRun, upto_seq: int | None = None) -> Iterator[list[Event]]:
    """The events of every journalled input after ``run.last_seq`` and up to
    ``upto_seq``: one list per journal batch (empty if the batch gave none), in seq
    order. Afterwards ``run.last_seq`` is the last seq run."""
    directory = run.directory
    for _, events in run.batches(upto_seq):
        yield decode_events(events, directory)
