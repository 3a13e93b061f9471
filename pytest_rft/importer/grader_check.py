"""Imported graders, checked one by one without running any of them.

A grader that cannot run here (an ``endpoint`` grader, an image part in a judge's input, a
placeholder the platform accepted but pytest-rft cannot read, a type pytest-rft does not know)
is disabled, alone: it stays out of the suite's ``graders:`` (its file is written, and the
suite says why in a comment), MIGRATION.md says why and how to bring it back, and every other
grader runs. Python graders are compiled and read with ``ast``, never executed; the modules they
import are checked against what is installed.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import RftError
from ..graders import build_grader
from ..graders.grader_image import IMAGE_TAG, PACKAGES, missing_modules, nltk_download, \
    imported_modules, pip_install
from ..graders.python_grader import compile_only
from ..graders.registry import grader_type
from .guards import is_model_name
from .messages import TEXT_PARTS
from .output import Output
from .platform_data import kind, one_line
from .suite_check import note_retired

MAX_DEPTH = 12
"""Nesting of multi graders accepted (the platform's are one or two levels deep)."""
_SECRET_KEYS = {"headers", "authorization", "api_key", "apikey", "token", "secret", "password"}
_READS_SAMPLE = re.compile(r"\{\{\s*sample\b")


@dataclass
class GraderEntry:
    key: str
    """The suite's name for it (the criterion name without the platform's uuid suffix)."""
    file: str
    definition: dict[str, Any]
    pass_threshold: float = 0.5
    ids: set[str] = field(default_factory=set)
    """Names the platform's results use for it."""
    disabled: str | None = None
    """Why it is left out of the suite, when it is."""


def check_graders(entries: list[GraderEntry], item_keys: set[str] | None, base_dir: Path,
                  out: Output) -> None:
    """Disable each entry that cannot run locally (with a note), note the rest's needs."""
    scores: set[str] = set()
    packages: dict[str, list[str]] = {}
    for entry in entries:
        problem = unsupported(entry.definition)
        if problem is None:
            problem = _builds(entry, item_keys, base_dir, scores)
        if problem is not None:
            why, fix = problem
            entry.disabled = why
            out.note(f"Grader '{entry.key}' disabled", why,
                     f"{fix}; then move it back under 'graders:' in the suite (its JSON is in "
                     f"{entry.file})")
            continue
        for module in _python_modules(entry.definition):
            packages.setdefault(module, []).append(entry.key)
        for model in judge_models(entry.definition):
            _note_judge(entry, model, out)
        if any(d.get("type") == "text_similarity" and d.get("evaluation_metric") == "cosine"
               for d in _walk(entry.definition)):
            out.note(f"Grader '{entry.key}' (cosine) calls an embeddings model",
                     "every sample costs embeddings calls to 'text-embedding-3-large' "
                     "(OPENAI_API_KEY), as on the platform, counted apart from the model's",
                     "to use another, set 'judge: {embedding_model: ..., base_url: ...}' in the "
                     "suite")
    judges = [m for e in entries if e.disabled is None for m in judge_models(e.definition)]
    note_retired(judges, "judge", out)
    _note_packages(packages, out)


_READS_AUDIO = re.compile(r"\{\{\s*sample\s*\.\s*output_audio\b")
"""A placeholder under ``sample.output_audio``: never produced here (text only)."""


def unsupported(definition: Any, depth: int = 0, at: str = "") -> tuple[str, str] | None:
    """(why, fix) when a grader definition has a piece pytest-rft cannot run, else None."""
    where = f" (in {at})" if at else ""
    if depth > MAX_DEPTH:
        return f"nested more than {MAX_DEPTH} levels deep{where}", "flatten the multi grader"
    if not isinstance(definition, dict) or not isinstance(definition.get("type"), str):
        return (f"not a grader object{where}: {kind(definition)} without a \"type\"",
                "write the grader's JSON by hand")
    type_ = definition["type"]
    if type_ == "endpoint":
        return (f"an endpoint grader{where}: the platform called a private HTTP API to score, "
                "which pytest-rft cannot reach", "rewrite it as a python grader, or register the "
                "scoring function with @pytest_rft.grader('name') and use that name")
    if grader_type(type_) is None:
        return (f"its type {one_line(type_, 40)!r}{where} is not one pytest-rft knows",
                "rewrite it as a python, string_check, text_similarity, score_model, label_model "
                "or multi grader")
    if type_ != "multi" and _READS_AUDIO.search(json.dumps(definition)):
        return (f"a placeholder reads sample.output_audio{where}: pytest-rft samples text only, "
                "so it would render empty for every sample and score as if the model said "
                "nothing", "grade the text instead ({{ sample.output_text }}), or keep this "
                "grader on a harness that samples audio")
    if type_ in ("score_model", "label_model"):
        model = definition.get("model")
        if not is_model_name(model):
            return (f"its judge model {one_line(json.dumps(model, default=str), 60)}{where} is "
                    "not an OpenAI model name", "set 'model' to a judge model name")
        for i, message in enumerate(definition.get("input") or []
                                    if isinstance(definition.get("input"), list) else []):
            content = message.get("content") if isinstance(message, dict) else None
            parts = content if isinstance(content, list) else [content]
            for part in parts:
                if isinstance(part, dict) and part.get("type") not in TEXT_PARTS:
                    part_kind = one_line(part.get("type"), 40) \
                        if isinstance(part.get("type"), str) else kind(part.get("type"))
                    return (f"its judge input[{i}] has a {part_kind!r} part{where}; pytest-rft "
                            "sends judges text only", "describe the image in the item as text "
                            "and reference it with {{ item.<field> }}, or keep this grader on a "
                            "harness that sends images")
    if type_ == "multi":
        graders = definition.get("graders")
        if isinstance(graders, list) and graders:
            names = [g.get("name") for g in graders if isinstance(g, dict)]
            return (f"its 'graders' is a list of {len(graders)}{where}; a multi's sub-graders "
                    "are an object keyed by the names its calculate_output formula uses",
                    "write 'graders' as {name: grader, ...} with the names the formula uses"
                    + (f" (the list's graders are named {', '.join(map(repr, names[:4]))})"
                       if all(isinstance(n, str) for n in names) else ""))
        if not isinstance(graders, dict) or not graders:
            return f"a multi grader without sub-graders{where}", "give it 'graders'"
        for sub_key, sub in graders.items():
            found = unsupported(sub, depth + 1, f"{at}.{sub_key}" if at else str(sub_key))
            if found is not None:
                return found
    return None


def _builds(entry: GraderEntry, item_keys: set[str] | None, base_dir: Path,
            scores: set[str]) -> tuple[str, str] | None:
    """Build the grader as the suite will (python source compiled, not run) and check its
    placeholders against the dataset's fields."""
    from ..suite.grader_section import check_grader_templates

    try:
        with compile_only():
            grader = build_grader(entry.key, entry.definition, base_dir=base_dir,
                                  where=entry.file)
            check_grader_templates(grader, item_keys or set(), entry.file)
        names = grader.score_names()
    except RftError as exc:
        return one_line(exc.message, 400), one_line(exc.fix or "fix what the message says", 400)
    except RecursionError:
        return "nested too deeply to read", "flatten it"
    clash = [n for n in names if n in scores]
    if clash:
        return (f"its score name '{clash[0]}' is also another grader's",
                "rename one of them (multi sub-graders share the suite's score names)")
    scores.update(names)
    return None


def _walk(definition: Any, depth: int = 0):
    """Every grader definition inside ``definition`` (itself, then multi sub-graders)."""
    if depth > MAX_DEPTH or not isinstance(definition, dict):
        return
    yield definition
    graders = definition.get("graders")
    if isinstance(graders, dict):
        for sub in graders.values():
            yield from _walk(sub, depth + 1)


def judge_models(definition: Any) -> list[str]:
    return [d["model"] for d in _walk(definition)
            if d.get("type") in ("score_model", "label_model") and isinstance(d.get("model"), str)]


def _python_modules(definition: Any) -> list[str]:
    modules: list[str] = []
    for d in _walk(definition):
        if d.get("type") == "python" and isinstance(d.get("source"), str):
            modules += [m for m in imported_modules(d["source"]) if m not in modules]
    return modules


def reads_sample(definition: Any) -> bool:
    """Whether a grader reads the model's output (``sample``): a placeholder under ``sample``,
    or a python ``grade`` whose first parameter is used. Unsure means yes."""
    for d in _walk(definition):
        if d.get("type") == "python":
            if _python_reads_sample(d.get("source")):
                return True
            continue
        if d.get("type") not in ("string_check", "text_similarity", "score_model",
                                 "label_model", "multi"):
            return True
        texts = [v for k, v in d.items() if k != "graders"]
        if _READS_SAMPLE.search(json.dumps(texts, default=str)):
            return True
    return False


def _python_reads_sample(source: Any) -> bool:
    if not isinstance(source, str):
        return True
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return True
    grades = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
              and n.name == "grade"]
    if not grades:
        return True
    args = grades[-1].args
    positional = args.posonlyargs + args.args
    if not positional:
        return True
    name = positional[0].arg
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(grades[-1]))


