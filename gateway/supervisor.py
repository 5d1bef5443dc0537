"""``serve``'s process tree: the rings, the core, risk, the feed, N gateway workers.

    supervisor ── creates (owns) the rings: one input ring per worker, control, events
       ├─▶ core     python -m engine.pipeline CORE.json      ("ready last_seq=N")
       ├─▶ risk     python -m risk.process RISK.json         ("ready admin=PATH")
       ├─▶ feed     python -m gateway.feed_process FEED.json ("listening PORT")
       └─▶ worker k python -m gateway.worker_process WORKER.json ("listening PORT")

Event-ring readers: worker k is reader k (required), risk is reader ``workers``
and the feed reader ``workers + 1``, both optional: the core never waits for
them. Risk that lags a whole ring is cut off and catches up from the journal, so
its positions still count every trade once; a feed is cut off and rebuilds its
books. The core runs the pre-trade stage ``risk.pretrade:PreTradeRisk``; the
risk process feeds it limits and kill switches through the control ring. Risk
and the feed rebuild their state from the journal up to the core's recovered
seq N before reading the (new) event ring, which carries on after N.

Workers share the port with SO_REUSEPORT. With port 0 the supervisor first binds
a free port itself (SO_REUSEPORT, never listening) and hands it to every worker.
Children run in their own process group, so a terminal's Ctrl-C reaches only
the supervisor, which stops them in order: workers first (they say goodbye to
their sessions and hand their last commands to the core), then the feed and
risk, then the core (it drains the rings and closes the journal), then the
rings go. SIGHUP is passed to the risk process, which reloads the limits. A
child that dies on its own stops the whole server (exit 1): the core cannot go
on without a required event-ring reader, nor safely without post-trade risk.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import msgspec

from gateway.config import Config, risk_toml

_FSYNC = {"batch": "every-batch", "interval": "every 5ms", "never": "never"}
PRETRADE = "risk.pretrade:PreTradeRisk"
STOP_TIMEOUT = 10.0


class WorkerConfig(msgspec.Struct, frozen=True):
    """What ``python -m gateway.worker_process`` needs (JSON)."""

    config: Config
    input_ring: str
    event_ring: str
    reader: int
    port: int
    risk_socket: str | None = None  # the risk process's admin socket, for RiskQuery


def _say(message: str) -> None:
    print(f"ringmatch: {message}", file=sys.stderr, flush=True)


def _spawn(args: list[str], ready_prefix: str, what: str) -> tuple[subprocess.Popen[str], str]:
    """Start a child and wait for its ready line on stdout; (process, that line)."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(ready_prefix):
            # Keep reading (and echo) the rest, so the child never blocks on a full pipe.
            threading.Thread(target=_echo, args=(proc.stdout,), daemon=True).start()
            return proc, line.strip()
    proc.wait()
    raise RuntimeError(f"{what} exited with status {proc.returncode} before it was ready")


def _echo(stream: object) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sys.stdout.write(line)
        sys.stdout.flush()


def _free_port(host: str) -> tuple[int, object]:
    from gateway.server import listener

    sock = listener(host, 0)
    return sock.getsockname()[1], sock


def run_pipeline(config: Config, config_path: str | None = None) -> int:
    from engine.pipeline import create_rings
    from gateway.cli_serve import announce, announce_feed
    from gateway.feed_process import FeedProcessConfig
    from risk.process import RiskProcessConfig

    server = config.server
    data_dir = Path(server.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if config_path is None:
        # The risk process reads its limits from a file (and re-reads it on SIGHUP):
        # the embedded default's are written out for it, where the operator can edit them.
        config_path = str(data_dir / "risk-default.toml")
        Path(config_path).write_text(risk_toml(config.risk))
        _say(f"risk limits in {Path(config_path).resolve()} (edit, then SIGHUP to reload)")
    port, holder = server.port, None
    if port == 0:
        port, holder = _free_port(server.host)
    workers = server.workers
    risk_reader, feed_reader = workers, workers + 1
    rings = create_rings(f"rm{os.getpid()}", workers, [True] * workers + [False, False])
    core_config = rings.core_config(
        str(data_dir),
        fsync=_FSYNC[config.journal.fsync],
        pretrade=PRETRADE,
        skip_seqs=server.skip_seqs,
    )
    core_json = data_dir / "core.json"
    core_json.write_bytes(msgspec.json.encode(core_config))
    risk_socket = str((data_dir / "risk.sock").resolve())
    children: list[subprocess.Popen[str]] = []
    risk: subprocess.Popen[str] | None = None
    stop = threading.Event()
    status = 0

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    def on_hangup(signum: int, frame: object) -> None:
        if risk is not None and risk.poll() is None:
            risk.send_signal(signal.SIGHUP)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_hangup)
    try:
        core, line = _spawn(["-m", "engine.pipeline", str(core_json)], "ready", "the core")
        children.append(core)
        _say(f"core running ({line})")
        start_seq = int(line.rpartition("=")[2])
        risk_spec = RiskProcessConfig(
            rings.events.spec.name,
            risk_reader,
            rings.control.spec.name,
            risk_socket,
            str(Path(config_path).resolve()),
            data_dir=str(data_dir),
            replay_upto=start_seq,
        )
        risk_json = data_dir / "risk.json"
        risk_json.write_bytes(msgspec.json.encode(risk_spec))
        risk, _ = _spawn(["-m", "risk.process", str(risk_json)], "ready admin=", "risk")
        children.append(risk)
        _say(f"risk running (admin socket {risk_socket})")
        feed = config.feed
        feed_spec = FeedProcessConfig(
            event_ring=rings.events.spec.name,
            reader=feed_reader,
            data_dir=str(data_dir),
            host=server.host,
            port=server.feed_port,
            max_queued=feed.max_queued,
            pretrade=PRETRADE,
            redis_url=feed.redis_url,
            redis_maxlen=feed.redis_maxlen,
            start_seq=start_seq,
        )
        feed_json = data_dir / "feed.json"
        feed_json.write_bytes(msgspec.json.encode(feed_spec))
        proc, line = _spawn(["-m", "gateway.feed_process", str(feed_json)], "listening", "the feed")
        children.append(proc)
        announce_feed(server.host, int(line.split()[1]))
        for k in range(workers):
            worker_json = data_dir / f"worker{k}.json"
            spec = WorkerConfig(
                config, rings.inputs[k].spec.name, rings.events.spec.name, k, port, risk_socket
            )
            worker_json.write_bytes(msgspec.json.encode(spec))
            proc, _ = _spawn(
                ["-m", "gateway.worker_process", str(worker_json)], "listening", f"worker {k}"
            )
            children.append(proc)
        announce(server.host, port)
        status = _watch(children, stop)
    except RuntimeError as exc:
        _say(str(exc))
        status = 1
    finally:
        # Workers first (their last commands reach the core), then the feed and risk,
        # then the core (it drains what they left and closes the journal).
        for proc in reversed(children):
            _stop(proc)
        rings.close()
        if holder is not None:
            holder.close()  # type: ignore[attr-defined]
    return status


def _watch(children: list[subprocess.Popen[str]], stop: threading.Event) -> int:
    while not stop.wait(0.2):
        for proc in children:
            if proc.poll() is not None:
                _say(f"process {proc.args!r} exited with status {proc.returncode}: stopping")
                return 1
    return 0


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _say(f"process {proc.pid} did not stop within {STOP_TIMEOUT} s: killed")
        proc.kill()
        proc.wait()
