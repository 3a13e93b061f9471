"""The run history file: one JSON line per suite × model run.

``pytest --rft-history PATH`` appends one record per suite × model run (see :func:`record`) to
a JSON-lines file, safe against concurrent appenders; :func:`read` gives the records back in one
plain shape whatever was edited into the file. ``pytest-rft history`` (cli/history.py) prints
them and ``report/history_chart.py`` draws them.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import subprocess
import warnings
from pathlib import Path
from typing import Any, Iterable

from ..core import secrets

try:  # POSIX; elsewhere appends rely on O_APPEND alone
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_MAX_LINE_WARNINGS = 5


class HistoryWarning(UserWarning):
    """A history file line that could not be read (it is skipped)."""


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
        "repeats": run.repeats,
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
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_NONBLOCK", 0)
                 | getattr(os, "O_BINARY", 0), 0o644)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISCHR(mode):  # /dev/null: written into, nothing to lock or sync
            _write_all(fd, "".join(lines).encode("utf-8"))
            return
        if not stat.S_ISREG(mode):  # a named pipe would block the run for a reader
            raise OSError(errno.EINVAL, f"{path} is not a regular file")
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
        metrics[str(name)] = {k: real(metric.get(k)) for k in ("value", "ci_low", "ci_high", "n")}
    gates = rec.get("gates")
    gates = [{"label": str(g.get("label", "")), "metric": g.get("metric")
              if isinstance(g.get("metric"), str) else None,
              "passed": g.get("passed") if isinstance(g.get("passed"), bool) else None,
              "value": real(g.get("value")),
              **({"verdict": g["verdict"]} if g.get("verdict") in VERDICTS else {})}
             for g in (gates if isinstance(gates, list) else []) if isinstance(g, dict)]
    commit = rec.get("git_commit")
    passed = rec.get("passed")
    return {**rec, "metrics": metrics, "gates": gates,
            "time": "" if rec.get("time") is None else str(rec.get("time")),
            "git_commit": commit if isinstance(commit, str) else None,
            "passed": passed if isinstance(passed, bool) else None}


def real(value: Any) -> float | int | None:
    """A number read from the file, or None (for null, or anything hand-edited into a non-number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) else None