def redact(definition: Any) -> Any:
    """The definition with credentials (``headers``, ``api_key`` ... values) replaced: an
    endpoint grader's secrets are not written into the project."""
    if isinstance(definition, dict):
        return {k: ("<redacted>" if str(k).lower() in _SECRET_KEYS and v not in (None, "", {})
                    else redact(v)) for k, v in definition.items()}
    if isinstance(definition, list):
        return [redact(v) for v in definition]
    return definition


def _note_judge(entry: GraderEntry, model: str, out: Output) -> None:
    out.note(f"Grader '{entry.key}' ({entry.definition.get('type')}) calls a judge",
             f"an LLM judge: every sample costs a call to '{model}' (OPENAI_API_KEY), counted "
             "apart from the model's",
             "to use another judge, add 'judge: {model: ..., base_url: ...}' to the suite or pass "
             f"--rft-judge-model NAME (or {model}=NEW to swap only this one)")


def _note_packages(packages: dict[str, list[str]], out: Output) -> None:
    image = [m for m in packages if m in PACKAGES]
    if image:
        graders = sorted({g for m in image for g in packages[m]})
        line = pip_install(image)
        out.sections += [
            "## Python packages", "",
            f"The python graders ({', '.join(graders)}) import "
            + ", ".join(f"`{m}`" for m in image)
            + f". OpenAI's python-grader image ({IMAGE_TAG}) had these versions; install them "
              "for the same scores:", "", "```bash", line or "", *(
                [nltk_download()] if "nltk" in image else []), "```", ""]
    missing = missing_modules("\n".join(f"import {m}" for m in packages))
    for module in missing:
        line = pip_install([module])
        graders = ", ".join(sorted(packages[module]))
        if line:
            out.note(f"Python package for '{module}' not installed",
                     f"grader(s) {graders} import {module}, which OpenAI's grader image had and "
                     "this Python does not: until it is installed, the suite stops at "
                     "collection with this message", line)
        else:
            out.note(f"Python module '{module}' not installed",
                     f"grader(s) {graders} import {module}, which OpenAI's grader image did not "
                     "have either (the grader may have failed on the platform too)",
                     f"install the package that provides '{module}', or remove the import")


def note_tool_readers(entries: list[GraderEntry], hosted: list[str], out: Output) -> None:
    """A grader reading ``sample.output_tools`` of a run that offered hosted tools scores other
    calls here (hosted tools are not offered), so its scores can differ from the baseline."""
    if not hosted:
        return
    tools = ", ".join(f"'{t}'" for t in dict.fromkeys(hosted))
    for entry in entries:
        if entry.disabled is None and "output_tools" in json.dumps(entry.definition):
            out.note(f"Grader '{entry.key}' reads output_tools",
                     f"on the platform the model could call the hosted tool(s) {tools}, whose "
                     "calls this grader saw; here they are not offered, so its scores can fall "
                     "below the imported baseline with nothing else changed",
                     "give the model a function tool with a Python implementation in their "
                     "place, or write a new baseline (--rft-baseline-update) once you accept "
                     "the change")
