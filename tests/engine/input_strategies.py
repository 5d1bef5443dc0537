"""Streams of every input the core sequences, for the record-level tests.

``command_streams`` (tests/engine/strategies.py) makes the engine's commands;
this mixes in what only the core sees: a gateway's NEWs that leave the order
id to the core (order_id 0, a client id), cancels and replaces by client id,
and session inputs (logons with and without cancel-on-disconnect, logoffs,
worker restarts), so that client-id translation and cancel-on-disconnect run
on the same streams as matching.
"""

from __future__ import annotations

import msgspec
from hypothesis import strategies as st

from ringmatch.engine.schema.commands import (
    Cancel,
    Input,
    NewOrder,
    Replace,
    SessionClosed,
    SessionOpened,
    WorkerStarted,
)
from tests.engine.strategies import ACCOUNTS, command_streams

WORKERS = 2


@st.composite
def core_input_streams(draw: st.DrawFn, max_size: int = 80) -> list[Input]:
    out: list[Input] = []
    for cmd in draw(command_streams(max_size)):
        # Records carry ids as u64: a negative id is the same reject as 0.
        if cmd.__struct_fields__[0] == "order_id" and cmd.order_id < 0:  # type: ignore[union-attr]
            cmd = msgspec.structs.replace(cmd, order_id=0)  # type: ignore[type-var]
        roll = draw(st.integers(0, 99))
        if roll < 10 and isinstance(cmd, NewOrder):
            # A gateway's NEW: the core assigns the id; client ids repeat at times.
            cmd = msgspec.structs.replace(cmd, order_id=0, client_order_id=draw(st.integers(1, 6)))
        elif roll < 16 and isinstance(cmd, Cancel | Replace):
            cmd = msgspec.structs.replace(cmd, order_id=0, client_order_id=draw(st.integers(1, 6)))
        out.append(cmd)
        roll = draw(st.integers(0, 99))
        if roll < 4:
            out.append(
                SessionOpened(
                    draw(st.sampled_from(ACCOUNTS)),
                    draw(st.integers(0, WORKERS - 1)),
                    draw(st.integers(1, 3)),
                    draw(st.booleans()),
                )
            )
        elif roll < 7:
            out.append(
                SessionClosed(
                    draw(st.sampled_from(ACCOUNTS)),
                    draw(st.integers(0, WORKERS - 1)),
                    draw(st.integers(1, 3)),
                )
            )
        elif roll < 8:
            out.append(WorkerStarted(draw(st.integers(0, WORKERS - 1)), WORKERS))
    return out
