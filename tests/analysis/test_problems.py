"""Grouping identical errors (``problems.py``): per item with its repeats, per run with a count
and the items."""

from pytest_rft.analysis import problems
from pytest_rft.core.records import SampleResult


def failed(item: str, repeat: int, error: str | None = None, **graders: str) -> SampleResult:
    result = SampleResult(item_id=item, repeat=repeat, model="m", error=error)
    result.grader_errors.update(graders)
    return result


def test_repeats_are_written_as_spans():
    assert problems.repeats_text([2]) == "repeat 2"
    assert problems.repeats_text([0, 1, 2]) == "repeats 0-2"
    assert problems.repeats_text([5, 0, 3, 4]) == "repeats 0, 3-5"


def test_an_item_says_each_distinct_error_once_with_its_repeats():
    results = [failed("q1", 0, "http 401"), failed("q1", 1, "not sent"), failed("q1", 2, "not sent"),
               failed("q1", 3, None, f1="ZeroDivisionError: division by zero",
                      recall="grader 'recall' raised KeyError: 'x'")]
    assert problems.item_lines(problems.item_errors(results)) == [
        "repeat 0: model call failed: http 401",
        "repeats 1-2: model call failed: not sent",
        "repeat 3: grader 'f1' failed: ZeroDivisionError: division by zero",
        "repeat 3: grader 'recall' raised KeyError: 'x'",  # it names its grader already
    ]


def test_a_run_says_each_distinct_error_once_with_a_count_and_its_items():
    results = {f"q{i}": [failed(f"q{i}", r, "http 401" if i < 2 else "not sent") for r in range(3)]
               for i in range(8)}
    results["q8"] = [failed("q8", 0)]  # no error
    groups = problems.run_errors(results, [f"q{i}" for i in range(9)])
    assert problems.run_lines(groups) == [
        "6 samples on 2 items (q0, q1): model call failed: http 401",  # first seen first
        "18 samples on 6 items (q2, q3, q4, q5, q6, ... +1 more): model call failed: not sent",
    ]
    assert problems.run_errors(results, ["q8"]) == []
