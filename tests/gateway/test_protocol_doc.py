"""docs/PROTOCOL.md's byte-by-byte examples are what the code sends and reads."""

from __future__ import annotations

import re

import msgspec
import pytest

from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.protocol.connection import NEED_DATA, Connection, Role
from ringmatch.gateway.protocol.messages import (
    CLIENT_TYPES,
    SERVER_TYPES,
    Cancel,
    ExecType,
    ExecutionReport,
    Logon,
    NewOrder,
)
from ringmatch.gateway.protocol.session_state import State
from tests.conftest import REPO

DOC = (REPO / "docs" / "PROTOCOL.md").read_text()

EXAMPLES = {
    "logon": (Role.CLIENT, State.AWAIT_LOGON, [Logon("alice", "alice-secret", 1, True)]),
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
                42, ExecType.PARTIALLY_FILLED, 42, 7, "AAPL", Side.BUY, 15000, 14990, 40, 40, 60, 9
            )
        ],
    ),
}


def documented(name: str) -> bytes:
    found = re.search(rf"<!-- example: {name} -->\n```hex\n(.*?)\n```", DOC, re.S)
    assert found, f"docs/PROTOCOL.md has no example {name!r}"
    return bytes.fromhex(found.group(1))


def test_every_example_in_the_doc_is_checked() -> None:
    assert set(re.findall(r"<!-- example: (\w+) -->", DOC)) == set(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_documented_bytes_are_what_is_sent_and_read(name: str) -> None:
    role, state, messages = EXAMPLES[name]
    sender = Connection(role)
    sender.state = state
    assert sender.send_many(messages) == documented(name)
    receiver = Connection(Role.SERVER if role is Role.CLIENT else Role.CLIENT)
    receiver.state = state
    receiver.receive_data(documented(name))
    got = []
    while (event := receiver.next_event()) is not NEED_DATA:
        got.append(event)
    assert got == messages


def test_the_tag_tables_match_the_code() -> None:
    for tag, kind in {**CLIENT_TYPES, **SERVER_TYPES}.items():
        assert re.search(rf"^\| {tag} \| {kind.__name__} \|", DOC, re.M), kind.__name__
    for kind in (*CLIENT_TYPES.values(), *SERVER_TYPES.values()):
        fields = kind.__struct_fields__
        if kind is ExecutionReport:
            row = re.search(r"^\| 13 \| ExecutionReport \| (.*) \|$", DOC, re.M)
            assert row is not None
            assert [f.split(" =")[0] for f in row.group(1).split(", ")] == list(fields)
        else:
            row = re.search(rf"^\| \d+ \| {kind.__name__} \| (.*) \|$", DOC, re.M)
            assert row is not None
            named = re.findall(r"(?:^|, )(\w+):", row.group(1))
            assert named == list(fields), kind.__name__


def test_leaving_out_trailing_defaults_is_allowed() -> None:
    server = Connection(Role.SERVER)
    body = msgspec.msgpack.encode([[1, "alice", "t"]])
    server.receive_data(len(body).to_bytes(4, "big") + body)
    assert server.next_event() == Logon("alice", "t", 1, False)
