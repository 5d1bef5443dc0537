"""Sequence-ID allocators: the local counter, and Redis blocks against a real redis-server.

Forbidden outcomes, each with the test that would catch it:
- an ID handed out twice, by one node or by two sharing a key (two_nodes);
- an ID not above the one before it in the same process (model, restart);
- an ID at or below the recovery floor (floor);
- next() talking to Redis, or waiting for it (never_waits, slow_redis, redis_down);
- no service after Redis comes back (redis_down).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from ringmatch.engine.core.sequence import LocalSequence, RedisBlockSequence, SequenceUnavailable
from tests.conftest import REPO, need
from tests.redis_server import RedisServer, find_redis_server, free_port

FETCH_TIMEOUT = 5.0  # only reached when a test is about to fail
_keys = itertools.count()


def fresh_key() -> str:
    return f"test:seq:{time.monotonic_ns()}:{next(_keys)}"


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server of the test's own, which it may kill and restart."""
    binary = find_redis_server()
    need(binary is not None, "redis-server is not installed (apt-get install redis-server)")
    assert binary is not None
    server = RedisServer(binary)
    server.start()
    yield server
    server.close()


class RecordingRedis(redis.Redis):
    """Records which thread sends each command; ``gate`` can hold commands back."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calling_threads: list[int] = []
        self.gate = threading.Event()
        self.gate.set()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.calling_threads.append(threading.get_ident())
        assert self.gate.wait(FETCH_TIMEOUT), "gate never opened"
        return super().execute_command(*args, **options)


def key_value(url: str, key: str) -> int:
    with redis.Redis.from_url(url) as c:
        return int(c.get(key) or 0)


def incrby_calls(url: str) -> int:
    with redis.Redis.from_url(url) as c:
        return int(c.info("commandstats").get("cmdstat_incrby", {}).get("calls", 0))


def take(seq: RedisBlockSequence, n: int, block_size: int, refill_offset: int) -> list[int]:
    """n IDs the way a well-sized core sees them: the prefetch lands before it is needed.

    Blocks are aligned on multiples of block_size (one node on a fresh key, refill
    offset >= 1). Each time an ID asks for the next block, wait for the fetch to
    land (an event, not a sleep), standing in for the core's work between IDs.
    """
    ids = []
    for _ in range(n):
        ids.append(seq.next())
        if ids[-1] % block_size == refill_offset:  # this ID asked for the next block
            assert seq.wait_block(FETCH_TIMEOUT)
    return ids


# --- the local counter --------------------------------------------------------


def test_local_counts_from_one() -> None:
    seq = LocalSequence()
    assert [seq.next(), seq.next(), seq.next()] == [1, 2, 3]
    assert seq.last == 3


def test_local_continues_after_recovery() -> None:
    seq = LocalSequence(start_after=41)
    assert seq.last == 41
    assert seq.next() == 42
    assert list(seq.next_block(3)) == [43, 44, 45]
    assert list(seq.next_block(0)) == []
    assert seq.next() == 46


def test_local_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="start_after must be >= 0"):
        LocalSequence(start_after=-1)
    with pytest.raises(ValueError, match="n must be >= 0"):
        LocalSequence().next_block(-1)


# --- Redis blocks: behaves like the local counter, or refuses -------------------


@settings(max_examples=40, deadline=None)
@given(
    block_size=st.integers(1, 8),
    prefetch_at=st.sampled_from([0.0, 0.25, 0.5, 0.9]),
    floor=st.integers(0, 10**6),
    ops=st.lists(st.tuples(st.sampled_from(["next", "block", "wait"]), st.integers(0, 8))),
)
def test_single_node_matches_local_counter(
    redis_url: str, block_size: int, prefetch_at: float, floor: int, ops: list[tuple[str, int]]
) -> None:
    """Alone on a fresh key, Redis blocks are contiguous, so the allocator must hand
    out exactly what LocalSequence(start_after=floor) does, or raise and hand out
    nothing. It may raise only when no fetched ID is in hand: after a fetch has
    landed, the current block's rest plus one block are guaranteed."""
    seq = RedisBlockSequence.from_url(
        redis_url, fresh_key(), block_size=block_size, prefetch_at=prefetch_at, floor=floor
    )
    model = LocalSequence(start_after=floor)
    refill_offset = int(block_size * prefetch_at)
    guaranteed = 0
    try:
        for op, k in ops:
            used_in_block = (model.last - floor) % block_size
            if op == "wait":
                if used_in_block == 0 or used_in_block >= refill_offset:  # a fetch was asked
                    assert seq.wait_block(FETCH_TIMEOUT)
                    guaranteed = (block_size - used_in_block) % block_size + block_size
                else:
                    assert not seq.wait_block(0), "fetched a block nobody asked for"
                continue
            n = 1 if op == "next" else min(k, block_size)
            try:
                got = [seq.next()] if op == "next" else list(seq.next_block(n))
            except SequenceUnavailable:
                assert n > guaranteed, f"refused {n} IDs with {guaranteed} in hand"
                continue
            assert got == ([model.next()] if op == "next" else list(model.next_block(n)))
            guaranteed = max(0, guaranteed - n)
    finally:
        seq.close()


