"""The event ring's header: which 8-byte word of the segment holds what.

The ring (event_ring), its writer and its readers all read these; they live
here so that each imports them downward, and none imports another. The writer
has a cache line of its own, and so does each reader, so that no one's stores
invalidate the line another spins on.
"""

from __future__ import annotations

from ringmatch.engine.rings.slots import WORDS_PER_LINE

MAGIC = 0x524D_4556_4E54  # "RMEVNT"
MAX_READERS = 64
PUBLISHED = 1 * WORDS_PER_LINE  # writer's line: next sequence to be published
CLAIMED = PUBLISHED + 1  # end of the batch being written (>= PUBLISHED)
WRITER_SLEEPING = PUBLISHED + 2
# Reader k's line starts at word (2 + k) * WORDS_PER_LINE, fields at these offsets:
CURSOR, SLEEPING, REQUIRED, CUT_OFF = 0, 1, 2, 3


def reader_word(reader: int, field: int) -> int:
    return (2 + reader) * WORDS_PER_LINE + field
