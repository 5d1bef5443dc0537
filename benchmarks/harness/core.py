"""``ringmatch bench core``: the matching core alone, in process.

The standard workload (benchmarks/workload.py states it exactly: 60% new GTC limit
orders 1-20 ticks from the mid, 30% cancels of live orders, 10% marketable
orders, half MARKET and half IOC limit; 8 symbols, 100 accounts, no STP) is
generated once, before anything is timed, and handed to fresh interpreters:

    parent: standard_workload(N, seed) ──pickle──▶ temp file (Structs)
                                       ──records──▶ temp file (.npy, INPUT_DTYPE)
      ├─▶ run 1..R, side by side:
      │     pure    (core_run ... throughput): MatchingEngine.process_batch(all)
      │     kernel  (core_run ... kernel): process_into, one call per BATCH records
      └─▶ latency   (core_run ... latency): process(cmd) each timed (pure engine)

(core_run is ``python -m ringmatch.benchmarks.harness.core_run``.)

The kernel is the compiled one where it was built, else (and with ``--pure``)
the reference kernel, the pure engine behind the kernel's interface; the
result says which ran. Throughput is the median of R runs, by wall time and
by CPU time (on a shared machine the CPU-time figure is the steadier one); the
two engines alternate within each run, so their ratio sees the same load.
Per-command latency comes from a separate pass, so the clock reads never
slow the throughput runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
from array import array
from pathlib import Path
from typing import Any

import numpy as np

import ringmatch.engine as engine
from ringmatch.benchmarks.harness import machine, report
from ringmatch.benchmarks.harness.core_run import GC_MODES
from ringmatch.benchmarks.harness.progress import progress
from ringmatch.engine import build_info
from ringmatch.engine.records.convert import encode_commands

REPO_ROOT = Path(engine.__file__).resolve().parent.parent
WORKLOAD = (
    "ringmatch.benchmarks.workload.standard_workload: 60% new GTC limit 1-20 ticks from mid 10,000,"
    " 30% cancels of live orders, 10% marketable (half MARKET, half LIMIT IOC 5 ticks"
    " through); qty 1-100; 8 symbols, 100 accounts, no STP"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--commands", type=positive_int, default=1_000_000, metavar="N")
    parser.add_argument("--seed", type=int, default=1, metavar="S")
    parser.add_argument(
        "--runs", type=positive_int, default=5, metavar="R", help="throughput runs (median)"
    )
    parser.add_argument(
        "--gc",
        choices=GC_MODES,
        default="freeze",
        help="collector during the runs: CPython defaults, frozen after set-up, or off",
    )
    parser.add_argument(
        "--pure",
        action="store_true",
        help="run the reference kernel (pure Python) as the kernel even if compiled",
    )
    parser.add_argument(
        "--batch",
        type=positive_int,
        default=4096,
        metavar="B",
        help="input records per kernel call (default 4096)",
    )
    parser.add_argument("--no-latency", action="store_true", help="skip the latency pass")
    parser.add_argument(
        "--compare-peers",
        action="store_true",
        help="also run the same stream through PyPI's cython-orderbook (the peers extra)"
        " in a fresh interpreter, and print the ratio",
    )
    parser.add_argument(
        "--callgrind",
        type=positive_int,
        metavar="N",
        nargs="?",
        const=CALLGRIND_COMMANDS,
        help="also count instructions per command under valgrind's callgrind, over the"
        f" first N commands (default {CALLGRIND_COMMANDS:,}): a figure the load does not move",
    )


def positive_int(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


CALLGRIND_COMMANDS = 100_000


def cmds_head(workload: Path, k: int) -> tuple[Path, int]:
    """A pickle of the workload's first ``k`` commands, beside it; and how many that is."""
    with workload.open("rb") as f:
        cmds = pickle.load(f)[:k]
    head = workload.with_name("head.pickle")
    with head.open("wb") as f:
        pickle.dump(cmds, f, protocol=pickle.HIGHEST_PROTOCOL)
    return head, len(cmds)


