"""Microbenchmarks of the order-entry wire (version 2): what a gateway worker pays per batch.

.venv/bin/python -m pytest benchmarks/test_micro_wire.py --benchmark-only

The server decodes requests (NewOrder) and encodes reports (ExecutionReport) through
the sans-IO Connection; 256 of each per round, as a busy session's read and write.
"""

from __future__ import annotations

from typing import Any

from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce
from ringmatch.gateway.protocol.connection import NEED_DATA, Connection, Role
from ringmatch.gateway.protocol.messages import ExecType, ExecutionReport, NewOrder
from ringmatch.gateway.protocol.session_state import State

SYMBOLS = ["AAPL", "MSFT"]
ORDERS = [
    NewOrder(i, "AAPL", Side.BUY, OrderType.LIMIT, 100, 5, TimeInForce.IOC) for i in range(1, 257)
]
REPORTS = [
    ExecutionReport(i, ExecType.ACCEPTED, i, i, "AAPL", Side.BUY, 100, None, 0, 0, 5, 0)
    for i in range(1, 257)
]


def active(role: Role) -> Connection:
    conn = Connection(role, symbols=SYMBOLS)
    conn.state = State.ACTIVE
    return conn


def test_encode_256_reports(benchmark: Any) -> None:
    server = active(Role.SERVER)
    benchmark(server.send_many, REPORTS)


def test_decode_256_orders(benchmark: Any) -> None:
    server = active(Role.SERVER)
    data = active(Role.CLIENT).send_many(ORDERS)

    def read() -> int:
        server.receive_data(data)
        n = 0
        while server.next_event() is not NEED_DATA:
            n += 1
        return n

    assert benchmark(read) == 256
