"""The risk consumer as a real process beside a real core: limits, SIGHUP reload, admin, breach.

    this test (a gateway) ──▶ input ring ──▶ core process (pretrade: ringmatch.risk.pretrade)
                                               │ ▲ control ring
    this test (reader 0) ◀── event ring ◀──────┤ │
    risk process (reader 1) ◀──────────────────┘ └── risk process: SetRiskLimits, KillSwitch
                    ▲ admin socket (ringmatch risk)      ▲ SIGHUP

Nothing waits by sleeping: the test blocks on ready lines and on the event ring.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from ringmatch.engine.core.pipeline import create_rings
from ringmatch.engine.process.admin_socket import query
from ringmatch.engine.records.names import read_directory
from ringmatch.engine.rings.producer import RingProducer
from ringmatch.engine.schema.commands import Cancel, NewOrder
from ringmatch.engine.schema.enums import OrderType, RejectReason, Side
from ringmatch.engine.schema.events import Accepted, Event, Rejected
from ringmatch.risk.process import RiskProcessConfig
from tests.engine.ring_records import EventTaker, put
from tests.engine.test_core_process import REPO, read_until, ready_seq, start_core

NAMES = {"symbols": ["X"], "accounts": ["probe", "bob", "mm", "whale"]}

TOML = """\
[risk]
max_order_qty = {qty}
[[risk.accounts]]
account = "whale"
kill_position = 5
"""


class Gateway:
    """Sends orders on the input ring and reads their answer off the event ring."""

    def __init__(self, producer: RingProducer, reader: EventTaker) -> None:
        self.producer = producer
        self.reader = reader
        self.ids = itertools.count(1)
        self.seen: list[Event] = []

    def answer(self, account: str, client_id: int) -> Event:
        def mine(e: Event) -> bool:
            return (
                isinstance(e, Accepted | Rejected)
                and e.account == account
                and e.client_order_id == client_id
            )

        read_until(self.reader, self.seen, lambda: any(mine(e) for e in self.seen))
        return next(e for e in self.seen if mine(e))

    def order(self, account: str, side: Side, price: int, qty: int) -> Event:
        cid = next(self.ids)
        cmd = NewOrder(0, account, "X", side, OrderType.LIMIT, price, qty, client_order_id=cid)
        put(self.producer, [cmd], self.reader.directory)
        return self.answer(account, cid)

    def until_accepted(self, qty: int) -> None:
        """Orders of ``qty`` until one is accepted (the limits in force changed)."""
        for _ in range(200):
            ev = self.order("probe", Side.BUY, 1, qty)
            if isinstance(ev, Accepted):
                put(self.producer, [Cancel(ev.order_id, "probe")], self.reader.directory)
                return
        pytest.fail(f"an order of {qty} was never accepted")

    def until_rejected(self, qty: int, reason: RejectReason) -> None:
        for _ in range(200):
            ev = self.order("probe", Side.BUY, 1, qty)
            if isinstance(ev, Rejected):
                assert ev.reason is reason
                return
            put(self.producer, [Cancel(ev.order_id, "probe")], self.reader.directory)
        pytest.fail(f"an order of {qty} was never rejected")


def start_risk_process(
    tmp_path: Path, spec: RiskProcessConfig, *, stderr: int | None = None
) -> subprocess.Popen[str]:
    """``python -m ringmatch.child risk`` on ``spec``, returned once it says it is ready."""
    spec_path = tmp_path / "risk.json"
    spec_path.write_bytes(msgspec.json.encode(spec))
    risk = subprocess.Popen(
        [sys.executable, "-m", "ringmatch.child", "risk", str(spec_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    assert risk.stdout is not None
    ready = risk.stdout.readline()
    if not ready.startswith("ready admin="):
        risk.kill()
        risk.wait()
        pytest.fail(f"the risk process did not get ready: {ready!r}")
    return risk


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Gateway, subprocess.Popen[str], Path, str]]:
    rings = create_rings(f"rmt-{uuid.uuid4().hex[:8]}", 1, [True, True])
    data_dir = tmp_path / "data"
    core = start_core(rings, data_dir, fsync="never", pretrade="risk", **NAMES)
    procs = [core]
    try:
        start = ready_seq(core)
        config = tmp_path / "ringmatch.toml"
        config.write_text(TOML.format(qty=10))
        sock = str(tmp_path / "risk.sock")
        # With the data directory: the core's names (its directory file), the journal.
        spec = RiskProcessConfig(
            rings.events.spec.name,
            1,
            rings.control.spec.name,
            sock,
            str(config),
            data_dir=str(data_dir),
            replay_upto=start,
        )
        risk = start_risk_process(tmp_path, spec)
        procs.append(risk)
        taker = EventTaker(rings.events.reader(0), read_directory(data_dir))
        gateway = Gateway(rings.inputs[0].producer(), taker)
        yield gateway, risk, config, sock
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        rings.close()


def test_limits_reload_on_sighup_admin_kill_and_breach(
    server: tuple[Gateway, subprocess.Popen[str], Path, str],
) -> None:
    gateway, risk, config, sock = server
    # the limits of the file, sent by the risk process at start
    gateway.until_rejected(11, RejectReason.RISK_MAX_QTY)
    assert isinstance(gateway.order("probe", Side.BUY, 1, 10), Accepted)
    # SIGHUP: the new file's limits, journalled and applied by the running core
    config.write_text(TOML.format(qty=20))
    risk.send_signal(signal.SIGHUP)
    gateway.until_accepted(11)
    gateway.until_rejected(21, RejectReason.RISK_MAX_QTY)
    # a bad file is refused: the limits stay as they were
    config.write_text("[risk]\nmax_order_qty = -1\n")
    answer = query(sock, {"op": "reload"})
    assert not answer["ok"] and "max_order_qty" in answer["error"]
    gateway.until_rejected(21, RejectReason.RISK_MAX_QTY)
    # an admin kill switch through the socket, then off again
    assert query(sock, {"op": "kill", "account": "bob", "on": True, "why": "test"})["ok"]
    for _ in range(200):
        if isinstance(gateway.order("bob", Side.BUY, 1, 1), Rejected):
            break
    else:
        pytest.fail("bob's kill switch never took effect")
    assert query(sock, {"op": "kill", "account": "bob", "on": False})["ok"]
    # a post-trade breach: whale buys 6 > kill_position 5, and is switched off
    assert isinstance(gateway.order("mm", Side.SELL, 100, 6), Accepted)
    assert isinstance(gateway.order("whale", Side.BUY, 100, 6), Accepted)
    for _ in range(200):
        ev = gateway.order("whale", Side.BUY, 1, 1)
        if isinstance(ev, Rejected):
            assert ev.reason is RejectReason.KILL_SWITCH
            break
    else:
        pytest.fail("the breach never switched whale off")
    state = query(sock, {"op": "state"})
    assert state["accounts"]["whale"]["symbols"]["X"]["position"] == 6
    assert "kill_position" in state["accounts"]["whale"]["tripped"]
    assert state["limits"]["max_order_qty"] == 20
