"""The venue's docs cannot rot: docs/ORDER_TYPES.md shows the real example and what it
prints, names every order type, tif, phase and venue reason, and stays honest about
where the venue's order types work today."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    today = doc[doc.index("## Where they work today") : doc.index("## The fields")]
    # Every kernel, with the pre-trade stage or without, and each differential test
    # that holds the compiled kernel to the reference is named.
    for where in ("test_venue_differential.py", "test_risk_differential.py", "auction_rules.cpp"):
        assert where in today
    assert "not yet" not in today
    columns = doc[doc.index("## The order file's columns") :]
    for column in ("trigger_price", "display_qty", "expire_ts", "phase", "PHASE", "CLOCK"):
        assert f"`{column}`" in columns


def test_the_doc_s_order_file_replays_as_it_says(tmp_path: Path) -> None:
    """The example under "The order file's columns", through the reference kernel; the
    compiled one gives the same events, as "Where they work today" says."""
    import json
    import re

    doc = DOC.read_text()
    columns = doc[doc.index("## The order file's columns") :]
    orders = tmp_path / "orders.csv"
    orders.write_text(re.findall(r"```\n(ts_ns,action.*?)```", columns, re.S)[0])
    events = tmp_path / "e.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", "replay", str(orders), "--events-out", str(events)],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, PYTHONPATH=str(REPO), RINGMATCH_PURE="1"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    got = [json.loads(line) for line in events.read_text().splitlines()]
    kinds = [e["type"] for e in got]
    assert kinds.count("refreshed") == 2 and kinds.count("auction_trade") == 1
    assert {"type": "cancelled", "order_id": 3, "reason": "EXPIRED"}.items() <= got[7].items()
    assert not any(e["type"] == "triggered" for e in got)  # prints at 100, trigger 101
    auction = got[kinds.index("auction_trade")]
    assert (auction["buy_account"], auction["sell_account"], auction["price"]) == (
        "erin",
        "alice",
        100,
    )
    from ringmatch.engine.core import kernel_choice

    if kernel_choice.compiled_module() is None:
        return
    compiled_env = {k: v for k, v in os.environ.items() if k != "RINGMATCH_PURE"}
    done = subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", "replay", str(orders), "--events-out", str(events)],
        capture_output=True, text=True, timeout=120,
        env=dict(compiled_env, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in events.read_text().splitlines()] == got
