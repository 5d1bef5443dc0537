"""Cost of the gateway worker's wire conversion: compiled vs the pure-Python reference.

    wire bytes ──orders_to_inputs──▶ INPUT_DTYPE records     (ns per order)
    EVENT_DTYPE records ──events_to_reports──▶ report bytes per slot   (ns per event)

Frames of 256 NewOrders (and a mixed frame of NewOrder / Cancel / Replace /
MassCancel); event batches of 256 with half for other workers' accounts (the
ones a worker skips by the account field alone), the rest spread over 16 local
slots. "+ bytes per slot" adds what a caller pays to hand each slot's run to
its transport as a bytes object of its own (a transport may keep what it is
given, so a reused ``out`` must not be lent to it); events_to_slot_bytes writes
each slot's reports straight into its own bytes object instead. CPU time
(time.process_time), best of five runs: the machine is shared.

Run from the repo root:
    .venv/bin/python benchmarks/bench_wire.py              # small counts, a few seconds
    .venv/bin/python benchmarks/bench_wire.py --frames 20000
"""

from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ringmatch.engine.records import layout as L
from ringmatch.gateway.wire import wire_choice, wire_reference

REPEATS = 5
FRAME = 256
SYMBOLS = 100
SLOTS = 16


def new_order(i: int) -> bytes:
    return struct.pack(
        "<HBBBBBBIB3xQqq", 40, 2, 2, 1 + i % 2, 1, 1, 0, 1 + i % SYMBOLS, 0, i + 1, 1000 + i, 10
    )


def order_frame() -> bytes:
    return b"".join(new_order(i) for i in range(FRAME))


def mixed_frame() -> bytes:
    parts = []
    for i in range(FRAME):
        pick = i % 4
        if pick == 0 or pick == 1:
            parts.append(new_order(i))
        elif pick == 2:
            parts.append(struct.pack("<HBBIQ", 16, 3, 2, 0, i + 1))
        else:
            parts.append(struct.pack("<HBBIQqq", 32, 4, 2, 0, i + 1, 999, 5))
    return b"".join(parts)


def event_batch(rng: np.random.Generator) -> np.ndarray:
    events = np.zeros(FRAME, L.EVENT_DTYPE)
    kinds = [L.ACCEPTED, L.TRADE, L.TRADE, L.CANCELLED, L.REPLACED, L.REDUCED, L.REJECTED]
    events["kind"] = rng.choice(kinds, FRAME)
    events["kind"][::64] = L.MASS_CANCELLED
    # Accounts 1..64: the odd ones are this worker's (16 slots), the even ones another's.
    events["account"] = rng.integers(1, 65, FRAME)
    events["side"] = rng.integers(1, 3, FRAME)
    events["symbol"] = rng.integers(1, SYMBOLS + 1, FRAME)
    events["seq"] = np.arange(1, FRAME + 1)
    events["order_id"] = rng.integers(1, 10**6, FRAME)
    events["client_order_id"] = rng.integers(1, 10**6, FRAME)
    events["price"] = rng.integers(1, 10**4, FRAME)
    events["qty"] = rng.integers(1, 100, FRAME)
    events["leaves"] = rng.integers(0, 3, FRAME)
    events["cum"] = rng.integers(0, 100, FRAME)
    return events


def slot_table() -> np.ndarray:
    slots = np.full(65, -1, np.int32)
    slots[1::2] = np.arange(32) % SLOTS
    return slots


def best_ns(run: Callable[[], None], calls: int, per_call: int) -> float:
    """ns per item (per_call items a call), best of REPEATS, CPU time."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        for _ in range(calls):
            run()
        best = min(best, time.process_time() - start)
    return best / (calls * per_call) * 1e9


def bench_orders(conv: ModuleType, frame: bytes, calls: int) -> float:
    symbol_ids = np.arange(SYMBOLS + 1, dtype=np.uint32)
    out = np.zeros(FRAME, L.INPUT_DTYPE)
    convert = conv.orders_to_inputs
    consumed, count, _ = convert(frame, 7, symbol_ids, 1, out)
    assert (consumed, count) == (len(frame), FRAME), (consumed, count)

    def run() -> None:
        convert(frame, 7, symbol_ids, time.time_ns(), out)

    return best_ns(run, calls, FRAME)


def bench_reports(conv: ModuleType, calls: int, copy: bool) -> float:
    events = event_batch(np.random.default_rng(5))
    slots = slot_table()
    wire_symbol = np.arange(SYMBOLS + 1, dtype=np.uint32)
    out = bytearray(88 * FRAME)
    view = memoryview(out)
    convert = conv.events_to_reports

    def run() -> None:
        spans, _, _ = convert(events, slots, wire_symbol, out)
        if copy:
            for _slot, offset, length in spans:
                bytes(view[offset : offset + length])

    return best_ns(run, calls, FRAME)


def bench_slot_bytes(conv: ModuleType, calls: int) -> float:
    events = event_batch(np.random.default_rng(5))
    slots = slot_table()
    wire_symbol = np.arange(SYMBOLS + 1, dtype=np.uint32)
    convert = conv.events_to_slot_bytes

    def run() -> None:
        convert(events, slots, wire_symbol)

    return best_ns(run, calls, FRAME)


def load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "(no uptime)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=2000, help="calls per run, compiled")
    parser.add_argument("--reference-frames", type=int, default=20, help="calls per run, reference")
    args = parser.parse_args(argv)
    compiled = wire_choice.compiled_module()
    if compiled is None:
        raise SystemExit("bench_wire: the compiled conversion is not built (pip install -e .)")
    print(f"bench_wire  {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC  frames of {FRAME}")
    print(f"load: {load()}")
    rows = [
        ("orders_to_inputs, NewOrders", "order", lambda m, n: bench_orders(m, order_frame(), n)),
        ("orders_to_inputs, mixed frame", "order", lambda m, n: bench_orders(m, mixed_frame(), n)),
        ("events_to_reports, half foreign", "event", lambda m, n: bench_reports(m, n, False)),
        ("  + bytes per slot", "event", lambda m, n: bench_reports(m, n, True)),
        ("events_to_slot_bytes", "event", bench_slot_bytes),
    ]  # fmt: skip
    print(f"{'':34} {'compiled':>12} {'reference':>12} {'ratio':>8}")
    for name, unit, measure in rows:
        fast = measure(compiled, args.frames)
        slow = measure(wire_reference, args.reference_frames)
        print(
            f"{name:34} {fast:9.1f} ns {slow:9.0f} ns {slow / fast:7.0f}x   per {unit}",
            flush=True,
        )


if __name__ == "__main__":
    main()
