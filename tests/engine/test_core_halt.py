"""Halts: an input the core cannot apply, and a journal that cannot be written.

    input the core cannot apply ──▶ halt (events before it published, none after)
        ──▶ restart refused (names the seq) ──▶ restart with --skip-seq (journalled)
        ──▶ replay and later restarts skip it without being told
    journal write / fdatasync fails (ENOSPC, EIO) ──▶ halt, nothing of the batch
        published ──▶ restart recovers what was synced

In this process (the core's own objects over real rings, the journal on the
fault-injecting file layer of faulty_fs.py), then with real core processes
(``python -m ringmatch.engine.core.pipeline``), and once on a real tmpfs that fills up.
Nothing waits by sleeping: the tests block on the event ring, on ready lines
and on process exits, with deadlines.
"""

from __future__ import annotations

import errno
import os
import random
import select
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from ringmatch.engine.core.loop import EXIT_HALTED, EXIT_JOURNAL_FAILED, Core, CoreHalted
from ringmatch.engine.core.pipeline import (
    CoreConfig,
    PipelineRings,
    StartRefused,
    build_core,
    create_rings,
)
from ringmatch.engine.core.recovery import (
    SkipRefused,
    journalled_skips,
    load_snapshot,
    recover_core,
    run_recovery,
)
from ringmatch.engine.core.sequence import LocalSequence
from ringmatch.engine.core.stage_chain import CoreLogic, InputFailed
from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import JournalReader, JournalWriter, Record
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import decode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.rings.event_reader import EventReader
from ringmatch.engine.rings.event_ring import EventRing, EventRingSpec
from ringmatch.engine.rings.fan_in import FanIn
from ringmatch.engine.rings.spsc_ring import RingSpec, SpscRing
from ringmatch.engine.schema.commands import Input, NewOrder, SetPhase, SkipInput, StageChain
from ringmatch.engine.schema.enums import OrderType, Side, TradingPhase
from ringmatch.engine.schema.events import Event, Trade, event_to_dict
from ringmatch.stages import resolve
from tests.conftest import need
from tests.engine.faulty_fs import FaultyFiles
from tests.engine.marker_stage import POISON, SPEC
from tests.engine.ring_records import put

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 60.0
REPLAY = [sys.executable, "-m", "ringmatch.cli", "replay"]


def order(client: int, account: str = "a", side: Side = Side.BUY, price: int = 100) -> NewOrder:
    return NewOrder(
        0, account, "X", side, OrderType.LIMIT, price, 5, client_order_id=client, ts_ns=client
    )


# A batch the core takes whole: two orders that trade, the one it cannot apply, one more.
HALTING_BATCH = [
    order(1, "a"),
    order(2, "b", Side.SELL),
    order(3, POISON),
    order(4, "c", price=90),
]


# The names the core is configured with (it gives them ids at start); the writers' and
# readers' directory, the same names in the same order, has the same ids.
ACCOUNTS = ["a", "b", "c", "d", "e", "m", "n", "q", "r", "s", "t", POISON]
ACCOUNTS += [f"acct{k}" for k in range(4)]
NAMES_CONFIG: dict[str, object] = {"symbols": ["X"], "accounts": ACCOUNTS}
NAMES = Directory(["X"], ACCOUNTS)


@pytest.fixture
def rings() -> Iterator[PipelineRings]:
    r = create_rings("t" + uuid.uuid4().hex[:10], 1, [True], input_capacity=64)
    yield r
    r.close()


def take(reader: EventReader, timeout: float = 0) -> list[Event]:
    # The core publishes a batch's records at once: a read never splits a trade here.
    return decode_events(reader.get_array(L.EVENT_DTYPE, timeout=timeout), NAMES)


def journal(data: Path | str, files: FaultyFiles | None = None) -> list[Record]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no torn tail
        if files is None:
            return list(JournalReader(data))
        return list(JournalReader(data, files=files))


def books(logic: CoreLogic) -> list[object]:
    return [(s, logic.engine.l3(s)) for s in logic.engine.symbols()]


