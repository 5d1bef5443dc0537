"""A token bucket per session: at most ``rate`` messages per second, bursts up to ``burst``.

    throttle = Throttle(rate=1000)            # burst defaults to one second's worth
    if not throttle.allow():                  # per incoming message
        reject(RejectReason.THROTTLED)

Integer arithmetic on a nanosecond clock (``time.monotonic_ns`` by default,
injectable for tests): the bucket holds ``tokens * 1e9`` units, refills ``rate``
units per nanosecond and a message costs 1e9 units, so no rounding drifts.
"""

from __future__ import annotations

import time
from collections.abc import Callable

NS = 1_000_000_000


class Throttle:
    __slots__ = ("_burst_units", "_clock", "_rate", "_stamp", "_units")

    def __init__(
        self, rate: int, burst: int | None = None, clock: Callable[[], int] = time.monotonic_ns
    ) -> None:
        if rate < 1:
            raise ValueError(f"throttle rate must be >= 1 message per second, got {rate}")
        burst = rate if burst is None else burst
        if burst < 1:
            raise ValueError(f"throttle burst must be >= 1 message, got {burst}")
        self._rate = rate
        self._burst_units = burst * NS
        self._clock = clock
        self._units = self._burst_units  # a new session starts with a full bucket
        self._stamp = clock()

    def allow(self, n: int = 1) -> bool:
        """Take ``n`` tokens if there are that many (True); else take none (False)."""
        now = self._clock()
        units = self._units + (now - self._stamp) * self._rate
        if units > self._burst_units:
            units = self._burst_units
        self._stamp = now
        cost = n * NS
        if units >= cost:
            self._units = units - cost
            return True
        self._units = units
        return False

    def retry_after_ns(self, n: int = 1) -> int:
        """Nanoseconds until ``n`` tokens will be there (0: now)."""
        now = self._clock()
        units = min(self._units + (now - self._stamp) * self._rate, self._burst_units)
        missing = n * NS - units
        return 0 if missing <= 0 else -(-missing // self._rate)
