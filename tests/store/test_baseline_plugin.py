"""Baselines end to end with pytester: update, compare, regressions, flips, digests, selection,
reports, several models, history."""

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest

from tests.support.projects import BASELINE_CONFTEST as CONFTEST
from tests.support.projects import BASELINE_SUITE as SUITE
from tests.support.projects import N_ITEMS, write_data


@pytest.fixture
def project(pytester, monkeypatch):
    for name in ("RFT_BROKEN", "RFT_FLAKY", "RFT_UNLUCKY", "RFT_BROKEN2", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeconftest(CONFTEST)
    pytester.path.joinpath("rft_qa.yaml").write_text(SUITE)
    write_data(pytester.path / "data.jsonl", [f"q{i:02d}" for i in range(N_ITEMS)])
    return pytester


def run(pytester, *args):
    return pytester.runpytest("-p", "no:cacheprovider", "-rf", *args)


def update(pytester, *args):
    result = run(pytester, "--rft-baseline-update", *args)
    assert result.ret == 0, result.stdout.str()
    return result


BASELINE = "baselines/qa.json"


def test_missing_baseline_fails_with_the_command_that_creates_it(project):
    result = run(project)
    assert result.ret == 1
    result.assert_outcomes(passed=N_ITEMS + 1, failed=2)
    result.stdout.fnmatch_lines(["*no baseline for suite 'qa' (expected baselines/qa.json); "
                                 "create it with:  pytest rft_qa.yaml --rft-baseline-update"])


def test_update_writes_a_reviewable_baseline_and_an_unchanged_model_passes(project):
    result = update(project)
    result.stdout.fnmatch_lines(["rft: baseline of qa written from qa-m (40 items x 3 repeats) "
                                 "to baselines/qa.json"])
    text = (project.path / BASELINE).read_text()
    data = json.loads(text)
    assert data["kind"] == "pytest-rft-baseline" and data["schema_version"] == 1
    assert data["model"] == "qa-m" and data["repeats"] == 3 and data["primary"] == "exact"
    assert set(data["digests"]) == {"dataset", "prompt", "response_schema", "graders",
                                    "sampling", "repeats"}
    item_lines = [line for line in text.splitlines() if line.startswith('    "q')]
    assert len(item_lines) == N_ITEMS  # one item per line: diffs show which items changed
    assert data["items"]["q00"]["scores"]["exact"] == {"max": 1.0, "mean": 1.0, "min": 1.0,
                                                       "n": 3, "std": 0.0}
    assert data["items"]["q00"]["passes"] == 3
    # each passing item's confirmation repeats (item_repeats, default 15), for later item tests
    assert data["items"]["q00"]["confirm"] == [15, 15]
    assert data["metrics"]["pass_rate"]["value"] == 1.0
    again = run(project, "-v")  # -v: each gate's full explanation
    assert again.ret == 0
    again.assert_outcomes(passed=N_ITEMS + 3)
    # nothing moved on 40 items: Tango's bound z^2 / (n + z^2) = 0.0876 rules out a drop of 0.1
    again.stdout.fnmatch_lines(["PASS gate:exact.mean>=baseline-0.1: exact.mean = 1.0000 *"
                                "baseline 1.0000 vs 1.0000 on 40 paired items*; delta +0.0000 "
                                "(95% CI -0.0876..+0.0876*PASS: no drop beyond 0.1*"])


def test_worse_model_fails_the_gate_with_a_readable_explanation(project, monkeypatch):
    update(project)
    broken = [f"q{i:02d}" for i in range(12)]
    monkeypatch.setenv("RFT_BROKEN", ",".join(broken))
    result = run(project, "-v")
    assert result.ret == 1
    # the 12 broken items fail as regressed, both baseline gates fail
    result.assert_outcomes(passed=N_ITEMS - 12 + 1, failed=12 + 2)
    result.stdout.fnmatch_lines([
        "FAIL gate:exact.mean>=baseline-0.1: exact.mean = 0.7000 (95% CI *); baseline 1.0000 "
        "vs 0.7000 on 40 paired items; delta -0.3000 (95% CI -0.*; Tango score interval, exact "
        "McNemar); p(drop > 0.1) = *, holm over 2 tests: *; margin 0.1 -> FAIL: a drop beyond "
        "0.1 (the interval lies below -0.1)",
        "regressed (dropped and confirmed*holm over 40 items): 12: q00, q01, *",
    ])
    result.stdout.fnmatch_lines([
        "regressed: passed in the baseline (qa-m: exact=1.000, 18/18 repeats passed) and fails "
        "now (exact=0.000, 0/18 repeats passed, 15 of them confirmation repeats); one-sided "
        "Fisher exact p=1.1e-10, below 0.05 after holm over the suite's 40 items",
        '  repeat 0: exact=0.000 output: {"answer": "nope"}',
    ])
    result.stdout.fnmatch_lines(["*q00[[]qa-m[]] FAILED (exact=0.000±0.000 n=3 Δ-1.000 "
                                 "regressed)*"])


def test_one_broken_item_is_confirmed_on_its_own_evidence(project, monkeypatch):
    update(project)
    monkeypatch.setenv("RFT_BROKEN", "q00")  # one item of 40: the suite can't tell, the item can
    result = run(project, "-v")
    assert result.ret == 1
    result.assert_outcomes(passed=N_ITEMS - 1 + 3, failed=1)
    result.stdout.fnmatch_lines([
        "INCONCLUSIVE gate:pass_rate>=baseline-0.1: *delta -0.0250*",
        "regressed (dropped and confirmed*): 1: q00"])


def test_the_default_summary_names_the_regressed_item_and_the_inconclusive_gates(project,
                                                                                monkeypatch):
    """Without -v: the verdict, the regressed item, each gate on a line with why the baseline
    gates can't tell and what size would, and the loud INCONCLUSIVE line; at most 120 columns."""
    update(project)
    monkeypatch.setenv("RFT_BROKEN", "q00")
    result = run(project)
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "qa[[]qa-m[]]: gates INCONCLUSIVE; 40 items x 3 repeats; 1 regressed",
        "  regressed: q00",
        "  exact.mean 0.9750 [[]0.9244, 1.0000[]]; pass_rate 0.9750 [[]0.8712, 0.9956[]]",
        "  INCONCLUSIVE  exact.mean>=baseline-0.1  0.9750 vs 1.0000: delta -0.0250, "
        "95% CI [[]-0.1288, +0.0648[]], margin 0.1",
        "    why: the 95% interval -0.1288..+0.0648 includes -0.1: the data can't tell a drop of "
        "0.1 from none; an unchanged*",
        "      model passes with 80% power at about * items*",
        "  INCONCLUSIVE  pass_rate>=baseline-0.1 * delta -0.0250, *",
        "    why: *",
        "  PASS          error_rate<=0             0.0000, 95% CI [[]0.0000, 0.0310[]]",
        "rft: -v shows all metrics, most variable items, calls and tokens; -vv everything",
        "rft: INCONCLUSIVE: 2 gate(s) could not tell a regression from none (qa[[]qa-m[]] "
        "gate:exact.mean>=baseline-0.1, qa[[]qa-m[]]",
        "  gate:pass_rate>=baseline-0.1); the build passes anyway (--rft-inconclusive=pass). *"])
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if "pytest-rft summary" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("====="))
    # pytest's own short summary after the section is as wide as it likes (untruncated under CI)
    assert end - start > 5 and max(len(line) for line in lines[start:end]) <= 120


