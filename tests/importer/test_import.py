"""``pytest-rft import``: OpenAI evals and RFT jobs -> suites, over real HTTP to the local server."""

from __future__ import annotations

import asyncio
import datetime
import json
import re
import urllib.request
from pathlib import Path

import pytest

from pytest_rft.store import baseline
from pytest_rft.backends.base import CallError
from pytest_rft.backends.replay import ReplayBackend, load_replay
from pytest_rft.cli.main import main
from pytest_rft.core.errors import RftError
from pytest_rft.importer.platform_data import strip_uuid
from pytest_rft.importer.schema_check import problems
from pytest_rft.importer.checkpoints import list_checkpoint_models
from pytest_rft.core.records import Request
from pytest_rft.backends.calls import CallContext, RunSettings
from pytest_rft.core.records import SuiteRun
from pytest_rft.sampling.runner import run_all
from pytest_rft.suite.loader import load_suite
from tests.support import platform_fixtures as pf
from tests.support.openai_server import last_user_content


@pytest.fixture
def platform(openai_server, monkeypatch):
    """The local server holding the platform objects; lists come in pages of 3."""
    pf.install(openai_server)
    openai_server.page_limit = 3
    monkeypatch.setenv("OPENAI_API_KEY", openai_server.api_key)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return openai_server


SAMPLES_FILE = "platform_samples.json"


def run_import(server, *args: str) -> int:
    return main(["import", *args, "--base-url", server.base_url])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def suite_of(folder: Path):
    (path,) = folder.glob("rft_*.yaml")
    return load_suite(path)


# -- saving the objects the way docs/migrating.md says (curl -s ... > file) --------------------
def _get(server, path: str) -> bytes:
    request = urllib.request.Request(server.base_url + path,
                                     headers={"Authorization": f"Bearer {server.api_key}"})
    with urllib.request.urlopen(request) as answer:
        return answer.read()


def _pages(server, path: str) -> bytes:
    """Every page of a list; several pages are saved as a JSON array of list responses."""
    pages, after = [], ""
    while True:
        page = json.loads(_get(server, f"{path}?limit=100{after}"))
        pages.append(page)
        if not page["has_more"]:
            break
        after = f"&after={page['last_id']}"
    return json.dumps(pages[0] if len(pages) == 1 else pages).encode()


def save_eval(server, folder: Path, eval_id: str, run_id: str, file_ids: list[str]) -> None:
    (folder / "output_items").mkdir(parents=True)
    (folder / "files").mkdir()
    (folder / "eval.json").write_bytes(_get(server, f"/evals/{eval_id}"))
    (folder / "runs.json").write_bytes(_pages(server, f"/evals/{eval_id}/runs"))
    (folder / "output_items" / f"{run_id}.json").write_bytes(
        _pages(server, f"/evals/{eval_id}/runs/{run_id}/output_items"))
    for file_id in file_ids:
        (folder / "files" / f"{file_id}.jsonl").write_bytes(_get(server, f"/files/{file_id}/content"))


# -- import eval ------------------------------------------------------------------------------
def test_import_eval_writes_a_suite_that_runs_unchanged(platform, tmp_path, capsys):
    out = tmp_path / "evals"
    assert run_import(platform, "eval", pf.EVAL_ID, "--out", str(out)) == 0
    assert sorted(snapshot(out)) == [
        "MIGRATION.md", f"baselines/{pf.SUITE}.json", "data/items.jsonl", "graders/closeness.json",
        "graders/exact-answer.json", "platform_samples.json", f"rft_{pf.SUITE}.yaml"]
    assert "1 thing(s) did not move" in capsys.readouterr().out
    suite = suite_of(out)
    config = suite.config
    # the latest *completed* run (the newer in-progress run is skipped)
    assert config.model == pf.CHAT_MODEL and config.api == "chat"
    assert config.sampling.model_dump(exclude_none=True) == {
        "max_output_tokens": 64, "seed": 42, "temperature": 0.7, "top_p": 1.0}
    assert suite.response_schema == {"name": "Answer", "schema": pf.ANSWER_SCHEMA, "strict": True}
    assert suite.prompt == [{"role": "developer", "content": 'Answer with JSON: {"answer": "<n>"}.'},
                            {"role": "user", "content": "{{item.question}}"}]
    # criteria -> graders, names without the uuid suffix, JSON verbatim otherwise
    assert list(config.graders) == ["Exact answer", "Closeness"]
    assert suite.primary == "Exact answer" and config.pass_threshold == 0.5
    exact, close = pf.evaluation()["testing_criteria"]
    assert json.loads((out / "graders/exact-answer.json").read_text()) == {
        **{k: v for k, v in exact.items() if k != "id"}, "name": "Exact answer"}
    assert json.loads((out / "graders/closeness.json").read_text()) == {
        k: v for k, v in close.items() if k != "id"}
    assert [(g.metric, g.baseline, g.max_drop) for g in config.gates] == [
        ("Exact answer.mean", True, 0.02), ("pass_rate", True, 0.05)]
    # the data file, as pytest-rft reads it
    assert [item.id for item in suite.items] == pf.local_ids()
    assert [item.data for item in suite.items] == pf.items()
    # output items were read page by page (8 items, pages of 3)
    pages = [p for p in platform.get_log if f"/runs/{pf.RUN_CHAT}/output_items" in p]
    assert len(pages) == 3 and "after=outputitem_evalrun_1a_005" in pages[-1]


