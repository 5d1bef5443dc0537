"""Ring records: how inputs and events are laid out in the rings' slots.

Both kinds of ring carry the hot path's fixed-size records
(ringmatch.engine.records.layout), one record per slot, written and read as
numpy arrays (``put_array`` / ``try_put_array``, ``get_array``):

* input rings (gateway worker k -> core, and the control ring): INPUT_DTYPE
  records, 64 bytes; an input with text (KILL_SWITCH, SET_RISK_LIMITS) takes
  its continuation records in the slots after it;
* the event ring: EVENT_DTYPE records, 80 bytes, exactly what the kernel
  writes (a TRADE is two records, the maker's then the taker's).

A reader's batch may end inside an input or a trade: ringmatch.engine.records.stream
keeps the rest for the next batch. The slot sizes are the record sizes: the
rings themselves stay generic (any record of at most a slot).

Nothing here imports the records: the sizes are restated.
"""

from __future__ import annotations

from typing import Final

INPUT_SLOT: Final = 64
"""layout.INPUT_SIZE (the rings rank beside the records, so they cannot import them;
ringmatch.engine.core.pipeline checks the two agree)."""
EVENT_SLOT: Final = 80
"""layout.EVENT_SIZE (checked likewise)."""
