"""The core as a real process: real shared-memory rings, real files, real signals.

    producer process 0 ──▶ input ring 0 ──┐
    producer process 1 ──▶ input ring 1 ──┼─▶ core process ──▶ event ring ──▶ this test (reader 0)
                      (this test) control ┘     │ journal, snapshots in tmp_path

Nothing here waits by sleeping: the test blocks on the event ring (with
timeouts), on the core's ``ready`` line, and on process exits.

Every input carries a unique ``ts_ns`` (producer * 10**9 + index), which never
affects matching here (no GTD order), so each journalled input can be traced to the
one sent: the core runs with ``time_source = "inputs"``, keeping each input's own.
"""

from __future__ import annotations

import random
import select
import signal
import subprocess
import sys
import time
import uuid
import warnings
from collections import defaultdict
from pathlib import Path

import msgspec

from ringmatch.engine.core.journal_run import KernelBooks, start_run
from ringmatch.engine.core.pipeline import PipelineRings, create_rings
from ringmatch.engine.core.recovery import recover_core
from ringmatch.engine.core.stage_chain import CoreLogic
from ringmatch.engine.journal.log import JournalReader, Record
from ringmatch.engine.records.names import read_directory
from ringmatch.engine.schema.commands import Cancel, Command, Input, NewOrder, Replace
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.engine.schema.events import Event
from tests.engine.ring_records import EventTaker, stream_names
from tests.engine.ring_records import records as records_of
from tests.engine.strategies import journalable, random_stream

REPO = Path(__file__).resolve().parents[2]
DEADLINE = 60.0  # generous for a loaded 2-core machine; a pass takes a few seconds


def gateway_stream(seed: int, n: int, producer: int) -> list[Command]:
    """A random stream as gateways send it: ids are client order ids, order_id 0."""
    out: list[Command] = []
    for i, cmd in enumerate(journalable(random_stream(random.Random(seed), n))):
        ts = producer * 10**9 + i
        if isinstance(cmd, NewOrder | Cancel | Replace) and cmd.order_id > 0:
            cmd = msgspec.structs.replace(cmd, order_id=0, client_order_id=cmd.order_id)
        out.append(msgspec.structs.replace(cmd, ts_ns=ts))
    return out


PRODUCER = """
import sys
from ringmatch.engine.records.names import read_directory
from ringmatch.engine.rings.spsc_ring import RingSpec, SpscRing
from tests.engine.ring_records import records as records_of
from tests.engine.test_core_process import gateway_stream

name, seed, n, producer = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
directory = read_directory(sys.argv[5])  # the core's, written before it was ready
ring = SpscRing.attach(RingSpec(name))
out = ring.producer()
records = records_of(gateway_stream(seed, n, producer), directory)
for start in range(0, n, 64):
    out.put_array(records[start:start + 64])
out.close()
ring.close()
"""


