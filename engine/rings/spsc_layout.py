"""The SPSC ring's header: which 8-byte word of the segment holds what.

The ring (spsc_ring) and its two endpoints (producer, consumer) all read these;
they live here so that each imports them downward, and none imports another.
Each side's words sit on a cache line of their own (slots.LINE), so the producer's
stores never invalidate the line the consumer spins on, and the other way round.
"""

from __future__ import annotations

from ringmatch.engine.rings.slots import LINE, WORDS_PER_LINE

MAGIC = 0x524D_5350_5343  # "RMSPSC"
PUBLISHED = 1 * WORDS_PER_LINE  # producer's line: next sequence to be published
PRODUCER_SLEEPING = PUBLISHED + 1
CONSUMED = 2 * WORDS_PER_LINE  # consumer's line: next sequence to be consumed
CONSUMER_SLEEPING = CONSUMED + 1
SLOTS_AT = 3 * LINE
BELLS = ("data", "space")  # rung for a sleeping consumer / a sleeping producer
