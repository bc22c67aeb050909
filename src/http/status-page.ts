/**
 * The status page at / on the HTTP port: one self-contained HTML document (inline CSS and
 * script, no external URL), which polls /api/status once a second and runs /explain from its
 * search box. Written without template placeholders or backquotes so it can live in this string.
 */
export const STATUS_PAGE = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clusterdns status</title>
<style>
  :root { --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --mute: #667085; --line: #e4e7ec; --ok: #12805c; --bad: #b42318; --warn: #b54708; --qps: #2e6fd8; --lat: #d9480f; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--ink); }
  header { display: flex; align-items: center; gap: 16px; padding: 12px 20px; background: #111827; color: #fff; }
  header h1 { font-size: 18px; margin: 0; font-weight: 600; }
  header .meta { color: #cbd5e1; font-size: 13px; }
  .badge { display: inline-block; padding: 2px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
  .badge.ok { background: #d1fadf; color: var(--ok); } .badge.bad { background: #fee4e2; color: var(--bad); } .badge.warn { background: #fef0c7; color: var(--warn); }
  main { display: grid; grid-template-columns: repeat(12, 1fr); gap: 14px; padding: 14px 20px 30px; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
  section h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--mute); margin: 0 0 8px; font-weight: 600; }
  .w12 { grid-column: span 12; } .w8 { grid-column: span 8; } .w6 { grid-column: span 6; } .w4 { grid-column: span 4; }
  @media (max-width: 1000px) { .w8, .w6, .w4 { grid-column: span 12; } }
  table { width: 100%; border-collapse: collapse; font-size: 13px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { color: var(--mute); font-weight: 600; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
  .big { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
  .kpis { display: flex; gap: 24px; flex-wrap: wrap; margin-bottom: 6px; }
  .kpi .label { color: var(--mute); font-size: 12px; }
  .legend { display: flex; gap: 14px; font-size: 12px; color: var(--mute); }
  .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
  canvas { width: 100%; height: 220px; display: block; }
  .bar { min-width: 90px; height: 8px; background: var(--line); border-radius: 4px; overflow: hidden; }
  .bar > span { display: block; height: 100%; background: var(--qps); }
  form { display: flex; gap: 8px; flex-wrap: wrap; margin-bottom: 10px; }
  input, select, button { font: inherit; padding: 6px 8px; border: 1px solid #cfd4dc; border-radius: 6px; background: #fff; }
  input#explain-name { flex: 1 1 260px; }
  button { background: #2e6fd8; color: #fff; border-color: #2e6fd8; cursor: pointer; }
  pre { margin: 0; white-space: pre-wrap; word-break: break-word; }
  .tries td:first-child { width: 1.5em; color: var(--mute); }
  .rc-NOERROR { color: var(--ok); font-weight: 600; } .rc-NXDOMAIN, .rc-SERVFAIL, .rc-REFUSED { color: var(--bad); font-weight: 600; } .rc-FORWARDED { color: var(--warn); font-weight: 600; }
  .muted { color: var(--mute); }
  ul.plain { margin: 4px 0; padding-left: 18px; }
  .scroll { max-height: 320px; overflow: auto; }
  .error { color: var(--bad); }
</style>
</head>
<body>
<header>
  <h1>clusterdns</h1>
  <span id="ready" class="badge warn">loading</span>
  <span class="meta" id="meta"></span>
</header>
<main>
  <section class="w8">
    <h2>Queries</h2>
    <div class="kpis">
      <div class="kpi"><div class="label">queries / s</div><div class="big" id="qps-now">0</div></div>
      <div class="kpi"><div class="label">mean latency</div><div class="big" id="lat-now">-</div></div>
      <div class="kpi"><div class="label">p99 latency</div><div class="big" id="p99-now">-</div></div>
      <div class="kpi"><div class="label">answer cache hit rate</div><div class="big" id="hit-rate">-</div></div>
    </div>
    <div class="legend"><span><i style="background:var(--qps)"></i>queries/s (left)</span><span><i style="background:var(--lat)"></i>p99 latency ms (right)</span><span id="chart-range" class="muted"></span></div>
    <canvas id="chart" data-points="0" data-max-qps="0"></canvas>
  </section>
  <section class="w4">
    <h2>Answer codes</h2>
    <table id="rcodes"><tbody></tbody></table>
    <h2 style="margin-top:14px">Caches</h2>
    <table id="caches"><tbody></tbody></table>
  </section>

  <section class="w12">
    <h2>Explain a name</h2>
    <form id="explain-form">
      <input id="explain-name" name="name" placeholder="name, e.g. web.shop or kubernetes" autocomplete="off" required>
      <input id="explain-ns" name="namespace" value="default" size="14" title="namespace of the asking pod">
      <select id="explain-type" name="type"><option>A</option><option>AAAA</option><option>SRV</option><option>PTR</option><option>TXT</option><option>CNAME</option></select>
      <button type="submit">Explain</button>
    </form>
    <div id="explain-out" class="muted">Shows every name a pod's resolver tries (search path, ndots:5), what each returned, and the object behind the answer.</div>
  </section>

  <section class="w6">
    <h2>Zones</h2>
    <table id="zones"><thead><tr><th>zone</th><th>answered</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="w6">
    <h2>Sources</h2>
    <table id="sources"><thead><tr><th>source</th><th>state</th><th class="num">objects</th><th>last change</th><th>last error</th></tr></thead><tbody></tbody></table>
    <div class="muted" id="store"></div>
  </section>

  <section class="w12">
    <h2>Services <span class="muted" id="services-count"></span></h2>
    <div class="scroll"><table id="services"><thead><tr><th>namespace</th><th>name</th><th>type</th><th>addresses</th><th>ports</th><th class="num">ready</th><th class="num">not ready</th><th>source</th></tr></thead><tbody></tbody></table></div>
  </section>

  <section class="w4">
    <h2>Top names <span class="muted" id="sample-note"></span></h2>
    <table id="top-names"><tbody></tbody></table>
  </section>
  <section class="w4">
    <h2>Top NXDOMAIN names</h2>
    <table id="top-nx"><tbody></tbody></table>
  </section>
  <section class="w4">
    <h2>Last changes from the sources</h2>
    <div class="scroll"><table id="changes"><tbody></tbody></table></div>
  </section>
</main>
<script>
"use strict";
var $ = function (id) { return document.getElementById(id); };
function el(tag, attrs, children) {
  var e = document.createElement(tag);
  if (attrs) for (var k in attrs) { if (k === "text") e.textContent = attrs[k]; else if (k === "class") e.className = attrs[k]; else e.setAttribute(k, attrs[k]); }
  (children || []).forEach(function (c) { e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
  return e;
}
function fill(tbody, rows) { tbody.replaceChildren.apply(tbody, rows); }
function row(cells, attrs) { return el("tr", attrs, cells.map(function (c) { return c instanceof Node ? el("td", null, [c]) : (c && typeof c === "object" ? el("td", c) : el("td", { text: String(c) })); })); }
function num(n) { return { text: Number(n).toLocaleString("en-US", { maximumFractionDigits: 1 }), class: "num" }; }
function ms(v) { return v >= 100 ? v.toFixed(0) + " ms" : v >= 1 ? v.toFixed(1) + " ms" : (v * 1000).toFixed(0) + " µs"; }
function ago(t) { if (!t) return "never"; var s = Math.max(0, (Date.now() - t) / 1000); return s < 60 ? s.toFixed(0) + " s ago" : s < 3600 ? (s / 60).toFixed(0) + " min ago" : new Date(t).toISOString().replace("T", " ").slice(0, 19); }

var last = null;

function render(s) {
  last = s;
  var r = $("ready");
  r.textContent = s.draining ? "draining" : s.ready ? "ready" : "not ready";
  r.className = "badge " + (s.draining ? "warn" : s.ready ? "ok" : "bad");
  $("meta").textContent = "v" + s.version + " · domain " + s.domain + " · pods " + s.pods + " · ttl " + s.ttl + "s · up " + ago(s.startedAt).replace(" ago", "");

  var pts = s.series || [];
  var cur = pts.length ? pts[pts.length - 1] : { qps: 0, avgMs: 0, p99Ms: 0 };
  $("qps-now").textContent = cur.qps.toFixed(cur.qps < 10 ? 1 : 0);
  $("lat-now").textContent = cur.qps > 0 ? ms(cur.avgMs) : "-";
  $("p99-now").textContent = cur.qps > 0 ? "≤ " + ms(cur.p99Ms) : "-";
  drawChart(pts);

  var rc = s.queries.rcodes, total = 0, k;
  for (k in rc) total += rc[k];
  var rcRows = Object.keys(rc).sort(function (a, b) { return rc[b] - rc[a]; }).map(function (name) {
    var bar = el("div", { class: "bar" }, [el("span", { style: "width:" + (100 * rc[name] / total).toFixed(1) + "%" })]);
    return row([el("span", { class: "rc-" + name, text: name }), num(rc[name]), { text: (100 * rc[name] / total).toFixed(1) + "%", class: "num" }, bar], { "data-rcode": name });
  });
  fill($("rcodes").tBodies[0], rcRows.length ? rcRows : [row([{ text: "no queries yet", class: "muted" }])]);

  var ac = s.queries.answerCache, fc = s.queries.forwardCache;
  var rate = function (c) { var n = c.hits + c.misses; return n ? (100 * c.hits / n).toFixed(1) + "%" : "-"; };
  $("hit-rate").textContent = rate(ac);
  var cacheRows = [row(["cluster answers", rate(ac), num(ac.hits + ac.misses)])];
  cacheRows.push(fc ? row(["forwarded replies", rate(fc), num(fc.hits + fc.misses)]) : row(["forwarded replies", { text: "off (no upstream)", class: "muted" }, ""]));
  fill($("caches").tBodies[0], cacheRows);

  fill($("zones").tBodies[0], s.zones.map(function (z) { return row([el("code", { text: z.zone }), z.how]); }));
  fill($("sources").tBodies[0], s.sources.map(function (x) {
    return row([x.name, el("span", { class: "badge " + (x.synced ? "ok" : "bad"), text: x.synced ? "synced" : "not synced" }), num(x.objects), ago(x.lastChange), { text: x.lastError || "-", class: x.lastError ? "error" : "muted" }]);
  }));
  $("store").textContent = s.store.names + " names, " + s.store.objects + " objects, generation " + s.store.generation;

  $("services-count").textContent = "(" + s.servicesTotal + (s.services.length < s.servicesTotal ? ", first " + s.services.length + " shown" : "") + ")";
  fill($("services").tBodies[0], s.services.map(function (v) {
    var link = el("a", { href: "#", text: v.name });
    link.addEventListener("click", function (e) { e.preventDefault(); $("explain-name").value = v.name + "." + v.namespace; $("explain-ns").value = v.namespace; runExplain(); });
    return row([v.namespace, link, v.type, el("code", { text: v.addresses.join(", ") || "-" }), v.ports.join(", ") || "-", v.type === "Headless" ? num(v.endpoints.ready) : { text: "", class: "num" }, v.type === "Headless" ? num(v.endpoints.notReady) : { text: "", class: "num" }, { text: v.ref ? v.source + ": " + v.ref : v.source, class: "muted mono" }], { "data-service": v.namespace + "/" + v.name });
  }));

  $("sample-note").textContent = "(sampled 1 in " + s.sampleEvery + ")";
  var top = function (list, id) {
    fill($(id).tBodies[0], list.length ? list.map(function (t) { return row([el("code", { text: t.name + "." }), num(t.count * s.sampleEvery)]); }) : [row([{ text: "none yet", class: "muted" }])]);
  };
  top(s.topNames, "top-names");
  top(s.topNxdomain, "top-nx");

  fill($("changes").tBodies[0], s.changes.length ? s.changes.map(function (c) {
    var what = c.op === "reset" ? "full load: " + c.upserts + " objects" : (c.upserts ? c.upserts + " updated" : "") + (c.upserts && c.deletes ? ", " : "") + (c.deletes ? c.deletes + " deleted" : "");
    var names = el("ul", { class: "plain" }, c.op === "reset" ? [] : c.objects.map(function (o) { return el("li", { class: "mono", text: (o.op === "delete" ? "− " : "+ ") + o.key + (o.origin ? "  (" + o.origin.ref + ")" : "") }); }));
    return row([{ text: ago(c.at), class: "muted" }, el("div", null, [c.source + " · " + what, names])]);
  }) : [row([{ text: "none yet", class: "muted" }])]);
}

function drawChart(pts) {
  var c = $("chart"), dpr = window.devicePixelRatio || 1;
  var w = c.clientWidth, h = c.clientHeight;
  if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
  var g = c.getContext("2d");
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  var L = 48, R = 52, T = 8, B = 22, pw = w - L - R, ph = h - T - B;
  var N = 120;
  var maxQ = 1, maxL = 1;
  pts.forEach(function (p) { if (p.qps > maxQ) maxQ = p.qps; if (p.p99Ms > maxL) maxL = p.p99Ms; });
  maxQ = 4 * nice(maxQ / 4); maxL = 4 * nice(maxL / 4);
  c.setAttribute("data-points", String(pts.length));
  c.setAttribute("data-max-qps", String(Math.round(pts.reduce(function (m, p) { return Math.max(m, p.qps); }, 0))));
  c.setAttribute("data-loaded", String(pts.filter(function (p) { return p.qps > 0; }).length));
  g.font = "11px system-ui, sans-serif";
  g.strokeStyle = "#e4e7ec"; g.fillStyle = "#667085"; g.lineWidth = 1;
  for (var i = 0; i <= 4; i++) {
    var y = T + ph - (ph * i) / 4;
    g.beginPath(); g.moveTo(L, y + 0.5); g.lineTo(L + pw, y + 0.5); g.stroke();
    g.textAlign = "right"; g.fillText(fmtAxis(maxQ * i / 4), L - 6, y + 4);
    g.textAlign = "left"; g.fillText(fmtAxis(maxL * i / 4), L + pw + 6, y + 4);
  }
  g.textAlign = "center";
  for (var s = 0; s <= N; s += 30) g.fillText(s === N ? "now" : "-" + (N - s) + "s", L + (pw * s) / N, h - 6);
  $("chart-range").textContent = "last " + N + " s";
  if (!pts.length) return;
  var x = function (k) { return L + (pw * (N - (pts.length - 1 - k))) / N; };
  var yq = function (v) { return T + ph - (ph * v) / maxQ; };
  var yl = function (v) { return T + ph - (ph * v) / maxL; };
  g.beginPath(); g.moveTo(x(0), T + ph);
  pts.forEach(function (p, k) { g.lineTo(x(k), yq(p.qps)); });
  g.lineTo(x(pts.length - 1), T + ph); g.closePath();
  g.fillStyle = "rgba(46,111,216,0.18)"; g.fill();
  g.beginPath(); pts.forEach(function (p, k) { if (k) g.lineTo(x(k), yq(p.qps)); else g.moveTo(x(k), yq(p.qps)); });
  g.strokeStyle = "#2e6fd8"; g.lineWidth = 2; g.stroke();
  g.beginPath(); var started = false;
  pts.forEach(function (p, k) { if (p.qps <= 0) { started = false; return; } if (started) g.lineTo(x(k), yl(p.p99Ms)); else { g.moveTo(x(k), yl(p.p99Ms)); started = true; } });
  g.strokeStyle = "#d9480f"; g.lineWidth = 1.5; g.stroke();
}
function nice(v) { var p = Math.pow(10, Math.floor(Math.log10(v))); var m = v / p; return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * p; }
function fmtAxis(v) { return v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + "k" : v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2); }

function poll() {
  fetch("/api/status", { cache: "no-store" }).then(function (r) { return r.json(); }).then(render, function () {
    var r = $("ready"); r.textContent = "unreachable"; r.className = "badge bad";
  }).finally(function () { setTimeout(poll, 1000); });
}

function runExplain() {
  var q = new URLSearchParams({ name: $("explain-name").value, namespace: $("explain-ns").value || "default", type: $("explain-type").value });
  var out = $("explain-out");
  out.className = "muted"; out.textContent = "asking…";
  fetch("/explain?" + q.toString(), { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (x) {
    out.className = "";
    if (x.error) { out.replaceChildren(el("div", { class: "error", text: x.error })); return; }
    var tries = el("table", { class: "tries" }, [el("tbody", null, x.tries.map(function (t, i) {
      var rc = t.rcode || "FORWARDED";
      return row([String(i + 1), el("code", { text: t.name }), el("span", { class: "rc-" + rc, text: rc }), el("div", null, [t.note ? el("div", { class: "muted", text: t.note }) : "", el("pre", { class: "mono", text: t.answer.join("\n") })])]);
    }))]);
    var head = { answered: "resolves as " + x.answeredBy, nodata: "exists, but has no " + x.query.type + " records", nxdomain: "does not resolve", forwarded: "is outside the cluster: the upstream answers it", refused: "is refused: outside the cluster and no upstream", servfail: "fails: the server is not ready" }[x.outcome];
    var parts = [el("div", { id: "explain-result", "data-outcome": x.outcome }, [el("strong", { text: x.query.name + " " + x.query.type + " from namespace " + x.query.namespace + ": " + head })]),
      el("div", { class: "muted mono", text: "search " + x.search.join(" ") + " (ndots:" + x.ndots + ")" }), tries];
    if (x.objects.length) parts.push(el("div", null, [el("strong", { text: x.outcome === "answered" ? "Answered from" : "The name belongs to" }), el("ul", { class: "plain" }, x.objects.map(function (o) {
      return el("li", null, [o.kind + " " + (o.namespace ? o.namespace + "/" : "") + o.name + " — " + o.why + " ", el("span", { class: "muted mono", text: o.source ? "[" + o.source + (o.ref ? ": " + o.ref : "") + "]" : "" })]);
    }))]));
    if (x.reasons.length) parts.push(el("div", null, [el("strong", { text: "Why" }), el("ul", { class: "plain" }, x.reasons.map(function (m) { return el("li", { "data-reason": m.code, text: m.message }); }))]));
    if (x.nearest.length) parts.push(el("div", null, [el("strong", { text: "Nearest names that exist" }), el("ul", { class: "plain" }, x.nearest.map(function (n) { return el("li", null, [el("code", { text: n.name }), " " + n.message]); }))]));
    out.replaceChildren.apply(out, parts);
  }, function (e) { out.className = "error"; out.textContent = "explain failed: " + e; });
}

$("explain-form").addEventListener("submit", function (e) { e.preventDefault(); runExplain(); });
window.addEventListener("resize", function () { if (last) drawChart(last.series || []); });
poll();
</script>
</body>
</html>
`;
