"""docs/PROTOCOL.md is the byte-exact contract: its layouts, codes and examples are the code's."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ringmatch.engine.schema.enums import OrderType, Side, StpMode
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
    Replace,
    SymbolDirectory,
)
from ringmatch.gateway.protocol.session_state import State
from ringmatch.gateway.protocol.wire import LAYOUTS, LAYOUTS_V3, TYPE_OF, VAR_FIELDS
from tests.conftest import REPO

DOC = (REPO / "docs" / "PROTOCOL.md").read_text()
SYMBOLS = ["AAPL", "MSFT"]  # the examples' server: AAPL is id 1

V3_ONLY = {NewOrder: {"trigger_price", "display_qty", "expire_ts"}, Replace: {"trigger_price"}}
"""The fields a version-2 section does not document: only its v3 section has them."""
V3_LAYOUTS = {kind: layout for kind, layout in LAYOUTS_V3.items() if layout is not LAYOUTS[kind]}

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


EXAMPLES_V3: dict[str, tuple[Role, State, list[Any]]] = {
    "stop": (
        Role.CLIENT,
        State.ACTIVE,
        [
            NewOrder(
                9, "AAPL", Side.BUY, OrderType.STOP, None, 100, None, False, StpMode.NONE, 15100
            ),
            Replace(9, None, 80, 15050),
        ],
    ),
    "triggered": (
        Role.SERVER,
        State.ACTIVE,
        [ExecutionReport(57, ExecType.TRIGGERED, 57, 9, "AAPL", Side.BUY, None, None, 0, 0, 80, 0)],
    ),
}
"""The version-3 examples: sent and read by version-3 sessions."""
VERSION_OF = {**dict.fromkeys(EXAMPLES, 2), **dict.fromkeys(EXAMPLES_V3, 3)}


def documented(name: str) -> bytes:
    found = re.search(rf"<!-- example: {name} -->\n```hex\n(.*?)\n```", DOC, re.S)
    assert found, f"docs/PROTOCOL.md has no example {name!r}"
    return bytes.fromhex(found.group(1))


def connection(role: Role, state: State, version: int = 2) -> Connection:
    # A client's table as if learnt at logon (it learns it from the "accepted" example).
    learnt = role is Role.SERVER or state is State.ACTIVE
    conn = Connection(role, symbols=SYMBOLS if learnt else ())
    conn.codec.use_version(version)  # as its Logon picked
    conn.state = state
    return conn


def test_every_example_in_the_doc_is_checked() -> None:
    assert set(re.findall(r"<!-- example: (\w+) -->", DOC)) == {*EXAMPLES, *EXAMPLES_V3}


@pytest.mark.parametrize("name", sorted({*EXAMPLES, *EXAMPLES_V3}))
def test_the_documented_bytes_are_what_is_sent_and_read(name: str) -> None:
    role, state, messages = {**EXAMPLES, **EXAMPLES_V3}[name]
    version = VERSION_OF[name]
    sender = connection(role, state, version)
    assert sender.send_many(messages) == documented(name)
    other = Role.SERVER if role is Role.CLIENT else Role.CLIENT
    receiver = connection(other, state, version)
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


def test_the_v3_type_table_matches_the_code() -> None:
    section = DOC.split("## Version 3", 1)[1]
    for kind, layout in V3_LAYOUTS.items():
        row = rf"^\| {TYPE_OF[kind]} \| {kind.__name__} \| {layout.size} \|$"
        assert re.search(row, section, re.M), kind.__name__


def _layout(kind: type, layouts: dict[type, Any] = LAYOUTS) -> list[tuple[int, str]]:
    """(offset, type) of each field of ``kind``'s fixed block after the header."""
    out, at = [], 0
    for char in layouts[kind].format.lstrip("<").replace(" ", ""):
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
        if field in V3_ONLY.get(kind, ()):
            continue
        assert re.search(rf"\b{field}\b", section), f"{kind.__name__}.{field} is not documented"


@pytest.mark.parametrize(
    "kind", sorted(V3_LAYOUTS, key=lambda k: TYPE_OF[k]), ids=lambda k: k.__name__
)
def test_each_v3_message_table_is_its_layout(kind: type) -> None:
    heading = f"### {kind.__name__} v3 (type {TYPE_OF[kind]}, {LAYOUTS_V3[kind].size} bytes)"
    assert heading in DOC, heading
    section = DOC.split(heading, 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (\w+) \| (.*) \|$", section, re.M)
    assert [(int(off), kind_) for off, kind_, _ in rows] == _layout(kind, LAYOUTS_V3)
    for field in kind.__struct_fields__:  # type: ignore[attr-defined]
        assert re.search(rf"\b{field}\b", section), f"{kind.__name__}.{field} is not documented"
    if kind is Replace:
        assert "keep_price" in section


CODE_ROWS = {
    "side": codes.SIDE,
    "side (reports)": codes.SIDE_OR_NONE,
    "order_type": codes.ORDER_TYPE,
    "tif": codes.TIF,
    "stp": codes.STP,
    "exec_type": codes.EXEC_TYPE,
    "order_type (v3)": codes.ORDER_TYPE_V3,
    "tif (v3)": codes.TIF_V3,
    "exec_type (v3)": codes.EXEC_TYPE_V3,
    "request": codes.REQUEST,
    "reject reason": codes.REJECT_REASON,
    "cancel reason": codes.CANCEL_REASON,
    "op": codes.RISK_OP,
}


@pytest.mark.parametrize("name", sorted(CODE_ROWS))
def test_the_code_tables_match_the_code(name: str) -> None:
    assert f"| {name} | {CODE_ROWS[name].valid} |" in DOC
