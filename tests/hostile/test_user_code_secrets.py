"""Secrets that user code (models, graders, tools) prints, logs, warns or returns, and secrets
shown as Python writes a value (``repr``): masked in every stream and file, like the plugin's
own text."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_rft.core import secrets
from pytest_rft.core.errors import GraderError
from pytest_rft.graders.python_rules import coerce_score

WIDE = settings(max_examples=50, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
VALUES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=8, max_size=24).filter(
    lambda v: v.strip() and "*" not in v)
AROUND = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@WIDE
@given(VALUES, AROUND, AROUND)
def test_a_secret_shown_with_repr_or_ascii_is_masked(monkeypatch, value, before, after):
    """``f"{value!r}"`` escapes backslashes, newlines and one kind of quote (which one depends
    on the whole string): none of these forms survives the scrubber."""
    monkeypatch.setenv("DB_PASSWORD", value)
    for show in (repr, ascii):
        for text in (before + value + after, [before + value + after], {value: 1}):
            shown = secrets.scrub(f"grader returned {show(text)}")
            assert show(value)[1:-1] not in shown or show(value)[1:-1] in show(before + after)
            assert value not in shown


def test_a_returned_value_is_masked_before_it_is_cut(monkeypatch):
    """A grader returning a long string with a secret past the cut: not even its start shows."""
    secret = "pa\"ss\\w\u00f6rd-0123456789"
    monkeypatch.setenv("SERVICE_PASSWORD", secret)
    for value in ("x" * 45 + secret, {"score": "y" * 40 + secret}):
        try:
            coerce_score(value, "g")
        except GraderError as exc:
            assert "pa\"ss" not in str(exc) and "pa\\\"ss" not in str(exc), str(exc)
        else:
            raise AssertionError("not a number, yet accepted")


CONFTEST = r'''
import logging, os, sys, warnings
import pytest_rft

SECRET = os.environ["ACME_API_KEY"]

@pytest_rft.model("chatty")
def chatty(request):
    print("request sent with " + SECRET)
    print("stderr: " + SECRET, file=sys.stderr)
    logging.getLogger("acme").warning("logged %s", SECRET)
    try:
        raise RuntimeError("in a traceback " + SECRET)
    except RuntimeError:
        logging.getLogger("acme").exception("failed")
    warnings.warn("warned " + SECRET)
    return {"answer": request.item["expected"]}

@pytest_rft.grader("chatty_grader")
def chatty_grader(sample, item):
    print("grading with " + SECRET)
    logging.getLogger("acme").error("grader %s", SECRET)
    return 1.0

def test_plain_pytest_test():
    print("a plain test prints " + SECRET)
    logging.getLogger("acme").warning("and logs " + SECRET)
    warnings.warn("and warns " + SECRET)
'''

SUITE = """
suite: qa
dataset: data.jsonl
model: chatty
input:
  - {role: user, content: "{{ item.question }}"}
graders:
  exact: {type: string_check, input: "{{ sample.output_json.answer }}",
          reference: "{{ item.expected }}", operation: eq}
  chat: chatty_grader
gates:
  - {metric: exact.mean, min: 0.5}
"""


def test_what_user_code_prints_logs_and_warns_is_masked(pytester):
    """Printed outside pytest's capture (the sampler runs between tests), captured by it
    (``-rA``), logged (``log_cli``, ``--log-file``, captured logs, JUnit), warned: the secret
    is masked everywhere and the text around it is still there."""
    secret = "acme-\"key\"\\with\nnewline-\u00e9-0123"
    pytester.makeconftest(CONFTEST)
    pytester.path.joinpath("rft_qa.yaml").write_text(SUITE)
    pytester.path.joinpath("data.jsonl").write_text(
        "".join(json.dumps({"id": f"q{i}", "question": f"{i}?", "expected": str(i)}) + "\n"
                for i in range(1, 4)))
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["ACME_API_KEY"] = secret
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-vv",
         "--log-level=DEBUG", "-o", "log_cli=true", "--log-file=out/log.txt",
         "--junitxml=out/j.xml", "-o", "junit_logging=all", "conftest.py", "rft_qa.yaml"],
        cwd=pytester.path, env=env, capture_output=True, timeout=120)
    text = (run.stdout + run.stderr).decode("utf-8", "replace")
    files = {p.name: p.read_text("utf-8", "replace") for p in (pytester.path / "out").iterdir()}
    forms = {secret, json.dumps(secret)[1:-1], repr(secret)[1:-1], secret.split("\n")[0],
             secret.split("\n")[1]}
    for name, content in {"streams": text, **files}.items():
        assert not [f for f in forms if f in content], (name, content[-3000:])
    assert run.returncode == 0, text[-3000:]
    for said in ("request sent with ***", "logged ***", "warned ***", "grader ***",
                 "a plain test prints ***", "and warns ***", "in a traceback ***"):
        assert said in text, (said, text[-3000:])
    assert "logged ***" in files["log.txt"] and "and logs ***" in files["j.xml"]


def test_a_chart_holds_no_secret_and_an_unwritable_one_is_one_line(tmp_path):
    secret = "svc-Secret-0123456789"
    row = {"suite": f"qa {secret}", "model": f"m {secret}", "metrics": {"exact.mean": 0.5},
           "time": "2026-01-01T00:00:00Z"}
    history = tmp_path / "h.jsonl"
    history.write_text(json.dumps(row) + "\n" + json.dumps({**row, "metrics": {"exact.mean": 1}})
                       + "\n")
    env = {**os.environ, "SERVICE_SECRET": secret}
    for out, code in ((tmp_path / "c.svg", 0), (tmp_path / "no" / "such" / "c.svg", 0),
                      (tmp_path / "h.jsonl" / "c.svg", 2), (tmp_path / ("x" * 300 + ".svg"), 2)):
        done = subprocess.run([sys.executable, "-m", "pytest_rft.cli.main", "history",
                               str(history), "--chart", str(out)], env=env,
                              capture_output=True, text=True, timeout=120)
        said = done.stdout + done.stderr
        assert "Traceback" not in said and secret not in said, said
        assert done.returncode == code, said
        if code:
            assert "--chart" in said and "fix:" in said, said
        else:
            assert out.is_file() and secret not in out.read_text() and "***" in out.read_text()


def test_log_records_without_a_secret_are_left_as_made(pytester, monkeypatch):
    """The scrubbing log-record factory touches only records holding a secret: a user's own
    tests that read ``caplog.records[...].args`` see them as logging made them."""
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-4f9a8b7c6d5e4f3a2b1c")
    pytester.makepyfile('''
import logging, os

def test_records(caplog):
    logging.getLogger("app").warning("hello %s", "world")
    logging.getLogger("app").warning("token %s", os.environ["MY_SERVICE_TOKEN"])
    plain, secret = caplog.records
    assert plain.msg == "hello %s" and plain.args == ("world",)
    assert "tok-4f9a8b7c6d5e4f3a2b1c" not in secret.getMessage()
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
