"""The market-data feed process: ``python -m ringmatch.gateway.feed.process FEED.json``.

    event ring ──(optional reader k)──▶ RingFeedSource thread ──▶ loop: FeedServer ──▶ TCP
                                                      └─▶ RedisEventPublisher (if redis_url)

Prints ``listening PORT`` once the server is up; SIGTERM/SIGINT stop it.
With ``start_seq`` (the core's recovered seq, ``ready last_seq=N``) the books
are first rebuilt from the journal up to it, so after a restart subscribers get
the resting orders the core recovered; the ring, new with each ``serve``, then
carries on exactly after N.
A rebuild from the journal runs the pre-trade stage the journal names
(ringmatch.engine.schema.commands.StageChain), so it decides as the core did; ``pretrade`` is
no longer read (kept so that a supervisor that still sends it is understood).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading
from collections.abc import Callable

import msgspec
import uvloop

from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.process import lifeline
from ringmatch.engine.process.child_config import config_from_argv
from ringmatch.engine.process.placement import pin, settle
from ringmatch.engine.records.names import read_directory_or_empty
from ringmatch.engine.rings.event_ring import EventRing, EventRingSpec
from ringmatch.engine.schema.events import Event
from ringmatch.gateway.feed.redis_streams import RedisEventPublisher
from ringmatch.gateway.feed.server import FeedServer
from ringmatch.gateway.feed.source import RingFeedSource, load_books, rebuild_books

log = logging.getLogger(__name__)


class FeedProcessConfig(msgspec.Struct, frozen=True, kw_only=True):
    event_ring: str
    reader: int
    data_dir: str
    host: str = "127.0.0.1"
    port: int = 7002
    listen_fd: int | None = None  # the supervisor's listening socket (None: bind port itself)
    max_queued: int = 1 << 20  # bytes unread by one subscriber before it is cut off
    redis_url: str | None = None
    redis_maxlen: int = 100_000
    start_seq: int | None = None  # rebuild the books from the journal up to it first
    wake_ms: float = 1.0  # read the ring at most this often... (gateway/feed/source.py)
    wake_records: int = 1024  # ...unless this many records wait (0 ms: every event)
    cpus: list[int] = []  # [cpus] feed: the CPUs this process is pinned to ([]: anywhere)


async def run(config: FeedProcessConfig, resolve: StageResolver = no_stages) -> int:
    loop = asyncio.get_running_loop()
    ring = EventRing.attach(EventRingSpec(config.event_ring))
    server = FeedServer(max_queued=config.max_queued)
    if config.start_seq:
        books, _ = rebuild_books(config.data_dir, config.start_seq, resolve)
        load_books(server, books)
    _, port = await server.start(config.host, config.port, config.listen_fd)
    redis = None
    also: Callable[[list[Event]], object] | None = None
    if config.redis_url:
        redis = RedisEventPublisher.from_url(config.redis_url, config.redis_maxlen)
        also = redis.publish
    # The core's names: the directory file it wrote before it was ready.
    directory = read_directory_or_empty(config.data_dir, log.warning)
    source = RingFeedSource(
        ring,
        config.reader,
        config.data_dir,
        server,
        loop,
        resolve=resolve,
        also=also,
        directory=directory,
        wake_ms=config.wake_ms,
        wake_records=config.wake_records,
    )
    thread = threading.Thread(target=source.run)
    thread.start()
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_signal_handler(signal.SIGINT, done.set)
    pin(config.cpus, "feed")
    settle()  # the rebuilt books live until exit: keep the collector off them
    print(f"listening {port}", flush=True)
    try:
        await done.wait()
    finally:
        source.stop.set()
        await loop.run_in_executor(None, thread.join)
        await server.close()
        if redis is not None:
            redis.close()
        ring.close()
    return 0


def main(argv: list[str] | None = None, resolve: StageResolver = no_stages) -> int:
    """The feed process; ``resolve``: the pre-trade stages its journal rebuilds may meet
    (the wiring's, ringmatch.stages, when serve starts it through ringmatch.child)."""
    lifeline.attach()  # started by serve: never outlive it
    config = config_from_argv(argv, "ringmatch.gateway.feed.process", FeedProcessConfig)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s feed %(message)s")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run(config, resolve))


if __name__ == "__main__":
    sys.exit(main())
