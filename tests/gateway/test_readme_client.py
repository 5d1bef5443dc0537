"""The README's client example runs as printed, against a worker of this process."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import textwrap

from ringmatch.gateway.config import Account, Config, Server, SessionSettings, Symbol
from ringmatch.gateway.server.core_link import LocalCore
from ringmatch.gateway.server.worker_loop import serve
from tests.conftest import REPO

CONFIG = Config(
    server=Server(port=0),
    session=SessionSettings(heartbeat_s=5.0, timeout_s=10.0),
    accounts=[Account("alice", "alice-secret")],
    symbols=[Symbol("MSFT"), Symbol("AAPL")],  # AAPL is id 2: the ids stay the library's
)


def readme_client_example() -> str:
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    found = [b for b in blocks if "Client.connect" in b]
    assert len(found) == 1, "the README has one client example"
    return found[0]


def test_the_readme_client_example_runs_and_prints_what_it_says() -> None:
    example = readme_client_example()
    expected = re.search(r"# (ACCEPTED .*)$", example, re.M)
    assert expected is not None
    body = "async def example(port):\n" + textwrap.indent(example.replace("7001", "port"), "    ")
    namespace: dict[str, object] = {}
    exec(compile(body, "README.md", "exec"), namespace)

    async def main() -> None:
        stop = asyncio.Event()
        started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve(CONFIG, LocalCore(), 0, stop, started.set_result))
        port = await asyncio.wait_for(started, 10)
        try:
            await asyncio.wait_for(namespace["example"](port), 30)  # type: ignore[operator]
        finally:
            stop.set()
            await task

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        asyncio.run(main())
    assert out.getvalue() == expected.group(1) + "\n"
