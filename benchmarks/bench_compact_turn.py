"""The compact topology's turn for one order, without sockets: what the engine adds per order.

    CompactLink.submit_records(one NEW record) ─▶ Core.step: poll, check, sequence,
        journal append (fsync never), kernel ─▶ in-process reader (a no-op here) ─▶
        event ring publish (risk's and the feed's doorbells: readers attached or not)

This is the part of the latency probe's engine share that is the core's: the
worker's own work (the compiled conversion and the report routing) comes on top.
Every order is a limit IOC far from any price (ACCEPTED, then CANCELLED), so the
book never grows. Reported: wall and CPU microseconds per turn (median of the
per-turn wall times, and process CPU over all turns); ``--profile`` prints the
cProfile of the turns, most cumulative time first.

    .venv/bin/python benchmarks/bench_compact_turn.py [--orders 20000] [--profile]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20000)
    parser.add_argument("--profile", action="store_true")
    opts = parser.parse_args()

    import numpy as np

    from ringmatch.engine.core.pipeline import build_core, create_rings
    from ringmatch.engine.records import layout as L
    from ringmatch.engine.records.inputs import InputPacker
    from ringmatch.engine.rings.local_ring import LocalRing
    from ringmatch.engine.schema.commands import NewOrder
    from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce

    with tempfile.TemporaryDirectory(prefix="bench-turn-") as tmp:
        rings = create_rings(f"rmbt{os.getpid()}", 0, [False, False])
        ring = LocalRing()
        config = rings.core_config(
            tmp, fsync="never", symbols=["BENCH"], accounts=["bench"], snapshot_on_exit=False
        )
        core = build_core(config, local_inputs=[ring])
        from ringmatch.gateway.server.compact_link import CompactLink

        link = CompactLink(core, ring)
        answered = [0]

        def on_events(events: np.ndarray) -> None:
            answered[0] += int((events["kind"] == L.ACCEPTED).sum())

        core.in_process_readers.append(on_events)
        packer = InputPacker(core.directory)
        orders = []
        for i in range(opts.orders):
            packer.start()
            side = Side.BUY if i % 2 else Side.SELL
            price = 1 if side is Side.BUY else 1_000_000
            packer.add(
                NewOrder(i + 1, "bench", "BENCH", side, OrderType.LIMIT, price, 1, TimeInForce.IOC),
                0,
            )
            orders.append(packer.records().copy())
        walls = np.zeros(opts.orders, np.int64)
        profiler = None
        if opts.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu0 = time.process_time_ns()
        for i, records in enumerate(orders):
            t0 = time.perf_counter_ns()
            link.submit_records(records)
            walls[i] = time.perf_counter_ns() - t0
        cpu = time.process_time_ns() - cpu0
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        assert answered[0] == opts.orders, (answered[0], opts.orders)
        print(
            f"compact turn, one order a turn, {opts.orders} orders: wall p50 "
            f"{np.percentile(walls, 50) / 1000:.1f} us, "
            f"p99 {np.percentile(walls, 99) / 1000:.1f} us; "
            f"CPU {cpu / opts.orders / 1000:.1f} us/order"
        )
        core.close()
        rings.close()


if __name__ == "__main__":
    main()
