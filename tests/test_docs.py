"""The docs stay true to the code: docs/options.md is generated from the OPTIONS table."""

from __future__ import annotations

import re
from pathlib import Path

from pytest_rft import options

ROOT = Path(__file__).resolve().parent.parent


def test_docs_options_md_is_generated_from_the_options_table():
    page = ROOT / "docs" / "options.md"
    assert page.read_text(encoding="utf-8") == options.options_page(), (
        f"docs/options.md is out of date; regenerate it with:  {options.REGENERATE}")


def test_the_options_table_has_one_row_per_option_and_each_default_once():
    table = [line for line in options.options_markdown().splitlines()
             if line.startswith("| `--rft-")]
    assert [re.match(r"\| `--rft-([\w-]+)", row).group(1) for row in table] == [
        name for name, _, _ in options.OPTIONS]
    names = {name for name, _, _ in options.OPTIONS}
    # a default is either a value the code uses or a sentence about where it comes from
    assert set(options.DEFAULTS) <= names and set(options.DEFAULT_TEXT) <= names
    assert not set(options.DEFAULTS) & set(options.DEFAULT_TEXT)
    rows = {row.split(" | ")[0]: row.split(" | ") for row in table}
    assert rows["| `--rft-concurrency N`"][1:3] == ["`rft_concurrency` (int)", "16"]
    assert rows["| `--rft-api chat\\|responses`"][1] == "`rft_api` (choice)"
    assert rows["| `--rft-suite-pattern GLOB`"][1:3] == [
        "`rft_suite_pattern` (lines)", "`rft_*.yaml`, `*.rft.yaml`"]
    assert rows["| `--rft-record`"][1:3] == ["`rft_record` (bool)", "off"]


def test_pytest_help_shows_the_same_meaning_and_default(pytester):
    result = pytester.runpytest("--help")
    text = " ".join(result.stdout.str().split())
    assert "--rft-timeout=S deadline in seconds for one whole model call" in text
    assert "a timeout is retried (default: 60)" in text
    assert "--rft-api={chat,responses} OpenAI API to call (default: the suite's api, else chat)" in text
    without = pytester.runpytest("--help", "-p", "no:rft")
    assert "rft_timeout" in text and "rft_timeout" not in without.stdout.str()
    # the Markdown backticks are the docs' only: pytest's own help has the same number
    assert result.stdout.str().count("`") == without.stdout.str().count("`")
