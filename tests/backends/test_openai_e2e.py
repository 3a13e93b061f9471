"""The OpenAI path end to end: pytest -> plugin -> direct transport (or the OpenAI SDK) -> real
HTTP -> local server."""

import collections
import json
import re

import pytest

from tests.support.openai_server import FaultPlan, last_user_content

SUITE = """
suite: arith
dataset: data.jsonl
input:
  - {role: developer, content: "Answer with JSON."}
  - {role: user, content: "{{ item.question }}"}
response_format:
  name: Answer
  schema: {type: object, properties: {answer: {type: string}}, required: [answer], additionalProperties: false}
sampling: {temperature: 0.7, seed: 100, max_output_tokens: 50}
repeats: REPEATS
graders:
  exact:
    type: string_check
    input: "{{ sample.output_json.answer }}"
    reference: "{{ item.expected }}"
    operation: eq
  has_json:
    type: python
    source: |
      def grade(sample, item):
          return 1.0 if sample.get("output_json") is not None else 0.0
gates:
  - {metric: exact.mean, min: 0.5}
"""


def policy(body):
    """Answers 'x+y' questions right: the server plays a good model."""
    question = last_user_content(body)
    a, b = map(int, re.findall(r"\d+", question)[:2])
    return json.dumps({"answer": str(a + b)})


def by_sample(body):
    """A marker per (item, repeat): the question plus the per-repeat seed."""
    return f"{last_user_content(body)}#{body.get('seed')}"


@pytest.fixture
def project(pytester, openai_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", openai_server.api_key)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    openai_server.policy = policy
    openai_server.marker_fn = by_sample

    def make(n_items=6, repeats=2):
        pytester.makefile(".yaml", rft_arith=SUITE.replace("REPEATS", str(repeats)))
        rows = [{"id": f"q{i:04d}", "question": f"What is {i}+{i * 3}?", "expected": str(i * 4)}
                for i in range(n_items)]
        pytester.makefile(".jsonl", data="\n".join(json.dumps(r) for r in rows))
        return pytester

    return make


def run(pytester, server, *args):
    return pytester.runpytest("-p", "no:cacheprovider", f"--rft-base-url={server.base_url}", *args)


MODEL = "ft:o4-mini-2025-04-16:acme:arith:AbC123:ckpt-step-90"


@pytest.mark.parametrize("api,client", [("chat", "direct"), ("responses", "direct"),
                                        ("chat", "httpx"), ("responses", "sdk"),
                                        ("chat", "aiohttp")])
def test_suite_against_a_fine_tuned_checkpoint(project, openai_server, tmp_path, api, client):
    pytester = project()
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, f"--rft-model={MODEL}", f"--rft-api={api}",
                 f"--rft-http-client={client}",
                 f"--rft-report={report}", "-v")
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=8)  # 6 items + exact gate + error gate
    bodies = openai_server.bodies()
    assert len(bodies) == 12 and {b["model"] for b in bodies} == {MODEL}
    assert sorted(b.get("seed", -1) for b in bodies) == ([100] * 6 + [101] * 6 if api == "chat"
                                                         else [-1] * 12)  # responses: no seed
    if api == "chat":
        assert bodies[0]["response_format"]["type"] == "json_schema"
        assert bodies[0]["response_format"]["json_schema"]["name"] == "Answer"
        assert bodies[0]["max_completion_tokens"] == 50
    else:
        assert bodies[0]["text"]["format"]["type"] == "json_schema"
        assert bodies[0]["max_output_tokens"] == 50
    data = json.loads(report.read_text())
    sample = data["suites"][0]["items"][0]["samples"][0]
    assert sample["output_json"] == {"answer": "0"} and sample["scores"] == {"exact": 1.0, "has_json": 1.0}
    assert sample["usage"]["input_tokens"] > 0 and sample["latency_s"] > 0
    assert data["calls"]["calls"] == 12 and data["calls"]["usage"]["output_tokens"] > 0
    result.stdout.fnmatch_lines(["*calls: 12 for 12 samples*", "*latency: p50*"])


