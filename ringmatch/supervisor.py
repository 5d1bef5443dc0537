"""``serve``'s process tree: the rings, the core, risk, the feed, N gateway workers.

    supervisor ── creates (owns) the rings: one input ring per worker, control, events
       ├─▶ core     python -m ringmatch.child core CORE.json       ("ready last_seq=N")
       ├─▶ risk     python -m ringmatch.child risk RISK.json       ("ready admin=PATH")
       ├─▶ feed     python -m ringmatch.child feed FEED.json       ("listening PORT")
       ├─▶ web      python -m ringmatch.child web WEB.json         ("listening PORT"; only
       │            with [web] port: the console, a feed subscriber and risk's admin client)
       └─▶ worker k python -m ringmatch.child worker WORKER.json   ("listening PORT")

That is ``topology = "processes"``. Under ``topology = "compact"`` (the default
for one worker) the core and worker 0 are one process, ``python -m
ringmatch.child compact COMPACT.json`` (ringmatch.compact_process). It says
"ready last_seq=N" and waits for "go" on its stdin, which comes once risk and
the feed are ready. There is no input ring and no required event reader, and
risk and the feed are event readers 0 and 1. It is stopped first, so risk and
the feed see its last events.

Event-ring readers: worker k is reader k (required), risk is reader ``workers``
and the feed reader ``workers + 1``, both optional: the core never waits for
them. Risk that lags a whole ring is cut off and catches up from the journal, so
its positions still count every trade once; a feed is cut off and rebuilds its
books. The core runs the pre-trade stage named ``risk`` (ringmatch.stages); the
risk process feeds it limits and kill switches through the control ring. Risk
and the feed rebuild their state from the journal up to the core's recovered
seq N before reading the (new) event ring, which carries on after N.

Before anything else the supervisor locks the data directory
(ringmatch.engine.journal.datadir_lock; a second server on it waits a bounded time, then exits 1
having changed nothing), then binds and listens on the order-entry and feed
ports itself, without SO_REUSEPORT, so a second server on a port fails at once
with a line naming it, before its core recovers anything. The listening
sockets are handed to the workers (all of them accept on the one socket) and
to the feed; the locked descriptor to the core, which holds the lock for its
life. Shared-memory names come from the data directory (ringmatch.engine.rings.shm.run_prefix),
so a restart removes what a killed run left before it creates its own.

Every child is tied to the supervisor (ringmatch.engine.process.lifeline:
parent-death signal plus a lifeline pipe): however the supervisor dies, SIGKILL
included, each child gets SIGTERM and stops the way it always does (the core
drains and syncs its journal). Children run in their own process group, so a
terminal's Ctrl-C reaches only the supervisor, which stops them in order:
workers first (they say goodbye to their sessions and hand their last commands
to the core), then the web console (it closes its pages' websockets), the feed
and risk, then the core (it drains the rings and closes the journal), then the
rings go. SIGHUP is passed to the risk process, which reloads the limits. A
child that dies on its own stops the whole server (exit 1, naming the child and
how it died): the core cannot go on without a required event-ring reader, nor
safely without post-trade risk. Run ``serve`` under a service manager to have
it come back (docs/ringmatch.service).

"listening on H:P (order entry), feed on H:F" is said once both sockets are
bound (the ports chosen for port 0), never before. Whatever cannot start is one
line naming it and why, and what had started is stopped as above (exit 1): a
port in use, a data directory that cannot be created, a child that fails (it
says ``failed REASON`` on its ready pipe, ringmatch.child: ``the core could not
start: PATH: Is a directory``).
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import msgspec

from ringmatch import stages
from ringmatch.child import FAILED, failure_reason
from ringmatch.engine.journal.datadir_lock import DEFAULT_WAIT_S, DataDirLock, DataDirLocked
from ringmatch.engine.process import lifeline
from ringmatch.engine.rings.shm import run_prefix
from ringmatch.gateway.config import Config, risk_toml, schedule_entries
from ringmatch.gateway.server.worker_process import WorkerConfig

_FSYNC = {"batch": "every-batch", "interval": "every 5ms", "never": "never"}
PRETRADE = stages.RISK
STOP_TIMEOUT = 10.0
UNIX_PATH_MAX = 108  # sun_path's size, its terminating NUL included (Linux)


def _say(message: str) -> None:
    print(f"ringmatch: {message}", file=sys.stderr, flush=True)


def announce(host: str, port: int) -> None:
    print(f"ringmatch: order entry on {host}:{port}", flush=True)


def announce_feed(host: str, port: int) -> None:
    print(f"ringmatch: market data on {host}:{port}", flush=True)


def announce_web(host: str, port: int) -> None:
    print(f"ringmatch: web console on http://{host}:{port}", flush=True)


class Child:
    """A started child: its process, its role (for messages), its ready line; ``reason``:
    why it failed, from its ``failed REASON`` line (ringmatch.child), once it said."""

    __slots__ = ("echo", "line", "proc", "reason", "role")

    def __init__(self, proc: subprocess.Popen[str], role: str, line: str) -> None:
        self.proc, self.role, self.line = proc, role, line
        self.reason = ""
        self.echo: threading.Thread | None = None

    def said(self) -> str:
        """Its ``failed`` line's reason once it ended ("" if it gave none)."""
        if not self.reason and self.echo is not None:
            self.echo.join(1.0)  # its last line may still be in the pipe
        return self.reason


