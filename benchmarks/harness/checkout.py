"""The repository's benchmarks/ scripts, which the bench modules reuse: they
exist only in a checkout (they are not part of the installed package)."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import ringmatch.engine as engine
from ringmatch.benchmarks.harness.report import Unavailable

REPO_ROOT = Path(engine.__file__).resolve().parent.parent


def benchmark_module(name: str) -> ModuleType:
    """``ringmatch.benchmarks.NAME``, when this engine runs from a checkout that has it."""
    if not (REPO_ROOT / "benchmarks" / f"{name}.py").exists():
        raise Unavailable(
            f"needs a ringmatch checkout: {REPO_ROOT}/benchmarks/{name}.py is missing"
        )
    return importlib.import_module(f"ringmatch.benchmarks.{name}")
