"""``[cpus]``: every role's process runs on the CPUs the configuration names, read back
from the kernel (sched_getaffinity of the real processes), in both topologies."""

from __future__ import annotations

import os
from pathlib import Path

from ringmatch.gateway.client.order_entry import BlockingClient
from tests.gateway.serve_process import ACCOUNTS, ServeProcess, write_config
from tests.process_tree import descendants


def _role(pid: int) -> str | None:
    """The child's role, from its command line (``-m ringmatch.child ROLE spec.json``)."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return None
    if b"ringmatch.child" in args:
        return args[args.index(b"ringmatch.child") + 1].decode()
    return None


def test_each_role_is_pinned_where_the_configuration_says(tmp_path: Path, topology: str) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    first, last = allowed[0], allowed[-1]  # the same CPU on a one-CPU machine
    config = write_config(
        tmp_path / "serve.toml",
        tmp_path / "data",
        {},
        topology=topology,
        extra=f"[cpus]\ncore = [{first}]\nworkers = [{first}]\nrisk = [{last}]\nfeed = [{last}]\n",
    )
    with ServeProcess(config) as server:
        # A logon answered: the worker's loop serves, so it has pinned itself (risk and
        # the feed pin before they say they are ready, which serve waits for).
        with BlockingClient.connect("127.0.0.1", server.port, "alice", ACCOUNTS["alice"]):
            pass
        roles: dict[str, list[int]] = {}
        for pid in descendants(server.proc.pid):
            role = _role(pid)
            if role is not None:
                roles.setdefault(role, []).append(pid)
        expected = {"risk": {last}, "feed": {last}, "core": {first}, "compact": {first}}
        expected["worker"] = {first}
        seen = {role for role in roles if role in expected}
        assert {"risk", "feed"} <= seen
        assert ("compact" in seen) == (topology == "compact"), roles
        for role, pids in roles.items():
            if role in expected:
                for pid in pids:
                    assert os.sched_getaffinity(pid) == expected[role], (role, pid)
        assert server.stop() == 0
