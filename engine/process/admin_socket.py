"""The risk admin socket: JSON lines over a Unix socket, one request, one answer per line.

The risk consumer process serves it (``serve_admin``); ``ringmatch risk``
asks it (``query``). A Unix socket: local only, guarded by file permissions
(0600), no port to configure. Requests are RiskService.handle's (risk/service.py);
``handle`` may answer at once or with an awaitable (a kill waits for the core).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any

MAX_LINE = 1 << 16


Answer = dict[str, Any] | Awaitable[dict[str, Any]]


async def serve_admin(path: str, handle: Callable[[Any], Answer]) -> asyncio.Server:
    """Serve ``handle`` on the Unix socket ``path`` (a stale one is replaced)."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                except ValueError as exc:
                    answer: dict[str, Any] = {"ok": False, "error": f"not JSON: {exc}"}
                else:
                    got = handle(request)
                    answer = await got if inspect.isawaitable(got) else got
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, ValueError):
            pass  # a line over the limit, or the client went away
        finally:
            writer.close()

    if os.path.exists(path):
        os.unlink(path)
    server = await asyncio.start_unix_server(client, path, limit=MAX_LINE)
    os.chmod(path, 0o600)
    return server


def query(path: str, request: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
    """Ask the risk process at ``path``; its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{path}: the risk process closed the connection")
            data += chunk
    answer: dict[str, Any] = json.loads(data)
    return answer
