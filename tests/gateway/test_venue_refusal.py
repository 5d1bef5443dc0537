"""A core that cannot run the venue rules never gets a venue input from a v3 session.

With the compiled kernel (``venue_gate``: venue_gate's test) the worker's intake keeps a
version-3 session's stops, icebergs, DAY/GTD orders and kept-price or re-triggered
replaces from the core, answering each with a MessageReject naming its first venue
field, and passes everything else of the same stream on, records intact.
"""

from __future__ import annotations

import struct
from types import ModuleType

import numpy as np
import pytest

from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.schema import commands as core
from ringmatch.engine.schema.enums import OrderType, Side, TimeInForce
from ringmatch.gateway.protocol.connection import Connection, Role
from ringmatch.gateway.server.order_intake import OrderIntake
from ringmatch.gateway.server.venue_refusal import STAGED, WHY
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
def test_venue_requests_are_refused_and_the_rest_goes_on(conv: ModuleType) -> None:
    intake = OrderIntake(DIRECTORY, SYMBOL_IDS, conv, 65_536, venue_gate=STAGED)
    stream = b"".join(
        [
            new_order(1, 1, 0, 100),  # a plain limit order: the core's
            new_order(2, 3, 0, 0, 120),  # a STOP
            new_order(3, 1, 5, 100, 0, 0, 10**18),  # GTD
            new_order(4, 1, 0, 100, 0, 2),  # an iceberg
            replace(1, 0, 101, 0),  # a plain replace: the core's
            replace(2, 1, 0, 0),  # keeps its price: a held stop's
            replace(2, 0, 100, 119),  # a new trigger
        ]
    )
    consumed, taken, refused = intake.take_wire(1, memoryview(stream), CODEC)
    assert consumed == len(stream)
    assert [(int(r["kind"]), int(r["client_order_id"])) for r in taken] == [
        (L.NEW, 1),
        (L.REPLACE, 1),
    ]
    assert [(m.message, m.field, m.client_order_id) for m in refused] == [
        ("NewOrder", "order_type", 2),
        ("NewOrder", "tif", 3),
        ("NewOrder", "display_qty", 4),
        ("Replace", "flags", 2),
        ("Replace", "trigger_price", 2),
    ]
    assert all(m.reason.endswith(WHY) for m in refused)
    assert refused[0].reason.startswith("a NEW with order_type STOP")
    batch = intake.batch()
    assert batch is not None and batch.tobytes() == taken.tobytes()


def test_a_throttled_sessions_venue_command_is_refused_too() -> None:
    intake = OrderIntake(DIRECTORY, SYMBOL_IDS, wire_reference, 65_536, venue_gate=STAGED)
    stop = core.NewOrder(0, "alice", "AAPL", Side.BUY, OrderType.STOP, None, 1, trigger_price=9)
    refused = intake.venue_reject(stop)
    assert refused is not None and (refused.field, refused.message) == ("order_type", "NewOrder")
    day = core.NewOrder(0, "alice", "AAPL", Side.BUY, OrderType.LIMIT, 5, 1, TimeInForce.DAY)
    assert intake.venue_reject(day) is not None
    plain = core.NewOrder(0, "alice", "AAPL", Side.BUY, OrderType.LIMIT, 5, 1)
    assert intake.venue_reject(plain) is None
    runs = OrderIntake(DIRECTORY, SYMBOL_IDS, wire_reference, 65_536)  # its core runs them all
    assert runs.venue_reject(stop) is None
