// The pages' one script (served as /static/live.js; the Content-Security-Policy allows no
// other). It polls the JSON endpoint named by the page and rewrites the live parts with
// textContent and createElement only: no server string is ever parsed as markup.
"use strict";
(function () {
  var body = document.body;
  var api = body.getAttribute("data-api");
  var kind = body.getAttribute("data-page");
  if (!api) { return; }
  var every = 1000;

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }
  function num(v, digits) {
    return (v === null || v === undefined) ? "n/a" : Number(v).toFixed(digits);
  }
  function duration(s) {
    if (s === null || s === undefined) { return "n/a"; }
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h > 0 ? h + " h " : "") + (h > 0 || m > 0 ? m + " min " : "") + r + " s";
  }
  function cell(tr, value) {
    var td = document.createElement("td");
    td.textContent = value;
    tr.appendChild(td);
    return td;
  }
  function link(td, href, label) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = label;
    td.textContent = "";
    td.appendChild(a);
  }
  function replaceRows(id, rows) {
    var tbody = document.getElementById(id);
    if (!tbody) { return; }
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    rows.forEach(function (tr) { tbody.appendChild(tr); });
  }

  function showRuns(runs) {
    replaceRows("runs", runs.map(function (r) {
      var tr = document.createElement("tr");
      link(cell(tr, ""), "/runs/" + encodeURIComponent(r.id), r.id);
      cell(tr, r.workflow);
      cell(tr, r.status);
      cell(tr, r.cells_done + " / " + r.cells_total);
      cell(tr, String(r.failed));
      cell(tr, r.rate_per_second === null ? "n/a" : num(r.rate_per_second, 1) + " cells/s");
      cell(tr, duration(r.eta_seconds));
      cell(tr, r.started);
      return tr;
    }));
    text("runs-count", String(runs.length));
  }

  function showRun(p) {
    text("status", p.status);
    text("done", String(p.cells_done));
    text("total", String(p.cells_total));
    text("failed", String(p.failed));
    text("rate", p.rate_per_second === null ? "n/a" : num(p.rate_per_second, 1) + " cells/s");
    text("eta", duration(p.eta_seconds));
    var bar = document.getElementById("bar");
    if (bar) { bar.max = Math.max(p.cells_total, 1); bar.value = p.cells_done; }
    replaceRows("failures", Object.keys(p.failures_by_kind).map(function (k) {
      var tr = document.createElement("tr");
      cell(tr, k);
      cell(tr, String(p.failures_by_kind[k]));
      return tr;
    }));
    text("board-state", p.leaderboard_final ? "final" : "so far (updates as cells finish)");
    replaceRows("board", (p.leaderboard || []).map(function (r) {
      var m = r.metrics || {};
      var tr = document.createElement("tr");
      cell(tr, String(r.rank));
      cell(tr, r.estimator);
      cell(tr, num(r.score, 2));
      cell(tr, num(m.mae, 4));
      cell(tr, num(m.bias, 4));
      cell(tr, num(m.rmse, 4));
      cell(tr, num(m.coverage, 3));
      cell(tr, m.validity === undefined ? "n/a" : (100 * m.validity).toFixed(1) + "%");
      cell(tr, num(m.runtime_ms, 3));
      return tr;
    }));
    var files = document.getElementById("files");
    if (files) {
      while (files.firstChild) { files.removeChild(files.firstChild); }
      p.files.forEach(function (f) {
        var li = document.createElement("li");
        var a = document.createElement("a");
        a.href = "/runs/" + encodeURIComponent(p.id) + "/" + f;
        a.textContent = f;
        li.appendChild(a);
        files.appendChild(li);
      });
    }
    var chart = document.getElementById("chart");
    if (chart && (p.status === "running" || !chart.getAttribute("data-final"))) {
      if (p.status !== "running") { chart.setAttribute("data-final", "1"); }
      var stamp = Date.now();
      if (!chart.getAttribute("data-at") || stamp - Number(chart.getAttribute("data-at")) > 10000 || p.status !== "running") {
        chart.setAttribute("data-at", String(stamp));
        chart.src = "/runs/" + encodeURIComponent(p.id) + "/charts/truth.svg?at=" + stamp;
      }
    }
    body.setAttribute("data-status", p.status);
  }

  function poll() {
    var req = new XMLHttpRequest();
    req.open("GET", api);
    req.onload = function () {
      if (req.status === 200) {
        var data = JSON.parse(req.responseText);
        if (kind === "runs") { showRuns(data); } else { showRun(data); }
        text("updated", new Date().toISOString());
      }
      setTimeout(poll, every);
    };
    req.onerror = function () { setTimeout(poll, every * 5); };
    req.send();
  }
  poll();
})();