@pytest.mark.slow  # soak / fault: signals, deadlines, fault storms
def test_two_thousand_requests_with_mixed_faults(project, openai_server, tmp_path, monkeypatch):
    # this reconciles the transport's own error classification with the server's log: keep the
    # whole-call deadline (tested with a dripping server elsewhere) from cutting calls that a
    # loaded machine is slow to send
    monkeypatch.setattr("pytest_rft.backends.calls.DEADLINE_GRACE", 30.0)
    """~10% 429, 5% 500, 2% hangs past the timeout, malformed bodies, resets, and bad outputs:
    every sample ends as a sample or an error, none lost or duplicated, and the report's counts
    match the server's own log."""
    pytester = project(n_items=500, repeats=4)
    openai_server.plan = FaultPlan(p429=0.10, p500=0.05, hang=0.02, malformed=0.02, reset=0.01,
                                   truncate=0.01, refusal=0.01, empty=0.01, seed=3)
    openai_server.hang_s = 5.0
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, "--rft-model=gpt-test", "--rft-concurrency=100",
                 "--rft-timeout=1.5", "--rft-max-retries=2", "--rft-retry-backoff=0.01",
                 f"--rft-report={report}", "-q")
    data = json.loads(report.read_text())
    (suite,) = data["suites"]
    calls = data["calls"]
    # every (item, repeat) exactly once
    assert len(suite["items"]) == 500
    for item in suite["items"]:
        assert [s["repeat"] for s in item["samples"]] == [0, 1, 2, 3], item["id"]
    samples = [s for item in suite["items"] for s in item["samples"]]
    assert len(samples) == 2000
    # the client's attempts are exactly the requests the server saw
    log = openai_server.log
    assert calls["calls"] == len(log) == sum(s["attempts"] for s in samples)
    assert calls["retries"] == len(log) - 2000
    # per sample: the server's outcomes for its marker end the way the report says
    outcomes = collections.defaultdict(list)
    for entry in log:
        outcomes[entry.marker].append(entry.outcome)
    transient = {"429", "500", "hang", "malformed", "reset"}
    final_kinds = collections.Counter()
    errors = collections.Counter()
    for item, question in ((i, f"What is {int(i['id'][1:])}+{int(i['id'][1:]) * 3}?")
                           for i in suite["items"]):
        for s in item["samples"]:
            seen = outcomes[f"{question}#{100 + s['repeat']}"]
            assert len(seen) == s["attempts"]
            assert all(o in transient for o in seen[:-1])
            if s["error"] is not None:
                assert len(seen) == 3 and seen[-1] in transient
                errors[s["error_cause"]] += 1
                assert s["scores"] == {}  # an error is not a zero
            else:
                assert seen[-1] not in transient
                final_kinds[seen[-1]] += 1
    assert dict(errors) == calls["errors"]
    assert sum(errors.values()) > 0  # the plan is strong enough that some samples fail for good
    server_kinds = {"ok": final_kinds["ok"], "truncated": final_kinds["truncate"],
                    "refusal": final_kinds["refusal"], "empty": final_kinds["empty"]}
    assert {k: v for k, v in server_kinds.items() if v} == calls["kinds"]
    # bounded concurrency, and it backed off under 429s
    assert openai_server.max_in_flight <= 100
    assert calls["min_concurrency"] < 100
    # outcomes: items with an error fail, the error gate fails, the build fails
    failed_items = sum(1 for item in suite["items"] if any(s["error"] for s in item["samples"]))
    result.assert_outcomes(passed=500 - failed_items + 1, failed=failed_items + 1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*gate failed: error_rate = *required <= 0*"])


def test_bad_outputs_are_samples_counted_by_kind(project, openai_server, tmp_path):
    pytester = project(n_items=5, repeats=1)
    openai_server.policy = lambda body: ("Sure! The answer is 16." if "4+12" in
                                         last_user_content(body) else policy(body))
    openai_server.plan = FaultPlan(script={"What is 0+0?#100": ["truncate"],
                                           "What is 1+3?#100": ["refusal"],
                                           "What is 2+6?#100": ["empty"]})
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, "--rft-model=m", f"--rft-report={report}")
    # bad outputs are scored samples, not errors: items and the error gate pass; they score 0,
    # so the exact.mean gate fails (1 of 5 right)
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(["*gate failed: exact.mean = 0.2000*"])
    data = json.loads(report.read_text())
    kinds = {i["id"]: i["samples"][0]["kind"] for i in data["suites"][0]["items"]}
    assert kinds == {"q0000": "truncated", "q0001": "refusal", "q0002": "empty", "q0003": "ok",
                     "q0004": "invalid_json"}
    scores = {i["id"]: i["samples"][0]["scores"] for i in data["suites"][0]["items"]}
    assert scores["q0001"]["has_json"] == 0.0 and scores["q0003"]["has_json"] == 1.0
    assert scores["q0004"] == {"exact": 0.0, "has_json": 0.0}
    assert data["calls"]["kinds"] == {"ok": 1, "truncated": 1, "refusal": 1, "empty": 1,
                                      "invalid_json": 1}
    result.stdout.fnmatch_lines(["*outputs: *truncated 1*"])


