"""Events to Redis Streams, for subscribers on other machines (optional; ``[feed] redis_url``).

One stream per symbol, ``{prefix}{symbol}``, each entry ``{"seq": N, "event":
msgpack of the Event}`` (decoded by the feed from the ring's records), XADD
with ``MAXLEN ~ maxlen`` so Redis trims it to about that many entries. A remote
reader XREADs the stream and runs the events through its own
``ringmatch.gateway.feed.marketdata.MarketData``. Events without a symbol
(Rejected, a MassCancelled of all symbols) are not published: they change no book.
One pipeline round trip per batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import redis

from ringmatch.engine.schema.events import Event, Rejected

DEFAULT_PREFIX = "ringmatch:events:"


class RedisEventPublisher:
    def __init__(
        self, client: redis.Redis, maxlen: int = 100_000, prefix: str = DEFAULT_PREFIX
    ) -> None:
        if maxlen < 1:
            raise ValueError(f"redis stream maxlen must be >= 1, got {maxlen}")
        self.client = client
        self.maxlen = maxlen
        self.prefix = prefix
        self._encode = msgspec.msgpack.Encoder().encode

    @classmethod
    def from_url(
        cls, url: str, maxlen: int = 100_000, prefix: str = DEFAULT_PREFIX
    ) -> RedisEventPublisher:
        return cls(redis.Redis.from_url(url), maxlen, prefix)

    def publish(self, events: Sequence[Event]) -> int:
        """XADD each event to its symbol's stream; the number published."""
        pipe = self.client.pipeline(transaction=False)
        n = 0
        for ev in events:
            if type(ev) is Rejected:
                continue
            symbol = ev.symbol  # type: ignore[union-attr]
            if symbol is None:
                continue
            pipe.xadd(
                self.prefix + symbol,
                {"seq": ev.seq, "event": self._encode(ev)},
                maxlen=self.maxlen,
                approximate=True,
            )
            n += 1
        if n:
            pipe.execute()
        return n

    def close(self) -> None:
        self.client.close()
