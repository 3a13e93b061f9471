"""No secret leaves: every planted secret is looked for in every stream and every file a run
writes (stdout, stderr, the JSON and HTML reports, JUnit XML, the step summary, the history,
the baseline, the cache), raw and in every encoded form; the scrubber itself is checked over
wide inputs with hypothesis."""

from __future__ import annotations

import html
import json
import os
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_rft.core import secrets
from pytest_rft.report import html as html_report
from pytest_rft.report.html_parts import e as html_e, t as html_t

# Secrets under each kind of name, with quotes, backslashes, unicode, a URL password.
PLANTED = {
    "ACME_API_KEY": 'k3y-with-"quote"-and-\\back\\slash',
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
    "DB_PASSWORD": "pässwörd-€-ünïcode",
    "GITHUB_TOKEN": "ghp_0123456789abcdefghijABCDEFGHIJklmnop",
    "SIGNING_SECRET": "s3cr3t<&>'tag'",
    "APP_PASS": "tab\tand newline-free pass",
    "DATABASE_URL": "postgres://admin:Db-Pa55word-xyz@db.internal:5432/app",
}
URL_PASSWORD = "Db-Pa55word-xyz"
SK_TOKEN = "sk-proj-AbCdEf0123456789GhIjKl"
BASE_URL_PASSWORD = "b4se-url-pa55"
ALL = [*[v for k, v in PLANTED.items() if k != "DATABASE_URL"], URL_PASSWORD, SK_TOKEN,
       BASE_URL_PASSWORD]


def forms(secret: str) -> set[str]:
    """The secret as it would appear once encoded by any sink."""
    out = {secret, html.escape(secret), html.escape(secret, quote=False)}
    for ascii_only in (False, True):
        escaped = json.dumps(secret, ensure_ascii=ascii_only)[1:-1]
        out |= {escaped, escaped.replace("<", "\\u003c").replace(">", "\\u003e")
                .replace("&", "\\u0026")}
    return {f for f in out if len(f) >= 6}


def leaks(text: str, secrets_: list[str] = ALL) -> list[str]:
    return [s for s in secrets_ for f in forms(s) if f in text]


CONFTEST = r'''
import os
import pytest_rft

SECRETS = [v for k, v in sorted(os.environ.items()) if k in {NAMES}]

@pytest_rft.model("leaky")
def leaky(request):
    """An answer carrying every secret, an sk- token, a URL with credentials and escapes."""
    text = " | ".join(SECRETS) + " {SK} http://u:{BASE}@h/x \x1b[2J\x1b]0;pwned\x07 \ud800"
    if request.item_id == "q2":
        raise RuntimeError("upstream refused: " + text)
    return {"answer": request.item["expected"], "note": text}

@pytest_rft.grader("leaky_grader")
def leaky_grader(sample, item):
    if item["id"] == "q3":
        raise ValueError("grader saw " + " ".join(SECRETS))
    return 1.0
'''.replace("{NAMES}", repr(set(PLANTED))).replace("{SK}", SK_TOKEN).replace(
    "{BASE}", BASE_URL_PASSWORD)

SUITE = """
suite: qa
dataset: data.jsonl
model: leaky
input:
  - {role: user, content: "Q: {{ item.question }}"}
repeats: 2
graders:
  exact: {type: string_check, input: "{{ sample.output_json.answer }}",
          reference: "{{ item.expected }}", operation: eq}
  leak: leaky_grader
gates:
  - {metric: exact.mean, min: 0.1}
  - {metric: exact.mean, baseline: true, max_drop: 0.5}
"""