class ChildFailed(RuntimeError):
    """A child ended before it was ready; the message names it and says why."""


class Spawner:
    """Starts children tied to this supervisor by a lifeline (ringmatch.engine.process.lifeline)."""

    def __init__(self) -> None:
        # The write end stays here, never written: it closes when we die, however.
        self.lifeline_r, self._lifeline_w = os.pipe()
        self.children: list[Child] = []

    def spawn(
        self,
        args: list[str],
        ready_prefix: str,
        role: str,
        fds: tuple[int, ...] = (),
        stdin: bool = False,
    ) -> Child:
        """Start a child and wait for its ready line on stdout (echoing what follows);
        ``stdin``: with a pipe to its standard input (the compact process's "go")."""
        env = {**os.environ, **lifeline.child_env(os.getpid(), self.lifeline_r)}
        proc = subprocess.Popen(
            [sys.executable, *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
            pass_fds=(self.lifeline_r, *fds),
            env=env,
        )
        child = Child(proc, role, "")
        self.children.append(child)  # stopped in the finally, even if never ready
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith(FAILED):
                child.reason = line[len(FAILED) :].strip()
            elif line.startswith(ready_prefix):
                # Keep reading (and echo) the rest, so the child never blocks on a full pipe.
                child.echo = threading.Thread(target=_echo, args=(child,), daemon=True)
                child.echo.start()
                child.line = line.strip()
                return child
        proc.wait()
        raise ChildFailed(f"{role} could not start: {child.said() or _how(proc.returncode)}")

    def close(self) -> None:
        os.close(self.lifeline_r)
        os.close(self._lifeline_w)


def _how(status: int) -> str:
    """How a child ended, for a message: its exit status or the signal that killed it."""
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"


def _echo(child: Child) -> None:
    assert child.proc.stdout is not None
    for line in child.proc.stdout:
        if line.startswith(FAILED):
            child.reason = line[len(FAILED) :].strip()
            continue
        sys.stdout.write(line)
        sys.stdout.flush()


PORT_PATIENCE_S = 3.0
"""How long a port held by someone else is tried again after a wait for the data
directory's lock: the lock was a stopping server's, whose workers and feed (tied to
it by their lifelines) may still hold its sockets for a moment after its core."""


def listening_socket(host: str, port: int, what: str, patience: float = 0.0) -> socket.socket:
    """Bind and listen on ``host:port`` for ``what``, this server's alone (no SO_REUSEPORT).

    SO_REUSEADDR only lets a restart bind over connections still in TIME_WAIT;
    a live listener on the port still makes the bind fail. A port in use is tried
    again for up to ``patience`` seconds. Raises PortInUse.
    """
    deadline = time.monotonic() + patience
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    while True:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(1024)
            return sock
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE and time.monotonic() < deadline:
                time.sleep(0.05)  # bind has no timed wait; a bounded poll is its only one
                continue
            held = ": another server holds it" if exc.errno == errno.EADDRINUSE else ""
            raise PortInUse(f"{what} port {host}:{port}: {exc.strerror or exc}{held}") from None


class PortInUse(RuntimeError):
    pass


class StoppedDuringStart(Exception):
    """SIGTERM or SIGINT while the children were still starting (a clean stop)."""


def run_pipeline(
    config: Config, config_path: str | None = None, lock_wait: float = DEFAULT_WAIT_S
) -> int:
    """Run the whole server until SIGTERM/SIGINT or a child's death; the exit status."""
    server = config.server
    data_dir = Path(server.data_dir)
    # 0. The data directory first: nothing in it is read or written before the lock.
    try:
        lock = DataDirLock.acquire(data_dir, wait=lock_wait, say=_say)
    except DataDirLocked as exc:
        _say(str(exc))
        return 1
    except OSError as exc:  # cannot be created (a file in the way) or its lock file opened
        why = failure_reason(exc)
        _say(f"the data directory could not be created or locked: {why}; not starting")
        return 1
    try:
        # 1. The ports: ours alone, or fail now, before the core recovers anything
        #    (after a wait for the lock, the stopping server's sockets get a moment).
        patience = PORT_PATIENCE_S if lock.waited else 0.0
        order_sock = listening_socket(server.host, server.port, "order-entry", patience)
        try:
            feed_sock = listening_socket(server.host, server.feed_port, "market-data", patience)
        except PortInUse:
            order_sock.close()
            raise
        web_sock = None
        if config.web.port is not None:
            try:
                web_sock = listening_socket(config.web.host, config.web.port, "web", patience)
            except PortInUse:
                order_sock.close()
                feed_sock.close()
                raise
    except PortInUse as exc:
        _say(f"{exc}; not starting")
        lock.release()
        return 1
    # Bound and listening (connections wait in the backlog until the workers accept):
    # the ports for real, the free ones chosen for port 0 included.
    host = server.host
    _say(
        f"listening on {host}:{order_sock.getsockname()[1]} (order entry), "
        f"feed on {host}:{feed_sock.getsockname()[1]}"
        + ("" if web_sock is None else f", web console on {host}:{web_sock.getsockname()[1]}")
    )
    try:
        return _run_children(config, config_path, data_dir, lock, order_sock, feed_sock, web_sock)
    except OSError as exc:  # a file of the data directory, the shared memory of the rings
        _say(f"the server could not start: {failure_reason(exc)}")
        return 1
    finally:
        order_sock.close()
        feed_sock.close()
        if web_sock is not None:
            web_sock.close()
        lock.release()


def _run_children(
    config: Config,
    config_path: str | None,
    data_dir: Path,
    lock: DataDirLock,
    order_sock: socket.socket,
    feed_sock: socket.socket,
    web_sock: socket.socket | None = None,
) -> int:
    from ringmatch.engine.core.pipeline import create_rings

    if config_path is None:
        # The risk process reads its limits from a file (and re-reads it on SIGHUP):
        # the embedded default's are written out for it, where the operator can edit them.
        config_path = str(data_dir / "risk-default.toml")
        Path(config_path).write_text(risk_toml(config.risk))
        _say(f"risk limits in {Path(config_path).resolve()} (edit, then SIGHUP to reload)")
    # 2. The rings, named from the data directory; what a killed run left goes first.
    #    Compact: no input ring (the worker's is in-process) and no required event
    #    reader (the worker gets its events in-process); risk and the feed read the ring.
    rings = create_rings(run_prefix(data_dir), *_ring_shape(config), owned=True)
    try:
        return _start_and_watch(
            config, config_path, data_dir, lock, order_sock, feed_sock, rings, web_sock
        )
    finally:
        rings.close()  # however the start went: no segment outlives this server


def _ring_shape(config: Config) -> tuple[int, list[bool]]:
    """Input rings to create, and whether each event reader is required (workers are,
    risk and the feed are not): readers 0..workers-1 are the workers, then risk, the feed."""
    if config.server.chosen_topology() == "compact":
        return 0, [False, False]
    workers = config.server.workers
    return workers, [True] * workers + [False, False]


def _start_and_watch(
    config: Config,
    config_path: str,
    data_dir: Path,
    lock: DataDirLock,
    order_sock: socket.socket,
    feed_sock: socket.socket,
    rings: Any,
    web_sock: socket.socket | None = None,
) -> int:
    from ringmatch.compact_process import CompactConfig
    from ringmatch.gateway.feed.process import FeedProcessConfig
    from ringmatch.risk.process import RiskProcessConfig

    server = config.server
    port = order_sock.getsockname()[1]
    feed_port = feed_sock.getsockname()[1]
    compact = server.chosen_topology() == "compact"
    workers = 0 if compact else server.workers  # worker processes
    risk_reader, feed_reader = workers, workers + 1
    core_config = rings.core_config(
        str(data_dir),
        fsync=_FSYNC[config.journal.fsync],
        overlap_sync=config.journal.overlap,
        pretrade=PRETRADE,
        lock_fd=lock.fd,
        supervisor_pid=os.getpid(),
        skip_seqs=server.skip_seqs,
        # The names the core gives ids before it is ready (and writes to its directory
        # file, which the workers, risk and the feed load: they start after that).
        symbols=[s.name for s in config.symbols],
        accounts=[a.name for a in config.accounts],
        schedules=[(s.name, s.timezone, schedule_entries(s)) for s in config.symbols if s.schedule],
        reference_prices={
            s.name: s.reference_price for s in config.symbols if s.reference_price is not None
        },
        wait=server.wait,
        spin_us=server.spin_us,
        cpus=config.cpus.core,
    )
    core_json = data_dir / "core.json"
    core_json.write_bytes(msgspec.json.encode(core_config))
    risk_socket = str((data_dir / "risk.sock").resolve())
    if len(os.fsencode(risk_socket)) >= UNIX_PATH_MAX:
        _say(
            f"risk could not start: its admin socket {risk_socket} is longer than a Unix "
            f"socket's path may be ({UNIX_PATH_MAX - 1} bytes): use a shorter data_dir"
        )
        return 1
    spawner = Spawner()
    risk: subprocess.Popen[str] | None = None
    stop = threading.Event()
    status = 0
    starting = True

    def on_signal(signum: int, frame: object) -> None:
        stop.set()
        if starting:
            # Out of the wait for a child's ready line (PEP 475: a handler that
            # raises ends the read): the children started so far are stopped below.
            raise StoppedDuringStart(signal.Signals(signum).name)

    def on_hangup(signum: int, frame: object) -> None:
        if risk is not None and risk.poll() is None:
            risk.send_signal(signal.SIGHUP)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_hangup)
    try:
        # 3. The core: recovers under the lock it is handed, then says its last seq.
        #    Compact: with its worker, which starts serving on "go" (after risk and the feed).
        if compact:
            compact_json = data_dir / "compact.json"
            compact_json.write_bytes(
                msgspec.json.encode(
                    CompactConfig(
                        core_config,
                        config,
                        port,
                        risk_socket,
                        listen_fd=order_sock.fileno(),
                    )
                )
            )
            core = spawner.spawn(
                ["-m", "ringmatch.child", "compact", str(compact_json)],
                "ready",
                "the core",
                (lock.fd, order_sock.fileno()),
                stdin=True,
            )
            _say(
                f"core running, pid {core.proc.pid} ({core.line}); topology compact: "
                "worker 0 runs in the core's process"
            )
        else:
            core = spawner.spawn(
                ["-m", "ringmatch.child", "core", str(core_json)],
                "ready",
                "the core",
                (lock.fd,),
            )
            _say(
                f"core running, pid {core.proc.pid} ({core.line}); topology processes: "
                f"{workers} worker process(es)"
            )
        start_seq = int(core.line.rpartition("=")[2])
        risk_spec = RiskProcessConfig(
            rings.events.spec.name,
            risk_reader,
            rings.control.spec.name,
            risk_socket,
            str(Path(config_path).resolve()),
            data_dir=str(data_dir),
            replay_upto=start_seq,
            wake_ms=server.reader_wake_ms,
            wake_records=server.reader_wake_records,
            accounts=[a.name for a in config.accounts],
            tick_sizes={sym.name: sym.tick_size for sym in config.symbols},
            cpus=config.cpus.risk,
        )
        risk_json = data_dir / "risk.json"
        risk_json.write_bytes(msgspec.json.encode(risk_spec))
        risk_child = spawner.spawn(
            ["-m", "ringmatch.child", "risk", str(risk_json)], "ready admin=", "risk"
        )
        risk = risk_child.proc
        _say(f"risk running, pid {risk.pid} (admin socket {risk_socket})")
        feed = config.feed
        feed_spec = FeedProcessConfig(
            event_ring=rings.events.spec.name,
            reader=feed_reader,
            data_dir=str(data_dir),
            host=server.host,
            port=feed_port,
            listen_fd=feed_sock.fileno(),
            max_queued=feed.max_queued,
            redis_url=feed.redis_url,
            redis_maxlen=feed.redis_maxlen,
            start_seq=start_seq,
            wake_ms=server.reader_wake_ms,
            wake_records=server.reader_wake_records,
            cpus=config.cpus.feed,
        )
        feed_json = data_dir / "feed.json"
        feed_json.write_bytes(msgspec.json.encode(feed_spec))
        spawner.spawn(
            ["-m", "ringmatch.child", "feed", str(feed_json)],
            "listening",
            "the feed",
            (feed_sock.fileno(),),
        )
        announce_feed(server.host, feed_port)
        if web_sock is not None:
            _start_web(spawner, config, data_dir, web_sock, feed_port, risk_socket)
        if compact:
            assert core.proc.stdin is not None
            core.proc.stdin.write("go\n")
            core.proc.stdin.flush()
        for k in range(workers):
            worker_json = data_dir / f"worker{k}.json"
            spec = WorkerConfig(
                config,
                rings.inputs[k].spec.name,
                rings.events.spec.name,
                k,
                port,
                risk_socket,
                str(data_dir),
                start_seq,
                listen_fd=order_sock.fileno(),
            )
            worker_json.write_bytes(msgspec.json.encode(spec))
            spawner.spawn(
                ["-m", "ringmatch.child", "worker", str(worker_json)],
                "listening",
                f"worker {k}",
                (order_sock.fileno(),),
            )
        pids = ", ".join(f"{c.role} {c.proc.pid}" for c in spawner.children)
        _say(f"supervisor pid {os.getpid()}; children: {pids}")
        starting = False
        announce(server.host, port)
        status = _watch(spawner.children, stop)
    except StoppedDuringStart as why:
        starting = False
        _say(f"{why} during start-up: stopping what has started")
    except RuntimeError as exc:
        starting = False
        _say(str(exc))
        status = 1
    finally:
        # Workers first (their last commands reach the core), then the feed and risk,
        # then the core (it drains what they left and closes the journal). Compact: the
        # core and its worker first, so that risk and the feed see every last event.
        order = list(reversed(spawner.children))
        if compact and spawner.children:
            order = [order[-1], *order[:-1]]
        for child in order:
            _stop(child)
        spawner.close()
    return status


