"""Feed benchmark: market-data messages per second to one and to ten subscribers.

    events (pre-computed) ──▶ FeedServer.publish ──▶ MarketData ──▶ frames ──TCP──▶ N subscribers
                                                                                (own process each)

The standard workload (ringmatch.benchmarks.workload) is run through a MatchingEngine first;
its events are then published in batches of 100 to a uvloop FeedServer, every
subscriber asking for all 8 symbols at 5 levels. Each subscriber is its own
process that decodes every frame (ringmatch.gateway.feed.protocol) and counts it. Timed:
from the first publish to the last subscriber's last message. Reported:
messages/s delivered in total and per subscriber, and the server's CPU time
per published event.

    .venv/bin/python benchmarks/bench_feed.py [--n 100000] [--subscribers 1 10] [--quick]

``--latency SECONDS``: instead, the feed's latency from the core publishing a
change on the event ring to a subscriber reading it, at ``--rate`` events/s
(10,000) offered, for each reader ``--wake-ms`` (1.0 and 0) side by side:

    core (process) ──event ring──▶ RingFeedSource (PacedReader) ──▶ FeedServer ──TCP──▶ subscriber
    publishes event i, time t_i                                        (process) reads it at r_i

Event i is an Accepted buy of qty 1 at one price, so a Levels message showing
qty q reflects events 0..q-1, coalesced or not; event i's latency is the first
such message's receive time minus t_i (both CLOCK_MONOTONIC, one machine).
Reported: p50/p99/max, and the feed reader's wake-ups per second (after an
unreported half-second warm-up run).

    .venv/bin/python benchmarks/bench_feed.py --latency 3 [--rate 10000] [--wake-ms 1 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop

from ringmatch.benchmarks.workload import SYMBOLS, standard_workload
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.gateway.feed.server import FeedServer

SUBSCRIBER = """
import socket, sys
from ringmatch.gateway.feed.protocol import FeedProtocol, ServerMessage, Subscribe, frame
port, symbols, expected = int(sys.argv[1]), sys.argv[2].split(","), int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(frame(Subscribe(symbols, 5)))
p = FeedProtocol(ServerMessage)
n = 0
print("subscribed", flush=True)
while n < expected:
    data = s.recv(1 << 20)
    if not data:
        break
    p.receive_data(data)
    while p.next_message() is not None:
        n += 1
print(n, flush=True)
"""


async def run(n_subs: int, batches: list[list[object]], expected: int) -> tuple[float, float, int]:
    server = FeedServer(max_queued=1 << 30)  # measure throughput, not the cut-off
    _, port = await server.start("127.0.0.1", 0)
    repo = Path(__file__).resolve().parent.parent
    subs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            SUBSCRIBER,
            str(port),
            ",".join(SYMBOLS),
            str(expected + len(SYMBOLS)),
            cwd=repo,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(n_subs)
    ]
    for p in subs:
        assert p.stdout is not None
        await p.stdout.readline()
    while sum(len(s) for s in server.subscribers.values()) < n_subs * len(SYMBOLS):
        await asyncio.sleep(0.01)  # the subscriptions are in flight
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for batch in batches:
        server.publish(batch)  # type: ignore[arg-type]
        await asyncio.sleep(0)  # let the transports write
    cpu = time.process_time() - cpu0
    counts = [int((await p.stdout.readline()).decode()) for p in subs]  # type: ignore[union-attr]
    wall = time.perf_counter() - wall0
    for p in subs:
        await p.wait()
    await server.close()
    return wall, cpu, sum(counts) - n_subs * len(SYMBOLS)


# -- latency: core publish -> feed subscriber read, through the event ring ---------------

LAT_SYMBOL, LAT_PRICE = "AAPL", 10_000


def _publisher(spec: object, n: int, rate: float, conn: Connection) -> None:
    """The core's part: event i on the ring at its due time; then every t_i, sent back."""
    import numpy as np

    from ringmatch.engine.records.convert import encode_events
    from ringmatch.engine.records.names import Directory
    from ringmatch.engine.rings.event_ring import EventRing
    from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce
    from ringmatch.engine.schema.events import Accepted

    ring = EventRing.attach(spec)  # type: ignore[arg-type]
    writer = ring.writer()
    names = Directory()
    batches = [
        encode_events(
            [
                Accepted(
                    i + 1,
                    i + 1,
                    "acct",
                    LAT_SYMBOL,
                    Side.BUY,
                    OrderType.LIMIT,
                    TimeInForce.GTC,
                    LAT_PRICE,
                    1,
                )
            ],
            names,
        )
        for i in range(n)
    ]
    times = np.zeros(n)
    conn.send("ready")
    conn.recv()  # go
    start = time.monotonic()
    i = 0
    while i < n:
        due = min(n, int((time.monotonic() - start) * rate) + 1)
        while i < due:  # one publish per event, as the core does at this rate
            times[i] = time.monotonic()
            writer.put_array(batches[i])
            i += 1
        time.sleep(0.00005)
    conn.send(times)
    writer.close()
    ring.close()


LAT_SUBSCRIBER = """
import socket, sys, time
from ringmatch.gateway.feed.protocol import FeedProtocol, Levels, ServerMessage, Subscribe, frame
port, symbol, price, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.sendall(frame(Subscribe([symbol], 1)))
p = FeedProtocol(ServerMessage)
seen, out = 0, []
print("subscribed", flush=True)
while seen < n:
    data = s.recv(1 << 20)
    if not data:
        break
    now = time.monotonic()
    p.receive_data(data)
    while (m := p.next_message()) is not None:
        if isinstance(m, Levels):
            for level_price, qty in m.bids:
                if level_price == price and qty > seen:
                    out.append((now, qty))
                    seen = qty
print(" ".join(f"{t!r}:{q}" for t, q in out), flush=True)
"""


