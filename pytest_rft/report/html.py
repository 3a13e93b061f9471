"""``--rft-html PATH``: one self-contained HTML page (styles, script and SVG charts inline; no
network) with, per suite x model, the verdict, the variance study, the per-label table and every
item with its prompt and outputs; models side by side; the run's facts.

Everything that comes from a model or a dataset is escaped (``html.escape``); data for the
script sits in ``<script type="application/json">`` with ``<``, ``>`` and ``&`` escaped. Secrets
(``secrets.py``) are scrubbed from every text before it is escaped, and from the script's data
before it is encoded.
"""

from __future__ import annotations

import collections
import datetime
import os
from pathlib import Path
from typing import Any

from ..core.version import __version__
from ..core import files, secrets
from ..analysis.labels import extract_labels
from ..core.records import CallStats, SuiteRun
from ..analysis.stats import STABILITIES, stability
from ..analysis.labels import MIN_LABEL_ITEMS as RARE_LABEL_ITEMS
from ..analysis.summary import SuiteSummary
from . import html_charts as charts
from . import terminal
from .html_items import ASSETS_CSS, ASSETS_JS, items_section
from .html_parts import anchor, badge, e, ids, num, p_text, table
from .html_session import facts_section, models_section

Pair = tuple[SuiteRun, SuiteSummary]


def _json_safe(text: str) -> str:
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def json_script(element_id: str, data: Any) -> str:
    """Data for the page's script: never ends the script element, whatever it holds."""
    payload = _json_safe(secrets.dumps(data, ensure_ascii=False, default=str))
    return f'<script type="application/json" id="{e(element_id)}">{payload}</script>'


# ------------------------------------------------------------------------------------- verdict

def verdict_section(run: SuiteRun, summary: SuiteSummary) -> str:
    rows = []
    for g in summary.gates:
        state = ('<span class="badge warn">INCONCLUSIVE</span>' if g.inconclusive
                 else badge(g.passed))
        p = p_text(g.p_value) + (f"<br><small>{e(g.correction)}: {p_text(g.p_adjusted)}</small>"
                                 if g.family > 1 and g.p_adjusted is not None else "")
        rows.append([f"<code>{e(g.label)}</code>", num(g.value), charts.ci_text(*g.ci),
                     num(g.baseline), num(g.delta, signed=True),
                     charts.ci_text(*g.delta_ci, signed=True), p, state, _why(g)])
    parts = ["<h3>Verdict</h3>", table(["gate (bound)", "value", "95% CI", "baseline", "Δ",
                                        "Δ CI", "p (drop > margin)", "verdict", "why"],
                                       rows, "gates") if summary.judged else
             f'<p class="note warn">{e(terminal.scope(run, summary))}.</p>']
    c = summary.comparison
    if c is not None:
        parts.append(f'<h4>Against the baseline</h4><p><code>{e(c.baseline.model)}</code> × '
                     f'{e(c.baseline.repeats)} repeats, {e(c.baseline.created or "undated")}'
                     f'{", " + e(_shown(c.baseline.path)) if c.baseline.path else ""}; '
                     f'{len(c.paired)} items paired.</p>')
        if c.changes_text():
            parts.append(f'<p class="note warn">{e(c.changes_text())}</p>')
        parts.append(deltastable(c))
        unconfirmed = [i for i in c.dropped if i not in c.regressed]
        lists = [(f"regressed (dropped and confirmed, {e(c.correction)} over "
                  f"{e(c.family_text())})", c.regressed, "fail"),
                 ("dropped, not confirmed", unconfirmed, "warn"),
                 ("improved (stable-fail → stable-pass)", c.improved, "pass")]
        parts.append("<ul class='flips'>" + "".join(
            f'<li><span class="badge {cls}">{len(members)}</span> {what}: {ids(members)}</li>'
            for what, members, cls in lists) + "</ul>")
    elif summary.baseline_problem:
        parts.append(f'<p class="note warn">Baseline: {e(summary.baseline_problem)}</p>')
    if summary.flaky:
        parts.append(f'<p><span class="badge warn">{len(summary.flaky)}</span> flaky '
                     f'(repeats disagree): {ids(summary.flaky)}</p>')
    parts += [f'<p class="note warn">{e(w)}</p>' for w in summary.warnings]
    parts.append(errors_block(run))
    return "\n".join(parts)


