"""Grader thresholds: a grader's own pass_threshold is the item threshold unless the suite sets
one, and every grader threshold gives a ``<score>.pass_rate`` metric."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_rft.core.errors import RftError
from pytest_rft.graders import build_grader
from pytest_rft.core.records import SampleResult
from pytest_rft.core.records import SuiteRun
from pytest_rft.suite.loader import load_suite
from pytest_rft.analysis.summary import summarize

DATA = Path(__file__).parent.parent / "data"
BUILD_HOURS = DATA / "build_hours_f1_grader.json"


def test_build_hours_grader_loads_unchanged_with_its_threshold() -> None:
    definition = json.loads(BUILD_HOURS.read_text())
    assert definition["pass_threshold"] == 0.8 and definition["image_tag"]
    assert all(g["image_tag"] for g in definition["graders"].values())
    grader = build_grader("f1", definition, base_dir=DATA, where="s.yaml: graders.f1")
    assert grader.thresholds() == {"f1": 0.8}
    grades = grader.grade({"output_text": '{"labels": ["a", "b"]}'}, {"labels": ["a", "b", "c"]})
    assert grades.scores["f1"] == pytest.approx(0.8)


def _suite(tmp_path: Path, extra: str = "", grader: str = "{file: f1.json}") -> Path:
    shutil.copy(BUILD_HOURS, tmp_path / "f1.json")
    (tmp_path / "data.jsonl").write_text("".join(
        json.dumps({"id": f"i{n}", "labels": ["a", "b", "c"]}) + "\n" for n in range(4)))
    (tmp_path / "rft_t.yaml").write_text(
        "suite: t\ndataset: data.jsonl\nmodel: m\n"
        "input: [{role: user, content: 'labels?'}]\n"
        f"graders:\n  f1: {grader}\n{extra}")
    return tmp_path / "rft_t.yaml"


def _run(suite, f1_by_item: dict[str, list[float]]) -> SuiteRun:
    run = SuiteRun(suite=suite, model="m", items=list(suite.items), sampled=True)
    for item_id, values in f1_by_item.items():
        run.results[item_id] = [
            SampleResult(item_id=item_id, repeat=r, model="m", kind="ok", output_text="",
                         scores={"f1": v, "precision": 1.0, "recall": v})
            for r, v in enumerate(values)]
    return run


# item means: i0 0.8 (exactly, up to float rounding), i1 0.7, i2 0.9, i3 0.5
F1 = {"i0": [0.6, 0.8, 1.0], "i1": [0.7, 0.7, 0.7], "i2": [0.9, 0.9, 0.9], "i3": [0.5, 0.5, 0.5]}


def test_items_use_the_primary_graders_threshold(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path))
    assert suite.config.pass_threshold is None
    assert suite.pass_threshold == 0.8
    assert "f1.pass_rate" in suite.metric_names()
    summary = summarize(_run(suite, F1), n_boot=50)
    assert {k: s.passed for k, s in summary.items.items()} == {
        "i0": True, "i1": False, "i2": True, "i3": False}
    assert summary.metrics["pass_rate"].value == 0.5
    rate = summary.metrics["f1.pass_rate"]
    assert rate.value == 0.5 and rate.n == 4
    assert 0 < rate.ci_low < 0.5 < rate.ci_high < 1  # Wilson, not a zero-width interval
    assert summary.warnings == []


def test_the_suites_threshold_wins_and_says_so_once(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, "pass_threshold: 0.6\n"))
    assert suite.pass_threshold == 0.6
    summary = summarize(_run(suite, F1), n_boot=50)
    assert summary.metrics["pass_rate"].value == 0.75        # 0.8, 0.7, 0.9 reach 0.6
    assert summary.metrics["f1.pass_rate"].value == 0.5      # the grader's own 0.8
    notes = [w for w in summary.warnings if "pass_threshold" in w]
    assert len(notes) == 1
    assert "suite's pass_threshold 0.6" in notes[0] and "own pass_threshold 0.8" in notes[0]


def test_equal_thresholds_need_no_note(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, "pass_threshold: 0.8\n"))
    assert suite.threshold_note is None


def test_no_threshold_anywhere_is_one_half(tmp_path: Path) -> None:
    inline = ("{type: string_check, input: '{{ sample.output_text }}', "
              "reference: '{{ item.id }}', operation: eq}")
    suite = load_suite(_suite(tmp_path, grader=inline))
    assert suite.pass_threshold == 0.5
    assert not any(m.endswith(".pass_rate") for m in suite.metric_names())


def test_sub_grader_thresholds_give_their_own_pass_rates(tmp_path: Path) -> None:
    path = _suite(tmp_path)
    definition = json.loads(BUILD_HOURS.read_text())
    definition["graders"]["recall"]["pass_threshold"] = 0.75
    (tmp_path / "f1.json").write_text(json.dumps(definition))
    suite = load_suite(path)
    assert suite.score_thresholds == {"f1": 0.8, "recall": 0.75}
    summary = summarize(_run(suite, F1), n_boot=50)
    assert summary.metrics["recall.pass_rate"].value == 0.5  # i0 (0.8), i2 (0.9)


def test_gate_on_a_grader_pass_rate(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path, "gates:\n  - {metric: f1.pass_rate, min: 0.6}\n"))
    summary = summarize(_run(suite, F1), n_boot=50)
    gate = next(g for g in summary.gates if g.label == "f1.pass_rate>=0.6")
    assert not gate.passed


@pytest.mark.parametrize("bad", ["high", True, float("nan")])
def test_bad_threshold_is_a_located_error(tmp_path: Path, bad) -> None:
    definition = json.loads(BUILD_HOURS.read_text())
    definition["pass_threshold"] = bad
    with pytest.raises(RftError) as info:
        build_grader("f1", definition, base_dir=DATA, where="s.yaml: graders.f1")
    assert "pass_threshold of grader 'f1' must be a number" in str(info.value)
    assert "s.yaml: graders.f1: pass_threshold" in str(info.value)


def test_critical_items_fail_below_the_graders_threshold_end_to_end(pytester) -> None:
    shutil.copy(BUILD_HOURS, pytester.path / "f1.json")
    pytester.makeconftest(
        "import pytest_rft\n"
        "@pytest_rft.model('labeller')\n"
        "def labeller(request):\n"
        "    return {'labels': request.item['answer']}\n")
    rows = [{"id": "good", "labels": ["a", "b"], "answer": ["a", "b"], "critical": True},
            # precision 1, recall 2/3: F1 0.8 passes 0.8
            {"id": "edge", "labels": ["a", "b", "c"], "answer": ["a", "b"], "critical": True},
            # precision 1, recall 1/2: F1 0.667 fails 0.8 (it would pass the old 0.5)
            {"id": "low", "labels": ["a", "b"], "answer": ["a"], "critical": True}]
    pytester.path.joinpath("data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pytester.makefile(".yaml", rft_bh=(
        "suite: bh\ndataset: data.jsonl\nmodel: labeller\n"
        "input: [{role: user, content: 'labels?'}]\ngraders:\n  f1: {file: f1.json}\n"))
    result = pytester.runpytest("-p", "no:cacheprovider", "--rft-bootstrap", "20", "-v")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines(["critical item below threshold: f1=0.667 n=1 < pass_threshold 0.8",
                                 "*f1.pass_rate*0.6667*"])
