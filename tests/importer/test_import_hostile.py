"""``pytest-rft import`` and ``--rft-checkpoints`` against hostile platforms and saved files
(issue 17): no credential leaves for another origin, no imported code runs, nothing outside
``--from`` is read, nothing of the user's is lost, no answer crashes or hangs it."""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_rft.importer import openai_api
from pytest_rft.importer.checkpoints import list_checkpoint_models
from pytest_rft.cli.main import main
from pytest_rft.core.errors import RftError
from pytest_rft.importer import import_eval, import_rft_job
from pytest_rft.importer.source import SavedSource
from tests.support import platform_fixtures as pf
from tests.support.hostile_http import Answer, HostileServer, Seen

KEY = "sk-hostile-test-key-0123456789abcdef"


def objects() -> dict[str, object]:
    """The valid platform of tests/support/platform_fixtures.py, by GET path under /v1."""
    paths: dict[str, object] = {
        f"/evals/{pf.EVAL_ID}": pf.evaluation(),
        f"/evals/{pf.EVAL_ID}/runs": [pf.chat_run()],
        f"/evals/{pf.EVAL_ID}/runs/{pf.RUN_CHAT}/output_items":
            pf.output_items(pf.RUN_CHAT, pf.CHAT_MODEL, pf.outputs()),
        f"/files/{pf.DATA_FILE}/content": pf.data_file(),
        f"/fine_tuning/jobs/{pf.JOB_ID}": pf.job(),
        f"/fine_tuning/jobs/{pf.JOB_ID}/checkpoints": pf.checkpoints(),
        "/files/file-RftValid/content": pf.rft_rows(),
    }
    return paths


def serve(paths: dict[str, object], page: int = 3):
    """A route answering like the platform (lists in cursor pages of ``page``)."""
    def route(seen: Seen) -> Answer:
        parts = urllib.parse.urlsplit(seen.path)
        value = paths.get(parts.path.removeprefix("/v1"))
        if value is None:
            return Answer.json({"error": {"message": "No such object"}}, 404)
        if isinstance(value, bytes):
            return Answer(body=value, headers={"Content-Type": "application/octet-stream"})
        if isinstance(value, list):
            query = urllib.parse.parse_qs(parts.query)
            ids = [o.get("id") for o in value]
            after = query.get("after", [None])[0]
            start = ids.index(after) + 1 if after in ids else 0
            data = value[start:start + page]
            return Answer.json({"object": "list", "data": data, "has_more":
                                start + page < len(value),
                                "last_id": data[-1]["id"] if data else None})
        return Answer.json(value)
    return route


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return KEY


def run(*args: str) -> int:
    return main(["import", *args])


# -- 1. credentials stay on their origin ------------------------------------------------------
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(status=st.sampled_from([301, 302, 303, 307, 308]),
       target=st.sampled_from(["other-port", "localhost-same-port", "localhost-other-port"]),
       hops=st.integers(0, 2), what=st.sampled_from(["eval", "file", "list", "checkpoints"]))
