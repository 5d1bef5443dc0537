"""``ringmatch bench compare``: changes per figure and the exit status past a threshold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ringmatch.cli import main


def result(tp: float, p99: float) -> dict[str, Any]:
    return {
        "benchmark": "core",
        "machine": {"core": "pure-Python core (not compiled)"},
        "throughput": {"commands/s": tp},
        "latency_us": {"process": {"p50": 1.0, "p99": p99, "max": 9.0, "count": 100.0}},
    }


def run_compare(tmp_path: Path, old: Any, new: Any, *extra: str) -> int:
    a, b = tmp_path / "old.json", tmp_path / "new.json"
    a.write_text(json.dumps(old))
    b.write_text(json.dumps(new))
    return main(["bench", "compare", str(a), str(b), *extra])


def test_within_threshold_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_compare(tmp_path, result(1000, 2.0), result(950, 2.1)) == 0
    out = capsys.readouterr().out
    assert "| throughput commands/s | 1,000.00 | 950.00 | -5.0% | same |" in out
    assert "| latency process p99 (us) | 2.00 | 2.10 | -5.0% | same |" in out


def test_throughput_drop_past_threshold_is_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_compare(tmp_path, result(1000, 2.0), result(800, 2.0)) == 1
    assert "-20.0% | REGRESSION |" in capsys.readouterr().out


def test_latency_rise_past_threshold_is_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_compare(tmp_path, result(1000, 2.0), result(1000, 3.0), "--threshold", "25") == 1
    assert "| latency process p99 (us) | 2.00 | 3.00 | -50.0% | REGRESSION |" in (
        capsys.readouterr().out
    )


def test_improvements_never_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_compare(tmp_path, result(1000, 2.0), result(2000, 1.0)) == 0
    assert "+100.0% | better |" in capsys.readouterr().out


def test_a_broken_file_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_compare(tmp_path, result(1000, 2.0), {"benchmark": "core"}) == 2
    assert "new.json: not a result file: no 'throughput' field" in capsys.readouterr().err
