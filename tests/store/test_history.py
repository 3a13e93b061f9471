"""Run history: records, the JSON-lines file (concurrent appends, broken lines) and the
``pytest-rft history`` command (tables, --chart PNG/SVG, missing matplotlib)."""

from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_rft.cli import main as cli
from pytest_rft.store import history
from pytest_rft.analysis.gates import GateResult
from pytest_rft.analysis.stats import Metric
from pytest_rft.core.records import SuiteRun

ROOT = Path(__file__).resolve().parents[2]


def fake_run(model: str, suite: str = "eurovoc-level1", *, repeats: int | None = None,
             n_items: int = 49) -> SuiteRun:
    """A run of a stand-in suite (3 repeats); ``repeats`` is --rft-repeats."""
    return SuiteRun(suite=SimpleNamespace(name=suite, config=SimpleNamespace(repeats=3, api=None)),
                    model=model, repeats=repeats, items=[object()] * n_items)


def fake_summary(value: float, *, gate_min: float = 0.5) -> SimpleNamespace:
    metrics = {
        "f1.mean": Metric("f1.mean", value, value - 0.05, value + 0.05, 49),
        "error_rate": Metric("error_rate", 0.0, 0.0, float("nan"), 49),
    }
    gates = [GateResult(f"f1.mean>={gate_min:g}", "f1.mean", value, (value - 0.05, value + 0.05),
                        "PASS" if value >= gate_min else "FAIL", "detail"),
             GateResult("error_rate<=0", "error_rate", 0.0, (0.0, 0.0), "PASS", "detail")]
    return SimpleNamespace(key="k", model="m", metrics=metrics, gates=gates)


def rec(time: str, model: str, value: float | None, *, suite: str = "eurovoc-level1",
        commit: str | None = "3f2a9c1e5d", passed: bool = True, n: int = 49) -> dict:
    """A hand-made history record, as the file holds it."""
    ci = {"ci_low": None, "ci_high": None} if value is None else {
        "ci_low": round(value - 0.05, 4), "ci_high": round(value + 0.05, 4)}
    return {"time": time, "suite": suite, "model": model, "git_commit": commit, "repeats": 3,
            "items": n, "passed": passed,
            "metrics": {"f1.mean": {"value": value, "n": n, **ci},
                        "pass_rate": {"value": 0.9, "ci_low": 0.8, "ci_high": 1.0, "n": n}},
            "gates": [{"label": "f1.mean>=0.5", "metric": "f1.mean", "passed": passed,
                       "value": value}]}


@pytest.fixture
def main(monkeypatch):
    """``pytest_rft.cli.main.main`` with only the history subcommand (the others load their own deps)."""
    monkeypatch.setattr(cli, "SUBCOMMANDS", {"history": cli.SUBCOMMANDS["history"]})
    return cli.main


@pytest.fixture
def hist(tmp_path) -> Path:
    path = tmp_path / "history.jsonl"
    history.append(path, [
        rec("2025-06-01T09:00:00+00:00", "clf-v1", 0.40, passed=False),
        rec("2025-06-01T09:00:00+00:00", "clf-v2", 0.60, commit="3f2a9c1e5d"),
        rec("2025-06-02T09:00:00+00:00", "clf-v1", 0.45, passed=False, commit="8b7d0aa2ff"),
        rec("2025-06-02T09:00:00+00:00", "clf-v2", 0.62, commit="8b7d0aa2ff"),
        rec("2025-06-03T10:30:00Z", "clf-v3", 0.70, commit=None),
        rec("2025-06-03T11:00:00Z", "gpt-x", 0.81, suite="sentiment"),
    ])
    return path


def rows_of(out: str) -> list[list[str]]:
    return [line.split() for line in out.splitlines()]


# ------------------------------------------------------------------------------------------
# records and the file


