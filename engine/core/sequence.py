"""Sequence-ID allocators: where the core gets the number it stamps on each input.

Two implementations of one interface, ``SequenceAllocator``:

- ``LocalSequence``: a plain counter. The core is the single writer and owns it,
  so no lock and no I/O. The default.
- ``RedisBlockSequence``: for several nodes sharing one ID space. It reserves
  blocks of IDs with one atomic ``INCRBY`` on a shared key and hands them out
  locally; a background thread fetches the next block when ``prefetch_at`` of the
  current one is used, so ``next()`` never talks to Redis.

When Redis is unreachable and the current block is spent, ``next()`` does not
wait: it raises ``SequenceUnavailable``, whose message names the Redis URL, the
key and the last error. The core maps it to a reject. (We raise rather than return
None so that a caller cannot silently stamp None, and so the local counter's hot
path carries no None check.) The fetcher keeps retrying with a bounded
exponential backoff; service resumes by itself once a block arrives.

IDs are strictly increasing within one process, and never at or below ``floor``
(recovery passes the journal's last seq). Across nodes they are unique as long
as Redis keeps the key; if Redis loses it (restart without persistence), each
node's fetch raises the key back above that node's own highest reservation, so
a node never reuses its own IDs, but two nodes could collide: run Redis with AOF
when several nodes share a key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Final, Protocol

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

DEFAULT_KEY: Final = "ringmatch:seq"
DEFAULT_BLOCK_SIZE: Final = 10_000


class SequenceUnavailable(Exception):
    """No sequence ID can be handed out right now (the shared allocator is cut off)."""


class SequenceAllocator(Protocol):
    def next(self) -> int:
        """The next ID: strictly greater than every ID this allocator gave before."""
        ...

    def next_block(self, n: int) -> Sequence[int]:
        """``n`` increasing IDs for a batch, all or none (not necessarily contiguous)."""
        ...

    def close(self) -> None: ...


class LocalSequence:
    """A counter owned by the single writer: 1, 2, 3, ... after ``start_after``."""

    __slots__ = ("_next",)

    def __init__(self, start_after: int = 0) -> None:
        if start_after < 0:
            raise ValueError(f"start_after must be >= 0, got {start_after}")
        self._next = start_after + 1

    def next(self) -> int:
        n = self._next
        self._next = n + 1
        return n

    def next_block(self, n: int) -> range:
        if n < 0:
            raise ValueError(f"next_block: n must be >= 0, got {n}")
        first = self._next
        self._next = first + n
        return range(first, first + n)

    @property
    def last(self) -> int:
        """The last ID handed out (``start_after`` if none)."""
        return self._next - 1

    def close(self) -> None:
        pass


# Atomically: raise the key to at least ARGV[2] (the floor), then reserve ARGV[1]
# IDs. Returns the last ID of the reserved block. Lua numbers are doubles, so this
# is exact up to 2**53 (about 9e15 IDs).
_RESERVE_LUA: Final = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[2])
if cur < floor then redis.call('SET', KEYS[1], ARGV[2]) end
return redis.call('INCRBY', KEYS[1], ARGV[1])
"""


def describe(client: redis.Redis) -> str:
    """``redis://host:port/db`` (or the socket path) for error messages."""
    kw = client.connection_pool.connection_kwargs
    if "path" in kw:
        return f"unix://{kw['path']}?db={kw.get('db', 0)}"
    return f"redis://{kw.get('host', 'localhost')}:{kw.get('port', 6379)}/{kw.get('db', 0)}"


