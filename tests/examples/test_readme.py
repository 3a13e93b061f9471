"""The README's "Your first suite" works when pasted: its files are written to a fresh project
exactly as shown, its commands run in order (each must pass or fail as its comment says), every
line of its output excerpts is printed by the command before it, and the JUnit names it quotes
are the ones pytest writes. Every other shell command of the README and the docs names real
options, subcommands and project paths (checked, not run: some call OpenAI). Also: the ids and
the JSON report keys the docs name exist."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import re
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md"]
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
    text = "\n".join(page.read_text(encoding="utf-8") for page in DOCS)
    shown = re.findall(r"`((?:[\w-]+/)*rft_eurovoc\.yaml::[^`]+)`", text)
    assert shown and all(i.startswith("example_suite/rft_eurovoc.yaml::") for i in shown), shown
    classnames = re.findall(r'classname="([^"]+)"', text)
    assert classnames and all(c.startswith(("example_suite.", "evals.")) for c in classnames)


REPORT_KEYS = re.compile(r"`(\w+)`")


def test_the_json_report_keys_the_readme_names_exist(pytester):
    """Every key the JSON report paragraph of docs/pytest.md names is in a real report."""
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
    text = (ROOT / "docs" / "pytest.md").read_text(encoding="utf-8")
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
    assert f"`schema_version` {report['schema_version']})" in paragraph


# Every other shell command of the README and the docs: checked, not run (some call OpenAI).
OPERATORS = {"&&", "||", ";", "|"}
PROJECT_DIRS = ("example_suite/", "tests/", "benchmarks/", "docs/", ".ci/", "pytest_rft/",
                "tools/")


def shell_commands(page: Path) -> list[list[str]]:
    """The simple commands of the page's ```bash blocks and of the one-line `run:` steps of its
    workflow YAML, as argument lists: comments dropped, continuation lines joined, split at
    && || ; |, redirections and leading VAR=value dropped."""
    found = []
    for lang, body in FENCE.findall(page.read_text(encoding="utf-8")):
        if lang == "bash":
            lines = body.replace("\\\n", " ").splitlines()
        elif lang == "yaml":
            lines = re.findall(r"^\s*-?\s*run: ([^>|].*)$", body, re.M)
        else:
            continue
        for line in lines:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.commenters = "#"
            lexer.wordchars += "$*?"
            command: list[str] = []
            tokens = list(lexer)
            i = 0
            while i < len(tokens):
                token = tokens[i]
                if token in OPERATORS:
                    found.append(command)
                    command = []
                elif token in (">", ">>", "<"):
                    i += 1  # and its target
                elif command or not re.match(r"[A-Za-z_]\w*=", token):
                    command.append(token)
                i += 1
            found.append(command)
    return [c for c in found if c]


def cli_parser() -> argparse.ArgumentParser:
    """``pytest-rft``'s parser, built as ``cli.main`` builds it (parsing runs nothing)."""
    from pytest_rft.cli import main as cli

    parser = argparse.ArgumentParser(prog="pytest-rft", exit_on_error=False)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in cli.SUBCOMMANDS.items():
        importlib.import_module(module_name).add_arguments(commands.add_parser(name))
    return parser


def check_command(args: list[str], pytester) -> str | None:
    """What is wrong with one command, or None; "skip" for commands that aren't ours."""
    program, rest = args[0], args[1:]
    if program == "python" and rest[:2] == ["-m", "pytest"]:
        program, rest = "pytest", rest[2:]
    for arg in rest:
        path = arg.split("::")[0]
        if path.startswith(PROJECT_DIRS) and not (ROOT / path).exists():
            return f"no such path in the project: {path}"
    if program == "pytest":
        try:
            pytester.parseconfig(*rest)
        except (pytest.UsageError, SystemExit) as exc:
            return f"pytest refuses it: {exc}"
    elif program == "pytest-rft":
        try:
            cli_parser().parse_args(rest)
        except (argparse.ArgumentError, SystemExit) as exc:
            return f"pytest-rft refuses it (its message is in the captured stderr): {exc}"
    elif program == "python" and rest[:1] == ["-m"]:
        if importlib.util.find_spec(rest[1]) is None:
            return f"no module {rest[1]}"
    elif program == "python":
        source = (ROOT / rest[0]).read_text(encoding="utf-8")
        unknown = [a for a in rest[1:] if a.startswith("--") and f'"{a.split("=")[0]}"' not in source]
        if unknown:
            return f"{rest[0]} has no option {unknown}"
    elif program == "pip":
        extras = set(importlib.metadata.metadata("pytest-rft").get_all("Provides-Extra"))
        for arg in rest:
            named = re.fullmatch(r"(?:\.|pytest-rft)\[([\w,]+)\]", arg)
            if named and not set(named.group(1).split(",")) <= extras:
                return f"unknown extra in {arg} (extras: {sorted(extras)})"
    elif program in ("bash", "tox") or program.startswith(".ci/"):
        return None
    else:
        return "skip"  # git, curl, vllm, apt-get, export ...: not ours to check
    return None


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_shell_command_in_the_docs_names_real_options_and_paths(page, pytester):
    problems, checked = [], 0
    for args in shell_commands(page):
        verdict = check_command(args, pytester)
        if verdict == "skip":
            continue
        checked += 1
        if verdict:
            problems.append(f"{shlex.join(args)}\n    {verdict}")
    assert not problems, f"{page.relative_to(ROOT)}:\n" + "\n".join(problems)
    relative = str(page.relative_to(ROOT))
    assert checked or relative not in ("README.md", "docs/ci.md", "docs/migration.md",
                                       "docs/running-models.md"), f"{relative}: nothing checked"


def test_the_command_check_catches_mistakes(pytester):
    assert check_command(["pytest", "evals/", "--rft-modle", "x"], pytester)
    assert check_command(["pytest", "--rft-api", "completions"], pytester)
    assert check_command(["pytest", "example_suite/rft_nope.yaml"], pytester)
    assert check_command(["pytest-rft", "import", "eval", "e", "--outt", "x"], pytester)
    assert check_command(["pip", "install", "pytest-rft[htlm]"], pytester)
    assert check_command(["python", "benchmarks/grading.py", "--worker", "2"], pytester)
    assert check_command(["python", "-m", "pytest_rft.nothing"], pytester)
    assert check_command(["pytest", "example_suite/rft_eurovoc.yaml", "--rft-model", "m"],
                         pytester) is None
    assert check_command(["git", "commit"], pytester) == "skip"
    assert shell_commands_of("OPENAI_API_KEY=x pytest a --rft-model m && pytest b | tee c"
                             " > d  # note") == [["pytest", "a", "--rft-model", "m"],
                                                 ["pytest", "b"], ["tee", "c"]]


def shell_commands_of(text: str, tmp=Path("/nonexistent")) -> list[list[str]]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "page.md"
        page.write_text(f"```bash\n{text}\n```\n", encoding="utf-8")
        return shell_commands(page)