# -- an input that cannot be applied, in this process ------------------------------------------


def halt_on_the_poisoned_batch(rings: PipelineRings, data: Path) -> CoreHalted:
    """Run a core (stage: the marker stage) into the halting batch; its halt."""
    config = rings.core_config(str(data), pretrade=SPEC, **NAMES_CONFIG)
    core = build_core(config, resolve=resolve)
    assert core.logic.last_seq == 1  # seq 1: the StageChain naming the configured stage
    gateway = rings.inputs[0].producer()
    put(gateway, HALTING_BATCH, NAMES)  # one put: the core takes it whole
    try:
        with pytest.raises(CoreHalted) as halted:
            core.step(timeout=5.0)
    finally:
        core.close()
        gateway.close()
    return halted.value


def test_an_input_that_raises_halts_the_core_after_the_events_before_it(
    rings: PipelineRings, tmp_path: Path
) -> None:
    reader = rings.events.reader(0)
    halt = halt_on_the_poisoned_batch(rings, tmp_path)
    # Seqs: 1 StageChain, 2 and 3 trade, 4 cannot be applied, 5 comes after it.
    assert halt.status == EXIT_HALTED
    message = str(halt)
    assert message.startswith("halted at seq 4: NewOrder(order_id=0, account='poison'"), message
    assert "RuntimeError: test: a stage that cannot handle order 3" in message
    assert "the events of the 2 input(s) before it in its batch were published" in message
    assert "the journal is synced" in message and "--skip-seq 4" in message
    assert halt.detail.startswith("Traceback") and "marker_stage.py" in halt.detail
    report = halt.report().splitlines()
    assert (
        report[0] == f"ringmatch core: {message}"
        and report[1] == "Traceback (most recent call last):"
    )
    # Published: the inputs before it, and nothing of it or after it.
    events = take(reader)
    assert {e.seq for e in events} == {2, 3} and any(isinstance(e, Trade) for e in events)
    # Journalled (and synced: the file reads back whole) up to the batch's end; no
    # snapshot of a state the failed apply may have half changed.
    records = journal(tmp_path)
    assert [s for s, _ in records] == [1, 2, 3, 4, 5]
    assert records[0][1] == StageChain(SPEC, records[0][1].ts_ns)
    assert not list(tmp_path.glob("snapshot-*"))


def test_recovery_refuses_the_input_until_it_is_skipped_then_skips_it_for_good(
    rings: PipelineRings, tmp_path: Path
) -> None:
    halt_on_the_poisoned_batch(rings, tmp_path)
    with pytest.raises(InputFailed) as failed:
        run_recovery(tmp_path, resolve=resolve)
    assert failed.value.seq == 4 and isinstance(failed.value.input, NewOrder)
    assert failed.value.input.account == POISON

    def config(*skips: int) -> CoreConfig:
        return rings.core_config(
            str(tmp_path), pretrade=SPEC, skip_seqs=list(skips), **NAMES_CONFIG
        )

    with pytest.raises(StartRefused) as refused:
        build_core(config(), resolve=resolve)
    assert refused.value.status == EXIT_HALTED
    assert str(refused.value).startswith(
        "cannot start: recovery stopped before seq 4: NewOrder(order_id=0, account='poison'"
    )
    assert "--skip-seq 4" in str(refused.value) and "RuntimeError" in refused.value.detail
    # A skip must name the input that fails: another seq is refused, by name.
    with pytest.raises(StartRefused, match=r"--skip-seq 2: no journalled input at seq 2 failed"):
        build_core(config(4, 2), resolve=resolve)
    with pytest.raises(StartRefused, match="recovery stopped before seq 4"):
        build_core(config(5), resolve=resolve)  # seq 4 still fails first
    assert [s for s, _ in journal(tmp_path)] == [1, 2, 3, 4, 5]  # refusals journal nothing

    core = build_core(config(4), resolve=resolve)
    # Journalled before it is ready: a SkipInput naming seq 4. Seq 5, journalled after
    # the failed input and never acknowledged, is recovered like any journalled input.
    assert core.logic.last_seq == 6 and core.logic.engine.order(5) is not None
    assert core.logic.engine.order(4) is None
    core.close()
    records = journal(tmp_path)
    assert [(s, type(i)) for s, i in records[4:]] == [(5, NewOrder), (6, SkipInput)]
    assert records[5][1].seq == 4  # type: ignore[union-attr]
    # From now on the journal says it: no flag needed, and a repeated flag changes nothing.
    for skips in ((), (4,)):
        core = build_core(config(*skips), resolve=resolve)
        assert core.logic.last_seq == 6
        core.close()
    assert [s for s, _ in journal(tmp_path)] == [1, 2, 3, 4, 5, 6]


