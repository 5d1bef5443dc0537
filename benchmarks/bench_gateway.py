"""The gateway at saturation: server CPU per order, from /proc, through ``ringmatch serve``.

    load process ══TCP══▶ ringmatch serve (supervisor, core, 1 worker, risk, feed)

One session keeps up to ``WINDOW`` orders unanswered, in frames of ``FRAME``
NewOrders (one ``sendall`` each), sending the next frame whenever that many
answers have come back. Every order is a limit IOC far from any price (ACCEPTED,
then CANCELLED): the book never grows, each order costs the same. After a
warm-up the parent samples the CPU time (user+sys, /proc) of every process of
the server's tree, lets the load run ``--seconds``, and samples again:

    server us/order  = CPU of the whole tree / orders acknowledged (ACCEPTED)
    per role         = the same for the core, the worker, risk, the feed
    orders/s         = orders acknowledged / wall time of the window

The load generator is a process of its own, outside the tree measured, lean
on purpose (orders pre-encoded as one numpy array per frame; reports counted
with numpy over each read), since it shares the 2 cores with the server.

Run:  .venv/bin/python -m ringmatch.benchmarks.bench_gateway [--seconds 5] [--fsync batch]
      [--frame 256] [--window 8192] [--runs 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import struct
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

from ringmatch.gateway.protocol import wire

SPAWN = multiprocessing.get_context("spawn")
VERSION = 2


# The wire's own layouts (gateway/protocol/wire.py): a frame of orders is one array.
NEW_ORDER = wire.NEW_ORDER_DTYPE
REPORT = wire.EXECUTION_REPORT_DTYPE
EXECUTION_REPORT, ACCEPTED = 13, 1


def _var(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<H", len(raw)) + raw


def _logon(account: str, token: str) -> bytes:
    body = struct.pack("<HB", VERSION, 0) + b"\0" + _var(account) + _var(token)
    return struct.pack("<HBB", 4 + len(body), 1, VERSION) + body


class _Load:
    """The load generator's session: a blocking socket, numpy frames in and out."""

    def __init__(self, host: str, port: int, frame: int) -> None:
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.sock.sendall(_logon("bench", "bench"))
        self._await_logon()
        orders = np.zeros(frame, NEW_ORDER)
        orders["length"], orders["type"], orders["version"] = 40, 2, VERSION
        orders["side"] = np.where(np.arange(frame) & 1, 1, 2)  # odd ids buy, even sell
        orders["price"] = np.where(np.arange(frame) & 1, 1, 1_000_000)  # never crosses
        orders["order_type"], orders["tif"], orders["symbol"], orders["qty"] = 1, 2, 1, 1
        self.orders = orders
        self.next_id = time.time_ns() // 1000 * 1000  # fresh ids on a long-running server

    def _await_logon(self) -> None:
        while True:
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("server closed the session at logon")
            self.buf += data
            at = 0
            while len(self.buf) - at >= 4:
                length, kind = struct.unpack_from("<HB", self.buf, at)
                if len(self.buf) - at < length:
                    break
                if kind == 12:
                    raise ConnectionError(
                        f"logon rejected: {bytes(self.buf[at + 6 : at + length])!r}"
                    )
                at += length
                if kind == 11:
                    # The directory follows; accepted() skips it with anything else.
                    del self.buf[:at]
                    return
            del self.buf[:at]

    def send_frame(self) -> None:
        frame = len(self.orders)
        self.orders["client_order_id"] = np.arange(self.next_id, self.next_id + frame)
        self.next_id += frame
        self.sock.sendall(self.orders.tobytes())

    def accepted(self) -> int:
        """Block for a read; how many ACCEPTED reports the bytes complete."""
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("server closed the benchmark session")
        buf = self.buf
        buf += data
        at, end, count = 0, len(buf), 0
        while end - at >= 4:
            length, kind = struct.unpack_from("<HB", buf, at)
            if length < 4:
                raise ConnectionError(f"bad message length {length} at byte {at}")
            if kind == EXECUTION_REPORT and length == 88 and end - at >= 88:
                run = (end - at) // 88
                reports = np.frombuffer(buf, REPORT, run, at)
                same = (reports["length"] == 88) & (reports["type"] == EXECUTION_REPORT)
                if not same.all():
                    run = int(np.argmin(same))
                    reports = reports[:run]
                count += int(np.count_nonzero(reports["exec_type"] == ACCEPTED))
                del reports, same  # numpy holds the bytearray until dropped
                at += 88 * run
                continue
            if end - at < length:
                break
            at += length  # a heartbeat, the directory: not an answer
        del buf[:at]
        return count


