"""Build hook: compile the core's hot modules with mypyc, or fall back to pure Python.

Everything else about the package is in pyproject.toml. This file only adds the
compiled extension modules:

* RINGMATCH_COMPILE=0 builds nothing (the pure-Python package, same behaviour);
* without mypyc, or when the C compiler fails, the build goes on pure, saying why;
* otherwise ``engine.book`` and ``engine.matching`` (engine/build_info.py lists
  them) become C extensions next to their ``.py`` files. In an editable install
  the ``.so`` files land in the source tree; engine/build_info.py then runs the
  sources instead if they are newer than the build, or if RINGMATCH_PURE=1.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

# The same list engine/build_info.py uses at run time (read as text: the package
# cannot be imported before it is built).
COMPILED_SOURCES = ["engine/book.py", "engine/matching.py"]


def _say(message: str) -> None:
    print(f"ringmatch build: {message}", file=sys.stderr)


class SoftBuildExt(build_ext):
    """build_ext that drops the compiled modules instead of failing the install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, missing headers, a compiler error...
            _say(f"compiling the core failed ({exc}); installing the pure-Python core")
            self.extensions = []

    def build_extension(self, ext: Any) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            _say(f"compiling {ext.name} failed ({exc}); installing the pure-Python core")
            raise


def remove_old_builds() -> None:
    """Delete compiled modules an earlier editable install left in the source tree:
    they would win on import over the pure sources this build asks for."""
    here = Path(__file__).resolve().parent
    for source in COMPILED_SOURCES:
        stem = here / Path(source).with_suffix("")
        for old in [*stem.parent.glob(stem.name + ".*.so"), *here.glob("ringmatch_core__mypyc.*")]:
            _say(f"removing the earlier build {old}")
            old.unlink()


def compiled_extensions() -> list[Any]:
    if os.environ.get("RINGMATCH_COMPILE", "1").strip().lower() in {"0", "false", "no"}:
        _say("RINGMATCH_COMPILE=0: pure-Python core")
        remove_old_builds()
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _say("mypyc is not available: pure-Python core")
        return []
    try:
        return list(mypycify(COMPILED_SOURCES, opt_level="3", group_name="ringmatch_core"))
    except (Exception, SystemExit) as exc:  # mypyc refuses the code (it exits on type errors)
        _say(f"mypyc could not compile the core ({exc!r}): pure-Python core")
        return []


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": SoftBuildExt})
