"""The live core's side of a test, without rings: inputs become records through a Directory
(new names defined first), run through a reference kernel, events decoded back.

What the core does per batch (engine/core/loop.py), for tests that journal by hand and
compare what recovery rebuilds with what ran live; ``snapshot`` writes what the core's
snapshot would.
"""

from __future__ import annotations

from pathlib import Path

from ringmatch.engine.core.journal_run import JournalRun, write_snapshot
from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.core.recovery import run_recovery
from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.inputs import InputPacker
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import Input
from ringmatch.engine.schema.events import Event


class LiveKernel:
    def __init__(self, resolve: StageResolver = no_stages, run: JournalRun | None = None) -> None:
        if run is None:
            run = JournalRun(ReferenceKernel(resolve=resolve), Directory(), ".")
        assert isinstance(run.kernel, ReferenceKernel)
        self.kernel = run.kernel
        self.directory = run.directory
        self.packer = InputPacker(self.directory)
        self.run = run

    @classmethod
    def recovered(cls, data_dir: str | Path, resolve: StageResolver = no_stages) -> LiveKernel:
        """The live side after a restart: recovery's reference kernel and directory."""
        done = run_recovery(
            data_dir, resolve=resolve, make=lambda: ReferenceKernel(resolve=resolve)
        )
        return cls(resolve, done.run)

    @property
    def logic(self) -> CoreLogic:
        return self.kernel.logic

    @property
    def last_seq(self) -> int:
        return self.kernel.last_seq

    def process(self, inp: Input, seq: int) -> list[Event]:
        return self.batch([(seq, inp)])

    def batch(self, records: list[tuple[int, Input]]) -> list[Event]:
        packer = self.packer
        packer.start()
        for seq, inp in records:
            packer.add(inp, seq)
        return decode_events(self.run.process(packer.records()), self.directory)

    def snapshot(self, data_dir: str | Path) -> str:
        return write_snapshot(data_dir, self.kernel, self.directory)