def test_a_long_regressed_list_is_shortened_and_vv_shows_it_whole(project, monkeypatch):
    update(project)
    broken = [f"q{i:02d}" for i in range(25)]
    monkeypatch.setenv("RFT_BROKEN", ",".join(broken))
    short = run(project)
    (line,) = [line for line in short.stdout.lines if line.startswith("  regressed: ")]
    assert line.startswith("  regressed: q00, q01, q02, ") and len(line) <= 120
    shown = line.removeprefix("  regressed: ").split(", ")
    assert shown[-1] == f"+{25 - len(shown[:-1])} more" and shown[:-1] == broken[:len(shown) - 1]
    short.stdout.fnmatch_lines(["qa[[]qa-m[]]: gates FAIL; 40 items x 3 repeats; 25 regressed"])
    verbose = run(project, "-v")  # the full list stops at 20
    verbose.stdout.fnmatch_lines(["regressed (dropped and confirmed*): 25: q00, q01, *, q19 ... "
                                  "(+5 more)"])
    everything = run(project, "-vv")
    everything.stdout.fnmatch_lines([f"regressed (dropped and confirmed*): 25: {', '.join(broken)}"])


def test_a_chance_drop_is_not_confirmed(project, monkeypatch):
    update(project)
    monkeypatch.setenv("RFT_UNLUCKY", "q00")  # 0/3 on the main repeats, 15/15 on the others
    result = run(project, "-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*q00[[]qa-m[]] PASSED (exact=0.000±0.000 n=3 Δ-1.000 dropped, "
                                 "not confirmed)*"])
    result.stdout.fnmatch_lines(["regressed (dropped and confirmed*): none",
                                 "dropped but not confirmed *: 1: q00"])


