"""Recovery through the compiled kernel's own snapshots (its dump, RKC1).

The core runs the compiled kernel when no pre-trade stage is configured, so
its snapshots are the compiled kernel's dumps. Recovery from such a snapshot
plus the journal after it must give the state a recovery from the journal
alone gives, and the state the live kernel had: compared as dumps, which
hold the whole logical state (books in queue order, ids used, client ids,
sessions, counters).
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path
from typing import Any

from ringmatch.engine.core.journal_run import JournalRun, start_run, write_snapshot
from ringmatch.engine.core.recovery import run_recovery
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.records.inputs import InputPacker
from ringmatch.engine.records.names import Directory
from tests.engine.strategies import journalable, random_stream
from tests.kernel.differential import compiled


def recovered(data_dir: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no snapshot passed over
        return run_recovery(data_dir, make=compiled).run


def test_recovery_from_a_compiled_snapshot_is_recovery_from_the_journal(tmp_path: Path) -> None:
    rng = random.Random(11)
    cmds = journalable(random_stream(rng, 3000))
    run = JournalRun(compiled(), Directory(), str(tmp_path))
    packer = InputPacker(run.directory)
    writer = JournalWriter(tmp_path)
    snapped = None
    for i in range(0, len(cmds), 100):
        batch = [(run.kernel.last_seq + 1 + j, c) for j, c in enumerate(cmds[i : i + 100])]
        writer.append_batch(batch)
        packer.start()
        for seq, inp in batch:
            packer.add(inp, seq)
        run.process(packer.records())
        if i == 1500:
            snapped = write_snapshot(tmp_path, run.kernel, run.directory)
    writer.close()
    assert snapped is not None and Path(snapped).read_bytes()[28:32] == b"RKC1"
    live = run.kernel.dump()

    # Recovery starts from the snapshot (taken at seq 1600), not the journal's start.
    assert start_run(tmp_path, make=compiled).kernel.last_seq == 1600
    from_snapshot = recovered(tmp_path)
    assert from_snapshot.kernel.last_seq == len(cmds)
    assert from_snapshot.kernel.dump() == live
    assert from_snapshot.directory.symbols.names() == run.directory.symbols.names()

    Path(snapped).unlink()
    from_journal = recovered(tmp_path)
    assert from_journal.kernel.dump() == live