# numpy's OpenBLAS starts spinning threads at import, whose instructions callgrind
# counts too, a different number each run: one thread keeps the count exact; and a
# fixed hash seed, without which start-up alone moves by more than a small run costs.
QUIET = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def _instructions(args: list[str], out: Path, env: dict[str, str] | None = None) -> int:
    """Instructions (callgrind's Ir total) of one core_run child with ``args``."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise report.Unavailable("--callgrind needs valgrind (apt-get install valgrind)")
    done = subprocess.run(
        [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m",
         "ringmatch.benchmarks.harness.core_run", *args],
        capture_output=True, text=True, check=False, env={**os.environ, **QUIET, **(env or {})},
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"callgrind run failed ({done.returncode}):\n{done.stderr.strip()}")
    for line in out.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"{out}: no summary or totals line in callgrind's output")


def callgrind_per_command(head: tuple[Path, int], gc_mode: str) -> tuple[float, int]:
    """Instructions per command over the workload's first commands; and how many ran."""
    path, k = head
    print(f"callgrind: {k:,} commands under valgrind (slow)...", file=sys.stderr)
    work = _instructions([str(path), "throughput", gc_mode], path.with_suffix(".work.out"))
    base = _instructions([str(path), "load", gc_mode], path.with_suffix(".load.out"))
    return (work - base) / k, k


def kernel_callgrind_per_command(
    head: tuple[Path, int], gc_mode: str, batch: int, pure: bool
) -> float:
    """Instructions per command of the kernel over the same first commands."""
    path, k = head
    records = path.with_suffix(".npy")
    with path.open("rb") as f:
        np.save(records, encode_commands(pickle.load(f)))
    env = {build_info.PURE_ENV: "1"} if pure else {}
    args = [str(records), "kernel", gc_mode, str(batch)]
    work = _instructions(args, path.with_suffix(".kwork.out"), env)
    args[1] = "kernel-load"
    base = _instructions(args, path.with_suffix(".kload.out"), env)
    return (work - base) / k