def test_snapshots_after_a_skip_agree_with_the_journal(
    rings: PipelineRings, tmp_path: Path
) -> None:
    halt_on_the_poisoned_batch(rings, tmp_path)
    core = build_core(
        rings.core_config(str(tmp_path), pretrade=SPEC, skip_seqs=[4], **NAMES_CONFIG),
        resolve=resolve,
    )
    gateway = rings.inputs[0].producer()
    put(gateway, [order(5, "d", Side.SELL, 90), order(6, "e", price=80)], NAMES)
    assert core.step(timeout=5.0) == 2
    core.snapshot()
    live = books(core.logic)
    core.close()
    gateway.close()
    from_snapshot = load_snapshot(tmp_path, resolve=resolve)
    assert from_snapshot is not None and from_snapshot.last_seq == 8
    assert from_snapshot.chain == SPEC and books(from_snapshot) == live
    for snap in tmp_path.glob("snapshot-*.rms"):
        snap.unlink()
    from_journal, last = recover_core(tmp_path, resolve=resolve)
    assert last == 8 and books(from_journal) == live


def test_a_journalled_skip_is_seen_before_the_seq_it_names(tmp_path: Path) -> None:
    """The skip acts before its own seq, across segments and whether or not the input
    would fail now (a fixed bug must not bring back an input the live core skipped)."""
    inputs: list[Input] = [order(k, f"acct{k}", price=100 - k) for k in range(1, 40)]
    with JournalWriter(tmp_path, segment_bytes=300) as writer:
        for seq, inp in enumerate(inputs, 1):
            writer.append_batch([(seq, inp)])
        writer.append_batch([(40, SkipInput(7)), (41, SkipInput(12))])
    logic, last = recover_core(tmp_path, resolve=resolve)
    assert last == 41 and journalled_skips(tmp_path) == {7, 12}
    resting = {o.order_id for o in logic.engine.l3("X")}
    assert resting == set(range(1, 40)) - {7, 12}
    # Recovery's fast path and a replay one input at a time agree.
    slow = CoreLogic(skipped=frozenset({7, 12}), resolve=resolve)
    events = [e for seq, inp in journal(tmp_path) for e in slow.process(inp, seq)]
    assert {e.seq for e in events} == set(range(1, 40)) - {7, 12}
    assert books(slow) == books(logic)
    with pytest.raises(SkipRefused, match="--skip-seq 9"):
        run_recovery(tmp_path, [9], resolve=resolve)


# -- a journal that cannot be written, on the fault-injecting file layer ----------------------


def faulty_core(
    rings: PipelineRings, fs: FaultyFiles, fsync: FsyncPolicy, overlap_sync: bool = False
) -> Core:
    sources = FanIn(
        [
            SpscRing.attach(RingSpec(rings.inputs[0].spec.name)),
            SpscRing.attach(RingSpec(rings.control.spec.name)),
        ]
    )
    journal_writer = JournalWriter("/j", files=fs, fsync=fsync)
    events = EventRing.attach(EventRingSpec(rings.events.spec.name))  # the core closes its own
    core = Core(
        sources,
        LocalSequence(),
        journal_writer,
        CoreLogic(resolve=resolve),
        events,
        "/j",
        control_ring=1,
        overlap_sync=overlap_sync,
    )
    core.define_names(["X"], ACCOUNTS)
    return core