def test_a_redirect_to_another_origin_never_carries_the_key(key, tmp_path_factory, status,
                                                            target, hops, what):
    """Whatever the redirect (status, host name, port, after same-origin hops), the other origin
    never sees ``Authorization``; the same origin does (its answers still work)."""
    paths = objects()
    with HostileServer(serve(paths)) as other, HostileServer(lambda s: Answer()) as home:
        other_base = {"other-port": other.origin,
                      "localhost-same-port": f"http://localhost:{home.port}",
                      "localhost-other-port": f"http://localhost:{other.port}"}[target]
        wanted = {"eval": f"/v1/evals/{pf.EVAL_ID}",
                  "file": f"/v1/files/{pf.DATA_FILE}/content",
                  "list": f"/v1/evals/{pf.EVAL_ID}/runs",
                  "checkpoints": f"/v1/fine_tuning/jobs/{pf.JOB_ID}/checkpoints"}[what]

        def home_route(seen: Seen) -> Answer:
            path = urllib.parse.urlsplit(seen.path).path
            if seen.headers.get("Host", "").startswith("localhost"):
                return serve(paths)(seen)  # reached as another host name: serve, but it's cross
            if path.startswith("/hop/"):
                n = int(path.split("/")[2])
                rest = path.split("/", 3)[3]
                return Answer.redirect(f"/hop/{n - 1}/{rest}" if n > 1 else
                                       f"{other_base}/{rest}", status)
            if path == wanted:
                return Answer.redirect(f"/hop/{hops}/{wanted.lstrip('/')}" if hops else
                                       f"{other_base}{wanted}", status)
            return serve(paths)(seen)

        home.route = home_route
        client = openai_api.OpenAIClient(key, home.base_url, timeout=5, max_retries=0)
        try:
            if what == "eval":
                client.get_json(f"/evals/{pf.EVAL_ID}")
            elif what == "file":
                client.file_content(pf.DATA_FILE)
            elif what == "list":
                client.list_all(f"/evals/{pf.EVAL_ID}/runs")
            else:
                list_checkpoint_models(pf.JOB_ID, api_key=key, base_url=home.base_url)
        except RftError:
            pass  # a cross-origin answer may fail (no key there): a clean error is fine
        cross = [s for s in other.seen + home.seen if s.headers.get("Host", "").startswith(
            "localhost")] + ([] if target != "other-port" else other.seen)
        assert cross, "the redirect was not followed"
        assert all(s.authorization is None for s in cross)
        same = [s for s in home.seen if not s.headers.get("Host", "").startswith("localhost")]
        assert same and all(s.authorization == f"Bearer {key}" for s in same)


def test_same_origin_redirects_keep_working(key):
    paths = objects()

    def route(seen: Seen) -> Answer:
        if seen.path.startswith("/old/"):
            return Answer.redirect("/v1/" + seen.path.removeprefix("/old/"), 307)
        if seen.authorization != f"Bearer {key}":
            return Answer.json({"error": {"message": "no key"}}, 401)
        return serve(paths)(seen)

    with HostileServer(route) as server:
        client = openai_api.OpenAIClient(key, server.origin + "/old", max_retries=0)
        assert client.get_json(f"/evals/{pf.EVAL_ID}")["id"] == pf.EVAL_ID


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/x",
                                      "data:text/plain,hi", "javascript:alert(1)"])
def test_a_redirect_to_another_scheme_is_refused(key, tmp_path, capsys, location):
    with HostileServer(lambda s: Answer.redirect(location)) as server:
        assert run("eval", pf.EVAL_ID, "--out", str(tmp_path / "x"),
                   "--base-url", server.base_url) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and KEY not in err
    assert "non-HTTP" in err or "HTTP 302" in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("base", ["file:///etc", "ftp://host/v1", "nothing", "http://"])
def test_a_base_url_that_is_not_http_is_refused(key, tmp_path, capsys, base):
    assert run("eval", pf.EVAL_ID, "--out", str(tmp_path / "x"), "--base-url", base) == 2
    assert "not an http(s) URL" in capsys.readouterr().err


