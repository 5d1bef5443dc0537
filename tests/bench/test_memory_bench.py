"""``ringmatch bench memory``: bytes per resting order, and ``bench compare`` on sizes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ringmatch.cli import main


def test_bench_memory_reports_bytes_per_resting_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["bench", "memory", "--orders", "20000", "--spread", "50", "--out", str(tmp_path)]
    assert main([*args, "--name", "m"]) == 0
    assert "| pure: bytes per resting order |" in capsys.readouterr().out
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["params"] == {"orders": 20000, "symbols": 8, "accounts": 100, "spread": 50}
    per_order = data["costs"]["pure: bytes per resting order"]
    # Every order rests (the run checks it) and costs something real: a command, a
    # resting order and their entries; nowhere near a kilobyte in pure Python.
    assert 100 < per_order < 1500, per_order
    (kernel,) = [
        v for k, v in data["costs"].items() if k.endswith("kernel: bytes per resting order")
    ]
    assert 0 <= kernel < 1500, kernel


def sized(per_order: float) -> dict[str, Any]:
    return {
        "benchmark": "memory",
        "machine": {"core": "pure-Python core"},
        "throughput": {},
        "latency_us": {},
        "costs": {"bytes per resting order": per_order},
    }


def test_compare_counts_a_bigger_cost_as_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "old.json", tmp_path / "new.json"
    a.write_text(json.dumps(sized(300.0)))
    b.write_text(json.dumps(sized(400.0)))
    assert main(["bench", "compare", str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "| cost bytes per resting order | 300.00 | 400.00 | -33.3% | REGRESSION |" in out
    b.write_text(json.dumps(sized(100.0)))
    assert main(["bench", "compare", str(a), str(b)]) == 0
