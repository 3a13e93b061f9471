"""Run history: one JSON line per suite × model run, and the ``pytest-rft history`` command.

``pytest --rft-history PATH`` appends one record per suite × model run (see :func:`record`) to
a JSON-lines file; ``pytest-rft history PATH`` prints a metric over those runs, per suite and
per model (checkpoint comparison), and ``--chart`` draws it.

A *run* in the tables and the chart is one pytest session: the records that share a ``time``.
Runs are shown in the order they were recorded.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from tabulate import tabulate

from ..core import secrets
from ..core.errors import RftError

try:  # POSIX; elsewhere appends rely on O_APPEND alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PLOT_FIX = 'pip install "pytest-rft[plot]"'
_MAX_LINE_WARNINGS = 5


class HistoryWarning(UserWarning):
    """A history file line that could not be read (it is skipped)."""


# ------------------------------------------------------------------------------------------
# records and the file


def _number(value: Any) -> float | int | None:
    """A JSON-safe number: None for missing/NaN/inf, else int or float."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    value = float(value)
    return value if math.isfinite(value) else None


def record(run: Any, summary: Any, *, git_commit: str | None, created: str) -> dict:
    """One JSON-able record of a suite × model run and its summary (duck-typed)."""
    metrics = {
        str(name): {"value": _number(m.value), "ci_low": _number(m.ci_low),
                    "ci_high": _number(m.ci_high), "n": _number(m.n)}
        for name, m in summary.metrics.items()
    }
    gates = [{"label": g.label, "metric": getattr(g, "metric", None), "passed": bool(g.passed),
              "verdict": getattr(g, "verdict", "PASS" if g.passed else "FAIL"),
              "value": _number(g.value)} for g in summary.gates]
    return {
        "time": created,
        "suite": run.suite.name,
        "model": run.model,
        "git_commit": git_commit,
        "repeats": getattr(run, "repeats", None) or run.suite.config.repeats,
        "items": len(run.items),
        "metrics": metrics,
        "gates": gates,
        # None when a subset run selected no gate: its numbers judged nothing
        "passed": all(g["passed"] for g in gates) if getattr(summary, "judged", True) else None,
    }


def git_commit(cwd: str | os.PathLike | None = None) -> str | None:
    """``$GITHUB_SHA``, else ``git rev-parse HEAD`` in ``cwd``; None when neither is known."""
    sha = os.environ.get("GITHUB_SHA", "").strip()
    if sha:
        return sha
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and sha else None


def append(path: str | os.PathLike, records: Iterable[dict]) -> None:
    """Append ``records`` as JSON lines (sorted keys), safe against concurrent appenders.

    Each line goes out in one ``write`` on an ``O_APPEND`` descriptor while holding an exclusive
    ``flock``, then the file is fsynced. A line left unterminated by a crashed writer is closed
    first, so it stays one broken line instead of swallowing the next record.
    """
    lines = [secrets.dumps(r, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
             for r in records]
    if not lines:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o644)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            _write_all(fd, b"\n")
        for line in lines:
            _write_all(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)  # closing releases the lock


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    while written < len(data):  # only on a short write (disk full, signal)
        written += os.write(fd, data[written:])


def read(path: str | os.PathLike) -> list[dict]:
    """The records of a history file; broken lines are skipped with a :class:`HistoryWarning`."""
    records, broken = [], []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as exc:
                broken.append((lineno, f"not JSON ({exc})"))
                continue
            except RecursionError:
                broken.append((lineno, "nested too deeply"))
                continue
            if not (isinstance(rec, dict) and isinstance(rec.get("suite"), str)
                    and isinstance(rec.get("model"), str) and isinstance(rec.get("metrics"), dict)):
                broken.append((lineno, "not a history record (needs suite, model, metrics)"))
                continue
            records.append(_plain(rec))
    for lineno, why in broken[:_MAX_LINE_WARNINGS]:
        warnings.warn(f"{path}:{lineno}: skipped broken line: {why}", HistoryWarning, stacklevel=2)
    if len(broken) > _MAX_LINE_WARNINGS:
        warnings.warn(f"{path}: skipped {len(broken)} broken lines in all", HistoryWarning,
                      stacklevel=2)
    return records


VERDICTS = ("PASS", "FAIL", "INCONCLUSIVE")
"""A gate's verdict as written since the three verdicts (older records have ``passed`` only)."""


