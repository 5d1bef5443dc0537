"""End to end over TCP: client ─▶ gateway worker ─▶ ring ─▶ core ─▶ ring ─▶ gateway ─▶ client.

    load process (_Wire: blocking socket) ══TCP══▶ ringmatch serve (core + 1 worker)

    saturation:  one session keeps up to WINDOW orders unanswered, sending a new
                 one for each answer (batched writes: the orders answered by one
                 read leave together); orders/s = answers / elapsed
    round trip:  open loop at a fixed offered rate: order i is scheduled at
                 t0 + i / rate and sent as soon as the loop sees it is due (several
                 due at once leave in one write); its round trip runs from the
                 *scheduled* time to its ACCEPTED, so a stall is charged to every
                 order it delayed (no coordinated omission); between orders the
                 generator sleeps in select(), it does not spin
    engine share: with the latency probe on (gateway/server/latency_probe.py; on when this
                 module starts the server), the worker's own time per order of a
                 round-trip run, from its bytes read to its first report written
                 (ring, core and both gateway hops, no TCP, no client); warm-up
                 orders included

Every order is a limit IOC far from any price (ACCEPTED, then CANCELLED for the
remainder): the book never grows, each order costs the same. The server runs
with fsync "never" unless --fsync says otherwise (an fsync per batch measures
the disk, not the pipeline).

Run:  .venv/bin/python -m ringmatch.benchmarks.bench_e2e [--seconds 5] [--rates 1000,10000]
      [--host H --port P]   (target a running server; its config must know
                             account "bench" with token "bench")
Also the engine of ``ringmatch bench e2e`` (benchmarks/harness/e2e.py): ``server``,
``saturation`` and ``round_trips`` are its contract.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import multiprocessing
import os
import platform
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, NamedTuple, cast

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

REPO = Path(__file__).resolve().parent.parent
SPAWN = multiprocessing.get_context("spawn")
ACCOUNT, TOKEN, SYMBOL = "bench", "bench", "BENCH"
WINDOW = 4096  # orders in flight in the saturation run
WARMUP_S = 0.5
STDERR_LINES = 40  # of a server that failed to start, the last lines shown in the error
# The latency probe's directory of each server started here (the worker writes there).
_PROBE_DIRS: dict[tuple[str, int], Path] = {}
# The pid of each server started here (its supervisor: the root of its process tree).
_SERVER_PIDS: dict[tuple[str, int], int] = {}


def server_pid(at: tuple[str, int]) -> int:
    """The supervisor's pid of a server ``server()`` started (KeyError for a foreign one)."""
    return _SERVER_PIDS[at]


@contextlib.contextmanager
def server(
    host: str | None = None,
    port: int | None = None,
    fsync: str = "never",
    workers: int = 1,
    probe: bool = True,
    topology: str | None = None,
    overlap: bool = False,
) -> Iterator[tuple[str, int]]:
    """A ``ringmatch serve`` of our own (or the running one at host:port); ``probe``:
    with the latency probe on (RINGMATCH_LATENCY_PROBE=1 in its environment);
    ``overlap``: fsync "batch" synced on the core's GroupCommit thread, or inline.

    Ours binds only free ports (order entry and feed port 0), so it starts beside any
    other server; one that fails to start raises RuntimeError with its stderr."""
    if host is not None and port is not None:
        yield host, port
        return
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        config = Path(tmp) / "bench.toml"
        config.write_text(
            f'[server]\nhost = "127.0.0.1"\nport = 0\nfeed_port = 0\ndata_dir = "{tmp}/data"\n'
            + (f'topology = "{topology}"\n' if topology else "")
            + f'[journal]\nfsync = "{fsync}"\noverlap = {str(overlap).lower()}\n'
            "[session]\nmax_outbound = 67108864\n"
            f'[[accounts]]\nname = "{ACCOUNT}"\ntoken = "{TOKEN}"\n'
            f'[[symbols]]\nname = "{SYMBOL}"\n'
        )
        from ringmatch.gateway.server.latency_probe import DIRECTORY, ENV

        env = dict(os.environ)
        env[ENV] = "1" if probe else "0"
        errors = open(Path(tmp) / "serve.stderr", "w+")  # noqa: SIM115  (closed below)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ringmatch.cli",
                "serve",
                "--config",
                str(config),
                "--workers",
                str(workers),
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if "order entry on" in line:
                    at = ("127.0.0.1", int(line.rsplit(":", 1)[1]))
                    if probe:
                        _PROBE_DIRS[at] = Path(tmp) / "data" / DIRECTORY
                    _SERVER_PIDS[at] = proc.pid
                    try:
                        yield at
                    finally:
                        _PROBE_DIRS.pop(at, None)
                        _SERVER_PIDS.pop(at, None)
                    break
            else:
                status = proc.wait(30)
                errors.seek(0)
                said = "".join(errors.readlines()[-STDERR_LINES:]).strip() or "(no stderr)"
                raise RuntimeError(
                    f"ringmatch serve exited with status {status} before it listened:\n{said}"
                )
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            errors.close()