def test_error_bodies_and_urls_print_no_secret(key, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ACME_SERVICE_TOKEN", "tok-planted-secret-value-42")
    body = {"error": {"message": f"bad key {KEY}, also tok-planted-secret-value-42 and "
                                 "Bearer abc.def.ghi"}}
    with HostileServer(lambda s: Answer.json(body, 403)) as server:
        base = f"http://user:pw-planted-77@127.0.0.1:{server.port}/v1"
        assert run("eval", pf.EVAL_ID, "--out", str(tmp_path / "x"), "--base-url", base) == 2
    err = capsys.readouterr().err
    assert "HTTP 403" in err
    for secret in (KEY, "tok-planted-secret-value-42", "abc.def.ghi", "pw-planted-77"):
        assert secret not in err


# -- 2. importing runs no imported code -------------------------------------------------------
def _marker_source(marker: Path) -> str:
    return (f"open({str(marker)!r}, 'w').write('ran at load')\n"
            "import os\n"
            "def grade(sample, item):\n"
            f"    open({str(marker)!r}, 'w').write('ran in grade')\n"
            "    return 1.0\n")


@pytest.mark.parametrize("where", ["criterion", "multi", "rft-job"])
def test_importing_never_runs_a_python_grader(key, tmp_path, where):
    marker = tmp_path / "pwned"
    paths = objects()
    source = _marker_source(marker)
    evaluation = pf.evaluation()
    grader = {"type": "python", "name": "Closeness", "source": source}
    if where == "multi":
        grader = {"type": "multi", "name": "Closeness", "calculate_output": "a",
                  "graders": {"a": {"type": "python", "name": "a", "source": source}}}
    evaluation["testing_criteria"][1] = grader
    paths[f"/evals/{pf.EVAL_ID}"] = evaluation
    job = pf.job()
    job["method"]["reinforcement"]["grader"]["graders"]["close"]["source"] = source
    paths[f"/fine_tuning/jobs/{pf.JOB_ID}"] = job
    with HostileServer(serve(paths)) as server:
        args = (["rft-job", pf.JOB_ID] if where == "rft-job" else ["eval", pf.EVAL_ID])
        assert run(*args, "--out", str(tmp_path / "x"), "--base-url", server.base_url) == 0
    assert not marker.exists()
    notes = (tmp_path / "x" / "MIGRATION.md").read_text()
    assert "does not load" not in notes and " disabled**" not in notes


@pytest.mark.parametrize("body", [
    "import os\nos._exit(0)\ndef grade(s, i):\n    return 1\n",
    "while True:\n    pass\ndef grade(s, i):\n    return 1\n",
    "import time\ntime.sleep(3600)\ndef grade(s, i):\n    return 1\n",
    "raise SystemExit(3)\ndef grade(s, i):\n    return 1\n",
])
def test_grader_source_that_would_exit_or_block_at_load_does_not_touch_the_import(
        key, tmp_path, body):
    paths = objects()
    evaluation = pf.evaluation()
    evaluation["testing_criteria"][1]["source"] = body
    paths[f"/evals/{pf.EVAL_ID}"] = evaluation
    started = time.monotonic()
    with HostileServer(serve(paths)) as server:
        assert run("eval", pf.EVAL_ID, "--out", str(tmp_path / "x"),
                   "--base-url", server.base_url) == 0
    assert time.monotonic() - started < 30
    assert (tmp_path / "x" / "graders" / "closeness.json").exists()


def test_a_grader_reference_to_a_python_module_is_disabled_not_imported(key, tmp_path,
                                                                        monkeypatch):
    """A multi sub-grader given as ``"module:function"`` would be imported by the suite loader:
    the importer disables that grader instead (platform graders are JSON objects)."""
    marker = tmp_path / "imported"
    (tmp_path / "rft_evil_mod.py").write_text(f"open({str(marker)!r}, 'w')\n"
                                             "def grade(s, i):\n    return 1.0\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    paths = objects()
    evaluation = pf.evaluation()
    evaluation["testing_criteria"][1] = {"type": "multi", "name": "m", "calculate_output": "a",
                                         "graders": {"a": "rft_evil_mod:grade"}}
    paths[f"/evals/{pf.EVAL_ID}"] = evaluation
    with HostileServer(serve(paths)) as server:
        assert run("eval", pf.EVAL_ID, "--out", str(tmp_path / "x"),
                   "--base-url", server.base_url) == 0
    assert not marker.exists()
    notes = (tmp_path / "x" / "MIGRATION.md").read_text()
    assert "**Grader 'm' disabled**" in notes and "not a grader object" in notes
    suite = (tmp_path / "x" / f"rft_{pf.SUITE}.yaml").read_text()
    assert "# disabled, see MIGRATION.md: m: {file: graders/m.json}" in suite


def test_python_graders_run_when_the_suite_runs(key, pytester):
    """Validation happens at run time, as for any python grader: the source runs then."""
    marker = pytester.path / "ran"
    paths = objects()
    evaluation = pf.evaluation()
    evaluation["testing_criteria"][1]["source"] = _marker_source(marker)
    paths[f"/evals/{pf.EVAL_ID}"] = evaluation
    out = pytester.path / "imported"
    with HostileServer(serve(paths)) as server:
        assert run("eval", pf.EVAL_ID, "--out", str(out), "--base-url", server.base_url) == 0
    assert not marker.exists()
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", str(out),
        f"--rft-regrade={out / 'platform_samples.json'}")
    assert marker.exists()
    assert result.ret in (0, 1)


# -- 3. --from DIR reads inside DIR only ------------------------------------------------------
def _saved_job(folder: Path, validation: object) -> None:
    (folder / "files").mkdir(parents=True)
    job = pf.job()
    job["validation_file"] = validation
    (folder / "job.json").write_text(json.dumps(job))
    (folder / "files" / "file-RftValid.jsonl").write_bytes(pf.rft_rows())


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.one_of(
    st.sampled_from(["/proc/self/environ", "/etc/passwd", "../secret", "../../secret",
                     "files/../../secret", "..", ".", "", ".hidden", "a/b", "a\\b", "x\0y",
                     "~/secret", "file-RftValid/../../secret"]),
    st.text(min_size=1, max_size=20).map(lambda t: "../" + t),
    st.text(alphabet="./\\~", min_size=1, max_size=12)))
