// The ringmatch console: one websocket (/ws) pushes the whole view a few times a second;
// this draws it. Data goes into the page as text (textContent), never as HTML.
"use strict";

function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children || []) node.appendChild(child);
  return node;
}

function cell(text, cls) {
  return el("td", cls ? { text: text ?? "", class: cls } : { text: text ?? "" });
}

function ladderRow(side, level, maxQty) {
  const bar = el("div", { class: "bar" });
  bar.style.width = `${Math.round((100 * level.qty) / maxQty)}%`;
  const qty = el("td", { class: "qty" }, [bar, el("span", { text: String(level.qty) })]);
  return el("tr", { class: side }, [cell(side === "ask" ? "ask" : "bid"), cell(level.price, "px"), qty]);
}

function drawBook(book) {
  const id = `book-${book.symbol}`;
  let box = document.getElementById(id);
  if (!box) {
    box = el("div", { class: "book", id });
    document.getElementById("books").appendChild(box);
  }
  const maxQty = Math.max(1, ...book.bids.map((l) => l.qty), ...book.asks.map((l) => l.qty));
  const rows = [];
  for (const level of [...book.asks].reverse()) rows.push(ladderRow("ask", level, maxQty));
  const middle = book.stale
    ? "waiting for the feed's snapshot"
    : `spread ${book.spread ?? "–"} · mid ${book.mid ?? "–"}`;
  rows.push(el("tr", { class: "mid" }, [el("td", { colspan: "3", text: middle })]));
  for (const level of book.bids) rows.push(ladderRow("bid", level, maxQty));
  const table = el("table", { class: "ladder", "data-symbol": book.symbol }, [
    el("thead", {}, [el("tr", {}, [el("th", { text: "" }), el("th", { text: "price" }), el("th", { text: "size" })])]),
    el("tbody", {}, rows),
  ]);
  const stats = el("div", {
    class: "stats",
    text: `tick ${book.tick_size} · last ${book.last ?? "–"} · bid ${book.best_bid ?? "–"} · ask ${book.best_ask ?? "–"}`,
  });
  box.replaceChildren(el("h2", { text: book.symbol }), stats, table);
}

function drawTape(trades) {
  const body = document.querySelector("#tape tbody");
  body.replaceChildren(
    ...trades.map((t) =>
      el("tr", { class: `trade ${t.side}`, "data-trade-id": String(t.trade_id) }, [
        cell(new Date(t.time * 1000).toLocaleTimeString()),
        cell(t.symbol),
        cell(t.side === "BUY" ? "buy" : "sell", "side"),
        cell(t.price),
        cell(String(t.qty)),
      ]),
    ),
  );
}

// A line chart of series [key, colour] over points, scaled to the largest value.
function lineChart(id, points, series, unit) {
  const canvas = document.getElementById(id);
  const ctx = canvas.getContext("2d");
  const w = canvas.width, h = canvas.height, pad = 22;
  ctx.clearRect(0, 0, w, h);
  const top = Math.max(1, ...points.flatMap((p) => series.map(([key]) => p[key])));
  ctx.strokeStyle = "#2b3645";
  ctx.fillStyle = "#8593a3";
  ctx.font = "11px system-ui, sans-serif";
  ctx.beginPath();
  ctx.moveTo(pad, 4);
  ctx.lineTo(pad, h - pad);
  ctx.lineTo(w - 4, h - pad);
  ctx.stroke();
  ctx.fillText(`${top}${unit}`, 2, 12);
  ctx.fillText(id === "throughput" ? "-60 s" : "older", pad, h - 6);
  ctx.fillText(id === "throughput" ? "now" : "newest", w - 40, h - 6);
  const x = (i) => pad + ((w - pad - 6) * i) / Math.max(1, points.length - 1);
  const y = (v) => h - pad - ((h - pad - 8) * v) / top;
  for (const [key, colour] of series) {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    points.forEach((p, i) => (i ? ctx.lineTo(x(i), y(p[key])) : ctx.moveTo(x(i), y(p[key]))));
    ctx.stroke();
    if (id !== "throughput") {
      // one point per scan that found new histograms: dots, so that a lone one shows
      ctx.fillStyle = colour;
      points.forEach((p, i) => ctx.fillRect(x(i) - 2, y(p[key]) - 2, 4, 4));
    }
  }
  series.forEach(([key, colour], i) => {
    ctx.fillStyle = colour;
    ctx.fillText(key.replace("_us", ""), w - 50 * (series.length - i), 12);
  });
}

function drawLatency(latency) {
  const s = latency.summary;
  document.getElementById("latency-note").textContent = s
    ? `${s.count} orders: p50 ${s.p50_us} µs · p99 ${s.p99_us} µs · p99.9 ${s["p99.9_us"]} µs · max ${s.max_us} µs`
    : "no samples: start serve with RINGMATCH_LATENCY_PROBE=1 (written as each session ends)";
  lineChart("latency", latency.points, [["p50_us", "#58a6ff"], ["p99_us", "#f0b429"]], " µs");
}

function money(text) {
  return cell(text, text && text.startsWith("-") ? "neg" : text && text !== "0.00" ? "pos" : "");
}

function drawRisk(risk) {
  document.getElementById("risk-note").textContent = risk.error
    ? `(${risk.error})`
    : `(as of event ${risk.seq ?? 0})`;
  const kills = Object.entries(risk.kill_switches || {});
  document.getElementById("kills").replaceChildren(
    ...kills.map(([account, why]) =>
      el("div", { class: "kill", text: `kill switch ON: ${account === "*" ? "global" : account} (${why})` }),
    ),
  );
  const rows = [];
  for (const [account, entry] of Object.entries(risk.accounts || {})) {
    for (const [symbol, p] of Object.entries(entry.symbols)) {
      rows.push(
        el("tr", { class: "position", "data-account": account }, [
          cell(account), cell(symbol), cell(String(p.position)), cell(p.avg_cost), cell(p.mark_price),
          cell((risk.last_prices || {})[symbol]), money(p.realised), money(p.unrealised), money(p.total),
        ]),
      );
    }
    const t = entry.totals;
    rows.push(
      el("tr", { class: "total", "data-account": account }, [
        cell(account), cell(entry.tripped ? `total (tripped: ${entry.tripped})` : "total"),
        cell(""), cell(""), cell(""), cell(""), money(t.realised), money(t.unrealised), money(t.total),
      ]),
    );
  }
  document.querySelector("#risk tbody").replaceChildren(...rows);
}

function draw(state) {
  const who = state.viewer;
  document.getElementById("who").textContent = `${who.account}${who.admin ? " (admin: every account)" : ""}`;
  const status = document.getElementById("status");
  status.textContent = state.feed_connected ? "live" : "feed disconnected";
  status.className = state.feed_connected ? "status live" : "status";
  state.books.forEach(drawBook);
  drawTape(state.trades);
  lineChart("throughput", state.throughput, [["events", "#58a6ff"], ["trades", "#f0b429"]], "/s");
  drawLatency(state.latency);
  drawRisk(state.risk);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "state") draw(msg);
  };
  ws.onclose = () => {
    const status = document.getElementById("status");
    status.textContent = "disconnected: reconnecting";
    status.className = "status";
    setTimeout(connect, 1000);
  };
}

connect();
