"""``ringmatch serve`` as a real process on a free port, for the gateway's tests."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from tests.conftest import REPO
from tests.process_tree import alive, descendants, kill_tree, wait_gone

ACCOUNTS = {"alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret"}
SYMBOLS = ("AAPL", "MSFT")
START_TIMEOUT = 30.0


def write_config(
    path: Path,
    data_dir: Path,
    session: dict[str, object],
    symbols: tuple[str, ...] = SYMBOLS,
    accounts: dict[str, str] = ACCOUNTS,
    extra: str = "",
    admins: tuple[str, ...] = (),
    topology: str | None = None,
) -> Path:
    """A serve configuration on free ports; ``extra``: more TOML (a [risk] table...);
    ``topology``: ``[server] topology`` (None: the default for the workers)."""
    lines = [
        "[server]",
        'host = "127.0.0.1"',
        "port = 0",
        "feed_port = 0",
        f'data_dir = "{data_dir}"',
        *([f'topology = "{topology}"'] if topology else []),
        "[journal]",
        'fsync = "never"',
        "[session]",
        *(f"{key} = {value!r}" for key, value in session.items()),
    ]
    for name, token in accounts.items():
        lines += ["[[accounts]]", f'name = "{name}"', f'token = "{token}"']
        if name in admins:
            lines.append("admin = true")
    for symbol in symbols:
        lines += ["[[symbols]]", f'name = "{symbol}"']
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


class ServeProcess:
    """Start ``serve`` and learn its port; ``stop()`` sends SIGTERM and checks the exit.

    ``pids`` is the whole tree once it is up: the supervisor, then its children.
    On a failed start, and on leaving the ``with`` block while anything of it
    still runs, the whole tree is killed, never just the supervisor.
    """

    def __init__(self, config: Path, *args: str) -> None:
        self.config = config
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ringmatch.cli", "serve", "--config", str(config), *args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        self._stderr_grew = threading.Condition()
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(
            target=self._read, args=(self.proc.stdout, self.lines), daemon=True
        ).start()
        threading.Thread(target=self._keep, args=(self.proc.stderr,), daemon=True).start()
        self.feed_port = 0
        self.web_port = 0  # with a web console (serve --web-port, [web] port)
        self.pids: list[int] = [self.proc.pid]
        try:
            self.port = self._wait_port()
        except BaseException:
            self.kill_tree()
            raise
        self.pids = [self.proc.pid, *descendants(self.proc.pid)]

    def kill_tree(self) -> None:
        """SIGKILL the supervisor and every process it started, and reap them."""
        tree = [*self.pids, *descendants(self.proc.pid)]
        stuck = kill_tree(self.proc.pid) + wait_gone(tree, 10.0)
        self.proc.wait(10)
        assert not stuck, f"processes of serve would not die: {stuck}"

    @staticmethod
    def _read(stream: IO[str], into: queue.Queue[str]) -> None:
        for line in stream:
            into.put(line)
        into.put("")

    def _keep(self, stream: IO[str]) -> None:
        for line in stream:
            with self._stderr_grew:
                self.stderr.append(line)
                self._stderr_grew.notify_all()

    def wait_for_stderr(self, text: str, timeout: float = 10.0) -> bool:
        """Whether a line holding ``text`` reaches stderr within ``timeout`` s."""
        with self._stderr_grew:
            return self._stderr_grew.wait_for(
                lambda: any(text in line for line in self.stderr), timeout
            )

    def _wait_port(self) -> int:
        while True:
            try:
                line = self.lines.get(timeout=START_TIMEOUT)
            except queue.Empty:
                raise AssertionError(
                    "serve did not start in time: " + "".join(self.stderr)
                ) from None
            if not line:
                self.proc.wait()
                raise AssertionError("serve exited at start: " + "".join(self.stderr))
            if "web console on" in line:
                self.web_port = int(line.rsplit(":", 1)[1])
            if "market data on" in line:
                self.feed_port = int(line.rsplit(":", 1)[1])
            if "order entry on" in line:
                return int(line.rsplit(":", 1)[1])

    def stop(self) -> int:
        """SIGTERM the supervisor; its status once it and all its children are gone."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(30)
        finally:
            left = wait_gone(self.pids, 10.0)
            if left:
                self.kill_tree()
        assert not left, f"serve stopped but left processes running: {left}"
        return status

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.proc.poll() is None:
                self.stop()
        finally:
            if any(map(alive, self.pids)):
                self.kill_tree()
