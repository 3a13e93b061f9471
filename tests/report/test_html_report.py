"""``--rft-html``: the page of the example suite (two checkpoints, the committed baseline), read as
text and driven in headless Chromium; hostile model output; the missing-matplotlib error."""

import asyncio
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_rft.core import secrets
from pytest_rft.report import html as html_report
from tests.support.cdp import Browser, find_chromium

from pytest_rft.report import html_charts

# pytester's in-process runs drop the modules first imported inside them; matplotlib imported
# afresh after that mixes two copies of its classes (tests/store/test_history.py would then fail).
# Drawing one chart here imports every matplotlib module the report uses, once, outside them.
html_charts.histogram([0.5], 0.5, "warm-up")

EXAMPLE = Path(__file__).resolve().parents[2] / "example_suite"
MODELS = ["--rft-model", "eurovoc-clf-v2", "--rft-model", "eurovoc-clf-v1"]
MAX_BYTES = 2 * 1024 * 1024
SECTIONS = ["Verdict", "Against the baseline", "Variance study", "Per label", "Items",
            "checkpoints side by side", "Paired deltas against", "Over runs (history)",
            "Run facts"]


def no_external_reference(page: str) -> None:
    lowered = page.lower()
    for pattern in ('src="http', "src='http", 'href="http', "href='http", "@import",
                    "url(http", "url(//", 'src="//', 'href="//'):
        assert pattern not in lowered, pattern


@pytest.fixture
def example(pytester):
    shutil.copytree(EXAMPLE, pytester.path / "example_suite",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return pytester


def test_example_suite_page(example):
    result = example.runpytest("example_suite/rft_eurovoc.yaml", "-p", "no:cacheprovider", *MODELS,
                               "--rft-html", "out/report.html")
    assert result.ret == 1  # v1 fails its gates; the page is written all the same
    result.stdout.fnmatch_lines(["rft: HTML report written to out/report.html (* kB)"])
    path = example.path / "out" / "report.html"
    size = path.stat().st_size
    print(f"HTML report of the example suite (2 models x 49 items x 3 repeats): {size} bytes")
    assert 0 < size < MAX_BYTES
    page = path.read_text(encoding="utf-8")
    no_external_reference(page)
    for section in SECTIONS[:-2] + SECTIONS[-1:]:
        assert section in page, section
    assert page.count('<section class="run"') == 2
    assert page.count('class="chart"') == 5  # 2 x (items, histogram) + models side by side
    assert page.count('<details class="item"') == 2 * 49
    assert "eurovoc-level1[eurovoc-clf-v1]" in page and "INCONCLUSIVE" in page
    assert "for each of the project&#x27;s 2 suite files" in page or \
        "for each of the project's 2 suite files" in page


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The example suite's page and JSON report, written by one real pytest run."""
    root = tmp_path_factory.mktemp("html")
    shutil.copytree(EXAMPLE, root / "example_suite", ignore=shutil.ignore_patterns("__pycache__"))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "example_suite/rft_eurovoc.yaml", "-p", "no:cacheprovider", "-q",
         *MODELS, "--rft-html", "report.html", "--rft-report", "report.json",
         "--rft-history", "history.jsonl"], cwd=root, capture_output=True, text=True,
        timeout=300)
    assert (root / "report.html").is_file(), run.stdout[-3000:] + run.stderr[-3000:]
    return root


def chromium_or_skip() -> str:
    binary = find_chromium()
    if binary is None:
        reason = ("no chromium binary found (install it: apt-get install chromium, or set "
                  "RFT_CHROMIUM); the HTML report is not checked in a browser")
        print(reason)
        pytest.skip(reason)
    return binary


def in_browser(binary: str, profile: Path, url: str, script):
    async def main():
        async with Browser(binary, profile) as page:
            await page.goto(url)
            return await script(page)
    return asyncio.run(main())


