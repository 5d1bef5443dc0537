"""Process trees from /proc, for tests that start servers: find, wait for and kill them.

A test that starts ``serve`` must know every process the server started, so
that it can kill them all whatever happens, and check after a crash that none
is left. The supervisor's children run in their own sessions (so a terminal's
Ctrl-C reaches only the supervisor), which puts them out of reach of a process
group kill: they are found by parent pid instead, while the parent lives.

Waiting for a process that is not our child uses a pidfd (Linux 5.3+), which
becomes readable when the process exits: no polling, no sleeping.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from pathlib import Path


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children first), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[1], []).append(int(entry.name))
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to ``timeout`` s for every pid to exit; the ones still alive after it."""
    deadline = time.monotonic() + timeout
    left = []
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            remaining = max(0.0, deadline - time.monotonic())
            if not select.select([fd], [], [], remaining)[0] and alive(pid):
                left.append(pid)
        finally:
            os.close(fd)
    return [pid for pid in left if alive(pid)]


def kill_all(pids: list[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def kill_tree(pid: int, timeout: float = 10.0) -> list[int]:
    """SIGKILL ``pid`` and everything below it; the pids that would not die (none)."""
    tree = [pid, *descendants(pid)]
    kill_all(tree)
    return wait_gone(tree, timeout)
