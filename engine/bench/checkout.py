"""The repository's benchmarks/ scripts, which the bench modules reuse: they
exist only in a checkout (they are not part of the installed package)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import engine
from engine.bench.report import Unavailable

REPO_ROOT = Path(engine.__file__).resolve().parent.parent


def benchmark_module(name: str) -> ModuleType:
    """``benchmarks.NAME`` from the checkout this engine was imported from."""
    if not (REPO_ROOT / "benchmarks" / f"{name}.py").exists():
        raise Unavailable(
            f"needs a ringmatch checkout: {REPO_ROOT}/benchmarks/{name}.py is missing"
        )
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    return importlib.import_module(f"benchmarks.{name}")