def test_the_baseline_holds_the_platform_scores_by_item(platform, tmp_path):
    out = tmp_path / "evals"
    run_import(platform, "eval", pf.EVAL_ID, "--out", str(out))
    suite = suite_of(out)
    base = baseline.read(out / "baselines" / f"{pf.SUITE}.json")
    assert (base.suite, base.model, base.repeats, base.primary, base.pass_threshold) == (
        pf.SUITE, pf.CHAT_MODEL, 1, "Exact answer", 0.5)
    assert base.created == datetime.datetime(2025, 6, 15, 15, 11, 40,
                                             tzinfo=datetime.timezone.utc).isoformat()
    assert base.source == f"openai eval {pf.EVAL_ID} run {pf.RUN_CHAT}"
    assert base.digests == baseline.suite_digests(suite, suite.sampling_for_model(pf.CHAT_MODEL), 1)
    assert sorted(base.items) == sorted(pf.local_ids())
    for item, text in zip(suite.items, pf.outputs()):
        got = base.items[item.id]
        assert got.digest == baseline.item_digest(item)
        if text is None:  # the platform's sample failed: an error, not a zero
            assert (got.errors, got.n, got.passes, got.scores) == (1, 0, 0, {})
            continue
        want = pf.true_scores(text, item.data["expected"])
        assert {k: v["mean"] for k, v in got.scores.items()} == pytest.approx(want)
        assert all(v["n"] == 1 and v["std"] == 0.0 for v in got.scores.values())
        assert (got.n, got.errors, got.passes) == (1, 0, int(want["Exact answer"] >= 0.5))


def test_migration_notes_list_what_did_not_move(platform, tmp_path):
    out = tmp_path / "chat"
    run_import(platform, "eval", pf.EVAL_ID, "--out", str(out))
    notes = (out / "MIGRATION.md").read_text()
    assert "## What did not move (1)" in notes
    assert re.search(r"item_schema.*data line 6: item\.expected: expected string, got integer",
                     notes)

    run_import(platform, "eval", pf.EVAL_ID, "--run", pf.RUN_RESPONSES, "--out", str(tmp_path / "r"))
    notes = (tmp_path / "r" / "MIGRATION.md").read_text()
    assert "image input left out" in notes
    suite = suite_of(tmp_path / "r")
    assert suite.config.api == "responses" and suite.config.model == pf.BASE_MODEL
    assert suite.config.sampling.model_dump(exclude_none=True) == {
        "max_output_tokens": 256, "reasoning_effort": "low", "seed": 7}
    assert suite.prompt[1] == {"role": "user", "content": "{{item.question}}"}
    assert suite.response_schema["name"] == "Answer"

    out2 = tmp_path / "tone"
    assert run_import(platform, "eval", pf.EVAL2_ID, "--out", str(out2)) == 0
    notes = (out2 / "MIGRATION.md").read_text()
    for expected in ("'logs' data source config", "'stored_completions' data source",
                     "Grader 'Polite' (score_model)", "Grader 'Topic' (label_model)",
                     "an LLM judge: every sample costs a call to 'o3-mini'"):
        assert expected in notes, expected
    # still written verbatim, and the item_reference messages became the records' prompt
    assert json.loads((out2 / "graders/polite.json").read_text())["type"] == "score_model"
    rows = [json.loads(line) for line in (out2 / "data/items.jsonl").read_text().splitlines()]
    assert [r["messages"] for r in rows] == [r["datasource_item"]["input"]
                                             for r in pf.stored_outputs()]
    assert "The suite does not load yet" not in notes
    suite = suite_of(out2)  # judge graders load (and run through the judge model)
    assert [g.model for g in suite.graders] == ["o3-mini", "gpt-4o-mini"]