def test_without_confirmation_repeats_a_three_repeat_drop_is_not_enough(project, monkeypatch):
    update(project, "--rft-item-repeats", "0")
    monkeypatch.setenv("RFT_BROKEN", "q00")  # 3/3 -> 0/3: Fisher p = 0.05, not below 0.05 / 40
    result = run(project, "--rft-item-repeats", "0", "-v")
    result.assert_outcomes(passed=N_ITEMS + 3)
    result.stdout.fnmatch_lines(["dropped but not confirmed *: 1: q00"])


def test_one_drop_with_enough_repeats_is_a_regression(project, monkeypatch):
    update(project, "--rft-repeats", "10", "--rft-item-repeats", "0")
    monkeypatch.setenv("RFT_BROKEN", "q00")  # 10/10 -> 0/10: Fisher p = 5e-6, Holm over 40 items
    result = run(project, "--rft-repeats", "10", "--rft-item-repeats", "0")
    assert result.ret == 1
    result.assert_outcomes(passed=N_ITEMS - 1 + 3, failed=1)
    result.stdout.fnmatch_lines(["regressed: passed in the baseline (qa-m: exact=1.000, 10/10 "
                                 "repeats passed) and fails now (exact=0.000, 0/10 repeats "
                                 "passed, 0 of them confirmation repeats)*"])


def test_a_regression_does_not_depend_on_what_was_selected(project, monkeypatch):
    """The correction counts every item of the suite, selected or not: a pasted id or -k gets
    the verdict the full run gives."""
    update(project, "--rft-repeats", "10", "--rft-item-repeats", "0")
    monkeypatch.setenv("RFT_BROKEN", "q00")
    full = run(project, "--rft-repeats", "10", "--rft-item-repeats", "0", "-v")
    alone = run(project, "--rft-repeats", "10", "--rft-item-repeats", "0", "-v",
                "rft_qa.yaml::qa::q00[qa-m]")
    picked = run(project, "--rft-repeats", "10", "--rft-item-repeats", "0", "-v", "-k", "q00")
    for result in (full, alone, picked):
        result.stdout.fnmatch_lines(["*q00[[]qa-m[]] FAILED*regressed*",
                                     "*below 0.05 after holm over the suite's 40 items*"])


def test_verdicts_do_not_depend_on_which_other_suite_files_run(project, monkeypatch):
    """The level is shared among the project's suite files (counted under the rootdir, not
    from what was selected): running a suite's file alone, or pasting one of its ids (pytest
    then collects only that file), gives the verdicts and the family a run of the whole folder
    gives, and a build of both suites is corrected over both."""
    other = SUITE.replace("suite: qa", "suite: qb")
    project.path.joinpath("rft_qb.yaml").write_text(other)
    update(project)
    monkeypatch.setenv("RFT_BROKEN", "q00")
    folder = run(project, "-v")
    alone = run(project, "-v", "rft_qa.yaml")
    pasted = run(project, "-v", "rft_qa.yaml::qa::q00[qa-m]",
                 "rft_qa.yaml::qa::gate:exact.mean>=baseline-0.1[qa-m]")
    for result in (folder, alone, pasted):
        result.stdout.fnmatch_lines([
            "*rft_qa.yaml::qa::q00[[]qa-m[]] FAILED*regressed*",
            "*below 0.05 after holm over 80 items (40 of this run for each of the project's 2 "
            "suite files)*"])
        result.stdout.fnmatch_lines(["*gate:exact.mean>=baseline-0.1*holm over 4 tests*"])
    folder.stdout.fnmatch_lines(["*rft_qb.yaml::qb::q00[[]qa-m[]] FAILED*regressed*"])


def test_a_run_whose_samples_all_failed_says_so_on_its_baseline_gates(project):
    """Nothing scored (a wrong key, a server down): the baseline gates say why there is nothing
    to compare, pointing at the run's errors, rather than at the baseline file."""
    update(project)
    project.makeconftest(CONFTEST + '''
@pytest_rft.model("down")
def down(request):
    raise ConnectionError("server down")
''')
    result = run(project, "--rft-model", "down")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "*FAIL  exact.mean>=baseline-0.1 *exact.mean: no scored item in this run to compare with "
        "the baseline (every item's*", "*samples failed: see the run's errors)"])
    assert "no item has a value in both" not in result.stdout.str()


