"""The token bucket, on a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringmatch.gateway.server.throttle import NS, Throttle


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def test_burst_then_exactly_rate_per_second() -> None:
    clock = FakeClock()
    t = Throttle(rate=10, burst=3, clock=clock)
    assert [t.allow() for _ in range(4)] == [True, True, True, False]
    clock.now += NS // 10 - 1  # one token takes 100 ms: not yet
    assert not t.allow()
    assert t.retry_after_ns() == 1
    clock.now += 1
    assert t.allow()
    assert not t.allow()
    clock.now += 10 * NS  # a long idle refills only up to the burst
    assert sum(t.allow() for _ in range(10)) == 3


@given(
    rate=st.integers(1, 1000),
    gaps=st.lists(st.integers(0, NS // 10), min_size=1, max_size=200),
)
def test_never_more_than_burst_plus_rate_times_elapsed(rate: int, gaps: list[int]) -> None:
    clock = FakeClock()
    t = Throttle(rate=rate, clock=clock)
    allowed = 0
    for gap in gaps:
        clock.now += gap
        allowed += t.allow()
        # the bucket's promise: in any run from the start, burst + rate * elapsed at most
        assert allowed * NS <= rate * NS + rate * clock.now


def test_a_refused_message_costs_nothing() -> None:
    clock = FakeClock()
    t = Throttle(rate=1, burst=2, clock=clock)
    assert not t.allow(3)
    assert t.allow(2)


@pytest.mark.parametrize(("rate", "burst"), [(0, None), (5, 0)])
def test_bad_settings(rate: int, burst: int | None) -> None:
    with pytest.raises(ValueError, match="throttle"):
        Throttle(rate=rate, burst=burst)
