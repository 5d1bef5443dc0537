"""The rough edges a new user hits, run as the user runs them: the real ``ringmatch``
command in a subprocess, its output and its exit status (README.md, "Exit status":
0 done, 1 a failure at run time, 2 bad usage or bad input)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ringmatch.engine.journal.fsync_policy import FsyncPolicy
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.replay.order_csv import HEADER, HEADER_V1
from ringmatch.engine.schema.commands import NewOrder
from ringmatch.engine.schema.enums import OrderType, Side
from tests.conftest import REPO
from tests.gateway.serve_process import ServeProcess, write_config

ORDERS = f"""{HEADER_V1}
1,NEW,1,alice,XYZ,SELL,LIMIT,GTC,100,10,0,NONE
2,NEW,2,bob,XYZ,BUY,LIMIT,GTC,100,4,0,NONE
"""
# Line 3 is bad (order_id), the rest replay.
ONE_BAD_ROW = f"""{HEADER_V1}
1,NEW,1,alice,XYZ,SELL,LIMIT,GTC,100,10,0,NONE
2,NEW,x,bob,XYZ,BUY,LIMIT,GTC,100,4,0,NONE
3,NEW,3,bob,XYZ,BUY,LIMIT,GTC,100,4,0,NONE
"""
# A LOBSTER message file: time, type, order id, size, price, direction; no header.
LOBSTER_MESSAGES = "34200.01,1,1,5,2238200,1\n34200.02,1,2,5,2238300,-1\n"


def ringmatch(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def no_server() -> Iterator[int]:
    """A port nothing listens on: bound (so nobody else takes it) but never listening,
    so a connection to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# -- 1. an unknown option prints the subcommand's usage ---------------------------------


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["replay", "--nosuch", "x.csv"], "usage: ringmatch replay "),
        (["replay", "x.csv", "--format", "journal", "--nosuch"], "usage: ringmatch replay "),
        (["bench", "compare", "--nosuch", "a.json", "b.json"], "usage: ringmatch bench compare "),
        (["journal", "convert", "a", "b", "--nosuch"], "usage: ringmatch journal convert "),
        (["send", "x.csv", "--nosuch"], "usage: ringmatch send "),
        (["feed", "--symbol", "X", "--nosuch"], "usage: ringmatch feed "),
    ],
)
def test_an_unknown_option_prints_the_subcommands_usage(argv: list[str], usage: str) -> None:
    done = ringmatch(*argv)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(usage)
    command = usage.removeprefix("usage: ").strip()
    assert done.stderr.endswith(f"{command}: error: unrecognized arguments: --nosuch\n")


def test_an_unknown_option_before_the_command_prints_the_top_level_usage() -> None:
    done = ringmatch("--nosuch", "replay", "x.csv")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: ringmatch [-h]")
    assert done.stderr.endswith("ringmatch: error: unrecognized arguments: --nosuch\n")


def test_a_replay_option_for_another_format_prints_the_replay_usage() -> None:
    done = ringmatch("replay", "x.csv", "--orderbook", "ob.csv")
    assert done.returncode == 2
    assert done.stderr.startswith("usage: ringmatch replay ")
    assert "ringmatch replay: error: --orderbook is only for --format lobster\n" in done.stderr


# -- 2. one exit-status convention ------------------------------------------------------


def test_send_and_feed_exit_1_alike_when_no_server_listens(tmp_path: Path, no_server: int) -> None:
    config = write_config(tmp_path / "ringmatch.toml", tmp_path / "data", {})
    orders = write(tmp_path / "orders.csv", ORDERS)
    send = ringmatch("send", orders, "--config", config, "--port", no_server)
    assert send.returncode == 1, send.stderr
    assert f"cannot connect to 127.0.0.1:{no_server}" in send.stderr
    feed = ringmatch("feed", "--symbol", "XYZ", "--port", no_server, "--count", "1")
    assert feed.returncode == 1, feed.stderr
    assert f"cannot connect to 127.0.0.1:{no_server}" in feed.stderr


