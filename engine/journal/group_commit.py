"""Group commit with the fsync off the core's thread: batch k syncs while k+1 is matched.

    core thread:  write k ─ match k ─ write k+1 ─ match k+1 ─ publish k ─ ...
    sync thread:          └─ fdatasync (k) ───────────────┘└─ fdatasync (k+1) ...

Under the every-batch policy the core used to append, fdatasync, match, publish:
the sync (about 356 µs p50 on this machine's disk) sat in front of the matching.
Here the core writes the batch (the kernel has it: a process crash loses nothing),
hands the fdatasync to a thread of its own (ringmatch.engine.journal.syncers: a
compiled loop that never takes the GIL, so the sync starts at once and runs
beside the matching) and matches at once; the batch's events are *held* and
published only when a sync that covers the batch returns. So no reader (the
sessions, risk, the feed, Redis) ever sees an event a machine crash could undo,
exactly as before; what overlaps the disk is the matching of this batch and of
the batches that come while it syncs. Those are written meanwhile and covered by
the next sync: one fdatasync in flight at a time, each covering everything
written before it began, so a burst costs one sync per disk round, not one per
batch.

The thread only syncs; everything the writer keeps (sizes, ``durable_seq``,
the failure) is changed on the core's thread, in ``settle``. A new segment is
started only with no sync in flight (the writer syncs and closes the old file
inline then). A failed sync spends the writer (``JournalWriter.sync_failed``):
the held events are never published, and ``settle`` raises the error.

``done_fd`` is readable when a sync has returned: the core's wait watches it
(ringmatch.engine.rings.fan_in ``FanIn.add_wake_fd``, the compact topology's
event loop ``add_reader``), then calls ``settle``.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import numpy as np

from ringmatch.engine.journal.log import JournalWriter, SyncTarget
from ringmatch.engine.journal.syncers import Syncer, syncer_for


class GroupCommit:
    """``publish``: where events go once the journal holds their inputs durably;
    ``syncer``: who syncs (ringmatch.engine.journal.syncers; None: the best there is)."""

    __slots__ = ("_held", "_inflight", "_publish", "_syncer", "writer")

    def __init__(
        self,
        writer: JournalWriter,
        publish: Callable[[np.ndarray], None],
        syncer: str | None = None,
    ) -> None:
        self.writer = writer
        self._publish = publish
        # Events waiting for a sync, in publish order: (the seq that must be durable, events).
        self._held: collections.deque[tuple[int, np.ndarray]] = collections.deque()
        self._inflight: SyncTarget | None = None
        self._syncer: Syncer = syncer_for(writer, syncer)

    @property
    def syncer(self) -> str:
        """Which syncer runs the syncs (its class name)."""
        return type(self._syncer).__name__

    @property
    def done_fd(self) -> int:
        """Readable once a sync has returned: call ``settle``."""
        return self._syncer.done_fd

    @property
    def busy(self) -> bool:
        """A sync in flight or events held for one."""
        return self._inflight is not None or bool(self._held)

    def write(self, records: np.ndarray, *, first_seq: int, last_seq: int, flags: int) -> None:
        """Journal the batch (written, not synced) and start a sync if none is in flight."""
        if self.writer.will_start_segment and self._inflight is not None:
            self._collect(block=True)  # the writer syncs and closes the old file inline
        self.writer.append_records(
            records, first_seq=first_seq, last_seq=last_seq, flags=flags, sync=False
        )
        if self._inflight is None:
            self._release()  # a new segment synced the old one whole
            self._start()

    def hold(self, events: np.ndarray) -> None:
        """Events of the inputs journalled so far: published once they are durable."""
        if not len(events):
            return
        need = self.writer.last_seq
        if not self._held and need <= self.writer.durable_seq:
            self._publish(events)  # nothing to wait for (rejects of unsequenced inputs)
        else:
            # A copy: the kernel's events are a view of its buffer, reused next batch.
            self._held.append((need, events.copy()))

    def settle(self, wait: bool = False) -> None:
        """Take a returned sync, publish the events it made durable, start the next
        sync if more is written; ``wait``: until nothing is in flight or held.
        Raises the sync's OSError if it failed (the writer is then spent)."""
        while True:
            self._collect(block=wait)
            self._release()
            if self._inflight is None and self.writer.last_seq > self.writer.durable_seq:
                self._start()
            if not wait or not self.busy:
                return

    def _collect(self, block: bool) -> None:
        """The sync in flight, if it has returned (``block``: once it has)."""
        target = self._inflight
        if target is None:
            return
        returned, error = self._syncer.poll(block)
        if not returned:
            return
        self._inflight = None
        if error is not None:
            self._held.clear()  # never published: the journal may not hold them
            self.writer.sync_failed(error)
            raise error
        self.writer.mark_synced(target)

    def _release(self) -> None:
        durable = self.writer.durable_seq
        while self._held and self._held[0][0] <= durable:
            self._publish(self._held.popleft()[1])

    def _start(self) -> None:
        target = self.writer.sync_target()
        self._inflight = target
        self._syncer.start(target)

    def close(self) -> None:
        """Stop the syncer (after the sync in flight, if any); what is held stays held."""
        self._syncer.close()
