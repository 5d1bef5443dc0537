"""Sending an order file over TCP (the work behind ``ringmatch send``)."""

from __future__ import annotations

import asyncio
import functools
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import msgspec

from ringmatch.engine.replay.order_csv import (
    FileInput,
    OrderFileError,
    OrderReader,
    open_order_file,
)
from ringmatch.engine.schema import commands as core
from ringmatch.gateway.client.order_entry import Answer, Client, LogonError, SessionEnded
from ringmatch.gateway.config import Config
from ringmatch.gateway.protocol.messages import (
    VENUE_VERSION,
    Cancel,
    ClientMessage,
    ExecType,
    ExecutionReport,
    MessageReject,
    NewOrder,
    Replace,
    ServerMessage,
)

BATCH = 1024  # rows read (and, without --wait-ack, queued) before the loop gets a turn


class SendError(Exception):
    """A send that cannot go on; ``status`` is the exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def to_wire(command: FileInput) -> ClientMessage:
    """The wire request (protocol version 3, which carries the venue's fields) for an
    order-file row: its order_id is the client order id. ValueError for a row no client
    may send: a PHASE or a CLOCK."""
    if isinstance(command, core.SetPhase):
        raise ValueError(
            "a PHASE row is not a client's: a symbol's phase moves by its schedule or by an "
            "admin (ringmatch risk --phase); replay the file (ringmatch replay) to run it"
        )
    if isinstance(command, core.Clock):
        raise ValueError(
            "a CLOCK row is not a client's: over TCP time is the core's clock; replay the "
            "file (ringmatch replay) to run it"
        )
    if isinstance(command, core.NewOrder):
        return NewOrder(
            command.order_id,
            command.symbol,
            command.side,
            command.order_type,
            command.price,
            command.qty,
            command.tif,
            command.post_only,
            command.stp,
            command.trigger_price,
            command.display_qty,
            command.expire_ts,
        )
    if isinstance(command, core.Cancel):
        return Cancel(command.order_id)
    assert isinstance(command, core.Replace)
    return Replace(command.order_id, command.price, command.qty, command.trigger_price)


@dataclass
class Summary:
    sent: int = 0
    accepted: int = 0  # NEW accepted, CANCEL done, REPLACE done
    rejected: Counter[str] = field(default_factory=Counter)
    fills: int = 0
    unanswered: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    seconds: float = 0.0
    failure: str = ""

    @property
    def complete(self) -> bool:
        return not self.failure and not self.unanswered

    def count_answer(self, answer: Answer) -> None:
        if type(answer) is MessageReject:
            self.rejected[f"MessageReject {answer.message}.{answer.field}"] += 1
        elif type(answer) is ExecutionReport and answer.exec_type is ExecType.REJECTED:
            self.rejected[answer.reason] += 1
        else:
            self.accepted += 1

    def describe(self, name: str) -> str:
        rejected = sum(self.rejected.values())
        lines = [
            f"send of {name}" + (f": {self.failure}" if self.failure else ""),
            f"  sent        {self.sent:,}",
            f"  accepted    {self.accepted:,}",
            f"  rejected    {rejected:,}",
        ]
        lines += [f"    {reason:<30}{n:,}" for reason, n in sorted(self.rejected.items())]
        lines.append(f"  fills       {self.fills:,} (execution reports)")
        if self.unanswered:
            lines.append(f"  unanswered  {self.unanswered:,}")
        rate = self.sent / self.seconds if self.seconds > 0 else 0.0
        lines.append(f"  speed       {rate:,.0f} rows/s ({self.seconds:.3f} s)")
        if self.latencies_ns:
            lines.append("  round trip  " + percentiles(self.latencies_ns))
        return "\n".join(lines)


def percentiles(latencies_ns: list[int]) -> str:
    ordered = sorted(latencies_ns)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000

    noun = "answer" if len(ordered) == 1 else "answers"
    return (
        f"p50 {at(0.5):,.0f} us, p99 {at(0.99):,.0f} us, p99.9 {at(0.999):,.0f} us, "
        f"max {ordered[-1] / 1000:,.0f} us ({len(ordered):,} {noun})"
    )


class _Sessions:
    """One logged-on client per account, opened at the account's first row."""

    def __init__(
        self, host: str, port: int, config: Config, summary: Summary, out: IO[bytes] | None
    ) -> None:
        self.host, self.port, self.config = host, port, config
        self.clients: dict[str, Client] = {}
        self.summary = summary
        self.out = out
        self.encoder = msgspec.json.Encoder()

    async def get(self, account: str) -> Client:
        client = self.clients.get(account)
        if client is not None:
            return client
        token = self.config.token_of(account)
        if token is None:
            raise SendError(f"account {account!r} has no token in the configuration", 2)
        try:
            client = await Client.connect(
                self.host, self.port, account, token, protocol_version=VENUE_VERSION
            )
        except LogonError as exc:
            raise SendError(f"logon of {account!r} refused: {exc.reason}", 1) from None
        except (TimeoutError, OSError) as exc:
            raise SendError(f"cannot connect to {self.host}:{self.port}: {exc}", 1) from None
        client.on_report(lambda message: self._report(account, message))
        self.clients[account] = client
        return client

    def _report(self, account: str, message: ServerMessage) -> None:
        if type(message) is ExecutionReport and message.exec_type in (
            ExecType.FILLED,
            ExecType.PARTIALLY_FILLED,
        ):
            self.summary.fills += 1
        if self.out is not None:
            record: dict[str, Any] = {"account": account, "type": type(message).__name__}
            record.update(msgspec.to_builtins(msgspec.structs.asdict(message)))
            self.out.write(self.encoder.encode(record) + b"\n")

    async def finish(self) -> None:
        """Wait until every session has every report for the newest input anyone saw."""
        newest = max((c.last_seq for c in self.clients.values()), default=0)
        await asyncio.gather(*(c.sync(newest) for c in self.clients.values()))
        await asyncio.gather(*(c.close() for c in self.clients.values()))


async def send_file(
    path: str,
    host: str,
    port: int,
    config: Config,
    wait_ack: bool = False,
    reports_out: str | None = None,
    timeout: float = 10.0,
) -> Summary:
    summary = Summary()
    try:
        source = open_order_file(path)
    except OSError as exc:
        raise SendError(f"cannot read {path}: {exc.strerror or exc}", 2) from None
    out = None
    try:
        if reports_out is not None:
            try:
                out = open(reports_out, "wb")  # noqa: SIM115 (closed in the finally below)
            except OSError as exc:
                raise SendError(f"cannot write {reports_out}: {exc.strerror or exc}", 2) from None
        sessions = _Sessions(host, port, config, summary, out)
        started = time.perf_counter()
        try:
            await _send_rows(OrderReader(source, path), sessions, summary, wait_ack, timeout)
            await sessions.finish()
        except OrderFileError as exc:
            raise SendError(str(exc), 2) from None
        except SessionEnded as exc:
            summary.failure = f"a session was closed by the server: {exc.reason}"
        finally:
            for client in sessions.clients.values():
                await client.close(logout=False)
        summary.seconds = time.perf_counter() - started
    finally:
        source.close()
        if out is not None:
            out.close()
    return summary


def _numbered_batches(reader: OrderReader) -> Iterator[list[tuple[int, FileInput]]]:
    """(line, input) in file order, BATCH at a time."""
    batch: list[tuple[int, FileInput]] = []
    for numbered in reader.commands():
        batch.append(numbered)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


async def _send_rows(
    reader: OrderReader, sessions: _Sessions, summary: Summary, wait_ack: bool, timeout: float
) -> None:
    latencies = summary.latencies_ns
    outstanding: list[asyncio.Future[Answer]] = []

    def answered(sent_ns: int, future: asyncio.Future[Answer]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        latencies.append(time.perf_counter_ns() - sent_ns)
        summary.count_answer(future.result())

    for batch in _numbered_batches(reader):
        for line, command in batch:
            try:
                message = to_wire(command)
            except ValueError as refused:
                raise OrderFileError(reader.name, line, str(refused)) from None
            assert not isinstance(command, core.SetPhase | core.Clock)  # to_wire refused them
            client = await sessions.get(command.account)
            future = client.expect(message)
            sent_ns = time.perf_counter_ns()
            client.send(message)
            summary.sent += 1
            if wait_ack:
                try:
                    await asyncio.wait_for(asyncio.shield(future), timeout)
                except TimeoutError:
                    summary.unanswered += 1
                    summary.failure = f"no answer within {timeout} s"
                    return
                answered(sent_ns, future)
            else:
                future.add_done_callback(functools.partial(answered, sent_ns))
                outstanding.append(future)
        if not wait_ack:
            for client in sessions.clients.values():
                await client.drain()
    if outstanding:
        done, pending = await asyncio.wait(outstanding, timeout=timeout)
        summary.unanswered += len(pending)
        for future in done:
            exc = future.exception()
            if exc is not None:
                raise exc
