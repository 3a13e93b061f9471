"""The HTML report's item list (filterable, sortable, each item opening on its prompt and every
repeat's output, scores, errors, latency and tokens), and the page's inline style and script."""

from __future__ import annotations

import json
from typing import Any

from ..core.records import SuiteRun
from ..analysis.summary import SuiteSummary
from .html_charts import STABILITY_COLORS
from .html_parts import e, t


def _fmt(value: float | None, digits: int = 3, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _pretty(value: Any, indent: str = "", width: int = 88) -> str:
    """JSON pretty-printed, with any part that fits on a line kept on one line."""
    if isinstance(value, str) and not indent:
        return value
    flat = json.dumps(value, ensure_ascii=False, default=str)
    if len(flat) + len(indent) <= width or not isinstance(value, (dict, list)) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        parts = [f"{inner}{json.dumps(str(k), ensure_ascii=False)}: "
                 f"{_pretty(v, inner, width).lstrip()}" for k, v in value.items()]
        return "{\n" + ",\n".join(parts) + f"\n{indent}}}"
    parts = [inner + _pretty(v, inner, width).lstrip() for v in value]
    return "[\n" + ",\n".join(parts) + f"\n{indent}]"


MAX_BODIES = 2000
"""Items per run whose prompt and outputs are always on the page (beyond: only notable ones)."""

FILTERS = (("all", "all"), ("failing", "failing"), ("regressed", "regressed"),
           ("flaky", "flaky"), ("errors", "errors"))
COLUMNS = (("id", "item"), ("mean", "mean"), ("std", "spread"), ("passed", "pass"),
           ("stability", "stability"), ("delta", "Δ baseline"), ("errors", "errors"))


def items_section(index: int, run: SuiteRun, summary: SuiteSummary, rows: list[dict]) -> str:
    c = summary.comparison
    deltas = c.item_deltas if c else {}
    regressed = set(c.regressed) if c else set()
    flipped = set(c.flipped_down) if c else set()
    by_id = {item.id: item for item in run.items}
    marks = {"failing": lambda r: r["passed"] is False,
             "regressed": lambda r: r["id"] in regressed,
             "flaky": lambda r: r["stability"] == "flaky",
             "errors": lambda r: r["errors"] > 0}
    counts = {name: sum(1 for r in rows if test(r)) for name, test in marks.items()}
    counts["all"] = len(rows)
    buttons = "".join(
        f'<button type="button" data-filter="{key}" aria-pressed="{str(key == "all").lower()}">'
        f"{label} <b>{counts[key]}</b></button>" for key, label in FILTERS)
    head = "".join(f'<button type="button" data-sort="{key}">{label}</button>'
                   for key, label in COLUMNS)
    entries = []
    for position, r in enumerate(rows):
        flags = "".join(f" data-{name}" for name, test in marks.items() if test(r))
        delta = deltas.get(r["id"])
        keys = {"id": r["id"], "mean": _fmt(r["mean"], 6), "std": _fmt(r["std"], 6),
                "passed": {True: "1", False: "0", None: ""}[r["passed"]],
                "stability": r["stability"], "delta": _fmt(delta, 6), "errors": r["errors"]}
        sort_attrs = "".join(f' data-k-{k}="{e(v if v != "–" else "")}"' for k, v in keys.items())
        color = STABILITY_COLORS.get(r["stability"], "#999")
        status = {True: '<span class="badge pass">pass</span>',
                  False: '<span class="badge fail">fail</span>',
                  None: '<span class="badge warn">no score</span>'}[r["passed"]]
        note = ""
        if r["id"] in regressed:
            note = ' <span class="badge fail">regressed</span>'
        elif r["id"] in flipped:
            note = ' <span class="badge warn">flipped, unconfirmed</span>'
        spread = ("–" if r["std"] is None else
                  f'±{r["std"]:.3f} <small>{r["min"]:.2f}–{r["max"]:.2f}</small>')
        summary_row = (
            f'<summary class="irow"><span class="iid"><code>{e(r["id"])}</code>{note}</span>'
            f'<span>{_fmt(r["mean"])}</span><span>{spread}</span><span>{status}</span>'
            f'<span><i class="dot" style="background:{color}"></i>{e(r["stability"])}</span>'
            f'<span>{_fmt(delta, signed=True)}</span><span>{r["errors"] or ""}</span></summary>')
        item = by_id.get(r["id"])
        if item is None:
            body = ""
        elif position < MAX_BODIES or flags:
            body = item_body(run, item, r["id"])
        else:
            body = (f"<p class='muted'>With more than {MAX_BODIES} items, the page keeps the prompt "
                    f"and outputs of the first {MAX_BODIES} and of every failing, regressed, "
                    "flaky or erroring item; this one's are in the JSON report "
                    "(--rft-report).</p>")
        entries.append(f'<details class="item"{flags}{sort_attrs}>{summary_row}'
                       f'<div class="ibody">{body}</div></details>')
    return (f'<h3>Items</h3><div class="items" id="items-{index}">'
            f'<div class="filters">Show: {buttons} <span class="shown">{len(rows)} shown</span>'
            f'</div><div class="ihead">{head}</div><div class="ilist">{"".join(entries)}</div>'
            "</div>")


def item_body(run: SuiteRun, item: Any, item_id: str) -> str:
    try:
        messages = run.suite.render_messages(item)
    except Exception as exc:  # a template error is shown, not raised, in the report
        messages = [{"role": "error", "content": f"could not render: {exc}"}]
    prompt = "".join(f'<div class="msg"><span class="role">{e(m.get("role"))}</span>'
                     f'<pre>{t(_pretty(m.get("content")))}</pre></div>' for m in messages)
    parts = [f"<details class='prompt'><summary>Prompt ({len(messages)} message"
             f"{'' if len(messages) == 1 else 's'}) and item "
             f"record</summary>{prompt}<div class='msg'><span class='role'>item</span>"
             f"<pre>{t(_pretty(item.data))}</pre></div></details>"]
    for r in run.results.get(item_id, []):
        facts = [f"repeat {r.repeat}"]
        if r.error is not None:
            facts.append(f'<span class="badge fail">error: {e(r.error)}</span>')
        elif r.kind and r.kind != "ok":
            facts.append(f'<span class="badge warn">{e(r.kind)}</span>')
        facts += [f"<span class='score'>{e(name)} <b>{value:.3f}</b></span>"
                  for name, value in r.scores.items()]
        if r.latency_s is not None:
            facts.append(f"{r.latency_s * 1000:.0f} ms")
        if r.usage is not None:
            u = r.usage
            facts.append(f"{u.input_tokens} in / {u.output_tokens} out"
                         + (f" / {u.reasoning_tokens} reasoning" if u.reasoning_tokens else "")
                         + " tokens")
        if r.turns > 1:
            facts.append(f"{r.turns} turns" + (f" (stopped: {e(r.stop)})"
                                                if r.stop not in (None, "answer") else ""))
        if r.attempts > max(1, r.turns):
            facts.append(f"{r.attempts} attempts")
        if r.finish_reason and r.finish_reason != "stop":
            facts.append(f"finish: {e(r.finish_reason)}")
        output = r.output_json if r.output_json is not None else r.output_text
        shown = "" if output is None else f'<pre class="out">{t(_pretty(output))}</pre>'
        if r.refusal:
            shown += f'<p class="note warn">refusal: {e(r.refusal)}</p>'
        if r.trajectory:
            shown += _trajectory(r.trajectory)
        elif r.tool_calls:
            shown += f'<pre class="out">{t(_pretty(r.tool_calls))}</pre>'
        shown += "".join(_tool_verdicts(name, d) for name, d in r.grader_details.items())
        errors = "".join(f'<p class="note fail">grader {e(name)}: {e(msg)}</p>'
                         for name, msg in r.grader_errors.items())
        errors += "".join(f'<p class="note warn">grader {e(name)} error scored 0 '
                          f'(errors_as_zero): {e(msg)}</p>' for name, msg in r.zeroed.items())
        parts.append(f'<div class="rep"><div class="rephead">{" · ".join(facts)}</div>'
                     f"{shown}{errors}</div>")
    return "".join(parts)


def _trajectory(steps: list[dict[str, Any]]) -> str:
    """An agent loop's turns: the model's calls, the tools' results, its answers."""
    rows = []
    for step in steps:
        if step.get("role") == "tool":
            bad = " fail" if step.get("error") else ""
            rows.append(f'<div class="msg"><span class="role{bad}">tool {e(step.get("name"))}'
                        f'</span><pre>{t(_pretty(step.get("content")))}</pre></div>')
            continue
        calls = "".join(
            f'<pre class="call">{e((c.get("function") or {}).get("name"))}('
            f'{t((c.get("function") or {}).get("arguments") or "")})</pre>'
            for c in step.get("tool_calls") or [])
        text = f'<pre>{t(_pretty(step["content"]))}</pre>' if step.get("content") else ""
        rows.append(f'<div class="msg"><span class="role">assistant</span>{text}{calls}</div>')
    return (f"<details class='traj' open><summary>Trajectory ({len(steps)} step"
            f"{'' if len(steps) == 1 else 's'})</summary>{''.join(rows)}</details>")


def _tool_verdicts(name: str, details: Any) -> str:
    """A tool_call grader's verdict per expected call."""
    if not isinstance(details, dict) or "expected" not in details:
        return ""
    rows = "".join(
        f"<tr><td>{'✓' if d.get('score') else '✗'}</td><td>{e(d.get('name'))}</td>"
        f"<td><code>{e(json.dumps(d.get('arguments'), ensure_ascii=False))}</code></td>"
        f"<td>{'' if d.get('matched_call') is None else 'call ' + str(d['matched_call'] + 1)}"
        f"{'other arguments' if d.get('name_called') else ''}</td></tr>"
        for d in details["expected"])
    extra = details.get("unexpected_calls") or []
    more = (f"<p class='note warn'>unexpected call(s): "
            f"{', '.join(str(i + 1) for i in extra)}</p>" if extra else "")
    return (f"<table class='calls'><thead><tr><th colspan='4'>{e(name)}: expected calls"
            f"</th></tr></thead><tbody>{rows}</tbody></table>{more}")


ASSETS_CSS = """
:root{--fg:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--pass:#2e7d32;--fail:#c62828;
--warn:#ef6c00}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
header{background:#fff;border-bottom:1px solid var(--line);padding:16px 28px 8px}
h1{margin:0 0 4px;font-size:22px}h2{font-size:19px;margin:0 0 10px}h3{font-size:16px;
margin:22px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h4{margin:14px 0 6px}
main{max-width:1280px;margin:0 auto;padding:8px 28px 40px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:18px 22px;
margin:18px 0}
.muted{color:var(--muted)}small{color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:10px 0}
.card{display:flex;flex-direction:column;gap:3px;padding:10px 14px;border-radius:8px;
border:1px solid var(--line);border-left:5px solid var(--pass);text-decoration:none;
color:inherit;background:#fff;min-width:230px}
.card.fail{border-left-color:var(--fail)}.card .meta{color:var(--muted);font-size:12.5px}
.card .badge{align-self:flex-start}
nav{display:flex;flex-wrap:wrap;gap:14px;padding:6px 0;font-size:13px}nav a{color:#3949ab}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:11.5px;font-weight:600;
color:#fff;background:var(--muted);vertical-align:middle}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}
.badge.warn{background:var(--warn)}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f0f2f5;font-weight:600}tbody tr:nth-child(even){background:#fafbfc}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" ▲"}
table.sortable th[aria-sort=descending]::after{content:" ▼"}
td.detail{font-size:12px;color:var(--muted);max-width:460px}
table.gates td:nth-child(-n+8){white-space:nowrap}
.note{padding:6px 10px;border-radius:6px;background:#fff4e5;border-left:4px solid var(--warn)}
.note.fail{background:#fdecea;border-left-color:var(--fail)}
ul.flips{list-style:none;padding:0}ul.flips li{margin:4px 0}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.chartbox{margin:6px 0}.chartbox svg.chart{width:100%;height:auto}
.row{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}
.row>div{flex:1 1 280px}.row>.chartbox{flex:0 1 460px}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px}
.filters{margin:6px 0;display:flex;gap:6px;align-items:center;flex-wrap:wrap}
.filters button{border:1px solid var(--line);background:#fff;border-radius:14px;padding:3px 11px;
cursor:pointer;font:inherit}
.filters button[aria-pressed=true]{background:#3949ab;color:#fff;border-color:#3949ab}
.ihead,.irow{display:grid;grid-template-columns:minmax(160px,2.2fr) .8fr 1.3fr .8fr 1.2fr 1fr .6fr;
gap:8px;align-items:center;padding:4px 10px}
.ihead{background:#f0f2f5;font-weight:600;border-radius:6px 6px 0 0}
.ihead button{all:unset;cursor:pointer}.ihead button[aria-sort=ascending]::after{content:" ▲"}
.ihead button[aria-sort=descending]::after{content:" ▼"}
details.item{border-bottom:1px solid var(--line)}details.item[open]{background:#fbfcfe}
.irow{cursor:pointer;list-style:none}.irow::-webkit-details-marker{display:none}
.irow:hover{background:#f0f4ff}.iid{overflow-wrap:anywhere}
.ibody{padding:6px 16px 14px 26px}
.msg{margin:6px 0}.role{font-size:11.5px;font-weight:600;text-transform:uppercase;
color:var(--muted)}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f5f7;border-radius:6px;padding:8px;
margin:4px 0;font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;max-height:420px;
overflow:auto}
.rep{border-left:3px solid #c5cae9;padding:2px 0 2px 10px;margin:10px 0}
.traj{margin:4px 0}.role.fail{color:var(--fail)}pre.call{margin:2px 0;color:#3949ab}
.rephead{font-size:12.5px;color:var(--muted)}.score{color:var(--fg)}
table.facts td:first-child{font-weight:600;white-space:nowrap}
"""

ASSETS_JS = r"""
(function () {
  function key(v) {
    if (v === null || v === undefined || v === "") return null;
    var n = Number(v);
    return isNaN(n) ? String(v).toLowerCase() : n;
  }
  function cmp(a, b, asc) {
    if (a === null && b === null) return 0;
    if (a === null) return 1;
    if (b === null) return -1;
    var r = (typeof a === typeof b) ? (a < b ? -1 : a > b ? 1 : 0)
                                    : (typeof a === "number" ? -1 : 1);
    return asc ? r : -r;
  }
  function cellValue(cell) {
    var v = cell.getAttribute("data-v");
    return key(v !== null ? v : cell.textContent.trim());
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.querySelectorAll("th");
    Array.prototype.forEach.call(heads, function (th, i) {
      th.addEventListener("click", function () {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) { return cmp(cellValue(a.cells[i]), cellValue(b.cells[i]), asc); });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".items"), function (box) {
    var list = box.querySelector(".ilist");
    var filters = box.querySelectorAll("button[data-filter]");
    var sorts = box.querySelectorAll("button[data-sort]");
    Array.prototype.forEach.call(filters, function (button) {
      button.addEventListener("click", function () {
        var f = button.getAttribute("data-filter"), shown = 0;
        Array.prototype.forEach.call(filters, function (b) {
          b.setAttribute("aria-pressed", b === button ? "true" : "false");
        });
        Array.prototype.forEach.call(list.children, function (d) {
          var ok = f === "all" || d.hasAttribute("data-" + f);
          d.hidden = !ok;
          if (ok) shown++;
        });
        box.querySelector(".shown").textContent = shown + " shown";
      });
    });
    Array.prototype.forEach.call(sorts, function (button) {
      button.addEventListener("click", function () {
        var k = "data-k-" + button.getAttribute("data-sort");
        var asc = button.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(sorts, function (b) { b.removeAttribute("aria-sort"); });
        button.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var items = Array.prototype.slice.call(list.children);
        items.sort(function (a, b) { return cmp(key(a.getAttribute(k)), key(b.getAttribute(k)), asc); });
        items.forEach(function (d) { list.appendChild(d); });
      });
    });
  });
})();
"""