def _plain(rec: dict) -> dict:
    """A record in the shape the tables and the chart read, whatever was edited into the file:
    numbers or None for metric values, a list of gate objects, text for time and commit."""
    metrics = {}
    for name, metric in rec["metrics"].items():
        metric = metric if isinstance(metric, dict) else {}
        metrics[str(name)] = {k: _real(metric.get(k)) for k in ("value", "ci_low", "ci_high", "n")}
    gates = rec.get("gates")
    gates = [{"label": str(g.get("label", "")), "metric": g.get("metric")
              if isinstance(g.get("metric"), str) else None,
              "passed": g.get("passed") if isinstance(g.get("passed"), bool) else None,
              "value": _real(g.get("value")),
              **({"verdict": g["verdict"]} if g.get("verdict") in VERDICTS else {})}
             for g in (gates if isinstance(gates, list) else []) if isinstance(g, dict)]
    commit = rec.get("git_commit")
    passed = rec.get("passed")
    return {**rec, "metrics": metrics, "gates": gates,
            "time": "" if rec.get("time") is None else str(rec.get("time")),
            "git_commit": commit if isinstance(commit, str) else None,
            "passed": passed if isinstance(passed, bool) else None}


# ------------------------------------------------------------------------------------------
# the console command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="history file written by --rft-history")
    parser.add_argument("--suite", action="append", metavar="NAME",
                        help="only this suite (repeatable)")
    parser.add_argument("--model", action="append", metavar="NAME",
                        help="only this model (repeatable)")
    parser.add_argument("--metric", metavar="NAME",
                        help="metric to show, e.g. f1.mean (default: the first gate's metric)")
    parser.add_argument("--last", type=int, metavar="N", help="only the last N runs per suite")
    parser.add_argument("--chart", metavar="OUT", help="write a chart of the metric (.png or .svg)")


def run(args: argparse.Namespace) -> int:
    if args.chart and Path(args.chart).suffix.lower() not in (".png", ".svg"):
        raise RftError(f"--chart {args.chart}: unknown image type",
                       fix="name the file .png or .svg")
    if args.last is not None and args.last < 1:
        raise RftError("--last must be 1 or more")
    if not Path(args.path).is_file():
        raise RftError("no such history file", where=args.path,
                       fix="write one with: pytest --rft-history PATH")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", HistoryWarning)
        records = read(args.path)
    for warning in caught:
        print(f"pytest-rft history: warning: {warning.message}", file=sys.stderr)

    views = []
    for name, recs in _select(records, args).items():
        view = _suite_view(name, recs, args)
        if view is not None:
            views.append(view)
    shown = [v for v in views if "missing" not in v]
    if not shown:
        known = sorted({m for v in views for m in v["missing"]})
        raise RftError(f"no metric {args.metric!r} in {args.path}",
                       fix=f"use one of: {', '.join(known)}")
    for view in views:
        if "missing" in view:
            print(f"pytest-rft history: suite {view['suite']!r} has no metric {args.metric!r}; "
                  "skipped", file=sys.stderr)
    for i, view in enumerate(shown):
        if i:
            print()
        _print_view(view)
    if args.chart:
        chart(shown, args.chart)
        print(f"\nchart written to {args.chart}")
    return 0


def _select(records: list[dict], args: argparse.Namespace) -> dict[str, list[dict]]:
    """Records grouped by suite (in file order), filtered by --suite; --model is checked."""
    known_suites = list(dict.fromkeys(r["suite"] for r in records))
    if not known_suites:
        raise RftError("no runs recorded yet", where=args.path)
    for name in args.suite or []:
        if name not in known_suites:
            raise RftError(f"unknown suite {name!r}", where=args.path,
                           fix=f"use one of: {', '.join(known_suites)}")
    records = [r for r in records if not args.suite or r["suite"] in args.suite]
    known_models = list(dict.fromkeys(r["model"] for r in records))
    for name in args.model or []:
        if name not in known_models:
            raise RftError(f"unknown model {name!r}", where=args.path,
                           fix=f"use one of: {', '.join(known_models)}")
    grouped: dict[str, list[dict]] = {}
    for rec in records:
        grouped.setdefault(rec["suite"], []).append(rec)
    return grouped