def test_record_append_read_round_trip(tmp_path):
    records = [history.record(fake_run("clf-v1", repeats=5), fake_summary(0.4),
                              git_commit="abc123", created="2025-06-01T09:00:00+00:00"),
               history.record(fake_run("clf-v2"), fake_summary(0.6), git_commit=None,
                              created="2025-06-01T09:00:00+00:00")]
    first = records[0]
    assert first["suite"] == "eurovoc-level1" and first["model"] == "clf-v1"
    assert first["repeats"] == 5 and records[1]["repeats"] == 3  # run override, else suite's
    assert first["items"] == 49 and first["git_commit"] == "abc123"
    assert first["metrics"]["f1.mean"] == {"value": 0.4, "ci_low": pytest.approx(0.35),
                                           "ci_high": pytest.approx(0.45), "n": 49}
    assert first["metrics"]["error_rate"]["ci_high"] is None  # NaN is not JSON: stored as null
    assert first["gates"][0] == {"label": "f1.mean>=0.5", "metric": "f1.mean", "passed": False,
                                 "verdict": "FAIL", "value": 0.4}
    assert first["passed"] is False and records[1]["passed"] is True

    path = tmp_path / "deep" / "dir" / "history.jsonl"  # parent dirs are created
    history.append(path, records[:1])
    history.append(path, records[1:])
    history.append(path, [])  # nothing to write: no empty line either
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert lines[0] == json.dumps(json.loads(lines[0]), sort_keys=True, ensure_ascii=False)
    assert history.read(path) == json.loads(json.dumps(records))


def test_record_from_a_real_suite_summary(tmp_path):
    from pytest_rft.core.records import SampleResult
    from pytest_rft.suite.loader import load_suite
    from pytest_rft.analysis.summary import summarize

    suite = load_suite(ROOT / "example_suite" / "rft_eurovoc.yaml")
    run = SuiteRun(suite=suite, model="m1", items=suite.items[:6], repeats=2)
    for i, item in enumerate(run.items):
        run.results[item.id] = [SampleResult(item_id=item.id, repeat=r, model="m1",
                                             scores={"f1": (i % 3) / 2}) for r in range(2)]
    summary = summarize(run, n_boot=50)
    record = history.record(run, summary, git_commit="abc", created="2025-06-01T09:00:00Z")
    assert record["suite"] == suite.name and record["items"] == 6 and record["repeats"] == 2
    assert record["metrics"]["f1.mean"]["value"] == pytest.approx(0.5)
    assert record["metrics"]["f1.mean"]["n"] == 6
    assert [g["label"] for g in record["gates"]] == [g.label for g in summary.gates]
    assert record["passed"] == all(g.passed for g in summary.gates)
    history.append(tmp_path / "h.jsonl", [record])
    assert history.read(tmp_path / "h.jsonl") == [json.loads(json.dumps(record))]


def test_broken_lines_are_skipped_with_a_warning_naming_file_and_line(tmp_path):
    path = tmp_path / "history.jsonl"
    good = rec("2025-06-01T09:00:00Z", "clf-v1", 0.4)
    path.write_text("\n".join([json.dumps(good), '{"suite": "x", "model": "trunc',
                               "", "[1, 2]", json.dumps(good)]) + "\n", encoding="utf-8")
    with pytest.warns(history.HistoryWarning) as caught:
        records = history.read(path)
    assert records == [good, good]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert messages[0].startswith(f"{path}:2: skipped broken line: not JSON")
    assert messages[1].startswith(f"{path}:4: skipped broken line: not a history record")


def test_append_closes_a_line_left_unterminated_by_a_crashed_writer(tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text(json.dumps(rec("t0", "a", 0.1)) + '\n{"suite": "half', encoding="utf-8")
    history.append(path, [rec("t1", "b", 0.2)])
    with pytest.warns(history.HistoryWarning, match=":2: skipped"):
        records = history.read(path)
    assert [r["model"] for r in records] == ["a", "b"]


def _append_many(path: str, worker: int, count: int, barrier) -> None:
    barrier.wait()
    for i in range(count):
        payload = "x" * (3000 + 977 * ((worker * count + i) % 17))  # lines of 3-19 KB
        history.append(path, [{"suite": "s", "model": f"w{worker}", "i": i, "metrics": {},
                               "pad": payload}])


def test_concurrent_appends_from_processes_never_interleave(tmp_path):
    path = tmp_path / "history.jsonl"
    workers, count = 8, 200
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=_append_many, args=(str(path), w, count, barrier))
             for w in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0] * workers
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""  # the file ends with a newline
    parsed = [json.loads(line) for line in lines[:-1]]  # every line is one whole record
    assert len(parsed) == workers * count
    assert sorted((r["model"], r["i"]) for r in parsed) == sorted(
        (f"w{w}", i) for w in range(workers) for i in range(count))
    for record in parsed:
        assert set(record["pad"]) == {"x"}