def _peer(workload: Path) -> dict[str, Any]:
    """The workload through the peer engine (ringmatch.benchmarks.harness.peers)."""
    if importlib.util.find_spec("cython_orderbook") is None:
        raise report.Unavailable(
            "--compare-peers needs cython-orderbook: pip install 'ringmatch[peers]'"
        )
    print("the same stream through cython-orderbook...", file=sys.stderr)
    done = subprocess.run(
        [sys.executable, "-m", "ringmatch.benchmarks.harness.peers", str(workload)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"peer run failed ({done.returncode}):\n{done.stderr.strip()}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def _child(args: list[str], pure: bool) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    if pure:
        env[build_info.PURE_ENV] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "ringmatch.benchmarks.harness.core_run", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"core run failed ({done.returncode}):\n{done.stderr.strip()}")
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def run(opts: argparse.Namespace) -> report.Result:
    from ringmatch.benchmarks.workload import standard_workload

    n = opts.commands
    print(f"generating {n:,} commands (seed {opts.seed})...", file=sys.stderr)
    cmds = standard_workload(n, opts.seed)
    with tempfile.TemporaryDirectory(prefix="ringmatch-bench-") as tmp:
        workload = Path(tmp) / "workload.pickle"
        with workload.open("wb") as f:
            pickle.dump(cmds, f, protocol=pickle.HIGHEST_PROTOCOL)
        records = Path(tmp) / "workload.npy"
        np.save(records, encode_commands(cmds))
        del cmds
        runs = []
        kernel_runs = []
        kernel_args = [str(records), "kernel", opts.gc, str(opts.batch)]
        for _ in progress(range(opts.runs), desc="throughput runs", unit="run"):
            runs.append(_child([str(workload), "throughput", opts.gc], False))
            kernel_runs.append(_child(kernel_args, opts.pure))
        peer = _peer(workload) if opts.compare_peers else None
        instructions = None
        kernel_instructions = None
        if opts.callgrind:
            head = cmds_head(workload, opts.callgrind)
            instructions = callgrind_per_command(head, opts.gc)
            kernel_instructions = kernel_callgrind_per_command(head, opts.gc, opts.batch, opts.pure)
        lat = None
        if not opts.no_latency:
            print("latency pass (one process() call timed at a time)...", file=sys.stderr)
            samples_path = Path(tmp) / "latency.bin"
            lat = _child([str(workload), "latency", opts.gc, str(samples_path)], False)
            samples = array("q")
            samples.frombytes(samples_path.read_bytes())

    machine_info = machine.describe()
    # The children ran the kernel; the parent may differ (e.g. --pure), so theirs is recorded.
    machine_info["compiled"] = kernel_runs[0]["compiled"]
    machine_info["core"] = kernel_runs[0]["core"]
    result = report.Result(
        benchmark="core",
        params={
            "commands": n,
            "seed": opts.seed,
            "runs": opts.runs,
            "gc": opts.gc,
            "workload": WORKLOAD,
            "events_per_run": runs[0]["events"],
            "kernel_event_records_per_run": kernel_runs[0]["events"],
            "batch": opts.batch,
        },
        machine=machine_info,
    )
    wall = [r["seconds"] for r in runs]
    cpu = [r["cpu_seconds"] for r in runs]
    kernel_cpu = statistics.median(r["cpu_seconds"] for r in kernel_runs)
    kernel_name = "kernel" if kernel_runs[0]["compiled"] else "reference kernel"
    result.throughput = {
        "pure: commands/s (median, wall)": n / statistics.median(wall),
        "pure: commands/s (median, CPU time)": n / statistics.median(cpu),
        "pure: commands/s (best, wall)": n / min(wall),
        f"{kernel_name}: commands/s (median, wall)": n
        / statistics.median(r["seconds"] for r in kernel_runs),
        f"{kernel_name}: commands/s (median, CPU time)": n / kernel_cpu,
    }
    result.ratios[f"{kernel_name} / pure engine (CPU time)"] = statistics.median(cpu) / kernel_cpu
    result.notes.append(
        f"{opts.runs} {'run' if opts.runs == 1 else 'runs'}, each in a fresh interpreter: pure, one"
        f" MatchingEngine.process_batch() over all {n:,} commands; then {kernel_name}"
        f" ({kernel_runs[0]['core']}), the same stream as input records, one process_into()"
        f" per {opts.batch:,} records; gc={opts.gc}"
    )
    if peer is not None:
        ours = n / statistics.median(cpu)
        fastest = n / kernel_cpu
        theirs = n / peer["cpu_seconds"]
        result.throughput[f"{peer['peer']} commands/s (CPU time)"] = theirs
        result.notes.append(
            f"{peer['peer']}: the same {n:,} commands, {peer['calls']:,} calls (IOC: the"
            f" order, then a cancel of its rest) in a fresh interpreter; by CPU time ringmatch's"
            f" pure engine is {ours / theirs:.2f}x its throughput, the {kernel_name}"
            f" {fastest / theirs:.2f}x"
        )
        result.ratios[f"{kernel_name} / {peer['peer']} (CPU time)"] = fastest / theirs
        result.ratios[f"pure engine / {peer['peer']} (CPU time)"] = ours / theirs
    if kernel_instructions is not None:
        result.costs[f"{kernel_name}: instructions per command (callgrind)"] = kernel_instructions
    if instructions is not None:
        result.costs["pure: instructions per command (callgrind)"] = instructions[0]
        result.notes.append(
            f"callgrind: instructions of one process_batch() over the first {instructions[1]:,}"
            " commands, minus a run that only loads them, per command"
        )
    if lat is not None:
        hist = report.new_histogram()
        report.record_all(hist, samples)
        result.add_latency("process", hist)
        result.throughput["commands/s (latency pass, wall)"] = n / lat["seconds"]
        result.notes.append(
            f"latency: one process() call per sample, timed with perf_counter_ns; each"
            f" sample includes the clock's own cost, {lat['clock_ns']} ns (median)"
        )
    return result