class _Wire:
    """The load generator's end of one session: a blocking socket, lean on purpose.

    The generator shares 2 cores with the worker and the core, so every microsecond
    it spends per order is taken from the pipeline it measures (ringmatch.gateway.client.order_entry
    costs ~13 us/order: a Struct per message, a state-table check per message, a queue
    of every report, a loop turn per read). Here the orders of one call are a numpy
    array in the NewOrder wire layout (wire.NEW_ORDER_DTYPE): the constant fields are
    set once in a template, the client ids, sides and prices by three vector ops, and
    the array's bytes leave ORDERS_PER_WRITE orders per write. Reports are walked by
    their 4-byte headers and only an ACCEPTED's client id is read: no Struct either.
    The logon goes through the real sans-IO Connection (it learns the symbol ids).
    """

    def __init__(self, host: str, port: int) -> None:
        import numpy as np

        from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce
        from ringmatch.gateway.protocol import codes
        from ringmatch.gateway.protocol.connection import NEED_DATA, Connection, Role
        from ringmatch.gateway.protocol.messages import (
            PROTOCOL_VERSION,
            ExecType,
            ExecutionReport,
            Logon,
            LogonRejected,
            Logout,
            NewOrder,
        )
        from ringmatch.gateway.protocol.session_state import State
        from ringmatch.gateway.protocol.wire import (
            EXECUTION_REPORT_DTYPE,
            NEW_ORDER_DTYPE,
            TYPE_OF,
        )

        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(Role.CLIENT)
        self.sock.sendall(conn.send(Logon(ACCOUNT, TOKEN)))
        while conn.state is not State.ACTIVE:  # LogonAccepted, then the symbol directory
            data = self.sock.recv(1 << 16)
            if not data:
                raise ConnectionError("server closed the benchmark session at logon")
            conn.receive_data(data)
            while (event := conn.next_event()) is not NEED_DATA:
                if type(event) in (LogonRejected, Logout):
                    raise ConnectionError(f"benchmark logon refused: {event.reason}")
        self._buf = bytearray(conn.trailing_data)
        # What a report's header and bytes 4 and 32.. say, to pick out the ACCEPTED ones.
        self._report_type = TYPE_OF[ExecutionReport]
        self._logout_type = TYPE_OF[Logout]
        self._accepted = codes.EXEC_TYPE.code[ExecType.ACCEPTED]
        self._cid_at = EXECUTION_REPORT_DTYPE.fields["client_order_id"][1]
        # The template: every field but the client id, side and price, as the codec sets it.
        model = NewOrder(1, SYMBOL, Side.BUY, OrderType.LIMIT, 1, 1, TimeInForce.IOC)
        one = np.frombuffer(conn.codec.encode(model), NEW_ORDER_DTYPE)
        assert int(one["version"][0]) == PROTOCOL_VERSION
        self._template = np.repeat(one, WINDOW)

    def orders(self, first: int, count: int) -> None:
        """Send orders ``first .. first+count-1`` (odd ids buy at 1, even sell at 1,000,000:
        they never cross), ORDERS_PER_WRITE to a write."""
        _send_orders(self.sock, self._template, first, count)

    def receive(self) -> list[int]:
        """Block for bytes; the client ids of the ACCEPTED reports among the whole messages."""
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("server closed the benchmark session")
        buf = self._buf
        buf += data
        out: list[int] = []
        header, u64 = _HEADER.unpack_from, _U64.unpack_from
        report, accepted, cid_at = self._report_type, self._accepted, self._cid_at
        at, end = 0, len(buf)
        while end - at >= 4:
            length, kind, _ = header(buf, at)
            if end - at < length:
                break
            if kind == report and buf[at + 4] == accepted:
                out.append(u64(buf, at + cid_at)[0])
            elif kind == self._logout_type or length < 4:
                raise ConnectionError(f"server ended the benchmark session: {bytes(buf[at:])!r}")
            at += length
        del buf[:at]
        return out

    def close(self) -> None:
        self.sock.close()


ORDERS_PER_WRITE = 256  # orders per sendall (40 bytes each: 10 KiB)


