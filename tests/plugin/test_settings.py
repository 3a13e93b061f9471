"""``Settings``: every ``--rft-*`` option read once at configure (command line, then ini, then
the default), frozen, and checked."""

from __future__ import annotations

import dataclasses

import pytest

from pytest_rft.plugin.options import DEFAULTS, OPTIONS
from pytest_rft.plugin.settings import Settings, field_name, settings_of


def test_every_option_is_a_field_with_the_options_default():
    assert [field_name(n) for n, _, _ in OPTIONS] == [f.name for f in dataclasses.fields(Settings)]
    defaults = Settings()
    for name, value in DEFAULTS.items():
        expected = tuple(value) if isinstance(value, list) else value
        assert getattr(defaults, field_name(name)) == expected, name


def test_read_once_command_line_over_ini_over_default(pytester):
    pytester.makeini("[pytest]\nrft_repeats = 3\nrft_concurrency = 2\n"
                     "rft_judge_model =\n    a\n    old=new\n")
    config = pytester.parseconfigure("--rft-model", "x", "--rft-model", "y",
                                     "--rft-concurrency", "5")
    settings = settings_of(config)
    assert settings.model == ("x", "y")
    assert settings.repeats == 3  # the ini's, converted
    assert settings.concurrency == 5  # the command line wins
    assert settings.judge_model == ("a", "old=new")
    assert settings.timeout == 60.0 and settings.batch_mode is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.repeats = 4  # type: ignore[misc]


@pytest.mark.parametrize("args, message", [
    (("--rft-repeats", "0"), "--rft-repeats / rft_repeats must be at least 1, got 0"),
    (("--rft-record",), "--rft-record needs --rft-cache DIR"),
    (("--rft-batch", "--rft-regrade", "r.json"), "--rft-batch and --rft-regrade exclude each other"),
    (("--rft-grader-memory", "lots"), "--rft-grader-memory / rft_grader_memory:"),
    (("--rft-timeout", "nan"), "--rft-timeout / rft_timeout must be a finite number"),
])
def test_a_bad_value_is_one_usage_error(pytester, args, message):
    with pytest.raises(pytest.UsageError, match="^" + message.replace("(", r"\(")
                       .replace(")", r"\)")):
        pytester.parseconfigure(*args)


def test_a_bad_ini_value_names_its_key(pytester):
    pytester.makeini("[pytest]\nrft_limit = many\nrft_inconclusive = maybe\n")
    with pytest.raises(pytest.UsageError, match="ini key rft_limit = 'many': expected int"):
        pytester.parseconfigure()
    pytester.makeini("[pytest]\nrft_inconclusive = maybe\n")
    with pytest.raises(pytest.UsageError, match="rft_inconclusive must be one of pass, fail, "
                                                "exit2, got 'maybe'"):
        pytester.parseconfigure()
