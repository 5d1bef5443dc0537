"""What the server does with a message the wire cannot carry (a u16 length, known symbols)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from ringmatch.engine.schema.enums import Side
from ringmatch.gateway.config import SessionSettings
from ringmatch.gateway.protocol.connection import NEED_DATA, Connection, Role
from ringmatch.gateway.protocol.messages import ExecType, ExecutionReport, Logout, RiskState
from ringmatch.gateway.protocol.session_state import State
from ringmatch.gateway.server.session import Session
from ringmatch.gateway.server.worker import _answer_risk


class Transport:
    def __init__(self) -> None:
        self.written = bytearray()
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


def active_session() -> tuple[Session, Transport]:
    worker: Any = SimpleNamespace(
        config=SimpleNamespace(session=SessionSettings()), symbol_list=["AAPL"]
    )
    session = Session(worker)
    session.conn.state = State.ACTIVE
    session.transport = transport = Transport()  # type: ignore[assignment]
    return session, transport


def read(data: bytes) -> list[object]:
    client = Connection(Role.CLIENT, symbols=["AAPL"])
    client.state = State.ACTIVE
    client.receive_data(data)
    out = []
    while (event := client.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def test_a_report_that_cannot_be_encoded_drops_the_session_with_a_reason() -> None:
    session, transport = active_session()
    bad = ExecutionReport(1, ExecType.ACCEPTED, 1, 7, "NOPE", Side.BUY, 1, None, 0, 0, 5, 0)
    session.send_many([bad])
    assert read(bytes(transport.written)) == [Logout("server error: a report could not be encoded")]
    assert transport.closed


def test_a_risk_answer_too_big_for_one_message_comes_back_as_an_error() -> None:
    session, transport = active_session()

    async def answer() -> None:
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        done.set_result({"ok": True, "accounts": {f"a{i}": "x" * 100 for i in range(1000)}})
        _answer_risk(session, 5, done)

    asyncio.run(answer())
    (state,) = read(bytes(transport.written))
    assert isinstance(state, RiskState) and (state.request_id, state.ok) == (5, False)
    assert "exceeds the 65535-byte message limit" in state.error