def _load_main(host: str, port: int, frame: int, window: int, pipe: Connection) -> None:
    load = _Load(host, port, frame)
    in_flight = 0
    acked = 0
    for _ in range(window // frame):
        load.send_frame()
        in_flight += frame
    pipe.send(("ready", acked))
    phase = 0  # 0: warm-up, 1: measuring, 2: done
    while True:
        got = load.accepted()
        acked += got
        in_flight -= got
        while in_flight <= window - frame:
            load.send_frame()
            in_flight += frame
        if pipe.poll():
            pipe.recv()
            phase += 1
            pipe.send(("mark", acked))
            if phase == 2:
                return


def saturate(
    host: str, port: int, pid: int, seconds: float, frame: int, window: int, warmup: float = 1.0
) -> dict[str, Any]:
    """One measured window: orders/s and CPU us per order, per role and in total."""
    from ringmatch.benchmarks.harness.proc_cpu import ProcessTree

    tree = ProcessTree(pid)
    parent, child = SPAWN.Pipe()
    load = SPAWN.Process(target=_load_main, args=(host, port, frame, window, child), daemon=True)
    load.start()
    try:
        assert parent.recv()[0] == "ready"
        time.sleep(warmup)  # a benchmark's warm-up, not synchronisation
        parent.send("go")
        before, t0 = tree.sample(), time.perf_counter()
        first = parent.recv()[1]
        time.sleep(seconds)
        parent.send("stop")
        after, t1 = tree.sample(), time.perf_counter()
        last = parent.recv()[1]
    finally:
        load.kill()
        load.join(10)
    orders = max(last - first, 1)
    spent = ProcessTree.spent(before, after)
    out: dict[str, Any] = {"orders/s": orders / (t1 - t0), "orders": orders}
    for role, cpu in sorted(spent.items()):
        out[f"{role} us/order"] = cpu / orders * 1e6
    return out


VARIANTS = {"compiled": "0", "pure": "1"}
"""A server's RINGMATCH_PURE: the compiled kernel and wire conversion, or the pure ones."""


def main(argv: list[str] | None = None) -> int:
    from ringmatch.benchmarks import bench_e2e
    from ringmatch.engine.build_info import describe

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--fsync", default="batch", choices=("never", "batch", "interval"))
    parser.add_argument("--frame", type=int, default=256, help="orders per frame")
    parser.add_argument("--window", type=int, default=8192, help="orders in flight")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds of load before the window"
    )
    parser.add_argument(
        "--variants",
        default="compiled",
        help="servers to run side by side, in turns: compiled,pure (RINGMATCH_PURE=1)",
    )
    opts = parser.parse_args(argv)
    variants = opts.variants.split(",")
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {', '.join(unknown)} (valid: {', '.join(VARIANTS)})")
    print(f"engine: {describe()}; load {os.getloadavg()[0]:.2f}; {time.strftime('%F %T %Z')}")
    totals: dict[str, list[float]] = {v: [] for v in variants}
    for run in range(opts.runs):
        for variant in variants:  # in turns: the machine's noise falls on each alike
            os.environ["RINGMATCH_PURE"] = VARIANTS[variant]
            with bench_e2e.server(fsync=opts.fsync, probe=False) as (host, port):
                pid = bench_e2e.server_pid((host, port))
                result = saturate(
                    host, port, pid, opts.seconds, opts.frame, opts.window, opts.warmup
                )
            totals[variant].append(result["total us/order"])
            shown = ", ".join(
                f"{k} {v:,.2f}" if "us" in k else f"{k} {v:,.0f}" for k, v in result.items()
            )
            print(f"run {run + 1} {variant}: {shown}", flush=True)
    if len(variants) > 1:
        base = sorted(totals[variants[0]])[len(totals[variants[0]]) // 2]
        for variant in variants[1:]:
            median = sorted(totals[variant])[len(totals[variant]) // 2]
            print(f"ratio {variant}/{variants[0]}, CPU/order, medians: {median / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