def test_risk_exits_1_like_them_when_no_risk_process_listens(tmp_path: Path) -> None:
    socket_path = tmp_path / "risk.sock"
    done = ringmatch("risk", "--socket", socket_path)
    assert done.returncode == 1
    assert done.stderr.startswith(f"ringmatch risk: no risk process at {socket_path}: ")


def test_send_and_feed_exit_2_on_bad_input(tmp_path: Path, no_server: int) -> None:
    config = write_config(tmp_path / "ringmatch.toml", tmp_path / "data", {})
    missing = tmp_path / "missing.csv"
    send = ringmatch("send", missing, "--config", config, "--port", no_server)
    assert send.returncode == 2, send.stderr
    assert f"cannot read {missing}" in send.stderr
    feed = ringmatch("feed", "--port", no_server)
    assert feed.returncode == 2
    assert "name at least one --symbol" in feed.stderr
    out = tmp_path / "no-such-dir" / "f.jsonl"
    feed = ringmatch("feed", "--symbol", "XYZ", "--port", no_server, "--out", out)
    assert feed.returncode == 2
    assert feed.stderr == f"ringmatch feed: cannot write {out}: No such file or directory\n"


def test_journal_convert_of_a_directory_without_a_journal_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    done = ringmatch("journal", "convert", tmp_path / "empty", tmp_path / "dst")
    assert done.returncode == 2
    assert f"no journal in {tmp_path / 'empty'}" in done.stderr
    assert not (tmp_path / "dst").exists()


# -- 3. nothing found, rows skipped, the wrong format -----------------------------------


def test_a_journal_replay_of_an_empty_directory_says_no_journal_was_found(
    tmp_path: Path,
) -> None:
    done = ringmatch("replay", tmp_path, "--format", "journal")
    assert done.returncode == 2
    assert done.stderr == (
        f"ringmatch: no journal in {tmp_path}: it holds no journal segment"
        " (is it a data directory?)\n"
    )
    missing = tmp_path / "nope"
    done = ringmatch("replay", missing, "--format", "journal")
    assert done.returncode == 2
    assert done.stderr == f"ringmatch: cannot read {missing}: No such file or directory\n"


def test_a_csv_replay_that_skipped_rows_exits_1_saying_how_many(tmp_path: Path) -> None:
    source = write(tmp_path / "orders.csv", ONE_BAD_ROW)
    done = ringmatch("replay", source, "--skip-bad", "--trades-out", tmp_path / "t.csv")
    assert done.returncode == 1
    assert f"{source}:3: order_id: 'x' is not a whole number\n" in done.stderr
    assert f"replay of {source} (csv): 1 bad row skipped, left out of every output\n" in done.stderr
    # The rows around the bad one ran: bob's order 3 traded with alice's.
    assert (tmp_path / "t.csv").read_text().splitlines()[1:] == ["1,XYZ,100,4,1,3,alice,bob,BUY"]
    two_bad = ONE_BAD_ROW + "4,NEW,y,bob,XYZ,BUY,LIMIT,GTC,100,4,0,NONE\n"
    done = ringmatch("replay", write(source, two_bad), "--skip-bad")
    assert done.returncode == 1
    assert "2 bad rows skipped" in done.stderr
    done = ringmatch("replay", write(source, ORDERS), "--skip-bad")  # nothing to skip
    assert done.returncode == 0
    assert "skipped," not in done.stderr


def test_a_lobster_replay_that_skipped_rows_exits_1(tmp_path: Path) -> None:
    source = write(tmp_path / "X_message_1.csv", LOBSTER_MESSAGES + "34200.03,1,3,zero,1,1\n")
    done = ringmatch("replay", source, "--format", "lobster", "--skip-bad")
    assert done.returncode == 1
    assert f"{source}:3: size: 'zero' is not a whole number (skipped)\n" in done.stderr
    assert f"replay of {source} (lobster): 1 bad row skipped, left out of every output\n" in (
        done.stderr
    )
    done = ringmatch("replay", write(source, LOBSTER_MESSAGES), "--format", "lobster")
    assert done.returncode == 0
    assert "skipped," not in done.stderr