def test_page_in_chromium(built, tmp_path):
    binary = chromium_or_skip()
    page_text = (built / "report.html").read_text(encoding="utf-8")
    assert "Over runs (history)" in page_text
    no_external_reference(page_text)
    report = json.loads((built / "report.json").read_text())
    v1 = next(s for s in report["suites"] if s["model"] == "eurovoc-clf-v1")
    failing = sorted(i["id"] for i in v1["items"] if i["stats"]["passed"] is False)
    assert failing
    first = failing[0]
    sample = next(i for i in v1["items"] if i["id"] == first)["samples"][0]

    async def script(page):
        out = {"charts": await page.js(
            "Array.from(document.querySelectorAll('svg.chart')).map(s => {"
            " const r = s.getBoundingClientRect(); return [r.width, r.height]; })")}
        box = "document.getElementById('items-1')"
        await page.js(f"{box}.querySelector('button[data-filter=failing]').click()")
        out["shown"] = await page.js(
            f"Array.from({box}.querySelectorAll('details.item'))"
            ".filter(d => d.checkVisibility())"
            ".map(d => d.querySelector('.iid code').textContent)")
        out["count"] = await page.js(f"{box}.querySelector('.shown').textContent")
        item = (f"Array.from({box}.querySelectorAll('details.item'))"
                f".find(d => d.querySelector('.iid code').textContent === {json.dumps(first)})")
        out["closed"] = await page.js(f"{item}.querySelector('pre.out').checkVisibility()")
        await page.js(f"{item}.querySelector('summary').click()")
        out["open"] = await page.js(f"{item}.open")
        out["outputs"] = await page.js(
            f"Array.from({item}.querySelectorAll('pre.out')).map(p => "
            "[p.textContent, p.checkVisibility() && p.getBoundingClientRect().height])")
        out["item_text"] = await page.js(f"{item}.innerText")
        await page.js(f"{box}.querySelector('button[data-filter=all]').click()")
        await page.js(f"{box}.querySelector('button[data-sort=mean]').click()")
        out["means"] = await page.js(
            f"Array.from({box}.querySelectorAll('details.item'))"
            ".map(d => Number(d.getAttribute('data-k-mean')))")
        await page.js("Array.from(document.querySelectorAll('table.labels th'))"
                      ".find(th => th.textContent === 'F1').click()")
        out["f1"] = await page.js("Array.from(document.querySelectorAll('table.labels')[0]"
                                  ".tBodies[0].rows).map(r => Number(r.cells[3].dataset.v))")
        await page.screenshot(tmp_path / "report.png")
        out["problems"] = page.problems()
        return out

    out = in_browser(binary, tmp_path / "profile", (built / "report.html").as_uri(), script)
    assert out["problems"] == []
    assert len(out["charts"]) == 6  # 2 x (items, histogram), models side by side, history
    assert all(w > 100 and h > 100 for w, h in out["charts"]), out["charts"]
    assert sorted(out["shown"]) == failing
    assert out["count"] == f"{len(failing)} shown"
    assert out["closed"] is False and out["open"] is True
    assert len(out["outputs"]) == 3 and all(h > 0 for _, h in out["outputs"])
    assert json.loads(out["outputs"][0][0]) == sample["output_json"]
    assert "repeat 0" in out["item_text"] and "f1" in out["item_text"]
    assert " ms" in out["item_text"]  # latency (the example's Python models report no tokens)
    assert out["means"] == sorted(out["means"])
    assert out["f1"] == sorted(out["f1"])
    shot = tmp_path / "report.png"
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


HOSTILE = "<script>alert(1)</script></script><img src=x onerror=alert(2)>"

CONFTEST = f'''
import json
import pytest_rft
from pytest_rft.core.records import Completion, Usage

@pytest_rft.model("hostile-model")
def hostile(request):
    if request.item_id == "q2" and request.repeat == 1:
        raise RuntimeError("backend exploded <b>")
    answer = {HOSTILE!r} + " key=" + "sk-" + "html-test-secret-0042"
    return Completion(output_text=json.dumps({{"answer": answer}}),
                      usage=Usage(input_tokens=11, output_tokens=7))
'''

SUITE = '''
suite: qa
dataset: data.jsonl
model: hostile-model
input:
  - {role: system, content: "Answer in JSON. </script><script>alert(3)</script>"}
  - {role: user, content: "Q: {{ item.question }}"}
repeats: 2
graders:
  exact:
    type: string_check
    name: exact
    input: "{{ sample.output_json.answer }}"
    reference: "{{ item.expected }}"
    operation: eq
pass_threshold: 0.5
gates:
  - {metric: exact.mean, min: 0.0}
'''