def test_saved_answers_name_files_inside_the_folder_only(tmp_path_factory, name):
    root = tmp_path_factory.mktemp("from")
    (root / "secret").write_text('{"messages": [{"role": "user", "content": "SECRET"}]}\n')
    saved = root / "saved"
    _saved_job(saved, name)
    try:
        out = import_rft_job(SavedSource(saved), pf.JOB_ID, root / "out",
                             stage=root / "stage")
    except RftError:
        return
    text = (out.root / out.written[0]).read_text()
    assert "SECRET" not in text
    assert not Path(name).is_absolute()


def test_a_symlink_out_of_the_folder_or_a_fifo_is_not_read(tmp_path, capsys):
    (tmp_path / "secret.jsonl").write_text('{"messages": [], "x": "SECRET"}\n')
    saved = tmp_path / "saved"
    _saved_job(saved, "file-Link")
    os.symlink(tmp_path / "secret.jsonl", saved / "files" / "file-Link.jsonl")
    assert main(["import", "rft-job", pf.JOB_ID, "--from", str(saved),
                 "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "outside the --from folder" in err and not (tmp_path / "x").exists()
    os.mkfifo(saved / "files" / "file-Fifo.jsonl")
    (saved / "job.json").write_text(json.dumps({**pf.job(), "validation_file": "file-Fifo"}))
    started = time.monotonic()
    assert main(["import", "rft-job", pf.JOB_ID, "--from", str(saved),
                 "--out", str(tmp_path / "x")]) == 2
    assert time.monotonic() - started < 10
    assert "not a regular file" in capsys.readouterr().err
    os.symlink("/proc/self/environ", saved / "eval.json")
    assert main(["import", "eval", pf.EVAL_ID, "--from", str(saved),
                 "--out", str(tmp_path / "y")]) == 2
    assert "outside the --from folder" in capsys.readouterr().err


# -- 5. --out: nothing of the user's is lost --------------------------------------------------
def test_a_non_empty_out_is_refused_without_force_and_backed_up_with_it(key, tmp_path, capsys):
    out = tmp_path / "suite"
    with HostileServer(serve(objects())) as server:
        base = ["eval", pf.EVAL_ID, "--out", str(out), "--base-url", server.base_url]
        assert run(*base) == 0
        suite_file = out / f"rft_{pf.SUITE}.yaml"
        imported = suite_file.read_text()
        edited = imported + "max_error_rate: 0.1   # my edit\n"
        suite_file.write_text(edited)
        (out / "notes.txt").write_text("mine")
        capsys.readouterr()
        assert run(*base) == 2  # refused: nothing written
        err = capsys.readouterr().err
        assert "--out is not empty" in err and "--force" in err
        assert suite_file.read_text() == edited
        assert run(*base, "--force") == 0
        assert "moved to" in capsys.readouterr().out
    backup = out / ".pytest-rft-backup" / "1" / f"rft_{pf.SUITE}.yaml"
    assert backup.read_text() == edited  # the user's edit, whole
    assert suite_file.read_text() == imported
    assert (out / "notes.txt").read_text() == "mine"  # files the import does not write: kept
    # only the changed file was backed up
    assert sorted(p.name for p in backup.parent.rglob("*") if p.is_file()) == [backup.name]


def test_a_failed_import_leaves_out_as_it_was(key, tmp_path):
    out = tmp_path / "suite"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    paths = objects()
    del paths[f"/files/{pf.DATA_FILE}/content"]  # fails half way (404 on the data file)
    with HostileServer(serve(paths)) as server:
        assert run("eval", pf.EVAL_ID, "--out", str(out), "--force",
                   "--base-url", server.base_url) == 2
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".suite.import-")]


