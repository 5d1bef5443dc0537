"""A restart is invisible to the clients' bookkeeping: real processes, real sockets.

    ringmatch serve ──▶ send --wait-ack PART1 ──▶ SIGTERM
    ringmatch serve (same config, same data dir) ──▶ send --wait-ack PART2 ──▶ SIGTERM

PART2 cancels and replaces orders accepted before the restart and trades
against them. Every row must be answered (a cancel's answer is matched by its
client order id, so a report that lost it leaves ``send`` waiting), every
report of an order must carry that order's client order id and its cumulative
quantity across the restart, every report must be the one a gateway worker
that had never restarted would have made, and the final trades and book must
be ``ringmatch replay`` of PART1 + PART2.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from ringmatch.benchmarks.workload import SYMBOLS
from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.core.journal_run import start_run
from ringmatch.engine.replay.order_csv import HEADER, command_to_row, parse_row
from ringmatch.engine.schema.commands import Command, Replace
from ringmatch.gateway.protocol import wire as wire_layout
from ringmatch.gateway.protocol.message_codec import Codec
from ringmatch.gateway.protocol.messages import SERVER_TYPES
from ringmatch.gateway.protocol.symbols import SymbolTable
from ringmatch.gateway.wire import wire_reference
from ringmatch.stages import resolve
from tests.gateway.serve_process import ServeProcess, write_config
from tests.gateway.test_send import ACCOUNTS, order_file, replay_outputs, ringmatch

FILLS = ("FILLED", "PARTIALLY_FILLED")


def write_rows(path: Path, rows: list[Command]) -> Path:
    with path.open("w") as out:
        out.write(HEADER + "\n")
        csv.writer(out, lineterminator="\n").writerows(command_to_row(c) for c in rows)
    return path


def read_rows(path: Path) -> list[Command]:
    with path.open() as f:
        return [parse_row(row) for row in list(csv.reader(f))[1:]]


def split_file(tmp: Path) -> tuple[Path, Path, Path, set[int], set[int]]:
    """PART1, PART2 (which starts by replacing some of PART1's resting orders) and
    both as one file; the client ids of the orders resting at the split, and of
    those PART2 replaces."""
    rows = read_rows(order_file(tmp / "generated.csv", 800, seed=23, accounts=tuple(ACCOUNTS)))
    half = len(rows) // 2
    scratch = MatchingEngine()
    for command in rows[:half]:
        scratch.process(command)
    resting = sorted(
        (o for symbol in SYMBOLS for o in scratch.l3(symbol)), key=lambda o: o.order_id
    )
    assert len(resting) > 20
    replaces: list[Command] = [
        Replace(o.order_id, o.account, o.price + (1 if i % 2 else 0), o.qty + 2)
        for i, o in enumerate(resting[::4])
    ]
    part1 = write_rows(tmp / "part1.csv", rows[:half])
    part2 = write_rows(tmp / "part2.csv", replaces + rows[half:])
    whole = write_rows(tmp / "whole.csv", rows[:half] + replaces + rows[half:])
    return part1, part2, whole, {o.order_id for o in resting}, {r.order_id for r in replaces}


def send(server: ServeProcess, config: Path, orders: Path, reports: Path) -> None:
    done = ringmatch(
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
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unanswered" not in done.stderr, done.stderr


def reports_of(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in lines if r["type"] in ("ExecutionReport", "MassCancelDone")]


def reference_reports(data: Path) -> Counter[str]:
    """Every report a worker that had followed the core from its first input would make:
    the journal through the kernel the core ran (its events again, with their seqs), each
    event made into its account's report by the worker's own conversion (its reference)."""
    run = start_run(data, snapshot=False, resolve=resolve)  # the kernel the journal calls for
    codec = Codec(list(SERVER_TYPES.values()), SymbolTable(SYMBOLS))
    made: Counter[str] = Counter()
    for _, events in run.batches():
        names = run.directory
        every_account = np.arange(len(names.accounts) + 1, dtype=np.int32)  # its own slot
        wire_symbol = np.zeros(len(names.symbols) + 1, np.uint32)
        for position, symbol in enumerate(SYMBOLS, 1):
            wire_symbol[names.symbols.get(symbol)] = position
        chunks, _ = wire_reference.events_to_slot_bytes(events, every_account, wire_symbol)
        for account_id, wire in chunks:
            at = 0
            while at < len(wire):
                length, kind, version = wire_layout.HEADER.unpack_from(wire, at)
                report = codec.decode(wire, at, length, kind, version)
                at += length
                record = {"account": names.accounts.name(account_id), "type": type(report).__name__}
                record.update(msgspec.to_builtins(msgspec.structs.asdict(report)))
                made[json.dumps(record, sort_keys=True)] += 1
    return made


def test_reports_carry_client_ids_and_quantities_across_a_restart(tmp_path: Path) -> None:
    part1, part2, whole, resting, replaced = split_file(tmp_path)
    data = tmp_path / "data"
    config = write_config(
        tmp_path / "ringmatch.toml", data, {"heartbeat_s": 1.0}, SYMBOLS, ACCOUNTS
    )
    config.write_text(config.read_text().replace('fsync = "never"', 'fsync = "batch"'))
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    with ServeProcess(config, "--workers", "2") as server:
        send(server, config, part1, first)
        assert server.stop() == 0, "".join(server.stderr)
    with ServeProcess(config, "--workers", "2") as server:
        send(server, config, part2, second)
        assert server.stop() == 0, "".join(server.stderr)

    # The same trades and book as the file replayed in one go.
    direct = replay_outputs(tmp_path, "direct", str(whole))
    assert replay_outputs(tmp_path, "journal", str(data), "--format", "journal") == direct
    trade_ids = [int(row.split(",")[0]) for row in direct[0].splitlines()[1:]]

    before, after = reports_of(first), reports_of(second)
    # Engine order id -> (account, client order id), from the ACCEPTED that answered each NEW.
    names = {
        r["order_id"]: (r["account"], r["client_order_id"])
        for r in before + after
        if r["exec_type"] == "ACCEPTED"
    }
    accepted_before = {r["order_id"] for r in before if r["exec_type"] == "ACCEPTED"}
    assert {names[oid][1] for oid in accepted_before} >= resting
    cum: Counter[int] = Counter()
    for r in before + after:
        oid = r.get("order_id")
        if not oid:
            continue  # a MassCancelDone, or a request rejected before it named an order
        assert oid in names, r  # no report of an order never accepted
        assert (r["account"], r["client_order_id"]) == names[oid], r
        if r["exec_type"] in FILLS:
            cum[oid] += r["last_qty"]
        if r["exec_type"] != "REJECTED":  # (a reject of a dead order says cum 0)
            assert r["cum_qty"] == cum[oid], r
    # PART2 really did reach back across the restart: cancels, replaces and fills of
    # orders accepted before it, all answered under their client ids (checked above).
    reached = Counter(r["exec_type"] for r in after if r.get("order_id") in accepted_before)
    assert reached["CANCELLED"] > 5 and reached["FILLED"] + reached["PARTIALLY_FILLED"] > 5
    assert {r["client_order_id"] for r in after if r["exec_type"] == "REPLACED"} >= replaced
    # Each report is the one a worker that never restarted would have made (seq, leaves
    # and all), and every trade reached both sides.
    reference = reference_reports(data)
    got = Counter(json.dumps(r, sort_keys=True) for r in before + after)
    assert got - reference == Counter()
    fills = Counter(r["trade_id"] for r in before + after if r.get("trade_id"))
    assert fills == {trade_id: 2 for trade_id in trade_ids}


def test_the_in_process_server_still_answers_every_row(tmp_path: Path) -> None:
    # One process, the engine inside the worker (LocalCore): no journal, no rebuild.
    orders = order_file(tmp_path / "orders.csv", 300, seed=29, accounts=tuple(ACCOUNTS))
    data = tmp_path / "data"
    config = write_config(
        tmp_path / "ringmatch.toml", data, {"heartbeat_s": 1.0}, SYMBOLS, ACCOUNTS
    )
    reports = tmp_path / "reports.jsonl"
    with ServeProcess(config, "--in-process") as server:
        send(server, config, orders, reports)
        assert server.stop() == 0, "".join(server.stderr)
    trades, _ = replay_outputs(tmp_path, "direct", str(orders))
    trade_ids = [int(row.split(",")[0]) for row in trades.splitlines()[1:]]
    got = reports_of(reports)
    assert Counter(r["trade_id"] for r in got if r.get("trade_id")) == dict.fromkeys(trade_ids, 2)
    assert all(r["client_order_id"] for r in got if r.get("order_id"))
