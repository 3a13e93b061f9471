"""The example suite, run the way the README runs it, and its embedded model."""

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from pytest_rft.graders import build_grader
from pytest_rft.core.records import Request

EXAMPLE = Path(__file__).resolve().parents[2] / "example_suite"


@pytest.fixture
def example(pytester):
    shutil.copytree(EXAMPLE, pytester.path / "example_suite",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return pytester


def test_default_run_passes_its_gates(example, tmp_path):
    report = tmp_path / "r.json"
    result = example.runpytest("example_suite", "-p", "no:cacheprovider", "-v",
                               f"--rft-report={report}")
    assert result.ret == 0
    # eurovoc: 49 validation items; 3 absolute gates, 2 baseline gates and the error gate;
    # support agent: 38 conversations; 3 absolute gates, 1 baseline gate and the error gate
    result.assert_outcomes(passed=49 + 6 + 38 + 5)
    # -v: a gate's line is short (its explanation is in the summary below)
    result.stdout.fnmatch_lines(["*::gate:f1.mean>=baseline-0.1[[]eurovoc-clf-v2[]] PASSED "
                                 "(f1.mean=0.6156 Δ+0.0000 vs baseline 0.6156 PASS)*"])
    # the same model again: nothing moved, and 49 items rule out drops beyond 0.0727 (Tango's
    # bound for 0 discordant items of 49), inside the margin 0.1
    result.stdout.fnmatch_lines(["*eurovoc-level1[[]eurovoc-clf-v2[]]: 49 items x 3 repeats, gates PASS*",
                                 "PASS gate:f1.mean>=baseline-0.1: *49 paired items*"
                                 "95% CI -0.0727..+0.0727*PASS: no drop beyond 0.1*"])
    assert "INCONCLUSIVE" not in result.stdout.str()
    # -v: the full tables and the run's calls, as the default summary's last line promises
    result.stdout.fnmatch_lines(["metric * value * 95% CI * n * baseline * delta *",
                                 "f1.max * 0.7068 *", "macro_precision * 0.7941 *"])
    result.stdout.fnmatch_lines(["most variable item * f1 mean *", "label * precision * recall *"])
    result.stdout.fnmatch_lines(["--- support-agent[[]support-agent-v2[]]: 38 items x 3 repeats*",
                                 "calls: * for 261 samples*", "tokens: input *", "latency: p50 *",
                                 "rft: isolated graders: * call(s) in *"])
    assert "rft: -v shows" not in result.stdout.str()
    suites = {s["suite"]: s for s in json.loads(report.read_text())["suites"]}
    assert set(suites) == {"eurovoc-level1", "support-agent"}
    suite = suites["eurovoc-level1"]
    assert all(len(i["samples"]) == 3 for i in suite["items"])
    assert suite["metrics"]["f1.mean"]["value"] > 0.5
    assert suite["comparison"]["deltas"]["f1.mean"]["delta"] == pytest.approx(0.0, abs=1e-9)


def summary_section(lines: list[str]) -> list[str]:
    """The lines between the "pytest-rft summary" separator and pytest's final line."""
    start = next(i for i, line in enumerate(lines) if "pytest-rft summary" in line)
    assert re.fullmatch(r"=+ .* in [\d.]+s.* =+", lines[-1]), lines[-1]  # pytest's last line
    return lines[start + 1:-1]


def test_the_default_summary_is_a_screen_a_pytest_user_reads(example):
    """Per suite x model its verdict, headline metrics and gates one line each, in at most
    20 lines of at most 120 columns; the tables wait for -v."""
    result = example.runpytest("example_suite", "-p", "no:cacheprovider")
    assert result.ret == 0
    section = summary_section(result.stdout.lines)
    assert 10 <= len(section) <= 20, "\n".join(section)
    start = result.stdout.lines.index(next(line for line in result.stdout.lines
                                           if "pytest-rft summary" in line))
    widths = [len(line) for line in result.stdout.lines[start:]]
    assert max(widths) <= 120, "\n".join(result.stdout.lines[start:])
    assert section[0] == "eurovoc-level1[eurovoc-clf-v2]: gates PASS; 49 items x 3 repeats; 0 regressed; " \
                         "9 flaky"
    assert section[1] == ("  f1.mean 0.6156 [0.5400, 0.6913]; pass_rate 0.7347 [0.5974, 0.8379]; "
                          "micro_f1 0.6403 [0.5664, 0.7148]; macro_f1 0.6330")
    result.stdout.fnmatch_lines([
        "  PASS  f1.mean>=0.5 * 0.6156, 95% CI [[]0.5400, 0.6913[]]",
        "  PASS  pass_rate>=0.6 * 0.7347, 95% CI [[]0.5974, 0.8379[]]; borderline",
        "  PASS  f1.mean>=baseline-0.1 * 0.6156 vs 0.6156: delta +0.0000, "
        "95% CI [[]-0.0727, +0.0727[]], margin 0.1",
        "support-agent[[]support-agent-v2[]]: gates PASS; 38 items x 3 repeats; 0 regressed; 5 flaky",
        "  task.mean 0.9494 [[]0.9007, 0.9981[]]; pass_rate 0.8947 *; micro_f1 0.9596 *",
        "    macro_f1 0.9576 [[]0.8945, 1.0000[]]",
        "  PASS  task.mean>=baseline-0.1 * delta +0.0000, 95% CI [[]-0.0918, +0.0918[]], margin 0.1",
        "rft: -v shows all metrics, per-label, most variable items, calls and tokens; "
        "-vv everything",
        "rft: sampled 261/261, 0 model error(s), 0 with grader errors, 0 retries in *"])
    gates = [line for line in section if line.startswith("  PASS  ")]
    assert len(gates) == 6 + 5  # every gate of both suites, one line each
    text = "\n".join(section)
    for table in ("most variable item  ", "precision    recall", "f1.max", "calls:", "tokens:",
                  "latency:", "isolated graders", "baseline: eurovoc-clf-v2"):
        assert table not in text, table


def test_weaker_checkpoint_fails_gates_and_names_regressed_items(example):
    result = example.runpytest("example_suite/rft_eurovoc.yaml", "-p", "no:cacheprovider", "-rf",
                               "--rft-model", "eurovoc-clf-v2", "--rft-model", "eurovoc-clf-v1",
                               "-v")  # -v: the side-by-side tables
    assert result.ret == 1
    # the node id of each "FAILED (status) node-id - message" line (CI prints the whole message)
    failed = [re.search(r" (example_suite/\S+\])( - |$)", line).group(1)
              for line in result.stdout.lines if line.startswith("FAILED")]
    assert failed and all(node.endswith("[eurovoc-clf-v1]") for node in failed)
    gates = [line for line in failed if "::gate:" in line]
    # v1's three absolute gates; its two baseline gates are INCONCLUSIVE here: Holm over 8 tests
    # (2 gates x 2 models, for each of the 2 suite files of example_suite/) (alone: FAIL)
    assert len(gates) == 3 and not [g for g in gates if "baseline" in g]
    result.stdout.fnmatch_lines(["*INCONCLUSIVE*f1.mean>=baseline-0.1*"])
    assert "holm over 8 baseline-gate tests (the suite's 4 for each of the project's 2 suite " \
           "files)" in result.stdout.str()
    regressed = [line for line in failed if "::gate:" not in line]
    assert len(regressed) >= 5
    result.stdout.fnmatch_lines(["*regressed: passed in the baseline (eurovoc-clf-v2: *"
                                 "fails now*15 of them confirmation repeats*Fisher exact*",
                                 "*repeat 0: f1=* output: {*"])
    result.stdout.fnmatch_lines(["*models side by side*", "*gates*PASS*FAIL*",
                                 "paired deltas vs eurovoc-clf-v2*BH-adjusted*",
                                 "eurovoc-clf-v1*f1.mean*-0.2*<0.001*"])


def test_new_user_baseline_flow(example):
    """The README's flow: write the baseline from v2, v1 fails it, v2 passes it again."""
    baseline = example.path / "example_suite" / "baselines" / "eurovoc-level1.json"
    baseline.unlink()
    missing = example.runpytest("example_suite", "-p", "no:cacheprovider")
    assert missing.ret == 1
    missing.stdout.fnmatch_lines(["*no baseline for suite 'eurovoc-level1'*create it with:  "
                                  "pytest example_suite/rft_eurovoc.yaml --rft-baseline-update"])
    update = example.runpytest("example_suite/rft_eurovoc.yaml", "-p", "no:cacheprovider",
                               "--rft-model", "eurovoc-clf-v2", "--rft-baseline-update")
    assert update.ret == 0
    # wrapped at 120 columns between words: the path stays whole
    update.stdout.fnmatch_lines(["rft: baseline of eurovoc-level1 written from eurovoc-clf-v2 "
                                 "(49 items x 3 repeats) to",
                                 "  example_suite/baselines/eurovoc-level1.json"])
    written = json.loads(baseline.read_text())
    assert written["model"] == "eurovoc-clf-v2" and len(written["items"]) == 49
    # the committed baseline is exactly what this run writes (the example is reproducible)
    assert baseline.read_text().split("\n", 2)[2] == \
        (EXAMPLE / "baselines" / "eurovoc-level1.json").read_text().split("\n", 2)[2]
    worse = example.runpytest("example_suite/rft_eurovoc.yaml", "-p", "no:cacheprovider",
                              "--rft-model", "eurovoc-clf-v1", "-v")
    assert worse.ret == 1
    worse.stdout.fnmatch_lines(["FAIL gate:f1.mean>=baseline-0.1: *FAIL: a drop beyond 0.1*",
                                "regressed (dropped and confirmed*): *doc-*"])
    again = example.runpytest("example_suite", "-p", "no:cacheprovider")
    assert again.ret == 0


def load_example_grader():
    definition = json.loads((EXAMPLE / "graders" / "f1.json").read_text())
    return build_grader("f1", definition, base_dir=EXAMPLE, where="f1.json")


ITEM = {"level1": [{"code": "48"}, {"code": "52"}, {"code": "66"}]}


@pytest.mark.parametrize("output,expected", [
    ('{"level1": [{"code": "48"}, {"code": "52"}, {"code": "66"}]}', (1.0, 1.0, 1.0)),
    ('{"level1": [{"code": "48"}]}', (1.0, 1 / 3, 0.5)),
    ('{"level1": [{"code": "48"}, {"code": "48"}, {"code": "52"}]}', (1.0, 2 / 3, 0.8)),  # duplicate
    ('{"level1": [{"code": "48"}, {"code": "99"}]}', (0.5, 1 / 3, 0.4)),  # unknown label
    ('{"level1": []}', (0.0, 0.0, 0.0)),  # empty list
    ('not json', (0.0, 0.0, 0.0)),  # invalid JSON output
    ('{"codes": ["48"]}', (0.0, 0.0, 0.0)),  # wrong shape
])
def test_example_f1_grader_scores(output, expected):
    grades = load_example_grader().grade({"output_text": output}, ITEM)
    precision, recall, f1 = expected
    assert grades.errors == {}
    assert grades.scores["precision"] == pytest.approx(precision, abs=1e-12)
    assert grades.scores["recall"] == pytest.approx(recall, abs=1e-12)
    assert grades.scores["f1"] == pytest.approx(f1, abs=1e-9)


def test_example_grader_reports_a_broken_item_as_an_error():
    grades = load_example_grader().grade({"output_text": '{"level1": []}'}, {"level1": "48"})
    assert "f1" in grades.errors and "f1" not in grades.scores


@pytest.fixture
def model_module():
    sys.path.insert(0, str(EXAMPLE))
    try:
        import eurovoc_model
        yield eurovoc_model
    finally:
        sys.path.remove(str(EXAMPLE))


def request(item_id, repeat, seed=42, temperature=1.0, text=None):
    text = text or "Regulation on rail passenger rights and the interoperability of railway systems."
    return Request(model="eurovoc-clf-v2", messages=[{"role": "user", "content": text}],
                   response_schema=None, sampling={"temperature": temperature, "seed": seed + repeat},
                   item={}, item_id=item_id, repeat=repeat)


def test_embedded_model_samples_reproducibly_and_varies(model_module):
    predict = model_module.predict_v1  # the uncertain checkpoint varies most
    first = [predict(request("a", r)) for r in range(8)]
    assert first == [predict(request("a", r)) for r in range(8)]  # reproducible
    assert len(set(first)) > 1  # repeats genuinely differ at temperature 1
    cold = {predict(request("a", r, temperature=0)) for r in range(5)}
    assert len(cold) == 1  # temperature 0 is deterministic
    answer = json.loads(first[0])
    assert set(answer) == {"level1"} and all(set(c) == {"code"} for c in answer["level1"])


def test_embedded_model_puts_transport_first_for_a_transport_text(model_module):
    probs = model_module.probabilities(
        "Regulation on rail passenger rights, train timetables and the interoperability of "
        "railway systems across the Union.", "eurovoc-clf-v2")
    assert max(probs, key=probs.get) == "48"
