"""The venue's docs cannot rot: docs/ORDER_TYPES.md shows the real example and what it
prints, names every order type, tif, phase and venue reason, and stays honest about
where the venue's order types work today."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from ringmatch.engine.schema.enums import (
    CancelReason,
    OrderType,
    RejectReason,
    TimeInForce,
    TradingPhase,
)

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "ORDER_TYPES.md"
EXAMPLE = REPO / "examples" / "venue_example.py"
OUTPUT = REPO / "examples" / "venue_example.out"

VENUE_REJECTS = [
    "INVALID_TRIGGER_PRICE",
    "STOP_NOT_HELD_TIF",
    "STOP_WOULD_TRIGGER",
    "BAD_DISPLAY_QTY",
    "INVALID_EXPIRE_TS",
    "EXPIRE_TS_PASSED",
    "NOT_IN_CALL_PHASE",
    "MARKET_CLOSED",
    "MARKET_NOT_REPLACEABLE",
    "UNKNOWN_PHASE",
]
VENUE_CANCELS = ["EXPIRED", "AUCTION_UNFILLED", "MARKET_CLOSED"]


def test_the_doc_includes_the_venue_example_verbatim() -> None:
    assert f"```python\n{EXAMPLE.read_text()}```" in DOC.read_text()


def test_the_venue_example_prints_what_the_doc_shows() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    )  # fmt: skip
    expected = OUTPUT.read_text()
    assert done.stdout == expected
    assert f"```\n{expected}```" in DOC.read_text()


def test_the_doc_names_every_order_type_tif_and_phase() -> None:
    doc = DOC.read_text()
    members = [*OrderType, *TimeInForce, *TradingPhase]
    missing = [m.value for m in members if f"`{m.value}`" not in doc]
    assert missing == []


def test_the_doc_names_every_reason_the_venue_added() -> None:
    # The lists are the venue's, written out: a reason the venue adds later must be
    # added here, and so to the doc.
    assert set(VENUE_REJECTS) <= {r.value for r in RejectReason}
    assert set(VENUE_CANCELS) <= {r.value for r in CancelReason}
    added_rejects = list(RejectReason)[
        list(RejectReason).index(RejectReason.INVALID_TRIGGER_PRICE) :
    ]
    assert [r.value for r in added_rejects] == VENUE_REJECTS
    doc = DOC.read_text()
    missing = [name for name in VENUE_REJECTS + VENUE_CANCELS if f"`{name}`" not in doc]
    assert missing == []


def test_the_doc_says_where_the_venue_order_types_work_today() -> None:
    doc = DOC.read_text()
    assert "## Where they work today" in doc
    assert "refuse_venue_fields" in doc
    assert "type: unknown value 'STOP' (expected LIMIT | MARKET)" in doc
    planned = doc[doc.index("## Planned: order-file columns") :]
    assert "Not yet accepted" in planned
    for column in ("trigger_price", "display_qty", "expire_ts", "PHASE"):
        assert f"`{column}`" in planned


def test_the_order_file_still_refuses_what_the_doc_calls_planned(tmp_path: Path) -> None:
    """The day the order file takes a STOP, the doc's "not yet accepted" must go."""
    from ringmatch.engine.records import layout as L
    from ringmatch.engine.records.convert import encode_commands
    from ringmatch.engine.schema.commands import NewOrder
    from ringmatch.engine.schema.enums import Side

    orders = tmp_path / "orders.csv"
    orders.write_text(
        "ts_ns,action,order_id,account,symbol,side,type,tif,price,qty,post_only,stp\n"
        "1,NEW,1,alice,ACME,BUY,STOP,,,5,,\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", "replay", str(orders)],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "type: unknown value 'STOP' (expected LIMIT | MARKET)" in done.stderr
    iceberg = NewOrder(1, "alice", "ACME", Side.BUY, OrderType.LIMIT, 100, 10, display_qty=5)
    # Records (layout 2) do carry it: a NEW flagged TERMS, its TERMS record after it.
    records = encode_commands([iceberg])
    new = int(np.flatnonzero(records["kind"] == L.NEW)[0])
    assert records["flags"][new] & L.TERMS
    assert records[new + 1 : new + 2].view(L.TERMS_DTYPE)["display_qty"][0] == 5