def test_saved_files_give_byte_identical_output(platform, tmp_path):
    api, offline, saved = tmp_path / "api", tmp_path / "offline", tmp_path / "saved"
    assert run_import(platform, "eval", pf.EVAL_ID, "--out", str(api)) == 0
    save_eval(platform, saved, pf.EVAL_ID, pf.RUN_CHAT, [pf.DATA_FILE])
    assert isinstance(json.loads((saved / "runs.json").read_text()), list)  # several pages
    requests = len(platform.get_log)
    assert main(["import", "eval", pf.EVAL_ID, "--out", str(offline), "--from", str(saved)]) == 0
    assert len(platform.get_log) == requests  # no API call
    assert snapshot(offline) == snapshot(api)

    job_api, job_offline, job_saved = tmp_path / "job-api", tmp_path / "job-off", tmp_path / "js"
    assert run_import(platform, "rft-job", pf.JOB_ID, "--out", str(job_api)) == 0
    (job_saved / "files").mkdir(parents=True)
    (job_saved / "job.json").write_bytes(_get(platform, f"/fine_tuning/jobs/{pf.JOB_ID}"))
    (job_saved / "checkpoints.json").write_bytes(
        _pages(platform, f"/fine_tuning/jobs/{pf.JOB_ID}/checkpoints"))
    (job_saved / "files" / "file-RftValid.jsonl").write_bytes(
        _get(platform, "/files/file-RftValid/content"))
    assert main(["import", "rft-job", pf.JOB_ID, "--out", str(job_offline),
                 "--from", str(job_saved)]) == 0
    assert snapshot(job_offline) == snapshot(job_api)


def test_importing_twice_gives_the_same_bytes(platform, tmp_path):
    out = tmp_path / "x"
    run_import(platform, "eval", pf.EVAL_ID, "--out", str(out))
    first = snapshot(out)
    assert run_import(platform, "eval", pf.EVAL_ID, "--out", str(out), "--force") == 0
    assert snapshot(out) == first  # and nothing backed up: nothing changed
    run_import(platform, "eval", pf.EVAL_ID, "--out", str(tmp_path / "y"))
    assert snapshot(tmp_path / "y") == first


@pytest.mark.parametrize("run_id", [pf.RUN_CHAT, pf.RUN_JSONL])
def test_regrading_the_platform_samples_reproduces_its_scores(platform, tmp_path, run_id):
    out = tmp_path / "x"
    run_import(platform, "eval", pf.EVAL_ID, "--run", run_id, "--out", str(out))
    suite = suite_of(out)
    (model,) = suite.default_models()  # a jsonl run: "recorded", answered from the samples
    base = baseline.read(out / "baselines" / f"{pf.SUITE}.json")
    backend = ReplayBackend.from_file(model, out / "platform_samples.json")
    run = SuiteRun(suite, model, items=suite.items)
    asyncio.run(run_all([run], {model: backend}, CallContext(RunSettings(max_retries=0))))
    for item in suite.items:
        (result,) = run.results[item.id]
        platform_item = base.items[item.id]
        if platform_item.errors:
            assert result.error_cause == "rate_limit_exceeded" and result.scores == {}
        else:
            assert result.error is None
            assert result.scores == pytest.approx(
                {k: v["mean"] for k, v in platform_item.scores.items()})
    if run_id == pf.RUN_JSONL:  # pre-computed samples: graded as recorded, no prompt needed
        assert (model, suite.config.recorded, suite.prompt) == ("recorded", SAMPLES_FILE, None)
        assert "calls no model" in (out / "MIGRATION.md").read_text()
        assert base.items["line-8"].scores["Exact answer"]["mean"] == 0.0


