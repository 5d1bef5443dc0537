"""``ringmatch send`` to a running ``ringmatch serve``: the same trades and book as a replay.

An order file sent with ``--wait-ack`` reaches the core in file order, so the
core must end exactly where ``ringmatch replay`` of the file ends, and so must
``ringmatch replay --format journal`` of the server's data directory.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import sys
from pathlib import Path

from ringmatch.benchmarks.workload import SYMBOLS, standard_workload
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.replay.order_csv import HEADER, HEADER_V1, command_to_row, parse_row
from ringmatch.engine.schema.commands import Command, NewOrder, Replace
from ringmatch.engine.schema.enums import OrderType, Side, StpMode, TimeInForce
from ringmatch.gateway.client.send import to_wire
from ringmatch.gateway.protocol import messages as wire
from ringmatch.gateway.protocol.message_codec import Codec
from ringmatch.gateway.protocol.messages import CLIENT_TYPES
from ringmatch.gateway.protocol.symbols import SymbolTable
from tests.conftest import REPO
from tests.gateway.serve_process import ServeProcess, write_config

ACCOUNTS = {"alice": "a-token", "bob": "b-token", "carol": "c-token", "dave": "d-token"}


def order_file(path: Path, n: int, seed: int, accounts: tuple[str, ...]) -> Path:
    """The standard workload over ``accounts``, with replaces of live orders mixed in."""
    rng = random.Random(seed)
    scratch = MatchingEngine()
    rows: list[Command] = []
    for command in standard_workload(n, seed):
        index = int(command.account.removeprefix("acct"))
        command = command.__class__(
            **{
                **{f: getattr(command, f) for f in command.__struct_fields__},
                "account": accounts[index % len(accounts)],
            }
        )
        rows.append(command)
        scratch.process(command)
        if isinstance(command, NewOrder) and rng.random() < 0.15:
            resting = scratch.order(command.order_id)
            if resting is not None:
                replace = Replace(
                    resting.order_id,
                    resting.account,
                    resting.price + rng.choice((-1, 1)),
                    max(1, resting.qty + rng.randint(-5, 5)),
                )
                rows.append(replace)
                scratch.process(replace)
    with path.open("w") as out:
        out.write(HEADER + "\n")
        csv.writer(out, lineterminator="\n").writerows(command_to_row(c) for c in rows)
    return path


def ringmatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def replay_outputs(tmp: Path, name: str, *args: str) -> tuple[str, str]:
    trades, book = tmp / f"{name}-trades.csv", tmp / f"{name}-book.csv"
    done = ringmatch("replay", *args, "--trades-out", str(trades), "--book-out", str(book))
    assert done.returncode == 0, done.stderr
    return trades.read_text(), book.read_text()


def test_send_wait_ack_gives_the_replay_trades_and_book(tmp_path: Path) -> None:
    orders = order_file(tmp_path / "orders.csv", 600, seed=11, accounts=tuple(ACCOUNTS))
    data = tmp_path / "data"
    config = write_config(
        tmp_path / "ringmatch.toml", data, {"heartbeat_s": 1.0}, SYMBOLS, ACCOUNTS
    )
    reports = tmp_path / "reports.jsonl"
    with ServeProcess(config, "--workers", "2") as server:
        sent = ringmatch(
            "send",
            str(orders),
            "--port",
            str(server.port),
            "--config",
            str(config),
            "--wait-ack",
            "--reports-out",
            str(reports),
        )
        assert sent.returncode == 0, sent.stderr
        assert server.stop() == 0, "".join(server.stderr)
    direct = replay_outputs(tmp_path, "direct", str(orders))
    journal = replay_outputs(tmp_path, "journal", str(data), "--format", "journal")
    assert direct[0].count("\n") > 20  # enough trades to mean something
    assert journal == direct  # trades, then the final book
    # Every trade reached both sides, as a fill report each.
    fills: dict[int, int] = {}
    for line in reports.read_text().splitlines():
        report = json.loads(line)
        if report["type"] == "ExecutionReport" and report["trade_id"]:
            fills[report["trade_id"]] = fills.get(report["trade_id"], 0) + 1
    trade_ids = [int(row.split(",")[0]) for row in direct[0].splitlines()[1:]]
    assert fills == {trade_id: 2 for trade_id in trade_ids}
    assert "sent        " in sent.stderr and "round trip  p50" in sent.stderr


def test_send_pipelined_one_session_also_matches_the_replay(tmp_path: Path, topology: str) -> None:
    # One account: one session, so without --wait-ack the rows still reach the core in order.
    orders = order_file(tmp_path / "orders.csv", 1500, seed=5, accounts=("alice",))
    data = tmp_path / "data"
    config = write_config(
        tmp_path / "ringmatch.toml", data, {}, SYMBOLS, ACCOUNTS, topology=topology
    )
    with ServeProcess(config) as server:
        sent = ringmatch("send", str(orders), "--port", str(server.port), "--config", str(config))
        assert sent.returncode == 0, sent.stderr
        assert server.stop() == 0
    assert replay_outputs(tmp_path, "journal", str(data), "--format", "journal") == (
        replay_outputs(tmp_path, "direct", str(orders))
    )


def test_send_names_what_is_wrong(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(HEADER_V1 + "\n1,NEW,1,zoe,AAPL,BUY,LIMIT,,10,1,,\n")
    config = write_config(tmp_path / "ringmatch.toml", tmp_path / "data", {}, SYMBOLS, ACCOUNTS)
    done = ringmatch("send", str(orders), "--port", "1", "--config", str(config))
    assert done.returncode == 2
    assert "account 'zoe' has no token in the configuration" in done.stderr
    orders.write_text(HEADER_V1 + "\n1,NEW,x,alice,AAPL,BUY,LIMIT,,10,1,,\n")
    done = ringmatch("send", str(orders), "--port", "1", "--config", str(config))
    assert done.returncode == 2 and f"{orders}:2: order_id" in done.stderr


def test_send_refuses_only_the_rows_that_are_not_a_clients(tmp_path: Path) -> None:
    # Time and phases are not a session's: the row is named before anything is sent.
    config = write_config(tmp_path / "ringmatch.toml", tmp_path / "data", {}, SYMBOLS, ACCOUNTS)
    orders = tmp_path / "orders.csv"
    for row, what in [
        ("1,PHASE,,,AAPL,,,,,,,,,,,HALTED", "a PHASE row is not a client's"),
        ("1,CLOCK,,,,,,,,,,,,,,", "a CLOCK row is not a client's"),
    ]:
        orders.write_text(f"{HEADER}\n{row}\n")
        done = ringmatch("send", str(orders), "--port", "1", "--config", str(config))
        assert done.returncode == 2, done.stderr
        assert f"{orders}:2: " in done.stderr and what in done.stderr, done.stderr


def test_venue_rows_become_version_3_requests() -> None:
    # Protocol v3 carries the trigger, the display quantity, the expiry and a kept price.
    rows = [
        "1,NEW,1,alice,AAPL,BUY,STOP,,,1,,,11,,,",
        "1,NEW,2,alice,AAPL,BUY,LIMIT,GTD,10,5,,,,2,9,",
        "1,REPLACE,1,alice,,,,,,3,,,12,,,",
    ]
    got = [to_wire(parse_row(next(csv.reader([row])))) for row in rows]
    assert got == [
        wire.NewOrder(1, "AAPL", Side.BUY, OrderType.STOP, None, 1, None, False, StpMode.NONE, 11),
        wire.NewOrder(
            2,
            "AAPL",
            Side.BUY,
            OrderType.LIMIT,
            10,
            5,
            TimeInForce.GTD,
            False,
            StpMode.NONE,
            None,
            2,
            9,
        ),
        wire.Replace(1, None, 3, 12),
    ]
    assert all(v3_codec().encode(message) for message in got)


def v3_codec() -> Codec:
    codec = Codec(list(CLIENT_TYPES.values()), SymbolTable(["AAPL"]))
    codec.use_version(3)
    return codec
