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
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import time
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="commands (default 100,000)")
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--quick", action="store_true", help="10,000 commands")
    args = parser.parse_args()
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
