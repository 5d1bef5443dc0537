"""Fixtures shared by every room's tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOMS = ("engine", "gateway", "risk", "benchmarks")


class _OnlyRingmatch:
    """Refuses ``import engine`` (and gateway, risk, benchmarks) in the test run.

    pytest puts the repository root on sys.path, where those folders would import
    as top-level packages beside the installed ``ringmatch.engine``: two copies of
    every module, and code that works here but not from a wheel. Installed, they
    exist only as ``ringmatch.*``, so the tests may use nothing else.
    """

    @staticmethod
    def find_spec(fullname: str, path: object = None, target: object = None) -> None:
        if fullname in ROOMS:
            raise ImportError(
                f"import ringmatch.{fullname}, not {fullname}: installed, the folder "
                f"{fullname}/ is the package ringmatch.{fullname}",
                name=fullname,
            )


sys.meta_path.insert(0, _OnlyRingmatch())
SHARED = REPO.parent / "shared"
LOBSTER_DIR = SHARED / "data" / "lobster"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, why: str) -> None:
    """Skip a test whose outside requirement is missing; under CI it must run, so fail."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"required under CI=true: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def lobster_dir() -> Path:
    """../shared/data/lobster: the real LOBSTER files, never copied into the repo."""
    need(
        LOBSTER_DIR.is_dir(),
        f"the LOBSTER sample files are not at {LOBSTER_DIR} (a clone without ../shared/)",
    )
    return LOBSTER_DIR


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free port for the whole session (never killed mid-run).

    Use a key of your own per test. Tests that kill Redis start their own RedisServer.
    """
    from tests.redis_server import RedisServer, find_redis_server

    binary = find_redis_server()
    need(binary is not None, "redis-server is not installed (apt-get install redis-server)")
    assert binary is not None
    server = RedisServer(binary)
    server.start()
    try:
        yield server.url
    finally:
        server.close()