@pytest.mark.parametrize(("kind", "call"), [("write", "write"), ("sync", "sync /j/")])
@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
def test_a_failed_journal_write_or_sync_halts_with_nothing_of_its_batch_published(
    rings: PipelineRings,
    kind: str,
    call: str,
    code: int,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fs = FaultyFiles()
    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    core = faulty_core(rings, fs, FsyncPolicy.every_batch())
    put(gateway, [order(1), order(2, price=99)], NAMES)
    assert core.step(timeout=5.0) == 2
    assert {e.seq for e in take(reader)} == {1, 2}
    acked = books(core.logic)
    # The next batch's write (or fdatasync) fails: run() halts, and closes without
    # syncing or snapshotting through the failed journal, and without waiting on rings.
    fs.fail(call, code)
    before = fs.calls
    put(gateway, [order(3, "b", Side.SELL, 100), order(4, "c")], NAMES)
    assert core.run() == EXIT_JOURNAL_FAILED
    assert len(fs.failed) == 1 and fs.failed[0].startswith(call)
    # Nothing was tried after the failure (no sync, no next segment): the write, or the
    # write and its sync, and no more.
    assert fs.calls == before + (1 if kind == "write" else 2)
    assert "snapshot" not in caplog.text
    path = "/j/00000000000000000001.journal"
    line = (
        f"ringmatch core: journal {kind} failed: {path}: [Errno {code}] {os.strerror(code)}: "
        "halted, nothing of the failed batch was acknowledged"
    )
    assert capsys.readouterr().err == line + "\n"
    assert take(reader) == []
    assert core.halted is not None and core.halted.detail == ""
    gateway.close()
    # A restart after the worst the failure allows (every unsynced write lost)
    # recovers what was synced: exactly the acknowledged batch.
    fs.crash(random.Random(code), modes=("drop",))
    logic, last = recover_core("/j", files=fs, resolve=resolve)
    assert last == 2 and books(logic) == acked
    assert [s for s, _ in journal("/j", fs)] == [1, 2]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EIO])
