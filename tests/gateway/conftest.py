"""The gateway's system tests run in both topologies (``[server] topology``): the same
tests, the same assertions, whichever processes carry the pipeline."""

from __future__ import annotations

import pytest

TOPOLOGIES = ("compact", "processes")


@pytest.fixture(scope="module", params=TOPOLOGIES)
def topology(request: pytest.FixtureRequest) -> str:
    """A one-worker server's topology: each module's tests run once per topology."""
    value: str = request.param
    return value
