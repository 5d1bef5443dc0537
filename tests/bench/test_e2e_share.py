"""``ringmatch bench e2e`` reports the engine's share beside each rate's round trip."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from ringmatch.benchmarks.bench_e2e import RoundTrips
from ringmatch.benchmarks.harness import e2e, report
from ringmatch.gateway.server.latency_probe import histogram


def _fake_bench(probe_seen: list[bool], with_share: bool) -> Any:
    @contextlib.contextmanager
    def server(
        host: Any, port: Any, probe: bool = True, **options: Any
    ) -> Iterator[tuple[str, int]]:
        probe_seen.append(probe)
        yield "127.0.0.1", 1

    @contextlib.contextmanager
    def echo_server() -> Iterator[tuple[str, int]]:
        yield "127.0.0.1", 2

    def round_trips(host: str, port: int, rate: float, seconds: float) -> Any:
        share = histogram([10_000, 20_000, 30_000]) if with_share else None
        return RoundTrips(rate, [100_000, 200_000], share)

    def floor_round_trips(host: str, port: int, rate: float, seconds: float) -> Any:
        return rate, [50_000, 100_000]

    return SimpleNamespace(
        server=server,
        saturation=lambda *a: 5.0,
        round_trips=round_trips,
        echo_server=echo_server,
        floor_round_trips=floor_round_trips,
    )


def _opts(*args: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    e2e.add_arguments(parser)
    return parser.parse_args(["--seconds", "0.1", "--rates", "1000,10000", *args])


def test_each_rate_gets_an_engine_share_histogram(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(e2e, "benchmark_module", lambda name: _fake_bench(seen, True))
    result = e2e.run(_opts())
    assert seen == [True]
    for rate in ("1,000", "10,000"):
        share = result.latency[f"engine share (gateway in -> report out) @ {rate}/s"]
        assert share["count"] == 3
        assert share["p50"] == pytest.approx(20.0, rel=1e-3)
        assert result.latency[f"round trip @ {rate}/s"]["count"] == 2
    assert any("engine share" in note for note in result.notes)
    assert "engine share" in report.table(result)
    # Every rate beside its floor, as ratios: the round trips are twice the echo's.
    assert "ratio to the floor @ 1,000/s: p50 2.00x" in "\n".join(result.notes)
    assert result.latency["floor (Python echo) @ 10,000/s"]["count"] == 2


def test_no_probe_means_no_share_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []
    monkeypatch.setattr(e2e, "benchmark_module", lambda name: _fake_bench(seen, False))
    result = e2e.run(_opts("--no-probe"))
    assert seen == [False]
    assert not any(name.startswith("engine share") for name in result.latency)
