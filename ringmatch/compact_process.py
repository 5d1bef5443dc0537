"""``python -m ringmatch.child compact COMPACT.json``: the core and its one worker, one process.

The compact topology (``[server] topology = "compact"``, the default for one
worker): the worker's uvloop event loop runs the core's turns itself
(ringmatch.gateway.server.compact_link), so an order costs no cross-process
wake-up between the worker and the core. Risk and the feed are processes of
their own, reading the event ring as in the "processes" topology.

    1. lock      the data directory (adopted from the supervisor)
    2. build     the core, recovered, with an in-process input ring as ring 0
                 (pipeline.build_core), its directory file written
    3. ready     print ``ready last_seq=N``; wait for ``go`` on stdin: the
                 supervisor starts risk and the feed first (they rebuild from the
                 journal up to N), as it does before starting workers
    4. serve     the worker on the supervisor's listening socket until SIGTERM or
                 SIGINT (SIGUSR1: a snapshot at the end of the turn)
    5. stop      the worker says goodbye to its sessions and hands the core their
                 last commands, the core drains the control ring and closes the
                 journal (synced), as the two processes would

Exit status: the core's (ringmatch.engine.core.pipeline): 0 clean, 3 halted on an
input, 4 the journal failed, 2 bad usage, 1 anything else.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

import msgspec

from ringmatch.engine.core.loop import Core, CoreHalted
from ringmatch.engine.core.pipeline import CoreConfig, StartRefused, build_core, lock_data_dir
from ringmatch.engine.core.pretrade_hook import StageResolver, UnknownStage, no_stages
from ringmatch.engine.journal.datadir_lock import DataDirLocked
from ringmatch.engine.process import lifeline
from ringmatch.engine.process.child_config import config_from_argv
from ringmatch.engine.process.placement import pin, settle
from ringmatch.engine.rings.local_ring import LocalRing
from ringmatch.gateway.config import Config

log = logging.getLogger("ringmatch.core")


class CompactConfig(msgspec.Struct, frozen=True):
    """What ``python -m ringmatch.child compact`` needs (JSON)."""

    core: CoreConfig  # input_rings empty: the worker's ring is in-process
    config: Config
    port: int
    risk_socket: str | None = None
    listen_fd: int | None = None


class _Stop(Exception):
    pass


def main(argv: Sequence[str] | None = None, resolve: StageResolver = no_stages) -> int:
    lifeline.attach()  # started by serve: never outlive it
    spec = config_from_argv(argv, "ringmatch.compact_process", CompactConfig)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s core %(levelname)s %(message)s"
    )
    logging.getLogger("ringmatch.gateway").setLevel(logging.WARNING)
    try:
        lock = lock_data_dir(spec.core)
    except DataDirLocked as exc:
        print(f"ringmatch core: {exc}", file=sys.stderr, flush=True)
        return 1

    def stop_now(signum: int, frame: object) -> None:
        raise _Stop

    previous = {sig: signal.signal(sig, stop_now) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        ring = LocalRing()
        try:
            core = build_core(spec.core, resolve=resolve, local_inputs=[ring])
        except UnknownStage as exc:
            print(f"ringmatch core: {exc}", file=sys.stderr, flush=True)
            return 2
        except (StartRefused, CoreHalted) as stopped:
            detail = stopped.detail.rstrip("\n")
            print(f"ringmatch core: {stopped}" + (f"\n{detail}" if detail else ""), file=sys.stderr)
            return stopped.status
        try:
            print(f"ready last_seq={core.last_seq}", flush=True)
            # Risk and the feed start now; serve says "go" once they are ready (EOF: serve
            # is gone, and so are we).
            if sys.stdin.readline().strip() != "go":
                core.stopping = True
        except _Stop:
            core.stopping = True
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if core.stopping:
            return _close(core, 0)
        return _serve(spec, core, ring)
    finally:
        lock.release()


def _serve(spec: CompactConfig, core: Core, ring: LocalRing) -> int:
    import uvloop

    from ringmatch.gateway.server.compact_link import CompactLink
    from ringmatch.gateway.server.worker_loop import serve

    link = CompactLink(core, ring)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)

        def snapshot_wanted() -> None:
            core.snapshot_wanted = True
            link.turn()

        loop.add_signal_handler(signal.SIGUSR1, snapshot_wanted)
        link.on_halt = lambda halt: stop.set()

        def ready(port: int) -> None:
            # Serving (the supervisor's socket was listening already: no line to print).
            pin(spec.core.cpus, "core")  # [cpus] core: the core's process is the worker's too
            settle()  # what start-up built lives until exit: keep the collector off it

        await serve(
            spec.config,
            link,
            spec.port,
            stop,
            ready,
            spec.risk_socket,
            0,
            spec.listen_fd,
            core.last_seq,
        )

    uvloop.run(run())
    if link.halted is not None:
        sys.stderr.write(link.halted.report())
        sys.stderr.flush()
        return _close(core, link.halted.status)
    return _close(core, 0)


def _close(core: Core, status: int) -> int:
    try:
        core.close()
    except CoreHalted as halt:
        sys.stderr.write(halt.report())
        sys.stderr.flush()
        return halt.status
    return status


if __name__ == "__main__":
    sys.exit(main())
