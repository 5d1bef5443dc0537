"""``ringmatch feed`` against a real feed server: JSON lines out, the live view's text."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ringmatch.benchmarks.workload import standard_workload
from ringmatch.cli import main
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.gateway.feed.server import FeedServer


@pytest.fixture
def feed() -> Iterator[tuple[int, MatchingEngine]]:
    """A feed server on its own loop thread, its books loaded from 2,000 commands."""
    loop = asyncio.new_event_loop()
    server = FeedServer()
    eng = MatchingEngine()
    server.publish(eng.process_batch(standard_workload(2000, seed=9)))
    port = loop.run_until_complete(server.start("127.0.0.1", 0))[1]
    thread = threading.Thread(target=loop.run_forever)
    thread.start()
    yield port, eng
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


def test_feed_writes_json_lines(
    feed: tuple[int, MatchingEngine], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port, eng = feed
    out = tmp_path / "md.jsonl"
    argv = ["feed", "--port", str(port), "--symbol", "AAPL", "--symbol", "MSFT"]
    assert main([*argv, "--levels", "3", "--out", str(out), "--count", "2"]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(m["type"], m["symbol"]) for m in lines] == [("snapshot", "AAPL"), ("snapshot", "MSFT")]
    depth = eng.depth("AAPL", 3)
    assert lines[0]["bids"] == [list(x) for x in depth.bids]
    assert lines[0]["asks"] == [list(x) for x in depth.asks]
    # not a terminal: the same lines on stdout
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert printed == lines


def test_feed_needs_a_symbol_and_a_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feed"]) == 2
    assert "--symbol" in capsys.readouterr().err
    assert main(["feed", "--port", "1", "--symbol", "X"]) == 1  # a failure at run time
    assert "cannot connect to 127.0.0.1:1" in capsys.readouterr().err


def test_feed_once_prints_the_book_in_decimals_and_exits(
    feed: tuple[int, MatchingEngine], capsys: pytest.CaptureFixture[str]
) -> None:
    port, eng = feed
    argv = ["feed", "--port", str(port), "--symbol", "AAPL", "--levels", "3"]
    assert main([*argv, "--once", "--tick-size", "0.01"]) == 0
    text = capsys.readouterr().out
    depth = eng.depth("AAPL", 3)
    (bid, bid_qty), (ask, ask_qty) = depth.bids[0], depth.asks[0]
    assert f"spread {(ask - bid) / 100:.2f}" in text
    for price, qty in (*depth.bids, *depth.asks):
        assert f"{price / 100:.2f}" in text and str(qty) in text
    # the best bid's row: its size and price, then the best ask and its size
    assert re.search(rf"\b{bid_qty}\s+{bid / 100:.2f}\s+{ask / 100:.2f}\s+{ask_qty}\b", text), text


def test_a_bad_tick_size_is_refused_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["feed", "--symbol", "X", "--tick-size", "0"])
    assert done.value.code == 2
    assert "--tick-size: must be a decimal > 0, got 0" in capsys.readouterr().err