def _default_metric(records: list[dict]) -> str:
    for rec in reversed(records):
        for gate in rec.get("gates") or []:
            if isinstance(gate, dict) and gate.get("metric") in rec["metrics"]:
                return gate["metric"]
    names = sorted({name for rec in records for name in rec["metrics"]})
    means = [n for n in names if n.endswith(".mean")]
    return (means or names or ["?"])[0]


def _suite_view(suite: str, records: list[dict], args: argparse.Namespace) -> dict | None:
    """One suite's rows: each record at its run number, counted over the suite's whole history.

    None when --model leaves nothing of this suite; ``{"missing": known}`` without the metric.
    """
    times = list(dict.fromkeys(str(rec.get("time")) for rec in records))
    number = {t: i for i, t in enumerate(times, 1)}
    records = [r for r in records if not args.model or r["model"] in args.model]
    if not records:
        return None
    known = sorted({name for rec in records for name in rec["metrics"]})
    metric = args.metric or _default_metric(records)
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
                     "value": _real(m.get("value")), "ci_low": _real(m.get("ci_low")),
                     "ci_high": _real(m.get("ci_high")), "n": _real(m.get("n")),
                     "passed": rec.get("passed"),
                     "gates": [g for g in gates if isinstance(g, dict)]
                     if isinstance(gates, list) else []})
    return {"suite": suite, "metric": metric, "runs": len(runs), "rows": rows,
            "lower_is_better": _lower_is_better(metric, rows)}


def _real(value: Any) -> float | int | None:
    """A number read from the file, or None (for null, or anything hand-edited into a non-number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None


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


def _fmt(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _fmt_ci(row: dict) -> str:
    if row["ci_low"] is None or row["ci_high"] is None:
        return ""
    return f"{row['ci_low']:.4f}..{row['ci_high']:.4f}"


def _verdict(passed: Any) -> str:
    return {True: "PASS", False: "FAIL"}.get(passed, "-")


def _print_view(view: dict) -> None:
    metric, rows = view["metric"], view["rows"]
    runs = view["runs"]
    print(f"--- {view['suite']}: {metric} over {runs} run{'' if runs == 1 else 's'}")
    print(tabulate([[r["run"], r["time"], r["commit"], r["model"], _fmt(r["value"]), _fmt_ci(r),
                     "" if r["n"] is None else r["n"], _verdict(r["passed"])] for r in rows],
                   headers=["run", "time", "commit", "model", metric, "95% CI", "n", "gates"],
                   colalign=("right", "left", "left", "left", "right", "left", "right", "left"),
                   disable_numparse=True))
    print()
    print(f"--- {view['suite']}: {metric} per model (its latest run)")
    table, best = [], min if view["lower_is_better"] else max
    for model in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == model]
        latest, first = mine[-1], mine[0]
        values = [r["value"] for r in mine if r["value"] is not None]
        delta = (latest["value"] - first["value"]
                 if len(mine) > 1 and None not in (latest["value"], first["value"]) else None)
        table.append([model, _fmt(latest["value"]), _fmt_ci(latest), len(mine),
                      _fmt(first["value"]) if len(mine) > 1 else "",
                      "" if delta is None else f"{delta:+.4f}",
                      _fmt(best(values)) if values else "n/a", _verdict(latest["passed"])])
    print(tabulate(table, headers=["model", "latest", "95% CI", "runs", "first", "change",
                                   "best", "gates"],
                   colalign=("left", "right", "left", "right", "right", "right", "right", "left"),
                   disable_numparse=True))


# ------------------------------------------------------------------------------------------
# the chart


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

    models = dict.fromkeys(r["model"] for v in views for r in v["rows"])
    colors = {model: f"C{i % 10}" for i, model in enumerate(models)}  # same model, same colour
    longest = max((v["runs"] for v in views), default=1)
    width = min(16.0, max(9.0, 0.6 * longest + 4))
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 10}):
        fig = Figure(figsize=(width, 4.8 * len(views)), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(views), 1, squeeze=False)[:, 0]
        for ax, view in zip(axes, views):
            _draw(ax, view, colors)
        svg = str(out).lower().endswith(".svg")
        fig.savefig(out, dpi=120, metadata={"Date": None} if svg else None)


def _draw(ax: Any, view: dict, colors: dict[str, str]) -> None:
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
