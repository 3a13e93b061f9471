"""Grouping identical errors (``problems.py``): per item with its repeats, per run with a count
and the items."""

from pytest_rft.analysis import problems
from pytest_rft.core.records import NOT_SENT, SampleResult


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


def test_samples_not_sent_after_an_error_count_in_that_errors_line():
    """A wrong key: the calls sent fail with 401, the rest are not sent because of it; the run
    says it once, with every sample and item it cost, whatever order the items finished in."""
    key = "Error code: 401 - Incorrect API key provided: sk-***."
    stopped = f"{NOT_SENT}http 401: {key}"
    results = {"q0": [failed("q0", r, stopped) for r in range(3)],  # not sent, listed first
               "q1": [failed("q1", 0, key), failed("q1", 1, stopped), failed("q1", 2, stopped)],
               "q2": [failed("q2", r, key) for r in range(3)],
               "q3": [failed("q3", 0, f"{NOT_SENT}http 404: no such model")]}  # its cause unseen
    groups = problems.run_errors(results, ["q0", "q1", "q2", "q3"])
    assert problems.run_lines(groups) == [
        f"9 samples on 3 items (q0, q1, q2): model call failed: {key} "
        "(5 of them not sent: the model's calls stopped after it)",
        f"1 sample on 1 item (q3): model call failed: {NOT_SENT}http 404: no such model",
    ]


def test_a_multi_grader_failed_by_its_sub_grader_is_one_error():
    """A sub-grader's exception fails its multi grader too: one error per sample, said on the
    sub-grader, naming the score it cost; an unrelated error of the multi grader stays."""
    why = "grader 'aspects' raised ValueError: no delivery (line 5: raise ValueError('no'))"
    results = [failed("q1", r, None, aspects=why, overall=f"sub-grader 'aspects' failed: {why}")
               for r in range(3)]
    results.append(failed("q1", 3, None, overall="calculate_output divided by zero"))
    assert problems.item_lines(problems.item_errors(results)) == [
        f"repeats 0-2: {why} (so 'overall' has no score)",
        "repeat 3: grader 'overall' failed: calculate_output divided by zero",
    ]
    groups = problems.run_errors({"q1": results}, ["q1"])
    assert [g.count for g in groups] == [3, 1]
