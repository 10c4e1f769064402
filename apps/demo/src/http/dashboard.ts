/**
 * The dashboard at `/`: one self-contained page (no external scripts, styles or fonts) whose
 * inline script polls `/metrics/cache` every second. Kept as a string so the server needs no
 * file access. (No template placeholders or backticks inside: it is a plain string literal.)
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tiercache demo</title>
<style>
  :root { --bg: #0f1419; --card: #1a2029; --fg: #e6e6e6; --dim: #8b949e; --l1: #3fb950;
          --l2: #58a6ff; --miss: #f85149; --warn: #d29922; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, -apple-system, Segoe UI, sans-serif;
         background: var(--bg); color: var(--fg); }
  header { padding: 16px 24px; display: flex; gap: 16px; align-items: baseline; flex-wrap: wrap; }
  header h1 { font-size: 18px; margin: 0; }
  header span { color: var(--dim); }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr));
         gap: 16px; padding: 0 24px 24px; }
  section { background: var(--card); border-radius: 8px; padding: 16px; }
  h2 { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--dim);
       margin: 0 0 8px; }
  .big { font-size: 40px; font-weight: 600; font-variant-numeric: tabular-nums; }
  .row { display: flex; justify-content: space-between; font-variant-numeric: tabular-nums;
         padding: 2px 0; }
  .row b { font-weight: 600; }
  .bar { display: flex; height: 14px; border-radius: 7px; overflow: hidden; background: #30363d;
         margin: 8px 0; }
  .bar div { transition: width .3s; }
  .dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%;
         margin-right: 6px; }
  canvas { width: 100%; height: 60px; }
  #status.ok { color: var(--l1); } #status.error { color: var(--miss); }
</style>
</head>
<body>
<header>
  <h1>tiercache · AI-agent platform</h1>
  <span>instance <b id="instance">–</b></span>
  <span>uptime <b id="uptime">–</b></span>
  <span id="status">connecting…</span>
</header>
<main>
  <section>
    <h2>Hit rate</h2>
    <div class="big" id="hit-rate" data-value="">–</div>
    <div class="row"><span>hits</span><b id="hits">–</b></div>
    <div class="row"><span>misses</span><b id="misses">–</b></div>
    <div class="row"><span>requests / min</span><b id="rpm">–</b></div>
    <canvas id="spark" width="300" height="60"></canvas>
  </section>
  <section>
    <h2>L1 / L2 / miss</h2>
    <div class="bar">
      <div id="bar-l1" style="background:var(--l1);width:0"></div>
      <div id="bar-l2" style="background:var(--l2);width:0"></div>
      <div id="bar-miss" style="background:var(--miss);width:0"></div>
    </div>
    <div class="row"><span><i class="dot" style="background:var(--l1)"></i>L1 (memory)</span><b id="l1-hits">–</b></div>
    <div class="row"><span><i class="dot" style="background:var(--l2)"></i>L2 (Redis)</span><b id="l2-hits">–</b></div>
    <div class="row"><span><i class="dot" style="background:var(--miss)"></i>miss (PostgreSQL)</span><b id="miss-count">–</b></div>
    <div class="row"><span>L1 share of hits</span><b id="l1-share">–</b></div>
    <div class="row"><span>L1 entries</span><b id="l1-size">–</b></div>
    <div class="row"><span>evictions</span><b id="evictions">–</b></div>
  </section>
  <section>
    <h2>Latency</h2>
    <div class="row"><span>HTTP p50</span><b id="http-p50">–</b></div>
    <div class="row"><span>HTTP p90</span><b id="http-p90">–</b></div>
    <div class="row"><span>HTTP p99</span><b id="http-p99">–</b></div>
    <div class="row"><span>loader (PostgreSQL) p50</span><b id="load-p50">–</b></div>
    <div class="row"><span>loader (PostgreSQL) p99</span><b id="load-p99">–</b></div>
    <div class="row"><span>loads</span><b id="loads">–</b></div>
  </section>
  <section>
    <h2>Redis</h2>
    <div class="big" id="redis-used">–</div>
    <div class="row"><span>max memory</span><b id="redis-max">–</b></div>
    <div class="row"><span>usage</span><b id="redis-usage">–</b></div>
    <div class="row"><span>eviction policy</span><b id="redis-policy">–</b></div>
    <div class="row"><span>circuit</span><b id="circuit">–</b></div>
    <div class="row"><span>Bloom: absent ids skipped</span><b id="bloom-absent">–</b></div>
    <div class="row"><span>bus messages in / out</span><b id="bus">–</b></div>
  </section>
</main>
<script>
(function () {
  var history = [];
  function $(id) { return document.getElementById(id); }
  function set(id, text) { var el = $(id); if (el) el.textContent = text; }
  function ms(v) { return v === null || v === undefined ? '–' : (v < 1 ? v.toFixed(3) : v.toFixed(1)) + ' ms'; }
  function pct(r) { return (r * 100).toFixed(1) + ' %'; }
  function bytes(b) {
    if (b === null || b === undefined) return 'unlimited';
    if (b < 1024 * 1024) return (b / 1024).toFixed(1) + ' KiB';
    return (b / 1024 / 1024).toFixed(1) + ' MiB';
  }
  function num(n) { return Number(n).toLocaleString('en'); }
  function spark() {
    var c = $('spark'), g = c.getContext('2d');
    g.clearRect(0, 0, c.width, c.height);
    g.strokeStyle = '#3fb950'; g.lineWidth = 2; g.beginPath();
    for (var i = 0; i < history.length; i++) {
      var x = (i / 59) * c.width, y = c.height - history[i] * (c.height - 4) - 2;
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    }
    g.stroke();
  }
  function render(m) {
    set('instance', m.instance + (m.cacheDisabled ? ' (cache disabled)' : ''));
    set('uptime', m.uptimeSeconds + ' s');
    $('hit-rate').dataset.value = String(m.ratios.hitRate);
    set('hit-rate', pct(m.ratios.hitRate));
    set('hits', num(m.hits)); set('misses', num(m.misses));
    set('rpm', num(Math.round(m.perMinute.requests)));
    var total = m.hits + m.misses;
    var l1 = total ? m.l1Hits / total : 0, l2 = total ? m.l2Hits / total : 0;
    var miss = total ? m.misses / total : 0;
    $('bar-l1').style.width = (l1 * 100) + '%';
    $('bar-l2').style.width = (l2 * 100) + '%';
    $('bar-miss').style.width = (miss * 100) + '%';
    set('l1-hits', num(m.l1Hits) + ' · ' + pct(l1));
    set('l2-hits', num(m.l2Hits) + ' · ' + pct(l2));
    set('miss-count', num(m.misses) + ' · ' + pct(miss));
    set('l1-share', m.l1HitPercent);
    set('l1-size', num(m.l1.size));
    set('evictions', num(m.evictions));
    set('http-p50', ms(m.latency.http.p50Ms)); set('http-p90', ms(m.latency.http.p90Ms));
    set('http-p99', ms(m.latency.http.p99Ms));
    set('load-p50', ms(m.latency.load.p50Ms)); set('load-p99', ms(m.latency.load.p99Ms));
    set('loads', num(m.loads));
    var r = m.redisMemory;
    set('redis-used', r ? bytes(r.usedBytes) : '–');
    set('redis-max', r ? bytes(r.maxBytes) : '–');
    set('redis-usage', r && r.usageRatio !== null ? pct(r.usageRatio) : '–');
    set('redis-policy', r ? r.policy : '–');
    set('circuit', m.circuit);
    set('bloom-absent', num(m.bloom.absent) + ' of ' + num(m.bloom.checks));
    set('bus', num(m.busMessages.received) + ' / ' + num(m.busMessages.published));
    history.push(m.ratios.hitRate); if (history.length > 60) history.shift();
    spark();
  }
  function poll() {
    fetch('/metrics/cache', { cache: 'no-store' })
      .then(function (res) { if (!res.ok) throw new Error('HTTP ' + res.status); return res.json(); })
      .then(function (m) {
        render(m);
        $('status').className = 'ok';
        set('status', 'live · ' + new Date().toLocaleTimeString());
      })
      .catch(function (e) { $('status').className = 'error'; set('status', 'offline: ' + e.message); })
      .then(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
</script>
</body>
</html>
`;
