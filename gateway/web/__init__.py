"""The read-only web console: ``serve`` runs it as a child process when ``[web] port`` is set.

    browser ──HTTP/websocket──▶ web process ──TCP──▶ the market-data feed (a subscriber)
                                     └──Unix socket──▶ risk's admin socket ("state", polled)

    logins.py    accounts and tokens, the session cookie
    view.py      what the process keeps from the feed and risk, and what each account sees
    metrics.py   the Prometheus counters and gauges served at /metrics
    latency.py   the engine's latency, from the latency probe's histogram files
    app.py       the aiohttp application: login, the page, /api/state, /ws, /metrics
    process.py   the child process ``serve`` starts (``python -m ringmatch.child web``)
    static/      the page: plain HTML, CSS and JS, no build step

It reads what any subscriber reads, so it never slows the core.
"""
