"""``pytest-rft history PATH``: a metric over the runs of a ``--rft-history`` file, per suite
and per model (checkpoint comparison); ``--chart`` draws it (report/history_chart.py)."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from tabulate import tabulate

from ..core.errors import RftError
from ..report.history_chart import chart, suite_view
from ..store.history import HistoryWarning, read


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
        view = suite_view(name, recs, args)
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

