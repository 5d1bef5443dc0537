"""The wait strategies an operator chooses, and pinning: each wakes on a publish from
another thread, respects its timeout; busy-spin never raises its sleeping flag."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from ringmatch.engine.process.placement import pin
from ringmatch.engine.rings.spsc_layout import CONSUMER_SLEEPING
from ringmatch.engine.rings.spsc_ring import SpscRing
from ringmatch.engine.rings.wait import BusySpin, SpinThenBlock, wait_strategy


@pytest.mark.parametrize("name", ["block", "spin-then-block", "busy-spin"])
def test_each_strategy_wakes_on_a_publish_and_times_out_without_one(name: str) -> None:
    strategy = wait_strategy(name, 20)
    ring = SpscRing.create(f"rmws{os.getpid()}", name.replace("-", ""), 64, 64)
    try:
        consumer = ring.consumer(strategy)
        assert consumer.get_many(8, timeout=0.05) == []  # nothing: the timeout holds
        flags_seen: list[int] = []
        go = threading.Event()

        def publish() -> None:
            producer = ring.producer()  # a producer belongs to its writing thread
            go.wait(5)
            flags_seen.append(ring.words[CONSUMER_SLEEPING])
            producer.put(b"x" * 64, timeout=5)
            producer.close()

        thread = threading.Thread(target=publish)
        thread.start()
        go.set()
        got = consumer.get_many(8, timeout=10)
        thread.join(5)
        assert got == [b"x" * 64]
        if name == "busy-spin":
            assert flags_seen == [0]  # it never asks to be rung
        consumer.close()
    finally:
        ring.close()


def test_an_unknown_strategy_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="block, spin-then-block, busy-spin"):
        wait_strategy("nap", 1)
    assert isinstance(wait_strategy("busy-spin", 0), BusySpin)
    assert wait_strategy("spin-then-block", 7).spin_ns == 7000
    assert isinstance(wait_strategy("block", 7), SpinThenBlock)


def test_pin_sets_the_affinity_and_a_bad_cpu_names_the_role() -> None:
    cpu = min(os.sched_getaffinity(0))
    code = (
        "import os; from ringmatch.engine.process.placement import pin; "
        f"pin([{cpu}], 'core'); print(sorted(os.sched_getaffinity(0)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == f"[{cpu}]", done.stderr
    with pytest.raises(ValueError, match=r"\[cpus\] risk = \[4096\]: cannot pin the risk"):
        pin([4096], "risk")
