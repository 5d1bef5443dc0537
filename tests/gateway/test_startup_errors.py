"""Startup tells the truth: "listening" only once bound, one line for a part that fails.

    serve, port 0         ─▶ "listening on H:P (order entry), feed on H:F" with the ports
                             it got, the same ones as "order entry on" / "market data on"
    order-entry port held ─▶ exit 1, one line naming the port; nothing started
    feed port held        ─▶ the same, for the feed's port
    data_dir under a file ─▶ exit 1, one line naming the path
    the core fails        ─▶ (its journal's path is a directory) "the core could not start:
                             PATH: Is a directory"
    risk fails            ─▶ (its admin socket's path is a directory) the same line for
                             risk, after the core started: the core is stopped
    risk socket too long  ─▶ refused before any child starts, naming the path

Each failure: exit status 1, the line once, no traceback (nor ``Exception
ignored`` from a destructor), no process of the run left, no shared-memory
segment of the run left.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ringmatch.engine.rings.shm import SHM_DIR, run_prefix
from tests.conftest import REPO
from tests.gateway.serve_process import ServeProcess, write_config
from tests.process_tree import kill_all, kill_tree, wait_gone

TIMEOUT_S = 60


def _processes_of(data_dir: Path) -> list[int]:
    """Live processes whose command line names ``data_dir`` (every child of serve does:
    its configuration file is in it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(data_dir).encode() in cmdline:
                found.append(int(entry.name))
    return found


def _serve(config: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run ``serve --config`` to its end; every process of it killed whatever happens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ringmatch.cli", "serve", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    finally:
        kill_tree(proc.pid)
        proc.wait()
        left = _processes_of(data_dir)
        kill_all(left)
        wait_gone(left, 10.0)
    assert not left, f"serve exited leaving processes of its run: {left}\n{err}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def _assert_failed_with(ran: subprocess.CompletedProcess[str], line: str, data_dir: Path) -> None:
    assert ran.returncode == 1, ran.stderr
    said = ran.stderr.splitlines()
    assert said.count(line) == 1, ran.stderr
    assert sum("could not start" in s or "not starting" in s for s in said) == 1, ran.stderr
    for noise in ("Traceback", "Exception ignored", "SharedMemory"):
        assert noise not in ran.stderr, ran.stderr
    assert "listening" not in ran.stdout and "order entry on" not in ran.stdout, ran.stdout
    assert not list(SHM_DIR.glob(f"{run_prefix(data_dir)}.*"))


@pytest.fixture
def held() -> Iterator[socket.socket]:
    """A port of the test's own, bound and listening, as another program would hold it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def test_listening_is_said_once_bound_with_the_ports_it_got(tmp_path: Path) -> None:
    config = write_config(tmp_path / "a.toml", tmp_path / "data", {"heartbeat_s": 5.0})
    with ServeProcess(config) as serve:
        assert serve.wait_for_stderr("listening on")
        # (The test's name, and so its directory's, holds the word too.)
        said = [line for line in serve.stderr if "listening" in line.replace(str(tmp_path), "")]
        # The configuration's description says what was asked (port 0), not "listening".
        assert any("order-entry port 0 (any free one)" in line for line in serve.stderr)
        assert said == [
            f"ringmatch: listening on 127.0.0.1:{serve.port} (order entry), "
            f"feed on 127.0.0.1:{serve.feed_port}\n"
        ], serve.stderr
        assert serve.stop() == 0


@pytest.mark.parametrize(("key", "what"), [("port", "order-entry"), ("feed_port", "market-data")])
def test_a_port_in_use_is_one_line_and_nothing_starts(
    tmp_path: Path, held: socket.socket, key: str, what: str
) -> None:
    port = held.getsockname()[1]
    data = tmp_path / "data"
    config = write_config(tmp_path / "a.toml", data, {"heartbeat_s": 5.0})
    config.write_text(config.read_text().replace(f"\n{key} = 0\n", f"\n{key} = {port}\n"))
    ran = _serve(config, data)
    line = (
        f"ringmatch: {what} port 127.0.0.1:{port}: Address already in use: "
        "another server holds it; not starting"
    )
    _assert_failed_with(ran, line, data)
    assert ran.stderr.splitlines()[-1] == line
    assert not list(data.glob("*.journal"))


def test_a_data_dir_that_cannot_be_created_is_named(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory\n")
    data = tmp_path / "a-file" / "data"
    config = write_config(tmp_path / "a.toml", data, {"heartbeat_s": 5.0})
    ran = _serve(config, data)
    line = (
        f"ringmatch: the data directory could not be created or locked: {data}: Not a directory; "
        "not starting"
    )
    _assert_failed_with(ran, line, data)
    assert ran.stderr.splitlines()[-1] == line


def test_a_core_that_cannot_open_its_journal_is_one_line(tmp_path: Path, topology: str) -> None:
    data = tmp_path / "data"
    journal = data / f"{1:020d}.journal"  # the first journal file: a directory is in its way
    journal.mkdir(parents=True)
    config = write_config(tmp_path / "a.toml", data, {"heartbeat_s": 5.0}, topology=topology)
    ran = _serve(config, data)
    _assert_failed_with(
        ran, f"ringmatch: the core could not start: {journal}: Is a directory", data
    )


def test_a_child_failing_after_the_core_started_stops_the_core(
    tmp_path: Path, topology: str
) -> None:
    data = tmp_path / "data"
    (data / "risk.sock" / "in-the-way").mkdir(parents=True)  # risk cannot bind its socket
    config = write_config(tmp_path / "a.toml", data, {"heartbeat_s": 5.0}, topology=topology)
    ran = _serve(config, data)
    sock = (data / "risk.sock").resolve()
    _assert_failed_with(ran, f"ringmatch: risk could not start: {sock}: Is a directory", data)
    assert "core running" in ran.stderr  # the core had started: it was stopped, and is gone


def test_a_risk_socket_path_too_long_is_refused_before_anything_starts(tmp_path: Path) -> None:
    data = tmp_path / ("d" * max(1, 110 - len(str(tmp_path))))
    config = write_config(tmp_path / "a.toml", data, {"heartbeat_s": 5.0})
    ran = _serve(config, data)
    line = (
        f"ringmatch: risk could not start: its admin socket {data.resolve() / 'risk.sock'} is "
        "longer than a Unix socket's path may be (107 bytes): use a shorter data_dir"
    )
    _assert_failed_with(ran, line, data)
    assert "core running" not in ran.stderr
