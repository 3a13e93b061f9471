"""The docs stay true to the code: docs/options.md is generated from the OPTIONS table, every
relative link in README.md and docs/*.md resolves (file and heading), and the suite reference
lists every key a suite file takes."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import unquote

import pytest

from pytest_rft.plugin import options

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         ROOT / "benchmarks" / "README.md"]


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


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation other than '-'
    and '_' removed, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = text.replace("`", "").replace("*", "").strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading's slug in a Markdown file (fenced blocks skipped; repeats get -1, -2)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6} (.+)", line)):
            base = slug(m.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    found |= set(re.findall(r'<a (?:name|id)="([^"]+)"', page.read_text(encoding="utf-8")))
    return found


def test_the_slug_rules():
    assert slug("Regressions against a baseline") == "regressions-against-a-baseline"
    assert slug("A suite file, walked through") == "a-suite-file-walked-through"
    assert slug("Offline: `--from DIR`") == "offline---from-dir"
    assert slug("CI recipe (GitHub Actions)") == "ci-recipe-github-actions"
    assert slug("Tools and agents") == "tools-and-agents"


LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def links(page: Path) -> list[str]:
    """The targets of the Markdown links and images of a page, outside code blocks and spans."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    text = re.sub(r"`[^`\n]*`", "", text)
    return [a or b for a, b in LINK.findall(text)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    for target in links(page):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / unquote(path)).resolve() if path else page
        assert file.exists(), f"{page.relative_to(ROOT)}: link to {target!r}: no such file"
        assert ROOT in file.parents or file == ROOT, f"{target!r} leaves the project"
        if anchor:
            assert file.suffix == ".md", f"{page.relative_to(ROOT)}: anchor into {file.name}"
            assert anchor in anchors(file), (
                f"{page.relative_to(ROOT)}: link to {target!r}: no heading with that slug in "
                f"{file.relative_to(ROOT)}")


def test_the_readme_links_every_docs_page():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in links(ROOT / "README.md")}
    pages = {page.resolve() for page in PAGES if page != ROOT / "README.md"}
    assert not pages - linked, f"not linked from README.md: {sorted(map(str, pages - linked))}"


def test_the_suite_reference_lists_every_suite_key():
    from pytest_rft.suite.loader import SuiteConfig

    text = (ROOT / "docs" / "suite-reference.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (`\w+`(?:, `\w+`)*) \|", text, re.M)
    listed = {key for row in rows for key in re.findall(r"`(\w+)`", row)}
    assert set(SuiteConfig.model_fields) <= listed, set(SuiteConfig.model_fields) - listed


def test_the_walkthrough_is_the_example_suite():
    """The suite walked through is example_suite/rft_eurovoc.yaml, key for key."""
    import yaml

    text = (ROOT / "docs" / "suite-reference.md").read_text(encoding="utf-8")
    walked = re.search(r"This is `example_suite/rft_eurovoc.yaml`:\n\n```yaml\n(.*?)^```", text,
                       re.S | re.M)
    assert walked, "the walk-through block follows 'This is `example_suite/rft_eurovoc.yaml`:'"
    real = (ROOT / "example_suite" / "rft_eurovoc.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(walked.group(1)) == yaml.safe_load(real)


PROJECT_PATH = re.compile(r"`((?:pytest_rft|tests|benchmarks|example_suite|tools|docs|\.ci)/[^`\s*]*)`")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_project_path_the_docs_name_exists(page):
    """A module, test or script named in code font (`pytest_rft/core/secrets.py`) exists: the
    docs follow the code when it moves."""
    text = page.read_text(encoding="utf-8")
    missing = sorted({path for path in PROJECT_PATH.findall(text)
                      if not (ROOT / path.split("::")[0]).exists()})
    assert not missing, f"{page.relative_to(ROOT)} names paths that don't exist: {missing}"
