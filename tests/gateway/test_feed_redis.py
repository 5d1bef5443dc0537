"""Events on Redis Streams, against a real redis-server: one stream per symbol, bounded."""

from __future__ import annotations

import uuid

import msgspec
import redis

from ringmatch.benchmarks.workload import SYMBOLS, standard_workload
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.events import Event
from ringmatch.gateway.feed.marketdata import MarketData
from ringmatch.gateway.feed.redis_streams import RedisEventPublisher


def test_a_remote_reader_rebuilds_the_books_from_the_streams(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    publisher = RedisEventPublisher.from_url(redis_url, maxlen=100_000, prefix=prefix)
    eng = MatchingEngine()
    cmds = standard_workload(2000, seed=4)
    for start in range(0, len(cmds), 100):
        publisher.publish(eng.process_batch(cmds[start : start + 100]))
    client = redis.Redis.from_url(redis_url)
    decoder = msgspec.msgpack.Decoder(Event)
    for symbol in SYMBOLS:
        md = MarketData()
        entries = client.xrange(prefix + symbol)
        seqs = [int(fields[b"seq"]) for _, fields in entries]
        assert seqs == sorted(seqs)
        md.on_events([decoder.decode(fields[b"event"]) for _, fields in entries])
        snap = md.snapshot(symbol, 10)
        depth = eng.depth(symbol, 10)
        assert (snap.bids, snap.asks) == (depth.bids, depth.asks)
    publisher.close()
    client.close()


def test_streams_are_trimmed_to_about_maxlen(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    publisher = RedisEventPublisher.from_url(redis_url, maxlen=100, prefix=prefix)
    eng = MatchingEngine()
    for cmd in standard_workload(3000, seed=1):
        publisher.publish(eng.process(cmd))
    client = redis.Redis.from_url(redis_url)
    length = client.xlen(prefix + "AAPL")
    # MAXLEN ~: trimmed in whole macro-nodes (100 entries by default), never far over
    assert 100 <= length <= 300
    publisher.close()
    client.close()