def policy(body):
    """A model that is right every time."""
    a, b = map(int, re.findall(r"\d+", last_user_content(body))[:2])
    return json.dumps({"answer": str(a + b)})


# These run pytest in a subprocess: an in-process run would first import the HTTP stack inside
# pytester's sys.modules snapshot, which drops it afterwards under later test modules' feet.
def test_pytest_runs_the_imported_suite_against_the_server(platform, pytester, tmp_path):
    out = pytester.path / "imported"
    assert run_import(platform, "eval", pf.EVAL_ID, "--out", str(out)) == 0
    platform.policy = policy
    report = tmp_path / "report.json"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", str(out),
                                           f"--rft-base-url={platform.base_url}",
                                           f"--rft-report={report}")
    bodies = platform.bodies("/v1/chat/completions")
    assert sorted(last_user_content(b) for b in bodies) == sorted(i["question"] for i in pf.items())
    assert {b["model"] for b in bodies} == {pf.CHAT_MODEL}
    assert {(b["seed"], b["max_completion_tokens"], b["temperature"]) for b in bodies} == {
        (42, 64, 0.7)}
    assert bodies[0]["messages"][0] == {"role": "developer",
                                        "content": 'Answer with JSON: {"answer": "<n>"}.'}
    assert bodies[0]["response_format"]["json_schema"]["name"] == "Answer"
    data = json.loads(report.read_text())
    (run,) = data["suites"]
    assert [i["id"] for i in run["items"]] == pf.local_ids()
    samples = [s for i in run["items"] for s in i["samples"]]
    assert all(s["error"] is None and s["scores"]["Exact answer"] == 1.0 for s in samples)
    # 8 items, the two baseline gates (compared with the platform run) and the error gate
    result.assert_outcomes(passed=len(pf.PAIRS) + 3)


def test_a_worse_model_fails_the_imported_baseline_gates(platform, pytester):
    out = pytester.path / "imported"
    run_import(platform, "eval", pf.EVAL_ID, "--out", str(out))
    platform.policy = lambda body: json.dumps({"answer": "0"})  # wrong every time
    # the platform's eval has 8 items (7 with a platform score): too few for any baseline
    # verdict, which the gates say
    # (INCONCLUSIVE); --rft-inconclusive=fail makes that fail the build
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", str(out), "-v",
                                           f"--rft-base-url={platform.base_url}",
                                           "--rft-inconclusive=fail")
    result.assert_outcomes(passed=len(pf.PAIRS) + 1, failed=2)
    result.stdout.fnmatch_lines(["*gate?Exact answer.mean*baseline*FAILED*INCONCLUSIVE*",
                                 "*gate?pass_rate*baseline*FAILED*INCONCLUSIVE*"])
    result.stdout.fnmatch_lines(["*only 7 paired item(s): a verdict needs at least 10*"])


def test_regrade_flag_scores_the_platform_samples_as_the_platform_did(platform, pytester,
                                                                      tmp_path):
    """`pytest DIR --rft-regrade DIR/platform_samples.json`: no model call, and every item's
    score equals the platform's (the imported baseline): paired deltas are exactly 0."""
    out = pytester.path / "imported"
    assert run_import(platform, "eval", pf.EVAL_ID, "--out", str(out)) == 0
    report = tmp_path / "regraded.json"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", str(out),
                                           f"--rft-regrade={out / 'platform_samples.json'}",
                                           f"--rft-report={report}")
    assert platform.bodies("/v1/chat/completions") == []
    (run,) = json.loads(report.read_text())["suites"]
    deltas = {i["id"]: i["delta_vs_baseline"] for i in run["items"]}
    scored = {k: v for k, v in deltas.items() if v is not None}
    assert len(scored) >= len(pf.PAIRS) - 1 and all(v == pytest.approx(0.0, abs=1e-9)
                                                   for v in scored.values())
    gates = {g["label"]: g for g in run["gates"]}
    baseline_gates = [g for label, g in gates.items() if "baseline" in label]
    assert len(baseline_gates) == 2
    assert all(g["passed"] and g["delta"] == pytest.approx(0.0, abs=1e-9) for g in baseline_gates)
    assert run["comparison"]["digest_changes"] == []
    # the platform's errored sample stays an error here too (errors are not zeros)
    errored = [i["id"] for i in run["items"] if any(s["error"] for s in i["samples"])]
    result.assert_outcomes(passed=len(pf.PAIRS) - len(errored) + 2,
                           failed=len(errored) + (1 if errored else 0))


