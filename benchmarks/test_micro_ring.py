"""Microbenchmarks of the SPSC ring, both ends in this process (no cross-process
wake-ups: the cost of the ring's own bookkeeping and copies).

    .venv/bin/python -m pytest benchmarks/ --benchmark-only
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from ringmatch.engine.rings.spsc_ring import SpscRing

RECORD = bytes(range(32))


@pytest.fixture
def ring() -> Iterator[SpscRing]:
    r = SpscRing.create("rmmicro", uuid.uuid4().hex[:8], 4096, 32)
    yield r
    r.close()


def test_put_get_one(benchmark: Any, ring: SpscRing) -> None:
    out, inp = ring.producer(), ring.consumer()

    def one() -> None:
        out.put(RECORD)
        inp.get_many()

    benchmark(one)


@pytest.mark.parametrize("batch", [16, 256])
def test_put_get_batch(benchmark: Any, ring: SpscRing, batch: int) -> None:
    out, inp = ring.producer(), ring.consumer()
    records = [RECORD] * batch

    def many() -> None:
        out.put_many(records)
        inp.get_many()

    benchmark(many)
