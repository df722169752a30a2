/**
 * The live view a node serves at `GET /ui`: one HTML page with its style and script inline, so
 * it needs nothing from the network, and a Content-Security-Policy that allows exactly that
 * script (by hash), that style, and requests back to the node itself.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { LIVE_VIEW_SCRIPT } from "./live-view-script.ts";

const STYLE = `
:root { color-scheme: light dark; --up: #2e7d32; --suspect: #ef8f00; --down: #c62828; --left: #757575; --muted: #888; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; max-width: 1400px; }
h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
h2 { font-size: 1.05rem; margin: 1.6rem 0 .5rem; }
p { margin: .2rem 0; }
.muted { color: var(--muted); }
table { border-collapse: collapse; }
th, td { padding: .25rem .6rem; text-align: left; border-bottom: 1px solid rgba(128,128,128,.25); white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { padding: .05rem .45rem; border-radius: .6rem; color: #fff; font-size: .85em; }
.badge.up { background: var(--up); } .badge.suspect { background: var(--suspect); }
.badge.down { background: var(--down); } .badge.left, .badge.unknown { background: var(--left); }
.badge.unreachable { background: #5d1010; }
.swatch { display: inline-block; width: .7rem; height: .7rem; margin-right: .4rem; border-radius: 2px; }
.ring { display: flex; gap: 2rem; align-items: center; }
.ring-label { font-size: 12px; fill: currentColor; }
.spark { color: #4e79a7; vertical-align: middle; }
.bad { color: var(--down); font-weight: 600; } .warn { color: var(--suspect); font-weight: 600; }
#error { background: #c6282822; border-left: 4px solid var(--down); padding: .4rem .8rem; }
.scroll { overflow-x: auto; }
`;

/** SHA-256 of the inline script, in CSP source syntax. */
const scriptHash = `'sha256-${createHash("sha256").update(LIVE_VIEW_SCRIPT).digest("base64")}'`;

/** The page's Content-Security-Policy: this script, inline style, fetches to the node only. */
export const LIVE_VIEW_CSP =
  `default-src 'none'; script-src ${scriptHash}; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; ` +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The page. */
export const LIVE_VIEW_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ringforge · live view</title>
<style>${STYLE}</style>
</head>
<body>
<div id="summary"><h1>ringforge</h1><p class="muted">waiting for the node…</p></div>
<p class="muted" id="updated"></p>
<p id="error" role="alert" hidden></p>
<form id="token-form" hidden>
  <label>Bearer token <input id="token-input" type="password" autocomplete="off"></label>
  <button type="submit">Use</button>
</form>
<h2>Ring ownership</h2>
<div id="ring" class="muted">–</div>
<h2>Members, as each node sees them</h2>
<div class="scroll"><div id="members" class="muted">–</div></div>
<h2>Client traffic</h2>
<div class="scroll"><div id="traffic" class="muted">–</div></div>
<h2>Data and background work</h2>
<div class="scroll"><div id="work" class="muted">–</div></div>
<p class="muted">Traffic figures cover the last completed seconds at each node's HTTP API; sparklines the last two minutes.
Live refresh once a second from <code>/status/cluster</code>.</p>
<script>${LIVE_VIEW_SCRIPT}</script>
</body>
</html>
`;
