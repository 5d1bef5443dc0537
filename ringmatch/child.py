"""``python -m ringmatch.child ROLE CONFIG.json``: a process of ``serve``, wired.

    core    ringmatch.engine.core.pipeline     the single writer
    risk    ringmatch.risk.process             post-trade risk
    feed    ringmatch.gateway.feed.process     market data
    worker  ringmatch.gateway.server.worker_process   order entry
    web     ringmatch.gateway.web.process      the read-only web console ([web] port)
    compact ringmatch.compact_process  the core and its one worker in one process

Each room's process main takes the pre-trade stages it may meet in the journal
as an argument; this is where the wiring hands them over (ringmatch.stages),
so that no room names another's modules. The supervisor starts every child
this way.

A child that fails (an exception out of its main: a file it cannot open, a
socket it cannot bind) says why in one line on its standard output, the pipe the
supervisor reads its ready line from: ``failed REASON``. The supervisor prints
it, naming the child (``ringmatch: the feed could not start: REASON``). No
traceback (``RINGMATCH_TRACEBACK=1`` adds it, on stderr), and the process ends
at once (``os._exit``) once its main has unwound: every ``finally`` has run (the
core's journal is closed), so what the interpreter's teardown would still do is
only noise (``SharedMemory.__del__`` on a segment a numpy view still holds).
Exit status 1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from ringmatch import compact_process, stages
from ringmatch.engine.core import pipeline
from ringmatch.engine.core.pretrade_hook import StageResolver
from ringmatch.engine.process.child_config import EXIT_USAGE
from ringmatch.gateway.feed import process as feed_process
from ringmatch.gateway.server import worker_process
from ringmatch.gateway.web import process as web_process
from ringmatch.risk import process as risk_process

MAINS: dict[str, Callable[[Sequence[str], StageResolver], int]] = {
    "core": pipeline.main,
    "risk": risk_process.main,  # type: ignore[dict-item]
    "feed": feed_process.main,  # type: ignore[dict-item]
    "worker": worker_process.main,
    "compact": compact_process.main,
    "web": web_process.main,  # type: ignore[dict-item]
}


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] not in MAINS:
        print(
            f"usage: python -m ringmatch.child {{{','.join(MAINS)}}} CONFIG.json", file=sys.stderr
        )
        return EXIT_USAGE
    try:
        return MAINS[args[0]](args[1:], stages.resolve)
    except Exception as exc:  # any failure: one line, not a traceback
        _fail(exc)


FAILED = "failed "
TRACEBACK_ENV = "RINGMATCH_TRACEBACK"


def failure_reason(exc: BaseException) -> str:
    """One line saying why ``exc`` stopped a child: the file or address and the error."""
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        if exc.filename2 is not None:
            where = f"{where} -> {exc.filename2}"
        return f"{where}: {exc.strerror}" if where else exc.strerror
    text = str(exc).strip()
    name = type(exc).__name__
    return " ".join(f"{name}: {text}".split()) if text else name


def _fail(exc: BaseException) -> NoReturn:
    """Tell the supervisor why (stdout, one line), then end without the teardown."""
    if os.environ.get(TRACEBACK_ENV):
        traceback.print_exception(exc, file=sys.stderr)
    with contextlib.suppress(OSError):  # nobody reads it any more: the status still says it
        print(f"{FAILED}{failure_reason(exc)}", flush=True)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(1)


if __name__ == "__main__":
    sys.exit(main())
