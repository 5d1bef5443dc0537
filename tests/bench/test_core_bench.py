"""``ringmatch bench core`` end to end on a small workload, and the core path switch."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ringmatch.cli import main
from ringmatch.engine import build_info
from tests.conftest import need

REPO = Path(__file__).resolve().parents[2]


def test_bench_core_writes_json_and_hgrm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bench", "core", "--commands", "2000", "--runs", "2", "--out", str(tmp_path)]
    assert main([*args, "--name", "small"]) == 0
    table = capsys.readouterr().out
    assert "pure: commands/s (median, wall)" in table and "| process |" in table
    assert "kernel: commands/s (median, CPU time)" in table  # "kernel" or "reference kernel"
    data = json.loads((tmp_path / "small.json").read_text())
    assert data["params"]["commands"] == 2000 and data["params"]["runs"] == 2
    assert data["params"]["events_per_run"] >= 2000  # at least one event per command
    assert data["latency_us"]["process"]["count"] == 2000
    assert data["machine"]["compiled"] is build_info.compiled()
    assert data["machine"]["cores"] == os.cpu_count()
    assert (tmp_path / "small.process.hgrm").read_text().startswith("       Value")


def version_with(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", "--version"],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_version_says_which_core_runs() -> None:
    forced = version_with({build_info.PURE_ENV: "1"})
    assert forced.startswith("ringmatch ")
    assert forced.endswith(", pure-Python engine (RINGMATCH_PURE=1)")
    default = version_with({build_info.PURE_ENV: "0"})
    if build_info.kernel_built():
        assert default.endswith(", compiled kernel (C++, Cython 3)")
    else:
        assert default.endswith(", pure-Python engine (no compiled kernel was built)")


def test_bench_core_counts_instructions_per_command_under_callgrind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need(shutil.which("valgrind") is not None, "valgrind is not installed")
    args = ["bench", "core", "--commands", "3000", "--runs", "1", "--no-latency"]
    assert main([*args, "--callgrind", "3000", "--out", str(tmp_path), "--name", "cg"]) == 0
    assert "| pure: instructions per command (callgrind) |" in capsys.readouterr().out
    data = json.loads((tmp_path / "cg.json").read_text())
    per_command = data["costs"]["pure: instructions per command (callgrind)"]
    kernel = [
        v
        for k, v in data["costs"].items()
        if k.endswith("kernel: instructions per command (callgrind)")
    ]
    assert len(kernel) == 1 and 10 < kernel[0] < 1_000_000, data["costs"]
    # The engine's work alone (the loading is subtracted): thousands of instructions a
    # command in pure Python, never the interpreter's start-up (tens of millions).
    assert 1_000 < per_command < 100_000, per_command


def test_bench_core_compares_the_same_stream_with_a_peer_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need(
        importlib.util.find_spec("cython_orderbook") is not None,
        "cython-orderbook is not installed (pip install 'ringmatch[peers]')",
    )
    args = ["bench", "core", "--commands", "3000", "--runs", "1", "--no-latency"]
    assert main([*args, "--compare-peers", "--out", str(tmp_path), "--name", "peer"]) == 0
    capsys.readouterr()
    data = json.loads((tmp_path / "peer.json").read_text())
    assert data["throughput"]["cython-orderbook commands/s (CPU time)"] > 0
    assert any("cython-orderbook: the same 3,000 commands" in n for n in data["notes"])
    ratios = data["ratios"]
    assert ratios["pure engine / cython-orderbook (CPU time)"] > 0
    assert [k for k in ratios if k.endswith("kernel / cython-orderbook (CPU time)")], ratios
