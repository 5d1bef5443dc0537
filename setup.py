"""Build hook: nothing is compiled today; everything about the package is in pyproject.toml.

The mypyc build of ``engine.book`` and ``engine.matching`` is gone: measured here
it ran the core *slower* than CPython 3.11 runs the sources (benchmarks/README.md,
"Compiled core (mypyc) vs pure Python"), and the compiled kernel of records
replaces it. What remains deletes the modules an earlier editable install
compiled into the source tree, which Python would otherwise still import in
preference to the sources.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent


def remove_old_builds() -> None:
    for old in [
        *HERE.glob("engine/book.*.so"),
        *HERE.glob("engine/matching.*.so"),
        *HERE.glob("ringmatch_core__mypyc.*"),
    ]:
        print(f"ringmatch build: removing the earlier mypyc build {old}", file=sys.stderr)
        old.unlink()


remove_old_builds()
setup()
