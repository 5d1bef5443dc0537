"""Build hook: the list of packages; everything else about the package is in pyproject.toml.

pyproject.toml maps the folders engine/, gateway/, risk/ and benchmarks/ to
``ringmatch.engine`` and so on (setuptools package-dir); this file finds every
package below them, so a new sub-package needs no edit here.

The mypyc build of engine/book.py and engine/matching.py is gone: measured
here it ran the core *slower* than CPython 3.11 runs the sources (benchmarks/README.md,
"Compiled core (mypyc) vs pure Python"), and the compiled kernel of records
is to replace it. What remains deletes the modules an earlier editable install
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


ROOMS = {
    "ringmatch": "ringmatch",
    "ringmatch.engine": "engine",
    "ringmatch.gateway": "gateway",
    "ringmatch.risk": "risk",
    "ringmatch.benchmarks": "benchmarks",
}


def packages() -> list[str]:
    found = []
    for name, folder in ROOMS.items():
        for init in sorted((HERE / folder).rglob("__init__.py")):
            rel = init.parent.relative_to(HERE / folder)
            found.append(".".join([name, *rel.parts]))
    return found


# -- the replay's parsers and writers (engine/replay/_order_parse.pyx, _lobster_parse.pyx,
# _event_lines.pyx) ---------------------------------------------------------------------
# Their own entry, apart from the kernel's: Cython 3 and a C++ compiler build them where
# they are found; elsewhere, or if a build fails (optional=True), the replay reads order
# files through the pure-Python parser (ringmatch.engine.replay.order_records), LOBSTER
# files through LobsterReplay, and writes its outputs through Event objects.
def replay_extensions() -> list[object]:
    try:
        from Cython.Build import cythonize
        from setuptools import Extension
    except ImportError:
        print("ringmatch build: no Cython, the replay parses in Python", file=sys.stderr)
        return []
    parsers = [
        Extension(
            f"ringmatch.engine.replay.{name}",
            [f"engine/replay/{name}.pyx"],
            language="c++",
            extra_compile_args=["-O2"],
            optional=True,
        )
        for name in ("_order_parse", "_lobster_parse", "_event_lines")
    ]
    try:
        # The generated C++ stays out of the source tree (build/ is ignored).
        return list(cythonize(parsers, language_level=3, build_dir="build/cython", quiet=True))
    except Exception as exc:  # a Cython error: install without the parsers, never fail
        print(f"ringmatch build: the replay parsers did not compile ({exc})", file=sys.stderr)
        return []


remove_old_builds()
setup(packages=packages(), ext_modules=replay_extensions())
