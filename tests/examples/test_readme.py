"""The README's "Your first suite" works when pasted: its files are written to a fresh project
exactly as shown, its commands run in order (each must pass or fail as its comment says), every
line of its output excerpts is printed by the command before it, and the JUnit names it quotes
are the ones pytest writes. Also: the JSON report keys the README names exist."""

from __future__ import annotations

import json
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
FILE_NAME = re.compile(r"`([\w./-]+\.\w+)`:\s*$")
INLINE_PYTEST = re.compile(r"`(pytest [^`]+)`")


def section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def steps(text: str) -> list[tuple[str, str, str]]:
    """In document order: ("file", path, content), ("run", command, expectation),
    ("output", "", lines) and ("inline", command, "")."""
    found: list[tuple[int, tuple[str, str, str]]] = []
    position = 0
    for match in FENCE.finditer(text):
        before = text[position:match.start()]
        found += [(position + m.start(), ("inline", m.group(1), ""))
                  for m in INLINE_PYTEST.finditer(before)]
        lang, body = match.group(1), match.group(2)
        if lang == "bash":
            for line in body.splitlines():
                command, _, comment = line.partition("#")
                if command.strip():
                    found.append((match.start(), ("run", command.strip(), comment.strip())))
        elif lang == "text":
            found.append((match.start(), ("output", "", body)))
        else:
            name = FILE_NAME.search(before.rstrip("\n").splitlines()[-1] if before.strip() else "")
            assert name, f"no `path`: before the {lang} block at {match.start()}"
            found.append((match.start(), ("file", name.group(1), body)))
        position = match.end()
    found += [(position + m.start(), ("inline", m.group(1), ""))
              for m in INLINE_PYTEST.finditer(text[position:])]
    return [step for _, step in sorted(found, key=lambda pair: pair[0])]


def test_your_first_suite_works_when_pasted(pytester, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # the section promises: no key needed
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    text = section("Your first suite")
    plan = steps(text)
    files = [path for kind, path, _ in plan if kind == "file"]
    assert files == ["evals/tickets.jsonl", "evals/conftest.py", "evals/graders/intent.json",
                     "evals/rft_tickets.yaml"]  # a dataset, a model, a grader, the suite
    last = None
    ran = 0
    for kind, what, detail in plan:
        if kind == "file":
            path = pytester.path / what
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(detail, encoding="utf-8")
        elif kind in ("run", "inline"):
            args = shlex.split(what)
            assert args[0] == "pytest", what
            last = pytester.runpytest("-p", "no:cacheprovider", *args[1:])
            expected = detail.split()[0].rstrip(":;") if detail else "passes"
            assert expected in ("passes", "fails"), f"say 'passes' or 'fails' after {what!r}"
            assert last.ret == (0 if expected == "passes" else 1), (what, last.stdout.str())
            ran += 1
        else:
            assert last is not None, "an output excerpt before any command"
            printed = [line.rstrip() for line in last.stdout.lines]
            for line in detail.splitlines():
                assert any(p == line or p.startswith(line + " ") for p in printed), (
                    f"README shows {line!r}, the command printed:\n" + last.stdout.str())
    assert ran >= 5
    # the JUnit names the section quotes
    junit = re.search(r'`classname="([^"]+)" name="([^"]+)"`', text)
    assert junit, "the section quotes a JUnit name"
    pytester.runpytest("-p", "no:cacheprovider", "evals/", "--junitxml=j.xml")
    cases = {(c.get("classname"), c.get("name"))
             for c in ET.parse(pytester.path / "j.xml").iter("testcase")}
    assert (junit.group(1), junit.group(2)) in cases, cases


def test_the_id_examples_carry_the_folder_as_pytest_prints_them():
    """Ids and JUnit names shown elsewhere are those of `pytest example_suite`."""
    text = README.read_text(encoding="utf-8")
    shown = re.findall(r"`((?:[\w-]+/)*rft_eurovoc\.yaml::[^`]+)`", text)
    assert shown and all(i.startswith("example_suite/rft_eurovoc.yaml::") for i in shown), shown
    classnames = re.findall(r'classname="([^"]+)"', text)
    assert classnames and all(c.startswith(("example_suite.", "evals.")) for c in classnames)


REPORT_KEYS = re.compile(r"`(\w+)`")


def test_the_json_report_keys_the_readme_names_exist(pytester):
    """Every key the README's JSON report paragraph names is in a real report."""
    pytester.makeconftest("""
import pytest_rft

@pytest_rft.model("echo")
def echo(request):
    return {"answer": request.item["expected"]}
""")
    pytester.path.joinpath("data.jsonl").write_text('{"id": "q1", "expected": "1"}\n')
    pytester.path.joinpath("rft_qa.yaml").write_text(
        "suite: qa\ndataset: data.jsonl\nmodel: echo\ninput: [{role: user, content: x}]\n"
        "graders:\n  exact: {type: string_check, input: '{{ sample.output_json.answer }}', "
        "reference: '{{ item.expected }}', operation: eq}\n")
    pytester.runpytest("-p", "no:cacheprovider", "--rft-report=r.json").assert_outcomes(passed=2)
    report = json.loads((pytester.path / "r.json").read_text())
    text = README.read_text(encoding="utf-8")
    paragraph = text[text.index("- **JSON report**"):]
    paragraph = paragraph[:paragraph.index("\n- **", 3)]
    levels = {"top": set(report), "suite": set(report["suites"][0]),
              "item": set(report["suites"][0]["items"][0]),
              "sample": set(report["suites"][0]["items"][0]["samples"][0]),
              "metric": set(next(iter(report["suites"][0]["metrics"].values()))),
              "calls": set(report["calls"]),
              # only with model graders (tests/graders/test_model_graders.py reads it)
              "conditional": {"judge_calls"}}
    known = set().union(*levels.values())
    named = set(REPORT_KEYS.findall(paragraph)) - {"rft", "jq"}
    assert named and named <= known, named - known
    assert "runs" not in named
    assert {"suites", "items", "samples", "metrics", "gates"} <= named
