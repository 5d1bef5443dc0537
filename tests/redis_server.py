"""A real, throwaway redis-server for tests: free port, no persistence, killed after.

Tests that need Redis get it from the ``redis_url`` fixture (tests/conftest.py);
tests that kill and restart Redis start their own ``RedisServer``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

READY_TIMEOUT = 10.0  # seconds for a fresh server to answer PING on a slow CI box


def find_redis_server() -> str | None:
    """$REDIS_SERVER, else redis-server on PATH or in the usual sbin/bin dirs."""
    explicit = os.environ.get("REDIS_SERVER")
    if explicit:
        return explicit
    found = shutil.which("redis-server")
    if found:
        return found
    for candidate in (
        "/usr/bin/redis-server",
        "/usr/sbin/redis-server",
        "/usr/local/bin/redis-server",
    ):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """One redis-server process on 127.0.0.1; ``stop()`` then ``start()`` reuses the port."""

    def __init__(self, binary: str, port: int | None = None) -> None:
        self.binary = binary
        self.port = port if port is not None else free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="ringmatch-redis-"))
        self._log = self._dir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self._proc is not None:
            raise RuntimeError(f"redis-server on port {self.port} is already running")
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                [
                    self.binary,
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self._dir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Poll PING until it answers: a readiness poll with a deadline, not a sleep."""
        assert self._proc is not None
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2, socket_timeout=0.2)
        deadline = time.monotonic() + READY_TIMEOUT
        try:
            while True:
                if self._proc.poll() is not None:
                    self._proc = None
                    raise RuntimeError(
                        f"{self.binary} on port {self.port} exited at start-up:\n{self.log()}"
                    )
                try:
                    if client.ping():
                        return
                except redis.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"{self.binary} on port {self.port} did not answer PING within "
                        f"{READY_TIMEOUT}s:\n{self.log()}"
                    )
                time.sleep(0.01)  # poll interval of the readiness poll
        finally:
            client.close()

    def stop(self) -> None:
        """Kill it (SIGKILL: like a crash, and quick); the data goes with it."""
        if self._proc is None:
            return
        self._proc.kill()
        self._proc.wait(timeout=10)
        self._proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
