"""How a gateway worker talks to the core: records in, event records out.

    directory = link.names(config)     # the core's ids for every configured name
    link.start(loop, on_events)        # on_events(EVENT_DTYPE array) runs on the loop,
                                       # in core order
    link.submit_records(records)       # INPUT_DTYPE records (seq 0), in order
    link.close()

Two implementations: ``LocalCore`` (below: a kernel in this very process, for
unit tests and ``serve --in-process``) and
``ringmatch.gateway.server.ring_link.RingLink`` (the real thing: an SPSC input ring
to the core process, the event ring back). Both carry the same records, so the
worker cannot tell them apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ringmatch.engine.core.kernel_choice import new_kernel
from ringmatch.engine.records import layout as L
from ringmatch.engine.records.names import Directory
from ringmatch.engine.records.stream import input_spans
from ringmatch.gateway.config import Config

OnEvents = Callable[[np.ndarray], None]


def configured_names(directory: Directory, config: Config) -> Directory:
    """``directory``, once every configured name has an id there (the core defines them
    at start); ValueError naming those that have none: the core is not this config's."""
    missing = [s.name for s in config.symbols if not directory.symbols.get(s.name)]
    missing += [a.name for a in config.accounts if not directory.accounts.get(a.name)]
    if missing:
        raise ValueError(
            f"the core's directory has no id for {', '.join(map(repr, missing))}: "
            "was the core started with this configuration?"
        )
    return directory


class CoreLink(Protocol):
    def names(self, config: Config) -> Directory: ...

    def start(self, loop: asyncio.AbstractEventLoop, on_events: OnEvents) -> None: ...

    def submit_records(self, records: np.ndarray) -> None: ...

    def close(self) -> None: ...


class LocalCore:
    """A kernel (compiled where built, as the core process runs) in the worker's own
    process, behind the CoreLink interface: the core's sequencing and its names, minus
    the rings and the journal. Events are delivered on a later loop turn, as the
    event ring would deliver them. ``submitted`` counts the batches (tests look)."""

    def __init__(self) -> None:
        self.kernel = new_kernel()
        self.directory = Directory()
        self.submitted: list[int] = []  # records per batch submitted
        self._seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_events: OnEvents | None = None

    def names(self, config: Config) -> Directory:
        """Define every configured name in the kernel, as the core process does at start."""
        directory = self.directory
        for symbol in config.symbols:
            if not directory.symbols.get(symbol.name):
                directory.symbols.add(symbol.name)
        for account in config.accounts:
            if not directory.accounts.get(account.name):
                directory.accounts.add(account.name)
        self.kernel.process(directory.define_records())
        return directory

    def start(self, loop: asyncio.AbstractEventLoop, on_events: OnEvents) -> None:
        self._loop, self._on_events = loop, on_events

    def submit_records(self, records: np.ndarray) -> None:
        assert self._loop is not None and self._on_events is not None, "start() first"
        self.submitted.append(len(records))
        batch = L.join_records([records], L.INPUT_DTYPE)  # ours: the caller may reuse its
        starts, _, _ = input_spans(batch)
        batch["seq"][starts] = np.arange(self._seq + 1, self._seq + 1 + len(starts))
        self._seq += len(starts)
        self._loop.call_soon(self._on_events, self.kernel.process(batch))

    def close(self) -> None:
        self._on_events = None
