"""``python -m ringmatch.gateway.server.worker_process WORKER.json``: one gateway worker process.

Started by ``ringmatch serve`` (ringmatch.supervisor); prints ``listening PORT``
once it accepts connections, runs until SIGTERM or SIGINT.

With ``start_seq`` (the core's recovered seq, ``ready last_seq=N``) it first
rebuilds its ReportBook from the journal in ``data_dir`` up to N, through the
core's stage chain with the core's pre-trade stage (``pretrade``), before it
reads the event ring or listens: the ring, new with each ``serve``, carries on
after N, so every order accepted before a restart is still reported with its
client order id and its cumulative and leaves quantities.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

from ringmatch.engine.process.child_config import config_from_argv


def main(argv: Sequence[str] | None = None) -> int:
    from ringmatch.engine.process import lifeline
    from ringmatch.gateway.server.ring_link import RingLink
    from ringmatch.gateway.server.translate import ReportBook, rebuild_report_book
    from ringmatch.gateway.server.worker_loop import run

    from ringmatch.supervisor import WorkerConfig

    lifeline.attach()  # started by serve: never outlive it
    spec = config_from_argv(argv, "ringmatch.gateway.server.worker_process", WorkerConfig)
    book: ReportBook | None = None
    if spec.start_seq and spec.data_dir is not None:
        book = rebuild_report_book(spec.data_dir, spec.start_seq)

    def ready(port: int) -> None:
        gc.collect()
        gc.freeze()  # what start-up built lives until exit: keep the collector off it
        print(f"listening {port}", flush=True)

    return run(
        spec.config,
        lambda: RingLink(spec.input_ring, spec.event_ring, spec.reader),
        spec.port,
        ready,
        spec.risk_socket,
        spec.reader,  # worker k is event reader k and writes input ring k (ringmatch.supervisor)
        spec.listen_fd,
        book,
    )


if __name__ == "__main__":
    sys.exit(main())
