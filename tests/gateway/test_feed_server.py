"""The feed server over real sockets: subscribers, re-snapshot, a stalled reader cut off."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Awaitable, Callable

import uvloop

from ringmatch.benchmarks.workload import standard_workload
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.gateway.feed.client import FeedClient
from ringmatch.gateway.feed.protocol import CutOff, FeedProtocol, ServerMessage, Subscribe, frame
from ringmatch.gateway.feed.server import FeedServer


def run(main: Callable[[], Awaitable[None]]) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(asyncio.wait_for(main(), 60))


async def catch_up(client: FeedClient, server: FeedServer, symbol: str, levels: int) -> None:
    """Read until the client's book has every message the channel has published."""
    book = client.books[symbol]
    channels = server.market.channels
    while book.stale or book.seq < channels[symbol, levels].seq:
        await client.next_message()


def test_two_subscribers_follow_the_engine_and_a_gap_heals() -> None:
    async def main() -> None:
        server = FeedServer()
        host, port = await server.start("127.0.0.1", 0)
        eng = MatchingEngine()
        cmds = standard_workload(3000, seed=7)
        server.publish(eng.process_batch(cmds[:1000]))  # books exist before anyone joins
        a = await FeedClient.connect(host, port, ["AAPL", "MSFT"], 5)
        b = await FeedClient.connect(host, port, ["AAPL"], 1)
        await catch_up(a, server, "AAPL", 5)
        await catch_up(b, server, "AAPL", 1)
        rng = random.Random(1)
        for i, cmd in enumerate(cmds[1000:]):
            server.publish(eng.process(cmd))
            if i == 500:  # force a gap on a: it skips its book ahead, as if it lost a message
                a.books["AAPL"].seq -= 1
            if rng.random() < 0.05:
                await catch_up(a, server, "MSFT", 5)
        await catch_up(a, server, "AAPL", 5)
        await catch_up(a, server, "MSFT", 5)
        await catch_up(b, server, "AAPL", 1)
        assert a.books["AAPL"].gaps == 1  # detected, and healed by the fresh snapshot:
        for client, symbol, levels in ((a, "AAPL", 5), (a, "MSFT", 5), (b, "AAPL", 1)):
            depth = eng.depth(symbol, levels)
            assert client.books[symbol].depth() == (depth.bids, depth.asks)
        a.close()
        b.close()
        await server.close()

    run(main)


def test_a_stalled_subscriber_is_cut_off_while_matching_and_others_go_on() -> None:
    async def main() -> None:
        server = FeedServer(max_queued=32 * 1024, sndbuf=8192)
        host, port = await server.start("127.0.0.1", 0)
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect((host, port))
        stalled.sendall(frame(Subscribe(["AAPL"], 20)))
        healthy = await FeedClient.connect(host, port, ["AAPL"], 20)
        eng = MatchingEngine()
        cmds = standard_workload(60_000, seed=3)
        done = 0
        for start in range(0, len(cmds), 200):  # the core keeps matching throughout
            server.publish(eng.process_batch(cmds[start : start + 200]))
            done = start + 200
            await catch_up(healthy, server, "AAPL", 20)
            if server.cut_offs:
                break
        assert server.cut_offs == 1, "the stalled subscriber was never cut off"
        # What the stalled one reads, once it reads, ends with the reason it was cut
        # off. (Read now: the server aborts a cut-off connection after a grace
        # period, CLOSE_GRACE_S, and a slow machine's matching below could outlast it.)
        stalled.setblocking(False)
        loop = asyncio.get_running_loop()
        proto = FeedProtocol(ServerMessage)  # type: ignore[arg-type]
        last = None
        while data := await loop.sock_recv(stalled, 65536):
            proto.receive_data(data)
            while (m := proto.next_message()) is not None:
                last = m
        assert isinstance(last, CutOff) and last.reason.startswith("too slow")
        stalled.close()
        for start in range(done, done + 2000, 200):  # and the others go on after it
            server.publish(eng.process_batch(cmds[start : start + 200]))
        await catch_up(healthy, server, "AAPL", 20)
        depth = eng.depth("AAPL", 20)
        assert healthy.books["AAPL"].depth() == (depth.bids, depth.asks)
        healthy.close()
        await server.close()

    run(main)