def test_a_lobster_file_given_to_the_csv_replay_hints_at_format_lobster(tmp_path: Path) -> None:
    source = write(tmp_path / "X_message_1.csv", LOBSTER_MESSAGES)
    done = ringmatch("replay", source)
    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"{source}:1: bad header: expected {HEADER}, got '34200.01,1,1,5,")
    assert first.endswith("a LOBSTER message file? replay it with --format lobster)")
    # A header that is merely wrong gets no such hint.
    done = ringmatch("replay", write(source, "ts,action\n1,NEW\n"))
    assert done.returncode == 2
    assert "bad header" in done.stderr and "--format lobster" not in done.stderr


def test_a_directory_given_to_the_csv_replay_hints_at_format_journal(tmp_path: Path) -> None:
    done = ringmatch("replay", tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"ringmatch: cannot read {tmp_path}: ")
    assert done.stderr.endswith("(a data directory? replay it with --format journal)\n")


# -- 4. an output that is an input is refused before anything is opened ----------------


@pytest.mark.parametrize("option", ["--trades-out", "--book-out", "--events-out"])
def test_an_output_that_is_the_input_is_refused_and_the_input_kept(
    tmp_path: Path, option: str
) -> None:
    write(tmp_path / "same.csv", ORDERS)
    done = ringmatch("replay", "same.csv", option, "./same.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"ringmatch replay: {option} ./same.csv is the input FILE same.csv: it would be"
        " overwritten; nothing was run\n"
    )
    assert (tmp_path / "same.csv").read_text() == ORDERS


def test_an_output_linked_to_the_input_is_refused(tmp_path: Path) -> None:
    source = write(tmp_path / "orders.csv", ORDERS)
    (tmp_path / "hard.csv").hardlink_to(source)
    (tmp_path / "soft.csv").symlink_to(source)
    for link in ("hard.csv", "soft.csv"):
        done = ringmatch("replay", source, "--trades-out", tmp_path / link)
        assert done.returncode == 2
        assert f"--trades-out {tmp_path / link} is the input FILE {source}" in done.stderr
        assert source.read_text() == ORDERS


def test_an_output_that_is_the_lobster_orderbook_is_refused(tmp_path: Path) -> None:
    source = write(tmp_path / "X_message_1.csv", LOBSTER_MESSAGES)
    book_rows = "2238300,5,2238200,5\n2238300,5,2238200,5\n"
    book = write(tmp_path / "X_orderbook_1.csv", book_rows)
    done = ringmatch(
        "replay", source, "--format", "lobster", "--orderbook", book, "--book-out", book
    )
    assert done.returncode == 2
    assert f"--book-out {book} is the input --orderbook {book}" in done.stderr
    assert book.read_text() == book_rows


def test_two_outputs_that_are_one_file_are_refused(tmp_path: Path) -> None:
    source = write(tmp_path / "orders.csv", ORDERS)
    out = tmp_path / "out.csv"
    done = ringmatch("replay", source, "--trades-out", out, "--book-out", out)
    assert done.returncode == 2
    assert f"--book-out {out} and --trades-out {out} are the same file" in done.stderr
    assert not out.exists()  # refused before anything was opened


