"""The one summary every replay prints on stderr when it ends: CSV, LOBSTER, journal.

    replay of FILE (FORMAT)[: how it stopped]
      read        1,000 rows, 0 bad
      accepted    998
      rejected    2
        UNKNOWN_ORDER           2
      trades      310
      time        0.012 s
      speed       83,333 rows/s
      <the format's own rows: LOBSTER's message types, a journal's skipped seqs>
    <the format's own report: LOBSTER's check against its orderbook file>

The same rows, in the same order, under the same labels, whichever the format;
a count a format does not keep is shown as ``-``. ``rows`` is the format's own
word for what it reads (rows, messages, inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

LABELS = ("read", "accepted", "rejected", "trades", "time", "speed")
"""The shared rows, in order: what a test of "the same columns" compares."""
WIDTH = 12


@dataclass
class ReplaySummary:
    """What a replay did."""

    name: str  # the file or directory replayed
    format: str  # csv, lobster, journal
    unit: str  # what rows are called, plural: rows, messages, inputs
    read: int
    bad: int  # rows --skip-bad left out
    accepted: int | None  # None: not counted by this format
    rejected: int
    trades: int
    seconds: float
    stopped: str = ""  # why it stopped early, or how it ended with rows left out
    reasons: list[tuple[str, int]] = field(default_factory=list)  # rejects by reason
    details: list[tuple[str, str]] = field(default_factory=list)  # the format's own rows
    report: list[str] = field(default_factory=list)  # lines after the table

    def noun(self) -> str:
        """``unit``, or its singular for one (1 message, 2 messages)."""
        return self.unit.removesuffix("s") if self.read == 1 else self.unit

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) of the shared rows, LABELS in order."""
        rate = self.read / self.seconds if self.seconds > 0 else 0.0
        return [
            ("read", f"{self.read:,} {self.noun()}, {self.bad:,} bad"),
            ("accepted", "-" if self.accepted is None else f"{self.accepted:,}"),
            ("rejected", f"{self.rejected:,}"),
            ("trades", f"{self.trades:,}"),
            ("time", f"{self.seconds:.3f} s"),
            ("speed", f"{rate:,.0f} {self.unit}/s"),
        ]

    def render(self) -> str:
        head = f"replay of {self.name} ({self.format})"
        lines = [f"{head}: {self.stopped}" if self.stopped else head]
        for label, value in self.rows():
            lines.append(_row(label, value))
            if label == "rejected":
                lines += [f"    {reason:<24}{n:,}" for reason, n in sorted(self.reasons)]
        lines += [_row(label, value) for label, value in self.details]
        lines += self.report
        return "\n".join(lines)


def _row(label: str, value: str) -> str:
    return f"  {label:<{WIDTH}}{value}"
