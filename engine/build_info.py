"""Which core is running, for ``ringmatch --version`` and every benchmark result.

Today there is one: the pure-Python engine. (The mypyc build of the hot modules
went: it ran slower than the sources, benchmarks/README.md.) ``RINGMATCH_PURE=1``
is kept as the switch that forces the pure engine, so scripts and CI that set it
keep working once a compiled kernel is back.
"""

from __future__ import annotations

import os

PURE_ENV = "RINGMATCH_PURE"


def wants_pure() -> bool:
    """True when ``RINGMATCH_PURE`` asks for the pure-Python core."""
    return os.environ.get(PURE_ENV, "").strip().lower() in {"1", "true", "yes"}


def compiled() -> bool:
    """True when the core running in this process is a compiled one (never, today)."""
    return False


def describe() -> str:
    """One line for ``--version`` and benchmark results: which core runs."""
    return "pure-Python core"
