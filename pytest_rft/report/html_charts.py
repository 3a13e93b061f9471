"""The HTML report's charts: matplotlib figures rendered to inline SVG strings.

Every chart is drawn on a ``Figure`` of its own (no pyplot state), with text kept as SVG text
(``svg.fonttype: none``) so the page stays small and searchable. Labels that come from models or
datasets are drawn as plain text (no mathtext, no TeX) and shortened by ``_label``; the SVG
writer escapes them as XML. A chart that cannot be drawn is a note on the page, not a failure.
"""

from __future__ import annotations

import argparse
import functools
import io
import math
import re
from collections.abc import Callable
from typing import Any

FIX = 'pip install "pytest-rft[html]"'

STABILITY_COLORS = {"stable-pass": "#2e7d32", "stable-fail": "#c62828", "flaky": "#ef6c00",
                    "unknown": "#7b8794", "no-score": "#b0b7c3"}

RASTER_ITEMS = 1500
"""Above this many items the item chart's marks are an embedded image (the SVG stays small)."""

_RC = {"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
       "axes.spines.right": False, "axes.titlesize": 10, "axes.titleweight": "bold",
       "font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
       "text.usetex": False, "text.parse_math": False}
"""``text.parse_math`` off: a ``$`` in an item id or model name is just a dollar sign."""


def require() -> None:
    """Raise ImportError with the fix when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(f"the HTML report needs matplotlib, which is not installed; fix: {FIX}") \
            from None


def checked_path(value: str) -> str:
    """``--rft-html``'s type: fails at once, in one line, when matplotlib is missing."""
    try:
        require()
    except ImportError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _figure(width: float, height: float):
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(fig)
    return fig


def _svg(fig: Any, title: str) -> str:
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, dpi=110)
    text = buffer.getvalue()
    start = text.find("<svg")
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text[start:], count=1, flags=re.S)
    # a labelled, scalable image: CSS gives it the width, the viewBox keeps its proportions
    text = re.sub(r'<svg([^>]*?) width="([^"]*)" height="[^"]*"',
                  lambda m: f'<svg{m.group(1)} role="img" class="chart" '
                            f'style="max-width:{m.group(2)}"', text, count=1)
    from html import escape
    return text.replace(">", f"><title>{escape(title)}</title>", 1)


def _guarded(draw: Callable[..., str | None]) -> Callable[..., str | None]:
    """A chart that fails to draw becomes a note: the rest of the page still tells the story."""
    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> str | None:
        try:
            return draw(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - shown on the page
            from html import escape
            return (f'<p class="note warn">chart not drawn: {escape(type(exc).__name__)}: '
                    f"{escape(str(exc)[:300])}</p>")
    return wrapper


def _label(text: Any, limit: int = 40) -> str:
    text = str(text)
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return text


@_guarded
def item_chart(rows: list[dict], threshold: float, primary: str) -> str:
    """Every item's primary score over its repeats, sorted by mean: a point at the mean, a bar
    from min to max, coloured by stability; the pass threshold as a line.

    ``rows``: dicts with ``id``, ``mean``, ``min``, ``max``, ``stability`` (items without a
    score are left out)."""
    import matplotlib

    rows = sorted((r for r in rows if r["mean"] is not None), key=lambda r: (r["mean"], r["id"]))
    n = len(rows)
    width = min(14.0, max(7.0, 0.16 * n + 2))
    with matplotlib.rc_context(_RC):
        fig = _figure(width, 3.4)
        ax = fig.subplots()
        xs = list(range(n))
        for stability, color in STABILITY_COLORS.items():
            mine = [(x, r) for x, r in zip(xs, rows) if r["stability"] == stability]
            if not mine:
                continue
            ax.vlines([x for x, _ in mine], [r["min"] for _, r in mine],
                      [r["max"] for _, r in mine], color=color, linewidth=2.2, alpha=0.45,
                      rasterized=n > RASTER_ITEMS)
            ax.scatter([x for x, _ in mine], [r["mean"] for _, r in mine], color=color, s=16,
                       zorder=3, label=f"{stability} ({len(mine)})", rasterized=n > RASTER_ITEMS)
        ax.axhline(threshold, color="#37474f", linestyle="--", linewidth=1,
                   label=f"pass threshold {threshold:g}")
        if n <= 60:
            ax.set_xticks(xs, [_label(r["id"], 18) for r in rows], rotation=90, fontsize=6.5)
        else:
            ax.set_xticks([])
            ax.set_xlabel(f"{n} items, sorted by mean {primary}")
        ax.set_xlim(-1, max(n, 1))
        low = min([0.0, threshold, *(r["min"] for r in rows)])
        high = max([1.0, threshold, *(r["max"] for r in rows)])
        ax.set_ylim(low - 0.04 * (high - low), high + 0.04 * (high - low))
        ax.set_ylabel(f"{_label(primary)} per repeat")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, frameon=False,
                  ncols=6, borderaxespad=0.2)
    return _svg(fig, f"{primary} of every item over its repeats, sorted by mean")


