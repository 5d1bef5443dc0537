"""The core's throughput on the standard workload (issue 2's benchmark).

    parent: standard_workload(1,000,000, seed 1) (ringmatch.benchmarks.workload),
            generated before timing
      └─▶ 5 fresh interpreters, each: MatchingEngine().process_batch(all 1,000,000)
      └─▶ 1 fresh interpreter: process(cmd) per command, each timed (latency)

Reported: commands/s as the median of the runs (wall and CPU time), and the
per-command latency percentiles; the JSON and .hgrm files go to out/bench/.
It is ``ringmatch bench core`` with issue 2's defaults; every option passes on.

    .venv/bin/python benchmarks/bench_core.py [--commands N] [--runs R] [--pure] [--gc MODE]
"""

from __future__ import annotations

import os
import sys

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ringmatch.benchmarks.harness.cli import main

if __name__ == "__main__":
    sys.exit(main(["core", "--commands", "1000000", "--runs", "5", *sys.argv[1:]]))
