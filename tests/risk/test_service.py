"""Admin requests: bad ones are answered with why, never fatal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ringmatch.engine.records.convert import encode_events
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema.commands import ControlCommand, KillSwitch, SetRiskLimits
from ringmatch.engine.schema.enums import CancelReason
from ringmatch.engine.schema.events import Event, MassCancelled
from ringmatch.risk import limits
from ringmatch.risk.service import RiskService
from ringmatch.risk_cli import format_kill, format_state


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        ([], "a request is a JSON object"),
        ({"op": "nope"}, "unknown op 'nope': state, kill, reload or phase"),
        ({"op": "kill", "account": "a"}, "on must be true or false"),
        ({"op": "kill", "account": "", "on": True}, "account must be a name or null"),
        ({"op": "kill", "account": "a", "on": True, "why": 3}, "why a string"),
        ({"op": "reload"}, "no configuration file"),
    ],
)
def test_bad_requests(request_: object, error: str) -> None:
    sent: list[ControlCommand] = []
    answer = RiskService(None, sent.append).handle(request_)
    assert answer["ok"] is False and error in answer["error"]
    assert sent == []


def test_start_kill_and_reload_send_control_inputs(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[risk]\nmax_loss = 7\n")
    sent: list[ControlCommand] = []
    service = RiskService(str(path), sent.append)
    service.start()
    assert service.handle({"op": "kill", "account": None, "on": True, "why": "x"})["ok"]
    path.write_text("[risk]\nmax_loss = 8\n")
    assert service.handle({"op": "reload"})["ok"]
    assert isinstance(sent[0], SetRiskLimits) and limits.decode(sent[0].payload).max_loss == 7
    assert sent[1] == KillSwitch(None, True, True, "x")
    assert isinstance(sent[2], SetRiskLimits) and limits.decode(sent[2].payload).max_loss == 8
    state = service.handle({"op": "state"})
    assert state["kill_switches"] == {"*": "x"} and state["limits"] == {"max_loss": 8}
    assert format_state(state).startswith("kill switches: * (x)")


# -- kill answers: the core's MASS_CANCELLED counts (risk/service.py, "Cancel counts") --

KILL = CancelReason.KILL_SWITCH


def kill_answer(
    service: RiskService,
    request: dict[str, object],
    events: list[list[Event]],
    wait: float = 5.0,
    as_records: bool = False,
) -> dict[str, object]:
    """``service.answer(request)`` while ``events`` arrive, batch by batch, as from the ring
    (``as_records``: as record batches, the risk process's path for big batches)."""
    names = Directory()

    def deliver(batch: list[Event]) -> None:
        if as_records:
            service.on_records(encode_events(batch, names), names)
        else:
            service.on_events(batch)

    async def go() -> dict[str, object]:
        task = asyncio.ensure_future(service.answer(request, wait))
        loop = asyncio.get_running_loop()
        for batch in events:  # run after the task's first step, which sends the kill
            loop.call_soon(deliver, batch)
        return await task

    return asyncio.run(go())


def cancelled(seq: int, account: str, count: int, reason: CancelReason = KILL) -> MassCancelled:
    return MassCancelled(seq, account, None, count, reason)


@pytest.mark.parametrize("as_records", [False, True])
def test_an_account_kill_answers_the_count_of_its_own_mass_cancel(as_records: bool) -> None:
    sent: list[ControlCommand] = []
    service = RiskService(None, sent.append, accounts=["a", "b"])
    other = [cancelled(5, "b", 9, CancelReason.MASS_CANCEL)]  # b's own: not a kill's
    answer = kill_answer(
        service,
        {"op": "kill", "account": "a", "on": True},
        [other, [cancelled(6, "a", 3)]],
        as_records=as_records,
    )
    assert sent == [KillSwitch("a", True, True, "admin")]
    assert (answer["cancelled"], answer["confirmed"]) == (3, True)
    assert format_kill(answer).endswith(
        "3 resting orders cancelled by the core (its MASS_CANCELLED count)"
    )


def test_a_breach_kill_sent_first_takes_the_first_answer() -> None:
    service = RiskService(None, [].append, accounts=["a"])
    service._kill_from_monitor(KillSwitch("a", True, True, "loss"))  # the monitor's, first
    request = {"op": "kill", "account": "a", "on": True}
    answer = kill_answer(service, request, [[cancelled(6, "a", 4)], [cancelled(7, "a", 0)]])
    assert answer["cancelled"] == 0  # the breach's kill had cancelled the 4


def test_an_unanswered_kill_says_the_count_is_unknown() -> None:
    service = RiskService(None, [].append, accounts=["a"])
    answer = kill_answer(service, {"op": "kill", "account": "a", "on": True}, [], wait=0.01)
    assert (answer["cancelled"], answer["confirmed"]) == (None, False)
    assert "the core has not confirmed its cancels yet" in format_kill(answer)
    # its answer comes late: the next kill of a gets its own, not that one
    answer = kill_answer(
        service,
        {"op": "kill", "account": "a", "on": True},
        [[cancelled(6, "a", 2)], [cancelled(7, "a", 0)]],
    )
    assert answer["cancelled"] == 0


@pytest.mark.parametrize("as_records", [False, True])
def test_the_global_kill_sums_its_seq_until_a_later_input_shows(as_records: bool) -> None:
    service = RiskService(None, [].append)
    batches = [
        [cancelled(8, "a", 2)],
        [cancelled(8, "b", 1)],  # the same input's: still counting
        [cancelled(9, "c", 5, CancelReason.MASS_CANCEL)],  # a later input: done
    ]
    request = {"op": "kill", "account": None, "on": True}
    answer = kill_answer(service, request, batches, as_records=as_records)
    assert answer["cancelled"] == 3 and answer["confirmed"] is True
    assert answer["cancelled_by_account"] == {"a": 2, "b": 1}
    assert format_kill(answer).endswith("3 resting orders cancelled by the core: a 2, b 1")


def test_a_global_kill_with_nothing_seen_counts_zero_unconfirmed_and_keeps_out_of_the_way() -> None:
    service = RiskService(None, [].append, accounts=["a"])
    answer = kill_answer(service, {"op": "kill", "account": None, "on": True}, [], wait=0.01)
    assert (answer["cancelled"], answer["confirmed"]) == (0, False)
    assert "no account had any (counted within the 2 s wait" in format_kill(answer)
    later = kill_answer(
        service, {"op": "kill", "account": "a", "on": True}, [[cancelled(9, "a", 1)]]
    )
    assert later["cancelled"] == 1


@pytest.mark.parametrize("on", [True, False])
def test_an_unknown_account_is_refused_and_nothing_is_sent(on: bool) -> None:
    sent: list[ControlCommand] = []
    service = RiskService(None, sent.append, accounts=["b", "a"], names=lambda: ["c"])
    answer = service.handle({"op": "kill", "account": "zz", "on": on})
    assert answer["ok"] is False and answer["unknown_account"] == "zz"
    assert answer["error"] == "kill: unknown account 'zz'; known accounts: a, b, c"
    assert sent == [] and service.kill_switches == {}
    assert service.handle({"op": "kill", "account": "c", "on": on})["ok"]  # the core named it


def test_an_admin_phase_change_goes_to_the_core_as_a_set_phase() -> None:
    from ringmatch.engine.schema.commands import SetPhase
    from ringmatch.engine.schema.enums import TradingPhase

    sent: list[object] = []
    service = RiskService(None, sent.append, tick_sizes={"ACME": "0.01", "BOLT": "0.5"})
    answer = service.handle({"op": "phase", "symbol": "ACME", "phase": "HALTED"})
    assert answer["ok"] is True and answer["phase"] == "HALTED"
    assert sent == [SetPhase("ACME", TradingPhase.HALTED)]
    bad = service.handle({"op": "phase", "symbol": "NOPE", "phase": "HALTED"})
    assert bad == {"ok": False, "error": "phase: unknown symbol 'NOPE'; symbols: ACME, BOLT"}
    bad = service.handle({"op": "phase", "symbol": "ACME", "phase": "LUNCH"})
    assert bad["ok"] is False and bad["error"] == (
        "phase: 'LUNCH' is not a phase (PRE_OPEN, OPENING_AUCTION, CONTINUOUS, "
        "CLOSING_AUCTION, CLOSED, HALTED)"
    )
    assert len(sent) == 1
