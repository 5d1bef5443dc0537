"""One server per data directory and per port: a second one is refused and changes nothing.

    serve A (data dir D, ports P, F) ── running, with a journal and a snapshot
    serve B on D              ─▶ waits --lock-wait s, exit 1 naming D and A's core
    bare core on D            ─▶ the same
    replay --format journal D ─▶ replays, saying D is live, without the lock
    serve C on P (or F), dir E ─▶ exit 1 at once naming the port; E holds no journal

Afterwards every file of D and every shared-memory segment of A is byte for
byte what it was, and A still serves.
"""

from __future__ import annotations

import hashlib
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import msgspec
import pytest

from ringmatch.engine.core.pipeline import CoreConfig
from ringmatch.engine.journal.datadir_lock import DataDirLock
from ringmatch.engine.rings.shm import SHM_DIR, run_prefix
from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.client.order_entry import BlockingClient
from ringmatch.gateway.protocol.messages import ExecType, NewOrder
from ringmatch.supervisor import PortInUse, listening_socket
from tests.conftest import REPO
from tests.gateway.serve_process import ACCOUNTS, ServeProcess, write_config
from tests.process_tree import descendants, kill_tree, wait_gone

LOCK_WAIT = "1"


def _fingerprint(data: Path) -> dict[str, str]:
    """Every file of the data directory by content hash, and every segment of its run
    by inode: a segment's contents are the live server's own cursors and flags (its
    paced readers move theirs when they like), but a second server that removed or
    recreated one would change its inode."""
    # Regular files only: the rings' doorbells are FIFOs (a read would block), the
    # risk admin socket is a socket.
    files = {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data.rglob("*"))
        if stat.S_ISREG(p.lstat().st_mode)
    }
    segments = {str(p): f"inode {p.stat().st_ino}" for p in SHM_DIR.glob(f"{run_prefix(data)}.*")}
    return {**files, **segments}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=60
    )


def _accepted(port: int) -> int:
    with BlockingClient.connect("127.0.0.1", port, "alice", ACCOUNTS["alice"]) as client:
        answer = client.request(NewOrder(1, "AAPL", Side.BUY, OrderType.LIMIT, 100, 5))
        assert answer.exec_type is ExecType.ACCEPTED, answer  # type: ignore[union-attr]
        return answer.seq  # type: ignore[union-attr]


def test_a_second_server_or_core_on_a_live_data_dir_is_refused_and_changes_nothing(
    tmp_path: Path, topology: str
) -> None:
    data = tmp_path / "data"
    config = write_config(tmp_path / "a.toml", data, {"heartbeat_s": 5.0}, topology=topology)
    with (
        ServeProcess(config) as first,
        # Held open until the end: a session's end is an input the core journals.
        BlockingClient.connect("127.0.0.1", first.port, "alice", ACCOUNTS["alice"]) as alice,
    ):
        answer = alice.request(NewOrder(1, "AAPL", Side.BUY, OrderType.LIMIT, 100, 5))
        assert answer.exec_type is ExecType.ACCEPTED, answer  # type: ignore[union-attr]
        core_pid = first.pids[1]
        before = _fingerprint(data)
        assert any(name.endswith(".journal") for name in before)

        second = _run(
            "-m", "ringmatch.cli", "serve", "--config", str(config), "--lock-wait", LOCK_WAIT
        )
        assert second.returncode == 1, second.stderr
        last = second.stderr.strip().splitlines()[-1]
        assert f"data directory {data} is in use by pid {core_pid}" in last, last
        assert "waiting up to 1 s" in second.stderr  # it said whose lock it waited for

        bare = tmp_path / "core.json"
        bare.write_bytes(
            msgspec.json.encode(
                CoreConfig(data_dir=str(data), input_rings=[], event_ring="nosuch", lock_wait=1.0)
            )
        )
        core = _run("-m", "ringmatch.engine.core.pipeline", str(bare))
        assert core.returncode == 1, core.stderr
        assert f"data directory {data} is in use by pid {core_pid}" in core.stderr

        replay = _run("-m", "ringmatch.cli", "replay", str(data), "--format", "journal")
        assert replay.returncode == 0, replay.stderr
        assert f"{data} is live (locked by pid {core_pid}" in replay.stderr
        assert " inputs, 0 bad" in replay.stderr  # it replayed all the same

        assert _fingerprint(data) == before
        with BlockingClient.connect("127.0.0.1", first.port, "bob", ACCOUNTS["bob"]) as client:
            client.request(NewOrder(1, "AAPL", Side.SELL, OrderType.LIMIT, 100, 5))
        assert first.stop() == 0


