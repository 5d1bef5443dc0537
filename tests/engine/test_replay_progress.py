"""Every replay (CSV, LOBSTER, journal; paced or not) shows a progress bar on a
terminal and none elsewhere, and ends with the same summary table."""

from __future__ import annotations

import csv
import io
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ringmatch.benchmarks.workload import standard_workload
from ringmatch.cli import main
from ringmatch.engine.journal.log import JournalWriter
from ringmatch.engine.replay.order_csv import COLUMNS, command_to_row
from ringmatch.engine.replay.summary import LABELS
from tests.conftest import REPO

N = 3000
LOBSTER_ROWS = [f"{34200 + k},1,{k},{1 + k % 5},{2000000 + 100 * (k % 7)},1" for k in range(1, 40)]


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same kind of work in each format: an order CSV, a journal of the same
    commands, and a LOBSTER message file."""
    tmp = tmp_path_factory.mktemp("inputs")
    cmds = standard_workload(N, seed=3)
    orders = tmp / "orders.csv"
    with open(orders, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(COLUMNS)
        out.writerows(command_to_row(c) for c in cmds)
    journal = tmp / "journal"
    with JournalWriter(journal) as writer:
        for i in range(0, len(cmds), 100):
            writer.append_batch([(i + k + 1, c) for k, c in enumerate(cmds[i : i + 100])])
    lobster = tmp / "X_message_1.csv"
    lobster.write_text("".join(row + "\n" for row in LOBSTER_ROWS))
    return {"csv": orders, "journal": journal, "lobster": lobster}


def run_replay(
    monkeypatch: pytest.MonkeyPatch, source: Path, fmt: str, *extra: str, tty: bool
) -> tuple[int, str]:
    """``ringmatch replay`` in this process, its stderr a terminal or not."""
    err = Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    code = main(["replay", str(source), "--format", fmt, *extra])
    monkeypatch.undo()
    return code, err.getvalue()


FORMATS = ("csv", "lobster", "journal")
UNITS = {"csv": "rows", "lobster": "messages", "journal": "inputs"}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("paced", [False, True], ids=["fast", "speed"])
def test_a_terminal_gets_a_progress_bar_and_a_pipe_none(
    inputs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, fmt: str, paced: bool
) -> None:
    # --speed: the files' timestamps a few seconds apart at most, run a million times faster
    extra = ("--speed", "1000000") if paced else ()
    unit = UNITS[fmt]
    code, drawn = run_replay(monkeypatch, inputs[fmt], fmt, *extra, tty=True)
    assert code == 0, drawn
    bar, _, summary = drawn.partition(f"replay of {inputs[fmt]} ({fmt})")
    assert "100%" in bar and f"{unit}/s" in bar and "ETA" in bar, drawn
    assert "\x1b[" in bar  # drawn as a terminal draws it
    code, plain = run_replay(monkeypatch, inputs[fmt], fmt, *extra, tty=False)
    assert code == 0
    # Not a terminal: the summary and nothing else, no bar, no escape codes.
    assert plain.startswith(f"replay of {inputs[fmt]} ({fmt})\n"), plain
    assert "ETA" not in plain and "\x1b" not in plain and "%" not in plain
    # The terminal got the same summary after its bar.
    assert summary_labels(plain) == summary_labels(f"replay of {summary}")


def summary_labels(text: str) -> list[str]:
    """The labels of the summary's table rows: indented two spaces (reasons four)."""
    start = text.index("replay of ")
    lines = text[start:].splitlines()[1:]
    return [line.split()[0] for line in lines if line.startswith("  ") and line[2] != " "]


def test_the_three_replays_print_the_same_summary_columns(
    inputs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = {}
    for fmt in FORMATS:
        code, err = run_replay(monkeypatch, inputs[fmt], fmt, tty=False)
        assert code == 0, err
        tables[fmt] = summary_labels(err)
    for fmt, labels in tables.items():
        assert tuple(labels[: len(LABELS)]) == LABELS, (fmt, labels)
    # The CSV file and the journal hold the same commands: the same counts.
    _, csv_err = run_replay(monkeypatch, inputs["csv"], "csv", tty=False)
    _, journal_err = run_replay(monkeypatch, inputs["journal"], "journal", tty=False)
    for label in ("accepted", "rejected", "trades"):
        assert row(csv_err, label) == row(journal_err, label), label
    assert row(csv_err, "read") == f"{N:,} rows, 0 bad"
    assert row(journal_err, "read") == f"{N:,} inputs, 0 bad"
    assert int(row(csv_err, "trades").replace(",", "")) > 0


def row(text: str, label: str) -> str:
    for line in text.splitlines():
        if line.startswith(f"  {label} "):
            return line[2 + len(label) :].strip()
    raise AssertionError(f"no {label} row in {text!r}")


def test_the_real_cli_draws_the_bar_on_a_pty_and_not_in_a_pipe(inputs: dict[str, Path]) -> None:
    argv = [sys.executable, "-m", "ringmatch.cli", "replay", str(inputs["csv"])]
    master, slave = pty.openpty()
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    drawn = b""
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], deadline - time.monotonic())
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            drawn += chunk
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    text = drawn.decode(errors="replace")
    assert "rows/s" in text and "ETA" in text and "100%" in text, text
    assert "replay of" in text
    piped = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert piped.returncode == 0
    assert piped.stderr.startswith("replay of ") and "ETA" not in piped.stderr
