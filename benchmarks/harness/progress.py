"""Progress bars on a terminal, silence elsewhere (CI logs, pipes, tests)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm  # type: ignore[import-untyped]

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, unit: str = "it") -> Iterator[T]:
    """``items``, with a tqdm bar on stderr when stderr is a terminal."""
    bar: Iterable[T] = tqdm(
        items, desc=desc, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty(), leave=False
    )
    yield from bar
