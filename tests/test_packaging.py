"""The wheel installs one import name, ringmatch, and the ringmatch command, nothing else.

    pip wheel .  ──▶  ringmatch-*.whl  ──▶  pip install --target T (no deps: this venv has them)
                         │                      └─▶ T/ringmatch/engine/..., T/bin/ringmatch
                         └─ every file under ringmatch/ or its .dist-info

The editable install the tests run from maps the folders onto ``ringmatch.*``
with an import hook; this checks the real thing a user gets from ``pip install``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation",
         "-q", "-w", str(out)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    (built,) = out.glob("ringmatch-*.whl")
    return built


def test_the_wheel_holds_only_the_ringmatch_package(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"ringmatch", next(t for t in tops if t.endswith(".dist-info"))}
    for module in (
        "ringmatch/cli.py",
        "ringmatch/engine/book/matching.py",
        "ringmatch/engine/core/pipeline.py",
        "ringmatch/gateway/server/worker.py",
        "ringmatch/risk/pretrade.py",
        "ringmatch/benchmarks/harness/cli.py",
        "ringmatch/gateway/web/static/index.html",  # the web console's page: package data
        "ringmatch/gateway/web/static/login.html",
        "ringmatch/gateway/web/static/console.js",
        "ringmatch/gateway/web/static/console.css",
    ):
        assert module in names, module
    dist = next(t for t in tops if t.endswith(".dist-info"))
    wheel_zip = zipfile.ZipFile(wheel)
    entry_points = wheel_zip.read(f"{dist}/entry_points.txt").decode()
    assert "ringmatch = ringmatch.cli:main" in entry_points


def test_installed_it_imports_and_runs_from_its_own_files(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
         str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert sorted(p.name for p in target.iterdir() if not p.name.endswith(".dist-info")) == [
        "bin",
        "ringmatch",
    ]
    env = dict(os.environ, PYTHONPATH=str(target))
    probe = subprocess.run(
        [sys.executable, "-c",
         "import ringmatch, ringmatch.engine.book.matching as m, ringmatch.gateway.server.worker;"
         "print(m.__file__); print(ringmatch.MatchingEngine.__module__)"],
        cwd=tmp_path, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    where, module = probe.stdout.split()
    assert Path(where).is_relative_to(target) and module == "ringmatch.engine.book.matching"
    version = subprocess.run(
        [sys.executable, str(target / "bin" / "ringmatch"), "--version"],
        cwd=tmp_path, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert version.stdout.startswith("ringmatch ")