def _shown(path: str) -> str:
    """A path relative to the working directory when it is below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith("..") else relative


def _why(gate) -> str:
    """A failed or inconclusive gate's whole explanation; a passing gate's verdict words (its
    numbers are in the other columns; the explanation is the cell's tooltip)."""
    if not gate.passed or gate.inconclusive:
        return f'<td class="detail">{e(gate.detail)}</td>'
    words = gate.detail.rsplit("-> ", 1)[1] if "-> " in gate.detail else "within the bound"
    return f'<td class="detail" title="{e(gate.detail)}">{e(words)}</td>'


def deltastable(c) -> str:
    rows = [[e(metric), num(d.baseline), num(d.current), num(d.delta, signed=True),
             charts.ci_text(d.ci_low, d.ci_high, signed=True), p_text(d.p_value), str(d.n),
             e(d.estimate.method or d.estimate.reason or "")]
            for metric, d in c.deltas.items()]
    return table(["metric", "baseline", "now", "Δ", "Δ CI", "p (worse)", "paired items",
                  "method"], rows, "sortable")


def errors_block(run: SuiteRun) -> str:
    causes: collections.Counter = collections.Counter()
    for results in run.results.values():
        for r in results:
            if r.error is not None:
                causes[f"model call: {r.error_cause or r.error}"] += 1
            elif r.kind not in (None, "ok"):
                causes[f"output: {r.kind}"] += 1
            for grader in r.grader_errors:
                causes[f"grader: {grader}"] += 1
    if not causes:
        return "<p>Errors: none (every call answered, every grader scored).</p>"
    return "<h4>Errors by cause</h4>" + table(
        ["cause", "samples"], [[e(k), str(v)] for k, v in causes.most_common()], "sortable")


# ------------------------------------------------------------------------------------ variance

def item_rows(run: SuiteRun, summary: SuiteSummary) -> list[dict]:
    primary = run.suite.primary
    rows = []
    for item_id, st in summary.items.items():
        s = st.scores.get(primary)
        rows.append({"id": item_id, "mean": s.mean if s else None, "min": s.min if s else None,
                     "max": s.max if s else None, "std": s.std if s else None,
                     "stability": stability(st), "passed": st.passed,
                     "errors": st.n_errors + st.n_grader_errors})
    return rows


def variance_section(run: SuiteRun, summary: SuiteSummary, rows: list[dict]) -> str:
    threshold, primary = run.suite.config.pass_threshold, run.suite.primary
    scored = [r for r in rows if r["mean"] is not None]
    counts = table(["stability", "items"], [
        [f'<span class="dot" style="background:{charts.STABILITY_COLORS[k]}"></span>{k}',
         str(summary.stability.get(k, 0))] for k in STABILITIES])
    if not scored:
        return "<h3>Variance study</h3><p>No item has a score.</p>" + counts
    return ("<h3>Variance study</h3>"
            f"<h4>{e(primary)} of every item over its repeats, sorted: point = mean, "
            "bar = min–max, colour = stability</h4>"
            f'<div class="chartbox">{charts.item_chart(scored, threshold, primary)}</div>'
            f'<div class="row"><div class="chartbox">'
            f'{charts.histogram([r["mean"] for r in scored], threshold, primary)}</div>'
            f"<div>{counts}<p class='muted'>stable-pass / stable-fail: a clear majority of "
            "repeats pass / fail (one-sided 95% Wilson bound); flaky: repeats disagree; "
            "unknown: too few repeats to tell.</p></div></div>")


# ---------------------------------------------------------------------------------- per label

def label_section(run: SuiteRun, summary: SuiteSummary) -> str:
    if not summary.per_label:
        return ""
    reference = run.suite.config.classification.reference
    support = collections.Counter(lab for item in run.items
                                  for lab in set(extract_labels(item.data, reference)))
    rows = []
    for r in summary.per_label:
        rare = support[r.label] < RARE_LABEL_ITEMS
        mark = ' <span class="badge warn" title="on fewer than %d items">rare</span>' % \
            RARE_LABEL_ITEMS if rare else ""
        rows.append([f"<code>{e(r.label)}</code>{mark}",
                     *(f'<td data-v="{v:.6f}">{v:.3f}</td>' for v in (r.precision, r.recall, r.f1)),
                     str(support[r.label]), str(r.support), str(r.predicted)])
    return ("<h3>Per label</h3><p class='muted'>Click a header to sort. <em>rare</em>: on fewer "
            f"than {RARE_LABEL_ITEMS} items; its numbers (and macro averages) are unreliable."
            "</p>" + table(["label", "precision", "recall", "F1", "items", "support (samples)",
                             "predicted"], rows, "sortable labels"))


def gates_badge(summary: SuiteSummary) -> str:
    return badge(summary.passed, none="gates not judged")


def run_section(index: int, run: SuiteRun, summary: SuiteSummary) -> str:
    rows = item_rows(run, summary)
    return (f'<section class="run" id="run-{index}"><h2>{e(run.key)} {gates_badge(summary)}'
            f"</h2>{verdict_section(run, summary)}{variance_section(run, summary, rows)}"
            f"{label_section(run, summary)}{items_section(index, run, summary, rows)}</section>")


def page_data(pairs: list[Pair], created: str) -> dict:
    """The page's numbers for scripts and scrapers: per run, its verdict and every item's row."""
    runs = []
    for run, summary in pairs:
        deltas = summary.comparison.item_deltas if summary.comparison else {}
        runs.append({"key": run.key, "suite": run.suite.name, "model": run.model,
                     "passed": summary.passed,
                     "items": [{"id": r["id"], "mean": r["mean"], "std": r["std"],
                                "passed": r["passed"], "stability": r["stability"],
                                "errors": r["errors"], "delta": deltas.get(r["id"])}
                               for r in item_rows(run, summary)]})
    return {"created": created, "plugin_version": __version__, "runs": runs}


def _card(index: int, run: SuiteRun, summary: SuiteSummary) -> str:
    def value(name: str) -> str:
        metric = summary.metrics.get(name)
        return num(metric.value if metric else None, 3)

    state = {True: "pass", False: "fail"}.get(summary.passed, "")
    return (f'<a class="card {state}" href="#run-{index}">'
            f"<b>{e(run.key)}</b>{gates_badge(summary)}<span class='meta'>"
            f"{e(run.suite.primary)}.mean {value(run.suite.primary + '.mean')} · pass rate "
            f"{value('pass_rate')}</span></a>")


def render(pairs: list[Pair], calls: CallStats | None, history: list[dict] | None = None) -> str:
    """The whole page as one string (pure: reads nothing but the environment's secrets)."""
    charts.require()
    pairs = [(r, s) for r, s in pairs if s is not None]
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    cards = "".join(_card(i, r, s) for i, (r, s) in enumerate(pairs))
    groups: dict[Any, list[Pair]] = collections.defaultdict(list)
    for run, summary in pairs:
        groups[run.suite.path].append((run, summary))
    body = [run_section(i, r, s) for i, (r, s) in enumerate(pairs)]
    nav = "".join(f'<a href="#run-{i}">{e(r.key)}</a>' for i, (r, _) in enumerate(pairs))
    for group in groups.values():
        section = models_section(group, history)
        if section:
            body.append(section)
            name = group[0][0].suite.name
            nav += f'<a href="#{anchor("models-" + name)}">{e(name)}: side by side</a>'
    body.append(facts_section(pairs, calls, created))
    judged = [s.passed for _, s in pairs if s.passed is not None]
    verdict = all(judged) if judged or not pairs else None  # None: only subsets, unjudged
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pytest-rft report: {terminal.verdict(verdict)}</title>
<style>{ASSETS_CSS}</style></head>
<body><header><h1>pytest-rft report {badge(verdict, none="gates not judged")}</h1>
<p class="muted">{e(created)} · pytest-rft {e(__version__)} · {len(pairs)} suite × model run(s)</p>
<div class="cards">{cards}</div><nav>{nav}<a href="#facts">run facts</a></nav></header>
<main>{"".join(body)}</main>
{json_script("rft-data", page_data(pairs, created))}
<script>{ASSETS_JS}</script></body></html>
"""
    if secrets.suspect(page):  # every text was scrubbed before escaping: a last look
        page = secrets.scrub(page)
    return page


def write(path: Path, pairs: list[Pair], calls: CallStats | None,
          history: list[dict] | None = None) -> int:
    """Write the page atomically; returns its size in bytes."""
    data = render(pairs, calls, history).encode("utf-8")
    files.write_atomic(path, data)
    return len(data)
