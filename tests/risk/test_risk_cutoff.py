"""Post-trade risk never blocks the core: a stalled risk process is cut off and catches up.

    this test (a gateway) ──▶ input ring ──▶ core process (pretrade, journal, snapshots)
    this test (reader 0, required) ◀── event ring (64 slots) ◀──┤
    risk process (reader 1, optional) ◀─────────────────────────┘   SIGSTOP / SIGCONT

Nothing waits by sleeping: the test blocks on ready lines, the event ring, the
risk process's log lines (select with a deadline) and admin answers.
"""

from __future__ import annotations

import os
import random
import re
import select
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ringmatch.benchmarks.workload import standard_workload
from ringmatch.engine.core.pipeline import PipelineRings, create_rings
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import JournalReader, JournalWriter
from ringmatch.engine.process.admin_socket import query
from ringmatch.engine.records.convert import encode_events
from ringmatch.engine.records.names import Directory, read_directory
from ringmatch.engine.rings.codec import EVENT_SLOT
from ringmatch.engine.rings.event_ring import EventRing
from ringmatch.engine.rings.producer import RingProducer
from ringmatch.engine.schema.commands import Command, NewOrder
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.engine.schema.events import Accepted, Event, Trade
from ringmatch.risk.event_source import ALL, RiskEventSource
from ringmatch.risk.limits import RiskConfig
from ringmatch.risk.monitor import RiskMonitor
from ringmatch.risk.pretrade import PreTradeRisk
from ringmatch.risk.process import RiskProcessConfig
from ringmatch.risk.rebuild import replay_after
from ringmatch.stages import resolve
from tests.engine import ring_workers as w
from tests.engine.ring_records import EventTaker, records
from tests.engine.test_core_process import (
    DEADLINE,
    gateway_stream,
    read_until,
    ready_seq,
    start_core,
    stop,
)
from tests.risk.test_risk_process import start_risk_process

CAPACITY = 64  # event-ring slots: a few hundred orders lap the risk reader many times


def positions(events: list[Event]) -> dict[str, Any]:
    """What the risk service must report for these events (no limits: nothing trips)."""
    monitor = RiskMonitor(RiskConfig(), lambda cmd: None)
    monitor.on_events(events)
    state = monitor.state()
    return {"accounts": state["accounts"], "last_prices": state["last_prices"]}


class Gateway:
    def __init__(self, producer: RingProducer, reader: EventTaker) -> None:
        self.producer = producer
        self.reader = reader
        self.seen: list[Event] = []
        self.sentinels = 0

    def send(self, cmds: list[Command]) -> int:
        """Send ``cmds`` then a sentinel order, and read events until the sentinel's
        answer: every input before it was then sequenced, journalled and published.
        The sentinel's seq."""
        self.sentinels += 1
        cid = self.sentinels
        sentinel = NewOrder(
            0, "sentinel", "ZZZ", Side.BUY, OrderType.LIMIT, 1, 1, client_order_id=cid
        )
        out = records(cmds, self.reader.directory)
        for start in range(0, len(out), 64):
            self.producer.put_array(out[start : start + 64])
        self.producer.put_array(records([sentinel], self.reader.directory))

        def mine(e: Event) -> bool:
            return isinstance(e, Accepted) and e.account == "sentinel" and e.client_order_id == cid

        read_until(self.reader, self.seen, lambda: any(mine(e) for e in self.seen))
        return next(e.seq for e in self.seen if mine(e))


CAUGHT_UP = re.compile(r"caught up from the journal to seq (\d+)")


def caught_up_to(risk: subprocess.Popen[str], seq: int, lines: list[str]) -> None:
    """Read the risk process's log into ``lines`` until it says it caught up from
    the journal to ``seq`` or beyond."""
    assert risk.stderr is not None
    deadline = time.monotonic() + DEADLINE
    while not any((m := CAUGHT_UP.search(line)) and int(m[1]) >= seq for line in lines):
        left = deadline - time.monotonic()
        readable, _, _ = select.select([risk.stderr], [], [], max(left, 0))
        assert readable, f"risk never caught up to seq {seq}; it logged {lines}"
        line = risk.stderr.readline()
        assert line, f"risk exited before catching up to seq {seq}; it logged {lines}"
        lines.append(line)