def test_out_that_is_a_file_or_has_a_folder_where_a_file_goes(key, tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert run("eval", pf.EVAL_ID, "--out", str(tmp_path / "f")) == 2
    assert "--out is a file" in capsys.readouterr().err
    out = tmp_path / "suite"
    (out / "MIGRATION.md").mkdir(parents=True)
    with HostileServer(serve(objects())) as server:
        assert run("eval", pf.EVAL_ID, "--out", str(out), "--force",
                   "--base-url", server.base_url) == 2
    assert "is a folder in --out" in capsys.readouterr().err


# -- 12. answers of the wrong type: one clean error -------------------------------------------
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
                    | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8)


def _paths_of(value: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths_of(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths_of(v, prefix + (i,))
    return found


def _replace(value: object, path: tuple, new: object) -> object:
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)  # type: ignore[arg-type]
    copy[head] = _replace(copy[head], rest, new)  # type: ignore[index]
    return copy


def _save_eval(folder: Path, evaluation, runs, outputs, data: bytes) -> None:
    (folder / "output_items").mkdir(parents=True)
    (folder / "files").mkdir()
    (folder / "eval.json").write_text(json.dumps(evaluation))
    (folder / "runs.json").write_text(json.dumps(runs))
    (folder / "output_items" / f"{pf.RUN_CHAT}.json").write_text(json.dumps(outputs))
    (folder / "files" / f"{pf.DATA_FILE}.jsonl").write_bytes(data)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_platform_answer_is_imported_or_one_clean_error(tmp_path_factory, data):
    """Replace any node of the eval, its run, its output items or a data row with any JSON
    value: the import either works or raises RftError -- no other exception escapes."""
    which = data.draw(st.sampled_from(["eval", "run", "outputs", "row"]))
    evaluation = pf.evaluation()
    runs = [pf.chat_run()]
    outputs = pf.output_items(pf.RUN_CHAT, pf.CHAT_MODEL, pf.outputs())
    rows = [{"item": item} for item in pf.items()]
    target = {"eval": evaluation, "run": runs[0], "outputs": outputs, "row": rows}[which]
    path = data.draw(st.sampled_from(_paths_of(target)[1:]))
    changed = _replace(target, path, data.draw(JSON))
    if which == "eval":
        evaluation = changed
    elif which == "run":
        runs = [changed]
    elif which == "outputs":
        outputs = changed
    else:
        rows = changed
    root = tmp_path_factory.mktemp("wrong")
    body = b"".join(json.dumps(r).encode() + b"\n" for r in rows) if isinstance(rows, list) \
        else json.dumps(rows).encode()
    _save_eval(root / "saved", evaluation, runs, outputs, body)
    try:
        import_eval(SavedSource(root / "saved"), pf.EVAL_ID, root / "out", stage=root / "stage")
    except RftError as exc:
        assert str(exc).strip()


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_job_answer_is_imported_or_one_clean_error(tmp_path_factory, data):
    job, checkpoints = pf.job(), pf.checkpoints()
    which = data.draw(st.sampled_from(["job", "checkpoints"]))
    target = job if which == "job" else checkpoints
    path = data.draw(st.sampled_from(_paths_of(target)[1:]))
    changed = _replace(target, path, data.draw(JSON))
    root = tmp_path_factory.mktemp("job")
    saved = root / "saved"
    (saved / "files").mkdir(parents=True)
    (saved / "job.json").write_text(json.dumps(changed if which == "job" else job))
    (saved / "checkpoints.json").write_text(json.dumps(changed if which != "job" else checkpoints))
    (saved / "files" / "file-RftValid.jsonl").write_bytes(pf.rft_rows())
    try:
        import_rft_job(SavedSource(saved), pf.JOB_ID, root / "out", stage=root / "stage")
    except RftError as exc:
        assert str(exc).strip()


@pytest.mark.parametrize("answer", [
    Answer(body=b"[1, 2, 3]"), Answer(body=b"null"), Answer(body=b'"a string"'),
    Answer(body=b"{not json"), Answer(body=b"[" * 100_000), Answer(body=b"\xff\xfe garbage"),
    Answer.json({"object": "list", "data": "nope", "has_more": False}),
    Answer.json({"object": "list", "data": [1, 2], "has_more": False}),
    Answer.json({"error": {"message": ["not", "a", "string"]}}, 500),
])
def test_wrong_shapes_over_http_are_one_line(key, tmp_path, capsys, answer):
    with HostileServer(lambda s: answer) as server:
        client = openai_api.OpenAIClient(key, server.base_url, max_retries=0)
        with pytest.raises(RftError):
            client.list_all("/evals/x/runs")
        capsys.readouterr()
        assert run("eval", pf.EVAL_ID, "--out", str(tmp_path / "x"),
                   "--base-url", server.base_url) == 2
    err = capsys.readouterr().err
    assert err.startswith("pytest-rft import: ") and "Traceback" not in err


# -- 13. no hang: cursors, pages, deadline, progress ------------------------------------------
def test_a_repeating_cursor_stops_with_a_clear_error(key, tmp_path, capsys):
    page = {"object": "list", "data": [pf.chat_run()], "has_more": True,
            "last_id": pf.RUN_CHAT}
    paths = objects()
    with HostileServer(lambda s: Answer.json(page) if "/runs" in s.path
                       else serve(paths)(s)) as server:
        started = time.monotonic()
        assert run("eval", pf.EVAL_ID, "--out", str(tmp_path / "x"),
                   "--base-url", server.base_url) == 2
    assert time.monotonic() - started < 10
    assert "repeated cursor 'evalrun_1a'" in capsys.readouterr().err


def test_endless_fresh_cursors_stop_at_the_page_bound(key, monkeypatch):
    monkeypatch.setattr(openai_api, "MAX_PAGES", 25)
    counter = iter(range(10**9))

    def route(seen: Seen) -> Answer:
        n = next(counter)
        return Answer.json({"object": "list", "data": [{"id": f"o{n}"}], "has_more": True,
                            "last_id": f"o{n}"})

    with HostileServer(route) as server:
        client = openai_api.OpenAIClient(key, server.base_url, max_retries=0)
        with pytest.raises(RftError, match="more than 25 pages"):
            client.list_all("/evals/x/runs")
        assert len(server.seen) == 25


@pytest.mark.parametrize("kind", ["silent", "slow-pages", "drip"])
def test_timeout_bounds_the_whole_import(key, tmp_path, capsys, monkeypatch, kind):
    import pytest_rft.importer as importer

    monkeypatch.setattr(importer, "PROGRESS_EVERY", 0.0)
    counter = iter(range(10**9))
    paths = objects()

    def route(seen: Seen) -> Answer:
        if kind == "silent":
            return Answer(delay=30)
        if kind == "drip":
            return Answer(body=json.dumps(pf.evaluation()).encode(), drip=0.05)
        if "/runs" in seen.path:
            n = next(counter)
            return Answer(body=json.dumps({"object": "list", "data": [{"id": f"r{n}"}],
                                           "has_more": True, "last_id": f"r{n}"}).encode(),
                          delay=0.2)
        return serve(paths)(seen)

    with HostileServer(route) as server:
        started = time.monotonic()
        assert run("eval", pf.EVAL_ID, "--out", str(tmp_path / "x"), "--timeout", "2",
                   "--base-url", server.base_url) == 2
        took = time.monotonic() - started
    err = capsys.readouterr().err
    assert took < 8, took
    assert "out of time (--timeout)" in err or "timed out" in err
    if kind == "slow-pages":
        assert "pytest-rft import: GET /evals/" in err and "object(s), page" in err


def test_retry_after_cannot_outlast_the_timeout(key, tmp_path, capsys):
    answer = Answer.json({"error": {"message": "slow down"}}, 429)
    answer.headers["Retry-After"] = "3600"
    with HostileServer(lambda s: answer) as server:
        started = time.monotonic()
        assert run("eval", pf.EVAL_ID, "--out", str(tmp_path / "x"), "--timeout", "1.5",
                   "--base-url", server.base_url) == 2
        assert time.monotonic() - started < 6
    assert "--timeout" in capsys.readouterr().err


def test_an_answer_larger_than_the_cap_is_refused(key, monkeypatch):
    with HostileServer(lambda s: Answer(body=b"x" * 5000)) as server:
        client = openai_api.OpenAIClient(key, server.base_url, max_retries=0)
        client.max_json_bytes = 1000
        with pytest.raises(RftError, match="larger than 1,000 bytes"):
            client.get_json("/evals/x")


# -- 17. an imported model name is never resolved as Python -----------------------------------
@pytest.mark.parametrize("name", ["rft_evil_model:model", "os:getcwd", "rft_evil_model.sub:x"])
def test_imported_model_names_never_resolve_as_python(key, pytester, name):
    marker = pytester.path / "model-ran"
    pytester.makepyfile(rft_evil_model=f"def model(request):\n"
                                       f"    open({str(marker)!r}, 'w')\n    return 'x'\n")
    paths = objects()
    run_ = pf.chat_run()
    run_["data_source"]["model"] = name
    paths[f"/evals/{pf.EVAL_ID}/runs"] = [run_]
    job = pf.job()
    job["fine_tuned_model"] = name
    paths[f"/fine_tuning/jobs/{pf.JOB_ID}"] = job
    checkpoints = pf.checkpoints()
    checkpoints[0]["fine_tuned_model_checkpoint"] = name
    paths[f"/fine_tuning/jobs/{pf.JOB_ID}/checkpoints"] = checkpoints
    evaluation = pf.evaluation()
    evaluation["testing_criteria"].append({
        "type": "score_model", "name": "judge", "model": name, "input": [
            {"role": "user", "content": "{{ sample.output_text }}"}]})
    paths[f"/evals/{pf.EVAL_ID}"] = evaluation
    out, job_out = pytester.path / "e", pytester.path / "j"
    with HostileServer(serve(paths)) as server:
        assert run("eval", pf.EVAL_ID, "--out", str(out), "--base-url", server.base_url) == 0
        assert run("rft-job", pf.JOB_ID, "--out", str(job_out),
                   "--base-url", server.base_url) == 0
        suite_text = (out / f"rft_{pf.SUITE}.yaml").read_text()
        assert name not in suite_text.split("graders:")[0]
        assert name not in (job_out / f"rft_{pf.JOB_ID.lower()}.yaml").read_text()
        assert "**Grader 'judge' disabled**" in (out / "MIGRATION.md").read_text()
        # --rft-checkpoints reads the same names: a clean error, never an import
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", str(job_out), f"--rft-checkpoints={pf.JOB_ID}",
            f"--rft-base-url={server.base_url}")
    assert not marker.exists()
    result.stdout.fnmatch_lines(["*is not an OpenAI model name*"])
    assert result.ret != 0


