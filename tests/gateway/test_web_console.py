"""The web console (ringmatch.gateway.web) of a real ``ringmatch serve --web-port 0``.

One server for the module: alice, bob and carol (the admin) trade AAPL over
order entry (TCP), then the console's rules are checked over plain HTTP and
its websocket (aiohttp's client): nothing but /login without a session cookie,
a wrong token refused, the cookie HttpOnly and SameSite=Strict, a non-admin
kept to its own account's risk, /metrics from localhost. One browser test logs
in with headless Chromium (Debian's chromium and chromium-driver), sends MSFT
orders and waits for the ladder and the tape to show them.
``RINGMATCH_SCREENSHOT=PATH`` also saves the browser test's screenshot there
(docs/web-console.png is made so).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
import pytest
import yarl

from ringmatch.engine.schema.enums import OrderType, Side
from ringmatch.gateway.client.order_entry import BlockingClient
from ringmatch.gateway.protocol.messages import ExecType, ExecutionReport, NewOrder
from tests.conftest import REPO, need
from tests.gateway.serve_process import ACCOUNTS, ServeProcess, write_config

ADMIN = "carol"
WAIT_S = 15.0
_ids = itertools.count(1)


class Console:
    def __init__(self, proc: ServeProcess) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{proc.web_port}"

    def orders(self, account: str, *orders: tuple[str, Side, int, int]) -> list[ExecutionReport]:
        """Send limit orders (symbol, side, price in ticks, qty) as ``account``; their ACCEPTEDs."""
        answers = []
        with BlockingClient.connect("127.0.0.1", self.proc.port, account, ACCOUNTS[account]) as c:
            for symbol, side, price, qty in orders:
                answer = c.request(NewOrder(next(_ids), symbol, side, OrderType.LIMIT, price, qty))
                assert isinstance(answer, ExecutionReport), answer
                assert answer.exec_type is ExecType.ACCEPTED, answer
                answers.append(answer)
        return answers


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def session() -> aiohttp.ClientSession:
    # unsafe: keep cookies of an IP address (127.0.0.1)
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def log_in(http: aiohttp.ClientSession, url: str, account: str, token: str) -> int:
    async with http.post(
        f"{url}/login", data={"account": account, "token": token}, allow_redirects=False
    ) as response:
        return response.status


async def state_until(
    http: aiohttp.ClientSession, url: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The first state the websocket pushes that satisfies ``done`` (fail after WAIT_S)."""
    last: dict[str, Any] = {}
    async with http.ws_connect(f"{url}/ws") as ws:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            msg = await ws.receive_json(timeout=deadline - time.monotonic())
            if msg["type"] == "state":
                last = msg
                if done(msg):
                    return msg
    pytest.fail(f"the console never showed it; last state: {json.dumps(last)[:2000]}")


def risk_accounts(state: dict[str, Any]) -> set[str]:
    return set(state["risk"]["accounts"])


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("web")
    config = write_config(
        tmp / "ringmatch.toml",
        tmp / "data",
        {"heartbeat_s": 1.0, "timeout_s": 5.0},
        admins=(ADMIN,),
    )
    # The latency probe on: its histograms feed the console's latency chart.
    with mock.patch.dict(os.environ, {"RINGMATCH_LATENCY_PROBE": "1"}):
        proc = ServeProcess(config, "--web-port", "0")
    with proc:
        assert proc.web_port, "serve did not say where the web console is"
        c = Console(proc)
        # AAPL (tick 0.01): asks 101.00 x3 (after a trade of 2), 101.05 x3; bids 100.95, 100.90
        c.orders("alice", ("AAPL", Side.SELL, 10100, 5), ("AAPL", Side.SELL, 10105, 3))
        c.orders("bob", ("AAPL", Side.BUY, 10100, 2), ("AAPL", Side.BUY, 10095, 1))
        c.orders("carol", ("AAPL", Side.BUY, 10090, 4))
        yield c
        assert proc.stop() == 0, "".join(proc.stderr)


