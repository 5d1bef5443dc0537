"""The core's kernel with the risk stage on: compiled (StagedKernel) against the reference.

Through the core's own path: ``kernel_for`` makes the kernel a journal naming
"risk" calls for, a JournalRun feeds it batches (as the live core, recovery
and every journal reader do). The reference is the ReferenceKernel running
PreTradeRisk in its stage chain, the compiled path the compiled kernel with
its stage switched on by the StageChain record and its limits set from each
SET_RISK_LIMITS payload at its place. Their event records must be the same
bytes, batch by batch, and a kernel recovered from a snapshot (its dump) and
the journal after it must go on as the straight run does.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch import stages
from ringmatch.engine.core.journal_run import (
    JournalRun,
    kernel_for,
    kernel_name,
    start_run,
    write_snapshot,
)
from ringmatch.engine.core.recovery import run_recovery
from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.core.staged_kernel import StagedKernel
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import Encoder
from ringmatch.engine.records.inputs import InputPacker
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import (
    Input,
    KillSwitch,
    NewOrder,
    SetRiskLimits,
    StageChain,
)
from ringmatch.engine.schema.enums import OrderType, RejectReason, Side
from ringmatch.risk import limits
from ringmatch.risk.limits import AccountLimits, RiskConfig
from tests.kernel.differential import assert_same_events, compiled, examples
from tests.kernel.record_streams import owners
from tests.kernel.test_risk_differential import ACCOUNTS, SYMBOLS, configs, risk_streams


def staged() -> StagedKernel:
    compiled()  # skips where the compiled kernel was not built
    kernel = kernel_for(True, stages.resolve, {stages.RISK})()
    assert isinstance(kernel, StagedKernel), "the risk stage runs compiled"
    return kernel


def reference() -> ReferenceKernel:
    return ReferenceKernel(resolve=stages.resolve)


def names() -> Directory:
    # Names in id order (as test_risk_differential's): a global kill switch cancels
    # by name in PreTradeRisk, by id in the kernel.
    return Directory(SYMBOLS, ACCOUNTS)


@st.composite
def staged_streams(draw: st.DrawFn) -> list[Input]:
    """A risk stream with the StageChain first, limits at its start now and then, and
    now and then the stage switched off and on again (its state starting empty)."""
    body = draw(risk_streams())
    head: list[Input] = [StageChain(stages.RISK, 0)]
    if draw(st.booleans()):
        head.append(SetRiskLimits(limits.encode(draw(configs(new_names=False)))))
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(body)))
        body.insert(at, StageChain(draw(st.sampled_from([None, stages.RISK])), 0))
    return head + body


def encode(stream: list[Input]) -> np.ndarray:
    directory = names()
    body = Encoder(directory).encode(stream, first_seq=1)
    return np.concatenate([directory.define_records(), body], dtype=L.INPUT_DTYPE)


def run_batches(kernel: Any, records: np.ndarray, cuts: list[int]) -> list[bytes]:
    run = JournalRun(kernel, names(), "/nonexistent")
    bounds = [0, *sorted(set(cuts)), len(records)]
    return [run.process(records[a:b]).tobytes() for a, b in itertools.pairwise(bounds) if a < b]


@settings(max_examples=examples(100), deadline=None)
@given(st.data())
def test_the_compiled_stage_gives_the_reference_events(data: st.DataObject) -> None:
    records = encode(data.draw(staged_streams()))
    cuts = data.draw(st.lists(st.sampled_from(owners(records)), max_size=6))
    got = run_batches(staged(), records, cuts)
    want = run_batches(reference(), records, cuts)
    for g, w in zip(got, want, strict=True):
        assert_same_events(np.frombuffer(g, L.EVENT_DTYPE), np.frombuffer(w, L.EVENT_DTYPE))
    assert got == want


@settings(max_examples=examples(50), deadline=None)
@given(st.data())
def test_a_kernel_loaded_from_its_dump_goes_on_as_the_straight_run(data: st.DataObject) -> None:
    records = encode(data.draw(staged_streams()))
    starts = owners(records)
    cut = data.draw(st.sampled_from(starts))
    straight = JournalRun(staged(), names(), "/nonexistent")
    first = straight.process(records[:cut]).tobytes()
    dump = straight.kernel.dump()
    rest = straight.process(records[cut:]).tobytes()

    loaded = staged()
    loaded.load(dump)
    again = JournalRun(loaded, names(), "/nonexistent")
    assert again.process(records[cut:]).tobytes() == rest
    assert loaded.dump() == straight.kernel.dump()
    # And the reference agrees with both.
    want = run_batches(reference(), records, [cut])
    assert b"".join(want) == first + rest


def test_limits_naming_an_account_defined_later_take_effect_once_it_is() -> None:
    directory = Directory(SYMBOLS, ACCOUNTS)
    config = RiskConfig(accounts=[AccountLimits(account="late", max_order_qty=1)])
    early: list[Input] = [StageChain(stages.RISK, 0), SetRiskLimits(limits.encode(config))]
    first = np.concatenate(
        [directory.define_records(), Encoder(directory).encode(early, first_seq=1)],
        dtype=L.INPUT_DTYPE,
    )
    order = NewOrder(1, "late", SYMBOLS[0], Side.BUY, OrderType.LIMIT, 100, 5)
    events = {}
    for kind, kernel in (("compiled", staged()), ("reference", reference())):
        run = JournalRun(kernel, Directory(SYMBOLS, ACCOUNTS), "/nonexistent")
        run.process(first)
        later = Encoder(run.directory).encode([order], first_seq=3)  # defines "late"
        events[kind] = run.process(later)
    assert_same_events(events["compiled"], events["reference"])
    rejected = events["compiled"][events["compiled"]["kind"] == L.REJECTED]
    assert rejected["reason"].tolist() == [L.REJECT_REASON_CODE[RejectReason.RISK_MAX_QTY]]


def test_kernel_for_runs_risk_compiled_and_any_other_stage_on_the_reference() -> None:
    assert isinstance(staged(), StagedKernel)
    other = kernel_for(True, stages.resolve, {stages.RISK, "tests.engine.marker_stage:MarkerStage"})
    assert isinstance(other(), ReferenceKernel)
    assert isinstance(kernel_for(True, stages.resolve)(), ReferenceKernel)  # no spec given
    assert kernel_name(staged()).startswith("compiled, with its risk stage")


def test_pure_runs_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RINGMATCH_PURE", "1")
    assert isinstance(kernel_for(True, stages.resolve, {stages.RISK})(), ReferenceKernel)


def test_a_dump_of_another_kernel_is_refused() -> None:
    kernel = staged()
    with pytest.raises(ValueError, match="not a dump of the compiled kernel with its stage"):
        kernel.load(reference().dump())
    with pytest.raises(ValueError, match="not a reference kernel's dump"):
        reference().load(staged().dump())
    with pytest.raises(ValueError, match=r"RKC1 v1 has none|magic"):
        compiled().load(staged().dump())


# -- recovery from a snapshot and the journal -------------------------------------


def journal(tmp_path: Path, stream: list[Input], snap_at: int | None) -> tuple[bytes, list[bytes]]:
    """Journal ``stream`` (batches of 7) and run it live through the staged kernel,
    snapshotting after the batch that ends at or past ``snap_at``: the live kernel's last
    dump and its events per batch."""
    run = JournalRun(staged(), Directory(), str(tmp_path))
    packer = InputPacker(run.directory)
    writer = JournalWriter(tmp_path)
    out = []
    for i in range(0, len(stream), 7):
        batch = [(run.kernel.last_seq + 1 + j, c) for j, c in enumerate(stream[i : i + 7])]
        writer.append_batch(batch)
        packer.start()
        for seq, inp in batch:
            packer.add(inp, seq)
        out.append(run.process(packer.records()).tobytes())
        if snap_at is not None and i <= snap_at < i + 7:
            write_snapshot(tmp_path, run.kernel, run.directory)
    writer.close()
    return run.kernel.dump(), out


@settings(max_examples=examples(25), deadline=None)
@given(st.data())
def test_recovery_from_a_staged_snapshot_is_the_live_run(data: st.DataObject) -> None:
    import tempfile

    stream = data.draw(staged_streams())
    snap_at = data.draw(st.integers(0, max(0, len(stream) - 1)))
    with tempfile.TemporaryDirectory() as tmp:
        live, _ = journal(Path(tmp), stream, snap_at)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the snapshot is taken, none passed over
            start = start_run(tmp, resolve=stages.resolve)
            assert isinstance(start.kernel, StagedKernel)
            assert start.kernel.last_seq > 0
            done = run_recovery(tmp, resolve=stages.resolve)
        assert done.run.kernel.dump() == live
        # The journal alone, through the reference kernel, ends in the same books.
        with pytest.warns(UserWarning, match="a snapshot of another kernel"):
            ref = run_recovery(tmp, resolve=stages.resolve, make=reference)
        assert ref.last_seq == done.last_seq
        for ident in range(1, len(done.run.directory.symbols) + 1):
            assert done.run.kernel.l3(ident).tobytes() == ref.run.kernel.l3(ident).tobytes()


def test_a_reference_snapshot_is_passed_over_by_the_staged_kernel(tmp_path: Path) -> None:
    stream: list[Input] = [
        StageChain(stages.RISK, 0),
        NewOrder(1, ACCOUNTS[0], SYMBOLS[0], Side.BUY, OrderType.LIMIT, 99, 1),
        KillSwitch(ACCOUNTS[0], True, False),
    ]
    live, _ = journal(tmp_path, stream, None)
    run = JournalRun(reference(), Directory(), str(tmp_path))
    run.feed()
    write_snapshot(tmp_path, run.kernel, run.directory)
    with pytest.warns(UserWarning, match="a snapshot of another kernel"):
        start = start_run(tmp_path, resolve=stages.resolve)
    assert isinstance(start.kernel, StagedKernel) and start.kernel.last_seq == 0
    start.feed()
    assert start.kernel.dump() == live


def test_a_stage_chain_to_a_stage_it_cannot_run_is_refused_by_name() -> None:
    # kernel_for picks the reference kernel for a journal naming such a stage; a
    # StagedKernel handed one anyway says so rather than run without it.
    records = encode([StageChain("tests.engine.marker_stage:MarkerStage", 0)])
    with pytest.raises(ValueError, match=r"MarkerStage.*a stage the compiled kernel cannot run"):
        staged().process(records)
