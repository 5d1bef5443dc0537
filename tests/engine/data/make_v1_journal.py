"""Writes tests/engine/data/v1-journal: a data directory as the version before records
left it (msgpack frames, magic RMJ2, of the inputs the core had translated).

    python -m tests.engine.data.make_v1_journal

The frames are what that version's JournalWriter wrote, byte for byte (checked against
commit 8df5ed5's JournalWriter; the encoder is kept as
ringmatch.engine.journal.v1.V1FrameEncoder); the inputs are
tests/engine/test_journal_records.session_stream, in two batches.
"""

from __future__ import annotations

from pathlib import Path

from tests.engine.test_journal_records import session_stream, write_v1_journal

HERE = Path(__file__).parent / "v1-journal"

if __name__ == "__main__":
    inputs = session_stream()
    for old in HERE.glob("*"):
        old.unlink()
    write_v1_journal(HERE, [list(enumerate(inputs[:6], 1)), list(enumerate(inputs[6:], 7))])
    print(f"wrote {HERE}")
