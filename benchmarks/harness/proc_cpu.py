"""CPU time of a process tree, from /proc: what a server spends, whatever its shape.

    tree = ProcessTree(pid)         # the supervisor; its children found by ppid
    before = tree.sample()          # {pid: (role, user+sys seconds)}
    ...
    spent = tree.spent(before, tree.sample())   # {role: seconds}, and "total"

A role is the child's ``ringmatch.child ROLE`` argument (core, worker, risk, feed),
"supervisor" for the root, else the command's name. user+sys are fields 14 and 15
of /proc/PID/stat, in clock ticks (all threads of the process); a process that
starts or ends between two samples counts only while it is seen in both.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, user+sys seconds) of ``pid``, None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK


def _role(pid: int, root: int) -> str:
    if pid == root:
        return "supervisor"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "gone"
    words = [a.decode(errors="replace") for a in argv if a]
    for at, word in enumerate(words[:-1]):
        if word.endswith(".child"):  # python -m <package>.child ROLE CONFIG
            return words[at + 1]
    return os.path.basename(words[0]) if words else "?"


class ProcessTree:
    def __init__(self, root: int) -> None:
        self.root = root

    def pids(self) -> list[int]:
        """The root and every descendant alive now."""
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                stat = _stat(int(entry))
                if stat is not None:
                    parents[int(entry)] = stat[0]
        tree, frontier = [self.root], [self.root]
        while frontier:
            children = [p for p, parent in parents.items() if parent in frontier]
            tree += children
            frontier = children
        return tree

    def sample(self) -> dict[int, tuple[str, float]]:
        out: dict[int, tuple[str, float]] = {}
        for pid in self.pids():
            stat = _stat(pid)
            if stat is not None:
                out[pid] = (_role(pid, self.root), stat[1])
        return out

    @staticmethod
    def spent(
        before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
    ) -> dict[str, float]:
        """CPU seconds per role between two samples, and their ``total``."""
        out: dict[str, float] = {}
        for pid, (role, seconds) in after.items():
            if pid in before:
                out[role] = out.get(role, 0.0) + seconds - before[pid][1]
        out["total"] = sum(out.values())
        return out