@_guarded
def histogram(means: list[float], threshold: float, primary: str) -> str:
    """Distribution of item means, with the pass threshold."""
    import matplotlib

    with matplotlib.rc_context(_RC):
        fig = _figure(4.6, 3.0)
        ax = fig.subplots()
        low = min([0.0, *means])
        high = max([1.0, *means])
        ax.hist(means, bins=20, range=(low, high), color="#5c6bc0", edgecolor="white")
        ax.axvline(threshold, color="#37474f", linestyle="--", linewidth=1,
                   label=f"pass threshold {threshold:g}")
        ax.set_xlabel(f"item mean {_label(primary)}")
        ax.set_ylabel("items")
        ax.set_title(f"Item means ({len(means)} items)")
        ax.legend(fontsize=7.5, frameon=False)
    return _svg(fig, f"histogram of item mean {primary}")


@_guarded
def models_chart(metrics: list[str], models: list[str],
                 values: dict[str, dict[str, tuple[float | None, float | None, float | None]]]
                 ) -> str:
    """Grouped bars: one group per metric, one bar per model, 95% CI whiskers.

    ``values[model][metric] = (value, ci_low, ci_high)``."""
    import matplotlib

    k = max(len(models), 1)
    width = 0.8 / k
    with matplotlib.rc_context(_RC):
        fig = _figure(min(12.0, 2.0 + 1.5 * len(metrics)), 3.3)
        ax = fig.subplots()
        for i, model in enumerate(models):
            xs, hs, lo, hi = [], [], [], []
            for j, metric in enumerate(metrics):
                value, ci_low, ci_high = values.get(model, {}).get(metric, (None, None, None))
                if value is None:
                    continue
                xs.append(j - 0.4 + width * (i + 0.5))
                hs.append(value)
                lo.append(value - ci_low if ci_low is not None else 0.0)
                hi.append(ci_high - value if ci_high is not None else 0.0)
            ax.bar(xs, hs, width=width * 0.92, color=f"C{i % 10}", label=_label(model),
                   yerr=[lo, hi], capsize=3, error_kw={"linewidth": 1, "ecolor": "#263238"})
        ax.set_xticks(range(len(metrics)), [_label(m) for m in metrics])
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("value (95% CI)")
        ax.set_title("Models side by side")
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return _svg(fig, "models side by side: " + ", ".join(metrics))


@_guarded
def history_chart(suite: str, records: list[dict], metric: str | None = None) -> str | None:
    """``suite``'s metric over the runs of a history file, one line per model with its CI band
    (drawn by ``history_chart``); None when the history has nothing to draw."""
    import matplotlib

    from . import history_chart

    args = argparse.Namespace(model=None, metric=metric, last=None)
    view = history_chart.suite_view(suite, [r for r in records if r.get("suite") == suite], args)
    if not view or "rows" not in view or not any(r["value"] is not None for r in view["rows"]):
        return None
    models = dict.fromkeys(r["model"] for r in view["rows"])
    colors = {model: f"C{i % 10}" for i, model in enumerate(models)}
    with matplotlib.rc_context(_RC):
        fig = _figure(min(13.0, max(7.0, 0.6 * view["runs"] + 4)), 3.6)
        ax = fig.subplots()
        history_chart.draw(ax, view, colors)
    return _svg(fig, f"{suite}: {view['metric']} over runs with 95% CI")


def ci_text(low: float | None, high: float | None, signed: bool = False) -> str:
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "n/a"
    fmt = "{:+.4f}" if signed else "{:.4f}"
    return f"{fmt.format(low)} – {fmt.format(high)}"
