"""The e2e benchmark's floor and knee: the echo answers each frame, the knee is the rule."""

from __future__ import annotations

from ringmatch.benchmarks import bench_e2e
from ringmatch.benchmarks.harness.e2e import knee


def test_the_echo_floor_answers_every_order_frame() -> None:
    with bench_e2e.echo_server() as (host, port):
        wire = bench_e2e._EchoWire(host, port)
        try:
            wire.orders(1000, 300)  # more than one write's worth
            got: list[int] = []
            while len(got) < 300:
                got += wire.receive()
        finally:
            wire.close()
    assert got == list(range(1000, 1300))


def test_the_knee_is_the_first_rate_over_twice_the_floor_or_under_95_percent() -> None:
    floor = {1000.0: 100.0, 2000.0: 100.0, 5000.0: 120.0}
    assert knee([(1000.0, 1000.0, 150.0), (2000.0, 2000.0, 199.0)], floor) is None
    assert knee([(1000.0, 1000.0, 150.0), (2000.0, 2000.0, 201.0)], floor) == 2000.0
    assert knee([(1000.0, 1000.0, 150.0), (2000.0, 1899.0, 110.0)], floor) == 2000.0
    assert knee([(1000.0, 1000.0, 150.0), (5000.0, 5000.0, 239.0)], floor) is None
