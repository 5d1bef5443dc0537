"""``serve``'s process tree: the rings, the core process, N gateway worker processes.

    supervisor ── creates (owns) the rings: one input ring per worker, the event ring
       ├─▶ core     python -m engine.pipeline CORE.json       ("ready last_seq=N")
       └─▶ worker k python -m gateway.worker_process WORKER.json ("listening PORT")

Workers share the port with SO_REUSEPORT. With port 0 the supervisor first binds
a free port itself (SO_REUSEPORT, never listening) and hands it to every worker.
Children run in their own process group, so a terminal's Ctrl-C reaches only
the supervisor, which stops them in order: workers first (they say goodbye to
their sessions and hand their last commands to the core), then the core (it
drains the rings and closes the journal), then the rings go. A child that dies
on its own stops the whole server (exit 1): the core cannot go on without a
required event-ring reader.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import msgspec

from gateway.config import Config

_FSYNC = {"batch": "every-batch", "interval": "every 5ms", "never": "never"}
STOP_TIMEOUT = 10.0


class WorkerConfig(msgspec.Struct, frozen=True):
    """What ``python -m gateway.worker_process`` needs (JSON)."""

    config: Config
    input_ring: str
    event_ring: str
    reader: int
    port: int


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


def run_pipeline(config: Config) -> int:
    from engine.pipeline import create_rings
    from gateway.cli_serve import announce

    server = config.server
    data_dir = Path(server.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port, holder = server.port, None
    if port == 0:
        port, holder = _free_port(server.host)
    workers = server.workers
    rings = create_rings(f"rm{os.getpid()}", workers, [True] * workers)
    core_config = rings.core_config(str(data_dir), fsync=_FSYNC[config.journal.fsync])
    core_json = data_dir / "core.json"
    core_json.write_bytes(msgspec.json.encode(core_config))
    children: list[subprocess.Popen[str]] = []
    stop = threading.Event()
    status = 0

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        core, line = _spawn(["-m", "engine.pipeline", str(core_json)], "ready", "the core")
        children.append(core)
        _say(f"core running ({line})")
        for k in range(workers):
            worker_json = data_dir / f"worker{k}.json"
            spec = WorkerConfig(config, rings.inputs[k].spec.name, rings.events.spec.name, k, port)
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
        # Workers first (their last commands reach the core), then the core.
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
