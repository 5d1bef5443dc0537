"""Positions after a restart: the risk consumer rebuilds its state from the journal.

    replay_journal(service, data_dir, upto_seq)    # before reading the event ring

The risk process starts empty, but the journal holds every input since the
first start (it is never pruned; snapshots hold books, not P&L). Replaying it
through the core's own stage chain (engine.core_logic with risk.pretrade, so
the same pre-trade decisions, from the journalled SetRiskLimits) gives the
same events the core published, hence the same trades, positions and P&L.

``upto_seq`` is the core's ``ready last_seq=N``: the event ring is new with
each ``serve``, so everything after N arrives on the ring and everything up to
N only in the journal; nothing is counted twice or missed. Kill switches seen
in the journal are noted (and a later "off" re-arms the account's post-trade
limits), but nothing is sent: those commands were journalled, so applied, the
first time.
"""

from __future__ import annotations

import os

from engine.commands import KillSwitch
from engine.core_logic import CoreLogic
from engine.journal import JournalReader
from risk.pretrade import PreTradeRisk
from risk.service import RiskService


def replay_journal(
    service: RiskService, data_dir: str | os.PathLike[str], upto_seq: int | None
) -> int:
    """Feed ``service`` the events of journalled inputs up to ``upto_seq`` (None: all);
    the last seq replayed (0: an empty journal)."""
    if not os.path.isdir(data_dir):
        return 0
    logic = CoreLogic(pretrade=PreTradeRisk())
    last = 0
    with service.replaying():
        for batch in JournalReader(data_dir).batches():
            for seq, inp in batch:
                if upto_seq is not None and seq > upto_seq:
                    return last
                service.on_events(logic.process(inp, seq))
                if type(inp) is KillSwitch:
                    service.note_kill(inp)
                last = seq
    return last