def test_lone_surrogates_and_control_characters_in_platform_text(tmp_path, capsys):
    """Text the platform returns may hold lone surrogates and terminal escapes: the import
    writes files that read back, and prints no raw escape sequence."""
    evaluation = pf.evaluation()
    evaluation["name"] = "Arith \ud800 \x1b[31mred\x1b[0m\nnext"
    evaluation["testing_criteria"][0]["name"] = "Exact \udcff\x1b]0;title\x07"
    runs = [pf.chat_run()]
    runs[0]["data_source"]["input_messages"]["template"][0]["content"]["text"] = "dev \ud83d"
    rows = [{"item": {**item, "note": "\udfff"}} for item in pf.items()]
    _save_eval(tmp_path / "saved", evaluation, runs,
               pf.output_items(pf.RUN_CHAT, pf.CHAT_MODEL, pf.outputs()),
               b"".join(json.dumps(r).encode() + b"\n" for r in rows))
    assert main(["import", "eval", pf.EVAL_ID, "--from", str(tmp_path / "saved"),
                 "--out", str(tmp_path / "x")]) == 0
    printed = capsys.readouterr()
    assert "\x1b" not in printed.out + printed.err
    from pytest_rft.suite.loader import load_suite

    (suite_path,) = (tmp_path / "x").glob("rft_*.yaml")
    suite = load_suite(suite_path)
    assert suite.items[0].data["note"] == "\ufffd"  # not text: replaced, as in any output
    assert "\x1b" not in suite_path.read_text() + (tmp_path / "x" / "MIGRATION.md").read_text()