def test_a_second_server_on_a_taken_port_fails_at_once_naming_it(tmp_path: Path) -> None:
    config = write_config(tmp_path / "a.toml", tmp_path / "a", {"heartbeat_s": 5.0})
    with ServeProcess(config) as first:
        for which, port in (("order-entry", first.port), ("market-data", first.feed_port)):
            other = tmp_path / which
            text = write_config(tmp_path / f"{which}.toml", other, {"heartbeat_s": 5.0})
            key = "port" if which == "order-entry" else "feed_port"
            text.write_text(text.read_text().replace(f"\n{key} = 0\n", f"\n{key} = {port}\n"))
            refused = _run("-m", "ringmatch.cli", "serve", "--config", str(text))
            assert refused.returncode == 1, refused.stderr
            last = refused.stderr.strip().splitlines()[-1]
            assert last == (
                f"ringmatch: {which} port 127.0.0.1:{port}: Address already in use: "
                "another server holds it; not starting"
            ), refused.stderr
            assert not list(other.glob("*.journal")) and not list(other.glob("snapshot-*"))
            assert not list(SHM_DIR.glob(f"{run_prefix(other)}.*"))
        _accepted(first.port)  # the first server never noticed
        assert first.stop() == 0


def test_a_stop_during_start_up_stops_what_has_started(tmp_path: Path, topology: str) -> None:
    config = write_config(
        tmp_path / "a.toml", tmp_path / "a", {"heartbeat_s": 5.0}, topology=topology
    )
    serve = subprocess.Popen(
        [sys.executable, "-m", "ringmatch.cli", "serve", "--config", str(config)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert serve.stderr is not None
        for line in serve.stderr:  # the core is up; risk, the feed, the worker are not yet
            if "core running" in line:
                break
        started = descendants(serve.pid)
        assert started, "the core should be running"
        serve.send_signal(signal.SIGTERM)
        rest = serve.stderr.read()
        assert serve.wait(30) == 0, rest
        assert "SIGTERM during start-up: stopping what has started" in rest
        assert not wait_gone(started, 10.0)
        assert not list(SHM_DIR.glob(f"{run_prefix(tmp_path / 'a')}.*"))
    finally:
        kill_tree(serve.pid)
        serve.wait()


def test_after_a_wait_for_the_lock_a_port_freed_a_moment_later_is_taken() -> None:
    # A stopping server's workers may hold its port a moment after its core let go of
    # the lock: the new server, having waited for that lock, tries the port again.
    held = listening_socket("127.0.0.1", 0, "order-entry")
    port = held.getsockname()[1]
    with pytest.raises(PortInUse, match=f"order-entry port 127.0.0.1:{port}: .*another server"):
        listening_socket("127.0.0.1", port, "order-entry")  # no wait: refused at once
    threading.Timer(0.3, held.close).start()
    taken = listening_socket("127.0.0.1", port, "order-entry", patience=10.0)
    assert taken.getsockname()[1] == port
    taken.close()


def test_the_lock_says_whether_it_was_waited_for(tmp_path: Path) -> None:
    first = DataDirLock.acquire(tmp_path)
    assert not first.waited
    threading.Timer(0.3, first.release).start()
    second = DataDirLock.acquire(tmp_path, wait=10.0)
    assert second.waited
    second.release()
