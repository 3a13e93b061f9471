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
