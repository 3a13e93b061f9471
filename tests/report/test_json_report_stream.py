"""The report is written item by item; the file is the same JSON as one json.dumps of it."""

import io
import json
import math

from pytest_rft.report.json_report import _plain, _stream


def test_stream_writes_the_same_json_as_one_dumps() -> None:
    items = [{"id": f"i{n}", "samples": [{"output_text": "é\n\"\u2028", "scores": {"f1": 0.5}}]}
             for n in range(5)]
    data = {"schema_version": 2, "suites": [{"suite": "s", "metrics": {"f1.mean": [1, 2]},
                                             "gates": [{"label": "x"}], "items": iter(items)},
                                            {"suite": "t", "items": iter([])}],
            "calls": {"errors": {}, "latency": {"p50": 0.1}}, "empty": [], "names": ["a", "b"]}
    out = io.StringIO()
    _stream(out, data)
    expected = {**data, "suites": [{**data["suites"][0], "items": items},
                                   {**data["suites"][1], "items": []}]}
    assert json.loads(out.getvalue()) == expected


def test_plain_maps_non_finite_floats_and_numpy_to_json() -> None:
    import numpy as np

    assert _plain({"a": float("nan"), "b": np.float64(0.25), "c": np.int64(3),
                   "d": [np.float64("inf"), True, None]}) == {"a": None, "b": 0.25, "c": 3,
                                                               "d": [None, True, None]}
    assert not math.isnan(_plain(np.float64(1.5)))


def test_stream_encodes_dataclasses_nan_and_raw_json_like_plain() -> None:
    """The fast path (the C encoder walking dataclasses through ``default``) writes what the
    ``_plain`` copy would; a NaN inside falls back to it (null), raw JSON is written as is."""
    import numpy as np

    from pytest_rft.core.records import SampleResult, Usage
    from pytest_rft.report.json_report import RawJSON

    fine = SampleResult(item_id="a", repeat=0, model="m", output_text="x", usage=Usage(3, 4),
                        scores={"f1": np.float64(0.5), "n": np.int64(2)})
    odd = SampleResult(item_id="b", repeat=1, model="m", scores={"f1": float("nan")})
    data = {"suites": [{"baseline": RawJSON('{\n  "items": {"a": 1}\n}\n'),
                        "items": iter([{"samples": [fine]}, {"samples": [odd]}])}]}
    out = io.StringIO()
    _stream(out, data)
    written = json.loads(out.getvalue())
    assert written["suites"][0]["baseline"] == {"items": {"a": 1}}
    assert written["suites"][0]["items"] == [{"samples": [_plain(fine)]},
                                             {"samples": [_plain(odd)]}]
    assert written["suites"][0]["items"][1]["samples"][0]["scores"] == {"f1": None}


def test_report_holds_each_runs_own_samples(tmp_path) -> None:
    """Two runs of one suite (two models): each suite entry carries its own run's items (the
    item iterators are built per run, not bound late to the last one)."""
    from pathlib import Path

    from pytest_rft.core.records import SampleResult
    from pytest_rft.report.json_report import write
    from pytest_rft.core.records import SuiteRun
    from pytest_rft.suite.loader import load_suite
    from pytest_rft.analysis.summary import summarize

    suite = load_suite(Path(__file__).resolve().parents[2] / "example_suite" / "rft_eurovoc.yaml")
    pairs = []
    for model, score in (("a", 1.0), ("b", 0.0)):
        run = SuiteRun(suite=suite, model=model, items=suite.items[:4], repeats=1, sampled=True)
        run.results = {item.id: [SampleResult(item_id=item.id, repeat=0, model=model,
                                              output_text="x", kind="ok", scores={"f1": score})]
                       for item in run.items}
        pairs.append((run, summarize(run, n_boot=50)))
    path = tmp_path / "r.json"
    write(path, pairs, None, exitstatus=0)
    report = json.loads(path.read_text())
    for entry, model in zip(report["suites"], ("a", "b")):
        assert entry["model"] == model
        assert {s["model"] for item in entry["items"] for s in item["samples"]} == {model}
        assert entry["baseline"]["model"] == model
