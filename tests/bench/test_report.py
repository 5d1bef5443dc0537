"""The harness's outputs: percentiles on known data, the JSON and .hgrm files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ringmatch.benchmarks.harness import report


def uniform_us(n: int) -> list[int]:
    """1 us, 2 us, ..., n us in nanoseconds: the p-th percentile is p% of n us."""
    return [i * 1000 for i in range(1, n + 1)]


def test_percentiles_of_a_known_distribution_are_within_hdr_precision() -> None:
    hist = report.new_histogram()
    report.record_all(hist, uniform_us(100_000))
    got = report.percentiles_us(hist)
    expected = {"p50": 50_000, "p90": 90_000, "p99": 99_000, "p99.9": 99_900, "p99.99": 99_990}
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-3), name  # 3 significant digits
    assert got["max"] == pytest.approx(100_000, rel=1e-3)
    assert got["count"] == 100_000


def test_record_all_counts_repeats_and_clamps_out_of_range_values() -> None:
    hist = report.new_histogram()
    report.record_all(hist, [0, 5, 5, 5, report.HIGHEST_NS * 10])
    assert hist.get_total_count() == 5
    assert hist.get_count_at_value(5) == 3
    assert hist.get_min_value() == report.LOWEST_NS
    assert hist.get_max_value() >= report.HIGHEST_NS


def test_empty_histogram_reports_zeros() -> None:
    figs = report.percentiles_us(report.new_histogram())
    assert figs["p50"] == 0.0 and figs["max"] == 0.0 and figs["count"] == 0.0


def make_result() -> report.Result:
    result = report.Result(
        benchmark="core",
        params={"commands": 10},
        machine={"core": "pure-Python core (not compiled)", "cpu": "test"},
        throughput={"commands/s": 123_456.0},
    )
    hist = report.new_histogram()
    report.record_all(hist, uniform_us(1000))
    result.add_latency("process", hist)
    return result


def test_json_result_is_well_formed_and_loads_back(tmp_path: Path) -> None:
    paths = report.write(make_result(), tmp_path, "r")
    assert [p.name for p in paths] == ["r.json", "r.process.hgrm"]
    data = report.load(paths[0])
    assert data["benchmark"] == "core"
    assert data["throughput"] == {"commands/s": 123_456.0}
    assert data["latency_us"]["process"]["p99"] == pytest.approx(990, rel=1e-3)
    assert data["machine"]["core"].startswith("pure-Python")
    # the compressed histogram decodes to the same counts
    from hdrh.histogram import HdrHistogram

    again = HdrHistogram.decode(data["histograms"]["process"])
    assert again.get_total_count() == 1000


def test_hgrm_file_has_the_standard_columns_and_footer(tmp_path: Path) -> None:
    paths = report.write(make_result(), tmp_path, "r")
    lines = paths[1].read_text().splitlines()
    assert lines[0].split() == ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]
    rows = [line.split() for line in lines[1:] if line.strip() and not line.startswith("#")]
    assert rows[0][0] == "1.000" and float(rows[-1][1]) == 1.0 and rows[-1][2] == "1000"
    values = [float(r[0]) for r in rows]
    assert values == sorted(values)  # percentile order: never decreasing
    footer = "\n".join(line for line in lines if line.startswith("#"))
    mean = float(re.search(r"Mean\s*=\s*([0-9.]+)", footer).group(1))  # type: ignore[union-attr]
    std = float(re.search(r"StdDeviation\s*=\s*([0-9.]+)", footer).group(1))  # type: ignore[union-attr]
    assert mean == pytest.approx(500.5, rel=1e-2)  # in us, like the values
    assert std == pytest.approx(288.7, rel=1e-2)  # scaled too (hdrh leaves it in ns)
    assert "TotalCount     =     1000.000" in footer


@pytest.mark.parametrize("content", ["not json", "[1, 2]", json.dumps({"benchmark": "x"})])
def test_load_names_the_file_and_what_is_wrong(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=r"bad\.json: not a"):
        report.load(path)


def test_table_lists_every_figure() -> None:
    text = report.table(make_result())
    assert "| commands/s | 123,456 |" in text
    assert re.search(r"\| process \| 500\.\d+ \| 900\.\d+ \| 990\.\d+ \|", text)


def test_histogram_names_become_safe_file_names(tmp_path: Path) -> None:
    result = make_result()
    result.add_latency("round trip @ 10,000/s", report.new_histogram())
    paths = report.write(result, tmp_path, "r")
    assert [p.name for p in paths] == ["r.json", "r.process.hgrm", "r.round-trip-10000-s.hgrm"]
    assert all(p.parent == tmp_path for p in paths)