def _send_orders(sock: socket.socket, template: Any, first: int, count: int) -> None:
    """NewOrders ``first .. first+count-1`` from ``template`` (NEW_ORDER_DTYPE records):
    odd ids buy at 1, even ones sell at 1,000,000 (they never cross), ORDERS_PER_WRITE
    to a sendall."""
    import numpy as np

    from ringmatch.engine.schema.enums import Side
    from ringmatch.gateway.protocol import codes

    if count > len(template):
        template = np.repeat(template[:1], count)
    records = template[:count].copy()
    ids = np.arange(first, first + count, dtype=np.uint64)
    odd = (ids & np.uint64(1)).astype(bool)
    records["client_order_id"] = ids
    records["side"] = np.where(odd, codes.SIDE.code[Side.BUY], codes.SIDE.code[Side.SELL])
    records["price"] = np.where(odd, 1, 1_000_000)
    data = records.tobytes()
    step = ORDERS_PER_WRITE * records.itemsize
    for at in range(0, len(data), step):
        sock.sendall(data[at : at + step])


_HEADER, _U64 = struct.Struct("<HBB"), struct.Struct("<Q")


def _first_id() -> int:
    # Client order ids must be fresh per account on a long-running server.
    return time.time_ns() // 1000 * 1000


def _saturate(host: str, port: int, seconds: float) -> float:
    wire = _Wire(host, port)
    next_id = _first_id()
    wire.orders(next_id, WINDOW)
    next_id += WINDOW
    answered = 0
    deadline = time.perf_counter() + WARMUP_S + seconds
    counting_from: float | None = None
    counted = 0
    while True:
        got = len(wire.receive())
        if not got:
            continue
        answered += got
        now = time.perf_counter()
        if counting_from is None and now >= deadline - seconds:
            counting_from, counted = now, answered
        if now >= deadline:
            break
        wire.orders(next_id, got)  # one answer, one new order: WINDOW stay in flight
        next_id += got
    elapsed = time.perf_counter() - (counting_from or deadline)
    wire.close()
    return (answered - counted) / elapsed if elapsed > 0 else 0.0


def _fine_timer_slack() -> None:
    """Ask Linux for 1 ns timer slack: a 100 us select() timeout would otherwise
    overrun by up to the default 50 us slack, which the open loop counts as latency."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(29, 1, 0, 0, 0)  # PR_SET_TIMERSLACK


def _open_loop(
    host: str, port: int, rate: float, seconds: float, wire_class: Any = None
) -> tuple[float, list[int], int]:
    _fine_timer_slack()
    wire = (wire_class or _Wire)(host, port)
    sock = wire.sock
    first = _first_id()
    total = int(rate * (WARMUP_S + seconds))
    warm = int(rate * WARMUP_S)
    interval_ns = int(1e9 / rate)
    samples: list[int] = []
    start = time.perf_counter_ns() + 1_000_000
    sent = received = 0
    while received < total:
        now = time.perf_counter_ns()
        due = min(total, (now - start) // interval_ns + 1) if now >= start else 0
        if due > sent:
            # Everything due leaves now, together; each is charged from its schedule.
            wire.orders(first + sent, due - sent)
            sent = due
        # Sleep in select() until the next order is due or reports arrive (no spinning:
        # the generator shares the 2 cores with the pipeline it measures).
        timeout = None if sent >= total else max(0, start + sent * interval_ns - now) / 1e9
        if not select.select((sock,), (), (), timeout)[0]:
            continue
        accepted = wire.receive()
        now = time.perf_counter_ns()
        for client_order_id in accepted:
            received += 1
            i = client_order_id - first
            if i >= warm:
                samples.append(now - (start + i * interval_ns))
    elapsed = (time.perf_counter_ns() - start) / 1e9
    wire.close()
    return total / elapsed, samples, first


class _EchoWire:
    """The floor's client end: the same NewOrder frames as ``_Wire`` (the same numpy
    template, one 40-byte frame per order), no logon; the echo sends them back, and
    an order is answered when its own frame has come back whole."""

    def __init__(self, host: str, port: int) -> None:
        import numpy as np

        from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce
        from ringmatch.gateway.protocol.connection import Connection, Role
        from ringmatch.gateway.protocol.messages import NewOrder
        from ringmatch.gateway.protocol.wire import NEW_ORDER_DTYPE

        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        codec = Connection(Role.CLIENT, symbols=[SYMBOL]).codec
        model = NewOrder(1, SYMBOL, Side.BUY, OrderType.LIMIT, 1, 1, TimeInForce.IOC)
        one = np.frombuffer(codec.encode(model), NEW_ORDER_DTYPE)
        self._template = np.repeat(one, WINDOW)
        self._size = NEW_ORDER_DTYPE.itemsize
        self._cid_at = NEW_ORDER_DTYPE.fields["client_order_id"][1]
        self._buf = bytearray()

    def orders(self, first: int, count: int) -> None:
        """The very frames ``_Wire.orders`` sends, to the echo."""
        _send_orders(self.sock, self._template, first, count)

    def receive(self) -> list[int]:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("the echo server closed the floor's session")
        buf = self._buf
        buf += data
        size, cid_at, u64 = self._size, self._cid_at, _U64.unpack_from
        whole = len(buf) // size * size
        out = [u64(buf, at + cid_at)[0] for at in range(0, whole, size)]
        del buf[:whole]
        return out

    def close(self) -> None:
        self.sock.close()


def _echo_serve(listener: socket.socket) -> None:
    """The floor: a blocking Python echo server, one session at a time, as lean as a
    Python TCP server gets (recv, sendall): what any Python server pays per frame."""
    while True:
        conn, _ = listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with conn:
            while data := conn.recv(1 << 16):
                conn.sendall(data)


def _echo_main(conn: Connection) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    conn.send(listener.getsockname()[1])
    conn.close()
    gc.disable()
    _echo_serve(listener)


@contextlib.contextmanager
def echo_server() -> Iterator[tuple[str, int]]:
    """The floor's echo server in a process of its own (killed on the way out)."""
    parent, child = SPAWN.Pipe(duplex=False)
    proc = SPAWN.Process(target=_echo_main, args=(child,), daemon=True)
    proc.start()
    child.close()
    try:
        port = parent.recv()
        yield "127.0.0.1", int(port)
    finally:
        proc.kill()
        proc.join()