# -- no secret in what an import writes ---------------------------------------------------------
@pytest.mark.parametrize("kind", ["eval", "rft-job"])
def test_secrets_in_platform_answers_are_written_nowhere(key, tmp_path, capsys, monkeypatch,
                                                         kind):
    """The platform names criteria, graders and runs, serves grader source and data files: a
    secret of the user's environment in any of them (a key pasted into a grader's name, a data
    file that is an error page quoting the key) is masked in every file written, file names
    included (a name is masked before it is lowercased into a slug)."""
    planted = 'Db-"Pass\\w0rd-9876'
    monkeypatch.setenv("DB_PASSWORD", planted)
    leak = f"{KEY} {planted}"
    paths = objects()
    evaluation = pf.evaluation()
    for criterion in evaluation["testing_criteria"]:
        criterion["name"] = f"crit {leak}"
        if "source" in criterion:
            criterion["source"] = f"# {leak}\n" + criterion["source"]
    paths[f"/evals/{pf.EVAL_ID}"] = evaluation
    job = pf.job()
    job["method"]["reinforcement"]["grader"]["name"] = f"g {leak}"
    paths[f"/fine_tuning/jobs/{pf.JOB_ID}"] = job
    row = {"item": {"id": "leaky", "question": leak, "expected": "1"}}
    paths[f"/files/{pf.DATA_FILE}/content"] += (json.dumps(row) + "\n").encode()
    paths["/files/file-RftValid/content"] += f"<html>{leak}</html>\n".encode()  # copied as is
    ident = pf.EVAL_ID if kind == "eval" else pf.JOB_ID
    with HostileServer(serve(paths)) as server:
        code = run(kind, ident, "--out", str(tmp_path / "x"), "--base-url", server.base_url)
    said = capsys.readouterr()
    assert code == 0, said
    forms = {KEY, planted, json.dumps(planted)[1:-1], KEY.lower(), "hostile-test-key"}
    written = {str(p.relative_to(tmp_path)): p.read_text("utf-8", "replace")
               for p in (tmp_path / "x").rglob("*") if p.is_file()}
    assert written and "MIGRATION.md" in {Path(p).name for p in written}
    for name, text in {**written, "out": said.out, "err": said.err}.items():
        assert not [f for f in forms if f in name or f in text], (name, text[:2000])
