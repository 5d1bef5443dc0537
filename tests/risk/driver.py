"""The core's order of work, in-process: control inputs, pre-trade check, match, on_events.

A stand-in for the running core (engine/core/stage_chain.py) that the risk tests and
benchmark can drive without rings: it stamps each input with the next seq.
"""

from __future__ import annotations

from ringmatch.engine.book.matching import MatchingEngine
from ringmatch.engine.schema.commands import (
    Cancel,
    Clock,
    Input,
    KillSwitch,
    MassCancel,
    NewOrder,
    Replace,
    SetPhase,
    SetRiskLimits,
)
from ringmatch.engine.schema.enums import CommandKind
from ringmatch.engine.schema.events import Event, Rejected
from ringmatch.risk.pretrade import PreTradeRisk


class Driver:
    def __init__(self, stage: PreTradeRisk | None = None) -> None:
        self.engine = MatchingEngine()
        self.stage = stage if stage is not None else PreTradeRisk()
        self.seq = 0

    def send(self, cmd: Input) -> list[Event]:
        self.seq += 1
        seq, eng, stage = self.seq, self.engine, self.stage
        out: list[Event] = []
        if isinstance(cmd, (KillSwitch, SetRiskLimits)):
            for c in stage.control(cmd, eng):
                eng.last_seq = seq - 1  # one input: the mass cancels it causes share its seq
                out += eng.process(c, seq=seq)
            eng.last_seq = seq
        elif isinstance(cmd, (NewOrder, Replace)) and (reason := stage.check(cmd, eng)):
            kind = CommandKind.NEW if isinstance(cmd, NewOrder) else CommandKind.REPLACE
            out.append(Rejected(seq, kind, cmd.order_id, cmd.account, reason, cmd.client_order_id))
        else:
            assert isinstance(cmd, (NewOrder, Replace, Cancel, MassCancel, SetPhase, Clock))
            out = eng.process(cmd, seq=seq)
        stage.on_events(out)
        return out