def test_a_failed_overlapped_sync_halts_with_nothing_it_covered_published(
    rings: PipelineRings, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # fsync batch, overlapped: batch 2 is matched while its sync runs on the commit's
    # thread; the sync fails, so its events (held for it) never reach a reader.
    fs = FaultyFiles()
    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    core = faulty_core(rings, fs, FsyncPolicy.every_batch(), overlap_sync=True)
    put(gateway, [order(1), order(2, price=99)], NAMES)
    assert core.step(timeout=5.0) == 2
    while core.commit is not None and core.commit.busy:
        core.step(timeout=5.0)  # woken by the sync's return: the events go out
    assert {e.seq for e in take(reader)} == {1, 2}
    acked = books(core.logic)
    fs.fail("sync /j/", code)
    put(gateway, [order(3, "b", Side.SELL, 100), order(4, "c")], NAMES)
    assert core.run() == EXIT_JOURNAL_FAILED
    assert take(reader) == []
    path = "/j/00000000000000000001.journal"
    assert capsys.readouterr().err == (
        f"ringmatch core: journal sync failed: {path}: [Errno {code}] {os.strerror(code)}: "
        "halted, nothing the failed sync was to make durable was acknowledged\n"
    )
    gateway.close()
    fs.crash(random.Random(code), modes=("drop",))
    logic, last = recover_core("/j", files=fs, resolve=resolve)
    assert last == 2 and books(logic) == acked


def test_under_a_lax_policy_the_halt_says_what_was_acknowledged_unsynced(
    rings: PipelineRings,
) -> None:
    fs = FaultyFiles()
    core = faulty_core(rings, fs, FsyncPolicy.never())
    gateway = rings.inputs[0].producer()
    put(gateway, [order(1), order(2, price=99)], NAMES)
    assert core.step(timeout=5.0) == 2
    fs.fail("write", errno.EIO)
    put(gateway, [order(3)], NAMES)
    with pytest.raises(CoreHalted) as halted:
        core.step(timeout=5.0)
    assert str(halted.value).endswith(
        "halted, nothing of the failed batch was acknowledged; under the fsync policy never "
        "the inputs after seq 0 (to seq 2) were acknowledged before they were synced, and "
        "may not be on stable storage"
    )
    core.close()
    gateway.close()


def test_a_failed_last_sync_at_a_clean_stop_halts_with_status_4_and_says_what_was_unsynced(
    rings: PipelineRings, capsys: pytest.CaptureFixture[str]
) -> None:
    fs = FaultyFiles()
    core = faulty_core(rings, fs, FsyncPolicy.never())
    gateway = rings.inputs[0].producer()
    put(gateway, [order(1), order(2, price=99)], NAMES)
    assert core.step(timeout=5.0) == 2  # acknowledged, journalled, never synced
    fs.fail("sync /j/", errno.EIO)
    core.stopping = True  # a SIGTERM: drain, then close, whose sync fails
    assert core.run() == EXIT_JOURNAL_FAILED
    assert capsys.readouterr().err == (
        "ringmatch core: journal sync failed: /j/00000000000000000001.journal: [Errno 5] "
        f"{os.strerror(errno.EIO)}: halted, on syncing what was already acknowledged; under "
        "the fsync policy never the inputs after seq 0 (to seq 2) were acknowledged before "
        "they were synced, and may not be on stable storage\n"
    )
    gateway.close()


# -- real core processes -------------------------------------------------------------------------


class CoreProcess:
    """``python -m ringmatch.engine.core.pipeline CORE.json``, stdout and stderr captured."""

    def __init__(self, rings: PipelineRings, data: Path, **options: object) -> None:
        config = rings.core_config(str(data), **{**NAMES_CONFIG, **options})
        path = data.parent / f"core-{uuid.uuid4().hex[:6]}.json"
        path.write_bytes(msgspec.json.encode(config))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ringmatch.child", "core", str(path)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ready(self) -> int | None:
        """The seq it recovered to once it says it is ready; None if it exits instead."""
        out = self.proc.stdout
        assert out is not None
        readable, _, _ = select.select([out], [], [], DEADLINE)
        assert readable, "the core neither got ready nor exited in time"
        line = out.readline()
        if not line:
            return None
        assert line.startswith("ready last_seq="), line
        return int(line.split("=")[1])

    def exited(self) -> tuple[int, list[str]]:
        """Its exit status and stderr lines, once it has exited (fails after DEADLINE)."""
        _, err = self.proc.communicate(timeout=DEADLINE)
        return self.proc.returncode, err.splitlines()

    def stop(self) -> tuple[int, list[str]]:
        self.proc.send_signal(signal.SIGTERM)
        return self.exited()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate()


def core_line(stderr: list[str]) -> tuple[str, list[str]]:
    """The core's own report (``ringmatch core: ...``) and the lines after it."""
    for i, line in enumerate(stderr):
        if line.startswith("ringmatch core: "):
            return line, stderr[i + 1 :]
    pytest.fail(f"no report on stderr: {stderr}")


def read_until(reader: EventReader, seen: list[Event], done: object) -> None:
    deadline = time.monotonic() + DEADLINE
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out after {len(seen)} events"
        seen += take(reader, timeout=0.2)


def answered(seen: list[Event], clients: set[int]) -> bool:
    got = {getattr(e, "client_order_id", 0) for e in seen}
    return clients <= got


def test_halt_refusal_skip_and_replay_with_real_core_processes(
    rings: PipelineRings, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    live: list[Event] = []
    cores: list[CoreProcess] = []

    def start(**options: object) -> CoreProcess:
        core = CoreProcess(rings, data, pretrade=SPEC, **options)
        cores.append(core)
        return core

    def send(*orders: NewOrder) -> None:
        put(gateway, list(orders), NAMES)
        read_until(reader, live, lambda: answered(live, {o.client_order_id for o in orders}))

    try:
        core = start()
        assert core.ready() == 1  # the StageChain
        send(order(10, "m", Side.SELL, 101), order(11, "n", price=99))
        send(order(12, "q", price=98))
        rejected = NewOrder(0, "r", "X", Side.BUY, OrderType.LIMIT, 97, 11, client_order_id=13)
        send(rejected)  # RISK_MAX_QTY from the marker stage
        # The halting batch, whole: its first two inputs are answered, then the core stops.
        put(gateway, HALTING_BATCH, NAMES)
        status, stderr = core.exited()
        live += take(reader)
        bad_seq = 1 + 4 + 3  # StageChain, four orders, then the batch's third
        assert status == EXIT_HALTED
        line, rest = core_line(stderr)
        assert line.startswith(f"ringmatch core: halted at seq {bad_seq}: NewOrder(")
        assert f"--skip-seq {bad_seq}" in line
        assert rest[0] == "Traceback (most recent call last):"
        assert any("RuntimeError: test: a stage that cannot handle order 3" in r for r in rest)
        assert {e.seq for e in live if e.seq >= bad_seq - 2} == {bad_seq - 2, bad_seq - 1}

        # Restart: refused, naming the seq and the flag; nothing journalled.
        core = start()
        assert core.ready() is None
        status, stderr = core.exited()
        line, _ = core_line(stderr)
        assert status == EXIT_HALTED
        assert line.startswith(
            f"ringmatch core: cannot start: recovery stopped before seq {bad_seq}"
        )
        assert f"--skip-seq {bad_seq}" in line

        # With the skip: starts (the SkipInput journalled first), and trades on.
        core = start(skip_seqs=[bad_seq])
        assert core.ready() == bad_seq + 2  # the batch's last input, then the SkipInput
        send(order(20, "s", Side.SELL, 90), order(21, "t", price=101))
        assert core.stop()[0] == 0

        # Replay of the journal: exactly the live events, minus the skipped input's (it
        # has none), plus those of the input after it (journalled, never acknowledged).
        out = tmp_path / "events.jsonl"
        done = subprocess.run(
            [*REPLAY, str(data), "--format", "journal", "--events-out", str(out)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=DEADLINE,
        )
        assert done.returncode == 0, done.stderr
        assert "skipped     1 seq\n" in done.stderr
        replayed = [msgspec.json.decode(line) for line in out.read_bytes().splitlines()]
        never_acked = bad_seq + 1
        assert not any(e["seq"] == bad_seq for e in replayed)
        assert any(e["seq"] == never_acked for e in replayed)
        assert [e for e in replayed if e["seq"] != never_acked] == [event_to_dict(e) for e in live]
        assert sum(1 for e in live if isinstance(e, Trade)) >= 2
        assert any(e["type"] == "rejected" and e["reason"] == "RISK_MAX_QTY" for e in replayed)

        # A later restart with no flag starts as before.
        core = start()
        assert core.ready() == bad_seq + 4  # + the two orders of the last run
        assert core.stop()[0] == 0
        skips = [i for _, i in journal(data) if isinstance(i, SkipInput)]
        assert [s.seq for s in skips] == [bad_seq]
    finally:
        for core in cores:
            core.kill()
        gateway.close()


# -- a real disk that fills up --------------------------------------------------------------------


def test_a_full_disk_halts_a_real_core_and_a_restart_recovers_what_was_synced(
    rings: PipelineRings, tmp_path: Path
) -> None:
    need(os.geteuid() == 0, "mounting a small tmpfs to fill up needs root")
    mnt = tmp_path / "small"
    mnt.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    need(mount.returncode == 0, f"cannot mount a tmpfs: {mount.stderr.strip()}")
    reader = rings.events.reader(0)
    gateway = rings.inputs[0].producer()
    cores: list[CoreProcess] = []
    try:
        data = mnt / "data"
        data.mkdir()
        # Fill the file system, then give back twelve pages: room for a few dozen batches
        # (each ~300 bytes: the frame of four input records).
        filler = mnt / "filler"
        with open(filler, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(bytes(4096))
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        os.truncate(filler, filler.stat().st_size - 12 * 4096)

        core = CoreProcess(rings, data)
        cores.append(core)
        assert core.ready() == 0
        seen: list[Event] = []
        batches: list[list[NewOrder]] = []
        while core.proc.poll() is None:
            assert len(batches) < 2000, "the journal never filled the disk"
            k = len(batches) * 4
            batch = [order(k + i + 1, f"acct{i}", price=100 - i) for i in range(4)]
            batches.append(batch)
            put(gateway, batch, NAMES)
            clients = {o.client_order_id for o in batch}

            def done(clients: set[int] = clients, proc: subprocess.Popen[str] = core.proc) -> bool:
                return answered(seen, clients) or proc.poll() is not None

            read_until(reader, seen, done)
        status, stderr = core.exited()
        seen += take(reader)
        assert status == EXIT_JOURNAL_FAILED
        line, _ = core_line(stderr)
        assert line == (
            f"ringmatch core: journal write failed: {data}/00000000000000000001.journal: "
            f"[Errno {errno.ENOSPC}] No space left on device: halted, nothing of the failed "
            "batch was acknowledged"
        )
        # Every batch before the last was answered, the failed one not at all.
        answered_clients = {getattr(e, "client_order_id", 0) for e in seen}
        *acked, failed = batches
        assert len(acked) >= 10  # the disk filled while the core was running, not at once
        assert {o.client_order_id for b in acked for o in b} <= answered_clients
        assert not {o.client_order_id for o in failed} & answered_clients
        assert not list(data.glob("snapshot-*"))

        # Room again: a restart recovers exactly the acknowledged (synced) inputs.
        filler.unlink()
        core = CoreProcess(rings, data)
        cores.append(core)
        assert core.ready() == 4 * len(acked)
        status, stderr = core.stop()
        assert status == 0
        recovered = [inp.client_order_id for _, inp in journal(data)]  # type: ignore[union-attr]
        assert recovered == [o.client_order_id for b in acked for o in b]
    finally:
        for core in cores:
            core.kill()
        gateway.close()
        subprocess.run(["umount", str(mnt)], check=False)


def test_a_journal_with_a_phase_change_needs_the_reference_kernel_to_recover(
    rings: PipelineRings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Written by a core on the reference kernel (RINGMATCH_PURE=1); the compiled kernel
    # runs the stop but not trading phases yet, so it refuses to start rather than
    # skip the halt, and the reference kernel recovers it all.
    from ringmatch.engine.core import kernel_choice

    need(kernel_choice.compiled_module() is not None, "the compiled kernel was not built")
    stop = NewOrder(3, "b", "X", Side.BUY, OrderType.STOP, None, 2, trigger_price=101)
    with JournalWriter(tmp_path) as writer:
        writer.append_batch([(1, order(1, "a", Side.SELL)), (2, order(2, "b"))])
        writer.append_batch([(3, stop), (4, SetPhase("X", TradingPhase.HALTED))])
    config = rings.core_config(str(tmp_path), **NAMES_CONFIG)
    monkeypatch.delenv("RINGMATCH_PURE", raising=False)
    with pytest.raises(StartRefused) as refused:
        build_core(config)
    assert str(refused.value) == (
        "cannot start: the journal holds seq 4, a SET_PHASE: the compiled kernel does not "
        "run trading phases yet (docs/ORDER_TYPES.md); run with RINGMATCH_PURE=1, the "
        "reference kernel"
    )
    assert [seq for seq, _ in journal(tmp_path)] == [1, 2, 3, 4]  # nothing lost or cut
    monkeypatch.setenv("RINGMATCH_PURE", "1")
    core = build_core(config)
    try:
        assert core.logic.last_seq == 4
        assert [h.order_id for h in core.logic.engine.held("X")] == [3]
        assert core.logic.engine.phase("X") is TradingPhase.HALTED
    finally:
        core.close()
