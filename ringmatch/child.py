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
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

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
    return MAINS[args[0]](args[1:], stages.resolve)


if __name__ == "__main__":
    sys.exit(main())