def test_nothing_but_the_login_page_without_a_session(console: Console) -> None:
    async def check() -> None:
        async with session() as http:
            async with http.get(f"{console.url}/", allow_redirects=False) as r:
                assert r.status == 302 and r.headers["Location"] == "/login"
            for path in ("/api/state", "/static/console.js", "/static/index.html", "/ws"):
                async with http.get(f"{console.url}{path}", allow_redirects=False) as r:
                    assert r.status == 401, path
            async with http.get(f"{console.url}/login") as r:
                assert r.status == 200 and 'name="token"' in await r.text()

    run(check())


def test_a_wrong_token_or_account_is_refused(console: Console) -> None:
    async def check() -> None:
        async with session() as http:
            for account, token in (("alice", "bob-secret"), ("nosuch", "x"), ("alice", "")):
                started = time.monotonic()
                async with http.post(
                    f"{console.url}/login",
                    data={"account": account, "token": token},
                    allow_redirects=False,
                ) as r:
                    assert r.status == 401
                    assert "Set-Cookie" not in r.headers
                    assert "wrong account or token" in await r.text()
                # as order entry's: [session] logon_reject_delay_s, 0.2 s by default
                assert time.monotonic() - started >= 0.2
            async with http.get(f"{console.url}/api/state") as r:
                assert r.status == 401

    run(check())


