"""Admin requests: bad ones are answered with why, never fatal."""

from __future__ import annotations

from pathlib import Path

import pytest

from ringmatch.engine.schema.commands import ControlCommand, KillSwitch, SetRiskLimits
from ringmatch.risk import limits
from ringmatch.risk.service import RiskService
from ringmatch.risk_cli import format_state


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        ([], "a request is a JSON object"),
        ({"op": "nope"}, "unknown op 'nope'"),
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
