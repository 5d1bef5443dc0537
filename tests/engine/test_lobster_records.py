"""The plain LOBSTER replay through records and the kernel does what LobsterReplay does.

Columns: the compiled pass reads what read_messages reads, or leaves the file
to it (same rows, same errors). Replay: on generated message files, the same
counts and the same final book as LobsterReplay's unseeded run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ringmatch.engine.core.kernel_choice import new_kernel
from ringmatch.engine.replay.lobster import LobsterFileError, read_messages
from ringmatch.engine.replay.lobster_records import (
    PlainLobsterReplay,
    compiled_lobster_parser,
    read_message_columns,
)
from ringmatch.engine.replay.lobster_replay import LobsterReplay

pytestmark = pytest.mark.skipif(not compiled_lobster_parser(), reason="the parser was not built")

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def columns_or_error(path: Path) -> object:
    try:
        c = read_message_columns(path)
    except LobsterFileError as exc:
        return str(exc)
    cols = (c.line, c.ts_ns, c.type, c.order_id, c.size, c.price, c.direction)
    return [col.tolist() for col in cols], c.lines_in_file


def messages_or_error(path: Path) -> object:
    try:
        m = read_messages(path)
    except LobsterFileError as exc:
        return str(exc)
    cols = (m.line, m.ts_ns, m.type, m.order_id, m.size, m.price, m.direction)
    return [list(col) for col in cols], m.lines_in_file


FIELDS = {
    "time": ["34200", "34200.5", "34200.017459617", "34200.0174596171", "3.4e4", "", "-1", "1."],
    "number": ["1", "7", "0", "-1", "2238100", "99999999999999999999", " 5", "+5", "x"],
}


@st.composite
def message_lines(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 30)) == 0:
        return draw(st.sampled_from(["", "1,2,3", "34200,1,1,1,1,1,1", "\r"]))
    odd = draw(st.integers(0, 8)) == 0
    time = draw(st.sampled_from(FIELDS["time"] if odd else FIELDS["time"][:3]))
    numbers = [draw(st.sampled_from(FIELDS["number"] if odd else ["1", "7", "2238100"]))]
    return ",".join(
        [time, str(draw(st.integers(1, 7))), *numbers * 3, draw(st.sampled_from(["1", "-1"]))]
    )


@SETTINGS
@given(st.lists(message_lines(), min_size=0, max_size=12), st.booleans())
def test_compiled_columns_are_read_messages_rows(
    tmp_path: Path, lines: list[str], final_newline: bool
) -> None:
    path = tmp_path / "X_message_1.csv"
    path.write_bytes(("\n".join(lines) + ("\n" if final_newline else "")).encode())
    assert columns_or_error(path) == messages_or_error(path)


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes_read_as_read_messages_reads_them(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "X_message_1.csv"
    path.write_bytes(data)
    assert columns_or_error(path) == messages_or_error(path)


@st.composite
def message_files(draw: st.DrawFn) -> str:
    """Good messages on a few order ids and prices, so that events meet their orders."""
    rows = []
    t = 34200_000_000_000
    for _ in range(draw(st.integers(1, 60))):
        t += draw(st.integers(0, 10**9))
        kind = draw(st.sampled_from([1, 1, 1, 2, 3, 3, 4, 4, 5, 7]))
        oid = draw(st.integers(1, 12)) if kind != 5 else 0
        size = draw(st.integers(1, 50))
        price = 10_000 + 100 * draw(st.integers(-3, 3))
        direction = draw(st.sampled_from([1, -1]))
        rows.append(f"{t // 10**9}.{t % 10**9:09d},{kind},{oid},{size},{price},{direction}")
    return "\n".join(rows) + "\n"


@SETTINGS
@given(message_files())
def test_the_plain_replay_counts_and_books_as_lobster_replay_does(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "X_message_1.csv"
    path.write_text(text)
    old = LobsterReplay("X", 1)
    old.run(read_messages(path), 0, None, None, None, None)
    new = PlainLobsterReplay("X", new_kernel())
    new.run(read_message_columns(path))
    o, n = old.counts, new.counts
    assert (n.by_type, n.orphans, n.gone, n.short, n.rejected) == (
        o.by_type,
        o.orphans,
        o.gone,
        o.short,
        o.rejected,
    )
    book = new.feed.kernel.l3(1)
    assert [(x.order_id, x.price, x.qty) for x in old.engine.l3("X")] == list(
        zip(book["order_id"].tolist(), book["price"].tolist(), book["qty"].tolist(), strict=True)
    )
