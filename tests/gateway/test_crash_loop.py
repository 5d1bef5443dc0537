"""Kill the server at random points with SIGKILL; nothing acknowledged is lost, nothing leaks.

    test ─▶ ringmatch send --wait-ack ─TCP─▶ serve (supervisor, core, risk, feed, worker)
      │          └─ every report, JSON lines on its stdout ─▶ test counts them
      └─ after k reports: kill -9 the victim(s) ─▶ start serve again at once ─▶ ...

One order file (the standard workload with replaces, over three accounts) is
sent across many server lives. In each life ``send --wait-ack`` sends the rest
of the file; after a seeded random number of reports the test SIGKILLs the
supervisor (20 times by default), the core alone, a worker alone, or every
process of the server in one ``kill`` (5 times each), then checks:

* no process of the killed server is left (each pid it ever had, from /proc,
  is waited for through a pidfd: a child that outlived its supervisor fails);
* every order whose ACCEPTED report the client saw is in the journal, and the
  journal's client commands are exactly the file's first rows, in order;
* the shared memory of the killed run is gone once the next run is up (and
  at once, when the supervisor survived to stop the server itself).

The next ``serve`` is started right after the kill, while the old core may
still be draining, so it also goes through the data directory's lock wait. It
resumes from the first row the journal does not hold (the one command in
flight at the kill may or may not have reached the journal: ``--wait-ack``
sends one at a time). At the end the rest is sent to a last server, which
stops cleanly, and ``replay --format journal`` of the data directory must give
exactly the trades and book of ``replay`` of the whole file.

RINGMATCH_CRASH_KILLS sets the number of supervisor kills (the others get a
quarter of it each); RINGMATCH_CRASH_SEED the kill points.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ringmatch.benchmarks.workload import SYMBOLS as WORKLOAD_SYMBOLS
from ringmatch.engine.journal.log import JournalReader
from ringmatch.engine.replay.order_csv import HEADER
from ringmatch.engine.rings.shm import SHM_DIR, run_prefix
from ringmatch.engine.schema.commands import Cancel, NewOrder, Replace
from tests.conftest import REPO
from tests.gateway.serve_process import ServeProcess, write_config
from tests.gateway.test_send import order_file, replay_outputs
from tests.process_tree import alive, wait_gone

ACCOUNTS = {"alice": "a-token", "bob": "b-token", "carol": "c-token"}
SYMBOLS = WORKLOAD_SYMBOLS
KILLS = int(os.environ.get("RINGMATCH_CRASH_KILLS", "20"))
SEED = int(os.environ.get("RINGMATCH_CRASH_SEED", "20261201"))
MAX_REPORTS_BEFORE_KILL = 40
SEND_TIMEOUT = 60.0


def _roles(server: ServeProcess) -> dict[str, int]:
    """Role -> pid, from serve's ``supervisor pid N; children: the core N, ...`` line."""
    assert server.wait_for_stderr("children:"), "".join(server.stderr)
    line = next(text for text in server.stderr if "children:" in text)
    roles = {"supervisor": int(line.split("supervisor pid ")[1].split(";")[0])}
    for part in line.split("children: ")[1].strip().split(", "):
        role, _, pid = part.rpartition(" ")
        roles[role] = int(pid)
    return roles


def _journal_commands(data: Path) -> list[tuple[str, str, int]]:
    """The client commands in the journal, in seq order: (action, account, client id)."""
    kinds = {NewOrder: "NEW", Cancel: "CANCEL", Replace: "REPLACE"}
    reader = JournalReader(data)
    return [
        (kinds[type(inp)], inp.account, inp.client_order_id)  # type: ignore[union-attr]
        for _, inp in reader
        if type(inp) in kinds and inp.client_order_id  # type: ignore[union-attr]
    ]


def _row_key(row: str) -> tuple[str, str, int]:
    fields = row.split(",")
    return fields[1], fields[3], int(fields[2])


def _send(
    server: ServeProcess,
    config: Path,
    rows: list[str],
    path: Path,
    kill_after: int | None,
    victims: list[int],
) -> list[dict[str, object]]:
    """Send ``rows`` with --wait-ack; SIGKILL ``victims`` after ``kill_after`` reports.

    Returns the reports the client received (all of them, up to its end).
    """
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    send = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ringmatch.cli",
            "send",
            str(path),
            "--port",
            str(server.port),
            "--config",
            str(config),
            "--wait-ack",
            "--reports-out",
            "/dev/stdout",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(SEND_TIMEOUT, send.kill)
    watchdog.start()
    reports: list[dict[str, object]] = []
    try:
        assert send.stdout is not None
        for line in send.stdout:
            reports.append(json.loads(line))
            if kill_after is not None and len(reports) == kill_after:
                subprocess.run(["kill", "-9", *map(str, victims)], check=True)
        send.wait(SEND_TIMEOUT)
    finally:
        watchdog.cancel()
        if send.poll() is None:
            send.kill()
            send.wait()
    assert send.returncode is not None and send.returncode >= 0, "send hung: killed by the test"
    if kill_after is None or len(reports) < kill_after:
        assert send.returncode == 0, send.stderr.read() if send.stderr else ""
    return reports