def start_core(rings: PipelineRings, data_dir: Path, **options: object) -> subprocess.Popen[str]:
    options = {
        **stream_names("ZZZ", extra_accounts=["end", "sentinel"]),
        "time_source": "inputs",
        **options,
    }
    config = rings.core_config(str(data_dir), **options)
    path = data_dir.parent / f"core-{uuid.uuid4().hex[:6]}.json"
    path.write_bytes(msgspec.json.encode(config))
    core = subprocess.Popen(
        [sys.executable, "-m", "ringmatch.child", "core", str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    return core


def ready_seq(core: subprocess.Popen[str]) -> int:
    """Block (with a deadline) until the core says it runs; the seq it recovered to."""
    assert core.stdout is not None
    readable, _, _ = select.select([core.stdout], [], [], DEADLINE)
    assert readable, "the core did not get ready in time"
    line = core.stdout.readline()
    assert line.startswith("ready last_seq="), f"unexpected core output {line!r}"
    return int(line.split("=")[1])


def read_until(reader: EventTaker, seen: list[Event], done: object) -> None:
    """Read events into ``seen`` until ``done()`` holds (fails after DEADLINE)."""
    deadline = time.monotonic() + DEADLINE
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out after {len(seen)} events"
        seen += reader(timeout=0.5)


def stop(core: subprocess.Popen[str], reader: EventTaker, seen: list[Event]) -> None:
    """SIGTERM the core, reading events while it drains; it must exit 0."""
    core.send_signal(signal.SIGTERM)
    read_until(reader, seen, lambda: core.poll() is not None)
    seen += reader(timeout=0)
    assert core.wait() == 0


def journal(data_dir: Path) -> list[Record]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a clean stop leaves no torn tail
        return list(JournalReader(data_dir))


def direct_run(records: list[Record], raw: dict[int, Input]) -> tuple[CoreLogic, list[Event]]:
    """The same raw inputs, in the core's sequenced order, through a fresh core logic."""
    logic = CoreLogic()
    events: list[Event] = []
    for seq, inp in records:
        events += logic.process(raw[inp.ts_ns], seq)
    return logic, events


def book(logic: CoreLogic | KernelBooks) -> list[object]:
    eng = logic if isinstance(logic, KernelBooks) else logic.engine
    return [(s, eng.l3(s)) for s in eng.symbols()]


def nonempty(books: list[object]) -> list[object]:
    # A kernel's directory names every symbol; the engine's symbols() may hold only some.
    return [b for b in books if isinstance(b, tuple) and b[1]]


def check_sequenced_once_in_order(records: list[Record], sent: list[list[Command]]) -> None:
    seqs = [seq for seq, _ in records]
    assert seqs == sorted(set(seqs)), "seqs are not strictly increasing"
    by_producer: dict[int, list[int]] = defaultdict(list)
    for _, inp in records:
        by_producer[inp.ts_ns // 10**9].append(inp.ts_ns)
    for producer, stream in enumerate(sent):
        # Each producer's inputs: each at most once, in the order it sent them.
        expected = [c.ts_ns for c in stream]
        got = by_producer[producer]
        assert got == expected[: len(got)] or _is_subsequence(got, expected)


def _is_subsequence(got: list[int], expected: list[int]) -> bool:
    it = iter(expected)
    return all(any(x == y for y in it) for x in got)


def test_two_producers_fan_in_sigterm_drains(tmp_path: Path) -> None:
    n = 2500
    data = tmp_path / "data"
    prefix = "t" + uuid.uuid4().hex[:10]
    rings = create_rings(prefix, 2, [True])
    try:
        core = start_core(rings, data)
        assert ready_seq(core) == 0
        reader = EventTaker(rings.events.reader(0), read_directory(data))
        producers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    PRODUCER,
                    rings.inputs[k].spec.name,
                    str(10 + k),
                    str(n),
                    str(k),
                    str(data),
                ],
                cwd=REPO,
            )
            for k in range(2)
        ]
        seen: list[Event] = []
        read_until(reader, seen, lambda: all(p.poll() is not None for p in producers))
        assert [p.wait() for p in producers] == [0, 0]
        # Everything is in the rings now, not necessarily taken: SIGTERM must drain it.
        stop(core, reader, seen)
    finally:
        rings.close()

    sent = [gateway_stream(10 + k, n, k) for k in range(2)]
    raw = {c.ts_ns: c for stream in sent for c in stream}
    records = journal(data)
    # Every input sequenced exactly once, each producer's in its own order.
    assert sorted(inp.ts_ns for _, inp in records) == sorted(raw)
    check_sequenced_once_in_order(records, sent)
    assert [seq for seq, _ in records] == list(range(1, 2 * n + 1))
    # Events in seq order, and exactly those of a direct run in the core's order.
    assert [e.seq for e in seen] == sorted(e.seq for e in seen)
    logic, events = direct_run(records, raw)
    assert seen == events
    # The book it stopped with (its exit snapshot, of whichever kernel the core ran: the
    # compiled one's when it is built) and a recovery from the journal alone.
    at_exit = start_run(data)
    assert at_exit.kernel.last_seq == 2 * n
    assert nonempty(book(KernelBooks(at_exit.kernel, at_exit.directory))) == nonempty(book(logic))
    for snap in data.glob("snapshot-*.rms"):
        snap.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recovered, last_seq = recover_core(data)
    assert last_seq == 2 * n and book(recovered) == book(logic)
    assert list(recovered.client_ids.entries()) == list(logic.client_ids.entries())


