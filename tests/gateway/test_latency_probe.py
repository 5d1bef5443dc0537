"""The latency probe: gateway in (frame read) to report out (first report written), per order."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram  # type: ignore[import-untyped]

from ringmatch.benchmarks.bench_e2e import ACCOUNT, SYMBOL, TOKEN, _first_id, _Wire
from ringmatch.engine.records import layout as L
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.protocol.messages import (
    Cancel,
    NewOrder,
)
from ringmatch.gateway.server.latency_probe import ENV, LatencyProbe, file_name, read
from tests.gateway.serve_process import ServeProcess, write_config


class _Session:
    """What the probe reads of a session."""

    def __init__(self, account: str, account_id: int = 1) -> None:
        self.account = account
        self.account_id = account_id  # the core's record id of the account
        self.last_received = 0.0
        self.transport: object = object()


def _order(cid: int) -> NewOrder:
    return NewOrder(cid, "AAPL", Side.BUY, OrderType.LIMIT, 100, 1)


def _events(*reports: tuple[int, int]) -> np.ndarray:
    """Event records (ACCEPTED), one per (record account id, client order id)."""
    events = np.zeros(len(reports), L.EVENT_DTYPE)
    events["kind"] = L.ACCEPTED
    events["account"] = [account for account, _ in reports]
    events["client_order_id"] = [cid for _, cid in reports]
    return events


def test_one_sample_per_order_from_frame_read_to_first_report(tmp_path: Path) -> None:
    now = [0]
    probe = LatencyProbe(tmp_path, clock_ns=lambda: now[0])
    session: Any = _Session("alice")
    session.last_received = 2.0  # s, monotonic: 2_000_000_000 ns
    probe.received(session, _order(10))
    probe.received(session, _order(11))
    probe.received(session, Cancel(12))  # not an order: not probed
    session.last_received = 2.000_010
    probe.received(session, _order(13))
    now[0] = 2_000_050_000
    # 12 was never probed; 11 is another account's event here (account 2): not alice's.
    probe.writing_events(session, _events((1, 10), (1, 12), (2, 11)))
    now[0] = 2_000_090_000
    # 10's later reports are not samples; 11 and 13 are, at this write.
    probe.writing_events(session, _events((1, 10), (1, 11), (1, 13)))
    path = probe.closed(session)
    assert path == tmp_path / file_name("alice", 10)
    hist = HdrHistogram.decode(path.read_bytes())
    assert hist.get_total_count() == 3
    # 10: 50 us; 11: 90 us; 13: 80 us (its frame was read 10 us later)
    assert hist.get_min_value() == pytest.approx(50_000, rel=1e-3)
    assert hist.get_value_at_percentile(50) == pytest.approx(80_000, rel=1e-3)
    assert hist.get_max_value() == pytest.approx(90_000, rel=1e-3)
    assert probe.closed(session) is None  # a session ends once (connection_lost after shutdown)


def test_an_order_counts_once_across_sessions_and_unanswered_ones_are_dropped(
    tmp_path: Path,
) -> None:
    now = [5_000]
    probe = LatencyProbe(tmp_path, clock_ns=lambda: now[0])
    one: Any = _Session("alice")
    two: Any = _Session("alice")  # the account's other session gets the same reports
    probe.received(one, _order(1))
    probe.received(one, _order(2))
    probe.writing_events(one, _events((1, 1)))
    probe.writing_events(two, _events((1, 1)))
    path = probe.closed(one)
    assert path is not None
    assert HdrHistogram.decode(path.read_bytes()).get_total_count() == 1
    probe.writing_events(two, _events((1, 2)))  # order 2's session is gone: no sample, no leak
    assert probe._pending == {}
    assert probe.closed(two) is None  # it never sent an order


def test_off_unless_the_environment_says_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    assert LatencyProbe.from_env("data") is None
    monkeypatch.setenv(ENV, "0")
    assert LatencyProbe.from_env("data") is None
    monkeypatch.setenv(ENV, "1")
    probe = LatencyProbe.from_env("data")
    assert probe is not None and probe.out_dir == Path("data/latency-probe")
    monkeypatch.setenv(ENV, "yes")
    with pytest.raises(ValueError, match=f"{ENV} must be 1 .* got 'yes'"):
        LatencyProbe.from_env("data")


def test_a_real_serve_records_each_order_and_the_share_is_inside_the_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, topology: str
) -> None:
    monkeypatch.setenv(ENV, "1")  # inherited by serve and its worker
    data = tmp_path / "data"
    config = write_config(
        tmp_path / "serve.toml",
        data,
        {},
        symbols=(SYMBOL,),
        accounts={ACCOUNT: TOKEN},
        topology=topology,
    )
    round_trips: list[int] = []
    with ServeProcess(config) as serve:
        wire = _Wire("127.0.0.1", serve.port)
        first = _first_id()
        sent = 0
        for batch in (1, 50, 149):  # orders per write: one, then batches
            start = time.perf_counter_ns()
            wire.orders(first + sent, batch)
            sent += batch
            answered = 0
            while answered < batch:
                accepted = wire.receive()  # the client ids of the ACCEPTED reports
                now = time.perf_counter_ns()
                answered += len(accepted)
                round_trips += [now - start] * len(accepted)
        # The session is still open: the worker writes its file as it shuts down.
        assert serve.stop() == 0
        wire.close()
    hist = read(data / "latency-probe", ACCOUNT, first, timeout_s=0)
    assert hist.get_total_count() == sent == 200
    assert hist.get_min_value() > 0
    # Each order's share lies inside its round trip: stamped in after the client sent
    # the frame and out before the worker wrote the report the client waited for (the
    # histogram's max is its bucket's top: 3 significant digits).
    assert hist.get_max_value() <= max(round_trips) * 1.001
    assert hist.get_value_at_percentile(50) < sorted(round_trips)[len(round_trips) // 2]
