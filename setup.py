"""Build hook: the list of packages; everything else about the package is in pyproject.toml.

pyproject.toml maps the folders engine/, gateway/, risk/ and benchmarks/ to
``ringmatch.engine`` and so on (setuptools package-dir); this file finds every
package below them, so a new sub-package needs no edit here.

The compiled kernel (engine/kernel: C++17 behind a Cython 3 extension,
``ringmatch.engine.kernel._kernel``) is built when Cython and a C++ compiler are
there; otherwise the package installs pure, saying once why. An editable
install (``pip install -e .``) compiles it in place: the .so lands beside the
.pyx (gitignored). ``RINGMATCH_KERNEL_DEBUG=asan`` builds it with
AddressSanitizer instead of -O3 (.ci/asan-kernel runs the kernel's tests so).
The replay's parsers and writers (engine/replay/_order_parse.pyx, _lobster_parse.pyx,
_event_lines.pyx) are built beside it, each optional: one that does not build is
left out and the replay takes its pure-Python path.

The mypyc build of engine/book.py and engine/matching.py is gone: measured
here it ran the core *slower* than CPython 3.11 runs the sources (benchmarks/README.md,
"Compiled core (mypyc) vs pure Python"). What remains of it deletes the modules
an earlier editable install compiled into the source tree, which Python would
otherwise still import in preference to the sources.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

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


KERNEL = HERE / "engine" / "kernel"


def kernel_flags() -> tuple[list[str], list[str]]:
    """(compile, link) flags: optimised, or AddressSanitizer on request."""
    debug = os.environ.get("RINGMATCH_KERNEL_DEBUG", "")
    if debug == "asan":
        asan = ["-O1", "-g", "-fsanitize=address", "-fno-omit-frame-pointer"]
        return ["-std=c++17", *asan], ["-fsanitize=address"]
    if debug:
        raise SystemExit(f"RINGMATCH_KERNEL_DEBUG={debug!r}: the only mode is 'asan'")
    return ["-std=c++17", "-O3"], []


def say_pure(why: str) -> None:
    print(f"ringmatch build: installing without the compiled kernel: {why}", file=sys.stderr)


def kernel_extensions() -> list[Extension]:
    try:
        import numpy
        from Cython.Build import cythonize
    except ImportError as missing:
        say_pure(f"{missing.name} is not installed")
        return []
    compile_args, link_args = kernel_flags()
    kernel = Extension(
        "ringmatch.engine.kernel._kernel",
        sources=[
            "engine/kernel/_kernel.pyx",
            "engine/kernel/kernel.cpp",
            "engine/kernel/kernel_dump.cpp",  # dump() and load(): snapshots
            "engine/kernel/venue_rules.cpp",  # stops, icebergs, GTD and DAY, time
            "engine/kernel/auction_rules.cpp",  # trading phases, call auctions
        ],
        include_dirs=[str(KERNEL), numpy.get_include()],
        language="c++",
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        depends=[str(p.relative_to(HERE)) for p in sorted(KERNEL.glob("*.h*"))],
    )
    # The generated C++ stays out of the source tree.
    return cythonize([kernel], build_dir="build/cython", quiet=True)


class OptionalBuildExt(build_ext):
    """Build the kernel if a C++ compiler works; else install pure, saying why once."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as failed:  # no compiler, or it failed: the package still installs
            say_pure(f"the C++ build failed: {failed}")


def optional_cythonize(extensions: list[Extension], what: str) -> list[Extension]:
    """The optional extensions cythonized (the generated C++ out of the source tree, as
    the kernel's); none if Cython fails on them: the package installs without them."""
    from Cython.Build import cythonize

    try:
        return list(cythonize(extensions, language_level=3, build_dir="build/cython", quiet=True))
    except Exception as exc:  # a Cython error: install without them, never fail
        print(f"ringmatch build: {what} did not compile ({exc})", file=sys.stderr)
        return []


# -- the replay's parsers and writers (engine/replay/_order_parse.pyx, _lobster_parse.pyx,
# _event_lines.pyx) ---------------------------------------------------------------------
# Their own entry, apart from the kernel's: built where Cython and a C++ compiler are;
# elsewhere, or if one fails to build (optional=True: it alone is left out), the replay
# reads order files through the pure-Python parser (ringmatch.engine.replay.order_records),
# LOBSTER files through LobsterReplay, and writes its outputs through Event objects.
def replay_extensions() -> list[Extension]:
    try:
        import Cython.Build  # noqa: F401 (is Cython installed? optional_cythonize uses it)
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
    return optional_cythonize(parsers, "the replay parsers")


# -- the gateway's wire conversion (gateway/wire/_convert.pyx) ------------------------------
# Optional as the replay's: where it does not build, ringmatch.gateway.wire runs its
# pure-Python reference (wire_reference.py). It reads the records through the kernel's
# records.h, so it builds from the same header the kernel does.
def wire_extensions() -> list[Extension]:
    try:
        import Cython.Build  # noqa: F401 (is Cython installed? optional_cythonize uses it)
        import numpy
    except ImportError:
        print("ringmatch build: no Cython, the gateway converts wire messages in Python",
              file=sys.stderr)  # fmt: skip
        return []
    convert = Extension(
        "ringmatch.gateway.wire._convert",
        ["gateway/wire/_convert.pyx"],
        include_dirs=[str(KERNEL), numpy.get_include()],
        language="c++",
        extra_compile_args=["-std=c++17", "-O3"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        depends=["engine/kernel/records.h"],
        optional=True,
    )
    return optional_cythonize([convert], "the wire conversion")


# -- the group commit's sync loop (engine/journal/_sync_loop.pyx) --------------------------
# Optional as the others: without it the GroupCommit syncs on a Python thread, which
# needs the GIL to start and report each sync (ringmatch.engine.journal.group_commit).
def journal_extensions() -> list[Extension]:
    try:
        import Cython.Build  # noqa: F401 (is Cython installed? optional_cythonize uses it)
    except ImportError:
        return []
    loop = Extension(
        "ringmatch.engine.journal._sync_loop",
        ["engine/journal/_sync_loop.pyx"],
        extra_compile_args=["-O2"],
        optional=True,
    )
    return optional_cythonize([loop], "the journal's sync loop")


remove_old_builds()
setup(
    packages=packages(),
    # An AddressSanitizer build is the kernel's alone (.ci/asan-kernel tests only it):
    # the replay's and the gateway's extensions in place stay the optimised ones.
    ext_modules=[
        *kernel_extensions(),
        *(replay_extensions() if not os.environ.get("RINGMATCH_KERNEL_DEBUG") else []),
        *(wire_extensions() if not os.environ.get("RINGMATCH_KERNEL_DEBUG") else []),
        *(journal_extensions() if not os.environ.get("RINGMATCH_KERNEL_DEBUG") else []),
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
