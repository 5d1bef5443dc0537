"""The journal is the audit trail: ``replay --format journal`` gives, event for event,
what the live core published, pre-trade risk included.

    this test (a gateway) ──▶ input ring ──▶ core process (pretrade: ringmatch.risk.pretrade)
                                               │ ▲ control ring
    this test (reader 0) ◀── event ring ◀──────┤ │
    risk process (reader 1) ◀──────────────────┘ └── risk process: SetRiskLimits at start
                    ▲ admin socket: kill switches on and off, a reload of the limits

The core journals the stage it runs (StageChain) as its first input, so the
replay rebuilds the same chain: the orders rejected live with KILL_SWITCH and
RISK_MAX_QTY are rejected in the replay too. Nothing waits by sleeping.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from pathlib import Path

import msgspec
import pytest

from ringmatch.engine.core.pipeline import create_rings
from ringmatch.engine.journal.log import JournalReader
from ringmatch.engine.process.admin_socket import query
from ringmatch.engine.records.names import read_directory
from ringmatch.engine.schema.commands import StageChain
from ringmatch.engine.schema.enums import CancelReason, RejectReason, Side
from ringmatch.engine.schema.events import (
    Accepted,
    Cancelled,
    MassCancelled,
    Rejected,
    Trade,
    event_to_dict,
)
from ringmatch.risk.process import RiskProcessConfig
from tests.engine.ring_records import EventTaker
from tests.engine.test_core_process import REPO, read_until, ready_seq, start_core, stop
from tests.risk.test_risk_process import Gateway, start_risk_process

PRETRADE = "risk"
TOML = "[risk]\nmax_order_qty = {qty}\n"
DEADLINE = 60.0
REPLAY = [sys.executable, "-m", "ringmatch.cli", "replay"]


def until_answered(gateway: Gateway, account: str, accepted: bool) -> None:
    """Orders of ``account`` until one is accepted (or rejected): a kill switch changed."""
    for _ in range(200):
        ev = gateway.order(account, Side.BUY, 1, 1)
        if isinstance(ev, Accepted) is accepted:
            return
    pytest.fail(f"{account}'s orders never became {'accepted' if accepted else 'rejected'}")


def test_replay_of_the_journal_is_the_live_event_stream_risk_included(tmp_path: Path) -> None:
    rings = create_rings(f"rmt-{uuid.uuid4().hex[:8]}", 1, [True, False])
    data_dir = tmp_path / "data"
    accounts = ["probe", "mm", "tk", "bob", "carol", "dave", "whale"]
    core = start_core(rings, data_dir, pretrade=PRETRADE, symbols=["X"], accounts=accounts)
    procs = [core]
    try:
        start = ready_seq(core)
        assert start == 1  # the StageChain, journalled before anything else
        config = tmp_path / "ringmatch.toml"
        config.write_text(TOML.format(qty=10))
        sock = str(tmp_path / "risk.sock")
        spec = RiskProcessConfig(
            rings.events.spec.name,
            1,
            rings.control.spec.name,
            sock,
            str(config),
            data_dir=str(data_dir),
            replay_upto=start,
        )
        risk = start_risk_process(tmp_path, spec)  # sends the file's limits: SetRiskLimits
        procs.append(risk)
        taker = EventTaker(rings.events.reader(0), read_directory(data_dir))
        gateway = Gateway(rings.inputs[0].producer(), taker)
        seen = gateway.seen

        gateway.until_rejected(11, RejectReason.RISK_MAX_QTY)
        assert isinstance(gateway.order("mm", Side.SELL, 100, 5), Accepted)
        assert isinstance(gateway.order("tk", Side.BUY, 100, 3), Accepted)  # trades 3
        # An account's kill switch: its resting order is cancelled, its new ones rejected.
        assert isinstance(gateway.order("bob", Side.BUY, 90, 2), Accepted)
        assert query(sock, {"op": "kill", "account": "bob", "on": True, "why": "audit"})["ok"]
        read_until(
            gateway.reader,
            seen,
            lambda: any(isinstance(e, MassCancelled) and e.account == "bob" for e in seen),
        )
        ev = gateway.order("bob", Side.BUY, 90, 2)
        assert isinstance(ev, Rejected) and ev.reason is RejectReason.KILL_SWITCH
        assert query(sock, {"op": "kill", "account": "bob", "on": False})["ok"]
        until_answered(gateway, "bob", accepted=True)
        # The global one, cancelling every resting order, then off again.
        assert query(sock, {"op": "kill", "account": None, "on": True, "why": "audit"})["ok"]
        until_answered(gateway, "carol", accepted=False)
        assert query(sock, {"op": "kill", "account": None, "on": False})["ok"]
        until_answered(gateway, "carol", accepted=True)
        # A reload of the limits.
        config.write_text(TOML.format(qty=20))
        assert query(sock, {"op": "reload"})["ok"]
        gateway.until_accepted(15)
        gateway.until_rejected(21, RejectReason.RISK_MAX_QTY)
        assert isinstance(gateway.order("mm", Side.SELL, 101, 15), Accepted)
        assert isinstance(gateway.order("tk", Side.BUY, 101, 15), Accepted)  # trades 15

        risk.send_signal(signal.SIGTERM)
        assert risk.wait(timeout=DEADLINE) == 0
        procs.remove(risk)
        stop(core, gateway.reader, seen)
        procs.remove(core)
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        rings.close()

    reasons = {e.reason for e in seen if isinstance(e, Rejected)}
    assert {RejectReason.KILL_SWITCH, RejectReason.RISK_MAX_QTY} <= reasons
    kill_cancels = [e for e in seen if isinstance(e, Cancelled)]
    assert any(e.reason is CancelReason.KILL_SWITCH for e in kill_cancels)
    assert sum(1 for e in seen if isinstance(e, Trade)) >= 2
    assert all(e.seq > 0 for e in seen)  # every one of them from a sequenced input
    first = next(iter(JournalReader(data_dir)))
    assert first[0] == 1 and isinstance(first[1], StageChain) and first[1].pretrade == PRETRADE

    out = tmp_path / "events.jsonl"
    done = subprocess.run(
        [*REPLAY, str(data_dir), "--format", "journal", "--events-out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert done.returncode == 0, done.stderr
    assert "no pre-trade stage" not in done.stderr and "payload=" not in done.stderr
    replayed = [msgspec.json.decode(line) for line in out.read_bytes().splitlines()]
    live = [event_to_dict(e) for e in seen]
    assert len(replayed) == len(live)
    for n, (got, want) in enumerate(zip(replayed, live, strict=True)):
        assert got == want, f"event {n} differs"
