"""One backend factory: which backend answers a model (a Python model, the API over each
transport), what wraps it (budget, then cache), and judges resolved the same way."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import pytest_rft
from pytest_rft.backends.budget import Budget, BudgetBackend
from pytest_rft.backends.cache import CacheBackend
from pytest_rft.backends.direct import DirectBackend
from pytest_rft.backends.factory import (BackendOptions, api_backend, backends_for, judge_factory,
                                         model_backend)
from pytest_rft.backends.openai_backend import OpenAIBackend
from pytest_rft.backends.python_backend import _MODELS, PythonBackend
from pytest_rft.core.records import SuiteRun


@pytest.fixture
def python_model():
    pytest_rft.model("py-model")(lambda request: "hi")
    yield "py-model"
    _MODELS.pop("py-model", None)


def test_a_registered_python_model_wins(python_model) -> None:
    backend = api_backend(python_model, BackendOptions(http_client="direct"))
    assert isinstance(backend, PythonBackend)


@pytest.mark.parametrize(("client", "kind", "transport"), [
    ("direct", DirectBackend, "direct"), ("httpx", OpenAIBackend, "httpx"),
    ("sdk", OpenAIBackend, "httpx"), ("aiohttp", OpenAIBackend, "aiohttp")])
def test_the_transport_follows_the_http_client(client, kind, transport) -> None:
    backend = api_backend("gpt-x", BackendOptions(http_client=client,
                                                  base_url="http://127.0.0.1:9/v1"))
    assert type(backend) is kind
    assert getattr(backend, "transport", None) == transport
    assert backend.base_url.rstrip("/") == "http://127.0.0.1:9/v1"


def test_a_model_under_test_is_budgeted_then_cached(tmp_path) -> None:
    options = BackendOptions(http_client="direct", cache=tmp_path / "cache", cache_mode="record")
    backend = model_backend("gpt-x", options, Budget(1000, None, {}))
    assert isinstance(backend, CacheBackend) and backend.mode == "record"
    assert isinstance(backend.inner, BudgetBackend)  # a cached answer costs nothing
    assert isinstance(backend.inner.inner, DirectBackend)
    assert isinstance(model_backend("gpt-x", BackendOptions(http_client="direct")), DirectBackend)


def test_judges_resolve_like_models_but_are_never_cached(tmp_path, python_model) -> None:
    options = BackendOptions(http_client="direct", base_url="http://127.0.0.1:9/v1",
                             cache=tmp_path / "cache")
    make = judge_factory(options)
    assert isinstance(make(python_model, None), PythonBackend)
    own = make("judge-x", "http://127.0.0.1:8/v1")
    assert isinstance(own, DirectBackend) and own.base_url == "http://127.0.0.1:8/v1"
    assert make("judge-x", None).base_url == "http://127.0.0.1:9/v1"


def test_one_backend_per_model_of_the_runs(python_model) -> None:
    suite = SimpleNamespace(name="s", recorded_path=None,
                            config=SimpleNamespace(repeats=1, api=None))
    runs = [SuiteRun(suite=suite, model=m) for m in (python_model, "gpt-x", python_model)]
    backends = backends_for(runs, BackendOptions(http_client="direct"))
    assert set(backends) == {python_model, "gpt-x"}
    assert isinstance(backends[python_model], PythonBackend)


def test_a_run_resolves_its_repeats_and_api_once() -> None:
    suite = SimpleNamespace(name="s", config=SimpleNamespace(repeats=3, api=None))
    run = SuiteRun(suite=suite, model="m")
    assert (run.repeats, run.api) == (3, "chat")
    given = SuiteRun(suite=suite, model="m", repeats=5, api="responses")
    assert (given.repeats, given.api) == (5, "responses")
    suite.config.api = "responses"
    assert SuiteRun(suite=suite, model="m").api == "responses"