def test_sigkill_mid_stream_then_restart(tmp_path: Path) -> None:
    n = 4000
    data = tmp_path / "data"
    prefix = "t" + uuid.uuid4().hex[:10]
    stream = gateway_stream(21, n, 0)
    raw: dict[int, Input] = {c.ts_ns: c for c in stream}
    # The last input: the test knows the restarted core is through once it sees its event.
    marker = NewOrder(
        0, "end", "ZZZ", Side.BUY, OrderType.LIMIT, 1, 1, client_order_id=1, ts_ns=10**9
    )
    raw[marker.ts_ns] = marker
    rings = create_rings(prefix, 1, [True], input_capacity=512)
    seen: list[Event] = []
    try:
        producer = rings.inputs[0].producer()
        options = {"snapshot_every": 700}
        core = start_core(rings, data, **options)
        assert ready_seq(core) == 0
        directory = read_directory(data)
        reader = EventTaker(rings.events.reader(0), directory)
        records_out = records_of([*stream, marker], directory)
        sent = 0
        acked: set[int] = set()
        while len(acked) < 1500:  # well into the stream, past a couple of snapshots
            assert sent < n, "the core acknowledged too little"
            producer.put_array(records_out[sent : sent + 100], timeout=DEADLINE)
            sent += 100
            got = reader(timeout=0.1)
            seen += got
            acked |= {e.seq for e in got}
        # Kill it with inputs in flight: some taken, some journalled, some published.
        producer.put_array(records_out[sent : sent + 300], timeout=DEADLINE)
        sent += 300
        core.send_signal(signal.SIGKILL)
        assert core.wait() == -signal.SIGKILL
        seen += reader(timeout=0)
        acked = {e.seq for e in seen}

        core = start_core(rings, data, **options)
        recovered_to = ready_seq(core)
        assert recovered_to >= max(acked)  # nothing acknowledged was lost
        producer.put_array(records_out[sent:], timeout=DEADLINE)
        read_until(reader, seen, lambda: any(getattr(e, "account", "") == "end" for e in seen))
        stop(core, reader, seen)
        producer.close()
    finally:
        rings.close()

    records = journal(data)
    journalled = {seq for seq, _ in records}
    assert acked <= journalled
    check_sequenced_once_in_order(records, [[*stream, marker]])
    # What was lost (taken off the ring by the dead core, never journalled) was
    # never acknowledged: no event names a seq outside the journal.
    assert {e.seq for e in seen} <= journalled
    logic, events = direct_run(records, raw)
    # Determinism: the two runs published exactly the uninterrupted run's events.
    by_seq: dict[int, list[Event]] = defaultdict(list)
    for e in events:
        by_seq[e.seq].append(e)
    published = sorted({e.seq for e in seen})
    assert sorted(seen, key=lambda e: e.seq) == [e for s in published for e in by_seq[s]]
    after_restart = [e for e in seen if e.seq > recovered_to]
    assert after_restart == [e for e in events if e.seq > recovered_to]
    # Books: the restarted core's exit snapshot, and a clean recovery from the journal.
    at_exit = start_run(data)
    assert at_exit.kernel.last_seq == max(seq for seq, _ in records)
    assert nonempty(book(KernelBooks(at_exit.kernel, at_exit.directory))) == nonempty(book(logic))
    for snap in data.glob("snapshot-*.rms"):
        snap.unlink()
    recovered, _ = recover_core(data)
    assert book(recovered) == book(logic)
    assert list(recovered.client_ids.entries()) == list(logic.client_ids.entries())
