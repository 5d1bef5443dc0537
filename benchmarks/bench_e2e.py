"""End to end over TCP: client ─▶ gateway worker ─▶ ring ─▶ core ─▶ ring ─▶ gateway ─▶ client.

    load process (uvloop, gateway.client) ══TCP══▶ ringmatch serve (core + 1 worker)

    saturation:  one session keeps up to WINDOW orders unanswered, sending a new
                 one for each answer (batched frames: everything queued in a loop
                 turn leaves as one frame); orders/s = answers / elapsed
    round trip:  open loop at a fixed offered rate: order i is scheduled at
                 t0 + i / rate and sent as soon as the loop sees it is due (several
                 due at once leave in one frame); its round trip runs from the
                 *scheduled* time to its ACCEPTED, so a stall is charged to every
                 order it delayed (no coordinated omission)

Every order is a limit IOC far from any price (ACCEPTED, then CANCELLED for the
remainder): the book never grows, each order costs the same. The server runs
with fsync "never" unless --fsync says otherwise (an fsync per batch measures
the disk, not the pipeline).

Run:  .venv/bin/python -m benchmarks.bench_e2e [--seconds 5] [--rates 1000,10000]
      [--host H --port P]   (target a running server; its config must know
                             account "bench" with token "bench")
Also the engine of ``ringmatch bench e2e`` (engine/bench/e2e.py): ``server``,
``saturation`` and ``round_trips`` are its contract.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

REPO = Path(__file__).resolve().parent.parent
SPAWN = multiprocessing.get_context("spawn")
ACCOUNT, TOKEN, SYMBOL = "bench", "bench", "BENCH"
WINDOW = 4096  # orders in flight in the saturation run
WARMUP_S = 0.5


@contextlib.contextmanager
def server(
    host: str | None = None, port: int | None = None, fsync: str = "never", workers: int = 1
) -> Iterator[tuple[str, int]]:
    """A ``ringmatch serve`` of our own (or the running one at host:port)."""
    if host is not None and port is not None:
        yield host, port
        return
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        config = Path(tmp) / "bench.toml"
        config.write_text(
            f'[server]\nhost = "127.0.0.1"\nport = 0\ndata_dir = "{tmp}/data"\n'
            f'[journal]\nfsync = "{fsync}"\n'
            "[session]\nmax_outbound = 67108864\n"
            f'[[accounts]]\nname = "{ACCOUNT}"\ntoken = "{TOKEN}"\n'
            f'[[symbols]]\nname = "{SYMBOL}"\n'
        )
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engine.cli",
                "serve",
                "--config",
                str(config),
                "--workers",
                str(workers),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if "order entry on" in line:
                    yield "127.0.0.1", int(line.rsplit(":", 1)[1])
                    break
            else:
                raise RuntimeError("ringmatch serve exited before it listened")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


def _order(cid: int) -> object:
    from engine.enums import OrderType, Side, TimeInForce
    from gateway.messages import NewOrder

    side = Side.BUY if cid & 1 else Side.SELL
    price = 1 if side is Side.BUY else 1_000_000  # never crosses: ACCEPTED + CANCELLED
    return NewOrder(cid, SYMBOL, side, OrderType.LIMIT, price, 1, TimeInForce.IOC)


async def _connect(host: str, port: int) -> object:
    from gateway.client import Client

    return await Client.connect(host, port, ACCOUNT, TOKEN)


def _first_id() -> int:
    # Client order ids must be fresh per account on a long-running server.
    return time.time_ns() // 1000 * 1000


async def _saturate(host: str, port: int, seconds: float) -> float:
    from gateway.messages import ExecType, ExecutionReport

    client = await _connect(host, port)
    next_id = _first_id()
    answered = 0
    counting_from: float | None = None
    counted = 0
    done = asyncio.Event()
    deadline = time.perf_counter() + WARMUP_S + seconds

    def on_report(message: object) -> None:
        nonlocal answered, next_id, counting_from, counted
        if type(message) is not ExecutionReport or message.exec_type is not ExecType.ACCEPTED:
            return
        answered += 1
        now = time.perf_counter()
        if counting_from is None and now >= deadline - seconds:
            counting_from, counted = now, answered
        if now >= deadline:
            done.set()
            return
        next_id += 1
        client.send(_order(next_id))  # type: ignore[attr-defined]

    client.on_report(on_report)  # type: ignore[attr-defined]
    for _ in range(WINDOW):
        next_id += 1
        client.send(_order(next_id))  # type: ignore[attr-defined]
    await done.wait()
    elapsed = time.perf_counter() - (counting_from or deadline)
    await client.close()  # type: ignore[attr-defined]
    return (answered - counted) / elapsed if elapsed > 0 else 0.0


async def _open_loop(host: str, port: int, rate: float, seconds: float) -> tuple[float, list[int]]:
    from gateway.messages import ExecType, ExecutionReport

    client = await _connect(host, port)
    first = _first_id()
    total = int(rate * (WARMUP_S + seconds))
    warm = int(rate * WARMUP_S)
    scheduled: list[int] = [0] * total
    samples: list[int] = []
    done = asyncio.Event()

    def on_report(message: object) -> None:
        if type(message) is not ExecutionReport or message.exec_type is not ExecType.ACCEPTED:
            return
        i = message.client_order_id - first
        if i >= warm:
            samples.append(time.perf_counter_ns() - scheduled[i])
        if i == total - 1:
            done.set()

    client.on_report(on_report)  # type: ignore[attr-defined]
    interval_ns = int(1e9 / rate)
    start = time.perf_counter_ns() + 1_000_000
    sent = 0
    while sent < total:
        now = time.perf_counter_ns()
        while sent < total and start + sent * interval_ns <= now:
            scheduled[sent] = start + sent * interval_ns
            client.send(_order(first + sent))  # type: ignore[attr-defined]
            sent += 1
        # Yield to the loop (flush, read reports); sleep only when the next is far off.
        wait_ns = start + sent * interval_ns - time.perf_counter_ns()
        # (uvloop's timers tick in milliseconds: a shorter sleep would oversleep.)
        await asyncio.sleep(wait_ns / 1e9 if wait_ns > 1_000_000 else 0)
    await asyncio.wait_for(done.wait(), 30)
    elapsed = (time.perf_counter_ns() - start) / 1e9
    await client.close()  # type: ignore[attr-defined]
    return total / elapsed, samples


def _in_process(conn: Connection, kind: str, args: tuple[object, ...]) -> None:
    import uvloop

    coro = _saturate(*args) if kind == "saturation" else _open_loop(*args)  # type: ignore[arg-type]
    conn.send(uvloop.run(coro))
    conn.close()


def _spawned(kind: str, *args: object) -> object:
    """Run the load generator in its own (spawned) process; its result."""
    parent, child = SPAWN.Pipe(duplex=False)
    proc = SPAWN.Process(target=_in_process, args=(child, kind, args))
    proc.start()
    child.close()
    result = parent.recv()
    proc.join()
    return result


def saturation(host: str, port: int, seconds: float) -> float:
    """Orders per second through the whole pipeline, batched frames, WINDOW in flight."""
    result = _spawned("saturation", host, port, seconds)
    assert isinstance(result, float)
    return result


def round_trips(host: str, port: int, rate: float, seconds: float) -> tuple[float, list[int]]:
    """Open loop at ``rate``: (achieved rate, round trips in ns from each scheduled time)."""
    achieved, samples = _spawned("round_trips", host, port, rate, seconds)  # type: ignore[misc]
    return achieved, samples


def _percentiles(samples: list[int]) -> str:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000

    return (
        f"p50 {at(0.5):8,.0f} us  p99 {at(0.99):8,.0f} us  p99.9 {at(0.999):8,.0f} us  "
        f"max {ordered[-1] / 1000:8,.0f} us  ({len(ordered):,} orders)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", default="1000,10000")
    parser.add_argument("--fsync", default="never", choices=("batch", "interval", "never"))
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus")
    with server(args.host, args.port, args.fsync, args.workers) as (host, port):
        print(f"saturation      {saturation(host, port, args.seconds):12,.0f} orders/s")
        for rate in (float(r) for r in args.rates.split(",") if r):
            achieved, samples = round_trips(host, port, rate, args.seconds)
            print(f"@ {rate:>9,.0f}/s  (achieved {achieved:9,.0f}/s)  {_percentiles(samples)}")


if __name__ == "__main__":
    main()
