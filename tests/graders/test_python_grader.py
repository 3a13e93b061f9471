"""python graders: compile once, errors instead of zeros, load-time checks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pytest_rft.core.errors import RftError
from pytest_rft.graders import build_grader
from pytest_rft.graders.python_grader import FunctionGrader, PythonGrader

WHERE = "suite.yaml: graders.g"


def python(source: str, name: str = "g") -> PythonGrader:
    grader = build_grader(name, {"type": "python", "source": source}, base_dir=Path("."),
                          where=WHERE)
    assert isinstance(grader, PythonGrader)
    return grader


def test_scores_with_sample_and_item() -> None:
    g = python(
        "def grade(sample, item):\n"
        "    return 1.0 if sample['output_text'] == item['answer'] else 0.0\n"
    )
    assert g.grade({"output_text": "4"}, {"answer": "4"}).scores == {"g": 1.0}
    assert g.grade({"output_text": "5"}, {"answer": "4"}).scores == {"g": 0.0}


def test_name_is_the_suite_key_not_the_json_name() -> None:
    g = build_grader("exact", {"type": "python", "name": "inner", "source":
                               "def grade(s, i):\n    return 1"}, base_dir=Path("."), where=WHERE)
    assert g.name == "exact"
    assert g.score_names() == ["exact"]
    assert g.grade({}, {}).scores == {"exact": 1.0}


def test_source_compiled_once() -> None:
    g = python(
        "calls = []\n"
        "def grade(sample, item):\n"
        "    calls.append(1)\n"
        "    return float(len(calls))\n"
    )
    assert [g.grade({}, {}).scores["g"] for _ in range(3)] == [1.0, 2.0, 3.0]


def test_sample_and_item_are_plain_copies() -> None:
    g = python(
        "def grade(sample, item):\n"
        "    assert type(sample) is dict and type(item['nested']) is dict\n"
        "    item['nested']['x'] = 99\n"
        "    sample['added'] = 1\n"
        "    return 0.5\n"
    )
    from types import MappingProxyType

    item = {"nested": {"x": 1}}
    sample = MappingProxyType({"output_text": "hi"})
    assert g.grade(sample, item).scores == {"g": 0.5}
    assert item == {"nested": {"x": 1}}


def test_exception_is_an_error_not_a_zero() -> None:
    g = python(
        "import json\n"
        "def grade(sample, item):\n"
        "    data = json.loads(sample['output_text'])\n"
        "    raise ValueError('bad ' + data['k'])\n"
    )
    grades = g.grade({"output_text": '{"k": "label"}'}, {})
    assert grades.scores == {}
    assert grades.errors == {
        "g": "grader 'g' raised ValueError: bad label (line 4: raise ValueError('bad ' + data['k']))"
    }


def test_exception_inside_a_library_points_at_the_grader_line() -> None:
    g = python("import json\ndef grade(sample, item):\n    return json.loads('nope')\n")
    message = g.grade({}, {}).errors["g"]
    assert message.startswith("grader 'g' raised JSONDecodeError: Expecting value")
    assert message.endswith("(line 3: return json.loads('nope'))")


def test_key_error_on_sample() -> None:
    g = python("def grade(sample, item):\n    return sample['output_json']['x']\n")
    assert g.grade({"output_json": {}}, {}).errors["g"].startswith("grader 'g' raised KeyError: 'x'")


def test_system_exit_is_an_error() -> None:
    g = python("import sys\ndef grade(sample, item):\n    sys.exit(3)\n")
    assert g.grade({}, {}).errors["g"].startswith("grader 'g' raised SystemExit: 3")


@pytest.mark.parametrize(
    ("returned", "fragment"),
    [
        ("None", "returned NoneType None, not a number"),
        ("'0.5'", "returned str '0.5', not a number"),
        ("[1.0]", "returned list [1.0], not a number"),
        ("True", "returned a bool (True)"),
        ("float('nan')", "returned nan, not a finite number"),
        ("float('inf')", "returned inf, not a finite number"),
    ],
)
def test_non_numbers_are_errors(returned: str, fragment: str) -> None:
    g = python(f"def grade(sample, item):\n    return {returned}\n")
    grades = g.grade({}, {})
    assert grades.scores == {}
    assert fragment in grades.errors["g"]


@pytest.mark.parametrize(("returned", "score"), [("1", 1.0), ("0", 0.0), ("0.25", 0.25),
                                                 ("2.5", 2.5)])
def test_numbers_are_scores(returned: str, score: float) -> None:
    assert python(f"def grade(s, i):\n    return {returned}\n").grade({}, {}).scores == {"g": score}


def test_numpy_numbers_are_scores() -> None:
    g = python("import numpy as np\ndef grade(s, i):\n    return np.float32(0.5) + np.int64(0)\n")
    assert g.grade({}, {}).scores == {"g": 0.5}


def test_syntax_error_at_load_names_where_and_line() -> None:
    with pytest.raises(RftError) as info:
        python("def grade(sample, item):\n    return (1 +\n\nx = 1\n")
    text = str(info.value)
    assert text.startswith(WHERE + ": ")
    assert "syntax error on line 2" in text


def test_missing_grade_function() -> None:
    with pytest.raises(RftError, match=r"defines no grade\(sample, item\) function"):
        python("def score(sample, item):\n    return 1.0\n")


def test_grade_with_wrong_signature() -> None:
    with pytest.raises(RftError, match="cannot take"):
        python("def grade(sample):\n    return 1.0\n")


def test_source_failing_at_import_is_a_load_error() -> None:
    with pytest.raises(RftError) as info:
        python("import not_a_real_module_xyz\ndef grade(s, i):\n    return 1\n")
    assert "ModuleNotFoundError" in str(info.value)
    assert "line 1" in str(info.value)


def test_empty_source() -> None:
    with pytest.raises(RftError, match="empty"):
        python("   ")


def test_agrade_matches_grade() -> None:
    g = python("def grade(s, i):\n    return 0.75\n")
    assert asyncio.run(g.agrade({}, {})).scores == {"g": 0.75}


def test_function_grader_sync_and_async() -> None:
    def exact(sample: dict, item: dict) -> float:
        return float(sample["output_text"] == item["answer"])

    async def slow(sample: dict, item: dict) -> float:
        await asyncio.sleep(0)
        return 0.5

    def broken(sample: dict, item: dict) -> float:
        return 1 / 0

    assert FunctionGrader("e", exact).grade({"output_text": "a"}, {"answer": "a"}).scores == {
        "e": 1.0
    }
    assert FunctionGrader("s", slow).grade({}, {}).scores == {"s": 0.5}
    assert asyncio.run(FunctionGrader("s", slow).agrade({}, {})).scores == {"s": 0.5}
    message = FunctionGrader("b", broken).grade({}, {}).errors["b"]
    assert message.startswith("grader 'b' raised ZeroDivisionError: division by zero (")
    assert "test_python_grader.py:" in message  # the function's own file and line
    assert "return 1 / 0" in message
