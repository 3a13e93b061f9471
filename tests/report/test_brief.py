"""The default terminal summary's pieces: lines fit 120 columns without splitting a word, an id
or a metric; a baseline gate's line names its own confidence. End to end (the example suite's
screen, regressed items, INCONCLUSIVE gates, -v and -vv): tests/examples/test_example_suite.py
and tests/store/test_baseline_plugin.py."""

from __future__ import annotations

from pytest_rft.analysis.gates import GateResult
from pytest_rft.report import brief
from pytest_rft.suite.loader import Gate


def test_fit_wraps_at_spaces_and_keeps_a_long_word_whole():
    path = "/very/" + "deep/" * 30 + "baseline.json"  # longer than a line
    text = "rft: baseline of qa written from qa-m (40 items x 3 repeats) to " + path
    lines = brief.fit(text)
    assert lines == ["rft: baseline of qa written from qa-m (40 items x 3 repeats) to", "  " + path]
    words = "word " * 60
    wrapped = brief.fit("  " + words.strip(), "  ")
    assert all(len(line) <= 120 for line in wrapped) and len(wrapped) == 3
    assert wrapped[0].startswith("  word") and all(w.startswith("    word") for w in wrapped[1:])
    assert " ".join(line.strip() for line in wrapped) == words.strip()
    assert brief.fit("short") == ["short"]


def test_pack_never_splits_a_part():
    parts = [f"metric_{i}.mean 0.{i}000 [0.1000, 0.9000]" for i in range(8)]
    lines = brief.pack(parts, "  ")
    assert all(len(line) <= 120 for line in lines) and len(lines) == 3
    assert lines[0].startswith("  metric_0") and lines[1].startswith("    metric_")
    assert "; ".join(line.strip() for line in lines).split("; ") == parts


def test_ids_are_shortened_to_their_room():
    ids = [f"item-{i:03d}" for i in range(40)]
    shown = brief._ids(ids, 60)
    assert len(shown) <= 60 and shown.endswith(" more")
    kept = shown.split(", ")[:-1]
    assert kept == ids[:len(kept)] and shown.split(", ")[-1] == f"+{40 - len(kept)} more"
    assert brief._ids(ids[:3], 60) == "item-000, item-001, item-002"


def test_a_baseline_gate_line_names_its_own_confidence():
    gate = Gate(metric="f1.mean", baseline=True, max_drop=0.1, confidence=0.9)
    result = GateResult(label=gate.label, metric="f1.mean", value=0.60, ci=(0.5, 0.7),
                        verdict="PASS", detail="", baseline=0.61, delta=-0.01,
                        delta_ci=(-0.05, 0.03), level=0.9, kind="baseline", gate=gate)
    assert brief.gate_text(result) == ("0.6000 vs 0.6100: delta -0.0100, 90% CI "
                                       "[-0.0500, +0.0300], margin 0.1")


def test_an_absolute_gate_line_says_how_far_off_and_borderline():
    gate = Gate(metric="pass_rate", min=0.6)
    result = GateResult(label=gate.label, metric="pass_rate", value=0.55, ci=(0.4, 0.7),
                        verdict="FAIL", detail="", reason="borderline: ...", gate=gate)
    assert brief.gate_text(result) == "0.5500, 95% CI [0.4000, 0.7000]; off by -0.0500; borderline"
