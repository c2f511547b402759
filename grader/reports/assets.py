"""The pages' inline style sheet and their one small script.

Both go into every page inline (reports are read offline and attached to
messages, so nothing is fetched), and the page's Content-Security-Policy
allows exactly these two by their SHA-256: no other script can run in a
report, even if something got past the escaping.
"""

from __future__ import annotations

import base64
import hashlib

CSS = """
*, *::before, *::after { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  color: #1a1a1a; background: #fff; max-width: 62rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
a { color: #0b57b3; text-underline-offset: .22em; }
a:focus-visible, button:focus-visible, summary:focus-visible { outline: 3px solid #0b57b3;
  outline-offset: 2px; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: .25rem 0 .5rem; overflow-wrap: anywhere; }
h2 { font-size: 1.3rem; line-height: 1.3; margin: 2.25rem 0 .75rem; padding-bottom: .3rem;
  border-bottom: 2px solid #e2e2e2; overflow-wrap: anywhere; }
h3 { font-size: 1.05rem; line-height: 1.35; margin: 0; overflow-wrap: anywhere; }
p { margin: .5rem 0; }
code, pre, .mono { font-size: .9em;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; }
code { overflow-wrap: anywhere; }
th code, td code { overflow-wrap: normal; }
.compact code { overflow-wrap: anywhere; }
th.group { background: #f3f3f3; padding-top: .5rem; }
.nowrap { white-space: nowrap; }
pre { background: #f6f6f6; border: 1px solid #e0e0e0; border-radius: 4px; padding: .5rem .75rem;
  margin: .5rem 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.kicker { margin: 0; color: #555; font-size: .9rem; text-transform: uppercase;
  letter-spacing: .05em; }
.muted { color: #555; }
.scoreline { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem 1rem;
  margin: .5rem 0 1rem; }
.score { font-size: 2rem; font-weight: 700; line-height: 1.1; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem;
  margin: .5rem 0; font-size: .95rem; }
.meta dt { color: #555; }
.meta dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 .5rem; border: 1px solid currentColor;
  border-radius: 1rem; font-size: .85rem; font-weight: 600; line-height: 1.5;
  white-space: nowrap; }
.passed { color: #0a6130; background: #e8f5ec; }
.failed, .error, .crash { color: #a3150f; background: #fdeceb; }
.not-implemented { color: #6d4c00; background: #fff5d6; }
.timeout, .memory { color: #8a3b00; background: #fff0e2; }
.internal-error, .hidden, .neutral { color: #3d3d3d; background: #eeeeee; }
.tests { list-style: none; padding: 0; margin: 0; }
.test { border: 1px solid #dcdcdc; border-left: 5px solid #8c8c8c; border-radius: 4px;
  padding: .6rem .8rem; margin: .6rem 0; break-inside: avoid; }
.test.is-passed { border-left-color: #0a6130; }
.test.is-failed, .test.is-error, .test.is-crash { border-left-color: #a3150f; }
.test.is-not-implemented { border-left-color: #b08000; }
.test.is-timeout, .test.is-memory { border-left-color: #c25400; }
.test-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem .75rem; }
.test-head .points { margin-left: auto; white-space: nowrap; }
.testname { color: #555; font-size: .85rem; }
.hint { background: #eef4fc; border-left: 4px solid #0b57b3; padding: .35rem .6rem; }
.held { color: #4a4a4a; font-style: italic; }
.note { background: #fff8e1; border: 1px solid #e6c65c; border-radius: 4px;
  padding: .5rem .75rem; }
.table-wrap { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: .5rem 0; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
table.compact { min-width: min(22rem, 100%); font-size: .92rem; }
.compact th, .compact td { padding: .25rem .45rem; }
table.wide { width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .3rem .6rem;
  border-bottom: 1px solid #dcdcdc; }
thead th, thead td { border-bottom: 2px solid #bdbdbd; white-space: nowrap; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.worst td, tr.worst th { background: #fff3c4; font-weight: 700; }
.differs { font-weight: 700; color: #a3150f; }
.trace { list-style: none; padding: 0; margin: .25rem 0; }
.trace pre { margin-top: .15rem; }
.ln { color: #595959; user-select: none; }
.side-by-side { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr));
  gap: 0 1rem; }
mark { background: #ffe08a; color: inherit; }
figure { margin: .75rem 0; }
figcaption { font-size: .9rem; color: #4a4a4a; }
svg.plot { display: block; max-width: 100%; height: auto; }
svg.bar { vertical-align: middle; margin-right: .4rem; }
.curves { display: grid; grid-template-columns: repeat(auto-fit, minmax(17rem, 1fr));
  gap: 1rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .5rem;
  margin: .5rem 0; padding: 0; }
.cards div { border: 1px solid #dcdcdc; border-radius: 4px; padding: .4rem .6rem; }
.cards dt { color: #555; font-size: .85rem; }
.cards dd { margin: 0; font-size: 1.25rem; font-weight: 700;
  font-variant-numeric: tabular-nums; }
.toc { display: flex; flex-wrap: wrap; gap: .25rem 1rem; padding: 0; list-style: none; }
.failures > li { margin: .75rem 0; }
th button { font: inherit; font-weight: 700; color: inherit; background: none; border: 0;
  padding: 0; cursor: pointer; text-decoration: underline dotted; }
th[aria-sort=ascending] button::after { content: " ▲"; }
th[aria-sort=descending] button::after { content: " ▼"; }
details { margin: .4rem 0; }
summary { cursor: pointer; color: #0b57b3; }
footer { margin-top: 3rem; border-top: 1px solid #e2e2e2; padding-top: .75rem;
  font-size: .9rem; color: #4a4a4a; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; }
footer dd { margin: 0; }
@media (max-width: 40rem) {
  body { padding: .75rem .75rem 2rem; }
  h1 { font-size: 1.35rem; }
  .meta, footer dl { grid-template-columns: 1fr; }
  .meta dd, footer dd { margin-bottom: .35rem; }
  .test-head .points { margin-left: 0; }
  .test { padding: .5rem .55rem; }
  table.compact { font-size: .84rem; }
  .compact th, .compact td { padding: .2rem .3rem; }
}
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  a { color: inherit; }
  h2 { break-after: avoid; }
  .test, figure, tr { break-inside: avoid; }
  summary { color: inherit; }
  th button { text-decoration: none; }
}
"""

SORT_SCRIPT = """
(function () {
  "use strict";
  var tables = document.querySelectorAll("table[data-sortable]");
  Array.prototype.forEach.call(tables, function (table) {
    var body = table.tBodies[0];
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      var numeric = th.hasAttribute("data-num");
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (other) {
          other.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].getAttribute("data-v") || "";
          var y = b.cells[column].getAttribute("data-v") || "";
          var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
          return up ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
"""


def sha256_source(text: str) -> str:
    """A CSP source expression allowing exactly this inline ``text``."""
    digest = hashlib.sha256(text.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def content_security_policy(script: bool) -> str:
    """Nothing may load from anywhere; only our style sheet (and script) run."""
    scripts = sha256_source(SORT_SCRIPT) if script else "'none'"
    return (
        f"default-src 'none'; style-src {sha256_source(CSS)}; script-src {scripts}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