def _crash_loop(tmp_path: Path, victims_of: list[str], seed: int, topology: str) -> None:
    rng = random.Random(seed)
    where = f"(seed {seed}, RINGMATCH_CRASH_SEED to repeat)"
    # Long enough for every life to reach its kill point (at most 40 reports each), and
    # for the rows a life sends after it (a killed feed stops the server while orders
    # still flow: the rows sent until it does are spent too).
    rows_needed = 100 * len(victims_of) + 200
    orders = order_file(
        tmp_path / "orders.csv", rows_needed, seed=seed % 1000, accounts=tuple(ACCOUNTS)
    )
    rows = orders.read_text().splitlines()[1:]
    data = tmp_path / "data"
    config = write_config(
        tmp_path / "ringmatch.toml",
        data,
        {"heartbeat_s": 1.0},
        SYMBOLS,
        ACCOUNTS,
        topology=topology,
    )
    # fsync batch, overlapped: the sync on its thread, the acks held for it (the
    # inline sync, the default, is the restart tests').
    config.write_text(
        config.read_text().replace('fsync = "never"', 'fsync = "batch"\noverlap = true')
    )
    server = ServeProcess(config)
    try:
        for life, victim in enumerate(victims_of):
            done = len(_journal_commands(data))
            roles = _roles(server)
            victims = list(roles.values()) if victim == "all" else [roles[victim]]
            kill_after = rng.randint(1, MAX_REPORTS_BEFORE_KILL)
            reports = _send(
                server, config, rows[done:], tmp_path / f"part{life}.csv", kill_after, victims
            )
            assert len(reports) >= kill_after, f"life {life}: the file ran out before the kill"
            status = server.proc.wait(30)
            # A killed supervisor dies of the signal; one that saw a child die stops all, 1.
            expected = -signal.SIGKILL if victim in ("supervisor", "all") else 1
            assert status == expected, f"life {life}: serve exited {status} {where}"
            if victim not in ("supervisor", "all"):
                # The supervisor saw its child die: it names it, and its stop leaves nothing.
                said = "".join(server.stderr)
                assert f"(pid {roles[victim]}) was killed by SIGKILL" in said, said
                assert not wait_gone(list(roles.values()), 10.0), f"life {life}: {where}"
                assert not list(SHM_DIR.glob(f"{run_prefix(data)}.*")), f"life {life}: {where}"
            old_pids, old_segments = (
                list(roles.values()),
                set(SHM_DIR.glob(f"{run_prefix(data)}.*")),
            )
            # Straight back up: the new serve waits for the lock while the old core drains.
            server = ServeProcess(config)
            left = wait_gone(old_pids, 10.0)
            assert not left, f"life {life}: processes outlived the kill of {victim}: {left} {where}"
            assert not (old_segments & set(SHM_DIR.glob(f"{run_prefix(data)}.*"))), (
                f"life {life}: the killed run's shared memory was not removed {where}"
            )
            journalled = _journal_commands(data)
            assert journalled == [_row_key(row) for row in rows[: len(journalled)]], where
            accepted = {
                (r["account"], r["client_order_id"])
                for r in reports
                if r["type"] == "ExecutionReport" and r["exec_type"] == "ACCEPTED"
            }
            in_journal = {(account, cid) for action, account, cid in journalled if action == "NEW"}
            assert accepted <= in_journal, (
                f"life {life}: acknowledged but not journalled: {accepted - in_journal} {where}"
            )
        rest = rows[len(_journal_commands(data)) :]
        if rest:
            _send(server, config, rest, tmp_path / "rest.csv", None, [])
        assert server.stop() == 0, "".join(server.stderr)
    finally:
        if any(map(alive, server.pids)):
            server.kill_tree()
    assert _journal_commands(data) == [_row_key(row) for row in rows]
    direct = replay_outputs(tmp_path, "direct", str(orders))
    journal = replay_outputs(tmp_path, "journal", str(data), "--format", "journal")
    assert direct[0].count("\n") > 20  # enough trades to mean something
    assert journal == direct, where


def test_kill_9_of_the_supervisor_loses_nothing_and_leaves_nothing(
    tmp_path: Path, topology: str
) -> None:
    _crash_loop(tmp_path, ["supervisor"] * KILLS, SEED, topology)


# Compact: the worker is the core's process, so the third victim is the feed instead.
CHILD_VICTIMS = {"compact": "the feed", "processes": "worker 0"}


def test_kill_9_of_the_core_a_worker_or_everything_at_once(tmp_path: Path, topology: str) -> None:
    each = max(1, KILLS // 4)
    _crash_loop(tmp_path, ["the core", CHILD_VICTIMS[topology], "all"] * each, SEED + 1, topology)