def test_hostile_output_is_shown_as_text(pytester, monkeypatch, tmp_path):
    monkeypatch.setenv("HTMLTEST_API_KEY", "sk-html-test-secret-0042")
    pytester.makeconftest(CONFTEST)
    pytester.makefile(".yaml", rft_qa=SUITE)
    rows = [{"id": "$x$ <b>bold</b>", "question": "</script><script>alert(4)</script>",
             "expected": "a"}, {"id": "q2", "question": "two", "expected": "b"}]
    pytester.makefile(".jsonl", data="\n".join(json.dumps(r) for r in rows))
    pytester.makeini("[pytest]\nrft_html = page.html\n")  # the ini key works like the option
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == 1, result.stdout.str()  # q2's failed call fails its item
    result.stdout.fnmatch_lines(["rft: HTML report written to page.html (* kB)"])
    page = (pytester.path / "page.html").read_text(encoding="utf-8")
    assert "Errors by cause" in page and "backend exploded &lt;b&gt;" in page
    assert "html-test-secret-0042" not in page
    assert page.count("<script") == 2  # the data block and the page's own script
    assert "<img" not in page and "alert(1)</script>" not in page
    no_external_reference(page)
    binary = chromium_or_skip()

    async def script(page):
        await page.js("document.querySelectorAll('details').forEach(d => d.open = true)")
        await page.js("document.querySelector('button[data-filter=errors]').click()")
        errors = await page.js("Array.from(document.querySelectorAll('details.item'))"
                               ".filter(d => !d.hidden).map(d => d.querySelector('code')"
                               ".textContent)")
        await page.js("document.querySelector('button[data-filter=all]').click()")
        return {"errors": errors, "text": await page.js("document.body.innerText"),
                "scripts": await page.js("document.scripts.length"),
                "images": await page.js("document.images.length"),
                "data": await page.js("JSON.parse(document.getElementById('rft-data')"
                                      ".textContent)"),
                "dialogs": page.dialogs(), "problems": page.problems()}

    out = in_browser(binary, tmp_path / "profile", (pytester.path / "page.html").as_uri(),
                     script)
    assert out["dialogs"] == []
    assert out["problems"] == []
    assert out["errors"] == ["q2"]
    assert out["scripts"] == 2 and out["images"] == 0
    assert HOSTILE in out["text"]
    assert "</script><script>alert(3)</script>" in out["text"]
    assert "$x$ <b>bold</b>" in out["text"]
    assert "11 in / 7 out tokens" in out["text"]
    (data,) = out["data"]["runs"]
    assert data["key"] == "qa[hostile-model]"
    assert [i["id"] for i in data["items"]] == ["$x$ <b>bold</b>", "q2"]


def test_json_script_and_scrub(monkeypatch):
    block = html_report.json_script("d", {"a": "</script><!--&"})
    assert block.count("</script>") == 1 and "<!--" not in block
    body = block[block.index(">") + 1:block.rindex("<")]
    assert json.loads(body) == {"a": "</script><!--&"}
    monkeypatch.setenv("X_API_KEY", "secret<&>value")
    assert secrets.scrub("a secret<&>value b secret&lt;&amp;&gt;value") == "a *** b ***"
    assert html_report.e("<b>") == "&lt;b&gt;"
    assert html_report.e("<secret<&>value>") == "&lt;***&gt;"  # scrubbed, then escaped
    assert "secret" not in html_report.json_script("d", {"a": "secret<&>value"})


def test_missing_matplotlib_is_one_clear_line(pytester, monkeypatch):
    def missing():
        raise ImportError("the HTML report needs matplotlib, which is not installed; fix: "
                          + html_charts.FIX)

    monkeypatch.setattr(html_charts, "require", missing)
    result = pytester.runpytest("-p", "no:cacheprovider", "--rft-html", "page.html")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*error: argument --rft-html: the HTML report needs matplotlib, "
                                 'which is not installed; fix: pip install "pytest-rft[[]html[]]"'])
    assert not (pytester.path / "page.html").exists()


def test_render_leaves_out_runs_without_summary():
    text = html_report.render([], None)
    assert text.startswith("<!DOCTYPE html>") and "Run facts" in text
    assert re.search(r"<title>pytest-rft report: PASS</title>", text)


def test_large_suite_rules(pytester, monkeypatch):
    """Past the limits, the item chart is an embedded image and only notable items (and the
    first ones) keep their outputs on the page."""
    from pytest_rft.report import html_items

    monkeypatch.setattr(html_items, "MAX_BODIES", 1)
    monkeypatch.setattr(html_charts, "RASTER_ITEMS", 1)
    pytester.makeconftest(textwrap.dedent('''
        import pytest_rft

        @pytest_rft.model("mostly-right")
        def model(request):
            return {"answer": "wrong" if request.item_id == "q3" else request.item["expected"]}
    '''))
    pytester.makefile(".yaml", rft_qa=SUITE.replace("hostile-model", "mostly-right"))
    pytester.makefile(".jsonl", data="\n".join(
        json.dumps({"id": f"q{i}", "question": str(i), "expected": "a"}) for i in range(1, 5)))
    result = pytester.runpytest("-p", "no:cacheprovider", "--rft-html", "page.html")
    assert result.ret == 0, result.stdout.str()
    page = (pytester.path / "page.html").read_text(encoding="utf-8")
    assert page.count("With more than 1 items") == 2  # q2 and q4; q1 is first, q3 fails
    assert page.count('<pre class="out">') == 2 * 2
    assert "<image" in page  # the rasterized marks