def test_persistent_throttling_is_an_error_with_its_cause(project, openai_server, tmp_path):
    pytester = project(n_items=3, repeats=1)
    openai_server.plan = FaultPlan(script={"What is 1+3?#100": ["429"] * 10}, retry_after="0")
    report = tmp_path / "r.json"
    result = run(pytester, openai_server, "--rft-model=m", "--rft-max-retries=3",
                 f"--rft-report={report}", "-v")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(["*q0001[[]*[]] FAILED*", "*model call failed: *429*(after 4 attempts)*",
                                 "*errors: http 429 1*"])
    assert openai_server.outcomes_for("What is 1+3?#100") == ["429"] * 4


def test_the_api_key_never_shows(project, openai_server, tmp_path, monkeypatch):
    """A wrong key makes the server echo it back in its 401 message; it must appear nowhere."""
    secret = "sk-proj-SECRET-do-not-leak-8d7f6e5c4b3a"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    pytester = project(n_items=2, repeats=1)
    report = tmp_path / "r.json"
    junit = tmp_path / "junit.xml"
    result = run(pytester, openai_server, "--rft-model=m", f"--rft-report={report}",
                 f"--junitxml={junit}", "-v", "-rA", "--log-level=DEBUG",
                 f"--log-file={tmp_path / 'log.txt'}")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*model call failed*401*"])
    artifacts = [result.stdout.str(), result.stderr.str(), report.read_text(), junit.read_text(),
                 (tmp_path / "log.txt").read_text()]
    for text in artifacts:
        assert secret not in text
        assert "SECRET-do-not-leak" not in text


def test_a_wrong_key_is_one_line_per_item_and_one_line_per_distinct_error(project, openai_server,
                                                                         monkeypatch):
    """30 items x 3 repeats with a wrong key: each item says its error once (with the repeats it
    hit), and the summary once per distinct error (with a count and the items), not once per
    repeat (about 300 lines before)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key-0123456789abcdef")
    pytester = project(n_items=30, repeats=3)
    result = run(pytester, openai_server, "--rft-model=m")
    result.assert_outcomes(failed=32)
    lines = result.stdout.lines
    sections = failure_sections(lines)
    assert len(sections) == 32
    said = 0
    for name, body in sections.items():
        if "gate:" in name:
            continue
        errors = [line for line in body if "Incorrect API key provided" in line]
        assert body[0].startswith("3 error(s) (errors are not scores)")
        # one line per distinct error (a 401, or the calls not sent after one), with its repeats
        assert len(errors) in (1, 2) and len(set(errors)) == len(errors), body
        assert all(re.search(r"repeats? [0-9, -]+: model call failed: ", e) for e in errors)
        said += len(errors)
    assert said <= 30 + 6  # items with both a 401 and calls not sent after it: the first few
    # the summary: each distinct error once, wrapped to 120 columns (continuations indented)
    start = next(i for i, line in enumerate(lines) if line.startswith("  error: "))
    end = next(i for i, line in enumerate(lines[start:], start)
               if not line.startswith(("  error: ", "    ")))
    assert all(len(line) <= 120 for line in lines[start:end])
    grouped: list[str] = []
    for line in lines[start:end]:
        if line.startswith("  error: "):
            grouped.append(line.removeprefix("  error: "))
        else:
            grouped[-1] += " " + line.strip()
    (line,) = grouped  # one error: the 401s and the calls not sent after them
    assert re.fullmatch(r"90 samples on 30 items \(q0000, q0001, .*\): model call failed: "
                        r"Error code: 401 - Incorrect API key provided.* \(\d+ of them not sent: "
                        r"the model's calls stopped after it\)", line), line
    assert "STOPPED" not in result.stdout.str()  # the error's line says it
    assert len(lines) < 160  # ~300 when every repeat said its error twice


def failure_sections(lines: list[str]) -> dict[str, list[str]]:
    """pytest's failure sections: the head line's title -> the lines under it."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        head = re.fullmatch(r"_{3,} (.+?) _{3,}", line)
        if head:
            current = sections.setdefault(head.group(1), [])
        elif line.startswith("====="):
            current = None
        elif current is not None:
            current.append(line)
    return sections


def test_a_server_that_is_down_is_named(project, monkeypatch):
    """The default (direct) transport names the URL it could not connect to."""
    from tests.support.openai_server import OpenAIServer

    server = OpenAIServer().start()
    url = server.base_url
    server.stop()  # nothing listens there now
    monkeypatch.setenv("OPENAI_API_KEY", server.api_key)
    pytester = project(n_items=2, repeats=2)
    result = pytester.runpytest("-p", "no:cacheprovider", f"--rft-base-url={url}",
                                "--rft-model=m", "--rft-max-retries=0")
    result.assert_outcomes(failed=4)  # two items, two gates
    result.stdout.fnmatch_lines([
        "2 error(s) (errors are not scores): repeats 0-1: model call failed: connection error: "
        f"ClientConnectorError: Connection refused (to {url}/chat/completions) (after 1 attempt)"])


