"""A child of ``serve`` never outlives it: parent-death signal plus a lifeline pipe.

The supervisor starts each child with two things in its environment:

* ``RINGMATCH_SUPERVISOR_PID``: the supervisor's pid. The child asks the kernel
  for SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``, Linux), then
  checks that its parent is still that pid: a supervisor that died between the
  fork and the prctl would otherwise never be noticed (the signal is only sent
  on a death *after* the call).
* ``RINGMATCH_LIFELINE_FD``: the read end of a pipe whose write end only the
  supervisor holds (it is never written). When the supervisor dies, however it
  dies, the kernel closes the write end and the read returns EOF. This backs
  the prctl, which fires on the death of the parent *thread* and not at all for
  a child started by other means (a wrapper, a shell, ``python -m`` by hand
  with the fd passed): whatever started it, the child notices within a second.

Either way the child gets SIGTERM, the signal its own handlers already treat as
"stop cleanly" (the core drains its rings and syncs its journal). If the clean
stop has not finished ``HARD_STOP_S`` seconds after the lifeline broke, the
child exits at once with status 1: its supervisor is gone and nobody else will
ever stop it. (Killing the core at any point is safe: that is what the journal
is for.)
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading

ENV_PID = "RINGMATCH_SUPERVISOR_PID"
ENV_FD = "RINGMATCH_LIFELINE_FD"
PR_SET_PDEATHSIG = 1
HARD_STOP_S = 30.0


def child_env(supervisor_pid: int, lifeline_fd: int) -> dict[str, str]:
    """The environment entries that tie a child to ``supervisor_pid`` (see the module doc)."""
    return {ENV_PID: str(supervisor_pid), ENV_FD: str(lifeline_fd)}


def set_parent_death_signal(signum: int = signal.SIGTERM) -> bool:
    """Ask Linux for ``signum`` when our parent dies; False where prctl is not there."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return False
    return bool(prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0)


def _say(message: str) -> None:
    # One write per line: several children share the supervisor's stderr.
    sys.stderr.write(f"ringmatch[{os.getpid()}]: {message}\n")
    sys.stderr.flush()


def _orphaned(why: str) -> None:
    _say(f"{why}: stopping")
    # To the main thread itself: a process-directed signal may land on this thread,
    # and then a main thread blocked in a system call (pause, a read without a
    # wakeup fd) would never run its handler. Aimed at it, the call is interrupted.
    signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)
    # Give the clean stop its time; then go, whatever it is doing.
    deadline = threading.Timer(HARD_STOP_S, _hard_stop)
    deadline.daemon = True
    deadline.start()


def _hard_stop() -> None:
    _say(f"did not stop within {HARD_STOP_S:.0f} s of losing the supervisor: exiting")
    os._exit(1)


def _watch(fd: int) -> None:
    try:
        while os.read(fd, 64):
            pass  # nobody writes; a byte would only mean a confused sender
    except OSError:
        pass
    _orphaned("the supervisor is gone (lifeline closed)")


def attach() -> bool:
    """Tie this process to its supervisor if it was started by one; whether it was.

    Call first thing in a child's main, before any long start-up work, so that a
    supervisor that dies during our recovery is noticed too.
    """
    pid_text = os.environ.get(ENV_PID)
    fd_text = os.environ.get(ENV_FD)
    if pid_text is None and fd_text is None:
        return False
    if pid_text is not None:
        set_parent_death_signal(signal.SIGTERM)
        if os.getppid() != int(pid_text):
            _orphaned(f"the supervisor (pid {pid_text}) died before this process started")
    if fd_text is not None:
        fd = int(fd_text)
        os.set_inheritable(fd, False)  # our own children (if any) must not hold it
        threading.Thread(target=_watch, args=(fd,), name="lifeline", daemon=True).start()
    return True
