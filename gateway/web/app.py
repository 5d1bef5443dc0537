"""The console's aiohttp application: login, the page, its data, its websocket, /metrics.

    GET  /login, POST /login (form: account, token)   the only page served without a session
    POST /logout
    GET  /                      the console (static/index.html); no session: 302 to /login
    GET  /static/NAME           its script and style sheet
    GET  /api/state[?account=A] what the page shows, as JSON (A: one account's risk only)
    GET  /ws                    the same, pushed every PUSH_S seconds; the page may send
                                {"account": A} to narrow the risk view to A
    GET  /metrics               Prometheus text format: from a loopback address without a
                                session (a scraper on the same host), else with one

Without a valid session cookie everything but /login answers 401 (/ and any
other page redirect to /login instead). A non-admin asking for another
account's risk gets 403, over HTTP and over the websocket alike.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from ringmatch.gateway.web.logins import COOKIE, Sessions, Viewer
from ringmatch.gateway.web.metrics import CONTENT_TYPE, ConsoleMetrics
from ringmatch.gateway.web.view import ConsoleView

STATIC = Path(__file__).resolve().parent / "static"
PUSH_S = 0.25  # how often the websocket sends the page a fresh state
PUBLIC = frozenset({"/login"})

REJECT_DELAY = web.AppKey("reject_delay", float)
SESSIONS = web.AppKey("sessions", Sessions)
SOCKETS: web.AppKey[weakref.WeakSet[web.WebSocketResponse]] = web.AppKey("websockets")
VIEW = web.AppKey("view", ConsoleView)
METRICS = web.AppKey("metrics", ConsoleMetrics)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _loopback(request: web.Request) -> bool:
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


@web.middleware
async def require_session(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path in PUBLIC:
        return await handler(request)
    viewer = request.app[SESSIONS].viewer(request.cookies.get(COOKIE))
    if viewer is None:
        if request.path == "/metrics" and _loopback(request):
            return await handler(request)
        if request.method == "GET" and request.path == "/":
            raise web.HTTPFound("/login")
        raise web.HTTPUnauthorized(text="log in at /login first\n")
    request["viewer"] = viewer
    return await handler(request)


def _viewer(request: web.Request) -> Viewer:
    viewer: Viewer = request["viewer"]
    return viewer


async def login_page(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "login.html")


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    account, token = str(form.get("account", "")), str(form.get("token", ""))
    session = request.app[SESSIONS].login(account, token)
    if session is None:
        # as order entry's wrong token ([session] logon_reject_delay_s): guesses come slowly
        await asyncio.sleep(request.app[REJECT_DELAY])
        page = (STATIC / "login.html").read_text()
        page = page.replace("<!--error-->", '<p class="error">wrong account or token</p>')
        return web.Response(status=401, text=page, content_type="text/html")
    response = web.HTTPSeeOther("/")
    response.set_cookie(COOKIE, session, httponly=True, samesite="Strict", path="/")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    request.app[SESSIONS].logout(request.cookies.get(COOKIE))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    return response


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC / "index.html")


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path)


def _state(request: web.Request, viewer: Viewer, account: str | None) -> dict[str, object]:
    state = request.app[VIEW].snapshot(viewer)
    if account is not None:
        risk = state["risk"]
        assert isinstance(risk, dict)
        risk["accounts"] = {a: v for a, v in risk["accounts"].items() if a == account}
    return state


async def api_state(request: web.Request) -> web.StreamResponse:
    viewer = _viewer(request)
    account = request.query.get("account")
    if account is not None and not viewer.may_see(account):
        raise web.HTTPForbidden(text=f"{viewer.account} may not see account {account}\n")
    return web.json_response(_state(request, viewer, account))


async def websocket(request: web.Request) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(text="websocket from another origin\n")
    viewer = _viewer(request)
    ws = web.WebSocketResponse(heartbeat=10.0)
    await ws.prepare(request)
    request.app[SOCKETS].add(ws)
    account: list[str | None] = [None]

    async def push() -> None:
        while not ws.closed:
            await ws.send_json({"type": "state", **_state(request, viewer, account[0])})
            await asyncio.sleep(PUSH_S)

    pusher = asyncio.create_task(push())
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                wanted = json.loads(msg.data).get("account")
            except (ValueError, AttributeError):
                await ws.send_json({"type": "error", "error": 'send {"account": NAME}'})
                continue
            if wanted is not None and not viewer.may_see(str(wanted)):
                await ws.send_json(
                    {"type": "error", "error": f"{viewer.account} may not see account {wanted}"}
                )
                continue
            account[0] = wanted
    finally:
        pusher.cancel()
    return ws


async def close_websockets(app: web.Application) -> None:
    """At shutdown: an open page's websocket would otherwise hold the process up."""
    sockets = app[SOCKETS]
    for ws in list(sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"the server is stopping")


async def metrics(request: web.Request) -> web.StreamResponse:
    console_metrics = request.app[METRICS]
    console_metrics.sessions.set(len(request.app[SESSIONS]))
    return web.Response(body=console_metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def make_app(
    sessions: Sessions,
    view: ConsoleView,
    console_metrics: ConsoleMetrics,
    reject_delay_s: float = 0.0,
) -> web.Application:
    app = web.Application(middlewares=[require_session])
    app[REJECT_DELAY] = reject_delay_s
    app[SOCKETS] = weakref.WeakSet()
    app.on_shutdown.append(close_websockets)
    app[SESSIONS] = sessions
    app[VIEW] = view
    app[METRICS] = console_metrics
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static_file)
    app.router.add_get("/api/state", api_state)
    app.router.add_get("/ws", websocket)
    app.router.add_get("/metrics", metrics)
    return app