# -- import rft-job ---------------------------------------------------------------------------
def test_import_rft_job_compares_base_fine_tune_and_checkpoints(platform, tmp_path):
    platform.page_limit = 2  # three checkpoints over two pages, newest first
    out = tmp_path / "job"
    assert run_import(platform, "rft-job", pf.JOB_ID, "--out", str(out)) == 0
    suite = suite_of(out)
    assert suite.config.model == [pf.BASE_MODEL, pf.FT_MODEL, *pf.CHECKPOINTS]
    assert json.loads((out / "graders/arith.json").read_text()) == pf.rft_grader()
    assert suite.score_names == ["arith", "exact", "close"] and suite.primary == "arith"
    assert (out / suite.config.dataset).read_bytes() == pf.rft_rows()
    assert [i.id for i in suite.items] == ["v0", "v1", "v2", "v3"]
    assert suite.prompt is None and suite.items[0].messages[1]["content"] == "What is 2+3?"
    assert suite.config.repeats == 2
    assert suite.config.sampling.model_dump(exclude_none=True) == {"reasoning_effort": "medium"}
    assert suite.response_schema == {"name": "Answer", "schema": pf.ANSWER_SCHEMA, "strict": True}
    notes = (out / "MIGRATION.md").read_text()
    # o4-mini and its fine-tunes are retired: the one thing to act on, dated
    assert "## What did not move (1)" in notes and "**Retired: o4-mini (2026-10-23)**" in notes


def test_pytest_runs_the_imported_rft_job_as_a_checkpoint_comparison(platform, pytester):
    out = pytester.path / "job"
    assert run_import(platform, "rft-job", pf.JOB_ID, "--out", str(out)) == 0

    def by_model(body):  # the base model and the first checkpoint are wrong, the rest right
        wrong = body["model"] == pf.BASE_MODEL or body["model"].endswith("ckpt-step-10")
        return json.dumps({"answer": "0"}) if wrong else policy(body)

    platform.policy = by_model
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", str(out),
                                           f"--rft-base-url={platform.base_url}",
                                           "-v")  # -v: the side-by-side tables
    bodies = platform.bodies("/v1/chat/completions")
    models = [pf.BASE_MODEL, pf.FT_MODEL, *pf.CHECKPOINTS]
    assert {b["model"] for b in bodies} == set(models)
    assert len(bodies) == len(models) * 4 * 2  # 4 validation rows x eval_samples 2
    assert {b["reasoning_effort"] for b in bodies} == {"medium"}
    result.stdout.fnmatch_lines(["*: models side by side*",
                                 f"metric*{pf.BASE_MODEL}*{pf.FT_MODEL}*ckpt-step-10*",
                                 f"paired deltas vs {pf.BASE_MODEL} *",
                                 f"{pf.FT_MODEL} * arith.mean * +*"])


def test_rft_job_without_validation_file_uses_training_data_and_says_so(platform, tmp_path,
                                                                        capsys):
    out = tmp_path / "job"
    assert run_import(platform, "rft-job", pf.JOB_NO_VALID, "--out", str(out)) == 0
    assert "no validation file" in capsys.readouterr().err
    assert suite_of(out).config.dataset == "data/training.jsonl"
    assert "Training data as the dataset" in (out / "MIGRATION.md").read_text()


@pytest.mark.parametrize("status,fix", [
    ("running", "import again once the job has succeeded"),
    ("succeeded", "add it to 'model:' by hand"),  # "import again once succeeded" would loop
])
def test_a_job_without_a_fine_tuned_model_says_what_to_do_for_its_status(platform, tmp_path,
                                                                         status, fix):
    unfinished = {**pf.job("ftjob-unfinished"), "fine_tuned_model": None, "status": status}
    platform.add_job(unfinished)
    platform.add_checkpoints("ftjob-unfinished", pf.checkpoints("ftjob-unfinished"))
    out = tmp_path / "job"
    assert run_import(platform, "rft-job", "ftjob-unfinished", "--out", str(out)) == 0
    notes = (out / "MIGRATION.md").read_text()
    assert "No fine-tuned model yet" in notes and f"the job is {status}" in notes
    assert fix in notes
    assert pf.FT_MODEL not in suite_of(out).config.model[:2]  # base model, then checkpoints


