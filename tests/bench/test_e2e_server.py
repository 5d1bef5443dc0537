"""bench e2e's own server: free ports for all it binds, and its stderr when it fails.

another process holds the default ports (7001, 7002) ─▶ ours starts beside it
a configuration serve refuses                        ─▶ RuntimeError with serve's
                                                        stderr (the key it refused)
"""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterator

import pytest

from ringmatch.benchmarks import bench_e2e
from ringmatch.gateway.config import Server
from tests.process_tree import descendants, kill_tree, wait_gone


@contextlib.contextmanager
def _holding(*ports: int) -> Iterator[None]:
    """Each port bound and listening here, as another server would (one already taken by
    some other program on this machine is held all the same)."""
    held = []
    try:
        for port in ports:
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", port))
                sock.listen()
            except OSError as exc:
                sock.close()
                assert exc.errno == errno.EADDRINUSE, exc
                continue
            held.append(sock)
        yield
    finally:
        for sock in held:
            sock.close()


def test_the_bench_server_starts_while_the_default_ports_are_held() -> None:
    defaults = Server()
    with _holding(defaults.port, defaults.feed_port), bench_e2e.server(probe=False) as at:
        supervisor = bench_e2e.server_pid(at)
        tree = [supervisor, *descendants(supervisor)]
        try:
            assert at[1] not in (defaults.port, defaults.feed_port)
            with socket.create_connection(at, timeout=10):
                pass  # it accepts order entry on the port it chose
        except BaseException:
            kill_tree(supervisor)
            raise
    assert not wait_gone(tree, 30.0), "the bench server left processes behind"


def test_a_bench_server_that_fails_to_start_shows_its_stderr() -> None:
    with pytest.raises(RuntimeError) as failed, bench_e2e.server(fsync="always", probe=False):
        pytest.fail("serve started with fsync = 'always'")
    message = str(failed.value)
    assert "ringmatch serve exited with status 2 before it listened" in message, message
    assert "[journal] fsync: 'always' is not one of" in message, message
