"""Child-process bodies for the ring tests, and the adapters that let one suite drive every ring.

Kept apart from the test modules so a spawned child imports only this and the
rings (not pytest/hypothesis): child start-up is most of a process test's time.
Every child reports over a multiprocessing Connection; nothing synchronises by
sleeping.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.process
import os
import resource
import struct
import time
import uuid
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ringmatch.engine.rings.event_ring import EventRing, EventRingSpec
from ringmatch.engine.rings.shm import SHM_DIR
from ringmatch.engine.rings.spsc_ring import RingSpec, SpscRing
from ringmatch.engine.rings.wait import SpinThenBlock

# Record i: its sequence number, then a tail whose length and bytes depend on i,
# so a lost, duplicated, reordered or torn record cannot compare equal.
TAILS = [bytes([j]) * (j % 24) for j in range(64)]
SLOT_SIZE = 32
_SEQ = struct.Struct("<Q")

# A wait strategy whose safety-net wake-up is far away: only the doorbell can wake.
DOORBELL_ONLY = SpinThenBlock(spin_ns=10_000, slice_s=60.0)


def record(i: int) -> bytes:
    return _SEQ.pack(i) + TAILS[i & 63]


def records(start: int, stop: int) -> list[bytes]:
    pack, tails = _SEQ.pack, TAILS
    return [pack(i) + tails[i & 63] for i in range(start, stop)]


# --- adapters: ring kind -> create / attach / sender / receiver -------------------------

KINDS = ("spsc", "event")  # "event": an event ring with one required reader


def create(kind: str, prefix: str, capacity: int, slot_size: int = SLOT_SIZE) -> Any:
    if kind == "spsc":
        return SpscRing.create(prefix, "ring", capacity, slot_size)
    return EventRing.create(prefix, "ring", capacity, slot_size, required=[True])


def attach(spec: RingSpec | EventRingSpec) -> Any:
    if isinstance(spec, RingSpec):
        return SpscRing.attach(spec)
    return EventRing.attach(spec)


def sender(ring: Any, wait: SpinThenBlock | None = None) -> Any:
    kw = {} if wait is None else {"wait": wait}
    return ring.producer(**kw) if isinstance(ring, SpscRing) else ring.writer(**kw)


def receiver(ring: Any, wait: SpinThenBlock | None = None, index: int = 0) -> Any:
    kw = {} if wait is None else {"wait": wait}
    return ring.consumer(**kw) if isinstance(ring, SpscRing) else ring.reader(index, **kw)


def receiver_asleep(ring: Any) -> bool:
    return bool(ring.consumer_asleep() if isinstance(ring, SpscRing) else ring.reader_asleep(0))


def sender_asleep(ring: Any) -> bool:
    return bool(ring.producer_asleep() if isinstance(ring, SpscRing) else ring.writer_asleep())


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- child bodies ------------------------------------------------------------------------


def produce(spec: Any, start: int, stop: int, batch: int, conn: Connection) -> None:
    """Put records start..stop-1 in batches; report ("done", stop)."""
    ring = attach(spec)
    out = sender(ring)
    for lo in range(start, stop, batch):
        out.put_many(records(lo, min(lo + batch, stop)), timeout=60)
    conn.send(("done", stop))
    out.close()
    ring.close()


def consume(spec: Any, index: int, start: int, stop: int, conn: Connection) -> None:
    """Wait for "go", then read until `stop`, checking every record; report the outcome."""
    ring = attach(spec)
    inp = receiver(ring, index=index)
    conn.send("attached")
    assert conn.recv() == "go"
    expected, pack, tails = start, _SEQ.pack, TAILS
    batches = 0
    try:
        while expected < stop:
            got = inp.get_many(timeout=60)
            if not got:
                conn.send(("stalled", expected))
                return
            batches += 1
            for rec in got:
                if rec != pack(expected) + tails[expected & 63]:
                    conn.send(("wrong", expected, bytes(rec)))
                    return
                expected += 1
        extra = inp.get_many(timeout=0)
        conn.send(("ok", expected, batches, len(extra)))
    except Exception as exc:  # reported to the test, which fails with it
        conn.send(("error", expected, repr(exc)))
    finally:
        inp.close()
        ring.close()


def wait_for_one(spec: Any, timeout: float, conn: Connection) -> None:
    """Block once on an empty ring (doorbell only); report what came, wall and CPU time."""
    ring = attach(spec)
    inp = receiver(ring, wait=DOORBELL_ONLY)
    conn.send("attached")
    cpu0, t0 = cpu_seconds(), time.monotonic()
    got = inp.get_many(timeout=timeout)
    conn.send((got, time.monotonic() - t0, cpu_seconds() - cpu0))
    inp.close()
    ring.close()


def create_and_hang(prefix: str, conn: Connection) -> None:
    """Create an SPSC ring and an event ring, report their names, then wait to be killed."""
    spsc = SpscRing.create(prefix, "in", 64, 16)
    events = EventRing.create(prefix, "out", 64, 16, required=[True, False])
    conn.send((spsc.segment.name, events.segment.name))
    conn.recv()  # never answered: the test SIGKILLs us


# --- parent-side helpers -----------------------------------------------------------------

SPAWN = multiprocessing.get_context("spawn")


def fresh_prefix() -> str:
    return f"rmt-{uuid.uuid4().hex[:10]}"


def leftovers(prefix: str) -> list[str]:
    """Whatever /dev/shm still holds for ``prefix``; removed, so a failure does not leak."""
    found = sorted(path.name for path in SHM_DIR.glob(f"{prefix}.*"))
    for name in found:
        (SHM_DIR / name).unlink(missing_ok=True)
    return found


class Children:
    """Spawned children of one test, each with a pipe; all reaped at the end."""

    def __init__(self) -> None:
        self.procs: list[multiprocessing.process.BaseProcess] = []

    def start(self, target: Callable[..., None], *args: Any) -> Connection:
        parent, child = SPAWN.Pipe()
        proc = SPAWN.Process(target=target, args=(*args, child), daemon=True)
        proc.start()
        child.close()
        self.procs.append(proc)
        return parent

    def reap(self) -> None:
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()


def recv(conn: Connection, timeout: float = 60) -> Any:
    """The child's next report; fail rather than hang if it never comes."""
    if not conn.poll(timeout):
        raise AssertionError(f"no report from the child within {timeout} s")
    return conn.recv()


def until(condition: Callable[[], bool], timeout: float = 30) -> None:
    """Wait for an observable state (a flag in shared memory), bounded; not a sleep."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("state not reached within the time limit")
        os.sched_yield()  # let the child run on this 2-core machine


def consume_once_sender_sleeps(spec: Any, stop: int, conn: Connection) -> None:
    """Wait until the sender is asleep on a full ring, then read 0..stop-1 and report."""
    ring = attach(spec)
    inp = receiver(ring)
    conn.send("attached")
    until(lambda: sender_asleep(ring))
    got: list[bytes] = []
    while len(got) < stop:
        more = inp.get_many(timeout=30)
        if not more:
            break
        got.extend(more)
    conn.send(got == records(0, stop))
    inp.close()
    ring.close()