def test_rejects_bad_arguments(redis_url: str) -> None:
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        RedisBlockSequence.from_url(redis_url, fresh_key(), block_size=0)
    with pytest.raises(ValueError, match=r"prefetch_at must be in \[0, 1\)"):
        RedisBlockSequence.from_url(redis_url, fresh_key(), prefetch_at=1.0)
    with pytest.raises(ValueError, match="floor must be >= 0"):
        RedisBlockSequence.from_url(redis_url, fresh_key(), floor=-1)
    seq = RedisBlockSequence.from_url(redis_url, fresh_key(), block_size=4)
    try:
        with pytest.raises(ValueError, match=r"n must be in \[0, block_size=4\], got 5"):
            seq.next_block(5)
    finally:
        seq.close()


def test_one_incrby_per_block_of_the_configured_size(redis_url: str) -> None:
    key = fresh_key()
    before = incrby_calls(redis_url)
    seq = RedisBlockSequence.from_url(redis_url, key, block_size=100, prefetch_at=0.5)
    try:
        assert seq.wait_block(FETCH_TIMEOUT)  # start-up: the first block
        ids = take(seq, 1000, 100, 50)
    finally:
        seq.close()
    assert ids == list(range(1, 1001))
    # Ten blocks used and the eleventh prefetched: eleven INCRBYs of 100 each.
    assert incrby_calls(redis_url) - before == 11
    assert key_value(redis_url, key) == 1100


def test_never_waits_on_redis_while_it_is_up(redis_url: str) -> None:
    """Every command goes out on the fetcher thread, and the prefetch is asked for
    at the threshold, before the block runs out."""
    key = fresh_key()
    client = RecordingRedis.from_url(redis_url)
    seq = RedisBlockSequence(client, key, block_size=20, prefetch_at=0.5, owns_client=True)
    try:
        assert seq.wait_block(FETCH_TIMEOUT)
        assert [seq.next() for _ in range(9)] == list(range(1, 10))
        assert not seq.wait_block(0)  # under the threshold: nothing asked yet
        assert key_value(redis_url, key) == 20
        assert seq.next() == 10  # half the block used: this one asks for the next
        assert seq.wait_block(FETCH_TIMEOUT)
        assert key_value(redis_url, key) == 40
        ids = take(seq, 100, 20, 10)  # five more blocks, with no refusal
        assert ids == list(range(11, 111))
    finally:
        seq.close()
    assert client.calling_threads, "the instrumented client saw no command"
    assert threading.get_ident() not in client.calling_threads


def test_slow_redis_refuses_instead_of_waiting(redis_url: str) -> None:
    client = RecordingRedis.from_url(redis_url)
    seq = RedisBlockSequence(client, fresh_key(), block_size=20, prefetch_at=0.5, owns_client=True)
    try:
        assert seq.wait_block(FETCH_TIMEOUT)
        client.gate.clear()  # Redis "hangs" from now on
        assert [seq.next() for _ in range(20)] == list(range(1, 21))
        start = time.perf_counter()
        with pytest.raises(SequenceUnavailable, match="in flight"):
            seq.next()
        assert time.perf_counter() - start < 0.05
        client.gate.set()
        assert seq.wait_block(FETCH_TIMEOUT)
        assert seq.next() == 21
    finally:
        client.gate.set()
        seq.close()


def test_redis_down_refuses_fast_then_resumes_by_itself(own_redis: RedisServer) -> None:
    errors: list[str] = []
    failed = threading.Event()

    def on_fetch_error(message: str) -> None:
        errors.append(message)
        failed.set()

    seq = RedisBlockSequence.from_url(
        own_redis.url,
        fresh_key(),
        block_size=20,
        prefetch_at=0.5,
        retry_min=0.005,
        retry_max=0.05,
        on_fetch_error=on_fetch_error,
    )
    try:
        assert seq.wait_block(FETCH_TIMEOUT)
        before = take(seq, 11, 20, 10)  # 9 left in this block, the next one fetched
        own_redis.stop()
        # What is in hand is still served while Redis is down.
        before += [seq.next() for _ in range(29)]
        assert failed.wait(FETCH_TIMEOUT)  # the fetch asked for at 30 has failed
        for _ in range(3):  # stays refused, each time quickly, no blocking
            start = time.perf_counter()
            with pytest.raises(SequenceUnavailable) as refused:
                seq.next()
            assert time.perf_counter() - start < 0.05
        message = str(refused.value)
        assert f"127.0.0.1:{own_redis.port}" in message
        assert "ConnectionError" in message
        assert all("ConnectionError" in e for e in errors)

        own_redis.start()  # same port, empty: the key is gone
        assert seq.wait_block(FETCH_TIMEOUT)
        after = seq.next()
        # The allocator raised the fresh key above its own reservations.
        assert after > max(before)
        assert before == list(range(1, 41))
    finally:
        seq.close()