def _start_web(
    spawner: Spawner,
    config: Config,
    data_dir: Path,
    web_sock: socket.socket,
    feed_port: int,
    risk_socket: str,
) -> None:
    """The web console: a child like the feed, reading the feed's port and risk's socket."""
    from ringmatch.gateway.web.process import WebAccount, WebProcessConfig

    spec = WebProcessConfig(
        host=config.web.host,
        port=web_sock.getsockname()[1],
        listen_fd=web_sock.fileno(),
        feed_host=config.server.host,
        feed_port=feed_port,
        risk_socket=risk_socket,
        data_dir=str(data_dir),
        accounts=[WebAccount(a.name, a.token, a.admin) for a in config.accounts],
        tick_sizes={s.name: s.tick_size for s in config.symbols},
        reject_delay_s=config.session.logon_reject_delay_s,
    )
    web_json = data_dir / "web.json"
    web_json.write_bytes(msgspec.json.encode(spec))
    os.chmod(web_json, 0o600)  # it holds the accounts' tokens
    spawner.spawn(
        ["-m", "ringmatch.child", "web", str(web_json)],
        "listening",
        "the web console",
        (web_sock.fileno(),),
    )
    announce_web(config.web.host, spec.port)


def _watch(children: list[Child], stop: threading.Event) -> int:
    while not stop.wait(0.2):
        for child in children:
            status = child.proc.poll()
            if status is not None:
                reason = child.said()
                how = f"failed: {reason};" if reason else f"{_how(status)}:"
                _say(f"{child.role} (pid {child.proc.pid}) {how} stopping the server")
                return 1
    return 0


def _stop(child: Child) -> None:
    proc = child.proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _say(f"{child.role} (pid {proc.pid}) did not stop within {STOP_TIMEOUT} s: killed")
        proc.kill()
        proc.wait()
