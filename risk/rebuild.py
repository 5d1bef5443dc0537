"""Positions from the journal: after a restart, and after a cut-off from the event ring.

    replay_journal(service, data_dir, upto_seq)    # at start, before reading the event ring
    replay_after(data_dir, seq, count, deliver)    # cut off: the events the ring skipped

The risk process starts empty, but the journal holds every input since the
first start (it is never pruned; snapshots hold books, not P&L). Replaying its
records through the kernel the core ran (ringmatch.engine.core.journal_run:
with the pre-trade stage the journal names in its StageChain inputs, so the
same pre-trade decisions, from the journalled SetRiskLimits; skipping the
seqs its SkipInputs name) gives the same events the core published, hence
the same trades, positions and P&L.

``upto_seq`` is the core's ``ready last_seq=N``: the event ring is new with
each ``serve``, so everything after N arrives on the ring and everything up to
N only in the journal; nothing is counted twice or missed. Kill switches seen
in the journal are noted (and a later "off" re-arms the account's post-trade
limits), but nothing is sent: those commands were journalled, so applied, the
first time.

``replay_after`` is the catch-up of a consumer that the event ring cut off (it
is an optional reader, so the core never waits for it): the events of every
journalled input after the ones it has counted (all of the seqs before ``seq``
and the first ``count`` events of ``seq``: events of one input are
deterministic, so the replay's first ``count`` are the ones it saw), as far
as the journal is written. It starts from the newest snapshot before ``seq``
when there is one (books, client ids and pre-trade state: all it needs to
produce the same events), else from the journal's start.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ringmatch.engine.core.journal_run import start_run
from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.records import layout
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.inputs import decode_inputs
from ringmatch.engine.schema.commands import KillSwitch
from ringmatch.engine.schema.events import Event
from ringmatch.risk.service import RiskService


def replay_journal(
    service: RiskService,
    data_dir: str | os.PathLike[str],
    upto_seq: int | None,
    resolve: StageResolver = no_stages,
) -> int:
    """Feed ``service`` the events of journalled inputs up to ``upto_seq`` (None: all);
    the last seq replayed (0: an empty journal)."""
    if not os.path.isdir(data_dir):
        return 0
    run = start_run(data_dir, snapshot=False, resolve=resolve)
    directory = run.directory
    with service.replaying():
        for records, events in run.batches(upto_seq):
            decoded = decode_events(events, directory)
            if (records["kind"] == layout.KILL_SWITCH).any():
                # Noted in seq order with the events around it (a rare input).
                kills = {
                    seq: inp
                    for seq, inp in decode_inputs(records, directory)
                    if type(inp) is KillSwitch
                }
                for seq, kill in sorted(kills.items()):
                    service.on_events([e for e in decoded if e.seq <= seq])
                    decoded = [e for e in decoded if e.seq > seq]
                    service.note_kill(kill)
            service.on_events(decoded)
    return run.last_seq


def replay_after(
    data_dir: str | os.PathLike[str],
    seq: int,
    count: int,
    deliver: Callable[[list[Event]], object],
    resolve: StageResolver = no_stages,
) -> int:
    """``deliver`` the events of journalled inputs after the first ``count`` of ``seq``,
    one list per journal batch (none empty), as far as the journal is written now;
    the last seq in the journal (``seq`` or more: what was counted was journalled)."""
    run = start_run(data_dir, upto=seq - 1, resolve=resolve)
    last = max(seq, run.last_seq)
    directory = run.directory
    for _, records in run.batches():
        out: list[Event] = []
        seen = 0  # events of ``seq`` so far
        for e in decode_events(records, directory):
            s = e.seq
            if s > seq:
                out.append(e)
            elif s == seq:
                if seen >= count:
                    out.append(e)
                seen += 1
        last = max(last, run.last_seq)
        if out:
            deliver(out)
    return last
