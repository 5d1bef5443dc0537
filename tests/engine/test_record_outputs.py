"""--events-out and --trades-out written in C++ from event records are the bytes the
Python path writes (decode_events, event_to_dict, msgspec; TradeWriter's csv)."""

from __future__ import annotations

import io

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

from ringmatch.engine.core.reference_kernel import ReferenceKernel
from ringmatch.engine.records.convert import Encoder
from ringmatch.engine.replay.record_outputs import RecordWriters, csv_field, new_event_text
from ringmatch.engine.schema.commands import Command, MassCancel, NewOrder
from tests.engine.strategies import command_streams

pytestmark = pytest.mark.skipif(new_event_text() is None, reason="the writer was not built")

# Names that need escaping in JSON or quoting in CSV, and plain ones.
ODD_NAMES = ["alice", 'a"b', "c,d", "caf\u00e9", "x\\y", "tab\tname", " lead", "\u2028"]


def renamed(command: Command, names: dict[str, str]) -> Command:
    """``command`` with odd names for its account and symbol, and no negative order id
    (a record cannot hold one: the replay writes those through the Python path)."""
    account = names.setdefault(command.account or "", ODD_NAMES[len(names) % len(ODD_NAMES)])
    changes: dict[str, object] = {"account": account}
    if isinstance(command, NewOrder):
        changes["symbol"] = command.symbol and names.setdefault(
            "sym:" + command.symbol, "S" + ODD_NAMES[len(names) % len(ODD_NAMES)]
        )
    if isinstance(command, MassCancel):
        changes["symbol"] = None
    else:
        changes["order_id"] = abs(command.order_id)
    return msgspec.structs.replace(command, **changes)


def outputs(commands: list[Command], compiled: bool) -> tuple[str, bytes]:
    encoder = Encoder()
    events = ReferenceKernel().process(encoder.encode(commands, first_seq=1))
    trades, lines = io.StringIO(), io.BytesIO()
    writers = RecordWriters(encoder.directory, trades, lines, compiled=compiled)
    start = 0
    while start < len(events):  # batches of 7 or so, never splitting a trade's two records
        stop = min(start + 7, len(events))
        while (
            stop < len(events) and events["kind"][stop - 1] == 3 and not events["flags"][stop - 1]
        ):
            stop += 1
        writers.write(events[start:stop])
        start = stop
    return trades.getvalue(), lines.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command_streams())
def test_compiled_outputs_are_the_python_paths_bytes(commands: list[Command]) -> None:
    names: dict[str, str] = {}
    commands = [renamed(c, names) for c in commands]
    assert outputs(commands, compiled=True) == outputs(commands, compiled=False)


def test_a_name_is_quoted_in_csv_only_where_csv_must() -> None:
    assert csv_field("alice") == b"alice"
    assert csv_field("c,d") == b'"c,d"'
    assert csv_field('a"b') == b'"a""b"'
