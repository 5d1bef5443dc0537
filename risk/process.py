"""The post-trade risk consumer process: ``python -m ringmatch.risk.process RISK.json``.

    event ring ──(reader k)──▶ thread ──▶ loop: RiskService.on_events ──▶ KillSwitch
    admin socket (JSON lines) ─────────▶ loop: RiskService.handle     ──▶ control ring
    SIGHUP ────────────────────────────▶ loop: RiskService.reload     ──▶ SetRiskLimits

The control ring has one producer, this process, and only the loop thread
writes it, input records packed through the core's directory file
(ringmatch.engine.records.names; a KillSwitch of an account without an id is
logged, not sent). The event-ring reader has its own thread (readers are single-threaded)
and hands batches to the loop. On start it rebuilds positions from the journal
in ``data_dir`` up to ``replay_upto`` (risk/rebuild.py; the core's
recovered seq, so the ring carries on exactly after it), sends the file's limits
(SetRiskLimits), then prints ``ready admin=PATH``. SIGTERM/SIGINT stop it.

It is an optional reader of the event ring: the core never waits for it. If it
stalls for a whole ring's worth of events it is cut off, rejoins and catches up
from the journal (risk/event_source.py), logging both; without ``data_dir`` a
cut-off loses trades, which is logged as an error.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import threading

import msgspec
import numpy as np
import uvloop

from ringmatch.engine.core.pretrade_hook import StageResolver, no_stages
from ringmatch.engine.process import lifeline
from ringmatch.engine.process.admin_socket import serve_admin
from ringmatch.engine.process.child_config import config_from_argv
from ringmatch.engine.process.placement import pin, settle
from ringmatch.engine.records.names import Directory, read_directory_or_empty
from ringmatch.engine.records.writer import RecordWriter, UnknownName
from ringmatch.engine.rings.event_ring import EventRing, EventRingSpec
from ringmatch.engine.rings.spsc_ring import RingSpec, SpscRing
from ringmatch.engine.schema.commands import ControlCommand, SetPhase
from ringmatch.engine.schema.events import Event
from ringmatch.risk.event_source import RiskEventSource
from ringmatch.risk.limits import RiskConfigError
from ringmatch.risk.rebuild import replay_journal
from ringmatch.risk.service import RiskService

log = logging.getLogger(__name__)


class RiskProcessConfig(msgspec.Struct, frozen=True):
    event_ring: str
    reader: int
    control_ring: str
    admin_socket: str
    config_path: str | None = None
    data_dir: str | None = None  # the core's journal, replayed at start (None: start empty)
    replay_upto: int | None = None  # the core's last seq at its start (None: the whole journal)
    wake_ms: float = 1.0  # read the ring at most this often... (risk/event_source.py)
    wake_records: int = 1024  # ...unless this many records wait (0 ms: every event)
    accounts: list[str] = []  # the configured accounts (kill/release know them)
    tick_sizes: dict[str, str] = {}  # symbol -> tick size, a decimal string (for display)
    cpus: list[int] = []  # [cpus] risk: the CPUs this process is pinned to ([]: anywhere)


async def run(config: RiskProcessConfig, resolve: StageResolver = no_stages) -> int:
    loop = asyncio.get_running_loop()
    events = EventRing.attach(EventRingSpec(config.event_ring))
    control = SpscRing.attach(RingSpec(config.control_ring))
    producer = control.producer()
    # The core's names: its directory file, written before it was ready (serve starts
    # us after that); without a data directory, none (only global commands can go).
    directory = (
        Directory()
        if config.data_dir is None
        else read_directory_or_empty(config.data_dir, log.warning)
    )
    writer = RecordWriter(directory)

    def send_control(cmd: ControlCommand | SetPhase) -> None:
        """Put ``cmd`` on the control ring as records (waits for room: the core drains it)."""
        writer.start()
        try:
            writer.add(cmd)
        except UnknownName as exc:
            log.error("risk: %r not sent to the core: %s", cmd, exc)
            return
        producer.put_array(writer.records())

    try:
        service = RiskService(
            config.config_path,
            send_control,
            accounts=config.accounts,
            tick_sizes=config.tick_sizes,
            names=directory.accounts.names,
        )
    except RiskConfigError as exc:
        print(f"ringmatch risk: {exc}", file=sys.stderr)
        return 2
    last = 0
    if config.data_dir is not None:
        last = replay_journal(service, config.data_dir, config.replay_upto, resolve)
        log.info("risk: positions rebuilt from the journal up to seq %d", last)
    service.start()
    done = asyncio.Event()

    def deliver(batch: list[Event]) -> None:
        loop.call_soon_threadsafe(service.on_events, batch)

    def reload() -> None:
        try:
            service.reload()
        except RiskConfigError as exc:
            log.error("risk: reload refused, limits unchanged: %s", exc)

    loop.add_signal_handler(signal.SIGHUP, reload)
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_signal_handler(signal.SIGINT, done.set)

    def deliver_records(records: np.ndarray) -> None:
        loop.call_soon_threadsafe(service.on_records, records, directory)

    source = RiskEventSource(
        events,
        config.reader,
        deliver,
        config.data_dir,
        last,
        resolve,
        directory=directory,
        deliver_records=deliver_records,
        wake_ms=config.wake_ms,
        wake_records=config.wake_records,
    )
    thread = threading.Thread(target=source.run)
    thread.start()
    server = await serve_admin(config.admin_socket, service.answer)
    pin(config.cpus, "risk")
    settle()  # the rebuilt state lives until exit: keep the collector off it
    print(f"ready admin={config.admin_socket}", flush=True)
    try:
        await done.wait()
    finally:
        server.close()
        source.stop.set()
        await loop.run_in_executor(None, thread.join)
        producer.close()
        control.close()
        events.close()
    return 0


def main(argv: list[str] | None = None, resolve: StageResolver = no_stages) -> int:
    """The risk process; ``resolve``: the pre-trade stages its journal replays may meet
    (the wiring's, ringmatch.stages, when serve starts it through ringmatch.child)."""
    lifeline.attach()  # started by serve: never outlive it
    config = config_from_argv(argv, "ringmatch.risk.process", RiskProcessConfig)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s risk %(message)s")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(run(config, resolve))


if __name__ == "__main__":
    sys.exit(main())