def state_at(sock: str, seq: int) -> dict[str, Any]:
    """The risk state once it has counted the events up to ``seq`` (fails after DEADLINE)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        state = query(sock, {"op": "state"})
        if state["seq"] >= seq:
            return state
        assert time.monotonic() < deadline, f"risk stuck at seq {state['seq']} < {seq}"


@pytest.fixture
def rings() -> Iterator[PipelineRings]:
    rings = create_rings(f"rmt-{uuid.uuid4().hex[:8]}", 1, [True, False], event_capacity=CAPACITY)
    yield rings
    rings.close()


def test_a_stopped_risk_process_never_blocks_the_core_and_catches_up(
    tmp_path: Path, rings: PipelineRings
) -> None:
    data_dir = tmp_path / "data"
    core = start_core(
        rings,
        data_dir,
        fsync="never",
        pretrade="risk",
        snapshot_every=150,
    )
    procs = [core]
    try:
        start = ready_seq(core)
        sock = str(tmp_path / "risk.sock")
        spec = RiskProcessConfig(
            rings.events.spec.name,
            1,
            rings.control.spec.name,
            sock,
            data_dir=str(data_dir),
            replay_upto=start,
        )
        risk = start_risk_process(tmp_path, spec, stderr=subprocess.PIPE)
        procs.append(risk)
        taker = EventTaker(rings.events.reader(0), read_directory(data_dir))
        gateway = Gateway(rings.inputs[0].producer(), taker)
        stream = gateway_stream(11, 900, 0)

        # Running: risk keeps up, off the ring (or from the journal when the core's
        # bursts lap this small ring).
        seq = gateway.send(stream[:200])
        assert state_at(sock, seq)["seq"] == seq
        # Stalled: the core goes on (the sentinel's answer reached the required
        # reader) though risk reads nothing while many rings' worth are published.
        risk.send_signal(signal.SIGSTOP)
        _, status = os.waitpid(risk.pid, os.WUNTRACED)  # returns once it is stopped
        assert os.WIFSTOPPED(status)
        before = len(gateway.seen)
        stalled = gateway.send(stream[200:700])
        assert len(gateway.seen) - before > 4 * CAPACITY
        assert risk.poll() is None
        # Resumed: cut off, caught up from the journal (all of it: every input up to
        # the sentinel was journalled before SIGCONT), then the ring again.
        lines: list[str] = []
        risk.send_signal(signal.SIGCONT)
        caught_up_to(risk, stalled, lines)
        assert "cut off" in lines[-2] and "catching up from the journal" in lines[-2], lines
        seq = gateway.send(stream[700:])
        state = state_at(sock, seq)
        assert state["seq"] == seq

        stop(core, gateway.reader, gateway.seen)
        procs.remove(core)
        # Every trade counted once: as the events the core published, and as a
        # clean replay of the journal computes them.
        assert sum(1 for e in gateway.seen if isinstance(e, Trade)) > 50
        got = {"accounts": state["accounts"], "last_prices": state["last_prices"]}
        assert got == positions(gateway.seen)
        logic = CoreLogic(pretrade=PreTradeRisk(), resolve=resolve)
        replayed = [e for seq_, inp in JournalReader(data_dir) for e in logic.process(inp, seq_)]
        assert got == positions(replayed)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


def journal_of(data_dir: Path, n: int) -> list[list[Event]]:
    """Journal ``n`` standard-workload inputs (one per batch); each one's events."""
    logic = CoreLogic(pretrade=PreTradeRisk(), resolve=resolve)
    journal = JournalWriter(data_dir, fsync=FsyncPolicy.never())
    out = []
    for seq, cmd in enumerate(standard_workload(n, seed=3), 1):
        journal.append_batch([(seq, cmd)])
        out.append(logic.process(cmd, seq))
    journal.close()
    return out


