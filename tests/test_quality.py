"""The house rules that tools can check: ruff clean, formatted, mypy clean (strict on engine/)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the dev extra, pip install -e '.[dev]'")
    return found


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO, capture_output=True, text=True)


def test_ruff_check_is_clean() -> None:
    done = run(tool("ruff"), "check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean() -> None:
    done = run(tool("ruff"), "format", "--check", ".")
    assert done.returncode == 0, done.stdout + done.stderr


# The rooms mypy checks (benchmarks/ is not type-checked: its scripts are run, not imported).
ROOMS = {"engine": "engine", "gateway": "gateway", "risk": "risk"}


def test_mypy_is_clean(tmp_path: Path) -> None:
    # mypy names a module by its file's path, and engine/ installs as ringmatch.engine
    # (package-dir): so it checks a tree of links laid out as the installed package.
    tree = tmp_path / "ringmatch"
    tree.mkdir()
    for source in (REPO / "ringmatch").iterdir():
        if source.suffix == ".py":
            (tree / source.name).symlink_to(source)
    for name, folder in ROOMS.items():
        (tree / name).symlink_to(REPO / folder, target_is_directory=True)
    done = subprocess.run(
        [tool("mypy"), "--config-file", str(REPO / "pyproject.toml"), "-p", "ringmatch"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
