"""Hostile files and values read at run time (baselines, caches, --rft-regrade and
--rft-batch-import files, records, names and paths): whatever they hold, the outcome is a valid
result or one clean RftError naming the file and the field, never another exception."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_rft.store import baseline as baseline_io
from pytest_rft.core import files
from pytest_rft.backends import cache
from pytest_rft.batch.files import parse_output
from pytest_rft.backends.python_backend import PythonBackend
from pytest_rft.backends.replay import ReplayBackend, load_replay
from pytest_rft.suite.dataset import load_items, plain_record
from pytest_rft.core.errors import RftError
from pytest_rft.core.records import Request

from tests.support.projects import QA_CONFTEST as CONFTEST
from tests.support.projects import QA_SUITE as SUITE
from tests.support.projects import write_qa_project

WIDE = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
                    | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c,
                                                                        max_size=4),
                    max_leaves=12)


def _clean(error: RftError) -> None:
    text = str(error)
    assert text and "Traceback" not in text and len(text.splitlines()) <= 4, text


# -- baselines --------------------------------------------------------------------------------
GOOD_BASELINE = {
    "schema_version": 1, "kind": "pytest-rft-baseline", "suite": "qa", "model": "m",
    "repeats": 2, "primary": "exact", "pass_threshold": 0.5, "created": "", "digests": {},
    "plugin_version": "x", "source": "pytest-rft",
    "items": {"q1": {"scores": {"exact": {"mean": 1.0, "std": 0.0, "min": 1.0, "max": 1.0,
                                          "n": 2}}, "passes": 2, "n": 2, "errors": 0,
                     "digest": "ab", "stability": "stable-pass",
                     "labels": {"a": [1, 1, 1]}, "rows": [1, 1.0, 1.0, 1.0]}},
    "metrics": {"exact.mean": {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0, "n": 1}},
}


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


PATHS = [p for p in _paths(GOOD_BASELINE) if p and p[0] not in ("schema_version", "kind")]


def _replaced(data, path, value):
    data = json.loads(json.dumps(data))
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return data


def _finite_numbers(baseline) -> None:
    for item in baseline.items.values():
        assert isinstance(item.passes, int) and isinstance(item.n, int)
        for score in item.scores.values():
            assert all(math.isfinite(v) for k, v in score.items() if k != "n"), score
    assert math.isfinite(baseline.pass_threshold) and isinstance(baseline.repeats, int)


@WIDE
@given(st.sampled_from(PATHS), JSON)
def test_a_baseline_with_any_value_anywhere_reads_or_is_one_error(path, value):
    """A hand-edited (or corrupted) baseline: a NaN, a string where a count goes, a list where
    an object goes, anywhere. It is read with every number finite, or refused in one line
    naming the file and the field; never another exception, never a NaN that passes gates."""
    data = _replaced(GOOD_BASELINE, path, value)
    try:
        baseline = baseline_io.from_dict(data, Path("baselines/qa.json"))
    except RftError as error:
        _clean(error)
        assert "baselines/qa.json" in str(error) and "malformed baseline" in str(error)
    else:
        _finite_numbers(baseline)


def test_a_nan_in_a_baseline_file_is_named(tmp_path):
    path = tmp_path / "qa.json"
    path.write_text(json.dumps(_replaced(GOOD_BASELINE, ("items", "q1", "scores", "exact",
                                                         "mean"), float("nan"))))
    with pytest.raises(RftError, match=r'items\["q1"\].scores.exact.mean: expected a finite '
                                       r"number, got nan"):
        baseline_io.read(path)


def test_baselines_are_written_with_normal_permissions(tmp_path):
    baseline = baseline_io.from_dict(GOOD_BASELINE)
    old = os.umask(0o022)
    try:
        baseline_io.write(tmp_path / "b" / "qa.json", baseline)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "b" / "qa.json").stat().st_mode) == 0o644


# -- replay and batch files -------------------------------------------------------------------
@WIDE
@given(JSON)
def test_any_replay_file_loads_or_is_one_error(tmp_path_factory, value):
    path = tmp_path_factory.mktemp("replay") / "r.json"
    path.write_text(json.dumps({"suites": [{"suite": "s", "model": "m", "items": [
        {"id": "q1", "samples": [value]}, value]}]} if not isinstance(value, dict) else value))
    try:
        recorded = load_replay(path)
    except RftError as error:
        _clean(error)
        return
    backend = ReplayBackend("m", recorded)
    for key in recorded:  # every recorded sample replays as a completion or a CallError
        request = Request(model="m", messages=[], response_schema=None, sampling={}, item={},
                          item_id=key[1], repeat=key[2], suite=key[0])
        try:
            completion = asyncio.run(backend.complete(request))
        except Exception as exc:  # noqa: BLE001
            assert type(exc).__name__ == "CallError", exc
        else:
            assert isinstance(completion.output_text, str)


@WIDE
@given(st.lists(st.one_of(JSON.map(json.dumps), st.text(max_size=20)), max_size=6))
def test_any_batch_output_parses_or_is_one_error(lines):
    try:
        parsed, foreign = parse_output("\n".join(lines).encode("utf-8", "surrogatepass"),
                                       "out.jsonl")
    except RftError as error:
        _clean(error)
        assert "out.jsonl:" in str(error)
    else:
        assert foreign >= 0 and all(isinstance(k, tuple) for k in parsed)


# -- the record/replay cache ------------------------------------------------------------------
@WIDE
@given(st.one_of(st.text(max_size=40), JSON.map(json.dumps)))
def test_any_cache_row_decodes_or_is_a_corrupt_row(text):
    try:
        completion = cache._decode(text)
    except cache.CorruptRow:
        return
    assert isinstance(completion.output_text, str)


def _request(item_id: str = "q1") -> Request:
    return Request(model="m", messages=[{"role": "user", "content": item_id}], response_schema=None,
                   sampling={}, item={}, item_id=item_id, repeat=0, suite="s")


def test_corrupt_rows_are_recorded_again_or_named_on_replay(tmp_path):
    backend = PythonBackend("m", lambda request: "fresh")
    store = cache.CacheStore(tmp_path)
    asyncio.run(cache.CacheBackend(backend, store).complete(_request()))
    store.close()
    db = sqlite3.connect(tmp_path / cache.FILENAME)
    db.execute("UPDATE completions SET completion = '{\"output_text\": 5}'")
    db.commit()
    db.close()
    replay = cache.CacheBackend(backend, cache.CacheStore(tmp_path, read_only=True), "replay")
    with pytest.raises(Exception, match="can't be read .*record it again with --rft-record"):
        asyncio.run(replay.complete(_request()))
    use = cache.CacheBackend(backend, cache.CacheStore(tmp_path), "use")
    assert asyncio.run(use.complete(_request())).output_text == "fresh"
    assert "1 unreadable row(s) recorded again" in use.note()


def test_a_cache_file_that_is_not_sqlite_stops_the_models_calls_in_one_line(tmp_path):
    (tmp_path / cache.FILENAME).write_bytes(b"this is not a database" * 100)
    backend = cache.CacheBackend(PythonBackend("m", lambda r: "x"), cache.CacheStore(tmp_path))
    with pytest.raises(Exception) as info:
        asyncio.run(backend.complete(_request()))
    assert getattr(info.value, "cause", "") == "cache unreadable"
    assert "delete it, or point --rft-cache at another folder" in str(info.value)


@pytest.mark.parametrize("mode", ["use", "record", "replay"])
@pytest.mark.parametrize("what", ["", "-wal", "-shm", "-journal"])
@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_cache_file_that_is_a_fifo_or_folder_is_one_line_not_a_hang(tmp_path, mode, what,
                                                                     kind):
    """SQLite opening a named pipe (the database or its -wal/-shm/-journal file) waits for a
    writer forever: it is refused before it is opened."""
    if what:
        (tmp_path / cache.FILENAME).write_bytes(b"")
    path = tmp_path / (cache.FILENAME + what)
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    store = cache.CacheStore(tmp_path, read_only=mode == "replay")
    backend = cache.CacheBackend(PythonBackend("m", lambda r: "x"), store, mode)
    if mode == "record":  # nothing read: the answer stands, not stored, and the note says so
        assert asyncio.run(backend.complete(_request())).output_text == "x"
        assert "1 not stored" in backend.note() and "not a regular file" in backend.note()
        return
    with pytest.raises(Exception) as info:
        asyncio.run(backend.complete(_request()))
    assert getattr(info.value, "cause", "") == "cache unreadable", info.value
    assert "not a regular file" in str(info.value) and str(path) in str(info.value)


class _ReadOnlyDB:
    """sqlite as it behaves on a read-only file system: reads work, writes fail."""

    def __init__(self, db):
        self.db = db

    def execute(self, sql, *args):
        if not sql.lstrip().upper().startswith("SELECT"):
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return self.db.execute(sql, *args)

    def close(self):
        self.db.close()


def test_a_read_only_cache_replays_and_stores_nothing(tmp_path, monkeypatch):
    backend = PythonBackend("m", lambda request: f"answer {request.item_id}")
    recorder = cache.CacheBackend(backend, cache.CacheStore(tmp_path), "record")
    asyncio.run(recorder.complete(_request("q1")))
    asyncio.run(recorder.aclose())
    connect = sqlite3.connect
    monkeypatch.setattr(cache.sqlite3, "connect",
                        lambda *a, **k: _ReadOnlyDB(connect(*a, **k)))
    replay = cache.CacheBackend(backend, cache.CacheStore(tmp_path, read_only=True), "replay")
    assert asyncio.run(replay.complete(_request("q1"))).output_text == "answer q1"
    use = cache.CacheBackend(backend, cache.CacheStore(tmp_path), "use")
    assert asyncio.run(use.complete(_request("q2"))).output_text == "answer q2"
    assert "WARNING: 1 not stored (read-only)" in use.note()


# -- records, names and paths -----------------------------------------------------------------
def test_yaml_records_with_odd_keys_read_as_json_would_write_them(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("- {id: a, 1: x, null: y, false: z, 2.5: [{null: 1}]}\n")
    (item,) = load_items(path)
    assert item.data == {"id": "a", "1": "x", "null": "y", "false": "z", "2.5": [{"null": 1}]}
    json.dumps(item.data, sort_keys=True)  # the digest's encoding works


@pytest.mark.parametrize("line,message", [
    ('{"id": "a", "x": "\\ud800"}', "lone surrogate"),
    ('{"id": "a", "x": ' + "[" * 300 + "]" * 300 + "}", "nested too deeply"),
])
def test_records_that_can_not_be_encoded_later_are_refused_at_their_line(tmp_path, line,
                                                                         message):
    path = tmp_path / "d.jsonl"
    path.write_text('{"id": "ok"}\n' + line + "\n")
    with pytest.raises(RftError, match=message) as info:
        load_items(path)
    assert f"{path}:2" in str(info.value)


@WIDE
@given(st.text(max_size=400))
def test_any_record_value_is_plain_or_refused(text):
    try:
        value = plain_record({"id": "a", "t": text, text: [text]}, "d.jsonl:1")
    except RftError as error:
        _clean(error)
    else:
        json.dumps(value, ensure_ascii=False).encode("utf-8")


@WIDE
@given(st.text(min_size=1, max_size=300), st.text(min_size=1, max_size=300))
def test_names_become_safe_distinct_file_names(a, b):
    for name in (a, b):
        safe = files.safe_filename(name, ".json")
        assert "/" not in safe and "\\" not in safe and "\0" not in safe
        assert safe not in (".json", "..json") and not safe.startswith(".")
        assert len(safe.encode("utf-8")) <= 255 and safe.endswith(".json")
        assert files.path_problem(Path("/tmp") / safe) is None
    if a != b:
        assert files.safe_filename(a) != files.safe_filename(b)


@pytest.mark.parametrize("kind", ["fifo", "folder", "device", "nul", "long name", "long path"])
def test_only_regular_files_with_plain_paths_are_read(tmp_path, kind):
    path = {"fifo": tmp_path / "p", "folder": tmp_path, "device": Path("/dev/zero"),
            "nul": f"{tmp_path}/a\0b", "long name": tmp_path / ("x" * 300),
            "long path": tmp_path.joinpath(*["d" * 200] * 30)}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    with pytest.raises(RftError) as info:
        files.read_text(path)
    _clean(info.value)


# -- end to end: located errors, the rest of the run goes on ----------------------------------
@pytest.fixture
def project(pytester, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_qa_project(pytester, CONFTEST, SUITE)
    return pytester


@pytest.mark.parametrize("change,message", [
    ("suite: qa", 'suite: "/tmp/../etc/x"'),
    ("suite: qa", "suite: " + "q" * 180),
])
def test_suite_names_are_safe_file_names_inside_the_baseline_folder(project, change, message):
    suite = project.path / "rft_qa.yaml"
    suite.write_text(suite.read_text().replace(change, message))
    result = project.runpytest("-p", "no:cacheprovider", "--rft-baseline-update")
    assert result.ret == 0
    (written,) = list((project.path / "baselines").iterdir())
    assert written.suffix == ".json" and written.parent == project.path / "baselines"
    assert json.loads(written.read_text())["suite"] == message.split(": ", 1)[1].strip('"')


@pytest.mark.parametrize("suite_change,data,message", [
    (("suite: qa", 'suite: "q\\0a"'), None, "suite: use a short name"),
    (("suite: qa", "suite: " + "q" * 300), None, "at most 200 characters"),
    (("repeats: 2", "repeats: 2\nsampling: {temperature: .nan}"), None,
     "sampling.temperature: Input should be a finite number"),
    (("repeats: 2", "repeats: 2\nmax_cost: .inf"), None, "max_cost: Input should be a finite"),
    (("dataset: data.jsonl", 'dataset: "da\\0ta.jsonl"'), None, "the path holds a NUL byte"),
    (("dataset: data.jsonl", "dataset: " + "d" * 300 + ".jsonl"), None,
     "bytes long (the limit is 255)"),
    (None, '{"id": "a[1]", "question": "", "expected": ""}\n{"id": "a(1)", "question": "", '
           '"expected": ""}\n', "data.jsonl:2: item id 'a(1)' becomes the test name 'a(1)', "
                                "which item 'a[1]' (line 1)"),
    (None, '{"id": "gate:exact.mean>=0.9", "question": "", "expected": ""}\n',
     "which the gate 'gate:exact.mean>=0.9' has"),
    (None, '{"id": "q\\u001b[2Jx", "question": "1?", "expected": "1"}\n', None),
])
def test_hostile_names_and_paths_are_one_located_error(project, suite_change, data, message):
    suite = project.path / "rft_qa.yaml"
    if suite_change:
        suite.write_text(suite.read_text().replace(*suite_change))
    if data:
        (project.path / "data.jsonl").write_text(data)
    result = project.runpytest("-p", "no:cacheprovider", "-v")
    out = result.stdout.str()
    assert "Traceback" not in out and "INTERNALERROR" not in out
    assert "\x1b" not in out
    if message is None:  # an escape sequence in an id: shown, not sent to the terminal
        assert "q\\x1b(2Jx[good]" in out and result.ret == 0
    else:
        assert message in out and result.ret != 0, out[-2000:]


@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_an_atomic_write_never_renames_over_what_is_not_a_regular_file(tmp_path, monkeypatch,
                                                                       kind):
    """As root, renaming a temporary file over /dev/null would replace the device with a file
    (an output named /dev/null, or /dev/full): a device is written to, a FIFO or a folder is an
    OSError at once, and nothing is renamed over either."""
    from pytest_rft.report import json_report

    target = {"device": Path("/dev/null"), "fifo": tmp_path / "p", "folder": tmp_path / "d"}[kind]
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    renamed = []
    monkeypatch.setattr(os, "replace", lambda *a: renamed.append(a))
    for write in (lambda: files.write_atomic(target, "x"),
                  lambda: json_report.write(target, [], None, exitstatus=0)):
        if kind == "device":
            write()
        else:
            with pytest.raises(OSError):
                write()
    assert renamed == []
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