def test_nothing_listening_refuses_with_url_and_error() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    failed = threading.Event()
    seq = RedisBlockSequence.from_url(
        url, fresh_key(), retry_max=0.05, on_fetch_error=lambda _message: failed.set()
    )
    try:
        assert failed.wait(FETCH_TIMEOUT)
        with pytest.raises(SequenceUnavailable, match=r"redis://127\.0\.0\.1:\d+/0 .*Error"):
            seq.next()
        with pytest.raises(SequenceUnavailable):
            seq.next_block(3)
    finally:
        start = time.perf_counter()
        seq.close()  # interrupts the backoff
    assert time.perf_counter() - start < 1.0
    assert not [t for t in threading.enumerate() if t.name.startswith(f"seq-fetch {url}")]
    with pytest.raises(SequenceUnavailable, match="closed"):
        seq.next()


def test_floor_on_recovery_raises_the_key_never_lowers_it(redis_url: str) -> None:
    key = fresh_key()
    with redis.Redis.from_url(redis_url) as c:
        c.set(key, 100)  # the key is behind the journal's last seq, 5000
    first = RedisBlockSequence.from_url(redis_url, key, block_size=10, floor=5000)
    try:
        assert first.wait_block(FETCH_TIMEOUT)
        assert first.next() == 5001
    finally:
        first.close()
    second = RedisBlockSequence.from_url(redis_url, key, block_size=10, floor=10)
    try:
        assert second.wait_block(FETCH_TIMEOUT)
        assert second.next() == 5011  # a lower floor does not pull the key back
    finally:
        second.close()
    assert key_value(redis_url, key) == 5020


def test_next_block_across_blocks_is_all_or_none(redis_url: str) -> None:
    seq = RedisBlockSequence.from_url(redis_url, fresh_key(), block_size=10, prefetch_at=0.5)
    try:
        assert seq.wait_block(FETCH_TIMEOUT)
        assert list(seq.next_block(6)) == [1, 2, 3, 4, 5, 6]  # asks for the next block
        assert seq.wait_block(FETCH_TIMEOUT)
        assert list(seq.next_block(10)) == list(range(7, 17))  # 4 from here, 6 from there
    finally:
        seq.close()


# --- two nodes on one key -----------------------------------------------------

NODE = """
import sys
from ringmatch.engine.core.sequence import RedisBlockSequence, SequenceUnavailable
url, key, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
seq = RedisBlockSequence.from_url(url, key, block_size=10, prefetch_at=0.5)
assert seq.wait_block(5)
print("ready", flush=True)
sys.stdin.readline()  # the start line, so both nodes run at once
ids = []
while len(ids) < n:
    try:
        ids.append(seq.next())
    except SequenceUnavailable:
        assert seq.wait_block(5), "no block within 5 s"
seq.close()
print(" ".join(map(str, ids)), flush=True)
"""


def test_two_nodes_never_hand_out_the_same_id(redis_url: str) -> None:
    key = fresh_key()
    n = 5000
    nodes = [
        subprocess.Popen(
            [sys.executable, "-c", NODE, redis_url, key, str(n)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for node in nodes:
        assert node.stdout is not None
        assert node.stdout.readline() == "ready\n"
    for node in nodes:
        assert node.stdin is not None
        node.stdin.write("go\n")
        node.stdin.flush()
    outputs = [node.communicate(timeout=60)[0] for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0]
    a, b = ([int(x) for x in out.split()] for out in outputs)
    assert len(a) == len(b) == n
    assert all(x < y for x, y in itertools.pairwise(a))
    assert all(x < y for x, y in itertools.pairwise(b))
    assert not set(a) & set(b)
    assert max(a + b) <= key_value(redis_url, key)
    # The nodes really did share the key at the same time: their blocks interleave.
    blocks_a = {(x - 1) // 10 for x in a}
    blocks_b = {(x - 1) // 10 for x in b}
    assert min(blocks_b) < max(blocks_a) and min(blocks_a) < max(blocks_b)