def test_no_output_overwrites_a_file_of_a_journals_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    journal = JournalWriter(data, fsync=FsyncPolicy.never())
    journal.append_batch([(1, NewOrder(1, "alice", "XYZ", Side.SELL, OrderType.LIMIT, 100, 10))])
    journal.close()
    (segment,) = data.iterdir()
    held = segment.read_bytes()
    done = ringmatch("replay", data, "--format", "journal", "--trades-out", segment)
    assert done.returncode == 2
    assert f"--trades-out {segment} is a file of the data directory FILE {data}" in done.stderr
    assert segment.read_bytes() == held
    # A new file there is no harm: the replay runs.
    done = ringmatch("replay", data, "--format", "journal", "--book-out", data / "book.csv")
    assert done.returncode == 0, done.stderr
    assert (data / "book.csv").read_text().splitlines()[1:] == ["XYZ,SELL,100,1,alice,10"]


def test_send_refuses_a_reports_file_that_is_the_order_file(tmp_path: Path, no_server: int) -> None:
    config = write_config(tmp_path / "ringmatch.toml", tmp_path / "data", {})
    orders = write(tmp_path / "orders.csv", ORDERS)
    done = ringmatch(
        "send", orders, "--config", config, "--port", no_server, "--reports-out", orders
    )
    assert done.returncode == 2
    assert f"--reports-out {orders} is the order file {orders}" in done.stderr
    assert orders.read_text() == ORDERS


# -- 5. bench compare refuses results of different benchmarks ---------------------------


def result(benchmark: str, throughput: float) -> dict[str, Any]:
    return {
        "benchmark": benchmark,
        "machine": {"core": "compiled"},
        "throughput": {"things/s": throughput},
        "latency_us": {},
    }


def test_bench_compare_refuses_results_of_different_benchmarks(tmp_path: Path) -> None:
    core = write(tmp_path / "core.json", json.dumps(result("core", 100.0)))
    ring = write(tmp_path / "ring.json", json.dumps(result("ring", 100.0)))
    done = ringmatch("bench", "compare", core, ring)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"ringmatch bench compare: {core} is a 'core' result and {ring} a 'ring' one:"
        " only results of one benchmark compare\n"
    )


# -- 6. plurals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "status", "line"),
    [(100.0, 0, "0 regressions past 10%"), (50.0, 1, "1 regression past 10%")],
)
def test_bench_compare_counts_regressions_in_words(
    tmp_path: Path, new: float, status: int, line: str
) -> None:
    old_file = write(tmp_path / "old.json", json.dumps(result("core", 100.0)))
    new_file = write(tmp_path / "new.json", json.dumps(result("core", new)))
    done = ringmatch("bench", "compare", old_file, new_file)
    assert done.returncode == status
    assert done.stdout.endswith(f"\n{line}\n")


def test_a_one_message_lobster_replay_says_1_message(tmp_path: Path) -> None:
    source = write(tmp_path / "X_message_1.csv", LOBSTER_MESSAGES.splitlines()[0] + "\n")
    done = ringmatch("replay", source, "--format", "lobster")
    assert done.returncode == 0
    assert done.stderr.startswith(f"replay of {source} (lobster)\n  read        1 message, 0 bad\n")


def test_a_one_row_send_says_1_answer(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "ringmatch.toml",
        tmp_path / "data",
        {},
        symbols=("XYZ",),
        accounts={"alice": "a"},
    )
    orders = write(tmp_path / "one.csv", ORDERS.splitlines(keepends=True)[0] + ORDERS.split()[1])
    with ServeProcess(config) as server:
        done = ringmatch("send", orders, "--config", config, "--port", server.port, "--wait-ack")
        assert server.stop() == 0
    assert done.returncode == 0, done.stderr
    assert "us (1 answer)\n" in done.stderr


def test_a_journal_of_one_batch_converts_as_1_batch(tmp_path: Path) -> None:
    journal = JournalWriter(tmp_path / "data", fsync=FsyncPolicy.never())
    journal.append_batch([(1, NewOrder(1, "alice", "XYZ", Side.SELL, OrderType.LIMIT, 100, 10))])
    journal.close()
    done = ringmatch("journal", "convert", tmp_path / "data", tmp_path / "converted")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"1 batch, to seq 1, written to {tmp_path / 'converted'}\n"
