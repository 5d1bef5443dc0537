"""``python -m ringmatch.gateway.server.worker_process WORKER.json``: one gateway worker process.

Started by ``ringmatch serve`` (ringmatch.supervisor); prints ``listening PORT``
once it accepts connections, runs until SIGTERM or SIGINT.

It needs nothing of the journal: every event record carries what its report
says (client order id, cum and leaves), so an order accepted before a restart
is reported in full after it. ``start_seq`` (the core's recovered seq, ``ready
last_seq=N``) is where the new event ring carries on: a Sync up to it is
answered at once.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import msgspec

from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.process.child_config import config_from_argv
from ringmatch.gateway.config import Config


class WorkerConfig(msgspec.Struct, frozen=True):
    """What ``python -m ringmatch.gateway.server.worker_process`` needs (JSON)."""

    config: Config
    input_ring: str
    event_ring: str
    reader: int
    port: int
    risk_socket: str | None = None  # the risk process's admin socket, for RiskQuery
    # The core's directory file is there (ringmatch.engine.records.names.read_directory).
    data_dir: str | None = None
    start_seq: int | None = None
    listen_fd: int | None = None  # the supervisor's listening socket (None: bind port itself)


def main(argv: Sequence[str] | None = None, resolve: StageResolver = no_stages) -> int:
    """The worker process. ``resolve`` (the pre-trade stages, from ringmatch.child) is
    not needed: a worker never runs the journal."""
    from ringmatch.engine.process import lifeline
    from ringmatch.engine.process.placement import pin, settle
    from ringmatch.gateway.server.ring_link import RingLink
    from ringmatch.gateway.server.worker_loop import run

    lifeline.attach()  # started by serve: never outlive it
    spec = config_from_argv(argv, "ringmatch.gateway.server.worker_process", WorkerConfig)

    def ready(port: int) -> None:
        pin(spec.config.cpus.workers, f"worker {spec.reader}")
        settle()  # what start-up built lives until exit: keep the collector off it
        print(f"listening {port}", flush=True)

    return run(
        spec.config,
        # The core wrote its directory file before it was ready (serve starts us after).
        lambda: RingLink(spec.input_ring, spec.event_ring, spec.reader, spec.data_dir),
        spec.port,
        ready,
        spec.risk_socket,
        spec.reader,  # worker k is event reader k and writes input ring k (ringmatch.supervisor)
        spec.listen_fd,
        spec.start_seq or 0,
    )


if __name__ == "__main__":
    sys.exit(main())
