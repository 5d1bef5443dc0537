"""Fixtures shared by every room's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
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