def test_git_commit_prefers_github_sha(monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_SHA", "0123456789abcdef")
    assert history.git_commit(tmp_path) == "0123456789abcdef"


def test_git_commit_outside_a_repo_is_none_and_quiet(monkeypatch, tmp_path, capfd):
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert history.git_commit(tmp_path) is None
    assert history.git_commit(tmp_path / "does-not-exist") is None
    assert capfd.readouterr().err == ""


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_commit_reads_head(monkeypatch, tmp_path):
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()
    assert len(head) == 40 and history.git_commit(tmp_path) == head


# ------------------------------------------------------------------------------------------
# the command: tables


def test_cli_prints_runs_and_per_model_tables(main, hist, capsys):
    assert main(["history", str(hist)]) == 0
    out = capsys.readouterr().out
    rows = rows_of(out)
    assert "--- eurovoc-level1: f1.mean over 3 runs" in out
    assert ["run", "time", "commit", "model", "f1.mean", "95%", "CI", "n", "gates"] in rows
    assert ["1", "2025-06-01", "09:00", "3f2a9c1", "clf-v1", "0.4000", "0.3500..0.4500", "49",
            "FAIL"] in rows
    assert ["2", "2025-06-02", "09:00", "8b7d0aa", "clf-v2", "0.6200", "0.5700..0.6700", "49",
            "PASS"] in rows
    assert ["3", "2025-06-03", "10:30", "-", "clf-v3", "0.7000", "0.6500..0.7500", "49",
            "PASS"] in rows
    # checkpoint comparison: models as rows, latest value, change since the first run
    assert "--- eurovoc-level1: f1.mean per model (its latest run)" in out
    assert ["clf-v1", "0.4500", "0.4000..0.5000", "2", "0.4000", "+0.0500", "0.4500",
            "FAIL"] in rows
    assert ["clf-v2", "0.6200", "0.5700..0.6700", "2", "0.6000", "+0.0200", "0.6200",
            "PASS"] in rows
    assert ["clf-v3", "0.7000", "0.6500..0.7500", "1", "0.7000", "PASS"] in rows
    # the other suite gets its own tables
    assert "--- sentiment: f1.mean over 1 run\n" in out
    assert ["1", "2025-06-03", "11:00", "3f2a9c1", "gpt-x", "0.8100", "0.7600..0.8600", "49",
            "PASS"] in rows


def test_cli_filters_suite_model_metric_and_last(main, hist, capsys):
    args = ["history", str(hist), "--suite", "eurovoc-level1", "--model", "clf-v2",
            "--metric", "pass_rate", "--last", "1"]
    assert main(args) == 0
    out = capsys.readouterr().out
    rows = rows_of(out)
    assert "sentiment" not in out and "clf-v1" not in out
    assert "--- eurovoc-level1: pass_rate over 1 run\n" in out
    # run numbers count the whole suite history, so run 2 keeps its number
    run_rows = [r for r in rows if r[:1] in (["1"], ["2"], ["3"])]
    assert run_rows == [["2", "2025-06-02", "09:00", "8b7d0aa", "clf-v2", "0.9000",
                         "0.8000..1.0000", "49", "PASS"]]


def test_cli_unknown_names_list_the_known_ones(main, hist, capsys):
    assert main(["history", str(hist), "--metric", "f2.mean"]) == 2
    err = capsys.readouterr().err
    assert "no metric 'f2.mean'" in err and "use one of: f1.mean, pass_rate" in err
    assert main(["history", str(hist), "--suite", "nope"]) == 2
    assert "use one of: eurovoc-level1, sentiment" in capsys.readouterr().err
    assert main(["history", str(hist), "--model", "clf-v9"]) == 2
    assert "use one of: clf-v1, clf-v2, clf-v3, gpt-x" in capsys.readouterr().err
    assert main(["history", str(hist.parent / "missing.jsonl")]) == 2
    assert "no such history file" in capsys.readouterr().err


def test_cli_warns_about_broken_lines_and_still_prints(main, hist, capsys):
    with hist.open("a", encoding="utf-8") as handle:
        handle.write("not json\n")
    assert main(["history", str(hist), "--suite", "sentiment"]) == 0
    captured = capsys.readouterr()
    assert f"warning: {hist}:7: skipped broken line" in captured.err
    assert "gpt-x" in captured.out


def test_cli_default_metric_is_the_gated_one_and_hand_edits_do_not_crash(main, tmp_path,
                                                                          capsys):
    path = tmp_path / "history.jsonl"
    gated = {"label": "error_rate<=0.1", "metric": "error_rate", "passed": True, "value": 0.0}
    records = [{"time": "t1", "suite": "s", "model": "m", "metrics": {
                    "acc.mean": {"value": 0.5}, "error_rate": {"value": 0.05, "n": 10}},
                "gates": [gated], "passed": True},
               {"time": "t2", "suite": "s", "model": "m", "metrics": {
                    "acc.mean": 7, "error_rate": {"value": "oops", "ci_low": [], "n": None}},
                "gates": "not a list"},
               {"time": "t3", "suite": "s", "model": "m", "metrics": {
                    "error_rate": {"value": 0.02, "ci_low": 0.0, "ci_high": 0.08, "n": 10}},
                "gates": [gated], "passed": True}]
    history.append(path, records)
    assert main(["history", str(path)]) == 0
    out = capsys.readouterr().out
    rows = rows_of(out)
    assert "--- s: error_rate over 3 runs" in out  # the gated metric, not the first name
    assert ["2", "t2", "-", "m", "n/a", "-"] in rows  # garbage shown as n/a, not a crash
    assert ["3", "t3", "-", "m", "0.0200", "0.0000..0.0800", "10", "PASS"] in rows
    # per model: error_rate is gated with <=, so the best run is the lowest
    assert ["m", "0.0200", "0.0000..0.0800", "3", "0.0500", "-0.0300", "0.0200", "PASS"] in rows


# ------------------------------------------------------------------------------------------
# the command: --chart


def test_chart_png_is_a_real_image(main, hist, tmp_path, capsys):
    image = pytest.importorskip("matplotlib.image")
    out = tmp_path / "chart.png"
    assert main(["history", str(hist), "--chart", str(out)]) == 0
    assert f"chart written to {out}" in capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(out)
    assert pixels.ndim == 3 and pixels.shape[0] > 300 and pixels.shape[1] > 600
    assert pixels.std() > 0.05  # something is drawn, not a blank canvas


def test_chart_svg_names_the_models(main, hist, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "chart.svg"
    assert main(["history", str(hist), "--suite", "eurovoc-level1", "--chart", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "<svg" in text
    for name in ("clf-v1", "clf-v2", "clf-v3", "f1.mean", "gate f1.mean &gt;= 0.5"):
        assert name in text
    assert "gpt-x" not in text


def test_chart_without_matplotlib_says_how_to_install_it(main, hist, tmp_path, capsys,
                                                         monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = tmp_path / "chart.png"
    assert main(["history", str(hist), "--chart", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ('pytest-rft history: --chart needs matplotlib, which is not installed; '
                   'fix: pip install "pytest-rft[plot]"')
    assert not out.exists()


def test_chart_rejects_other_image_types(main, hist, tmp_path, capsys):
    assert main(["history", str(hist), "--chart", str(tmp_path / "chart.jpg")]) == 2
    assert "name the file .png or .svg" in capsys.readouterr().err