def test_login_gives_an_httponly_strict_cookie_and_logout_ends_it(console: Console) -> None:
    async def check() -> None:
        async with session() as http:
            async with http.post(
                f"{console.url}/login",
                data={"account": "alice", "token": ACCOUNTS["alice"]},
                allow_redirects=False,
            ) as r:
                assert r.status == 303 and r.headers["Location"] == "/"
                cookie = r.headers["Set-Cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie
            async with http.get(f"{console.url}/") as r:
                assert r.status == 200 and "/static/console.js" in await r.text()
            async with http.get(f"{console.url}/static/console.js") as r:
                assert r.status == 200
            stolen = {
                k: v.value for k, v in http.cookie_jar.filter_cookies(yarl.URL(console.url)).items()
            }
            async with http.post(f"{console.url}/logout", allow_redirects=False) as r:
                assert r.status == 303
        # the old cookie, replayed after the logout
        async with session() as other, other.get(f"{console.url}/api/state", cookies=stolen) as r:
            assert r.status == 401

    run(check())


def test_a_non_admin_sees_only_its_own_account(console: Console) -> None:
    async def check() -> None:
        async with session() as http:
            assert await log_in(http, console.url, "alice", ACCOUNTS["alice"]) == 303
            # alice sold 2 AAPL to bob: once risk has it, alice's row shows -2
            state = await state_until(
                http,
                console.url,
                lambda s: (
                    "alice" in s["risk"]["accounts"]
                    and s["risk"]["accounts"]["alice"]["symbols"]["AAPL"]["position"] == -2
                ),
            )
            assert risk_accounts(state) == {"alice"}
            assert state["viewer"] == {"account": "alice", "admin": False}
            async with http.get(f"{console.url}/api/state", params={"account": "bob"}) as r:
                assert r.status == 403
            async with http.get(f"{console.url}/api/state") as r:
                assert risk_accounts(await r.json()) == {"alice"}
            async with http.ws_connect(f"{console.url}/ws") as ws:
                await ws.send_json({"account": "bob"})
                deadline = time.monotonic() + WAIT_S
                while True:
                    msg = await ws.receive_json(timeout=deadline - time.monotonic())
                    if msg["type"] == "error":
                        assert "may not see account bob" in msg["error"]
                        break
                    assert risk_accounts(msg) <= {"alice"}
        async with session() as admin:
            assert await log_in(admin, console.url, ADMIN, ACCOUNTS[ADMIN]) == 303
            state = await state_until(
                admin, console.url, lambda s: {"alice", "bob"} <= risk_accounts(s)
            )
            assert state["risk"]["accounts"]["bob"]["symbols"]["AAPL"]["position"] == 2
            async with admin.get(f"{console.url}/api/state", params={"account": "bob"}) as r:
                assert r.status == 200 and risk_accounts(await r.json()) == {"bob"}

    run(check())


def test_the_state_has_the_ladder_in_decimals_and_the_trade(console: Console) -> None:
    async def check() -> dict[str, Any]:
        async with session() as http:
            assert await log_in(http, console.url, "bob", ACCOUNTS["bob"]) == 303
            return await state_until(
                http,
                console.url,
                lambda s: (
                    any(b["symbol"] == "AAPL" and len(b["bids"]) == 2 for b in s["books"])
                    and bool(s["trades"])
                ),
            )

    state = run(check())
    (aapl,) = (b for b in state["books"] if b["symbol"] == "AAPL")
    assert aapl["asks"] == [{"price": "101.00", "qty": 3}, {"price": "101.05", "qty": 3}]
    assert aapl["bids"] == [{"price": "100.95", "qty": 1}, {"price": "100.90", "qty": 4}]
    assert (aapl["spread"], aapl["mid"], aapl["last"]) == ("0.05", "100.975", "101.00")
    trade = state["trades"][0]
    assert (trade["symbol"], trade["price"], trade["qty"], trade["side"]) == (
        "AAPL",
        "101.00",
        2,
        "BUY",
    )
    assert sum(p["trades"] for p in state["throughput"]) >= 1


def test_metrics_in_the_prometheus_format_from_localhost(console: Console) -> None:
    async def check() -> str:
        async with session() as http, http.get(f"{console.url}/metrics") as r:
            assert r.status == 200
            assert r.headers["Content-Type"].startswith("text/plain")
            return await r.text()

    text = run(check())
    assert 'ringmatch_trades_total{symbol="AAPL"} 1.0' in text
    assert 'ringmatch_traded_quantity_total{symbol="AAPL"} 2.0' in text
    assert 'ringmatch_best_ask{symbol="AAPL"} 101.0' in text
    assert "ringmatch_feed_events_total" in text


def test_the_engine_latency_from_the_probe(console: Console) -> None:
    """The fixture's five orders, each session's histogram written as it ended."""

    async def check() -> tuple[dict[str, Any], str]:
        async with session() as http:
            assert await log_in(http, console.url, "alice", ACCOUNTS["alice"]) == 303
            state = await state_until(
                http,
                console.url,
                lambda s: (s["latency"]["summary"] or {}).get("count", 0) >= 5,
            )
            async with http.get(f"{console.url}/metrics") as r:
                return state, await r.text()

    state, text = run(check())
    summary = state["latency"]["summary"]
    assert 0 < summary["p50_us"] <= summary["p99_us"] <= summary["max_us"], summary
    assert state["latency"]["points"]
    assert "ringmatch_engine_latency_samples" in text
    assert 'ringmatch_engine_latency_seconds{quantile="0.99"}' in text


def serve(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ringmatch.cli", "serve", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_web_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    config = write_config(tmp_path / "a.toml", tmp_path / "data", {}, extra="[web]\nport = 70000\n")
    done = serve("--config", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert "[web] port = 70000: must be a TCP port" in done.stderr
    config = write_config(tmp_path / "b.toml", tmp_path / "data", {})
    done = serve("--config", str(config), "--web-port", "-1", cwd=tmp_path)
    assert done.returncode == 2 and "--web-port -1: must be a TCP port" in done.stderr
    done = serve("--config", str(config), "--web-port", "0", "--in-process", cwd=tmp_path)
    assert done.returncode == 2 and "--in-process runs no web console" in done.stderr


def test_the_web_port_is_in_the_configuration_in_force(tmp_path: Path) -> None:
    config = write_config(tmp_path / "a.toml", tmp_path / "data", {})
    done = serve("--config", str(config), "--print-config", "json", "--web-port", "8123", cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["web"] == {"port": 8123, "host": "127.0.0.1"}
    done = serve("--config", str(config), "--print-config", cwd=REPO)
    assert "# [web] port: not set, so no web console" in done.stdout


def test_a_web_port_held_by_another_stops_serve_naming_it(tmp_path: Path) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        config = write_config(tmp_path / "c.toml", tmp_path / "data", {})
        done = serve("--config", str(config), "--web-port", str(port), cwd=REPO)
    assert done.returncode == 1, done.stderr
    assert f"web port 127.0.0.1:{port}" in done.stderr and "not starting" in done.stderr


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def test_the_page_in_headless_chromium(console: Console, tmp_path: Path) -> None:
    need(
        os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER),
        "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,980",
    ):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(dir=tmp_path)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        wait = WebDriverWait(driver, WAIT_S)
        driver.get(console.url + "/")
        assert driver.current_url.endswith("/login")  # no cookie: the login page
        driver.find_element(By.ID, "account").send_keys(ADMIN)
        driver.find_element(By.ID, "token").send_keys(ACCOUNTS[ADMIN])
        driver.find_element(By.ID, "submit").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'table.ladder[data-symbol="AAPL"]'))
        # The cookie is not readable by the page's scripts (HttpOnly).
        assert driver.execute_script("return document.cookie") == ""
        # Orders sent now, with the page open: MSFT's ladder and the tape follow them.
        console.orders("alice", ("MSFT", Side.SELL, 25010, 7), ("MSFT", Side.SELL, 25020, 4))
        console.orders("bob", ("MSFT", Side.BUY, 25010, 3), ("MSFT", Side.BUY, 24990, 6))
        console.orders("carol", ("MSFT", Side.SELL, 24990, 2))  # the mark moves: P&L

        def texts(d: Any, css: str) -> list[str]:
            # read in one script: the page redraws its tables several times a second
            found: list[str] = d.execute_script(
                "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText)", css
            )
            return found

        msft = 'table.ladder[data-symbol="MSFT"] tbody tr'
        wait.until(lambda d: len(texts(d, msft)) == 4)  # 2 asks, the spread line, 1 bid
        rows = texts(driver, msft)
        assert rows[0].split()[:3] == ["ask", "250.20", "4"], rows
        assert rows[1].split()[:3] == ["ask", "250.10", "4"], rows
        assert "spread 0.20" in rows[2] and "mid 250.00" in rows[2], rows
        assert rows[3].split()[:3] == ["bid", "249.90", "4"], rows
        tape = "table#tape tbody tr"
        wait.until(lambda d: len(texts(d, tape)) == 3)
        newest, before = (row.split() for row in texts(driver, tape)[:2])
        assert newest[-4:] == ["MSFT", "sell", "249.90", "2"], newest
        assert before[-4:] == ["MSFT", "buy", "250.10", "3"], before
        # The admin sees every account's risk: alice short 3 MSFT from 250.10, marked at
        # the last trade, 249.90, shows 0.60 unrealised.
        wait.until(
            lambda d: any(
                r.split()[:3] == ["alice", "MSFT", "-3"] and "249.90" in r
                for r in texts(d, "#risk tr.position")
            )
        )
        (alice,) = (r for r in texts(driver, "#risk tr.position") if r.startswith("alice\tMSFT"))
        assert alice.split()[-3:] == ["0.00", "0.60", "0.60"], alice
        # Every order's latency, the fixture's five and these five, once their sessions ended.
        wait.until(lambda d: texts(d, "#latency-note")[0].startswith("10 orders: p50 "))
        shot = tmp_path / "web-console.png"
        assert driver.save_screenshot(str(shot))
        if os.environ.get("RINGMATCH_SCREENSHOT"):
            shutil.copyfile(shot, os.environ["RINGMATCH_SCREENSHOT"])
    finally:
        driver.quit()


def test_prices_in_decimals_from_the_tick_size() -> None:
    from decimal import Decimal

    from ringmatch.gateway.web.view import mid_text, price_text

    assert price_text(10097, Decimal("0.01")) == "100.97"
    assert price_text(3, Decimal("0.5")) == "1.5"
    assert price_text(7, Decimal("1")) == "7"
    assert price_text(None, Decimal("0.01")) is None
    assert mid_text(10095, 10100, Decimal("0.01")) == "100.975"  # between two ticks
    assert mid_text(10090, 10100, Decimal("0.01")) == "100.95"
    assert mid_text(3, 4, Decimal("0.5")) == "1.75"


def test_the_risk_view_keeps_a_non_admin_to_its_own_account_and_the_global_switch() -> None:
    from decimal import Decimal

    from ringmatch.gateway.web.logins import Viewer
    from ringmatch.gateway.web.view import ConsoleView

    view = ConsoleView({"AAPL": Decimal("0.01")})
    view.on_risk(
        {
            "ok": True,
            "accounts": {"alice": {"symbols": {}}, "bob": {"symbols": {}}},
            "kill_switches": {"*": "ops", "bob": "max_loss", "alice": "manual"},
            "last_prices": {"AAPL": 10100},
            "seq": 9,
        }
    )
    alice = view.risk_for(Viewer("alice", admin=False))
    assert set(alice["accounts"]) == {"alice"}
    assert alice["kill_switches"] == {"*": "ops", "alice": "manual"}
    assert alice["last_prices"] == {"AAPL": "101.00"}
    admin = view.risk_for(Viewer("ops", admin=True))
    assert set(admin["accounts"]) == {"alice", "bob"} and len(admin["kill_switches"]) == 3
    view.on_risk(None, "risk at x: refused")  # a failed poll keeps the last state, says why
    assert view.risk_for(Viewer("ops", admin=True))["error"] == "risk at x: refused"


def test_a_session_expires_and_a_logout_ends_it() -> None:
    from ringmatch.gateway.web.logins import Sessions

    sessions = Sessions({"alice": ("s3cret", False)}, ttl_s=-1.0)
    assert sessions.login("alice", "wrong") is None and sessions.login("bob", "s3cret") is None
    session = sessions.login("alice", "s3cret")
    assert session is not None and sessions.viewer(session) is None  # already expired
    sessions = Sessions({"alice": ("s3cret", True)})
    session = sessions.login("alice", "s3cret")
    viewer = sessions.viewer(session)
    assert viewer is not None and viewer.admin and viewer.may_see("bob")
    sessions.logout(session)
    assert sessions.viewer(session) is None and len(sessions) == 0


def test_serve_stops_promptly_with_a_page_open(tmp_path: Path) -> None:
    """An open websocket is closed at shutdown, not waited for."""
    config = write_config(tmp_path / "ringmatch.toml", tmp_path / "data", {})
    with ServeProcess(config, "--web-port", "0") as proc:
        url = f"http://127.0.0.1:{proc.web_port}"

        async def hold_a_page_open() -> tuple[int, float]:
            async with session() as http:
                assert await log_in(http, url, "bob", ACCOUNTS["bob"]) == 303
                async with http.ws_connect(f"{url}/ws") as ws:
                    assert (await ws.receive_json(timeout=WAIT_S))["type"] == "state"
                    started = time.monotonic()
                    status = await asyncio.get_running_loop().run_in_executor(None, proc.stop)
                    async for _ in ws:  # what was pushed before the close
                        pass
                    return status, time.monotonic() - started

        status, took = run(hold_a_page_open())
    assert status == 0, "".join(proc.stderr)
    assert took < 5.0, f"serve took {took:.1f} s to stop"  # (without the close: 10 s, killed)
    assert not any("did not stop" in line for line in proc.stderr), proc.stderr
