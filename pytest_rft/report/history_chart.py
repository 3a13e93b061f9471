"""A metric over the runs of a history file: one suite's rows (a *run* is one pytest session,
the records that share a ``time``, in the order they were recorded) and the chart of them, one
line per model with its CI band and the gates' bounds. Drawn by ``pytest-rft history --chart``
and the HTML report."""

from __future__ import annotations

import argparse
import errno
import io
import math
import os
import re
from datetime import datetime, timezone
from typing import Any

from ..core import files, secrets
from ..core.errors import RftError
from ..store.history import real

PLOT_FIX = 'pip install "pytest-rft[plot]"'


def default_metric(records: list[dict]) -> str:
    for rec in reversed(records):
        for gate in rec.get("gates") or []:
            if isinstance(gate, dict) and gate.get("metric") in rec["metrics"]:
                return gate["metric"]
    names = sorted({name for rec in records for name in rec["metrics"]})
    means = [n for n in names if n.endswith(".mean")]
    return (means or names or ["?"])[0]


def suite_view(suite: str, records: list[dict], args: argparse.Namespace) -> dict | None:
    """One suite's rows: each record at its run number, counted over the suite's whole history.

    None when --model leaves nothing of this suite; ``{"missing": known}`` without the metric.
    """
    times = list(dict.fromkeys(str(rec.get("time")) for rec in records))
    number = {t: i for i, t in enumerate(times, 1)}
    records = [r for r in records if not args.model or r["model"] in args.model]
    if not records:
        return None
    known = sorted({name for rec in records for name in rec["metrics"]})
    metric = args.metric or default_metric(records)
    if metric not in known:
        return {"suite": suite, "missing": known}
    runs = sorted({number[str(rec.get("time"))] for rec in records})
    runs = set(runs[-args.last:] if args.last else runs)
    rows = []
    for rec in records:
        run_no = number[str(rec.get("time"))]
        if run_no not in runs:
            continue
        m = rec["metrics"].get(metric)
        m = m if isinstance(m, dict) else {}
        gates = rec.get("gates")
        rows.append({"run": run_no, "time": _short_time(rec.get("time")),
                     "commit": str(rec.get("git_commit") or "-")[:7], "model": rec["model"],
                     "value": real(m.get("value")), "ci_low": real(m.get("ci_low")),
                     "ci_high": real(m.get("ci_high")), "n": real(m.get("n")),
                     "passed": rec.get("passed"),
                     "gates": [g for g in gates if isinstance(g, dict)]
                     if isinstance(gates, list) else []})
    return {"suite": suite, "metric": metric, "runs": len(runs), "rows": rows,
            "lower_is_better": _lower_is_better(metric, rows)}



def _lower_is_better(metric: str, rows: list[dict]) -> bool:
    """From the latest gate on the metric (``<=`` only), else the name (``error_rate``)."""
    ops = {op for r in rows[-1:] for op, _ in _thresholds(r["gates"], metric)}
    return ops == {"<="} if ops else "error" in metric


def _short_time(value: Any) -> str:
    text = str(value or "-")
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text[:16]
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M")


def _thresholds(gates: list[dict], metric: str) -> list[tuple[str, float]]:
    """The bounds of ``metric`` in gate labels such as ``f1.mean>=0.5,f1.mean<=0.9``."""
    found = []
    for gate in gates:
        for part in str(gate.get("label", "")).split(","):
            match = re.fullmatch(rf"{re.escape(metric)}(>=|<=)(-?[\d.eE+-]+)", part.strip())
            if match:
                try:
                    found.append((match.group(1), float(match.group(2))))
                except ValueError:
                    pass
    return found


def chart(views: list[dict], out: str | os.PathLike) -> None:
    """Draw each suite's metric over runs, one line per model with its 95% CI shaded."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise RftError("--chart needs matplotlib, which is not installed; "
                       f"fix: {PLOT_FIX}") from None

    views = secrets.scrub_data(views)  # names and labels drawn as text: the file holds them
    models = dict.fromkeys(r["model"] for v in views for r in v["rows"])
    colors = {model: f"C{i % 10}" for i, model in enumerate(models)}  # same model, same colour
    longest = max((v["runs"] for v in views), default=1)
    width = min(16.0, max(9.0, 0.6 * longest + 4))
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 10}):
        fig = Figure(figsize=(width, 4.8 * len(views)), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(views), 1, squeeze=False)[:, 0]
        for ax, view in zip(axes, views):
            draw(ax, view, colors)
        svg = str(out).lower().endswith(".svg")
        image = io.BytesIO()
        fig.savefig(image, format="svg" if svg else "png", dpi=120,
                    metadata={"Date": None} if svg else None)
    try:  # whole or not at all, and one located line when the OS refuses
        problem = files.path_problem(out)
        if problem:
            raise OSError(errno.EINVAL, problem)
        files.write_atomic(out, image.getvalue())
    except (OSError, ValueError) as exc:
        raise RftError(f"--chart {files.shown_path(out)}: cannot write the chart: "
                       f"{files.write_problem(exc)}",
                       fix="name a writable .png or .svg file") from None


def draw(ax: Any, view: dict, colors: dict[str, str]) -> None:
    metric, rows = view["metric"], view["rows"]
    runs = sorted({r["run"] for r in rows})
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model and r["value"] is not None]
        if not mine:
            continue
        color = colors[model]
        ax.plot([r["run"] for r in mine], [r["value"] for r in mine], marker="o", linewidth=2,
                color=color, label=model)
        band = [r for r in mine if r["ci_low"] is not None and r["ci_high"] is not None]
        if len(band) == 1:  # a band needs two runs; show one run's CI as an error bar
            r = band[0]
            ax.errorbar([r["run"]], [r["value"]], color=color, capsize=4,
                        yerr=[[r["value"] - r["ci_low"]], [r["ci_high"] - r["value"]]])
        elif band:
            ax.fill_between([r["run"] for r in band], [r["ci_low"] for r in band],
                            [r["ci_high"] for r in band], color=color, alpha=0.18, linewidth=0)
    for op, bound in dict.fromkeys(t for r in rows[-1:] for t in _thresholds(r["gates"], metric)):
        ax.axhline(bound, color="dimgrey", linewidth=1, linestyle="--" if op == ">=" else ":",
                   label=f"gate {metric} {op} {bound:g}")
    _run_ticks(ax, rows, runs)
    ax.set_xlabel("run (time, commit)")
    ax.set_ylabel(metric)
    ax.set_title(f"{view['suite']}: {metric} over runs, with 95% CI")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9, frameon=False)


def _run_ticks(ax: Any, rows: list[dict], runs: list[int]) -> None:
    """Label runs with number, time and commit: stacked when few, slanted and thinned when many."""
    first = {}
    for r in rows:
        first.setdefault(r["run"], r)
    many = len(runs) > 12
    ticks = runs[::max(1, math.ceil(len(runs) / 30))]
    sep = "  " if many else "\n"
    labels = [sep.join(part for part in (f"#{t}", first[t]["time"][5:],
                                        "" if first[t]["commit"] == "-" else first[t]["commit"])
                       if part) for t in ticks]
    if many:
        ax.set_xticks(ticks, labels, fontsize=8, rotation=40, ha="right",
                      rotation_mode="anchor")
    else:
        ax.set_xticks(ticks, labels, fontsize=8)
    if runs:
        ax.set_xlim(runs[0] - 0.5, runs[-1] + 0.5)