def test_replay_after_gives_exactly_the_events_after_the_mark(tmp_path: Path) -> None:
    per_input = journal_of(tmp_path, 300)
    everything = [e for events in per_input for e in events]
    rng = random.Random(7)
    marks = [(0, ALL), (300, ALL)] + [
        (seq, rng.randrange(len(per_input[seq - 1]) + 1)) for seq in rng.sample(range(1, 301), 20)
    ]
    for seq, count in marks:
        counted = [e for e in everything if e.seq < seq]
        if seq:
            counted += per_input[seq - 1][:count]
        got: list[Event] = []
        assert replay_after(tmp_path, seq, count, got.extend) == 300
        assert counted + got == everything, (seq, count)


def test_the_mark_follows_the_events_delivered_seq_0_aside() -> None:
    source = RiskEventSource(None, 0, lambda events: None, None, after_seq=5)  # type: ignore[arg-type]
    everything = [e for events in journal_of_memory(40) for e in events]
    assert (source.mark_seq, source.mark_count) == (5, ALL)
    rng = random.Random(1)
    at = 0
    while at < len(everything):
        n = rng.randrange(1, 6)
        batch = everything[at : at + n]
        source._advance([*batch, msgspec.structs.replace(batch[0], seq=0)])
        at += n
        last = batch[-1].seq
        expected = sum(1 for e in everything[:at] if e.seq == last)
        assert (source.mark_seq, source.mark_count) == (last, expected)


def journal_of_memory(n: int) -> list[list[Event]]:
    logic = CoreLogic(pretrade=PreTradeRisk(), resolve=resolve)
    return [logic.process(cmd, seq) for seq, cmd in enumerate(standard_workload(n, seed=4), 1)]


def test_a_lapped_source_delivers_every_event_once_while_the_core_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one thread, deterministically: the core publishes more between the rejoin and
    the journal read (so those events come both from the journal and off the ring),
    and more again after the catch-up; the source delivers each event exactly once."""
    prefix = w.fresh_prefix()
    ring = EventRing.create(prefix, "events", CAPACITY, EVENT_SLOT, required=[False])
    logic = CoreLogic(pretrade=PreTradeRisk(), resolve=resolve)
    journal = JournalWriter(tmp_path, fsync=FsyncPolicy.never())
    writer = ring.writer()
    names = Directory()  # the kernel's; the source shares it (the core's directory file)
    cmds = standard_workload(320, seed=9)
    published: list[Event] = []
    delivered: list[Event] = []

    def run(part: range) -> None:
        """The core's order of work: journal, apply, publish."""
        for seq in part:
            journal.append_batch([(seq, cmds[seq - 1])])
            events = logic.process(cmds[seq - 1], seq)
            writer.put_array(encode_events(events, names))
            published.extend(events)

    def between_rejoin_and_journal(*args: Any) -> int:
        run(range(301, 311))  # published after the rejoin, journalled before it is read
        return replay_after(*args)

    def deliver(events: list[Event]) -> None:
        delivered.extend(events)
        if events[-1].seq == 310 and published[-1].seq == 310:
            run(range(311, 321))  # published after the rejoin, maybe read from the journal too
        if delivered[-1].seq == 320:
            source.stop.set()

    monkeypatch.setattr("ringmatch.risk.event_source.replay_after", between_rejoin_and_journal)
    source = RiskEventSource(ring, 0, deliver, tmp_path, directory=names)
    try:
        run(range(1, 301))  # laps the reader, whose cursor is still at 0
        source.run()
    finally:
        writer.close()
        journal.close()
        ring.close()
    assert source.catch_ups == 1
    assert delivered == published
    assert w.leftovers(prefix) == []