def test_missing_key_is_a_clear_error(project, openai_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    pytester = project(n_items=1, repeats=1)
    result = run(pytester, openai_server, "--rft-model=m")
    # one collection error naming the model and the fix, not one failure per sample
    result.stdout.fnmatch_lines(["*model 'm' is not a registered Python model*"
                                 "OPENAI_API_KEY is not set*", "*fix: fix the name, or export "
                                 "OPENAI_API_KEY*"])
    assert result.ret != 0 and openai_server.log == []


def test_checkpoints_of_a_fine_tuning_job_are_compared_side_by_side(project, openai_server):
    """--rft-checkpoints lists the job's checkpoints (paginated) and tests each one against the
    base model: the RFT workflow's last step, in one command."""
    base = "ft:o4-mini-2025-04-16:acme:arith:AbC123"
    steps = (10, 20, 30)
    openai_server.page_limit = 2  # three checkpoints over two pages
    openai_server.add_checkpoints("ftjob-AbC123", [
        {"object": "fine_tuning.job.checkpoint", "id": f"ftckpt_{step}", "step_number": step,
         "fine_tuned_model_checkpoint": f"{base}:ckpt-step-{step}", "fine_tuning_job_id":
         "ftjob-AbC123", "created_at": 1700000000 + step, "metrics": {}}
        for step in reversed(steps)])  # the API lists newest first

    def by_model(body):  # step 10 is a poor checkpoint, the others answer right
        return json.dumps({"answer": "0"}) if body["model"].endswith("-10") else policy(body)

    openai_server.policy = by_model
    pytester = project(n_items=30, repeats=1)
    result = run(pytester, openai_server, "--rft-model", "o4-mini", "--rft-checkpoints",
                 "ftjob-AbC123", "--rft-baseline-model", "o4-mini", "-v")  # -v: side by side
    pages = [p for p in openai_server.get_log if "/checkpoints" in p]
    assert len(pages) == 2 and "after=ftckpt_20" in pages[1]
    models = {body["model"] for body in openai_server.bodies("/v1/chat/completions")}
    assert models == {"o4-mini", *(f"{base}:ckpt-step-{s}" for s in steps)}
    result.stdout.fnmatch_lines([
        "*arith: models side by side*",
        "metric*o4-mini*ckpt-step-10*ckpt-step-20*ckpt-step-30",
        "paired deltas vs o4-mini *",
        f"{base}:ckpt-step-10 * exact.mean * -0.9667 *<0.001*"])
    # the poor checkpoint fails its absolute gate; the others pass
    failed = [line for line in result.stdout.lines if line.startswith("FAILED")]
    assert failed and all("ckpt-step-10" in line for line in failed)


def test_regrade_replays_recorded_outputs_without_calling_the_model(project, openai_server,
                                                                     tmp_path):
    pytester = project(n_items=6, repeats=2)
    report = tmp_path / "first.json"
    assert run(pytester, openai_server, "--rft-model=m", f"--rft-report={report}").ret == 0
    calls = len(openai_server.bodies())
    # change the grader: exact match becomes "contains the digit 1"
    suite = pytester.path / "rft_arith.yaml"
    suite.write_text(suite.read_text().replace(
        'reference: "{{ item.expected }}"\n    operation: eq',
        'reference: "1"\n    operation: like'))
    again = tmp_path / "regraded.json"
    result = run(pytester, openai_server, "--rft-model=m", f"--rft-regrade={report}",
                 f"--rft-report={again}")
    assert len(openai_server.bodies()) == calls  # no model call
    old, new = (json.loads(p.read_text())["suites"][0] for p in (report, again))
    for before, after in zip(old["items"], new["items"]):
        for s_old, s_new in zip(before["samples"], after["samples"]):
            assert s_new["output_text"] == s_old["output_text"]
            answer = json.loads(s_old["output_text"])["answer"]
            assert s_new["scores"]["exact"] == float("1" in answer)
    assert result.ret in (0, 1)


def test_regrading_another_models_samples_says_under_which_name(project, openai_server,
                                                                 tmp_path):
    """A report of model m regraded in a run of model n: its samples are graded as n (one
    model's file serves any model), and the run says so once; a run of m says nothing."""
    pytester = project(n_items=3, repeats=1)
    report = tmp_path / "m.json"
    run(pytester, openai_server, "--rft-model=m", f"--rft-report={report}")
    other = run(pytester, openai_server, "--rft-model=n", f"--rft-regrade={report}", "-v")
    other.stdout.fnmatch_lines([f"rft: --rft-regrade {report} has no samples of 'n': the samples "
                                "of m are graded and reported as 'n' (--rft-model m keeps their "
                                "name)"])
    same = run(pytester, openai_server, "--rft-model=m", f"--rft-regrade={report}", "-v")
    assert "has no samples of" not in same.stdout.str()