def floor_round_trips(host: str, port: int, rate: float, seconds: float) -> tuple[float, list[int]]:
    """``round_trips`` against the echo floor: the achieved rate and the round trips (ns
    from each scheduled send time), by the same open loop."""
    result = _spawned("floor", host, port, rate, seconds)
    achieved, samples, _ = cast(tuple[float, list[int], int], result)
    return achieved, samples


def _in_process(conn: Connection, kind: str, args: tuple[object, ...]) -> None:
    gc.disable()  # the generator's objects are acyclic: no collector pauses in the figures
    if kind == "saturation":
        conn.send(_saturate(*args))  # type: ignore[arg-type]
    elif kind == "floor":
        conn.send(_open_loop(*args, wire_class=_EchoWire))  # type: ignore[arg-type]
    else:
        conn.send(_open_loop(*args))  # type: ignore[arg-type]
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
    """Orders per second through the whole pipeline, batched writes, WINDOW in flight."""
    result = _spawned("saturation", host, port, seconds)
    assert isinstance(result, float)
    return result


class RoundTrips(NamedTuple):
    achieved: float  # orders/s
    samples: list[int]  # round trips, ns from each scheduled send time, warm-up left out
    engine_share: Any  # HdrHistogram of gateway in -> report out (ns), None without the probe


def round_trips(host: str, port: int, rate: float, seconds: float) -> RoundTrips:
    """Open loop at ``rate``: the achieved rate, the round trips, the engine's share."""
    from ringmatch.gateway.server.latency_probe import read

    result = _spawned("round_trips", host, port, rate, seconds)
    achieved, samples, first = cast(tuple[float, list[int], int], result)
    probe_dir = _PROBE_DIRS.get((host, port))
    share = read(probe_dir, ACCOUNT, first) if probe_dir is not None else None
    return RoundTrips(achieved, samples, share)


def _percentiles(samples: list[int]) -> str:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000

    return (
        f"p50 {at(0.5):8,.0f} us  p99 {at(0.99):8,.0f} us  p99.9 {at(0.999):8,.0f} us  "
        f"max {ordered[-1] / 1000:8,.0f} us  ({len(ordered):,} orders)"
    )


def _hist_percentiles(hist: Any) -> str:
    def at(q: float) -> float:
        return float(hist.get_value_at_percentile(q)) / 1000

    return (
        f"p50 {at(50):8,.1f} us  p99 {at(99):8,.1f} us  p99.9 {at(99.9):8,.1f} us  "
        f"max {hist.get_max_value() / 1000:8,.1f} us  ({hist.get_total_count():,} orders)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rates", default="1000,10000")
    parser.add_argument("--fsync", default="never", choices=("batch", "interval", "never"))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--no-probe", action="store_true", help="latency probe off")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpus")
    with server(args.host, args.port, args.fsync, args.workers, not args.no_probe) as (host, port):
        print(f"saturation      {saturation(host, port, args.seconds):12,.0f} orders/s")
        for rate in (float(r) for r in args.rates.split(",") if r):
            achieved, samples, share = round_trips(host, port, rate, args.seconds)
            print(f"@ {rate:>9,.0f}/s  (achieved {achieved:9,.0f}/s)  {_percentiles(samples)}")
            if share is not None:
                print(f"  engine share (gateway in -> report out)  {_hist_percentiles(share)}")


if __name__ == "__main__":
    main()
