"""docs/PROTOCOL.md is the byte-exact contract: its layouts, codes and examples are the code's."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.protocol import codes
from ringmatch.gateway.protocol.connection import NEED_DATA, Connection, Role
from ringmatch.gateway.protocol.messages import (
    Cancel,
    ExecType,
    ExecutionReport,
    Logon,
    LogonAccepted,
    MessageReject,
    NewOrder,
    SymbolDirectory,
)
from ringmatch.gateway.protocol.session_state import State
from ringmatch.gateway.protocol.wire import LAYOUTS, TYPE_OF, VAR_FIELDS
from tests.conftest import REPO

DOC = (REPO / "docs" / "PROTOCOL.md").read_text()
SYMBOLS = ["AAPL", "MSFT"]  # the examples' server: AAPL is id 1

EXAMPLES: dict[str, tuple[Role, State, list[Any]]] = {
    "logon": (Role.CLIENT, State.AWAIT_LOGON, [Logon("alice", "alice-secret", 2, True)]),
    "accepted": (
        Role.SERVER,
        State.LOGON_PENDING,
        [
            LogonAccepted("alice", 1.0, 5.0, 0, 1, 2),
            SymbolDirectory(1, "AAPL"),
            SymbolDirectory(2, "MSFT"),
        ],
    ),
    "batch": (
        Role.CLIENT,
        State.ACTIVE,
        [NewOrder(7, "AAPL", Side.BUY, OrderType.LIMIT, 15000, 100), Cancel(3)],
    ),
    "fill": (
        Role.SERVER,
        State.ACTIVE,
        [
            ExecutionReport(
                42, ExecType.PARTIALLY_FILLED, 42, 7, "AAPL", Side.BUY, None, 14990, 40, 40, 60, 9
            )
        ],
    ),
    "reject": (
        Role.SERVER,
        State.ACTIVE,
        [MessageReject("NewOrder", "side", "invalid code 7 (valid: 1 BUY, 2 SELL)", 8)],
    ),
}


def documented(name: str) -> bytes:
    found = re.search(rf"<!-- example: {name} -->\n```hex\n(.*?)\n```", DOC, re.S)
    assert found, f"docs/PROTOCOL.md has no example {name!r}"
    return bytes.fromhex(found.group(1))


def connection(role: Role, state: State) -> Connection:
    # A client's table as if learnt at logon (it learns it from the "accepted" example).
    learnt = role is Role.SERVER or state is State.ACTIVE
    conn = Connection(role, symbols=SYMBOLS if learnt else ())
    conn.state = state
    return conn


def test_every_example_in_the_doc_is_checked() -> None:
    assert set(re.findall(r"<!-- example: (\w+) -->", DOC)) == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_documented_bytes_are_what_is_sent_and_read(name: str) -> None:
    role, state, messages = EXAMPLES[name]
    sender = connection(role, state)
    assert sender.send_many(messages) == documented(name)
    receiver = connection(Role.SERVER if role is Role.CLIENT else Role.CLIENT, state)
    receiver.receive_data(documented(name))
    got = []
    while (event := receiver.next_event()) is not NEED_DATA:
        got.append(event)
    assert got == messages
    assert receiver.codec.encode_many(got) == documented(name)  # and back to the same bytes


def _size(kind: type) -> str:
    size = LAYOUTS[kind].size
    return f"{size} + var" if kind in VAR_FIELDS else str(size)


def test_the_type_tables_match_the_code() -> None:
    for kind, code in TYPE_OF.items():
        row = rf"^\| {code} \| {kind.__name__} \| {re.escape(_size(kind))} \|$"
        assert re.search(row, DOC, re.M), kind.__name__


_WIRE_TYPE = {"B": "u8", "H": "u16", "I": "u32", "Q": "u64", "q": "i64", "d": "f64"}


def _layout(kind: type) -> list[tuple[int, str]]:
    """(offset, type) of each field of ``kind``'s fixed block after the header."""
    out, at = [], 0
    for char in LAYOUTS[kind].format.lstrip("<").replace(" ", ""):
        if at >= 4:
            out.append((at, _WIRE_TYPE[char]))
        at += {"u8": 1, "u16": 2, "u32": 4, "u64": 8, "i64": 8, "f64": 8}[_WIRE_TYPE[char]]
    return out


@pytest.mark.parametrize(
    "kind", sorted(LAYOUTS, key=lambda k: TYPE_OF[k]), ids=lambda k: k.__name__
)
def test_each_message_table_is_its_layout(kind: type) -> None:
    suffix = " + var" if kind in VAR_FIELDS else ""
    heading = f"### {kind.__name__} (type {TYPE_OF[kind]}, {LAYOUTS[kind].size} bytes{suffix})"
    assert heading in DOC, heading
    section = DOC.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (\w+) \| (.*) \|$", section, re.M)
    assert [(int(off), kind_) for off, kind_, _ in rows] == _layout(kind)
    if kind in VAR_FIELDS:
        listed = re.search(r"^Var fields: (.*?)(?:\n\n|\Z)", section, re.M | re.S)
        assert listed is not None, kind.__name__
        assert re.findall(r"`(\w+)`", listed.group(1)) == list(VAR_FIELDS[kind])
    for field in kind.__struct_fields__:  # type: ignore[attr-defined]
        assert re.search(rf"\b{field}\b", section), f"{kind.__name__}.{field} is not documented"


CODE_ROWS = {
    "side": codes.SIDE,
    "side (reports)": codes.SIDE_OR_NONE,
    "order_type": codes.ORDER_TYPE,
    "tif": codes.TIF,
    "stp": codes.STP,
    "exec_type": codes.EXEC_TYPE,
    "request": codes.REQUEST,
    "reject reason": codes.REJECT_REASON,
    "cancel reason": codes.CANCEL_REASON,
    "op": codes.RISK_OP,
}


@pytest.mark.parametrize("name", sorted(CODE_ROWS))
def test_the_code_tables_match_the_code(name: str) -> None:
    assert f"| {name} | {CODE_ROWS[name].valid} |" in DOC
