"""The venue's order types (issue 16): what they cost, and what they cost everyone else.

Two figures:

* ``--throughput``: CPU time per command of the standard workload and of the venue
  workload (the same mix, but 10% of all commands are stops or stop-limits and 10%
  icebergs), side by side in one run, alternating, in fresh interpreters; of the
  pure engine, or with ``--kernel`` of the compiled kernel (the workloads as input
  records, one ``process_into`` per buffer of events).
* ``--callgrind N --against REV``: callgrind instructions per command of the
  standard workload's first N commands, for this checkout's engine and for the
  engine of git revision REV (its ``engine/book`` loaded as a package of its own),
  minus a run that only loads the workload: the figure the "costs the standard
  workload nothing measurable" target (within 2%) is stated in.

    .venv/bin/python benchmarks/bench_venue.py --throughput --commands 200000 --runs 3
    .venv/bin/python benchmarks/bench_venue.py --throughput --kernel --commands 1000000 --runs 5
    .venv/bin/python benchmarks/bench_venue.py --callgrind 20000 --against f2937c6
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ringmatch.benchmarks.workload import ACCOUNTS, MID, SYMBOLS, standard_workload
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core import kernel_choice
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.convert import Encoder
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import Cancel, Command, NewOrder
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce

REPO = Path(__file__).resolve().parent.parent


def venue_workload(n: int, seed: int = 1) -> list[Command]:
    """The standard mix with 10% stops (half STOP, half STOP_LIMIT) and 10% icebergs.

    Of the 60% passive limit orders, one in six becomes an iceberg (display 1 to 20
    lots) and one in six a stop whose trigger is 1 to 10 ticks beyond the symbol's
    last trade (so it is accepted; the marketable 10% move the price and release
    them). Cancels (30%) hit live orders, held stops included.
    """
    rng = random.Random(seed)
    scratch = MatchingEngine()
    cmds: list[Command] = []
    next_id = 0
    for _ in range(n):
        r = rng.random()
        live = scratch._orders  # the scratch engine's live orders: every cancel hits
        if r < 0.30 and live:
            oid = next(iter(live)) if rng.random() < 0.5 else list(live)[-1]
            cmd: Command = Cancel(oid, live[oid].account)
        else:
            next_id += 1
            symbol = SYMBOLS[rng.randrange(len(SYMBOLS))]
            account = ACCOUNTS[rng.randrange(len(ACCOUNTS))]
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            qty = rng.randint(1, 100)
            sign = 1 if side is Side.BUY else -1
            if r < 0.40:  # a stop: 10% of all commands
                book = scratch._books.get(symbol)
                last = MID if book is None or book.last_price is None else book.last_price
                trigger = last + sign * rng.randint(1, 10)
                if rng.random() < 0.5:
                    cmd = NewOrder(next_id, account, symbol, side, OrderType.STOP, None, qty,
                                   trigger_price=trigger)  # fmt: skip
                else:
                    cmd = NewOrder(next_id, account, symbol, side, OrderType.STOP_LIMIT,
                                   trigger + sign * 2, qty, trigger_price=trigger)  # fmt: skip
            elif r < 0.90:
                price = MID - sign * rng.randint(1, 20)
                display = rng.randint(1, 20) if r < 0.50 and qty > 1 else None
                cmd = NewOrder(next_id, account, symbol, side, OrderType.LIMIT, price, qty,
                               display_qty=min(display, qty) if display else None)  # fmt: skip
            elif rng.random() < 0.5:
                cmd = NewOrder(next_id, account, symbol, side, OrderType.MARKET, None, qty)
            else:
                cmd = NewOrder(next_id, account, symbol, side, OrderType.LIMIT,
                               MID + sign * 5, qty, TimeInForce.IOC)  # fmt: skip
        cmds.append(cmd)
        scratch.process(cmd)
    return cmds


def _child_cpu(workload: Path) -> float:
    """CPU seconds of one process_batch over a pickled workload, in a fresh interpreter."""
    code = (
        "import pickle, sys, time\n"
        "from ringmatch.engine.book.matching import MatchingEngine\n"
        f"cmds = pickle.load(open({str(workload)!r}, 'rb'))\n"
        "eng = MatchingEngine()\n"
        "t = time.process_time(); eng.process_batch(cmds); print(time.process_time() - t)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout)


def _child_kernel_cpu(records: Path) -> float:
    """CPU seconds of the compiled kernel over saved input records, in a fresh
    interpreter: process_into until all are consumed, an event buffer reused."""
    code = (
        "import numpy as np, time\n"
        "from ringmatch.engine.core import kernel_choice\n"
        "from ringmatch.engine.records import layout as L\n"
        f"rec = np.load({str(records)!r})\n"
        "k = kernel_choice.compiled_module().Kernel()\n"
        "from ringmatch.engine.kernel.event_buffer import EventBufferTooSmall\n"
        "ev = np.zeros(16384, L.EVENT_DTYPE)\n"
        "t = time.process_time(); at = 0\n"
        "while at < len(rec):\n"
        "    try:\n"
        "        at += k.process_into(rec[at:], ev)[0]\n"
        "    except EventBufferTooSmall as small:  # a bound past the buffer: grow it\n"
        "        ev = np.zeros(max(small.need, 2 * len(ev)), L.EVENT_DTYPE)\n"
        "print(time.process_time() - t)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout)


def _records(cmds: list[Command]) -> np.ndarray:
    """The commands as the core journals them: the names' DEFINEs, then the inputs."""
    directory = Directory(sorted(SYMBOLS), sorted(ACCOUNTS))
    body = Encoder(directory).encode(cmds, first_seq=1)
    return np.concatenate([directory.define_records(), body], dtype=L.INPUT_DTYPE)