def test_list_checkpoint_models_orders_by_step(platform):
    platform.page_limit = 1
    assert list_checkpoint_models(pf.JOB_ID, api_key=platform.api_key,
                                  base_url=platform.base_url) == pf.CHECKPOINTS
    assert sum("/checkpoints" in p for p in platform.get_log) == 3


# -- mistakes a user can make -----------------------------------------------------------------
def test_a_wrong_key_is_one_message_without_the_key(platform, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-secret-0123456789")
    assert run_import(platform, "eval", pf.EVAL_ID, "--out", str(tmp_path / "x")) == 2
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "fix: check OPENAI_API_KEY" in err
    assert "sk-wrong-secret" not in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("args,message", [
    (["eval", "eval_nope"], "HTTP 404"),
    (["eval", pf.EVAL_ID, "--run", "evalrun_nope"], "has no run 'evalrun_nope'"),
    (["rft-job", "ftjob-nope"], "HTTP 404"),
])
def test_unknown_ids_are_clear_errors(platform, tmp_path, capsys, args, message):
    assert run_import(platform, *args, "--out", str(tmp_path / "x")) == 2
    assert message in capsys.readouterr().err


def test_missing_key_and_bad_saved_folder(platform, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY")
    assert run_import(platform, "eval", pf.EVAL_ID, "--out", str(tmp_path / "x")) == 2
    assert "OPENAI_API_KEY is not set" in capsys.readouterr().err
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "eval.json").write_text(json.dumps(pf.evaluation2()))
    assert main(["import", "eval", pf.EVAL_ID, "--out", str(tmp_path / "x"),
                 "--from", str(saved)]) == 2
    assert f"not '{pf.EVAL_ID}'" in capsys.readouterr().err


def test_no_completed_run_is_an_error(platform, tmp_path, capsys):
    platform.platform_objects[f"/evals/{pf.EVAL_ID}/runs"] = [pf.running_run()]
    assert run_import(platform, "eval", pf.EVAL_ID, "--out", str(tmp_path / "x")) == 2
    assert f"no completed run ({pf.RUN_RUNNING} (in_progress))" in capsys.readouterr().err


# -- pieces -----------------------------------------------------------------------------------
def _request(item_id: str, repeat: int = 0, suite: str = "s") -> Request:
    return Request(model="m", messages=[], response_schema=None, sampling={}, item={},
                   item_id=item_id, repeat=repeat, suite=suite)


def test_replay_backend_answers_recorded_samples_only(tmp_path):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"suites": [
        {"suite": "s", "model": "a", "items": [
            {"id": "i1", "samples": [{"repeat": 0, "output_text": "yes", "finish_reason": "stop"},
                                     {"repeat": 1, "output_text": None, "error": "boom",
                                      "error_cause": "http 500"}]}]},
        {"suite": "s", "model": "b", "items": [
            {"id": "i1", "samples": [{"repeat": 0, "output_text": "no"}]}]}]}))
    with pytest.raises(RftError, match="recorded twice"):
        load_replay(path)
    backend = ReplayBackend("m", load_replay(path, model="a"))
    completion = asyncio.run(backend.complete(_request("i1")))
    assert completion.output_text == "yes" and completion.finish_reason == "stop"
    with pytest.raises(CallError) as failed:
        asyncio.run(backend.complete(_request("i1", repeat=1)))
    assert failed.value.cause == "http 500"
    for request in (_request("i2"), _request("i1", suite="other"), _request("i1", repeat=2)):
        with pytest.raises(CallError) as missing:
            asyncio.run(backend.complete(request))
        assert missing.value.cause == "not recorded"
    assert asyncio.run(ReplayBackend("m", load_replay(path, model="b")).complete(
        _request("i1"))).output_text == "no"


def test_names_and_schema_checks():
    assert strip_uuid(pf.EXACT_ID) == "Exact answer"
    assert strip_uuid("Keep-me-1234") == "Keep-me-1234"
    schema = pf.evaluation()["data_source_config"]["schema"]["properties"]["item"]
    assert problems({"question": "q", "expected": "1"}, schema) == []
    assert problems({"question": 3}, schema) == [
        "item: missing required field 'expected'", "item.question: expected string, got integer"]