async def _latency_run(
    spec: object, wake_ms: float, n: int, rate: float, data_dir: str
) -> tuple[list[float], float, float]:
    """One run: latencies in s, the feed reader's wake-ups, the run's seconds."""
    import multiprocessing

    from ringmatch.engine.records.names import Directory
    from ringmatch.engine.rings.event_ring import EventRing
    from ringmatch.gateway.feed.source import RingFeedSource

    loop = asyncio.get_running_loop()
    ring = EventRing.attach(spec)  # type: ignore[arg-type]
    server = FeedServer(max_queued=1 << 30)
    _, port = await server.start("127.0.0.1", 0)
    source = RingFeedSource(ring, 0, data_dir, server, loop, directory=Directory(), wake_ms=wake_ms)
    thread = threading.Thread(target=source.run)
    thread.start()
    sub = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        LAT_SUBSCRIBER,
        str(port),
        LAT_SYMBOL,
        str(LAT_PRICE),
        str(n),
        cwd=Path(__file__).resolve().parent.parent,
        stdout=asyncio.subprocess.PIPE,
        limit=1 << 26,  # its one line of results
    )
    assert sub.stdout is not None
    await sub.stdout.readline()
    while not server.subscribers.get((LAT_SYMBOL, 1)):
        await asyncio.sleep(0.01)  # the subscription is in flight
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    pub = ctx.Process(target=_publisher, args=(spec, n, rate, theirs))
    pub.start()
    try:
        assert await loop.run_in_executor(None, ours.recv) == "ready"
        wall0 = time.monotonic()
        ours.send("go")
        times = await loop.run_in_executor(None, ours.recv)
        line = (await sub.stdout.readline()).decode().split()
        wall = time.monotonic() - wall0
        await sub.wait()
    finally:
        pub.join(10)
        if pub.is_alive():
            pub.kill()
        if sub.returncode is None:
            sub.kill()
        source.stop.set()
        await loop.run_in_executor(None, thread.join)
        await server.close()
        ring.close()
    wakes = source.reader.wakes if source.reader is not None else 0
    lat: list[float] = []
    for item in line:
        t, q = item.split(":")
        lat.extend(float(t) - times[i] for i in range(len(lat), int(q)))
    assert len(lat) == n, f"the subscriber saw {len(lat)} of {n} changes"
    return lat, wakes, wall


def latency(seconds: float, rate: float, wakes_ms: list[float]) -> None:
    import tempfile

    from ringmatch.engine.rings.codec import EVENT_SLOT
    from ringmatch.engine.rings.event_ring import EventRing

    n = int(seconds * rate)
    print(f"feed latency, core publish -> subscriber read: {n:,} events at {rate:,.0f}/s offered")

    def one(wake_ms: float, count: int) -> tuple[list[float], float, float]:
        ring = EventRing.create(f"rmbench{os.getpid()}", "events", 1 << 14, EVENT_SLOT, [False])
        try:
            with (
                tempfile.TemporaryDirectory() as data_dir,
                asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner,
            ):
                return runner.run(_latency_run(ring.spec, wake_ms, count, rate, data_dir))
        finally:
            ring.close()

    # Not reported: the first run of a process pays for its warm-up (tens of ms at the
    # start), which would land on whichever setting came first.
    one(wakes_ms[0], int(rate / 2))
    for wake_ms in wakes_ms:
        lat, wakes, wall = one(wake_ms, n)
        ms = sorted(x * 1000 for x in lat)
        p50, p99 = (ms[min(len(ms) - 1, int(p * len(ms)))] for p in (0.50, 0.99))
        print(
            f"  wake_ms {wake_ms:>4}: p50 {p50:6.3f} ms  p99 {p99:6.3f} ms"
            f"  max {ms[-1]:7.3f} ms  reader wake-ups {wakes / wall:,.0f}/s"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="commands (default 100,000)")
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--quick", action="store_true", help="10,000 commands")
    parser.add_argument("--latency", type=float, metavar="SECONDS", help="the latency run instead")
    parser.add_argument("--rate", type=float, default=10_000, help="latency: events/s offered")
    parser.add_argument("--wake-ms", type=float, nargs="+", default=[1.0, 0.0])
    args = parser.parse_args()
    if args.latency:
        latency(args.latency, args.rate, args.wake_ms)
        return 0
    n = 10_000 if args.quick else args.n
    print(f"python {platform.python_version()} on {platform.machine()} {platform.system()}")
    eng = MatchingEngine()
    cmds = standard_workload(n)
    batches = [eng.process_batch(cmds[i : i + 100]) for i in range(0, n, 100)]
    events = sum(len(b) for b in batches)
    # How many messages one all-symbols subscriber gets (a dry run of the same stream).
    from ringmatch.gateway.feed.marketdata import MarketData

    md = MarketData()
    for s in SYMBOLS:
        md.channel(s, 5)
    expected = sum(len(m) for b in batches for m in md.on_events(b).values())
    print(f"{n:,} commands, {events:,} events, {expected:,} messages per subscriber")
    for subs in args.subscribers:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            wall, cpu, got = runner.run(run(subs, batches, expected))
        assert got == expected * subs, f"delivered {got}, expected {expected * subs}"
        print(
            f"{subs:>3} subscriber(s): {got / wall:>12,.0f} msg/s delivered"
            f" ({expected / wall:,.0f} per subscriber),"
            f" server CPU {cpu / events * 1e6:.2f} us/event"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
