"""How a child process of ``ringmatch serve`` learns its configuration.

The supervisor writes each child's settings as one JSON file and starts it as
``python -m MODULE CONFIG.json``; every child decodes that file the same way,
typed by msgspec, so a bad file fails at start with the field it got wrong.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TypeVar

import msgspec

T = TypeVar("T")

EXIT_USAGE = 2


def config_from_argv(argv: Sequence[str] | None, module: str, config_type: type[T]) -> T:
    """The one argument's JSON file decoded as ``config_type``; exit 2 on bad usage."""
    args = sys.argv[1:] if argv is None else list(argv)
    if len(args) != 1:
        print(f"usage: python -m {module} CONFIG.json", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
    with open(args[0], "rb") as f:
        return msgspec.json.decode(f.read(), type=config_type)