class RedisBlockSequence:
    """IDs from blocks reserved on a shared Redis key; see the module docstring.

    Threads: the caller of ``next()``/``next_block()`` (the core, one thread) is the
    consumer; ``_fetch_loop`` (one daemon thread) is the producer. They share one
    slot, ``_ready``, holding at most one fetched block:

    - the fetcher writes the slot only after a request (``_want``) and only while
      the slot is empty;
    - the consumer empties the slot when it installs the block, and only then can
      it make the next request.

    So exactly one side owns the slot at any time, and each handover is a single
    reference store (``self._ready = (first, end)`` / ``= None``). Under the GIL a
    STORE_ATTR is atomic: the reader sees None or the complete tuple, built before
    the store, never a half-written block. No lock is needed for it; ``_want`` and
    ``_fetched`` (Events, which do lock) are touched once per block, not per ID.

    Sizing: a busy core holds the GIL, and the fetcher gets it back only at the
    interpreter's switch interval (5 ms by default), twice per fetch. Choose
    ``block_size * (1 - prefetch_at)`` so that many IDs take the core longer than
    that plus a Redis round trip, or ``next()`` raises while the fetch is in flight.

    ``on_fetch_error`` is called on the fetcher thread with the message of each
    failed fetch (for logs and metrics); it must not block.
    """

    def __init__(
        self,
        client: redis.Redis,
        key: str = DEFAULT_KEY,
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        prefetch_at: float = 0.5,
        floor: int = 0,
        retry_min: float = 0.01,
        retry_max: float = 1.0,
        on_fetch_error: Callable[[str], None] | None = None,
        owns_client: bool = False,
    ) -> None:
        if block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        if not 0.0 <= prefetch_at < 1.0:
            raise ValueError(f"prefetch_at must be in [0, 1), got {prefetch_at}")
        if floor < 0:
            raise ValueError(f"floor must be >= 0, got {floor}")
        if not 0 < retry_min <= retry_max:
            raise ValueError(f"need 0 < retry_min <= retry_max, got {retry_min}, {retry_max}")
        self.key = key
        self.url = describe(client)
        self.block_size = block_size
        self._refill_offset = int(block_size * prefetch_at)
        self._client = client
        self._owns_client = owns_client
        self._reserve = client.register_script(_RESERVE_LUA)
        self._retry_min = retry_min
        self._retry_max = retry_max
        self._on_fetch_error = on_fetch_error

        # Consumer state (the core's thread only). Empty block at the start: the
        # first next() installs the block the fetcher was asked for below.
        self._next = 0  # the next ID to hand out
        self._end = 0  # one past the current block's last ID
        self._limit = 0  # next() takes the fast path while _next < _limit
        self._refill_at = 0  # ask for the next block once _next reaches this
        self._requested = True

        # Shared: see the class docstring.
        self._ready: tuple[int, int] | None = None
        self._want = threading.Event()
        self._fetched = threading.Event()
        self._stop = threading.Event()

        # Fetcher state (fetcher thread only, once started).
        self._floor = floor  # the key is raised to at least this before each INCRBY
        self._last_error = "the first fetch is still in flight"

        self._want.set()
        self._thread = threading.Thread(
            target=self._fetch_loop, name=f"seq-fetch {self.url} {key}", daemon=True
        )
        self._thread.start()

    @classmethod
    def from_url(
        cls,
        url: str,
        key: str = DEFAULT_KEY,
        *,
        socket_timeout: float = 1.0,
        block_size: int = DEFAULT_BLOCK_SIZE,
        prefetch_at: float = 0.5,
        floor: int = 0,
        retry_min: float = 0.01,
        retry_max: float = 1.0,
        on_fetch_error: Callable[[str], None] | None = None,
    ) -> RedisBlockSequence:
        # No retries inside redis-py: the fetch loop does its own backoff, and a
        # bounded socket timeout keeps a hung server from stalling it forever.
        client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        return cls(
            client,
            key,
            block_size=block_size,
            prefetch_at=prefetch_at,
            floor=floor,
            retry_min=retry_min,
            retry_max=retry_max,
            on_fetch_error=on_fetch_error,
            owns_client=True,
        )

    # --- consumer side (the core) -------------------------------------------

    def next(self) -> int:
        n = self._next
        if n < self._limit:  # the hot path: one comparison, one store
            self._next = n + 1
            return n
        return self._next_slow()

    def _next_slow(self) -> int:
        """At most twice per block: the ID that asks for the next block, and the
        first ID of a block (which installs it)."""
        if self._next >= self._end:
            self._install()
        n = self._next
        self._next = n + 1
        self._after_take()
        return n

    def next_block(self, n: int) -> Sequence[int]:
        if not 0 <= n <= self.block_size:
            raise ValueError(f"next_block: n must be in [0, block_size={self.block_size}], got {n}")
        first = self._next
        left = self._end - first
        if n <= left:
            self._next = first + n
            self._after_take()
            return range(first, first + n)
        self._install()  # raises before anything is taken: all or none
        ids = list(range(first, first + left))
        ids.extend(self.next_block(n - left))
        return ids

    def _install(self) -> None:
        """Make the fetched block current; called once the current one is used up."""
        ready = self._ready
        if ready is None:
            raise self._unavailable()
        # The slot is ours: the fetcher writes it again only after the next request.
        self._ready = None
        self._fetched.clear()
        self._next, self._end = ready
        self._refill_at = self._next + self._refill_offset
        self._requested = False

    def _after_take(self) -> None:
        """Ask for the next block once ``prefetch_at`` of this one is used; reset the
        fast path's limit to the next point where something must happen."""
        if not self._requested and self._next >= self._refill_at:
            self._requested = True
            self._want.set()
        # The fast path hands out n while n < _limit; the ID whose taking reaches
        # _refill_at is refill_at - 1, so it must take the slow path.
        self._limit = self._end if self._requested else self._refill_at - 1

    def _unavailable(self) -> SequenceUnavailable:
        if self._stop.is_set():
            return SequenceUnavailable(f"sequence allocator for {self.url} key {self.key!r} closed")
        return SequenceUnavailable(
            f"no sequence ID: the block from {self.url} key {self.key!r} is spent and the "
            f"next one has not arrived ({self._last_error})"
        )

    def wait_block(self, timeout: float) -> bool:
        """Wait until a fetched block is waiting to be handed over; for start-up and tests.

        True if one is; False on timeout (Redis unreachable, or nothing requested).
        """
        return self._fetched.wait(timeout)

    def close(self) -> None:
        """Stop the fetcher (an in-flight fetch ends within the socket timeout)."""
        self._stop.set()
        self._want.set()
        self._thread.join()
        self._limit = self._end = self._next  # later calls raise, never hand out more
        self._ready = None
        if self._owns_client:
            self._client.close()

    # --- fetcher side (background thread) -----------------------------------

    def _fetch_loop(self) -> None:
        while True:
            self._want.wait()
            if self._stop.is_set():
                return
            self._want.clear()
            block = self._fetch_with_retry()
            if block is None:  # stopped while retrying
                return
            self._ready = block  # the handover: one reference store (class docstring)
            self._fetched.set()

    def _fetch_with_retry(self) -> tuple[int, int] | None:
        delay = self._retry_min
        while not self._stop.is_set():
            try:
                last = int(self._reserve(keys=[self.key], args=[self.block_size, self._floor]))
            except redis.RedisError as exc:
                self._last_error = f"last error: {type(exc).__name__}: {exc}"
                if self._on_fetch_error is not None:
                    self._on_fetch_error(self._last_error)
                # Bounded backoff; wakes early on close(). Not a busy loop.
                if self._stop.wait(delay):
                    return None
                delay = min(delay * 2, self._retry_max)
                continue
            # Remember our own reservation: if Redis loses the key, the next fetch
            # raises it above everything this process was given.
            self._floor = last
            self._last_error = "the fetch is still in flight"
            return last - self.block_size + 1, last + 1
        return None