def throughput(commands: int, runs: int, kernel: bool = False) -> None:
    if kernel and kernel_choice.compiled_module() is None:
        raise SystemExit("--kernel needs the compiled kernel (pip install -e . with a compiler)")
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, make in (("standard", standard_workload), ("venue", venue_workload)):
            if kernel:
                paths[name] = Path(tmp) / f"{name}.npy"
                np.save(paths[name], _records(make(commands)))
            else:
                paths[name] = Path(tmp) / f"{name}.pickle"
                paths[name].write_bytes(pickle.dumps(make(commands)))
        times: dict[str, list[float]] = {"standard": [], "venue": []}
        child = _child_kernel_cpu if kernel else _child_cpu
        for _ in range(runs):  # alternating, so load changes hit both alike
            for name, path in paths.items():
                times[name].append(child(path))
    load = os.getloadavg()[0]
    median = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    for name in ("standard", "venue"):
        print(
            f"{name:8s} {commands:,} commands: {median[name] / commands * 1e9:,.0f} ns CPU per"
            f" command, {commands / median[name]:,.0f} commands/s (median of {runs})"
        )
    print(
        f"venue / standard: {median['venue'] / median['standard']:.3f}"
        f"  ({'compiled kernel' if kernel else 'pure engine'}, load {load:.2f})"
    )


def _engine_of(rev: str, into: Path) -> Path:
    """``engine/book`` of git revision ``rev`` as a package ``oldbook`` under ``into``."""
    pkg = into / "oldbook"
    pkg.mkdir()
    names = subprocess.run(
        ["git", "-C", str(REPO), "ls-tree", "--name-only", f"{rev}:engine/book"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in names:
        if not name.endswith(".py"):
            continue
        text = subprocess.run(
            ["git", "-C", str(REPO), "show", f"{rev}:engine/book/{name}"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        (pkg / name).write_text(text.replace("ringmatch.engine.book.", "oldbook."))
    return into


def _instructions(code: str, path: str) -> int:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--callgrind needs valgrind (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        env = dict(os.environ, PYTHONPATH=path, OPENBLAS_NUM_THREADS="1")
        subprocess.run(
            [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
             "-c", code],
            capture_output=True, env=env, check=True,
        )  # fmt: skip
        m = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
        assert m, "no totals in callgrind's output"
        return int(m.group(1))


def callgrind(commands: int, rev: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workload = Path(tmp) / "standard.pickle"
        workload.write_bytes(pickle.dumps(standard_workload(commands)))
        old = _engine_of(rev, Path(tmp))
        load = (
            "import pickle\n"
            f"from {{module}} import MatchingEngine\n"
            f"cmds = pickle.load(open({str(workload)!r}, 'rb'))\n"
            "eng = MatchingEngine()\n"
        )
        figures = {}
        for label, module in (("this checkout", "ringmatch.engine.book.matching"),
                              (rev, "oldbook.matching")):  # fmt: skip
            base = load.format(module=module)
            ran = _instructions(base + "eng.process_batch(cmds)\n", str(old))
            idle = _instructions(base, str(old))
            figures[label] = (ran - idle) / commands
    load_avg = os.getloadavg()[0]
    new, before = figures["this checkout"], figures[rev]
    print(f"standard workload, first {commands:,} commands, pure engine, callgrind:")
    print(f"  {rev}: {before:,.0f} instructions per command")
    print(f"  this checkout: {new:,.0f} instructions per command")
    print(f"  change: {(new / before - 1) * 100:+.2f}%  (load {load_avg:.2f})")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--kernel", action="store_true", help="throughput of the compiled kernel")
    parser.add_argument("--commands", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--callgrind", type=int, metavar="N")
    parser.add_argument("--against", default="f2937c6", metavar="REV")
    args = parser.parse_args(argv)
    if not args.throughput and not args.callgrind:
        parser.error("say --throughput, --callgrind N, or both")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"{started}, load {os.getloadavg()[0]:.2f}")
    if args.throughput:
        throughput(args.commands, args.runs, args.kernel)
    if args.callgrind:
        callgrind(args.callgrind, args.against)


if __name__ == "__main__":
    main()
