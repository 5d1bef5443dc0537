"""``ringmatch journal convert SRC DST``: a journal rewritten in record frames.

Reads every whole batch of the journal in ``SRC`` (msgpack frames of the
version before records, record frames, or both) and writes the same batches,
seq for seq, as record frames into ``DST``, which must hold no journal yet.
The records are what every reader of ``SRC`` gets: a msgpack frame's inputs
converted through the reader's Directory, each new name's DEFINE first, so the
ids are the ones recovery of ``SRC`` would give. A torn tail of ``SRC`` is left
out (and said); ``SRC`` is never changed. Snapshots are not copied: one
written before records holds no ids, and a kernel's snapshot is rewritten by
the next core that runs.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from ringmatch.engine.journal.files import OS_FILES, FileLayer
from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import JournalError, JournalReader, JournalWriter, list_segments


class Converted(NamedTuple):
    batches: int
    last_seq: int
    torn_tail: str | None  # what was left out, if anything


def convert(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, files: FileLayer = OS_FILES
) -> Converted:
    """Write ``src``'s journal as record frames into ``dst``; what was written."""
    dst = os.fspath(dst)
    if os.path.isdir(dst) and list_segments(files, dst):
        raise JournalError(f"{dst} holds a journal already: convert into an empty directory")
    reader = JournalReader(src, files=files)
    writer: JournalWriter | None = None
    batches = 0
    try:
        for batch in reader.record_batches():
            if writer is None:  # the first batch's predecessor is the journal's start
                writer = JournalWriter(
                    dst, fsync=FsyncPolicy.never(), files=files, start_after=batch.prev_seq
                )
            writer.append_records(
                batch.records, first_seq=batch.first_seq, last_seq=batch.last_seq, flags=batch.flags
            )
            batches += 1
    finally:
        if writer is not None:
            writer.close()  # synced: a clean close syncs whatever the policy
    torn = reader.torn_tail
    return Converted(batches, reader.last_seq, None if torn is None else torn.describe())
