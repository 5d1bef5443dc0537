"""A v3 session's venue requests reach the core, whichever kernel it runs.

The compiled kernel's pre-trade stage checks the venue's orders as PreTradeRisk does
(engine/kernel/risk_checks.hpp, tests/kernel/test_risk_differential.py), so the
worker's intake keeps none of a version-3 session's stops, icebergs, DAY/GTD orders
and kept-price or re-triggered replaces from it: each goes to the core as its records
(a TERMS record after the owner where it has terms), in order, with nothing refused.
"""

from __future__ import annotations

import struct
from types import ModuleType

import numpy as np
import pytest

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.inputs import owners, terms_at
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema import commands as core
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce
from ringmatch.gateway.protocol.connection import Connection, Role
from ringmatch.gateway.server.order_intake import OrderIntake
from ringmatch.gateway.wire import wire_choice, wire_reference

MODULES = [pytest.param(wire_reference, id="reference")]
if (compiled := wire_choice.compiled_module()) is not None:
    MODULES.append(pytest.param(compiled, id="compiled"))

DIRECTORY = Directory(["AAPL"], ["alice"])
SYMBOL_IDS = np.array([0, 1], np.uint32)
CODEC = Connection(Role.SERVER, symbols=["AAPL"]).codec
CODEC.use_version(3)


def new_order(cid: int, order_type: int, tif: int, price: int, *venue: int) -> bytes:
    trigger, display, expire = (*venue, 0, 0, 0)[:3]
    return struct.pack(
        "<HBBBBBBIB3sQqqqqq", 64, 2, 3, 1, order_type, tif, 0, 1, 0, bytes(3), cid, price, 5,
        trigger, display, expire,
    )  # fmt: skip


def replace(cid: int, flags: int, price: int, trigger: int) -> bytes:
    return struct.pack("<HBBB3sQqqq", 40, 4, 3, flags, bytes(3), cid, price, 4, trigger)


@pytest.mark.parametrize("conv", MODULES)
def test_venue_requests_go_to_the_core_with_the_rest(conv: ModuleType) -> None:
    intake = OrderIntake(DIRECTORY, SYMBOL_IDS, conv, 65_536)
    stream = b"".join(
        [
            new_order(1, 1, 0, 100),  # a plain limit order
            new_order(2, 3, 0, 0, 120),  # a STOP
            new_order(3, 1, 5, 100, 0, 0, 10**18),  # GTD
            new_order(4, 1, 0, 100, 0, 2),  # an iceberg
            replace(1, 0, 101, 0),  # a plain replace
            replace(2, 1, 0, 0),  # keeps its price: a held stop's
            replace(2, 0, 100, 119),  # a new trigger
        ]
    )
    consumed, taken, refused = intake.take_wire(1, memoryview(stream), CODEC)
    assert consumed == len(stream)
    assert refused == []
    own = owners(taken).tolist()
    assert [(int(taken[i]["kind"]), int(taken[i]["client_order_id"])) for i in own] == [
        (L.NEW, 1),
        (L.NEW, 2),
        (L.NEW, 3),
        (L.NEW, 4),
        (L.REPLACE, 1),
        (L.REPLACE, 2),
        (L.REPLACE, 2),
    ]
    assert [terms_at(taken, i) for i in own] == [
        (None, None, None),
        (120, None, None),
        (None, None, 10**18),
        (None, 2, None),
        (None, None, None),
        (None, None, None),
        (119, None, None),
    ]
    assert int(taken[own[5]]["flags"]) & L.KEEP_PRICE
    batch = intake.batch()
    assert batch is not None and batch.tobytes() == taken.tobytes()


def test_a_throttled_sessions_venue_command_goes_to_the_core_too() -> None:
    intake = OrderIntake(DIRECTORY, SYMBOL_IDS, wire_reference, 65_536)
    stop = core.NewOrder(0, "alice", "AAPL", Side.BUY, OrderType.STOP, None, 1, trigger_price=9)
    day = core.NewOrder(0, "alice", "AAPL", Side.BUY, OrderType.LIMIT, 5, 1, TimeInForce.DAY)
    assert intake.add(stop) and intake.add(day)
    batch = intake.batch()
    assert batch is not None
    assert batch["kind"].tolist() == [L.NEW, 0, L.NEW]  # the stop's TERMS record after it
    assert terms_at(batch, 0) == (9, None, None)
    assert int(batch[2]["tif"]) == L.TIF_CODE[TimeInForce.DAY]