def test_flaky_item_is_reported_not_regressed(project, monkeypatch):
    update(project)
    monkeypatch.setenv("RFT_FLAKY", "q05")  # wrong on repeat 1 of 3: 2/3 passes, still passes
    result = run(project, "-v")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*q05[[]qa-m[]] PASSED (exact=0.667±0.577 n=3 Δ-0.333 flaky)*",
                                 "flaky (repeats disagree): 1: q05"])


def test_changed_prompt_and_items_are_named(project):
    update(project)
    suite = project.path / "rft_qa.yaml"
    suite.write_text(suite.read_text().replace("Q: {{", "Question: {{"))
    ids = [f"q{i:02d}" for i in range(1, N_ITEMS)] + ["q99"]  # q00 removed, q99 added
    write_data(project.path / "data.jsonl", ids)
    lines = (project.path / "data.jsonl").read_text().splitlines()
    lines[0] = lines[0].replace("what is q01?", "what is q01 now?")  # a changed record
    (project.path / "data.jsonl").write_text("\n".join(lines) + "\n")
    result = run(project, "-v")
    result.stdout.fnmatch_lines([
        "*NOTE changed since the baseline: dataset, prompt; 1 item(s) added since the baseline, "
        "not compared: q99; 1 item(s) removed since the baseline, not compared: q00; 1 item(s) "
        "changed records since the baseline, not compared: q01"])
    result.stdout.fnmatch_lines(["*38 paired items*"])


def test_repeats_change_is_flagged(project):
    update(project)
    result = run(project, "--rft-repeats", "5")
    result.stdout.fnmatch_lines(["*NOTE changed since the baseline: repeats*"])


def test_crash_while_writing_keeps_the_old_baseline(project, monkeypatch):
    update(project)
    before = (project.path / BASELINE).read_bytes()
    import os

    from pytest_rft.core import files

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(files.os, "replace", crash)
    monkeypatch.setenv("RFT_BROKEN", "q00,q01")
    with pytest.raises(KeyboardInterrupt):
        project.runpytest_inprocess("-p", "no:cacheprovider", "--rft-baseline-update")
    assert (project.path / BASELINE).read_bytes() == before
    assert os.listdir(project.path / "baselines") == ["qa.json"]  # no temporary left behind


def test_partial_update_keeps_unselected_items_and_the_files_aggregates(project, monkeypatch):
    """A -k update rewrites its items only: the file's model, metrics and digests stay those of
    the last full update (the subset's metrics would misdescribe the file's 40 items), and the
    partial run is recorded; a full update refreshes everything."""
    update(project)
    before = json.loads((project.path / BASELINE).read_text())
    monkeypatch.setenv("RFT_BROKEN2", "q00,q01")
    result = update(project, "-k", "q00 or q01", "--rft-model", "qa-m2", "-v")  # -v: unwrapped
    result.stdout.fnmatch_lines([
        "rft: baseline of qa in baselines/qa.json: 2 item(s) updated from qa-m2 (3 repeats), 38 "
        "not selected in this run kept; its model, metrics and digests stay those of the last "
        "full update (qa-m, *), this run is listed under partial_updates; update the whole "
        "suite (no -k, no --rft-limit) to refresh them; WARNING: the kept and the updated items "
        "were not scored alike (model qa-m -> qa-m2)"])
    data = json.loads((project.path / BASELINE).read_text())
    assert len(data["items"]) == N_ITEMS
    assert data["items"]["q00"]["passes"] == 0 and data["items"]["q02"]["passes"] == 3
    for key in ("model", "metrics", "digests", "created", "repeats"):
        assert data[key] == before[key], key  # not the subset's (exact.mean 0 over q00, q01)
    assert data["metrics"]["exact.mean"]["value"] == 1.0
    (partial,) = data["partial_updates"]
    assert partial["model"] == "qa-m2" and partial["items"] == 2 and partial["repeats"] == 3
    # the next comparison says where its items come from, and pairs them all
    compared = run(project, "-v")
    compared.stdout.fnmatch_lines([
        f"baseline: qa-m x 3 repeats, *, {BASELINE}; 40 items paired; 1 partial update(s) since, "
        "the last: "
        "2 item(s) from qa-m2 on *", "improved (stable-fail -> stable-pass): 2: q00, q01"])
    again = update(project)
    refreshed = json.loads((project.path / BASELINE).read_text())
    assert "partial_updates" not in refreshed and refreshed["items"]["q00"]["passes"] == 3
    again.stdout.fnmatch_lines(["rft: baseline of qa written from qa-m (40 items x 3 repeats)*"])


