/**
 * The browser script of the live view (`GET /ui`), as text: plain JavaScript that runs in the
 * page, kept here so the node serves it inline (no build step, no external fetch) and the page's
 * Content-Security-Policy can allow exactly this script by its hash.
 *
 * What it does: polls `GET /status/cluster` once a second (never two polls at once), keeps the
 * last two minutes of each node's request rate and p99 for the sparklines, and redraws the ring,
 * the members matrix (each member's status as each node sees it) and the per-node figures.
 * Elements carry `data-*` attributes (`data-observer`, `data-member`, `data-status`,
 * `data-ring-node`) that the browser test reads. A node that has a bearer token answers 401;
 * the page then asks for the token (also accepted as `#token=...` in the URL) and keeps it in
 * `sessionStorage` for the tab.
 *
 * @module
 */

/** The script. No template literals inside, so it can live in one. */
export const LIVE_VIEW_SCRIPT = String.raw`
"use strict";
(function () {
  var HISTORY = 120;
  var PERIOD_MS = 1000;
  var COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
  var history = {};
  var colorOf = {};
  var lastOk = 0;

  function token() {
    var m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem("ringforge-token", decodeURIComponent(m[1]));
      history_replace();
    }
    return sessionStorage.getItem("ringforge-token");
  }
  function history_replace() {
    try { window.history.replaceState(null, "", location.pathname); } catch (e) { /* keep the hash */ }
  }
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, String(attrs[k]));
    (children || []).forEach(function (c) { node.append(c instanceof Node ? c : document.createTextNode(String(c))); });
    return node;
  }
  function svg(tag, attrs, children) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    if (attrs) for (var k in attrs) node.setAttribute(k, String(attrs[k]));
    (children || []).forEach(function (c) { node.append(c); });
    return node;
  }
  function fmt(n, digits) {
    if (n === undefined || n === null) return "–";
    if (Math.abs(n) >= 1e9) return (n / 1e9).toFixed(1) + "G";
    if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + "M";
    if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + "k";
    return digits === undefined ? String(Math.round(n * 10) / 10) : n.toFixed(digits);
  }
  function bytes(n) {
    if (n === undefined) return "–";
    var units = ["B", "KiB", "MiB", "GiB", "TiB"];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + " " + units[i];
  }
  function ago(ms) {
    if (ms === undefined) return "–";
    if (ms < 1000) return ms + " ms";
    if (ms < 120000) return (ms / 1000).toFixed(1) + " s";
    return Math.round(ms / 60000) + " min";
  }
  function color(id) {
    if (!colorOf[id]) colorOf[id] = COLORS[Object.keys(colorOf).length % COLORS.length];
    return colorOf[id];
  }
  function replace(id, node) {
    var old = document.getElementById(id);
    node.id = id;
    old.replaceWith(node);
  }

  function record(cluster) {
    cluster.members.forEach(function (m) {
      if (!m.status || !m.status.traffic) return;
      var h = history[m.id] || (history[m.id] = { rps: [], p99: [] });
      h.rps.push(m.status.traffic.requestsPerSecond);
      h.p99.push(m.status.traffic.p99Ms);
      if (h.rps.length > HISTORY) { h.rps.shift(); h.p99.shift(); }
    });
  }

  function sparkline(values, label) {
    var w = 120, h = 28;
    var max = Math.max.apply(null, values.concat([1e-9]));
    // Right-aligned, newest last; the first samples spread over the width until there are 30.
    var step = w / (Math.max(values.length, 30) - 1);
    var points = values.map(function (v, i) {
      return (w - (values.length - 1 - i) * step).toFixed(1) + "," + (h - 2 - (v / max) * (h - 4)).toFixed(1);
    }).join(" ");
    return svg("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, class: "spark", "aria-label": label }, [
      svg("polyline", { points: points, fill: "none", stroke: "currentColor", "stroke-width": 1.5 }),
    ]);
  }

  function renderHeader(cluster, own) {
    var rep = own.replication;
    var plugins = Object.keys(own.plugins).map(function (f) { return f + "=" + own.plugins[f]; }).join("  ");
    replace("summary", el("div", {}, [
      el("h1", {}, ["ringforge · node " + own.node]),
      el("p", {}, [
        (own.running ? "running" : "stopped") + " · ring epoch " + own.ringEpoch + " · N=" + rep.n + " R=" + rep.r + " W=" + rep.w +
          " · " + cluster.members.length + " members",
      ]),
      el("p", { class: "muted" }, [plugins]),
    ].concat(own.scaler ? [el("p", { "data-scaler": own.scaler.last.outcome }, [scalerText(own.scaler)])] : [])));
  }

  // The autoscaler's last decision, as the launcher last told this node (see ringforge status).
  function scalerText(scaler) {
    var d = scaler.last;
    var what = d.outcome === "none" ? "no change" : d.outcome === "applied"
      ? (d.completedAt === undefined ? (d.action === "add" ? "adding a node" : "removing " + d.node) : (d.action === "add" ? "added " + (d.detail || "a node") : "removed " + d.node))
      : d.action + " " + (d.node || "a node") + " " + d.outcome + (d.detail ? ": " + d.detail : "");
    return "scaler (" + scaler.policy + ", " + scaler.limits.min + "-" + scaler.limits.max + " nodes): " + what + " — " + d.reason +
      " (" + Math.round(d.ageMs / 1000) + " s ago)";
  }

  function renderRing(own) {
    var r = 70, c = 2 * Math.PI * r, offset = 0;
    var ring = own.members.filter(function (m) { return m.inRing; });
    var arcs = ring.map(function (m) {
      var len = m.ownership * c;
      var arc = svg("circle", {
        cx: 90, cy: 90, r: r, fill: "none", stroke: color(m.id), "stroke-width": 28,
        "stroke-dasharray": len.toFixed(2) + " " + (c - len).toFixed(2), "stroke-dashoffset": (-offset).toFixed(2),
        transform: "rotate(-90 90 90)", "data-ring-node": m.id, "data-ownership": m.ownership,
      }, [svg("title", {}, [document.createTextNode(m.id + ": " + (m.ownership * 100).toFixed(1) + "%")])]);
      offset += len;
      return arc;
    });
    var picture = svg("svg", { width: 180, height: 180, viewBox: "0 0 180 180", role: "img", "aria-label": "token ownership" }, arcs.concat([
      svg("text", { x: 90, y: 95, "text-anchor": "middle", class: "ring-label" }, [document.createTextNode(ring.length + " in ring")]),
    ]));
    var legend = el("table", { class: "legend" }, [el("tr", {}, [el("th", {}, ["member"]), el("th", {}, ["owns"]), el("th", {}, ["zone"]), el("th", {}, ["datacenter"])])].concat(
      ring.map(function (m) {
        return el("tr", {}, [
          el("td", {}, [el("span", { class: "swatch", style: "background:" + color(m.id) }, []), m.id]),
          el("td", { class: "num" }, [(m.ownership * 100).toFixed(1) + "%"]),
          el("td", {}, [m.zone || "–"]),
          el("td", {}, [m.datacenter || "–"]),
        ]);
      }),
    ));
    var groups = {};
    ring.forEach(function (m) {
      var key = (m.datacenter || "default dc") + " / " + (m.zone || "no zone");
      groups[key] = (groups[key] || 0) + 1;
    });
    var spread = el("p", { class: "muted" }, ["members per datacenter / zone: " + Object.keys(groups).sort().map(function (k) { return k + " " + groups[k]; }).join(", ")]);
    replace("ring", el("div", { class: "ring" }, [picture, el("div", {}, [legend, spread])]));
  }

  function renderMembers(cluster, own) {
    var ids = own.members.map(function (m) { return m.id; });
    cluster.members.forEach(function (m) { if (ids.indexOf(m.id) < 0) ids.push(m.id); });
    var head = el("tr", {}, [el("th", {}, ["member"])].concat(
      cluster.members.map(function (o) { return el("th", {}, ["as " + o.id + " sees it"]); }),
      [el("th", {}, ["incarnation"]), el("th", {}, ["last contact"]), el("th", {}, ["peer address"])],
    ));
    var mine = {};
    own.members.forEach(function (m) { mine[m.id] = m; });
    var rows = ids.map(function (id) {
      var cells = cluster.members.map(function (o) {
        if (!o.status) {
          return el("td", { "data-observer": o.id, "data-member": id, "data-status": "unreachable", title: o.error || "" }, [
            el("span", { class: "badge unreachable" }, ["no answer"]),
          ]);
        }
        var row = o.status.members.filter(function (m) { return m.id === id; })[0];
        var state = row ? row.status : "unknown";
        return el("td", { "data-observer": o.id, "data-member": id, "data-status": state }, [el("span", { class: "badge " + state }, [state])]);
      });
      var m = mine[id] || {};
      return el("tr", {}, [el("th", { scope: "row" }, [id + (id === own.node ? " *" : "")])].concat(cells, [
        el("td", { class: "num" }, [m.incarnation === undefined ? "–" : String(m.incarnation)]),
        el("td", { class: "num" }, [ago(m.lastContactMs)]),
        el("td", {}, [m.address || "–"]),
      ]));
    });
    replace("members", el("table", {}, [head].concat(rows)));
  }

  function engineText(e) {
    var parts = [];
    if (e.memtableBytes !== undefined) parts.push("memtable " + bytes(e.memtableBytes));
    var levels = [];
    for (var i = 0; e["level" + i + "Tables"] !== undefined; i++) levels.push("L" + i + " " + e["level" + i + "Tables"]);
    if (levels.length) parts.push(levels.join(" "));
    if (e.compactionBacklogBytes !== undefined) parts.push("backlog " + bytes(e.compactionBacklogBytes));
    if (e.lostLogBytes) parts.push("lost log " + bytes(e.lostLogBytes));
    if (e.keys !== undefined && e.memtableBytes === undefined) parts.push(fmt(e.keys) + " engine keys");
    return parts.join(" · ") || "–";
  }

  function nodeCell(m) {
    return el("th", { scope: "row" }, [el("span", { class: "swatch", style: "background:" + color(m.id) }, []), m.id]);
  }
  function noAnswer(m, columns, attribute) {
    var attrs = {};
    attrs[attribute] = m.id;
    return el("tr", attrs, [nodeCell(m), el("td", { colspan: columns, class: "muted" }, ["no answer: " + (m.error || "")])]);
  }
  function header(names) {
    return el("tr", {}, names.map(function (h) { return el("th", {}, [h]); }));
  }

  function renderNodes(cluster) {
    var traffic = cluster.members.map(function (m) {
      var s = m.status;
      if (!s) return noAnswer(m, 6, "data-node");
      var t = s.traffic || { requestsPerSecond: 0, p50Ms: 0, p99Ms: 0, errorsPerSecond: 0 };
      var h = history[m.id] || { rps: [], p99: [] };
      return el("tr", { "data-node": m.id }, [
        nodeCell(m),
        el("td", { class: "num" }, [fmt(t.requestsPerSecond)]),
        el("td", {}, [sparkline(h.rps, m.id + " requests per second")]),
        el("td", { class: "num" }, [fmt(t.p50Ms, 2)]),
        el("td", { class: "num" }, [fmt(t.p99Ms, 2)]),
        el("td", {}, [sparkline(h.p99, m.id + " p99 latency")]),
        el("td", { class: "num" + (t.errorsPerSecond > 0 ? " bad" : "") }, [fmt(t.errorsPerSecond)]),
      ]);
    });
    replace("traffic", el("table", {}, [header(["node", "req/s", "last 2 min", "p50 ms", "p99 ms", "p99, last 2 min", "errors/s"])].concat(traffic)));
    var work = cluster.members.map(function (m) {
      var s = m.status;
      if (!s) return noAnswer(m, 9, "data-work-node");
      return el("tr", { "data-work-node": m.id }, [
        nodeCell(m),
        el("td", { class: "num" }, [fmt(s.records.keys)]),
        el("td", { class: "num" }, [bytes(s.records.bytes)]),
        el("td", { class: "num" + (s.records.mostSiblings > 1 || s.records.refused > 0 ? " warn" : "") }, [
          fmt(s.records.mostSiblings) + (s.records.refused > 0 ? " · " + fmt(s.records.refused) + " refused" : ""),
        ]),
        el("td", { class: "num" + (s.hints.pending > 0 ? " warn" : "") }, [fmt(s.hints.pending)]),
        el("td", { class: "num" }, [fmt(s.hints.delivered)]),
        el("td", { class: "num" }, [fmt(s.antiEntropy.exchanges) + " / " + fmt(s.antiEntropy.repaired)]),
        el("td", { class: "num" }, [fmt(s.handoff.pushed) + " / " + bytes(s.handoff.bytes)]),
        el("td", {}, [engineText(s.engine)]),
      ]);
    });
    replace("work", el("table", {}, [header(["node", "keys", "data", "most siblings", "hints pending", "hints delivered",
      "anti-entropy exchanges / repaired", "handoff keys / bytes", "engine"])].concat(work)));
  }

  function showError(text) {
    var box = document.getElementById("error");
    box.textContent = text;
    box.hidden = !text;
  }

  function askToken() {
    var form = document.getElementById("token-form");
    form.hidden = false;
  }

  async function poll() {
    try {
      var headers = {};
      var t = token();
      if (t) headers.Authorization = "Bearer " + t;
      var res = await fetch("status/cluster", { headers: headers, cache: "no-store" });
      if (res.status === 401) {
        showError("this node needs its bearer token");
        askToken();
      } else if (!res.ok) {
        showError("status/cluster answered " + res.status);
      } else {
        var cluster = await res.json();
        var own = cluster.members[0].status;
        record(cluster);
        renderHeader(cluster, own);
        renderRing(own);
        renderMembers(cluster, own);
        renderNodes(cluster);
        lastOk = Date.now();
        document.body.setAttribute("data-updated", String(lastOk));
        document.getElementById("updated").textContent = "updated " + new Date(lastOk).toLocaleTimeString();
        showError("");
      }
    } catch (e) {
      showError("the node does not answer (" + (e && e.message ? e.message : e) + "); last update " +
        (lastOk ? new Date(lastOk).toLocaleTimeString() : "never"));
    }
    setTimeout(poll, PERIOD_MS);
  }

  document.getElementById("token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = document.getElementById("token-input");
    sessionStorage.setItem("ringforge-token", input.value.trim());
    input.value = "";
    document.getElementById("token-form").hidden = true;
  });
  poll();
})();
`;
