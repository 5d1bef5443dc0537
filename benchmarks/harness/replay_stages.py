"""The replay's stages timed apart, in one fresh process: parsing alone, then with the kernel.

    python -m ringmatch.benchmarks.harness.replay_stages ORDERS.csv [LOBSTER_MESSAGES.csv]

Prints one JSON object: rows (or messages) per second by wall and CPU time for

* CSV parse-only: the order file read into input records (order_records), nothing run;
* CSV parse+kernel: ``csv_replay.run`` without outputs (what ``ringmatch replay`` does);
* CSV outputs alone: --events-out and --trades-out written from the event records
  of the file's first OUTPUT_ROWS rows (run once beforehand), by the compiled writer
  and by the Python path (decode into Events, msgspec, csv), per input row;
* LOBSTER parse-only: the message file into columns and input records, 10 times;
* LOBSTER parse+kernel: ``lobster_replay.run`` of the plain replay, 10 times;

and which kernel ran (``kernel_choice.is_compiled``) and whether the parsers are
compiled. Imports and interpreter start-up are outside every timing.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ringmatch.engine.core.kernel_choice import is_compiled, new_kernel
from ringmatch.engine.records import layout as L
from ringmatch.engine.replay import csv_replay, lobster_replay
from ringmatch.engine.replay.kernel_feed import KernelFeed
from ringmatch.engine.replay.lobster import SYNTHETIC_ID_BASE
from ringmatch.engine.replay.lobster_records import (
    REAL_ACCOUNT_ID,
    SYMBOL_ID,
    compiled_lobster_parser,
    read_message_columns,
)
from ringmatch.engine.replay.order_records import (
    RecordReader,
    compiled_parser,
    open_record_reader,
)
from ringmatch.engine.replay.record_outputs import RecordWriters

LOBSTER_REPEAT = 10
OUTPUT_ROWS = 100_000


def timed(work: Callable[[], Any]) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def rates(count: int, seconds: tuple[float, float]) -> dict[str, float]:
    return {"wall": count / seconds[0], "cpu": count / seconds[1], "seconds": seconds[0]}


def csv_parse(path: Path) -> int:
    with path.open("rb") as f:
        reader = open_record_reader(f, str(path))
        for _ in reader.batches(csv_replay.BATCH_SIZE):
            pass
        return reader.rows


def csv_replay_args(path: Path, out: Path | None) -> argparse.Namespace:
    return argparse.Namespace(
        file=str(path),
        trades_out=None if out is None else str(out / "trades.csv"),
        events_out=None if out is None else str(out / "events.jsonl"),
        book_out=None,
        skip_bad=False,
        speed=None,
    )


def csv_run(args: argparse.Namespace) -> None:
    saved, sys.stderr = sys.stderr, io.StringIO()  # the summary: not part of the figure
    try:
        if csv_replay.run(args) != 0:
            raise RuntimeError(f"the CSV replay of {args.file} failed")
    finally:
        sys.stderr = saved


def outputs_alone(orders: Path) -> dict[str, Any]:
    """What the outputs cost per row, apart from the kernel: both writers on the same
    event records (those of the first OUTPUT_ROWS rows)."""
    with orders.open("rb") as f:
        reader = open_record_reader(f, str(orders))
        first = next(iter(reader.batches(OUTPUT_ROWS)))  # the first OUTPUT_ROWS rows
        events = [e.copy() for e in KernelFeed(new_kernel()).run(first)]  # events: no padding
        rows = reader.rows
    out = {}
    for label, compiled in (("compiled", True), ("python", False)):
        out[f"CSV outputs alone ({label} writer)"] = rates(
            rows, write_all(events, reader, compiled)
        )
    return out


def write_all(
    events: list[np.ndarray], reader: RecordReader, compiled: bool
) -> tuple[float, float]:
    """(wall, CPU) seconds of writing both outputs of ``events`` to files."""
    with tempfile.TemporaryDirectory(prefix="ringmatch-bench-") as tmp:
        trades_path, events_path = Path(tmp) / "trades.csv", Path(tmp) / "events.jsonl"
        with open(trades_path, "w", newline="") as t, open(events_path, "wb") as e:
            writers = RecordWriters(reader.directory, t, e, compiled=compiled)
            return timed(lambda: [writers.write(batch) for batch in events])


def lobster_parse(path: Path) -> None:
    """The message file as input records, ready for the kernel (nothing run)."""
    from ringmatch.engine.replay._lobster_parse import MessageTranslator

    cols = read_message_columns(path)
    translator = MessageTranslator(REAL_ACCOUNT_ID, SYMBOL_ID, SYNTHETIC_ID_BASE)
    out = np.zeros(1 << 16, L.INPUT_DTYPE).view(np.uint8)
    columns = (cols.ts_ns, cols.type, cols.order_id, cols.size, cols.price, cols.direction)
    i = 0
    while i < len(cols):
        i, _ = translator.translate(*columns, i, out)
        if i < len(cols) and cols.type[i] == 2:
            i += 1  # a partial cancel: the replay asks the kernel's book


def lobster_run(path: Path) -> None:
    args = argparse.Namespace(
        file=str(path),
        orderbook=None,
        levels=1,
        resync=False,
        book_out=None,
        trades_out=None,
        events_out=None,
        speed=None,
        skip_bad=False,
    )
    if lobster_replay.run(args, stdout=io.StringIO(), stderr=io.StringIO()) != 0:
        raise RuntimeError(f"the LOBSTER replay of {path} failed")


def measure(orders: Path, messages: Path | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kernel": "compiled" if is_compiled(new_kernel()) else "reference",
        "order parser": "compiled" if compiled_parser() else "python",
        "lobster parser": "compiled" if compiled_lobster_parser() else "python",
    }
    rows = csv_parse(orders)  # warm: the file in the page cache
    out["CSV parse-only"] = rates(rows, min(timed(lambda: csv_parse(orders)) for _ in range(3)))
    out["CSV parse+kernel"] = rates(rows, timed(lambda: csv_run(csv_replay_args(orders, None))))
    out.update(outputs_alone(orders))
    if messages is None or not compiled_lobster_parser():
        return out
    n = LOBSTER_REPEAT * len(read_message_columns(messages))

    def repeat(work: Callable[[Path], None]) -> Callable[[], None]:
        return lambda: [work(messages) for _ in range(LOBSTER_REPEAT)]

    out["LOBSTER parse-only"] = rates(n, timed(repeat(lobster_parse)))
    out["LOBSTER parse+kernel"] = rates(n, timed(repeat(lobster_run)))
    return out


def main() -> None:
    orders = Path(sys.argv[1])
    messages = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    print(json.dumps(measure(orders, messages)))


if __name__ == "__main__":
    main()