def test_compare_against_an_earlier_report(project, monkeypatch, tmp_path):
    report = tmp_path / "main.json"
    first = run(project, f"--rft-report={report}", "--rft-baseline", str(report))
    assert first.ret == 1  # no report yet: the gate says so
    first.stdout.fnmatch_lines(["*baseline file not found*"])
    assert json.loads(report.read_text())["schema_version"] == 3
    monkeypatch.setenv("RFT_BROKEN", ",".join(f"q{i:02d}" for i in range(12)))
    result = run(project, "--rft-baseline", str(report), "-v")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAIL gate:pass_rate>=baseline-0.1: *delta -0.3000*",
                                 f"baseline: qa-m x 3 repeats, *, {report}; 40 items paired"])


def test_several_models_deltas_and_the_chosen_baseline_model(project, monkeypatch, tmp_path):
    monkeypatch.setenv("RFT_BROKEN2", "q00,q01,q02,q03,q04,q05")
    result = update(project, "--rft-model", "qa-m", "--rft-model", "qa-m2",
                    "--rft-baseline-model", "qa-m2")
    result.stdout.fnmatch_lines(["rft: baseline of qa written from qa-m2 *"])
    assert json.loads((project.path / BASELINE).read_text())["model"] == "qa-m2"
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = run(project, "--rft-model", "qa-m2", "--rft-model", "qa-m", "--junitxml", "j.xml",
                 "-v")
    # m is better than the baseline (m2): nothing fails; m2 equals its own baseline
    assert result.ret == 0
    result.stdout.fnmatch_lines(["paired deltas vs qa-m2 *", "qa-m  * pass_rate * +0.1500 *",
                                 "qa-m  * items flipped * 6 up, 0 down*"])
    markdown = summary.read_text()
    assert "### qa: models side by side" in markdown and "Paired deltas vs `qa-m2`" in markdown
    assert "improved (stable-fail → stable-pass): 6" in markdown
    props = {p.get("name"): p.get("value") for case in ET.parse(project.path / "j.xml").iter("testcase")
             if case.get("name") == "q00[qa-m]" and case.get("classname") == "rft_qa.yaml.qa"
             for p in case.iter("property")}
    assert float(props["exact.delta_vs_baseline"]) == pytest.approx(1.0), props


def test_unknown_baseline_model_is_a_clear_error(project):
    result = run(project, "--rft-model", "qa-m", "--rft-baseline-model", "m3")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*--rft-baseline-model 'm3' is not one of the models run: qa-m*"])


@pytest.mark.parametrize("value", ["0", "-1"])
def test_repeats_below_one_are_rejected(project, value):
    result = run(project, "--rft-repeats", value)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--rft-repeats / rft_repeats must be at least 1, got {value}*"])


def test_empty_label_list_is_rejected(project):
    suite = project.path / "rft_qa.yaml"
    suite.write_text(suite.read_text() + textwrap.dedent('''
        classification:
          predicted: output_json.answer
          reference: expected
          labels: []
    '''))
    result = run(project)
    result.stdout.fnmatch_lines(["*rft_qa.yaml:* classification.labels: *at least 1 item*"])


def test_models_mapping_gives_per_model_sampling_and_the_models_to_run(project):
    suite = project.path / "rft_qa.yaml"
    suite.write_text(suite.read_text().replace("model: qa-m\n", textwrap.dedent('''\
        sampling: {temperature: 0.7, seed: 1}
        models:
          qa-m: {reasoning_effort: low}
          qa-m2: {temperature: null}
        ''')))
    from pytest_rft.suite.loader import load_suite

    loaded = load_suite(suite)
    assert loaded.default_models() == ["qa-m", "qa-m2"]
    assert loaded.sampling_for(2, "qa-m") == {"temperature": 0.7, "seed": 3, "reasoning_effort": "low"}
    assert loaded.sampling_for(0, "qa-m2") == {"seed": 1}
    result = run(project, "--co", "-q")
    result.stdout.fnmatch_lines(["rft_qa.yaml::qa::q00[[]qa-m[]]", "rft_qa.yaml::qa::q00[[]qa-m2[]]"])


def test_history_lines_are_appended_per_run(project, tmp_path, capsys):
    history = tmp_path / "history.jsonl"
    update(project)
    for _ in range(2):
        assert run(project, "--rft-history", str(history)).ret == 0
    records = [json.loads(line) for line in history.read_text().splitlines()]
    assert len(records) == 2 and {r["model"] for r in records} == {"qa-m"}
    assert records[0]["metrics"]["exact.mean"]["value"] == 1.0
    assert all(r["passed"] for r in records)
    from pytest_rft.cli.main import main

    assert main(["history", str(history), "--metric", "exact.mean"]) == 0
    assert "1.0000" in capsys.readouterr().out