def _project(path: Path) -> None:
    path.joinpath("conftest.py").write_text(CONFTEST)
    path.joinpath("rft_qa.yaml").write_text(SUITE)
    rows = [{"id": f"q{i}", "question": f"{i}?", "expected": str(i)} for i in range(1, 6)]
    path.joinpath("data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env.update(PLANTED)
    env["OPENAI_API_KEY"] = SK_TOKEN
    env["GITHUB_STEP_SUMMARY"] = str(tmp / "summary.md")
    return env


def _pytest(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
                          cwd=cwd, env=env, capture_output=True, timeout=300)


INPUTS = {"conftest.py", "rft_qa.yaml", "data.jsonl"}


def _every_file(root: Path) -> dict[str, str]:
    """Every file the runs wrote (the project's own inputs left out)."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.name not in INPUTS:
            out[str(path.relative_to(root))] = path.read_bytes().decode("utf-8", "replace")
    return out


def test_no_planted_secret_in_any_stream_or_file_of_a_run(pytester, tmp_path):
    """Two runs (a baseline update, then a compared run with every output, -vv and
    --rft-show-outputs) and a replay from the cache: no planted secret, in any encoded form,
    in stdout, stderr or any file written; outputs are still written and the run's verdicts
    are real (the errors are errors)."""
    root = pytester.path
    _project(root)
    env = _env(tmp_path)
    base_url = f"http://user:{BASE_URL_PASSWORD}@127.0.0.1:9/v1"
    common = ("--rft-cache", ".rft-cache", "--rft-history", "history.jsonl",
              "--rft-base-url", base_url)
    first = _pytest(root, env, *common, "--rft-baseline-update")
    second = _pytest(root, env, *common, "-vv", "-rA", "--rft-show-outputs",
                     "--rft-report", "out/report.json", "--rft-html", "out/report.html",
                     "--junitxml", "out/junit.xml", "--rft-model", "leaky",
                     "--rft-model", "gpt-remote")
    replay = _pytest(root, env, *common, "--rft-replay", "-vv", "--rft-report",
                     "out/replay.json")
    streams = {f"{name} {kind}": getattr(run, kind).decode("utf-8", "replace")
               for name, run in (("update", first), ("run", second), ("replay", replay))
               for kind in ("stdout", "stderr")}
    written = _every_file(root)
    written["summary.md"] = (tmp_path / "summary.md").read_text()
    db = sqlite3.connect(root / ".rft-cache" / "rft-cache.sqlite3")
    written["cache rows"] = json.dumps(db.execute("SELECT * FROM completions").fetchall(),
                                       ensure_ascii=False)
    db.close()
    for name in ("out/report.json", "out/report.html", "out/junit.xml", "history.jsonl",
                 "baselines/qa.json", ".rft-cache/rft-cache.sqlite3", "out/replay.json"):
        assert name in written, (name, sorted(written), streams["run stdout"][-3000:])
    found = {name: leaks(text) for name, text in {**streams, **written}.items()}
    assert not any(found.values()), {k: v for k, v in found.items() if v}
    # the text around the secrets is there, masked; escape sequences never reach a terminal
    out = streams["run stdout"]
    assert "sk-***" in out and "***" in out and "\x1b" not in out and "\\x1b[2J" in out
    assert "\ufffd" in written["out/report.json"]  # the lone surrogate, replaced
    # errors are errors: q2's model error and q3's grader error fail those items
    assert second.returncode == 1 and first.returncode == 1
    report = json.loads(written["out/report.json"])
    leaky = next(s for s in report["suites"] if s["model"] == "leaky")
    errors = {i["id"]: [x["error_cause"] for x in i["samples"]] for i in leaky["items"]}
    assert errors["q2"] == ["model raised", "model raised"]
    assert written["cache rows"].count("***") >= 6  # stored scrubbed by default


def test_the_cache_keeps_raw_outputs_only_when_asked_and_says_so(pytester, tmp_path):
    root = pytester.path
    _project(root)
    env = _env(tmp_path)
    run = _pytest(root, env, "--rft-cache", "c", "--rft-cache-raw")
    out = run.stdout.decode()
    said = " ".join(out.split())  # the note may be wrapped at 120 columns
    assert "raw outputs stored (--rft-cache-raw): the cache may hold secrets" in said
    rows = (root / "c" / "rft-cache.sqlite3").read_bytes() + b"".join(
        p.read_bytes() for p in (root / "c").glob("*-wal"))
    assert PLANTED["DB_PASSWORD"].encode() in rows  # kept raw, as asked
    assert not leaks(out)  # and still never printed


def test_cli_error_paths_print_no_secret(tmp_path):
    """``pytest-rft validate-grader --sample`` (a grader error quoting the sample) and a CLI
    error naming a value: scrubbed like everything else."""
    grader = tmp_path / "g.json"
    grader.write_text(json.dumps({"type": "python", "source": (
        "import os\ndef grade(sample, item):\n"
        "    raise ValueError(sample['output_text'] + os.environ['DB_PASSWORD'])\n")}))
    env = _env(tmp_path)
    sample = json.dumps({"output_text": f"{PLANTED['ACME_API_KEY']} {SK_TOKEN}"})
    done = subprocess.run([sys.executable, "-m", "pytest_rft.cli.main", "validate-grader", str(grader),
                           "--sample", sample], env=env, capture_output=True, timeout=120)
    text = (done.stdout + done.stderr).decode()
    assert "error: ValueError" in text or "ValueError" in text, text
    assert not leaks(text), text
    bad = subprocess.run([sys.executable, "-m", "pytest_rft.cli.main", "validate-grader",
                          str(tmp_path / f"{PLANTED['AWS_SECRET_ACCESS_KEY']}.json")],
                         env=env, capture_output=True, timeout=120)
    text = (bad.stdout + bad.stderr).decode()
    assert bad.returncode == 1 and "INVALID" in text and not leaks(text), text


# -- the scrubber over wide inputs ------------------------------------------------------------

NAMES = st.sampled_from(["X_API_KEY", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "SVC_TOKEN",
                         "APP_SECRET", "SMTP_PASS", "PRIVATE_KEY", "MYAPIKEY", "DEPLOY_KEYS",
                         "OAUTH_CREDENTIALS"])
SECRET_VALUES = st.text(st.characters(blacklist_categories=("Cs",), min_codepoint=32),
                        min_size=8, max_size=30).filter(lambda v: v.strip() and "*" not in v)
AROUND = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
WIDE = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@WIDE
@given(NAMES, SECRET_VALUES, AROUND, AROUND)
def test_every_sink_encoding_scrubs_before_encoding(monkeypatch, name, value, before, after):
    """Whatever a secret holds (quotes, backslashes, <&>, unicode) and whatever surrounds it:
    gone from scrubbed text, from JSON (report, baseline, history, cache) and from HTML."""
    monkeypatch.setenv(name, value)
    text = before + value + after
    assert value not in secrets.scrub(text)
    for ascii_only in (False, True):
        encoded = secrets.dumps({"output": text, text: [text]}, ensure_ascii=ascii_only)
        assert not [f for f in forms(value) if f in encoded], encoded
        assert json.loads(encoded)  # still JSON
    page = html_e(text) + html_t(text) + html_report.json_script("d", [text])
    assert not [f for f in forms(value) if f in page], page


@WIDE
@given(st.from_regex(r"sk-[A-Za-z0-9_\-]{8,40}", fullmatch=True), AROUND, AROUND)
def test_key_shaped_tokens_are_scrubbed_anywhere(token, before, after):
    text = f"{before} {token} {after}"
    assert token not in secrets.scrub(text)
    assert token not in secrets.dumps([text])


@WIDE
@given(st.from_regex(r"[a-z][a-z0-9+.\-]{0,8}", fullmatch=True),
       st.from_regex(r"[A-Za-z0-9._~\-]{1,12}", fullmatch=True),
       st.from_regex(r"[A-Za-z0-9._~!$&'()*+,;=\-]{6,20}", fullmatch=True), AROUND)
def test_url_credentials_are_scrubbed(scheme, user, password, after):
    url = f"{scheme}://{user}:{password}@host.example/path"
    text = f"calling {url} {after}"
    shown = secrets.scrub(text)
    assert f"{scheme}://***@host.example/path" in shown and f":{password}@" not in shown
    assert f":{password}@" not in secrets.dumps({"u": text})


@WIDE
@given(st.text(max_size=60))
def test_terminal_text_drives_no_terminal(text):
    """Any model text, once made terminal-safe: no control characters but newline and tab,
    no lone surrogates, no bidi overrides."""
    shown = secrets.for_terminal(text)
    bidi = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u2028\u2029")
    assert all(c in "\n\t" or unicodedata.category(c) != "Cc" and c not in bidi
               for c in shown), ascii(shown)
    shown.encode("utf-8")  # no lone surrogate


def test_names_that_hold_secrets():
    for name in ("OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "GITHUB_TOKEN",
                 "X_SECRET", "SMTP_PASS", "APIKEY", "HF_TOKEN", "PRIVATE_KEY"):
        assert secrets.secret_name(name), name
    for name in ("PATH", "HOME", "PWD", "OLDPWD", "KEYBOARD_LAYOUT", "PYTHONHASHSEED", "TERM"):
        assert not secrets.secret_name(name), name


def test_short_values_are_left_alone(monkeypatch):
    """Below 6 characters a value is no real secret and replacing it would mangle text."""
    monkeypatch.setenv("FEATURE_TOKEN", "1")
    assert secrets.scrub("1 passed in 1s") == "1 passed in 1s"


@pytest.mark.parametrize("value", ["x" * 6, "a***b***c"])
def test_masking_never_completes_a_secret(monkeypatch, value):
    monkeypatch.setenv("X_TOKEN", value)
    assert value not in secrets.scrub(value[:3] + value + value[3:])
