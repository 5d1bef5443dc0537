"""A child tied to its supervisor (engine.process.lifeline) stops when the supervisor is killed.

    test ─▶ supervisor (python; holds the lifeline's write end) ─▶ [sh ─▶] child
              └─ kill -9 ──────────────────────────────────────────────▶ child must go

Each way the tie can work is tested alone: the lifeline pipe with a child that
is not the supervisor's own (started through a shell, so the parent-death
signal, which follows the parent, cannot help), the parent-death signal with
no pipe, and a supervisor that was already gone when the child started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from ringmatch.engine.process.lifeline import ENV_FD, ENV_PID
from tests.conftest import REPO
from tests.process_tree import kill_tree, wait_gone

# The child: stops on SIGTERM with status 7 (its "clean stop"), else waits forever.
CHILD = (
    "import signal, sys; from ringmatch.engine.process import lifeline; "
    "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7)); "
    "lifeline.attach(); print('up', flush=True); "
    "[signal.pause() for _ in iter(int, 1)]"
)

# The supervisor: starts the child as told, says its pid, waits to be killed.
SUPERVISOR = """
import os, signal, subprocess, sys
how, log = sys.argv[1], sys.argv[2]
r, w = os.pipe()
env = dict(os.environ)
args = [sys.executable, "-c", CHILD]
if how in ("pipe", "both"):
    env[ENV_FD] = str(r)
if how in ("pdeathsig", "both"):
    env[ENV_PID] = str(os.getpid())
if how == "pipe":  # through a shell: the child's parent is sh, not us
    args = ["sh", "-c", '"$0" "$@"; :', *args]
child = subprocess.Popen(
    args, env=env, pass_fds=(r,), stdout=subprocess.PIPE, stderr=open(log, "w"), text=True
)
assert child.stdout.readline() == "up\\n"
print(child.pid, flush=True)
signal.pause()
"""


def _start(how: str, log: Path) -> tuple[subprocess.Popen[str], int]:
    source = f"CHILD = {CHILD!r}\nENV_FD, ENV_PID = {ENV_FD!r}, {ENV_PID!r}\n{SUPERVISOR}"
    sup = subprocess.Popen(
        [sys.executable, "-c", source, how, str(log)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )
    assert sup.stdout is not None
    line = sup.stdout.readline()
    if not line:
        sup.wait(10)
        raise AssertionError(f"the supervisor failed to start its child: {log.read_text()}")
    return sup, int(line)


def _kill_supervisor_and_wait_for(how: str, tmp_path: Path) -> str:
    log = tmp_path / f"{how}.log"
    sup, child = _start(how, log)
    try:
        os.kill(sup.pid, signal.SIGKILL)
        sup.wait(10)
        assert not wait_gone([child], 5.0), f"the child outlived its supervisor ({how})"
    finally:
        kill_tree(sup.pid)
        kill_tree(child)
    return log.read_text()


def test_the_lifeline_alone_stops_a_child_that_is_not_the_supervisors_own(tmp_path: Path) -> None:
    said = _kill_supervisor_and_wait_for("pipe", tmp_path)
    assert "the supervisor is gone (lifeline closed): stopping" in said


def test_the_parent_death_signal_alone_stops_the_child(tmp_path: Path) -> None:
    said = _kill_supervisor_and_wait_for("pdeathsig", tmp_path)
    assert "lifeline" not in said  # the kernel's SIGTERM, not the pipe, stopped it


def test_a_child_whose_supervisor_died_before_it_started_stops_at_once(tmp_path: Path) -> None:
    # ENV_PID names a process that is not our parent: the death happened before prctl.
    gone = subprocess.Popen(["true"])
    gone.wait()
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO), **{ENV_PID: str(gone.pid)}),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 7, done.stderr  # its clean stop, not a hang
    assert f"the supervisor (pid {gone.pid}) died before this process started" in done.stderr
